//! A minimal HTTP/1.1 client: one POST over a TCP connection, plain or TLS ([`crate::tls`]),
//! enough for RFC 3161.
//!
//! A time-stamp token is signed by the authority, so plain `http://` is what time-stamp
//! authorities commonly serve; but only TLS with a checked certificate says that the authority
//! itself answered, so `https://` is supported too (which `http://` URLs are acceptable is the
//! caller's policy). This avoids a full HTTP stack for one request a report.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::{Tls, TlsFailure};

/// Largest response accepted; a time-stamp reply is a few kilobytes.
const MAX_RESPONSE: usize = 1 << 20;

/// An `http://host[:port]/path` or `https://…` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    secure: bool,
    host: String,
    port: u16,
    path: String,
}

impl HttpUrl {
    /// Parses an `http://` or `https://` URL; other schemes are refused with a message saying
    /// so.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (secure, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, _)) => {
                return Err(format!(
                    "scheme {scheme}:// is not supported, use https:// or http://"
                ));
            }
            None => return Err(format!("{url:?} is not an absolute URL")),
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (host, port) = split_port(authority, if secure { 443 } else { 80 })?;
        if host.is_empty() || authority.contains('@') {
            return Err(format!("{url:?} has no usable host"));
        }
        Ok(Self {
            secure,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// Whether the URL is `https://`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether the host is this machine: `localhost` or a loopback address.
    pub fn is_loopback(&self) -> bool {
        let host = self.bare_host();
        host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The host without an IPv6 literal's brackets.
    fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

fn split_port(authority: &str, default: u16) -> Result<(&str, u16), String> {
    // A bracketed IPv6 literal may contain colons of its own.
    let port_colon = match authority.rfind(']') {
        Some(bracket) => authority[bracket..].find(':').map(|i| bracket + i),
        None => authority.rfind(':'),
    };
    match port_colon {
        Some(colon) => {
            let port = authority[colon + 1..]
                .parse()
                .map_err(|_| format!("invalid port in {authority:?}"))?;
            Ok((&authority[..colon], port))
        }
        None => Ok((authority, default)),
    }
}

/// What came back from the server.
#[derive(Debug)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body, with any chunked transfer encoding removed.
    pub body: Vec<u8>,
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum Failure {
    /// An `https://` server's certificate is not trusted (or not for its host).
    Untrusted(String),
    /// Anything else: the connection, the TLS handshake, the HTTP exchange, the time.
    Other(String),
}

/// POSTs `body` and reads the response, all within `timeout`; over TLS with `tls` (required
/// for an `https://` URL). The response ends where its `Content-Length` or its last chunk
/// says, without waiting for the server to close.
pub async fn post(
    url: &HttpUrl,
    tls: Option<&Tls>,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, Failure> {
    tokio::time::timeout(timeout, exchange(url, tls, content_type, body))
        .await
        .map_err(|_| {
            Failure::Other(format!(
                "no answer from {}:{} within {timeout:?}",
                url.host, url.port
            ))
        })?
}

async fn exchange(
    url: &HttpUrl,
    tls: Option<&Tls>,
    content_type: &str,
    body: &[u8],
) -> Result<Response, Failure> {
    let host = url.bare_host();
    let stream = TcpStream::connect((host, url.port))
        .await
        .map_err(|e| Failure::Other(format!("cannot connect to {}:{}: {e}", url.host, url.port)))?;
    match (url.secure, tls) {
        (false, _) => talk(stream, url, content_type, body).await,
        (true, Some(tls)) => {
            let stream = tls
                .connect(host, stream)
                .await
                .map_err(|failure| match failure {
                    TlsFailure::Untrusted(reason) => Failure::Untrusted(reason),
                    TlsFailure::Other(reason) => Failure::Other(reason),
                })?;
            talk(stream, url, content_type, body).await
        }
        (true, None) => Err(Failure::Other(format!(
            "{}:{} is https:// and no TLS was set up for it",
            url.host, url.port
        ))),
    }
}

/// Sends the request on `stream` and reads the response.
async fn talk(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    url: &HttpUrl,
    content_type: &str,
    body: &[u8],
) -> Result<Response, Failure> {
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    let io = |e: std::io::Error| Failure::Other(format!("HTTP exchange failed: {e}"));
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    read_response(&mut stream).await.map_err(Failure::Other)
}

/// Reads until the response is complete (or the server closes), at most [`MAX_RESPONSE`].
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> Result<Response, String> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|e| format!("HTTP exchange failed: {e}"))?;
        raw.extend_from_slice(&buffer[..read]);
        if raw.len() > MAX_RESPONSE {
            return Err(format!("HTTP response larger than {MAX_RESPONSE} bytes"));
        }
        let closed = read == 0;
        if let Some(response) = parse_response(&raw, closed)? {
            return Ok(response);
        }
        if closed {
            return Err("incomplete HTTP response".into());
        }
    }
}

/// The response in `raw` if it is complete, `None` if more is to come. `closed` says the server
/// has closed the connection, which ends a body that has neither a length nor chunks.
fn parse_response(raw: &[u8], closed: bool) -> Result<Option<Response>, String> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let (status, headers) = parse_head(&String::from_utf8_lossy(&raw[..end]))?;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body = &raw[end + 4..];
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)?
    } else if let Some(length) = header("content-length") {
        let length = length
            .parse::<usize>()
            .map_err(|_| format!("bad Content-Length {length:?}"))?;
        body.get(..length).map(<[u8]>::to_vec)
    } else {
        closed.then(|| body.to_vec())
    };
    Ok(body.map(|body| Response {
        status,
        content_type: header("content-type"),
        body,
    }))
}

