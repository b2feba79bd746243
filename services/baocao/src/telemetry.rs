//! Logging: human-readable on a terminal, JSON lines otherwise (containers, CI). The level comes
//! from `BAOCAO_LOG` (e.g. `info`, `baocao=debug,sqlx=warn`), default `info`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; call once at start-up.
pub fn init() {
    let filter = EnvFilter::try_from_env("BAOCAO_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}
