//! The dossier sync of the National Public Service Portal (Cổng DVCQG), as the provincial
//! one-stop system already sends it (SPEC §3.5): a `DongBoHoSoMC` body naming the agency
//! (`madonvi`) and carrying records (`data`), each the whole dossier as it stands, re-sent on
//! every change. This file is the mapping: what each status and channel means for the report
//! ([`STATUSES`], [`CHANNELS`]), which fields are read and kept ([`KEPT_FIELDS`]: the citizen's
//! name, identity number and contacts are not among them, and are dropped before anything is
//! stored), and how a record becomes baocao's events.
//!
//! A record gives at most two events, `procedure.received` and `procedure.resolved`, whose ids
//! are derived from the agency, the dossier's code and the kind, so the record re-sent whole
//! names the same events. They are [`Provenance::Record`] events: a later one under a known id
//! is an update, merged in an order-free way (the store keeps the greatest due date, the
//! earliest end, and "digitized" once any sync says so; only a changed reception date is a
//! conflict).
//!
//! The field names are those of public implementations of the sync; where a real feed differs,
//! this file is the one to change.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::event::{Channel, Event, EventKind, Provenance};
use crate::parse::{MAX_BODY_BYTES, MAX_CLOCK_SKEW, ParsedEvent, Rejection};
use crate::text;
use crate::unit::{KnownUnits, UnitCode};

/// The sync of a dossier's whole record (`service`), counted.
pub const SYNC_SERVICE: &str = "DongBoHoSoMC";
/// The progress log of a dossier (`service`): accepted, not counted.
pub const PROGRESS_SERVICE: &str = "CapNhatTienDoHoSoMC";
/// Routing keys on `portal.events` that carry sync bodies start with this.
pub const ROUTING_PREFIX: &str = "dvcqg.";

/// What a dossier status (`TrangThaiHoSo`) means for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The code.
    pub code: u8,
    /// The words the one-stop system's exports print for it.
    pub words: &'static str,
    /// Whether a dossier in this status was received (tiếp nhận).
    pub received: bool,
    /// Whether, and how, a dossier in this status has ended.
    pub end: Option<End>,
}

/// How a dossier ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Processed, with a result (statuses 9 and 10).
    WithResult,
    /// Withdrawn by the citizen or processing stopped (7 and 8): resolved on time, without a
    /// result, and counted apart.
    WithoutResult,
}

/// Every status of `TrangThaiHoSo`, the one table of what each means.
pub const STATUSES: [Status; 10] = [
    status(1, "Mới đăng ký", false, None),
    status(2, "Được tiếp nhận", true, None),
    status(3, "Không được tiếp nhận", false, None),
    status(4, "Đang xử lý", true, None),
    status(5, "Yêu cầu bổ sung giấy tờ", true, None),
    status(6, "Yêu cầu thực hiện nghĩa vụ tài chính", true, None),
    status(
        7,
        "Công dân yêu cầu rút hồ sơ",
        true,
        Some(End::WithoutResult),
    ),
    status(8, "Dừng xử lý", true, Some(End::WithoutResult)),
    status(9, "Đã xử lý xong", true, Some(End::WithResult)),
    status(10, "Đã trả kết quả", true, Some(End::WithResult)),
];

const fn status(code: u8, words: &'static str, received: bool, end: Option<End>) -> Status {
    Status {
        code,
        words,
        received,
        end,
    }
}

/// Every channel of `KenhThucHien`, with the words exports print.
pub const CHANNELS: [(u8, Channel, &str); 3] = [
    (1, Channel::Direct, "Trực tiếp"),
    (2, Channel::Online, "Trực tuyến"),
    (3, Channel::Postal, "Bưu chính"),
];

/// The status with this code.
pub fn status_of(code: u8) -> Option<Status> {
    STATUSES.into_iter().find(|s| s.code == code)
}

/// The channel with this code.
pub fn channel_of(code: u8) -> Option<Channel> {
    CHANNELS
        .into_iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, channel, _)| channel)
}

/// The fields of a record baocao reads and keeps. Everything else, the citizen's name, identity
/// numbers and contact fields among them (`ChuHoSo`, `SoGiayToChuHoSo`, `DinhDanhCHS`,
/// `Email`, `SoDienThoai`, …), is dropped before anything is stored (Nghị định 13/2023).
pub const KEPT_FIELDS: [&str; 9] = [
    "MaHoSo",
    "MaTTHC",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "TrangThaiHoSo",
    "KenhThucHien",
    "HoSoCoThanhPhanSoHoa",
];

