//! The dashboard's browser tests: a script of `tests/browser/` run by node with playwright-core
//! against Debian's chromium, which prints one line per step for the test to read.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::repo_root;

/// A running browser script: the process, its output line by line, and where its screenshot
/// goes.
pub struct BrowserScript {
    pub child: Child,
    pub lines: Lines<BufReader<ChildStdout>>,
    pub screenshot: PathBuf,
}

/// Starts `tests/browser/<script>` on the dashboard at `address` with `token`; its screenshot
/// is saved as `target/browser/<screenshot>` (an earlier one removed first). Fails with what to
/// install when chromium or the node modules are missing.
pub fn start(script: &str, address: &str, token: &str, screenshot: &str) -> BrowserScript {
    assert!(
        repo_root()
            .join("tests/browser/node_modules/playwright-core")
            .exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium and tests/browser's node modules: \
         run scripts/test, which installs both (ensure_browser in scripts/services.sh)"
    );
    let shots = repo_root().join("target/browser");
    std::fs::create_dir_all(&shots).expect("target/browser");
    let screenshot = shots.join(screenshot);
    std::fs::remove_file(&screenshot).ok();
    let mut child = tokio::process::Command::new("node")
        .arg(repo_root().join("tests/browser").join(script))
        .arg(format!("http://{address}"))
        .arg(token)
        .arg(&screenshot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    BrowserScript {
        child,
        lines,
        screenshot,
    }
}

impl BrowserScript {
    /// Waits (at most a minute) for the script to end successfully, and checks that it saved
    /// a PNG screenshot of at least `min_bytes` (a blank page is smaller).
    pub async fn finish(mut self, min_bytes: usize) {
        let status = tokio::time::timeout(std::time::Duration::from_secs(60), self.child.wait())
            .await
            .expect("the browser script ends")
            .expect("the browser script's status");
        assert!(status.success(), "the browser script failed: {status}");
        let png = std::fs::read(&self.screenshot).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        assert!(png.len() > min_bytes, "a nearly empty screenshot");
    }
}
