//! What a unit's report says about the unit itself: its names, numbering, signer, narrative
//! paragraphs and "Nơi nhận" list. Read from `baocao.toml` (`[[unit]]`), used by rendering and
//! by the email outbox.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;
use crate::unit::UnitCode;

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
    /// An RFC 3161 time-stamp authority (`http://…`): signatures are then time-stamped
    /// (PAdES B-T).
    #[serde(default)]
    pub timestamp_url: Option<String>,
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

/// One of the narrative paragraphs' fields, which no system reports and an officer can edit per
/// period before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum NarrativeField {
    /// "Căn cứ …": the legal basis.
    LegalBasis,
    /// "1. Về công tác tuyên truyền".
    Propaganda,
    /// Bullets of "2. Về Ứng dụng CNTT trong nội bộ" before the computed figures …
    InternalItBefore,
    /// … and after them.
    InternalItAfter,
    /// After the public-services figures.
    CitizenServicesAfter,
    /// "Ưu điểm".
    Strengths,
    /// The sentence that introduces the limitations.
    LimitationsIntro,
    /// "Hạn chế".
    Limitations,
    /// "Đề xuất, kiến nghị".
    Proposals,
}

/// Each field with its name in `baocao.toml`, the API and the templates, in the order the
/// report uses them: the one list of narrative fields.
const NARRATIVE_FIELDS: [(NarrativeField, &str); 9] = [
    (NarrativeField::LegalBasis, "legal_basis"),
    (NarrativeField::Propaganda, "propaganda"),
    (NarrativeField::InternalItBefore, "internal_it_before"),
    (NarrativeField::InternalItAfter, "internal_it_after"),
    (
        NarrativeField::CitizenServicesAfter,
        "citizen_services_after",
    ),
    (NarrativeField::Strengths, "strengths"),
    (NarrativeField::LimitationsIntro, "limitations_intro"),
    (NarrativeField::Limitations, "limitations"),
    (NarrativeField::Proposals, "proposals"),
];

impl NarrativeField {
    /// Every field, in the report's order.
    pub fn all() -> impl Iterator<Item = Self> {
        NARRATIVE_FIELDS.iter().map(|(field, _)| *field)
    }

    /// The field's name, e.g. `limitations`.
    pub fn name(self) -> &'static str {
        NARRATIVE_FIELDS
            .iter()
            .find(|(field, _)| *field == self)
            .map_or("", |(_, name)| name)
    }

    /// The field called `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        NARRATIVE_FIELDS
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(field, _)| *field)
            .ok_or_else(|| {
                let names: Vec<&str> = NARRATIVE_FIELDS.iter().map(|(_, n)| *n).collect();
                format!(
                    "unknown narrative field '{name}'; the fields are {}",
                    names.join(", ")
                )
            })
    }
}

/// In the OpenAPI document: a string, one of the names.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for NarrativeField {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(NARRATIVE_FIELDS.iter().map(|(_, name)| *name)))
            .description(Some(
                "A narrative field, by its name in `baocao.toml` and the templates",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for NarrativeField {}

impl TryFrom<String> for NarrativeField {
    type Error = String;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name)
    }
}

impl From<NarrativeField> for &'static str {
    fn from(field: NarrativeField) -> Self {
        field.name()
    }
}

impl std::fmt::Display for NarrativeField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A unit's narrative paragraphs by field (`[unit.narrative]`); a field left out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Narrative(BTreeMap<NarrativeField, Vec<String>>);

impl Narrative {
    /// The paragraphs of `field`.
    pub fn get(&self, field: NarrativeField) -> &[String] {
        self.0.get(&field).map_or(&[], Vec::as_slice)
    }

    /// Replaces the paragraphs of `field`.
    pub fn set(&mut self, field: NarrativeField, paragraphs: Vec<String>) {
        self.0.insert(field, paragraphs);
    }

    /// Every field with its paragraphs, in the report's order (empty fields included).
    pub fn fields(&self) -> impl Iterator<Item = (NarrativeField, &[String])> {
        NarrativeField::all().map(|field| (field, self.get(field)))
    }
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

/// Paragraphs separated by blank lines (lines of nothing but spaces count as blank); the lines
/// of one paragraph are joined with spaces, and a leading bullet mark ("-", "•", "+") is
/// dropped.
pub fn split_paragraphs(text: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !words.is_empty() {
                paragraphs.push(unbulleted(&words.join(" ")).to_owned());
                words.clear();
            }
        } else {
            words.extend(line.split_whitespace());
        }
    }
    paragraphs
}

