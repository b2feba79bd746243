//! Logging: human-readable on a terminal, JSON lines otherwise (containers, CI). The level comes
//! from `BAOCAO_LOG` (e.g. `info`, `baocao=debug,sqlx=warn`), default `info`.
//!
//! Whatever `BAOCAO_LOG` asks, the client libraries that handle credentials (the AMQP client,
//! which would trace the frames that carry the broker's password; the SMTP client, whose
//! exchange carries `AUTH PLAIN`; sqlx's connection setup) never log below `info`: no level of
//! logging prints a credential.

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, Targets};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The libraries that see credentials, capped at `info` whatever the filter says.
const GUARDED: [&str; 6] = [
    "lapin",
    "amq_protocol",
    "amq_protocol_tcp",
    "lettre",
    "sqlx::postgres::connect",
    "rustls",
];

/// The filter that caps [`GUARDED`] at `info` and lets everything else through.
pub fn guard() -> Targets {
    GUARDED.iter().fold(
        Targets::new().with_default(Level::TRACE),
        |targets, target| targets.with_target(*target, Level::INFO),
    )
}

/// Installs the global subscriber; call once at start-up.
pub fn init() {
    let wanted = EnvFilter::try_from_env("BAOCAO_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn"));
    let filter = wanted.and(guard());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .init();
    } else {
        tracing_subscriber::registry()
            .with(fmt.json().with_filter(filter))
            .init();
    }
}
