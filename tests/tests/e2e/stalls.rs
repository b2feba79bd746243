//! A mail server that stalls holds nothing (SPEC §7): every exchange with it ends within its
//! bound and is recorded as a failed attempt, retried with the backoff; the scheduler issues the
//! other units' reports meanwhile and the other messages go out; a stop still ends within 25 s.
//! Once the server answers, each address gets each report once.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use baocao_tests::{SmtpServer, TestEnv, shipped_config_text, terminate, two_wards, until};
use tokio::net::TcpListener;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// A TCP server that accepts every connection and never says a word: no greeting, nothing. It
/// holds the connections open until stopped.
struct SilentServer {
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    /// Listens on 127.0.0.1:`port`.
    async fn on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self { accepted, task }
    }

    /// The connections accepted so far.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every connection it holds.
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// `run --target reporter` with the configuration file at `config`, sending to `smtp_url`.
async fn reporter(env: &TestEnv, config: &Path, smtp_url: &str) -> tokio::process::Child {
    let extra = [
        ("BAOCAO_CONFIG", config.to_str().unwrap()),
        ("BAOCAO_SMTP_URL", smtp_url),
    ];
    let args = ["run", "--target", "reporter"];
    env.spawn_logged(binary(), &args, &extra).await.0
}

/// The attempts recorded as timed out.
async fn timed_out(env: &TestEnv) -> i64 {
    env.scalar(
        "select count(*) from delivery_attempt where outcome = 'retry' and reply like 'timed out%'",
    )
    .await
}

/// Every message the server received has its own Message-ID, and they are exactly the
/// outbox's: each address got each report once.
async fn each_message_once(env: &TestEnv, server: &SmtpServer) {
    let messages = server.messages();
    let received: Vec<String> = messages
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect();
    let unique: BTreeSet<String> = received.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        received.len(),
        "a message twice: {received:?}"
    );
    let queued: Vec<String> = sqlx::query_scalar("select message_id from outbox")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(unique, queued.into_iter().collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn a_server_that_never_speaks_holds_neither_issuing_nor_retries_and_then_each_address_gets_its_report_once()
 {
    let (env, path) = two_wards(
        "[reporter]\nschedule_every_seconds = 1\nbacklog_wait_minutes = 0\n\
         smtp_timeout_seconds = 2\nemail_retry_seconds = 1\n",
    )
    .await;
    // an-phu's report cannot be stored until the constraint goes.
    sqlx::query("alter table report add constraint refuse_an_phu check (unit <> 'an-phu')")
        .execute(&env.pool)
        .await
        .unwrap();
    let mut server = SmtpServer::down(&[]);
    let silent = SilentServer::on(server.port).await;
    let reporter = reporter(&env, &path, &server.url()).await;
    until(
        "tri-qua's report issued and an exchange hanging",
        || async {
            env.scalar("select count(*) from report where unit = 'tri-qua'")
                .await
                == 1
                && silent.accepted() > 0
        },
    )
    .await;
    let hanging = tokio::time::Instant::now();
    until("an attempt recorded as timed out", || async {
        timed_out(&env).await > 0
    })
    .await;
    let first = hanging.elapsed();
    assert!(
        first < Duration::from_secs(10),
        "the first attempt ended {first:?} after it began, its bound being 2 s"
    );
    until("each of tri-qua's messages tried twice", || async {
        env.scalar("select count(*) from outbox where attempts >= 2")
            .await
            == 5
    })
    .await;

    // While the server still hangs, the scheduler issues an-phu's report.
    sqlx::query("alter table report drop constraint refuse_an_phu")
        .execute(&env.pool)
        .await
        .unwrap();
    until("an-phu's report issued", || async {
        env.scalar("select count(*) from report where unit = 'an-phu'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        env.scalar("select count(*) from outbox where state in ('sent', 'failed')")
            .await,
        0,
        "nothing can have been sent, and nothing is given up"
    );
    let accepted = silent.accepted();
    assert!(accepted >= 10, "only {accepted} connections tried");

    // A real server takes the port: every message goes out once.
    silent.stop().await;
    server.resume();
    until("all ten messages sent", || async {
        env.scalar("select count(*) from outbox where state = 'sent'")
            .await
            == 10
    })
    .await;
    terminate(reporter).await;
    each_message_once(&env, &server).await;
    assert_eq!(server.messages().len(), 10);
    assert_eq!(
        env.scalar("select count(*) from delivery_attempt where outcome = 'failed'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_server_that_stalls_before_its_final_reply_costs_that_message_its_bound_and_holds_no_other()
 {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let text = format!(
        "{}\n[reporter]\nsmtp_timeout_seconds = 5\nemail_retry_seconds = 1\n",
        shipped_config_text()
    );
    let path = env.write_config(&text);
    let queued = env
        .command(binary())
        .args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"])
        .output()
        .unwrap();
    assert!(
        queued.status.success(),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
    // The message claimed first is the one the server never answers after DATA.
    let first = env.first_in_line().await;
    let mut server = SmtpServer::start_stalling(&[&first]);
    let reporter = reporter(&env, &path, &server.url()).await;
    until("the stalled attempt recorded as timed out", || async {
        timed_out(&env).await > 0
    })
    .await;
    // The other four went out while it stalled, before its attempt ended.
    let sent_before: i64 = sqlx::query_scalar(
        "select count(*) from outbox
         where state = 'sent' and sent_at < (select min(attempted_at) from delivery_attempt
                                             where outcome = 'retry')",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(sent_before, 4);
    let reply: String = sqlx::query_scalar(
        "select reply from delivery_attempt join outbox using (outbox_id)
         where outcome = 'retry' and address = $1 order by attempted_at limit 1",
    )
    .bind(&first)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(reply.contains("within 5 s"), "{reply}");

    // The server mends its ways: the stalled message goes out, once.
    server.pause();
    server.set_stall(&[]);
    server.resume();
    until("all five messages sent", || async {
        env.scalar("select count(*) from outbox where state = 'sent'")
            .await
            == 5
    })
    .await;
    terminate(reporter).await;
    assert_eq!(server.messages().len(), 5);
    each_message_once(&env, &server).await;
}

#[tokio::test]
async fn sigterm_during_an_exchange_with_a_server_that_never_speaks_ends_the_process_within_25_s() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    // The default bound of 20 s: the test shows it fits in the 25 s a stop gives.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let silent = SilentServer::on(port).await;
    let url = format!("smtp://127.0.0.1:{port}");
    let (reporter, _, _) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "reporter"],
            &[("BAOCAO_SMTP_URL", &url)],
        )
        .await;
    let queued = env
        .command(binary())
        .args(["report", "send", "--unit", "tri-qua", "--period", "2026-05"])
        .output()
        .unwrap();
    assert!(queued.status.success());
    until("an exchange hanging", || async { silent.accepted() > 0 }).await;
    let took = terminate(reporter).await;
    assert!(
        took < Duration::from_secs(25),
        "the process took {took:?} to stop"
    );
    // Each exchange in flight ended within its bound and was recorded for a retry.
    assert_eq!(
        env.scalar("select count(*) from outbox where state = 'sending'")
            .await,
        0
    );
    assert!(timed_out(&env).await > 0);
    silent.stop().await;
}
