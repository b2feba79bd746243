//! Parsing a message body into an [`Event`], or a [`Rejection`] with a stable reason code.
//!
//! The checks run in a fixed order and the first failure wins, so a given body always gets the
//! same reason: size, then UTF-8/JSON/object, then `id`, `type` (and whether it came from the
//! system that publishes it), `unit`, `occurred_at`, `data` and the fields of the type in the
//! order of SPEC §3.3. What a rejection quotes of the input is bounded and free of control
//! characters, so that it fits a dead-letter header and any log. `proto/` documents the same contract as
//! JSON Schemas, and `tests/` checks that the schemas and this parser agree on every example.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::event::{Channel, Event, EventKind, Source};
use crate::text;
use crate::unit::KnownUnits;

/// The largest body accepted, 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How far in the future `occurred_at` may lie before the event is rejected.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::days(1);

const MAX_ID_CHARS: usize = 128;
const MAX_NUMBER_CHARS: usize = 64;
const MAX_TITLE_CHARS: usize = 512;

/// An event that passed every check, with the body it came in, to be stored as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    /// The parsed event.
    pub event: Event,
    /// The message body, valid UTF-8 JSON.
    pub body: String,
}

/// Why a message was rejected. [`Rejection::reason`] is the stable code carried in the
/// dead-letter header `x-baocao-reason`; the `Display` text explains it to a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("the body has {0} bytes, more than the limit of {MAX_BODY_BYTES}")]
    TooLarge(usize),
    /// The body is not UTF-8, not JSON or not a JSON object.
    #[error("{0}")]
    Malformed(String),
    /// `type` is not one of the six event types.
    #[error("type '{0}' is not an event type")]
    UnknownType(String),
    /// `unit` is not a configured unit.
    #[error("unit '{0}' is not configured")]
    UnknownUnit(String),
    /// An agency code (`madonvi`, `OrganId`) that is no configured unit's `agency_code`.
    #[error("agency '{0}' is no configured unit's agency_code")]
    UnknownAgency(String),
    /// A field is missing or has the wrong type or shape.
    #[error("field {path}: {problem}")]
    InvalidField {
        /// Where the field is: `id`, `type`, `unit`, `occurred_at`, `data` or `data.<name>`.
        path: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A timestamp is not RFC 3339 with an offset.
    #[error("field {path}: '{value}' is not an RFC 3339 timestamp with an offset")]
    InvalidTimestamp {
        /// `occurred_at` or `data.due_at`.
        path: &'static str,
        /// The text received.
        value: String,
    },
    /// `occurred_at` is more than [`MAX_CLOCK_SKEW`] ahead of the clock.
    #[error("occurred_at {0} is more than a day in the future")]
    FutureTimestamp(String),
    /// The type was published on the other system's exchange (a `document.signed` on
    /// `portal.events`, say).
    #[error("type '{type_name}' comes from the {expected} system, not from {came_from}")]
    WrongSource {
        /// The event's type.
        type_name: &'static str,
        /// The system that publishes it.
        expected: &'static str,
        /// The system whose exchange it came through.
        came_from: &'static str,
    },
}

impl Rejection {
    /// The stable reason code: `too_large`, `malformed`, `unknown_type`, `unknown_unit`,
    /// `invalid_field:<path>`, `invalid_timestamp` or `future_timestamp`.
    pub fn reason(&self) -> String {
        match self {
            Self::TooLarge(_) => "too_large".into(),
            Self::Malformed(_) => "malformed".into(),
            Self::UnknownType(_) => "unknown_type".into(),
            Self::UnknownUnit(_) | Self::UnknownAgency(_) => "unknown_unit".into(),
            Self::InvalidField { path, .. } => format!("invalid_field:{path}"),
            Self::InvalidTimestamp { .. } => "invalid_timestamp".into(),
            Self::FutureTimestamp(_) => "future_timestamp".into(),
            Self::WrongSource { .. } => "wrong_source".into(),
        }
    }
}

