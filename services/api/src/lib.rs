//! The api target (SPEC §10): live counters as JSON and Server-Sent Events, reports and their
//! delivery, the pipeline's health, the administrators' dashboard at `/`, and `/metrics`.
//!
//! - [`routes`]: the handlers by resource, each documented for `/api/openapi.json`.
//! - [`live`]: `LISTEN/NOTIFY` to per-unit readings shared by every stream.
//! - [`access`]: who asks and what each route lets them do: the one place access is decided.
//! - [`auth`]: the admin token, loopback-only without one, same-origin writes.
//! - [`people`]: signing people in with the province's OpenID Connect provider, sessions.
//! - [`queues`]: the broker's queues as last seen by a background look.
//! - [`database`]: the database as last seen by a background look, for readiness and metrics.
//! - [`server`]: the accept loop, its timeouts and its connection cap.
//! - [`streams`]: the caps on live streams, per client and in all.
//! - [`openapi`]: the answers every route may give, and the period's pattern, in the document.
//! - [`sources`]: the sources of `POST /sync/*`, each with its own token.
//! - [`publishing`]: the API's own connection to the broker, for what `/sync/*` receives.
//!
//! Processes running only ingest or the reporter serve [`probes`]: `/healthz`, `/readyz` and
//! `/metrics`, so that each Deployment has its probes and is scraped.

pub mod access;
pub mod auth;
mod dashboard;
pub mod database;
pub mod live;
pub mod openapi;
pub mod people;
pub mod publishing;
pub mod queues;
pub mod routes;
pub mod server;
pub mod sources;
pub mod streams;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::middleware::from_fn_with_state;
use lifecycle::Shutdown;
use reporter::service::ReporterConfig;
use store::PgPool;
use tokio::net::TcpListener;
use utoipa::OpenApi;

use crate::database::DatabaseWatch;
use crate::queues::QueueWatch;
pub use crate::server::Limits;
use crate::streams::StreamCaps;

/// The connections of the API's pool (`baocao run` makes it), for what the API serves: one is
/// held for good by the live hub's `LISTEN`; the others are shared by the requests (a few
/// milliseconds each; the department's view takes two at once) and the live refreshers (one
/// reading at a time per watched unit, at most five a second each). Seven serve hundreds of
/// requests a second; more would only move the queue into PostgreSQL, whose connections
/// (100 by default) every pod of a province shares. Readiness and `/metrics` take none of
/// these: their look has a connection of its own ([`database`]).
pub const POOL_CONNECTIONS: u32 = 8;

/// What the API needs besides the database.
pub struct ApiConfig {
    /// The units, time zone, schedule and templates, as the reporter has them.
    pub reports: ReporterConfig,
    /// `BAOCAO_ADMIN_TOKEN`; never logged.
    pub admin_token: Option<String>,
    /// `BAOCAO_AMQP_URL`; never logged.
    pub amqp_url: String,
    /// The broker's names.
    pub topology: broker::Topology,
    /// What clients may hold: timeouts, the connection cap, the stream caps.
    pub limits: Limits,
    /// The units, with their agency codes, as the sync's bodies name them.
    pub known_units: domain::KnownUnits,
    /// The sources that may send `POST /sync/*`.
    pub sources: Vec<sources::Source>,
    /// The office's hours, in which a silent source is shown and alerted.
    pub office_hours: domain::feeds::OfficeHours,
    /// People signing in through the province's identity provider (`[auth.oidc]`), and their
    /// roles; without it the admin token alone opens the API.
    pub people: Option<people::PeopleConfig>,
}

impl ApiConfig {
    /// The start of `now`'s local day, in the deployment's zone.
    pub fn local_day_start(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        let tz = self.reports.tz;
        let midnight = now
            .with_timezone(&tz)
            .date_naive()
            .and_time(chrono::NaiveTime::MIN);
        chrono::TimeZone::from_local_datetime(&tz, &midnight)
            .earliest()
            .map_or(now, |start| start.to_utc())
    }
}

