//! The report: a unit's indicators for one period rendered as the official document "Báo cáo
//! Kết quả Chuyển đổi số" (SPEC §6), in text, HTML, DOCX and PDF.
//!
//! - [`content`]: everything a report says, gathered before any format is rendered; it is the
//!   templates' context.
//! - [`templates`]: where templates come from (built in, or overridden per deployment and per
//!   unit, and how far a template's names reach) and the minijinja environment with the
//!   report's functions; [`check_overrides`] renders a unit's overrides once at start-up.
//! - [`body`]: the body template's output as blocks (headings and paragraphs), which every
//!   format renders the same way.
//! - [`figures`]: what a report is computed from: a unit's indicators, or a summary's members.
//! - [`items`]: the items behind each figure (SPEC §5.1): now or as a revision counted them,
//!   their columns, days late, CSV and workbook.
//! - [`compose`]: reading a report's inputs from the store.
//! - [`job`]: issuing a period's report: freeze, number, render, store, queue the email.
//! - [`show`]: a period's report as sent, or a draft rendered now.
//! - [`status`]: each period's revisions and what became of their messages.
//! - [`narrative`]: a period's narrative paragraphs and an officer's edits of them.
//! - [`trend`]: the main shares of the last months, for the dashboard's chart.
//! - [`sender`]: the email outbox's sender (SMTP through lettre, or `.eml` files).
//! - [`smtp`]: one exchange with the SMTP server, bounded as a whole; credentials only over TLS.
//! - [`outbox`]: the outbox's own loop, a few messages at a time, apart from the scheduler.
//! - [`signature`]: one unit's signing key, and signing an issued revision's PDF.
//! - [`certificates`]: every signing unit's certificate as last read: held when it cannot be
//!   used, read again when its file is replaced.
//! - [`scheduler`]: which periods are due, and the scheduler's step.
//! - [`state`]: where a period's report stands: the one judgement that `report status`, the
//!   API and the department's view show.
//! - [`service`]: the reporter target: the scheduler's loop, and the outbox's beside it.
//! - [`docx`] and [`pdf`]: the two page formats in the layout of Nghị định 30/2020/NĐ-CP.
//! - [`xlsx`]: the national form Biểu II.06a and every figure as a workbook.
//!
//! Rendering itself is pure: [`compose`] reads the inputs, and the same inputs give the same
//! bytes.

pub mod body;
pub mod certificates;
pub mod compose;
pub mod content;
pub mod docx;
pub mod figures;
pub mod items;
pub mod job;
pub mod narrative;
pub mod outbox;
mod overrides;
pub mod pdf;
pub mod scheduler;
pub mod sender;
pub mod service;
pub mod show;
pub mod signature;
pub mod smtp;
pub mod state;
pub mod status;
pub mod templates;
pub mod trend;
pub mod xlsx;

use serde::Serialize;

pub use body::{Block, BlockKind};
pub use content::{ReportContent, ReportInputs};
pub use overrides::check_overrides;
pub use templates::TemplateSource;

/// The formats a report is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The indicators document of SPEC §5.
    Json,
    /// Plain text, laid out as the reference report.
    Text,
    /// An HTML page: the email body and the dashboard's preview.
    Html,
    /// An editable Word document.
    Docx,
    /// A PDF with its fonts embedded.
    Pdf,
    /// A workbook: the national form Biểu II.06a and every figure (SPEC §12).
    Xlsx,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "txt",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
        }
    }

    /// The MIME type.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Text => "text/plain; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// Every name [`Format::parse`] takes (`txt` is another name for `text`).
    pub const NAMES: [&'static str; 7] = ["html", "text", "txt", "json", "docx", "pdf", "xlsx"];

    /// The format named `name` (`json`, `text` or `txt`, `html`, `docx`, `pdf`, `xlsx`).
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "json" => Format::Json,
            "text" | "txt" => Format::Text,
            "html" => Format::Html,
            "docx" => Format::Docx,
            "pdf" => Format::Pdf,
            "xlsx" => Format::Xlsx,
            other => {
                return Err(format!(
                    "unknown format '{other}': use json, text, html, docx, pdf or xlsx"
                ));
            }
        })
    }

    /// Whether the format is a file to download rather than a page to read.
    pub fn is_attachment(self) -> bool {
        matches!(self, Format::Docx | Format::Pdf | Format::Xlsx)
    }
}

/// A report that could not be rendered: a template with an error, most likely an edited one.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A minijinja template failed.
    #[error("template {name}: {detail}")]
    Template {
        /// The template, e.g. `body.j2`.
        name: String,
        /// What went wrong, with the line.
        detail: String,
    },
    /// The Typst page template failed.
    #[error("PDF template report.typ: {0}")]
    Typeset(String),
    /// The DOCX package could not be written.
    #[error("{0}")]
    Docx(String),
    /// The indicators could not be written as JSON.
    #[error("{0}")]
    Json(String),
    /// The workbook could not be written.
    #[error("XLSX: {0}")]
    Xlsx(String),
}

/// The context of the frame templates: the content and the body's blocks.
#[derive(Serialize)]
struct Page<'a> {
    #[serde(flatten)]
    content: &'a ReportContent,
    body: &'a [Block],
}

/// Renders reports for one unit from its templates.
pub struct Renderer {
    source: TemplateSource,
    pub(crate) unit: String,
    env: minijinja::Environment<'static>,
}

impl Renderer {
    /// A renderer for `unit`, with templates from `source`.
    pub fn new(source: TemplateSource, unit: &str) -> Self {
        let env = templates::environment(&source, unit);
        Self {
            source,
            unit: unit.to_owned(),
            env,
        }
    }

