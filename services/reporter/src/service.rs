//! The reporter target (`baocao run --target reporter`): repeats the scheduler's step
//! ([`job::issue_due_reports`]) every half minute and drains the outbox with the sender in
//! between, until told to stop. Failures are logged once per change of state and retried on
//! the next round; they never stop the loop.

use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use domain::profile::UnitProfile;
use store::PgPool;
use tokio::sync::watch;

use crate::TemplateSource;
use crate::compose::Schedule;
use crate::job::{self, Issued, UnitJob};
use crate::sender::Sender;

/// How often due reports are looked for.
const SCHEDULE_EVERY: Duration = Duration::from_secs(30);
/// How long the sender rests when the outbox has nothing due.
const IDLE: Duration = Duration::from_secs(5);

/// What the reporter needs.
pub struct ReporterConfig {
    /// The configured units.
    pub units: Vec<UnitProfile>,
    /// The deployment's time zone.
    pub tz: Tz,
    /// When reports are sent, unless a unit has its own schedule.
    pub schedule: Schedule,
    /// Where templates come from.
    pub templates: TemplateSource,
}

impl ReporterConfig {
    /// The job settings of `profile`, one of the configured units.
    pub fn job<'a>(&self, profile: &'a UnitProfile) -> UnitJob<'a> {
        UnitJob {
            profile,
            tz: self.tz,
            schedule: self.schedule.for_unit(profile),
            templates: self.templates.clone(),
        }
    }
}

/// Runs the reporter until `stop` turns true; returns after the message in flight.
pub async fn run(
    pool: PgPool,
    config: ReporterConfig,
    sender: Sender,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let jobs: Vec<UnitJob<'_>> = config.units.iter().map(|p| config.job(p)).collect();
    let mut next_schedule = tokio::time::Instant::now();
    let mut failing = false;
    while !*stop.borrow() {
        if tokio::time::Instant::now() >= next_schedule {
            next_schedule += SCHEDULE_EVERY;
            match job::issue_due_reports(&pool, &jobs, Utc::now()).await {
                Ok(done) => {
                    for (unit, period, issued) in done {
                        if let Issued::Stored { .. } = issued {
                            tracing::info!(%unit, %period, ?issued, "report issued on schedule");
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "issuing due reports failed")
                }
            }
        }
        while !*stop.borrow() {
            match sender.send_next(&pool, Utc::now()).await {
                Ok(Some(_)) => failing = false,
                Ok(None) => break,
                Err(error) => {
                    if !failing {
                        tracing::error!(
                            error = format!("{error:#}"),
                            "the outbox is unavailable; retrying"
                        );
                    }
                    failing = true;
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(IDLE) => {}
            _ = stop.changed() => {}
        }
    }
    Ok(())
}
