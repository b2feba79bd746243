//! When a source of the upstream systems' own formats (SPEC §3.5) is silent: a one-stop system
//! syncs dossiers all day long while the ward's office is open, so a source that sends nothing
//! for a while in office hours has likely stopped (a changed token, a broken integration), and
//! the administrator should know before the month's report does.

use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

/// A format of the upstream systems that baocao reads (SPEC §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// The DVCQG dossier sync (`DongBoHoSoMC`), `POST /sync/dvcqg`.
    Dvcqg,
    /// edXML packages of the national document axis, `POST /sync/edxml`.
    Edxml,
}

impl Dialect {
    /// The dialect as configured and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dvcqg => "dvcqg",
            Self::Edxml => "edxml",
        }
    }
}

/// The office's hours (`[office_hours]`): Monday to Friday, 07:30 to 17:00 local, unless
/// configured otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfficeHours {
    /// The days the office is open, `mon` … `sun`.
    pub days: Vec<Day>,
    /// When it opens, `HH:MM`.
    #[serde(with = "hh_mm")]
    pub opens: NaiveTime,
    /// When it closes, `HH:MM`, after it opens.
    #[serde(with = "hh_mm")]
    pub closes: NaiveTime,
}

/// A day of the week, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Self::Mon => Weekday::Mon,
            Self::Tue => Weekday::Tue,
            Self::Wed => Weekday::Wed,
            Self::Thu => Weekday::Thu,
            Self::Fri => Weekday::Fri,
            Self::Sat => Weekday::Sat,
            Self::Sun => Weekday::Sun,
        }
    }
}

impl Default for OfficeHours {
    fn default() -> Self {
        Self {
            days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
            opens: NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default(),
            closes: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
        }
    }
}

impl OfficeHours {
    /// When the office opened today, if it is open at `now` (in `tz`).
    pub fn opened_today(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        let open_day = self.days.iter().any(|d| d.weekday() == local.weekday());
        let time = local.time();
        if !open_day || time < self.opens || time >= self.closes {
            return None;
        }
        let opened = local.date_naive().and_time(self.opens);
        Some(tz.from_local_datetime(&opened).earliest()?.to_utc())
    }

    /// Whether a source whose last body came at `last_body` (never: `None`) is silent at
    /// `now`: the office is open, and nothing came for `after` of its open time today.
    pub fn is_silent(
        &self,
        now: DateTime<Utc>,
        tz: Tz,
        last_body: Option<DateTime<Utc>>,
        after: TimeDelta,
    ) -> bool {
        let Some(opened) = self.opened_today(now, tz) else {
            return false;
        };
        let since = last_body.map_or(opened, |last| last.max(opened));
        now - since > after
    }
}

/// `HH:MM` times in configuration.
mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
            serde::de::Error::custom(format!("'{text}' is not a time such as \"07:30\""))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    const HO_CHI_MINH: Tz = chrono_tz::Asia::Ho_Chi_Minh;

    #[test]
    fn a_source_is_silent_only_in_office_hours_and_after_its_allowance() {
        let hours = OfficeHours::default();
        let two_hours = TimeDelta::hours(2);
        // Monday 2026-12-07, 10:00 local; the last body on Friday.
        let monday_ten = at("2026-12-07T10:00:00+07:00");
        let friday = Some(at("2026-12-04T16:00:00+07:00"));
        assert!(hours.is_silent(monday_ten, HO_CHI_MINH, friday, two_hours));
        // 08:30: opened an hour ago, within the allowance.
        let early = at("2026-12-07T08:30:00+07:00");
        assert!(!hours.is_silent(early, HO_CHI_MINH, friday, two_hours));
        // A body at 09:00 makes 10:00 fine.
        let recent = Some(at("2026-12-07T09:00:00+07:00"));
        assert!(!hours.is_silent(monday_ten, HO_CHI_MINH, recent, two_hours));
        // Never heard of: silent from two hours after opening.
        assert!(hours.is_silent(monday_ten, HO_CHI_MINH, None, two_hours));
        // Saturday and evenings are not office hours.
        let saturday = at("2026-12-05T10:00:00+07:00");
        let evening = at("2026-12-07T18:00:00+07:00");
        assert!(!hours.is_silent(saturday, HO_CHI_MINH, None, two_hours));
        assert!(!hours.is_silent(evening, HO_CHI_MINH, None, two_hours));
    }

    #[test]
    fn office_hours_are_configured_as_days_and_times() {
        let hours: OfficeHours = serde_json::from_str(
            r#"{"days": ["mon", "sat"], "opens": "08:00", "closes": "11:30"}"#,
        )
        .unwrap();
        assert_eq!(hours.days, [Day::Mon, Day::Sat]);
        assert_eq!(hours.closes, NaiveTime::from_hms_opt(11, 30, 0).unwrap());
        let saturday = at("2026-12-05T09:00:00+07:00");
        assert!(hours.opened_today(saturday, HO_CHI_MINH).is_some());
        assert!(serde_json::from_str::<OfficeHours>(r#"{"opens": "7h30"}"#).is_err());
    }
}