/// Parses one message body, as received at `now`, for the configured `units`.
pub fn parse_event(
    body: &[u8],
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Result<ParsedEvent, Rejection> {
    parse(body, None, units, now)
}

/// Parses one message body that came through `source`'s exchange: an event of the other
/// system's type is rejected (`wrong_source`).
pub fn parse_event_from(
    source: Source,
    body: &[u8],
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Result<ParsedEvent, Rejection> {
    parse(body, Some(source), units, now)
}

/// The system whose events `body` says it is (by its `type`), if it is an event of a known
/// type at all: what a replay checks against the queue it puts a letter on.
pub fn source_of_body(body: &[u8]) -> Option<Source> {
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    Source::of_type(value.get("type")?.as_str()?)
}

fn parse(
    body: &[u8],
    came_from: Option<Source>,
    units: &KnownUnits,
    now: DateTime<Utc>,
) -> Result<ParsedEvent, Rejection> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge(body.len()));
    }
    let text = std::str::from_utf8(body)
        .map_err(|error| Rejection::Malformed(format!("the body is not UTF-8: {error}")))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|error| Rejection::Malformed(format!("the body is not JSON: {error}")))?;
    let Value::Object(envelope) = &value else {
        return Err(Rejection::Malformed("the body is not a JSON object".into()));
    };
    if contains_nul(&value) {
        // PostgreSQL's text and jsonb cannot hold U+0000; refuse it here, not in the database.
        return Err(Rejection::Malformed(
            "the body contains the character U+0000".into(),
        ));
    }

    let id = parse_id(envelope)?;
    let type_name = string_field(envelope, "type", "type")?;
    let (type_name, source) = crate::event::EVENT_TYPES
        .iter()
        .find(|(name, _)| *name == type_name)
        .copied()
        .ok_or_else(|| Rejection::UnknownType(excerpt(type_name)))?;
    if let Some(came_from) = came_from.filter(|came_from| *came_from != source) {
        return Err(Rejection::WrongSource {
            type_name,
            expected: source.as_str(),
            came_from: came_from.as_str(),
        });
    }
    let unit_code = string_field(envelope, "unit", "unit")?;
    let unit = units
        .get(unit_code)
        .ok_or_else(|| Rejection::UnknownUnit(excerpt(unit_code)))?
        .clone();
    let occurred_at = timestamp_field(envelope, "occurred_at", "occurred_at")?;
    if occurred_at.to_utc() > now + MAX_CLOCK_SKEW {
        return Err(Rejection::FutureTimestamp(occurred_at.to_rfc3339()));
    }
    let Some(Value::Object(data)) = envelope.get("data") else {
        return Err(invalid("data", "must be a JSON object"));
    };
    let kind = parse_kind(type_name, data)?;
    Ok(ParsedEvent {
        event: Event {
            id,
            unit,
            occurred_at,
            kind,
            provenance: crate::event::Provenance::Envelope,
        },
        body: text.to_owned(),
    })
}

fn parse_kind(type_name: &str, data: &Map<String, Value>) -> Result<EventKind, Rejection> {
    Ok(match type_name {
        "document.signed" => EventKind::DocumentSigned {
            document_id: id_field(data, "document_id", "data.document_id")?,
            digital: bool_field(data, "digital", "data.digital")?,
            number: optional_text(data, "number", "data.number", MAX_NUMBER_CHARS)?,
        },
        "petition.received" => EventKind::PetitionReceived {
            petition_id: id_field(data, "petition_id", "data.petition_id")?,
        },
        "petition.resolved" => EventKind::PetitionResolved {
            petition_id: id_field(data, "petition_id", "data.petition_id")?,
        },
        "procedure.received" => EventKind::ProcedureReceived {
            dossier_id: id_field(data, "dossier_id", "data.dossier_id")?,
            channel: Channel::parse(string_field(data, "channel", "data.channel")?).ok_or_else(
                || {
                    invalid(
                        "data.channel",
                        "must be \"online\", \"direct\" or \"postal\"",
                    )
                },
            )?,
            due_at: timestamp_field(data, "due_at", "data.due_at")?,
            digitized: bool_field(data, "digitized", "data.digitized")?,
            procedure_code: None,
        },
        "procedure.resolved" => EventKind::ProcedureResolved {
            dossier_id: id_field(data, "dossier_id", "data.dossier_id")?,
            without_result: false,
        },
        "article.published" => EventKind::ArticlePublished {
            article_id: id_field(data, "article_id", "data.article_id")?,
            title: optional_text(data, "title", "data.title", MAX_TITLE_CHARS)?,
        },
        other => return Err(Rejection::UnknownType(excerpt(other))),
    })
}

fn invalid(path: &'static str, problem: &'static str) -> Rejection {
    Rejection::InvalidField { path, problem }
}

