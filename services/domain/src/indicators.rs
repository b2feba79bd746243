//! The indicators document of one unit and period (SPEC §5): what `report show --format json`
//! prints, what the API returns and what the report's figure paragraphs are rendered from.
//!
//! The store counts the stored state for a window ([`Counts`]); this module derives the rest
//! (pending, on time) so that each derived figure has one definition.

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use crate::period::{Period, Window};
use crate::unit::UnitCode;

/// The figures counted directly from stored state for one window. Every item counts once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Documents with a `document.signed` event in the window.
    pub documents_issued: i64,
    /// Of those, signed digitally.
    pub documents_digitally_signed: i64,
    /// Petitions received before the window and not resolved before it.
    pub petitions_carried_over: i64,
    /// Petitions received in the window.
    pub petitions_received: i64,
    /// Petitions resolved in the window among those received before its end.
    pub petitions_resolved: i64,
    /// Dossiers received before the window and not resolved before it.
    pub procedures_carried_over: i64,
    /// Dossiers received in the window.
    pub procedures_received: i64,
    /// Of those, submitted online.
    pub procedures_online: i64,
    /// Of those, submitted in person.
    pub procedures_direct: i64,
    /// Of those, submitted by post.
    pub procedures_postal: i64,
    /// Of those, digitized.
    pub procedures_digitized: i64,
    /// Dossiers resolved in the window among those received before its end.
    pub procedures_resolved: i64,
    /// Of those, resolved on a local calendar day before the day of `due_at`.
    pub procedures_resolved_early: i64,
    /// Of those, resolved after `due_at`.
    pub procedures_resolved_late: i64,
    /// Of those, ended without a result (withdrawn by the citizen, processing stopped):
    /// counted as on time, never early or late.
    pub procedures_resolved_without_result: i64,
    /// Dossiers still pending at the window's end (or now, for the open window) whose
    /// `due_at` lies before that instant.
    pub procedures_pending_overdue: i64,
    /// Articles with an `article.published` event in the window.
    pub articles_published: i64,
}

impl std::ops::Add for Counts {
    type Output = Counts;

    /// Field by field: the counts of two units together, or two statements' parts of one
    /// unit's counts (each sets its own fields and leaves the others zero).
    fn add(self, other: Counts) -> Counts {
        Counts {
            documents_issued: self.documents_issued + other.documents_issued,
            documents_digitally_signed: self.documents_digitally_signed
                + other.documents_digitally_signed,
            petitions_carried_over: self.petitions_carried_over + other.petitions_carried_over,
            petitions_received: self.petitions_received + other.petitions_received,
            petitions_resolved: self.petitions_resolved + other.petitions_resolved,
            procedures_carried_over: self.procedures_carried_over + other.procedures_carried_over,
            procedures_received: self.procedures_received + other.procedures_received,
            procedures_online: self.procedures_online + other.procedures_online,
            procedures_direct: self.procedures_direct + other.procedures_direct,
            procedures_postal: self.procedures_postal + other.procedures_postal,
            procedures_digitized: self.procedures_digitized + other.procedures_digitized,
            procedures_resolved: self.procedures_resolved + other.procedures_resolved,
            procedures_resolved_early: self.procedures_resolved_early
                + other.procedures_resolved_early,
            procedures_resolved_late: self.procedures_resolved_late
                + other.procedures_resolved_late,
            procedures_resolved_without_result: self.procedures_resolved_without_result
                + other.procedures_resolved_without_result,
            procedures_pending_overdue: self.procedures_pending_overdue
                + other.procedures_pending_overdue,
            articles_published: self.articles_published + other.articles_published,
        }
    }
}

impl Counts {
    /// Petitions received (or carried over) and not resolved by the window's end.
    pub fn petitions_pending(&self) -> i64 {
        self.petitions_carried_over + self.petitions_received - self.petitions_resolved
    }

