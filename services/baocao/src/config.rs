//! Configuration: `baocao.toml` (units, schedule, broker names, time zone) plus the `BAOCAO_*`
//! environment variables (connection URLs and secrets), loaded once into [`Settings`].
//!
//! A bad file stops start-up with a message naming the file, the line and the field.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use broker::Topology;
use chrono_tz::Tz;
use domain::KnownUnits;
use domain::profile::UnitProfile;
use domain::schedule::Schedule;
use serde::Deserialize;

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
/// The local default database over PostgreSQL's Unix socket, used when the socket exists:
/// sqlx 0.9.0 leaves Nagle's algorithm on for TCP, which stalls large batches for 40 ms each
/// (transact-rs/sqlx#4335, fixed upstream after 0.9.0).
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
    /// A folder of templates overriding the built-in ones (`DIR/<unit>/<name>`, then
    /// `DIR/<name>`), relative to this file. Default: the built-in templates only.
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// The reporting units (wards).
    #[serde(rename = "unit")]
    pub units: Vec<UnitProfile>,
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

/// How the ingest worker batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestTuning {
    /// Unacknowledged deliveries the broker may push to one consumer (1–65535).
    pub prefetch: u16,
    /// Consumers per queue in one process; each commits its own batches.
    pub consumers_per_queue: usize,
    /// The most events written in one transaction.
    pub batch_size: usize,
    /// How long a batch waits to fill after its first event, in milliseconds.
    pub batch_wait_ms: u64,
}

impl Default for IngestTuning {
    fn default() -> Self {
        Self {
            prefetch: 2000,
            consumers_per_queue: 2,
            batch_size: 1000,
            batch_wait_ms: 20,
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

    /// What the reporter, the API and the command line know of the units.
    pub fn reporter_config(&self) -> reporter::service::ReporterConfig {
        reporter::service::ReporterConfig {
            units: self.file.units.clone(),
            tz: self.file.tz(),
            schedule: self.file.schedule,
            templates: self.template_source(),
        }
    }
}

impl FileConfig {
    /// The configured units, for the parser.
    pub fn known_units(&self) -> KnownUnits {
        KnownUnits::new(self.units.iter().map(|unit| unit.code.clone()))
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Option<&UnitProfile> {
        self.units.iter().find(|unit| unit.code.as_str() == code)
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
    check_units(path, text, &config)?;
    Ok(config)
}

fn check_units(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    let offset_of = |needle: &str| text.find(needle).unwrap_or(0);
    if config.units.is_empty() {
        return Err(invalid_at(
            path,
            text,
            text.len(),
            "at least one [[unit]] is required",
        ));
    }
    for (index, unit) in config.units.iter().enumerate() {
        let code = unit.code.as_str();
        if config.units[..index]
            .iter()
            .any(|other| other.code == unit.code)
        {
            let second = text
                .match_indices(&format!("\"{code}\""))
                .nth(1)
                .map_or(0, |(at, _)| at);
            return Err(invalid_at(
                path,
                text,
                second,
                &format!("unit '{code}' is configured twice"),
            ));
        }
        if config.ingest.prefetch == 0 {
            return Err(invalid_at(
                path,
                text,
                offset_of("prefetch"),
                "prefetch must be at least 1 (0 would mean unlimited)",
            ));
        }
        if unit.numbering.symbol.trim().is_empty() {
            return Err(invalid_at(
                path,
                text,
                offset_of("symbol"),
                "the number symbol must not be empty",
            ));
        }
    }
    Ok(())
}

/// An [`ConfigError::Invalid`] at byte `offset` of `text`, naming the field written there.
fn invalid_at(path: &Path, text: &str, offset: usize, message: &str) -> ConfigError {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        column,
        field: field_at(text, offset),
        message: message.trim().to_owned(),
    }
}

/// The dotted name of the key on the line at `offset` (or of the table it opens), within the
/// nearest table header above it: `unit.signer.name`, `schedule.send_day`.
fn field_at(text: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut key = String::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if line_start > offset {
            break;
        }
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            table = header
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            key.clear();
        } else if let Some((name, _)) = trimmed.split_once('=').filter(|(name, _)| is_key(name)) {
            key = name.trim().to_owned();
        }
        line_start += line.len();
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

fn is_key(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../baocao.toml");

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
    fn a_unit_configured_twice_is_refused() {
        let second = SHIPPED.split("[[unit]]").nth(1).unwrap();
        let message = error_of(&format!("{SHIPPED}\n[[unit]]{second}"));
        assert!(message.contains("configured twice"), "{message}");
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("amqp://guest:hunter2@host");
        assert_eq!(format!("{secret:?}"), "***");
    }
}
