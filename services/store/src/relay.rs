//! A relay that gives PostgreSQL connections over TCP their TCP_NODELAY.
//!
//! sqlx 0.9.0 opens its TCP sockets without TCP_NODELAY (transact-rs/sqlx#4335, fixed upstream
//! after the release), and offers no way to set it. A statement's messages then wait for the
//! server's delayed ACK, about 40 ms each time, and ingest over TCP runs about four times slower
//! than over the local socket. So a pool that would connect over TCP connects instead to a Unix
//! socket in a private folder of this process, and the relay carries each connection on to the
//! server over its own TCP socket, with TCP_NODELAY set. The bytes pass unchanged: a TLS session
//! is negotiated with the server through the relay exactly as it would be directly, for the
//! same host name.
//!
//! The relay runs on the runtime that first routes a pool to its server (the process's main
//! runtime), so that copying a statement's bytes is a task switch on a thread that is already
//! running, not the wake-up of another thread, which on a saturated 2-core machine waits for a
//! core (a relay on a thread of its own measured 0.62 to 1.03 of the socket's speed over four
//! benchmark runs; this one 0.92 and 0.95 in two). A relay ends with its runtime, and the next pool
//! routed to its server starts another; without a runtime, one runs on a thread of its own. A
//! relay's folder is removed when the next process starts a relay and finds the one it belonged
//! to gone. [`set_enabled`]`(false)` turns it off (`BAOCAO_DATABASE_RELAY=off`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use sqlx::postgres::PgConnectOptions;
use tokio::io::copy_bidirectional_with_sizes;
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::runtime::Handle;

/// The copy buffers, each way: a batch of events is written in pieces of this size.
const BUFFER: usize = 64 * 1024;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// The prefix of the relays' folders in the temporary directory; the process id follows.
const FOLDER_PREFIX: &str = "baocao-pg-";

/// Whether pools that would connect over TCP go through a relay (the default) or straight to
/// the server without TCP_NODELAY.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// A running relay: its socket's folder, and whether its runtime still runs it.
struct Relay {
    folder: PathBuf,
    alive: Arc<AtomicBool>,
}

/// The relays of this process, by server.
fn relays() -> &'static Mutex<HashMap<(String, u16), Relay>> {
    static RELAYS: OnceLock<Mutex<HashMap<(String, u16), Relay>>> = OnceLock::new();
    RELAYS.get_or_init(Default::default)
}

/// Clears its flag when the relay's task ends, however it ends (its runtime shut down).
struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A runtime on a thread that lives as long as the process, for relays routed outside any
/// runtime; `None` if the thread could not be started.
fn own_runtime() -> Option<&'static Handle> {
    static RUNTIME: OnceLock<Option<Handle>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let (sender, receiver) = std::sync::mpsc::channel();
            let started = std::thread::Builder::new()
                .name("baocao-pg-relay".into())
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    match runtime {
                        Ok(runtime) => {
                            sender.send(Some(runtime.handle().clone())).ok();
                            runtime.block_on(std::future::pending::<()>());
                        }
                        Err(_) => {
                            sender.send(None).ok();
                        }
                    }
                });
            started.ok().and_then(|_| receiver.recv().ok().flatten())
        })
        .as_ref()
}

/// `options` routed through this process's relay to their server, when they name a TCP server
/// and the relay is on; otherwise as they are.
pub fn route(options: PgConnectOptions) -> PgConnectOptions {
    let host = options.get_host().to_owned();
    if !ENABLED.load(Ordering::Relaxed) || options.get_socket().is_some() || host.starts_with('/') {
        return options;
    }
    let port = options.get_port();
    let mut relays = relays().lock().unwrap_or_else(|e| e.into_inner());
    let key = (host.clone(), port);
    if let Some(relay) = relays.get(&key)
        && relay.alive.load(Ordering::Acquire)
    {
        return options.socket(&relay.folder);
    }
    match start(&host, port) {
        Ok(relay) => {
            let folder = relay.folder.clone();
            relays.insert(key, relay);
            options.socket(folder)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot start the TCP_NODELAY relay; connecting directly");
            options
        }
    }
}

/// Listens on `<folder>/.s.PGSQL.<port>` (the name sqlx looks for in a socket folder), in a new
/// folder only this user may enter, on the current runtime or else the relay's own.
fn start(host: &str, port: u16) -> std::io::Result<Relay> {
    use std::os::unix::fs::DirBuilderExt;
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let runtime = match Handle::try_current() {
        Ok(current) => current,
        Err(_) => own_runtime()
            .cloned()
            .ok_or_else(|| std::io::Error::other("no thread for the relay"))?,
    };
    sweep();
    let folder = std::env::temp_dir().join(format!(
        "{FOLDER_PREFIX}{}-{}",
        std::process::id(),
        STARTED.fetch_add(1, Ordering::Relaxed)
    ));
    if folder.exists() {
        std::fs::remove_dir_all(&folder)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(&folder)?;
    let listener = std::os::unix::net::UnixListener::bind(folder.join(format!(".s.PGSQL.{port}")))?;
    listener.set_nonblocking(true)?;
    let listener = {
        let _entered = runtime.enter();
        UnixListener::from_std(listener)?
    };
    let alive = Arc::new(AtomicBool::new(true));
    let guard = AliveGuard(alive.clone());
    let host = host.to_owned();
    runtime.spawn(async move {
        let _guard = guard;
        accept(listener, host, port).await;
    });
    Ok(Relay { folder, alive })
}

/// Removes the folders of relays whose process has ended.
fn sweep() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(FOLDER_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
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
