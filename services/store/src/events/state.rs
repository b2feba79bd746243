//! The per-item state upserts of a batch. Each statement keeps the earliest event of its kind
//! for every item and, in the same statement, records a conflict for every item that already
//! had one. Whether it had one is read from a counter the upsert increments under the item's
//! row lock, not from a read before the write: two consumers writing the same new item at once
//! serialize on that lock, and the second sees the first's count.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{ItemConflict, ItemRow, Lifecycle, Reception};

type Tx<'t> = Transaction<'t, Postgres>;

/// The key and time columns every item row has.
struct Columns {
    units: Vec<String>,
    items: Vec<String>,
    times: Vec<DateTime<Utc>>,
    event_ids: Vec<Uuid>,
}

fn columns<E>(rows: &[ItemRow<'_, E>]) -> Columns {
    Columns {
        units: rows.iter().map(|r| r.unit.to_owned()).collect(),
        items: rows.iter().map(|r| r.item.to_owned()).collect(),
        times: rows.iter().map(|r| r.at).collect(),
        event_ids: rows.iter().map(|r| r.event_id).collect(),
    }
}

/// Keeps each document's earliest `document.signed` event. A document fed by records (an edXML
/// package, a register's line) is updated instead: digital once any record says so, never a
/// conflict.
pub(super) async fn upsert_documents(
    tx: &mut Tx<'_>,
    rows: &[ItemRow<'_, (bool, Option<&str>)>],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = columns(rows);
    let digital: Vec<bool> = rows.iter().map(|r| r.extra.0).collect();
    let numbers: Vec<Option<String>> = rows.iter().map(|r| r.extra.1.map(str::to_owned)).collect();
    let from_record: Vec<bool> = rows.iter().map(|r| r.record).collect();
    sqlx::query!(
        r#"
        with input as (
            select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::uuid[], $5::bool[], $6::text[], $7::bool[])
                as input (unit, document_id, signed_at, event_id, digital, number, from_record)
        ), upserted as (
            insert into document as d (unit, document_id, signed_at, event_id, digital, number, from_record)
            select unit, document_id, signed_at, event_id, digital, number, from_record from input
            on conflict (unit, document_id) do update set
                events = d.events + 1,
                signed_at = least(d.signed_at, excluded.signed_at),
                event_id = case when excluded.signed_at < d.signed_at
                    then excluded.event_id else d.event_id end,
                digital = case
                    when excluded.from_record and d.from_record then d.digital or excluded.digital
                    when excluded.signed_at < d.signed_at then excluded.digital else d.digital end,
                number = case when excluded.signed_at < d.signed_at
                    then excluded.number else d.number end,
                from_record = d.from_record or excluded.from_record
            returning unit, document_id, events, from_record
        )
        insert into conflict (unit, kind, subject, event_id)
        select upserted.unit, 'document', upserted.document_id, input.event_id
        from upserted join input using (unit, document_id)
        where upserted.events > 1 and not (input.from_record and upserted.from_record)
        "#,
        &c.units, &c.items, &c.times, &c.event_ids, &digital, &numbers as &[Option<String>], &from_record,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to store documents")?;
    Ok(())
}

pub(super) async fn upsert_articles(
    tx: &mut Tx<'_>,
    rows: &[ItemRow<'_, Option<&str>>],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = columns(rows);
    let titles: Vec<Option<String>> = rows.iter().map(|r| r.extra.map(str::to_owned)).collect();
    sqlx::query!(
        r#"
        with input as (
            select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::uuid[], $5::text[])
                as input (unit, article_id, published_at, event_id, title)
        ), upserted as (
            insert into article as a (unit, article_id, published_at, event_id, title)
            select unit, article_id, published_at, event_id, title from input
            on conflict (unit, article_id) do update set
                events = a.events + 1,
                published_at = least(a.published_at, excluded.published_at),
                event_id = case when excluded.published_at < a.published_at
                    then excluded.event_id else a.event_id end,
                title = case when excluded.published_at < a.published_at
                    then excluded.title else a.title end
            returning unit, article_id, events
        )
        insert into conflict (unit, kind, subject, event_id)
        select upserted.unit, 'article', upserted.article_id, input.event_id
        from upserted join input using (unit, article_id)
        where upserted.events > 1
        "#,
        &c.units,
        &c.items,
        &c.times,
        &c.event_ids,
        &titles as &[Option<String>],
    )
    .execute(&mut **tx)
    .await
    .context("Failed to store articles")?;
    Ok(())
}

/// The received and resolved columns of petition and dossier rows.
struct LifecycleColumns {
    units: Vec<String>,
    items: Vec<String>,
    received_at: Vec<Option<DateTime<Utc>>>,
    received_event_ids: Vec<Option<Uuid>>,
    resolved_at: Vec<Option<DateTime<Utc>>>,
    resolved_event_ids: Vec<Option<Uuid>>,
}

fn lifecycle_columns<R, S>(rows: &[Lifecycle<'_, R, S>]) -> LifecycleColumns {
    LifecycleColumns {
        units: rows.iter().map(|r| r.unit.to_owned()).collect(),
        items: rows.iter().map(|r| r.item.to_owned()).collect(),
        received_at: rows
            .iter()
            .map(|r| r.received.as_ref().map(|x| x.0))
            .collect(),
        received_event_ids: rows
            .iter()
            .map(|r| r.received.as_ref().map(|x| x.1))
            .collect(),
        resolved_at: rows
            .iter()
            .map(|r| r.resolved.as_ref().map(|x| x.0))
            .collect(),
        resolved_event_ids: rows
            .iter()
            .map(|r| r.resolved.as_ref().map(|x| x.1))
            .collect(),
    }
}

/// Keeps each petition's earliest received and earliest resolved event.
pub(super) async fn upsert_petitions(
    tx: &mut Tx<'_>,
    rows: &[Lifecycle<'_, (), ()>],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = lifecycle_columns(rows);
    sqlx::query!(
        r#"
        with input as (
            select * from unnest(
                $1::text[], $2::text[], $3::timestamptz[], $4::uuid[], $5::timestamptz[], $6::uuid[]
            ) as input (unit, petition_id, received_at, received_event_id, resolved_at, resolved_event_id)
        ), upserted as (
            insert into petition as p
                (unit, petition_id, received_at, received_event_id, resolved_at, resolved_event_id,
                 received_events, resolved_events)
            select unit, petition_id, received_at, received_event_id, resolved_at, resolved_event_id,
                   (received_at is not null)::int, (resolved_at is not null)::int
            from input
            on conflict (unit, petition_id) do update set
                received_events = p.received_events + excluded.received_events,
                resolved_events = p.resolved_events + excluded.resolved_events,
                received_at = least(p.received_at, excluded.received_at),
                received_event_id = case when p.received_at is null or excluded.received_at < p.received_at
                    then coalesce(excluded.received_event_id, p.received_event_id) else p.received_event_id end,
                resolved_at = least(p.resolved_at, excluded.resolved_at),
                resolved_event_id = case when p.resolved_at is null or excluded.resolved_at < p.resolved_at
                    then coalesce(excluded.resolved_event_id, p.resolved_event_id) else p.resolved_event_id end
            returning unit, petition_id, received_events, resolved_events
        )
        insert into conflict (unit, kind, subject, event_id)
        select upserted.unit, 'petition_received', upserted.petition_id, input.received_event_id
        from upserted join input using (unit, petition_id)
        where input.received_at is not null and upserted.received_events > 1
        union all
        select upserted.unit, 'petition_resolved', upserted.petition_id, input.resolved_event_id
        from upserted join input using (unit, petition_id)
        where input.resolved_at is not null and upserted.resolved_events > 1
        "#,
        &c.units, &c.items, &c.received_at as &[Option<DateTime<Utc>>], &c.received_event_ids as &[Option<Uuid>],
        &c.resolved_at as &[Option<DateTime<Utc>>], &c.resolved_event_ids as &[Option<Uuid>],
    )
    .execute(&mut **tx)
    .await
    .context("Failed to store petitions")?;
    Ok(())
}

/// Keeps each dossier's earliest received event (with its channel, deadline and digitization)
/// and earliest resolved event. A dossier fed by records (`from_record`) is updated instead:
/// its due date is the greatest any record gave, it is digitized once any record says so, and
/// only a changed reception date is a conflict. Whether this statement found a conflict is the
/// row's `received_clash` / `resolved_clash`, computed under the row lock and read back.
pub(super) async fn upsert_dossiers(
    tx: &mut Tx<'_>,
    rows: &[Lifecycle<'_, Reception<'_>, bool>],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let c = lifecycle_columns(rows);
    fn reception<'r>(row: &'r Lifecycle<'_, Reception<'_>, bool>) -> Option<&'r Reception<'r>> {
        row.received.as_ref().map(|received| &received.2)
    }
    let channels: Vec<Option<String>> = rows
        .iter()
        .map(|r| reception(r).map(|x| x.channel.to_owned()))
        .collect();
    let due: Vec<Option<DateTime<Utc>>> = rows
        .iter()
        .map(|r| reception(r).map(|x| x.due_at))
        .collect();
    let digitized: Vec<Option<bool>> = rows
        .iter()
        .map(|r| reception(r).map(|x| x.digitized))
        .collect();
    let procedures: Vec<Option<String>> = rows
        .iter()
        .map(|r| reception(r).and_then(|x| x.procedure_code.map(str::to_owned)))
        .collect();
    let without_result: Vec<bool> = rows
        .iter()
        .map(|r| r.resolved.as_ref().is_some_and(|x| x.2))
        .collect();
    let from_record: Vec<bool> = rows.iter().map(|r| r.record).collect();
    sqlx::query!(
        r#"
        with input as (
            select * from unnest(
                $1::text[], $2::text[], $3::timestamptz[], $4::uuid[], $5::timestamptz[], $6::uuid[],
                $7::text[], $8::timestamptz[], $9::bool[], $10::text[], $11::bool[], $12::bool[]
            ) as input (unit, dossier_id, received_at, received_event_id, resolved_at, resolved_event_id,
                        channel, due_at, digitized, procedure_code, without_result, from_record)
        ), upserted as (
            insert into dossier as d
                (unit, dossier_id, received_at, received_event_id, resolved_at, resolved_event_id,
                 channel, due_at, digitized, procedure_code, without_result, from_record,
                 received_events, resolved_events)
            select unit, dossier_id, received_at, received_event_id, resolved_at, resolved_event_id,
                   channel, due_at, digitized, procedure_code, without_result, from_record,
                   (received_at is not null)::int, (resolved_at is not null)::int
            from input
            on conflict (unit, dossier_id) do update set
                received_events = d.received_events + excluded.received_events,
                resolved_events = d.resolved_events + excluded.resolved_events,
                received_clash = excluded.received_at is not null and d.received_at is not null
                    and not (excluded.from_record and d.from_record
                             and excluded.received_at = d.received_at),
                resolved_clash = excluded.resolved_at is not null and d.resolved_at is not null
                    and not (excluded.from_record and d.from_record),
                received_at = least(d.received_at, excluded.received_at),
                received_event_id = case when d.received_at is null or excluded.received_at < d.received_at
                    then coalesce(excluded.received_event_id, d.received_event_id) else d.received_event_id end,
                channel = case when d.received_at is null or excluded.received_at < d.received_at
                    then coalesce(excluded.channel, d.channel) else d.channel end,
                due_at = case
                    when excluded.from_record and d.from_record then greatest(d.due_at, excluded.due_at)
                    when d.received_at is null or excluded.received_at < d.received_at
                    then coalesce(excluded.due_at, d.due_at) else d.due_at end,
                digitized = case
                    when excluded.from_record and d.from_record
                    then coalesce(d.digitized, false) or coalesce(excluded.digitized, false)
                    when d.received_at is null or excluded.received_at < d.received_at
                    then coalesce(excluded.digitized, d.digitized) else d.digitized end,
                procedure_code = coalesce(d.procedure_code, excluded.procedure_code),
                resolved_at = least(d.resolved_at, excluded.resolved_at),
                resolved_event_id = case when d.resolved_at is null or excluded.resolved_at < d.resolved_at
                    then coalesce(excluded.resolved_event_id, d.resolved_event_id) else d.resolved_event_id end,
                without_result = case when excluded.resolved_at is not null
                        and (d.resolved_at is null or excluded.resolved_at < d.resolved_at)
                    then excluded.without_result else d.without_result end,
                from_record = d.from_record or excluded.from_record
            returning unit, dossier_id, received_clash, resolved_clash
        )
        insert into conflict (unit, kind, subject, event_id)
        select upserted.unit, 'dossier_received', upserted.dossier_id, input.received_event_id
        from upserted join input using (unit, dossier_id)
        where upserted.received_clash
        union all
        select upserted.unit, 'dossier_resolved', upserted.dossier_id, input.resolved_event_id
        from upserted join input using (unit, dossier_id)
        where upserted.resolved_clash
        "#,
        &c.units, &c.items, &c.received_at as &[Option<DateTime<Utc>>], &c.received_event_ids as &[Option<Uuid>],
        &c.resolved_at as &[Option<DateTime<Utc>>], &c.resolved_event_ids as &[Option<Uuid>],
        &channels as &[Option<String>], &due as &[Option<DateTime<Utc>>], &digitized as &[Option<bool>],
        &procedures as &[Option<String>], &without_result, &from_record,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to store dossiers")?;
    Ok(())
}

pub(super) async fn record_item_conflicts(
    tx: &mut Tx<'_>,
    conflicts: &[ItemConflict],
) -> anyhow::Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    let kinds: Vec<String> = conflicts.iter().map(|c| c.kind.to_owned()).collect();
    let units: Vec<String> = conflicts.iter().map(|c| c.unit.clone()).collect();
    let items: Vec<String> = conflicts.iter().map(|c| c.item.clone()).collect();
    let event_ids: Vec<Uuid> = conflicts.iter().map(|c| c.event_id).collect();
    sqlx::query!(
        r#"
        insert into conflict (kind, unit, subject, event_id)
        select * from unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
        "#,
        &kinds,
        &units,
        &items,
        &event_ids,
    )
    .execute(&mut **tx)
    .await
    .context("Failed to record conflicting item events")?;
    Ok(())
}
