//! The `baocao` command. See `baocao --help` and README.md.

use clap::Parser;

use baocao::cli::{Cli, Command, DeadLetterCommand, ReportCommand};
use baocao::config::Settings;
use baocao::{commands, run, telemetry};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let outcome = Settings::load()
        .map_err(anyhow::Error::from)
        .and_then(|settings| {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(execute(settings, cli.command))
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
        Command::Sim(args) => commands::simulate(&settings, &args).await,
        Command::DeadLetters(DeadLetterCommand::List { limit }) => {
            commands::dead_letters_list(&settings, limit).await
        }
        Command::DeadLetters(DeadLetterCommand::Replay) => {
            commands::dead_letters_replay(&settings).await
        }
    }
}
