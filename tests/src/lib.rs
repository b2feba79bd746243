//! The harness of baocao's end-to-end tests and benchmarks.
//!
//! Each [`TestEnv`] gets its own PostgreSQL database and its own RabbitMQ vhost, so tests run
//! in parallel against the real services and leave nothing behind: both are removed when the
//! environment is dropped, even after a failed assertion.

pub mod bench;
pub mod browser;
pub mod cluster;
pub mod http;
pub mod items;
pub mod oidc;
pub mod raw_amqp;
pub mod xlsx;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use baocao::config::{FileConfig, Settings};
use broker::{OutgoingMessage, Publisher};
use chrono::{DateTime, Utc};
use domain::{Indicators, Period, UnitCode};
use ingest::IngestConfig;
use lifecycle::{Shutdown, ShutdownTrigger};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// The PostgreSQL server the tests use; each test creates its own database on it. Its Unix
/// socket when there is one (see `baocao::config::DEFAULT_DATABASE_SOCKET_URL` for why).
pub fn postgres_url(database: &str) -> String {
    if Path::new("/var/run/postgresql/.s.PGSQL.5432").exists() {
        format!("postgres://postgres@localhost/{database}?host=/var/run/postgresql")
    } else {
        format!("postgres://postgres@127.0.0.1:5432/{database}")
    }
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The shipped configuration, `baocao.toml`.
pub fn shipped_config() -> FileConfig {
    baocao::config::load_file(&repo_root().join("baocao.toml"))
        .expect("the shipped baocao.toml loads")
}

/// `baocao sim` publishing the reference month (May 2026 of Trí Quả, 1,308 events) and waiting
/// up to 60 s until a running ingest has stored them all.
pub const SIM_REFERENCE_MONTH: [&str; 9] = [
    "sim",
    "--unit",
    "tri-qua",
    "--period",
    "2026-05",
    "--profile",
    "seed",
    "--wait",
    "60",
];

/// The reference ward.
pub fn tri_qua() -> UnitCode {
    UnitCode::parse("tri-qua").expect("a valid code")
}

/// A period written `YYYY-MM`.
pub fn period(text: &str) -> Period {
    text.parse().expect("a valid period")
}

/// An instant written in RFC 3339.
pub fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 instant")
        .to_utc()
}

/// One test's private database and vhost.
pub struct TestEnv {
    /// `bct_<random>`: the database's and the vhost's name.
    pub name: String,
    /// The URL of the private database.
    pub database_url: String,
    /// The URL of the private vhost.
    pub amqp_url: String,
    /// A pool on the private database, migrated.
    pub pool: PgPool,
    /// The configuration (the shipped file unless replaced).
    pub config: FileConfig,
    /// What was made on the machine's servers, to remove when dropped.
    made: Made,
}

/// Where a test's database or broker is.
#[derive(Debug, Clone)]
pub enum Place {
    /// The machine's own server: the test makes its own database or vhost there, and removes
    /// it.
    Machine,
    /// A server of the test's own (the cluster kit's): for a database, the base URL
    /// (`postgres://user@host:port`) the database's name is added to; for the broker, the
    /// whole `BAOCAO_AMQP_URL`. Nothing is removed: the server goes with the kit.
    Own(String),
}

/// What a [`TestEnv`] made on the machine's servers.
#[derive(Debug, Clone, Copy)]
struct Made {
    database: bool,
    vhost: bool,
}

impl TestEnv {
    /// Creates a database (migrated) and a vhost for one test, with the shipped configuration.
    pub async fn new() -> Self {
        Self::with_config(shipped_config()).await
    }

    /// As [`TestEnv::new`], with another configuration.
    pub async fn with_config(config: FileConfig) -> Self {
        Self::at(config, Place::Machine, Place::Machine).await
    }

