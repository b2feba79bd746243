//! A generated province, for trying baocao at the size of a real one: N wards and communes with
//! plausible names, and the configuration that serves them all with the Department of Science
//! and Technology's summary (SPEC §12).
//!
//! Each ward's block is the reference ward's with its own code, names, sender and addresses, so
//! a generated province renders like the reference report; the summary rolls every ward up.
//! [`month_events`] is a plausible month of those wards, and [`expected_counts`] the figures it
//! gives.

use domain::UnitCode;

mod month;

pub use month::{SEED, expected_counts, month_events};

/// The summary's code in a generated configuration.
pub const SUMMARY_CODE: &str = "tinh-qn";

/// One generated ward or commune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ward {
    /// Its code, e.g. `phuong-an-phu` or `xa-binh-thanh`.
    pub code: UnitCode,
    /// Its name without the kind, e.g. "An Phú".
    pub name: String,
    /// "phường" or "xã".
    pub kind: &'static str,
}

impl Ward {
    /// "UBND phường An Phú".
    pub fn short_name(&self) -> String {
        format!("UBND {} {}", self.kind, self.name)
    }
}

const FIRST: [&str; 12] = [
    "An", "Bình", "Đức", "Hòa", "Nghĩa", "Phổ", "Tịnh", "Sơn", "Trà", "Ba", "Minh", "Long",
];
const SECOND: [&str; 10] = [
    "Phú", "Thạnh", "Hiệp", "Lợi", "Tân", "Hưng", "Thuận", "Phong", "Châu", "Khánh",
];

/// The first `n` generated wards: distinct names (numbered beyond the 120 pairs of syllables),
/// every fourth a commune ("xã").
pub fn wards(n: usize) -> Vec<Ward> {
    (0..n)
        .map(|i| {
            let pair = i % (FIRST.len() * SECOND.len());
            // Walk the second syllable fastest, but shift it per first syllable so that
            // neighbours in the list do not all share their first word.
            let first = FIRST[pair % FIRST.len()];
            let second = SECOND[(pair / FIRST.len() + pair) % SECOND.len()];
            let round = i / (FIRST.len() * SECOND.len());
            let name = match round {
                0 => format!("{first} {second}"),
                _ => format!("{first} {second} {}", round + 1),
            };
            let kind = if i % 4 == 3 { "xã" } else { "phường" };
            let code = format!("{}-{}", ascii_slug(kind), ascii_slug(&name));
            Ward {
                // Built from ASCII letters, digits and dashes only: always a valid code.
                code: UnitCode::parse(&code).unwrap_or_else(|_| unreachable!("slug {code}")),
                name,
                kind,
            }
        })
        .collect()
}

