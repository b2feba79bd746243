//! The HTTP client the provider is reached with: one request per connection over hyper's
//! HTTP/1.1 and rustls (both already built for the server, sqlx and lettre), the whole exchange
//! bounded, the answer's size too. `openidconnect` takes it as its `AsyncHttpClient` (any
//! `Fn(HttpRequest) -> Future<Output = Result<HttpResponse, _>>`): no second HTTP stack or TLS
//! library for a handful of requests a sign-in.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use openidconnect::{HttpRequest, HttpResponse};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long one exchange with the provider may take, connection and TLS included.
pub const EXCHANGE_BOUND: Duration = Duration::from_secs(10);

/// The largest answer read (a discovery document or a key set is a few kilobytes).
const MAX_ANSWER: usize = 1024 * 1024;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

fn failed(what: &str) -> impl FnOnce(&dyn std::fmt::Display) -> HttpError + '_ {
    move |error| HttpError(format!("{what}: {error}"))
}

/// `error` and its causes, for hyper's errors whose `Display` is only their kind.
pub(super) fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends `request` and reads the answer, within [`EXCHANGE_BOUND`].
pub async fn call(request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let target = request.uri().to_string();
    tokio::time::timeout(EXCHANGE_BOUND, exchange(request))
        .await
        .map_err(|_| HttpError(format!("no answer from {target} within {EXCHANGE_BOUND:?}")))?
}

async fn exchange(request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let uri = request.uri().clone();
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(HttpError(format!("{uri} is not an http(s) URL"))),
    };
    let host = uri
        .host()
        .ok_or_else(|| HttpError(format!("{uri} has no host")))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let (mut parts, body) = request.into_parts();
    parts.uri = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|e| failed("the request's path")(&e))?;
    parts.headers.insert(
        axum::http::header::HOST,
        authority
            .parse()
            .map_err(|e| failed("the request's host")(&e))?,
    );
    let request = axum::http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| failed(&format!("connecting to {host}:{port}"))(&e))?;
    tcp.set_nodelay(true).ok();
    if secure {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| failed("the provider's host name")(&e))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|e| failed(&format!("TLS with {host}"))(&e))?;
        send(tls, request).await
    } else {
        send(tcp, request).await
    }
}

async fn send<IO>(
    io: IO,
    request: axum::http::Request<Full<Bytes>>,
) -> Result<HttpResponse, HttpError>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| failed("the HTTP handshake")(&e))?;
    // The connection is driven by a task of its own, ended with the exchange whatever happens.
    let driver = AbortOnDrop(tokio::spawn(async move {
        connection.await.ok();
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| HttpError(format!("the provider's answer: {}", with_causes(&e))))?;
    let (parts, body) = response.into_parts();
    let bytes = Limited::new(body, MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| failed("the provider's answer")(&*e))?
        .to_bytes();
    drop(driver);
    Ok(HttpResponse::from_parts(parts, bytes.to_vec()))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// TLS with the ring provider, the provider's certificate checked against the webpki roots.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // The ring provider supports the default versions: this cannot fail.
            .expect("TLS 1.2 and 1.3 with ring")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }))
}
