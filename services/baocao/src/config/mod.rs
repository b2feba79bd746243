//! Configuration: `baocao.toml` (units, schedule, broker names, time zone) plus the `BAOCAO_*`
//! environment variables (connection URLs and secrets), loaded once into [`Settings`].
//!
//! A bad file stops start-up with a message naming the file, the line and the field.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use broker::Topology;
use chrono_tz::Tz;
use domain::profile::{IssuerKind, UnitProfile};
use domain::schedule::Schedule;
use domain::{KnownUnits, UnitCode};
use serde::Deserialize;

pub mod auth;
mod checks;
mod locate;

use locate::invalid_at;

/// Everything the binary is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the file was read from.
    pub config_path: PathBuf,
    /// The file's contents.
    pub file: FileConfig,
    /// The environment's.
    pub env: EnvSettings,
}

/// Values from the environment.
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// `BAOCAO_DATABASE_URL`: the PostgreSQL database, created if missing.
    pub database_url: Secret,
    /// `BAOCAO_AMQP_URL`: the RabbitMQ broker, any vhost.
    pub amqp_url: Secret,
    /// `BAOCAO_SMTP_URL`: the mail server; without it emails are written to `mail_dir`.
    pub smtp_url: Option<Secret>,
    /// `BAOCAO_MAIL_DIR`: where `.eml` files go without an SMTP server.
    pub mail_dir: PathBuf,
    /// `BAOCAO_HTTP_ADDR`: the API's listening address.
    pub http_addr: String,
    /// `BAOCAO_ADMIN_TOKEN`: the bearer token of the admin API.
    pub admin_token: Option<Secret>,
}

/// The local default database over TCP.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/baocao";
/// The local default database over PostgreSQL's Unix socket, used when the socket exists: no
/// TCP at all.
pub const DEFAULT_DATABASE_SOCKET_URL: &str =
    "postgres://postgres@localhost/baocao?host=/var/run/postgresql";
/// The local RabbitMQ with its guest account.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

impl EnvSettings {
    /// Reads the `BAOCAO_*` variables, with local defaults.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self {
            database_url: Secret(var("BAOCAO_DATABASE_URL").unwrap_or_else(default_database_url)),
            amqp_url: Secret(var("BAOCAO_AMQP_URL").unwrap_or_else(|| DEFAULT_AMQP_URL.into())),
            smtp_url: var("BAOCAO_SMTP_URL").map(Secret),
            mail_dir: var("BAOCAO_MAIL_DIR")
                .unwrap_or_else(|| "./outbox".into())
                .into(),
            http_addr: var("BAOCAO_HTTP_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            admin_token: var("BAOCAO_ADMIN_TOKEN").map(Secret),
        }
    }
}

