//! The reading of a package: a pull parser over the header, keeping the few fields of
//! [`super`]'s table by the end of their path, and each attachment's content streamed through
//! [`super::scan`]. The text of any element but an attachment's, and any tag, is bounded by
//! [`MAX_ELEMENT_BYTES`] (a reader that refuses more to one XML event), the depth by
//! [`MAX_DEPTH`].

use std::io::BufRead;

use quick_xml::events::{BytesRef, Event as XmlEvent};

use super::{MAX_DEPTH, MAX_ELEMENT_BYTES, malformed, scan};
use crate::parse::Rejection;
use crate::text;

/// What was read of the header so far.
#[derive(Debug, Default)]
pub(super) struct Header {
    pub(super) root: bool,
    pub(super) from: Option<String>,
    pub(super) to: Vec<String>,
    pub(super) code_number: Option<String>,
    pub(super) code_notation: Option<String>,
    pub(super) date: Option<String>,
    pub(super) business: Option<String>,
    pub(super) status: bool,
    pub(super) attachments: usize,
    pub(super) signed_pdfs: usize,
}

/// A reader that refuses to give more than [`MAX_ELEMENT_BYTES`] to one XML event.
struct Bounded<R> {
    inner: R,
    taken: usize,
    exceeded: bool,
}

impl<R: BufRead> std::io::Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.taken > MAX_ELEMENT_BYTES {
            self.exceeded = true;
            return Err(std::io::Error::other("an element is too large"));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.taken += amount;
        self.inner.consume(amount);
    }
}

/// The elements whose text is kept, by the end of their path.
const KEPT: [(&[&str], Field); 8] = [
    (&["From", "OrganId"], Field::From),
    (&["To", "OrganId"], Field::To),
    (&["ResponseFor", "OrganId"], Field::To),
    (&["Code", "CodeNumber"], Field::CodeNumber),
    (&["Code", "CodeNotation"], Field::CodeNotation),
    (&["PromulgationInfo", "PromulgationDate"], Field::Date),
    (&["Bussiness", "BussinessDocType"], Field::Business),
    (&["Business", "BusinessDocType"], Field::Business),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    To,
    CodeNumber,
    CodeNotation,
    Date,
    Business,
}

