//! When a period's report is dated and sent (SPEC §4): on day `send_day` (default the 18th) of
//! the period's month at `send_time` (default 08:00), local time. The deployment's `[schedule]`
//! sets both for every unit; a unit's (or a summary's) own `[unit.schedule]` overrides either.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::period::Period;

/// The sending day when nobody sets one.
pub const DEFAULT_SEND_DAY: SendDay = SendDay(18);

/// A sending day and time, either of which may be left to a fallback ([`Schedule::or`]); what
/// nobody sets is the 18th at 08:00.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The day of month M on which the report for M is sent (15–28).
    pub send_day: Option<SendDay>,
    /// The local time at which it is sent, `HH:MM`.
    pub send_time: Option<SendTime>,
}

impl Schedule {
    /// This schedule, with what it leaves out taken from `fallback`.
    pub fn or(self, fallback: Schedule) -> Schedule {
        Schedule {
            send_day: self.send_day.or(fallback.send_day),
            send_time: self.send_time.or(fallback.send_time),
        }
    }

    /// The sending day.
    pub fn send_day(self) -> u32 {
        self.send_day.unwrap_or(DEFAULT_SEND_DAY).0
    }

    /// The sending time.
    pub fn send_time(self) -> NaiveTime {
        self.send_time
            .map_or(NaiveTime::MIN + chrono::TimeDelta::hours(8), |t| t.0)
    }

    /// The day `period`'s report is due: the sending day of the period's month.
    pub fn send_date(self, period: Period) -> NaiveDate {
        // A SendDay is 15–28, which every month has; the period's year is in chrono's range.
        NaiveDate::from_ymd_opt(period.year(), period.month(), self.send_day())
            .unwrap_or(NaiveDate::MIN)
    }

    /// The instant `period`'s report is due, in zone `tz` (the first that exists, should a
    /// clock change skip the sending time).
    pub fn send_at(self, period: Period, tz: Tz) -> DateTime<Utc> {
        let local = self.send_date(period).and_time(self.send_time());
        (0..=2)
            .find_map(|hours| {
                let shifted = local + chrono::TimeDelta::hours(hours);
                shifted.and_local_timezone(tz).earliest()
            })
            .map_or_else(|| local.and_utc(), |at| at.to_utc())
    }
}

/// A day of the month that every month has, after the window's end on the 15th.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;

    fn period(text: &str) -> Period {
        text.parse().expect("a period")
    }

    #[test]
    fn nothing_set_is_the_eighteenth_at_eight_vietnam_time() {
        let schedule = Schedule::default();
        assert_eq!(
            schedule
                .send_at(period("2026-05"), Ho_Chi_Minh)
                .to_rfc3339(),
            "2026-05-18T01:00:00+00:00"
        );
        assert_eq!(
            schedule.send_date(period("2027-01")).to_string(),
            "2027-01-18"
        );
    }

    #[test]
    fn a_units_own_day_overrides_the_deployments_and_keeps_its_time() {
        let deployment = Schedule {
            send_day: Some(SendDay(19)),
            send_time: SendTime::try_from("09:30".to_owned()).ok(),
        };
        let unit = Schedule {
            send_day: Some(SendDay(22)),
            send_time: None,
        };
        let merged = unit.or(deployment);
        assert_eq!(
            (merged.send_day(), merged.send_time().to_string()),
            (22, "09:30:00".into())
        );
        assert_eq!(Schedule::default().or(deployment), deployment);
    }

    #[test]
    fn sending_days_are_the_fifteenth_to_the_twenty_eighth() {
        assert!(SendDay::try_from(14).is_err());
        assert!(SendDay::try_from(15).is_ok());
        assert!(SendDay::try_from(28).is_ok());
        assert!(SendDay::try_from(29).is_err());
        assert!(SendTime::try_from("8h".to_owned()).is_err());
    }
}
