//! What a month brings, drawn at random: a ward's habits, the window's calendar, and the
//! documents, articles, petitions and dossiers of one month, each dossier's days chosen to give
//! the outcome drawn for it.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use domain::{Period, UnitCode};
use uuid::Uuid;

use super::{Case, Document, Dossier, NAMESPACE, Outcome};

/// Legal processing times of procedures, in days.
const LEGAL_DAYS: [i64; 5] = [3, 5, 7, 10, 15];

/// 07:30 to 17:00, in seconds after midnight: when an office receives, signs and resolves.
pub(super) const OFFICE_HOURS: std::ops::Range<i64> = 27_000..61_200;
/// 06:00 to 23:00: when citizens submit online and the portal publishes.
const WAKING_HOURS: std::ops::Range<i64> = 21_600..82_800;
/// Deadlines fall at 17:00.
const DEADLINE: i64 = 61_200;

/// What a ward is like, month after month.
#[derive(Debug, Clone, Copy)]
pub(super) struct Habits {
    /// 0 (a small commune) to 1 (a large urban ward).
    size: f64,
    /// Share of dossiers submitted online.
    online: f64,
    /// Share of the other dossiers sent by post.
    postal: f64,
    /// Share of the dossiers submitted on paper that are digitized.
    digitized: f64,
    /// Share of documents signed digitally.
    digital_signing: f64,
    /// 1 for a ward that is never late.
    punctuality: f64,
    /// How much its web portal publishes, 0 to 1.
    press: f64,
}

impl Habits {
    /// The habits of `ward`, the same every month.
    pub(super) fn of(ward: &UnitCode, seed: u64) -> Self {
        let mut rng = generator(seed, &format!("{ward}/habits"));
        let mut between = |low: f64, high: f64| low + (high - low) * rng.f64();
        let size = between(0.0, 1.0);
        let online = between(0.63, 0.92);
        let postal = between(-0.05, 0.15).max(0.0);
        let digitized = between(0.7, 1.25).min(1.0);
        let digital_signing = between(0.85, 1.1).min(1.0);
        let punctuality = between(0.3, 1.4).min(1.0);
        let press = between(0.0, 1.0);
        Self {
            size,
            online,
            postal,
            digitized,
            digital_signing,
            punctuality,
            press,
        }
    }
}

/// A generator for one part of the province, the same for the same `seed` and `name`.
pub(super) fn generator(seed: u64, name: &str) -> fastrand::Rng {
    let id = Uuid::new_v5(&NAMESPACE, format!("{seed}/{name}").as_bytes());
    fastrand::Rng::with_seed(id.as_u128() as u64)
}

/// The calendar days of a window, in the deployment's time zone.
#[derive(Debug, Clone, Copy)]
pub(super) struct Calendar {
    tz: Tz,
    first: NaiveDate,
    /// How many days the window has (28 to 31).
    days: i64,
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
}

impl Calendar {
    /// The calendar of `period`'s window.
    pub(super) fn of(period: Period, tz: Tz) -> Self {
        let window = period.window(tz);
        let first = window.start().date_naive();
        Self {
            tz,
            first,
            days: (window.end().date_naive() - first).num_days(),
            start: window.start().to_utc(),
            end: window.end().to_utc(),
        }
    }

    /// Day `day` of the window (from 0; later days lie after it) at `second` after local
    /// midnight.
    pub(super) fn at(&self, day: i64, second: i64) -> DateTime<Utc> {
        let local = (self.first + TimeDelta::days(day)).and_time(chrono::NaiveTime::MIN)
            + TimeDelta::seconds(second);
        // A time inside a daylight-saving gap (office hours never are in practice) moves on.
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(local + TimeDelta::hours(1)))
                    .earliest()
            })
            .map_or_else(|| local.and_utc(), |instant| instant.to_utc())
    }

    /// The window's day of `instant` (negative before it).
    pub(super) fn day_of(&self, instant: DateTime<Utc>) -> i64 {
        (instant.with_timezone(&self.tz).date_naive() - self.first).num_days()
    }
}

/// Documents signed in office hours, most of them digitally.
pub(super) fn documents(
    calendar: &Calendar,
    habits: Habits,
    busy: f64,
    rng: &mut fastrand::Rng,
) -> Vec<Document> {
    let count = ((30.0 + 220.0 * habits.size) * busy).round() as usize;
    let mut times: Vec<(DateTime<Utc>, bool)> = (0..count)
        .map(|_| {
            let at = calendar.at(rng.i64(0..calendar.days), rng.i64(OFFICE_HOURS));
            (at, rng.f64() < habits.digital_signing)
        })
        .collect();
    times.sort_by_key(|(at, _)| *at);
    times
        .into_iter()
        .enumerate()
        .map(|(index, (at, digital))| Document { index, at, digital })
        .collect()
}

/// Articles on the ward's web portal.
pub(super) fn articles(
    calendar: &Calendar,
    habits: Habits,
    rng: &mut fastrand::Rng,
) -> Vec<DateTime<Utc>> {
    let count = 8 + (70.0 * habits.press * (0.8 + 0.4 * rng.f64())).round() as usize;
    let mut times: Vec<_> = (0..count)
        .map(|_| calendar.at(rng.i64(0..calendar.days), rng.i64(WAKING_HOURS)))
        .collect();
    times.sort();
    times
}

