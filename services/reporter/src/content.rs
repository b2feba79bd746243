//! Everything a report says, gathered in one value before any format is rendered: the unit's
//! profile, the number and date, the window, the indicators and the period's narrative, and for
//! a summary its members' table.
//!
//! Templates see this value as their context, so the names of its fields are the names a ward
//! uses when it edits its templates (`indicators.procedures.online`, `window.from`, ...).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use domain::indicators::Reported;
use domain::notation;
use domain::profile::{Narrative, Signer, UnitProfile};
use domain::text::without_controls;
use domain::{Indicators, MemberFigures, form};
use serde::Serialize;

use crate::figures::Figures;

/// The inputs of one report, from the store and the configuration.
#[derive(Debug, Clone)]
pub struct ReportInputs<'a> {
    /// The unit's (or summary's) profile from `baocao.toml`.
    pub profile: &'a UnitProfile,
    /// The period's figures.
    pub figures: &'a Figures,
    /// A summary's members' names, in its table's order (empty for a unit).
    pub member_names: &'a [String],
    /// The narrative for this period: the profile's, with the period's edits applied.
    pub narrative: Narrative,
    /// The report's number, or `None` for the blank the clerk fills in.
    pub number: Option<u32>,
    /// The report's date (the day it is sent).
    pub date: NaiveDate,
    /// The window's first day and the day after its last (15/4 and 15/5 for May).
    pub window_days: (NaiveDate, NaiveDate),
    /// When the figures were read, for a draft of the open window.
    pub as_of: DateTime<Tz>,
}

/// The template context of a report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportContent {
    /// The unit's code, names and place.
    pub unit: UnitView,
    /// "103/BC-UBND", or "     /BC-UBND" when the clerk numbers it.
    pub number: String,
    /// The number itself, if baocao numbers the report.
    pub number_value: Option<u32>,
    /// For a corrected revision, the number of the report it replaces ("103/BC-UBND").
    pub replaces: Option<String>,
    /// "Trí Quả, ngày 18 tháng 5 năm 2026".
    pub place_and_date: String,
    /// The report's date, `2026-05-18`.
    pub issued_on: NaiveDate,
    /// The period's month and year.
    pub period: PeriodView,
    /// "Kết quả Chuyển đổi số tháng 5 năm 2026".
    pub subject: String,
    /// The window as the figure paragraphs write it.
    pub window: WindowView,
    /// The window's first day and the day after its last.
    #[serde(skip)]
    pub window_days: (NaiveDate, NaiveDate),
    /// False for a draft of the open window: its figures are as of `as_of`.
    pub is_final: bool,
    /// "20:15 ngày 27/11/2026": when a draft's figures were read.
    pub as_of: String,
    /// The indicators document of SPEC §5; for a summary, the members' total.
    pub indicators: Indicators,
    /// A summary's members, their table and how many had reported (`None` for a unit).
    pub summary: Option<SummaryView>,
    /// The figures (SPEC §5's document, or §12's for a summary): what a sent revision freezes
    /// and `--format json` prints.
    #[serde(skip)]
    pub figures: Figures,
    /// The narrative paragraphs by field name (`propaganda`, `limitations`, ...).
    pub narrative: BTreeMap<&'static str, Vec<String>>,
    /// The lines of "Nơi nhận", without their closing punctuation.
    pub recipients: Vec<String>,
    /// The signer block.
    pub signer: Signer,
    /// The visible digital signature, on an issued revision of a unit that signs (never on a
    /// draft).
    pub signature: Option<SignatureView>,
    /// The dossiers resolved late or pending past due (the workbook's sheet "Hồ sơ quá hạn"),
    /// read by [`crate::compose`]; empty until then.
    #[serde(skip)]
    pub overdue: Vec<crate::items::Item>,
    /// The deployment's zone, in which the items' times are written.
    #[serde(skip)]
    pub zone: chrono_tz::Tz,
}

