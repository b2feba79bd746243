//! The rules of baocao, free of I/O.
//!
//! - [`unit`]: the code of a reporting unit (a ward) and the set of configured units.
//! - [`period`]: reporting periods (`2026-05`) and their windows, the 15th-to-15th cut-off of
//!   Nghị định 09/2019/NĐ-CP in the deployment's time zone.
//! - [`profile`]: what a unit says about itself in its report (names, signer, narrative).
//! - [`schedule`]: when a period's report is dated and sent.
//! - [`event`]: the events upstream systems publish, as parsed types.
//! - [`dvcqg`]: the DVCQG dossier sync (`DongBoHoSoMC`) as the one-stop system sends it: the
//!   table of statuses and channels, and its records as events.
//! - [`figures`]: the figures of SPEC §5, each the count of a list of items: the one list.
//! - [`edxml`]: edXML packages of the national document axis as the e-office system sends
//!   them, read as a stream, and the one `document.signed` a unit's outgoing package gives.
//! - [`feeds`]: the office's hours, and when a source that sends nothing in them is silent.
//! - [`parse`]: turning a message body into an [`event::Event`] or a [`parse::Rejection`] whose
//!   reason code is what the dead-letter header carries.
//! - [`indicators`]: the indicators document of a unit and period (SPEC §5).
//! - [`form`]: the national form II.06a's columns, from the indicators.
//! - [`notation`]: how the report writes counts, shares, dates and document numbers.
//! - [`text`]: text from outside made safe for the database, XML, headers and terminals.
//!
//! Everything here is deterministic: the clock and the time zone are parameters.

pub mod dvcqg;
pub mod edxml;
pub mod event;
pub mod feeds;
pub mod figures;
pub mod form;
pub mod indicators;
pub mod notation;
pub mod parse;
pub mod period;
pub mod profile;
pub mod schedule;
pub mod text;
pub mod unit;

pub use event::{Channel, Event, EventKind, Source};
pub use indicators::{Counts, Indicators, MemberFigures, SummaryIndicators};
pub use parse::{ParsedEvent, Rejection, parse_event, parse_event_from};
pub use period::{Period, Window};
pub use unit::{KnownUnits, UnitCode};