fn parse_id(envelope: &Map<String, Value>) -> Result<Uuid, Rejection> {
    let text = string_field(envelope, "id", "id")?;
    // Only the canonical hyphenated form, as the JSON Schema's `format: uuid` demands.
    let canonical = text.len() == 36 && text.as_bytes()[8] == b'-';
    Uuid::try_parse(text)
        .ok()
        .filter(|_| canonical)
        .ok_or_else(|| {
            invalid(
                "id",
                "must be a UUID such as 0b8e6f7c-3d1a-4f5e-9c2b-7a6d5e4f3c2b",
            )
        })
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<&'a str, Rejection> {
    match object.get(key) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(invalid(path, "must be a string")),
        None => Err(invalid(path, "is missing")),
    }
}

fn id_field(
    object: &Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<String, Rejection> {
    let text = string_field(object, key, path)?;
    if text::control_in_line(text).is_some() {
        return Err(invalid(path, "must not contain control characters"));
    }
    match text.chars().count() {
        0 => Err(invalid(path, "must not be empty")),
        1..=MAX_ID_CHARS => Ok(text.to_owned()),
        _ => Err(invalid(path, "must have at most 128 characters")),
    }
}

fn bool_field(
    object: &Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<bool, Rejection> {
    match object.get(key) {
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(invalid(path, "must be true or false")),
        None => Err(invalid(path, "is missing")),
    }
}

fn optional_text(
    object: &Map<String, Value>,
    key: &str,
    path: &'static str,
    max_chars: usize,
) -> Result<Option<String>, Rejection> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text::control_in_line(text).is_some() => {
            Err(invalid(path, "must not contain control characters"))
        }
        Some(Value::String(text)) if text.chars().count() <= max_chars => Ok(Some(text.clone())),
        Some(Value::String(_)) => Err(invalid(path, "is too long")),
        Some(_) => Err(invalid(path, "must be a string or null")),
    }
}

