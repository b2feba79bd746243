//! `baocao report send` and `baocao report status`: issuing a period's report by hand, and
//! what became of every revision and message.

use chrono::Utc;
use domain::profile::UnitProfile;
use domain::text::escape_controls;
use domain::{Period, UnitCode};
use reporter::job::{self, Issued, Resend};

use crate::cli::{ItemsFormat, PeriodArgs};
use crate::config::Settings;
use crate::entry::Declined;

/// The configured unit `code`.
pub fn profile<'a>(settings: &'a Settings, code: &UnitCode) -> anyhow::Result<&'a UnitProfile> {
    settings
        .file
        .unit(code.as_str())
        .ok_or_else(|| anyhow::anyhow!("unit '{code}' is not configured"))
}

/// `report send`: prints what was stored, or fails with the outcome's own exit status
/// ([`Declined`]) when nothing was.
pub async fn send(settings: &Settings, args: &PeriodArgs, resend: Resend) -> anyhow::Result<()> {
    let reports = settings.reporter_config()?;
    let job = reports.job(profile(settings, &args.unit)?);
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let issued = job::issue_as(&pool, &job, args.period, Utc::now(), resend, &cli_actor()).await?;
    let said = issued.explain(args.unit.as_str(), args.period);
    match issued {
        Issued::Stored { .. } => {
            println!("{said}");
            Ok(())
        }
        refused => Err(Declined::new(refused.code(), said).into()),
    }
}

/// `report status`: every unit and summary (or the one `--unit` names), each period with a
/// report and the state the reporter judges it in, then the period asked for (or the last one
/// closed) if it has none.
pub async fn status(
    settings: &Settings,
    unit: Option<&UnitCode>,
    period: Option<Period>,
) -> anyhow::Result<()> {
    let reports = settings.reporter_config()?;
    let profiles: Vec<&UnitProfile> = match unit {
        Some(code) => vec![
            reports
                .unit(code.as_str())
                .ok_or_else(|| anyhow::anyhow!("unit '{code}' is not configured"))?,
        ],
        None => reports.issuers().collect(),
    };
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let now = Utc::now();
    let wait = reports.backlog_wait;
    let last_closed = Period::containing(now, reports.tz).previous();
    for profile in profiles {
        let job = reports.job(profile);
        let periods = reporter::status::reports(&pool, &job, period, usize::MAX, now, wait).await?;
        for period in &periods {
            print_period(&profile.code, period);
        }
        let asked = period.unwrap_or(last_closed);
        if !periods.iter().any(|p| p.period == asked) {
            let judged = reporter::state::of_period(&pool, &job, asked, now, wait).await?;
            println!("{} {asked} {}", profile.code, judged.view.describe());
        }
    }
    Ok(())
}

fn print_period(unit: &UnitCode, period: &reporter::status::PeriodReports) {
    println!("{unit} {} {}", period.period, period.report.describe());
    let latest = period.revisions.last().map(|r| r.revision);
    for revision in &period.revisions {
        let out_of_date = period.out_of_date && Some(revision.revision) == latest;
        println!(
            "{unit} {} revision {} Số {} ngày {}{}",
            period.period,
            revision.revision,
            revision
                .number
                .map_or("(để trống)".to_owned(), |n| n.to_string()),
            revision.issued_on,
            if out_of_date {
                " OUT OF DATE: events arrived after sending; `report send --force` sends a correction"
            } else {
                ""
            }
        );
        match (&revision.signed_by, revision.signature_valid_until) {
            (Some(by), Some(until)) => println!(
                "  signed by {} (certificate valid until {until}{})",
                escape_controls(by),
                if revision.timestamped == Some(true) {
                    ", time-stamped"
                } else {
                    ""
                }
            ),
            _ => println!("  not signed"),
        }
        for d in &revision.deliveries {
            let detail = match d.state.as_str() {
                "sent" => d.sent_at.map_or(String::new(), |at| format!(" at {at}")),
                // The error is the mail server's words: printed with control characters escaped.
                "retrying" => format!(
                    " (attempt {}; next at {}; last error: {})",
                    d.attempts,
                    d.next_attempt_at,
                    escape_controls(d.last_error.as_deref().unwrap_or("-"))
                ),
                "failed" => format!(
                    " after {} attempt(s): {}",
                    d.attempts,
                    escape_controls(d.last_error.as_deref().unwrap_or("-"))
                ),
                _ => String::new(),
            };
            println!("  {:<40} {}{detail}", d.address, d.state);
        }
    }
}