    /// As [`TestEnv::with_config`], with the database and the broker where the test says.
    pub async fn at(config: FileConfig, database: Place, broker: Place) -> Self {
        init_logs();
        let name = format!("bct_{}", &Uuid::new_v4().simple().to_string()[..16]);
        let amqp_url = match &broker {
            Place::Machine => {
                rabbitmqctl(&["add_vhost", &name]);
                rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
                format!("amqp://guest:guest@127.0.0.1:5672/{name}")
            }
            Place::Own(url) => url.clone(),
        };
        let database_url = match &database {
            Place::Machine => postgres_url(&name),
            Place::Own(base) => format!("{base}/{name}"),
        };
        let pool = store::db::connect_and_migrate(&database_url, 10)
            .await
            .expect("the test database");
        store::kept::prepare(&pool, config.tz().name())
            .await
            .expect("the kept counts");
        let made = Made {
            database: matches!(database, Place::Machine),
            vhost: matches!(broker, Place::Machine),
        };
        Self {
            name,
            database_url,
            amqp_url,
            pool,
            config,
            made,
        }
    }

    /// Settings for the binary and the library, pointing at this environment.
    pub fn settings(&self) -> Settings {
        let mut env = baocao::config::EnvSettings::from_env();
        env.database_url = baocao::config::Secret::new(self.database_url.clone());
        env.amqp_url = baocao::config::Secret::new(self.amqp_url.clone());
        Settings {
            config_path: repo_root().join("baocao.toml"),
            file: self.config.clone(),
            env,
        }
    }

    /// The ingest configuration for this environment.
    pub fn ingest_config(&self) -> IngestConfig {
        baocao::run::ingest_config(&self.settings())
    }

    /// Starts the ingest worker in this process.
    pub fn start_ingest(&self) -> RunningIngest {
        self.start_ingest_with(self.ingest_config())
    }

    /// Starts the ingest worker in this process with a given configuration.
    pub fn start_ingest_with(&self, config: IngestConfig) -> RunningIngest {
        let (trigger, shutdown) = Shutdown::new();
        let handle = tokio::spawn(ingest::run(config, self.pool.clone(), shutdown));
        RunningIngest { trigger, handle }
    }

    /// Connects to this environment's vhost and declares the topology.
    pub async fn broker(&self) -> TestBroker {
        let connection = broker::connect(&self.amqp_url, "baocao-test")
            .await
            .expect("the broker");
        let channel = connection.create_channel().await.expect("a channel");
        let topology = self.config.broker.clone();
        broker::declare(&channel, &topology)
            .await
            .expect("the topology");
        let publisher = Publisher::open(&connection).await.expect("a publisher");
        TestBroker {
            connection,
            publisher,
            topology,
        }
    }

    /// The indicators of `period` as of `now`.
    pub async fn indicators(&self, period: Period, now: DateTime<Utc>) -> Indicators {
        store::indicators::for_period(&self.pool, &tri_qua(), period, self.config.tz(), now)
            .await
            .expect("the indicators")
    }

    /// Publishes `events`, runs the ingest worker in this process until all of them (counted
    /// by distinct id) are stored, and stops it.
    pub async fn ingest(&self, events: &[Value]) {
        let before = self.stored_events().await;
        let broker = self.broker().await;
        let worker = self.start_ingest();
        broker.publish_events(events).await;
        let unique: std::collections::HashSet<&str> =
            events.iter().filter_map(|e| e["id"].as_str()).collect();
        self.wait_for_stored(before + unique.len() as i64, Duration::from_secs(30))
            .await;
        worker.stop().await;
        broker.close().await;
    }

    /// Publishes the `seed` profile's events for the reference month (May 2026 of Trí Quả),
    /// as `baocao sim --profile seed` does, and waits until the worker has stored them.
    pub async fn ingest_reference_month(&self) {
        let events = baocao::sim::seed_events(
            &tri_qua(),
            period("2026-05"),
            self.config.tz(),
            Utc::now(),
            baocao::sim::REFERENCE_MONTH,
        )
        .expect("the seed profile");
        self.ingest_simulated(&events, Duration::from_secs(30))
            .await;
    }

