//! Signed reports (SPEC §13): the PDF of an issued revision carries the unit's digital
//! signature, valid and covering the whole file for poppler and pyHanko, time-stamped when an
//! authority is configured, the same bytes whenever it is downloaded; a draft is never signed;
//! a certificate that cannot be used stops start-up naming the unit and the cause.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use baocao_tests::{TestEnv, repo_root, shipped_config_text};
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

/// A local RFC 3161 authority (`openssl ts -reply` behind HTTP), stopped when dropped.
struct TimeStampAuthority(std::process::Child, u16);

impl TimeStampAuthority {
    fn start(pki: &Path) -> Self {
        let mut child = Command::new("python3")
            .arg(support("tsa_server.py"))
            .arg(pki)
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
async fn a_certificate_that_cannot_be_used_stops_start_up_naming_the_unit_and_the_cause() {
    let cases = [
        ("signer.p12", Some("not-the-password"), "password is wrong"),
        ("missing.p12", Some(PASSWORD), "missing.p12"),
        ("expired.p12", Some(PASSWORD), "expired"),
        ("no-key.p12", Some(PASSWORD), "private key"),
        ("signer.p12", None, PASSWORD_ENV),
    ];
    for (file, password, cause) in cases {
        let (env, config, _) = signing_env(file, None).await;
        let mut command = env.command(binary());
        command
            .args(["run", "--target", "reporter"])
            .env("BAOCAO_CONFIG", &config)
            .env_remove(PASSWORD_ENV);
        if let Some(password) = password {
            command.env(PASSWORD_ENV, password);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{file}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("unit 'tri-qua'"), "{file}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(&cause.to_lowercase()),
            "{file}: {stderr}"
        );
        assert!(
            !stderr.contains(PASSWORD) && !stderr.contains("not-the-password"),
            "{stderr}"
        );
    }
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
