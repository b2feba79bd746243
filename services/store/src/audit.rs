//! The audit list: who edited a narrative, sent a report or sent a correction, when and what.
//! A row is written with [`record`] inside the transaction of the change itself, so that a
//! change is never stored without its row, nor a row without its change.

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::{Period, UnitCode};
use sqlx::{PgPool, Postgres, Transaction};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The provider's subject of a person, `cli:<os user>`, `scheduler` or `admin-token`.
    pub who: String,
    /// A person's name as the provider gave it.
    pub name: Option<String>,
}

impl Actor {
    /// The scheduler, sending a due report.
    pub fn scheduler() -> Self {
        Self {
            who: "scheduler".into(),
            name: None,
        }
    }

    /// A person at the command line, by their operating system's user name.
    pub fn cli(os_user: &str) -> Self {
        Self {
            who: format!("cli:{os_user}"),
            name: None,
        }
    }

    /// A machine (or a person in an emergency) holding the admin token.
    pub fn admin_token() -> Self {
        Self {
            who: "admin-token".into(),
            name: None,
        }
    }

    /// A person signed in through the identity provider.
    pub fn person(subject: &str, name: Option<&str>) -> Self {
        Self {
            who: subject.to_owned(),
            name: name.map(str::to_owned),
        }
    }
}

/// What was done: `narrative_edit`, `send` or `correction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A narrative field replaced, appended to or reset.
    NarrativeEdit,
    /// A report's first revision issued and queued.
    Send,
    /// A corrected revision issued and queued.
    Correction,
}

impl Action {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NarrativeEdit => "narrative_edit",
            Self::Send => "send",
            Self::Correction => "correction",
        }
    }
}

/// Writes one row of the audit list in `tx`, the change's own transaction.
#[tracing::instrument(skip_all, fields(unit = %unit, period = %period, action = action.name()))]
pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    unit: &UnitCode,
    period: Period,
    action: Action,
    detail: &str,
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into audit (who, who_name, unit, period, action, detail)
         values ($1, $2, $3, $4, $5, $6)",
        actor.who,
        actor.name,
        unit.as_str(),
        period.to_string(),
        action.name(),
        detail,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to record the change in the audit list")?;
    Ok(())
}

/// One row of the audit list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (see [`Actor::who`]).
    pub who: String,
    /// The person's name, if known.
    pub who_name: Option<String>,
    /// The unit or summary.
    pub unit: String,
    /// The report's period.
    pub period: String,
    /// `narrative_edit`, `send` or `correction`.
    pub action: String,
    /// What, in a sentence.
    pub detail: String,
}

/// The latest `limit` rows about `units` (every unit when `None`), newest first.
#[tracing::instrument(skip_all)]
pub async fn latest(
    pool: &PgPool,
    units: Option<&[String]>,
    limit: i64,
) -> anyhow::Result<Vec<AuditRow>> {
    let rows = sqlx::query_as!(
        AuditRow,
        "select at, who, who_name, unit, period, action, detail from audit
         where $1::text[] is null or unit = any($1)
         order by at desc, audit_id desc limit $2",
        units as Option<&[String]>,
        limit,
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the audit list")?;
    Ok(rows)
}
