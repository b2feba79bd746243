//! Reading just enough of a PDF to update it: the cross-reference chain (classic tables,
//! cross-reference streams, hybrid files), objects (also inside object streams), the trailer,
//! the catalog and the page tree.

use std::collections::{HashMap, HashSet};

use super::object::{Dict, ObjRef, Object};
use super::parser::Parser;
use super::stream;
use crate::SignError;

/// How the newest cross-reference section of the file is written; the update uses the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XrefKind {
    /// An `xref` table followed by `trailer`.
    Table,
    /// A cross-reference stream (PDF 1.5).
    Stream,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Free,
    Offset { offset: usize },
    InStream { stream: u32, index: usize },
}

/// A parsed PDF: its bytes and where each object is.
pub(crate) struct Document<'a> {
    data: &'a [u8],
    entries: HashMap<u32, Entry>,
    /// The newest trailer (for a cross-reference stream, its dictionary).
    pub trailer: Dict,
    /// Offset of the newest cross-reference section, the update's `/Prev`.
    pub startxref: usize,
    /// Kind of the newest cross-reference section.
    pub kind: XrefKind,
}

fn malformed(message: impl Into<String>) -> SignError {
    SignError::MalformedPdf(message.into())
}

impl<'a> Document<'a> {
    /// Reads the cross-reference chain from `startxref` back through every `/Prev`.
    pub fn parse(data: &'a [u8]) -> Result<Self, SignError> {
        let startxref = find_startxref(data)?;
        let mut document = Self {
            data,
            entries: HashMap::new(),
            trailer: Dict::default(),
            startxref,
            kind: XrefKind::Table,
        };
        let mut next = Some(startxref);
        let mut seen = HashSet::new();
        while let Some(offset) = next.filter(|offset| seen.insert(*offset)) {
            let (kind, trailer) = document.read_section(offset)?;
            next = trailer
                .int("Prev")
                .and_then(|prev| usize::try_from(prev).ok());
            if seen.len() == 1 {
                document.kind = kind;
                document.trailer = trailer;
            }
        }
        if document.trailer.get("Encrypt").is_some() {
            return Err(SignError::UnsupportedPdf("the PDF is encrypted".into()));
        }
        Ok(document)
    }

