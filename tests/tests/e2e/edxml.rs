//! Documents as the e-office system already sends them (SPEC §3.5): edXML packages over HTTP
//! (`POST /sync/edxml` with a source's token) and straight to the broker (`edxml.package`),
//! with a signed and an unsigned PDF, the same document sent again as an update and recalled, a
//! status message, an incoming document, an unknown agency and malformed XML; a package of
//! 40 MiB through the real binary's api target with its peak memory measured. Each figure is
//! what the same events in baocao's envelope give.

use std::path::{Path, PathBuf};
use std::time::Duration;

use baocao_tests::http::{Request, Response};
use baocao_tests::{
    RunningApi, TestEnv, event, instant, peak_memory, period, repo_root, terminate,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const TOKEN_VARIABLE: &str = "BAOCAO_SOURCE_TOKEN_VAN_PHONG";
const TOKEN: &str = "van-phong-dien-tu-0123456789abcdefghijklmnop";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// The shipped configuration (tri-qua is agency 000.00.12.H55) with an edXML source.
pub fn config_text() -> String {
    format!(
        "{}\n[[source]]\nname = \"van-phong\"\ndialects = [\"edxml\"]\ntoken_env = \"{TOKEN_VARIABLE}\"\n",
        baocao_tests::shipped_config_text()
    )
}

async fn env_with_source() -> TestEnv {
    let config = baocao::config::parse_file(Path::new("baocao.toml"), &config_text()).unwrap();
    TestEnv::with_config(config).await
}

async fn start_api(env: &TestEnv) -> RunningApi {
    let limits = env.config.http.limits();
    env.start_api_with_sources(None, limits, &[(TOKEN_VARIABLE, TOKEN)])
        .await
}

/// An example package of `proto/edxml/examples/`.
pub fn example(name: &str) -> Vec<u8> {
    let path: PathBuf = repo_root().join("proto/edxml/examples").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn post(address: &str, token: Option<&str>, body: Vec<u8>) -> Response {
    Request::new("POST", "/sync/edxml")
        .header("content-type", "application/xml")
        .bearer(token)
        .body(body)
        .send(address)
        .await
}

/// The documents of the examples as baocao's envelope says them: 103 signed digitally, 104
/// signed digitally by its update.
pub fn envelope_documents() -> Vec<Value> {
    vec![
        event(
            "document.signed",
            "2026-04-20T00:00:00+07:00",
            json!({"document_id": "103", "digital": true, "number": "103/BC-UBND"}),
        ),
        event(
            "document.signed",
            "2026-04-22T00:00:00+07:00",
            json!({"document_id": "104", "digital": true, "number": "104/TB-UBND"}),
        ),
    ]
}

async fn documents_figures(env: &TestEnv) -> Value {
    let may = env
        .indicators(period("2026-05"), instant("2026-11-01T00:00:00Z"))
        .await;
    serde_json::to_value(may.documents).unwrap()
}

#[tokio::test]
async fn packages_over_http_and_amqp_count_each_outgoing_document_once_by_the_definitions() {
    let env = env_with_source().await;
    let api = start_api(&env).await;
    let broker = env.broker().await;
    let worker = env.start_ingest();

    let answer = |response: &Response| (response.status, response.json()["error_code"].clone());
    let signed = post(&api.address, Some(TOKEN), example("signed.xml")).await;
    assert_eq!(answer(&signed), (200, json!(0)), "{}", signed.text());
    assert!(
        signed.json()["message"]
            .as_str()
            .unwrap()
            .contains("103/BC-UBND")
    );
    for name in ["unsigned.xml", "update.xml", "recall.xml"] {
        let accepted = post(&api.address, Some(TOKEN), example(name)).await;
        assert_eq!(
            answer(&accepted),
            (200, json!(0)),
            "{name}: {}",
            accepted.text()
        );
    }
    for name in ["status.xml", "incoming.xml"] {
        let accepted = post(&api.address, Some(TOKEN), example(name)).await;
        assert_eq!(
            answer(&accepted),
            (200, json!(0)),
            "{name}: {}",
            accepted.text()
        );
        assert!(
            accepted.json()["message"]
                .as_str()
                .unwrap()
                .contains("not counted")
        );
    }
    // An unknown agency, malformed XML, a wrong token, JSON: refused, nothing published.
    let unknown = post(&api.address, Some(TOKEN), example("unknown-agency.xml")).await;
    assert_eq!(answer(&unknown), (400, json!(-1)));
    assert!(
        unknown.json()["message"]
            .as_str()
            .unwrap()
            .contains("000.00.99.H55")
    );
    let mut cut = example("signed.xml");
    cut.truncate(cut.len() / 2);
    let malformed = post(&api.address, Some(TOKEN), cut).await;
    assert_eq!(answer(&malformed), (400, json!(-1)), "{}", malformed.text());
    let no_date = String::from_utf8(example("signed.xml")).unwrap().replace(
        "<edXML:PromulgationDate>2026/04/20</edXML:PromulgationDate>",
        "",
    );
    let refused = post(&api.address, Some(TOKEN), no_date.into_bytes()).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("PromulgationDate")
    );
    assert_eq!(
        post(&api.address, Some(&"x".repeat(40)), example("signed.xml"))
            .await
            .status,
        401
    );
    assert_eq!(
        post(&api.address, None, example("signed.xml")).await.status,
        401
    );
    let json_body = Request::new("POST", "/sync/edxml")
        .header("content-type", "application/json")
        .bearer(Some(TOKEN))
        .body(b"{}".to_vec())
        .send(&api.address)
        .await;
    assert_eq!(json_body.status, 415);

    // Straight to the broker: the signed package again (counted once), and an unknown agency.
    broker
        .publish_raw("eoffice.events", "edxml.package", &example("signed.xml"))
        .await;
    broker
        .publish_raw(
            "eoffice.events",
            "edxml.package",
            &example("unknown-agency.xml"),
        )
        .await;
    broker
        .publish_raw("eoffice.events", "edxml.package", &example("status.xml"))
        .await;

    // 103, 104 (its update the same event) and 103's recall.
    env.wait_for_stored(3, WAIT).await;
    env.wait_for_dead_letters(1, WAIT).await;
    env.wait_for_queue_depth("baocao.eoffice", 0, WAIT).await;
    worker.stop().await;
    assert_eq!(env.stored_events().await, 3);
    assert_eq!(env.scalar("select count(*) from document").await, 2);
    assert_eq!(env.scalar("select count(*) from conflict").await, 0);
    let letters = env.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "unknown_unit");
    // The recall is stored, with what it is.
    let recalls = env
        .scalar("select count(*) from event where body->'source'->>'business' = 'recall'")
        .await;
    assert_eq!(recalls, 1);

    // The dashboard's view of the source: one body per counted package it sent.
    let pipeline = Request::get("/api/pipeline")
        .send(&api.address)
        .await
        .json();
    let sources = pipeline["sources"].as_array().unwrap();
    let van_phong = sources.iter().find(|s| s["source"] == "van-phong").unwrap();
    assert_eq!(van_phong["configured"], true);
    assert_eq!(van_phong["bodies"], 4, "{van_phong}");
    assert_eq!(van_phong["last_records"], 1);
    let ward = pipeline["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "tri-qua")
        .unwrap();
    assert_eq!(
        (ward["recalled"].clone(), ward["conflicts"].clone()),
        (json!(1), json!(0))
    );

    let envelope = TestEnv::new().await;
    envelope.ingest(&envelope_documents()).await;
    let figures = documents_figures(&env).await;
    assert_eq!(figures, json!({"issued": 2, "digitally_signed": 2}));
    assert_eq!(figures, documents_figures(&envelope).await);
    api.stop().await;
    broker.close().await;
}

/// A PDF of `size` bytes signed at its end, as a package's base64 attachment of 76-character
/// lines.
fn large_package(size: usize) -> Vec<u8> {
    let template = String::from_utf8(example("unsigned.xml")).unwrap();
    let start = template.find("<edXML:Value>").unwrap() + "<edXML:Value>".len();
    let end = template[start..].find("</edXML:Value>").unwrap() + start;
    let mut package = Vec::with_capacity(size * 4 / 3 + size / 50 + template.len());
    package.extend_from_slice(&template.as_bytes()[..start]);
    // Base64 of "%PDF-1.7\n" then zeros, then the signature dictionary, by 57-byte lines.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(size - 64, b'0');
    pdf.extend_from_slice(b"\n<</Type/Sig/ByteRange [0 10 20 30]/Contents <00>>>\n%%EOF\n");
    for line in pdf.chunks(57) {
        package.extend_from_slice(encode(line).as_bytes());
        package.push(b'\n');
    }
    package.extend_from_slice(&template.as_bytes()[end..]);
    package
}

fn encode(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_package_of_40_mib_is_read_by_the_api_binary_in_bounded_memory() {
    let env = TestEnv::new().await;
    let path = env.write_config(&config_text());
    let (api, address) = env
        .spawn_listening(
            binary(),
            &["run", "--target", "api"],
            &[
                ("BAOCAO_CONFIG", path.to_str().unwrap()),
                (TOKEN_VARIABLE, TOKEN),
            ],
        )
        .await;
    let pid = api.id().unwrap();
    // A small package first: the process as it is once it has served one.
    let small = post(&address, Some(TOKEN), example("unsigned.xml")).await;
    assert_eq!(small.status, 200, "{}", small.text());
    let before = peak_memory(pid);
    let package = large_package(30 * 1024 * 1024);
    assert!(package.len() >= 40 * 1024 * 1024, "{} bytes", package.len());
    let size = package.len();
    let started = std::time::Instant::now();
    let large = post(&address, Some(TOKEN), package).await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(large.status, 200, "{}", large.text());
    assert!(
        large.json()["message"]
            .as_str()
            .unwrap()
            .contains(" digitally signed")
    );
    let after = peak_memory(pid);
    terminate(api).await;
    // The bound: the package is never held, so reading it may add at most 16 MiB to the peak
    // the process had already reached (chunks in flight, the reader's 64 KiB, allocator slack).
    let bound = 16 * 1024 * 1024;
    println!(
        "a package of {:.1} MiB read in {seconds:.1} s: the API's peak memory {:.1} MiB before, \
         {:.1} MiB after (+{:.1} MiB, bound +{} MiB)",
        size as f64 / 1048576.0,
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after - before) as f64 / 1048576.0,
        bound >> 20
    );
    assert!(after - before < bound);

    // The document it gave (104 again, now with a signed PDF) is counted once, signed.
    let worker = env.start_ingest();
    baocao_tests::until(
        "the large package's document is stored as signed",
        || async {
            env.scalar("select count(*) from document where digital and number = '104/TB-UBND'")
                .await
                == 1
        },
    )
    .await;
    worker.stop().await;
    assert_eq!(env.stored_events().await, 1);
}

#[tokio::test]
async fn a_package_of_an_unknown_agency_counts_once_replayed_after_its_ward_is_configured() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    let worker = env.start_ingest();
    // A ward not configured yet: agency 000.00.13.H55.
    let package = String::from_utf8(example("signed.xml"))
        .unwrap()
        .replace("000.00.12.H55", "000.00.13.H55");
    broker
        .publish_raw("eoffice.events", "edxml.package", package.as_bytes())
        .await;
    env.wait_for_dead_letters(1, WAIT).await;
    worker.stop().await;
    assert_eq!(env.dead_letters().await[0].reason, "unknown_unit");
    broker.close().await;

    // The ward is added (an-phu, 000.00.13.H55) and the letter replayed: read as a package
    // again, not as baocao's envelope, although it comes back through the default exchange.
    let path = env.write_config(&baocao_tests::config_with_second_unit("an-phu"));
    let config = [("BAOCAO_CONFIG", path.to_str().unwrap())];
    env.wait_for_dead_letters(1, WAIT).await;
    let replay = tokio::process::Command::from(env.command(binary()))
        .envs(config)
        .args(["dead-letters", "replay"])
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&replay.stdout);
    assert!(printed.starts_with("replayed 1 dead letters"), "{printed}");
    let (worker, _) = env
        .spawn_listening(binary(), &["run", "--target", "ingest"], &config)
        .await;
    env.wait_for_stored(1, WAIT).await;
    terminate(worker).await;
    assert_eq!(env.queue_depth("baocao.dead").await, 0);
    let an_phu = env
        .scalar("select count(*) from document where unit = 'an-phu' and digital")
        .await;
    assert_eq!(an_phu, 1);
}
