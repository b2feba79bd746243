//! What each source of the upstream systems' own formats has sent (SPEC §3.5): the bodies it
//! sent, when it last did and with how many records, and what of it was refused today. The
//! dashboard's view of each source, and what tells a source silent in office hours.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One body a source sent, read by ingest.
#[derive(Debug, Clone)]
pub struct NewBody<'a> {
    /// The source: a `[[source]]` name, the `x-baocao-source` header, or `broker`.
    pub source: &'a str,
    /// `dvcqg` or `edxml`.
    pub dialect: &'a str,
    /// How many records it held.
    pub records: i32,
}

/// Records the bodies of a batch, once its events are committed.
pub async fn record(pool: &PgPool, bodies: &[NewBody<'_>]) -> anyhow::Result<()> {
    // One row per source, the batch's bodies summed (one upsert cannot touch a row twice).
    let mut by_source: BTreeMap<&str, (&str, i64, i64, i32)> = BTreeMap::new();
    for body in bodies {
        let entry = by_source
            .entry(body.source)
            .or_insert((body.dialect, 0, 0, 0));
        entry.1 += 1;
        entry.2 += i64::from(body.records);
        entry.3 = body.records;
    }
    if by_source.is_empty() {
        return Ok(());
    }
    let sources: Vec<&str> = by_source.keys().copied().collect();
    let dialects: Vec<&str> = by_source.values().map(|v| v.0).collect();
    let bodies: Vec<i64> = by_source.values().map(|v| v.1).collect();
    let records: Vec<i64> = by_source.values().map(|v| v.2).collect();
    let last: Vec<i32> = by_source.values().map(|v| v.3).collect();
    sqlx::query!(
        r#"
        insert into source_feed as f (source, dialect, last_body_at, last_records, bodies, records)
        select source, dialect, now(), last_records, bodies, records
        from unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[])
            as input (source, dialect, last_records, bodies, records)
        on conflict (source) do update
        set dialect = excluded.dialect, last_body_at = excluded.last_body_at,
            last_records = excluded.last_records, bodies = f.bodies + excluded.bodies,
            records = f.records + excluded.records
        "#,
        &sources as &[&str],
        &dialects as &[&str],
        &last,
        &bodies,
        &records,
    )
    .execute(pool)
    .await
    .context("Failed to record the sources' bodies")?;
    Ok(())
}

/// What one source has sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// The source.
    pub source: String,
    /// Its format.
    pub dialect: String,
    /// When its last body was read.
    pub last_body_at: DateTime<Utc>,
    /// How many records that body held.
    pub last_records: i32,
    /// Bodies read since installation.
    pub bodies: i64,
    /// Records read since installation.
    pub records: i64,
}

/// Every source that has sent a body, by name.
pub async fn feeds(pool: &PgPool) -> anyhow::Result<Vec<Feed>> {
    sqlx::query_as!(
        Feed,
        "select source, dialect, last_body_at, last_records, bodies, records
         from source_feed order by source"
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the sources' bodies")
}

/// Records refused since `since` (the start of today, local time), by source and reason.
pub async fn refused_since(
    pool: &PgPool,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query!(
        r#"select source as "source!", reason, count(*) as "count!"
           from rejection where source is not null and rejected_at >= $1
           group by source, reason order by source, 3 desc, reason"#,
        since
    )
    .fetch_all(pool)
    .await
    .context("Failed to count the sources' refused records")?;
    Ok(rows
        .into_iter()
        .map(|row| (row.source, row.reason, row.count))
        .collect())
}
