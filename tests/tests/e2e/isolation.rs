//! Faults stay where they start: one unit's failing report does not stop the others and is
//! shown until it is mended; a broken configuration stops start-up with where it is; a
//! correction supersedes what was not sent yet and a repeated one is refused; an outcome is
//! recorded even when the database blinks right after the mail server said 250; the dashboard
//! says what the scheduler will do.

use std::path::Path;
use std::time::Duration;

use baocao_tests::{
    SmtpServer, TestEnv, config_with_second_unit, issue_reference_month, terminate, two_wards,
    until,
};
use chrono::TimeDelta;
use reporter::job::{self, Issued, Resend};
use reporter::sender::{Mailer, RetryPolicy, Sender};
use serde_json::{Value, json};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

#[tokio::test]
async fn one_unit_whose_issuing_fails_does_not_stop_the_others_and_is_shown_until_mended() {
    let (env, path) =
        two_wards("[reporter]\nschedule_every_seconds = 1\nbacklog_wait_minutes = 0\n").await;
    // The database refuses an-phu's report, as it would a broken row of that unit only.
    sqlx::query("alter table report add constraint refuse_an_phu check (unit <> 'an-phu')")
        .execute(&env.pool)
        .await
        .unwrap();
    let mail = path.with_file_name("mail");
    let (reporter, address, logs) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "reporter"],
            &[
                ("BAOCAO_CONFIG", path.to_str().unwrap()),
                ("BAOCAO_MAIL_DIR", mail.to_str().unwrap()),
                ("BAOCAO_LOG", "info"),
            ],
        )
        .await;
    until("tri-qua issued and an-phu failing three times", || async {
        env.scalar("select count(*) from report where unit = 'tri-qua'").await == 1
            && env.scalar("select coalesce(max(attempts), 0)::bigint from issue_failure where unit = 'an-phu'").await >= 3
    })
    .await;
    assert_eq!(
        logs.count("issuing the report failed"),
        1,
        "logged once, not every round"
    );
    let metrics =
        baocao_tests::metric(&address, "baocao_report_issue_failures{unit=\"an-phu\"}").await;
    assert_eq!(metrics, 1.0);
    let api = env.start_api(None).await;
    let pipeline = api.get("/api/pipeline").await.json();
    assert_eq!(pipeline["failures"][0]["unit"], "an-phu");
    assert!(
        pipeline["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("refuse_an_phu")
    );
    let reports = api.get("/api/units/an-phu/reports").await.json();
    assert_eq!(reports["last_closed_plan"]["state"], "failing", "{reports}");

    sqlx::query("alter table report drop constraint refuse_an_phu")
        .execute(&env.pool)
        .await
        .unwrap();
    until("an-phu issued and its failure cleared", || async {
        env.scalar("select count(*) from report where unit = 'an-phu'")
            .await
            == 1
            && env.scalar("select count(*) from issue_failure").await == 0
    })
    .await;
    until("the recovery logged", || async {
        logs.count("trouble is over") == 1
    })
    .await;
    api.stop().await;
    terminate(reporter).await;
}