/// The offset of the dates of the sync: Asia/Ho_Chi_Minh, which has no daylight saving.
const VIETNAM_SECONDS: i32 = 7 * 3600;

/// The service a body names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `DongBoHoSoMC`: records to count.
    Sync,
    /// `CapNhatTienDoHoSoMC`: a progress log, accepted and not counted.
    Progress,
}

/// A body whose envelope is usable: its service, its unit and its records, each still to be
/// read on its own.
#[derive(Debug, Clone)]
pub struct SyncBody {
    /// The service.
    pub service: Service,
    /// `madonvi` as sent.
    pub agency: String,
    /// The unit it names (none for a progress log).
    pub unit: Option<UnitCode>,
    /// `data`, one JSON value per record.
    pub records: Vec<Value>,
    /// The envelope's other fields, as sent.
    envelope: Map<String, Value>,
}

impl SyncBody {
    /// A body of the same envelope holding `records` only, as sent: what a record refused
    /// alone is dead-lettered as, and what a large body is split into.
    pub fn with_records(&self, records: &[Value]) -> Vec<u8> {
        let mut envelope = self.envelope.clone();
        envelope.insert("data".to_owned(), Value::Array(records.to_vec()));
        Value::Object(envelope).to_string().into_bytes()
    }

    /// The body split into bodies of the same envelope whose records take at most
    /// `max_bytes` each, in order (a record larger than that alone in its body): how an HTTP
    /// body of up to 32 MiB becomes messages the parser takes.
    pub fn split(&self, max_bytes: usize) -> Vec<Vec<u8>> {
        let overhead = self.with_records(&[]).len();
        let budget = max_bytes.saturating_sub(overhead);
        let mut bodies = Vec::new();
        let (mut part, mut size) = (Vec::new(), 0);
        for record in &self.records {
            // The record and the comma before it.
            let length = record.to_string().len() + 1;
            if !part.is_empty() && size + length > budget {
                bodies.push(self.with_records(&part));
                (part, size) = (Vec::new(), 0);
            }
            part.push(record.clone());
            size += length;
        }
        if !part.is_empty() || bodies.is_empty() {
            bodies.push(self.with_records(&part));
        }
        bodies
    }
}

/// Reads a body's envelope: JSON, a known `service`, and for a sync a `madonvi` that is a
/// unit's agency code and a `data` array. What is wrong refuses the whole body.
pub fn read_body(body: &[u8], units: &KnownUnits) -> Result<SyncBody, Rejection> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge(body.len()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| Rejection::Malformed(format!("the body is not JSON: {error}")))?;
    read_envelope(value, units)
}

/// [`read_body`] of a body already parsed as JSON, whatever its size.
pub fn read_envelope(value: Value, units: &KnownUnits) -> Result<SyncBody, Rejection> {
    let Value::Object(mut envelope) = value else {
        return Err(Rejection::Malformed("the body is not a JSON object".into()));
    };
    let service = match envelope.get("service").and_then(Value::as_str) {
        Some(SYNC_SERVICE) => Service::Sync,
        Some(PROGRESS_SERVICE) => Service::Progress,
        Some(_) => {
            return Err(invalid(
                "service",
                "is not DongBoHoSoMC or CapNhatTienDoHoSoMC",
            ));
        }
        None => return Err(invalid("service", "is missing")),
    };
    let agency = code_text(envelope.get("madonvi")).unwrap_or_default();
    let Some(Value::Array(records)) = envelope.remove("data") else {
        return Err(invalid("data", "must be an array of records"));
    };
    let unit = match service {
        Service::Progress => None,
        Service::Sync if agency.is_empty() => return Err(invalid("madonvi", "is missing")),
        Service::Sync => Some(
            units
                .by_agency(&agency)
                .ok_or_else(|| {
                    Rejection::UnknownAgency(text::truncate_bytes(
                        &text::escape_controls(&agency),
                        128,
                    ))
                })?
                .clone(),
        ),
    };
    Ok(SyncBody {
        service,
        agency,
        unit,
        records,
        envelope,
    })
}

/// A record that cannot be read: its dossier code if it has one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {}: {rejection}", code.as_deref().unwrap_or("without MaHoSo"))]
pub struct RecordRejection {
    /// `MaHoSo`, if the record has a usable one.
    pub code: Option<String>,
    /// Why it cannot be read; its reason is the dead letter's.
    pub rejection: Rejection,
}

