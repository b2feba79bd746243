//! What a unit's report says about the unit itself: its names, numbering, signer, narrative
//! paragraphs (the `narrative` submodule: fields, bounds, directives) and "Nơi nhận" list. Read
//! from `baocao.toml` (`[[unit]]`), used by rendering and by the email outbox.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;
use crate::unit::UnitCode;

mod narrative;

pub use narrative::{
    DIRECTIVES, IssuerKind, Layout, MAX_FIELD_CHARS, MAX_NARRATIVE_CHARS, MAX_PARAGRAPH_CHARS,
    MAX_PARAGRAPHS, Narrative, NarrativeField, check_field_size, check_narrative_size,
    check_paragraphs, directive, directives_in, draws, split_paragraphs,
};

/// One reporting unit (a ward).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitProfile {
    /// The code events carry in `unit`, e.g. `tri-qua`.
    pub code: UnitCode,
    /// The issuing body, one line each, printed top left in capitals.
    pub issuing_body: Vec<String>,
    /// How the unit names itself in running text and subjects, e.g. "UBND phường Trí Quả".
    pub short_name: String,
    /// The place name written before the date.
    pub place: String,
    /// What the unit is, as running text names it: "phường" (the default), "xã" or "đặc khu"
    /// ("UBND phường ban hành …", "trên địa bàn phường").
    #[serde(default = "ward")]
    pub kind: String,
    /// How reports are numbered.
    pub numbering: Numbering,
    /// Who signs.
    pub signer: Signer,
    /// Narrative paragraphs (optional for a summary, whose report is then its figures and
    /// table).
    #[serde(default)]
    pub narrative: Narrative,
    /// The "Nơi nhận" list.
    pub recipients: Vec<Recipient>,
    /// Who the report's email comes from, "Name <address>", e.g. the ward's clerical office.
    pub mail_from: String,
    /// This unit's own sending day and time, over the deployment's `[schedule]`.
    #[serde(default)]
    pub schedule: Schedule,
    /// The unit's digital signature (`[unit.signature]`): its issued reports' PDFs are signed.
    #[serde(default)]
    pub signature: Option<SignatureConfig>,
    /// For a summary (`[[summary]]`) only: the units it rolls up, in the order its table lists
    /// them; every unit when left out. A `[[unit]]` has none.
    #[serde(default)]
    pub members: Option<Vec<UnitCode>>,
    /// The unit's agency code (mã định danh điện tử, QĐ 20/2020/QĐ-TTg), e.g. `000.00.12.H55`:
    /// how the upstream systems' own formats name it (`madonvi`, `OrganId`). Without it, only
    /// baocao's own envelope reaches the unit.
    #[serde(default)]
    pub agency_code: Option<String>,
}

/// Where a unit's signing key is (SPEC §13).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConfig {
    /// The PKCS#12 file with the private key and the certificate chain, relative to the
    /// configuration file.
    pub certificate: std::path::PathBuf,
    /// The environment variable that holds the file's password (never the password itself).
    pub password_env: String,
    /// An RFC 3161 time-stamp authority: signatures are then time-stamped (PAdES B-T).
    /// `https://…`, its certificate checked against the webpki (Mozilla) roots and
    /// `timestamp_roots`; or `http://…` on this machine (loopback), or anywhere with
    /// `timestamp_allow_http`.
    #[serde(default)]
    pub timestamp_url: Option<String>,
    /// A PEM file of CA certificates that the authority's TLS certificate may also chain to (a
    /// national or private CA that is not among the webpki roots), relative to the
    /// configuration file. Only with an `https://` `timestamp_url`.
    #[serde(default)]
    pub timestamp_roots: Option<std::path::PathBuf>,
    /// Allows an `http://` `timestamp_url` beyond this machine. The token is signed, but over
    /// plain HTTP nothing says the authority answered: whoever is on the path can answer with
    /// a token of their own, which validators will not trust. Off by default.
    #[serde(default)]
    pub timestamp_allow_http: bool,
}

