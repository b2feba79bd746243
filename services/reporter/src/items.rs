//! The items behind a figure (SPEC §5.1), as the API, the command line, the dashboard and the
//! report's sheet "Hồ sơ quá hạn" show them: where a list comes from (now, or an issued
//! revision; for a summary each member's issued revision where it has one, as its row of the
//! table), each kind's columns, days late, and the list as CSV or a workbook.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::figures::{Figure, ItemKind};
use domain::{Period, UnitCode};
use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};
use serde::Serialize;
use store::PgPool;
use store::items::{ItemRow, Order, Source};

use crate::job::UnitJob;

/// One item of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    /// The unit it belongs to (on a summary's list, the member).
    pub unit: String,
    /// Its id as the source gave it (`MaHoSo`, the document's id…).
    pub id: String,
    /// A dossier's procedure code (mã TTHC), where the source gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure_code: Option<String>,
    /// A document's number and notation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// An article's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How a dossier was submitted: `online`, `direct`, `postal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// When a dossier or petition was received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    /// A dossier's due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// When a dossier or petition was resolved (before the window's end; absent while pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// When a document was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<DateTime<Utc>>,
    /// When an article was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// A dossier digitized, or a document signed digitally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital: Option<bool>,
    /// A dossier that ended without a result (withdrawn, stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_result: Option<bool>,
    /// Calendar days from the due date to the resolution (a pending dossier: to the window's
    /// end, or today for the open window), for a dossier resolved late or pending past due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_late: Option<i64>,
}

impl Item {
    /// The item of `kind` stored as `row`, its days late counted against `overdue_at` in `tz`.
    pub fn of(kind: ItemKind, row: ItemRow, overdue_at: DateTime<Utc>, tz: Tz) -> Self {
        let days_late = match (kind, row.due_at) {
            (ItemKind::Dossier, Some(due)) if row.without_result != Some(true) => {
                let end = row.resolved_at.unwrap_or(overdue_at);
                (end > due).then(|| {
                    local_day(end, tz)
                        .signed_duration_since(local_day(due, tz))
                        .num_days()
                })
            }
            _ => None,
        };
        let mut item = Item {
            unit: row.unit,
            id: row.item_id,
            procedure_code: None,
            number: None,
            title: None,
            channel: row.channel,
            received_at: None,
            due_at: row.due_at,
            resolved_at: row.resolved_at,
            signed_at: None,
            published_at: None,
            digital: row.flag,
            without_result: row.without_result,
            days_late,
        };
        match kind {
            ItemKind::Dossier => {
                item.procedure_code = row.label;
                item.received_at = row.received_at;
            }
            ItemKind::Petition => item.received_at = row.received_at,
            ItemKind::Document => {
                item.number = row.label;
                item.signed_at = row.received_at;
            }
            ItemKind::Article => {
                item.title = row.label;
                item.published_at = row.received_at;
            }
        }
        item
    }
}