/// The state every handler shares.
pub struct AppState {
    config: ApiConfig,
    pool: PgPool,
    hub: Arc<live::Hub>,
    queues: QueueWatch,
    database: DatabaseWatch,
    streams: Arc<StreamCaps>,
    sync_publisher: publishing::SyncPublisher,
    silence: Arc<sources::Silence>,
    /// People signing in, with `[auth.oidc]`.
    pub people: Option<people::People>,
    shutdown: Shutdown,
    serves_api: AtomicBool,
    /// The target this process runs, for readiness: only `ingest` needs the broker to be ready.
    target: std::sync::OnceLock<&'static str>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "baocao",
        description = "Live counters, reports and pipeline health of the ward's digital-transformation report. \
                       Every path under /api needs `Authorization: Bearer <BAOCAO_ADMIN_TOKEN>` when a token is set, \
                       or the session cookie of a person signed in at /auth/login (with `[auth.oidc]`); \
                       a person sees and changes only the units their roles allow (403 otherwise)."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "live", description = "The open window's counters"),
        (name = "reports", description = "Monthly reports and their delivery"),
        (name = "pipeline", description = "Queues, dead letters, stored data, outbox"),
        (name = "health", description = "Probes and metrics, open without the token"),
        (name = "sync", description = "Upstream systems' own formats, each source with its own token"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(people::SESSION_COOKIE),
            )),
        );
    }
}

/// The whole API and its OpenAPI document.
pub fn router(state: Arc<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    let (guarded, paths) = routes::guarded()
        .with_state(Arc::clone(&state))
        .split_for_parts();
    let mut openapi = ApiDoc::openapi();
    openapi.merge(paths);
    let (public, probes) = routes::probes::router()
        .with_state(Arc::clone(&state))
        .split_for_parts();
    openapi.merge(probes);
    let (sync, sync_paths) = routes::sync::router()
        .with_state(Arc::clone(&state))
        .split_for_parts();
    openapi.merge(sync_paths);
    utoipa::Modify::modify(&openapi::SharedAnswers, &mut openapi);
    let document = openapi.to_json().unwrap_or_default();
    let guarded = guarded
        .route(
            "/api/openapi.json",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    document,
                )
            }),
        )
        .layer(from_fn_with_state(
            Arc::clone(&state),
            access::require_access,
        ));
    let router = Router::new()
        .merge(public)
        .merge(dashboard::routes())
        .merge(people::pages::routes().with_state(Arc::clone(&state)))
        .merge(guarded)
        .route_layer(from_fn_with_state(
            state.config.limits.body_timeout,
            server::read_body_within,
        ))
        // Machine routes with their own tokens, body limits and time (not the dashboard's).
        .merge(sync)
        .layer(axum::middleware::map_response(routes::json_rejections));
    (router, openapi)
}

/// Only the probes and metrics, for a process without the api target.
pub fn probes(state: Arc<AppState>) -> Router {
    routes::probes::router()
        .with_state(state)
        .split_for_parts()
        .0
}

