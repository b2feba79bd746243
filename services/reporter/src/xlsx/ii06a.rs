//! Sheet "II.06a": Biểu số II.06a, "Tình hình, kết quả giải quyết thủ tục hành chính".
//!
//! Layout (0-based rows; Excel rows are one more):
//!
//! ```text
//! row 0  A:C Biểu số II.06a | D:J TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC  | K:M Đơn vị báo cáo: …
//! row 1                     | D:J Kỳ báo cáo: tháng 5 năm 2026 (…)     | K:M Đơn vị nhận báo cáo: …
//! row 2                     | D:J (note for provisional figures)       | K:M Đơn vị tính: hồ sơ
//! row 3  A3:A6 TT | B3:B6 Đơn vị | C:F Số hồ sơ nhận giải quyết | G:M Kết quả giải quyết
//! row 4    C4:C6 Tổng số | D:F Trong đó | G:J Số hồ sơ đã giải quyết | K:M Số hồ sơ đang giải quyết
//! row 5    D:E Số mới tiếp nhận trong kỳ | F5:F6 Kỳ trước chuyển qua | G..M each rows 5–6
//! row 6    D Trực tuyến | E Trực tiếp và bưu chính
//! row 7  (1) (2) … (13)
//! row 8… one row per unit, then "Tổng cộng" (A:B merged) for a summary
//! ```

use domain::form::{COLUMNS, Cell, values};
use rust_xlsxwriter::{Formula, Worksheet, XlsxError, utility::row_col_to_cell};

use super::style::{self, Styles};
use super::{FORM_SHEET, Form, period_line, provisional_note};

/// The first row of the table's header.
const HEADER_FIRST: u32 = 3;
/// The last row of the table's header (the lowest level).
const HEADER_LAST: u32 = 6;
/// The row of column numbers.
const NUMBERS_ROW: u32 = 7;
/// The first unit's row.
const FIRST_ROW: u32 = 8;
/// The column of the first figure (C).
const FIRST_FIGURE_COL: u16 = 2;

/// The last column (M).
const LAST_COL: u16 = FIRST_FIGURE_COL + COLUMNS.len() as u16 - 1;

/// The merged and single header cells: (first row, first col, last row, last col, text, bold).
const HEADER: [(u32, u16, u32, u16, &str, bool); 19] = [
    (3, 0, 6, 0, "TT", true),
    (3, 1, 6, 1, "Đơn vị", true),
    (3, 2, 3, 5, "Số hồ sơ nhận giải quyết", true),
    (3, 6, 3, 12, "Kết quả giải quyết", true),
    (4, 2, 6, 2, "Tổng số", true),
    (4, 3, 4, 5, "Trong đó", false),
    (4, 6, 4, 9, "Số hồ sơ đã giải quyết", true),
    (4, 10, 4, 12, "Số hồ sơ đang giải quyết", true),
    (5, 3, 5, 4, "Số mới tiếp nhận trong kỳ", false),
    (5, 5, 6, 5, "Kỳ trước chuyển qua", false),
    (5, 6, 6, 6, "Tổng số", true),
    (5, 7, 6, 7, "Trả trước hạn", false),
    (5, 8, 6, 8, "Trả đúng hạn", false),
    (5, 9, 6, 9, "Trả quá hạn", false),
    (5, 10, 6, 10, "Tổng số", true),
    (5, 11, 6, 11, "Trong hạn", false),
    (5, 12, 6, 12, "Quá hạn", false),
    (6, 3, 6, 3, "Trực tuyến", false),
    (6, 4, 6, 4, "Trực tiếp và bưu chính", false),
];

