//! The exchanges and queues of SPEC §3.1: two topic exchanges the upstream systems publish to,
//! a quorum queue bound to each with `#`, and the fanout dead-letter exchange with its queue.
//! Every name is configurable (`[broker]` in `baocao.toml`).

use anyhow::Context;
use domain::event::Source;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, ExchangeKind};
use serde::Deserialize;

use crate::publish::long_string;

/// The queue type of the consumed queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// Exchange and queue names (`[broker]`); defaults as in SPEC §3.1.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
    /// `quorum` or `classic`, for all three queues.
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
    /// The exchange `source` publishes to.
    pub fn exchange(&self, source: Source) -> &str {
        match source {
            Source::Eoffice => &self.eoffice_exchange,
            Source::Portal => &self.portal_exchange,
        }
    }

    /// The exchange events of type `type_name` are published to, if it is an event type.
    pub fn exchange_for_type(&self, type_name: &str) -> Option<&str> {
        Source::of_type(type_name).map(|source| self.exchange(source))
    }

    /// The queue consuming `source`'s exchange.
    pub fn queue(&self, source: Source) -> &str {
        match source {
            Source::Eoffice => &self.eoffice_queue,
            Source::Portal => &self.portal_queue,
        }
    }

    /// The source whose events `queue` consumes, if it is one of the consumed queues.
    pub fn source_of_queue(&self, queue: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| self.queue(*s) == queue)
    }

    /// The consumed queues and the dead-letter queue, in that order.
    pub fn queues(&self) -> [&str; 3] {
        [&self.eoffice_queue, &self.portal_queue, &self.dead_queue]
    }
}

/// Declares both exchanges, the consumed queues bound with `#`, and the dead-letter exchange
/// and queue. Idempotent: declaring what exists with the same settings changes nothing.
#[tracing::instrument(skip_all)]
pub async fn declare(channel: &Channel, topology: &Topology) -> anyhow::Result<()> {
    exchange(channel, &topology.dead_exchange, ExchangeKind::Fanout).await?;
    queue(channel, &topology.dead_queue, topology.queue_type, None).await?;
    bind(channel, &topology.dead_queue, &topology.dead_exchange, "").await?;
    for source in Source::ALL {
        let (exchange_name, queue_name) = (topology.exchange(source), topology.queue(source));
        exchange(channel, exchange_name, ExchangeKind::Topic).await?;
        let dead = Some(topology.dead_exchange.as_str());
        queue(channel, queue_name, topology.queue_type, dead).await?;
        bind(channel, queue_name, exchange_name, "#").await?;
    }
    Ok(())
}

async fn exchange(channel: &Channel, name: &str, kind: ExchangeKind) -> anyhow::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(name.into(), kind, durable, FieldTable::default())
        .await
        .with_context(|| format!("Failed to declare exchange {name}"))
}

async fn queue(
    channel: &Channel,
    name: &str,
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
        .queue_declare(name.into(), options, arguments)
        .await
        .with_context(|| format!("Failed to declare queue {name} (an existing queue of another type or arguments must be deleted first)"))?;
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
