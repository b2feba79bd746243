//! Dead letters: a rejected message is re-published, body unchanged, to the dead-letter
//! exchange with its reason in `x-baocao-reason`, and confirmed by the broker before the
//! original is acknowledged. `baocao dead-letters list` shows them; `replay` re-publishes them
//! to where they first came from (after the configuration is fixed, say).

use anyhow::Context;
use domain::Rejection;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};

use broker::{OutgoingMessage, Publisher, header_text, long_string};

/// The header carrying the reason code.
pub const REASON_HEADER: &str = "x-baocao-reason";
/// The header carrying the human explanation.
pub const DETAIL_HEADER: &str = "x-baocao-detail";
/// The header naming the exchange the message was first published to.
pub const EXCHANGE_HEADER: &str = "x-baocao-exchange";
/// The header naming its routing key.
pub const ROUTING_KEY_HEADER: &str = "x-baocao-routing-key";
/// The header naming the queue it was consumed from.
pub const QUEUE_HEADER: &str = "x-baocao-queue";

/// Publishes each rejected delivery to the dead-letter exchange and waits for the confirms.
pub async fn publish(
    publisher: &Publisher,
    dead_exchange: &str,
    queue: &str,
    rejected: &[(&Delivery, Rejection)],
) -> anyhow::Result<()> {
    let reasons: Vec<String> = rejected
        .iter()
        .map(|(_, rejection)| rejection.reason())
        .collect();
    let messages = rejected
        .iter()
        .zip(&reasons)
        .map(|((delivery, rejection), reason)| {
            let mut headers = delivery.properties.headers().clone().unwrap_or_default();
            headers.insert(REASON_HEADER.into(), long_string(reason));
            headers.insert(DETAIL_HEADER.into(), long_string(&rejection.to_string()));
            headers.insert(
                EXCHANGE_HEADER.into(),
                long_string(delivery.exchange.as_str()),
            );
            headers.insert(
                ROUTING_KEY_HEADER.into(),
                long_string(delivery.routing_key.as_str()),
            );
            headers.insert(QUEUE_HEADER.into(), long_string(queue));
            OutgoingMessage {
                exchange: dead_exchange,
                routing_key: reason,
                body: &delivery.data,
                headers: Some(headers),
            }
        });
    let messages = messages.collect();
    publisher
        .publish_confirmed(messages)
        .await
        .context("Failed to dead-letter rejected messages")?;
    Ok(())
}

/// A dead letter as shown to the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The reason code, or `broker` for a message the broker itself dead-lettered.
    pub reason: String,
    /// The explanation.
    pub detail: String,
    /// Where it was first published.
    pub exchange: String,
    /// Its routing key there.
    pub routing_key: String,
    /// The body, as received.
    pub body: Vec<u8>,
}

impl DeadLetter {
    fn from_delivery(delivery: &Delivery) -> Self {
        let headers = delivery.properties.headers();
        let text = |key| header_text(headers, key).unwrap_or_default();
        Self {
            reason: header_text(headers, REASON_HEADER).unwrap_or_else(|| "broker".into()),
            detail: text(DETAIL_HEADER),
            exchange: text(EXCHANGE_HEADER),
            routing_key: text(ROUTING_KEY_HEADER),
            body: delivery.data.clone(),
        }
    }
}

/// Reads up to `limit` dead letters without removing them: they are fetched unacknowledged and
/// handed back when the channel closes.
pub async fn list(
    connection: &Connection,
    dead_queue: &str,
    limit: usize,
) -> anyhow::Result<Vec<DeadLetter>> {
    let channel = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    let mut letters = Vec::new();
    while letters.len() < limit {
        let Some(message) = get(&channel, dead_queue).await? else {
            break;
        };
        letters.push(DeadLetter::from_delivery(&message));
    }
    channel.close(200, "listed".into()).await.ok();
    Ok(letters)
}

/// Re-publishes every dead letter present now to the exchange and routing key it first came
/// from, then removes it. Letters that say nowhere where they came from are left in place.
/// Returns (replayed, left).
pub async fn replay(connection: &Connection, dead_queue: &str) -> anyhow::Result<(usize, usize)> {
    let channel = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    let publisher = Publisher::open(connection).await?;
    // Only the letters present now: a replayed message rejected again lands behind them.
    let present = channel
        .queue_declare(
            dead_queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("Failed to inspect queue {dead_queue}"))?
        .message_count();
    let mut replayed = 0;
    // Letters that say nowhere where they came from stay unacknowledged until the channel
    // closes: handed back at once, they would come again as the next one.
    let mut held = Vec::new();
    for _ in 0..present {
        let Some(delivery) = get(&channel, dead_queue).await? else {
            break;
        };
        let letter = DeadLetter::from_delivery(&delivery);
        if letter.exchange.is_empty() {
            held.push(delivery);
            continue;
        }
        let message = OutgoingMessage {
            exchange: &letter.exchange,
            routing_key: &letter.routing_key,
            body: &letter.body,
            headers: without_dead_letter_headers(delivery.properties.headers()),
        };
        publisher.publish_confirmed(vec![message]).await?;
        delivery.acker.ack(BasicAckOptions::default()).await?;
        replayed += 1;
    }
    channel.close(200, "replayed".into()).await.ok();
    Ok((replayed, held.len()))
}

async fn get(channel: &Channel, queue: &str) -> anyhow::Result<Option<Delivery>> {
    let message = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await
        .with_context(|| format!("Failed to read queue {queue}"))?;
    Ok(message.map(|message| message.delivery))
}

fn without_dead_letter_headers(headers: &Option<FieldTable>) -> Option<FieldTable> {
    let kept: std::collections::BTreeMap<_, AMQPValue> = headers
        .as_ref()?
        .inner()
        .iter()
        .filter(|(key, _)| !key.as_str().starts_with("x-baocao-"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Some(kept.into())
}