fn default_database_url() -> String {
    let socket = Path::new("/var/run/postgresql/.s.PGSQL.5432");
    if socket.exists() {
        DEFAULT_DATABASE_SOCKET_URL
    } else {
        DEFAULT_DATABASE_URL
    }
    .to_owned()
}

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The contents of `baocao.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The deployment's time zone, an IANA name (default `Asia/Ho_Chi_Minh`).
    #[serde(default = "default_time_zone")]
    pub time_zone: TimeZone,
    /// When reports are sent, unless a unit says otherwise (default: the 18th at 08:00).
    #[serde(default)]
    pub schedule: Schedule,
    /// Exchange and queue names (SPEC §3.1).
    #[serde(default)]
    pub broker: Topology,
    /// How the ingest worker batches.
    #[serde(default)]
    pub ingest: IngestTuning,
    /// How the reporter waits for ingest.
    #[serde(default)]
    pub reporter: ReporterTuning,
    /// What HTTP clients may hold: timeouts and caps.
    #[serde(default)]
    pub http: HttpTuning,
    /// A folder of templates overriding the built-in ones (`DIR/<unit>/<name>`, then
    /// `DIR/<name>`), relative to this file. Default: the built-in templates only.
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// The reporting units (wards).
    #[serde(rename = "unit")]
    pub units: Vec<UnitProfile>,
    /// Summaries rolling several units up for the body above them (the province's Department of
    /// Science and Technology, say): the same fields as a unit, and `members`.
    #[serde(rename = "summary", default)]
    pub summaries: Vec<UnitProfile>,
    /// The sources that send the upstream systems' own formats (`[[source]]`, SPEC §3.5).
    #[serde(rename = "source", default)]
    pub sources: Vec<SourceConfig>,
    /// The office's hours, in which a source that sends nothing is shown and alerted as silent
    /// (default: Monday to Friday, 07:30 to 17:00).
    #[serde(default)]
    pub office_hours: domain::feeds::OfficeHours,
    /// People signing in through the province's identity provider, and their roles
    /// (`[auth.oidc]`, `[[auth.role]]`); without it the admin token alone opens the API.
    #[serde(default)]
    pub auth: auth::AuthConfig,
    /// Other titles for the columns of exports that `baocao import` reads (`[import]`, SPEC
    /// §3.6), besides the ones it knows.
    #[serde(default)]
    pub import: ImportTitles,
}

/// `[import]`: for each field, the title its column has in a ward's exports, e.g.
/// `dossiers = { MaHoSo = "Số biên nhận" }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportTitles {
    /// Dossier lists: `MaHoSo`, `MaTTHC`, `NgayTiepNhan`, `NgayHenTra`, `NgayKetThucXuLy`,
    /// `NgayTra`, `TrangThaiHoSo`, `KenhThucHien` or `HoSoCoThanhPhanSoHoa` → a title.
    #[serde(default)]
    pub dossiers: std::collections::BTreeMap<String, String>,
    /// Registers of outgoing documents: `number`, `CodeNumber`, `CodeNotation`, `date` or
    /// `digital` → a title.
    #[serde(default)]
    pub documents: std::collections::BTreeMap<String, String>,
}

/// A source of the upstream systems' own formats: who sends, what, and with which token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Its name, shown on the dashboard with its last body (the same rules as a unit code).
    pub name: String,
    /// The formats it sends: `dvcqg`, `edxml`.
    pub dialects: Vec<domain::feeds::Dialect>,
    /// The environment variable that holds its bearer token (32 characters or more). A missing
    /// one refuses this source's bodies only, and the dashboard says so.
    pub token_env: String,
    /// How long, in minutes, it may send nothing in office hours before it is shown and
    /// alerted as silent (default 120).
    #[serde(default = "default_silent_minutes")]
    pub silent_after_minutes: u32,
}

fn default_silent_minutes() -> u32 {
    120
}

fn default_time_zone() -> TimeZone {
    TimeZone(chrono_tz::Asia::Ho_Chi_Minh)
}

/// An IANA time zone name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TimeZone(pub Tz);

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| format!("'{name}' is not an IANA time zone such as Asia/Ho_Chi_Minh"))
    }
}

/// How the reporter waits for ingest before issuing a due report, and how it emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReporterTuning {
    /// How long a due report may wait, after its sending time, while ingest's queues still hold
    /// messages or ingest has not been heard from, in minutes (0: never wait).
    pub backlog_wait_minutes: u64,
    /// How often the scheduler looks for due reports, in seconds (at least 1).
    pub schedule_every_seconds: u64,
    /// How long one exchange with the mail server may take as a whole (connecting, the
    /// greeting, TLS, the login, each command, the message and the final reply), in seconds:
    /// 1 to 20, so that a stopping process (25 s) ends its exchanges in flight first.
    pub smtp_timeout_seconds: u64,
    /// The wait after an email's first failed attempt, in seconds (at least 1); each further
    /// failure doubles it, up to an hour.
    pub email_retry_seconds: u64,
    /// How long a sender's claim on an email lasts, in seconds (at least twice
    /// `smtp_timeout_seconds`): a claim whose outcome was never recorded (the sender's process
    /// died, or the database failed over as the claim committed) leaves the message `sending`
    /// until then, and another sender then tries it again with the same Message-ID.
    pub outbox_lease_seconds: u64,
}

