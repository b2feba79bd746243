//! The report's cost on a large unit-period: computing the indicators and rendering the report
//! when one unit's window holds 1,000,000 stored events.
//!
//! Run with `cargo bench -p baocao-tests --bench report` (EVENTS=1000000 by default). It fills
//! a fresh database through the same parse-and-store path the ingest worker uses (batches of
//! 5,000 through `store::events::write_batch`, no broker: the broker is not what is measured
//! here), runs `VACUUM ANALYZE` as autovacuum would after such a load, then times, over
//! repeated runs:
//! - the indicators of the period (`store::indicators::for_period`, from the kept counts),
//!   target ≤ 20 ms, and counted from the items (`count_scanned`) for comparison;
//! - composing and rendering the report in each format, target ≤ 1 s for the PDF;
//! - the list of items of the window's largest figure (SPEC §5.1) through the API: its first
//!   page, target < 100 ms, and the whole list as CSV, target < 5 s.
//!
//! It prints the median and the slowest run of each.

use std::time::{Duration, Instant};

use baocao::sim;
use baocao_tests::bench::{ms, time};
use baocao_tests::{TestEnv, period, tri_qua};
use chrono::{DateTime, Utc};
use domain::{KnownUnits, ParsedEvent};
use reporter::compose;
use reporter::{Format, Renderer, TemplateSource};

const RUNS: usize = 15;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(benchmark())
}