    /// Dossiers received (or carried over) and not resolved by the window's end.
    pub fn procedures_pending(&self) -> i64 {
        self.procedures_carried_over + self.procedures_received - self.procedures_resolved
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |total, counts| total + counts)
    }
}

/// The indicators document of SPEC §5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicators {
    /// The unit reported on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "tri-qua"))]
    pub unit: UnitCode,
    /// The period reported on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-05"))]
    pub period: Period,
    /// The period's window, written with the deployment's offset.
    pub window: WindowBounds,
    /// False while the window is still open: the figures are as of now.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Văn bản đi.
    pub documents: Documents,
    /// Phản ánh kiến nghị.
    pub petitions: Petitions,
    /// Hồ sơ thủ tục hành chính.
    pub procedures: Procedures,
    /// Tin, bài on the ward's web portal.
    pub articles: Articles,
}

/// A window as two RFC 3339 instants with the local offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowBounds {
    /// The first instant of the window.
    pub start: String,
    /// The first instant after it.
    pub end: String,
}

/// Documents issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Documents {
    pub issued: i64,
    pub digitally_signed: i64,
}

/// Petitions (phản ánh kiến nghị).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Petitions {
    pub carried_over: i64,
    pub received: i64,
    pub resolved: i64,
    pub pending: i64,
}

/// Administrative-procedure dossiers, after the national form "Tình hình, kết quả giải quyết TTHC".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Procedures {
    pub carried_over: i64,
    pub received: i64,
    pub online: i64,
    pub direct: i64,
    pub postal: i64,
    pub digitized: i64,
    pub resolved: i64,
    pub resolved_early: i64,
    pub resolved_on_time: i64,
    pub resolved_late: i64,
    /// Of `resolved`, ended without a result (DVCQG statuses 7 and 8: withdrawn by the
    /// citizen, processing stopped), counted among the on-time ones. Revisions issued before
    /// this figure existed read it as 0.
    #[serde(default)]
    pub resolved_without_result: i64,
    pub pending: i64,
    pub pending_on_time: i64,
    pub pending_overdue: i64,
}

/// Articles published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Articles {
    pub published: i64,
}

impl WindowBounds {
    /// The bounds of `window`, with its offset.
    pub fn of(window: &Window) -> Self {
        Self {
            start: window.start().to_rfc3339_opts(SecondsFormat::Secs, false),
            end: window.end().to_rfc3339_opts(SecondsFormat::Secs, false),
        }
    }
}

impl Indicators {
    /// The document for `unit` and `period` from the counts of its `window`.
    pub fn new(
        unit: UnitCode,
        period: Period,
        window: Window,
        is_final: bool,
        counts: Counts,
    ) -> Self {
        let c = counts;
        let (petitions_pending, procedures_pending) =
            (c.petitions_pending(), c.procedures_pending());
        Self {
            unit,
            period,
            window: WindowBounds::of(&window),
            is_final,
            documents: Documents {
                issued: c.documents_issued,
                digitally_signed: c.documents_digitally_signed,
            },
            petitions: Petitions {
                carried_over: c.petitions_carried_over,
                received: c.petitions_received,
                resolved: c.petitions_resolved,
                pending: petitions_pending,
            },
            procedures: Procedures {
                carried_over: c.procedures_carried_over,
                received: c.procedures_received,
                online: c.procedures_online,
                direct: c.procedures_direct,
                postal: c.procedures_postal,
                digitized: c.procedures_digitized,
                resolved: c.procedures_resolved,
                resolved_early: c.procedures_resolved_early,
                resolved_on_time: c.procedures_resolved
                    - c.procedures_resolved_early
                    - c.procedures_resolved_late,
                resolved_late: c.procedures_resolved_late,
                resolved_without_result: c.procedures_resolved_without_result,
                pending: procedures_pending,
                pending_on_time: procedures_pending - c.procedures_pending_overdue,
                pending_overdue: c.procedures_pending_overdue,
            },
            articles: Articles {
                published: c.articles_published,
            },
        }
    }
}

