//! The province's shape on one machine (the `province` overlay's Deployments as processes): two
//! ingest, two reporter and two api processes of the real binary, against the local PostgreSQL
//! and RabbitMQ, serving six generated wards and the department's summary. One ingest is killed
//! midway through a month's events; every figure is still exact, each address gets one email,
//! and a live stream from either api sees a new event.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use baocao::sim::{self, province};
use baocao_tests::http::Request;
use baocao_tests::{SmtpServer, TestEnv, event, repo_root, shipped_config_text};
use chrono::{SecondsFormat, TimeDelta, Utc};
use domain::{Period, UnitCode};
use serde_json::{Value, json};

const WARDS: usize = 6;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_each_process_count_exactly_send_once_and_stream_from_either_api() {
    let text = province::config(&shipped_config_text(), WARDS).unwrap();
    let config = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(config).await;
    let path = env.write_config(&text);
    let path = path.to_str().unwrap();
    let tz = env.config.tz();
    let now = Utc::now();
    // A month whose sending days (the wards' 18th, the summary's 20th) have passed whatever
    // today's date, registered before its window closed so that it is due.
    let month = Period::containing(now, tz).previous().previous();
    let wards = province::wards(WARDS);
    let issuers: Vec<UnitCode> = env
        .config
        .issuers()
        .iter()
        .map(|p| p.code.clone())
        .collect();
    store::reports::register(&env.pool, &issuers, month.window(tz).start().to_utc())
        .await
        .unwrap();

    // Two ingest processes; one is killed while the month's events are consumed.
    let with_config = [("BAOCAO_CONFIG", path)];
    let ingest = ["run", "--target", "ingest"];
    let (mut doomed, _) = env.spawn_listening(binary(), &ingest, &with_config).await;
    let (_survivor, _) = env.spawn_listening(binary(), &ingest, &with_config).await;
    let events = province::month_events(&wards, month, tz, now, province::SEED).unwrap();
    let unique: HashSet<uuid::Uuid> = events.iter().map(|e| e.id).collect();
    let broker = env.broker().await;
    let (first, second) = events.split_at(events.len() / 2);
    sim::publish(&broker.publisher, &broker.topology, first, None)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while env.stored_events().await < unique.len() as i64 / 4 {
        assert!(tokio::time::Instant::now() < deadline, "nothing was stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.start_kill().unwrap();
    doomed.wait().await.unwrap();
    sim::publish(&broker.publisher, &broker.topology, second, None)
        .await
        .unwrap();
    env.wait_for_stored(unique.len() as i64, Duration::from_secs(120))
        .await;
    env.wait_for_queue_depth("baocao.eoffice", 0, Duration::from_secs(30))
        .await;
    env.wait_for_queue_depth("baocao.portal", 0, Duration::from_secs(30))
        .await;
    assert_eq!(env.stored_events().await, unique.len() as i64);
    let expected = province::expected_counts(&wards, month, tz, now, province::SEED).unwrap();
    let codes: Vec<UnitCode> = wards.iter().map(|w| w.code.clone()).collect();
    let counted = store::indicators::for_units(&env.pool, &codes, month, tz, Utc::now())
        .await
        .unwrap();
    for ((ward, indicators), counts) in wards.iter().zip(&counted).zip(&expected) {
        assert_eq!(indicators.counts(), *counts, "{}", ward.code);
    }
    let problems = store::health::problems(&env.pool).await.unwrap();
    assert!(
        problems.iter().all(|p| p.conflicts == 0),
        "a redelivered event was counted as a conflict: {problems:?}"
    );

    // Two reporters: each ward's report and the summary issued once, each address mailed once.
    let server = SmtpServer::start(&[]);
    let smtp = server.url();
    let reporter_env = [("BAOCAO_CONFIG", path), ("BAOCAO_SMTP_URL", smtp.as_str())];
    let reporter = ["run", "--target", "reporter"];
    let _reporters = [
        env.spawn_listening(binary(), &reporter, &reporter_env)
            .await,
        env.spawn_listening(binary(), &reporter, &reporter_env)
            .await,
    ];
    let addresses = 5 * WARDS + 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    while sent_messages(&env).await < addresses as i64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {addresses} sent",
            sent_messages(&env).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let messages = server.messages();
    let mut per_address: BTreeMap<&str, usize> = BTreeMap::new();
    for message in &messages {
        *per_address
            .entry(message["to"].as_str().unwrap())
            .or_default() += 1;
    }
    assert_eq!(per_address.len(), addresses - WARDS + 1, "{per_address:?}");
    // The department's address is on every ward's list: one message per ward report.
    assert_eq!(per_address["vanthu.sokhcn@example.gov.vn"], WARDS);
    assert!(
        per_address
            .iter()
            .filter(|(address, _)| **address != "vanthu.sokhcn@example.gov.vn")
            .all(|(_, copies)| *copies == 1),
        "{per_address:?}"
    );
    let revisions: i64 = sqlx::query_scalar("select count(*) from report")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(revisions, WARDS as i64 + 1, "a report was issued twice");
    let summary = store::reports::sent(
        &env.pool,
        &UnitCode::parse(province::SUMMARY_CODE).unwrap(),
        month,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        summary.indicators["reported"],
        json!({"members": WARDS, "issued": WARDS})
    );
    let received: i64 = expected.iter().map(|c| c.procedures_received).sum();
    assert_eq!(
        summary.indicators["total"]["procedures"]["received"],
        received
    );

    // Two api processes: a stream opened on each sees the open window's new event.
    let api = ["run", "--target", "api"];
    let (_api_a, a) = env.spawn_listening(binary(), &api, &with_config).await;
    let (_api_b, b) = env.spawn_listening(binary(), &api, &with_config).await;
    let ward = &wards[0].code;
    let stream_path = format!("/api/units/{ward}/stream");
    let mut streams = [
        Request::get(&stream_path).events(&a).await,
        Request::get(&stream_path).events(&b).await,
    ];
    let mut before = Vec::new();
    for stream in &mut streams {
        let first = stream
            .next(Duration::from_secs(10))
            .await
            .expect("a first document");
        let document: Value = serde_json::from_str(&first.data).unwrap();
        before.push(document["documents"]["issued"].as_i64().unwrap());
    }
    let signed = (Utc::now() - TimeDelta::minutes(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut new = event(
        "document.signed",
        &signed,
        json!({"document_id": "VB-LIVE-1", "digital": true, "number": "1/UBND"}),
    );
    new["unit"] = json!(ward.as_str());
    let broker = env.broker().await;
    broker.publish_event(&new).await;
    for (stream, before) in streams.iter_mut().zip(before) {
        let next = stream
            .next(Duration::from_secs(10))
            .await
            .expect("an update");
        let document: Value = serde_json::from_str(&next.data).unwrap();
        assert_eq!(document["documents"]["issued"], before + 1);
    }
}

async fn sent_messages(env: &TestEnv) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where state = 'sent'")
        .fetch_one(&env.pool)
        .await
        .unwrap()
}
