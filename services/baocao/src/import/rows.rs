//! The rows of an export as the records of SPEC §3.5: columns found by their titles (the DVCQG
//! and edXML names, the Vietnamese titles exports print, or `[import]`), dates in any of the
//! ways exports write them, statuses and channels as codes or as words. A dossier's row
//! becomes a DVCQG record (what the one-stop system would have synced), a register's line the
//! [`domain::edxml::Document`] a package would have given: the same derived ids either way.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use domain::dvcqg;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use super::table::{Cell, Row};

/// What an export lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The one-stop system's dossiers.
    Dossiers,
    /// The e-office register of outgoing documents.
    Documents,
}

/// The titles each field's column may have, besides its own name.
const DOSSIER_TITLES: [(&str, &[&str]); 9] = [
    (
        "MaHoSo",
        &["Mã hồ sơ", "Số hồ sơ", "Mã số hồ sơ", "Số biên nhận"],
    ),
    (
        "MaTTHC",
        &["Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính"],
    ),
    ("NgayTiepNhan", &["Ngày tiếp nhận", "Ngày nhận"]),
    (
        "NgayHenTra",
        &["Ngày hẹn trả", "Hẹn trả", "Ngày hẹn trả kết quả"],
    ),
    (
        "NgayKetThucXuLy",
        &["Ngày có kết quả", "Ngày kết thúc xử lý", "Ngày hoàn thành"],
    ),
    ("NgayTra", &["Ngày trả", "Ngày trả kết quả"]),
    (
        "TrangThaiHoSo",
        &["Trạng thái", "Trạng thái hồ sơ", "Tình trạng"],
    ),
    (
        "KenhThucHien",
        &["Hình thức nộp", "Kênh thực hiện", "Kênh nộp", "Hình thức"],
    ),
    (
        "HoSoCoThanhPhanSoHoa",
        &["Số hóa", "Đã số hóa", "Có thành phần số hóa", "Số hoá"],
    ),
];

const DOCUMENT_TITLES: [(&str, &[&str]); 5] = [
    (
        "number",
        &[
            "Số, ký hiệu",
            "Số ký hiệu",
            "Số/Ký hiệu",
            "Số và ký hiệu",
            "Số, ký hiệu văn bản",
            "Số hiệu",
        ],
    ),
    ("CodeNumber", &["Số văn bản", "Số"]),
    ("CodeNotation", &["Ký hiệu", "Ký hiệu văn bản"]),
    (
        "date",
        &[
            "Ngày ban hành",
            "Ngày văn bản",
            "Ngày ký",
            "PromulgationDate",
        ],
    ),
    ("digital", &["Ký số", "Đã ký số", "Chữ ký số"]),
];

/// The fields of `kind` and their titles.
pub fn fields(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        Kind::Dossiers => &DOSSIER_TITLES,
        Kind::Documents => &DOCUMENT_TITLES,
    }
}

/// Text compared whatever its Unicode form, letter case and spacing.
pub fn folded(text: &str) -> String {
    let text: String = text.nfc().collect::<String>().to_lowercase();
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches([':', '*', ' '])
        .to_owned()
}

/// Where each field's column is: found on the first row holding two or more known titles.
#[derive(Debug)]
pub struct Header {
    /// The header row's number.
    pub row: u64,
    /// Field → column.
    pub columns: BTreeMap<&'static str, usize>,
}

