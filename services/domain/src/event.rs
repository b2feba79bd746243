//! The events that the e-office system and the public-service portal publish (SPEC §3.3), as
//! parsed types. An [`Event`] is only ever built by [`crate::parse::parse_event`] or, from the
//! upstream systems' own formats (SPEC §3.5), by [`crate::dvcqg`], so everything downstream can
//! trust its fields.

use chrono::{DateTime, FixedOffset, Utc};
use uuid::Uuid;

use crate::unit::UnitCode;

/// One event, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub(crate) id: Uuid,
    pub(crate) unit: UnitCode,
    pub(crate) occurred_at: DateTime<FixedOffset>,
    pub(crate) kind: EventKind,
    pub(crate) provenance: Provenance,
}

/// Where an event comes from, which decides what a second event under its id means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// baocao's own envelope (SPEC §3.2): an id is one event, and another body under a known
    /// id is a conflict.
    Envelope,
    /// A record of an upstream system's own format (SPEC §3.5), which re-sends the whole
    /// record on every change under the same derived id: a later one is an update, merged so
    /// that the result does not depend on the order records arrive in.
    Record,
}

impl Event {
    /// The event's unique id; an id seen before is a duplicate.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The unit (ward) the event belongs to.
    pub fn unit(&self) -> &UnitCode {
        &self.unit
    }

    /// When it happened, with the offset it was written with.
    pub fn occurred_at(&self) -> DateTime<FixedOffset> {
        self.occurred_at
    }

    /// When it happened, in UTC.
    pub fn occurred_at_utc(&self) -> DateTime<Utc> {
        self.occurred_at.to_utc()
    }

    /// What happened.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// Where it comes from.
    pub fn provenance(&self) -> Provenance {
        self.provenance
    }
}

/// What an event says happened, with the fields of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A document was signed and issued (e-office).
    DocumentSigned {
        /// The e-office system's id of the document.
        document_id: String,
        /// Whether it was signed with a digital signature (ký số).
        digital: bool,
        /// Its number and symbol (số ký hiệu), e.g. "103/BC-UBND".
        number: Option<String>,
    },
    /// A citizen's petition (phản ánh kiến nghị) was received.
    PetitionReceived {
        /// The portal's id of the petition.
        petition_id: String,
    },
    /// A petition was resolved.
    PetitionResolved {
        /// The portal's id of the petition.
        petition_id: String,
    },
    /// An administrative-procedure dossier (hồ sơ TTHC) was received.
    ProcedureReceived {
        /// The portal's id of the dossier.
        dossier_id: String,
        /// How it was submitted.
        channel: Channel,
        /// The legal deadline (ngày hẹn trả).
        due_at: DateTime<FixedOffset>,
        /// Whether the dossier was digitized (số hóa).
        digitized: bool,
        /// The administrative procedure's code (mã TTHC, e.g. "1.001612"), where known.
        procedure_code: Option<String>,
    },
    /// A dossier was resolved.
    ProcedureResolved {
        /// The portal's id of the dossier.
        dossier_id: String,
        /// Ended without a result: withdrawn by the citizen or processing stopped (DVCQG
        /// statuses 7 and 8). Counted as resolved on time, and apart.
        without_result: bool,
    },
    /// An article was published on the ward's web portal.
    ArticlePublished {
        /// The portal's id of the article.
        article_id: String,
        /// Its title, if given.
        title: Option<String>,
    },
}

impl EventKind {
    /// The event's `type` as written on the wire and used as the routing key.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::DocumentSigned { .. } => "document.signed",
            Self::PetitionReceived { .. } => "petition.received",
            Self::PetitionResolved { .. } => "petition.resolved",
            Self::ProcedureReceived { .. } => "procedure.received",
            Self::ProcedureResolved { .. } => "procedure.resolved",
            Self::ArticlePublished { .. } => "article.published",
        }
    }

    /// The system that publishes events of this kind.
    pub fn source(&self) -> Source {
        match self {
            Self::DocumentSigned { .. } => Source::Eoffice,
            _ => Source::Portal,
        }
    }
}

/// The six event types, in the order of SPEC §3.3, each with the system that publishes it.
pub const EVENT_TYPES: [(&str, Source); 6] = [
    ("document.signed", Source::Eoffice),
    ("petition.received", Source::Portal),
    ("petition.resolved", Source::Portal),
    ("procedure.received", Source::Portal),
    ("procedure.resolved", Source::Portal),
    ("article.published", Source::Portal),
];

/// The upstream system an event comes from, which decides the exchange it is published to
/// (SPEC §3.3): the e-office system, or the public-service portal with its petitions module and
/// the ward's web portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The e-office system (Hệ thống quản lý văn bản điều hành): `eoffice.events`.
    Eoffice,
    /// The public-service portal: `portal.events`.
    Portal,
}

impl Source {
    /// Both sources.
    pub const ALL: [Source; 2] = [Source::Eoffice, Source::Portal];

    /// The source of events of type `type_name`, if it is one of the six.
    pub fn of_type(type_name: &str) -> Option<Self> {
        EVENT_TYPES
            .iter()
            .find(|(name, _)| *name == type_name)
            .map(|(_, source)| *source)
    }

    /// "eoffice" or "portal", as the dashboard names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eoffice => "eoffice",
            Self::Portal => "portal",
        }
    }
}

/// How a dossier was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Online, through the public-service portal (trực tuyến).
    Online,
    /// In person at the one-stop desk (trực tiếp).
    Direct,
    /// By post (bưu chính).
    Postal,
}

impl Channel {
    /// The channel as written on the wire and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Direct => "direct",
            Self::Postal => "postal",
        }
    }

    /// The channel written as `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "online" => Some(Self::Online),
            "direct" => Some(Self::Direct),
            "postal" => Some(Self::Postal),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_come_from_the_eoffice_system_and_the_rest_from_the_portal() {
        assert_eq!(Source::of_type("document.signed"), Some(Source::Eoffice));
        for (name, source) in EVENT_TYPES.iter().skip(1) {
            assert_eq!(
                (Source::of_type(name), *source),
                (Some(Source::Portal), Source::Portal)
            );
        }
        assert_eq!(Source::of_type("document.deleted"), None);
        let kind = EventKind::ArticlePublished {
            article_id: "a".into(),
            title: None,
        };
        assert_eq!(Source::of_type(kind.type_name()), Some(kind.source()));
    }
}
