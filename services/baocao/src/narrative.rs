//! `baocao report narrative show | set | reset`: an officer's edits of one period's narrative
//! paragraphs. The configured text is the default; an edit replaces one field for one period.

use std::path::Path;

use anyhow::Context;
use domain::profile::{NarrativeField, split_paragraphs};
use reporter::narrative::{Applied, Change};

use crate::cli::PeriodArgs;
use crate::config::Settings;
use crate::reports::profile;

/// The paragraphs given on the command line: each `--text`, or the file's blocks separated by
/// blank lines; none with `--empty`. A bullet mark pasted with a paragraph is dropped, since
/// the template adds its own.
pub fn paragraphs(
    texts: Vec<String>,
    file: Option<&Path>,
    empty: bool,
) -> anyhow::Result<Vec<String>> {
    if empty {
        return Ok(Vec::new());
    }
    let paragraphs = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            split_paragraphs(&text)
        }
        None => texts
            .iter()
            .flat_map(|text| split_paragraphs(text))
            .collect(),
    };
    anyhow::ensure!(
        !paragraphs.is_empty(),
        "no paragraphs given: use --text (repeatable), --file, or --empty to leave the field empty"
    );
    Ok(paragraphs)
}

/// `report narrative show`.
pub async fn show(settings: &Settings, args: &PeriodArgs) -> anyhow::Result<()> {
    let profile = profile(settings, &args.unit)?;
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    for text in reporter::narrative::fields(&pool, profile, args.period).await? {
        let origin = if text.edited {
            format!("edited for {}", args.period)
        } else {
            "configured".to_owned()
        };
        println!("[{}] ({origin})", text.field);
        for paragraph in text.paragraphs {
            // Stored before edits were checked, a paragraph may hold control characters.
            println!("  {}", domain::text::escape_controls(&paragraph));
        }
    }
    Ok(())
}

/// `report narrative set`.
pub async fn set(
    settings: &Settings,
    args: &PeriodArgs,
    field: &str,
    paragraphs: Vec<String>,
    append: bool,
) -> anyhow::Result<()> {
    let field = NarrativeField::parse(field).map_err(anyhow::Error::msg)?;
    let change = if append {
        Change::Append(field, paragraphs)
    } else {
        Change::Replace(field, paragraphs)
    };
    match apply(settings, args, change).await? {
        Applied::Paragraphs(count) => println!(
            "{field} of {} {} now has {count} paragraph(s)",
            args.unit, args.period
        ),
        Applied::Reset(_) => {}
    }
    Ok(())
}

/// `report narrative reset`.
pub async fn reset(
    settings: &Settings,
    args: &PeriodArgs,
    field: Option<&str>,
) -> anyhow::Result<()> {
    let field = field
        .map(NarrativeField::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if let Applied::Reset(count) = apply(settings, args, Change::Reset(field)).await? {
        println!(
            "{count} field(s) of {} {} back to the configured text",
            args.unit, args.period
        );
    }
    Ok(())
}

async fn apply(settings: &Settings, args: &PeriodArgs, change: Change) -> anyhow::Result<Applied> {
    let profile = profile(settings, &args.unit)?;
    let kind = settings.file.kind(args.unit.as_str());
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let actor = crate::reports::cli_actor();
    Ok(reporter::narrative::apply(&pool, profile, kind, args.period, change, &actor).await?)
}
