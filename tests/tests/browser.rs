//! The dashboard in a real browser: headless Chromium (Debian's, driven by playwright-core from
//! `tests/browser/`) opens the page, answers the token dialog and waits for the live counter;
//! the test publishes an event and the counter must change without a reload. The screenshot
//! is kept in `target/browser/dashboard.png` for people to look at.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use baocao_tests::{TestEnv, received, repo_root};
use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

const TOKEN: &str = "browser-test-token-4c1f9a-0123456789abcdef";

fn at(offset: TimeDelta) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn the_dashboard_counts_live_after_asking_for_the_token() {
    let script = repo_root().join("tests/browser/dashboard.mjs");
    assert!(
        repo_root()
            .join("tests/browser/node_modules/playwright-core")
            .exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium and tests/browser's node modules: \
         run scripts/test, which installs both (ensure_browser in scripts/services.sh)"
    );
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

    let shots = repo_root().join("target/browser");
    std::fs::create_dir_all(&shots).unwrap();
    let screenshot = shots.join("dashboard.png");
    std::fs::remove_file(&screenshot).ok();
    let mut browser = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("http://{}", api.address))
        .arg(TOKEN)
        .arg(&screenshot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = tokio::io::BufReader::new(browser.stdout.take().unwrap()).lines();
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
    let status = tokio::time::timeout(Duration::from_secs(60), browser.wait())
        .await
        .expect("the browser script ends")
        .unwrap();
    assert!(status.success(), "the browser script failed: {status}");
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 20_000, "a nearly empty screenshot");
    broker.close().await;
    ingest.stop().await;
    api.stop().await;
}