/// The longest `smtp_timeout_seconds`: within the 25 s a stopping process gives its work.
pub const MAX_SMTP_TIMEOUT_SECONDS: u64 = 20;

impl Default for ReporterTuning {
    fn default() -> Self {
        Self {
            backlog_wait_minutes: 60,
            schedule_every_seconds: 30,
            smtp_timeout_seconds: reporter::smtp::SMTP_TIMEOUT.as_secs(),
            email_retry_seconds: 30,
            outbox_lease_seconds: reporter::sender::LEASE.as_secs(),
        }
    }
}

/// What HTTP clients may hold, one and all together, so that none can stall the server
/// (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpTuning {
    /// How soon a request's head must arrive, in seconds, from the connection's opening or the
    /// end of the previous answer: a half-sent head and an idle connection are closed after it.
    pub header_timeout_seconds: u64,
    /// How soon a request's body must arrive once its head has, in seconds (408 after it).
    pub body_timeout_seconds: u64,
    /// Connections served at once, streams included. Over it a few more are accepted for the
    /// probes and `/metrics` only, and answer 503 to anything else.
    pub max_connections: usize,
    /// Live streams one client (peer address) may hold open (429 over it). Behind a proxy every
    /// browser has the proxy's address.
    pub sse_per_client: usize,
    /// Live streams open at once in all (503 over it); fewer than `max_connections`, so that
    /// streams never take every connection.
    pub sse_total: usize,
}

impl Default for HttpTuning {
    fn default() -> Self {
        let limits = api::Limits::default();
        Self {
            header_timeout_seconds: limits.header_timeout.as_secs(),
            body_timeout_seconds: limits.body_timeout.as_secs(),
            max_connections: limits.max_connections,
            sse_per_client: limits.streams_per_client,
            sse_total: limits.streams_total,
        }
    }
}

impl HttpTuning {
    /// The server's limits.
    pub fn limits(&self) -> api::Limits {
        api::Limits {
            header_timeout: Duration::from_secs(self.header_timeout_seconds),
            body_timeout: Duration::from_secs(self.body_timeout_seconds),
            max_connections: self.max_connections,
            streams_per_client: self.sse_per_client,
            streams_total: self.sse_total,
        }
    }
}

/// How the ingest worker batches, and how much memory it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestTuning {
    /// Unacknowledged deliveries the broker may push to one consumer, at most (1–65535).
    pub prefetch: u16,
    /// The broker's largest message (RabbitMQ's `max_message_size`), in bytes. Bodies over
    /// 1 MiB are dead-lettered as `too_large`, so the broker must let them through up to this.
    pub max_message_bytes: usize,
    /// What one consumer's unacknowledged deliveries may take at most, in bytes: the process
    /// reads no message that would pass 2 × `consumers_per_queue` times this until others are
    /// acknowledged, whatever the prefetch.
    pub prefetch_bytes: usize,
    /// Consumers per queue in one process; each commits its own batches.
    pub consumers_per_queue: usize,
    /// The most events written in one transaction.
    pub batch_size: usize,
    /// How long a batch waits to fill after its first event, in milliseconds.
    pub batch_wait_ms: u64,
    /// How many days the log of dead letters keeps its rows (the dashboard's counts by reason
    /// keep every one); at least 1.
    pub rejection_retention_days: u32,
}

impl Default for IngestTuning {
    fn default() -> Self {
        Self {
            prefetch: 4000,
            max_message_bytes: 2 * 1024 * 1024,
            prefetch_bytes: 256 * 1024 * 1024,
            consumers_per_queue: 2,
            batch_size: 2000,
            batch_wait_ms: 20,
            rejection_retention_days: 90,
        }
    }
}