pub(super) fn read_header<R: BufRead>(input: R) -> Result<Header, Rejection> {
    let mut reader = quick_xml::Reader::from_reader(Bounded {
        inner: input,
        taken: 0,
        exceeded: false,
    });
    let mut header = Header::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        reader.get_mut().taken = 0;
        let event = match reader.read_event_into(&mut buffer) {
            Ok(event) => event,
            Err(_) if reader.get_ref().exceeded => {
                return Err(malformed(format!(
                    "an element or its text is over {} KiB",
                    MAX_ELEMENT_BYTES / 1024
                )));
            }
            Err(error) => {
                return Err(malformed(format!(
                    "not well-formed XML near byte {}: {}",
                    reader.buffer_position(),
                    text::truncate_bytes(&error.to_string(), 200)
                )));
            }
        };
        match event {
            XmlEvent::Start(start) => {
                let name = local_name(start.local_name().as_ref())?;
                open(&mut header, &path, &name)?;
                path.push(name);
                text.clear();
                if is_attachment_value(&path) {
                    let signed = read_attachment(reader.get_mut())?;
                    header.attachments += 1;
                    header.signed_pdfs += usize::from(signed);
                }
            }
            XmlEvent::Empty(start) => {
                let name = local_name(start.local_name().as_ref())?;
                open(&mut header, &path, &name)?;
            }
            XmlEvent::End(_) => {
                if let Some(field) = kept_field(&path) {
                    keep(&mut header, field, std::mem::take(&mut text))?;
                }
                path.pop();
                text.clear();
            }
            XmlEvent::Text(content) if kept_field(&path).is_some() => {
                let content = content
                    .decode()
                    .map_err(|_| malformed("text that is not UTF-8"))?;
                push_text(&mut text, &content)?;
            }
            XmlEvent::CData(content) if kept_field(&path).is_some() => {
                let content = content
                    .decode()
                    .map_err(|_| malformed("text that is not UTF-8"))?;
                push_text(&mut text, &content)?;
            }
            XmlEvent::GeneralRef(reference) if kept_field(&path).is_some() => {
                push_text(&mut text, &resolve(&reference)?)?;
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !header.root {
        return Err(malformed("not an edXML package: no edXMLEnvelope element"));
    }
    if !path.is_empty() {
        return Err(malformed("the package ends before its elements are closed"));
    }
    Ok(header)
}

fn local_name(name: &[u8]) -> Result<String, Rejection> {
    std::str::from_utf8(name)
        .map(str::to_owned)
        .map_err(|_| malformed("an element name that is not UTF-8"))
}

/// What opening element `name` under `path` says.
fn open(header: &mut Header, path: &[String], name: &str) -> Result<(), Rejection> {
    if path.len() >= MAX_DEPTH {
        return Err(malformed(format!("elements nested over {MAX_DEPTH} deep")));
    }
    match path.len() {
        0 if name == "edXMLEnvelope" => header.root = true,
        0 => {
            return Err(malformed(format!(
                "not an edXML package: the root is {}",
                text::truncate_bytes(&text::escape_controls(name), 64)
            )));
        }
        _ => {}
    }
    if path.last().is_some_and(|p| p == "edXMLHeader")
        && (name == "MessageStatus" || name == "Status")
    {
        header.status = true;
    }
    Ok(())
}

fn is_attachment_value(path: &[String]) -> bool {
    matches!(path, [.., parent, last] if parent == "Attachment" && last == "Value")
}

fn kept_field(path: &[String]) -> Option<Field> {
    KEPT.iter().find_map(|(suffix, field)| {
        let ends = path.len() >= suffix.len()
            && path[path.len() - suffix.len()..]
                .iter()
                .zip(suffix.iter())
                .all(|(a, b)| a == b);
        ends.then_some(*field)
    })
}

fn push_text(text: &mut String, more: &str) -> Result<(), Rejection> {
    if text.len() + more.len() > MAX_ELEMENT_BYTES {
        return Err(malformed("a header field is over 1 MiB"));
    }
    text.push_str(more);
    Ok(())
}

fn resolve(reference: &BytesRef<'_>) -> Result<String, Rejection> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|_| malformed("a character reference that names no character"))?
    {
        return Ok(c.to_string());
    }
    let name = reference.decode().unwrap_or_default();
    let resolved = match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return Err(malformed("an entity reference that is not predefined")),
    };
    Ok(resolved.to_owned())
}

fn keep(header: &mut Header, field: Field, text: String) -> Result<(), Rejection> {
    let text = text.trim().to_owned();
    match field {
        Field::From => {
            if header.from.is_none() {
                header.from = Some(text);
            }
        }
        Field::To => {
            if header.to.len() < 1000 {
                header.to.push(text);
            }
        }
        Field::CodeNumber => header.code_number = Some(text),
        Field::CodeNotation => header.code_notation = Some(text),
        Field::Date => header.date = Some(text),
        Field::Business => header.business = Some(text),
    }
    Ok(())
}

/// Reads an attachment's base64 content straight from the input, up to the `<` that ends
/// it, and says whether it was a signed PDF. The XML reader then goes on from that `<`.
fn read_attachment<R: BufRead>(input: &mut Bounded<R>) -> Result<bool, Rejection> {
    let mut decoder = scan::Base64::default();
    let mut pdf = scan::PdfScan::default();
    let mut decoded = Vec::with_capacity(64 * 1024);
    let bad = |_| malformed("an attachment's content is not base64");
    loop {
        let available = input
            .inner
            .fill_buf()
            .map_err(|error| malformed(format!("the package cannot be read: {error}")))?;
        if available.is_empty() {
            return Err(malformed("the package ends inside an attachment"));
        }
        let end = memchr::memchr(b'<', available);
        let content = &available[..end.unwrap_or(available.len())];
        decoded.clear();
        decoder.feed(content, &mut decoded).map_err(bad)?;
        pdf.feed(&decoded);
        let used = content.len();
        input.inner.consume(used);
        if end.is_some() {
            break;
        }
    }
    decoded.clear();
    decoder.finish(&mut decoded).map_err(bad)?;
    pdf.feed(&decoded);
    Ok(pdf.is_signed_pdf())
}
