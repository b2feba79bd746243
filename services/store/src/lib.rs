//! PostgreSQL storage of baocao. This crate owns the SQL; nothing else writes queries.
//!
//! - [`db`]: connecting, creating the database if it is missing, applying `migrations/`.
//! - [`events`]: writing a batch of parsed events in one transaction: raw events deduplicated by
//!   id, per-item state (earliest event wins), conflicts recorded.
//! - [`indicators`]: counting a unit's state over a window into [`domain::Counts`].
//! - [`kept`]: the figures kept per local day as items change (a cache of the figure
//!   functions), from which [`indicators`] reads a window.
//! - [`items`]: the items behind each figure (SPEC §5.1), live or as an issued revision kept
//!   them.
//! - [`narrative`]: per-period edits of a unit's narrative paragraphs.
//! - [`numbering`]: the per-unit, per-year sequence of report numbers.
//! - [`reports`]: report revisions as sent, frozen, and the job lock that makes one reporter
//!   issue each.
//! - [`outbox`]: the email outbox, claimed with `FOR UPDATE SKIP LOCKED`, every attempt recorded.
//! - [`health`]: what the administrator needs to see about the stored data (orphans, conflicts,
//!   when each source was last heard of).
//! - [`rejections`]: the log of dead-lettered messages, for the dashboard.
//! - [`feeds`]: what each source of the upstream systems' own formats has sent.
//! - [`schedule`]: the scheduler's failures per unit and period, and ingest's heartbeat.
//! - [`overview`]: the department's view of one period: every unit's latest report, its
//!   messages by state and where the scheduler stands with it, in two statements.
//! - [`sessions`]: signed-in people's sessions and the sign-ins under way.
//! - [`audit`]: who changed what, written in the change's own transaction.
//! - [`changes`]: listening for the units each committed batch changed (`LISTEN/NOTIFY`).

pub mod audit;
pub mod changes;
pub mod db;
pub mod events;
pub mod feeds;
pub mod health;
pub mod indicators;
pub mod items;
pub mod kept;
pub mod narrative;
pub mod numbering;
pub mod outbox;
pub mod overview;
pub mod rejections;
pub mod reports;
pub mod schedule;
pub mod sessions;

pub use sqlx::{PgPool, Postgres, Transaction};
