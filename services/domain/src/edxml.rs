//! edXML packages as the e-office system already exchanges them on the national document axis
//! (QCVN 102:2016/BTTTT, amended by Thông tư 01/2022/TT-BTTTT; SPEC §3.5), and the one event a
//! package of a unit's outgoing document gives: `document.signed`.
//!
//! A package is read as a stream, in bounded memory: an XML pull parser (quick-xml) over the
//! header, and each attachment's base64 content decoded a chunk at a time to tell whether it is
//! a signed PDF ([`scan`]), never held whole. What is read, by element local name (any
//! namespace prefix):
//!
//! | path | use |
//! | --- | --- |
//! | `edXMLEnvelope` | the root; anything else is not a package |
//! | `edXMLHeader/MessageHeader/From/OrganId` | the sender: a unit's `agency_code` makes it the unit's outgoing document (required) |
//! | `…/To/OrganId` | the recipients: a unit among them makes an incoming document (accepted, not counted) |
//! | `…/Code/CodeNumber`, `…/Code/CodeNotation` | the number, `103/BC-UBND` (CodeNumber required) |
//! | `…/PromulgationInfo/PromulgationDate` | the date, `yyyy/MM/dd` (also `yyyy-MM-dd`, `dd/MM/yyyy`): the start of that day, Vietnam time (required) |
//! | `TraceHeaderList/Bussiness/BussinessDocType` | 0 new, 1 recall, 2 update, 3 replacement (absent: new) |
//! | `edXMLHeader/MessageStatus` (or `Status`) | a status message: accepted, not counted, if its `From`, `To` or `ResponseFor` `OrganId` is a unit's |
//! | `AttachmentEncoded/Attachment/Value` | base64 content: `digital` when one is a PDF with a `/ByteRange` |
//!
//! Everything else (subject, content, signer, document type, places, trace headers, other
//! attachment fields, attributes, comments, processing instructions) is ignored. The text of
//! any element but an attachment's content is bounded ([`MAX_ELEMENT_BYTES`]), and so is the
//! depth ([`MAX_DEPTH`]).
//!
//! The document's id is made of the unit, the date and the number, as edXML's `DocumentId`
//! is, so that a line of the e-office register imported from an export (SPEC §3.6) names the
//! same document: [`document_event`] is the one function both go through. An update (2, 3)
//! gives the same event id again; the store merges it (digital once any version is signed).
//! A recall (1) is stored under an id of its own and names the same document, which it does
//! not subtract.

use std::io::BufRead;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::event::{Event, EventKind, Provenance, Source};
use crate::parse::{MAX_BODY_BYTES, MAX_CLOCK_SKEW, ParsedEvent, Rejection, parse_event_from};
use crate::text;
use crate::unit::{KnownUnits, UnitCode};

mod read;
pub mod scan;

use read::{Header, read_header};

/// The routing key of a package published straight to `eoffice.events` (under 1 MiB).
pub const PACKAGE_ROUTING_KEY: &str = "edxml.package";
/// The routing key of the event derived from a package or a register's line: what
/// `POST /sync/edxml` and `baocao import documents` publish (the package is not kept).
pub const DOCUMENT_ROUTING_KEY: &str = "edxml.document";
/// The most bytes the text of one element (or one tag) may take, but an attachment's content.
pub const MAX_ELEMENT_BYTES: usize = 1024 * 1024;
/// The deepest nesting of elements read.
pub const MAX_DEPTH: usize = 64;
/// The longest number (`CodeNumber/CodeNotation`), in characters.
const MAX_NUMBER_CHARS: usize = 128;

/// What a package is for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Package {
    /// A unit's outgoing document: counted.
    Document(Document),
    /// A status message (`MessageStatus`) of, or for, `unit`: accepted, not counted.
    Status(UnitCode),
    /// A document another agency sent to `unit`: accepted, not counted.
    Incoming(UnitCode),
}

/// What a package's business is (`BussinessDocType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Business {
    /// 0: a new document.
    New,
    /// 1: the sender recalls the document: stored, not subtracted.
    Recall,
    /// 2 (update) and 3 (replacement): the same document again.
    Update,
}

