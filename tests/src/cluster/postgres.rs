//! A PostgreSQL primary started for the test and its standby made with `pg_basebackup`, on
//! their own ports and folders (never the machine's own cluster), streaming synchronously: the
//! primary's `synchronous_standby_names` names the standby, so a commit returns only once the
//! standby has it (an asynchronous standby would lose commits that ingest has acknowledged).
//! The primary can be killed (SIGKILL to its whole process group, as a lost machine) and the
//! standby promoted.
//!
//! Both run as `postgres` (the server refuses root) with trust authentication on loopback, and
//! without fsync: a killed process loses nothing the kernel has, and the kit is thrown away.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use super::{Scratch, User, free_port, try_signal};
use crate::until_within;

/// Where Debian installs each PostgreSQL version's programs.
const VERSIONS: &str = "/usr/lib/postgresql";

/// The standby's name, as the primary's `synchronous_standby_names` says it.
const STANDBY_NAME: &str = "standby";

/// How long a server may take to start or a standby to catch up.
const START: Duration = Duration::from_secs(60);

/// A primary and its synchronous standby; both stopped when dropped.
pub struct PgPair {
    /// The first primary.
    pub primary: PgServer,
    /// Its standby, until promoted.
    pub standby: PgServer,
}

/// One server.
pub struct PgServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    data: PathBuf,
    /// Its folder for the Unix socket and the log.
    home: PathBuf,
    process: Option<Child>,
}

impl PgPair {
    /// Makes the primary (initdb) and starts it, then the standby (pg_basebackup) and starts
    /// it; returns once the primary streams to the standby synchronously.
    pub async fn start(scratch: &Scratch) -> Self {
        let user = User::lookup("postgres");
        let mut primary = PgServer::new(scratch.folder_for("primary", &user));
        initdb(&user, &primary.data);
        primary.start(&user, STANDBY_NAME).await;
        let mut standby = PgServer::new(scratch.folder_for("standby", &user));
        base_backup(&user, primary.port, &standby.data);
        standby.start(&user, "").await;
        let pair = Self { primary, standby };
        until_within("the standby streaming synchronously", START, || async {
            pair.sync_state().await.as_deref() == Some("sync")
        })
        .await;
        pair
    }

    /// The standby's `sync_state` as the primary reports it (`sync`, `async`…), if connected.
    pub async fn sync_state(&self) -> Option<String> {
        let mut primary = PgConnection::connect(&self.primary.url("postgres"))
            .await
            .ok()?;
        let state: Option<String> = sqlx::query_scalar(
            "select sync_state from pg_stat_replication where application_name = $1",
        )
        .bind(STANDBY_NAME)
        .fetch_optional(&mut primary)
        .await
        .ok()
        .flatten();
        primary.close().await.ok();
        state
    }

    /// Promotes the standby to primary and waits until it takes writes.
    pub async fn promote_standby(&self) {
        let mut standby = PgConnection::connect(&self.standby.url("postgres"))
            .await
            .expect("the standby answers");
        let promoted: bool = sqlx::query_scalar("select pg_promote(true, 60)")
            .fetch_one(&mut standby)
            .await
            .expect("pg_promote");
        assert!(promoted, "the standby was not promoted within 60 s");
        standby.close().await.ok();
    }
}

impl PgServer {
    fn new(home: PathBuf) -> Self {
        Self {
            port: free_port(),
            data: home.join("data"),
            home,
            process: None,
        }
    }

    /// The URL of database `database` on this server, directly (not through an endpoint).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `postgres://postgres@127.0.0.1:<port>`: a base for databases' URLs.
    pub fn base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Kills the server and every process of it (SIGKILL to its process group), as a lost
    /// machine would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            try_signal(-i64::from(process.id()), "KILL");
            process.wait().ok();
        }
    }

    /// Starts the server as `postgres` in a process group of its own, its log in its folder,
    /// with `synchronous_standby_names` (empty for none; the settings are on the command line,
    /// so that the standby's copy of the primary's files does not carry the primary's);
    /// returns once it answers.
    async fn start(&mut self, user: &User, synchronous_standby_names: &str) {
        let log = std::fs::File::create(self.home.join("server.log")).expect("the server's log");
        let port = self.port.to_string();
        let settings = [
            ("port", port.as_str()),
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", &self.home.to_string_lossy()),
            ("fsync", "off"),
            ("synchronous_standby_names", synchronous_standby_names),
            ("max_connections", "100"),
            ("shared_buffers", "32MB"),
        ]
        .map(|(name, value)| format!("{name}={value}"));
        let mut command = user.command(bin().join("postgres"));
        command.arg("-D").arg(&self.data);
        for setting in &settings {
            command.arg("-c").arg(setting);
        }
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("the log twice")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("postgres starts");
        self.process = Some(child);
        let url = self.url("postgres");
        until_within(
            &format!("PostgreSQL answering on {port}"),
            START,
            || async { PgConnection::connect(&url).await.is_ok() },
        )
        .await;
    }
}

impl Drop for PgPair {
    fn drop(&mut self) {
        self.primary.kill();
        self.standby.kill();
    }
}

/// A new cluster in `data`, with trust authentication (local and loopback, replication
/// included) for the test.
fn initdb(user: &User, data: &Path) {
    let status = user
        .command(bin().join("initdb"))
        .arg("-D")
        .arg(data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .arg("--no-sync")
        .stdout(Stdio::null())
        .status()
        .expect("initdb runs");
    assert!(status.success(), "initdb failed");
}

/// A copy of the primary on `port` into `data`, set up to follow it as the synchronous standby
/// (`-R` writes `standby.signal` and `primary_conninfo`, with the standby's name).
fn base_backup(user: &User, port: u16, data: &Path) {
    let status = user
        .command(bin().join("pg_basebackup"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .arg("-D")
        .arg(data)
        .args(["-X", "stream", "-c", "fast", "--no-sync", "-R"])
        .args(["-d", &format!("application_name={STANDBY_NAME}")])
        .stdout(Stdio::null())
        .status()
        .expect("pg_basebackup runs");
    assert!(status.success(), "pg_basebackup failed");
}

/// The programs of the newest PostgreSQL installed (`/usr/lib/postgresql/<version>/bin`).
fn bin() -> PathBuf {
    let versions = std::fs::read_dir(VERSIONS).expect("PostgreSQL is installed");
    versions
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .expect("a PostgreSQL server under /usr/lib/postgresql")
}
