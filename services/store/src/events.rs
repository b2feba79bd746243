//! Writing a batch of parsed events: the ingest worker's one transaction per batch.
//!
//! Raw events are deduplicated by id (the first body seen is kept; another body under a known
//! id is recorded as a conflict). New events then update per-item state: each document,
//! article, petition and dossier keeps its earliest event of each kind, and a second one is
//! recorded as a conflict. Every table is written with one `UNNEST` statement per batch, with
//! rows sorted by key so that concurrent workers take row locks in the same order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::event::Provenance;
use domain::{EventKind, ParsedEvent};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::db::Failure;

/// The PostgreSQL channel on which each committed batch names the units it changed, one
/// notification per unit: the API's live counters listen on it, whatever process wrote.
pub const CHANGES_CHANNEL: &str = "baocao_changes";

/// What a batch did to the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events stored for the first time.
    pub stored: usize,
    /// Events whose id was already known (or repeated in the batch) and were not counted again.
    pub duplicates: usize,
    /// The events stored for the first time, counted by unit and type.
    pub stored_by_kind: BTreeMap<(String, &'static str), u64>,
    /// The units whose figures the batch may have changed: those of new events and of records
    /// that updated their items.
    pub changed_units: BTreeSet<String>,
}

/// Stores `events` in one transaction and commits it. The commit notifies
/// [`CHANGES_CHANNEL`] once for each unit with a new event.
///
/// A connection that refuses the batch as read-only ([`Failure::ReadOnly`]: the address led to
/// a standby, or the server was made read-only) is closed instead of going back to the pool,
/// so that the batch's retry opens a new one, which may reach the primary.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn write_batch(pool: &PgPool, events: &[ParsedEvent]) -> anyhow::Result<BatchOutcome> {
    let mut connection = pool
        .acquire()
        .await
        .context("Failed to get a connection for the batch")?;
    let written = write_batch_on(&mut connection, events).await;
    if let Err(error) = &written
        && crate::db::classify(error) == Failure::ReadOnly
    {
        connection.close_on_drop();
    }
    written
}

/// [`write_batch`] on one connection.
async fn write_batch_on(
    connection: &mut PgConnection,
    events: &[ParsedEvent],
) -> anyhow::Result<BatchOutcome> {
    let mut tx = connection
        .begin()
        .await
        .context("Failed to begin the batch transaction")?;
    let outcome = write_batch_in(&mut tx, events).await?;
    tx.commit().await.context("Failed to commit the batch")?;
    Ok(outcome)
}

/// Stores `events` within `tx`; its commit notifies [`CHANGES_CHANNEL`] of the units changed.
pub async fn write_batch_in(
    tx: &mut Transaction<'_, Postgres>,
    events: &[ParsedEvent],
) -> anyhow::Result<BatchOutcome> {
    let (mut unique, repeated) = first_of_each_id(events);
    unique.sort_by_key(|parsed| parsed.event.id());
    let new_ids = insert_raw_events(tx, &unique).await?;
    let is_new = |p: &&ParsedEvent| new_ids.contains(&p.event.id());
    // A record under a known id is the same record re-sent: an update of its item, never a
    // conflicting body. Any other event under a known id is a duplicate or a conflict.
    let is_record = |p: &&ParsedEvent| p.event.provenance() == Provenance::Record;
    let known = unique.iter().copied().filter(|p| !is_new(p));
    let clashing = known
        .chain(repeated.iter().copied())
        .filter(|p| !is_record(p));
    record_body_conflicts(tx, clashing).await?;
    let to_state: Vec<&ParsedEvent> = unique
        .iter()
        .copied()
        .filter(|p| is_new(p) || is_record(p))
        .chain(repeated.iter().copied().filter(is_record))
        .collect();
    apply_to_state(tx, &to_state).await?;
    let fresh: Vec<&ParsedEvent> = unique.iter().copied().filter(is_new).collect();
    let mut activity: Activity = BTreeMap::new();
    for parsed in &fresh {
        let key = (
            parsed.event.unit().to_string(),
            parsed.event.kind().type_name(),
        );
        let occurred = parsed.event.occurred_at_utc();
        let (count, latest) = activity.entry(key).or_insert((0, occurred));
        *count += 1;
        *latest = (*latest).max(occurred);
    }
    let changed_units: BTreeSet<String> = to_state
        .iter()
        .map(|p| p.event.unit().to_string())
        .collect();
    finish(tx, &activity, &changed_units).await?;
    let stored_by_kind = activity
        .into_iter()
        .map(|(key, (count, _))| (key, count))
        .collect();
    Ok(BatchOutcome {
        stored: fresh.len(),
        duplicates: events.len() - fresh.len(),
        stored_by_kind,
        changed_units,
    })
}

