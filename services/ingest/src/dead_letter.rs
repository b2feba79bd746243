//! Dead letters: a rejected message is re-published, body unchanged, to the dead-letter
//! exchange with its reason in `x-baocao-reason`, and confirmed by the broker before the
//! original is acknowledged. `baocao dead-letters list` shows them; `replay` puts them back on
//! baocao's own queue they came from (after the configuration is fixed, say).
//!
//! What baocao adds is bounded (the detail to [`MAX_DETAIL_BYTES`]), and a dead letter whose
//! headers would not fit in one frame with ours goes out without the original headers, saying
//! so: a message is never left undeliverable because of what baocao would add to it.

use std::collections::BTreeMap;

use anyhow::Context;
use broker::frames::UNREADABLE_HEADER;
use broker::{OutgoingMessage, Publisher, Topology, encoded_size, header_text, long_string};
use domain::Rejection;
use domain::text::{escape_controls, truncate_bytes};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection};

/// The header carrying the reason code.
pub const REASON_HEADER: &str = "x-baocao-reason";
/// The header carrying the explanation.
pub const DETAIL_HEADER: &str = "x-baocao-detail";
/// The header naming the exchange the message was first published to.
pub const EXCHANGE_HEADER: &str = "x-baocao-exchange";
/// The header naming its routing key there.
pub const ROUTING_KEY_HEADER: &str = "x-baocao-routing-key";
/// The header naming the queue it was consumed from, where a replay puts it back.
pub const QUEUE_HEADER: &str = "x-baocao-queue";
/// The header the broker sets on a message it dead-lettered itself (delivery limit, TTL).
pub const FIRST_DEATH_QUEUE_HEADER: &str = "x-first-death-queue";

/// The reason of a message whose frame lapin could not read as the publisher sent it (a short
/// string that is not UTF-8, headers nested too deep).
pub const UNREADABLE_REASON: &str = "unreadable_frame";

/// The longest explanation a dead letter carries, in bytes.
pub const MAX_DETAIL_BYTES: usize = 1024;

/// The most the headers of a dead letter may take. RabbitMQ sends a message's properties in
/// one frame (128 KiB unless configured otherwise); beyond this, the original headers are
/// dropped and only baocao's (about 1.5 KiB at most) are kept.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Why a message is dead-lettered: a stable reason code and an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reason code (SPEC §3.4), e.g. `invalid_field:data.channel` or `unstorable`.
    pub reason: String,
    /// The explanation, at most [`MAX_DETAIL_BYTES`], without control characters.
    pub detail: String,
}

impl Verdict {
    /// A verdict with its detail bounded and escaped.
    pub fn new(reason: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: reason.into(),
            detail: truncate_bytes(&escape_controls(detail), MAX_DETAIL_BYTES),
        }
    }

    /// A message whose frame lapin could not read as sent ([`broker::frames`]): the screen's
    /// note says what was wrong, with the bytes escaped. `None` for every other message.
    pub fn unreadable(delivery: &Delivery) -> Option<Self> {
        let note = header_text(delivery.properties.headers(), UNREADABLE_HEADER)?;
        Some(Self::new(
            UNREADABLE_REASON,
            &format!("the broker's frame could not be read as sent: {note}"),
        ))
    }

    /// An event the database refused to store, with the database's words.
    pub fn unstorable(error: &anyhow::Error) -> Self {
        Self::new("unstorable", &format!("the database refused it: {error:#}"))
    }
}

impl From<&Rejection> for Verdict {
    fn from(rejection: &Rejection) -> Self {
        Self::new(rejection.reason(), &rejection.to_string())
    }
}

/// Where a delivery was first published: its own exchange and routing key, or, for a message
/// that came back by a replay (through the default exchange), the origin it carries.
pub(crate) fn origin(delivery: &Delivery) -> (String, String) {
    let headers = delivery.properties.headers();
    match header_text(headers, EXCHANGE_HEADER) {
        Some(exchange) if delivery.exchange.as_str().is_empty() => (
            exchange,
            header_text(headers, ROUTING_KEY_HEADER).unwrap_or_default(),
        ),
        _ => (
            delivery.exchange.to_string(),
            delivery.routing_key.to_string(),
        ),
    }
}