/// The visible digital signature as Phụ lục I of Nghị định 30/2020/NĐ-CP shows an
/// organisation's: who signed and when, in a box at the signer's block.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureView {
    /// The organisation the certificate names, e.g. "UBND phường Trí Quả".
    pub organisation: String,
    /// The signing time, ISO 8601 with the zone's offset: `2026-05-18T08:00:00+07:00`.
    pub time: String,
    /// The box's width, in points (the signature's field covers it exactly).
    pub width: f64,
    /// The box's height, in points.
    pub height: f64,
}

/// The unit, as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    /// `tri-qua`.
    pub code: String,
    /// The issuing body's lines, in capitals.
    pub issuing_body: Vec<String>,
    /// "UBND phường Trí Quả".
    pub short_name: String,
    /// "Trí Quả".
    pub place: String,
    /// "phường", "xã" or "đặc khu".
    pub kind: String,
}

/// A period, as templates see it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PeriodView {
    /// 1–12.
    pub month: u32,
    /// e.g. 2026.
    pub year: i32,
}

/// A window, as the figure paragraphs write it.
#[derive(Debug, Clone, Serialize)]
pub struct WindowView {
    /// "15/4/2026".
    pub from: String,
    /// "15/5/2026": the day after the last day, as the reference writes it.
    pub to: String,
}

impl ReportContent {
    /// Gathers the context of one report.
    pub fn new(inputs: ReportInputs<'_>) -> Self {
        let profile = inputs.profile;
        let period = inputs.figures.period();
        let indicators = inputs.figures.indicators(inputs.as_of.timezone());
        let summary = match inputs.figures {
            Figures::Unit(_) => None,
            Figures::Summary { document } => Some(SummaryView::new(
                &document.members,
                inputs.member_names,
                document.reported,
            )),
        };
        let subject = format!(
            "{}ết quả Chuyển đổi số tháng {} năm {}",
            if summary.is_some() {
                "Tổng hợp k"
            } else {
                "K"
            },
            period.month(),
            period.year()
        );
        Self {
            unit: UnitView {
                code: profile.code.as_str().to_owned(),
                issuing_body: profile.issuing_body.clone(),
                short_name: profile.short_name.clone(),
                place: profile.place.clone(),
                kind: profile.kind.clone(),
            },
            number: notation::document_number(inputs.number, &profile.numbering.symbol),
            number_value: inputs.number,
            replaces: None,
            place_and_date: format!("{}, {}", profile.place, notation::decree_date(inputs.date)),
            issued_on: inputs.date,
            period: PeriodView {
                month: period.month(),
                year: period.year(),
            },
            subject,
            window: WindowView {
                from: notation::short_date(inputs.window_days.0),
                to: notation::short_date(inputs.window_days.1),
            },
            window_days: inputs.window_days,
            is_final: indicators.is_final,
            as_of: format!(
                "{} ngày {}",
                inputs.as_of.format("%H:%M"),
                notation::short_date(inputs.as_of.date_naive())
            ),
            indicators,
            summary,
            figures: inputs.figures.clone(),
            narrative: narrative_fields(&inputs.narrative),
            recipients: profile
                .recipients
                .iter()
                .map(|recipient| recipient.label.clone())
                .collect(),
            signer: profile.signer.clone(),
            signature: None,
            overdue: Vec::new(),
            zone: inputs.as_of.timezone(),
        }
    }
}

/// The narrative as a map from field name to paragraphs. Edits are checked when they are
/// made, but one stored before that check existed may hold control characters, which the DOCX
/// cannot carry: they are dropped here, for every format.
fn narrative_fields(narrative: &Narrative) -> BTreeMap<&'static str, Vec<String>> {
    narrative
        .fields()
        .map(|(field, paragraphs)| {
            let printable = paragraphs.iter().map(|p| without_controls(p)).collect();
            (field.name(), printable)
        })
        .collect()
}

/// A summary's part of the report: how many members had reported, and the table of the national
/// form's columns (Biểu II.06a) with one row per member and a total row.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryView {
    /// The members, and how many had issued their report.
    pub reported: Reported,
    /// The names of the members that had not, in the table's order.
    pub not_reported: Vec<String>,
    /// Whether any member's row is provisional: counted when the report was made, as that
    /// member had issued no report of its own.
    pub provisional: bool,
    /// The members' table.
    pub table: FormTable,
    /// The members' indicators documents, for the XLSX.
    #[serde(skip)]
    pub members: Vec<Indicators>,
}

