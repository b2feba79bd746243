//! The XLSX workbook (SPEC §12): a unit's or a summary's figures as the national form
//! Biểu II.06a "Tình hình, kết quả giải quyết thủ tục hành chính", plus every SPEC §5 figure.
//!
//! The workbook has two sheets:
//! - **"II.06a"**: the paper form's title block, its merged header (four levels, as on paper),
//!   the row of column numbers (1)–(13), one row per unit and, for a summary, a bold total row.
//!   Every "Tổng số" cell is a formula of its parts (`=D9+E9+F9`) and every total a `=SUM(...)`,
//!   each with its computed value stored, so the form's invariants hold by construction in an
//!   office suite and a reader that does not recalculate still sees the figures.
//! - **"Chỉ tiêu"**: one row per unit with every figure of the indicators document, grouped under
//!   merged headers (Văn bản, Phản ánh kiến nghị, Hồ sơ thủ tục hành chính, Tin bài), each column
//!   labelled in Vietnamese with its JSON key beneath; for a summary a total row of formulas.
//!
//! The output is deterministic: the document's creation time is the window's last day.
//!
//! ```no_run
//! # fn demo(indicators: &domain::Indicators) -> Result<(), reporter::xlsx::Error> {
//! use chrono::NaiveDate;
//! let form = reporter::xlsx::Form {
//!     reporting_body: "UBND phường Trí Quả",
//!     recipient: Some("UBND tỉnh Quảng Ngãi"),
//!     period: indicators.period,
//!     window_days: (
//!         NaiveDate::from_ymd_opt(2026, 4, 15).unwrap_or_default(),
//!         NaiveDate::from_ymd_opt(2026, 5, 15).unwrap_or_default(),
//!     ),
//!     rows: vec![reporter::xlsx::Row { name: "Phường Trí Quả", indicators }],
//!     total: false,
//! };
//! let bytes: Vec<u8> = reporter::xlsx::build(&form)?;
//! # let _ = bytes; Ok(()) }
//! ```

mod figures;
mod ii06a;
mod overdue;
mod style;

use chrono::{Datelike, NaiveDate};
use domain::notation::short_date;
use domain::{Indicators, Period};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

/// The name of the national form's sheet.
pub const FORM_SHEET: &str = "II.06a";
/// The name of the sheet with every SPEC §5 figure.
pub const FIGURES_SHEET: &str = "Chỉ tiêu";
/// The name of a report's sheet of dossiers resolved late or pending past due (SPEC §5.1).
pub const OVERDUE_SHEET: &str = "Hồ sơ quá hạn";

/// What the workbook reports: who reports to whom, for which period, and the units' figures.
#[derive(Debug, Clone)]
pub struct Form<'a> {
    /// The reporting body as written after "Đơn vị báo cáo:", e.g. "UBND phường Trí Quả" or
    /// "Sở Khoa học và Công nghệ".
    pub reporting_body: &'a str,
    /// The receiving body written after "Đơn vị nhận báo cáo:", e.g. "UBND tỉnh Quảng Ngãi";
    /// the line is left out without one.
    pub recipient: Option<&'a str>,
    /// The period reported on: its month and year are in the title.
    pub period: Period,
    /// The first and last day of the period as written in the title: (15/4/2026, 15/5/2026).
    /// The last day is also the document's creation date, which keeps the output deterministic.
    pub window_days: (NaiveDate, NaiveDate),
    /// One row per unit, in the order they are listed.
    pub rows: Vec<Row<'a>>,
    /// Whether to add a total row ("Tổng cộng"): true for a summary, false for one unit.
    pub total: bool,
}

/// One unit of the form: its name as written in the "Đơn vị" column and its figures.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The unit's name, e.g. "Phường Trí Quả".
    pub name: &'a str,
    /// The unit's indicators document for the form's period.
    pub indicators: &'a Indicators,
}

/// Why a workbook could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The form has no unit to report on.
    #[error("the form has no rows")]
    NoRows,
    /// A row's indicators are for another period than the form's.
    #[error("unit {unit} reports period {found}, the form is for {expected}")]
    PeriodMismatch {
        /// The unit's code.
        unit: String,
        /// The form's period.
        expected: Period,
        /// The row's period.
        found: Period,
    },
    /// A row's figures break one of the form's invariants, so the form's formulas would not
    /// reproduce them.
    #[error("unit {unit}: {rule} does not hold")]
    Inconsistent {
        /// The unit's code.
        unit: String,
        /// The invariant that does not hold.
        rule: &'static str,
    },
    /// The XLSX writer failed.
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Builds the workbook of `form` and returns the bytes of the `.xlsx` file.
///
/// # Errors
/// [`Error::NoRows`] for a form without rows, [`Error::PeriodMismatch`] for a row of another
/// period, [`Error::Inconsistent`] for figures that break an invariant of the form (received =
/// online + direct + postal; resolved = early + on time + late; pending = on time + overdue), and
/// [`Error::Xlsx`] if the writer fails.
pub fn build(form: &Form<'_>) -> Result<Vec<u8>, Error> {
    Ok(assemble(form)?.save_to_buffer()?)
}

