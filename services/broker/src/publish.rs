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

/// The text of a string header, if present.
pub fn header_text(headers: &Option<FieldTable>, key: &str) -> Option<String> {
    let value = headers.as_ref()?.inner().get(&ShortString::from(key))?;
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
        _ => None,
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
