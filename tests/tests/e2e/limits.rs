//! What one client can hold of the API (issue 17): slow heads, the connection cap, the stream
//! caps, probes and metrics that cost the database nothing however often they are called,
//! placeholder tokens, and methods a route does not take.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use baocao_tests::http::Request;
use baocao_tests::{TestEnv, metric};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "test-admin-token-0123456789-abcdefghij";

fn limits() -> api::Limits {
    api::Limits {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(2),
        max_connections: 20,
        streams_per_client: 2,
        streams_total: 3,
    }
}

/// Opens a connection that sends half a request head and nothing more.
async fn half_head(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /api/units HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow:")
        .await
        .unwrap();
    stream
}

/// Whether the server closed `stream` within `limit` (read gives end of file or an error).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 256];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn slow_heads_are_closed_after_the_header_timeout_while_others_are_served() {
    let env = TestEnv::new().await;
    let api = env.start_api_with(Some(TOKEN), limits()).await;
    let mut slow = Vec::new();
    for _ in 0..15 {
        slow.push(half_head(&api.address).await);
    }
    // Meanwhile a normal request is answered.
    assert_eq!(api.get("/api/units").await.status, 200);
    for stream in &mut slow {
        assert!(closed_within(stream, Duration::from_secs(6)).await);
    }
    api.stop().await;
}

#[tokio::test]
async fn over_the_connection_cap_only_the_probes_answer() {
    let env = TestEnv::new().await;
    let api = env.start_api_with(Some(TOKEN), limits()).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(half_head(&api.address).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = api.get("/api/units").await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["code"], "connections_full");
    assert_eq!(
        Request::get("/healthz").send(&api.address).await.status,
        200
    );
    assert_eq!(
        Request::get("/metrics").send(&api.address).await.status,
        200
    );
    // Once the slow ones are closed, everything is served again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(api.get("/api/units").await.status, 200);
    drop(held);
    api.stop().await;
}

#[tokio::test]
async fn streams_are_capped_per_client_and_in_all() {
    let env = TestEnv::new().await;
    let api = env.start_api_with(Some(TOKEN), limits()).await;
    let first = api.events("/api/units/tri-qua/stream", None).await;
    let _second = api.events("/api/units/tri-qua/stream", None).await;
    let third = api.get("/api/units/tri-qua/stream").await;
    assert_eq!(third.status, 429, "{}", third.text());
    assert_eq!(third.json()["code"], "streams_per_client");
    assert!(third.header("retry-after").is_some());
    // A closed stream gives its place back.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _again = api.events("/api/units/tri-qua/stream", None).await;
    api.stop().await;
    // In all: a server of two streams refuses a third, whoever asks.
    let few = api::Limits {
        streams_per_client: 5,
        streams_total: 2,
        ..limits()
    };
    let api = env.start_api_with(Some(TOKEN), few).await;
    let _one = api.events("/api/units/tri-qua/stream", None).await;
    let _two = api.events("/api/units/tri-qua/stream", None).await;
    let three = api.get("/api/units/tri-qua/stream").await;
    assert_eq!(three.status, 503, "{}", three.text());
    assert_eq!(three.json()["code"], "streams_total");
    api.stop().await;
}

#[tokio::test]
async fn metrics_hammered_cost_the_database_a_look_every_few_seconds_and_readiness_holds() {
    let env = TestEnv::new().await;
    let api = env.start_api(Some(TOKEN)).await;
    let address = api.address.clone();
    // Ready once the first look has answered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while Request::get("/readyz").send(&address).await.status != 200 {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = transactions(&env).await;
    let started = tokio::time::Instant::now();
    let mut hammers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let address = address.clone();
        hammers.spawn(async move {
            let mut answered = 0;
            while started.elapsed() < Duration::from_secs(8) {
                assert_eq!(Request::get("/metrics").send(&address).await.status, 200);
                answered += 1;
            }
            answered
        });
    }
    while started.elapsed() < Duration::from_secs(8) {
        let ready = Request::get("/readyz").send(&address).await;
        assert_eq!(ready.json()["database"], "ok", "{}", ready.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut scrapes = 0;
    while let Some(answered) = hammers.join_next().await {
        scrapes += answered.unwrap();
    }
    let looks = metric(&address, "baocao_database_looks_total").await;
    api.stop().await;
    assert!(scrapes >= 200, "only {scrapes} scrapes");
    assert!((1.0..=4.0).contains(&looks), "{looks} looks in 8 s");
    // The database's own count: every statement outside a transaction is one. A backend may
    // report its count up to 10 s late, so the test's set-up (the migrations, the pools'
    // connections) may fall in the window too: a bound far below one per scrape, where the
    // old server ran three statements per scrape.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let statements = transactions(&env).await - before;
    assert!(
        statements <= 100,
        "{statements} transactions for {scrapes} scrapes"
    );
}

/// The transactions committed in the test's database, as PostgreSQL counts them.
async fn transactions(env: &TestEnv) -> i64 {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&baocao_tests::postgres_url("postgres"))
        .await
        .unwrap();
    sqlx::query_scalar("select xact_commit from pg_stat_database where datname = $1")
        .bind(&env.name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn methods_a_route_does_not_take_are_answered_405_with_allow() {
    let env = TestEnv::new().await;
    let api = env.start_api(Some(TOKEN)).await;
    for path in ["/readyz", "/api/units"] {
        let trace = Request::new("TRACE", path)
            .bearer(Some(TOKEN))
            .send(&api.address)
            .await;
        assert_eq!(trace.status, 405, "TRACE {path}");
        assert!(trace.header("allow").unwrap().contains("GET"));
    }
    let post = Request::post_json("/healthz", &serde_json::json!({}))
        .send(&api.address)
        .await;
    assert_eq!(post.status, 405);
    api.stop().await;
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

#[tokio::test]
async fn start_up_refuses_placeholder_tokens() {
    let env = TestEnv::new().await;
    let example =
        std::fs::read_to_string(baocao_tests::repo_root().join("k8s/examples/baocao-secrets.yaml"))
            .unwrap();
    let shipped = example
        .lines()
        .find_map(|line| line.trim().strip_prefix("BAOCAO_ADMIN_TOKEN:"))
        .unwrap()
        .trim()
        .to_owned();
    for token in [
        shipped.as_str(),
        "our-own-token-Change-Me-0123456789-abcdef",
    ] {
        let refused = env
            .command(binary())
            .args(["run", "--target", "api"])
            .env("BAOCAO_ADMIN_TOKEN", token)
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{token} accepted");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("placeholder"), "{stderr}");
        assert!(!stderr.contains(token), "{stderr}");
    }
}