/// The headers of `delivery`'s dead letter: its own headers with baocao's added, or baocao's
/// alone when together they would not fit in a frame.
pub fn headers(delivery: &Delivery, queue: &str, verdict: &Verdict) -> FieldTable {
    let (exchange, routing_key) = origin(delivery);
    let ours = |detail: &str| {
        let mut table = FieldTable::default();
        table.insert(REASON_HEADER.into(), long_string(&verdict.reason));
        table.insert(DETAIL_HEADER.into(), long_string(detail));
        table.insert(EXCHANGE_HEADER.into(), long_string(&exchange));
        table.insert(ROUTING_KEY_HEADER.into(), long_string(&routing_key));
        table.insert(QUEUE_HEADER.into(), long_string(queue));
        table
    };
    // Death records in a message that reached baocao's own queue were set by its publisher
    // (a replay removes the broker's): they would say where a letter came from, and only the
    // broker's may (see `DeadLetter::origin_queue`).
    let original = without_death_records(delivery.properties.headers());
    let mut merged = original.clone();
    for (key, value) in ours(&verdict.detail).inner() {
        merged.insert(key.clone(), value.clone());
    }
    if encoded_size(&merged) <= MAX_HEADER_BYTES {
        return merged;
    }
    let note = format!(
        "{} (its own headers, {} bytes, were dropped: with baocao's they would not fit in one frame)",
        verdict.detail,
        encoded_size(&original)
    );
    ours(&truncate_bytes(&note, MAX_DETAIL_BYTES))
}

/// A message to dead-letter: the delivery it came in, the body its letter carries (the
/// delivery's, or one record of a source's body alone), and why.
#[derive(Debug)]
pub struct Rejected<'a> {
    /// The delivery.
    pub delivery: &'a Delivery,
    /// The letter's body.
    pub body: Vec<u8>,
    /// Why.
    pub verdict: Verdict,
    /// The source of a body of an upstream system's format, if it is one.
    pub source: Option<String>,
}

/// Publishes each rejected message to the dead-letter exchange and waits for the confirms.
pub async fn publish(
    publisher: &Publisher,
    dead_exchange: &str,
    queue: &str,
    rejected: &[Rejected<'_>],
) -> anyhow::Result<()> {
    let messages = rejected
        .iter()
        .map(|r| OutgoingMessage {
            exchange: dead_exchange,
            routing_key: &r.verdict.reason,
            body: &r.body,
            headers: Some(headers(r.delivery, queue, &r.verdict)),
        })
        .collect();
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
    /// The queue a replay would put it back on, if any.
    pub queue: Option<String>,
    /// The body, as received.
    pub body: Vec<u8>,
}

impl DeadLetter {
    fn from_delivery(delivery: &Delivery) -> Self {
        let headers = delivery.properties.headers();
        let text = |key| header_text(headers, key).unwrap_or_default();
        // A letter whose own frame could not be read (put on the dead-letter exchange by a
        // publisher, or dead-lettered by the broker) says so rather than hiding.
        let unreadable = Verdict::unreadable(delivery);
        let reason = header_text(headers, REASON_HEADER)
            .or_else(|| unreadable.as_ref().map(|v| v.reason.clone()))
            .unwrap_or_else(|| "broker".into());
        let detail = match (header_text(headers, DETAIL_HEADER), unreadable) {
            (Some(detail), _) => detail,
            (None, Some(verdict)) => verdict.detail,
            (None, None) => String::new(),
        };
        Self {
            reason,
            detail,
            exchange: text(EXCHANGE_HEADER),
            routing_key: text(ROUTING_KEY_HEADER),
            queue: Self::origin_queue(headers),
            body: delivery.data.clone(),
        }
    }
}

impl DeadLetter {
    /// The queue a letter came from, as only its author can say: the broker's own death record
    /// (`x-first-death-queue`) for a letter the broker dead-lettered, which a publisher's
    /// `x-baocao-queue` never overrides; otherwise the `x-baocao-queue` ingest wrote over
    /// whatever the publisher had set (ingest drops publishers' death records from its letters).
    fn origin_queue(headers: &Option<FieldTable>) -> Option<String> {
        match header_text(headers, FIRST_DEATH_QUEUE_HEADER) {
            Some(queue) => Some(queue),
            None => header_text(headers, QUEUE_HEADER),
        }
    }
}

/// How long [`list`] waits for the letters it held to be back in the queue.
const HANDED_BACK_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads up to `limit` dead letters without removing them: they are fetched unacknowledged and
/// handed back when the channel closes. It returns once they are back (a quorum queue takes
/// them back after the close is confirmed), so a replay right after a listing finds them.
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
    wait_until_back(connection, dead_queue, letters.len()).await?;
    Ok(letters)
}

/// Waits, within [`HANDED_BACK_WITHIN`], until `dead_queue` holds at least `count` ready
/// letters. A replay running meanwhile may take some: then the wait ends at its bound, and the
/// listing is still right about what it read.
async fn wait_until_back(
    connection: &Connection,
    dead_queue: &str,
    count: usize,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + HANDED_BACK_WITHIN;
    while (broker::queue_depth(connection, dead_queue).await?.messages as usize) < count
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Letters put back on their queue.
    pub replayed: usize,
    /// Letters left in the dead-letter queue, each with why.
    pub left: Vec<String>,
}