/// New events by unit and type: how many, and the latest `occurred_at`.
type Activity = BTreeMap<(String, &'static str), (u64, DateTime<Utc>)>;

/// Ends a batch in one statement: folds what its statements changed in the kept counts into
/// them (`kept::fold_ctes!`), moves each unit's and type's activity forward, and announces
/// the changed units on [`CHANGES_CHANNEL`] (delivered at the commit, and only if it commits).
/// Last in the transaction, count rows then activity rows, each in key order: concurrent
/// batches lock these shared rows in one order, only until their commit, and never deadlock.
async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    activity: &Activity,
    changed_units: &BTreeSet<String>,
) -> anyhow::Result<()> {
    let units: Vec<&str> = activity.keys().map(|(unit, _)| unit.as_str()).collect();
    let types: Vec<&str> = activity.keys().map(|(_, kind)| *kind).collect();
    let events: Vec<i64> = activity.values().map(|(n, _)| *n as i64).collect();
    let occurred: Vec<DateTime<Utc>> = activity.values().map(|(_, at)| *at).collect();
    let changed: Vec<&str> = changed_units.iter().map(String::as_str).collect();
    let statement = concat!(
        "with ",
        crate::kept::fold_ctes!(),
        r#",active as (
            insert into source_activity as a
                (unit, event_type, events, last_stored_at, last_occurred_at)
            select unit, event_type, events, now(), occurred
            from unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
                as input (unit, event_type, events, occurred)
            order by unit, event_type
            on conflict (unit, event_type) do update
            set events = a.events + excluded.events,
                last_stored_at = greatest(a.last_stored_at, excluded.last_stored_at),
                last_occurred_at = greatest(a.last_occurred_at, excluded.last_occurred_at)
            returning 1
        ),
        announced as (
            select pg_notify($5, unit) from unnest($6::text[]) as unit
        )
        select (select count(*) from folded) + (select count(*) from active)
            + (select count(*) from announced)
        "#
    );
    sqlx::query(statement)
        .bind(&units)
        .bind(&types)
        .bind(&events)
        .bind(&occurred)
        .bind(CHANGES_CHANNEL)
        .bind(&changed)
        .execute(&mut **tx)
        .await
        .context("Failed to fold the batch into the kept counts and the sources' activity")?;
    Ok(())
}

/// Splits a batch into the first event of each id and the later ones that carry another body
/// (identical repeats are dropped: they are plain duplicates).
fn first_of_each_id(events: &[ParsedEvent]) -> (Vec<&ParsedEvent>, Vec<&ParsedEvent>) {
    let mut first: HashMap<Uuid, &ParsedEvent> = HashMap::with_capacity(events.len());
    let mut unique = Vec::with_capacity(events.len());
    let mut clashing = Vec::new();
    for parsed in events {
        match first.get(&parsed.event.id()) {
            None => {
                first.insert(parsed.event.id(), parsed);
                unique.push(parsed);
            }
            Some(earlier) if !same_body(&earlier.body, &parsed.body) => clashing.push(parsed),
            Some(_) => {}
        }
    }
    (unique, clashing)
}

/// Two bodies are the same when they are the same JSON value, whatever the key order or spacing.
fn same_body(a: &str, b: &str) -> bool {
    a == b
        || serde_json::from_str::<serde_json::Value>(a).ok()
            == serde_json::from_str::<serde_json::Value>(b).ok()
}

