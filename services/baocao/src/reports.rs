//! `baocao report send` and `baocao report status`: issuing a period's report by hand, and
//! what became of every revision and message.

use anyhow::Context;
use chrono::Utc;
use domain::profile::UnitProfile;
use domain::{Period, UnitCode};
use reporter::job::{self, Issued, UnitJob};

use crate::cli::PeriodArgs;
use crate::config::Settings;

/// The job settings of one configured unit.
pub fn unit_job<'a>(settings: &Settings, profile: &'a UnitProfile) -> UnitJob<'a> {
    UnitJob {
        profile,
        tz: settings.file.tz(),
        schedule: settings.schedule_for(profile),
        templates: settings.template_source(),
    }
}

/// `report send`.
pub async fn send(settings: &Settings, args: &PeriodArgs, force: bool) -> anyhow::Result<()> {
    let profile = settings
        .file
        .unit(args.unit.as_str())
        .with_context(|| format!("unit '{}' is not configured", args.unit))?;
    let now = Utc::now();
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let issued = job::issue(&pool, &unit_job(settings, profile), args.period, now, force).await?;
    match issued {
        Issued::Stored {
            revision,
            number,
            messages,
        } => println!(
            "{} {}: revision {revision}{} stored, {messages} message(s) queued",
            args.unit,
            args.period,
            number.map_or(String::new(), |n| format!(" (Số {n})")),
        ),
        Issued::AlreadyIssued { revision } => println!(
            "{} {} was already sent (revision {revision}); nothing sent. \
             Use --force to send a corrected revision.",
            args.unit, args.period
        ),
        Issued::NoEvents => println!(
            "{} {} has no events: there is no report to send",
            args.unit, args.period
        ),
        Issued::WindowOpen { closes } => anyhow::bail!(
            "the window of {} is still open (it closes {closes}): its report cannot be sent yet",
            args.period
        ),
    }
    Ok(())
}

/// `report status`.
pub async fn status(
    settings: &Settings,
    unit: Option<&UnitCode>,
    period: Option<Period>,
) -> anyhow::Result<()> {
    let units: Vec<&UnitProfile> = match unit {
        Some(code) => vec![
            settings
                .file
                .unit(code.as_str())
                .with_context(|| format!("unit '{code}' is not configured"))?,
        ],
        None => settings.file.units.iter().collect(),
    };
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 2).await?;
    let tz = settings.file.tz();
    let now = Utc::now();
    let mut any = false;
    for profile in units {
        let deliveries = store::outbox::deliveries(&pool, &profile.code, period).await?;
        for period_text in store::reports::periods(&pool, &profile.code, period).await? {
            let period: Period = period_text.parse().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let revisions = store::reports::revisions(&pool, &profile.code, period).await?;
            let out_of_date =
                job::out_of_date(&pool, &profile.code, period, tz, now, &revisions).await?;
            for revision in &revisions {
                any = true;
                let latest = Some(revision.revision) == revisions.last().map(|r| r.revision);
                let out_of_date = latest && out_of_date;
                println!(
                    "{} {} revision {} Số {} ngày {}{}",
                    profile.code,
                    period,
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
                for d in deliveries
                    .iter()
                    .filter(|d| d.period == period_text && d.revision == revision.revision)
                {
                    let detail = match d.state.as_str() {
                        "sent" => d.sent_at.map_or(String::new(), |at| format!(" at {at}")),
                        "retrying" => format!(
                            " (attempt {}; next at {}; last error: {})",
                            d.attempts,
                            d.next_attempt_at,
                            d.last_error.as_deref().unwrap_or("-")
                        ),
                        "failed" => format!(
                            " after {} attempt(s): {}",
                            d.attempts,
                            d.last_error.as_deref().unwrap_or("-")
                        ),
                        _ => String::new(),
                    };
                    println!("  {:<40} {}{detail}", d.address, d.state);
                }
            }
        }
    }
    if !any {
        println!("no report has been sent yet");
    }
    Ok(())
}