/// Puts every dead letter present now back on the queue of baocao's it came from, through the
/// default exchange (never the upstream exchange, whose other queues would get it again): the
/// queue baocao dead-lettered it from, or, for a letter the broker dead-lettered itself, its
/// `x-first-death-queue`. Only `topology`'s consumed queues are targets, whatever a letter's
/// headers say. A letter that cannot be put back is reported and left in place, and the replay
/// goes on with the others.
pub async fn replay(connection: &Connection, topology: &Topology) -> anyhow::Result<Replayed> {
    let dead_queue = &topology.dead_queue;
    let channel = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    let publisher = Publisher::open(connection).await?;
    // Only the letters present now: a replayed message rejected again lands behind them.
    let present = broker::queue_depth(connection, dead_queue).await?.messages;
    let mut outcome = Replayed::default();
    // Letters left stay unacknowledged until the channel closes: handed back at once, they
    // would come again as the next one.
    let mut held = Vec::new();
    for _ in 0..present {
        let Some(delivery) = get(&channel, dead_queue).await? else {
            break;
        };
        match replay_one(&publisher, topology, &delivery).await {
            Ok(()) => {
                delivery.acker.ack(BasicAckOptions::default()).await?;
                outcome.replayed += 1;
            }
            Err(why) => {
                outcome.left.push(format!("{why:#}"));
                held.push(delivery);
            }
        }
    }
    channel.close(200, "replayed".into()).await.ok();
    Ok(outcome)
}

async fn replay_one(
    publisher: &Publisher,
    topology: &Topology,
    delivery: &Delivery,
) -> anyhow::Result<()> {
    let letter = DeadLetter::from_delivery(delivery);
    let queue = letter
        .queue
        .as_deref()
        .filter(|queue| topology.source_of_queue(queue).is_some())
        .with_context(|| match &letter.queue {
            Some(queue) => format!(
                "a {} letter names queue {}, which is not one baocao consumes",
                letter.reason,
                escape_controls(queue)
            ),
            None => format!(
                "a {} letter says nowhere which queue it came from",
                letter.reason
            ),
        })?;
    check_type_fits(topology, queue, &letter)?;
    let message = OutgoingMessage {
        exchange: "",
        routing_key: queue,
        body: &letter.body,
        headers: Some(replay_headers(delivery.properties.headers())),
    };
    publisher
        .publish_confirmed(vec![message])
        .await
        .with_context(|| {
            format!(
                "a {} letter could not be put back on {queue}",
                letter.reason
            )
        })?;
    Ok(())
}

/// A letter whose body names an event type of the other system is not put on this queue:
/// its headers may say anything (a publisher writes them), its body is what ingest would read.
/// A body without a readable type goes back (ingest will refuse it again, with its reason).
fn check_type_fits(topology: &Topology, queue: &str, letter: &DeadLetter) -> anyhow::Result<()> {
    let Some(of_body) = domain::parse::source_of_body(&letter.body) else {
        return Ok(());
    };
    match topology.source_of_queue(queue) {
        Some(of_queue) if of_queue != of_body => anyhow::bail!(
            "a {} letter holds an event of the {} system and names queue {queue}, which takes the {} system's",
            letter.reason,
            of_body.as_str(),
            of_queue.as_str()
        ),
        _ => Ok(()),
    }
}

/// `headers` without death records (`x-death`, `x-first-death-*`, `x-last-death-*`).
fn without_death_records(headers: &Option<FieldTable>) -> FieldTable {
    kept_headers(headers, |key| !is_death_record(key))
}

/// The entries of `headers` whose key `keep` accepts.
fn kept_headers(headers: &Option<FieldTable>, keep: impl Fn(&str) -> bool) -> FieldTable {
    let kept: BTreeMap<ShortString, AMQPValue> = headers
        .as_ref()
        .map(|table| {
            table
                .inner()
                .iter()
                .filter(|(key, _)| keep(key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    kept.into()
}

fn is_death_record(key: &str) -> bool {
    key == "x-death" || key.starts_with("x-first-death-") || key.starts_with("x-last-death-")
}

/// The headers a replayed message carries: its own, without the dead letter's reason and the
/// broker's death records, keeping where it was first published.
fn replay_headers(headers: &Option<FieldTable>) -> FieldTable {
    const DROPPED: [&str; 5] = [
        REASON_HEADER,
        DETAIL_HEADER,
        QUEUE_HEADER,
        UNREADABLE_HEADER,
        "x-delivery-count",
    ];
    kept_headers(headers, |key| {
        !DROPPED.contains(&key) && !is_death_record(key)
    })
}

async fn get(channel: &Channel, queue: &str) -> anyhow::Result<Option<Delivery>> {
    let message = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await
        .with_context(|| format!("Failed to read queue {queue}"))?;
    Ok(message.map(|message| message.delivery))
}