    /// Publishes simulated `events` as `baocao sim` does, runs the ingest worker in this
    /// process until as many events as were published are stored (within `limit`), and stops
    /// it. For a database that holds no event yet.
    pub async fn ingest_simulated(&self, events: &[baocao::sim::SimEvent], limit: Duration) {
        let broker = self.broker().await;
        let worker = self.start_ingest();
        baocao::sim::publish(&broker.publisher, &broker.topology, events, None)
            .await
            .expect("publish the simulated events");
        self.wait_for_stored(events.len() as i64, limit).await;
        worker.stop().await;
        broker.close().await;
    }

    /// The one value `sql` selects (a count, say) from this environment's database.
    pub async fn scalar(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("a scalar")
    }

    /// The address of the outbox's first message (the lowest `outbox_id`): among messages
    /// due together, the one a sender claims first.
    pub async fn first_in_line(&self) -> String {
        sqlx::query_scalar("select address from outbox order by outbox_id limit 1")
            .fetch_one(&self.pool)
            .await
            .expect("a queued message")
    }

    /// How many events are stored.
    pub async fn stored_events(&self) -> i64 {
        sqlx::query_scalar("select count(*) from event")
            .fetch_one(&self.pool)
            .await
            .expect("a count")
    }

    /// Waits until at least `count` events are stored, or panics after `limit`.
    pub async fn wait_for_stored(&self, count: i64, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let stored = self.stored_events().await;
            if stored >= count {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {stored} of {count} events stored in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages in a queue now (ready, not counting unacknowledged ones); 0 if it does not
    /// exist.
    pub async fn queue_depth(&self, queue: &str) -> u32 {
        let connection = broker::connect(&self.amqp_url, "baocao-test-depth")
            .await
            .expect("the broker");
        // A queue not declared (yet, or again after a test deleted it) holds nothing.
        let depth = broker::queue_depth(&connection, queue)
            .await
            .map_or(0, |depth| depth.messages);
        connection.close(200, "done".into()).await.ok();
        depth
    }

    /// Waits until `queue` holds exactly `depth` ready messages.
    pub async fn wait_for_queue_depth(&self, queue: &str, depth: u32, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let now = self.queue_depth(queue).await;
            if now == depth {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{queue} holds {now} messages, not {depth}, after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts `binary run --target ingest` as a separate process on this environment. Tests and
    /// benchmarks pass `env!("CARGO_BIN_EXE_baocao-under-test")`: the same `main` as `baocao`,
    /// which cargo builds with them (`tests/src/bin/baocao-under-test.rs`).
    pub fn spawn_worker(&self, binary: &Path) -> std::io::Result<std::process::Child> {
        self.command(binary)
            .args(["run", "--target", "ingest"])
            .stdin(std::process::Stdio::null())
            .spawn()
    }

    /// The binary at `binary` (a test's `CARGO_BIN_EXE_baocao-under-test`) with the shipped
    /// configuration, this environment's database and vhost, any free HTTP port, and
    /// warnings-only logs (`BAOCAO_TEST_WORKER_LOG` sets another filter, for debugging).
    pub fn command(&self, binary: &Path) -> Command {
        let mut command = Command::new(binary);
        command
            .env("BAOCAO_CONFIG", repo_root().join("baocao.toml"))
            .env("BAOCAO_DATABASE_URL", &self.database_url)
            .env("BAOCAO_AMQP_URL", &self.amqp_url)
            // Any free port: tests run many processes at once.
            .env("BAOCAO_HTTP_ADDR", "127.0.0.1:0")
            .env_remove("BAOCAO_ADMIN_TOKEN")
            .env(
                "BAOCAO_LOG",
                std::env::var("BAOCAO_TEST_WORKER_LOG").unwrap_or_else(|_| "warn".into()),
            );
        command
    }

    /// Starts `binary` with `args` (and `extra` environment) as a separate process, and returns
    /// it with the HTTP address it logged it listens on (the port is any free one).
    pub async fn spawn_listening(
        &self,
        binary: &Path,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> (tokio::process::Child, String) {
        let (child, address, _) = self.spawn_logged(binary, args, extra).await;
        (child, address)
    }

    /// As [`TestEnv::spawn_listening`], also keeping every line the process logs (JSON lines,
    /// at `api=info,warn` unless `extra` sets `BAOCAO_LOG`).
    pub async fn spawn_logged(
        &self,
        binary: &Path,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> (tokio::process::Child, String, Logs) {
        use tokio::io::AsyncBufReadExt;
        let mut command = tokio::process::Command::from(self.command(binary));
        command
            .args(args)
            .env("BAOCAO_LOG", "api=info,warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stderr = child.stderr.take().expect("its stderr");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let logs = Logs::default();
        let kept = logs.clone();
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("its logs") {
                kept.push(&line);
                if let Ok(log) = serde_json::from_str::<Value>(&line)
                    && log["fields"]["message"] == "HTTP listening"
                {
                    return log["fields"]["address"].as_str().map(str::to_owned);
                }
                eprintln!("{line}");
            }
            None
        })
        .await
        .expect("listening within 30 s")
        .expect("the binary ended without listening");
        // Keep draining its logs so that it never blocks on a full pipe.
        let kept = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.push(&line);
                eprintln!("{line}");
            }
        });
        (child, address, logs)
    }

    /// Starts the api target in this process on a free loopback port, with `token` as
    /// `BAOCAO_ADMIN_TOKEN`.
    pub async fn start_api(&self, token: Option<&str>) -> RunningApi {
        let limits = self.config.http.limits();
        self.start_api_with(token, limits).await
    }

    /// As [`TestEnv::start_api`], within `limits`, on a pool of its own sized as `baocao run`
    /// sizes it.
    pub async fn start_api_with(&self, token: Option<&str>, limits: api::Limits) -> RunningApi {
        self.start_api_with_sources(token, limits, &[]).await
    }

    /// As [`TestEnv::start_api_with`], the configured sources' tokens given as (variable,
    /// value) pairs instead of read from the environment.
    pub async fn start_api_with_sources(
        &self,
        token: Option<&str>,
        limits: api::Limits,
        source_tokens: &[(&str, &str)],
    ) -> RunningApi {
        let lookup = |name: &str| {
            source_tokens
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let config = api::ApiConfig {
            admin_token: token.map(str::to_owned),
            limits,
            ..baocao::run::api_config_with(&self.settings(), lookup).expect("the API configuration")
        };
        let listener = api::bind("127.0.0.1:0", true, token)
            .await
            .expect("a free port");
        self.serve_config(listener, config).await
    }

    /// Serves the API with the environment's configuration, `token` and `people` on
    /// `listener`.
    pub async fn serve_api(
        &self,
        listener: tokio::net::TcpListener,
        token: Option<&str>,
        people: Option<api::people::PeopleConfig>,
    ) -> RunningApi {
        let config = api::ApiConfig {
            admin_token: token.map(str::to_owned),
            people,
            ..baocao::run::api_config_with(&self.settings(), |_| None)
                .expect("the API configuration")
        };
        self.serve_config(listener, config).await
    }

    async fn serve_config(
        &self,
        listener: tokio::net::TcpListener,
        config: api::ApiConfig,
    ) -> RunningApi {
        let token = config.admin_token.clone();
        let address = listener.local_addr().expect("an address").to_string();
        let (stop, stopped) = Shutdown::new();
        let pool = store::db::connect_lazy(&self.database_url, api::POOL_CONNECTIONS)
            .expect("the API's pool");
        let state = api::AppState::new(config, pool, stopped);
        state.mark_database_ready();
        let handle = tokio::spawn(api::serve(listener, state, true));
        RunningApi {
            address,
            token,
            stop,
            handle,
        }
    }

    /// Lets the database accept connections or not; refusing also ends the open ones, as a
    /// database going down would.
    pub async fn set_database_available(&self, available: bool) {
        let mut admin = PgConnection::connect(&postgres_url("postgres"))
            .await
            .expect("the maintenance database");
        let alter = format!(
            "alter database \"{}\" with allow_connections {available}",
            self.name
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(alter))
            .execute(&mut admin)
            .await
            .expect("alter database");
        if !available {
            sqlx::query(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1",
            )
            .bind(&self.name)
            .execute(&mut admin)
            .await
            .expect("end the sessions");
        }
    }

    /// Writes `text` as this test's configuration file and returns its path (removed with the
    /// scratch folder of the test's name in the system's temporary folder).
    pub fn write_config(&self, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(&self.name);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let path = dir.join("baocao.toml");
        std::fs::write(&path, text).expect("the configuration file");
        path
    }

    /// The orphans and conflicts of the reference ward.
    pub async fn problems(&self) -> store::health::UnitProblems {
        store::health::problems(&self.pool)
            .await
            .expect("the problems")
            .into_iter()
            .find(|p| p.unit == "tri-qua")
            .unwrap_or_default()
    }

    /// Starts `binary run --target ingest` (a test's `CARGO_BIN_EXE_baocao-under-test`) as a
    /// separate process on this environment; returns it with the address of its `/metrics`.
    pub async fn spawn_ingest(&self, binary: &Path) -> (tokio::process::Child, String) {
        self.spawn_listening(binary, &["run", "--target", "ingest"], &[])
            .await
    }

    /// The dead letters now in `baocao.dead`, left in place.
    pub async fn dead_letters(&self) -> Vec<ingest::dead_letter::DeadLetter> {
        let connection = broker::connect(&self.amqp_url, "baocao-test-dead")
            .await
            .expect("the broker");
        let letters =
            ingest::dead_letter::list(&connection, &self.config.broker.dead_queue, 10_000)
                .await
                .expect("the dead letters");
        connection.close(200, "done".into()).await.ok();
        letters
    }

    /// Waits until `count` dead letters are in `baocao.dead`.
    pub async fn wait_for_dead_letters(&self, count: u32, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.queue_depth(&self.config.broker.dead_queue).await < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "fewer than {count} dead letters after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let name = self.name.clone();
        let made = self.made;
        // Drop runs inside the test's runtime, which is blocked until this returns: clean up on a
        // thread with a runtime of its own, and let `with (force)` end the pool's sessions.
        std::fs::remove_dir_all(std::env::temp_dir().join(&name)).ok();
        std::thread::spawn(move || {
            if made.vhost {
                rabbitmqctl(&["delete_vhost", &name]);
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime
                && made.database
            {
                runtime.block_on(async {
                    if let Ok(mut admin) = PgConnection::connect(&postgres_url("postgres")).await {
                        let drop = format!("drop database if exists \"{name}\" with (force)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                            .execute(&mut admin)
                            .await;
                    }
                });
            }
        })
        .join()
        .ok();
    }
}

/// The value of the sample `sample` (a metric name with its labels as the exposition writes
/// them, e.g. `baocao_events_duplicate_total`) in the `/metrics` of the process at `address`;
/// 0 when it has none yet.
pub async fn metric(address: &str, sample: &str) -> f64 {
    let text = http::Request::get("/metrics").send(address).await.text();
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == sample).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

/// Waits until the sample `sample` of the process at `address` reaches `at_least`.
pub async fn wait_for_metric(address: &str, sample: &str, at_least: f64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let value = metric(address, sample).await;
        if value >= at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sample} is {value}, not {at_least}, after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends SIGTERM to `child` and waits for it to exit 0, within 30 s; returns how long it took.
pub async fn terminate(mut child: tokio::process::Child) -> Duration {
    let pid = child.id().expect("the child is running");
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let started = tokio::time::Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s of SIGTERM")
        .expect("its exit status");
    assert!(status.success(), "{status}");
    started.elapsed()
}

/// The lines a spawned process has logged so far.
#[derive(Debug, Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<String>>>);

impl Logs {
    fn push(&self, line: &str) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line.to_owned());
        }
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|lines| lines.clone()).unwrap_or_default()
    }

    /// How many lines so far contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.lines()
            .iter()
            .filter(|line| line.contains(text))
            .count()
    }
}