fn ward() -> String {
    "phường".to_owned()
}

/// How reports are numbered: "Số: 103/BC-UBND".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numbering {
    /// `sequence` or `blank`.
    pub mode: NumberingMode,
    /// The first number of each year's sequence (at least 1).
    #[serde(default = "one")]
    pub start: NonZeroU32,
    /// Years whose sequence starts elsewhere, e.g. the year baocao was taken into use, when
    /// the office had already numbered reports by hand.
    #[serde(default)]
    pub first: Vec<FirstNumber>,
    /// The symbol after the number, e.g. `BC-UBND`.
    pub symbol: String,
}

/// Where one year's sequence starts.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstNumber {
    /// The calendar year of the report's date.
    pub year: i32,
    /// The first number baocao assigns in that year.
    pub number: NonZeroU32,
}

impl Numbering {
    /// The first number of `year`'s sequence.
    pub fn first_number(&self, year: i32) -> u32 {
        self.first
            .iter()
            .find(|first| first.year == year)
            .map_or(self.start, |first| first.number)
            .get()
    }
}

fn one() -> NonZeroU32 {
    NonZeroU32::MIN
}

/// Whether numbers are assigned or left for the clerk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberingMode {
    /// From a per-unit, per-year sequence.
    Sequence,
    /// Left blank: "Số:      /BC-UBND".
    Blank,
}

/// The signer block.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    /// e.g. "KT. CHỦ TỊCH".
    pub authority: String,
    /// e.g. "PHÓ CHỦ TỊCH".
    pub title: String,
    /// The signer's full name.
    pub name: String,
}

/// One line of "Nơi nhận" and where its email goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// The line as printed, e.g. "Sở Khoa học và Công nghệ (b/c)".
    pub label: String,
    /// Email addresses; none for a line that is only printed (e.g. "Lưu: VT").
    #[serde(default)]
    pub addresses: Vec<EmailAddress>,
}

/// An email address, checked for the obvious shape `local@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct EmailAddress(pub String);

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let valid = text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !text.chars().any(char::is_whitespace)
        });
        if valid {
            Ok(Self(text))
        } else {
            Err(format!("'{text}' is not an email address"))
        }
    }
}

impl UnitProfile {
    /// The first piece of text in the profile (of a `kind`) that a report cannot print, as the
    /// dotted name of its field and what is wrong: a control character, a narrative paragraph
    /// it cannot take, or a narrative over its bounds.
    pub fn check_text(&self, kind: IssuerKind) -> Result<(), (String, String)> {
        let control = |field: &str, text: &str| match crate::text::control_in_line(text) {
            Some(c) => Err((
                field.to_owned(),
                format!(
                    "contains the control character {}",
                    crate::text::describe(c)
                ),
            )),
            None => Ok(()),
        };
        for line in &self.issuing_body {
            control("issuing_body", line)?;
        }
        control("short_name", &self.short_name)?;
        control("place", &self.place)?;
        control("kind", &self.kind)?;
        control("mail_from", &self.mail_from)?;
        control("numbering.symbol", &self.numbering.symbol)?;
        control("signer.authority", &self.signer.authority)?;
        control("signer.title", &self.signer.title)?;
        control("signer.name", &self.signer.name)?;
        for recipient in &self.recipients {
            control("recipients.label", &recipient.label)?;
        }
        self.check_narrative(kind)
    }

    fn check_narrative(&self, kind: IssuerKind) -> Result<(), (String, String)> {
        for (field, paragraphs) in self.narrative.fields() {
            let located = |problem| (format!("narrative.{field}"), problem);
            check_paragraphs(paragraphs, field, kind).map_err(located)?;
            check_field_size(field, paragraphs).map_err(located)?;
        }
        check_narrative_size(&self.narrative).map_err(|problem| ("narrative".to_owned(), problem))
    }
}
