//! What a delivery says: one event in baocao's envelope, a body of an upstream system's own
//! format (SPEC §3.5) with the events of its readable records and each unreadable record
//! alone, or a refusal of the whole message. The routing key says which format a body is in:
//! `dvcqg.*` on the portal's exchange is the DVCQG dossier sync; `edxml.package` on the
//! e-office exchange an edXML package (under 1 MiB), and `edxml.document` the event derived
//! from a package or a register's line (by the API or `baocao import`); anything else is
//! baocao's envelope (SPEC §3.2).

use chrono::{DateTime, Utc};
use domain::dvcqg::{self, Service};
use domain::edxml::{self, Package};
use domain::{KnownUnits, ParsedEvent, Source, parse_event_from};
use lapin::message::Delivery;

use crate::dead_letter::Verdict;

/// The source a body counts for when it names none (`x-baocao-source`).
pub const DEFAULT_SOURCE: &str = "broker";

/// What one delivery says.
#[derive(Debug)]
pub enum Reading {
    /// One event in baocao's envelope.
    Event(ParsedEvent),
    /// A body of records: the events of the readable ones, and each unreadable one alone.
    Records(RecordBody),
    /// Refused whole, with why.
    Refused(Verdict),
}

/// A body of an upstream system's records, read.
#[derive(Debug)]
pub struct RecordBody {
    /// The format: `dvcqg` or `edxml`.
    pub dialect: &'static str,
    /// How many records it held.
    pub records: usize,
    /// The events of its readable records, each with the place of its record in the body.
    pub events: Vec<(usize, ParsedEvent)>,
    /// Each unreadable record as a body of its own (the envelope as sent around it), with why.
    pub refused: Vec<(Vec<u8>, Verdict)>,
}

/// Reads `delivery`, which came through `source`'s exchange, at `now`.
pub fn read(
    source: Source,
    delivery: &Delivery,
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Reading {
    if let Some(verdict) = Verdict::unreadable(delivery) {
        return Reading::Refused(verdict);
    }
    if source == Source::Portal && is_dvcqg(delivery) {
        return read_dvcqg(&delivery.data, units, now);
    }
    if source == Source::Eoffice {
        match first_routing_key(delivery).as_str() {
            edxml::PACKAGE_ROUTING_KEY => return read_package(&delivery.data, units, now),
            edxml::DOCUMENT_ROUTING_KEY => {
                let derived = edxml::read_derived(&delivery.data, units, now);
                return one_document(derived.map(Some));
            }
            _ => {}
        }
    }
    match parse_event_from(source, &delivery.data, units, now) {
        Ok(event) => Reading::Event(event),
        Err(rejection) => Reading::Refused(Verdict::from(&rejection)),
    }
}

/// Whether `delivery` carries a body of an upstream system's own format (by its routing key):
/// a refusal of it counts for its source.
pub fn is_source_format(delivery: &Delivery) -> bool {
    is_dvcqg(delivery)
        || matches!(
            first_routing_key(delivery).as_str(),
            edxml::PACKAGE_ROUTING_KEY | edxml::DOCUMENT_ROUTING_KEY
        )
}

/// Whether `delivery` carries a DVCQG body (by its routing key).
pub fn is_dvcqg(delivery: &Delivery) -> bool {
    first_routing_key(delivery).starts_with(dvcqg::ROUTING_PREFIX)
}

/// The routing key `delivery` was first published with, which names its format: its own, or
/// for a dead letter replayed through the default exchange, the one the letter kept.
fn first_routing_key(delivery: &Delivery) -> String {
    crate::dead_letter::origin(delivery).1
}

fn read_dvcqg(body: &[u8], units: &KnownUnits, now: DateTime<Utc>) -> Reading {
    let body = match dvcqg::read_body(body, units) {
        Ok(body) => body,
        Err(rejection) => return Reading::Refused(Verdict::from(&rejection)),
    };
    let mut read = RecordBody {
        dialect: "dvcqg",
        records: body.records.len(),
        events: Vec::new(),
        refused: Vec::new(),
    };
    if body.service == Service::Progress {
        return Reading::Records(read);
    }
    for (at, record) in body.records.iter().enumerate() {
        match dvcqg::record_events(&body, record, now) {
            Ok(events) => read.events.extend(events.into_iter().map(|e| (at, e))),
            Err(refused) => {
                let verdict = Verdict::new(refused.rejection.reason(), &refused.to_string());
                let alone = body.with_records(std::slice::from_ref(record));
                read.refused.push((alone, verdict));
            }
        }
    }
    Reading::Records(read)
}

/// An edXML package: one document of a unit (counted), a status message or an incoming
/// document (accepted, not counted), or refused whole.
fn read_package(body: &[u8], units: &KnownUnits, now: DateTime<Utc>) -> Reading {
    let document = edxml::read_package_bytes(body, units, now).map(|package| match package {
        Package::Document(document) => Some(edxml::document_event(&document, "package")),
        Package::Status(_) | Package::Incoming(_) => None,
    });
    one_document(document)
}

/// A body of one edXML record: its event if it gives one.
fn one_document(read: Result<Option<ParsedEvent>, domain::Rejection>) -> Reading {
    match read {
        Ok(event) => Reading::Records(RecordBody {
            dialect: "edxml",
            records: 1,
            events: event.into_iter().map(|e| (0, e)).collect(),
            refused: Vec::new(),
        }),
        Err(rejection) => Reading::Refused(Verdict::from(&rejection)),
    }
}

/// The record at `at` of a DVCQG body as a body of its own: what a record the database
/// refuses is dead-lettered as. `None` if the body cannot be read again (it could a moment ago).
pub fn dvcqg_record(body: &[u8], units: &KnownUnits, at: usize) -> Option<Vec<u8>> {
    let body = dvcqg::read_body(body, units).ok()?;
    let record = body.records.get(at)?;
    Some(body.with_records(std::slice::from_ref(record)))
}