/// The configuration of a province of `n` generated wards and its summary: `base` (a
/// configuration with one `[[unit]]`, such as the shipped `baocao.toml`) with its unit's block
/// repeated for each ward, then the department's `[[summary]]` of them all.
pub fn config(base: &str, n: usize) -> anyhow::Result<String> {
    let mut parts = base.split("\n[[unit]]\n");
    let head = parts.next().unwrap_or_default();
    let unit = parts
        .next()
        .ok_or_else(|| anyhow::anyhow!("the base configuration has no [[unit]]"))?;
    anyhow::ensure!(
        parts.next().is_none(),
        "the base configuration has more than one [[unit]]"
    );
    // The block without the comments that close the file.
    let lines: Vec<&str> = unit.lines().collect();
    let kept = lines
        .iter()
        .rposition(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map_or(0, |last| last + 1);
    let unit = lines[..kept].join("\n");
    let unit = format!("\n{unit}\n");
    let reference_code = unit
        .lines()
        .find_map(|line| line.trim().strip_prefix("code = "))
        .ok_or_else(|| anyhow::anyhow!("the base [[unit]] has no code"))?
        .to_owned();
    let mut out = head.trim_end().to_owned();
    out.push('\n');
    for (index, ward) in wards(n).into_iter().enumerate() {
        let block = unit
            .replace(
                &format!("code = {reference_code}"),
                &format!("code = \"{}\"\nkind = \"{}\"", ward.code, ward.kind),
            )
            // Each ward its own agency code: no two units share one.
            .replace(
                "000.00.12.H55",
                &format!("000.{:02}.{:02}.H55", index / 100, index % 100),
            )
            .replace("phường Trí Quả", &format!("{} {}", ward.kind, ward.name))
            .replace(
                "PHƯỜNG TRÍ QUẢ",
                &format!("{} {}", ward.kind, ward.name).to_uppercase(),
            )
            .replace("Trí Quả", &ward.name)
            .replace("triqua", &ascii_slug(&ward.name).replace('-', ""));
        out.push_str("\n[[unit]]");
        out.push_str(block.trim_end());
        out.push('\n');
    }
    out.push_str(SUMMARY);
    Ok(out)
}

/// The department's summary of every ward.
const SUMMARY: &str = r#"
# The Department of Science and Technology rolls every ward up for the provincial People's
# Committee, on the 20th (after the wards' 18th).
[[summary]]
code = "tinh-qn"
issuing_body = ["UBND TỈNH QUẢNG NGÃI", "SỞ KHOA HỌC VÀ CÔNG NGHỆ"]
short_name = "Sở Khoa học và Công nghệ"
place = "Quảng Ngãi"
mail_from = "Sở Khoa học và Công nghệ <vanthu.sokhcn@example.gov.vn>"

[summary.numbering]
mode = "sequence"
symbol = "BC-SKHCN"

[summary.signer]
authority = "KT. GIÁM ĐỐC"
title = "PHÓ GIÁM ĐỐC"
name = "Trần Văn Minh"

[[summary.recipients]]
label = "UBND tỉnh Quảng Ngãi (b/c)"
addresses = ["vanthu.ubndtinh@example.gov.vn"]

[[summary.recipients]]
label = "Lưu: VT, CĐS"
addresses = []
"#;

/// `text` in lower-case ASCII with dashes between words: "Bình Thạnh" → `binh-thanh`.
pub fn ascii_slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let base = fold_vietnamese(c);
        if base.is_ascii_alphanumeric() {
            slug.push(base);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The Latin letter under a lower-case Vietnamese letter with its marks (`ệ` → `e`, `đ` → `d`).
fn fold_vietnamese(c: char) -> char {
    const GROUPS: [(char, &str); 6] = [
        ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
        ('e', "èéẻẽẹêềếểễệ"),
        ('i', "ìíỉĩị"),
        ('o', "òóỏõọôồốổỗộơờớởỡợ"),
        ('u', "ùúủũụưừứửữự"),
        ('y', "ỳýỷỹỵ"),
    ];
    if c == 'đ' {
        return 'd';
    }
    GROUPS
        .iter()
        .find(|(_, marked)| marked.contains(c))
        .map_or(c, |(base, _)| *base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_distinct_and_plain() {
        let wards = wards(250);
        let codes: std::collections::BTreeSet<_> = wards.iter().map(|w| w.code.clone()).collect();
        let names: std::collections::BTreeSet<_> = wards.iter().map(|w| &w.name).collect();
        assert_eq!((codes.len(), names.len()), (250, 250));
        assert_eq!(wards[0].code.as_str(), "phuong-an-phu");
        assert_eq!(wards[3].kind, "xã");
        assert!(wards[3].code.as_str().starts_with("xa-"));
        assert_eq!(ascii_slug("Đức Thạnh 2"), "duc-thanh-2");
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn a_generated_province_is_a_valid_configuration() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let base = std::fs::read_to_string(root.join("baocao.toml")).unwrap();
        let text = config(&base, 100).unwrap();
        let path = root.join("province.toml");
        let file = crate::config::parse_file(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.units.len(), 100);
        assert_eq!(file.summaries.len(), 1);
        let ward = &file.units[3];
        assert_eq!(ward.kind, "xã");
        assert_eq!(ward.short_name, wards(4)[3].short_name());
        assert!(
            ward.mail_from
                .contains(&ascii_slug(&wards(4)[3].name).replace('-', ""))
        );
    }
}