/// The national form's table (SPEC §12), as the report prints it.
#[derive(Debug, Clone, Serialize)]
pub struct FormTable {
    /// The header's upper level: each group and how many columns it spans.
    pub groups: Vec<GroupHead>,
    /// The figure columns' labels, under their groups.
    pub columns: Vec<&'static str>,
    /// One row per member.
    pub rows: Vec<FormRow>,
    /// The total row: each column summed over the members.
    pub total: Vec<i64>,
    /// The total row in words, as the plain-text report writes a row.
    pub total_line: String,
}

/// One group of columns in the table's header.
#[derive(Debug, Clone, Serialize)]
pub struct GroupHead {
    /// "Số hồ sơ nhận giải quyết".
    pub label: &'static str,
    /// The columns under it.
    pub span: usize,
}

/// One member's row.
#[derive(Debug, Clone, Serialize)]
pub struct FormRow {
    /// 1, 2, 3, …
    pub ordinal: usize,
    /// The member's name, e.g. "UBND phường Trí Quả", followed by "(tạm tính)" when its row
    /// is provisional.
    pub name: String,
    /// The member had issued no report: its figures were counted when this report was made.
    pub provisional: bool,
    /// The figure columns' values.
    pub values: Vec<i64>,
    /// The row in words, for the plain-text report: "nhận giải quyết 34 (trực tuyến 20, …); …".
    pub line: String,
}

impl SummaryView {
    /// The view of `members` (named `names`); a provisional row is a member that had not
    /// reported.
    pub fn new(members: &[MemberFigures], names: &[String], reported: Reported) -> Self {
        let name = |i: usize, member: &MemberFigures| {
            names
                .get(i)
                .cloned()
                .unwrap_or_else(|| member.indicators.unit.to_string())
        };
        let rows: Vec<FormRow> = members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let values = form::values(&member.indicators.procedures);
                let name = name(i, member);
                FormRow {
                    ordinal: i + 1,
                    name: if member.provisional {
                        format!("{name} {PROVISIONAL}")
                    } else {
                        name
                    },
                    provisional: member.provisional,
                    line: in_words(&values),
                    values: values.to_vec(),
                }
            })
            .collect();
        let mut total = [0_i64; form::COLUMNS.len()];
        for row in &rows {
            for (sum, value) in total.iter_mut().zip(&row.values) {
                *sum += value;
            }
        }
        let not_reported = members
            .iter()
            .enumerate()
            .filter(|(_, member)| member.provisional)
            .map(|(i, member)| name(i, member))
            .collect();
        Self {
            reported,
            not_reported,
            provisional: members.iter().any(|m| m.provisional),
            members: members.iter().map(|m| m.indicators.clone()).collect(),
            table: FormTable {
                groups: form::GROUPS
                    .iter()
                    .map(|&(label, first, last)| GroupHead {
                        label,
                        span: last - first + 1,
                    })
                    .collect(),
                columns: form::COLUMNS.iter().map(|column| column.label).collect(),
                rows,
                total_line: in_words(&total),
                total: total.to_vec(),
            },
        }
    }
}

/// What follows a provisional member's name in the table: its figures are counted when the
/// summary is made, as it had issued no report of its own.
pub const PROVISIONAL: &str = "(tạm tính)";

/// One row of the form in words: each group's total, then its parts in brackets.
fn in_words(values: &[i64]) -> String {
    form::GROUPS
        .iter()
        .map(|&(label, first, last)| {
            let parts: Vec<String> = (first + 1..=last)
                .map(|i| format!("{} {}", lower_first(form::COLUMNS[i].label), values[i]))
                .collect();
            let label = label.strip_prefix("Số hồ sơ ").unwrap_or(label);
            format!("{label} {} ({})", values[first], parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `text` with its first letter in lower case: "Kết quả" → "kết quả".
pub(crate) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}