async fn insert_raw_events(
    tx: &mut Transaction<'_, Postgres>,
    events: &[&ParsedEvent],
) -> anyhow::Result<HashSet<Uuid>> {
    let ids: Vec<Uuid> = events.iter().map(|p| p.event.id()).collect();
    let units: Vec<String> = events.iter().map(|p| p.event.unit().to_string()).collect();
    let types: Vec<String> = events
        .iter()
        .map(|p| p.event.kind().type_name().to_owned())
        .collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|p| p.event.occurred_at_utc()).collect();
    // Borrowed, not copied: a batch's bodies may be as large as the ingest budget.
    let bodies: Vec<&str> = events.iter().map(|p| p.body.as_str()).collect();
    let inserted = sqlx::query_scalar!(
        r#"
        insert into event (event_id, unit, event_type, occurred_at, body)
        select event_id, unit, event_type, occurred_at, body::json
        from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
            as input (event_id, unit, event_type, occurred_at, body)
        on conflict (event_id) do nothing
        returning event_id
        "#,
        &ids,
        &units,
        &types,
        &times,
        &bodies as &[&str],
    )
    .fetch_all(&mut **tx)
    .await
    .context("Failed to insert the raw events")?;
    Ok(inserted.into_iter().collect())
}

/// Records a conflict for each event whose id is stored with another body. Bodies are
/// compared here, as JSON values, rather than in SQL: `jsonb` refuses some numbers that JSON
/// allows, and a comparison that fails would hold the batch forever.
async fn record_body_conflicts<'a>(
    tx: &mut Transaction<'_, Postgres>,
    events: impl Iterator<Item = &'a ParsedEvent>,
) -> anyhow::Result<()> {
    let events: Vec<&ParsedEvent> = events.collect();
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|p| p.event.id()).collect();
    let stored: HashMap<Uuid, String> = sqlx::query!(
        r#"select event_id, body::text as "body!" from event where event_id = any($1)"#,
        &ids
    )
    .fetch_all(&mut **tx)
    .await
    .context("Failed to read the stored bodies of repeated event ids")?
    .into_iter()
    .map(|row| (row.event_id, row.body))
    .collect();
    let clashing: Vec<&ParsedEvent> = events
        .into_iter()
        .filter(|p| {
            stored
                .get(&p.event.id())
                .is_some_and(|body| !same_body(body, &p.body))
        })
        .collect();
    if clashing.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = clashing.iter().map(|p| p.event.id()).collect();
    let units: Vec<String> = clashing
        .iter()
        .map(|p| p.event.unit().to_string())
        .collect();
    let bodies: Vec<String> = clashing.iter().map(|p| p.body.clone()).collect();
    sqlx::query!(
        r#"
        insert into conflict (unit, kind, subject, event_id, body)
        select unit, 'event_body', event_id::text, event_id, body::json
        from unnest($1::uuid[], $2::text[], $3::text[]) as input (event_id, unit, body)
        "#,
        &ids,
        &units,
        &bodies,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to record conflicting event bodies")?;
    Ok(())
}

/// An event about one item (document, article, petition, dossier), as a row to upsert.
struct ItemRow<'a, Extra> {
    unit: &'a str,
    item: &'a str,
    at: DateTime<Utc>,
    event_id: Uuid,
    /// From an upstream system's record (`Provenance::Record`): a later one updates.
    record: bool,
    extra: Extra,
}

/// The fields a `procedure.received` event adds to its dossier.
struct Reception<'a> {
    channel: &'static str,
    due_at: DateTime<Utc>,
    digitized: bool,
    procedure_code: Option<&'a str>,
}

/// The per-table rows of a batch's new events.
#[derive(Default)]
struct StateRows<'a> {
    documents: Vec<ItemRow<'a, (bool, Option<&'a str>)>>,
    articles: Vec<ItemRow<'a, Option<&'a str>>>,
    petitions_received: Vec<ItemRow<'a, ()>>,
    petitions_resolved: Vec<ItemRow<'a, ()>>,
    dossiers_received: Vec<ItemRow<'a, Reception<'a>>>,
    /// With whether it ended without a result.
    dossiers_resolved: Vec<ItemRow<'a, bool>>,
}

