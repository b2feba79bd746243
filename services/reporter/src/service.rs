//! The reporter target (`baocao run --target reporter`): repeats the scheduler's step
//! ([`scheduler::step`]) every half minute, while the outbox is drained by a task of its own
//! ([`crate::outbox`]), until told to stop. Neither waits on the other: a mail server that
//! stalls holds no report's issuing. A failure is logged when it starts, changes or ends, not
//! every round, and never stops the loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use domain::profile::{IssuerKind, UnitProfile};
use domain::schedule::Schedule;
use domain::{Period, UnitCode};
use lifecycle::{Shutdown, Streak};
use store::PgPool;

use crate::TemplateSource;
use crate::certificates::Certificates;
use crate::job::{Issued, UnitJob};
use crate::scheduler::{self, Done};
use crate::sender::Sender;

/// How long the outbox's workers rest when nothing is due (less if the scheduler looks more
/// often).
const IDLE: Duration = Duration::from_secs(5);

/// What the reporter (and the API and the command line, which issue and render on request)
/// know of the units.
#[derive(Debug, Clone)]
pub struct ReporterConfig {
    /// The configured units.
    pub units: Vec<UnitProfile>,
    /// The configured summaries (`[[summary]]`), their members spelled out (see
    /// `FileConfig::issuers`; without them, every unit).
    pub summaries: Vec<UnitProfile>,
    /// The deployment's time zone.
    pub tz: Tz,
    /// The deployment's `[schedule]`, for units without their own.
    pub schedule: Schedule,
    /// Where templates come from.
    pub templates: TemplateSource,
    /// How long a due report waits for ingest's backlog at most.
    pub backlog_wait: Duration,
    /// How often the scheduler looks for due reports.
    pub schedule_every: Duration,
    /// Each signing unit's certificate, read by the targets that sign (never by ingest).
    pub certificates: Arc<Certificates>,
}

/// The day a summary is sent when its configuration does not say: after its members'.
pub const SUMMARY_SEND_DAY: u32 = 20;

/// A summary's schedule: its own day and time, else the 20th at the deployment's time.
pub fn summary_schedule(own: Schedule, deployment: Schedule) -> Schedule {
    let day = domain::schedule::SendDay(SUMMARY_SEND_DAY);
    own.or(Schedule {
        send_day: Some(day),
        send_time: None,
    })
    .or(deployment)
}

impl ReporterConfig {
    /// The configured unit or summary with this code.
    pub fn unit(&self, code: &str) -> Option<&UnitProfile> {
        self.issuers().find(|profile| profile.code.as_str() == code)
    }

    /// Every unit, then every summary: what issues reports.
    pub fn issuers(&self) -> impl Iterator<Item = &UnitProfile> {
        self.units.iter().chain(&self.summaries)
    }

    /// Whether `code` is a summary's.
    pub fn is_summary(&self, code: &str) -> bool {
        self.summaries.iter().any(|s| s.code.as_str() == code)
    }

    /// Whether `code` is a summary's or (otherwise) a unit's.
    pub fn kind(&self, code: &str) -> IssuerKind {
        if self.is_summary(code) {
            IssuerKind::Summary
        } else {
            IssuerKind::Unit
        }
    }

    /// The job settings of `profile`, a configured unit or summary: its own schedule over the
    /// deployment's (a summary's day defaults to the 20th), and a summary's members.
    pub fn job<'a>(&self, profile: &'a UnitProfile) -> UnitJob<'a> {
        let summary = self.is_summary(profile.code.as_str());
        let schedule = if summary {
            summary_schedule(profile.schedule, self.schedule)
        } else {
            profile.schedule.or(self.schedule)
        };
        let members: Option<Vec<UnitCode>> = summary.then(|| match &profile.members {
            Some(codes) => codes.clone(),
            None => self.units.iter().map(|u| u.code.clone()).collect(),
        });
        let member_names = members
            .iter()
            .flatten()
            .map(|code| {
                self.unit(code.as_str())
                    .map_or_else(|| code.to_string(), |u| u.short_name.clone())
            })
            .collect();
        UnitJob {
            profile,
            tz: self.tz,
            schedule,
            templates: self.templates.clone(),
            certificates: Arc::clone(&self.certificates),
            members,
            member_names,
        }
    }
}

