//! `baocao import dossiers|documents --unit U FILE` (SPEC §3.6): a ward's past months, or a
//! ward with no live sync, loaded from the exports its systems print. Each row becomes the
//! record the live sync would have sent ([`rows`]): a dossier's row a DVCQG record (published
//! in `DongBoHoSoMC` bodies to the portal's exchange), a register's line the `document.signed`
//! an edXML package of the document gives (to the e-office exchange, `edxml.document`). The
//! same path as the live feeds and the same derived ids: importing a file twice adds nothing,
//! and a document both imported and received as a package counts once.
//!
//! Each row is checked here, with the reader ingest uses, so a refused row is reported with its
//! row number and reason (exit 7) while every other row is published; everything is published
//! with confirms, in order, and a failure midway (exit 1) leaves what was published, which a
//! second run does not count again.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use broker::{OutgoingMessage, Publisher, SOURCE_HEADER, text_headers};
use chrono::Utc;
use domain::UnitCode;
use domain::dvcqg;
use domain::edxml::{self, Business, Document};
use serde_json::{Value, json};

use crate::config::Settings;
use crate::entry::Declined;

pub mod rows;
pub mod table;

pub use rows::Kind;

/// What the imported bodies name as their source (`x-baocao-source`).
pub const SOURCE: &str = "import";

/// Records per DVCQG body, as one-stop systems batch their syncs.
const RECORDS_PER_BODY: usize = 100;

/// Messages published before waiting for their confirms.
const MESSAGES_PER_CONFIRM: usize = 200;

/// The rows of a file, read and mapped.
#[derive(Debug, Default)]
pub struct Mapped {
    /// Data rows read (below the header, not empty).
    pub rows: usize,
    /// The messages to publish: routing key and body.
    pub messages: Vec<(String, Vec<u8>)>,
    /// How many records the messages hold.
    pub records: usize,
    /// Each refused row: its number, reason and why.
    pub refused: Vec<(u64, String, String)>,
    /// The header's row.
    pub header_row: u64,
}

/// `baocao import`.
pub async fn import(
    settings: &Settings,
    kind: Kind,
    unit: &UnitCode,
    file: &Path,
) -> anyhow::Result<()> {
    let mapped = map_file(settings, kind, unit, file)?;
    println!(
        "{}: header on row {}, {} rows read",
        file.display(),
        mapped.header_row,
        mapped.rows
    );
    for (row, reason, detail) in &mapped.refused {
        println!(
            "row {row} refused: {reason}: {}",
            domain::text::escape_controls(detail)
        );
    }
    let published = publish(settings, kind, &mapped).await?;
    println!(
        "{published} records published in {} messages, {} rows refused",
        mapped.messages.len(),
        mapped.refused.len()
    );
    if !mapped.refused.is_empty() {
        return Err(Declined::new(
            "rows_refused",
            format!(
                "{} of {} rows were refused (each is listed above); every other row was published",
                mapped.refused.len(),
                mapped.rows
            ),
        )
        .into());
    }
    Ok(())
}

/// Reads and maps `file` for `unit`.
pub fn map_file(
    settings: &Settings,
    kind: Kind,
    unit: &UnitCode,
    file: &Path,
) -> anyhow::Result<Mapped> {
    let config = &settings.file;
    let profile = config
        .unit(unit.as_str())
        .with_context(|| format!("unit '{unit}' is not configured"))?;
    let rows = table::read(file)?;
    let extra = match kind {
        Kind::Dossiers => &config.import.dossiers,
        Kind::Documents => &config.import.documents,
    };
    let (at, header) = rows::find_header(&rows, kind, extra)
        .with_context(|| format!("{} has no header row", file.display()))?;
    let data: Vec<&table::Row> = rows[at + 1..]
        .iter()
        .filter(|row| row.cells.iter().any(|cell| !cell.is_empty()))
        .collect();
    let mut mapped = Mapped {
        rows: data.len(),
        header_row: header.row,
        ..Mapped::default()
    };
    match kind {
        Kind::Dossiers => {
            let agency = profile.agency_code.as_deref().with_context(|| {
                format!("unit '{unit}' has no agency_code, which names its dossiers' ids")
            })?;
            map_dossiers(&mut mapped, &header, &data, agency, &config.known_units())?;
        }
        Kind::Documents => map_documents(&mut mapped, &header, &data, unit),
    }
    Ok(mapped)
}

