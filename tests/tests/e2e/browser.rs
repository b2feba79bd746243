//! The dashboard in a real browser: headless Chromium (Debian's, driven by playwright-core from
//! `tests/browser/`) opens the page, answers the token dialog and waits for the live counter;
//! the test publishes an event and the counter must change without a reload. The screenshot
//! is kept in `target/browser/dashboard.png` for people to look at.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use baocao_tests::{TestEnv, received};
use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::json;

const TOKEN: &str = "browser-test-token-4c1f9a-0123456789abcdef";

fn at(offset: TimeDelta) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn the_dashboard_counts_live_after_asking_for_the_token() {
    let env = TestEnv::new().await;
    // A month of history for the chart and a sent report for the reports panel.
    env.ingest_reference_month().await;
    let api = env.start_api(Some(TOKEN)).await;
    let sent = api
        .post("/api/units/tri-qua/reports/2026-05/send", &json!({}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    let ingest = env.start_ingest();
    let broker = env.broker().await;
    broker
        .publish_event(&received(
            "HS-OPEN-1",
            &at(TimeDelta::minutes(-5)),
            "online",
            &at(TimeDelta::days(7)),
            true,
        ))
        .await;
    env.wait_for_stored(1309, Duration::from_secs(10)).await;

    let mut browser =
        baocao_tests::browser::start("dashboard.mjs", &api.address, TOKEN, "dashboard.png");
    let lines = &mut browser.lines;
    let ready = tokio::time::timeout(Duration::from_secs(90), lines.next_line())
        .await
        .expect("READY within 90 s")
        .unwrap()
        .expect("a READY line");
    assert_eq!(
        ready, "READY 1",
        "the counter shows the open window's one dossier"
    );

    broker
        .publish_event(&received(
            "HS-OPEN-2",
            &at(TimeDelta::seconds(-1)),
            "direct",
            &at(TimeDelta::days(7)),
            false,
        ))
        .await;
    let changed = tokio::time::timeout(Duration::from_secs(40), lines.next_line())
        .await
        .expect("CHANGED within 40 s")
        .unwrap()
        .expect("a CHANGED line");
    assert_eq!(changed, "CHANGED 1 2");
    browser.finish(20_000).await;
    broker.close().await;
    ingest.stop().await;
    api.stop().await;
}

/// SPEC §5.1: a person who has never seen the dashboard finds last month's overdue dossiers in
/// two clicks: "Hồ sơ quá hạn" on last month's row of the reports panel opens the list, "Tải
/// CSV" saves it. The list sorts by its columns, and the open window's counters open theirs.
/// The screenshot is kept in `target/browser/items.png`.
#[tokio::test]
async fn last_months_overdue_dossiers_are_two_clicks_away() {
    let env = TestEnv::new().await;
    let tz = env.config.tz();
    let last = domain::Period::containing(Utc::now(), tz).previous();
    let start = last.window(tz).start();
    let day = |days: i64, hour: u32| {
        (start + TimeDelta::days(days))
            .with_time(chrono::NaiveTime::from_hms_opt(hour, 0, 0).unwrap())
            .unwrap()
            .to_rfc3339()
    };
    env.ingest(&[
        received("HS-QUA-HAN-A", &day(2, 8), "online", &day(5, 17), true),
        received("HS-QUA-HAN-B", &day(3, 9), "direct", &day(10, 17), false),
        received("HS-TRONG-HAN", &day(4, 8), "online", &day(60, 17), true),
        received(
            "HS-KY-MOI",
            &at(TimeDelta::hours(-1)),
            "online",
            &at(TimeDelta::days(5)),
            true,
        ),
    ])
    .await;
    let api = env.start_api(None).await;
    let mut browser =
        baocao_tests::browser::start("items.mjs", &api.address, &last.to_string(), "items.png");
    let mut seen = std::collections::HashMap::new();
    while let Ok(Some(line)) =
        tokio::time::timeout(Duration::from_secs(90), browser.lines.next_line())
            .await
            .expect("the script's lines within 90 s")
    {
        let (tag, value) = line.split_once(' ').expect("TAG JSON");
        seen.insert(
            tag.to_owned(),
            serde_json::from_str::<serde_json::Value>(value).unwrap(),
        );
    }
    let list = &seen["LIST"];
    assert!(
        list["title"]
            .as_str()
            .unwrap()
            .contains("Đang giải quyết quá hạn"),
        "{list}"
    );
    let ids: Vec<&str> = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[1].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["HS-QUA-HAN-A", "HS-QUA-HAN-B"], "{list}");
    assert!(
        list["headers"]
            .as_array()
            .unwrap()
            .contains(&json!("Số ngày quá hạn")),
        "{list}"
    );
    let csv = seen["CSV"]["lines"].as_array().unwrap();
    assert_eq!(csv.len(), 3, "a header and two dossiers: {csv:?}");
    assert!(
        csv[1]
            .as_str()
            .unwrap()
            .starts_with("tri-qua,HS-QUA-HAN-A,")
    );
    assert_eq!(seen["SORTED"]["sort"], "descending");
    assert_eq!(
        seen["SORTED"]["ids"],
        json!(["HS-QUA-HAN-B", "HS-QUA-HAN-A"]),
        "the later due date first"
    );
    let live = seen["LIVE"]["rows"].to_string();
    assert!(live.contains("HS-KY-MOI"), "{live}");
    browser.finish(10_000).await;
    api.stop().await;
}
