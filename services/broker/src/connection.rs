//! Connecting to RabbitMQ, and closing without hanging. Every connection reads the broker's
//! frames through [`crate::frames::Screened`], so that no frame a publisher can make stops
//! lapin.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_rs::traits::Reactor;
use async_rs::util::RuntimeParts;
use async_rs::{Runtime, Tokio};
use futures_lite::Stream;
use futures_lite::io::{AsyncRead, AsyncWrite};
use lapin::tcp::{AMQPUriTcpExt, AsyncTcpStream, TLSConfig};
use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties};

use crate::frames::Screened;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long closing may take before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the broker once, failing fast: callers that must keep going (the ingest worker)
/// run their own reconnect loop with backoff and a shutdown signal. lapin's automatic recovery
/// is deliberately off: a recovering connection re-subscribes its consumers in the background,
/// so one abandoned by a failed worker would keep holding prefetched messages unread.
pub async fn connect(url: &str, name: &str) -> anyhow::Result<Connection> {
    // The parse error of amq-protocol-uri quotes the whole URL, password included.
    let uri = url.parse::<lapin::uri::AMQPUri>().map_err(|_| {
        anyhow::anyhow!(
            "BAOCAO_AMQP_URL is not a valid AMQP URL (amqp://user:password@host:port/vhost)"
        )
    })?;
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let runtime = Runtime::new(RuntimeParts::new(
        Tokio::current(),
        ScreeningReactor(Tokio::current()),
    ));
    let connecting = Connection::connector(uri, runtime, connect_screened, properties);
    tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| anyhow::anyhow!("RabbitMQ did not answer within {CONNECT_TIMEOUT:?}"))?
        .context("Failed to connect to RabbitMQ (check BAOCAO_AMQP_URL)")
}

/// The socket lapin gets: TCP (and TLS for `amqps://`) as lapin would open it, screened.
async fn connect_screened(
    uri: AMQPUri,
    _runtime: Runtime<ScreeningKit>,
) -> lapin::Result<AsyncTcpStream<ScreenedStream>> {
    let plain = Runtime::tokio_current();
    let stream = uri
        .connect_with_config_async(TLSConfig::default(), &plain)
        .await?;
    Ok(AsyncTcpStream::Plain(Screened::new(stream)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_malformed_url_is_refused_without_quoting_its_password() {
        let error = connect("amqp:guest:s3cret@rabbit/%2f", "test")
            .await
            .expect_err("a malformed URL");
        let message = format!("{error:#}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("BAOCAO_AMQP_URL"), "{message}");
    }
}
