//! The main shares of a unit's (or a summary's) last months, for the dashboard's chart: online
//! dossiers of those received, dossiers resolved of those to handle, and dossiers digitized,
//! each rounded as the report writes it; a share without a denominator is null, a gap in the
//! chart.

use chrono::{DateTime, Utc};
use domain::Period;
use domain::notation;
use serde::Serialize;
use store::PgPool;

use crate::figures::Figures;
use crate::job::UnitJob;

/// One period's main shares.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    /// The period.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub period: Period,
    /// False for the open window.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Dossiers received.
    pub received: i64,
    /// Online dossiers of those received, in percent (null when none were received).
    pub online_share: Option<f64>,
    /// Dossiers resolved of those carried over and received, in percent.
    pub resolved_share: Option<f64>,
    /// Digitized dossiers of those received, in percent.
    pub digitized_share: Option<f64>,
    /// The same three as the report writes them ("84.55%", "không phát sinh").
    pub text: TrendText,
}

/// The shares as written in the report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendText {
    /// Online share.
    pub online: String,
    /// Resolved share.
    pub resolved: String,
    /// Digitized share.
    pub digitized: String,
}

/// The `months` periods of `job`'s unit up to the open window at `now`, oldest first; a
/// summary's are its members' totals.
pub async fn trend(
    pool: &PgPool,
    job: &UnitJob<'_>,
    months: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<TrendPoint>> {
    let tz = job.tz;
    let mut period = Period::containing(now, tz);
    let mut points = Vec::with_capacity(months as usize);
    for _ in 0..months {
        let indicators = Figures::read(pool, job, period, now).await?.indicators(tz);
        let p = &indicators.procedures;
        let handled = p.carried_over + p.received;
        points.push(TrendPoint {
            period,
            is_final: indicators.is_final,
            received: p.received,
            online_share: notation::share_value(p.online, p.received),
            resolved_share: notation::share_value(p.resolved, handled),
            digitized_share: notation::share_value(p.digitized, p.received),
            text: TrendText {
                online: notation::share(p.online, p.received),
                resolved: notation::share(p.resolved, handled),
                digitized: notation::share(p.digitized, p.received),
            },
        });
        period = period.previous();
    }
    points.reverse();
    Ok(points)
}
