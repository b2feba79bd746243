//! Narrative paragraphs (SPEC §6.1): the fields a report's text has that no system reports, a
//! unit's configured paragraphs for them, and the rules their text keeps wherever it is written
//! (`baocao.toml`, `report narrative set`, the API): each paragraph printable and of a bounded
//! length, each field and each period's narrative bounded in total (so that appends cannot grow
//! it without end), and no `#` heading or `@` directive where the report would not read it as
//! text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// How the built-in body templates print a field's paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Each paragraph a paragraph of its own, as written.
    Paragraphs,
    /// Each paragraph a bullet ("- …").
    Bullets,
}

/// Each field with its name in `baocao.toml`, the API and the templates, and its layout, in the
/// order the report uses them: the one list of narrative fields.
const NARRATIVE_FIELDS: [(NarrativeField, &str, Layout); 9] = [
    (
        NarrativeField::LegalBasis,
        "legal_basis",
        Layout::Paragraphs,
    ),
    (NarrativeField::Propaganda, "propaganda", Layout::Paragraphs),
    (
        NarrativeField::InternalItBefore,
        "internal_it_before",
        Layout::Bullets,
    ),
    (
        NarrativeField::InternalItAfter,
        "internal_it_after",
        Layout::Bullets,
    ),
    (
        NarrativeField::CitizenServicesAfter,
        "citizen_services_after",
        Layout::Bullets,
    ),
    (NarrativeField::Strengths, "strengths", Layout::Bullets),
    (
        NarrativeField::LimitationsIntro,
        "limitations_intro",
        Layout::Paragraphs,
    ),
    (NarrativeField::Limitations, "limitations", Layout::Bullets),
    (NarrativeField::Proposals, "proposals", Layout::Paragraphs),
];

impl NarrativeField {
    /// Every field, in the report's order.
    pub fn all() -> impl Iterator<Item = Self> {
        NARRATIVE_FIELDS.iter().map(|(field, _, _)| *field)
    }

    /// The field's name, e.g. `limitations`.
    pub fn name(self) -> &'static str {
        NARRATIVE_FIELDS
            .iter()
            .find(|(field, _, _)| *field == self)
            .map_or("", |(_, name, _)| name)
    }

    /// How the built-in templates print the field's paragraphs.
    pub fn layout(self) -> Layout {
        NARRATIVE_FIELDS
            .iter()
            .find(|(field, _, _)| *field == self)
            .map_or(Layout::Paragraphs, |(_, _, layout)| *layout)
    }

    /// The field called `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        NARRATIVE_FIELDS
            .iter()
            .find(|(_, known, _)| *known == name)
            .map(|(field, _, _)| *field)
            .ok_or_else(|| {
                let names: Vec<&str> = NARRATIVE_FIELDS.iter().map(|(_, n, _)| *n).collect();
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
            .enum_values(Some(NARRATIVE_FIELDS.iter().map(|(_, name, _)| *name)))
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
/// The most characters one narrative field may have in all, its paragraphs together (about ten
/// printed pages; a ward's whole monthly report is two to four).
pub const MAX_FIELD_CHARS: usize = 20_000;
/// The most characters a period's whole narrative may have in all, every field together.
pub const MAX_NARRATIVE_CHARS: usize = 50_000;

/// Whether a report is a unit's (a ward's) or a summary's (several units rolled up): what a
/// narrative's directives may mean depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// A `[[unit]]`.
    Unit,
    /// A `[[summary]]`.
    Summary,
}

impl IssuerKind {
    fn name(self) -> &'static str {
        match self {
            IssuerKind::Unit => "a unit's",
            IssuerKind::Summary => "a summary's",
        }
    }
}

/// The directives of a report's body: a paragraph written as `@` and one of these names, alone,
/// places what the name says. `members` is a summary's table of its members.
pub const DIRECTIVES: [&str; 1] = ["members"];

