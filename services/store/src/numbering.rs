//! Report numbers: a sequence per unit and calendar year ("Số: 103/BC-UBND").
//!
//! A number is taken in the transaction that stores the report, so a report that is not
//! stored takes no number and two reporters cannot take the same one (the row is locked by the
//! upsert until the transaction ends).

use anyhow::Context;
use domain::UnitCode;
use sqlx::{PgPool, Postgres, Transaction};

/// The number the next report of `unit` in `year` would get, without taking it: for previews.
pub async fn peek(pool: &PgPool, unit: &UnitCode, year: i32, first: u32) -> anyhow::Result<u32> {
    let last = sqlx::query_scalar!(
        "select last_number from report_sequence where unit = $1 and year = $2",
        unit.as_str(),
        year,
    )
    .fetch_optional(pool)
    .await
    .context("Failed to read the report number sequence")?;
    Ok(next_after(last, first))
}

/// Takes the next number of `unit` in `year`; the first of a year is `first`.
#[tracing::instrument(skip_all, fields(unit = %unit, year))]
pub async fn take(
    tx: &mut Transaction<'_, Postgres>,
    unit: &UnitCode,
    year: i32,
    first: u32,
) -> anyhow::Result<u32> {
    let first = i32::try_from(first).context("the first report number is too large")?;
    let number = sqlx::query_scalar!(
        "insert into report_sequence (unit, year, last_number) values ($1, $2, $3)
         on conflict (unit, year)
         do update set last_number = greatest(report_sequence.last_number + 1, $3)
         returning last_number",
        unit.as_str(),
        year,
        first,
    )
    .fetch_one(&mut **tx)
    .await
    .context("Failed to take a report number")?;
    u32::try_from(number).context("a report number out of range")
}

fn next_after(last: Option<i32>, first: u32) -> u32 {
    last.and_then(|last| u32::try_from(last).ok())
        .map_or(first, |last| (last + 1).max(first))
}

#[cfg(test)]
mod tests {
    use super::next_after;

    #[test]
    fn a_year_starts_at_its_first_number_and_then_counts_on() {
        assert_eq!(next_after(None, 1), 1);
        assert_eq!(next_after(None, 103), 103);
        assert_eq!(next_after(Some(103), 103), 104);
        assert_eq!(next_after(Some(5), 103), 103);
    }
}
