//! The command line as an operator uses it: the real binary against the real services.

use std::path::Path;
use std::process::{Command, Output};

use baocao_tests::{SIM_REFERENCE_MONTH, TestEnv, repo_root};
use serde_json::Value;

fn baocao(env: &TestEnv, args: &[&str]) -> Output {
    env.command(Path::new(env!("CARGO_BIN_EXE_baocao-under-test")))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn sim_then_report_show_prints_the_reference_months_indicators() {
    let env = TestEnv::new().await;
    let mut worker = env
        .spawn_worker(Path::new(env!("CARGO_BIN_EXE_baocao-under-test")))
        .unwrap();
    let seed = SIM_REFERENCE_MONTH;
    let seeded = baocao(&env, &seed);
    let printed = stdout(&seeded);
    assert!(
        printed.contains("published 1308 events") && printed.contains("all 1308 events are stored"),
        "{printed}"
    );
    // Publishing the same month again changes nothing: the seed's ids are stable.
    stdout(&baocao(&env, &seed));

    let shown = baocao(
        &env,
        &[
            "report", "show", "--unit", "tri-qua", "--period", "2026-05", "--format", "json",
        ],
    );
    let indicators: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(indicators["documents"]["issued"], 157);
    assert_eq!(indicators["petitions"]["resolved"], 5);
    assert_eq!(indicators["procedures"]["received"], 550);
    assert_eq!(indicators["procedures"]["online"], 465);
    assert_eq!(indicators["procedures"]["resolved_early"], 513);
    assert_eq!(indicators["procedures"]["pending_on_time"], 37);
    assert_eq!(indicators["articles"]["published"], 78);
    assert_eq!(indicators["final"], true);
    worker.kill().unwrap();
    worker.wait().unwrap();
}

#[tokio::test]
async fn dead_letters_list_shows_the_reason_and_replay_reports_what_it_did() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    broker
        .publish_raw("portal.events", "procedure.received", b"{\"id\": 1}")
        .await;
    env.wait_for_dead_letters(1, std::time::Duration::from_secs(30))
        .await;
    worker.stop().await;
    let listed = stdout(&baocao(&env, &["dead-letters", "list"]));
    assert!(
        listed.starts_with("invalid_field:id\tportal.events procedure.received\t"),
        "{listed}"
    );
    // Listing hands the letter back; a quorum queue takes a moment to show it again.
    env.wait_for_dead_letters(1, std::time::Duration::from_secs(30))
        .await;
    let replayed = stdout(&baocao(&env, &["dead-letters", "replay"]));
    assert!(
        replayed.starts_with("replayed 1 dead letters"),
        "{replayed}"
    );
    broker.close().await;
}

#[tokio::test]
async fn errors_are_one_line_with_a_non_zero_status() {
    let env = TestEnv::new().await;
    let unknown = baocao(
        &env,
        &[
            "report",
            "show",
            "--unit",
            "hai-ba-trung",
            "--period",
            "2026-05",
        ],
    );
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(
        message.starts_with("error: unit 'hai-ba-trung' is not configured"),
        "{message}"
    );

    let future = baocao(
        &env,
        &["report", "show", "--unit", "tri-qua", "--period", "2099-01"],
    );
    assert!(!future.status.success());
    assert!(String::from_utf8_lossy(&future.stderr).contains("has not started"));

    let mut bad = Command::new(env!("CARGO_BIN_EXE_baocao-under-test"));
    let config = std::env::temp_dir().join(format!("{}.toml", env.name));
    let shipped = std::fs::read_to_string(repo_root().join("baocao.toml")).unwrap();
    std::fs::write(
        &config,
        shipped.replace("send_time = \"08:00\"", "send_time = \"8 giờ\""),
    )
    .unwrap();
    let output = bad
        .arg("migrate")
        .env("BAOCAO_CONFIG", &config)
        .output()
        .unwrap();
    std::fs::remove_file(&config).ok();
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    let line = 1 + shipped
        .lines()
        .position(|l| l.starts_with("send_time"))
        .unwrap();
    assert!(
        message.contains(&format!("{}:{line}:", config.display())),
        "{message}"
    );
    assert!(message.contains("field `schedule.send_time`"), "{message}");
}

/// `baocao args` with `amqp_url` as `BAOCAO_AMQP_URL`.
fn with_broker(env: &TestEnv, amqp_url: &str, args: &[&str]) -> Output {
    env.command(Path::new(env!("CARGO_BIN_EXE_baocao-under-test")))
        .env("BAOCAO_AMQP_URL", amqp_url)
        .args(args)
        .output()
        .unwrap()
}

/// A port of 127.0.0.1 nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn the_broker_commands_try_each_node_listed_in_turn_and_never_print_a_password() {
    let env = TestEnv::new().await;
    env.broker().await.close().await; // the topology, declared
    let dead = |port: u16| format!("amqp://guest:s3cret-pw@127.0.0.1:{port}/{}", env.name);
    let live = env.amqp_url.clone();
    // The first node is down: the next one listed answers.
    let list = format!("{},{live}", dead(closed_port()));
    let listed = with_broker(&env, &list, &["dead-letters", "list"]);
    assert!(stdout(&listed).contains("no dead letters"));
    // None answers: each is named by its address, the password nowhere.
    let (first, second) = (closed_port(), closed_port());
    let none = format!("{},{}", dead(first), dead(second));
    let failed = with_broker(&env, &none, &["dead-letters", "replay"]);
    assert_eq!(failed.status.code(), Some(1));
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("none of the 2 RabbitMQ nodes"), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{first}")), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{second}")), "{error}");
    assert!(!error.contains("s3cret-pw"), "{error}");
}