/// The name of the directive `paragraph` is written as (`@members` → `members`): `@` followed by
/// lower-case ASCII letters and `_`, nothing else. What the body reads as a directive.
pub fn directive(paragraph: &str) -> Option<&str> {
    paragraph
        .strip_prefix('@')
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// Whether a `kind`'s report draws directive `name`: a summary draws its members' table; a
/// unit's report has no table to draw.
pub fn draws(kind: IssuerKind, name: &str) -> bool {
    kind == IssuerKind::Summary && DIRECTIVES.contains(&name)
}

/// The directives a narrative paragraph of `field` may be, in a `kind`'s report: those the report
/// draws, in a field printed as paragraphs of their own (in a bulleted field, `@members` would be
/// a bullet's text). So a summary's `legal_basis`, `propaganda`, `limitations_intro` and
/// `proposals` may place its members' table (again); nothing else takes a directive.
pub fn directives_in(kind: IssuerKind, field: NarrativeField) -> Vec<&'static str> {
    match field.layout() {
        Layout::Paragraphs => DIRECTIVES
            .into_iter()
            .filter(|name| draws(kind, name))
            .collect(),
        Layout::Bullets => Vec::new(),
    }
}

/// Checks each paragraph of narrative field `field` of a `kind`'s report: at most
/// [`MAX_PARAGRAPH_CHARS`] characters, none starting with `#` (which marks a heading in the
/// report's body) or with `@` (which marks a directive) unless it is a directive that field
/// takes ([`directives_in`]), and no control characters (which XML, and so the DOCX, cannot
/// hold, and which could change a terminal). Refused, never silently removed: the officer sees
/// what to correct. How many paragraphs and characters the field has in all is
/// [`check_field_size`]'s.
pub fn check_paragraphs(
    paragraphs: &[String],
    field: NarrativeField,
    kind: IssuerKind,
) -> Result<(), String> {
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
        check_directive(paragraph, number, field, kind)?;
    }
    Ok(())
}