async fn benchmark() -> anyhow::Result<()> {
    let count: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let env = TestEnv::new().await;
    let tz = env.config.tz();
    let period = period("2026-05");
    // Every event lands in May's window: the synthetic load spreads over the hour before this.
    let in_window: DateTime<Utc> = "2026-05-10T12:00:00Z".parse()?;
    let now: DateTime<Utc> = "2026-11-27T00:00:00Z".parse()?;

    let started = Instant::now();
    store_events(&env, count, in_window, now).await?;
    sqlx::query("vacuum analyze").execute(&env.pool).await?;
    eprintln!(
        "stored {count} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let unit = tri_qua();
    let indicators = time(RUNS, || async {
        store::indicators::for_period(&env.pool, &unit, period, tz, now)
            .await
            .map(|_| ())
    })
    .await?;
    let figures = store::indicators::for_period(&env.pool, &unit, period, tz, now).await?;
    // The same figures from the items themselves: what the kept counts spare.
    let window = period.window(tz);
    let units = [unit.as_str()];
    let query = store::indicators::CountQuery {
        units: &units,
        window,
        overdue_at: window.end().to_utc().min(now),
    };
    let scanned = time(RUNS, || async {
        store::indicators::count_scanned(&env.pool, query)
            .await
            .map(|_| ())
    })
    .await?;
    let kept = store::kept::count(&env.pool, query).await?;
    let from_items = store::indicators::count_scanned(&env.pool, query).await?;
    anyhow::ensure!(
        kept.as_ref() == Some(&from_items),
        "the kept counts {kept:?} differ from the items' {from_items:?}"
    );

    let profile = env.config.unit("tri-qua").expect("the shipped unit");
    let renderer = Renderer::new(TemplateSource::built_in(), "tri-qua");
    let job = env.settings().reporter_config().unwrap().job(profile);
    let composing = time(RUNS, || async {
        compose::preview(&env.pool, &job, period, now).await?;
        Ok(())
    })
    .await?;
    let content = compose::preview(&env.pool, &job, period, now).await?;
    let mut formats = Vec::new();
    for format in [Format::Text, Format::Html, Format::Docx, Format::Pdf] {
        let rendering = time(RUNS, || async {
            renderer.render(&content, format)?;
            Ok(())
        })
        .await?;
        let both = time(RUNS, || async {
            let content = compose::preview(&env.pool, &job, period, now).await?;
            renderer.render(&content, format)?;
            Ok(())
        })
        .await?;
        formats.push((format, rendering, both));
    }

    // The largest figure's list, through the API as the dashboard and a script read it.
    let largest = domain::figures::FIGURES
        .iter()
        .max_by_key(|f| (f.get)(&figures))
        .expect("figures");
    let size = (largest.get)(&figures);
    let api = env.start_api(None).await;
    let list = format!(
        "/api/units/tri-qua/items?period={period}&figure={}",
        largest.path
    );
    let first_page = time(RUNS, || async {
        let page = api.get(&format!("{list}&per_page=100")).await;
        anyhow::ensure!(page.status == 200, "{}", page.text());
        Ok(())
    })
    .await?;
    let whole_csv = time(3, || async {
        let csv = api.get(&format!("{list}&format=csv")).await;
        anyhow::ensure!(csv.status == 200, "{}", csv.text());
        let rows = csv.body.iter().filter(|b| **b == b'\n').count() as i64 - 1;
        anyhow::ensure!(
            rows == size,
            "the CSV has {rows} rows, the figure is {size}"
        );
        Ok(())
    })
    .await?;
    api.stop().await;

    println!(
        "report benchmark: {count} events stored for tri-qua {period}; {RUNS} runs each, median (slowest)"
    );
    println!(
        "  (the window holds {} documents, {} dossiers received, {} resolved, {} petitions, {} articles)",
        figures.documents.issued,
        figures.procedures.received,
        figures.procedures.resolved,
        figures.petitions.received,
        figures.articles.published
    );
    let verdict = |met: bool| if met { "met" } else { "NOT MET" };
    println!(
        "  indicators                              {:>8.1} ms ({:.1} ms)  target <= 20 ms: {}",
        ms(indicators.0),
        ms(indicators.1),
        verdict(indicators.0 <= Duration::from_millis(20))
    );
    println!(
        "  indicators counted from the items       {:>8.1} ms ({:.1} ms)",
        ms(scanned.0),
        ms(scanned.1)
    );
    println!(
        "  compose (indicators, narrative, number) {:>8.1} ms ({:.1} ms)",
        ms(composing.0),
        ms(composing.1)
    );
    for (format, rendering, (median, slowest)) in formats {
        let target = match format {
            Format::Pdf => format!(
                "  target <= 1000 ms: {}",
                verdict(median <= Duration::from_secs(1))
            ),
            _ => String::new(),
        };
        println!(
            "  render {:<4} {:>7.1} ms ({:.1} ms); compose + render {:>7.1} ms ({:.1} ms){target}",
            format.extension(),
            ms(rendering.0),
            ms(rendering.1),
            ms(median),
            ms(slowest)
        );
    }
    println!(
        "  items of {} ({size}): first page of 100 {:>7.1} ms ({:.1} ms)  target < 100 ms: {}",
        largest.path,
        ms(first_page.0),
        ms(first_page.1),
        verdict(first_page.0 < Duration::from_millis(100))
    );
    println!(
        "  items of {} ({size}): whole CSV {:>8.1} ms ({:.1} ms, 3 runs)  target < 5000 ms: {}",
        largest.path,
        ms(whole_csv.0),
        ms(whole_csv.1),
        verdict(whole_csv.0 < Duration::from_secs(5))
    );
    Ok(())
}

/// Publishes nothing: parses the synthetic load's bodies as the consumer does and writes them
/// in the consumer's batches.
async fn store_events(
    env: &TestEnv,
    count: usize,
    in_window: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let units = KnownUnits::new([tri_qua()]);
    let tz = env.config.tz();
    let mut written = 0;
    let mut seed = 7;
    while written < count {
        let chunk = (count - written).min(100_000);
        let events = sim::load_events(&[tri_qua()], chunk, in_window, tz, seed);
        seed += 1;
        let parsed: Vec<ParsedEvent> = events
            .iter()
            .map(|event| domain::parse_event(&event.body, &units, now))
            .collect::<Result<_, _>>()
            .map_err(|rejection| anyhow::anyhow!("the load has a bad event: {rejection:?}"))?;
        for batch in parsed.chunks(5_000) {
            store::events::write_batch(&env.pool, batch).await?;
        }
        written += chunk;
    }
    Ok(())
}
