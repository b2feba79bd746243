//! Live-counter latency: from publishing an event to seeing it counted on the Server-Sent
//! Events stream, at a sustained rate, against the broker's own publish-to-consume latency at
//! the same rate measured in the same run.
//!
//! Run with `cargo bench -p baocao-tests --bench live` (RATE=5000 events/s for SECONDS=60 by
//! default; BROKER_SECONDS=20 for the broker alone). On a fresh database and vhost:
//! 1. the broker alone: a plain consumer on a quorum queue of the same vhost receives messages
//!    published at the rate, each carrying its publish time; latency = receipt − publish;
//! 2. baocao: `baocao run --target all` (release build, a separate process) consumes
//!    `procedure.received` events published at the rate, each a new dossier in the open
//!    window, while this process reads `/api/units/tri-qua/stream`. The k-th event is counted
//!    when a document first shows `procedures.received` ≥ k; its latency is that document's
//!    arrival − the k-th event's publish. (Events commit in batches and the stream coalesces,
//!    so this is the latency a person watching the dashboard sees.)
//!
//! It prints the percentiles of both, the ratio, the updates the stream sent per second, and
//! whether p99 ≤ 250 ms holds.

use std::path::Path;
use std::time::{Duration, Instant};

use baocao_tests::TestEnv;
use baocao_tests::http::Request;
use broker::{OutgoingMessage, Publisher};
use chrono::{SecondsFormat, TimeDelta, Utc};
use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Value, json};

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(benchmark())
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn benchmark() -> anyhow::Result<()> {
    let rate = setting("RATE", 5000);
    let seconds = setting("SECONDS", 60);
    let broker_seconds = setting("BROKER_SECONDS", 20);
    let env = TestEnv::new().await;

    let broker_alone = broker_latency(&env, rate, broker_seconds).await?;
    let live = baocao_latency(&env, rate, seconds).await?;

    println!(
        "live benchmark: {rate} events/s, one SSE client, baocao run --target all (release) on this machine"
    );
    let line = |what: &str, latencies: &mut Vec<Duration>| {
        latencies.sort();
        let p = |q: f64| {
            let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies[index].as_secs_f64() * 1000.0
        };
        println!(
            "{what:<52} p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} events)",
            p(0.5),
            p(0.9),
            p(0.99),
            p(1.0),
            latencies.len()
        );
        (p(0.5), p(0.99))
    };
    let mut broker_latencies = broker_alone;
    let (broker_p50, broker_p99) = line(
        &format!("broker alone, publish -> consume ({broker_seconds} s)"),
        &mut broker_latencies,
    );
    let mut latencies = live.latencies;
    let (p50, p99) = line(
        &format!("baocao, publish -> counted on the stream ({seconds} s)"),
        &mut latencies,
    );
    println!(
        "published {} events in {:.1} s ({:.0}/s); the stream sent {} updates ({:.1}/s)",
        live.published,
        live.publishing.as_secs_f64(),
        live.published as f64 / live.publishing.as_secs_f64(),
        live.updates,
        live.updates as f64 / live.publishing.as_secs_f64()
    );
    println!(
        "ratio to the broker alone: p50 {:.1}x, p99 {:.1}x",
        p50 / broker_p50.max(0.001),
        p99 / broker_p99.max(0.001)
    );
    println!(
        "target p99 <= 250 ms: {}",
        if p99 <= 250.0 { "met" } else { "NOT MET" }
    );
    Ok(())
}

/// Publishes `rate` messages a second for `seconds`, in slices every 10 ms, calling `make` for
/// each message's body and `published` with each slice's first index and publish instant.
async fn paced<F, G>(
    publisher: &Publisher,
    exchange: &str,
    routing_key: &str,
    rate: u64,
    seconds: u64,
    mut make: F,
    mut published: G,
) -> anyhow::Result<(u64, Duration)>
where
    F: FnMut(u64, Instant) -> Vec<u8>,
    G: FnMut(u64, u64, Instant),
{
    let total = rate * seconds;
    let started = Instant::now();
    let mut sent = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        if due <= sent {
            continue;
        }
        let now = Instant::now();
        let bodies: Vec<Vec<u8>> = (sent..due).map(|k| make(k, now)).collect();
        let messages = bodies
            .iter()
            .map(|body| OutgoingMessage {
                exchange,
                routing_key,
                body,
                headers: None,
            })
            .collect();
        published(sent, due, now);
        publisher.publish_confirmed(messages).await?;
        sent = due;
    }
    Ok((sent, started.elapsed()))
}

