//! A TCP endpoint in the test's process standing for a Kubernetes Service (CloudNativePG's
//! `baocao-db-rw`): it listens on a port of its own and forwards each connection it accepts to
//! the server it points at when the connection comes. Switching it ([`Endpoint::point_at`])
//! changes where new connections go and leaves established ones alone, as a Service whose
//! endpoints change does; [`Endpoint::cut`] ends the established ones, as the end of the pod
//! behind them would. A connection whose target does not answer is closed at once, as a
//! Service without a ready endpoint refuses it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// The endpoint; it stops accepting and ends its connections when dropped.
pub struct Endpoint {
    port: u16,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

/// What the accepting task and the endpoint's owner share.
struct Shared {
    /// The port on 127.0.0.1 new connections are forwarded to.
    target: AtomicU16,
    /// The forwarding tasks of the connections established so far.
    connections: Mutex<Vec<AbortHandle>>,
    /// How many connections were forwarded to each target port so far.
    forwarded: Mutex<HashMap<u16, usize>>,
}

impl Endpoint {
    /// An endpoint on a free port of 127.0.0.1 that forwards to 127.0.0.1:`target`.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the endpoint");
        let port = listener.local_addr().expect("its address").port();
        let shared = Arc::new(Shared {
            target: AtomicU16::new(target),
            connections: Mutex::new(Vec::new()),
            forwarded: Mutex::new(HashMap::new()),
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Self {
            port,
            shared,
            accepting,
        }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>`: a base for databases' URLs through it.
    pub fn postgres_base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Forwards the connections that come from now on to 127.0.0.1:`target`.
    pub fn point_at(&self, target: u16) {
        self.shared.target.store(target, Ordering::SeqCst);
    }

    /// How many connections were forwarded to 127.0.0.1:`target` so far.
    pub fn forwarded_to(&self, target: u16) -> usize {
        let forwarded = self.shared.forwarded.lock();
        let forwarded = forwarded.unwrap_or_else(|poisoned| poisoned.into_inner());
        forwarded.get(&target).copied().unwrap_or(0)
    }

    /// Ends every connection established so far (both sides see it closed).
    pub fn cut(&self) {
        let mut connections = self.shared.lock();
        for connection in connections.drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AbortHandle>> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Accepts connections until aborted, each forwarded by a task of its own.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        let target = shared.target.load(Ordering::SeqCst);
        *shared
            .forwarded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(target)
            .or_default() += 1;
        let forwarding = tokio::spawn(forward(client, target));
        let mut connections = shared.lock();
        connections.retain(|connection| !connection.is_finished());
        connections.push(forwarding.abort_handle());
    }
}

/// Carries the bytes between `client` and 127.0.0.1:`target` until either side closes.
async fn forward(mut client: TcpStream, target: u16) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    // The database's statements are small: no waiting for a delayed ACK.
    client.set_nodelay(true).ok();
    server.set_nodelay(true).ok();
    tokio::io::copy_bidirectional(&mut client, &mut server)
        .await
        .ok();
}
