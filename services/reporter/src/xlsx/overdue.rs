//! The sheet "Hồ sơ quá hạn" (SPEC §5.1): the period's dossiers resolved late and those pending
//! past their due date, one row each, with their dates and days late: the list behind the
//! figures "Giải quyết quá hạn" and "Đang giải quyết quá hạn", the one a ward writes its apology
//! letters from (Nghị định 61/2018/NĐ-CP).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_xlsxwriter::{Worksheet, XlsxError};

use super::OVERDUE_SHEET;
use super::style::Styles;
use crate::items::Item;

/// The columns' titles.
const HEADERS: [&str; 9] = [
    "TT",
    "Đơn vị",
    "Mã hồ sơ",
    "Mã TTHC",
    "Ngày tiếp nhận",
    "Hạn giải quyết",
    "Ngày giải quyết",
    "Tình trạng",
    "Số ngày quá hạn",
];

/// Writes `items` (resolved late, then pending past due) with their times in `tz`.
pub(crate) fn write(
    sheet: &mut Worksheet,
    title: &str,
    items: &[Item],
    tz: Tz,
    s: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(OVERDUE_SHEET)?;
    let last = HEADERS.len() as u16 - 1;
    for (col, width) in [5, 14, 26, 14, 17, 17, 17, 24, 11].into_iter().enumerate() {
        sheet.set_column_width(col as u16, width)?;
    }
    sheet.set_row_height(0, 24)?;
    sheet.merge_range(0, 0, 0, last, "DANH SÁCH HỒ SƠ QUÁ HẠN", &s.title)?;
    sheet.merge_range(1, 0, 1, last, title, &s.subtitle)?;
    for (col, header) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(3, col as u16, *header, &s.header)?;
    }
    if items.is_empty() {
        sheet.merge_range(4, 0, 4, last, "Không có hồ sơ quá hạn", &s.name)?;
        return Ok(());
    }
    let time = |t: Option<DateTime<Utc>>| {
        t.map_or(String::new(), |t| {
            t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
        })
    };
    for (i, item) in items.iter().enumerate() {
        let row = 4 + i as u32;
        let state = if item.resolved_at.is_some() {
            "Giải quyết quá hạn"
        } else {
            "Đang giải quyết quá hạn"
        };
        sheet.write_number_with_format(row, 0, (i + 1) as f64, &s.ordinal)?;
        let cells = [
            item.unit.clone(),
            item.id.clone(),
            item.procedure_code.clone().unwrap_or_default(),
            time(item.received_at),
            time(item.due_at),
            time(item.resolved_at),
            state.to_owned(),
        ];
        for (col, text) in (1..).zip(cells) {
            if text.is_empty() {
                sheet.write_blank(row, col, &s.name)?;
            } else {
                sheet.write_string_with_format(row, col, text, &s.name)?;
            }
        }
        let days = item.days_late.unwrap_or_default() as f64;
        sheet.write_number_with_format(row, 8, days, &s.count)?;
    }
    Ok(())
}