/// The shipped configuration's text.
pub fn shipped_config_text() -> String {
    std::fs::read_to_string(repo_root().join("baocao.toml")).expect("the shipped baocao.toml")
}

/// The shipped configuration with a second ward, `code`, named after it: the reference ward's
/// block again with its code, names, sender and addresses changed.
pub fn config_with_second_unit(code: &str) -> String {
    let shipped = shipped_config_text();
    let unit = shipped.split("[[unit]]").nth(1).expect("a [[unit]] block");
    let unit = unit
        .replace("code = \"tri-qua\"", &format!("code = \"{code}\""))
        // Another ward's agency code: no two units share one.
        .replace("000.00.12.H55", "000.00.13.H55")
        .replace("Trí Quả", "An Phú")
        .replace("TRÍ QUẢ", "AN PHÚ")
        .replace("triqua", "anphu");
    format!("{shipped}\n[[unit]]{unit}")
}

/// The reference month ingested and its report issued on its day (the 18th at 08:00) as
/// revision 1, with its five messages queued: the unit's job and that moment.
pub async fn issue_reference_month(env: &TestEnv) -> (reporter::job::UnitJob<'_>, DateTime<Utc>) {
    env.ingest_reference_month().await;
    let profile = env.config.unit("tri-qua").expect("the reference ward");
    let reports = env
        .settings()
        .reporter_config()
        .expect("the reporter's configuration");
    let job = reports.job(profile);
    let now = instant("2026-05-18T01:00:00Z");
    let resend = reporter::job::Resend::No;
    let stored = reporter::job::issue(&env.pool, &job, period("2026-05"), now, resend)
        .await
        .expect("the reference month issued");
    assert!(
        matches!(
            stored,
            reporter::job::Issued::Stored {
                revision: 1,
                messages: 5,
                ..
            }
        ),
        "{stored:?}"
    );
    (job, now)
}

