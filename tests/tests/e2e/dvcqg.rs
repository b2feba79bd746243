//! Dossiers as the one-stop system already sends them (SPEC §3.5): DVCQG sync bodies over HTTP
//! (`POST /sync/dvcqg` with a source's token) and straight to the broker, re-synced whole,
//! with every status and channel, a deadline moved, records withdrawn and stopped, unreadable
//! records among good ones, a wrong token and an unknown agency. Each figure is what the
//! definitions of SPEC §5 give, no citizen's name or number is stored, and the month of the
//! seed profile sent as syncs gives the seed month's report.

use std::path::Path;
use std::time::Duration;

use baocao_tests::http::Request;
use baocao_tests::{RunningApi, TestEnv, instant, period};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const TOKEN_VARIABLE: &str = "BAOCAO_SOURCE_TOKEN_MOT_CUA";
const TOKEN: &str = "mot-cua-tinh-0123456789abcdefghijklmnopqrstuv";
const AGENCY: &str = "000.00.12.H55";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// The shipped configuration (tri-qua is agency 000.00.12.H55) with a source.
async fn env_with_source() -> TestEnv {
    let text = format!(
        "{}\n[[source]]\nname = \"mot-cua\"\ndialects = [\"dvcqg\"]\ntoken_env = \"{TOKEN_VARIABLE}\"\n",
        baocao_tests::shipped_config_text()
    );
    let config = baocao::config::parse_file(Path::new("baocao.toml"), &text).unwrap();
    TestEnv::with_config(config).await
}

async fn start_api(env: &TestEnv) -> RunningApi {
    let limits = env.config.http.limits();
    env.start_api_with_sources(None, limits, &[(TOKEN_VARIABLE, TOKEN)])
        .await
}

/// A record of dossier `code` with the citizen's fields a real sync carries.
fn record(code: &str, status: u8, channel: u8, received: &str, due: &str) -> Value {
    json!({
        "MaHoSo": code, "MaTTHC": "1.001612", "NgayTiepNhan": received, "NgayHenTra": due,
        "TrangThaiHoSo": status.to_string(), "KenhThucHien": channel,
        "HoSoCoThanhPhanSoHoa": "1",
        "ChuHoSo": format!("Lê Thị Công Dân {code}"), "SoDienThoai": "0905777888",
        "Email": "congdan@example.vn", "SoGiayToChuHoSo": "051099887766",
    })
}

fn ended(mut record: Value, at: &str) -> Value {
    record["NgayKetThucXuLy"] = json!(at);
    record
}

/// The month of 2026-05 (window 15 April to 15 May): one dossier carried over, nine received
/// (three channels), two never received, one withdrawn after its deadline and one stopped
/// (resolved on time without a result), one resolved early, one on its due day, one late.
fn records() -> Vec<Value> {
    let mut d1 = record("D1", 2, 1, "20260420083000", "20260424170000");
    d1["HoSoCoThanhPhanSoHoa"] = json!(0);
    vec![
        record("D0", 4, 2, "20260401080000", "20260410170000"),
        d1,
        record("D2", 4, 2, "20260421080000", "20260530170000"),
        // D3's deadline is moved to 20 May by a later sync (sent first, below).
        record("D3", 2, 3, "20260422080000", "20260425170000"),
        {
            let mut d4 = record("D4", 6, 2, "20260423080000", "20260525170000");
            d4["HoSoCoThanhPhanSoHoa"] = json!("0");
            d4
        },
        ended(
            record("D5", 7, 2, "20260424080000", "20260426170000"),
            "20260430090000",
        ),
        ended(
            record("D6", 8, 1, "20260424090000", "20260501170000"),
            "20260502090000",
        ),
        ended(
            record("D7", 9, 2, "20260425080000", "20260505170000"),
            "20260503100000",
        ),
        ended(
            record("D8", 10, 1, "20260426080000", "20260506170000"),
            "20260506100000",
        ),
        ended(
            record("D9", 10, 2, "20260427080000", "20260507170000"),
            "20260509100000",
        ),
        record("D10", 1, 2, "20260428080000", "20260508170000"),
        record("D11", 3, 2, "20260428090000", "20260508170000"),
        // Two records that cannot be read, among the good ones.
        record("BAD-DATE", 2, 2, "20260429080000", "2026/05/10"),
        record("BAD-STATUS", 12, 2, "20260429090000", "20260510170000"),
    ]
}

