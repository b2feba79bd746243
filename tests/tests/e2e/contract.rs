//! The OpenAPI document is the server's truth: schemathesis (PyPI, pinned, installed by
//! `ensure_schemathesis` in `scripts/services.sh`) runs every check against a live API with the
//! admin token. The API has a database and a vhost of its own holding the reference month, so
//! that the generated POSTs (sends, corrections, narrative edits) reach a report that can be
//! issued, and change nothing but that throwaway database. Settings (a fixed seed, how many
//! examples, which refusals a well-formed request may meet): `tests/contract/schemathesis.toml`.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use baocao_tests::{TestEnv, repo_root};

const TOKEN: &str = "test-admin-token-0123456789-abcdefghij";

/// Far more than a run takes (about 25 s here), and less than nextest's limit of 5 minutes, so
/// that a run that hangs says so.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// The virtualenv holding the pinned schemathesis, installed if it is not there yet.
fn schemathesis_venv() -> String {
    let installed = Command::new("bash")
        .current_dir(repo_root())
        .args([
            "-c",
            "source scripts/services.sh && ensure_schemathesis && echo \"$SCHEMATHESIS_VENV\"",
        ])
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    String::from_utf8_lossy(&installed.stdout).trim().to_owned()
}

#[tokio::test]
async fn schemathesis_with_every_check_finds_nothing() {
    let venv = schemathesis_venv();
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let api = env.start_api(Some(TOKEN)).await;
    let run = tokio::process::Command::new(format!("{venv}/bin/schemathesis"))
        // Where schemathesis.toml is found.
        .current_dir(repo_root().join("tests/contract"))
        .args(["run", "--checks", "all", "--no-color"])
        .arg(format!("http://{}/api/openapi.json", api.address))
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .kill_on_drop(true)
        .output();
    let run = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("schemathesis did not finish within {RUN_LIMIT:?}"))
        .unwrap();
    api.stop().await;
    // Shown with the test's output: on a failure, or with `--no-capture`.
    let report = String::from_utf8_lossy(&run.stdout);
    println!("{report}");
    assert!(
        run.status.success(),
        "schemathesis found failures (its report is above) {}",
        String::from_utf8_lossy(&run.stderr)
    );
    // A run that tested nothing would pass too: every operation of the document was tested.
    let count = |label: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .map(|rest| rest.rsplit('/').next().unwrap_or(rest).trim().to_owned())
    };
    let selected = count("Selected:");
    assert!(
        selected.is_some() && selected != Some("0".to_owned()) && count("Tested:") == selected,
        "{report}"
    );
}
