//! A province's standing costs: what the scheduler, the pipeline view and the unit list cost
//! with 10 and with 100 configured wards, each with 24 months of history (events, an issued
//! report a month with its messages sent), and the department's summary. SPEC §12 asks that
//! they grow with the work due or shown, not with units × months.
//!
//! Run with `cargo bench -p baocao-tests --bench province` (UNITS="10 100", MONTHS=24 by
//! default). For each size it fills a fresh database through the store's own paths (events in
//! the consumer's batches, reports through `store::reports::insert`), then times, over repeated
//! runs:
//! - a scheduler step with nothing due (`reporter::scheduler::step`);
//! - `GET /api/pipeline`, `GET /api/units` and `GET /api/overview` from an API served in this
//!   process;
//! - `report status` of one ward (`reporter::status`), which shows every month.
//!
//! It prints the median and the slowest run of each, and each figure's growth from the first
//! size to the last.

use std::time::{Duration, Instant};

use baocao::sim::{self, SeedTotals, province};
use baocao_tests::bench::{ms, time};
use baocao_tests::{TestEnv, repo_root, shipped_config_text};
use chrono::{DateTime, Utc};
use domain::{KnownUnits, ParsedEvent, Period, UnitCode};
use store::reports::{Addressee, NewReport};

const RUNS: usize = 30;
const TOKEN: &str = "province-benchmark-token-0123456789abcdef";

/// Each ward's month in the history: small, the history's size is in its months.
const MONTH: SeedTotals = SeedTotals {
    documents: 10,
    petitions: 2,
    online: 20,
    direct: 5,
    resolved_early: 22,
    articles: 3,
};

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(benchmark())
}

