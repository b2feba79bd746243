//! The entry point shared by the `baocao` binary and the test harness's copy of it.

use clap::Parser;

use crate::cli::{Cli, Command, DeadLetterCommand, NarrativeCommand, ReportCommand};
use crate::config::Settings;
use crate::narrative;
use crate::reports;
use crate::{commands, run, telemetry};

/// Parses the command line, runs the command and returns the exit status: 0 on success, 1
/// with a one-line error on standard error otherwise.
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
            std::process::ExitCode::FAILURE
        }
    }
}

async fn execute(settings: Settings, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run { target } => run::run(settings, target).await,
        Command::Migrate => commands::migrate(&settings).await,
        Command::Report(ReportCommand::Show {
            unit,
            period,
            format,
            output,
        }) => commands::report_show(&settings, &unit, period, format, output.as_deref()).await,
        Command::Report(ReportCommand::Send { period, force }) => {
            reports::send(&settings, &period, force).await
        }
        Command::Report(ReportCommand::Status { unit, period }) => {
            reports::status(&settings, unit.as_ref(), period).await
        }
        Command::Report(ReportCommand::Narrative(command)) => match command {
            NarrativeCommand::Show(args) => narrative::show(&settings, &args).await,
            NarrativeCommand::Set {
                period,
                field,
                texts,
                file,
                append,
                empty,
            } => {
                let paragraphs = narrative::paragraphs(texts, file.as_deref(), empty)?;
                narrative::set(&settings, &period, &field, paragraphs, append).await
            }
            NarrativeCommand::Reset { period, field } => {
                narrative::reset(&settings, &period, field.as_deref()).await
            }
        },
        Command::Sim(args) => commands::simulate(&settings, &args).await,
        Command::DeadLetters(DeadLetterCommand::List { limit }) => {
            commands::dead_letters_list(&settings, limit).await
        }
        Command::DeadLetters(DeadLetterCommand::Replay) => {
            commands::dead_letters_replay(&settings).await
        }
    }
}
