//! The one-shot subcommands: `migrate`, `report show`, `sim`, `dead-letters`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use broker::Publisher;
use chrono::{DateTime, Utc};
use domain::{Period, UnitCode};
use reporter::show::Which;

use crate::cli::{Profile, SimArgs};
use crate::config::Settings;
use crate::sim::{self, SimEvent, province};

/// How long a one-shot command waits for the broker before it gives up with an error.
const BROKER_PATIENCE: Duration = Duration::from_secs(60);

/// How long a one-shot command waits before it tries the broker again after losing it.
const AGAIN_AFTER: Duration = Duration::from_secs(1);

/// `baocao migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let applied = store::db::MIGRATOR.iter().count();
    println!("the database is up to date ({applied} migrations)");
    pool.close().await;
    Ok(())
}

/// What `report show` shows.
pub struct Show<'a> {
    /// The unit.
    pub unit: &'a UnitCode,
    /// The period.
    pub period: Period,
    /// The format.
    pub format: reporter::Format,
    /// The revision as sent (the latest by default), or a draft.
    pub which: Which,
}

/// `baocao report show`: the revision as sent if there is one (as the API shows it), else a
/// draft.
pub async fn report_show(
    settings: &Settings,
    show: Show<'_>,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let reports = settings.reporter_config()?;
    let job = reports.job(crate::reports::profile(settings, show.unit)?);
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let shown = reporter::show::show(
        &pool,
        &job,
        show.period,
        show.format,
        show.which,
        Utc::now(),
    )
    .await?;
    pool.close().await;
    let shown =
        shown.with_context(|| format!("{} {} has no such revision", show.unit, show.period))?;
    match output {
        Some(path) => std::fs::write(path, shown.bytes)
            .with_context(|| format!("Failed to write {}", path.display()))?,
        None => std::io::stdout().write_all(&shown.bytes)?,
    }
    Ok(())
}

/// `baocao sim`.
pub async fn simulate(settings: &Settings, args: &SimArgs) -> anyhow::Result<()> {
    let file = &settings.file;
    let now = Utc::now();
    if let Some(path) = &args.write_config {
        anyhow::ensure!(
            args.profile == Profile::Province,
            "--write-config goes with --profile province"
        );
        return write_province_config(settings, usize::from(args.units), path);
    }
    let mut bodies = Vec::new();
    let mut body_ids = Vec::new();
    let events = match args.profile {
        Profile::Seed => {
            let unit = args.unit.as_ref().context("--profile seed needs --unit")?;
            let period = args.period.context("--profile seed needs --period")?;
            file.unit(unit.as_str())
                .with_context(|| format!("unit '{unit}' is not configured"))?;
            sim::seed_events(unit, period, file.tz(), now, sim::REFERENCE_MONTH)?
        }
        Profile::Dvcqg => {
            let unit = args.unit.as_ref().context("--profile dvcqg needs --unit")?;
            let period = args.period.context("--profile dvcqg needs --period")?;
            let profile = file
                .unit(unit.as_str())
                .with_context(|| format!("unit '{unit}' is not configured"))?;
            let agency = profile.agency_code.as_deref().with_context(|| {
                format!("unit '{unit}' has no agency_code, which the sync's madonvi names")
            })?;
            let seed = sim::seed_events(unit, period, file.tz(), now, sim::REFERENCE_MONTH)?;
            let (kept, synced, ids) = sim::dvcqg::from_seed(seed, agency, period);
            (bodies, body_ids) = (synced, ids);
            kept
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
        Profile::Province => province_events(settings, args, now)?,
    };
    let connection = broker::connect(settings.env.amqp_url.expose(), "baocao-sim").await?;
    let topology = &file.broker;
    let setup = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    broker::declare(&setup, topology).await?;
    let publisher = Publisher::open(&connection).await?;
    let started = std::time::Instant::now();
    let published = sim::publish(&publisher, topology, &events, args.rate).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "published {published} events in {seconds:.1} s ({:.0}/s)",
        published as f64 / seconds.max(1e-9)
    );
    if !bodies.is_empty() {
        let sent = sim::publish_bodies(&publisher, topology, &bodies).await?;
        println!("published {sent} DVCQG sync bodies");
    }
    broker::close(&connection, "done").await;
    if let Some(wait) = args.wait {
        let ids: Vec<uuid::Uuid> = events
            .iter()
            .map(|event| event.id)
            .chain(body_ids)
            .collect();
        wait_until_stored(settings, &ids, Duration::from_secs(wait)).await?;
    }
    Ok(())
}

