//! The reporter target (`baocao run --target reporter`): repeats the scheduler's step
//! ([`job::issue_due_reports`]) every half minute and drains the outbox with the sender in
//! between, until told to stop. Failures are logged once per change of state and retried on
//! the next round; they never stop the loop.

use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use domain::profile::UnitProfile;
use domain::schedule::Schedule;
use lifecycle::{Shutdown, Streak};
use store::PgPool;

use crate::TemplateSource;
use crate::job::{self, Issued, UnitJob};
use crate::sender::Sender;

/// How often due reports are looked for.
const SCHEDULE_EVERY: Duration = Duration::from_secs(30);
/// How long the sender rests when the outbox has nothing due.
const IDLE: Duration = Duration::from_secs(5);

/// What the reporter (and the API and the command line, which issue and render on request)
/// know of the units.
pub struct ReporterConfig {
    /// The configured units.
    pub units: Vec<UnitProfile>,
    /// The deployment's time zone.
    pub tz: Tz,
    /// The deployment's `[schedule]`, for units without their own.
    pub schedule: Schedule,
    /// Where templates come from.
    pub templates: TemplateSource,
}

impl ReporterConfig {
    /// The configured unit with this code.
    pub fn unit(&self, code: &str) -> Option<&UnitProfile> {
        self.units
            .iter()
            .find(|profile| profile.code.as_str() == code)
    }

    /// The job settings of `profile`, one of the configured units: its own schedule over the
    /// deployment's.
    pub fn job<'a>(&self, profile: &'a UnitProfile) -> UnitJob<'a> {
        UnitJob {
            profile,
            tz: self.tz,
            schedule: profile.schedule.or(self.schedule),
            templates: self.templates.clone(),
        }
    }
}

/// Runs the reporter until `shutdown`; returns after the message in flight.
pub async fn run(
    pool: PgPool,
    config: ReporterConfig,
    sender: Sender,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let jobs: Vec<UnitJob<'_>> = config.units.iter().map(|p| config.job(p)).collect();
    let mut next_schedule = tokio::time::Instant::now();
    let mut outbox = Streak::default();
    while !shutdown.is_triggered() {
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
        while !shutdown.is_triggered() {
            match sender.send_next(&pool, Utc::now()).await {
                Ok(Some(_)) => {
                    outbox.succeeded();
                }
                Ok(None) => break,
                Err(error) => {
                    if outbox.failed() {
                        tracing::error!(
                            error = format!("{error:#}"),
                            "the outbox is unavailable; retrying"
                        );
                    }
                    break;
                }
            }
        }
        shutdown.sleep(IDLE).await;
    }
    Ok(())
}