fn timestamp_field(
    object: &Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<DateTime<FixedOffset>, Rejection> {
    let text = string_field(object, key, path)?;
    parse_timestamp(text).ok_or_else(|| Rejection::InvalidTimestamp {
        path,
        value: excerpt(text),
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: RFC 3339 with a mandatory offset and the
/// `T` separator, exactly the shape the JSON Schemas' pattern allows.
pub fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() >= 20
        && bytes.iter().enumerate().take(19).all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

/// The start of a value received, to quote in a rejection: its explanation travels in a
/// dead-letter header, which must stay far below the broker's frame size, and is printed on
/// terminals, so control characters are escaped.
fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 100;
    let head: String = text.chars().take(MAX_CHARS).collect();
    let cut = if head.len() < text.len() { "…" } else { "" };
    format!("{}{cut}", text::escape_controls(&head))
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.contains('\0') || contains_nul(item)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::UnitCode;
    use proptest::prelude::*;
    use serde_json::json;

    fn units() -> KnownUnits {
        KnownUnits::new([UnitCode::parse("tri-qua").unwrap()])
    }

    fn now() -> DateTime<Utc> {
        "2026-05-20T00:00:00Z".parse().unwrap()
    }

    fn received() -> Value {
        json!({
            "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "type": "procedure.received",
            "occurred_at": "2026-05-02T09:15:00+07:00",
            "unit": "tri-qua",
            "data": {"dossier_id": "H01.2026.000123", "channel": "online",
                     "due_at": "2026-05-09T17:00:00+07:00", "digitized": true}
        })
    }

    fn reason(body: &Value) -> String {
        let bytes = serde_json::to_vec(body).unwrap();
        parse_event(&bytes, &units(), now())
            .map(|_| String::new())
            .unwrap_or_else(|r| r.reason())
    }

    fn with(mut body: Value, pointer: &str, value: Option<Value>) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let object = body.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        match value {
            Some(value) => object.insert(key.to_owned(), value),
            None => object.remove(key),
        };
        body
    }

    #[test]
    fn a_valid_dossier_event_parses_into_its_fields() {
        let parsed =
            parse_event(&serde_json::to_vec(&received()).unwrap(), &units(), now()).unwrap();
        assert_eq!(parsed.event.unit().as_str(), "tri-qua");
        assert_eq!(
            parsed.event.occurred_at_utc().to_rfc3339(),
            "2026-05-02T02:15:00+00:00"
        );
        match parsed.event.kind() {
            EventKind::ProcedureReceived {
                dossier_id,
                channel,
                digitized,
                ..
            } => {
                assert_eq!(
                    (dossier_id.as_str(), *channel, *digitized),
                    ("H01.2026.000123", Channel::Online, true)
                );
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn each_fault_gets_its_reason_code() {
        let cases = [
            (
                with(received(), "/id", Some(json!("not-a-uuid"))),
                "invalid_field:id",
            ),
            (
                with(
                    received(),
                    "/id",
                    Some(json!("0f8fad5bd9cb469fa16570867728950e")),
                ),
                "invalid_field:id",
            ),
            (with(received(), "/type", None), "invalid_field:type"),
            (
                with(received(), "/type", Some(json!("document.deleted"))),
                "unknown_type",
            ),
            (
                with(received(), "/unit", Some(json!(7))),
                "invalid_field:unit",
            ),
            (
                with(received(), "/unit", Some(json!("hai-ba-trung"))),
                "unknown_unit",
            ),
            (
                with(received(), "/occurred_at", None),
                "invalid_field:occurred_at",
            ),
            (
                with(
                    received(),
                    "/occurred_at",
                    Some(json!("2026-05-01T10:00:00")),
                ),
                "invalid_timestamp",
            ),
            (
                with(
                    received(),
                    "/occurred_at",
                    Some(json!("2026-05-01 10:00:00Z")),
                ),
                "invalid_timestamp",
            ),
            (
                with(
                    received(),
                    "/occurred_at",
                    Some(json!("2026-05-21T00:00:01Z")),
                ),
                "future_timestamp",
            ),
            (
                with(received(), "/data", Some(json!([1]))),
                "invalid_field:data",
            ),
            (
                with(received(), "/data/dossier_id", Some(json!(""))),
                "invalid_field:data.dossier_id",
            ),
            (
                with(received(), "/data/channel", Some(json!("fax"))),
                "invalid_field:data.channel",
            ),
            (
                with(received(), "/data/due_at", None),
                "invalid_field:data.due_at",
            ),
            (
                with(received(), "/data/due_at", Some(json!("15/05/2026"))),
                "invalid_timestamp",
            ),
            (
                with(received(), "/data/digitized", Some(json!("true"))),
                "invalid_field:data.digitized",
            ),
            (
                with(received(), "/data/note", Some(json!("a\u{0}b"))),
                "malformed",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(reason(&body), expected, "for {body}");
        }
    }

    #[test]
    fn a_day_ahead_of_the_clock_is_accepted_and_a_second_more_is_not() {
        assert_eq!(
            reason(&with(
                received(),
                "/occurred_at",
                Some(json!("2026-05-21T00:00:00Z"))
            )),
            ""
        );
        assert_eq!(
            reason(&with(
                received(),
                "/occurred_at",
                Some(json!("2026-05-21T07:00:01+07:00"))
            )),
            "future_timestamp"
        );
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_malformed() {
        for body in [&b"\xff\xfe"[..], b"{\"id\": ", b"[1, 2]", b"\"text\"", b""] {
            let rejection = parse_event(body, &units(), now()).unwrap_err();
            assert_eq!(rejection.reason(), "malformed", "for {body:?}");
        }
    }

    #[test]
    fn rejections_quote_at_most_a_hundred_characters_of_what_was_received() {
        let long_unit = "x".repeat(200_000);
        let rejection = parse_event(
            &serde_json::to_vec(&with(received(), "/unit", Some(json!(long_unit)))).unwrap(),
            &units(),
            now(),
        )
        .unwrap_err();
        assert_eq!(rejection.reason(), "unknown_unit");
        assert!(rejection.to_string().chars().count() < 150, "{rejection}");
    }

    #[test]
    fn a_200_kilobyte_timestamp_is_quoted_in_a_hundred_characters() {
        let long = "2".repeat(200_000);
        let rejection = parse_event(
            &serde_json::to_vec(&with(received(), "/occurred_at", Some(json!(long)))).unwrap(),
            &units(),
            now(),
        )
        .unwrap_err();
        assert_eq!(rejection.reason(), "invalid_timestamp");
        assert!(
            rejection.to_string().len() < 300,
            "{}",
            rejection.to_string().len()
        );
    }

    #[test]
    fn control_characters_in_kept_strings_are_refused_and_never_quoted_raw() {
        let bell = with(received(), "/data/dossier_id", Some(json!("HS\u{7}1")));
        assert_eq!(reason(&bell), "invalid_field:data.dossier_id");
        let title = json!({
            "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "type": "article.published",
            "occurred_at": "2026-05-03T08:00:00Z", "unit": "tri-qua",
            "data": {"article_id": "a-1", "title": "Tin\u{1b}[2J"}
        });
        assert_eq!(reason(&title), "invalid_field:data.title");
        let escape = with(received(), "/unit", Some(json!("x\u{1b}[31m")));
        let rejection =
            parse_event(&serde_json::to_vec(&escape).unwrap(), &units(), now()).unwrap_err();
        assert!(!rejection.to_string().contains('\u{1b}'), "{rejection}");
    }

    #[test]
    fn a_type_on_the_other_systems_exchange_is_from_the_wrong_source() {
        let document = json!({
            "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "type": "document.signed",
            "occurred_at": "2026-05-03T08:00:00Z", "unit": "tri-qua",
            "data": {"document_id": "VB-1", "digital": true}
        });
        let bytes = serde_json::to_vec(&document).unwrap();
        let wrong = parse_event_from(Source::Portal, &bytes, &units(), now()).unwrap_err();
        assert_eq!(wrong.reason(), "wrong_source");
        assert!(parse_event_from(Source::Eoffice, &bytes, &units(), now()).is_ok());
        let dossier = serde_json::to_vec(&received()).unwrap();
        assert_eq!(
            parse_event_from(Source::Eoffice, &dossier, &units(), now())
                .unwrap_err()
                .reason(),
            "wrong_source"
        );
    }

    #[test]
    fn a_body_over_one_mebibyte_is_too_large() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            parse_event(&body, &units(), now()).unwrap_err().reason(),
            "too_large"
        );
    }

    /// The reason codes SPEC §3.4 documents (`invalid_field:` takes a path).
    fn documented(reason: &str) -> bool {
        [
            "too_large",
            "malformed",
            "unknown_type",
            "unknown_unit",
            "invalid_timestamp",
            "future_timestamp",
            "wrong_source",
        ]
        .contains(&reason)
            || reason.starts_with("invalid_field:")
    }

    /// A valid event with one part of it replaced by `value`.
    fn mutated(pointer: &str, value: Value) -> Vec<u8> {
        let mut body = received();
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = value;
        }
        serde_json::to_vec(&body).unwrap()
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,12}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any bytes at all give an event or a documented reason, never a panic, and a
        /// rejection's words stay short and free of control characters.
        #[test]
        fn any_bytes_give_an_event_or_a_documented_reason(
            body in prop::collection::vec(any::<u8>(), 0..4096),
            source in prop::option::of(prop::sample::select(Source::ALL.to_vec())),
        ) {
            let parsed = match source {
                Some(source) => parse_event_from(source, &body, &units(), now()),
                None => parse_event(&body, &units(), now()),
            };
            if let Err(rejection) = parsed {
                prop_assert!(documented(&rejection.reason()), "{}", rejection.reason());
                let words = rejection.to_string();
                prop_assert!(words.len() <= 1024, "{} bytes", words.len());
                prop_assert!(crate::text::control_in_line(&words).is_none(), "{words:?}");
            }
        }

        /// A valid event with any part replaced by any JSON value likewise.
        #[test]
        fn any_value_anywhere_gives_an_event_or_a_documented_reason(
            pointer in prop::sample::select(vec![
                "/id", "/type", "/unit", "/occurred_at", "/data", "/data/dossier_id",
                "/data/channel", "/data/due_at", "/data/digitized",
            ]),
            value in any_json(),
        ) {
            if let Err(rejection) = parse_event(&mutated(pointer, value), &units(), now()) {
                prop_assert!(documented(&rejection.reason()), "{}", rejection.reason());
                prop_assert!(rejection.to_string().len() <= 1024);
            }
        }
    }

    #[test]
    fn unknown_fields_and_null_optional_fields_are_accepted() {
        let body = json!({
            "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "type": "article.published",
            "occurred_at": "2026-05-03T08:00:00Z", "unit": "tri-qua", "source": "cms",
            "data": {"article_id": "a-1", "title": null, "category": "tin-tuc"}
        });
        assert_eq!(reason(&body), "");
    }
}
