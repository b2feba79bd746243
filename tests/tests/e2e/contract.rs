//! The OpenAPI document is the server's truth: schemathesis (PyPI, installed by
//! `ensure_schemathesis` in `scripts/services.sh`) runs every check against a live API with the
//! admin token, on a fresh database with the shipped configuration (its POSTs meet windows
//! without events, so nothing is issued). Settings: `tests/contract/schemathesis.toml`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use baocao_tests::{TestEnv, repo_root};

const TOKEN: &str = "test-admin-token-0123456789-abcdefghij";

#[tokio::test]
#[ignore = "schemathesis still finds failures (issue 17): run with --run-ignored to see them"]
async fn schemathesis_with_every_check_finds_nothing() {
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
    let venv = String::from_utf8_lossy(&installed.stdout).trim().to_owned();
    let env = TestEnv::new().await;
    let api = env.start_api(Some(TOKEN)).await;
    let address = api.address.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(format!("{venv}/bin/schemathesis"))
            .current_dir(repo_root().join("tests/contract"))
            .args([
                "run",
                "--checks",
                "all",
                "--max-examples",
                "10",
                "--workers",
                "2",
            ])
            .arg(format!("http://{address}/api/openapi.json"))
            .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    api.stop().await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}
