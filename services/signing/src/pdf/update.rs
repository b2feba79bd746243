//! Writing an incremental update: new and replaced objects appended after the original bytes,
//! then a cross-reference section of the original's kind, the trailer and `%%EOF`.

use super::object::{Dict, ObjRef, Object};
use super::read::XrefKind;

/// The original file followed by the objects appended so far.
pub(crate) struct Update {
    out: Vec<u8>,
    offsets: Vec<(ObjRef, usize)>,
}

impl Update {
    /// Starts an update after `original`, which stays byte for byte the prefix of the output.
    pub fn new(original: &[u8], reserve: usize) -> Self {
        let mut out = Vec::with_capacity(original.len() + reserve + 4096);
        out.extend_from_slice(original);
        if !matches!(original.last(), Some(b'\n' | b'\r')) {
            out.push(b'\n');
        }
        Self {
            out,
            offsets: Vec::new(),
        }
    }

    /// Appends `num gen obj body endobj` and returns the offset of `body` in the output.
    pub fn raw_object(&mut self, reference: ObjRef, body: &[u8]) -> usize {
        self.offsets.push((reference, self.out.len()));
        let header = format!("{} {} obj\n", reference.num, reference.generation);
        self.out.extend_from_slice(header.as_bytes());
        let body_at = self.out.len();
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
        body_at
    }

    /// Appends a dictionary object.
    pub fn object(&mut self, reference: ObjRef, dict: &Dict) {
        let mut body = Vec::new();
        dict.write(&mut body);
        self.raw_object(reference, &body);
    }

    /// Appends a stream object; `/Length` is set here.
    pub fn stream(&mut self, reference: ObjRef, mut dict: Dict, data: &[u8]) {
        dict.set("Length", Object::Int(data.len() as i64));
        let mut body = Vec::new();
        dict.write(&mut body);
        body.extend_from_slice(b"\nstream\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.raw_object(reference, &body);
    }

    /// Writes the cross-reference section and trailer and returns the whole file.
    /// `trailer` carries `/Size`, `/Root` and whatever else is kept (`/Info`, `/ID`);
    /// `/Prev` is set here. For a stream, the xref stream object is `xref_stream`.
    pub fn finish(
        mut self,
        kind: XrefKind,
        mut trailer: Dict,
        prev: usize,
        xref_stream: ObjRef,
    ) -> Vec<u8> {
        trailer.set("Prev", Object::Int(prev as i64));
        let start = self.out.len();
        match kind {
            XrefKind::Table => self.write_table(trailer),
            XrefKind::Stream => {
                self.offsets.push((xref_stream, start));
                self.write_stream(xref_stream, trailer);
            }
        }
        self.out
            .extend_from_slice(format!("startxref\n{start}\n%%EOF\n").as_bytes());
        self.out
    }

    /// The entries sorted by object number and grouped into runs of consecutive numbers.
    fn subsections(&self) -> Vec<Vec<(ObjRef, usize)>> {
        let mut entries = self.offsets.clone();
        entries.sort();
        let mut runs: Vec<Vec<(ObjRef, usize)>> = Vec::new();
        for entry in entries {
            match runs.last_mut() {
                Some(run) if run.last().is_some_and(|(r, _)| r.num + 1 == entry.0.num) => {
                    run.push(entry)
                }
                _ => runs.push(vec![entry]),
            }
        }
        runs
    }

    fn write_table(&mut self, trailer: Dict) {
        let mut table = String::from("xref\n");
        for run in self.subsections() {
            table.push_str(&format!("{} {}\n", run[0].0.num, run.len()));
            for (reference, offset) in run {
                // Each entry is exactly 20 bytes.
                table.push_str(&format!("{offset:010} {:05} n\r\n", reference.generation));
            }
        }
        table.push_str("trailer\n");
        self.out.extend_from_slice(table.as_bytes());
        trailer.write(&mut self.out);
        self.out.push(b'\n');
    }

    fn write_stream(&mut self, reference: ObjRef, mut trailer: Dict) {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for run in self.subsections() {
            index.push(Object::Int(i64::from(run[0].0.num)));
            index.push(Object::Int(run.len() as i64));
            for (reference, offset) in run {
                // Type 1 (in use, at an offset): 1 byte type, 8 bytes offset, 2 bytes generation.
                data.push(1);
                data.extend_from_slice(&(offset as u64).to_be_bytes());
                data.extend_from_slice(&reference.generation.to_be_bytes());
            }
        }
        trailer.set("Type", Object::name("XRef"));
        trailer.set(
            "W",
            Object::Array(vec![Object::Int(1), Object::Int(8), Object::Int(2)]),
        );
        trailer.set("Index", Object::Array(index));
        self.stream(reference, trailer, &data);
    }
}
