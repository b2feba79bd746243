//! DVCQG sync throughput against ingest's own, in one run.
//!
//! Run with `cargo bench -p baocao-tests --bench sync` (RECORDS=50000 by default). On a fresh
//! database and vhost, with `baocao run --target all` (release build, separate process, a
//! `[[source]]` configured):
//! 1. ingest's own figure: RECORDS `procedure.received` events in baocao's envelope,
//!    published first, then drained by the worker (timed from its start until every event is
//!    stored and acknowledged), as `--bench ingest` measures it;
//! 2. the sync: RECORDS records (one dossier received each) in bodies of 100, posted to
//!    `POST /sync/dvcqg` by four clients at once, through the API to the broker and on to the
//!    store, timed from the first post until every event is stored.
//!
//! It prints records/s of the sync, events/s of ingest, and their ratio (target >= 0.5).

use std::path::Path;
use std::time::{Duration, Instant};

use baocao_tests::TestEnv;
use baocao_tests::http::Request;
use serde_json::{Value, json};

const TOKEN: &str = "bench-source-token-0123456789abcdefghijklmnop";
const AGENCY: &str = "000.00.12.H55";
const CLIENTS: usize = 4;
const PER_BODY: usize = 100;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(benchmark())
}

async fn benchmark() -> anyhow::Result<()> {
    let count: usize = std::env::var("RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let text = format!(
        "{}\n[[source]]\nname = \"bench\"\ndialects = [\"dvcqg\"]\ntoken_env = \"BAOCAO_SOURCE_TOKEN_BENCH\"\n",
        baocao_tests::shipped_config_text()
    );
    let config = baocao::config::parse_file(Path::new("baocao.toml"), &text)?;
    let env = TestEnv::with_config(config).await;
    let config_path = env.write_config(&text);

    // 1. Ingest's own figure: the events first, then the worker.
    publish_envelope_events(&env, count).await?;
    let started = Instant::now();
    let (worker, _) = start(&env, &config_path).await;
    wait_stored(&env, count).await;
    let ingest = started.elapsed();
    baocao_tests::terminate(worker).await;

    // 2. The sync, through the API, with the worker running.
    let (worker, address) = start(&env, &config_path).await;
    let bodies = sync_bodies(count);
    let started = Instant::now();
    post_all(&address, bodies).await?;
    let posted = started.elapsed();
    wait_stored(&env, 2 * count).await;
    let sync = started.elapsed();
    baocao_tests::terminate(worker).await;

    let events_per_second = count as f64 / ingest.as_secs_f64();
    let records_per_second = count as f64 / sync.as_secs_f64();
    let ratio = records_per_second / events_per_second;
    println!(
        "sync benchmark: {count} records in bodies of {PER_BODY}, {CLIENTS} clients, baocao run --target all"
    );
    println!(
        "baocao ingest, envelope events, end to end      {events_per_second:>8.0} events/s ({:.2} s)",
        ingest.as_secs_f64()
    );
    println!(
        "POST /sync/dvcqg -> broker -> store, end to end {records_per_second:>8.0} records/s ({:.2} s; all posted and confirmed after {:.2} s)",
        sync.as_secs_f64(),
        posted.as_secs_f64()
    );
    let verdict = if ratio >= 0.5 { "met" } else { "NOT MET" };
    println!(
        "sync to ingest:                                  {ratio:.2} (target >= 0.5) {verdict}"
    );
    Ok(())
}

/// `baocao run --target all` with the source's token; its HTTP address.
async fn start(env: &TestEnv, config: &Path) -> (tokio::process::Child, String) {
    let config = config.to_string_lossy().into_owned();
    env.spawn_listening(
        Path::new(env!("CARGO_BIN_EXE_baocao-under-test")),
        &["run", "--target", "all"],
        &[
            ("BAOCAO_CONFIG", &config),
            ("BAOCAO_SOURCE_TOKEN_BENCH", TOKEN),
        ],
    )
    .await
}

async fn wait_stored(env: &TestEnv, count: usize) {
    while env.stored_events().await < count as i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `count` dossiers received in baocao's envelope, in the open window.
async fn publish_envelope_events(env: &TestEnv, count: usize) -> anyhow::Result<()> {
    let broker = env.broker().await;
    let now = chrono::Utc::now();
    let events: Vec<Value> = (0..count)
        .map(|i| {
            json!({"id": uuid::Uuid::new_v4(), "type": "procedure.received",
                   "occurred_at": now.to_rfc3339(), "unit": "tri-qua",
                   "data": {"dossier_id": format!("ENV-{i:07}"), "channel": "online",
                            "due_at": (now + chrono::TimeDelta::days(5)).to_rfc3339(),
                            "digitized": true}})
        })
        .collect();
    for chunk in events.chunks(1000) {
        broker.publish_events(chunk).await;
    }
    broker.close().await;
    Ok(())
}

/// `count` records, each a dossier received today, in bodies of [`PER_BODY`].
fn sync_bodies(count: usize) -> Vec<Value> {
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    let received = now.format("%Y%m%d%H%M%S").to_string();
    let due = (now + chrono::TimeDelta::days(5))
        .format("%Y%m%d%H%M%S")
        .to_string();
    let records: Vec<Value> = (0..count)
        .map(|i| {
            json!({"MaHoSo": format!("{AGENCY}-SYNC-{i:07}"), "MaTTHC": "1.001612",
                   "NgayTiepNhan": received, "NgayHenTra": due, "TrangThaiHoSo": "4",
                   "KenhThucHien": "2", "HoSoCoThanhPhanSoHoa": "1",
                   "ChuHoSo": "Nguyễn Văn A", "SoDienThoai": "0905123456"})
        })
        .collect();
    records
        .chunks(PER_BODY)
        .map(|chunk| json!({"service": "DongBoHoSoMC", "madonvi": AGENCY, "data": chunk}))
        .collect()
}

/// Posts every body, [`CLIENTS`] at a time; each must be accepted.
async fn post_all(address: &str, bodies: Vec<Value>) -> anyhow::Result<()> {
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (bodies, address) = (std::sync::Arc::clone(&bodies), address.to_owned());
        clients.push(tokio::spawn(async move {
            loop {
                let Some(body) = bodies.lock().expect("the bodies").pop() else {
                    return Ok::<(), anyhow::Error>(());
                };
                let answer = Request::post_json("/sync/dvcqg", &body)
                    .bearer(Some(TOKEN))
                    .send(&address)
                    .await;
                anyhow::ensure!(answer.status == 200, "{}: {}", answer.status, answer.text());
            }
        }));
    }
    for client in clients {
        client.await??;
    }
    Ok(())
}