fn local_day(instant: DateTime<Utc>, tz: Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// A column of a list: its name in CSV, its Vietnamese title, and its text for an item.
pub struct Column {
    /// The CSV header and the JSON field.
    pub name: &'static str,
    /// The title a person reads (the workbook, the dashboard).
    pub title: &'static str,
    /// The cell's text.
    pub text: fn(&Item, Tz) -> String,
}

fn time(instant: Option<DateTime<Utc>>, tz: Tz) -> String {
    instant.map_or(String::new(), |t| {
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
    })
}

fn flag(value: Option<bool>) -> String {
    value.map_or(String::new(), |v| if v { "có" } else { "không" }.to_owned())
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

const UNIT: Column = Column {
    name: "unit",
    title: "Đơn vị",
    text: |i, _| i.unit.clone(),
};
const ID: Column = Column {
    name: "id",
    title: "Mã",
    text: |i, _| i.id.clone(),
};
const RECEIVED: Column = Column {
    name: "received_at",
    title: "Tiếp nhận",
    text: |i, tz| time(i.received_at, tz),
};
const RESOLVED: Column = Column {
    name: "resolved_at",
    title: "Giải quyết",
    text: |i, tz| time(i.resolved_at, tz),
};

/// The columns of a list of `kind`, in order.
pub fn columns(kind: ItemKind) -> Vec<Column> {
    match kind {
        ItemKind::Dossier => vec![
            UNIT,
            Column {
                title: "Mã hồ sơ",
                ..ID
            },
            Column {
                name: "procedure_code",
                title: "Mã TTHC",
                text: |i, _| text(&i.procedure_code),
            },
            Column {
                name: "channel",
                title: "Kênh",
                text: |i, _| i.channel.clone().unwrap_or_default(),
            },
            RECEIVED,
            Column {
                name: "due_at",
                title: "Hạn giải quyết",
                text: |i, tz| time(i.due_at, tz),
            },
            RESOLVED,
            Column {
                name: "digitized",
                title: "Số hóa",
                text: |i, _| flag(i.digital),
            },
            Column {
                name: "without_result",
                title: "Không có kết quả",
                text: |i, _| flag(i.without_result),
            },
            Column {
                name: "days_late",
                title: "Số ngày quá hạn",
                text: |i, _| i.days_late.map_or(String::new(), |d| d.to_string()),
            },
        ],
        ItemKind::Petition => vec![UNIT, ID, RECEIVED, RESOLVED],
        ItemKind::Document => vec![
            UNIT,
            ID,
            Column {
                name: "number",
                title: "Số, ký hiệu",
                text: |i, _| text(&i.number),
            },
            Column {
                name: "signed_at",
                title: "Ngày ký",
                text: |i, tz| time(i.signed_at, tz),
            },
            Column {
                name: "digitally_signed",
                title: "Ký số",
                text: |i, _| flag(i.digital),
            },
        ],
        ItemKind::Article => vec![
            UNIT,
            ID,
            Column {
                name: "title",
                title: "Tiêu đề",
                text: |i, _| text(&i.title),
            },
            Column {
                name: "published_at",
                title: "Ngày đăng",
                text: |i, tz| time(i.published_at, tz),
            },
        ],
    }
}

/// Where a list was asked for: whose, which period, which figure, and as of which revision.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// The period.
    pub period: Period,
    /// The figure.
    pub figure: Figure,
    /// An issued revision: the items as counted at its issue. `None`: as the figures stand now.
    pub revision: Option<i32>,
}

/// Why a list cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The revision asked for was never issued.
    #[error("{unit} {period} has no revision {revision}")]
    NoRevision {
        /// The unit.
        unit: String,
        /// The period.
        period: Period,
        /// The revision.
        revision: i32,
    },
    /// The revision was issued before baocao kept the items each figure counted.
    #[error(
        "revision {revision} of {unit} {period} was issued before baocao kept the items behind \
         its figures: its lists cannot be shown as they were counted"
    )]
    NotKept {
        /// The unit.
        unit: String,
        /// The period.
        period: Period,
        /// The revision.
        revision: i32,
    },
}

/// Where a list's items come from, resolved against the store.
#[derive(Debug, Clone)]
pub struct Resolved {
    frozen: Vec<i64>,
    live: Vec<String>,
    window: domain::Window,
    overdue_at: DateTime<Utc>,
    /// The figure.
    pub figure: Figure,
    /// The deployment's zone.
    pub tz: Tz,
}