/// The events of one record of a sync body, as received at `now`: none for a record that was
/// not received (statuses 1 and 3), `procedure.received`, and `procedure.resolved` once it has
/// ended.
pub fn record_events(
    body: &SyncBody,
    record: &Value,
    now: DateTime<Utc>,
) -> Result<Vec<ParsedEvent>, RecordRejection> {
    let Some(unit) = &body.unit else {
        return Ok(Vec::new());
    };
    let Value::Object(record) = record else {
        let rejection = Rejection::Malformed("a record is not a JSON object".into());
        return Err(RecordRejection {
            code: None,
            rejection,
        });
    };
    let code = dossier_code(record).map_err(|rejection| RecordRejection {
        code: None,
        rejection,
    })?;
    let rejected = |rejection| RecordRejection {
        code: Some(code.clone()),
        rejection,
    };
    let dossier = read_record(record, &code, now).map_err(rejected)?;
    Ok(dossier.events(&body.agency, unit, &kept(record)))
}

/// What a record says of its dossier.
struct Dossier {
    code: String,
    procedure: Option<String>,
    reception: Option<(DateTime<FixedOffset>, Channel, DateTime<FixedOffset>, bool)>,
    end: Option<(DateTime<FixedOffset>, End)>,
}

fn read_record(
    record: &Map<String, Value>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Dossier, Rejection> {
    let status = code_number(record, "TrangThaiHoSo")?;
    let status = status_of(status).ok_or_else(|| invalid("TrangThaiHoSo", "is not 1 to 10"))?;
    let procedure = match record.get("MaTTHC") {
        None | Some(Value::Null) => None,
        value => Some(checked_text(code_text(value), "MaTTHC")?),
    };
    let mut dossier = Dossier {
        code: code.to_owned(),
        procedure,
        reception: None,
        end: None,
    };
    if !status.received {
        return Ok(dossier);
    }
    let received_at = required_date(record, "NgayTiepNhan", now)?;
    let channel = code_number(record, "KenhThucHien")?;
    let channel = channel_of(channel).ok_or_else(|| invalid("KenhThucHien", "is not 1, 2 or 3"))?;
    // The due date is in the future while the dossier is handled: only a date that says
    // something happened is checked against the clock.
    let due_at =
        date_at(record, "NgayHenTra")?.ok_or_else(|| invalid("NgayHenTra", "is missing"))?;
    let digitized = digitized(record)?;
    dossier.reception = Some((received_at, channel, due_at, digitized));
    if let Some(end) = status.end {
        let ended = match optional_date(record, "NgayKetThucXuLy", now)? {
            Some(at) => Some(at),
            None => optional_date(record, "NgayTra", now)?,
        };
        let at = match (ended, end) {
            (Some(at), _) => at,
            // Withdrawn or stopped with no date: at the sync that says so.
            (None, End::WithoutResult) => now.with_timezone(&vietnam()),
            (None, End::WithResult) => return Err(invalid("NgayKetThucXuLy", "is missing")),
        };
        dossier.end = Some((at, end));
    }
    Ok(dossier)
}

impl Dossier {
    fn events(&self, agency: &str, unit: &UnitCode, kept: &Map<String, Value>) -> Vec<ParsedEvent> {
        let mut events = Vec::new();
        if let Some((received_at, channel, due_at, digitized)) = self.reception {
            let kind = EventKind::ProcedureReceived {
                dossier_id: self.code.clone(),
                channel,
                due_at,
                digitized,
                procedure_code: self.procedure.clone(),
            };
            events.push(self.event(agency, unit, received_at, kind, kept));
        }
        if let Some((at, end)) = self.end {
            let kind = EventKind::ProcedureResolved {
                dossier_id: self.code.clone(),
                without_result: end == End::WithoutResult,
            };
            events.push(self.event(agency, unit, at, kind, kept));
        }
        events
    }

    fn event(
        &self,
        agency: &str,
        unit: &UnitCode,
        occurred_at: DateTime<FixedOffset>,
        kind: EventKind,
        kept: &Map<String, Value>,
    ) -> ParsedEvent {
        let id = event_id(agency, &self.code, kind.type_name());
        let body = json!({
            "id": id,
            "type": kind.type_name(),
            "occurred_at": occurred_at.to_rfc3339(),
            "unit": unit.as_str(),
            "data": data_of(&kind),
            "source": {"dialect": "dvcqg", "madonvi": agency, "record": kept},
        });
        ParsedEvent {
            event: Event {
                id,
                unit: unit.clone(),
                occurred_at,
                kind,
                provenance: Provenance::Record,
            },
            body: body.to_string(),
        }
    }
}

/// The `data` of an event as baocao's envelope would carry it.
fn data_of(kind: &EventKind) -> Value {
    match kind {
        EventKind::ProcedureReceived {
            dossier_id,
            channel,
            due_at,
            digitized,
            procedure_code,
        } => json!({
            "dossier_id": dossier_id, "channel": channel.as_str(), "due_at": due_at.to_rfc3339(),
            "digitized": digitized, "procedure_code": procedure_code,
        }),
        EventKind::ProcedureResolved {
            dossier_id,
            without_result,
        } => json!({"dossier_id": dossier_id, "without_result": without_result}),
        _ => Value::Null,
    }
}

/// The event id of a record's `kind` event: the same for every sync of the dossier.
pub fn event_id(agency: &str, code: &str, type_name: &str) -> Uuid {
    /// Names baocao's derived ids (a fixed, random UUID).
    const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a4e_8b3d_4c5a_9e7f_1d2b_3c4d_5e6f);
    Uuid::new_v5(
        &NAMESPACE,
        format!("dvcqg\n{agency}\n{code}\n{type_name}").as_bytes(),
    )
}