/// What `report items` asks for.
#[derive(Debug, Clone, Copy)]
pub struct ItemsAsked<'a> {
    /// The figure's path.
    pub figure: &'a str,
    /// An issued revision, or now.
    pub revision: Option<i32>,
    /// How to write the list.
    pub format: ItemsFormat,
}

/// `report items`: the items a figure counts, as a table, CSV or a workbook, on standard output
/// or into `output`. A revision issued before items were kept declines with exit status 9
/// (`items_not_kept`).
pub async fn items(
    settings: &Settings,
    args: &PeriodArgs,
    asked: ItemsAsked<'_>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use reporter::items::{ListRequest, Refusal};
    use std::io::Write;
    let figure = domain::figures::figure(asked.figure).with_context(|| {
        let paths: Vec<&str> = domain::figures::FIGURES.iter().map(|f| f.path).collect();
        format!(
            "'{}' is not a figure: one of {}",
            asked.figure,
            paths.join(", ")
        )
    })?;
    let reports = settings.reporter_config()?;
    let job = reports.job(
        reports
            .unit(args.unit.as_str())
            .ok_or_else(|| anyhow::anyhow!("unit '{}' is not configured", args.unit))?,
    );
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let request = ListRequest {
        period: args.period,
        figure,
        revision: asked.revision,
    };
    let resolved = match reporter::items::resolve(&pool, &job, &request, Utc::now()).await? {
        Ok(resolved) => resolved,
        Err(refusal @ Refusal::NotKept { .. }) => {
            return Err(Declined::new("items_not_kept", refusal.to_string()).into());
        }
        Err(refusal) => return Err(anyhow::Error::from(refusal)),
    };
    let items = resolved.all(&pool, store::items::Order::default()).await?;
    pool.close().await;
    let kind = figure.kind;
    let bytes = match asked.format {
        ItemsFormat::Xlsx => {
            reporter::items::workbook(&job.profile.code, &request, &items, job.tz)?
        }
        ItemsFormat::Csv => {
            let mut text = reporter::items::csv_header(kind);
            for item in &items {
                text.push_str(&reporter::items::csv_row(kind, item, job.tz));
            }
            text.into_bytes()
        }
        ItemsFormat::Text => items_table(&job.profile.code, &request, &items, job.tz).into_bytes(),
    };
    match output {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("Failed to write {}", path.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// The list as a terminal table: a title with the count, then the columns' titles and the
/// items, each column as wide as its widest cell.
fn items_table(
    unit: &UnitCode,
    request: &reporter::items::ListRequest,
    items: &[reporter::items::Item],
    tz: chrono_tz::Tz,
) -> String {
    let columns = reporter::items::columns(request.figure.kind);
    let mut rows: Vec<Vec<String>> = vec![columns.iter().map(|c| c.title.to_owned()).collect()];
    rows.extend(items.iter().map(|item| {
        columns
            .iter()
            .map(|c| escape_controls(&(c.text)(item, tz)))
            .collect()
    }));
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let revision = request
        .revision
        .map_or("as the figures stand now".to_owned(), |r| {
            format!("as revision {r} counted them")
        });
    let mut out = format!(
        "{unit} {} {} ({} — {}): {} item(s), {revision}\n",
        request.period,
        request.figure.path,
        request.figure.group,
        request.figure.label,
        items.len()
    );
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Who the audit list names for the command line: `cli:<os user>` (`USER`, else `LOGNAME`,
/// else `unknown`).
pub fn cli_actor() -> store::audit::Actor {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    store::audit::Actor::cli(&user)
}
