//! A province (SPEC §12): 100 configured wards and the department's summary of them all,
//! through the real pipeline. Each ward's month goes through RabbitMQ and the ingest worker;
//! the scheduler issues the wards' reports on the 18th and the summary on the 20th; the sender
//! delivers them to a real SMTP server; the summary's workbook is read back with openpyxl.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use baocao::sim::{self, SeedTotals, province};
use baocao_tests::xlsx::{check, read_back};
use baocao_tests::{SmtpServer, TestEnv, instant, period, repo_root, shipped_config_text};
use chrono::{DateTime, Utc};
use domain::{Counts, Indicators, Period, UnitCode, notation};
use reporter::job::{Issued, Resend};
use reporter::scheduler::{self, Done};
use reporter::sender::{Mailer, RetryPolicy, Sender};
use reporter::state::ReportState;
use serde_json::{Value, json};
use sha2::Digest;

const WARDS: usize = 100;

/// Ward `i`'s month: every figure differs from its neighbours'.
fn totals(i: usize) -> SeedTotals {
    let online = 10 + (i * 7) % 23;
    let direct = 2 + i % 6;
    SeedTotals {
        documents: 5 + i % 9,
        petitions: i % 4,
        online,
        direct,
        resolved_early: online + direct - i % 5,
        articles: i % 3,
    }
}

/// What ward `i`'s indicators must be: the seed profile's events of `totals(i)`, all inside the
/// window, every resolution early, the rest pending within their due date.
fn expected(unit: &UnitCode, may: Period, env: &TestEnv, i: usize) -> Indicators {
    let t = totals(i);
    let (documents, petitions, articles) =
        (t.documents as i64, t.petitions as i64, t.articles as i64);
    let received = (t.online + t.direct) as i64;
    let counts = Counts {
        documents_issued: documents,
        documents_digitally_signed: documents,
        petitions_received: petitions,
        petitions_resolved: petitions,
        procedures_received: received,
        procedures_online: t.online as i64,
        procedures_direct: t.direct as i64,
        procedures_digitized: received,
        procedures_resolved: t.resolved_early as i64,
        procedures_resolved_early: t.resolved_early as i64,
        articles_published: articles,
        ..Counts::default()
    };
    Indicators::new(unit.clone(), may, may.window(env.config.tz()), true, counts)
}

