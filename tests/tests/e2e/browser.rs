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