/// Two wards, tri-qua and an-phu (the shipped configuration with [`config_with_second_unit`],
/// then `extra`), both configured since 1 October 2026, each with a document signed in the
/// window of 2026-11 (which closed on 15 November and was due on the 18th). Returns the
/// environment and the configuration file written for the binary.
pub async fn two_wards(extra: &str) -> (TestEnv, PathBuf) {
    let text = format!("{}\n{extra}", config_with_second_unit("an-phu"));
    let config = baocao::config::parse_file(Path::new("baocao.toml"), &text)
        .expect("the two wards' configuration");
    let env = TestEnv::with_config(config).await;
    let path = env.write_config(&text);
    sqlx::query(
        "insert into unit_registration (unit, configured_at)
         values ('tri-qua', '2026-10-01T00:00:00Z'), ('an-phu', '2026-10-01T00:00:00Z')",
    )
    .execute(&env.pool)
    .await
    .expect("the registrations");
    let mut events = documents("VB-nov", 2);
    for event in &mut events {
        event["occurred_at"] = serde_json::json!("2026-11-02T08:00:00+07:00");
    }
    events[1]["unit"] = serde_json::json!("an-phu");
    env.ingest(&events).await;
    (env, path)
}

/// How long [`until`] waits.
pub const WAIT: Duration = Duration::from_secs(60);