/// Finds the header among `rows`, with `extra` titles (`[import]`: field → title).
pub fn find_header(
    rows: &[Row],
    kind: Kind,
    extra: &BTreeMap<String, String>,
) -> anyhow::Result<(usize, Header)> {
    let known = fields(kind);
    for field in extra.keys() {
        anyhow::ensure!(
            known.iter().any(|(name, _)| name == field),
            "[import] names '{field}', which is not one of {}",
            known.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
    }
    let field_of = |title: &str| -> Option<&'static str> {
        let title = folded(title);
        let by_extra = extra
            .iter()
            .find(|(_, t)| folded(t) == title)
            .and_then(|(field, _)| known.iter().find(|(n, _)| n == field))
            .map(|(n, _)| *n);
        by_extra.or_else(|| {
            known
                .iter()
                .find(|(name, titles)| {
                    folded(name) == title || titles.iter().any(|t| folded(t) == title)
                })
                .map(|(name, _)| *name)
        })
    };
    for (at, row) in rows.iter().enumerate() {
        let mut columns = BTreeMap::new();
        for (column, cell) in row.cells.iter().enumerate() {
            if let Cell::Text(text) = cell
                && let Some(field) = field_of(text)
            {
                columns.entry(field).or_insert(column);
            }
        }
        if columns.len() >= 2 {
            return Ok((
                at,
                Header {
                    row: row.number,
                    columns,
                },
            ));
        }
    }
    anyhow::bail!(
        "no row holds two or more of the known titles ({}); name the columns in [import]",
        known
            .iter()
            .map(|(name, titles)| titles.first().unwrap_or(name).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A row refused, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reason code, as a dead letter's (`invalid_field:NgayHenTra`).
    pub reason: String,
    /// What is wrong.
    pub detail: String,
}

fn refuse(field: &str, detail: impl Into<String>) -> Refusal {
    Refusal {
        reason: format!("invalid_field:{field}"),
        detail: detail.into(),
    }
}

impl Header {
    fn cell<'r>(&self, row: &'r Row, field: &str) -> Option<&'r Cell> {
        let column = *self.columns.get(field)?;
        row.cells.get(column).filter(|cell| !cell.is_empty())
    }

    /// A dossier's row as the DVCQG record the one-stop system would have synced.
    pub fn dossier_record(&self, row: &Row) -> Result<Map<String, Value>, Refusal> {
        let mut record = Map::new();
        let mut put = |field: &str, value: String| {
            record.insert(field.to_owned(), Value::String(value));
        };
        if let Some(code) = self.cell(row, "MaHoSo") {
            put("MaHoSo", code.text());
        }
        if let Some(code) = self.cell(row, "MaTTHC") {
            put("MaTTHC", code.text());
        }
        for (field, end_of_day) in [
            ("NgayTiepNhan", false),
            ("NgayHenTra", true),
            ("NgayKetThucXuLy", false),
            ("NgayTra", false),
        ] {
            if let Some(cell) = self.cell(row, field) {
                let at = date_time(cell, end_of_day).ok_or_else(|| {
                    refuse(
                        field,
                        format!(
                            "'{}' is not a date (dd/MM/yyyy [HH:mm[:ss]], yyyyMMddHHmmss or a date cell)",
                            cell.text()
                        ),
                    )
                })?;
                put(field, at.format("%Y%m%d%H%M%S").to_string());
            }
        }
        let status = match self.cell(row, "TrangThaiHoSo") {
            Some(cell) => status_code(&cell.text()).ok_or_else(|| {
                refuse(
                    "TrangThaiHoSo",
                    format!("'{}' is not a status (1 to 10 or its words)", cell.text()),
                )
            })?,
            // Without a status: resolved if it has a result date, received otherwise.
            None if record.contains_key("NgayKetThucXuLy") || record.contains_key("NgayTra") => 10,
            None => 2,
        };
        record.insert("TrangThaiHoSo".into(), Value::String(status.to_string()));
        if let Some(cell) = self.cell(row, "KenhThucHien") {
            let channel = channel_code(&cell.text()).ok_or_else(|| {
                refuse(
                    "KenhThucHien",
                    format!(
                        "'{}' is not a channel (1, 2, 3, Trực tiếp, Trực tuyến, Bưu chính)",
                        cell.text()
                    ),
                )
            })?;
            record.insert("KenhThucHien".into(), Value::String(channel.to_string()));
        }
        if let Some(cell) = self.cell(row, "HoSoCoThanhPhanSoHoa") {
            let flag = yes_no(&cell.text()).ok_or_else(|| {
                refuse(
                    "HoSoCoThanhPhanSoHoa",
                    "is not Có/Không, x, 1/0 or true/false",
                )
            })?;
            record.insert(
                "HoSoCoThanhPhanSoHoa".into(),
                Value::String(u8::from(flag).to_string()),
            );
        }
        Ok(record)
    }

    /// A register's line: its number, date and whether it was digitally signed.
    pub fn document_line(&self, row: &Row) -> Result<(String, NaiveDate, bool), Refusal> {
        let number = match self.cell(row, "number") {
            Some(cell) => cell.text(),
            None => {
                let code = self.cell(row, "CodeNumber").map(Cell::text);
                let notation = self.cell(row, "CodeNotation").map(Cell::text);
                domain::edxml::number_of(code.as_deref(), notation.as_deref()).map_err(|r| {
                    Refusal {
                        reason: r.reason(),
                        detail: r.to_string(),
                    }
                })?
            }
        };
        if number.is_empty() {
            return Err(refuse("number", "is missing"));
        }
        let date = match self.cell(row, "date") {
            None => return Err(refuse("date", "is missing")),
            Some(cell) => date_time(cell, false).map(|at| at.date()).ok_or_else(|| {
                refuse(
                    "date",
                    format!(
                        "'{}' is not a date (dd/MM/yyyy, yyyy/MM/dd or a date cell)",
                        cell.text()
                    ),
                )
            })?,
        };
        let digital = match self.cell(row, "digital") {
            None => false,
            Some(cell) => yes_no(&cell.text())
                .ok_or_else(|| refuse("digital", "is not Có/Không, x, 1/0 or true/false"))?,
        };
        Ok((number, date, digital))
    }
}