fn map_dossiers(
    mapped: &mut Mapped,
    header: &rows::Header,
    data: &[&table::Row],
    agency: &str,
    units: &domain::KnownUnits,
) -> anyhow::Result<()> {
    let envelope = json!({"service": dvcqg::SYNC_SERVICE, "madonvi": agency, "data": []});
    let body = dvcqg::read_envelope(envelope, units)
        .map_err(|rejection| anyhow::anyhow!("{rejection}"))?;
    let now = Utc::now();
    let mut records = Vec::new();
    for row in data {
        let record = match header.dossier_record(row) {
            Ok(record) => Value::Object(record),
            Err(refusal) => {
                mapped
                    .refused
                    .push((row.number, refusal.reason, refusal.detail));
                continue;
            }
        };
        match dvcqg::record_events(&body, &record, now) {
            Ok(_) => records.push(record),
            Err(refused) => mapped.refused.push((
                row.number,
                refused.rejection.reason(),
                refused.rejection.to_string(),
            )),
        }
    }
    let routing_key = format!("{}{}", dvcqg::ROUTING_PREFIX, dvcqg::SYNC_SERVICE);
    mapped.records = records.len();
    mapped.messages = records
        .chunks(RECORDS_PER_BODY)
        .map(|chunk| (routing_key.clone(), body.with_records(chunk)))
        .collect();
    Ok(())
}

fn map_documents(
    mapped: &mut Mapped,
    header: &rows::Header,
    data: &[&table::Row],
    unit: &UnitCode,
) {
    let now = Utc::now();
    for row in data {
        let line = header
            .document_line(row)
            .and_then(|(number, date, digital)| {
                let document = Document {
                    unit: unit.clone(),
                    agency: None,
                    number,
                    date,
                    digital,
                    business: Business::New,
                    attachments: (0, 0),
                };
                edxml::check_document(&document, now).map_err(|rejection| rows::Refusal {
                    reason: rejection.reason(),
                    detail: rejection.to_string(),
                })?;
                Ok(document)
            });
        match line {
            Ok(document) => {
                let event = edxml::document_event(&document, "register");
                mapped.messages.push((
                    edxml::DOCUMENT_ROUTING_KEY.to_owned(),
                    event.body.into_bytes(),
                ));
                mapped.records += 1;
            }
            Err(refusal) => mapped
                .refused
                .push((row.number, refusal.reason, refusal.detail)),
        }
    }
}

/// Publishes the messages in order, with confirms, showing progress on a terminal.
async fn publish(settings: &Settings, kind: Kind, mapped: &Mapped) -> anyhow::Result<usize> {
    if mapped.messages.is_empty() {
        return Ok(0);
    }
    let topology = &settings.file.broker;
    let exchange = match kind {
        Kind::Dossiers => &topology.portal_exchange,
        Kind::Documents => &topology.eoffice_exchange,
    };
    let connection = broker::connect(settings.env.amqp_url.expose(), "baocao-import").await?;
    let setup = connection
        .create_channel()
        .await
        .context("Failed to open a channel")?;
    broker::declare(&setup, topology).await?;
    let publisher = Publisher::open(&connection).await?;
    let headers = text_headers(&[(SOURCE_HEADER, SOURCE)]);
    let mut progress = Progress::new(mapped.messages.len());
    let mut sent = 0;
    for chunk in mapped.messages.chunks(MESSAGES_PER_CONFIRM) {
        let messages = chunk
            .iter()
            .map(|(routing_key, body)| OutgoingMessage {
                exchange,
                routing_key,
                body,
                headers: Some(headers.clone()),
            })
            .collect();
        publisher.publish_confirmed(messages).await.with_context(|| {
            format!(
                "Failed to publish after {sent} of {} messages (those are kept; running the import again is safe)",
                mapped.messages.len()
            )
        })?;
        sent += chunk.len();
        progress.show(sent);
    }
    progress.finish();
    broker::close(&connection, "done").await;
    Ok(mapped.records)
}

/// A progress bar on standard error, when it is a terminal and there is enough to wait for.
struct Progress {
    total: usize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            shown: total > MESSAGES_PER_CONFIRM && std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, done: usize) {
        if self.shown {
            let width = 40;
            let filled = done * width / self.total.max(1);
            eprint!(
                "\r[{}{}] {done}/{} messages",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total
            );
        }
    }

    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}
