//! `baocao report narrative show | set | reset`: an officer's edits of one period's narrative
//! paragraphs. The configured text is the default; an edit replaces one field for one period.

use std::path::Path;

use anyhow::Context;
use domain::profile::{NARRATIVE_FIELDS, UnitProfile, check_paragraphs, split_paragraphs};

use crate::cli::PeriodArgs;
use crate::config::Settings;

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
    check_paragraphs(&paragraphs).map_err(anyhow::Error::msg)?;
    Ok(paragraphs)
}

/// `report narrative show`.
pub async fn show(settings: &Settings, args: &PeriodArgs) -> anyhow::Result<()> {
    let profile = profile(settings, args)?;
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let edits = store::narrative::for_period(&pool, &args.unit, args.period).await?;
    let narrative = reporter::compose::with_edits(&profile.narrative, &edits);
    for (field, paragraphs) in narrative.fields() {
        let origin = if edits.iter().any(|edit| edit.field == field) {
            format!("edited for {}", args.period)
        } else {
            "configured".to_owned()
        };
        println!("[{field}] ({origin})");
        for paragraph in paragraphs {
            println!("  {paragraph}");
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
    let profile = profile(settings, args)?;
    known_field(field)?;
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let count = if append {
        let mut narrative = profile.narrative.clone();
        let configured = narrative
            .field_mut(field)
            .context("the field was checked above")?;
        store::narrative::append(
            &pool,
            &args.unit,
            args.period,
            field,
            configured,
            &paragraphs,
        )
        .await?
    } else {
        store::narrative::replace(&pool, &args.unit, args.period, field, &paragraphs).await?;
        paragraphs.len()
    };
    println!(
        "{field} of {} {} now has {count} paragraph(s)",
        args.unit, args.period
    );
    Ok(())
}

/// `report narrative reset`.
pub async fn reset(
    settings: &Settings,
    args: &PeriodArgs,
    field: Option<&str>,
) -> anyhow::Result<()> {
    profile(settings, args)?;
    if let Some(field) = field {
        known_field(field)?;
    }
    let pool = store::db::connect_and_migrate(settings.env.database_url.expose(), 1).await?;
    let reset = store::narrative::reset(&pool, &args.unit, args.period, field).await?;
    println!(
        "{reset} field(s) of {} {} back to the configured text",
        args.unit, args.period
    );
    Ok(())
}

fn profile<'a>(settings: &'a Settings, args: &PeriodArgs) -> anyhow::Result<&'a UnitProfile> {
    settings
        .file
        .unit(args.unit.as_str())
        .with_context(|| format!("unit '{}' is not configured", args.unit))
}

fn known_field(field: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        NARRATIVE_FIELDS.contains(&field),
        "unknown narrative field '{field}'; the fields are {}",
        NARRATIVE_FIELDS.join(", ")
    );
    Ok(())
}
