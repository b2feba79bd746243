//! The entry point shared by the `baocao` binary and the test harness's copy of it, and the
//! exit statuses a script or a cron job can test.

use clap::Parser;

use crate::cli::{
    Cli, Command, DeadLetterCommand, ImportArgs, ImportKind, NarrativeCommand, ReportCommand,
};
use crate::config::Settings;
use crate::narrative;
use crate::reports;
use crate::{commands, run, telemetry};

/// The exit statuses besides 0 (done) and 2 (the command line is wrong, from clap): 1 for an
/// error, and one for each outcome that did nothing on purpose. The API answers the same
/// outcomes with the same codes (`already_sent`, …) in its error body.
pub const EXIT_STATUSES: [(&str, u8); 8] = [
    ("error", 1),
    ("already_sent", 3),
    ("window_open", 4),
    ("no_events", 5),
    ("stale_revision", 6),
    ("rows_refused", 7),
    ("signing_unavailable", 8),
    ("items_not_kept", 9),
];

/// A command that did nothing, on purpose, for a reason a script may want to tell apart from
/// an error: its exit status is its code's in [`EXIT_STATUSES`].
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Declined {
    code: &'static str,
    message: String,
}

impl Declined {
    /// The outcome `code` (one of [`EXIT_STATUSES`]) with its explanation.
    pub fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }

    /// The exit status of this outcome.
    pub fn status(&self) -> u8 {
        EXIT_STATUSES
            .iter()
            .find(|(code, _)| *code == self.code)
            .map_or(1, |(_, status)| *status)
    }
}

/// Parses the command line, runs the command and returns the exit status: 0 on success,
/// otherwise the status of [`EXIT_STATUSES`] with a one-line message on standard error.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let outcome = Settings::load()
        .map_err(anyhow::Error::from)
        .and_then(|settings| {
            let runtime = tokio::runtime::Runtime::new()?;
            let outcome = runtime.block_on(execute(settings, cli.command));
            // Everything that matters has been committed, acknowledged or closed by now; do not
            // let a background task of a client library (an I/O loop still winding down) keep
            // the process from exiting.
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            outcome
        });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", format!("{error:#}").replace('\n', " "));
            let status = error.downcast_ref::<Declined>().map_or(1, Declined::status);
            std::process::ExitCode::from(status)
        }
    }
}

async fn execute(settings: Settings, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run { target } => run::run(settings, target).await,
        Command::Migrate => commands::migrate(&settings).await,
        Command::Report(command) => report(&settings, command).await,
        Command::Sim(args) => commands::simulate(&settings, &args).await,
        Command::DeadLetters(DeadLetterCommand::List { limit }) => {
            commands::dead_letters_list(&settings, limit).await
        }
        Command::DeadLetters(DeadLetterCommand::Replay) => {
            commands::dead_letters_replay(&settings).await
        }
        Command::Import(ImportArgs { kind, unit, file }) => {
            let kind = match kind {
                ImportKind::Dossiers => crate::import::Kind::Dossiers,
                ImportKind::Documents => crate::import::Kind::Documents,
            };
            crate::import::import(&settings, kind, &unit, &file).await
        }
    }
}

async fn report(settings: &Settings, command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Show {
            unit,
            period,
            format,
            revision,
            draft,
            output,
        } => {
            let which = match (draft, revision) {
                (true, _) => reporter::show::Which::Draft,
                (false, Some(revision)) => reporter::show::Which::Revision(revision),
                (false, None) => reporter::show::Which::Latest,
            };
            let show = commands::Show {
                unit: &unit,
                period,
                format: format.into(),
                which,
            };
            commands::report_show(settings, show, output.as_deref()).await
        }
        ReportCommand::Send {
            period,
            force,
            replaces,
        } => {
            let resend = if force {
                reporter::job::Resend::Correction { replaces }
            } else {
                reporter::job::Resend::No
            };
            reports::send(settings, &period, resend).await
        }
        ReportCommand::Items {
            period,
            figure,
            revision,
            format,
            output,
        } => {
            let asked = reports::ItemsAsked {
                figure: &figure,
                revision,
                format,
            };
            reports::items(settings, &period, asked, output.as_deref()).await
        }
        ReportCommand::Status { unit, period } => {
            reports::status(settings, unit.as_ref(), period).await
        }
        ReportCommand::Narrative(command) => match command {
            NarrativeCommand::Show(args) => narrative::show(settings, &args).await,
            NarrativeCommand::Set {
                period,
                field,
                texts,
                file,
                append,
                empty,
            } => {
                let paragraphs = narrative::paragraphs(texts, file.as_deref(), empty)?;
                narrative::set(settings, &period, &field, paragraphs, append).await
            }
            NarrativeCommand::Reset { period, field } => {
                narrative::reset(settings, &period, field.as_deref()).await
            }
        },
    }
}
