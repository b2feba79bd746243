//! Delivery: the issued report reaches each address of "Nơi nhận" once, over SMTP to a real
//! server (aiosmtpd), through outages, permanent refusals and a sender that dies mid-way.

use std::collections::BTreeMap;

use baocao_tests::{SmtpServer, TestEnv, issue_reference_month};
use chrono::{DateTime, TimeDelta, Utc};
use reporter::sender::{Mailer, RetryPolicy, Sender};
use serde_json::Value;
use store::outbox::Outcome;

const ADDRESSES: [&str; 5] = [
    "chutich.triqua@example.gov.vn",
    "danguy.triqua@example.gov.vn",
    "hdnd.triqua@example.gov.vn",
    "phochutich.triqua@example.gov.vn",
    "vanthu.sokhcn@example.gov.vn",
];

fn sender(server: &SmtpServer) -> Sender {
    let mailer = Mailer::new(Some(&server.url()), std::path::Path::new("unused")).unwrap();
    Sender::new(mailer, RetryPolicy::default())
}

/// Runs the sender's step until nothing is due at `now`; returns the outcomes.
async fn drain(env: &TestEnv, sender: &Sender, now: DateTime<Utc>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    while let Some((_, outcome)) = sender.send_next(&env.pool, now).await.unwrap() {
        outcomes.push(outcome);
    }
    outcomes
}

/// Received messages by recipient file name suffix (the address).
fn by_address(messages: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut out: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for message in messages {
        out.entry(message["to"].as_str().unwrap().to_owned())
            .or_default()
            .push(message);
    }
    out
}

async fn states(env: &TestEnv) -> BTreeMap<String, (String, i32)> {
    let rows: Vec<(String, String, i32)> =
        sqlx::query_as("select address, state, attempts from outbox")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    rows.into_iter().map(|(a, s, n)| (a, (s, n))).collect()
}

