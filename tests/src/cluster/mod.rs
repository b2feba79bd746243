//! The test cluster kit (SPEC §11): what production runs replicated, started on this one machine
//! from the installed servers, for the fault tests (`tests/tests/e2e/cluster.rs`) and for a
//! person (`scripts/cluster`). No container engine: the servers are processes.
//!
//! - [`rabbit`]: three RabbitMQ nodes clustered; baocao's quorum queues get a member on each.
//! - [`postgres`]: a PostgreSQL primary and its synchronous streaming standby, promotable.
//! - [`endpoint`]: a TCP endpoint in the test's process that forwards to one server and is
//!   switched the way a Kubernetes Service follows the primary.
//! - [`flow`]: events published steadily through whichever node answers, each confirmed one
//!   known, for counting exactly what a fault did.
//! - [`console`]: all of it for a person, driven from a terminal (`scripts/cluster`).
//!
//! Everything lives in one [`Scratch`] folder under the system's temporary folder and goes with
//! it. The servers refuse to run as root, so each runs as its own user (`rabbitmq`,
//! `postgres`) through `setpriv`, which runs it in place (the child's pid is the server's, to
//! signal) with `--pdeathsig KILL`: no server outlives a test process that is killed, and the
//! folders such a process leaves are removed by the next kit.

pub mod console;
pub mod endpoint;
pub mod flow;
pub mod postgres;
pub mod rabbit;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The prefix of every kit's folder in the system's temporary folder.
const SCRATCH_PREFIX: &str = "bct-cluster-";

/// One kit's folder, removed when dropped (after the servers in it are stopped: drop them
/// first).
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new folder `bct-cluster-<pid>-<random>`; the folders of kits whose process has died
    /// are removed first.
    pub fn new() -> Self {
        remove_abandoned();
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let path =
            std::env::temp_dir().join(format!("{SCRATCH_PREFIX}{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&path).expect("the kit's folder");
        // The servers' users must reach their own folders inside it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("the kit's folder opened to the servers' users");
        Self { path }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A folder `name` inside, owned by `user`.
    pub fn folder_for(&self, name: &str, user: &User) -> PathBuf {
        let folder = self.path.join(name);
        std::fs::create_dir_all(&folder).expect("a server's folder");
        std::os::unix::fs::chown(&folder, Some(user.uid), Some(user.gid))
            .expect("the folder given to the server's user");
        folder
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.path).ok();
    }
}

/// Removes the folders of kits whose test process no longer runs (killed before it could clean
/// up; its servers died with it).
fn remove_abandoned() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(SCRATCH_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// A system user a server runs as.
#[derive(Debug, Clone)]
pub struct User {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Its home folder (RabbitMQ's holds the Erlang cookie the nodes share).
    pub home: PathBuf,
}

impl User {
    /// The user `name`, from `/etc/passwd`.
    pub fn lookup(name: &str) -> Self {
        let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
        let fields: Vec<&str> = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&name))
            .unwrap_or_else(|| panic!("no user {name}: is its server installed?"));
        Self {
            name: name.to_owned(),
            uid: fields[2].parse().expect("a uid"),
            gid: fields[3].parse().expect("a gid"),
            home: PathBuf::from(fields[5]),
        }
    }

    /// `program` run as this user, in place, killed if this process dies (spawn it from a
    /// thread that lives as long as it should: the signal follows the spawning thread).
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid",
                &self.name,
                "--regid",
                &self.name,
                "--init-groups",
            ])
            .args(["--pdeathsig", "KILL", "--"])
            .arg(program.as_ref())
            .env("HOME", &self.home)
            .current_dir(&self.home);
        command
    }
}

/// A port no one listens on, below the kernel's ephemeral range (so that no outgoing
/// connection takes it meanwhile) and low enough for RabbitMQ, whose command line listens on
/// its distribution port plus 10,000.
pub fn free_port() -> u16 {
    loop {
        let port = 40_000 + fastrand::u16(..10_000);
        let free = std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
}

/// Sends `signal` (`KILL`, `STOP`, `CONT`) to the process `pid`, or to its process group when
/// `pid` is negative.
pub fn signal(pid: i64, signal: &str) {
    assert!(try_signal(pid, signal), "kill -{signal} {pid}");
}

/// As [`signal`], saying whether it was sent.
pub fn try_signal(pid: i64, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(pid.to_string())
        .status()
        .is_ok_and(|status| status.success())
}