/// Runs the reporter until `shutdown`; returns after the step and the messages in flight.
pub async fn run(
    pool: PgPool,
    config: ReporterConfig,
    sender: Sender,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let idle = IDLE.min(config.schedule_every);
    let mut outbox = tokio::spawn(crate::outbox::run(
        pool.clone(),
        sender,
        idle,
        shutdown.clone(),
    ));
    let scheduling = schedule(&pool, &config, &shutdown);
    tokio::pin!(scheduling);
    tokio::select! {
        () = &mut scheduling => {}
        ended = &mut outbox => {
            ended.context("the outbox sender panicked")??;
            anyhow::ensure!(shutdown.is_triggered(), "the outbox sender stopped unexpectedly");
            scheduling.await;
            return Ok(());
        }
    }
    outbox.await.context("the outbox sender panicked")?
}

/// The scheduler's loop: a step every `schedule_every`, until `shutdown`.
async fn schedule(pool: &PgPool, config: &ReporterConfig, shutdown: &Shutdown) {
    let jobs: Vec<UnitJob<'_>> = config.issuers().map(|p| config.job(p)).collect();
    let mut log = StepLog::default();
    let mut next = tokio::time::Instant::now();
    while !shutdown.is_triggered() {
        next += config.schedule_every;
        let step = scheduler::step(pool, &jobs, Utc::now(), config.backlog_wait).await;
        log.record(step, &jobs);
        let rest = next.saturating_duration_since(tokio::time::Instant::now());
        shutdown.sleep(rest).await;
    }
}

/// What the steps said last, so that each unit's failure or wait is logged once when it
/// starts or changes and once when it ends, and the metrics follow.
#[derive(Default)]
struct StepLog {
    step: Streak,
    /// The last failure or wait of each unit and period still in that state.
    trouble: HashMap<(UnitCode, Period), String>,
}

impl StepLog {
    fn record(
        &mut self,
        step: anyhow::Result<Vec<(UnitCode, Period, Done)>>,
        jobs: &[UnitJob<'_>],
    ) {
        let done = match step {
            Ok(done) => {
                if self.step.succeeded() {
                    tracing::info!("the scheduler reads the units again");
                }
                done
            }
            Err(error) => {
                if self.step.failed() {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "the scheduler cannot read the units; retrying"
                    );
                }
                return;
            }
        };
        let mut failing: HashMap<&str, i64> =
            jobs.iter().map(|j| (j.profile.code.as_str(), 0)).collect();
        let mut unissued = failing.clone();
        for (unit, period, outcome) in &done {
            let key = (unit.clone(), *period);
            match outcome {
                Done::Issued(issued) => {
                    if self.trouble.remove(&key).is_some() {
                        tracing::info!(%unit, %period, "the report's trouble is over");
                    }
                    if let Issued::Stored { .. } = issued {
                        tracing::info!(%unit, %period, ?issued, "report issued on schedule");
                    }
                }
                Done::Waiting(why) => {
                    if let Some(count) = unissued.get_mut(unit.as_str()) {
                        *count += 1;
                    }
                    self.note(key, why, "the report waits for ingest")
                }
                Done::Held(cause) => {
                    if let Some(count) = unissued.get_mut(unit.as_str()) {
                        *count += 1;
                    }
                    self.note(
                        key,
                        cause,
                        "the report is held: its signing certificate cannot be used",
                    )
                }
                Done::Failed(error) => {
                    for counts in [&mut failing, &mut unissued] {
                        if let Some(count) = counts.get_mut(unit.as_str()) {
                            *count += 1;
                        }
                    }
                    self.note(
                        key,
                        &format!("{error:#}"),
                        "issuing the report failed; retrying every step",
                    );
                }
            }
        }
        let metrics = metrics::global();
        for (unit, count) in failing {
            metrics.set_issue_failures(unit, count);
        }
        for (unit, count) in unissued {
            metrics.set_due_unissued(unit, count);
        }
    }

    /// Logs `message` for `key` unless the same was logged last time.
    fn note(&mut self, key: (UnitCode, Period), why: &str, message: &str) {
        if self.trouble.get(&key).map(String::as_str) != Some(why) {
            tracing::warn!(unit = %key.0, period = %key.1, why, "{message}");
            self.trouble.insert(key, why.to_owned());
        }
    }
}