#[tokio::test]
async fn the_reference_month_reaches_every_address_once_with_both_bodies_and_attachments() {
    let env = TestEnv::new().await;
    let (_, now) = issue_reference_month(&env).await;
    let server = SmtpServer::start(&[]);
    let outcomes = drain(&env, &sender(&server), now).await;
    assert_eq!(outcomes.len(), 5);
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Sent(_))),
        "{outcomes:?}"
    );

    let messages = server.messages();
    let received = by_address(&messages);
    assert_eq!(
        received.keys().map(String::as_str).collect::<Vec<_>>(),
        ADDRESSES
    );
    let golden = std::fs::read_to_string(
        baocao_tests::repo_root().join("tests/golden/bao-cao-chuyen-doi-so-thang-5-2026.txt"),
    )
    .unwrap();
    for (address, copies) in &received {
        assert_eq!(copies.len(), 1, "{address} got {} messages", copies.len());
        let message = copies[0];
        assert_eq!(
            message["subject"],
            "Báo cáo kết quả Chuyển đổi số tháng 5 năm 2026 - UBND phường Trí Quả (Số 103/BC-UBND)"
        );
        assert_eq!(
            message["from"],
            "UBND phường Trí Quả <vanthu.triqua@example.gov.vn>"
        );
        let parts = message["parts"].as_array().unwrap();
        let part = |kind: &str| parts.iter().find(|p| p["type"] == kind).unwrap();
        // Mail carries lines ending CRLF; the text is the golden report.
        let text = part("text/plain")["text"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n");
        assert_eq!(text.trim_end(), golden);
        assert!(
            part("text/html")["text"]
                .as_str()
                .unwrap()
                .contains("84.55%")
        );
        let pdf = part("application/pdf");
        assert_eq!(pdf["head"], "%PDF-");
        assert_eq!(
            pdf["filename"],
            "Báo cáo Chuyển đổi số tháng 5 năm 2026 - Số 103.pdf"
        );
        let docx = part("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        assert_eq!(docx["head"], "PK\u{3}\u{4}\u{14}");
        assert!(
            docx["filename"]
                .as_str()
                .unwrap()
                .ends_with(" - Số 103.docx")
        );
    }
    // Message-IDs differ by address and are the ones stored.
    let ids: std::collections::BTreeSet<&str> = messages
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(
        ids.iter()
            .all(|id| id.starts_with("<baocao.tri-qua.2026-05.r1."))
    );
    assert!(
        states(&env)
            .await
            .values()
            .all(|(s, n)| s == "sent" && *n == 1)
    );
}

#[tokio::test]
async fn a_server_down_at_send_time_gets_every_message_once_when_it_is_back() {
    let env = TestEnv::new().await;
    let (_, now) = issue_reference_month(&env).await;
    let mut server = SmtpServer::down(&[]);
    let sender = sender(&server);
    let failed = drain(&env, &sender, now).await;
    assert_eq!(failed.len(), 5);
    assert!(
        failed.iter().all(|o| matches!(o, Outcome::Retry(..))),
        "{failed:?}"
    );
    assert!(states(&env).await.values().all(|(s, _)| s == "retrying"));
    // Still down a minute later: nothing is due yet (the first retry waits about 30 s, so
    // some may be due; whatever is tried fails again and is rescheduled).
    server.resume();
    let later = now + TimeDelta::minutes(3);
    let sent = drain(&env, &sender, later).await;
    assert!(
        sent.iter().all(|o| matches!(o, Outcome::Sent(_))),
        "{sent:?}"
    );
    let messages = server.messages();
    let received = by_address(&messages);
    assert_eq!(received.len(), 5);
    assert!(received.values().all(|copies| copies.len() == 1));
    // Every attempt is on record: a failure then a success for each message.
    let attempts: Vec<(String, i64)> = sqlx::query_as(
        "select outcome, count(*) from delivery_attempt group by outcome order by outcome",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(attempts, [("retry".to_owned(), 5), ("sent".to_owned(), 5)]);
    assert!(
        states(&env)
            .await
            .values()
            .all(|(s, n)| s == "sent" && *n == 2)
    );
}

#[tokio::test]
async fn a_permanent_refusal_fails_that_address_only() {
    let env = TestEnv::new().await;
    let (_, now) = issue_reference_month(&env).await;
    let server = SmtpServer::start(&["hdnd.triqua@example.gov.vn"]);
    drain(&env, &sender(&server), now).await;
    let states = states(&env).await;
    assert_eq!(
        states["hdnd.triqua@example.gov.vn"],
        ("failed".to_owned(), 1)
    );
    assert_eq!(states.values().filter(|(s, _)| s == "sent").count(), 4);
    let error: String = sqlx::query_scalar(
        "select last_error from outbox where address = 'hdnd.triqua@example.gov.vn'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(error.contains("550"), "{error}");
    // Nothing is retried later.
    assert!(
        drain(&env, &sender(&server), now + TimeDelta::hours(2))
            .await
            .is_empty()
    );
    assert_eq!(server.messages().len(), 4);
    // The sender counts what it did for /metrics (this test's process has only this sender).
    let text = metrics::global().encode();
    for line in [
        "baocao_emails_sent_total 4",
        "baocao_emails_failed_total 1",
        "baocao_email_retries_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Issuing rendered each format once.
    assert!(
        text.lines()
            .any(|l| l == "baocao_report_render_seconds_count{format=\"pdf\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_message_claimed_by_a_sender_that_died_is_sent_once_after_its_lease() {
    let env = TestEnv::new().await;
    let (_, now) = issue_reference_month(&env).await;
    // A sender claims a message and dies before sending it.
    let dead_sender = uuid::Uuid::new_v4();
    let claimed = store::outbox::claim_next(&env.pool, dead_sender, now, TimeDelta::minutes(5))
        .await
        .unwrap()
        .unwrap();
    let server = SmtpServer::start(&[]);
    let sender = sender(&server);
    // The others go out; the claimed one waits for its lease.
    assert_eq!(
        drain(&env, &sender, now + TimeDelta::minutes(1))
            .await
            .len(),
        4
    );
    assert_eq!(states(&env).await[&claimed.address].0, "sending");
    // After the lease, a restarted sender sends it, once.
    assert_eq!(
        drain(&env, &sender, now + TimeDelta::minutes(6))
            .await
            .len(),
        1
    );
    let messages = server.messages();
    let received = by_address(&messages);
    assert_eq!(received.len(), 5);
    assert!(received.values().all(|copies| copies.len() == 1));
    // The first sender was only slow: it comes back and records a failure. Its claim is gone,
    // so the message stays sent and is not queued again.
    let outcome = store::outbox::Outcome::Retry("timed out".into(), now + TimeDelta::minutes(7));
    let recorded = store::outbox::record(&env.pool, claimed.outbox_id, dead_sender, &outcome, now)
        .await
        .unwrap();
    assert_eq!(
        recorded,
        store::outbox::Recorded::NotHeld,
        "a lapsed claim overwrote another sender's outcome"
    );
    assert_eq!(states(&env).await[&claimed.address].0, "sent");
    assert!(
        drain(&env, &sender, now + TimeDelta::hours(2))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn two_senders_at_once_send_each_message_once() {
    let env = TestEnv::new().await;
    let (_, now) = issue_reference_month(&env).await;
    let server = SmtpServer::start(&[]);
    let (a, b) = (sender(&server), sender(&server));
    let (first, second) = tokio::join!(drain(&env, &a, now), drain(&env, &b, now));
    assert_eq!(first.len() + second.len(), 5);
    let messages = server.messages();
    let received = by_address(&messages);
    assert_eq!(received.len(), 5);
    assert!(received.values().all(|copies| copies.len() == 1));
}

#[tokio::test]
async fn without_an_smtp_url_messages_are_written_as_eml_files() {
    let env = TestEnv::new().await;
    let (_, now) = issue_reference_month(&env).await;
    let dir = std::env::temp_dir().join(format!("{}-outbox", env.name));
    let sender = Sender::new(Mailer::new(None, &dir).unwrap(), RetryPolicy::default());
    let outcomes = drain(&env, &sender, now).await;
    assert_eq!(outcomes.len(), 5);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 5);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("Message-ID: <baocao.tri-qua.2026-05.r1."),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `baocao …` against this test's database, broker and SMTP server.
fn baocao(env: &TestEnv, server: &SmtpServer) -> std::process::Command {
    let mut command = env.command(std::path::Path::new(env!(
        "CARGO_BIN_EXE_baocao-under-test"
    )));
    command
        .env("BAOCAO_SMTP_URL", server.url())
        .stdin(std::process::Stdio::null());
    command
}

async fn wait_for_messages(server: &SmtpServer, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let messages = server.messages();
        if messages.len() >= count || std::time::Instant::now() > deadline {
            return messages;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn two_reporter_processes_and_report_send_deliver_each_address_one_message() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let server = SmtpServer::start(&[]);
    let mut reporters: Vec<_> = (0..2)
        .map(|_| {
            baocao(&env, &server)
                .args(["run", "--target", "reporter"])
                .spawn()
                .unwrap()
        })
        .collect();
    let sent = baocao(&env, &server)
        .args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(
        said.contains("revision 1 (Số 103) stored, 5 message(s) queued"),
        "{said}"
    );

    wait_for_messages(&server, 5).await;
    // Every message is recorded sent, each after one attempt, and no claim is outstanding:
    // a second copy could only come from a second attempt, which would be recorded too.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while states(&env)
        .await
        .values()
        .any(|(state, _)| state != "sent")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            states(&env).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let attempts: i64 = sqlx::query_scalar("select count(*) from delivery_attempt")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 5);
    let messages = server.messages();
    let received = by_address(&messages);
    assert_eq!(received.len(), 5, "{received:?}");
    assert!(received.values().all(|copies| copies.len() == 1));

    let again = baocao(&env, &server)
        .args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(3), "already sent exits 3");
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("was already sent (revision 1); nothing sent")
    );
    let status = baocao(&env, &server)
        .args(["report", "status", "--unit", "tri-qua"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    // Sent months after its day, the report is dated the day it was issued, not the 18th.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    assert!(
        status.contains(&format!("tri-qua 2026-05 revision 1 Số 103 ngày {today}")),
        "{status}"
    );
    let shown = baocao(&env, &server)
        .args([
            "report", "show", "--unit", "tri-qua", "--period", "2026-05", "--format", "text",
        ])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(&domain::notation::decree_date(today)),
        "the report as sent carries its issue date: {shown}"
    );
    assert_eq!(status.matches(" sent at ").count(), 5, "{status}");

    for reporter in &mut reporters {
        let pid = reporter.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
    }
    for mut reporter in reporters {
        assert!(
            reporter.wait().unwrap().success(),
            "the reporter exits 0 on SIGTERM"
        );
    }
}
