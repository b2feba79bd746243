//! The one-shot subcommands: `migrate`, `report show`, `sim`, `dead-letters`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use domain::{Period, UnitCode};
use ingest::broker::{self, Publisher};

use crate::cli::{Format, Profile, SimArgs};
use crate::config::Settings;
use crate::sim;

/// How long a one-shot command waits for the broker before it gives up with an error.
const BROKER_PATIENCE: Duration = Duration::from_secs(60);

/// `baocao migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let applied = store::db::MIGRATOR.iter().count();
    println!("the database is up to date ({applied} migrations)");
    pool.close().await;
    Ok(())
}

/// `baocao report show`.
pub async fn report_show(
    settings: &Settings,
    unit: &UnitCode,
    period: Period,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let profile = settings
        .file
        .unit(unit.as_str())
        .with_context(|| format!("unit '{unit}' is not configured"))?;
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let tz = settings.file.tz();
    let bytes = match format.report_format() {
        None => {
            let indicators =
                store::indicators::for_period(&pool, unit, period, tz, Utc::now()).await?;
            let mut json = serde_json::to_string_pretty(&indicators)?;
            json.push('\n');
            json.into_bytes()
        }
        Some(format) => {
            let job = crate::reports::unit_job(settings, profile);
            let content = reporter::compose::preview(&pool, &job, period, Utc::now()).await?;
            reporter::Renderer::new(settings.template_source(), unit.as_str())
                .render(&content, format)?
        }
    };
    pool.close().await;
    match output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("Failed to write {}", path.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// `baocao sim`.
pub async fn simulate(settings: &Settings, args: &SimArgs) -> anyhow::Result<()> {
    let file = &settings.file;
    let now = Utc::now();
    let events = match args.profile {
        Profile::Seed => {
            let unit = args.unit.as_ref().context("--profile seed needs --unit")?;
            let period = args.period.context("--profile seed needs --period")?;
            file.unit(unit.as_str())
                .with_context(|| format!("unit '{unit}' is not configured"))?;
            sim::seed_events(unit, period, file.tz(), now, sim::REFERENCE_MONTH)?
        }
        Profile::Load => {
            let units: Vec<UnitCode> = match &args.unit {
                Some(unit) => vec![unit.clone()],
                None => file.known_units().iter().cloned().collect(),
            };
            sim::load_events(
                &units,
                args.events,
                now,
                file.tz(),
                now.timestamp_millis() as u64,
            )
        }
    };
    let connection = broker::connect(settings.env.amqp_url.expose(), "baocao-sim").await?;
    let topology = file.broker.topology();
    let setup = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    broker::declare(&setup, &topology).await?;
    let publisher = Publisher::open(&connection).await?;
    let started = std::time::Instant::now();
    let published = sim::publish(&publisher, &topology, &events, args.rate).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "published {published} events in {seconds:.1} s ({:.0}/s)",
        published as f64 / seconds.max(1e-9)
    );
    broker::close(&connection, "done").await;
    if let Some(wait) = args.wait {
        let ids: Vec<uuid::Uuid> = events.iter().map(|event| event.id).collect();
        wait_until_stored(settings, &ids, Duration::from_secs(wait)).await?;
    }
    Ok(())
}

async fn wait_until_stored(
    settings: &Settings,
    ids: &[uuid::Uuid],
    limit: Duration,
) -> anyhow::Result<()> {
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        let stored = store::health::stored_count(&pool, ids).await?;
        if stored as usize >= ids.len() {
            println!("all {} events are stored", ids.len());
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "only {stored} of {} events were stored within {} s: is `baocao run` consuming?",
            ids.len(),
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `baocao dead-letters list`.
pub async fn dead_letters_list(settings: &Settings, limit: usize) -> anyhow::Result<()> {
    let connection = broker::connect(settings.env.amqp_url.expose(), "baocao-dead-letters").await?;
    let topology = settings.file.broker.topology();
    let listing = ingest::dead_letter::list(&connection, &topology.dead_queue, limit);
    let letters = tokio::time::timeout(BROKER_PATIENCE, listing)
        .await
        .context("the broker did not answer within 60 s")??;
    broker::close(&connection, "done").await;
    if letters.is_empty() {
        println!("no dead letters in {}", topology.dead_queue);
    }
    for letter in &letters {
        let body = String::from_utf8_lossy(&letter.body);
        let excerpt: String = body.chars().take(160).collect();
        println!(
            "{}\t{} {}\t{}\t{}",
            letter.reason,
            letter.exchange,
            letter.routing_key,
            letter.detail,
            excerpt.replace('\n', " ")
        );
    }
    Ok(())
}

/// `baocao dead-letters replay`.
pub async fn dead_letters_replay(settings: &Settings) -> anyhow::Result<()> {
    let connection = broker::connect(settings.env.amqp_url.expose(), "baocao-dead-letters").await?;
    let topology = settings.file.broker.topology();
    let replay = ingest::dead_letter::replay(&connection, &topology.dead_queue);
    let (replayed, left) = tokio::time::timeout(BROKER_PATIENCE, replay)
        .await
        .context("the broker did not answer within 60 s")??;
    broker::close(&connection, "done").await;
    println!(
        "replayed {replayed} dead letters; {left} without an origin left in {}",
        topology.dead_queue
    );
    Ok(())
}
