//! `baocao run --target …`: starts the requested targets in this process and, on SIGTERM or
//! Ctrl-C, asks each to finish its work in flight before exiting 0.

use std::time::Duration;

use anyhow::Context;
use ingest::IngestConfig;
use lifecycle::{Backoff, Shutdown, Streak};

use crate::cli::Target;
use crate::config::Settings;

/// How long the workers may take to finish their work in flight after a stop signal: within
/// Kubernetes' default grace period of 30 s.
const STOP_PATIENCE: Duration = Duration::from_secs(25);

/// The ingest worker's configuration from the settings.
pub fn ingest_config(settings: &Settings) -> IngestConfig {
    let file = &settings.file;
    IngestConfig {
        amqp_url: settings.env.amqp_url.expose().to_owned(),
        topology: file.broker.clone(),
        prefetch: file.ingest.prefetch,
        max_message_bytes: file.ingest.max_message_bytes,
        prefetch_bytes: file.ingest.prefetch_bytes,
        consumers_per_queue: file.ingest.consumers_per_queue.max(1),
        batch_size: file.ingest.batch_size.max(1),
        batch_wait: file.batch_wait(),
        rejection_retention: Duration::from_secs(
            86_400 * u64::from(file.ingest.rejection_retention_days),
        ),
        units: file.known_units(),
    }
}

/// The API's configuration from the settings, the sources' tokens from the environment.
pub fn api_config(settings: &Settings) -> anyhow::Result<api::ApiConfig> {
    api_config_with(settings, |name| std::env::var(name).ok())
}

