//! `baocao run --target …`: starts the requested targets in this process and, on SIGTERM or
//! Ctrl-C, asks each to finish its work in flight before exiting 0.

use std::sync::Arc;

use anyhow::Context;
use ingest::{IngestConfig, IngestStats, Shutdown};

use crate::cli::Target;
use crate::config::Settings;

/// The ingest worker's configuration from the settings.
pub fn ingest_config(settings: &Settings) -> IngestConfig {
    let file = &settings.file;
    IngestConfig {
        amqp_url: settings.env.amqp_url.expose().to_owned(),
        topology: file.broker.topology(),
        prefetch: file.ingest.prefetch,
        consumers_per_queue: file.ingest.consumers_per_queue.max(1),
        batch_size: file.ingest.batch_size.max(1),
        batch_wait: file.batch_wait(),
        units: file.known_units(),
    }
}

/// Runs `target` until SIGTERM or SIGINT.
pub async fn run(settings: Settings, target: Target) -> anyhow::Result<()> {
    if matches!(target, Target::Reporter | Target::Api) {
        anyhow::bail!(
            "target {target:?} is not in this version yet; run --target ingest (or all, which is ingest for now)"
        );
    }
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 8).await?;
    let (trigger, shutdown) = Shutdown::new();
    let stats = Arc::new(IngestStats::default());
    let mut worker = tokio::spawn(ingest::run(ingest_config(&settings), pool, stats, shutdown));
    tracing::info!(?target, config = %settings.config_path.display(), "baocao started");
    tokio::select! {
        signal = wait_for_stop_signal() => signal?,
        // The worker only returns on shutdown; earlier means it failed, and so does the process.
        ended = &mut worker => {
            ended.context("The ingest worker panicked")??;
            anyhow::bail!("the ingest worker stopped unexpectedly");
        }
    }
    tracing::info!("stopping: finishing the work in flight");
    trigger.trigger();
    worker.await.context("The ingest worker panicked")??;
    Ok(())
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("Failed to listen for SIGTERM")?;
    tokio::select! {
        _ = terminate.recv() => {}
        result = tokio::signal::ctrl_c() => result.context("Failed to listen for Ctrl-C")?,
    }
    Ok(())
}