fn body(records: &[Value]) -> Value {
    json!({"service": "DongBoHoSoMC", "madonvi": AGENCY, "isUpdating": "False", "data": records})
}

async fn post(api: &RunningApi, token: Option<&str>, body: &Value) -> baocao_tests::http::Response {
    Request::post_json("/sync/dvcqg", body)
        .bearer(token)
        .send(&api.address)
        .await
}

fn expected_procedures() -> Value {
    json!({
        "carried_over": 1, "received": 9, "online": 5, "direct": 3, "postal": 1, "digitized": 8,
        "resolved": 5, "resolved_early": 1, "resolved_on_time": 3, "resolved_late": 1,
        "resolved_without_result": 2, "pending": 5, "pending_on_time": 3, "pending_overdue": 2
    })
}

#[tokio::test]
async fn sync_bodies_over_http_and_amqp_count_each_dossier_once_by_the_definitions() {
    let env = env_with_source().await;
    let api = start_api(&env).await;
    let broker = env.broker().await;
    let worker = env.start_ingest();

    // The later syncs first, straight to the broker: D3's deadline moved to 20 May by a
    // supplement request (status 5), D4 digitized after all, D2 with another reception date.
    let mut d3 = record("D3", 5, 3, "20260422080000", "20260520170000");
    d3["HoSoCoThanhPhanSoHoa"] = json!(true);
    let d4 = record("D4", 6, 2, "20260423080000", "20260525170000");
    let d2 = record("D2", 4, 2, "20260422080000", "20260530170000");
    let later = body(&[d3, d4, d2]).to_string();
    broker
        .publish_raw("portal.events", "dvcqg.DongBoHoSoMC", later.as_bytes())
        .await;

    // Then the whole month over HTTP.
    let month = body(&records());
    let accepted = post(&api, Some(TOKEN), &month).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["error_code"], 0);
    // Wrong or missing token, an unknown agency, not JSON: refused, nothing published.
    let wrong = post(&api, Some(&"x".repeat(40)), &month).await;
    assert_eq!(
        (wrong.status, wrong.json()["error_code"].clone()),
        (401, json!(-1))
    );
    assert_eq!(post(&api, None, &month).await.status, 401);
    let mut stranger = month.clone();
    stranger["madonvi"] = json!("000.00.99.H55");
    let unknown = post(&api, Some(TOKEN), &stranger).await;
    assert_eq!(
        (unknown.status, unknown.json()["error_code"].clone()),
        (400, json!(-1))
    );
    assert!(
        unknown.json()["message"]
            .as_str()
            .unwrap()
            .contains("000.00.99.H55")
    );
    let not_json = Request::new("POST", "/sync/dvcqg")
        .header("content-type", "application/json")
        .bearer(Some(TOKEN))
        .body(b"{not json".to_vec())
        .send(&api.address)
        .await;
    assert_eq!(not_json.status, 400);

    // 10 received (D0 to D9) and 5 resolved events; the two bad records dead-lettered alone.
    env.wait_for_stored(15, WAIT).await;
    env.wait_for_dead_letters(2, WAIT).await;
    // Everything again, whole, as the sync re-sends on every change: nothing changes.
    assert_eq!(post(&api, Some(TOKEN), &month).await.status, 200);
    env.wait_for_dead_letters(4, WAIT).await;
    env.wait_for_queue_depth("baocao.portal", 0, WAIT).await;
    worker.stop().await;
    assert_eq!(env.stored_events().await, 15);

    let may = env
        .indicators(period("2026-05"), instant("2026-11-01T00:00:00Z"))
        .await;
    assert_eq!(
        serde_json::to_value(may.procedures).unwrap(),
        expected_procedures()
    );
    // Only D2's changed reception date is a conflict; every other re-sync is an update.
    let conflicts = env
        .scalar("select count(*) from conflict where kind = 'dossier_received'")
        .await;
    assert_eq!(conflicts, 1);

    let letters = env.dead_letters().await;
    let mut reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    assert_eq!(
        reasons,
        ["invalid_field:NgayHenTra", "invalid_field:TrangThaiHoSo"]
    );
    let bad_date = letters
        .iter()
        .find(|l| l.reason == "invalid_field:NgayHenTra")
        .unwrap();
    assert!(bad_date.detail.contains("BAD-DATE"), "{}", bad_date.detail);
    let alone: Value = serde_json::from_slice(&bad_date.body).unwrap();
    assert_eq!(alone["data"].as_array().unwrap().len(), 1);
    assert_eq!(alone["madonvi"], AGENCY);

    // The dashboard's view of the sources.
    let pipeline = Request::get("/api/pipeline")
        .send(&api.address)
        .await
        .json();
    let sources = pipeline["sources"].as_array().unwrap();
    let mot_cua = sources.iter().find(|s| s["source"] == "mot-cua").unwrap();
    assert_eq!(mot_cua["configured"], true);
    assert_eq!(mot_cua["last_records"], 14);
    assert_eq!(mot_cua["bodies"], 2);
    let refused: i64 = mot_cua["refused_today"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_i64().unwrap())
        .sum();
    assert_eq!(refused, 4);
    let broker_feed = sources.iter().find(|s| s["source"] == "broker").unwrap();
    assert_eq!(
        (
            broker_feed["bodies"].clone(),
            broker_feed["configured"].clone()
        ),
        (json!(1), json!(false))
    );
    api.stop().await;
    broker.close().await;

    // No citizen's name, phone number, e-mail or identity number anywhere in the database.
    let dump = std::process::Command::new("pg_dump")
        .args([
            "--data-only",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            &env.name,
        ])
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("D9"), "the dump holds the dossiers");
    for personal in [
        "Công Dân",
        "0905777888",
        "congdan@example.vn",
        "051099887766",
    ] {
        assert!(!dump.contains(personal), "{personal} is stored");
    }
}

