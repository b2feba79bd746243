//! Sheet "Chỉ tiêu": every figure of the indicators document (SPEC §5), one row per unit.
//!
//! Layout (0-based rows):
//!
//! ```text
//! row 0  A:W CÁC CHỈ TIÊU BÁO CÁO
//! row 1  A:W Kỳ báo cáo: …
//! row 2  A:W Đơn vị báo cáo: … (and the note for provisional figures)
//! row 3  A3:A5 TT | B3:B4 Mã đơn vị | C3:C5 Đơn vị | D:E Văn bản | F:I Phản ánh, kiến nghị |
//!        J:V Hồ sơ thủ tục hành chính | W3 Tin, bài
//! row 4  the Vietnamese label of each figure
//! row 5  B `unit` and the JSON key of each figure (`procedures.online`)
//! row 6… one row per unit, then "Tổng cộng" (A:C merged) for a summary
//! ```

use domain::figures::FIGURES;
use rust_xlsxwriter::{Worksheet, XlsxError};

use super::style::{self, Styles};
use super::{FIGURES_SHEET, Form, period_line, provisional_note};

/// The first row of the header (the groups).
const HEADER_FIRST: u32 = 3;
/// The row of labels.
const LABEL_ROW: u32 = 4;
/// The row of JSON keys.
const KEY_ROW: u32 = 5;
/// The first unit's row.
const FIRST_ROW: u32 = 6;
/// The column of the first figure (D).
const FIRST_FIGURE_COL: u16 = 3;

/// The last column (W).
const LAST_COL: u16 = FIRST_FIGURE_COL + FIGURES.len() as u16 - 1;