fn state_rows<'a>(events: &[&'a ParsedEvent]) -> StateRows<'a> {
    let mut rows = StateRows::default();
    for parsed in events {
        let event = &parsed.event;
        let row = |item: &'a str| ItemRow {
            unit: event.unit().as_str(),
            item,
            at: event.occurred_at_utc(),
            event_id: event.id(),
            record: event.provenance() == Provenance::Record,
            extra: (),
        };
        match event.kind() {
            EventKind::DocumentSigned {
                document_id,
                digital,
                number,
            } => rows
                .documents
                .push(with_extra(row(document_id), (*digital, number.as_deref()))),
            EventKind::ArticlePublished { article_id, title } => rows
                .articles
                .push(with_extra(row(article_id), title.as_deref())),
            EventKind::PetitionReceived { petition_id } => {
                rows.petitions_received.push(row(petition_id))
            }
            EventKind::PetitionResolved { petition_id } => {
                rows.petitions_resolved.push(row(petition_id))
            }
            EventKind::ProcedureReceived {
                dossier_id,
                channel,
                due_at,
                digitized,
                procedure_code,
            } => {
                let reception = Reception {
                    channel: channel.as_str(),
                    due_at: due_at.to_utc(),
                    digitized: *digitized,
                    procedure_code: procedure_code.as_deref(),
                };
                rows.dossiers_received
                    .push(with_extra(row(dossier_id), reception))
            }
            EventKind::ProcedureResolved {
                dossier_id,
                without_result,
            } => rows
                .dossiers_resolved
                .push(with_extra(row(dossier_id), *without_result)),
        }
    }
    rows
}

fn with_extra<'a, E>(row: ItemRow<'a, ()>, extra: E) -> ItemRow<'a, E> {
    ItemRow {
        unit: row.unit,
        item: row.item,
        at: row.at,
        event_id: row.event_id,
        record: row.record,
        extra,
    }
}

/// Keeps the earliest row per item (ties broken by event id, so every worker picks the same),
/// sorted by item; the others are returned as conflicts.
fn earliest_per_item<E>(rows: Vec<ItemRow<'_, E>>) -> (Vec<ItemRow<'_, E>>, Vec<ItemRow<'_, E>>) {
    earliest_per_item_with(rows, |_, _| true)
}

/// As [`earliest_per_item`], where `later` says of each later row of an item whether it is a
/// conflict, and may first fold it into the earliest (an update of a record).
fn earliest_per_item_with<'a, E>(
    mut rows: Vec<ItemRow<'a, E>>,
    later: impl Fn(&mut ItemRow<'a, E>, &ItemRow<'a, E>) -> bool,
) -> (Vec<ItemRow<'a, E>>, Vec<ItemRow<'a, E>>) {
    rows.sort_by(|a, b| {
        (a.unit, a.item, a.at, a.event_id).cmp(&(b.unit, b.item, b.at, b.event_id))
    });
    let mut winners: Vec<ItemRow<'a, E>> = Vec::with_capacity(rows.len());
    let mut losers = Vec::new();
    for row in rows {
        match winners.last_mut() {
            Some(last) if (last.unit, last.item) == (row.unit, row.item) => {
                if later(last, &row) {
                    losers.push(row);
                }
            }
            _ => winners.push(row),
        }
    }
    (winners, losers)
}

/// A later reception of a dossier in the same batch: for two records, an update (the greatest
/// due date, digitized once either says so; a conflict only if the reception date differs);
/// otherwise a conflict.
fn later_reception<'a>(
    first: &mut ItemRow<'a, Reception<'a>>,
    later: &ItemRow<'a, Reception<'a>>,
) -> bool {
    if !(first.record && later.record) {
        return true;
    }
    first.extra.due_at = first.extra.due_at.max(later.extra.due_at);
    first.extra.digitized |= later.extra.digitized;
    first.extra.procedure_code = first.extra.procedure_code.or(later.extra.procedure_code);
    first.at != later.at
}

/// A later copy of a document in the same batch: for two records, an update (digital once
/// either says so); otherwise a conflict.
fn later_document<'a>(
    first: &mut ItemRow<'a, (bool, Option<&'a str>)>,
    later: &ItemRow<'a, (bool, Option<&'a str>)>,
) -> bool {
    if !(first.record && later.record) {
        return true;
    }
    first.extra.0 |= later.extra.0;
    first.extra.1 = first.extra.1.or(later.extra.1);
    false
}