/// [`api_config`] with the sources' tokens from `lookup`.
pub fn api_config_with(
    settings: &Settings,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<api::ApiConfig> {
    Ok(api::ApiConfig {
        reports: settings.reporter_config()?,
        admin_token: settings
            .env
            .admin_token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        amqp_url: settings.env.amqp_url.expose().to_owned(),
        topology: settings.file.broker.clone(),
        limits: settings.file.http.limits(),
        known_units: settings.file.known_units(),
        sources: settings.file.sources(&lookup),
        office_hours: settings.file.office_hours.clone(),
        people: people_config(settings, &lookup)?,
    })
}

/// `[auth.oidc]` and `[[auth.role]]` for the API, the client's secret from `lookup` (the
/// environment): a provider configured without its secret stops the start.
pub fn people_config(
    settings: &Settings,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<api::people::PeopleConfig>> {
    let auth = &settings.file.auth;
    let Some(oidc) = &auth.oidc else {
        return Ok(None);
    };
    let client_secret = lookup(&oidc.client_secret_env)
        .filter(|secret| !secret.is_empty())
        .with_context(|| {
            format!(
                "{} (auth.oidc.client_secret_env in {}) is not set: it holds the client secret \
                 registered at the identity provider",
                oidc.client_secret_env,
                settings.config_path.display()
            )
        })?;
    let grants = auth
        .roles
        .iter()
        .map(|role| api::access::RoleGrant {
            group: role.group.clone(),
            level: role.role,
            scope: if role.unit == crate::config::auth::ALL_UNITS {
                api::access::Scope::All
            } else {
                api::access::Scope::Unit(role.unit.clone())
            },
        })
        .collect();
    Ok(Some(api::people::PeopleConfig {
        issuer: oidc.issuer.clone(),
        client_id: oidc.client_id.clone(),
        client_secret,
        roles_claim: oidc.roles_claim.clone(),
        public_url: oidc.public_url.clone(),
        idle: Duration::from_secs(oidc.idle_timeout_minutes * 60),
        absolute: Duration::from_secs(oidc.absolute_timeout_hours * 3600),
        grants,
    }))
}

/// Runs `target` until SIGTERM or SIGINT: the HTTP server always (the whole API with the api
/// target, otherwise the probes and metrics), the workers of the target.
pub async fn run(settings: Settings, target: Target) -> anyhow::Result<()> {
    let token = settings.env.admin_token.as_ref().map(|t| t.expose());
    let full_api = matches!(target, Target::All | Target::Api);
    // Read before anything else: a URL that would send a password in the clear stops the start.
    let sender = match target {
        Target::All | Target::Reporter => Some(reporter_sender(&settings)?),
        Target::Ingest | Target::Api => None,
    };
    if !matches!(target, Target::Ingest) {
        // A broken template override stops the start, naming the unit, the file and the
        // line, rather than failing that unit's report on its day.
        let (source, units, tz) = (
            settings.template_source(),
            settings.file.issuers(),
            settings.file.tz(),
        );
        tokio::task::spawn_blocking(move || reporter::check_overrides(&source, &units, tz))
            .await
            .context("the template check failed")?
            .map_err(anyhow::Error::msg)?;
    }
    // Refused before anything else: an exposed API without a token is a configuration error.
    let people = settings.file.auth.oidc.is_some();
    let listener = api::bind_with(&settings.env.http_addr, full_api, token, people).await?;
    let mut stop = StopSignal::listen()?;
    let (trigger, shutdown) = Shutdown::new();
    let api_config = api_config(&settings)?;
    // One set of certificates for the process, read at start by the targets that sign (ingest
    // never does). One that cannot be used is logged and holds its unit's reports; the start
    // goes on.
    let certificates = std::sync::Arc::clone(&api_config.reports.certificates);
    if !matches!(target, Target::Ingest) {
        certificates.refresh(chrono::Utc::now()).await;
    }
    // The HTTP server answers its probes from the start, on a pool of its own that connects
    // when the database is there: readiness says "starting" until it is migrated. Sized for
    // what the API serves (see `api::POOL_CONNECTIONS`); without the api target only the
    // readiness look uses the database, on a connection of its own.
    let api_pool =
        store::db::connect_lazy(settings.env.database_url.expose(), api::POOL_CONNECTIONS)?;
    let schedule_every = api_config.reports.schedule_every;
    let state = api::AppState::new(api_config, api_pool, shutdown.clone());
    state.set_target(match target {
        Target::All => "all",
        Target::Ingest => "ingest",
        Target::Reporter => "reporter",
        Target::Api => "api",
    });
    if full_api && let Some(people) = &state.people {
        // A provider that does not answer as one at start-up is a configuration error, named.
        people.check_provider().await.with_context(|| {
            format!(
                "{}: auth.oidc.issuer ({}): its discovery document and keys could not be read",
                settings.config_path.display(),
                people.config().issuer
            )
        })?;
    }
    let mut workers = tokio::task::JoinSet::new();
    let serving = std::sync::Arc::clone(&state);
    workers.spawn(async move { ("api", api::serve(listener, serving, full_api).await) });
    let Some(pool) = wait_for_database(&settings, &mut stop).await? else {
        trigger.trigger();
        return Ok(());
    };
    state.mark_database_ready();
    if matches!(target, Target::All | Target::Ingest) {
        let config = ingest_config(&settings);
        let (pool, shutdown) = (pool.clone(), shutdown.clone());
        workers.spawn(async move { ("ingest", ingest::run(config, pool, shutdown).await) });
    }
    if matches!(target, Target::Api) {
        // Without the scheduler, which looks at them every step: the dashboard and the metrics
        // follow a replaced file all the same.
        let (certificates, shutdown) = (std::sync::Arc::clone(&certificates), shutdown.clone());
        workers.spawn(async move {
            let watched = reporter::certificates::watch(certificates, schedule_every, shutdown);
            ("certificates", watched.await)
        });
    }
    if matches!(target, Target::All | Target::Reporter) {
        let sender = sender.context("a reporter's sender is made at start")?;
        let config = reporter::service::ReporterConfig {
            certificates,
            ..settings.reporter_config()?
        };
        let (pool, shutdown) = (pool.clone(), shutdown.clone());
        workers.spawn(async move {
            let stopped = reporter::service::run(pool, config, sender, shutdown).await;
            ("reporter", stopped)
        });
    }
    tracing::info!(?target, config = %settings.config_path.display(), "baocao started");
    tokio::select! {
        signal = stop.received() => signal?,
        // The workers only return on shutdown; earlier means one failed, and so does the process.
        Some(ended) = workers.join_next() => {
            let (name, result) = ended.context("A worker panicked")?;
            result?;
            anyhow::bail!("the {name} worker stopped unexpectedly");
        }
    }
    tracing::info!("stopping: finishing the work in flight");
    trigger.trigger();
    // Each finishes its batch or message in flight; one that hangs beyond that must not keep
    // the process from exiting before its orchestrator kills it.
    let finishing = async {
        while let Some(ended) = workers.join_next().await {
            let (_, result) = ended.context("A worker panicked")?;
            result?;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(STOP_PATIENCE, finishing)
        .await
        .map_err(|_| anyhow::anyhow!("the workers did not stop within {STOP_PATIENCE:?}"))?
}

/// The outbox sender: SMTP with `BAOCAO_SMTP_URL`, else `.eml` files in `BAOCAO_MAIL_DIR`, each
/// exchange bounded and each failure retried as `[reporter]` says.
fn reporter_sender(settings: &Settings) -> anyhow::Result<reporter::sender::Sender> {
    use reporter::sender::{Mailer, RetryPolicy, Sender};
    let tuning = &settings.file.reporter;
    let url = settings.env.smtp_url.as_ref().map(|url| url.expose());
    let mailer = Mailer::new(url, &settings.env.mail_dir)?
        .with_timeout(Duration::from_secs(tuning.smtp_timeout_seconds));
    tracing::info!(to = %mailer.describe(), "reports are emailed");
    let first = i64::try_from(tuning.email_retry_seconds).unwrap_or(i64::MAX);
    let retry = RetryPolicy {
        first: chrono::TimeDelta::try_seconds(first).unwrap_or(chrono::TimeDelta::hours(1)),
        ..RetryPolicy::default()
    };
    let lease = Duration::from_secs(tuning.outbox_lease_seconds);
    Ok(Sender::new(mailer, retry).with_lease(lease))
}

/// Connects to the database (creating and migrating it), retrying with backoff while it is
/// unavailable. Any other failure (a wrong password, a database migrated by a newer version)
/// stops the start: retrying cannot mend it. `None` if a stop signal came first.
async fn wait_for_database(
    settings: &Settings,
    stop: &mut StopSignal,
) -> anyhow::Result<Option<store::PgPool>> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
    let mut streak = Streak::default();
    loop {
        match store::db::connect_and_migrate(settings.env.database_url.expose(), 8).await {
            Ok(pool) => {
                if streak.succeeded() {
                    tracing::info!("the database is available");
                }
                // Without kept counts in this zone the figures are counted by scanning: slower,
                // the same numbers.
                let zone = settings.file.tz();
                if let Err(error) = store::kept::prepare(&pool, zone.name()).await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot prepare the kept counts; figures are counted from the items"
                    );
                }
                return Ok(Some(pool));
            }
            Err(error) if !store::db::is_unavailable(&error) => return Err(error),
            Err(error) => {
                if streak.failed() {
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