impl Resolved {
    /// The store's view of it.
    fn source(&self) -> Source<'_> {
        Source {
            frozen: &self.frozen,
            live: &self.live,
            window: self.window,
            overdue_at: self.overdue_at,
        }
    }

    /// One page: `limit` items from the `offset`-th, in `order`.
    pub async fn page(
        &self,
        pool: &PgPool,
        order: Order,
        offset: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Item>> {
        let rows =
            store::items::page(pool, self.source(), &self.figure, order, offset, limit).await?;
        Ok(rows.into_iter().map(|row| self.item(row)).collect())
    }

    /// Every item, in `order`, read from the database as the stream is consumed (a list of
    /// hundreds of thousands of items is never held whole).
    pub fn stream<'a>(
        &'a self,
        pool: &'a PgPool,
        order: Order,
    ) -> impl futures_lite::Stream<Item = anyhow::Result<Item>> + Send + 'a {
        use futures_lite::StreamExt;
        store::items::all(pool, self.source(), &self.figure, order)
            .map(move |row| row.map(|row| self.item(row)))
    }

    /// Every item, in `order`.
    pub async fn all(&self, pool: &PgPool, order: Order) -> anyhow::Result<Vec<Item>> {
        use futures_lite::StreamExt;
        let mut stream = std::pin::pin!(self.stream(pool, order));
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item?);
        }
        Ok(items)
    }

    /// The item `row` of this list.
    pub fn item(&self, row: ItemRow) -> Item {
        Item::of(self.figure.kind, row, self.overdue_at, self.tz)
    }
}