fn unbulleted(paragraph: &str) -> &str {
    match paragraph.split_once(' ') {
        Some(("-" | "•" | "+" | "–", rest)) => rest,
        _ => paragraph,
    }
}

/// The most paragraphs one narrative field may have.
pub const MAX_PARAGRAPHS: usize = 50;
/// The longest paragraph, in characters (a long paragraph of an official report is about
/// 1,000).
pub const MAX_PARAGRAPH_CHARS: usize = 5_000;

/// Checks the paragraphs of one narrative field: at most [`MAX_PARAGRAPHS`] of at most
/// [`MAX_PARAGRAPH_CHARS`] characters each, none starting with `#` (which marks a heading in
/// the report's body), and no control characters (which XML, and so the DOCX, cannot hold,
/// and which could change a terminal). Refused, never silently removed: the officer sees what
/// to correct.
pub fn check_paragraphs(paragraphs: &[String]) -> Result<(), String> {
    if paragraphs.len() > MAX_PARAGRAPHS {
        return Err(format!(
            "{} paragraphs is more than a field may have ({MAX_PARAGRAPHS})",
            paragraphs.len()
        ));
    }
    for (at, paragraph) in paragraphs.iter().enumerate() {
        let number = at + 1;
        if let Some(c) = crate::text::control_in_line(paragraph) {
            return Err(format!(
                "paragraph {number} contains the control character {}, which a report cannot hold",
                crate::text::describe(c)
            ));
        }
        let chars = paragraph.chars().count();
        if chars > MAX_PARAGRAPH_CHARS {
            return Err(format!(
                "paragraph {number} has {chars} characters, more than {MAX_PARAGRAPH_CHARS}"
            ));
        }
        if paragraph.starts_with('#') {
            return Err(format!(
                "paragraph {number} cannot start with '#', which marks a heading"
            ));
        }
    }
    Ok(())
}

impl UnitProfile {
    /// The first piece of text in the profile that a report cannot print, as the dotted name of
    /// its field and what is wrong: a control character, or a narrative field over its bounds.
    pub fn check_text(&self) -> Result<(), (String, String)> {
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
        for (field, paragraphs) in self.narrative.fields() {
            check_paragraphs(paragraphs)
                .map_err(|problem| (format!("narrative.{field}"), problem))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{check_paragraphs, split_paragraphs};

    #[test]
    fn paragraphs_with_control_characters_or_over_their_bounds_are_refused() {
        let ok = vec!["Đoạn văn bình thường.".to_owned()];
        assert!(check_paragraphs(&ok).is_ok());
        let bell = vec!["một".to_owned(), "hai\u{7}".to_owned()];
        let error = check_paragraphs(&bell).unwrap_err();
        assert!(
            error.contains("paragraph 2") && error.contains("U+0007"),
            "{error}"
        );
        let escape = vec!["\u{1b}[2J".to_owned()];
        assert!(check_paragraphs(&escape).unwrap_err().contains("U+001B"));
        let long = vec!["ấ".repeat(5_001)];
        assert!(
            check_paragraphs(&long)
                .unwrap_err()
                .contains("5001 characters")
        );
        let many = vec!["x".to_owned(); 51];
        assert!(check_paragraphs(&many).is_err());
        let heading = vec!["# I. KẾT QUẢ".to_owned()];
        assert!(check_paragraphs(&heading).unwrap_err().contains("heading"));
    }

    #[test]
    fn a_file_is_split_into_paragraphs_at_blank_lines() {
        let text = "Đoạn một\nviết hai dòng.\n \t\nĐoạn hai.\r\n\r\n- Đoạn ba.\n\n• Đoạn bốn.\n";
        assert_eq!(
            split_paragraphs(text),
            [
                "Đoạn một viết hai dòng.",
                "Đoạn hai.",
                "Đoạn ba.",
                "Đoạn bốn."
            ]
        );
    }
}
