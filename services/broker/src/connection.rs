//! Connecting to RabbitMQ (one node, or the first of a cluster's nodes that answers), and
//! closing without hanging. Every connection reads the broker's frames through
//! [`crate::frames::Screened`], so that no frame a publisher can make stops lapin.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_rs::traits::Reactor;
use async_rs::util::RuntimeParts;
use async_rs::{Runtime, Tokio};
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_lite::{Stream, StreamExt};
use lapin::tcp::{AMQPUriTcpExt, AsyncTcpStream, TLSConfig};
use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties};

use crate::budget::Budget;
use crate::frames::Screened;
use crate::nodes::{self, Node, Nodes};

/// How long one connection attempt may take, when `BAOCAO_AMQP_URL` names one node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the attempt at each node may take, when `BAOCAO_AMQP_URL` names several: a node
/// that is frozen accepts TCP and answers nothing, and the next one must get its turn.
const NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long closing may take before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the broker, failing fast: callers that must keep going (the ingest worker) run
/// their own reconnect loop with backoff and a shutdown signal. lapin's automatic recovery is
/// deliberately off: a recovering connection re-subscribes its consumers in the background, so
/// one abandoned by a failed worker would keep holding prefetched messages unread.
///
/// `url` is one AMQP URL or several separated by commas (the nodes of a cluster): each is tried
/// in turn ([`crate::nodes`]: as listed, a node that failed lately last) until one answers.
pub async fn connect(url: &str, name: &str) -> anyhow::Result<Connection> {
    connect_reading(url, name, None).await
}

/// Connects as [`connect`] does, and reads each message only once its body fits in `budget`
/// ([`crate::budget`]): what the connection's consumers hold is bounded in bytes whatever their
/// prefetch.
pub async fn connect_within(url: &str, name: &str, budget: &Budget) -> anyhow::Result<Connection> {
    connect_reading(url, name, Some(budget)).await
}

async fn connect_reading(
    url: &str,
    name: &str,
    budget: Option<&Budget>,
) -> anyhow::Result<Connection> {
    let nodes = Nodes::parse(url)?;
    let bound = if nodes.len() == 1 {
        CONNECT_TIMEOUT
    } else {
        NODE_TIMEOUT
    };
    let mut failures = Vec::with_capacity(nodes.len());
    for (tried, node) in nodes.in_order().into_iter().enumerate() {
        match connect_node(node, name, bound, budget).await {
            Ok(connection) => {
                nodes::trust(&node.name);
                watch(&connection, &node.name);
                if tried > 0 {
                    tracing::info!(
                        node = %node.name,
                        connection = name,
                        "connected to RabbitMQ after {tried} node(s) failed"
                    );
                }
                return Ok(connection);
            }
            Err(error) => {
                nodes::suspect(&node.name);
                failures.push(error);
            }
        }
    }
    Err(unreachable(failures))
}

/// One attempt at `node`, within `bound`.
async fn connect_node(
    node: &Node,
    name: &str,
    bound: Duration,
    budget: Option<&Budget>,
) -> anyhow::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let runtime = Runtime::new(RuntimeParts::new(
        Tokio::current(),
        ScreeningReactor(Tokio::current()),
    ));
    let budget = budget.cloned();
    let connect = async move |uri, runtime| connect_screened(uri, runtime, budget.clone()).await;
    let connecting = Connection::connector(node.uri.clone(), runtime, connect, properties);
    tokio::time::timeout(bound, connecting)
        .await
        .map_err(|_| anyhow::anyhow!("RabbitMQ at {} did not answer within {bound:?}", node.name))?
        .with_context(|| {
            format!(
                "Failed to connect to RabbitMQ at {} (check BAOCAO_AMQP_URL)",
                node.name
            )
        })
}

/// The error when no node answered: the one node's own, or every node's in a list.
fn unreachable(mut failures: Vec<anyhow::Error>) -> anyhow::Error {
    if failures.len() == 1
        && let Some(only) = failures.pop()
    {
        return only;
    }
    let each: Vec<String> = failures.iter().map(|e| format!("{e:#}")).collect();
    anyhow::anyhow!(
        "none of the {} RabbitMQ nodes answered: {}",
        each.len(),
        each.join("; ")
    )
}

/// Marks the node suspect when the connection fails once made (the node killed, or frozen past
/// the heartbeat), so that the reconnection tries the other nodes first. A channel's error (a
/// queue not declared yet) is an error event too, and leaves the connection, and the node, as
/// they were.
fn watch(connection: &Connection, node: &str) {
    let mut events = connection.events_listener();
    let status = connection.status().clone();
    let node = node.to_owned();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if matches!(event, lapin::Event::Error(_)) && status.errored() {
                nodes::suspect(&node);
                return;
            }
        }
    });
}

/// The socket lapin gets: TCP (and TLS for `amqps://`) as lapin would open it, screened.
async fn connect_screened(
    uri: AMQPUri,
    _runtime: Runtime<ScreeningKit>,
    budget: Option<Budget>,
) -> lapin::Result<AsyncTcpStream<ScreenedStream>> {
    let plain = Runtime::tokio_current();
    let stream = uri
        .connect_with_config_async(TLSConfig::default(), &plain)
        .await?;
    Ok(AsyncTcpStream::Plain(match budget {
        Some(budget) => Screened::within(stream, budget),
        None => Screened::new(stream),
    }))
}

