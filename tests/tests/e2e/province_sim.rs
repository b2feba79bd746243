//! `baocao sim --profile province`: a generated province's month, published by the real binary
//! and stored by the ingest worker, gives each ward exactly the figures the generator expects,
//! however often and in whichever order its months are published.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use baocao::sim::province;
use baocao_tests::{TestEnv, instant, period, shipped_config_text};
use chrono::{DateTime, Utc};
use domain::{Indicators, Period, UnitCode};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

fn succeeded(output: &Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "failed: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// A test environment whose configuration is a generated province of `wards` wards, and the
/// path of that configuration's file.
async fn province_env(wards: usize) -> (TestEnv, std::path::PathBuf) {
    let text = province::config(&shipped_config_text(), wards).unwrap();
    let config = baocao::config::parse_file(Path::new("province.toml"), &text).unwrap();
    let env = TestEnv::with_config(config).await;
    let path = env.write_config(&text);
    (env, path)
}

/// Each ward's stored indicators of `period` as of `now` equal the generator's expected ones.
async fn assert_expected_figures(env: &TestEnv, wards: usize, period: Period, now: DateTime<Utc>) {
    let tz = env.config.tz();
    let wards = province::wards(wards);
    let codes: Vec<UnitCode> = wards.iter().map(|ward| ward.code.clone()).collect();
    let stored = store::indicators::for_units(&env.pool, &codes, period, tz, now)
        .await
        .unwrap();
    let expected = province::expected_counts(&wards, period, tz, now, province::SEED).unwrap();
    let window = period.window(tz);
    let is_final = now >= window.end().to_utc();
    for ((code, stored), counts) in codes.into_iter().zip(stored).zip(expected) {
        let expected = Indicators::new(code.clone(), period, window, is_final, counts);
        assert_eq!(stored, expected, "{code} {period}");
    }
}

#[tokio::test]
async fn a_province_month_published_twice_and_after_the_month_before_gives_each_ward_its_figures() {
    const WARDS: usize = 20;
    let (env, path) = province_env(WARDS).await;
    let worker = env.start_ingest();
    // May, then April (whose pending cases May carries over, repeating their received events),
    // then May again: every event is counted once.
    for month in ["2026-05", "2026-04", "2026-05"] {
        let mut sim = env.command(binary());
        sim.env("BAOCAO_CONFIG", &path)
            .args(["sim", "--profile", "province", "--units", "20"])
            .args(["--period", month, "--wait", "120"]);
        // Waited for without blocking the thread the worker runs on.
        let output = tokio::process::Command::from(sim).output().await.unwrap();
        let (stdout, stderr) = succeeded(&output);
        assert!(
            stdout.contains("period ") && stdout.contains(" events are stored"),
            "{stdout}"
        );
        assert!(!stderr.contains("warning"), "{stderr}");
    }
    let now = Utc::now();
    assert_expected_figures(&env, WARDS, period("2026-04"), now).await;
    assert_expected_figures(&env, WARDS, period("2026-05"), now).await;
    let problems = store::health::problems(&env.pool).await.unwrap();
    assert!(
        problems.iter().all(|p| p.conflicts == 0 && p.orphans == 0),
        "{problems:?}"
    );
    assert_eq!(env.queue_depth(&env.config.broker.dead_queue).await, 0);
    worker.stop().await;
}

#[tokio::test]
async fn an_open_window_counts_what_happened_so_far_and_overdue_as_of_now() {
    const WARDS: usize = 8;
    let (env, _) = province_env(WARDS).await;
    // Any instant will do for "now": in the middle of May's window, as the dashboard sees it.
    let now = instant("2026-05-03T04:30:00Z");
    let may = period("2026-05");
    let events = province::month_events(
        &province::wards(WARDS),
        may,
        env.config.tz(),
        now,
        province::SEED,
    )
    .unwrap();
    env.ingest_simulated(&events, Duration::from_secs(60)).await;
    assert_expected_figures(&env, WARDS, may, now).await;
}

#[tokio::test]
async fn without_the_wards_configured_sim_warns_and_write_config_writes_them() {
    let env = TestEnv::new().await;
    let written = std::env::temp_dir().join(&env.name).join("province.toml");
    std::fs::create_dir_all(written.parent().unwrap()).unwrap();
    let output = env
        .command(binary())
        .args(["sim", "--profile", "province", "--units", "5"])
        .arg("--write-config")
        .arg(&written)
        .output()
        .unwrap();
    let (stdout, _) = succeeded(&output);
    assert!(
        stdout.contains("5 wards and their summary tinh-qn"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&written).unwrap();
    assert_eq!(text, province::config(&shipped_config_text(), 5).unwrap());
    assert_eq!(env.stored_events().await, 0);

    // The shipped configuration has none of the generated wards: a warning, not a failure.
    let output = env
        .command(binary())
        .args([
            "sim",
            "--profile",
            "province",
            "--units",
            "3",
            "--period",
            "2026-05",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = succeeded(&output);
    assert!(
        stderr
            .contains("warning: 3 of the 3 generated wards (phuong-an-phu, …) are not configured"),
        "{stderr}"
    );
    assert!(stdout.contains("published "), "{stdout}");
}