impl AppState {
    /// The state of a server; its live feeds start with [`serve`]. `pool` may be lazy and its
    /// database not yet migrated: call [`AppState::mark_database_ready`] once it is.
    pub fn new(config: ApiConfig, pool: PgPool, shutdown: Shutdown) -> Arc<Self> {
        let hub = live::Hub::new(
            config
                .reports
                .issuers()
                .map(|p| (p.code.clone(), config.reports.job(p).members)),
        );
        let queues = QueueWatch::new(config.amqp_url.clone(), config.topology.clone());
        let sync_publisher = publishing::SyncPublisher::new(config.amqp_url.clone());
        let silence = Arc::new(sources::Silence {
            sources: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.silent_after))
                .collect(),
            office_hours: config.office_hours.clone(),
            tz: config.reports.tz,
        });
        let limits = config.limits;
        let people = config.people.clone().map(people::People::new);
        Arc::new(Self {
            people,
            config,
            database: DatabaseWatch::new(&pool, Arc::clone(&silence)),
            silence,
            pool,
            hub: Arc::new(hub),
            queues,
            streams: StreamCaps::new(limits.streams_per_client, limits.streams_total),
            sync_publisher,
            shutdown,
            serves_api: AtomicBool::new(false),
            target: std::sync::OnceLock::new(),
        })
    }

    /// Names the target this process runs (`all`, `ingest`, `reporter` or `api`). The process
    /// is ready when the database answers, and for `ingest` also the broker: the API and the
    /// reporter keep serving during a broker outage, and say it is down.
    pub fn set_target(&self, target: &'static str) {
        self.target.set(target).ok();
    }

    fn target(&self) -> &'static str {
        self.target.get().copied().unwrap_or("api")
    }

    /// Whether this process is ready, and what its database and broker say, from the last
    /// looks at each: no I/O, however often it is asked.
    fn readiness(&self) -> (bool, &'static str, &'static str) {
        let database = self.database.status();
        let broker = if self.queues.ready().is_ok() {
            "ok"
        } else {
            "unavailable"
        };
        let needs_broker = self.target() == "ingest";
        let ready = database == "ok" && (broker == "ok" || !needs_broker);
        metrics::global().set_ready(self.target(), ready);
        (ready, database, broker)
    }

    /// The database exists and is migrated: readiness may report it.
    pub fn mark_database_ready(&self) {
        self.database.mark_migrated();
    }

    fn serves_api(&self) -> bool {
        self.serves_api.load(Ordering::Acquire)
    }

    /// Sets the gauges of the broker as last seen when this process serves the whole API, so
    /// that summing over all targets counts them once (the database's are set by its look).
    fn export_shared_gauges(&self) {
        if self.serves_api() {
            self.queues.export_gauges();
        }
    }
}

/// Resolves `addr` and binds it. With `guarded` (the whole API is served), a non-loopback
/// address without a token is refused; probes and metrics alone are open anyway.
pub async fn bind(addr: &str, guarded: bool, token: Option<&str>) -> anyhow::Result<TcpListener> {
    bind_with(addr, guarded, token, false).await
}

/// [`bind`], where `people` (signing in through a provider) also allows a non-loopback address
/// without a token.
pub async fn bind_with(
    addr: &str,
    guarded: bool,
    token: Option<&str>,
    people: bool,
) -> anyhow::Result<TcpListener> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("BAOCAO_HTTP_ADDR '{addr}' is not an address to listen on"))?
        .collect();
    if let Some(token) = token {
        auth::check_token(token)?;
    }
    if guarded {
        auth::check_exposure(&addresses, token, people)?;
    }
    TcpListener::bind(addresses.as_slice())
        .await
        .with_context(|| format!("Failed to listen on {addr}"))
}

/// Serves the whole API on `listener` until shutdown; `full` false serves only the probes and
/// metrics. Within [`Limits`]: see [`server`].
pub async fn serve(listener: TcpListener, state: Arc<AppState>, full: bool) -> anyhow::Result<()> {
    let address = listener.local_addr().context("no local address")?;
    state.serves_api.store(full, Ordering::Release);
    let watching = Arc::clone(&state);
    tokio::spawn(async move { watching.queues.run(watching.shutdown.clone()).await });
    let looking = Arc::clone(&state);
    tokio::spawn(async move { looking.database.run(full, looking.shutdown.clone()).await });
    let full_router = if full {
        let hub = Arc::clone(&state.hub);
        let tz = state.config.reports.tz;
        tokio::spawn(hub.run(state.pool.clone(), tz, state.shutdown.clone()));
        router(Arc::clone(&state)).0
    } else {
        probes(Arc::clone(&state))
    };
    let routers = server::Routers {
        full: full_router,
        reserve: probes(Arc::clone(&state)).fallback(server::over_capacity),
    };
    tracing::info!(
        %address,
        token = if state.config.admin_token.is_some() { "required" } else { "none (loopback only)" },
        "HTTP listening"
    );
    let serving = server::accept_until(
        listener,
        routers,
        state.config.limits,
        state.shutdown.clone(),
    );
    // Streams end at the stop; a client that stopped reading gets 10 s more.
    let deadline = state.shutdown.clone();
    tokio::select! {
        () = serving => Ok(()),
        () = async {
            deadline.wait().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        } => {
            tracing::warn!("HTTP connections still open 10 s after the stop; closing them");
            Ok(())
        }
    }
}
