//! A period's report as someone asks to see it (`report show`, the dashboard's preview and
//! downloads): the revision as sent when there is one, byte for byte what went out, else a
//! draft rendered now with the figures as of now and the number it would take.

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::Period;
use store::PgPool;
use store::reports::SentReport;

use crate::job::UnitJob;
use crate::{Format, Renderer, compose};

/// Which form of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The latest revision sent, or a draft if none was.
    Latest,
    /// This revision as sent.
    Revision(i32),
    /// A draft rendered now, even if a revision was sent.
    Draft,
}

/// A report in one format.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The file.
    pub bytes: Vec<u8>,
    /// The revision it is, or `None` for a draft.
    pub revision: Option<i32>,
}

/// `job`'s report for `period` in `format`; `None` when a revision was asked for that does not
/// exist.
pub async fn show(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    format: Format,
    which: Which,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Shown>> {
    let unit = &job.profile.code;
    let revision = match which {
        Which::Latest => None,
        Which::Revision(revision) => Some(revision),
        Which::Draft => return draft(pool, job, period, format, now).await.map(Some),
    };
    match store::reports::sent(pool, unit, period, revision).await? {
        Some(sent) => Ok(Some(Shown {
            revision: Some(sent.revision),
            bytes: as_sent(sent, format)?,
        })),
        None if revision.is_some() => Ok(None),
        None => draft(pool, job, period, format, now).await.map(Some),
    }
}

/// A revision's file in `format`, as it was stored when issued.
fn as_sent(sent: SentReport, format: Format) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        Format::Json => {
            let mut json = serde_json::to_vec_pretty(&sent.indicators)?;
            json.push(b'\n');
            json
        }
        Format::Text => sent.body_text.into_bytes(),
        Format::Html => sent.body_html.into_bytes(),
        Format::Docx => sent.docx,
        Format::Pdf => sent.pdf,
        Format::Xlsx => sent.xlsx.with_context(|| {
            format!(
                "revision {} was issued before workbooks were kept: it has no XLSX \
                 (a draft renders one now)",
                sent.revision
            )
        })?,
    })
}

/// A draft rendered now, off the runtime's threads: typesetting is CPU work.
async fn draft(
    pool: &PgPool,
    job: &UnitJob<'_>,
    period: Period,
    format: Format,
    now: DateTime<Utc>,
) -> anyhow::Result<Shown> {
    let content = compose::preview(pool, job, period, now).await?;
    let renderer = Renderer::new(job.templates.clone(), job.profile.code.as_str());
    let bytes = tokio::task::spawn_blocking(move || renderer.render(&content, format))
        .await
        .context("the rendering thread failed")??;
    Ok(Shown {
        bytes,
        revision: None,
    })
}