/// A date in a cell: a date cell, `yyyyMMddHHmmss`, `dd/MM/yyyy[ HH:mm[:ss]]`, `yyyy/MM/dd` or
/// `yyyy-MM-dd`. A date without a time is that day's end when `end_of_day` (a due date), its
/// start otherwise.
pub fn date_time(cell: &Cell, end_of_day: bool) -> Option<NaiveDateTime> {
    let day_only = |date: NaiveDate| {
        let time = if end_of_day {
            NaiveTime::from_hms_opt(23, 59, 59)
        } else {
            NaiveTime::from_hms_opt(0, 0, 0)
        };
        time.map(|t| date.and_time(t))
    };
    match cell {
        Cell::Date(at) if at.time() == NaiveTime::MIN => day_only(at.date()),
        Cell::Date(at) => Some(*at),
        Cell::Number(_) | Cell::Text(_) => {
            let text = cell.text();
            let text = text.trim();
            if text.len() == 14 && text.bytes().all(|b| b.is_ascii_digit()) {
                return NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S").ok();
            }
            for format in [
                "%d/%m/%Y %H:%M:%S",
                "%d/%m/%Y %H:%M",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S",
            ] {
                if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
                    return Some(at);
                }
            }
            ["%d/%m/%Y", "%Y/%m/%d", "%Y-%m-%d", "%d-%m-%Y"]
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
                .and_then(day_only)
        }
        Cell::Empty => None,
    }
}

/// A status as its code or the words exports print for it.
pub fn status_code(text: &str) -> Option<u8> {
    if let Ok(code) = text.trim().parse::<u8>() {
        return dvcqg::status_of(code).map(|s| s.code);
    }
    let text = folded(text);
    dvcqg::STATUSES
        .iter()
        .find(|s| folded(s.words) == text)
        .map(|s| s.code)
}

/// A channel as its code or its words.
pub fn channel_code(text: &str) -> Option<u8> {
    if let Ok(code) = text.trim().parse::<u8>() {
        return dvcqg::channel_of(code).map(|_| code);
    }
    let text = folded(text);
    dvcqg::CHANNELS
        .iter()
        .find(|(_, _, words)| folded(words) == text)
        .map(|(code, ..)| *code)
}

/// "Có"/"Không", x, 1/0, true/false (whatever the case and Unicode form).
pub fn yes_no(text: &str) -> Option<bool> {
    match folded(text).as_str() {
        "có" | "co" | "x" | "1" | "true" | "yes" | "đã ký số" => Some(true),
        "không" | "khong" | "" | "0" | "false" | "no" | "chưa ký số" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_whatever_their_case_and_unicode_form() {
        let nfd: String = "ĐÃ TRẢ KẾT QUẢ".nfd().collect();
        assert_eq!(status_code(&nfd), Some(10));
        assert_eq!(status_code("Được tiếp nhận"), Some(2));
        assert_eq!(status_code(" 7 "), Some(7));
        assert_eq!(status_code("11"), None);
        assert_eq!(channel_code("trực TUYẾN"), Some(2));
        assert_eq!(channel_code("Bưu chính"), Some(3));
        assert_eq!(yes_no("Có"), Some(true));
        assert_eq!(yes_no("KHÔNG"), Some(false));
        assert_eq!(yes_no("x"), Some(true));
        assert_eq!(yes_no("maybe"), None);
    }

    #[test]
    fn a_date_without_a_time_is_the_end_of_a_due_day_and_the_start_otherwise() {
        let text = Cell::Text("24/04/2026".into());
        assert_eq!(
            date_time(&text, true).unwrap().to_string(),
            "2026-04-24 23:59:59"
        );
        assert_eq!(
            date_time(&text, false).unwrap().to_string(),
            "2026-04-24 00:00:00"
        );
        let cell = Cell::Date(
            NaiveDate::from_ymd_opt(2026, 4, 24)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        );
        assert_eq!(
            date_time(&cell, true).unwrap().to_string(),
            "2026-04-24 23:59:59"
        );
        let timed = Cell::Text("20/04/2026 08:30".into());
        assert_eq!(
            date_time(&timed, true).unwrap().to_string(),
            "2026-04-20 08:30:00"
        );
        let compact = Cell::Number(20260420083000.0);
        assert_eq!(
            date_time(&compact, false).unwrap().to_string(),
            "2026-04-20 08:30:00"
        );
        assert_eq!(date_time(&Cell::Text("2026/05/10x".into()), false), None);
    }

    #[test]
    fn the_header_is_the_first_row_with_two_known_titles_or_mapped_ones() {
        let row = |number, cells: &[&str]| Row {
            number,
            cells: cells.iter().map(|c| Cell::Text((*c).into())).collect(),
        };
        let rows = [
            row(1, &["DANH SÁCH HỒ SƠ", "Mã hồ sơ là gì"]),
            row(2, &["STT", "MÃ HỒ SƠ", "Ngày tiếp nhận:", "Số biên nhận X"]),
        ];
        let (at, header) = find_header(&rows, Kind::Dossiers, &BTreeMap::new()).unwrap();
        assert_eq!((at, header.row), (1, 2));
        assert_eq!(header.columns["MaHoSo"], 1);
        let extra = BTreeMap::from([("NgayHenTra".to_owned(), "Số biên nhận X".to_owned())]);
        let (_, header) = find_header(&rows, Kind::Dossiers, &extra).unwrap();
        assert_eq!(header.columns["NgayHenTra"], 3);
        let wrong = BTreeMap::from([("Nothing".to_owned(), "x".to_owned())]);
        assert!(find_header(&rows, Kind::Dossiers, &wrong).is_err());
    }
}