/// Waits until `check` holds, polling every 100 ms; panics naming `what` after [`WAIT`].
pub async fn until<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    until_within(what, WAIT, check).await;
}

/// Waits until `check` holds, polling every 100 ms; panics naming `what` after `limit`.
pub async fn until_within<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Logs to the test's output when `BAOCAO_LOG` is set (e.g. `BAOCAO_LOG=debug`).
pub fn init_logs() {
    if let Ok(filter) = std::env::var("BAOCAO_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// Runs `rabbitmqctl` with `args`, which must succeed.
pub fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Closes every client connection to `vhost`, as a broker restart or network cut would.
pub fn cut_broker_connections(vhost: &str) {
    rabbitmqctl(&[
        "close_all_connections",
        "--vhost",
        vhost,
        "test: simulated broker outage",
    ]);
}

/// An ingest worker running in this process.
pub struct RunningIngest {
    trigger: ShutdownTrigger,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningIngest {
    /// Asks it to finish its batch in flight and waits until it has.
    pub async fn stop(self) {
        self.trigger.trigger();
        let outcome = tokio::time::timeout(Duration::from_secs(30), self.handle).await;
        outcome
            .expect("ingest stops within 30 s")
            .expect("ingest did not panic")
            .expect("ingest ends cleanly");
    }
}

/// The api target running in the test's process.
pub struct RunningApi {
    /// host:port.
    pub address: String,
    /// Its token.
    pub token: Option<String>,
    stop: ShutdownTrigger,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningApi {
    /// `GET path` with the token.
    pub async fn get(&self, path: &str) -> http::Response {
        http::Request::get(path)
            .bearer(self.token.as_deref())
            .send(&self.address)
            .await
    }

    /// `POST path` with a JSON body and the token.
    pub async fn post(&self, path: &str, body: &Value) -> http::Response {
        http::Request::post_json(path, body)
            .bearer(self.token.as_deref())
            .send(&self.address)
            .await
    }

    /// Opens `path` as an event stream with the token (and `Last-Event-ID`, if given).
    pub async fn events(&self, path: &str, last_event_id: Option<&str>) -> http::EventStream {
        let mut request = http::Request::get(path).bearer(self.token.as_deref());
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.events(&self.address).await
    }

    /// Stops the server, ending open streams, and waits for it.
    pub async fn stop(self) {
        self.stop.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("the API stops within 10 s, streams included")
            .expect("the API did not panic")
            .expect("the API ends cleanly");
    }
}

/// A connection to a test's vhost with a confirming publisher.
pub struct TestBroker {
    /// The connection.
    pub connection: broker::Connection,
    /// Publishes with confirms.
    pub publisher: Publisher,
    /// The names.
    pub topology: broker::Topology,
}

impl TestBroker {
    /// Publishes a JSON event to the exchange its type belongs to.
    pub async fn publish_event(&self, event: &Value) {
        let type_name = event["type"].as_str().unwrap_or("unknown");
        let body = serde_json::to_vec(event).expect("JSON");
        // An unknown type (a test of bad input) goes where the portal's events go.
        let exchange = self.topology.exchange_for_type(type_name);
        let exchange = exchange.unwrap_or(&self.topology.portal_exchange);
        self.publish_raw(exchange, type_name, &body).await;
    }

    /// Publishes several JSON events.
    pub async fn publish_events(&self, events: &[Value]) {
        let bodies: Vec<(String, Vec<u8>)> = events
            .iter()
            .map(|event| {
                let type_name = event["type"].as_str().unwrap_or("unknown").to_owned();
                (type_name, serde_json::to_vec(event).expect("JSON"))
            })
            .collect();
        let messages = bodies
            .iter()
            .map(|(type_name, body)| OutgoingMessage {
                exchange: self
                    .topology
                    .exchange_for_type(type_name)
                    .unwrap_or(&self.topology.portal_exchange),
                routing_key: type_name,
                body,
                headers: None,
            })
            .collect();
        self.publisher
            .publish_confirmed(messages)
            .await
            .expect("published");
    }

    /// Publishes any bytes with `headers`.
    pub async fn publish_with_headers(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        headers: lapin::types::FieldTable,
    ) {
        let message = OutgoingMessage {
            exchange,
            routing_key,
            body,
            headers: Some(headers),
        };
        self.publisher
            .publish_confirmed(vec![message])
            .await
            .expect("published");
    }

    /// Publishes any bytes.
    pub async fn publish_raw(&self, exchange: &str, routing_key: &str, body: &[u8]) {
        let message = OutgoingMessage {
            exchange,
            routing_key,
            body,
            headers: None,
        };
        self.publisher
            .publish_confirmed(vec![message])
            .await
            .expect("published");
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.connection.close(200, "done".into()).await.ok();
    }
}

/// An event of `type_name` for the reference ward, with a fresh id.
pub fn event(type_name: &str, occurred_at: &str, data: Value) -> Value {
    serde_json::json!({
        "id": Uuid::new_v4(), "type": type_name, "occurred_at": occurred_at,
        "unit": "tri-qua", "data": data,
    })
}

/// The peak resident memory of process `pid` (its `VmHWM`), in bytes.
pub fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// `count` e-office documents signed in May 2026, named `<prefix>-<n>`.
pub fn documents(prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            event(
                "document.signed",
                "2026-05-02T08:00:00+07:00",
                serde_json::json!({"document_id": format!("{prefix}-{i}"), "digital": true}),
            )
        })
        .collect()
}

/// A real SMTP server (aiosmtpd, `tests/smtp/server.py`) on a free local port, keeping each
/// message it accepts as an `.eml` file in its own folder. Stopped and removed when dropped.
pub struct SmtpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where it keeps the messages.
    pub dir: PathBuf,
    reject: Vec<String>,
    /// Addresses whose messages the server takes after DATA and never answers.
    stall: Vec<String>,
    /// `user:password` a client must log in with, if any.
    auth: Option<String>,
    /// How long it keeps a message before answering 250, in seconds.
    hold: f64,
    child: Option<std::process::Child>,
}

impl SmtpServer {
    /// Starts a server that refuses the `reject` addresses with a 550.
    pub fn start(reject: &[&str]) -> Self {
        Self::start_with(reject, None, 0.0)
    }

    /// Starts a server that refuses the `reject` addresses, requires a login with `auth`
    /// (`user:password`) if given, and keeps each message `hold` seconds before its 250.
    pub fn start_with(reject: &[&str], auth: Option<&str>, hold: f64) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("bct-smtp-{}", Uuid::new_v4().simple()));
        let mut server = Self {
            port,
            dir,
            reject: reject.iter().map(|a| (*a).to_owned()).collect(),
            stall: Vec::new(),
            auth: auth.map(str::to_owned),
            hold,
            child: None,
        };
        server.resume();
        server
    }

    /// Starts a server that takes a message to one of `addresses` in whole after DATA and never
    /// answers it (see [`SmtpServer::set_stall`]).
    pub fn start_stalling(addresses: &[&str]) -> Self {
        let mut server = Self::down(&[]);
        server.set_stall(addresses);
        server.resume();
        server
    }

    /// A server that is not running yet: its port is reserved by nobody, so connections fail
    /// until [`SmtpServer::resume`].
    pub fn down(reject: &[&str]) -> Self {
        let mut server = Self::start(reject);
        server.pause();
        server
    }

    /// From the next [`SmtpServer::resume`] on, a message to one of `addresses` is taken in
    /// whole after DATA and never answered: the server stalls before its final reply.
    pub fn set_stall(&mut self, addresses: &[&str]) {
        self.stall = addresses.iter().map(|a| (*a).to_owned()).collect();
    }

    /// Stops the server process (the messages stay).
    pub fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the server process again on the same port.
    pub fn resume(&mut self) {
        use std::io::BufRead;
        let mut command = Command::new("python3");
        command
            .arg(repo_root().join("tests/smtp/server.py"))
            .arg(self.port.to_string())
            .arg(&self.dir)
            .stdout(std::process::Stdio::piped());
        for address in &self.reject {
            command.args(["--reject", address]);
        }
        for address in &self.stall {
            command.args(["--stall", address]);
        }
        if let Some(auth) = &self.auth {
            command.args(["--auth", auth]);
        }
        if self.hold > 0.0 {
            command.args(["--hold", &self.hold.to_string()]);
        }
        let mut child = command
            .spawn()
            .expect("python3 runs tests/smtp/server.py (scripts/test installs aiosmtpd)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the SMTP server starts");
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        self.child = Some(child);
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, parsed by Python's email package (`tests/smtp/read.py`).
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        if files.is_empty() {
            return Vec::new();
        }
        let output = Command::new("python3")
            .arg(repo_root().join("tests/smtp/read.py"))
            .args(&files)
            .output()
            .expect("python3 reads the messages");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("read.py prints JSON")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.pause();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// A `procedure.received` event for dossier `dossier`, due at `due`.
pub fn received(dossier: &str, at: &str, channel: &str, due: &str, digitized: bool) -> Value {
    event(
        "procedure.received",
        at,
        serde_json::json!({"dossier_id": dossier, "channel": channel, "due_at": due, "digitized": digitized}),
    )
}

/// A `procedure.resolved` event for dossier `dossier`.
pub fn resolved(dossier: &str, at: &str) -> Value {
    event(
        "procedure.resolved",
        at,
        serde_json::json!({"dossier_id": dossier}),
    )
}