impl Settings {
    /// Where the report templates come from.
    pub fn template_source(&self) -> reporter::TemplateSource {
        match &self.file.templates {
            Some(dir) => {
                let base = self.config_path.parent().unwrap_or(Path::new("."));
                reporter::TemplateSource::with_overrides(base.join(dir))
            }
            None => reporter::TemplateSource::built_in(),
        }
    }

    /// What the reporter, the API and the command line know of the units. No certificate is
    /// read here: the targets that sign read them ([`reporter::certificates`]), and one that
    /// cannot be used holds that unit's reports only.
    pub fn reporter_config(&self) -> anyhow::Result<reporter::service::ReporterConfig> {
        let base = self.config_path.parent().unwrap_or(Path::new("."));
        let issuers = self.file.issuers();
        let certificates = reporter::certificates::Certificates::new(&issuers, base);
        Ok(reporter::service::ReporterConfig {
            units: self.file.units.clone(),
            summaries: issuers[self.file.units.len()..].to_vec(),
            tz: self.file.tz(),
            schedule: self.file.schedule,
            templates: self.template_source(),
            backlog_wait: Duration::from_secs(self.file.reporter.backlog_wait_minutes * 60),
            schedule_every: Duration::from_secs(self.file.reporter.schedule_every_seconds.max(1)),
            certificates: std::sync::Arc::new(certificates),
        })
    }
}

impl FileConfig {
    /// The configured units, with their agency codes, for the parsers.
    pub fn known_units(&self) -> KnownUnits {
        let agencies = self.units.iter().filter_map(|unit| {
            let agency = unit.agency_code.clone()?;
            Some((agency, unit.code.clone()))
        });
        KnownUnits::new(self.units.iter().map(|unit| unit.code.clone())).with_agencies(agencies)
    }

    /// The configured sources, each with its token from `lookup` (the environment).
    pub fn sources(&self, lookup: impl Fn(&str) -> Option<String>) -> Vec<api::sources::Source> {
        self.sources
            .iter()
            .map(|source| {
                api::sources::Source::new(
                    source.name.clone(),
                    source.dialects.clone(),
                    &source.token_env,
                    lookup(&source.token_env).filter(|token| !token.is_empty()),
                    chrono::TimeDelta::minutes(i64::from(source.silent_after_minutes)),
                )
            })
            .collect()
    }

    /// Every unit, then every summary with its members spelled out (every unit, in
    /// configuration order, when its `members` is left out).
    pub fn issuers(&self) -> Vec<UnitProfile> {
        let every_unit: Vec<UnitCode> = self.units.iter().map(|u| u.code.clone()).collect();
        let summaries = self.summaries.iter().map(|summary| {
            let mut summary = summary.clone();
            summary.members.get_or_insert_with(|| every_unit.clone());
            summary
        });
        self.units.iter().cloned().chain(summaries).collect()
    }

    /// The unit (or summary) with this code.
    pub fn unit(&self, code: &str) -> Option<&UnitProfile> {
        self.units
            .iter()
            .chain(&self.summaries)
            .find(|unit| unit.code.as_str() == code)
    }

    /// Whether `code` is a summary's or (otherwise) a unit's.
    pub fn kind(&self, code: &str) -> IssuerKind {
        if self.summaries.iter().any(|s| s.code.as_str() == code) {
            IssuerKind::Summary
        } else {
            IssuerKind::Unit
        }
    }

    /// The time zone.
    pub fn tz(&self) -> Tz {
        self.time_zone.0
    }

    /// The ingest worker's batch wait.
    pub fn batch_wait(&self) -> Duration {
        Duration::from_millis(self.ingest.batch_wait_ms)
    }
}

/// A configuration file that could not be used, with where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path} (set BAOCAO_CONFIG to its path)")]
    Unreadable {
        /// The path tried.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}:{line}:{column}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted name of the field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The path of the configuration file: `BAOCAO_CONFIG`, or `./baocao.toml`.
pub fn config_path() -> PathBuf {
    std::env::var_os("BAOCAO_CONFIG")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("baocao.toml"))
}

