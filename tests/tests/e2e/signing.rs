//! Signed reports (SPEC §13): the PDF of an issued revision carries the unit's digital
//! signature, valid and covering the whole file for poppler and pyHanko, time-stamped when an
//! authority is configured, the same bytes whenever it is downloaded; a draft is never signed;
//! a certificate that cannot be used holds that unit's reports only (naming the unit and the
//! cause, never the password) until its file is replaced; ingest never reads one.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use baocao_tests::{TestEnv, repo_root, shipped_config_text, until};
use serde_json::Value;

const PASSWORD: &str = "S3cret-mật-khẩu";
const PASSWORD_ENV: &str = "BAOCAO_TEST_SIGN_PASSWORD";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

fn support(script: &str) -> PathBuf {
    repo_root()
        .join("services/signing/tests/support")
        .join(script)
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A throwaway PKI (root and intermediate CA, signers, a time-stamping unit) in the test's
/// scratch folder.
fn pki(env: &TestEnv) -> PathBuf {
    let dir = std::env::temp_dir().join(&env.name).join("pki");
    run(Command::new("bash")
        .arg(support("make_pki.sh"))
        .arg(&dir)
        .arg(PASSWORD));
    dir
}

/// The test's configuration: the shipped one, tri-qua signing with `certificate`.
async fn signing_env(
    certificate: &str,
    timestamp_url: Option<&str>,
) -> (TestEnv, PathBuf, PathBuf) {
    let env = TestEnv::new().await;
    let pki = pki(&env);
    let mut signature = format!(
        "\n[unit.signature]\ncertificate = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\n",
        pki.join(certificate).display()
    );
    if let Some(url) = timestamp_url {
        signature.push_str(&format!("timestamp_url = \"{url}\"\n"));
    }
    let path = env.write_config(&format!("{}{signature}", shipped_config_text()));
    (env, path, pki)
}

fn baocao(env: &TestEnv, config: &Path, args: &[&str]) -> Output {
    env.command(binary())
        .args(args)
        .env("BAOCAO_CONFIG", config)
        .env(PASSWORD_ENV, PASSWORD)
        .output()
        .unwrap()
}

fn show(env: &TestEnv, config: &Path, extra: &[&str], out: &Path) -> Vec<u8> {
    let mut args = vec![
        "report", "show", "--unit", "tri-qua", "--period", "2026-05", "--format", "pdf",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--output", out.to_str().unwrap()]);
    let output = baocao(env, config, &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(out).unwrap()
}

fn pdfsig(pki: &Path, pdf: &Path) -> String {
    let nss = format!("sql:{}", pki.join("nss").display());
    let output = Command::new("pdfsig")
        .args(["-nssdir", &nss, "-no-ocsp"])
        .arg(pdf)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// pyHanko's verdict on each signature, against the test root.
fn pyhanko(pki: &Path, pdf: &Path) -> Vec<Value> {
    let output = Command::new("python3")
        .arg(support("validate.py"))
        .arg(pki.join("root.pem"))
        .arg(pdf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn pages(pdf: &Path, prefix: &Path) -> Vec<Vec<u8>> {
    run(Command::new("pdftoppm")
        .args(["-r", "50", "-png"])
        .arg(pdf)
        .arg(prefix));
    let dir = prefix.parent().unwrap();
    let stem = prefix.file_name().unwrap().to_string_lossy().into_owned();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{stem}-"))
        })
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[tokio::test]
async fn an_issued_report_is_signed_valid_over_the_whole_file_and_a_draft_is_not() {
    let (env, config, pki) = signing_env("signer.p12", None).await;
    env.ingest_reference_month().await;
    let sent = baocao(
        &env,
        &config,
        &["report", "send", "--unit", "tri-qua", "--period", "2026-05"],
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let dir = config.parent().unwrap().to_owned();
    let signed_path = dir.join("signed.pdf");
    let signed = show(&env, &config, &[], &signed_path);
    // The same bytes at every download, from the command line and from the API.
    assert_eq!(signed, show(&env, &config, &[], &dir.join("again.pdf")));
    let api = env.start_api(None).await;
    let downloaded = api
        .get("/api/units/tri-qua/reports/2026-05?format=pdf")
        .await;
    assert_eq!(downloaded.body, signed);
    api.stop().await;

    let poppler = pdfsig(&pki, &signed_path);
    assert!(
        poppler.contains("Signature Validation: Signature is Valid."),
        "{poppler}"
    );
    assert!(poppler.contains("Total document signed"), "{poppler}");
    let verdicts = pyhanko(&pki, &signed_path);
    assert_eq!(verdicts.len(), 1);
    let verdict = &verdicts[0];
    assert_eq!(
        (&verdict["intact"], &verdict["valid"], &verdict["trusted"]),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(true)),
        "{verdict}"
    );
    assert_eq!(verdict["coverage"], "ENTIRE_FILE", "{verdict}");
    assert_eq!(verdict["sub_filter"], "/ETSI.CAdES.detached", "{verdict}");

    // One changed byte, and neither accepts it.
    let mut tampered = signed.clone();
    let at = tampered.len() / 3;
    tampered[at] ^= 0x01;
    let tampered_path = dir.join("tampered.pdf");
    std::fs::write(&tampered_path, &tampered).unwrap();
    assert!(!pdfsig(&pki, &tampered_path).contains("Signature is Valid."));
    let verdict = pyhanko(&pki, &tampered_path);
    assert!(
        verdict.is_empty() || verdict[0]["intact"] == false,
        "{verdict:?}"
    );

    // The rendered document is unchanged: the same pages, and its text with the visible
    // signature, diacritics intact.
    let end = signed.windows(5).position(|w| w == b"%%EOF").unwrap() + 5;
    let original_path = dir.join("original.pdf");
    std::fs::write(&original_path, &signed[..end]).unwrap();
    assert_eq!(
        pages(&original_path, &dir.join("before")),
        pages(&signed_path, &dir.join("after"))
    );
    let text = String::from_utf8(run(Command::new("pdftotext").arg(&signed_path).arg("-")).stdout)
        .unwrap();
    assert!(
        text.contains("Kết quả Chuyển đổi số tháng 5 năm 2026"),
        "{text}"
    );
    assert!(text.contains("Ký bởi: UBND phường Trí Quả"), "{text}");
    let time = text
        .lines()
        .find(|l| l.contains("Thời gian ký:"))
        .unwrap_or_default();
    assert!(time.trim_end().ends_with("+07:00"), "{time}");

    // A draft is never signed.
    let draft_path = dir.join("draft.pdf");
    show(&env, &config, &["--draft"], &draft_path);
    assert!(pdfsig(&pki, &draft_path).contains("does not contain any signatures"));

    let status = baocao(&env, &config, &["report", "status", "--unit", "tri-qua"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("signed by UBND phường Trí Quả (certificate valid until"),
        "{status}"
    );
}

/// A local RFC 3161 authority (`openssl ts -reply` behind HTTP, or HTTPS with the PKI's
/// `tls-server.pem`), stopped when dropped.
struct TimeStampAuthority(std::process::Child, u16);

impl TimeStampAuthority {
    fn start(pki: &Path) -> Self {
        Self::start_with(pki, &[])
    }

    fn start_with(pki: &Path, options: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(support("tsa_server.py"))
            .arg(pki)
            .args(options)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap();
        Self(child, port)
    }
}

impl Drop for TimeStampAuthority {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

#[tokio::test]
async fn with_a_time_stamp_authority_the_signature_carries_a_valid_time_stamp() {
    // The authority needs the PKI first: make the environment, then its configuration.
    let (env, _, pki) = signing_env("signer.p12", None).await;
    let tsa = TimeStampAuthority::start(&pki);
    let signature = format!(
        "\n[unit.signature]\ncertificate = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\ntimestamp_url = \"http://127.0.0.1:{}/tsa\"\n",
        pki.join("signer.p12").display(),
        tsa.1
    );
    let config = env.write_config(&format!("{}{signature}", shipped_config_text()));
    env.ingest_reference_month().await;
    let sent = baocao(
        &env,
        &config,
        &["report", "send", "--unit", "tri-qua", "--period", "2026-05"],
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let path = config.with_file_name("stamped.pdf");
    show(&env, &config, &[], &path);
    let verdict = &pyhanko(&pki, &path)[0];
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["timestamp_valid"], true, "{verdict}");
    assert_eq!(verdict["timestamp_trusted"], true, "{verdict}");
    let status = baocao(&env, &config, &["report", "status", "--unit", "tri-qua"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("time-stamped"));
}

#[tokio::test]
async fn an_https_time_stamp_authority_is_trusted_through_the_configured_roots_only() {
    let (env, _, pki) = signing_env("signer.p12", None).await;
    let tsa = TimeStampAuthority::start_with(&pki, &["--tls"]);
    let config = |roots: &str| {
        let signature = format!(
            "{}timestamp_url = \"https://127.0.0.1:{}/tsa\"\n{roots}",
            signature_block(&pki.join("signer.p12")),
            tsa.1
        );
        env.write_config(&format!("{}{signature}", shipped_config_text()))
    };
    env.ingest_reference_month().await;
    let send = ["report", "send", "--unit", "tri-qua", "--period", "2026-05"];
    // Its certificate is issued by a CA of its own, which the webpki roots do not hold.
    let untrusted = baocao(&env, &config(""), &send);
    assert_eq!(untrusted.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        stderr.contains("127.0.0.1's TLS certificate is not trusted")
            && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
    // With that CA as `timestamp_roots`, the report is issued, its time-stamp valid.
    let roots = format!(
        "timestamp_roots = \"{}\"\n",
        pki.join("tls-root.pem").display()
    );
    let trusted = config(&roots);
    let sent = baocao(&env, &trusted, &send);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let path = trusted.with_file_name("stamped-over-tls.pdf");
    show(&env, &trusted, &[], &path);
    let verdict = &pyhanko(&pki, &path)[0];
    assert_eq!(verdict["timestamp_valid"], true, "{verdict}");
    assert_eq!(verdict["timestamp_trusted"], true, "{verdict}");
}

/// `[unit.signature]` with `certificate` and the test's password variable.
fn signature_block(certificate: &Path) -> String {
    format!(
        "\n[unit.signature]\ncertificate = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\n",
        certificate.display()
    )
}

/// Registers `units` as configured on 1 October 2026, so that the periods after are due.
async fn registered_since_october(env: &TestEnv, units: &[&str]) {
    for unit in units {
        sqlx::query(
            "insert into unit_registration (unit, configured_at) values ($1, '2026-10-01T00:00:00Z')",
        )
        .bind(unit)
        .execute(&env.pool)
        .await
        .unwrap();
    }
}

/// A document of `unit` signed in the window of 2026-11.
fn november_document(unit: &str, id: &str) -> Value {
    let mut event = baocao_tests::documents(id, 1).remove(0);
    event["occurred_at"] = serde_json::json!("2026-11-02T08:00:00+07:00");
    event["unit"] = serde_json::json!(unit);
    event
}

async fn reports_of(env: &TestEnv, unit: &str) -> Vec<(i32, Option<String>)> {
    sqlx::query_as("select revision, signed_by from report where unit = $1 and period = '2026-11'")
        .bind(unit)
        .fetch_all(&env.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_expired_certificate_holds_that_wards_reports_only_until_its_file_is_replaced() {
    // Two wards, both signing: tri-qua with an expired certificate, an-phu with a good one.
    let text = baocao_tests::config_with_second_unit("an-phu");
    let file = baocao::config::parse_file(Path::new("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(file).await;
    let pki = pki(&env);
    let tri_qua_cert = pki.join("tri-qua.p12");
    std::fs::copy(pki.join("expired.p12"), &tri_qua_cert).unwrap();
    let at = text.rfind("\n[[unit]]").unwrap();
    let config = env.write_config(&format!(
        "{}{}{}{}\n[reporter]\nschedule_every_seconds = 1\nbacklog_wait_minutes = 0\n",
        &text[..at],
        signature_block(&tri_qua_cert),
        &text[at..],
        signature_block(&pki.join("signer.p12")),
    ));
    registered_since_october(&env, &["tri-qua", "an-phu"]).await;
    env.ingest(&[
        november_document("tri-qua", "VB-tq"),
        november_document("an-phu", "VB-ap"),
    ])
    .await;
    let mail = config.with_file_name("mail");
    let (process, address, logs) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "all"],
            &[
                ("BAOCAO_CONFIG", config.to_str().unwrap()),
                ("BAOCAO_MAIL_DIR", mail.to_str().unwrap()),
                (PASSWORD_ENV, PASSWORD),
                ("BAOCAO_LOG", "info"),
            ],
        )
        .await;
    // Start-up went on; the other ward is issued, signed.
    until("an-phu's November report issued", || async {
        !reports_of(&env, "an-phu").await.is_empty()
    })
    .await;
    let an_phu = reports_of(&env, "an-phu").await;
    assert_eq!(
        an_phu[0].1.as_deref(),
        Some("UBND phường Trí Quả"),
        "signed"
    );
    let held_sample = "baocao_signing_certificate_unavailable{unit=\"tri-qua\"}";
    baocao_tests::wait_for_metric(
        &address,
        held_sample,
        1.0,
        std::time::Duration::from_secs(30),
    )
    .await;
    let an_phu_sample = "baocao_signing_certificate_unavailable{unit=\"an-phu\"}";
    assert_eq!(baocao_tests::metric(&address, an_phu_sample).await, 0.0);
    assert!(
        reports_of(&env, "tri-qua").await.is_empty(),
        "never issued unsigned"
    );

    // The cause, naming the unit and never the password: report status, the API, the
    // department's view, the pipeline and the unit's certificate.
    let status = baocao(
        &env,
        &config,
        &[
            "report", "status", "--unit", "tri-qua", "--period", "2026-11",
        ],
    );
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(printed.starts_with("tri-qua 2026-11 held: "), "{printed}");
    assert!(
        printed.contains("unit 'tri-qua'") && printed.contains("expired"),
        "{printed}"
    );
    let get = |path: &'static str| {
        let address = address.clone();
        async move {
            baocao_tests::http::Request::get(path)
                .send(&address)
                .await
                .json()
        }
    };
    let reports = get("/api/units/tri-qua/reports").await;
    let plan = &reports["last_closed_plan"];
    assert_eq!(
        (&plan["state"], &reports["last_closed_period"]),
        (&Value::from("held"), &Value::from("2026-11")),
        "{reports}"
    );
    assert!(
        plan["cause"].as_str().unwrap().contains("expired"),
        "{plan}"
    );
    let overview = get("/api/overview?period=2026-11").await;
    let state_of = |code: &str| {
        overview["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == code)
            .unwrap()["report"]["state"]
            .clone()
    };
    assert_eq!(state_of("tri-qua"), "held", "{overview}");
    assert_ne!(state_of("an-phu"), "held");
    let pipeline = get("/api/pipeline").await;
    assert_eq!(pipeline["held"][0]["unit"], "tri-qua", "{pipeline}");
    let units = get("/api/units").await;
    assert!(
        units[0]["certificate"]["unavailable"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{units}"
    );

    // A send for it is refused with its own status and code.
    let sent = baocao(
        &env,
        &config,
        &["report", "send", "--unit", "tri-qua", "--period", "2026-11"],
    );
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert_eq!(sent.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("unit 'tri-qua'") && stderr.contains("expired"),
        "{stderr}"
    );
    let refused = baocao_tests::http::Request::post_json(
        "/api/units/tri-qua/reports/2026-11/send",
        &serde_json::json!({}),
    )
    .send(&address)
    .await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(refused.json()["code"], "signing_unavailable");
    assert!(reports_of(&env, "tri-qua").await.is_empty());

    // The Secret updated in place: the file replaced by a valid one is read at the next step.
    let incoming = pki.join("tri-qua.p12.new");
    std::fs::copy(pki.join("signer.p12"), &incoming).unwrap();
    std::fs::rename(&incoming, &tri_qua_cert).unwrap();
    until(
        "tri-qua's November report issued, signed, without a restart",
        || async {
            reports_of(&env, "tri-qua")
                .await
                .first()
                .is_some_and(|r| r.1.is_some())
        },
    )
    .await;
    until("the metric back to 0", || async {
        baocao_tests::metric(&address, held_sample).await == 0.0
    })
    .await;
    // Logged once when it started and once when it ended, not every step; never the password.
    assert_eq!(
        logs.count("the signing certificate cannot be used: the unit's reports are held"),
        1
    );
    assert_eq!(
        logs.count("the signing certificate was replaced and is loaded")
            + logs.count("the signing certificate works again"),
        1
    );
    assert!(!logs.lines().iter().any(|line| line.contains(PASSWORD)));
    baocao_tests::terminate(process).await;
}

#[tokio::test]
async fn ingest_starts_and_counts_without_the_password_variable_and_reads_no_certificate() {
    let env = TestEnv::new().await;
    let missing = std::env::temp_dir().join(&env.name).join("nowhere.p12");
    let config = env.write_config(&format!(
        "{}{}",
        shipped_config_text(),
        signature_block(&missing)
    ));
    // The password variable is not set here (the test process never sets it).
    assert!(std::env::var_os(PASSWORD_ENV).is_none());
    let (process, address, logs) = env
        .spawn_logged(
            binary(),
            &["run", "--target", "ingest"],
            &[
                ("BAOCAO_CONFIG", config.to_str().unwrap()),
                ("BAOCAO_LOG", "info"),
            ],
        )
        .await;
    let broker = env.broker().await;
    broker
        .publish_events(&baocao_tests::documents("VB-ingest", 3))
        .await;
    env.wait_for_stored(3, std::time::Duration::from_secs(30))
        .await;
    broker.close().await;
    let counted = baocao_tests::metric(
        &address,
        "baocao_events_ingested_total{unit=\"tri-qua\",type=\"document.signed\"}",
    )
    .await;
    assert_eq!(counted, 3.0);
    assert!(
        !logs.lines().iter().any(|line| line.contains("certificate")),
        "ingest looked at a certificate: {:?}",
        logs.lines()
    );
    let sample = "baocao_signing_certificate_unavailable{unit=\"tri-qua\"}";
    let text = baocao_tests::http::Request::get("/metrics")
        .send(&address)
        .await
        .text();
    assert!(!text.contains(sample), "{text}");
    baocao_tests::terminate(process).await;
}

#[tokio::test]
async fn each_unusable_certificate_is_named_with_its_cause_and_its_send_exits_8() {
    let env = TestEnv::new().await;
    let pki = pki(&env);
    registered_since_october(&env, &["tri-qua"]).await;
    env.ingest(&[november_document("tri-qua", "VB-nov")]).await;
    let cases = [
        ("signer.p12", Some("not-the-password"), "password is wrong"),
        ("missing.p12", Some(PASSWORD), "missing.p12"),
        ("expired.p12", Some(PASSWORD), "expired"),
        ("no-key.p12", Some(PASSWORD), "private key"),
        ("signer.p12", None, PASSWORD_ENV),
    ];
    for (file, password, cause) in cases {
        let config = env.write_config(&format!(
            "{}{}",
            shipped_config_text(),
            signature_block(&pki.join(file))
        ));
        for args in [
            &["report", "send", "--unit", "tri-qua", "--period", "2026-11"][..],
            &[
                "report", "status", "--unit", "tri-qua", "--period", "2026-11",
            ][..],
        ] {
            let mut command = env.command(binary());
            command
                .args(args)
                .env("BAOCAO_CONFIG", &config)
                .env_remove(PASSWORD_ENV);
            if let Some(password) = password {
                command.env(PASSWORD_ENV, password);
            }
            let output = command.output().unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let expected = if args[1] == "send" { 8 } else { 0 };
            assert_eq!(
                output.status.code(),
                Some(expected),
                "{file} {args:?}: {said}"
            );
            assert!(said.contains("unit 'tri-qua'"), "{file}: {said}");
            assert!(
                said.to_lowercase().contains(&cause.to_lowercase()),
                "{file}: {said}"
            );
            assert!(
                !said.contains(PASSWORD) && !said.contains("not-the-password"),
                "{said}"
            );
        }
    }
    let issued: i64 = sqlx::query_scalar("select count(*) from report")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(issued, 0, "never issued unsigned");
}

#[tokio::test]
async fn a_certificate_ending_within_30_days_is_a_warning_and_a_metric() {
    let (env, config, _) = signing_env("soon.p12", None).await;
    let (child, address) = env
        .spawn_listening(
            binary(),
            &["run", "--target", "api"],
            &[
                ("BAOCAO_CONFIG", config.to_str().unwrap()),
                (PASSWORD_ENV, PASSWORD),
            ],
        )
        .await;
    let units = baocao_tests::http::Request::get("/api/units")
        .send(&address)
        .await
        .json();
    let certificate = &units[0]["certificate"];
    assert_eq!(certificate["expires_soon"], true, "{units}");
    assert_eq!(certificate["organisation"], "UBND phường Trí Quả");
    let expiry = baocao_tests::metric(
        &address,
        "baocao_signing_certificate_expiry_timestamp_seconds{unit=\"tri-qua\"}",
    )
    .await;
    let days = (expiry - chrono::Utc::now().timestamp() as f64) / 86_400.0;
    assert!((9.0..=10.5).contains(&days), "{days} days");
    baocao_tests::terminate(child).await;
}
