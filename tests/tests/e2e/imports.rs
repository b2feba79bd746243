//! Imports from a ward's exports (SPEC §3.6), through the real binary: the one-stop system's
//! dossier list and the e-office register of outgoing documents, each as CSV (dates as text,
//! UTF-8 with a BOM and semicolons; UTF-16 with commas) and XLSX (dates as date cells), with
//! titles above the header and one row that cannot be read. Every other row is published, the
//! refused one is reported with its row number (exit 7), importing again adds nothing, a
//! document imported and also received as an edXML package counts once, and each figure is
//! what the same events in baocao's envelope give.

use std::path::{Path, PathBuf};
use std::time::Duration;

use baocao_tests::{TestEnv, event, instant, period, received, repo_root, resolved};
use serde_json::{Value, json};

use crate::edxml;

const WAIT: Duration = Duration::from_secs(60);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

fn export(name: &str) -> PathBuf {
    repo_root().join("tests/exports").join(name)
}

/// `baocao import <kind> --unit tri-qua <file>`: its exit status and what it printed.
async fn import(env: &TestEnv, kind: &str, file: &Path) -> (i32, String) {
    let output = tokio::process::Command::from(env.command(binary()))
        .args(["import", kind, "--unit", "tri-qua"])
        .arg(file)
        .output()
        .await
        .expect("the import runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), printed)
}

/// The dossiers of `tests/exports/ho-so-thang-4.*` in baocao's envelope (HS-05 was never
/// received; HS-07's due date cannot be read).
fn envelope_dossiers() -> Vec<Value> {
    vec![
        received(
            "HS-01",
            "2026-04-20T08:30:00+07:00",
            "online",
            "2026-04-24T23:59:59+07:00",
            true,
        ),
        resolved("HS-01", "2026-04-23T10:15:00+07:00"),
        received(
            "HS-02",
            "2026-04-21T09:00:00+07:00",
            "direct",
            "2026-04-25T23:59:59+07:00",
            false,
        ),
        received(
            "HS-03",
            "2026-04-22T14:00:00+07:00",
            "postal",
            "2026-04-28T17:00:00+07:00",
            true,
        ),
        resolved("HS-03", "2026-04-30T08:00:00+07:00"),
        received(
            "HS-04",
            "2026-04-23T00:00:00+07:00",
            "online",
            "2026-05-05T23:59:59+07:00",
            true,
        ),
        resolved("HS-04", "2026-05-05T16:00:00+07:00"),
        received(
            "HS-06",
            "2026-04-27T10:00:00+07:00",
            "direct",
            "2026-05-04T23:59:59+07:00",
            false,
        ),
    ]
}

async fn figures(env: &TestEnv) -> Value {
    let may = env
        .indicators(period("2026-05"), instant("2026-11-01T00:00:00Z"))
        .await;
    serde_json::to_value(may).unwrap()
}

#[tokio::test]
async fn a_dossier_export_as_csv_and_as_xlsx_gives_the_figures_of_the_same_events_in_the_envelope()
{
    let envelope = TestEnv::new().await;
    envelope.ingest(&envelope_dossiers()).await;
    let expected = figures(&envelope).await;
    for name in ["ho-so-thang-4.csv", "ho-so-thang-4.xlsx"] {
        let env = TestEnv::new().await;
        let worker = env.start_ingest();
        let (status, printed) = import(&env, "dossiers", &export(name)).await;
        assert_eq!(status, 7, "{name}: {printed}");
        assert!(
            printed.contains("header on row 3, 7 rows read"),
            "{name}: {printed}"
        );
        assert!(
            printed.contains("row 10 refused: invalid_field:NgayHenTra"),
            "{name}: {printed}"
        );
        assert!(printed.contains("6 records published"), "{name}: {printed}");
        env.wait_for_stored(8, WAIT).await;
        // Again: nothing more.
        let (again, printed) = import(&env, "dossiers", &export(name)).await;
        assert_eq!(again, 7, "{printed}");
        env.wait_for_queue_depth("baocao.portal", 0, WAIT).await;
        worker.stop().await;
        assert_eq!(env.stored_events().await, 8, "{name}");
        assert_eq!(
            env.scalar("select count(*) from conflict").await,
            0,
            "{name}"
        );
        assert_eq!(env.queue_depth("baocao.dead").await, 0, "{name}");
        let got = figures(&env).await;
        assert_eq!(got["procedures"], expected["procedures"], "{name}");
        assert_eq!(got, expected, "{name}");
    }
}

#[tokio::test]
async fn a_register_as_csv_and_xlsx_counts_each_document_once_with_its_edxml_package() {
    let envelope = TestEnv::new().await;
    let documents = [
        ("103", "2026-04-20", true),
        ("104", "2026-04-22", true),
        ("105", "2026-04-25", true),
        ("106", "2026-04-28", false),
    ];
    let events: Vec<Value> = documents
        .iter()
        .map(|(id, day, digital)| {
            event(
                "document.signed",
                &format!("{day}T00:00:00+07:00"),
                json!({"document_id": id, "digital": digital}),
            )
        })
        .collect();
    envelope.ingest(&events).await;
    let expected = figures(&envelope).await;
    for name in ["so-van-ban-di.csv", "so-van-ban-di.xlsx"] {
        let env = TestEnv::new().await;
        let broker = env.broker().await;
        let worker = env.start_ingest();
        // 103 arrived as a signed package; 104's register line says unsigned, its update signed.
        for package in ["signed.xml", "unsigned.xml", "update.xml"] {
            broker
                .publish_raw("eoffice.events", "edxml.package", &edxml::example(package))
                .await;
        }
        let (status, printed) = import(&env, "documents", &export(name)).await;
        assert_eq!(status, 7, "{name}: {printed}");
        assert!(
            printed.contains("header on row 3, 5 rows read"),
            "{name}: {printed}"
        );
        assert!(
            printed.contains("row 8 refused: invalid_field:date"),
            "{name}: {printed}"
        );
        assert!(printed.contains("4 records published"), "{name}: {printed}");
        env.wait_for_stored(4, WAIT).await;
        let (again, _) = import(&env, "documents", &export(name)).await;
        assert_eq!(again, 7);
        env.wait_for_queue_depth("baocao.eoffice", 0, WAIT).await;
        worker.stop().await;
        broker.close().await;
        assert_eq!(env.stored_events().await, 4, "{name}");
        assert_eq!(
            env.scalar("select count(*) from document").await,
            4,
            "{name}"
        );
        assert_eq!(
            env.scalar("select count(*) from conflict").await,
            0,
            "{name}"
        );
        let got = figures(&env).await;
        assert_eq!(
            got["documents"],
            json!({"issued": 4, "digitally_signed": 3}),
            "{name}"
        );
        assert_eq!(got, expected, "{name}");
    }
}

#[tokio::test]
async fn a_file_without_a_header_fails_with_exit_1_and_publishes_nothing() {
    let env = TestEnv::new().await;
    let dir = std::env::temp_dir().join(&env.name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("khong-tieu-de.csv");
    std::fs::write(&file, "a,b,c\n1,2,3\n").unwrap();
    let (status, printed) = import(&env, "dossiers", &file).await;
    assert_eq!(status, 1, "{printed}");
    assert!(printed.contains("no row holds two or more"), "{printed}");
}

#[tokio::test]
async fn columns_with_other_titles_are_found_through_the_import_mapping() {
    let env = TestEnv::new().await;
    let dir = std::env::temp_dir().join(&env.name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ho-so-khac.csv");
    std::fs::write(
        &file,
        "Mã HS,Nhận lúc,Hẹn trả KQ,Kênh\nHS-M1,20/04/2026 08:00,25/04/2026,Trực tuyến\n",
    )
    .unwrap();
    let config = format!(
        "{}\n[import]\ndossiers = {{ MaHoSo = \"Mã HS\", NgayTiepNhan = \"Nhận lúc\", \
         NgayHenTra = \"Hẹn trả KQ\", KenhThucHien = \"Kênh\" }}\n",
        baocao_tests::shipped_config_text()
    );
    let path = env.write_config(&config);
    let output = tokio::process::Command::from(env.command(binary()))
        .env("BAOCAO_CONFIG", &path)
        .args(["import", "dossiers", "--unit", "tri-qua"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("header on row 1, 1 rows read"),
        "{printed}"
    );
    let worker = env.start_ingest();
    env.wait_for_stored(1, WAIT).await;
    worker.stop().await;
    let online_due_at_end_of_day = env
        .scalar(
            "select count(*) from dossier where dossier_id = 'HS-M1' and channel = 'online' \
             and due_at = '2026-04-25T23:59:59+07:00' and resolved_at is null",
        )
        .await;
    assert_eq!(online_due_at_end_of_day, 1);

    // A field the imports do not know is refused when the configuration is read.
    let wrong = env.write_config(&config.replace("KenhThucHien =", "Kenh ="));
    let refused = tokio::process::Command::from(env.command(binary()))
        .env("BAOCAO_CONFIG", &wrong)
        .args(["import", "dossiers", "--unit", "tri-qua"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("'Kenh' is not a field"), "{message}");
}

#[tokio::test]
async fn a_broker_that_cannot_be_reached_fails_with_exit_1_after_the_rows_are_read() {
    let env = TestEnv::new().await;
    let output = tokio::process::Command::from(env.command(binary()))
        .env("BAOCAO_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .args(["import", "documents", "--unit", "tri-qua"])
        .arg(export("so-van-ban-di.xlsx"))
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("row 8 refused"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BAOCAO_AMQP_URL"), "{stderr}");
    assert!(
        !stderr.contains("guest:guest"),
        "the password is printed: {stderr}"
    );
}
