//! Reporting periods and their windows.
//!
//! The report for month M covers events whose `occurred_at` falls in
//! `[15th of M−1 00:00, 15th of M 00:00)` in the deployment's time zone (Nghị định
//! 09/2019/NĐ-CP, Điều 12). This module is the only place that adds months or turns local
//! dates into instants; everything else asks a [`Period`] or a [`Window`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The day of the month on which windows start and end.
const CUT_OFF_DAY: u32 = 15;

/// A reporting period, the month whose report it is: `2026-05` covers 15 April to 15 May 2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i32,
    month: u32,
}

/// Why a string is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a period: write the year and month as YYYY-MM, e.g. 2026-05")]
pub struct InvalidPeriod(pub String);

impl Period {
    /// The period of `year` and `month` (1–12), if both are in range.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The calendar year of the period's month.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The period's month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The period after this one.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The period before this one.
    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The period whose window contains `instant` in time zone `tz`.
    pub fn containing(instant: DateTime<Utc>, tz: Tz) -> Self {
        let local = instant.with_timezone(&tz).date_naive();
        let month = Self {
            year: local.year(),
            month: local.month(),
        };
        if local.day() >= CUT_OFF_DAY {
            month.next()
        } else {
            month
        }
    }

    /// The window of events this period's report covers, in time zone `tz`.
    pub fn window(self, tz: Tz) -> Window {
        let previous = self.previous();
        Window {
            start: start_of_cut_off_day(previous.year, previous.month, tz),
            end: start_of_cut_off_day(self.year, self.month, tz),
        }
    }
}

/// The first instant whose local date is the 15th of the month: local midnight, or where a
/// daylight-saving jump skips midnight, the first hour that exists.
fn start_of_cut_off_day(year: i32, month: u32, tz: Tz) -> DateTime<Tz> {
    // A valid period's 15th always exists; the year range of `Period::new` keeps it in chrono's.
    let day = NaiveDate::from_ymd_opt(year, month, CUT_OFF_DAY).expect("the 15th exists");
    (0..24)
        .find_map(|hour| {
            tz.from_local_datetime(&day.and_hms_opt(hour, 0, 0)?)
                .earliest()
        })
        .expect("no time zone skips a whole day")
}

impl FromStr for Period {
    type Err = InvalidPeriod;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidPeriod(text.to_owned());
        let (year, month) = text.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let year = year.parse().map_err(|_| invalid())?;
        let month = month.parse().map_err(|_| invalid())?;
        Self::new(year, month).ok_or_else(invalid)
    }
}

