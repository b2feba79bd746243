//! The cross-reference sections of a [`Document`]: classic `xref` tables with their trailers,
//! cross-reference streams, and the `/XRefStm` of hybrid files.

use super::{Document, Entry, XrefKind, malformed, to_usize};
use crate::SignError;
use crate::pdf::object::{Dict, Object};
use crate::pdf::parser::Parser;

impl Document<'_> {
    /// Reads the section at `offset` into the entries and returns its kind and trailer.
    pub(super) fn read_section(&mut self, offset: usize) -> Result<(XrefKind, Dict), SignError> {
        let mut parser = self.parser_at(offset)?;
        if parser.at_keyword("xref") {
            let trailer = self.read_table(&mut parser).map_err(malformed)?;
            // A hybrid file's table section points at a stream with the compressed objects.
            if let Some(stream) = offset_entry(&trailer, "XRefStm")? {
                self.read_xref_stream(stream)?;
            }
            Ok((XrefKind::Table, trailer))
        } else {
            Ok((XrefKind::Stream, self.read_xref_stream(offset)?))
        }
    }

    /// Entries already known come from a newer section and win.
    fn insert(&mut self, num: u32, entry: Entry) {
        self.entries.entry(num).or_insert(entry);
    }

    fn read_table(&mut self, parser: &mut Parser<'_>) -> Result<Dict, String> {
        parser.expect("xref")?;
        while !parser.at_keyword("trailer") {
            let first = parser.integer()?;
            let count = parser.integer()?;
            for num in first..first.saturating_add(count) {
                let offset = parser.integer()?;
                let _generation = parser.integer()?;
                let entry = match parser.token() {
                    b"n" => Entry::Offset {
                        offset: to_usize(offset)?,
                    },
                    b"f" => Entry::Free,
                    _ => return Err(format!("bad xref entry at byte {}", parser.position())),
                };
                self.insert(
                    u32::try_from(num).map_err(|_| "object number too large")?,
                    entry,
                );
            }
        }
        parser.expect("trailer")?;
        parser.dict()
    }

    fn read_xref_stream(&mut self, offset: usize) -> Result<Dict, SignError> {
        // ISO 32000-1 §7.5.8.2: the cross-reference stream's /Length is direct (no other
        // object can be found before the cross-reference is read).
        let (dict, data) = self.stream_at(offset, 0)?;
        if !dict.is_name("Type", "XRef") {
            return Err(malformed(format!(
                "no cross-reference section at byte {offset}"
            )));
        }
        let (widths, index) = xref_stream_layout(&dict)?;
        let row: usize = widths.iter().sum();
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks(2) {
            let [first, count] = pair else { break };
            for num in *first..first.saturating_add(*count) {
                let Some(fields) = rows.next() else { break };
                let num = u32::try_from(num).map_err(|_| malformed("bad /Index"))?;
                self.insert(num, xref_stream_entry(fields, widths)?);
            }
        }
        Ok(dict)
    }
}

/// A trailer entry that holds an offset (`/Prev`, `/XRefStm`), if present.
pub(super) fn offset_entry(trailer: &Dict, key: &str) -> Result<Option<usize>, SignError> {
    match trailer.get(key) {
        None => Ok(None),
        Some(Object::Int(offset)) => usize::try_from(*offset)
            .map(Some)
            .map_err(|_| malformed(format!("bad /{key} {offset}"))),
        Some(_) => Err(malformed(format!("/{key} is not an offset"))),
    }
}

fn int_array(object: Option<&Object>) -> Option<Vec<i64>> {
    match object? {
        Object::Array(items) => items
            .iter()
            .map(|item| match item {
                Object::Int(value) => Some(*value),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A cross-reference stream's field widths (`/W`, summing to more than zero) and the object
/// numbers its rows are for (`/Index`, by default every number below `/Size`).
fn xref_stream_layout(dict: &Dict) -> Result<([usize; 3], Vec<i64>), SignError> {
    let bad_widths = || malformed("bad /W in xref stream");
    let widths = int_array(dict.get("W")).ok_or_else(bad_widths)?;
    let [w0, w1, w2] = widths[..] else {
        return Err(bad_widths());
    };
    // A field is a big-endian number of at most eight bytes.
    let width = |w: i64| usize::try_from(w).ok().filter(|w| *w <= 8);
    let (Some(w0), Some(w1), Some(w2)) = (width(w0), width(w1), width(w2)) else {
        return Err(bad_widths());
    };
    if w0 + w1 + w2 == 0 {
        return Err(bad_widths());
    }
    let widths = [w0, w1, w2];
    let size = dict
        .int("Size")
        .ok_or_else(|| malformed("xref stream without /Size"))?;
    let index = int_array(dict.get("Index")).unwrap_or_else(|| vec![0, size]);
    Ok((widths, index))
}

fn xref_stream_entry(fields: &[u8], widths: [usize; 3]) -> Result<Entry, SignError> {
    let (kind, rest) = fields.split_at(widths[0]);
    let (second, third) = rest.split_at(widths[1]);
    let number = |bytes: &[u8]| bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
    // A zero-width type field means type 1.
    let kind = if widths[0] == 0 { 1 } else { number(kind) };
    let second = usize::try_from(number(second)).map_err(|_| malformed("bad xref stream entry"))?;
    Ok(match kind {
        1 => Entry::Offset { offset: second },
        2 => Entry::InStream {
            stream: u32::try_from(second).map_err(|_| malformed("bad object stream number"))?,
            index: usize::try_from(number(third))
                .map_err(|_| malformed("bad xref stream entry"))?,
        },
        _ => Entry::Free,
    })
}

/// The offset after the last `startxref` keyword.
pub(super) fn find_startxref(data: &[u8]) -> Result<usize, SignError> {
    let tail_start = data.len().saturating_sub(4096);
    let tail = &data[tail_start..];
    let keyword = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| malformed("no startxref near the end of the file; not a PDF?"))?;
    let mut parser = Parser::new(data, tail_start + keyword + 9);
    let offset = parser.integer().map_err(malformed)?;
    usize::try_from(offset)
        .ok()
        .filter(|offset| *offset < data.len())
        .ok_or_else(|| malformed("startxref points outside the file"))
}
