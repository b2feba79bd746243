//! The command line (SPEC §9).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use domain::{Period, UnitCode};

/// baocao: the monthly digital-transformation report of a ward, from its systems' events.
#[derive(Debug, Parser)]
#[command(name = "baocao", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: one target, or all of them in one process.
    Run {
        /// Which part to run.
        #[arg(long, value_enum, default_value_t = Target::All)]
        target: Target,
    },
    /// Create the database if missing and apply the migrations.
    Migrate,
    /// Reports: show the indicators or the report of a period.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Publish simulated events, as the e-office system and the portal would.
    Sim(SimArgs),
    /// Messages that were rejected, with their reasons.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLetterCommand),
    /// Load a CSV or XLSX export (the one-stop system's dossier list, the e-office register of
    /// outgoing documents) through the broker: exit 7 if some row was refused (the others are
    /// published), 1 if the file or the broker fails; running it again is safe.
    Import(ImportArgs),
}

/// `baocao import dossiers|documents --unit U FILE`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// What the file lists.
    #[arg(value_enum)]
    pub kind: ImportKind,
    /// The unit whose export it is.
    #[arg(long, value_parser = parse_unit)]
    pub unit: UnitCode,
    /// The export: .xlsx, or .csv in UTF-8 or UTF-16 with a BOM, comma or semicolon separated.
    pub file: PathBuf,
}

/// What an export lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// The one-stop system's dossiers (Mã hồ sơ, Ngày tiếp nhận, Ngày hẹn trả, …).
    Dossiers,
    /// The register of outgoing documents (Số, ký hiệu, Ngày ban hành, Ký số).
    Documents,
}

/// A part of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Everything in one process (one ward on one machine).
    All,
    /// The queue consumers.
    Ingest,
    /// Closing windows, rendering and emailing reports.
    Reporter,
    /// The HTTP API and dashboard.
    Api,
}

/// `baocao report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Print the indicators or report of a unit and period: the revision as sent if there is
    /// one, else a draft with the figures as of now.
    Show {
        /// The unit's code, e.g. tri-qua.
        #[arg(long, value_parser = parse_unit)]
        unit: UnitCode,
        /// The period, YYYY-MM (the window from the 15th of the month before to the 15th).
        #[arg(long, value_parser = parse_period)]
        period: Period,
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// This revision as sent (default: the latest).
        #[arg(long, conflicts_with = "draft")]
        revision: Option<i32>,
        /// A draft with the figures as of now, even if a revision was sent.
        #[arg(long)]
        draft: bool,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Edit a period's narrative paragraphs before its report is sent.
    #[command(subcommand)]
    Narrative(NarrativeCommand),
    /// Issue a period's report now: freeze its figures, number it and queue one email per
    /// address. A period already sent is left alone unless --force sends a corrected revision.
    Send {
        /// The unit and period.
        #[command(flatten)]
        period: PeriodArgs,
        /// Send a new revision that replaces the one already sent.
        #[arg(long)]
        force: bool,
        /// With --force: the revision the correction replaces; refused (exit 6) if a later
        /// one was sent meanwhile, so that a repeated command sends one correction.
        #[arg(long, requires = "force")]
        replaces: Option<i32>,
    },
    /// The items a figure counts (dossiers, petitions, documents, articles): as the figures
    /// stand now, or with --revision as that issued revision counted them. Its length is the
    /// figure.
    Items {
        /// The unit (or summary) and period.
        #[command(flatten)]
        period: PeriodArgs,
        /// The figure's path in the indicators document, e.g. procedures.pending_overdue.
        #[arg(long)]
        figure: String,
        /// The items as this issued revision counted them (default: as the figures stand now).
        #[arg(long)]
        revision: Option<i32>,
        /// The output format.
        #[arg(long, value_enum, default_value_t = ItemsFormat::Text)]
        format: ItemsFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Each report revision with its number and the delivery state of each message.
    Status {
        /// Only this unit (default: all configured units).
        #[arg(long, value_parser = parse_unit)]
        unit: Option<UnitCode>,
        /// Only this period.
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
    },
}

/// `baocao report narrative …`: per-period edits of the configured narrative paragraphs.
#[derive(Debug, Subcommand)]
pub enum NarrativeCommand {
    /// Print the period's narrative, field by field, marking the edited fields.
    Show(PeriodArgs),
    /// Replace a field's paragraphs for the period, or add paragraphs to it.
    Set {
        #[command(flatten)]
        /// The unit and period.
        period: PeriodArgs,
        /// The field: legal_basis, propaganda, internal_it_before, internal_it_after,
        /// citizen_services_after, strengths, limitations_intro, limitations or proposals.
        #[arg(long)]
        field: String,
        /// A paragraph (repeat for several).
        #[arg(long = "text", conflicts_with = "file")]
        texts: Vec<String>,
        /// A UTF-8 file of paragraphs separated by blank lines.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Add the paragraphs after the field's current ones instead of replacing them.
        #[arg(long, conflicts_with = "empty")]
        append: bool,
        /// Leave the field empty for this period.
        #[arg(long, conflicts_with_all = ["texts", "file"])]
        empty: bool,
    },
    /// Drop the period's edits of one field (or of all), bringing back the configured text.
    Reset {
        #[command(flatten)]
        /// The unit and period.
        period: PeriodArgs,
        /// The field; all fields when left out.
        #[arg(long)]
        field: Option<String>,
    },
}

/// A unit and a period.
#[derive(Debug, clap::Args)]
pub struct PeriodArgs {
    /// The unit's code, e.g. tri-qua.
    #[arg(long, value_parser = parse_unit)]
    pub unit: UnitCode,
    /// The period, YYYY-MM.
    #[arg(long, value_parser = parse_period)]
    pub period: Period,
}

/// Output formats of `report items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ItemsFormat {
    /// A table for a terminal.
    Text,
    /// One header row, then one row per item.
    Csv,
    /// A workbook of one sheet.
    Xlsx,
}