impl TryFrom<String> for Period {
    type Error = InvalidPeriod;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Period> for String {
    fn from(period: Period) -> Self {
        period.to_string()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The half-open interval `[start, end)` of one period's events, in the deployment's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: DateTime<Tz>,
    end: DateTime<Tz>,
}

impl Window {
    /// The first instant in the window.
    pub fn start(&self) -> DateTime<Tz> {
        self.start
    }

    /// The first instant after the window.
    pub fn end(&self) -> DateTime<Tz> {
        self.end
    }

    /// Whether `instant` falls in the window.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// The window's first local midnight, if the zone keeps one UTC offset for a year on either
    /// side of the window; else `None`. In such a zone every local day near the window is 24
    /// hours long, so the local day of an instant (a due date, which lies days or weeks from its
    /// window) is a fixed-width bin counted from this midnight, with no zone lookup per instant.
    pub fn fixed_offset_midnight(&self) -> Option<DateTime<Utc>> {
        let tz = self.start.timezone();
        let offset_at = |instant: DateTime<Utc>| instant.with_timezone(&tz).offset().fix();
        let first = offset_at(self.start.to_utc());
        let year = TimeDelta::days(366);
        let mut instant = self.start.to_utc() - year;
        while instant <= self.end.to_utc() + year {
            if offset_at(instant) != first {
                return None;
            }
            instant += TimeDelta::hours(12);
        }
        self.start
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|midnight| midnight.and_local_timezone(tz).single())
            .map(|midnight| midnight.to_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;
    use proptest::prelude::*;

    fn period(text: &str) -> Period {
        text.parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn may_2026_runs_from_15_april_to_15_may_vietnam_time() {
        let window = period("2026-05").window(Ho_Chi_Minh);
        assert_eq!(window.start().to_rfc3339(), "2026-04-15T00:00:00+07:00");
        assert_eq!(window.end().to_rfc3339(), "2026-05-15T00:00:00+07:00");
    }

    #[test]
    fn january_starts_on_15_december_of_the_previous_year() {
        let window = period("2027-01").window(Ho_Chi_Minh);
        assert_eq!(window.start().to_rfc3339(), "2026-12-15T00:00:00+07:00");
        assert_eq!(window.end().to_rfc3339(), "2027-01-15T00:00:00+07:00");
        assert_eq!(period("2026-12").next(), period("2027-01"));
        assert_eq!(period("2027-01").previous(), period("2026-12"));
    }

    #[test]
    fn the_last_second_of_the_14th_and_midnight_of_the_15th_fall_in_different_periods() {
        assert_eq!(
            Period::containing(utc("2026-05-14T16:59:59Z"), Ho_Chi_Minh),
            period("2026-05")
        );
        assert_eq!(
            Period::containing(utc("2026-05-14T17:00:00Z"), Ho_Chi_Minh),
            period("2026-06")
        );
        assert_eq!(
            Period::containing(utc("2026-05-15T00:00:00+07:00"), Ho_Chi_Minh),
            period("2026-06")
        );
        assert_eq!(
            Period::containing(utc("2026-04-15T00:00:00+07:00"), Ho_Chi_Minh),
            period("2026-05")
        );
    }

    #[test]
    fn periods_parse_only_as_four_digit_year_and_two_digit_month() {
        assert_eq!(period("2026-05").to_string(), "2026-05");
        for bad in [
            "2026-5",
            "2026-13",
            "2026-00",
            "26-05",
            "2026/05",
            "",
            "2026-05-01",
            "+026-05",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_zone_without_daylight_saving_has_a_fixed_offset_midnight() {
        let window = period("2026-05").window(Ho_Chi_Minh);
        assert_eq!(
            window.fixed_offset_midnight().map(|m| m.to_rfc3339()),
            Some("2026-04-14T17:00:00+00:00".to_owned())
        );
        for zone in [chrono_tz::Europe::Berlin, chrono_tz::America::New_York] {
            assert_eq!(period("2026-05").window(zone).fixed_offset_midnight(), None);
        }
    }

    fn any_period() -> impl Strategy<Value = Period> {
        (1971..2200i32, 1..=12u32).prop_map(|(year, month)| Period::new(year, month).unwrap())
    }

    fn any_zone() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![
            Ho_Chi_Minh,
            chrono_tz::UTC,
            chrono_tz::Asia::Kolkata,
            chrono_tz::America::New_York,
            chrono_tz::America::Sao_Paulo,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::America::Havana,
        ])
    }

    proptest! {
        #[test]
        fn every_instant_falls_in_the_window_of_its_period(
            seconds in 0i64..7_000_000_000, zone in any_zone()
        ) {
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let window = Period::containing(instant, zone).window(zone);
            prop_assert!(window.contains(instant), "{instant} not in {window:?}");
        }

        #[test]
        fn windows_of_consecutive_periods_abut(period in any_period(), zone in any_zone()) {
            let (this, next) = (period.window(zone), period.next().window(zone));
            prop_assert_eq!(this.end(), next.start());
            prop_assert!(this.start() < this.end());
            prop_assert_eq!(period.next().previous(), period);
        }

        #[test]
        fn an_instant_written_with_any_offset_lands_in_the_same_period(
            seconds in 0i64..7_000_000_000, offset_minutes in -14 * 60..=14 * 60i32
        ) {
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let rewritten = DateTime::parse_from_rfc3339(&instant.with_timezone(&offset).to_rfc3339()).unwrap();
            prop_assert_eq!(
                Period::containing(rewritten.to_utc(), Ho_Chi_Minh),
                Period::containing(instant, Ho_Chi_Minh)
            );
        }

        // Vietnam has kept UTC+7 without daylight saving since June 1975.
        #[test]
        fn vietnam_windows_start_at_17_00_utc_on_the_14th(period in any_period()) {
            prop_assume!(period.year() >= 1976);
            let start = period.window(Ho_Chi_Minh).start().to_utc();
            prop_assert_eq!((start.day(), start.format("%H:%M:%S").to_string()), (14, "17:00:00".to_owned()));
        }
    }
}