/// A paragraph starting with `@` is a directive `field` takes, or refused.
fn check_directive(
    paragraph: &str,
    number: usize,
    field: NarrativeField,
    kind: IssuerKind,
) -> Result<(), String> {
    if !paragraph.starts_with('@') {
        return Ok(());
    }
    let taken = directives_in(kind, field);
    if directive(paragraph).is_some_and(|name| taken.contains(&name)) {
        return Ok(());
    }
    let what = match taken.as_slice() {
        [] => "takes none".to_owned(),
        names => format!(
            "takes only {}, alone in a paragraph",
            names
                .iter()
                .map(|name| format!("@{name}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(format!(
        "paragraph {number} cannot start with '@', which marks a directive: {field} of {} report {what}",
        kind.name()
    ))
}

/// Checks the size of narrative field `field` as a whole: at most [`MAX_PARAGRAPHS`] paragraphs
/// and [`MAX_FIELD_CHARS`] characters, so that adding to it (`--append`) cannot grow it without
/// bound.
pub fn check_field_size(field: NarrativeField, paragraphs: &[String]) -> Result<(), String> {
    if paragraphs.len() > MAX_PARAGRAPHS {
        return Err(format!(
            "{field} comes to {} paragraphs, more than a field may have ({MAX_PARAGRAPHS})",
            paragraphs.len()
        ));
    }
    let chars = char_count(paragraphs);
    if chars > MAX_FIELD_CHARS {
        return Err(format!(
            "{field} comes to {chars} characters, more than a field may have ({MAX_FIELD_CHARS})"
        ));
    }
    Ok(())
}

/// Checks the size of a whole narrative: each field's ([`check_field_size`]), and at most
/// [`MAX_NARRATIVE_CHARS`] characters in all.
pub fn check_narrative_size(narrative: &Narrative) -> Result<(), String> {
    let mut total = 0;
    for (field, paragraphs) in narrative.fields() {
        check_field_size(field, paragraphs)?;
        total += char_count(paragraphs);
    }
    if total > MAX_NARRATIVE_CHARS {
        return Err(format!(
            "the narrative comes to {total} characters in all, more than a report's may have \
             ({MAX_NARRATIVE_CHARS})"
        ));
    }
    Ok(())
}

fn char_count(paragraphs: &[String]) -> usize {
    paragraphs.iter().map(|p| p.chars().count()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPOSALS: NarrativeField = NarrativeField::Proposals;

    fn unit_check(paragraphs: &[String]) -> Result<(), String> {
        check_paragraphs(paragraphs, PROPOSALS, IssuerKind::Unit)
    }

    #[test]
    fn paragraphs_with_control_characters_or_over_their_bounds_are_refused() {
        let ok = vec!["Đoạn văn bình thường.".to_owned()];
        assert!(unit_check(&ok).is_ok());
        let bell = vec!["một".to_owned(), "hai\u{7}".to_owned()];
        let error = unit_check(&bell).unwrap_err();
        assert!(
            error.contains("paragraph 2") && error.contains("U+0007"),
            "{error}"
        );
        let escape = vec!["\u{1b}[2J".to_owned()];
        assert!(unit_check(&escape).unwrap_err().contains("U+001B"));
        let long = vec!["ấ".repeat(5_001)];
        assert!(unit_check(&long).unwrap_err().contains("5001 characters"));
        let many = vec!["x".to_owned(); 51];
        assert!(check_field_size(PROPOSALS, &many).is_err());
        let heading = vec!["# I. KẾT QUẢ".to_owned()];
        assert!(unit_check(&heading).unwrap_err().contains("heading"));
    }

    #[test]
    fn a_field_and_a_narrative_are_bounded_in_total() {
        let paragraph = "ấ".repeat(MAX_PARAGRAPH_CHARS);
        let full = vec![paragraph.clone(); MAX_FIELD_CHARS / MAX_PARAGRAPH_CHARS];
        assert!(check_field_size(PROPOSALS, &full).is_ok());
        let mut over = full.clone();
        over.push("x".to_owned());
        let error = check_field_size(PROPOSALS, &over).unwrap_err();
        assert_eq!(
            error,
            "proposals comes to 20001 characters, more than a field may have (20000)"
        );
        let mut narrative = Narrative::default();
        for field in NarrativeField::all().take(2) {
            narrative.set(field, full.clone());
        }
        assert!(check_narrative_size(&narrative).is_ok());
        for field in NarrativeField::all().take(3) {
            narrative.set(field, full.clone());
        }
        let error = check_narrative_size(&narrative).unwrap_err();
        assert!(
            error.contains("60000 characters") && error.contains("(50000)"),
            "{error}"
        );
    }

    #[test]
    fn a_directive_is_taken_only_where_the_report_draws_it() {
        let members = vec!["@members".to_owned()];
        // A summary's paragraph fields place its table; nothing else takes a directive.
        for field in NarrativeField::all() {
            let in_summary = check_paragraphs(&members, field, IssuerKind::Summary);
            assert_eq!(
                in_summary.is_ok(),
                field.layout() == Layout::Paragraphs,
                "{field}: {in_summary:?}"
            );
            let error = check_paragraphs(&members, field, IssuerKind::Unit).unwrap_err();
            assert!(
                error.contains("cannot start with '@'") && error.contains("takes none"),
                "{error}"
            );
        }
        // Anything else starting with '@' is refused everywhere, with what the field takes.
        for text in ["@nothing", "@members của phường", "@Members", "@"] {
            let paragraphs = vec![text.to_owned()];
            let error = check_paragraphs(&paragraphs, PROPOSALS, IssuerKind::Summary).unwrap_err();
            assert!(error.contains("takes only @members"), "{text}: {error}");
        }
        // '@' within a paragraph is text.
        assert!(unit_check(&["Liên hệ: vanthu@example.gov.vn".to_owned()]).is_ok());
        assert_eq!(directive("@members"), Some("members"));
        assert_eq!(directive("@members và"), None);
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
