//! The department's view (SPEC §12): a province of generated wards, `GET /api/overview` for the
//! open window and a past period, and the dashboard's "Toàn tỉnh" page in headless Chromium
//! with 100 wards (the screenshot is kept in `target/browser/department.png`). Also the trend's
//! gap: a month without dossiers has no online share, not 0%.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use baocao::sim::province;
use baocao_tests::{TestEnv, received, repo_root};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use domain::{Period, UnitCode};
use serde_json::{Value, json};
use uuid::Uuid;

const TOKEN: &str = "department-test-token-7d2e-0123456789abcdef";

/// A test environment serving a generated province of `wards` wards and its summary.
async fn province_env(wards: usize) -> TestEnv {
    let text = province::config(&baocao_tests::shipped_config_text(), wards).unwrap();
    let file = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(file).await;
    env.write_config(&text);
    env
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An event of `unit`.
fn event(unit: &UnitCode, type_name: &str, at: DateTime<Utc>, data: Value) -> Value {
    json!({
        "id": Uuid::new_v4(), "type": type_name, "occurred_at": rfc3339(at),
        "unit": unit.as_str(), "data": data,
    })
}

fn dossier(
    unit: &UnitCode,
    id: &str,
    at: DateTime<Utc>,
    channel: &str,
    due: DateTime<Utc>,
) -> Value {
    let data =
        json!({"dossier_id": id, "channel": channel, "due_at": rfc3339(due), "digitized": true});
    event(unit, "procedure.received", at, data)
}

fn resolution(unit: &UnitCode, id: &str, at: DateTime<Utc>) -> Value {
    event(unit, "procedure.resolved", at, json!({"dossier_id": id}))
}

fn document(unit: &UnitCode, id: &str, at: DateTime<Utc>, digital: bool) -> Value {
    let data = json!({"document_id": id, "digital": digital});
    event(unit, "document.signed", at, data)
}

/// The open window's period and an instant in its middle (in the past, so that events there
/// and a few seconds after are not from the future).
fn open_window_middle(env: &TestEnv) -> (Period, DateTime<Utc>) {
    let now = Utc::now();
    let open = Period::containing(now, env.config.tz());
    let start = open.window(env.config.tz()).start().to_utc();
    (open, start + (now - start) / 2)
}

/// The unit row of `code` in an overview.
fn row<'a>(overview: &'a Value, code: &UnitCode) -> &'a Value {
    overview["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["code"] == code.as_str())
        .unwrap_or_else(|| panic!("no row for {code}"))
}