/// A later resolution of a dossier in the same batch: the earliest is kept; for two records,
/// an update, otherwise a conflict.
fn later_resolution<E>(first: &mut ItemRow<'_, E>, later: &ItemRow<'_, E>) -> bool {
    !(first.record && later.record)
}

async fn apply_to_state(
    tx: &mut Transaction<'_, Postgres>,
    events: &[&ParsedEvent],
) -> anyhow::Result<()> {
    let rows = state_rows(events);
    let mut losers = Vec::new();

    let (documents, lost) = earliest_per_item_with(rows.documents, later_document);
    losers.extend(lost.iter().map(|row| conflict_of("document", row)));
    state::upsert_documents(tx, &documents).await?;

    let (articles, lost) = earliest_per_item(rows.articles);
    losers.extend(lost.iter().map(|row| conflict_of("article", row)));
    state::upsert_articles(tx, &articles).await?;

    let (received, lost) = earliest_per_item(rows.petitions_received);
    losers.extend(lost.iter().map(|row| conflict_of("petition_received", row)));
    let (resolved, lost) = earliest_per_item(rows.petitions_resolved);
    losers.extend(lost.iter().map(|row| conflict_of("petition_resolved", row)));
    state::upsert_petitions(tx, &lifecycles(received, resolved)).await?;

    let (received, lost) = earliest_per_item_with(rows.dossiers_received, later_reception);
    losers.extend(lost.iter().map(|row| conflict_of("dossier_received", row)));
    let (resolved, lost) = earliest_per_item_with(rows.dossiers_resolved, later_resolution);
    losers.extend(lost.iter().map(|row| conflict_of("dossier_resolved", row)));
    state::upsert_dossiers(tx, &lifecycles(received, resolved)).await?;

    state::record_item_conflicts(tx, &losers).await
}

/// What a batch says about one petition or dossier: its earliest received event (with the
/// fields it brings) and its earliest resolved event (with what it brings), either possibly
/// absent.
struct Lifecycle<'a, R, S> {
    unit: &'a str,
    item: &'a str,
    received: Option<(DateTime<Utc>, Uuid, R)>,
    resolved: Option<(DateTime<Utc>, Uuid, S)>,
    /// From an upstream system's records.
    record: bool,
}

/// Merges the received and resolved rows of a batch (each sorted by item, one per item) into
/// one row per item, sorted by item: one upsert per table keeps row locks in one global order,
/// so concurrent workers cannot deadlock.
fn lifecycles<'a, R, S>(
    received: Vec<ItemRow<'a, R>>,
    resolved: Vec<ItemRow<'a, S>>,
) -> Vec<Lifecycle<'a, R, S>> {
    let mut merged: Vec<Lifecycle<'a, R, S>> = received
        .into_iter()
        .map(|row| Lifecycle {
            unit: row.unit,
            item: row.item,
            received: Some((row.at, row.event_id, row.extra)),
            resolved: None,
            record: row.record,
        })
        .collect();
    for row in resolved {
        match merged.binary_search_by(|l| (l.unit, l.item).cmp(&(row.unit, row.item))) {
            Ok(at) => {
                merged[at].resolved = Some((row.at, row.event_id, row.extra));
                merged[at].record |= row.record;
            }
            Err(at) => merged.insert(
                at,
                Lifecycle {
                    unit: row.unit,
                    item: row.item,
                    received: None,
                    resolved: Some((row.at, row.event_id, row.extra)),
                    record: row.record,
                },
            ),
        }
    }
    merged
}

/// A second event about an item within one batch.
struct ItemConflict {
    kind: &'static str,
    unit: String,
    item: String,
    event_id: Uuid,
}

fn conflict_of<E>(kind: &'static str, row: &ItemRow<'_, E>) -> ItemConflict {
    ItemConflict {
        kind,
        unit: row.unit.to_owned(),
        item: row.item.to_owned(),
        event_id: row.event_id,
    }
}

mod state;