/// The medians and slowest runs of one size.
struct Figures {
    units: usize,
    rows: Vec<(&'static str, Duration, Duration)>,
}

async fn benchmark() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("UNITS")
        .unwrap_or_else(|_| "10 100".into())
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let months: u32 = std::env::var("MONTHS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut all = Vec::new();
    for units in sizes {
        all.push(measure(units, months).await?);
    }
    println!(
        "province benchmark: {months} months of history, every report issued and sent; \
         {RUNS} runs each, median (slowest)"
    );
    for figures in &all {
        println!("  {} units", figures.units);
        for (name, median, slowest) in &figures.rows {
            println!(
                "    {name:<34} {:>8.2} ms ({:.2} ms)",
                ms(*median),
                ms(*slowest)
            );
        }
    }
    if let (Some(first), Some(last)) = (all.first(), all.last())
        && first.units != last.units
    {
        println!(
            "  growth from {} to {} units (median)",
            first.units, last.units
        );
        for ((name, small, _), (_, large, _)) in first.rows.iter().zip(&last.rows) {
            println!(
                "    {name:<34} × {:.2}",
                large.as_secs_f64() / small.as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn measure(units: usize, months: u32) -> anyhow::Result<Figures> {
    let text = province::config(&shipped_config_text(), units)?;
    let config = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text)?;
    let env = TestEnv::with_config(config).await;
    let tz = env.config.tz();
    // After the last month's summary went out on the 20th: nothing is due.
    let now: DateTime<Utc> = "2026-11-25T00:00:00Z".parse()?;
    let last = Period::containing(now, tz).previous().next(); // 2026-11
    let mut periods = vec![last];
    while periods.len() < months as usize {
        let earliest = periods[periods.len() - 1];
        periods.push(earliest.previous());
    }
    periods.reverse();

    let started = Instant::now();
    let wards = province::wards(units);
    let codes: Vec<UnitCode> = wards.iter().map(|w| w.code.clone()).collect();
    store_history(&env, &codes, &periods, now).await?;
    let reports = env.settings().reporter_config()?;
    issue_history(&env, &reports, &periods, now).await?;
    sqlx::query("vacuum analyze").execute(&env.pool).await?;
    eprintln!(
        "{units} units: {} months of history stored in {:.1} s",
        periods.len(),
        started.elapsed().as_secs_f64()
    );

    let jobs: Vec<_> = reports.issuers().map(|p| reports.job(p)).collect();
    let step = time(RUNS, || async {
        let done = reporter::scheduler::step(&env.pool, &jobs, now, Duration::ZERO).await?;
        anyhow::ensure!(done.is_empty(), "something was due: {done:?}");
        Ok(())
    })
    .await?;
    let api = env.start_api(Some(TOKEN)).await;
    let mut rows = vec![("scheduler step, nothing due", step.0, step.1)];
    for path in ["/api/pipeline", "/api/units", "/api/overview"] {
        let (median, slowest) = time(RUNS, || async {
            let response = api.get(path).await;
            anyhow::ensure!(response.status == 200, "{path}: {}", response.status);
            Ok(())
        })
        .await?;
        rows.push((path, median, slowest));
    }
    let ward = reports.job(reports.unit(codes[0].as_str()).expect("a ward"));
    let status = time(RUNS, || async {
        let wait = reports.backlog_wait;
        let shown = reporter::status::reports(&env.pool, &ward, None, 36, now, wait).await?;
        anyhow::ensure!(shown.len() == periods.len(), "{} periods", shown.len());
        Ok(())
    })
    .await?;
    rows.push(("report status of one ward", status.0, status.1));
    api.stop().await;
    Ok(Figures { units, rows })
}

/// Every ward's month of every period, parsed as the consumer parses and written in its
/// batches.
async fn store_history(
    env: &TestEnv,
    codes: &[UnitCode],
    periods: &[Period],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let known = KnownUnits::new(codes.iter().cloned());
    let mut parsed: Vec<ParsedEvent> = Vec::new();
    for period in periods {
        for code in codes {
            for event in sim::seed_events(code, *period, env.config.tz(), now, MONTH)? {
                let event = domain::parse_event(&event.body, &known, now)
                    .map_err(|rejection| anyhow::anyhow!("a bad event: {rejection:?}"))?;
                parsed.push(event);
            }
            if parsed.len() >= 5_000 {
                store::events::write_batch(&env.pool, &parsed).await?;
                parsed.clear();
            }
        }
    }
    store::events::write_batch(&env.pool, &parsed).await?;
    Ok(())
}

/// A report for every ward and the summary in every period, its messages sent, and every
/// issuer settled through the last period: the state of a province after two years. The
/// reports' bytes are one rendering's, reused (their size, not their words, is what costs).
async fn issue_history(
    env: &TestEnv,
    reports: &reporter::service::ReporterConfig,
    periods: &[Period],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let first = reports.units.first().expect("a ward");
    let sample =
        reporter::compose::preview(&env.pool, &reports.job(first), periods[0], now).await?;
    let renderer = reporter::Renderer::new(reporter::TemplateSource::built_in(), "sample");
    let render = |format| renderer.render(&sample, format);
    let report = |revision_of: Period| NewReport {
        revision: 1,
        number: Some(revision_of.month()),
        issued_on: revision_of.window(env.config.tz()).end().date_naive(),
        indicators: sample.figures.document(),
        mail_from: first.mail_from.clone(),
        subject: "Báo cáo".into(),
        body_text: String::from_utf8(render(reporter::Format::Text).unwrap_or_default())
            .unwrap_or_default(),
        body_html: String::new(),
        docx: render(reporter::Format::Docx).unwrap_or_default(),
        pdf: render(reporter::Format::Pdf).unwrap_or_default(),
        xlsx: render(reporter::Format::Xlsx).unwrap_or_default(),
        signature: None,
    };
    let issuers: Vec<UnitCode> = reports.issuers().map(|p| p.code.clone()).collect();
    for period in periods {
        let new = report(*period);
        for code in &issuers {
            let addressees: Vec<Addressee> = (0..5)
                .map(|i| Addressee {
                    address: format!("{i}.{code}@example.gov.vn"),
                    label: "Nơi nhận".into(),
                    message_id: format!("<{code}.{period}.{i}@bench>"),
                })
                .collect();
            let mut tx = store::reports::begin_job(&env.pool, code, *period).await?;
            store::reports::insert(&mut tx, code, *period, &new, &addressees, now).await?;
            tx.commit().await?;
        }
    }
    sqlx::query("update outbox set state = 'sent', sent_at = $1, attempts = 1")
        .bind(now)
        .execute(&env.pool)
        .await?;
    let configured: DateTime<Utc> = periods[0].window(env.config.tz()).start().to_utc();
    store::reports::register(&env.pool, &issuers, configured).await?;
    let last = periods[periods.len() - 1];
    for code in &issuers {
        store::reports::settle(&env.pool, code, last).await?;
    }
    Ok(())
}