/// The record with only [`KEPT_FIELDS`].
pub fn kept(record: &Map<String, Value>) -> Map<String, Value> {
    KEPT_FIELDS
        .iter()
        .filter_map(|field| Some(((*field).to_owned(), record.get(*field)?.clone())))
        .collect()
}

fn invalid(path: &'static str, problem: &'static str) -> Rejection {
    Rejection::InvalidField { path, problem }
}

fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(VIETNAM_SECONDS).unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
}

/// A code sent as a string or a number, as text.
fn code_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn checked_text(text: Option<String>, path: &'static str) -> Result<String, Rejection> {
    let text = text.ok_or_else(|| invalid(path, "must be a string or a number"))?;
    if text.is_empty() {
        return Err(invalid(path, "must not be empty"));
    }
    if text::control_in_line(&text).is_some() {
        return Err(invalid(path, "must not contain control characters"));
    }
    if text.chars().count() > 128 {
        return Err(invalid(path, "must have at most 128 characters"));
    }
    Ok(text)
}

fn dossier_code(record: &Map<String, Value>) -> Result<String, Rejection> {
    match record.get("MaHoSo") {
        None | Some(Value::Null) => Err(invalid("MaHoSo", "is missing")),
        value => checked_text(code_text(value), "MaHoSo"),
    }
}

/// A small code (status, channel) sent as `"10"` or `10`.
fn code_number(record: &Map<String, Value>, path: &'static str) -> Result<u8, Rejection> {
    match record.get(path) {
        None | Some(Value::Null) => Err(invalid(path, "is missing")),
        value => code_text(value)
            .and_then(|text| text.parse::<u8>().ok())
            .ok_or_else(|| invalid(path, "must be a number such as 2 or \"2\"")),
    }
}

fn digitized(record: &Map<String, Value>) -> Result<bool, Rejection> {
    match record.get("HoSoCoThanhPhanSoHoa") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        value => match code_text(value).as_deref() {
            Some("1" | "true" | "True") => Ok(true),
            Some("0" | "false" | "False" | "") => Ok(false),
            _ => Err(invalid(
                "HoSoCoThanhPhanSoHoa",
                "must be 1, 0, true or false",
            )),
        },
    }
}

fn required_date(
    record: &Map<String, Value>,
    path: &'static str,
    now: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, Rejection> {
    optional_date(record, path, now)?.ok_or_else(|| invalid(path, "is missing"))
}

fn optional_date(
    record: &Map<String, Value>,
    path: &'static str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<FixedOffset>>, Rejection> {
    let at = date_at(record, path)?;
    if let Some(at) = at
        && at.to_utc() > now + MAX_CLOCK_SKEW
    {
        return Err(Rejection::FutureTimestamp(at.to_rfc3339()));
    }
    Ok(at)
}

/// The date at `path`, if there is one, whenever it is.
fn date_at(
    record: &Map<String, Value>,
    path: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, Rejection> {
    let text = match record.get(path) {
        None | Some(Value::Null) => return Ok(None),
        value => code_text(value).unwrap_or_default(),
    };
    if text.is_empty() {
        return Ok(None);
    }
    parse_date(&text)
        .map(Some)
        .ok_or_else(|| invalid(path, "is not a date written yyyyMMddHHmmss"))
}

/// `yyyyMMddHHmmss`, Vietnam time.
pub fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S").ok()?;
    vietnam().from_local_datetime(&naive).single()
}

#[cfg(test)]
mod tests;