/// Writes the sheet.
pub(crate) fn write(sheet: &mut Worksheet, form: &Form<'_>, s: &Styles) -> Result<(), XlsxError> {
    sheet.set_name(FORM_SHEET)?;
    sheet.set_column_width(0, 5)?;
    sheet.set_column_width(1, 26)?;
    for col in FIRST_FIGURE_COL..=LAST_COL {
        sheet.set_column_width(col, 10.5)?;
    }

    // The title block.
    sheet.set_row_height(0, 36)?;
    sheet.set_row_height(1, 36)?;
    sheet.set_row_height(2, 21)?;
    sheet.merge_range(0, 0, 0, 2, "Biểu số II.06a", &s.form_number)?;
    sheet.merge_range(
        0,
        3,
        0,
        9,
        "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        &s.title,
    )?;
    sheet.merge_range(1, 3, 1, 9, &period_line(form), &s.subtitle)?;
    sheet.merge_range(
        0,
        10,
        0,
        LAST_COL,
        &format!("Đơn vị báo cáo: {}", form.reporting_body),
        &s.party,
    )?;
    if let Some(recipient) = form.recipient {
        sheet.merge_range(
            1,
            10,
            1,
            LAST_COL,
            &format!("Đơn vị nhận báo cáo: {recipient}"),
            &s.party,
        )?;
    }
    if let Some(note) = provisional_note(form) {
        sheet.merge_range(2, 3, 2, 9, note, &s.subtitle)?;
    }
    sheet.merge_range(2, 10, 2, LAST_COL, "Đơn vị tính: hồ sơ", &s.unit_of_count)?;

    // The header.
    for (row, height) in (HEADER_FIRST..=HEADER_LAST).zip([21, 21, 33, 33]) {
        sheet.set_row_height(row, height)?;
    }
    for &(r1, c1, r2, c2, text, bold) in &HEADER {
        let format = if bold { &s.header } else { &s.subheader };
        if (r1, c1) == (r2, c2) {
            sheet.write_string_with_format(r1, c1, text, format)?;
        } else {
            sheet.merge_range(r1, c1, r2, c2, text, format)?;
        }
    }
    for col in 0..=LAST_COL {
        sheet.write_string_with_format(
            NUMBERS_ROW,
            col,
            format!("({})", col + 1),
            &s.column_number,
        )?;
    }

    // One row per unit.
    let mut sums = [0_i64; COLUMNS.len()];
    let mut row = FIRST_ROW;
    for (ordinal, unit) in form.rows.iter().enumerate() {
        sheet.write_number_with_format(row, 0, ordinal as f64 + 1.0, &s.ordinal)?;
        sheet.write_string_with_format(row, 1, unit.name, &s.name)?;
        let values = values(&unit.indicators.procedures);
        for (i, column) in COLUMNS.iter().enumerate() {
            let col = FIRST_FIGURE_COL + i as u16;
            let value = values[i];
            sums[i] += value;
            match column.cell {
                Cell::Figure(_) => {
                    sheet.write_number_with_format(row, col, value as f64, &s.count)?;
                }
                Cell::Sum(parts) => {
                    let refs: Vec<String> = parts
                        .iter()
                        .map(|&p| row_col_to_cell(row, FIRST_FIGURE_COL + p as u16))
                        .collect();
                    let formula =
                        Formula::new(format!("={}", refs.join("+"))).set_result(value.to_string());
                    sheet.write_formula_with_format(row, col, formula, &s.count)?;
                }
            }
        }
        row += 1;
    }

    // The total row of a summary.
    if form.total {
        let rows = (FIRST_ROW, row - 1);
        style::total_row(sheet, s, row, 1, rows, FIRST_FIGURE_COL, &sums)?;
    }

    sheet.set_freeze_panes(FIRST_ROW, FIRST_FIGURE_COL)?;
    style::print_setup(sheet, (HEADER_FIRST, NUMBERS_ROW))?;
    sheet.set_selection(FIRST_ROW, FIRST_FIGURE_COL, FIRST_ROW, FIRST_FIGURE_COL)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_covers_every_column_of_the_lowest_level_once() {
        let mut covered = [0_u8; (LAST_COL + 1) as usize];
        for &(r1, c1, r2, c2, _, _) in &HEADER {
            if r1 <= HEADER_LAST && HEADER_LAST <= r2 {
                for c in c1..=c2 {
                    covered[c as usize] += 1;
                }
            }
        }
        assert!(covered.iter().all(|&n| n == 1), "{covered:?}");
    }

    #[test]
    fn the_group_headers_span_their_columns() {
        assert_eq!(LAST_COL, 12);
        assert!(HEADER.contains(&(3, 2, 3, 5, "Số hồ sơ nhận giải quyết", true)));
        assert!(HEADER.contains(&(3, 6, 3, 12, "Kết quả giải quyết", true)));
    }
}