impl Business {
    /// As stored in the derived event's `source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Recall => "recall",
            Self::Update => "update",
        }
    }
}

/// An outgoing document, as a package or a register's line says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The unit that issued it.
    pub unit: UnitCode,
    /// The sender's `OrganId` (none from a register).
    pub agency: Option<String>,
    /// `CodeNumber/CodeNotation`, e.g. `103/BC-UBND`.
    pub number: String,
    /// The promulgation date.
    pub date: NaiveDate,
    /// Whether a PDF carrying a signature came with it (the register's "Ký số").
    pub digital: bool,
    /// New, update or recall.
    pub business: Business,
    /// How many attachments the package carried, and how many were signed PDFs.
    pub attachments: (usize, usize),
}

/// Reads a package published to the broker: at most 1 MiB.
pub fn read_package_bytes(
    body: &[u8],
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Result<Package, Rejection> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge(body.len()));
    }
    read_package(body, units, now)
}

/// Reads a package from `input` as it streams, whatever its size, in bounded memory.
pub fn read_package<R: BufRead>(
    input: R,
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Result<Package, Rejection> {
    let header = read_header(input)?;
    classify(header, units, now)
}

pub(crate) fn malformed(message: impl Into<String>) -> Rejection {
    Rejection::Malformed(message.into())
}

pub(crate) fn invalid(path: &'static str, problem: &'static str) -> Rejection {
    Rejection::InvalidField { path, problem }
}

/// What the header says, for the report.
fn classify(header: Header, units: &KnownUnits, now: DateTime<Utc>) -> Result<Package, Rejection> {
    let from = header.from.as_deref().filter(|f| !f.is_empty());
    let sender = from.and_then(|agency| units.by_agency(agency));
    let recipient = || header.to.iter().find_map(|agency| units.by_agency(agency));
    if header.status {
        return match sender.or_else(recipient) {
            Some(unit) => Ok(Package::Status(unit.clone())),
            None => Err(unknown(from)),
        };
    }
    let Some(unit) = sender else {
        if from.is_none() {
            return Err(invalid(
                "OrganId",
                "is missing (edXMLHeader/MessageHeader/From)",
            ));
        }
        return match recipient() {
            Some(unit) => Ok(Package::Incoming(unit.clone())),
            None => Err(unknown(from)),
        };
    };
    let business = match header.business.as_deref().map(str::trim) {
        None | Some("" | "0") => Business::New,
        Some("1") => Business::Recall,
        Some("2" | "3") => Business::Update,
        Some(_) => return Err(invalid("BussinessDocType", "is not 0, 1, 2 or 3")),
    };
    let number = number_of(
        header.code_number.as_deref(),
        header.code_notation.as_deref(),
    )?;
    let date = match header.date.as_deref() {
        None | Some("") => return Err(invalid("PromulgationDate", "is missing")),
        Some(text) => parse_date(text)
            .ok_or_else(|| invalid("PromulgationDate", "is not a date written yyyy/MM/dd"))?,
    };
    check_not_future(date, now)?;
    Ok(Package::Document(Document {
        unit: unit.clone(),
        agency: from.map(str::to_owned),
        number,
        date,
        digital: header.signed_pdfs > 0,
        business,
        attachments: (header.attachments, header.signed_pdfs),
    }))
}

fn unknown(agency: Option<&str>) -> Rejection {
    let named = agency.unwrap_or("(none)");
    Rejection::UnknownAgency(text::truncate_bytes(&text::escape_controls(named), 128))
}

/// `CodeNumber/CodeNotation`, checked.
pub fn number_of(code: Option<&str>, notation: Option<&str>) -> Result<String, Rejection> {
    let code = code.map(str::trim).unwrap_or_default();
    if code.is_empty() {
        return Err(invalid("CodeNumber", "is missing"));
    }
    let number = match notation.map(str::trim) {
        None | Some("") => code.to_owned(),
        Some(notation) => format!("{code}/{notation}"),
    };
    check_number(&number)?;
    Ok(number)
}

/// Checks a document a register's line gives as a package's would be: its number and date.
pub fn check_document(document: &Document, now: DateTime<Utc>) -> Result<(), Rejection> {
    check_number(&document.number)?;
    check_not_future(document.date, now)
}

fn check_number(number: &str) -> Result<(), Rejection> {
    if text::control_in_line(number).is_some() {
        return Err(invalid("CodeNumber", "must not contain control characters"));
    }
    if number.chars().count() > MAX_NUMBER_CHARS {
        return Err(invalid("CodeNumber", "must have at most 128 characters"));
    }
    Ok(())
}

/// A promulgation date: `yyyy/MM/dd`, also `yyyy-MM-dd` or `dd/MM/yyyy`, possibly followed
/// by a time, which is ignored.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let day = text.trim().split([' ', 'T']).next()?;
    ["%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(day, format).ok())
}

fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
}