impl Settings {
    /// Loads the file named by `BAOCAO_CONFIG` and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let path = config_path();
        let file = load_file(&path)?;
        Ok(Self {
            config_path: path,
            file,
            env: EnvSettings::from_env(),
        })
    }
}

/// Reads and checks one configuration file.
pub fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    parse_file(path, &text)
}

/// Parses and checks the text of a configuration file read from `path`.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let config: FileConfig = toml::from_str(text).map_err(|error| {
        let offset = error.span().map(|span| span.start).unwrap_or(0);
        invalid_at(path, text, offset, error.message())
    })?;
    checks::check(path, text, &config)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../../baocao.toml");

    fn error_of(text: &str) -> String {
        parse_file(Path::new("baocao.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_shipped_file_configures_the_reference_ward() {
        let config = parse_file(Path::new("baocao.toml"), SHIPPED).unwrap();
        let unit = config.unit("tri-qua").unwrap();
        assert_eq!(unit.signer.name, "Nguyễn Chính Bảo");
        assert_eq!(unit.recipients.len(), 4);
        assert_eq!(config.tz(), chrono_tz::Asia::Ho_Chi_Minh);
        assert_eq!(config.schedule.send_day(), 18);
    }

    #[test]
    fn a_wrongly_typed_value_names_file_line_and_field() {
        let text = SHIPPED.replace("send_day = 18", "send_day = \"18\"");
        let line = text
            .lines()
            .position(|l| l.starts_with("send_day"))
            .unwrap()
            + 1;
        let message = error_of(&text);
        assert!(
            message.starts_with(&format!("baocao.toml:{line}:")),
            "{message}"
        );
        assert!(message.contains("field `schedule.send_day`"), "{message}");
    }

    #[test]
    fn a_value_out_of_range_names_its_field() {
        let message = error_of(&SHIPPED.replace("send_day = 18", "send_day = 31"));
        assert!(
            message.contains("field `schedule.send_day`") && message.contains("15 to 28"),
            "{message}"
        );
        let message = error_of(&SHIPPED.replace(
            "time_zone = \"Asia/Ho_Chi_Minh\"",
            "time_zone = \"Asia/Hanoi2\"",
        ));
        assert!(
            message.contains("field `time_zone`") && message.contains("IANA"),
            "{message}"
        );
        let message = error_of(&SHIPPED.replace("code = \"tri-qua\"", "code = \"Trí Quả\""));
        assert!(message.contains("field `unit.code`"), "{message}");
    }

    #[test]
    fn a_misspelt_or_missing_field_is_named() {
        let message = error_of(
            &SHIPPED.replace("name = \"Nguyễn Chính Bảo\"", "nmae = \"Nguyễn Chính Bảo\""),
        );
        assert!(
            message.contains("unit.signer") && message.contains("nmae"),
            "{message}"
        );
        let message = error_of(&SHIPPED.replace(
            "addresses = [\"vanthu.sokhcn@example.gov.vn\"]",
            "addresses = [\"vanthu\"]",
        ));
        assert!(
            message.contains("field `unit.recipients.addresses`"),
            "{message}"
        );
    }

    #[test]
    fn an_smtp_bound_beyond_the_stop_a_zero_retry_wait_or_a_short_lease_names_its_field() {
        let text = format!("{SHIPPED}\n[reporter]\nsmtp_timeout_seconds = 21\n");
        let message = error_of(&text);
        assert!(
            message.contains("field `reporter.smtp_timeout_seconds`")
                && message.contains("1 to 20"),
            "{message}"
        );
        let text = format!("{SHIPPED}\n[reporter]\nemail_retry_seconds = 0\n");
        let message = error_of(&text);
        assert!(
            message.contains("field `reporter.email_retry_seconds`"),
            "{message}"
        );
        let text = format!("{SHIPPED}\n[reporter]\noutbox_lease_seconds = 39\n");
        let message = error_of(&text);
        assert!(
            message.contains("field `reporter.outbox_lease_seconds`") && message.contains("40"),
            "{message}"
        );
        let text =
            format!("{SHIPPED}\n[reporter]\nsmtp_timeout_seconds = 2\noutbox_lease_seconds = 4\n");
        let config = parse_file(Path::new("baocao.toml"), &text).unwrap();
        assert_eq!(config.reporter.smtp_timeout_seconds, 2);
        assert_eq!(config.reporter.email_retry_seconds, 30);
        assert_eq!(config.reporter.outbox_lease_seconds, 4);
    }

    #[test]
    fn a_log_of_dead_letters_kept_no_day_names_its_field() {
        let text = SHIPPED.replace(
            "rejection_retention_days = 90",
            "rejection_retention_days = 0",
        );
        let message = error_of(&text);
        assert!(
            message.contains("field `ingest.rejection_retention_days`")
                && message.contains("at least 1"),
            "{message}"
        );
    }

    #[test]
    fn an_agency_code_is_well_formed_and_one_units_only() {
        let message = error_of(&SHIPPED.replace("000.00.12.H55", "12.H55"));
        assert!(
            message.contains("field `unit.agency_code`") && message.contains("000.00.12.H55"),
            "{message}"
        );
        let twice = second_unit("an-phu", |unit| {
            unit.replace("000.00.13.H55", "000.00.12.H55")
        });
        let message = error_of(&twice);
        assert!(message.contains("is unit 'tri-qua''s already"), "{message}");
    }

    #[test]
    fn a_source_names_its_formats_and_a_variable_for_its_token() {
        let source = |body: &str| format!("{SHIPPED}\n[[source]]\n{body}\n");
        let good = source(
            "name = \"mot-cua\"\ndialects = [\"dvcqg\"]\ntoken_env = \"BAOCAO_SOURCE_TOKEN\"",
        );
        let config = parse_file(Path::new("baocao.toml"), &good).unwrap();
        assert_eq!(config.sources[0].silent_after_minutes, 120);
        for (body, field, words) in [
            (
                "name = \"Một Cửa\"\ndialects = [\"dvcqg\"]\ntoken_env = \"T\"",
                "source.name",
                "lowercase",
            ),
            (
                "name = \"mot-cua\"\ndialects = []\ntoken_env = \"T\"",
                "source.dialects",
                "no format",
            ),
            (
                "name = \"mot-cua\"\ndialects = [\"dvcqg\"]\ntoken_env = \"my token\"",
                "source.token_env",
                "environment variable",
            ),
        ] {
            let message = error_of(&source(body));
            let located = format!("field `{field}`");
            assert!(
                message.contains(words) && message.contains(&located),
                "{message}"
            );
        }
        let message = error_of(&source(
            "name = \"x\"\ndialects = [\"soap\"]\ntoken_env = \"T\"",
        ));
        assert!(message.contains("soap"), "{message}");
    }

    #[test]
    fn a_unit_configured_twice_is_refused() {
        let second = SHIPPED.split("[[unit]]").nth(1).unwrap();
        let message = error_of(&format!("{SHIPPED}\n[[unit]]{second}"));
        assert!(message.contains("configured twice"), "{message}");
    }

    /// The shipped unit again as `code`, with `edit` applied to its text.
    fn second_unit(code: &str, edit: impl Fn(&str) -> String) -> String {
        let unit = SHIPPED.split("[[unit]]").nth(1).unwrap();
        let unit = unit
            .replace("code = \"tri-qua\"", &format!("code = \"{code}\""))
            .replace("000.00.12.H55", "000.00.13.H55");
        format!("{SHIPPED}\n[[unit]]{}", edit(&unit))
    }

    #[test]
    fn a_control_character_in_a_units_text_names_that_units_line() {
        let text = second_unit("an-phu", |unit| {
            unit.replace("name = \"Nguyễn Chính Bảo\"", "name = \"Nguyễn\\u001b[2J\"")
        });
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("name = "))
            .nth(1)
            .unwrap()
            .0
            + 1;
        let message = error_of(&text);
        assert!(
            message.starts_with(&format!("baocao.toml:{line}:")),
            "{message}"
        );
        assert!(
            message.contains("unit 'an-phu'") && message.contains("U+001B"),
            "{message}"
        );
        let message = error_of(&second_unit("an-phu", |unit| {
            unit.replacen("\"Hạn chế", "\"Hạn\\u0007 chế", 1)
                .replace("\"Hệ thống máy móc", "\"Hệ\\u0007 thống máy móc")
        }));
        assert!(
            message.contains("field `unit.narrative") && message.contains("U+0007"),
            "{message}"
        );
    }

    #[test]
    fn a_sender_that_does_not_parse_stops_start_up() {
        let text = second_unit("an-phu", |unit| {
            unit.replace(
                "mail_from = \"UBND phường Trí Quả <vanthu.triqua@example.gov.vn>\"",
                "mail_from = \"UBND phường An Phú vanthu.anphu@example\"",
            )
        });
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("mail_from"))
            .nth(1)
            .unwrap()
            .0
            + 1;
        let message = error_of(&text);
        assert!(
            message.starts_with(&format!("baocao.toml:{line}:")),
            "{message}"
        );
        assert!(message.contains("field `unit.mail_from`"), "{message}");
        assert!(message.contains("not a sender"), "{message}");
    }

    proptest::proptest! {
        /// Any text at all gives a configuration or an error naming the file and a line,
        /// never a panic.
        #[test]
        fn any_text_gives_a_configuration_or_a_located_error(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Err(error) = parse_file(Path::new("baocao.toml"), &text) {
                proptest::prop_assert!(error.to_string().starts_with("baocao.toml:"), "{error}");
            }
        }

        /// The shipped file with any stretch of it replaced by any text likewise.
        #[test]
        fn any_edit_of_the_shipped_file_gives_a_configuration_or_a_located_error(
            start in 0usize..8000, length in 0usize..64, insert in ".{0,32}",
        ) {
            let start = (0..=start.min(SHIPPED.len())).rev().find(|i| SHIPPED.is_char_boundary(*i)).unwrap_or(0);
            let end = (start + length).min(SHIPPED.len());
            let end = (end..=SHIPPED.len()).find(|i| SHIPPED.is_char_boundary(*i)).unwrap_or(SHIPPED.len());
            let text = format!("{}{insert}{}", &SHIPPED[..start], &SHIPPED[end..]);
            if let Err(error) = parse_file(Path::new("baocao.toml"), &text) {
                proptest::prop_assert!(error.to_string().starts_with("baocao.toml:"), "{error}");
            }
        }
    }

    #[test]
    fn http_limits_have_defaults_and_are_checked() {
        let config = parse_file(Path::new("baocao.toml"), SHIPPED).unwrap();
        assert_eq!(config.http.limits(), api::Limits::default());
        let with = |section: &str| error_of(&format!("{SHIPPED}\n[http]\n{section}\n"));
        let message = with("sse_total = 600");
        assert!(
            message.contains("field `http.sse_total`") && message.contains("max_connections"),
            "{message}"
        );
        let message = with("sse_per_client = 0");
        assert!(message.contains("field `http.sse_per_client`"), "{message}");
        let message = with("header_timeout_seconds = 0");
        assert!(
            message.contains("field `http.header_timeout_seconds`"),
            "{message}"
        );
        let message = with("sse_per_client = 300");
        assert!(message.contains("sse_total"), "{message}");
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("amqp://guest:hunter2@host");
        assert_eq!(format!("{secret:?}"), "***");
    }
}