#[tokio::test]
async fn a_progress_log_is_accepted_and_counts_nothing() {
    let env = env_with_source().await;
    let api = start_api(&env).await;
    let worker = env.start_ingest();
    let progress = json!({"service": "CapNhatTienDoHoSoMC", "madonvi": AGENCY,
                          "data": [{"MaHoSo": "D1", "NoiDung": "Chuyển xử lý"}]});
    let answer = post(&api, Some(TOKEN), &progress).await;
    assert_eq!(
        (answer.status, answer.json()["error_code"].clone()),
        (200, json!(0))
    );
    let limit = tokio::time::Instant::now() + WAIT;
    while env.scalar("select count(*) from source_feed").await < 1 {
        assert!(
            tokio::time::Instant::now() < limit,
            "the progress log was not read"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    assert_eq!(env.stored_events().await, 0);
    assert_eq!(env.queue_depth("baocao.dead").await, 0);
    api.stop().await;
}

#[tokio::test]
async fn the_seed_month_sent_as_sync_bodies_gives_the_seed_months_report() {
    let seed = TestEnv::new().await;
    seed.ingest_reference_month().await;
    let expected = seed
        .indicators(period("2026-05"), instant("2026-11-01T00:00:00Z"))
        .await;

    let synced = TestEnv::new().await;
    let (worker, _) = synced.spawn_ingest(binary()).await;
    let sim = synced
        .command(binary())
        .args([
            "sim",
            "--unit",
            "tri-qua",
            "--period",
            "2026-05",
            "--profile",
            "dvcqg",
        ])
        .args(["--wait", "120"])
        .output()
        .expect("sim runs");
    assert!(
        sim.status.success(),
        "{}{}",
        String::from_utf8_lossy(&sim.stdout),
        String::from_utf8_lossy(&sim.stderr)
    );
    synced.wait_for_queue_depth("baocao.portal", 0, WAIT).await;
    baocao_tests::terminate(worker).await;
    let got = synced
        .indicators(period("2026-05"), instant("2026-11-01T00:00:00Z"))
        .await;
    assert_eq!(
        serde_json::to_value(&got).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    assert_eq!(synced.scalar("select count(*) from conflict").await, 0);
    assert_eq!(synced.queue_depth("baocao.dead").await, 0);
}
