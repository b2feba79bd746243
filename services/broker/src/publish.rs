//! Publishing with confirms: every message is persistent and mandatory, and a publish counts
//! only once the broker has confirmed that a queue took it.

use std::time::Duration;

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection};

/// How long the broker may take to confirm a publish before the connection is given up.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// A string header value.
pub fn long_string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes().to_vec()))
}

/// A table of text headers.
pub fn text_headers(pairs: &[(&str, &str)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in pairs {
        table.insert((*key).into(), long_string(value));
    }
    table
}

/// The header naming the source of a body of an upstream system's format (SPEC §3.5): the
/// `[[source]]` the API took it from, or what a publisher straight to the broker says.
pub const SOURCE_HEADER: &str = "x-baocao-source";

/// The text of a string header, if present.
pub fn header_text(headers: &Option<FieldTable>, key: &str) -> Option<String> {
    let value = headers.as_ref()?.inner().get(&ShortString::from(key))?;
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
        _ => None,
    }
}

/// The size of `table` as AMQP encodes it in a message's properties. A message's properties
/// travel in one frame, so a dead letter that adds headers to a message whose own headers
/// were already near the frame size would be refused by the broker, connection and all.
pub fn encoded_size(table: &FieldTable) -> usize {
    4 + table
        .inner()
        .iter()
        .map(|(key, value)| 1 + key.as_str().len() + value_size(value))
        .sum::<usize>()
}

fn value_size(value: &AMQPValue) -> usize {
    1 + match value {
        AMQPValue::Boolean(_) | AMQPValue::ShortShortInt(_) | AMQPValue::ShortShortUInt(_) => 1,
        AMQPValue::ShortInt(_) | AMQPValue::ShortUInt(_) => 2,
        AMQPValue::LongInt(_) | AMQPValue::LongUInt(_) | AMQPValue::Float(_) => 4,
        AMQPValue::LongLongInt(_) | AMQPValue::Double(_) | AMQPValue::Timestamp(_) => 8,
        AMQPValue::DecimalValue(_) => 5,
        AMQPValue::ShortString(text) => 1 + text.as_str().len(),
        AMQPValue::LongString(text) => 4 + text.as_bytes().len(),
        AMQPValue::ByteArray(bytes) => 4 + bytes.as_slice().len(),
        AMQPValue::FieldArray(array) => 4 + array.as_slice().iter().map(value_size).sum::<usize>(),
        AMQPValue::FieldTable(table) => encoded_size(table),
        AMQPValue::Void => 0,
    }
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage<'a> {
    /// The exchange (`""` for the default exchange, which routes by queue name).
    pub exchange: &'a str,
    /// The routing key.
    pub routing_key: &'a str,
    /// The body.
    pub body: &'a [u8],
    /// Headers, if any.
    pub headers: Option<FieldTable>,
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

    /// Publishes `messages` as persistent JSON and waits until the broker has confirmed every
    /// one of them.
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
                .with_context(|| format!("Failed to publish to exchange '{}'", message.exchange))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoded_size_counts_keys_types_and_lengths() {
        let mut table = FieldTable::default();
        assert_eq!(encoded_size(&table), 4);
        table.insert("x-a".into(), long_string("héllo"));
        // 4 (table length) + 1 + 3 (key) + 1 (type) + 4 + 6 (the UTF-8 bytes)
        assert_eq!(encoded_size(&table), 19);
        let mut inner = FieldTable::default();
        inner.insert("n".into(), AMQPValue::LongLongInt(7));
        table.insert("x-death".into(), AMQPValue::FieldTable(inner));
        assert_eq!(encoded_size(&table), 19 + 1 + 7 + 1 + (4 + 1 + 1 + 1 + 8));
    }
}
