//! Connecting to RabbitMQ, and closing without hanging.

use std::time::Duration;

use anyhow::Context;
use lapin::{Connection, ConnectionProperties};

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
    tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect_uri(uri, properties))
        .await
        .map_err(|_| anyhow::anyhow!("RabbitMQ did not answer within {CONNECT_TIMEOUT:?}"))?
        .context("Failed to connect to RabbitMQ (check BAOCAO_AMQP_URL)")
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