/// The workbook of `form`, its two sheets written.
fn assemble(form: &Form<'_>) -> Result<Workbook, Error> {
    validate(form)?;

    let mut workbook = Workbook::new();
    workbook.set_default_format(&style::default_format(), 21, 72)?;
    let (y, m, d) = (
        form.window_days.1.year(),
        form.window_days.1.month(),
        form.window_days.1.day(),
    );
    // A workbook's dates start in 1900: a window ending before (a period the API and the
    // command line take, which no report has) is dated 1900-01-01.
    let created = ExcelDateTime::from_ymd(
        u16::try_from(y).unwrap_or(1900),
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    )
    .or_else(|_| ExcelDateTime::from_ymd(1900, 1, 1))?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title(format!("Biểu số II.06a — {}", period_line(form)))
            .set_subject("Tình hình, kết quả giải quyết thủ tục hành chính")
            .set_author(form.reporting_body)
            .set_company(form.reporting_body)
            .set_creation_datetime(&created),
    );

    let styles = style::Styles::new();
    ii06a::write(workbook.add_worksheet(), form, &styles)?;
    figures::write(workbook.add_worksheet(), form, &styles)?;
    Ok(workbook)
}

/// The workbook of a report: its unit's row, or a summary's members' rows and total, and the
/// sheet "Hồ sơ quá hạn" of its overdue dossiers. The receiving body is the first line of "Nơi
/// nhận", without its "(b/c)".
pub fn of_report(content: &crate::ReportContent) -> Result<Vec<u8>, Error> {
    let recipient = content
        .recipients
        .first()
        .map(|line| line.trim_end_matches("(b/c)").trim());
    let rows = match &content.summary {
        Some(summary) => summary
            .members
            .iter()
            .zip(&summary.table.rows)
            .map(|(indicators, row)| Row {
                name: &row.name,
                indicators,
            })
            .collect(),
        None => vec![Row {
            name: &content.unit.short_name,
            indicators: &content.indicators,
        }],
    };
    let form = Form {
        reporting_body: &content.unit.short_name,
        recipient,
        period: content.indicators.period,
        window_days: content.window_days,
        rows,
        total: content.summary.is_some(),
    };
    let mut workbook = assemble(&form)?;
    overdue::write(
        workbook.add_worksheet(),
        &period_line(&form),
        &content.overdue,
        content.zone,
        &style::Styles::new(),
    )?;
    Ok(workbook.save_to_buffer()?)
}

/// Checks what the formulas of the form rely on.
fn validate(form: &Form<'_>) -> Result<(), Error> {
    if form.rows.is_empty() {
        return Err(Error::NoRows);
    }
    for row in &form.rows {
        let ind = row.indicators;
        let unit = || ind.unit.as_str().to_owned();
        if ind.period != form.period {
            return Err(Error::PeriodMismatch {
                unit: unit(),
                expected: form.period,
                found: ind.period,
            });
        }
        let p = &ind.procedures;
        let rules = [
            (
                p.received == p.online + p.direct + p.postal,
                "procedures.received = online + direct + postal",
            ),
            (
                p.resolved == p.resolved_early + p.resolved_on_time + p.resolved_late,
                "procedures.resolved = resolved_early + resolved_on_time + resolved_late",
            ),
            (
                p.pending == p.pending_on_time + p.pending_overdue,
                "procedures.pending = pending_on_time + pending_overdue",
            ),
        ];
        if let Some((_, rule)) = rules.iter().find(|(holds, _)| !holds) {
            return Err(Error::Inconsistent { unit: unit(), rule });
        }
    }
    Ok(())
}

/// "Kỳ báo cáo: tháng 5 năm 2026 (từ ngày 15/4/2026 đến ngày 15/5/2026)".
fn period_line(form: &Form<'_>) -> String {
    format!(
        "Kỳ báo cáo: tháng {} năm {} (từ ngày {} đến ngày {})",
        form.period.month(),
        form.period.year(),
        short_date(form.window_days.0),
        short_date(form.window_days.1)
    )
}

