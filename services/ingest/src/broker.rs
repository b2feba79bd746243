//! RabbitMQ plumbing: connection, the topology of SPEC §3.1, publishing with confirms, and the
//! backoff used when the broker is away.

use std::time::Duration;

use anyhow::Context;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

/// The queue type of the consumed queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// Replicated quorum queues, the default.
    #[default]
    Quorum,
    /// Classic queues, for a broker without quorum queues.
    Classic,
}

impl QueueType {
    fn argument(self) -> &'static str {
        match self {
            Self::Quorum => "quorum",
            Self::Classic => "classic",
        }
    }
}

/// Exchange and queue names; all configurable, defaults as in SPEC §3.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The e-office system's topic exchange.
    pub eoffice_exchange: String,
    /// The portal's topic exchange.
    pub portal_exchange: String,
    /// The queue consuming the e-office exchange.
    pub eoffice_queue: String,
    /// The queue consuming the portal exchange.
    pub portal_queue: String,
    /// The dead-letter exchange (fanout).
    pub dead_exchange: String,
    /// The queue holding dead letters.
    pub dead_queue: String,
    /// The type of the three queues.
    pub queue_type: QueueType,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            eoffice_exchange: "eoffice.events".into(),
            portal_exchange: "portal.events".into(),
            eoffice_queue: "baocao.eoffice".into(),
            portal_queue: "baocao.portal".into(),
            dead_exchange: "baocao.dead".into(),
            dead_queue: "baocao.dead".into(),
            queue_type: QueueType::Quorum,
        }
    }
}

impl Topology {
    /// The exchange an upstream system publishes events of `type_name` to.
    pub fn exchange_for(&self, type_name: &str) -> &str {
        if type_name.starts_with("document.") {
            &self.eoffice_exchange
        } else {
            &self.portal_exchange
        }
    }

    /// The consumed queues, each with the exchange it is bound to.
    pub fn sources(&self) -> [(&str, &str); 2] {
        [
            (self.eoffice_queue.as_str(), self.eoffice_exchange.as_str()),
            (self.portal_queue.as_str(), self.portal_exchange.as_str()),
        ]
    }
}

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
    if tokio::time::timeout(Duration::from_secs(5), closing)
        .await
        .is_err()
    {
        tracing::warn!("the broker did not confirm closing the connection within 5 s");
    }
}

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the broker may take to confirm a publish before the connection is given up.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// Declares both exchanges, the consumed queues bound with `#`, and the dead-letter exchange
/// and queue. Idempotent: declaring what exists with the same settings changes nothing.
#[tracing::instrument(skip_all)]
pub async fn declare(channel: &Channel, topology: &Topology) -> anyhow::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            topology.dead_exchange.as_str().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("Failed to declare exchange {}", topology.dead_exchange))?;
    declare_queue(channel, &topology.dead_queue, topology.queue_type, None).await?;
    bind(channel, &topology.dead_queue, &topology.dead_exchange, "").await?;
    for (queue, exchange) in topology.sources() {
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("Failed to declare exchange {exchange}"))?;
        declare_queue(
            channel,
            queue,
            topology.queue_type,
            Some(&topology.dead_exchange),
        )
        .await?;
        bind(channel, queue, exchange, "#").await?;
    }
    Ok(())
}

async fn declare_queue(
    channel: &Channel,
    queue: &str,
    queue_type: QueueType,
    dead_letter_exchange: Option<&str>,
) -> anyhow::Result<()> {
    let mut arguments = FieldTable::default();
    arguments.insert("x-queue-type".into(), long_string(queue_type.argument()));
    if let Some(exchange) = dead_letter_exchange {
        arguments.insert("x-dead-letter-exchange".into(), long_string(exchange));
    }
    let options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(queue.into(), options, arguments)
        .await
        .with_context(|| format!("Failed to declare queue {queue} (an existing queue of another type or arguments must be deleted first)"))?;
    Ok(())
}

async fn bind(channel: &Channel, queue: &str, exchange: &str, key: &str) -> anyhow::Result<()> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("Failed to bind queue {queue} to exchange {exchange}"))
}

/// A string header value.
pub fn long_string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes().to_vec()))
}

/// The text of a string header, if present.
pub fn header_text(headers: &Option<FieldTable>, key: &str) -> Option<String> {
    let value = headers.as_ref()?.inner().get(&ShortString::from(key))?;
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
        _ => None,
    }
}

/// A channel in confirm mode: every publish is persistent, mandatory, and awaited until the
/// broker has routed it to a queue.
#[derive(Debug, Clone)]
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    /// Opens a confirm-mode channel on `connection`.
    pub async fn open(connection: &Connection) -> anyhow::Result<Self> {
        let channel = connection
            .create_channel()
            .await
            .context("Failed to open a channel")?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .context("Failed to enable publisher confirms")?;
        Ok(Self { channel })
    }

    /// The underlying channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes `messages` (exchange, routing key, body, headers) as persistent JSON and waits
    /// until the broker has confirmed every one of them.
    pub async fn publish_confirmed(
        &self,
        messages: Vec<OutgoingMessage<'_>>,
    ) -> anyhow::Result<usize> {
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            let mut properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into());
            if let Some(headers) = message.headers {
                properties = properties.with_headers(headers);
            }
            let confirm = self
                .channel
                .basic_publish(
                    message.exchange.into(),
                    message.routing_key.into(),
                    // Mandatory: a message no queue takes comes back instead of vanishing.
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    message.body,
                    properties,
                )
                .await
                .with_context(|| format!("Failed to publish to exchange {}", message.exchange))?;
            confirms.push(confirm);
        }
        let count = confirms.len();
        for confirm in confirms {
            let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "the broker did not confirm a publish within {CONFIRM_TIMEOUT:?}"
                    )
                })?
                .context("Failed to get a publisher confirm")?;
            anyhow::ensure!(confirmation.is_ack(), "the broker refused a message (nack)");
            anyhow::ensure!(
                confirmation.take_message().is_none(),
                "no queue is bound to take the message (returned unroutable)"
            );
        }
        Ok(count)
    }
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage<'a> {
    /// The exchange.
    pub exchange: &'a str,
    /// The routing key.
    pub routing_key: &'a str,
    /// The body.
    pub body: &'a [u8],
    /// Headers, if any.
    pub headers: Option<FieldTable>,
}

/// Capped exponential backoff with jitter, for reconnecting and retrying.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at `initial` and doubles up to `cap`.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap,
            failures: 0,
        }
    }

    /// The failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next attempt, counting one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let exponential = self.initial.saturating_mul(1 << self.failures.min(16));
        self.failures += 1;
        let capped = exponential.min(self.cap);
        // Up to a quarter of jitter, so that replicas do not retry in lockstep.
        capped.mul_f64(1.0 - 0.25 * jitter())
    }

    /// Back to the initial delay after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A number in [0, 1) that differs between processes and calls.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(std::time::Instant::now()) % 1000) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_malformed_url_is_refused_without_quoting_its_password() {
        let error = connect("amqp:guest:s3cret@rabbit/%2f", "test")
            .await
            .unwrap_err();
        let message = format!("{error:#}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("BAOCAO_AMQP_URL"), "{message}");
    }
}