    fn read_section(&mut self, offset: usize) -> Result<(XrefKind, Dict), SignError> {
        let mut parser = Parser::new(self.data, offset);
        if parser.at_keyword("xref") {
            let trailer = self.read_table(&mut parser).map_err(malformed)?;
            // A hybrid file's table section points at a stream with the compressed objects.
            if let Some(stream) = trailer.int("XRefStm").and_then(|o| usize::try_from(o).ok()) {
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
                    _ => return Err(format!("bad xref entry at byte {}", parser.pos)),
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
        let (dict, data) = self.stream_at(offset)?;
        if !dict.is_name("Type", "XRef") {
            return Err(malformed(format!(
                "no cross-reference section at byte {offset}"
            )));
        }
        let widths = int_array(dict.get("W")).ok_or_else(|| malformed("bad /W in xref stream"))?;
        let size = dict
            .int("Size")
            .ok_or_else(|| malformed("xref stream without /Size"))?;
        let index = int_array(dict.get("Index")).unwrap_or_else(|| vec![0, size]);
        let [w0, w1, w2] = widths[..] else {
            return Err(malformed("bad /W in xref stream"));
        };
        let widths = [w0, w1, w2].map(|w| usize::try_from(w).unwrap_or(usize::MAX));
        let row = widths.iter().try_fold(0usize, |sum, w| sum.checked_add(*w));
        let row = row
            .filter(|row| *row > 0)
            .ok_or_else(|| malformed("bad /W"))?;
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

    /// Parses the stream object at `offset` and returns its dictionary and decoded data.
    fn stream_at(&self, offset: usize) -> Result<(Dict, Vec<u8>), SignError> {
        let (dict, start) = self.stream_header(offset).map_err(malformed)?;
        let length = match dict.get("Length") {
            Some(Object::Ref(r)) => self.object(*r)?,
            other => other.cloned().unwrap_or(Object::Null),
        };
        let Object::Int(length) = length else {
            return Err(malformed("stream without /Length"));
        };
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| start.checked_add(l));
        let raw = end
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(|| malformed(format!("stream at byte {offset} runs past the end")))?;
        let data = stream::decode(&dict, raw).map_err(malformed)?;
        Ok((dict, data))
    }

    /// The dictionary of the stream object at `offset` and where its data starts.
    fn stream_header(&self, offset: usize) -> Result<(Dict, usize), String> {
        let mut parser = Parser::new(self.data, offset);
        parser.integer()?;
        parser.integer()?;
        parser.expect("obj")?;
        let dict = parser.dict()?;
        parser.expect("stream")?;
        // The keyword is followed by CRLF or LF.
        let mut start = parser.pos;
        if self.data.get(start) == Some(&b'\r') {
            start += 1;
        }
        if self.data.get(start) == Some(&b'\n') {
            start += 1;
        }
        Ok((dict, start))
    }

    /// Reads an indirect object (not a stream's data).
    pub fn object(&self, reference: ObjRef) -> Result<Object, SignError> {
        match self.entries.get(&reference.num) {
            Some(Entry::Offset { offset }) => {
                let mut parser = Parser::new(self.data, *offset);
                let parsed = (|| {
                    let num = parser.integer()?;
                    parser.integer()?;
                    parser.expect("obj")?;
                    if num != u64::from(reference.num) {
                        return Err(format!(
                            "xref points object {} to another object",
                            reference.num
                        ));
                    }
                    parser.object()
                })();
                parsed.map_err(malformed)
            }
            Some(Entry::InStream { stream, index }) => self.object_in_stream(*stream, *index),
            Some(Entry::Free) | None => Ok(Object::Null),
        }
    }

    fn object_in_stream(&self, stream: u32, index: usize) -> Result<Object, SignError> {
        let Some(Entry::Offset { offset }) = self.entries.get(&stream) else {
            return Err(malformed(format!("object stream {stream} not found")));
        };
        let (dict, data) = self.stream_at(*offset)?;
        let first = dict.int("First").and_then(|f| usize::try_from(f).ok());
        let first = first.ok_or_else(|| malformed("object stream without /First"))?;
        let mut header = Parser::new(&data, 0);
        let mut position = None;
        for _ in 0..=index {
            header.integer().map_err(malformed)?;
            position = Some(header.integer().map_err(malformed)?);
        }
        let position = position.and_then(|p| to_usize(p).ok()).unwrap_or(0);
        Parser::new(&data, first.saturating_add(position))
            .object()
            .map_err(malformed)
    }

    /// Follows a reference, or returns a direct object as it is.
    pub fn resolve(&self, object: &Object) -> Result<Object, SignError> {
        match object {
            Object::Ref(reference) => self.object(*reference),
            other => Ok(other.clone()),
        }
    }

    /// Reads a dictionary object, failing with `what` in the message if it is not one.
    pub fn dict(&self, reference: ObjRef, what: &str) -> Result<Dict, SignError> {
        match self.object(reference)? {
            Object::Dict(dict) => Ok(dict),
            _ => Err(malformed(format!(
                "the {what} (object {}) is not a dictionary",
                reference.num
            ))),
        }
    }

    /// The catalog's reference, from the trailer's `/Root`.
    pub fn root(&self) -> Result<ObjRef, SignError> {
        self.trailer
            .reference("Root")
            .ok_or_else(|| malformed("trailer without /Root"))
    }

    /// Finds the page with zero-based `index` in the page tree.
    pub fn page(&self, index: usize) -> Result<(ObjRef, Dict), SignError> {
        let catalog = self.dict(self.root()?, "catalog")?;
        let mut node = catalog
            .reference("Pages")
            .ok_or_else(|| malformed("catalog without /Pages"))?;
        let count = self.dict(node, "page tree")?.int("Count").unwrap_or(0);
        let count = usize::try_from(count).unwrap_or(0);
        let out_of_range = || SignError::PageOutOfRange { index, count };
        let mut remaining = index;
        // Each step goes one level down; a well-formed tree is far shallower than this.
        for _ in 0..64 {
            let dict = self.dict(node, "page tree node")?;
            if !dict.is_name("Type", "Pages") && dict.get("Kids").is_none() {
                return if remaining == 0 {
                    Ok((node, dict))
                } else {
                    Err(out_of_range())
                };
            }
            let Some(Object::Array(kids)) =
                dict.get("Kids").map(|k| self.resolve(k)).transpose()?
            else {
                return Err(malformed("page tree node without /Kids"));
            };
            node = self
                .child_holding(&kids, &mut remaining)?
                .ok_or_else(out_of_range)?;
        }
        Err(malformed("page tree too deep"))
    }

    /// Picks the kid whose subtree holds page `remaining`, subtracting the pages skipped.
    fn child_holding(
        &self,
        kids: &[Object],
        remaining: &mut usize,
    ) -> Result<Option<ObjRef>, SignError> {
        for kid in kids {
            let Object::Ref(kid) = kid else {
                return Err(malformed("page tree kid is not a reference"));
            };
            let dict = self.dict(*kid, "page tree node")?;
            let pages = if dict.is_name("Type", "Pages") {
                usize::try_from(dict.int("Count").unwrap_or(0)).unwrap_or(0)
            } else {
                1
            };
            if *remaining < pages {
                return Ok(Some(*kid));
            }
            *remaining -= pages;
        }
        Ok(None)
    }
}

fn to_usize(value: u64) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| "offset too large".to_owned())
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
fn find_startxref(data: &[u8]) -> Result<usize, SignError> {
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
