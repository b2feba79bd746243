//! The HTTP server: hyper's HTTP/1.1 connections under an accept loop of our own, so that no
//! client can hold what the others need.
//!
//! - A request's head must arrive within [`Limits::header_timeout`], counted from the
//!   connection's opening or from the end of the previous answer: a half-sent head and an idle
//!   keep-alive connection are closed after it alike (hyper's `header_read_timeout`).
//! - A request's body must arrive within [`Limits::body_timeout`] ([`read_body_within`]).
//! - At most [`Limits::max_connections`] connections are served at once. Over the cap,
//!   [`PROBE_RESERVE`] more are accepted that answer only `/healthz`, `/readyz` and `/metrics`
//!   (which read cached looks and cost nothing), and 503 to anything else, one request each
//!   with a head within [`RESERVE_HEADER_TIMEOUT`]; beyond those a connection is closed at
//!   once. So the kubelet's probes and Prometheus still get through while the dashboard's
//!   clients fill the cap.
//! - Live streams have caps of their own ([`crate::streams`]).
//!
//! At the stop, accepting ends, idle connections are closed and requests in flight finish
//! (streams end by themselves); [`crate::serve`] bounds the wait.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use lifecycle::{Shutdown, Streak};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::routes::ApiError;

/// Connections accepted beyond [`Limits::max_connections`] for the probes and `/metrics`.
pub const PROBE_RESERVE: usize = 32;
/// How soon a connection over the cap must send its request's head.
pub const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest request body read (the same as axum's default limit of its extractors).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// What one client may hold, and all of them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How soon a request's head must arrive, from the connection's opening or the end of the
    /// previous answer (so also how long an idle connection is kept).
    pub header_timeout: Duration,
    /// How soon a request's body must arrive once its head has.
    pub body_timeout: Duration,
    /// Connections served at once (streams included).
    pub max_connections: usize,
    /// Live streams one client (peer address) may hold open.
    pub streams_per_client: usize,
    /// Live streams open at once in all.
    pub streams_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
            streams_per_client: 16,
            streams_total: 256,
        }
    }
}

/// What a connection is served: everything, or (over the cap) the probes only.
pub(crate) struct Routers {
    /// Within the cap.
    pub full: Router,
    /// Over the cap, within [`PROBE_RESERVE`].
    pub reserve: Router,
}

/// Accepts connections on `listener` and serves them until `shutdown`, then waits for the open
/// ones to finish.
pub(crate) async fn accept_until(
    listener: TcpListener,
    routers: Routers,
    limits: Limits,
    shutdown: Shutdown,
) {
    let within = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(PROBE_RESERVE));
    let mut connections = JoinSet::new();
    let mut streak = Streak::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: wait a little rather than spin.
                if streak.failed() {
                    tracing::warn!(%error, "cannot accept HTTP connections");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if streak.succeeded() {
            tracing::info!("accepting HTTP connections again");
        }
        let served = if let Ok(permit) = Arc::clone(&within).try_acquire_owned() {
            Served::within(&routers, limits, permit)
        } else if let Ok(permit) = Arc::clone(&reserve).try_acquire_owned() {
            Served::reserve(&routers, permit)
        } else {
            metrics::global().count_http_refused("connections");
            continue;
        };
        connections.spawn(served.serve(stream, peer, shutdown.clone()));
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// How one accepted connection is served.
struct Served {
    router: Router,
    header_timeout: Duration,
    keep_alive: bool,
    _permit: OwnedSemaphorePermit,
}

impl Served {
    fn within(routers: &Routers, limits: Limits, permit: OwnedSemaphorePermit) -> Self {
        Self {
            router: routers.full.clone(),
            header_timeout: limits.header_timeout,
            keep_alive: true,
            _permit: permit,
        }
    }

    fn reserve(routers: &Routers, permit: OwnedSemaphorePermit) -> Self {
        Self {
            router: routers.reserve.clone(),
            header_timeout: RESERVE_HEADER_TIMEOUT,
            keep_alive: false,
            _permit: permit,
        }
    }

    /// Serves `stream` from `peer` until it closes, or gracefully from `shutdown` on.
    async fn serve(self, stream: TcpStream, peer: SocketAddr, shutdown: Shutdown) {
        let _open = OpenConnection::new();
        // Small answers go out at once rather than waiting for the client's ACK.
        stream.set_nodelay(true).ok();
        let router = self.router;
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .keep_alive(self.keep_alive);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = shutdown.wait() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = ended {
            tracing::debug!(%peer, %error, "HTTP connection ended");
        }
    }
}

/// Counts one open connection for as long as it lives.
struct OpenConnection;

impl OpenConnection {
    fn new() -> Self {
        metrics::global().http_connections.inc();
        Self
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::global().http_connections.dec();
    }
}

/// Reads a request's whole body within `limit` before the handler sees it, so that a client
/// sending a body slowly holds its connection no longer than that: 408 after it, 413 over
/// [`MAX_BODY_BYTES`].
pub(crate) async fn read_body_within(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|bytes| bytes > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limit, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request's body did not arrive within {} s",
                limit.as_secs()
            ),
        )
        .with_code("body_timeout")
        .into_response(),
        Ok(Err(_)) => too_large(),
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

fn too_large() -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request's body could not be read whole: at most {} MiB is accepted",
            MAX_BODY_BYTES / 1024 / 1024
        ),
    )
    .with_code("body_too_large")
    .into_response()
}

/// The answer to anything but the probes on a connection over the cap.
pub(crate) async fn over_capacity() -> Response {
    metrics::global().count_http_refused("connections");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is serving its most connections at once; try again shortly",
    )
    .with_code("connections_full")
    .retry_after(1)
    .into_response()
}
