//! What a unit's report says about the unit itself: its names, numbering, signer, narrative
//! paragraphs and "Nơi nhận" list. Read from `baocao.toml` (`[[unit]]`), used by rendering and
//! by the email outbox.

use std::num::NonZeroU32;

use chrono::NaiveTime;

use serde::{Deserialize, Serialize};

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
    /// Narrative paragraphs.
    pub narrative: Narrative,
    /// The "Nơi nhận" list.
    pub recipients: Vec<Recipient>,
    /// Who the report's email comes from, "Name <address>", e.g. the ward's clerical office.
    pub mail_from: String,
    /// This unit's own sending day and time, over the deployment's `[schedule]`.
    #[serde(default)]
    pub schedule: UnitSchedule,
}

/// A unit's own schedule; what it leaves out comes from `[schedule]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSchedule {
    /// The day of month M on which the report for M is sent (15–28).
    pub send_day: Option<SendDay>,
    /// The local time at which it is sent, `HH:MM`.
    pub send_time: Option<SendTime>,
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

/// Narrative paragraphs no system reports, editable per period before sending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Narrative {
    pub legal_basis: Vec<String>,
    pub propaganda: Vec<String>,
    pub internal_it_before: Vec<String>,
    pub internal_it_after: Vec<String>,
    #[serde(default)]
    pub citizen_services_after: Vec<String>,
    pub strengths: Vec<String>,
    pub limitations_intro: Vec<String>,
    pub limitations: Vec<String>,
    pub proposals: Vec<String>,
}

/// The names of the narrative fields, in the order the report uses them.
pub const NARRATIVE_FIELDS: [&str; 9] = [
    "legal_basis",
    "propaganda",
    "internal_it_before",
    "internal_it_after",
    "citizen_services_after",
    "strengths",
    "limitations_intro",
    "limitations",
    "proposals",
];

impl Narrative {
    /// Each field's name and paragraphs, in [`NARRATIVE_FIELDS`] order.
    pub fn fields(&self) -> [(&'static str, &[String]); 9] {
        [
            ("legal_basis", &self.legal_basis),
            ("propaganda", &self.propaganda),
            ("internal_it_before", &self.internal_it_before),
            ("internal_it_after", &self.internal_it_after),
            ("citizen_services_after", &self.citizen_services_after),
            ("strengths", &self.strengths),
            ("limitations_intro", &self.limitations_intro),
            ("limitations", &self.limitations),
            ("proposals", &self.proposals),
        ]
    }

    /// The paragraphs of the field called `name`, to replace; `None` for an unknown name.
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Vec<String>> {
        Some(match name {
            "legal_basis" => &mut self.legal_basis,
            "propaganda" => &mut self.propaganda,
            "internal_it_before" => &mut self.internal_it_before,
            "internal_it_after" => &mut self.internal_it_after,
            "citizen_services_after" => &mut self.citizen_services_after,
            "strengths" => &mut self.strengths,
            "limitations_intro" => &mut self.limitations_intro,
            "limitations" => &mut self.limitations,
            "proposals" => &mut self.proposals,
            _ => return None,
        })
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

/// A day of the month that every month has, after the window's end on the 15th.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u32")]
pub struct SendDay(pub u32);

impl TryFrom<u32> for SendDay {
    type Error = String;
    fn try_from(day: u32) -> Result<Self, Self::Error> {
        if (15..=28).contains(&day) {
            Ok(Self(day))
        } else {
            Err(format!(
                "{day} is not a sending day: use 15 to 28 (the window closes on the 15th)"
            ))
        }
    }
}

/// A local time of day written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SendTime(pub NaiveTime);

impl TryFrom<String> for SendTime {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map(Self)
            .map_err(|_| format!("'{text}' is not a time of day written HH:MM, e.g. 08:00"))
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

/// Refuses a paragraph that starts with `#`, which marks a heading in the report's body.
pub fn check_paragraphs(paragraphs: &[String]) -> Result<(), String> {
    match paragraphs.iter().find(|p| p.starts_with('#')) {
        Some(heading) => Err(format!(
            "a paragraph cannot start with '#', which marks a heading: {heading:?}"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_paragraphs;

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