#[tokio::test]
async fn the_department_sees_every_ward_sorts_them_and_opens_one() {
    let env = province_env(100).await;
    let wards = province::wards(100);
    let (a, b, c) = (&wards[0].code, &wards[7].code, &wards[42].code);
    let (_, t) = open_window_middle(&env);
    let (s1, s2, week) = (
        TimeDelta::seconds(1),
        TimeDelta::seconds(2),
        TimeDelta::days(7),
    );
    let due = Utc::now() + week;
    env.ingest(&[
        // A: 4 dossiers, 3 online, 2 resolved early; 2 documents signed digitally; a petition.
        dossier(a, "A1", t, "online", due),
        dossier(a, "A2", t, "online", due),
        dossier(a, "A3", t, "online", due),
        dossier(a, "A4", t, "direct", due),
        resolution(a, "A1", t + s2),
        resolution(a, "A2", t + s2),
        document(a, "A-D1", t, true),
        document(a, "A-D2", t, true),
        event(a, "petition.received", t, json!({"petition_id": "A-P1"})),
        // B: 2 dossiers in person, one resolved late, one overdue.
        dossier(b, "B1", t, "direct", t + s1),
        dossier(b, "B2", t, "direct", t + s1),
        resolution(b, "B1", t + s2),
        // C: documents only, 2 of 3 signed digitally.
        document(c, "C-D1", t, true),
        document(c, "C-D2", t, true),
        document(c, "C-D3", t, false),
    ])
    .await;
    let api = env.start_api(Some(TOKEN)).await;

    let started = Instant::now();
    let overview = api.get("/api/overview").await;
    let elapsed = started.elapsed();
    assert_eq!(overview.status, 200, "{}", overview.text());
    let overview = overview.json();
    eprintln!("GET /api/overview, 100 wards: {elapsed:?}");
    let units = overview["units"].as_array().unwrap();
    assert_eq!(units.len(), 100);
    let codes: Vec<&str> = units.iter().map(|u| u["code"].as_str().unwrap()).collect();
    let configured: Vec<&str> = wards.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, configured, "configuration order");
    assert_eq!(overview["final"], false);
    let (ra, rb, rc) = (row(&overview, a), row(&overview, b), row(&overview, c));
    assert_eq!(ra["figures"]["dossiers_received"], 4);
    assert_eq!(
        ra["figures"]["online"],
        json!({"part": 3, "whole": 4, "percent": 75.0})
    );
    assert_eq!(
        ra["figures"]["on_time"],
        json!({"part": 2, "whole": 2, "percent": 100.0})
    );
    assert_eq!(ra["figures"]["documents_signed"]["percent"], 100.0);
    assert_eq!(ra["figures"]["petitions_received"], 1);
    assert_eq!(rb["figures"]["online"]["percent"], 0.0);
    assert_eq!(
        rb["figures"]["on_time"],
        json!({"part": 0, "whole": 1, "percent": 0.0})
    );
    assert_eq!(rb["figures"]["pending_overdue"], 1);
    assert_eq!(rb["figures"]["documents_signed"]["percent"], Value::Null);
    assert_eq!(rc["figures"]["online"]["percent"], Value::Null);
    assert_eq!(rc["figures"]["documents_signed"]["percent"], 66.67);
    assert_eq!(rb["kind"], wards[7].kind);
    assert!(units.iter().all(|u| u["report"]["state"] == "open"));
    assert_eq!(overview["total"]["dossiers_received"], 6);
    let summaries = overview["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["code"], province::SUMMARY_CODE);
    assert_eq!(summaries[0]["members"], 100);
    assert_eq!(summaries[0]["figures"]["online"]["part"], 3);

    let mut browser =
        baocao_tests::browser::start("department.mjs", &api.address, TOKEN, "department.png");
    let lines = &mut browser.lines;
    let mut next = async |tag: &str| -> Value {
        let line = tokio::time::timeout(Duration::from_secs(90), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{tag} within 90 s"))
            .unwrap()
            .unwrap_or_else(|| panic!("the script ended before {tag}"));
        let rest = line
            .strip_prefix(tag)
            .unwrap_or_else(|| panic!("{tag} expected, got {line}"));
        serde_json::from_str(rest.trim()).unwrap()
    };

    let loaded = next("LOADED").await;
    eprintln!("the department's table filled {loaded} ms after navigation");
    let rows = next("ROWS").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 100, "one row per ward");
    let shown: Vec<&str> = rows.iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(shown, configured, "configuration order first");
    let cells = |code: &UnitCode| -> Vec<String> {
        let row = rows.iter().find(|r| r["code"] == code.as_str()).unwrap();
        let cells = row["cells"].as_array().unwrap();
        cells
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    // TT, name, dossiers, online, on time, overdue, signed, petitions, report.
    assert_eq!(cells(a)[1], format!("phường {}", wards[0].name));
    assert_eq!(cells(a)[2..8], ["4", "75%", "100%", "0", "100%", "1"]);
    assert_eq!(cells(b)[2..8], ["2", "0%", "0%", "1", "–", "0"]);
    assert_eq!(cells(c)[2..8], ["0", "–", "–", "0", "66.67%", "0"]);
    assert!(rows.iter().all(|r| r["state"] == "open"));
    assert_eq!(cells(a)[8], "Chưa đến hạn");
    let cards = next("SUMMARIES").await;
    assert_eq!(cards[0]["code"], province::SUMMARY_CODE);
    assert!(
        cards[0]["text"].as_str().unwrap().contains("0/100"),
        "{cards}"
    );

    let sorted = next("SORTED").await;
    assert_eq!(sorted["sort"], "descending");
    let order: Vec<&str> = sorted["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(order.len(), 100);
    assert_eq!(order[..2], [a.as_str(), b.as_str()], "most dossiers first");
    // The rest have none: they keep the configuration's order.
    let rest: Vec<&str> = configured
        .iter()
        .copied()
        .filter(|code| *code != a.as_str() && *code != b.as_str())
        .collect();
    assert_eq!(order[2..], rest[..]);

    let sticky = next("STICKY").await;
    assert!(
        sticky["top"].as_f64().unwrap().abs() < 2.0,
        "the header stays at the top when the table scrolls: {sticky}"
    );
    let opened = next("UNIT").await;
    assert_eq!(opened["hash"], format!("#unit={a}"));
    assert_eq!(opened["picked"], a.as_str());
    assert_eq!(opened["counter"], "4", "the ward's own live counter");
    assert_eq!(opened["overviewHidden"], true);

    browser.finish(50_000).await;
    api.stop().await;
}

#[tokio::test]
async fn the_overview_tells_where_each_report_of_a_past_period_stands() {
    let env = province_env(6).await;
    let tz = env.config.tz();
    let wards: Vec<UnitCode> = province::wards(6).into_iter().map(|w| w.code).collect();
    // Two periods back: its window has closed and its sending day has passed.
    let past = Period::containing(Utc::now(), tz).previous().previous();
    let window = past.window(tz);
    let t = window.start().to_utc() + TimeDelta::days(3);
    let mut everyone = wards.clone();
    everyone.push(UnitCode::parse(province::SUMMARY_CODE).unwrap());
    store::reports::register(&env.pool, &everyone, t - TimeDelta::days(30))
        .await
        .unwrap();
    let due = t + TimeDelta::days(5);
    let events: Vec<Value> = wards[..5]
        .iter()
        .map(|w| dossier(w, &format!("{w}-1"), t, "online", due))
        .collect();
    env.ingest(&events).await;
    let api = env.start_api(Some(TOKEN)).await;
    for ward in &wards[..3] {
        let sent = api
            .post(
                &format!("/api/units/{ward}/reports/{past}/send"),
                &json!({}),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.text());
    }
    // Ward 1's messages went out; ward 2's too, and then a late event changed its figures.
    sqlx::query(
        "update outbox set state = 'sent', sent_at = now()
         where report_id in (select report_id from report where unit = any($1))",
    )
    .bind(vec![wards[1].to_string(), wards[2].to_string()])
    .execute(&env.pool)
    .await
    .unwrap();
    env.ingest(&[dossier(&wards[2], "late", t, "direct", due)])
        .await;
    // Ward 3's issuing failed; ward 4 is due; ward 5's period was settled without events.
    store::schedule::record_failure(&env.pool, &wards[3], past, "a broken template", Utc::now())
        .await
        .unwrap();
    store::reports::settle(&env.pool, &wards[5], past)
        .await
        .unwrap();

    let overview = api.get(&format!("/api/overview?period={past}")).await;
    assert_eq!(overview.status, 200, "{}", overview.text());
    let overview = overview.json();
    assert_eq!(overview["final"], true);
    let states: Vec<&str> = wards
        .iter()
        .map(|w| row(&overview, w)["report"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "issued",
            "sent",
            "out_of_date",
            "failing",
            "due",
            "no_events"
        ]
    );
    let issued = &row(&overview, &wards[0])["report"];
    assert_eq!(issued["revision"], 1);
    assert!(
        issued["messages"]["queued"].as_i64().unwrap() > 0,
        "{issued}"
    );
    assert_eq!(
        row(&overview, &wards[3])["report"]["error"],
        "a broken template"
    );
    assert_eq!(row(&overview, &wards[2])["figures"]["dossiers_received"], 2);
    let summary = &overview["summaries"][0];
    assert_eq!(summary["members"], 6);
    assert_eq!(summary["members_issued"], 3);
    assert_eq!(summary["report"]["state"], "due", "its 20th has passed");
    // Ward 2's row is what it issued (1 dossier), not what arrived since (2): 5, not 6.
    assert_eq!(summary["figures"]["dossiers_received"], 5);

    // The open window: nothing is due yet.
    let open = api.get("/api/overview").await.json();
    assert_eq!(open["final"], false);
    assert!(
        open["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["report"]["state"] == "open")
    );
    let future = Period::containing(Utc::now(), tz).next();
    assert_eq!(
        api.get(&format!("/api/overview?period={future}"))
            .await
            .status,
        422
    );
    assert_eq!(api.get("/api/overview?period=2026-13").await.status, 400);
    api.stop().await;
}

#[tokio::test]
async fn a_month_without_dossiers_is_a_gap_in_the_trend_not_zero() {
    let env = TestEnv::new().await;
    let tz = env.config.tz();
    let open = Period::containing(Utc::now(), tz);
    let two_back = open.previous().previous();
    let t = two_back.window(tz).start().to_utc() + TimeDelta::days(2);
    env.ingest(&[received(
        "HS-TREND-1",
        &rfc3339(t),
        "online",
        &rfc3339(t + TimeDelta::days(60)),
        true,
    )])
    .await;
    let api = env.start_api(None).await;
    let trend = api.get("/api/units/tri-qua/trend?months=3").await;
    assert_eq!(trend.status, 200, "{}", trend.text());
    let trend = trend.json();
    let periods: Vec<&str> = trend
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    let expected = [two_back, open.previous(), open].map(|p| p.to_string());
    assert_eq!(periods, expected);
    assert_eq!(trend[0]["online_share"], 100.0);
    for month in [&trend[1], &trend[2]] {
        assert_eq!(month["received"], 0);
        assert_eq!(month["online_share"], Value::Null, "a gap, not 0%: {month}");
        assert_eq!(month["digitized_share"], Value::Null);
        assert_eq!(month["text"]["online"], "không phát sinh");
        // The dossier carried over is still to handle: 0% resolved is a real 0.
        assert_eq!(month["resolved_share"], 0.0);
    }
    api.stop().await;
}

/// The state word of a `report status` line: `<unit> <period> <state>[: …| (revision N)…]`.
fn status_word(line: &str) -> &str {
    line.split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .trim_end_matches(':')
}

#[tokio::test]
async fn report_status_the_units_reports_and_the_department_judge_each_report_alike() {
    // A wait for ingest long enough that the period two back still waits.
    let text = format!(
        "{}\n[reporter]\nbacklog_wait_minutes = 200000\n",
        province::config(&baocao_tests::shipped_config_text(), 2).unwrap()
    );
    let file = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(file).await;
    let path = env.write_config(&text);
    let tz = env.config.tz();
    let wards: Vec<UnitCode> = province::wards(2).into_iter().map(|w| w.code).collect();
    let summary = UnitCode::parse(province::SUMMARY_CODE).unwrap();
    let past = Period::containing(Utc::now(), tz).previous().previous();
    let t = past.window(tz).start().to_utc() + TimeDelta::days(3);
    let mut everyone = wards.clone();
    everyone.push(summary.clone());
    store::reports::register(&env.pool, &everyone, t - TimeDelta::days(30))
        .await
        .unwrap();
    let due = t + TimeDelta::days(5);
    env.ingest(&[
        dossier(&wards[0], "W0-1", t, "online", due),
        dossier(&wards[1], "W1-1", t, "online", due),
    ])
    .await;
    let api = env.start_api(Some(TOKEN)).await;
    // Ward 0 was issued by hand, and a failure is recorded for its period afterwards (the
    // scheduler's settling failed, say): a stored revision and a failure.
    let sent = api
        .post(
            &format!("/api/units/{}/reports/{past}/send", wards[0]),
            &json!({}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    store::schedule::record_failure(
        &env.pool,
        &wards[0],
        past,
        "the database went away",
        Utc::now(),
    )
    .await
    .unwrap();
    // Ward 1 and the summary are due, and ingest says 250 messages still wait in the queues.
    store::schedule::heartbeat(&env.pool, Uuid::new_v4(), 250)
        .await
        .unwrap();

    let overview = api
        .get(&format!("/api/overview?period={past}"))
        .await
        .json();
    let department: Vec<String> = wards
        .iter()
        .map(|w| {
            row(&overview, w)["report"]["state"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .chain([overview["summaries"][0]["report"]["state"]
            .as_str()
            .unwrap()
            .to_owned()])
        .collect();
    let listed = api
        .get(&format!("/api/units/{}/reports", wards[0]))
        .await
        .json();
    let ward0_listed = listed["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == past.to_string())
        .unwrap()["report"]["state"]
        .clone();
    let status = env
        .command(std::path::Path::new(env!(
            "CARGO_BIN_EXE_baocao-under-test"
        )))
        .args(["report", "status", "--period", &past.to_string()])
        .env("BAOCAO_CONFIG", &path)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let printed = String::from_utf8(status.stdout).unwrap();
    let said = |code: &UnitCode| -> String {
        let prefix = format!("{code} {past} ");
        let line = printed
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no state line for {code} in:\n{printed}"));
        status_word(line).to_owned()
    };
    let cli: Vec<String> = wards.iter().chain([&summary]).map(said).collect();
    assert_eq!(department, ["issued", "waiting", "waiting"], "{overview}");
    assert_eq!(cli, department, "report status says otherwise:\n{printed}");
    assert_eq!(ward0_listed, "issued", "{listed}");
    let waiting = &row(&overview, &wards[1])["report"];
    assert!(
        waiting["why"].as_str().unwrap().contains("250 messages"),
        "{waiting}"
    );
    assert!(
        printed.contains("waiting for ingest (250 messages"),
        "{printed}"
    );
    api.stop().await;
}