/// A few petitions, mostly resolved within ten days; one or two of the last week's may wait.
pub(super) fn petitions(
    calendar: &Calendar,
    period: Period,
    habits: Habits,
    rng: &mut fastrand::Rng,
) -> Vec<Case> {
    let days = calendar.days;
    let count = rng.usize(0..=(2.0 + 10.0 * habits.size) as usize);
    let waiting = match rng.u8(..10) {
        0..6 => 0,
        6..9 => 1,
        _ => 2,
    }
    .min(count);
    let mut cases: Vec<Case> = (0..count)
        .map(|i| {
            if i < waiting {
                let received = calendar.at(rng.i64(days - 7..days), rng.i64(WAKING_HOURS));
                (received, None)
            } else {
                let day = rng.i64(0..days - 1);
                let received = calendar.at(day, rng.i64(WAKING_HOURS));
                let resolved_day = day + rng.i64(1..=10.min(days - 1 - day));
                (
                    received,
                    Some(calendar.at(resolved_day, rng.i64(OFFICE_HOURS))),
                )
            }
        })
        .map(|(received, resolved)| Case {
            period,
            index: 0,
            received,
            resolved,
        })
        .collect();
    // Numbered in the order received, as a register would.
    cases.sort_by_key(|case| case.received);
    for (index, case) in cases.iter_mut().enumerate() {
        case.index = index;
    }
    cases
}

/// The month's dossiers, 50 to 600 by the ward's size: most resolved early, a few on the day
/// they are due or late, a few pending (some overdue).
pub(super) fn dossiers(
    calendar: &Calendar,
    period: Period,
    habits: Habits,
    busy: f64,
    rng: &mut fastrand::Rng,
) -> Vec<Dossier> {
    let count = ((50.0 + 550.0 * habits.size.powf(1.5)) * busy).round() as usize;
    let count = count.clamp(50, 600);
    let share = |rng: &mut fastrand::Rng, low: f64, high: f64| {
        (count as f64 * (low + (high - low) * rng.f64())).round() as usize
    };
    let lateness = 1.0 - habits.punctuality;
    let pending = share(rng, 0.03, 0.08);
    let overdue = share(rng, 0.0, 0.02 * lateness);
    let late = share(rng, 0.0, 0.06 * lateness);
    let on_time = share(rng, 0.02, 0.08);
    let early = count - pending - overdue - late - on_time;
    let outcomes = [
        (Outcome::Early, false, early),
        (Outcome::OnTime, false, on_time),
        (Outcome::Late, false, late),
        (Outcome::Pending, false, overdue),
        (Outcome::Pending, true, pending),
    ]
    .into_iter()
    .flat_map(|(outcome, in_time, n)| std::iter::repeat_n((outcome, in_time), n));
    let mut dossiers: Vec<Dossier> = outcomes
        .zip(channels(count, habits, rng))
        .map(|((outcome, in_time), channel)| {
            dossier(calendar, period, habits, (outcome, in_time), channel, rng)
        })
        .collect();
    dossiers.sort_by_key(|dossier| dossier.case.received);
    for (index, dossier) in dossiers.iter_mut().enumerate() {
        dossier.case.index = index;
    }
    dossiers
}

/// The channels of `count` dossiers in a random order: the ward's share online (this month
/// within two points of it), and of the others its share by post.
fn channels(count: usize, habits: Habits, rng: &mut fastrand::Rng) -> Vec<&'static str> {
    let online_share = (habits.online + 0.04 * (rng.f64() - 0.5)).clamp(0.6, 0.95);
    let online = (count as f64 * online_share).round() as usize;
    let postal = ((count - online) as f64 * habits.postal).round() as usize;
    let mut channels: Vec<&'static str> = [("online", online), ("postal", postal)]
        .into_iter()
        .flat_map(|(channel, n)| std::iter::repeat_n(channel, n))
        .chain(std::iter::repeat("direct"))
        .take(count)
        .collect();
    rng.shuffle(&mut channels);
    channels
}

/// One dossier with the given outcome: its reception, deadline and resolution days chosen to
/// give it. A pending dossier is due after the window's end if `in_time`, else within it.
fn dossier(
    calendar: &Calendar,
    period: Period,
    habits: Habits,
    (outcome, in_time): (Outcome, bool),
    channel: &'static str,
    rng: &mut fastrand::Rng,
) -> Dossier {
    let days = calendar.days;
    let legal = LEGAL_DAYS[rng.usize(..LEGAL_DAYS.len())];
    // The day received and the day resolved, relative to that.
    let (day, resolved_after) = match outcome {
        Outcome::Early => {
            let day = rng.i64(0..days - 1);
            (day, Some(rng.i64(1..=4.min(legal - 1).min(days - 1 - day))))
        }
        Outcome::OnTime => (rng.i64(0..days - legal), Some(legal)),
        Outcome::Late => {
            let late = rng.i64(1..=4);
            (rng.i64(0..days - legal - late), Some(legal + late))
        }
        Outcome::Pending if in_time => (rng.i64((days - legal).max(0)..days), None),
        Outcome::Pending => (rng.i64(0..days - legal), None),
    };
    let online = channel == "online";
    let hours = if online { WAKING_HOURS } else { OFFICE_HOURS };
    let case = Case {
        period,
        index: 0,
        received: calendar.at(day, rng.i64(hours)),
        resolved: resolved_after.map(|after| calendar.at(day + after, rng.i64(OFFICE_HOURS))),
    };
    Dossier {
        case,
        channel,
        digitized: online || rng.f64() < habits.digitized,
        due: calendar.at(day + legal, DEADLINE),
        outcome,
    }
}