/// The groups of consecutive figures: (group, first column, last column).
fn groups() -> Vec<(&'static str, u16, u16)> {
    let mut groups: Vec<(&'static str, u16, u16)> = Vec::new();
    for (i, figure) in FIGURES.iter().enumerate() {
        let col = FIRST_FIGURE_COL + i as u16;
        match groups.last_mut() {
            Some((group, _, last)) if *group == figure.group => *last = col,
            _ => groups.push((figure.group, col, col)),
        }
    }
    groups
}

/// Writes the sheet.
pub(crate) fn write(sheet: &mut Worksheet, form: &Form<'_>, s: &Styles) -> Result<(), XlsxError> {
    sheet.set_name(FIGURES_SHEET)?;
    sheet.set_column_width(0, 5)?;
    sheet.set_column_width(1, 14)?;
    sheet.set_column_width(2, 24)?;
    for col in FIRST_FIGURE_COL..=LAST_COL {
        sheet.set_column_width(col, 11)?;
    }

    // The title block.
    sheet.set_row_height(0, 24)?;
    sheet.merge_range(0, 0, 0, LAST_COL, "CÁC CHỈ TIÊU BÁO CÁO", &s.title)?;
    sheet.merge_range(1, 0, 1, LAST_COL, &period_line(form), &s.subtitle)?;
    let mut parties = format!("Đơn vị báo cáo: {}", form.reporting_body);
    if let Some(recipient) = form.recipient {
        parties.push_str(&format!(" — Đơn vị nhận báo cáo: {recipient}"));
    }
    if let Some(note) = provisional_note(form) {
        parties.push_str(&format!(" — {note}"));
    }
    sheet.merge_range(2, 0, 2, LAST_COL, &parties, &s.subtitle)?;

    // The header.
    sheet.set_row_height(HEADER_FIRST, 21)?;
    sheet.set_row_height(LABEL_ROW, 48)?;
    // Tall enough for the longest key, "procedures.resolved_on_time", turned 90°.
    sheet.set_row_height(KEY_ROW, 124)?;
    sheet.merge_range(HEADER_FIRST, 0, KEY_ROW, 0, "TT", &s.header)?;
    sheet.merge_range(HEADER_FIRST, 1, LABEL_ROW, 1, "Mã đơn vị", &s.header)?;
    sheet.write_string_with_format(KEY_ROW, 1, "unit", &s.key)?;
    sheet.merge_range(HEADER_FIRST, 2, KEY_ROW, 2, "Đơn vị", &s.header)?;
    for (group, first, last) in groups() {
        if first == last {
            sheet.write_string_with_format(HEADER_FIRST, first, group, &s.header)?;
        } else {
            sheet.merge_range(HEADER_FIRST, first, HEADER_FIRST, last, group, &s.header)?;
        }
    }
    for (i, figure) in FIGURES.iter().enumerate() {
        let col = FIRST_FIGURE_COL + i as u16;
        sheet.write_string_with_format(LABEL_ROW, col, figure.label, &s.subheader)?;
        sheet.write_string_with_format(KEY_ROW, col, figure.path, &s.key)?;
    }

    // One row per unit.
    let mut sums = [0_i64; FIGURES.len()];
    let mut row = FIRST_ROW;
    for (ordinal, unit) in form.rows.iter().enumerate() {
        sheet.write_number_with_format(row, 0, ordinal as f64 + 1.0, &s.ordinal)?;
        sheet.write_string_with_format(row, 1, unit.indicators.unit.as_str(), &s.name)?;
        sheet.write_string_with_format(row, 2, unit.name, &s.name)?;
        for (i, figure) in FIGURES.iter().enumerate() {
            let value = (figure.get)(unit.indicators);
            sums[i] += value;
            let col = FIRST_FIGURE_COL + i as u16;
            sheet.write_number_with_format(row, col, value as f64, &s.count)?;
        }
        row += 1;
    }

    // The total row of a summary.
    if form.total {
        let rows = (FIRST_ROW, row - 1);
        style::total_row(sheet, s, row, 2, rows, FIRST_FIGURE_COL, &sums)?;
    }

    sheet.set_freeze_panes(FIRST_ROW, FIRST_FIGURE_COL)?;
    style::print_setup(sheet, (HEADER_FIRST, KEY_ROW))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Indicators;
    use domain::figures::{ARTICLES, DOCUMENTS, PETITIONS, PROCEDURES};

    #[test]
    fn every_key_is_distinct_and_grouped_by_its_prefix() {
        let mut keys: Vec<&str> = FIGURES.iter().map(|f| f.path).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), FIGURES.len());
        for f in &FIGURES {
            let expected = match f.path.split('.').next() {
                Some("documents") => DOCUMENTS,
                Some("petitions") => PETITIONS,
                Some("procedures") => PROCEDURES,
                Some("articles") => ARTICLES,
                other => panic!("unexpected key {other:?}"),
            };
            assert_eq!(f.group, expected, "{}", f.path);
        }
    }

    #[test]
    fn every_figure_of_the_json_document_has_a_column() {
        let json = r#"{"unit": "tri-qua", "period": "2026-05",
            "window": {"start": "2026-04-15T00:00:00+07:00", "end": "2026-05-15T00:00:00+07:00"},
            "final": true,
            "documents":  {"issued": 1, "digitally_signed": 2},
            "petitions":  {"carried_over": 3, "received": 4, "resolved": 5, "pending": 6},
            "procedures": {"carried_over": 7, "received": 8, "online": 9, "direct": 10,
                           "postal": 11, "digitized": 12, "resolved": 13, "resolved_early": 14,
                           "resolved_on_time": 15, "resolved_late": 16,
                           "resolved_without_result": 21, "pending": 17,
                           "pending_on_time": 18, "pending_overdue": 19},
            "articles":   {"published": 20}}"#;
        let indicators: Indicators = serde_json::from_str(json).unwrap();
        let value = serde_json::to_value(&indicators).unwrap();
        let mut numbers = Vec::new();
        for (group, fields) in value.as_object().unwrap() {
            if let Some(fields) = fields.as_object() {
                for (name, v) in fields {
                    if let Some(n) = v.as_i64() {
                        numbers.push((format!("{group}.{name}"), n));
                    }
                }
            }
        }
        assert_eq!(numbers.len(), FIGURES.len());
        for (key, n) in numbers {
            let figure = FIGURES.iter().find(|f| f.path == key).unwrap();
            assert_eq!((figure.get)(&indicators), n, "{key}");
        }
    }

    #[test]
    fn the_groups_are_contiguous() {
        assert_eq!(
            groups(),
            vec![
                (DOCUMENTS, 3, 4),
                (PETITIONS, 5, 8),
                (PROCEDURES, 9, 22),
                (ARTICLES, 23, 23),
            ]
        );
    }
}