#[tokio::test]
async fn a_broken_template_override_stops_start_up_naming_the_unit_the_file_and_the_line() {
    let (env, path) = two_wards("").await;
    let text = std::fs::read_to_string(&path).unwrap();
    let with_templates = format!("templates = \"templates\"\n{text}");
    std::fs::write(&path, with_templates).unwrap();
    let dir = path.with_file_name("templates").join("an-phu");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("body.j2"), "Báo cáo\n\n{{ indicators.nothing }}\n").unwrap();
    let output = env
        .command(binary())
        .args(["run", "--target", "reporter"])
        .env("BAOCAO_CONFIG", &path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().last().unwrap_or_default();
    assert!(error.contains("unit 'an-phu'"), "{stderr}");
    assert!(
        error.contains("an-phu/body.j2") && error.contains("line 3"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_template_override_including_the_process_environment_stops_start_up_without_printing_it()
{
    let (env, path) = two_wards("").await;
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("templates = \"templates\"\n{text}")).unwrap();
    let dir = path.with_file_name("templates").join("an-phu");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("report.html.j2"),
        "<html>\n{% include \"/proc/self/environ\" ignore missing %}\n</html>\n",
    )
    .unwrap();
    let secret = "mat-khau-bi-mat-0123456789";
    let output = env
        .command(binary())
        .args(["run", "--target", "reporter"])
        .env("BAOCAO_CONFIG", &path)
        .env("BAOCAO_TEST_SECRET", secret)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().last().unwrap_or_default();
    for expected in [
        "unit 'an-phu'",
        "template report.html.j2: line 2",
        "\"/proc/self/environ\" is refused",
        "an-phu/report.html.j2",
    ] {
        assert!(error.contains(expected), "{expected} missing in {stderr}");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stderr.contains(secret) && !stdout.contains(secret),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_sender_address_that_does_not_parse_stops_start_up_naming_the_line() {
    let env = TestEnv::new().await;
    let text = config_with_second_unit("an-phu").replace(
        "mail_from = \"UBND phường An Phú <vanthu.anphu@example.gov.vn>\"",
        "mail_from = \"UBND phường An Phú vanthu.anphu@example\"",
    );
    let path = env.write_config(&text);
    let line = text
        .lines()
        .position(|l| l.contains("vanthu.anphu@example\""))
        .unwrap()
        + 1;
    let output = env
        .command(binary())
        .args(["run", "--target", "reporter"])
        .env("BAOCAO_CONFIG", &path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("baocao.toml:{line}:")), "{stderr}");
    assert!(
        stderr.contains("unit.mail_from") && stderr.contains("an-phu"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_version_stops_start_up_with_a_clear_error() {
    let env = TestEnv::new().await;
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values (29991231000000, 'from a newer baocao', true, '\\x00', 0)",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    for args in [&["migrate"][..], &["run", "--target", "ingest"]] {
        let output = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::process::Command::from(env.command(binary()))
                .args(args)
                .output(),
        )
        .await
        .expect("it stops at once instead of retrying")
        .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("29991231000000") && stderr.contains("newer"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn an_admin_token_shorter_than_32_characters_is_refused_without_printing_it() {
    let env = TestEnv::new().await;
    let output = env
        .command(binary())
        .args(["run", "--target", "api"])
        .env("BAOCAO_ADMIN_TOKEN", "short-s3cret")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32"), "{stderr}");
    assert!(!stderr.contains("short-s3cret"), "{stderr}");
}

#[tokio::test]
async fn a_correction_supersedes_what_was_not_sent_yet_and_only_it_goes_out() {
    let env = TestEnv::new().await;
    let (job, now) = issue_reference_month(&env).await;
    let later = now + TimeDelta::days(1);
    let correction = Resend::Correction { replaces: Some(1) };
    let stored = job::issue(
        &env.pool,
        &job,
        baocao_tests::period("2026-05"),
        later,
        correction,
    )
    .await
    .unwrap();
    assert!(matches!(stored, Issued::Stored { revision: 2, .. }));
    let superseded = env
        .scalar("select count(*) from outbox where state = 'superseded'")
        .await;
    assert_eq!(superseded, 5, "revision 1's messages, none sent yet");
    let server = SmtpServer::start(&[]);
    let mailer = Mailer::new(Some(&server.url()), Path::new("unused")).unwrap();
    let sender = Sender::new(mailer, RetryPolicy::default());
    while sender.send_next(&env.pool, later).await.unwrap().is_some() {}
    let messages = server.messages();
    assert_eq!(messages.len(), 5);
    for message in &messages {
        let subject = message["subject"].as_str().unwrap();
        assert!(
            subject.starts_with("[Thay thế báo cáo số 103/BC-UBND]"),
            "{subject}"
        );
    }
    let status = env
        .command(binary())
        .args(["report", "status", "--unit", "tri-qua"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.matches(" superseded").count(), 5, "{status}");
    let api = env.start_api(None).await;
    let reports = api.get("/api/units/tri-qua/reports").await.json();
    let first = &reports["periods"][0]["revisions"][0];
    assert_eq!(first["revision"], 1);
    assert!(
        first["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "superseded")
    );
    api.stop().await;
}

#[tokio::test]
async fn a_repeated_correction_is_refused_as_stale_by_the_api_and_the_command_line() {
    let env = TestEnv::new().await;
    issue_reference_month(&env).await;
    let api = env.start_api(None).await;
    let path = "/api/units/tri-qua/reports/2026-05/send";
    let body = json!({"force": true, "replaces": 1});
    let first = api.post(path, &body).await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.json()["revision"], 2);
    let again = api.post(path, &body).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["code"], "stale_revision");
    api.stop().await;
    let cli = env
        .command(binary())
        .args([
            "report",
            "send",
            "--unit",
            "tri-qua",
            "--period",
            "2026-05",
            "--force",
            "--replaces",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        cli.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(env.scalar("select count(*) from report").await, 2);
}

#[tokio::test]
async fn the_write_after_the_servers_250_is_retried_and_nobody_gets_it_twice() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    // The server keeps each message three seconds before its 250.
    let server = SmtpServer::start_with(&[], None, 3.0);
    let (reporter, _, logs) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "reporter"],
            &[("BAOCAO_SMTP_URL", &server.url())],
        )
        .await;
    let sent = env
        .command(binary())
        .args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"])
        .env("BAOCAO_SMTP_URL", server.url())
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    // The first message has reached the server; the database goes away before its 250.
    until("a message at the server", || async {
        !server.messages().is_empty()
    })
    .await;
    env.set_database_available(false).await;
    until("the sender retrying its record", || async {
        logs.count("cannot record a message as sent") > 0
    })
    .await;
    env.set_database_available(true).await;
    until("every message recorded sent", || async {
        env.scalar("select count(*) from outbox where state = 'sent'")
            .await
            == 5
    })
    .await;
    terminate(reporter).await;
    let messages = server.messages();
    let mut addresses: Vec<&str> = messages.iter().map(|m| m["to"].as_str().unwrap()).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(
        (messages.len(), addresses.len()),
        (5, 5),
        "a message was sent twice"
    );
}

#[tokio::test]
async fn sigterm_waits_for_the_smtp_exchange_in_flight() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let server = SmtpServer::start_with(&[], None, 5.0);
    let (reporter, _, _) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "reporter"],
            &[("BAOCAO_SMTP_URL", &server.url())],
        )
        .await;
    let sent = env
        .command(binary())
        .args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"])
        .output()
        .unwrap();
    assert!(sent.status.success());
    until("a message at the server", || async {
        !server.messages().is_empty()
    })
    .await;
    terminate(reporter).await;
    // Each exchange in flight (one per outbox worker at most) ended and was recorded: nothing
    // is left claimed, and what the server took is what is recorded sent, after one attempt.
    assert_eq!(
        env.scalar("select count(*) from outbox where state = 'sending'")
            .await,
        0
    );
    let sent = env
        .scalar("select count(*) from outbox where state = 'sent' and attempts = 1")
        .await;
    let in_flight = i64::try_from(reporter::outbox::SENDERS).unwrap();
    assert!((1..=in_flight).contains(&sent), "{sent} sent");
    assert_eq!(server.messages().len(), usize::try_from(sent).unwrap());
}

#[tokio::test]
async fn the_dashboard_says_what_the_scheduler_will_do_about_the_period_that_closed_last() {
    let (env, _) = two_wards("").await;
    let api = env.start_api(None).await;
    let plan = |unit: &'static str| {
        let api = &api;
        async move {
            let view: Value = api.get(&format!("/api/units/{unit}/reports")).await.json();
            view["last_closed_plan"].clone()
        }
    };
    // Its sending time has passed and nothing was issued: due now, not "will send at 08:00 on
    // the 18th".
    assert_eq!(plan("tri-qua").await["state"], "due");
    sqlx::query("delete from document where unit = 'an-phu'")
        .execute(&env.pool)
        .await
        .unwrap();
    assert_eq!(plan("an-phu").await["state"], "no_events");
    sqlx::query("update unit_registration set configured_at = now() where unit = 'an-phu'")
        .execute(&env.pool)
        .await
        .unwrap();
    assert_eq!(plan("an-phu").await["state"], "before_configured");
    api.stop().await;
}
