//! A minimal HTTP/1.1 client: one POST over a plain TCP connection, enough for RFC 3161.
//!
//! A time-stamp token is signed by the authority, so plain `http://` is what time-stamp
//! authorities commonly serve; this avoids a full HTTP and TLS stack for one request a report.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response accepted; a time-stamp reply is a few kilobytes.
const MAX_RESPONSE: u64 = 1 << 20;

/// An `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    host: String,
    port: u16,
    path: String,
}

impl HttpUrl {
    /// Parses an `http://` URL; other schemes are refused with a message saying so.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(format!("scheme {scheme}:// is not supported, use http://"));
            }
            None => return Err(format!("{url:?} is not an absolute URL")),
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (host, port) = split_port(authority)?;
        if host.is_empty() || authority.contains('@') {
            return Err(format!("{url:?} has no usable host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

fn split_port(authority: &str) -> Result<(&str, u16), String> {
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
        None => Ok((authority, 80)),
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

/// POSTs `body` and reads the whole response, all within `timeout`.
pub async fn post(
    url: &HttpUrl,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, String> {
    tokio::time::timeout(timeout, exchange(url, content_type, body))
        .await
        .map_err(|_| {
            format!(
                "no answer from {}:{} within {timeout:?}",
                url.host, url.port
            )
        })?
}

async fn exchange(url: &HttpUrl, content_type: &str, body: &[u8]) -> Result<Response, String> {
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let mut stream = TcpStream::connect((host, url.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", url.host, url.port))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    let io = |e: std::io::Error| format!("HTTP exchange failed: {e}");
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .await
        .map_err(io)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete HTTP response")?;
    let (status, headers) = parse_head(&String::from_utf8_lossy(&raw[..end]))?;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = raw[end + 4..].to_vec();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    } else if let Some(length) = header("content-length").and_then(|v| v.parse().ok()) {
        if body.len() < length {
            return Err("HTTP response body shorter than its Content-Length".into());
        }
        body.truncate(length);
    }
    Ok(Response {
        status,
        content_type: header("content-type"),
        body,
    })
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

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data.get(..size).ok_or("truncated chunk")?;
        body.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls_and_refuses_other_schemes() {
        let url = HttpUrl::parse("http://127.0.0.1:3180/tsa").unwrap();
        assert_eq!(
            url,
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 3180,
                path: "/tsa".into()
            }
        );
        let url = HttpUrl::parse("http://tsa.example").unwrap();
        assert_eq!((url.port, url.path.as_str()), (80, "/"));
        assert!(
            HttpUrl::parse("https://tsa.example/")
                .unwrap_err()
                .contains("https")
        );
    }

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap().body, b"abcde");
        let sized = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Type: x/y\r\n\r\nhi";
        let response = parse_response(sized).unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hi"[..])
        );
        assert_eq!(response.content_type.as_deref(), Some("x/y"));
    }
}