/// The broker alone: publish to a quorum queue, consume, compare.
async fn broker_latency(env: &TestEnv, rate: u64, seconds: u64) -> anyhow::Result<Vec<Duration>> {
    let broker = env.broker().await;
    let channel = broker.connection.create_channel().await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    let queue = "bench.latency";
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await?;
    channel
        .basic_qos(2000, lapin::options::BasicQosOptions::default())
        .await?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let origin = Instant::now();
    let total = rate * seconds;
    let receiving = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(total as usize);
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery?;
            let arrived = origin.elapsed();
            let sent_nanos: u64 = std::str::from_utf8(&delivery.data)?.parse()?;
            latencies.push(arrived.saturating_sub(Duration::from_nanos(sent_nanos)));
            delivery.acker.ack(BasicAckOptions::default()).await?;
            if latencies.len() as u64 == total {
                break;
            }
        }
        anyhow::Ok(latencies)
    });
    let publisher = Publisher::open(&broker.connection).await?;
    paced(
        &publisher,
        "",
        queue,
        rate,
        seconds,
        |_, at| (at - origin).as_nanos().to_string().into_bytes(),
        |_, _, _| {},
    )
    .await?;
    let latencies = tokio::time::timeout(Duration::from_secs(60), receiving).await???;
    channel.close(200, "done".into()).await.ok();
    broker.close().await;
    Ok(latencies)
}

struct Live {
    latencies: Vec<Duration>,
    published: u64,
    publishing: Duration,
    updates: u64,
}

/// baocao: publish dossiers, read the stream, match counts to publish times.
async fn baocao_latency(env: &TestEnv, rate: u64, seconds: u64) -> anyhow::Result<Live> {
    let binary = Path::new(env!("CARGO_BIN_EXE_baocao-under-test"));
    let (mut child, address) = env.spawn_listening(binary, &["run"], &[]).await;
    // The queues are declared by ingest: wait until it consumes.
    let broker = env.broker().await;
    while env.queue_depth(&env.config.broker.portal_queue).await > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut stream = Request::get("/api/units/tri-qua/stream")
        .events(&address)
        .await;
    let first = stream
        .next(Duration::from_secs(10))
        .await
        .ok_or_else(|| anyhow::anyhow!("no first document on the stream"))?;
    let base = received_count(&first.data)?;
    let total = rate * seconds;
    let reading = tokio::spawn(async move {
        let mut seen: Vec<(Instant, u64)> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(seconds + 60);
        while Instant::now() < deadline {
            let Some(event) = stream.next(Duration::from_secs(5)).await else {
                continue;
            };
            let count = received_count(&event.data)?.saturating_sub(base);
            seen.push((Instant::now(), count));
            if count >= total {
                break;
            }
        }
        anyhow::Ok(seen)
    });
    let due = (Utc::now() + TimeDelta::days(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut publish_times: Vec<Instant> = Vec::with_capacity(total as usize);
    let (published, publishing) = paced(
        &broker.publisher,
        &env.config.broker.portal_exchange,
        "procedure.received",
        rate,
        seconds,
        |k, _| {
            let event = json!({
                "id": uuid::Uuid::new_v4(), "type": "procedure.received",
                "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                "unit": "tri-qua",
                "data": {"dossier_id": format!("BENCH-{k}"), "channel": "online",
                         "due_at": due, "digitized": true},
            });
            serde_json::to_vec(&event).unwrap_or_default()
        },
        |from, to, at| publish_times.extend((from..to).map(|_| at)),
    )
    .await?;
    let seen = reading.await??;
    broker.close().await;
    let pid = child.id().unwrap_or_default();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    child.wait().await?;

    let mut latencies = Vec::with_capacity(publish_times.len());
    let mut counted = 0usize;
    for (at, count) in &seen {
        while counted < (*count as usize).min(publish_times.len()) {
            latencies.push(at.saturating_duration_since(publish_times[counted]));
            counted += 1;
        }
    }
    anyhow::ensure!(
        counted == publish_times.len(),
        "the stream showed {counted} of {} events",
        publish_times.len()
    );
    Ok(Live {
        latencies,
        published,
        publishing,
        updates: seen.len() as u64,
    })
}

fn received_count(data: &str) -> anyhow::Result<u64> {
    let doc: Value = serde_json::from_str(data)?;
    doc["procedures"]["received"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no procedures.received in {data}"))
}
