//! The cell formats of both sheets: Times New Roman throughout, thin borders on the table.

use rust_xlsxwriter::utility::row_col_to_cell;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Formula, Worksheet, XlsxError};

/// The font of the paper form.
pub(crate) const FONT: &str = "Times New Roman";
/// The size of the table's text.
const SIZE: f64 = 12.0;
/// How counts are shown: digit grouping by the reader's locale.
const COUNT: &str = "#,##0";

/// The workbook's default format, for the cells nothing else is written to.
pub(crate) fn default_format() -> Format {
    Format::new().set_font_name(FONT).set_font_size(SIZE)
}

/// The formats used by the sheets.
pub(crate) struct Styles {
    /// The form's number in the top left corner: "Biểu số II.06a".
    pub form_number: Format,
    /// The form's title.
    pub title: Format,
    /// The period line under the title.
    pub subtitle: Format,
    /// "Đơn vị báo cáo: …" and "Đơn vị nhận báo cáo: …".
    pub party: Format,
    /// "Đơn vị tính: hồ sơ", at the right edge above the table.
    pub unit_of_count: Format,
    /// A header cell: bold, centred, wrapped, bordered.
    pub header: Format,
    /// A lower header cell: as `header` without bold.
    pub subheader: Format,
    /// The JSON key under a label on the figures sheet: monospace, turned 90° so that a narrow
    /// column shows it whole on one line.
    pub key: Format,
    /// The row of column numbers (1), (2), … under the header.
    pub column_number: Format,
    /// The ordinal of a row (TT).
    pub ordinal: Format,
    /// A unit's name.
    pub name: Format,
    /// A count.
    pub count: Format,
    /// "Tổng cộng".
    pub total_label: Format,
    /// A count in the total row.
    pub total_count: Format,
}

impl Styles {
    pub(crate) fn new() -> Self {
        let base = default_format();
        let cell = base
            .clone()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        let header = cell
            .clone()
            .set_bold()
            .set_align(FormatAlign::Center)
            .set_text_wrap();
        let count = cell.clone().set_num_format(COUNT);
        Self {
            form_number: base.clone().set_bold().set_align(FormatAlign::Top),
            title: base
                .clone()
                .set_bold()
                .set_font_size(13)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            subtitle: base
                .clone()
                .set_italic()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::Top)
                .set_text_wrap(),
            party: base
                .clone()
                .set_align(FormatAlign::Left)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            unit_of_count: base
                .clone()
                .set_italic()
                .set_align(FormatAlign::Right)
                .set_align(FormatAlign::Bottom),
            subheader: header.clone().unset_bold(),
            key: cell
                .clone()
                .set_font_name("Courier New")
                .set_font_size(8)
                .set_align(FormatAlign::Center)
                .set_rotation(90),
            column_number: cell
                .clone()
                .set_italic()
                .set_font_size(11)
                .set_align(FormatAlign::Center),
            ordinal: cell.clone().set_align(FormatAlign::Center),
            name: cell.clone().set_text_wrap(),
            total_label: cell.clone().set_bold().set_align(FormatAlign::Center),
            total_count: count.clone().set_bold(),
            count,
            header,
        }
    }
}

/// A4 landscape, one page wide, `repeat` rows printed on every page, centred, numbered pages.
pub(crate) fn print_setup(sheet: &mut Worksheet, repeat: (u32, u32)) -> Result<(), XlsxError> {
    const A4: u8 = 9;
    sheet
        .set_paper_size(A4)
        .set_landscape()
        .set_margins(0.4, 0.4, 0.5, 0.6, 0.3, 0.3)
        .set_print_center_horizontally(true)
        .set_print_fit_to_pages(1, 0)
        .set_footer("&C&\"Times New Roman\"&10Trang &P/&N");
    sheet.set_repeat_rows(repeat.0, repeat.1)?;
    Ok(())
}

/// The total row ("Tổng cộng") under the unit rows `rows` (first and last): the label merged over
/// columns 0 to `label_last`, then from `first_col` one `=SUM(...)` per column of `sums`, each with
/// its value stored.
pub(crate) fn total_row(
    sheet: &mut Worksheet,
    s: &Styles,
    row: u32,
    label_last: u16,
    rows: (u32, u32),
    first_col: u16,
    sums: &[i64],
) -> Result<(), XlsxError> {
    sheet.merge_range(row, 0, row, label_last, "Tổng cộng", &s.total_label)?;
    for (i, sum) in sums.iter().enumerate() {
        let col = first_col + i as u16;
        let formula = Formula::new(format!(
            "=SUM({}:{})",
            row_col_to_cell(rows.0, col),
            row_col_to_cell(rows.1, col)
        ))
        .set_result(sum.to_string());
        sheet.write_formula_with_format(row, col, formula, &s.total_count)?;
    }
    Ok(())
}
