//! `POST /sync/edxml` (SPEC §3.5): an edXML package as the e-office system sends it on the
//! national document axis, with baocao as one more recipient. Packages carry their attachments
//! base64-encoded and reach tens of MiB, so the body is never held: its chunks go, as they
//! arrive, through a small channel to [`domain::edxml::read_package`] on a blocking thread,
//! which keeps only the header's few fields and what it has decoded of the attachment at hand
//! (64 KiB). The API then publishes the one `document.signed` the package gives (routing key
//! `edxml.document`), not the package, and answers once the broker has confirmed it. A status
//! message or an incoming document is accepted and publishes nothing.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use broker::{OutgoingMessage, SOURCE_HEADER, text_headers};
use domain::edxml::{self, Package};
use domain::feeds::Dialect;
use futures_lite::StreamExt;

use super::{SyncAnswer, answer, refused, unauthorized};
use crate::AppState;
use crate::routes::Shared;
use crate::sources;

/// The largest package accepted.
pub const MAX_PACKAGE_BYTES: u64 = 128 * 1024 * 1024;

/// How long a package may take to arrive: 128 MiB at about 280 KiB/s.
pub const PACKAGE_TIMEOUT: Duration = Duration::from_secs(480);

/// Chunks of the body in flight between the connection and the reader.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The reader's buffer.
const READ_BUFFER: usize = 64 * 1024;

/// Why the body stopped arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyProblem {
    TooLarge,
    TimedOut,
    Broken,
}

/// Receives an edXML package from a configured source.
#[utoipa::path(post, path = "/sync/edxml", tag = "sync",
    security(("bearer" = [])),
    request_body(content = String, content_type = "application/xml",
        description = "An edXML package (QCVN 102:2016/BTTTT): `edXMLEnvelope` with `edXMLHeader` and base64 attachments (proto/edxml/)"),
    responses(
        (status = 200, description = "The package's document published and confirmed, or a status message or incoming document accepted and not counted", body = SyncAnswer),
        (status = 400, description = "Not an edXML package, malformed XML, a missing `OrganId`, number or date, or an agency that is no unit's", body = SyncAnswer),
        (status = 401, description = "No token, or not a source's that may send this format", body = SyncAnswer),
        (status = 408, description = "The body did not arrive in time", body = SyncAnswer),
        (status = 413, description = "The body is over 128 MiB", body = SyncAnswer),
        (status = 415, description = "Not `application/xml` or `text/xml`", body = SyncAnswer),
        (status = 503, description = "The broker is unavailable; send again", body = SyncAnswer)))]
pub async fn edxml(State(state): Shared, headers: HeaderMap, body: Body) -> Response {
    let presented = crate::auth::bearer(&headers).unwrap_or_default();
    let Some(source) = sources::find(&state.config.sources, Dialect::Edxml, presented) else {
        return unauthorized();
    };
    if !is_xml(&headers) {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/xml",
        );
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|bytes| bytes > MAX_PACKAGE_BYTES) {
        return too_large();
    }
    let (chunks, receiver) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let problem = Arc::new(Mutex::new(None));
    let feeding = tokio::spawn(feed(body, chunks));
    let units = state.config.known_units.clone();
    let reader = ChunkReader {
        chunks: receiver,
        current: Bytes::new(),
        problem: Arc::clone(&problem),
    };
    let read = tokio::task::spawn_blocking(move || {
        let input = std::io::BufReader::with_capacity(READ_BUFFER, reader);
        edxml::read_package(input, &units, chrono::Utc::now())
    })
    .await;
    feeding.abort();
    let body_problem = *problem.lock().unwrap_or_else(|p| p.into_inner());
    match (body_problem, read) {
        (Some(BodyProblem::TooLarge), _) => too_large(),
        (Some(BodyProblem::TimedOut), _) => refused(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                PACKAGE_TIMEOUT.as_secs()
            ),
        ),
        (Some(BodyProblem::Broken), _) => {
            refused(StatusCode::BAD_REQUEST, "the body could not be read whole")
        }
        (None, Err(error)) => {
            tracing::error!(%error, "the edXML reader failed");
            refused(StatusCode::BAD_REQUEST, "the package could not be read")
        }
        (None, Ok(Err(rejection))) => refused(StatusCode::BAD_REQUEST, rejection.to_string()),
        (None, Ok(Ok(package))) => publish(&state, &source.name, package).await,
    }
}

fn too_large() -> Response {
    refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the package could not be read whole: at most 128 MiB is accepted",
    )
}

fn is_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/xml") || mime.eq_ignore_ascii_case("text/xml")
        })
}

/// Sends the body's chunks to the reader as they arrive, within the size and time limits; a
/// problem is sent instead of the rest. Ends when the reader stops taking chunks.
async fn feed(body: Body, chunks: tokio::sync::mpsc::Sender<Result<Bytes, BodyProblem>>) {
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    let deadline = tokio::time::Instant::now() + PACKAGE_TIMEOUT;
    loop {
        let next = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => Err(BodyProblem::TimedOut),
            Ok(None) => return,
            Ok(Some(Err(_))) => Err(BodyProblem::Broken),
            Ok(Some(Ok(chunk))) => {
                total += chunk.len() as u64;
                if total > MAX_PACKAGE_BYTES {
                    Err(BodyProblem::TooLarge)
                } else {
                    Ok(chunk)
                }
            }
        };
        let failed = next.is_err();
        if chunks.send(next).await.is_err() || failed {
            return;
        }
    }
}

/// The body's chunks as a blocking [`Read`], for the reader's thread.
struct ChunkReader {
    chunks: tokio::sync::mpsc::Receiver<Result<Bytes, BodyProblem>>,
    current: Bytes,
    problem: Arc<Mutex<Option<BodyProblem>>>,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(problem)) => {
                    *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(problem);
                    return Err(std::io::Error::other("the body stopped arriving"));
                }
            }
        }
        let n = self.current.len().min(out.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Publishes the document a package gives, named for `source`, and answers.
async fn publish(state: &AppState, source: &str, package: Package) -> Response {
    let document = match package {
        Package::Document(document) => document,
        Package::Status(unit) => {
            return answer(
                StatusCode::OK,
                0,
                format!("a status message of {unit}: accepted, not counted"),
            );
        }
        Package::Incoming(unit) => {
            return answer(
                StatusCode::OK,
                0,
                format!("an incoming document of {unit}: accepted, not counted"),
            );
        }
    };
    let event = edxml::document_event(&document, "package");
    let headers = text_headers(&[(SOURCE_HEADER, source)]);
    let message = OutgoingMessage {
        exchange: &state.config.topology.eoffice_exchange,
        routing_key: edxml::DOCUMENT_ROUTING_KEY,
        body: event.body.as_bytes(),
        headers: Some(headers),
    };
    match state
        .sync_publisher
        .publish(&state.config.topology, vec![message])
        .await
    {
        Ok(()) => answer(
            StatusCode::OK,
            0,
            format!(
                "accepted document {} of {} ({}, {})",
                document.number,
                document.unit,
                document.business.as_str(),
                if document.digital {
                    "digitally signed"
                } else {
                    "not digitally signed"
                }
            ),
        ),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), %source, "cannot publish an edXML document");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the broker is unavailable; send the package again",
            )
        }
    }
}
