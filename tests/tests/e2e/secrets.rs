//! No credential reaches a log at any level: the broker's and the mail server's passwords,
//! the database URL's, and the admin token, with everything logged at `trace`. The mail
//! server's password goes only over TLS, unless the server is on this machine.

use std::path::Path;
use std::time::Duration;

use baocao_tests::http::Request;
use baocao_tests::{SmtpServer, TestEnv, rabbitmqctl, terminate};
use uuid::Uuid;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// A RabbitMQ user of the test's vhost, removed when dropped.
struct BrokerUser(String);

impl Drop for BrokerUser {
    fn drop(&mut self) {
        rabbitmqctl(&["delete_user", &self.0]);
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        out.push_str(&"=".repeat(3 - chunk.len()));
    }
    out
}

#[tokio::test]
async fn no_credential_appears_in_any_log_line_at_trace_level() {
    let env = TestEnv::new().await;
    let tag = Uuid::new_v4().simple().to_string();
    let broker_password = format!("broker-pw-{tag}");
    let mail_password = format!("mail-pw-{tag}");
    let database_password = format!("database-pw-{tag}");
    let token = format!("admin-token-{tag}-0123456789");
    let user = BrokerUser(format!("bct-{tag}"));
    rabbitmqctl(&["add_user", &user.0, &broker_password]);
    rabbitmqctl(&[
        "set_permissions",
        "-p",
        &env.name,
        &user.0,
        ".*",
        ".*",
        ".*",
    ]);
    let amqp = format!(
        "amqp://{}:{broker_password}@127.0.0.1:5672/{}",
        user.0, env.name
    );
    // The local server trusts every login, so any password gets in: what matters is that the
    // URL carrying it is never printed.
    let database = format!(
        "postgres://postgres:{database_password}@127.0.0.1:5432/{}",
        env.name
    );
    let server = SmtpServer::start_with(&[], Some(&format!("mailer:{mail_password}")), 0.0);
    let smtp = format!("smtp://mailer:{mail_password}@127.0.0.1:{}", server.port);
    let secrets = [
        broker_password.clone(),
        mail_password.clone(),
        database_password.clone(),
        token.clone(),
        base64(format!("\0mailer\0{mail_password}").as_bytes()),
        base64(mail_password.as_bytes()),
    ];
    let extra = [
        ("BAOCAO_LOG", "trace"),
        ("BAOCAO_AMQP_URL", amqp.as_str()),
        ("BAOCAO_DATABASE_URL", database.as_str()),
        ("BAOCAO_SMTP_URL", smtp.as_str()),
        ("BAOCAO_ADMIN_TOKEN", token.as_str()),
    ];
    let (process, address, logs) = env
        .spawn_logged(binary(), &["run", "--target", "all"], &extra)
        .await;
    // Every credential in use: events consumed, a report emailed, the API asked with the token.
    env.ingest_reference_month().await;
    let mut send = env.command(binary());
    send.args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"]);
    for (name, value) in extra {
        send.env(name, value);
    }
    let sent = send.output().unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while server.messages().len() < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mail did not go out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let units = Request::get("/api/units")
        .bearer(Some(&token))
        .send(&address)
        .await;
    assert_eq!(units.status, 200);
    terminate(process).await;

    let mut lines = logs.lines();
    lines.extend(
        String::from_utf8_lossy(&sent.stderr)
            .lines()
            .map(str::to_owned),
    );
    assert!(lines.len() > 100, "trace logged only {} lines", lines.len());
    for line in &lines {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a credential in the logs: {line}"
            );
        }
    }
}

#[tokio::test]
async fn a_password_over_plain_smtp_to_another_host_stops_start_up_without_printing_it() {
    let env = TestEnv::new().await;
    let password = format!("mail-pw-{}", Uuid::new_v4().simple());
    let plain = format!("smtp://mailer:{password}@mail.example.gov.vn:25");
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::from(env.command(binary()))
            .args(["run", "--target", "reporter"])
            .env("BAOCAO_SMTP_URL", &plain)
            .output(),
    )
    .await
    .expect("it stops at once")
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("error: BAOCAO_SMTP_URL") && error.contains("smtp+starttls://"),
        "{stderr}"
    );
    assert!(!stderr.contains(&password), "{stderr}");

    // Over STARTTLS the same login starts (nothing is due, so nothing connects yet).
    let starttls = format!("smtp+starttls://mailer:{password}@mail.example.gov.vn:587");
    let (process, _, logs) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "reporter"],
            &[("BAOCAO_SMTP_URL", starttls.as_str())],
        )
        .await;
    terminate(process).await;
    assert!(logs.lines().iter().all(|line| !line.contains(&password)));
}