/// The start of `date`, Vietnam time: when a document of that date counts.
pub fn start_of(date: NaiveDate) -> DateTime<FixedOffset> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    vietnam()
        .from_local_datetime(&midnight)
        .single()
        .unwrap_or_else(|| midnight.and_utc().fixed_offset())
}

fn check_not_future(date: NaiveDate, now: DateTime<Utc>) -> Result<(), Rejection> {
    let at = start_of(date);
    if at.to_utc() > now + MAX_CLOCK_SKEW {
        return Err(Rejection::FutureTimestamp(at.to_rfc3339()));
    }
    Ok(())
}

/// The document's id: its date and number (whitespace dropped, letters in capitals, so that a
/// register's "103/bc-ubnd" is the package's "103/BC-UBND"), within its unit.
pub fn document_id(number: &str, date: NaiveDate) -> String {
    let key: String = number
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    format!("{},{key}", date.format("%Y/%m/%d"))
}

/// The id of the event of a document (a recall's is its own).
pub fn event_id(unit: &UnitCode, document_id: &str, business: Business) -> Uuid {
    /// Names the ids of documents (a fixed, random UUID).
    const NAMESPACE: Uuid = Uuid::from_u128(0x3b9e_51c2_7a4d_4f08_b1e6_92c4_d07a_5e13);
    let kind = if business == Business::Recall {
        "recall"
    } else {
        "document.signed"
    };
    Uuid::new_v5(
        &NAMESPACE,
        format!("edxml\n{unit}\n{document_id}\n{kind}").as_bytes(),
    )
}

/// The `document.signed` event of `document`, which came `via` a package or a register.
pub fn document_event(document: &Document, via: &str) -> ParsedEvent {
    let document_id = document_id(&document.number, document.date);
    let id = event_id(&document.unit, &document_id, document.business);
    let occurred_at = start_of(document.date);
    let body = json!({
        "id": id,
        "type": "document.signed",
        "occurred_at": occurred_at.to_rfc3339(),
        "unit": document.unit.as_str(),
        "data": {"document_id": document_id, "digital": document.digital, "number": document.number},
        "source": {"dialect": "edxml", "via": via, "OrganId": document.agency,
                   "business": document.business.as_str()},
    });
    ParsedEvent {
        event: Event {
            id,
            unit: document.unit.clone(),
            occurred_at,
            kind: EventKind::DocumentSigned {
                document_id,
                digital: document.digital,
                number: Some(document.number.clone()),
            },
            provenance: Provenance::Record,
        },
        body: body.to_string(),
    }
}

/// Reads an event [`document_event`] derived (published with [`DOCUMENT_ROUTING_KEY`]): a
/// `document.signed` in baocao's envelope, whose later copies under its id are updates.
pub fn read_derived(
    body: &[u8],
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Result<ParsedEvent, Rejection> {
    let mut parsed = parse_event_from(Source::Eoffice, body, units, now)?;
    if !matches!(parsed.event.kind, EventKind::DocumentSigned { .. }) {
        return Err(invalid("type", "must be document.signed"));
    }
    parsed.event.provenance = Provenance::Record;
    Ok(parsed)
}

#[cfg(test)]
mod tests;