/// The stream under lapin: the socket lapin would have had, its frames screened.
type ScreenedStream = Screened<AsyncTcpStream<<Tokio as Reactor>::TcpStream>>;

/// tokio's executor, with [`ScreeningReactor`].
type ScreeningKit = RuntimeParts<Tokio, ScreeningReactor>;

/// tokio's reactor, whose TCP streams are screened: lapin's runtime is generic over its
/// stream type, which is how the screen gets under its parser.
#[derive(Debug, Clone)]
struct ScreeningReactor(Tokio);

impl Reactor for ScreeningReactor {
    type TcpStream = ScreenedStream;
    type Sleep = <Tokio as Reactor>::Sleep;

    // The trait says `AsSysFd`, which async-rs does not export: it is `AsFd + AsRawFd`.
    fn register<H: io::Read + io::Write + AsFd + AsRawFd + Send + 'static>(
        &self,
        socket: H,
    ) -> io::Result<impl AsyncRead + AsyncWrite + Send + Unpin + 'static> {
        self.0.register(socket)
    }

    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.0.sleep(duration)
    }

    fn interval(&self, period: Duration) -> impl Stream<Item = Instant> + Send + 'static {
        self.0.interval(period)
    }

    fn tcp_connect_addr(
        &self,
        address: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + 'static {
        let connecting = self.0.tcp_connect_addr(address);
        async move { Ok(Screened::new(AsyncTcpStream::Plain(connecting.await?))) }
    }
}

/// Closes `connection`, giving up after 5 s: lapin can wait for a close-ok that never comes
/// (seen under load), and whoever closes has finished its work by then. Closing hands the
/// prefetched, unacknowledged deliveries back to the broker; so does the connection's end.
pub async fn close(connection: &Connection, reason: &str) {
    let closing = connection.close(200, reason.into());
    if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
        tracing::warn!("the broker did not confirm closing the connection within 5 s");
    }
}

/// Whether `error` says the broker connection was lost under a request, or closed by the broker
/// for a reason of the moment (a node going down, a queue without a leader until the cluster
/// elects one: `INTERNAL_ERROR … nodedown`, `CONNECTION_FORCED`): the same request on a new
/// connection may well succeed. A refusal it would meet again (a queue not declared, access
/// refused, a malformed request) is not such an error.
pub fn lost_the_connection(error: &anyhow::Error) -> bool {
    use lapin::ErrorKind;
    use lapin::protocol::{AMQPErrorKind, AMQPHardError};
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<lapin::Error>())
        .any(|error| match error.kind() {
            ErrorKind::IOError(_)
            | ErrorKind::InvalidConnectionState(_)
            | ErrorKind::MissingHeartbeatError => true,
            ErrorKind::ProtocolError(amqp) => matches!(
                amqp.kind(),
                AMQPErrorKind::Hard(AMQPHardError::CONNECTIONFORCED | AMQPHardError::INTERNALERROR)
            ),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_node_is_worth_a_new_connection_and_a_missing_queue_is_not() {
        use lapin::protocol::{AMQPError, AMQPErrorKind, AMQPHardError, AMQPSoftError};
        let amqp = |kind: AMQPErrorKind| {
            let error = lapin::Error::from(lapin::ErrorKind::ProtocolError(AMQPError::new(
                kind,
                "from the broker".into(),
            )));
            anyhow::Error::new(error).context("Failed to read queue baocao.dead")
        };
        assert!(lost_the_connection(&amqp(
            AMQPHardError::INTERNALERROR.into()
        )));
        assert!(lost_the_connection(&amqp(
            AMQPHardError::CONNECTIONFORCED.into()
        )));
        let reset = lapin::Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(lost_the_connection(
            &anyhow::Error::new(reset).context("reading")
        ));
        assert!(!lost_the_connection(&amqp(AMQPSoftError::NOTFOUND.into())));
        assert!(!lost_the_connection(&amqp(
            AMQPSoftError::ACCESSREFUSED.into()
        )));
        assert!(!lost_the_connection(&amqp(
            AMQPHardError::NOTALLOWED.into()
        )));
        assert!(!lost_the_connection(&anyhow::anyhow!(
            "no lapin error at all"
        )));
    }

    #[tokio::test]
    async fn a_malformed_url_is_refused_without_quoting_its_password() {
        let error = connect("amqp:guest:s3cret@rabbit/%2f", "test")
            .await
            .expect_err("a malformed URL");
        let message = format!("{error:#}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("BAOCAO_AMQP_URL"), "{message}");
    }

    /// A port nobody listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("its address").port()
    }

    #[tokio::test]
    async fn every_node_is_tried_and_named_without_its_password() {
        let (first, second) = (closed_port(), closed_port());
        let url = format!(
            "amqp://guest:s3cret@127.0.0.1:{first}/%2f,amqp://guest:s3cret@127.0.0.1:{second}/%2f"
        );
        let error = connect(&url, "test").await.expect_err("nobody listens");
        let message = format!("{error:#}");
        assert!(
            message.contains("none of the 2 RabbitMQ nodes"),
            "{message}"
        );
        assert!(message.contains(&format!("127.0.0.1:{first}")), "{message}");
        assert!(
            message.contains(&format!("127.0.0.1:{second}")),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }
}
