//! `baocao run --target …`: starts the requested targets in this process and, on SIGTERM or
//! Ctrl-C, asks each to finish its work in flight before exiting 0.

use std::sync::Arc;

use anyhow::Context;
use std::time::Duration;

use ingest::broker::Backoff;
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
    let mut stop = StopSignal::listen()?;
    let Some(pool) = wait_for_database(&settings, &mut stop).await? else {
        return Ok(());
    };
    let (trigger, shutdown) = Shutdown::new();
    let stats = Arc::new(IngestStats::default());
    let mut worker = tokio::spawn(ingest::run(ingest_config(&settings), pool, stats, shutdown));
    tracing::info!(?target, config = %settings.config_path.display(), "baocao started");
    tokio::select! {
        signal = stop.received() => signal?,
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

/// Connects to the database (creating and migrating it), retrying with backoff while it is
/// unavailable. `None` if a stop signal came first.
async fn wait_for_database(
    settings: &Settings,
    stop: &mut StopSignal,
) -> anyhow::Result<Option<store::PgPool>> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
    loop {
        match store::db::connect_and_migrate(settings.env.database_url.expose(), 8).await {
            Ok(pool) => {
                if backoff.failures() > 0 {
                    tracing::info!("the database is available");
                }
                return Ok(Some(pool));
            }
            Err(error) => {
                if backoff.failures() == 0 {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "the database is unavailable; retrying"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay()) => {}
                    signal = stop.received() => return signal.map(|()| None),
                }
            }
        }
    }
}

/// SIGTERM or Ctrl-C, listened for from start-up on so that none is missed.
struct StopSignal {
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn listen() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).context("Failed to listen for SIGTERM")?;
        Ok(Self { terminate })
    }

    async fn received(&mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.terminate.recv() => Ok(()),
            result = tokio::signal::ctrl_c() => result.context("Failed to listen for Ctrl-C"),
        }
    }
}