impl Indicators {
    /// The counts this document was made from (its derived figures aside).
    pub fn counts(&self) -> Counts {
        let (d, p, h) = (&self.documents, &self.petitions, &self.procedures);
        Counts {
            documents_issued: d.issued,
            documents_digitally_signed: d.digitally_signed,
            petitions_carried_over: p.carried_over,
            petitions_received: p.received,
            petitions_resolved: p.resolved,
            procedures_carried_over: h.carried_over,
            procedures_received: h.received,
            procedures_online: h.online,
            procedures_direct: h.direct,
            procedures_postal: h.postal,
            procedures_digitized: h.digitized,
            procedures_resolved: h.resolved,
            procedures_resolved_early: h.resolved_early,
            procedures_resolved_late: h.resolved_late,
            procedures_resolved_without_result: h.resolved_without_result,
            procedures_pending_overdue: h.pending_overdue,
            articles_published: self.articles.published,
        }
    }
}

/// The document of a summary (SPEC §12): each member's row, their total, and how many members
/// had issued their report for the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryIndicators {
    /// The summary's code.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "tinh-qn"))]
    pub unit: UnitCode,
    /// The period reported on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-05"))]
    pub period: Period,
    /// The period's window, written with the deployment's offset.
    pub window: WindowBounds,
    /// False while the window is still open.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Each member's row, in configuration order.
    pub members: Vec<MemberFigures>,
    /// The members' figures summed; every share of the summary's report is computed from
    /// these sums, never as an average of the members' shares.
    pub total: Totals,
    /// How many members there are, and how many had issued their report for the period.
    pub reported: Reported,
}

/// One member's row of a summary: the figures of the report it issued for the period, as that
/// report froze them, or, while it has issued none, its figures counted now and marked
/// provisional. A late event changes neither an issued member's row nor what it signed; the
/// member's next revision does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberFigures {
    /// The member's indicators document (SPEC §5).
    #[serde(flatten)]
    pub indicators: Indicators,
    /// The revision of the member's report these figures come from; null while it has issued
    /// none.
    pub revision: Option<i32>,
    /// True while the member has issued no report for the period: the figures are counted
    /// now and may still change.
    pub provisional: bool,
}

impl MemberFigures {
    /// The row of a member whose latest issued revision is `revision`, with the figures it froze.
    pub fn issued(indicators: Indicators, revision: i32) -> Self {
        Self {
            indicators,
            revision: Some(revision),
            provisional: false,
        }
    }

    /// The row of a member that has issued no report: its figures as counted now.
    pub fn provisional(indicators: Indicators) -> Self {
        Self {
            indicators,
            revision: None,
            provisional: true,
        }
    }
}

/// Figures summed over a summary's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(missing_docs)]
pub struct Totals {
    pub documents: Documents,
    pub petitions: Petitions,
    pub procedures: Procedures,
    pub articles: Articles,
}

/// How many of a summary's members had issued their report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reported {
    /// The summary's members.
    pub members: usize,
    /// Those whose report for the period has been issued.
    pub issued: usize,
}

impl SummaryIndicators {
    /// The summary `code` of `members` for `period`; those not provisional had issued their
    /// report.
    pub fn new(
        code: UnitCode,
        period: Period,
        window: Window,
        is_final: bool,
        members: Vec<MemberFigures>,
    ) -> Self {
        let total = Self::total_of(&code, period, window, is_final, &members);
        let issued = members.iter().filter(|m| !m.provisional).count();
        Self {
            unit: code,
            period,
            window: WindowBounds::of(&window),
            is_final,
            reported: Reported {
                members: members.len(),
                issued,
            },
            members,
            total: Totals {
                documents: total.documents,
                petitions: total.petitions,
                procedures: total.procedures,
                articles: total.articles,
            },
        }
    }

