//! Reading just enough of a PDF to update it: the cross-reference chain (classic tables,
//! cross-reference streams, hybrid files), objects (also inside object streams), the trailer,
//! the catalog and the page tree.
//!
//! Every offset the file gives (`startxref`, `/Prev`, `/XRefStm`, cross-reference entries) is
//! checked against the file's length before it is used, a `/Prev` chain that loops is refused,
//! and lookups that could call each other forever (an object stream whose `/Length` is in an
//! object stream ...) are bounded.

mod xref;

use std::collections::{HashMap, HashSet};

use self::xref::{find_startxref, offset_entry};
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

/// How many indirect `/Length`s may be followed one inside the other: a stream's length in an
/// object stream whose own length is indirect, and so on. Real files need one at most.
const MAX_LENGTH_HOPS: usize = 4;

/// How many levels of page tree nodes are followed; a well-formed tree is far shallower.
const MAX_PAGE_TREE_DEPTH: usize = 64;

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
        while let Some(offset) = next {
            if !seen.insert(offset) {
                return Err(malformed(format!(
                    "the /Prev chain loops back to byte {offset}"
                )));
            }
            let (kind, trailer) = document.read_section(offset)?;
            next = offset_entry(&trailer, "Prev")?;
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

    /// The highest object number the cross-reference sections mention, in use or free.
    pub fn highest_object_number(&self) -> Option<u32> {
        self.entries.keys().max().copied()
    }

    /// A parser at `offset`, an offset the file gave; one at or past the end is refused.
    fn parser_at(&self, offset: usize) -> Result<Parser<'a>, SignError> {
        if offset < self.data.len() {
            Ok(Parser::new(self.data, offset))
        } else {
            Err(malformed(format!(
                "offset {offset} is past the end of the file ({} bytes)",
                self.data.len()
            )))
        }
    }

    /// Parses the stream object at `offset` and returns its dictionary and decoded data. An
    /// indirect `/Length` is followed only while `length_hops` allows, as finding it may mean
    /// reading another stream.
    fn stream_at(&self, offset: usize, length_hops: usize) -> Result<(Dict, Vec<u8>), SignError> {
        let (dict, start) = self.stream_header(offset)?;
        let length = match dict.get("Length") {
            Some(Object::Ref(r)) if length_hops > 0 => self.object_within(*r, length_hops - 1)?,
            Some(Object::Ref(_)) => {
                return Err(malformed(format!(
                    "the stream at byte {offset} needs a direct /Length"
                )));
            }
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
    fn stream_header(&self, offset: usize) -> Result<(Dict, usize), SignError> {
        let mut parser = self.parser_at(offset)?;
        let dict = stream_dict(&mut parser).map_err(malformed)?;
        // The keyword is followed by CRLF or LF.
        let mut start = parser.position();
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
        self.object_within(reference, MAX_LENGTH_HOPS)
    }

    /// Reads an indirect object, following at most `length_hops` indirect stream lengths.
    fn object_within(&self, reference: ObjRef, length_hops: usize) -> Result<Object, SignError> {
        match self.entries.get(&reference.num) {
            Some(Entry::Offset { offset }) => self.object_at(reference.num, *offset),
            Some(Entry::InStream { stream, index }) => {
                self.object_in_stream(reference.num, *stream, *index, length_hops)
            }
            Some(Entry::Free) | None => Ok(Object::Null),
        }
    }

    /// Parses `num gen obj <object>` at `offset`, checking the number.
    fn object_at(&self, num: u32, offset: usize) -> Result<Object, SignError> {
        let mut parser = self.parser_at(offset)?;
        let found = parser.integer().map_err(malformed)?;
        parser.integer().map_err(malformed)?;
        parser.expect("obj").map_err(malformed)?;
        if found != u64::from(num) {
            return Err(malformed(format!(
                "xref points object {num} to object {found}"
            )));
        }
        parser.object().map_err(malformed)
    }

    /// Object `num`, the `index`th of object stream `stream`: checks that the stream holds that
    /// many objects and that its header names `num` there.
    fn object_in_stream(
        &self,
        num: u32,
        stream: u32,
        index: usize,
        length_hops: usize,
    ) -> Result<Object, SignError> {
        let Some(Entry::Offset { offset }) = self.entries.get(&stream) else {
            return Err(malformed(format!("object stream {stream} not found")));
        };
        let (dict, data) = self.stream_at(*offset, length_hops)?;
        let count = dict.int("N").and_then(|n| usize::try_from(n).ok());
        let first = dict.int("First").and_then(|f| usize::try_from(f).ok());
        let (Some(count), Some(first)) = (count, first) else {
            return Err(malformed(format!(
                "object stream {stream} without /N or /First"
            )));
        };
        if index >= count {
            return Err(malformed(format!(
                "object {num} is said to be number {index} in object stream {stream}, \
                 which holds {count}"
            )));
        }
        let position = object_position(&data, num, index)
            .map_err(|e| malformed(format!("object stream {stream}: {e}")))?;
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
        let (mut node, count) = self.page_tree()?;
        let out_of_range = || SignError::PageOutOfRange { index, count };
        let mut remaining = index;
        // Each step goes one level down.
        for _ in 0..MAX_PAGE_TREE_DEPTH {
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

    /// The root of the page tree and the number of pages it says it has.
    fn page_tree(&self) -> Result<(ObjRef, usize), SignError> {
        let catalog = self.dict(self.root()?, "catalog")?;
        let root = catalog
            .reference("Pages")
            .ok_or_else(|| malformed("catalog without /Pages"))?;
        let count = self.dict(root, "page tree")?.int("Count").unwrap_or(0);
        Ok((root, usize::try_from(count).unwrap_or(0)))
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

/// Reads `num gen obj << ... >> stream`, leaving `parser` after the keyword.
fn stream_dict(parser: &mut Parser<'_>) -> Result<Dict, String> {
    parser.integer()?;
    parser.integer()?;
    parser.expect("obj")?;
    let dict = parser.dict()?;
    parser.expect("stream")?;
    Ok(dict)
}

fn to_usize(value: u64) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| "offset too large".to_owned())
}

/// Where object `num` starts after an object stream's `/First`, from the stream's header of
/// `number offset` pairs; the pair at `index` must name `num`.
fn object_position(header: &[u8], num: u32, index: usize) -> Result<usize, String> {
    let mut parser = Parser::new(header, 0);
    for _ in 0..index {
        parser.integer()?;
        parser.integer()?;
    }
    let found = parser.integer()?;
    let position = parser.integer()?;
    if found != u64::from(num) {
        return Err(format!(
            "its header names object {found} where object {num} was expected"
        ));
    }
    to_usize(position)
}