/// Output formats of `report show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text for a terminal.
    Text,
    /// The indicators document of SPEC §5 (a summary's of §12).
    Json,
    /// HTML, as in the email body.
    Html,
    /// An editable Word document.
    Docx,
    /// A PDF for printing and filing.
    Pdf,
    /// A workbook: the national form Biểu II.06a and every figure.
    Xlsx,
}

impl From<Format> for reporter::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Json => reporter::Format::Json,
            Format::Text => reporter::Format::Text,
            Format::Html => reporter::Format::Html,
            Format::Docx => reporter::Format::Docx,
            Format::Pdf => reporter::Format::Pdf,
            Format::Xlsx => reporter::Format::Xlsx,
        }
    }
}

/// `baocao sim …`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// What to publish.
    #[arg(long, value_enum)]
    pub profile: Profile,
    /// The unit (seed, dvcqg: required; load: default all configured units).
    #[arg(long, value_parser = parse_unit)]
    pub unit: Option<UnitCode>,
    /// The period to fill (seed, dvcqg: required; province: default the last closed window, the
    /// period whose report is due).
    #[arg(long, value_parser = parse_period)]
    pub period: Option<Period>,
    /// How many events (load).
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// How many generated wards (province): the first N of the generated list, always the
    /// same codes.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=500))]
    pub units: u16,
    /// With --profile province: write the province's configuration to this file (the loaded
    /// configuration's ward repeated for each generated ward, and their summary) and publish
    /// nothing. Start baocao with BAOCAO_CONFIG set to it, then publish.
    #[arg(long, value_name = "PATH")]
    pub write_config: Option<PathBuf>,
    /// At most this many events a second (load); as fast as the broker takes them if absent.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// After publishing, wait up to this many seconds until every event is stored.
    #[arg(long)]
    pub wait: Option<u64>,
}

/// Simulation profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// The reference report's month.
    Seed,
    /// Synthetic load.
    Load,
    /// A plausible month for each of N generated wards of a province.
    Province,
    /// The reference month with its dossiers as the one-stop system's DVCQG sync sends them
    /// (the unit needs an agency_code); the report is the seed's.
    Dvcqg,
}

/// `baocao dead-letters …`.
#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// Show dead letters without removing them.
    List {
        /// Show at most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Re-publish every dead letter to where it first came from.
    Replay,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "'{text}' is not a rate: give events per second above 0, e.g. 500"
        )),
    }
}

fn parse_unit(text: &str) -> Result<UnitCode, String> {
    UnitCode::parse(text).map_err(|error| error.to_string())
}

fn parse_period(text: &str) -> Result<Period, String> {
    text.parse()
        .map_err(|error: domain::period::InvalidPeriod| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_must_be_a_positive_number() {
        assert_eq!(parse_rate("500"), Ok(500.0));
        for bad in ["0", "-5", "NaN", "inf", "fast"] {
            assert!(parse_rate(bad).is_err(), "{bad} was accepted");
        }
    }
}