/// The province profile's month for the first `--units` generated wards, with a warning (not
/// an error) for the wards the loaded configuration lacks: ingest dead-letters their events.
fn province_events(
    settings: &Settings,
    args: &SimArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<SimEvent>> {
    let tz = settings.file.tz();
    let period = args
        .period
        .unwrap_or_else(|| Period::containing(now, tz).previous());
    let wards = province::wards(usize::from(args.units));
    let known = settings.file.known_units();
    let missing: Vec<&str> = wards
        .iter()
        .map(|ward| ward.code.as_str())
        .filter(|code| known.get(code).is_none())
        .collect();
    if let Some(first) = missing.first() {
        eprintln!(
            "warning: {} of the {} generated wards ({first}, …) are not configured in {}, so \
             ingest will dead-letter their events as unknown_unit; write the province's \
             configuration with --write-config PATH and run baocao with BAOCAO_CONFIG=PATH",
            missing.len(),
            wards.len(),
            settings.config_path.display()
        );
    }
    let events = province::month_events(&wards, period, tz, now, province::SEED)?;
    println!(
        "period {period} of {} wards ({} … {}), summary {}",
        wards.len(),
        wards[0].code,
        wards[wards.len() - 1].code,
        province::SUMMARY_CODE
    );
    Ok(events)
}

/// `sim --profile province --write-config PATH`: the loaded configuration's ward repeated for
/// each generated ward, and their summary, checked as start-up checks it before it is written.
fn write_province_config(settings: &Settings, units: usize, path: &Path) -> anyhow::Result<()> {
    let base_path = &settings.config_path;
    let base = std::fs::read_to_string(base_path)
        .with_context(|| format!("Failed to read {}", base_path.display()))?;
    let text = province::config(&base, units)
        .with_context(|| format!("Failed to make a province from {}", base_path.display()))?;
    crate::config::parse_file(path, &text)?;
    std::fs::write(path, &text).with_context(|| format!("Failed to write {}", path.display()))?;
    println!(
        "wrote {}: {units} wards and their summary {}; run baocao with BAOCAO_CONFIG={0}, then \
         publish their month with `baocao sim --profile province --units {units}`",
        path.display(),
        province::SUMMARY_CODE
    );
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

/// Runs `work` on a connection to the broker, within [`BROKER_PATIENCE`]. When the connection
/// is lost under it (a node of the cluster went down; a queue whose leader was on that node
/// answers `nodedown` until the others elect a new one, a matter of seconds), it runs again on
/// a new connection, which the node list sends to a node that answers. What `work` did before
/// is safe to repeat: letters it had not acknowledged go back to their queue, and an event
/// replayed twice is stored once.
async fn with_the_broker<T>(
    settings: &Settings,
    mut work: impl AsyncFnMut(&broker::Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let url = settings.env.amqp_url.expose();
    let deadline = tokio::time::Instant::now() + BROKER_PATIENCE;
    loop {
        let attempt = async {
            let connection = broker::connect(url, "baocao-dead-letters").await?;
            let outcome = work(&connection).await;
            broker::close(&connection, "done").await;
            outcome
        };
        let outcome = tokio::time::timeout_at(deadline, attempt)
            .await
            .context("the broker did not answer within 60 s")?;
        match outcome {
            Err(error)
                if broker::lost_the_connection(&error)
                    && tokio::time::Instant::now() + AGAIN_AFTER < deadline =>
            {
                tracing::warn!(error = %format!("{error:#}"), "lost the broker; trying again");
                tokio::time::sleep(AGAIN_AFTER).await;
            }
            outcome => return outcome,
        }
    }
}

/// `baocao dead-letters list`.
pub async fn dead_letters_list(settings: &Settings, limit: usize) -> anyhow::Result<()> {
    let topology = &settings.file.broker;
    let letters = with_the_broker(settings, async |connection| {
        ingest::dead_letter::list(connection, &topology.dead_queue, limit).await
    })
    .await?;
    if letters.is_empty() {
        println!("no dead letters in {}", topology.dead_queue);
    }
    // Everything printed came from outside: control characters are written as escapes, so a
    // letter cannot move the cursor or change the terminal.
    let printable = domain::text::escape_controls;
    for letter in &letters {
        println!(
            "{}\t{} {}\t{}\t{}",
            printable(&letter.reason),
            printable(&letter.exchange),
            printable(&letter.routing_key),
            printable(&letter.detail),
            domain::text::printable_excerpt(&letter.body, 160)
        );
    }
    Ok(())
}

/// `baocao dead-letters replay`.
pub async fn dead_letters_replay(settings: &Settings) -> anyhow::Result<()> {
    let topology = &settings.file.broker;
    let outcome = with_the_broker(settings, async |connection| {
        ingest::dead_letter::replay(connection, topology).await
    })
    .await?;
    println!(
        "replayed {} dead letters; {} left in {}",
        outcome.replayed,
        outcome.left.len(),
        topology.dead_queue
    );
    for why in &outcome.left {
        println!("  left: {}", domain::text::escape_controls(why));
    }
    Ok(())
}