/// The note for figures of a window still open, if any row's are.
fn provisional_note(form: &Form<'_>) -> Option<&'static str> {
    form.rows
        .iter()
        .any(|row| !row.indicators.is_final)
        .then_some("Số liệu tạm tính: kỳ báo cáo chưa kết thúc")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::UnitCode;
    use domain::indicators::{Articles, Documents, Petitions, Procedures, WindowBounds};

    fn sample() -> Indicators {
        Indicators {
            unit: UnitCode::parse("tri-qua").unwrap(),
            period: Period::new(2026, 5).unwrap(),
            window: WindowBounds {
                start: "2026-04-15T00:00:00+07:00".into(),
                end: "2026-05-15T00:00:00+07:00".into(),
            },
            is_final: true,
            documents: Documents {
                issued: 157,
                digitally_signed: 157,
            },
            petitions: Petitions {
                carried_over: 0,
                received: 5,
                resolved: 5,
                pending: 0,
            },
            procedures: Procedures {
                carried_over: 0,
                received: 550,
                online: 465,
                direct: 85,
                postal: 0,
                digitized: 550,
                resolved: 513,
                resolved_early: 513,
                resolved_on_time: 0,
                resolved_late: 0,
                resolved_without_result: 0,
                pending: 37,
                pending_on_time: 37,
                pending_overdue: 0,
            },
            articles: Articles { published: 78 },
        }
    }

    fn form(rows: Vec<Row<'_>>, total: bool) -> Form<'_> {
        Form {
            reporting_body: "UBND phường Trí Quả",
            recipient: Some("UBND tỉnh Quảng Ngãi"),
            period: Period::new(2026, 5).unwrap(),
            window_days: (
                NaiveDate::from_ymd_opt(2026, 4, 15).unwrap(),
                NaiveDate::from_ymd_opt(2026, 5, 15).unwrap(),
            ),
            rows,
            total,
        }
    }

    #[test]
    fn period_line_reads_as_on_the_form() {
        let ind = sample();
        let f = form(
            vec![Row {
                name: "Phường Trí Quả",
                indicators: &ind,
            }],
            false,
        );
        assert_eq!(
            period_line(&f),
            "Kỳ báo cáo: tháng 5 năm 2026 (từ ngày 15/4/2026 đến ngày 15/5/2026)"
        );
    }

    #[test]
    fn builds_a_zip_and_is_deterministic() {
        let ind = sample();
        let f = form(
            vec![Row {
                name: "Phường Trí Quả",
                indicators: &ind,
            }],
            false,
        );
        let a = build(&f).unwrap();
        let b = build(&f).unwrap();
        assert!(a.starts_with(b"PK\x03\x04"));
        assert_eq!(a, b);
    }

    #[test]
    fn a_window_before_the_first_day_a_workbook_holds_builds() {
        let mut ind = sample();
        ind.period = Period::new(1, 1).unwrap();
        let mut f = form(
            vec![Row {
                name: "Phường Trí Quả",
                indicators: &ind,
            }],
            false,
        );
        f.period = ind.period;
        f.window_days = (
            NaiveDate::from_ymd_opt(0, 12, 15).unwrap(),
            NaiveDate::from_ymd_opt(1, 1, 15).unwrap(),
        );
        assert!(build(&f).is_ok());
    }

    #[test]
    fn a_summary_builds() {
        let ind = sample();
        let rows = (0..3)
            .map(|_| Row {
                name: "Phường Trí Quả",
                indicators: &ind,
            })
            .collect();
        assert!(build(&form(rows, true)).is_ok());
    }

    #[test]
    fn no_rows_is_an_error() {
        assert!(matches!(build(&form(vec![], true)), Err(Error::NoRows)));
    }

    #[test]
    fn another_period_is_an_error() {
        let mut ind = sample();
        ind.period = Period::new(2026, 4).unwrap();
        let f = form(
            vec![Row {
                name: "x",
                indicators: &ind,
            }],
            false,
        );
        assert!(matches!(build(&f), Err(Error::PeriodMismatch { .. })));
    }

    #[test]
    fn broken_invariants_are_errors() {
        let cases: [fn(&mut Procedures); 3] = [
            |p| p.online += 1,
            |p| p.resolved_late += 1,
            |p| p.pending_overdue += 1,
        ];
        for break_it in cases {
            let mut ind = sample();
            break_it(&mut ind.procedures);
            let f = form(
                vec![Row {
                    name: "x",
                    indicators: &ind,
                }],
                false,
            );
            match build(&f) {
                Err(Error::Inconsistent { unit, .. }) => assert_eq!(unit, "tri-qua"),
                other => panic!("expected Inconsistent, got {other:?}"),
            }
        }
    }

    #[test]
    fn provisional_figures_are_noted() {
        let mut ind = sample();
        let f = form(
            vec![Row {
                name: "x",
                indicators: &ind,
            }],
            false,
        );
        assert_eq!(provisional_note(&f), None);
        ind.is_final = false;
        let f = form(
            vec![Row {
                name: "x",
                indicators: &ind,
            }],
            false,
        );
        assert!(provisional_note(&f).is_some());
    }
}