/// The status code and the headers (names in lower case) of a response head.
fn parse_head(head: &str) -> Result<(u16, Vec<(String, String)>), String> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad HTTP status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok((status, headers))
}

/// The body of a chunked response, `None` while its last chunk has not arrived.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Trailers, if any, are not needed.
            return Ok(Some(body));
        }
        let Some(chunk) = data.get(..size) else {
            return Ok(None);
        };
        body.extend_from_slice(chunk);
        match data.get(size..size + 2) {
            Some(b"\r\n") => data = &data[size + 2..],
            Some(_) => return Err("bad chunk".into()),
            None => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_and_https_urls_and_refuses_other_schemes() {
        let url = HttpUrl::parse("http://127.0.0.1:3180/tsa").unwrap();
        assert_eq!(
            url,
            HttpUrl {
                secure: false,
                host: "127.0.0.1".into(),
                port: 3180,
                path: "/tsa".into()
            }
        );
        let url = HttpUrl::parse("http://tsa.example").unwrap();
        assert_eq!((url.port, url.path.as_str()), (80, "/"));
        let url = HttpUrl::parse("HTTPS://tsa.example/tsr").unwrap();
        assert_eq!((url.secure, url.port), (true, 443));
        assert!(
            HttpUrl::parse("ftp://tsa.example/")
                .unwrap_err()
                .contains("ftp")
        );
    }

    #[test]
    fn loopback_is_localhost_or_a_loopback_address() {
        for url in [
            "http://127.0.0.1:3180/tsa",
            "http://127.8.9.10/",
            "http://[::1]:80/",
            "http://LOCALHOST/tsr",
        ] {
            assert!(HttpUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
        for url in [
            "http://tsa.example/",
            "http://10.0.0.1/",
            "http://localhost.example/",
        ] {
            assert!(!HttpUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
    }

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let response = parse_response(chunked, false).unwrap().unwrap();
        assert_eq!(response.body, b"abcde");
        let sized = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Type: x/y\r\n\r\nhi";
        let response = parse_response(sized, false).unwrap().unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hi"[..])
        );
        assert_eq!(response.content_type.as_deref(), Some("x/y"));
    }

    #[test]
    fn a_response_is_incomplete_until_its_length_or_last_chunk_has_arrived() {
        let sized = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel";
        assert!(parse_response(sized, false).unwrap().is_none());
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
        assert!(parse_response(chunked, false).unwrap().is_none());
        let unsized_body = b"HTTP/1.0 200 OK\r\n\r\nuntil closed";
        assert!(parse_response(unsized_body, false).unwrap().is_none());
        let response = parse_response(unsized_body, true).unwrap().unwrap();
        assert_eq!(response.body, b"until closed");
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY";
        assert!(parse_response(bad, false).is_err());
    }

    /// A server that answers and then keeps the connection open, as keep-alive servers do
    /// whatever `Connection: close` asked.
    async fn server_that_stays_open(answer: &'static [u8]) -> HttpUrl {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            socket.write_all(answer).await.unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        HttpUrl::parse(&format!("http://127.0.0.1:{port}/tsa")).unwrap()
    }

    #[tokio::test]
    async fn a_response_is_read_without_waiting_for_the_server_to_close() {
        let answers: [&'static [u8]; 2] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ];
        for answer in answers {
            let url = server_that_stays_open(answer).await;
            let response = post(&url, None, "x/y", b"q", Duration::from_secs(5)).await;
            assert_eq!(response.unwrap().body, b"ok");
        }
    }
}