/// Where the list of `request` for `job`'s unit (or summary) comes from. Without a revision: a
/// unit's items now; a summary's members' items as its table shows them (a member that issued,
/// as its latest revision counted; the others now). With one: what that revision counted.
pub async fn resolve(
    pool: &PgPool,
    job: &UnitJob<'_>,
    request: &ListRequest,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<Resolved, Refusal>> {
    let unit = &job.profile.code;
    let window = request.period.window(job.tz);
    let end = window.end().to_utc();
    let mut resolved = Resolved {
        frozen: Vec::new(),
        live: Vec::new(),
        window,
        overdue_at: end.min(now),
        figure: request.figure,
        tz: job.tz,
    };
    if let Some(revision) = request.revision {
        let found =
            store::items::revision(pool, unit.as_str(), &request.period.to_string(), revision)
                .await?;
        let refusal = match found {
            Some((report_id, true)) => {
                resolved.frozen.push(report_id);
                resolved.overdue_at = end;
                return Ok(Ok(resolved));
            }
            Some((_, false)) => Refusal::NotKept {
                unit: unit.to_string(),
                period: request.period,
                revision,
            },
            None => Refusal::NoRevision {
                unit: unit.to_string(),
                period: request.period,
                revision,
            },
        };
        return Ok(Err(refusal));
    }
    match &job.members {
        None => resolved.live.push(unit.to_string()),
        Some(members) => {
            let issued = store::reports::issued_figures(pool, members, request.period).await?;
            for member in members {
                match issued.iter().find(|i| i.unit == member.as_str()) {
                    Some(i) if i.items_kept => resolved.frozen.push(i.report_id),
                    _ => resolved.live.push(member.to_string()),
                }
            }
        }
    }
    Ok(Ok(resolved))
}

/// The dossiers of `units` resolved late or pending past their due date in `period`, as of
/// `now`, for the sheet "Hồ sơ quá hạn": late ones first, each kind by unit and id. For a
/// summary, `members` gives the members (the list as its table counts them).
pub async fn overdue(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    for path in ["procedures.resolved_late", "procedures.pending_overdue"] {
        let figure = domain::figures::figure(path).expect("a figure of SPEC §5");
        let request = ListRequest {
            period,
            figure,
            revision: None,
        };
        let resolved = resolve(pool, job, &request, now)
            .await?
            .map_err(anyhow::Error::from)?;
        items.extend(resolved.all(pool, Order::default()).await?);
    }
    Ok(items)
}

/// The list as CSV: one header row of the columns' names, then one row per item.
pub fn csv_header(kind: ItemKind) -> String {
    let names: Vec<&str> = columns(kind).iter().map(|c| c.name).collect();
    format!("{}\r\n", names.join(","))
}

/// One item as a CSV row.
pub fn csv_row(kind: ItemKind, item: &Item, tz: Tz) -> String {
    let cells: Vec<String> = columns(kind)
        .iter()
        .map(|c| csv_cell(&(c.text)(item, tz)))
        .collect();
    format!("{}\r\n", cells.join(","))
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break, and a leading `=`, `+`,
/// `-` or `@` made inert (a spreadsheet would run it as a formula).
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The list as a workbook of one sheet: the figure's label as its title, the columns' titles,
/// one row per item.
pub fn workbook(
    unit: &UnitCode,
    request: &ListRequest,
    items: &[Item],
    tz: Tz,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Danh sách")?;
    let bold = CellFormat::new().set_bold();
    let title = format!(
        "{} — {}: {} ({} {})",
        unit,
        request.figure.group,
        request.figure.label,
        request.period,
        request
            .revision
            .map_or("hiện tại".to_owned(), |r| format!("lần ban hành {r}")),
    );
    sheet.write_string_with_format(0, 0, &title, &bold)?;
    let columns = columns(request.figure.kind);
    for (col, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(2, col as u16, column.title, &bold)?;
    }
    for (row, item) in items.iter().enumerate() {
        let row = 3 + row as u32;
        for (col, column) in columns.iter().enumerate() {
            if column.name == "days_late" {
                if let Some(days) = item.days_late {
                    sheet.write_number(row, col as u16, days as f64)?;
                }
                continue;
            }
            sheet.write_string(row, col as u16, (column.text)(item, tz))?;
        }
    }
    sheet.autofit();
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;

    fn row(due: &str, resolved: Option<&str>) -> ItemRow {
        ItemRow {
            unit: "tri-qua".into(),
            item_id: "H55.12-260501-0001".into(),
            label: Some("1.001".into()),
            channel: Some("online".into()),
            received_at: Some("2026-04-20T02:00:00Z".parse().unwrap()),
            due_at: Some(due.parse().unwrap()),
            resolved_at: resolved.map(|r| r.parse().unwrap()),
            flag: Some(true),
            without_result: Some(false),
        }
    }

    #[test]
    fn days_late_are_calendar_days_in_the_zone_from_due_date_to_resolution_or_window_end() {
        let end: DateTime<Utc> = "2026-05-14T17:00:00Z".parse().unwrap();
        // Due 16:30 on 5 May (local), resolved 08:00 on 7 May (local): two days late.
        let late = Item::of(
            ItemKind::Dossier,
            row("2026-05-05T09:30:00Z", Some("2026-05-07T01:00:00Z")),
            end,
            Ho_Chi_Minh,
        );
        assert_eq!(late.days_late, Some(2));
        // Resolved on the due day, after the due time: late, zero calendar days.
        let same_day = Item::of(
            ItemKind::Dossier,
            row("2026-05-05T02:00:00Z", Some("2026-05-05T09:00:00Z")),
            end,
            Ho_Chi_Minh,
        );
        assert_eq!(same_day.days_late, Some(0));
        // Pending: to the window's end (00:00 on 15 May local, the 15th's day).
        let pending = Item::of(
            ItemKind::Dossier,
            row("2026-05-10T09:30:00Z", None),
            end,
            Ho_Chi_Minh,
        );
        assert_eq!(pending.days_late, Some(5));
        // On time: none.
        let on_time = Item::of(
            ItemKind::Dossier,
            row("2026-05-10T09:30:00Z", Some("2026-05-09T01:00:00Z")),
            end,
            Ho_Chi_Minh,
        );
        assert_eq!(on_time.days_late, None);
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_made_inert() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("plain"), "plain");
        let header = csv_header(ItemKind::Dossier);
        assert!(header.starts_with("unit,id,procedure_code,channel,received_at,due_at,"));
        assert!(header.ends_with("days_late\r\n"));
    }
}
