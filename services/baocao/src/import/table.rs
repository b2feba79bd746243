//! An export's rows, whatever the file: an XLSX workbook's first sheet (calamine), or CSV in
//! UTF-8 (with or without BOM) or UTF-16 with BOM, separated by commas or semicolons. Each row
//! keeps the number the spreadsheet shows for it, and each cell says whether it was text, a
//! number or a date cell.

use std::path::Path;

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text, as written.
    Text(String),
    /// A number cell.
    Number(f64),
    /// A date cell: the date and time it holds.
    Date(NaiveDateTime),
}

impl Cell {
    /// The cell as text (a whole number without decimals).
    pub fn text(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(text) => text.trim().to_owned(),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Self::Number(n) => n.to_string(),
            Self::Date(at) => at.format("%d/%m/%Y %H:%M:%S").to_string(),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

/// A row and its number in the file (1 for the first).
#[derive(Debug, Clone)]
pub struct Row {
    /// The row's number as the spreadsheet shows it (the line, for CSV).
    pub number: u64,
    /// Its cells.
    pub cells: Vec<Cell>,
}

/// Every row of the file at `path`: XLSX by its signature, CSV otherwise.
pub fn read(path: &Path) -> anyhow::Result<Vec<Row>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("Failed to read {}", path.display()))?;
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes).with_context(|| format!("Failed to read {} as XLSX", path.display()))
    } else {
        read_csv(&bytes).with_context(|| format!("Failed to read {} as CSV", path.display()))
    }
}

fn read_xlsx(bytes: Vec<u8>) -> anyhow::Result<Vec<Row>> {
    use calamine::{Data, Reader};
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes))?;
    let range = workbook
        .worksheet_range_at(0)
        .context("the workbook has no sheet")??;
    let first = range.start().map_or(0, |(row, _)| u64::from(row));
    let first_column = range.start().map_or(0, |(_, column)| column as usize);
    let rows = range
        .rows()
        .enumerate()
        .map(|(at, cells)| {
            // Columns before the range's first are empty: keep the sheet's own columns.
            let mut row = vec![Cell::Empty; first_column];
            row.extend(cells.iter().map(|cell| match cell {
                Data::Empty | Data::Error(_) => Cell::Empty,
                Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
                    Cell::Text(text.clone())
                }
                Data::Int(n) => Cell::Number(*n as f64),
                Data::Float(n) => Cell::Number(*n),
                Data::Bool(flag) => Cell::Text(flag.to_string()),
                Data::DateTime(date) => serial_date(date.as_f64()).map_or(Cell::Empty, Cell::Date),
            }));
            Row {
                number: first + at as u64 + 1,
                cells: row,
            }
        })
        .collect();
    Ok(rows)
}

/// A spreadsheet's date serial (days since 30 December 1899) as a date and time, to the second.
fn serial_date(serial: f64) -> Option<NaiveDateTime> {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let seconds = (serial * 86_400.0).round();
    if !seconds.is_finite() || seconds.abs() > 1e12 {
        return None;
    }
    epoch.checked_add_signed(TimeDelta::seconds(seconds as i64))
}

/// The text of a CSV file: UTF-8 (a BOM dropped) or UTF-16 with its BOM.
fn decode(bytes: &[u8]) -> anyhow::Result<String> {
    let utf16 = |big: bool| -> anyhow::Result<String> {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|pair| {
                let pair = [pair[0], pair[1]];
                if big {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).context("the file is not valid UTF-16")
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).context("the file is not UTF-8")
        }
        _ => String::from_utf8(bytes.to_vec())
            .context("the file is not UTF-8 (save it as UTF-8, or UTF-16 with a BOM)"),
    }
}

fn read_csv(bytes: &[u8]) -> anyhow::Result<Vec<Row>> {
    let text = decode(bytes)?;
    let separator = separator(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The line a record starts on, counted here: csv's own count misses lines ended by CRLF.
    let (mut counted_to, mut line) = (0, 1);
    for record in reader.records() {
        let record = record.context("the CSV cannot be read")?;
        let start = record.position().map_or(counted_to, |p| p.byte() as usize);
        let mut start = start.clamp(counted_to, text.len());
        // The record starts after any line ends csv counts as its own.
        while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += text.as_bytes()[counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        counted_to = start;
        let number = line;
        let cells = record
            .iter()
            .map(|field| {
                if field.trim().is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(field.to_owned())
                }
            })
            .collect();
        rows.push(Row { number, cells });
    }
    Ok(rows)
}

/// `;` when the first lines hold more semicolons than commas outside quotes, else `,`.
fn separator(text: &str) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for c in text.chars().take(8192) {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_utf8_with_bom_semicolons_and_utf16_reads_alike() {
        let text = "Tiêu đề\r\nMã hồ sơ;Ngày tiếp nhận\r\n\"A;1\";20/04/2026\r\n";
        let mut with_bom = vec![0xEF, 0xBB, 0xBF];
        with_bom.extend_from_slice(text.as_bytes());
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        for bytes in [text.as_bytes().to_vec(), with_bom, utf16] {
            let rows = read_csv(&bytes).unwrap();
            assert_eq!(rows.len(), 3);
            assert_eq!(rows[2].number, 3);
            assert_eq!(rows[2].cells[0], Cell::Text("A;1".into()));
            assert_eq!(rows[1].cells[0], Cell::Text("Mã hồ sơ".into()));
        }
    }

    #[test]
    fn a_date_serial_is_its_day_and_time() {
        let at = serial_date(46132.5).unwrap();
        assert_eq!(at.to_string(), "2026-04-20 12:00:00");
    }
}