    /// The members' total as an indicators document of the summary: what its figure
    /// paragraphs are written from.
    pub fn total_of(
        code: &UnitCode,
        period: Period,
        window: Window,
        is_final: bool,
        members: &[MemberFigures],
    ) -> Indicators {
        let counts = members.iter().map(|m| m.indicators.counts()).sum();
        Indicators::new(code.clone(), period, window, is_final, counts)
    }

    /// The total as an indicators document of the summary.
    pub fn total(&self, window: Window) -> Indicators {
        Self::total_of(
            &self.unit,
            self.period,
            window,
            self.is_final,
            &self.members,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;

    #[test]
    fn the_document_has_the_shape_and_derived_figures_of_the_spec() {
        let period: Period = "2026-05".parse().unwrap();
        let counts = Counts {
            documents_issued: 157,
            documents_digitally_signed: 157,
            petitions_carried_over: 1,
            petitions_received: 5,
            petitions_resolved: 4,
            procedures_carried_over: 3,
            procedures_received: 550,
            procedures_online: 465,
            procedures_direct: 85,
            procedures_digitized: 550,
            procedures_resolved: 513,
            procedures_resolved_early: 500,
            procedures_resolved_late: 3,
            procedures_pending_overdue: 2,
            articles_published: 78,
            ..Counts::default()
        };
        let unit = crate::UnitCode::parse("tri-qua").unwrap();
        let document = Indicators::new(unit, period, period.window(Ho_Chi_Minh), true, counts);
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["window"]["start"], "2026-04-15T00:00:00+07:00");
        assert_eq!(json["final"], true);
        assert_eq!(json["petitions"]["pending"], 2);
        assert_eq!(json["procedures"]["resolved_on_time"], 10);
        assert_eq!(json["procedures"]["pending"], 40);
        assert_eq!(json["procedures"]["pending_on_time"], 38);
        let round_trip: Indicators = serde_json::from_value(json).unwrap();
        assert_eq!(round_trip, document);
        assert_eq!(document.counts(), counts);
    }

    #[test]
    fn a_summarys_total_is_the_sum_and_its_shares_come_from_the_sums() {
        let period: Period = "2026-05".parse().unwrap();
        let window = period.window(Ho_Chi_Minh);
        let member = |code: &str, received: i64, online: i64| {
            let counts = Counts {
                procedures_received: received,
                procedures_online: online,
                procedures_direct: received - online,
                ..Counts::default()
            };
            let unit = crate::UnitCode::parse(code).unwrap();
            Indicators::new(unit, period, window, true, counts)
        };
        // 1 of 1 online (100%) and 1 of 99 (1.01%): the total is 2 of 100, 2%, not 50.5%.
        let members = vec![
            MemberFigures::issued(member("a", 1, 1), 2),
            MemberFigures::provisional(member("b", 99, 1)),
        ];
        let code = crate::UnitCode::parse("tinh").unwrap();
        let summary = SummaryIndicators::new(code, period, window, true, members);
        let p = summary.total.procedures;
        assert_eq!((p.received, p.online, p.direct), (100, 2, 98));
        assert_eq!(crate::notation::share(p.online, p.received), "2%");
        assert_eq!(
            summary.reported,
            Reported {
                members: 2,
                issued: 1
            }
        );
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["members"][1]["unit"], "b");
        assert_eq!(json["members"][1]["procedures"]["received"], 99);
        assert_eq!(
            (
                &json["members"][0]["revision"],
                &json["members"][0]["provisional"]
            ),
            (&serde_json::json!(2), &serde_json::json!(false))
        );
        assert_eq!(
            (
                &json["members"][1]["revision"],
                &json["members"][1]["provisional"]
            ),
            (&serde_json::Value::Null, &serde_json::json!(true))
        );
        assert_eq!(json["total"]["procedures"]["online"], 2);
        let round_trip: SummaryIndicators = serde_json::from_value(json).unwrap();
        assert_eq!(round_trip, summary);
    }
}