    /// The report's body as blocks: a unit's, or a summary's with its members' table. A
    /// directive the report does not draw (`@members` in a ward's narrative, stored before
    /// narratives were checked for it) is printed as its text and logged, never an error that
    /// would fail the report at every scheduled try.
    pub fn body(&self, content: &ReportContent) -> Result<Vec<Block>, RenderError> {
        let (blocks, strays) = self.body_and_strays(content)?;
        for name in strays {
            tracing::warn!(unit = %self.unit, directive = %name,
                "a paragraph '@{name}' means nothing in this report: printed as text");
        }
        Ok(blocks)
    }

    /// The body's blocks, and the directives among them that the report does not draw.
    pub(crate) fn body_and_strays(
        &self,
        content: &ReportContent,
    ) -> Result<(Vec<Block>, Vec<String>), RenderError> {
        let text = self.render_template(body_template(content), content)?;
        let kind = match content.summary {
            Some(_) => domain::profile::IssuerKind::Summary,
            None => domain::profile::IssuerKind::Unit,
        };
        Ok(body::drawable(body::parse(&text), kind))
    }

    /// Renders `content` in `format`.
    pub fn render(&self, content: &ReportContent, format: Format) -> Result<Vec<u8>, RenderError> {
        if format == Format::Pdf {
            return Ok(self.typeset(content)?.pdf); // measured there
        }
        let started = std::time::Instant::now();
        let rendered = self.render_unmeasured(content, format);
        metrics::global().observe_render(format.extension(), started.elapsed());
        rendered
    }

    fn render_unmeasured(
        &self,
        content: &ReportContent,
        format: Format,
    ) -> Result<Vec<u8>, RenderError> {
        match format {
            Format::Json => {
                let mut json = serde_json::to_vec_pretty(&content.figures)
                    .map_err(|error| RenderError::Json(error.to_string()))?;
                json.push(b'\n');
                Ok(json)
            }
            Format::Text => Ok(self.render_frame(templates::TEXT, content)?.into_bytes()),
            Format::Html => Ok(self.render_frame(templates::HTML, content)?.into_bytes()),
            Format::Docx => docx::build(content, &self.body(content)?).map_err(RenderError::Docx),
            Format::Pdf => Ok(self.typeset_unmeasured(content)?.pdf),
            Format::Xlsx => {
                xlsx::of_report(content).map_err(|error| RenderError::Xlsx(error.to_string()))
            }
        }
    }

    /// The PDF, with where its visible signature is, if it has one.
    pub fn typeset(&self, content: &ReportContent) -> Result<pdf::Typeset, RenderError> {
        let started = std::time::Instant::now();
        let typeset = self.typeset_unmeasured(content);
        metrics::global().observe_render(Format::Pdf.extension(), started.elapsed());
        typeset
    }

    fn typeset_unmeasured(&self, content: &ReportContent) -> Result<pdf::Typeset, RenderError> {
        let blocks = self.body(content)?;
        let page = Page {
            content,
            body: &blocks,
        };
        let (template, _) = self
            .source
            .load(&self.unit, templates::TYPST)
            .map_err(|error| template_error(templates::TYPST, &error))?;
        let data =
            serde_json::to_vec(&page).map_err(|error| RenderError::Typeset(error.to_string()))?;
        pdf::typeset(&template, data).map_err(RenderError::Typeset)
    }

    /// A frame template (text or HTML) around the body's blocks.
    fn render_frame(&self, name: &str, content: &ReportContent) -> Result<String, RenderError> {
        let blocks = self.body(content)?;
        let page = Page {
            content,
            body: &blocks,
        };
        self.render_template(name, &page)
    }

    fn render_template(&self, name: &str, context: impl Serialize) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(context))
            .map_err(|error| template_error(name, &error))
    }
}

/// The body template of `content`'s report: a unit's, or a summary's.
pub(crate) fn body_template(content: &ReportContent) -> &'static str {
    match content.summary {
        Some(_) => templates::SUMMARY_BODY,
        None => templates::BODY,
    }
}

/// The error as the template where it happened tells it: for an error within an included,
/// imported or extended template, that template's name and line rather than the include's.
fn template_error(name: &str, error: &minijinja::Error) -> RenderError {
    let mut innermost = error;
    while let Some(cause) = std::error::Error::source(innermost)
        .and_then(|source| source.downcast_ref::<minijinja::Error>())
    {
        innermost = cause;
    }
    let line = innermost
        .line()
        .map_or(String::new(), |line| format!("line {line}: "));
    let mut detail = format!("{line}{}", innermost.kind());
    if let Some(text) = innermost.detail() {
        detail.push_str(": ");
        detail.push_str(text);
    }
    RenderError::Template {
        name: innermost.name().unwrap_or(name).to_owned(),
        detail,
    }
}

/// The shipped `baocao.toml`'s ward, as `code`: a complete profile for the tests.
#[cfg(test)]
pub(crate) fn shipped_unit(code: &str) -> domain::profile::UnitProfile {
    #[derive(serde::Deserialize)]
    struct Shipped {
        unit: Vec<domain::profile::UnitProfile>,
    }
    let text = include_str!("../../../baocao.toml");
    let shipped: Shipped = toml::from_str(text).expect("the shipped configuration");
    let mut profile = shipped.unit.into_iter().next().expect("a unit");
    profile.code = domain::UnitCode::parse(code).expect("a code");
    profile
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn every_format_has_a_name_and_every_name_a_format() {
        let formats: Vec<Format> = Format::NAMES
            .iter()
            .map(|name| Format::parse(name).expect("a format"))
            .collect();
        for format in [
            Format::Json,
            Format::Text,
            Format::Html,
            Format::Docx,
            Format::Pdf,
            Format::Xlsx,
        ] {
            assert!(formats.contains(&format), "{format:?} has no name");
        }
        assert!(Format::parse("xls").is_err());
    }
}
