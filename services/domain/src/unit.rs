//! Reporting units: a ward's code such as `tri-qua`, and the set of units a deployment serves.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// The code of a reporting unit as configured, e.g. `tri-qua`: lowercase ASCII letters, digits
/// and inner hyphens, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

/// Why a string is not a unit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a unit code: use 1 to 64 lowercase letters a-z, digits and inner hyphens, e.g. 'tri-qua'"
)]
pub struct InvalidUnitCode(pub String);

impl UnitCode {
    /// Parses a unit code.
    pub fn parse(code: &str) -> Result<Self, InvalidUnitCode> {
        let well_formed = !code.is_empty()
            && code.len() <= 64
            && !code.starts_with('-')
            && !code.ends_with('-')
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if well_formed {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidUnitCode(code.to_owned()))
        }
    }

    /// The code as written in events and configuration.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UnitCode {
    type Error = InvalidUnitCode;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::parse(&code)
    }
}

impl From<UnitCode> for String {
    fn from(code: UnitCode) -> Self {
        code.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `code` is written as an agency code of QĐ 20/2020/QĐ-TTg: four groups separated by
/// dots, three digits, two, two, and a letter with two digits (`000.00.12.H55`).
pub fn check_agency_code(code: &str) -> Result<(), String> {
    let groups: Vec<&str> = code.split('.').collect();
    let digits = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_digit());
    let well_formed = groups.len() == 4
        && digits(groups[0], 3)
        && digits(groups[1], 2)
        && digits(groups[2], 2)
        && groups[3].len() == 3
        && groups[3].as_bytes()[0].is_ascii_uppercase()
        && digits(&groups[3][1..], 2);
    match well_formed {
        true => Ok(()),
        false => Err(format!(
            "'{}' is not an agency code such as 000.00.12.H55 (mã định danh, QĐ 20/2020/QĐ-TTg)",
            crate::text::escape_controls(code)
        )),
    }
}

/// The units a deployment is configured for; an event for any other unit is rejected. A unit
/// may have an agency code (mã định danh điện tử, QĐ 20/2020/QĐ-TTg), by which the upstream
/// systems' own formats name it (`madonvi`, `OrganId`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownUnits {
    units: BTreeSet<UnitCode>,
    agencies: BTreeMap<String, UnitCode>,
}

impl KnownUnits {
    /// The set of the given units, none with an agency code.
    pub fn new(units: impl IntoIterator<Item = UnitCode>) -> Self {
        Self {
            units: units.into_iter().collect(),
            agencies: BTreeMap::new(),
        }
    }

    /// The same units, `agencies` naming some of them by agency code.
    pub fn with_agencies(mut self, agencies: impl IntoIterator<Item = (String, UnitCode)>) -> Self {
        self.agencies.extend(agencies);
        self
    }

    /// The configured unit with this code, if any.
    pub fn get(&self, code: &str) -> Option<&UnitCode> {
        self.units.iter().find(|unit| unit.as_str() == code)
    }

    /// The configured unit whose agency code is `agency`, if any.
    pub fn by_agency(&self, agency: &str) -> Option<&UnitCode> {
        self.agencies.get(agency)
    }

    /// All configured units, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &UnitCode> {
        self.units.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes_have_four_groups() {
        for good in ["000.00.12.H55", "123.45.67.A01"] {
            assert_eq!(check_agency_code(good), Ok(()));
        }
        for bad in [
            "",
            "000.00.12",
            "000.00.12.h55",
            "000.0.12.H55",
            "000.00.12.H5X",
            "x",
        ] {
            assert!(check_agency_code(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn unit_codes_are_lowercase_words_joined_by_hyphens() {
        for good in ["tri-qua", "p1", "dong-ha-2"] {
            assert_eq!(UnitCode::parse(good).map(String::from), Ok(good.to_owned()));
        }
        for bad in [
            "",
            "Tri-Qua",
            "-tri",
            "tri-",
            "trí-quả",
            "tri qua",
            &"a".repeat(65),
        ] {
            assert!(UnitCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn known_units_find_configured_codes_only() {
        let units = KnownUnits::new([UnitCode::parse("tri-qua").unwrap()]);
        assert!(units.get("tri-qua").is_some());
        assert!(units.get("hai-ba-trung").is_none());
    }
}
