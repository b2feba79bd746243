//! How the report writes numbers and dates. Each rule lives here once, with a table of cases
//! taken from the reference report (SPEC §6.1 and §6.2).

use chrono::{Datelike, NaiveDate};

/// What a share reads when its denominator is zero.
pub const NOT_APPLICABLE: &str = "không phát sinh";

/// A count as the reference writes it: below 10 with a leading zero ("05", "00").
pub fn count(value: i64) -> String {
    if (0..10).contains(&value) {
        format!("0{value}")
    } else {
        value.to_string()
    }
}

/// `part` of `whole` as a percentage, rounded half-up to two decimals with trailing zeros
/// dropped ("100%", "12.5%", "84.55%"); "không phát sinh" when `whole` is zero.
///
/// The arithmetic is in integers, so 465/550 (84.5454…%) gives 84.55% and never 84.54%.
pub fn share(part: i64, whole: i64) -> String {
    match percent_hundredths(part, whole) {
        Some(hundredths) => format!("{}%", hundredths_text(hundredths)),
        None => NOT_APPLICABLE.to_owned(),
    }
}

/// `part` of `whole` as a percentage rounded as [`share`] rounds it (84.55 for 465/550), as a
/// number for charts; `None` when `whole` is zero.
pub fn share_value(part: i64, whole: i64) -> Option<f64> {
    percent_hundredths(part, whole).map(|hundredths| hundredths as f64 / 100.0)
}

/// The percentage in hundredths of a percent, rounded half-up; `None` for a zero denominator.
fn percent_hundredths(part: i64, whole: i64) -> Option<i128> {
    if whole <= 0 {
        return None;
    }
    let (part, whole) = (i128::from(part), i128::from(whole));
    // part / whole × 10 000 hundredths, plus one half before the division truncates.
    Some((part * 20_000 + whole) / (2 * whole))
}

fn hundredths_text(hundredths: i128) -> String {
    let (whole, fraction) = (hundredths / 100, hundredths % 100);
    match fraction {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// A date in running text: day and month without leading zeros ("15/4/2026").
pub fn short_date(date: NaiveDate) -> String {
    format!("{}/{}/{}", date.day(), date.month(), date.year())
}

/// The date of a document under Nghị định 30/2020/NĐ-CP: "ngày 18 tháng 5 năm 2026", with a
/// leading zero for days below 10 and for the months January and February ("ngày 05 tháng 01").
pub fn decree_date(date: NaiveDate) -> String {
    let month = match date.month() {
        m @ (1 | 2) => format!("0{m}"),
        m => m.to_string(),
    };
    format!(
        "ngày {} tháng {month} năm {}",
        count(i64::from(date.day())),
        date.year()
    )
}

/// The number line of a document: "103/BC-UBND", "05/BC-UBND", or, with no number, the blank
/// the clerk fills in by hand ("     /BC-UBND").
pub fn document_number(number: Option<u32>, symbol: &str) -> String {
    match number {
        Some(number) => format!("{}/{symbol}", count(i64::from(number))),
        None => format!("     /{symbol}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    #[test]
    fn counts_below_ten_have_a_leading_zero() {
        for (value, text) in [
            (0, "00"),
            (5, "05"),
            (9, "09"),
            (10, "10"),
            (37, "37"),
            (157, "157"),
        ] {
            assert_eq!(count(value), text, "{value}");
        }
    }

    #[test]
    fn shares_round_half_up_and_drop_trailing_zeros() {
        let table = [
            (157, 157, "100%"),
            (5, 5, "100%"),
            (465, 550, "84.55%"),
            (85, 550, "15.45%"),
            (513, 550, "93.27%"),
            (37, 37, "100%"),
            (1, 8, "12.5%"),
            (1, 3, "33.33%"),
            (2, 3, "66.67%"),
            (1, 200, "0.5%"),
            (1, 20_000, "0.01%"), // 0.005% exactly: a tie rounds up
            (3, 20_000, "0.02%"), // 0.015%: a tie rounds up
            (1, 20_001, "0%"),    // just below the half
            (1, 40_000, "0%"),    // 0.0025%
            (1, 16, "6.25%"),
            (0, 7, "0%"),
            (3, 0, NOT_APPLICABLE),
            (0, 0, NOT_APPLICABLE),
        ];
        for (part, whole, text) in table {
            assert_eq!(share(part, whole), text, "{part}/{whole}");
        }
    }

    #[test]
    fn share_values_are_the_written_shares_as_numbers() {
        assert_eq!(share_value(465, 550), Some(84.55));
        assert_eq!(share_value(1, 20_000), Some(0.01));
        assert_eq!(share_value(5, 5), Some(100.0));
        assert_eq!(share_value(3, 0), None);
    }

    #[test]
    fn dates_in_running_text_have_no_leading_zeros() {
        assert_eq!(short_date(date(2026, 4, 15)), "15/4/2026");
        assert_eq!(short_date(date(2026, 12, 15)), "15/12/2026");
        assert_eq!(short_date(date(2027, 1, 5)), "5/1/2027");
    }

    #[test]
    fn document_dates_follow_decree_30() {
        assert_eq!(decree_date(date(2026, 5, 18)), "ngày 18 tháng 5 năm 2026");
        assert_eq!(decree_date(date(2027, 1, 18)), "ngày 18 tháng 01 năm 2027");
        assert_eq!(decree_date(date(2027, 2, 5)), "ngày 05 tháng 02 năm 2027");
        assert_eq!(decree_date(date(2026, 3, 9)), "ngày 09 tháng 3 năm 2026");
        assert_eq!(decree_date(date(2026, 12, 28)), "ngày 28 tháng 12 năm 2026");
        assert_eq!(decree_date(date(2026, 10, 1)), "ngày 01 tháng 10 năm 2026");
    }

    #[test]
    fn document_numbers_are_padded_or_left_blank() {
        assert_eq!(document_number(Some(103), "BC-UBND"), "103/BC-UBND");
        assert_eq!(document_number(Some(5), "BC-UBND"), "05/BC-UBND");
        assert_eq!(document_number(None, "BC-UBND"), "     /BC-UBND");
    }

    proptest! {
        /// The rounded share is within half a hundredth of the exact value, never above 100%
        /// for a part of the whole, and written with at most two decimals.
        #[test]
        fn shares_are_within_half_a_hundredth(whole in 1i64..1_000_000, seed in 0u64..u64::MAX) {
            let part = (seed % (whole as u64 + 1)) as i64;
            let text = share(part, whole);
            let value: f64 = text.trim_end_matches('%').parse().expect("a number");
            let exact = part as f64 * 100.0 / whole as f64;
            prop_assert!((value - exact).abs() <= 0.005 + 1e-9, "{text} for {part}/{whole}");
            prop_assert!(value <= 100.0);
            if let Some(fraction) = text.trim_end_matches('%').split('.').nth(1) {
                prop_assert!(fraction.len() <= 2 && !fraction.ends_with('0'), "{text}");
            }
        }
    }
}