async fn drain(env: &TestEnv, sender: &Sender, now: DateTime<Utc>) -> usize {
    let mut sent = 0;
    while sender.send_next(&env.pool, now).await.unwrap().is_some() {
        sent += 1;
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_of_a_hundred_wards_and_its_summary() {
    let text = province::config(&shipped_config_text(), WARDS).unwrap();
    let config = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(config).await;
    let may = period("2026-05");
    let wards = province::wards(WARDS);

    // Every ward's month, through the broker and the ingest worker.
    let mut events = Vec::new();
    for (i, ward) in wards.iter().enumerate() {
        events.extend(
            sim::seed_events(&ward.code, may, env.config.tz(), Utc::now(), totals(i)).unwrap(),
        );
    }
    env.ingest_simulated(&events, Duration::from_secs(120))
        .await;

    // Each ward's figures exact, read for all of them at once.
    let codes: Vec<UnitCode> = wards.iter().map(|w| w.code.clone()).collect();
    let read = store::indicators::for_units(&env.pool, &codes, may, env.config.tz(), Utc::now())
        .await
        .unwrap();
    for (i, (ward, indicators)) in wards.iter().zip(&read).enumerate() {
        assert_eq!(
            *indicators,
            expected(&ward.code, may, &env, i),
            "{}",
            ward.code
        );
    }

    // Registered before May's window closed, so May is due for every ward and the summary.
    let reports = env.settings().reporter_config().unwrap();
    let all: Vec<UnitCode> = reports.issuers().map(|p| p.code.clone()).collect();
    store::reports::register(&env.pool, &all, instant("2026-05-01T00:00:00Z"))
        .await
        .unwrap();
    let jobs: Vec<_> = reports.issuers().map(|p| reports.job(p)).collect();
    let server = SmtpServer::start(&[]);
    let mailer = Mailer::new(Some(&server.url()), std::path::Path::new("unused")).unwrap();
    let sender = Sender::new(mailer, RetryPolicy::default());

    // The 18th at 08:00: the wards' reports; the summary waits for its day.
    let eighteenth = instant("2026-05-18T01:00:00Z");
    let done = scheduler::step(&env.pool, &jobs, eighteenth, Duration::ZERO)
        .await
        .unwrap();
    let stored = |done: &[(UnitCode, Period, Done)]| -> Vec<String> {
        done.iter()
            .filter(|(_, _, d)| matches!(d, Done::Issued(Issued::Stored { .. })))
            .map(|(unit, _, _)| unit.to_string())
            .collect()
    };
    let issued = stored(&done);
    assert_eq!(issued.len(), WARDS, "{done:?}");
    assert!(!issued.iter().any(|code| code == province::SUMMARY_CODE));
    // Five addresses per ward, one of them the department's.
    assert_eq!(drain(&env, &sender, eighteenth).await, 5 * WARDS);

    // The 20th at 08:00: the summary, after its members.
    let twentieth = instant("2026-05-20T01:00:00Z");
    let done = scheduler::step(&env.pool, &jobs, twentieth, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(stored(&done), [province::SUMMARY_CODE], "{done:?}");
    assert_eq!(drain(&env, &sender, twentieth).await, 1);

    // Its document: the members in configuration order, the sum, every member reported.
    let summary_code = UnitCode::parse(province::SUMMARY_CODE).unwrap();
    let sent = store::reports::sent(&env.pool, &summary_code, may, None)
        .await
        .unwrap()
        .unwrap();
    let document = &sent.indicators;
    let members = document["members"].as_array().unwrap();
    assert_eq!(members.len(), WARDS);
    // Every ward had issued: each row is its issued revision, none provisional.
    for (member, indicators) in members.iter().zip(&read) {
        let mut expected = serde_json::to_value(indicators).unwrap();
        expected["revision"] = json!(1);
        expected["provisional"] = json!(false);
        assert_eq!(*member, expected);
    }
    assert_eq!(
        document["reported"],
        json!({"members": WARDS, "issued": WARDS})
    );
    let sum = |path: [&str; 2]| -> i64 {
        members
            .iter()
            .map(|m| m[path[0]][path[1]].as_i64().unwrap())
            .sum()
    };
    for group in ["documents", "petitions", "procedures", "articles"] {
        for (key, value) in document["total"][group].as_object().unwrap() {
            assert_eq!(value.as_i64().unwrap(), sum([group, key]), "{group}.{key}");
        }
    }
    // Its shares come from the sums, not from an average of the wards' shares.
    let (online, received) = (
        sum(["procedures", "online"]),
        sum(["procedures", "received"]),
    );
    let share = notation::share(online, received);
    assert!(
        sent.body_text.contains(&format!(
            "tiếp nhận {} hồ sơ, trong đó: Trực tuyến {} hồ sơ đạt {share};",
            notation::count(received),
            notation::count(online)
        )),
        "{}",
        sent.body_text
    );
    assert!(sent.body_text.contains("100/100 xã, phường đã gửi báo cáo"));

    // Its email went out after every ward's, with the workbook beside the DOCX and the PDF.
    let messages = server.messages();
    assert_eq!(messages.len(), 5 * WARDS + 1);
    let last = messages.last().unwrap();
    assert_eq!(last["to"], "vanthu.ubndtinh@example.gov.vn");
    assert!(
        last["subject"].as_str().unwrap().starts_with(
            "Báo cáo tổng hợp kết quả Chuyển đổi số tháng 5 năm 2026 - Sở Khoa học và Công nghệ"
        ),
        "{}",
        last["subject"]
    );
    let attachments: Vec<&Value> = last["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["filename"].is_string())
        .collect();
    let types: Vec<&str> = attachments
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            reporter::Format::Docx.mime_type(),
            reporter::Format::Pdf.mime_type(),
            reporter::Format::Xlsx.mime_type()
        ]
    );
    let xlsx = sent.xlsx.clone().unwrap();
    assert_eq!(
        attachments[2]["sha256"],
        format!("{:x}", sha2::Sha256::digest(&xlsx))
    );

    // The workbook read back by openpyxl: 100 rows and the total row, each figure the ward's.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(&env.name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("summary.xlsx");
    std::fs::write(&path, &xlsx).unwrap();
    let docs: Vec<Value> = members
        .iter()
        .zip(&wards)
        .map(|(member, ward)| {
            let mut doc = member.clone();
            doc["_name"] = json!(ward.short_name());
            doc
        })
        .collect();
    std::fs::write(
        path.with_extension("json"),
        serde_json::to_vec(&docs).unwrap(),
    )
    .unwrap();
    check(&read_back(&path), WARDS, true);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_summarys_member_rows_are_what_each_member_issued_and_a_later_issue_makes_it_out_of_date()
{
    let text = province::config(&shipped_config_text(), 3).unwrap();
    let config = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(config).await;
    let may = period("2026-05");
    let tz = env.config.tz();
    let wards = province::wards(3);
    let mut events = Vec::new();
    for (i, ward) in wards.iter().enumerate() {
        events.extend(sim::seed_events(&ward.code, may, tz, Utc::now(), totals(i)).unwrap());
    }
    env.ingest_simulated(&events, Duration::from_secs(60)).await;
    let reports = env.settings().reporter_config().unwrap();
    let job = |code: &str| reports.job(reports.unit(code).unwrap());
    let (w0, w1, w2) = (
        wards[0].code.as_str(),
        wards[1].code.as_str(),
        wards[2].code.as_str(),
    );
    let issue = async |code: &str, at: &str| {
        let issued =
            reporter::job::issue(&env.pool, &job(code), may, instant(at), Resend::No).await;
        assert!(
            matches!(issued, Ok(Issued::Stored { .. })),
            "{code}: {issued:?}"
        );
    };
    // Wards 0 and 1 issue theirs on the 18th; ward 2 does not.
    issue(w0, "2026-05-18T01:00:00Z").await;
    issue(w1, "2026-05-18T01:00:00Z").await;
    // A document ward 0 signed on 14 May reaches baocao after its report.
    let mut late = baocao_tests::documents("VB-late", 1).remove(0);
    late["unit"] = json!(w0);
    late["occurred_at"] = json!("2026-05-14T16:00:00+07:00");
    env.ingest(&[late]).await;
    issue(province::SUMMARY_CODE, "2026-05-20T01:00:00Z").await;

    let read = async |code: &str| {
        let code = UnitCode::parse(code).unwrap();
        store::reports::sent(&env.pool, &code, may, None)
            .await
            .unwrap()
            .unwrap()
    };
    let summary = read(province::SUMMARY_CODE).await;
    let members = summary.indicators["members"].as_array().unwrap();
    // Ward 0's row is the revision it signed on the 18th, not what arrived since.
    let mut row0 = members[0].clone();
    assert_eq!(
        (&row0["provisional"], &row0["revision"]),
        (&json!(false), &json!(1))
    );
    let object = row0.as_object_mut().unwrap();
    object.remove("provisional");
    object.remove("revision");
    let frozen0 = read(w0).await.indicators;
    assert_eq!(row0, frozen0);
    let codes: Vec<UnitCode> = wards.iter().map(|w| w.code.clone()).collect();
    let now = instant("2026-05-20T01:00:00Z");
    let live = store::indicators::for_units(&env.pool, &codes, may, tz, now)
        .await
        .unwrap();
    assert_eq!(
        live[0].documents.issued,
        frozen0["documents"]["issued"].as_i64().unwrap() + 1,
        "the late document counts now"
    );
    // Ward 2 had issued nothing: its row is counted now, and says so.
    let mut row2 = members[2].clone();
    assert_eq!(
        (&row2["provisional"], &row2["revision"]),
        (&json!(true), &Value::Null)
    );
    let object = row2.as_object_mut().unwrap();
    object.remove("provisional");
    object.remove("revision");
    assert_eq!(row2, serde_json::to_value(&live[2]).unwrap());
    assert_eq!(
        summary.indicators["reported"],
        json!({"members": 3, "issued": 2})
    );
    assert!(
        summary
            .body_text
            .contains(&format!("{} (tạm tính):", wards[2].short_name())),
        "{}",
        summary.body_text
    );
    // Not out of date: what changed since is ward 0's live count, not what it issued.
    let summary_job = job(province::SUMMARY_CODE);
    let state = async |at: &str| {
        reporter::state::of_period(&env.pool, &summary_job, may, instant(at), Duration::ZERO)
            .await
            .unwrap()
            .view
            .state
    };
    assert_eq!(state("2026-05-20T02:00:00Z").await, ReportState::Issued);
    // Ward 2 issues after the summary: the summary's row of it changes, and a correction is due.
    issue(w2, "2026-05-21T01:00:00Z").await;
    assert_eq!(state("2026-05-21T02:00:00Z").await, ReportState::OutOfDate);
}
