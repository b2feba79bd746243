//! A relay that gives PostgreSQL connections over TCP their TCP_NODELAY.
//!
//! sqlx 0.9.0 opens its TCP sockets without TCP_NODELAY (launchbadge/sqlx#4335, fixed upstream
//! after the release), and offers no way to set it. A statement's messages then wait for the
//! server's delayed ACK, about 40 ms each time, and ingest over TCP runs about four times slower
//! than over the local socket. So a pool that would connect over TCP connects instead to a Unix
//! socket in a private folder of this process, and the relay carries each connection on to the
//! server over its own TCP socket, with TCP_NODELAY set. The bytes pass unchanged: a TLS session
//! is negotiated with the server through the relay exactly as it would be directly, for the
//! same host name.
//!
//! One relay serves every pool of a runtime for one server; it ends with its runtime and
//! removes its folder. [`set_enabled`]`(false)` turns it off (`BAOCAO_DATABASE_RELAY=off`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::postgres::PgConnectOptions;
use tokio::io::copy_bidirectional_with_sizes;
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// The copy buffers, each way: a batch of events is written in pieces of this size.
const BUFFER: usize = 64 * 1024;

static ENABLED: AtomicBool = AtomicBool::new(true);
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Whether pools that would connect over TCP go through a relay (the default) or straight to
/// the server without TCP_NODELAY.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// A running relay: where its socket is, and its accept loop.
struct Running {
    dir: PathBuf,
    task: JoinHandle<()>,
}

fn relays() -> &'static Mutex<HashMap<(String, u16), Running>> {
    static RELAYS: OnceLock<Mutex<HashMap<(String, u16), Running>>> = OnceLock::new();
    RELAYS.get_or_init(Default::default)
}

/// `options` routed through this process's relay to their server, when they name a TCP server
/// and the relay is on; otherwise as they are. Must be called within a Tokio runtime.
pub fn route(options: PgConnectOptions) -> PgConnectOptions {
    let host = options.get_host().to_owned();
    if !ENABLED.load(Ordering::Relaxed) || options.get_socket().is_some() || host.starts_with('/') {
        return options;
    }
    let port = options.get_port();
    let mut relays = relays().lock().unwrap_or_else(|e| e.into_inner());
    let key = (host.clone(), port);
    // A relay whose runtime has ended (a test's, say) is replaced.
    if let Some(running) = relays.get(&key).filter(|r| !r.task.is_finished()) {
        return options.socket(&running.dir);
    }
    match start(&host, port) {
        Ok(running) => {
            let dir = running.dir.clone();
            relays.insert(key, running);
            options.socket(dir)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot start the TCP_NODELAY relay; connecting directly");
            options
        }
    }
}

/// Listens on `<dir>/.s.PGSQL.<port>` (the name sqlx looks for in a socket folder) in a new
/// folder only this user may enter.
fn start(host: &str, port: u16) -> std::io::Result<Running> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!(
        "baocao-pg-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let listener = std::os::unix::net::UnixListener::bind(dir.join(format!(".s.PGSQL.{port}")))?;
    listener.set_nonblocking(true)?;
    let listener = UnixListener::from_std(listener)?;
    let folder = Folder(dir.clone());
    let host = host.to_owned();
    let task = tokio::spawn(async move {
        let _folder = folder; // removed when the loop ends, with its runtime
        accept(listener, host, port).await;
    });
    Ok(Running { dir, task })
}

async fn accept(listener: UnixListener, host: String, port: u16) {
    let mut failing = false;
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let host = host.clone();
                tokio::spawn(async move {
                    if let Err(error) = carry(client, &host, port).await {
                        tracing::debug!(%error, "a relayed database connection ended");
                    }
                });
                failing = false;
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "the TCP_NODELAY relay cannot accept a connection");
                }
                failing = true;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Connects to the server with TCP_NODELAY and copies both ways until either side closes. A
/// server that cannot be reached closes the client's socket, which sqlx reports as a failed
/// connection and retries as it would a direct one.
async fn carry(mut client: UnixStream, host: &str, port: u16) -> std::io::Result<()> {
    let mut server = TcpStream::connect((host, port))
        .await
        .inspect_err(|error| {
            tracing::warn!(%error, host, port, "the relay cannot reach PostgreSQL");
        })?;
    server.set_nodelay(true)?;
    copy_bidirectional_with_sizes(&mut client, &mut server, BUFFER, BUFFER).await?;
    Ok(())
}

/// A folder removed when dropped.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        remove(&self.0);
    }
}

fn remove(dir: &Path) {
    std::fs::remove_dir_all(dir).ok();
}
