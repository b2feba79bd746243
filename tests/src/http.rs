//! A small HTTP/1.1 client over a plain TCP connection, for testing the API as a browser or
//! `curl` would reach it: one request per connection, chunked bodies decoded, and Server-Sent
//! Events read as they come.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// An answer.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body, chunked encoding removed.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// `POST path` with a JSON body.
    pub fn post_json(path: &str, body: &Value) -> Self {
        Self::new("POST", path)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
    }

    /// Any method.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds `Authorization: Bearer token` if there is a token.
    pub fn bearer(self, token: Option<&str>) -> Self {
        match token {
            Some(token) => self.header("authorization", &format!("Bearer {token}")),
            None => self,
        }
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    async fn open(&self, address: &str) -> BufReader<TcpStream> {
        let mut stream = TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"));
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: {address}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        stream.write_all(head.as_bytes()).await.expect("sent");
        stream.write_all(&self.body).await.expect("sent");
        BufReader::new(stream)
    }

    /// Sends the request to `address` (host:port) and reads the whole answer.
    pub async fn send(&self, address: &str) -> Response {
        let mut reader = self.open(address).await;
        let (status, headers) = read_head(&mut reader).await;
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        let mut body = Vec::new();
        if chunked {
            loop {
                let size = read_line(&mut reader).await;
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                    .expect("a chunk size");
                if size == 0 {
                    break;
                }
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).await.expect("a chunk");
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            reader.read_to_end(&mut body).await.expect("the body");
        }
        Response {
            status,
            headers,
            body,
        }
    }

    /// Opens an event stream at `address`; panics unless it answers 200 `text/event-stream`.
    pub async fn events(&self, address: &str) -> EventStream {
        let mut reader = self.open(address).await;
        let (status, headers) = read_head(&mut reader).await;
        assert_eq!(status, 200, "the stream answered {status}");
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "content-type" && v.starts_with("text/event-stream")),
            "not an event stream: {headers:?}"
        );
        EventStream {
            reader,
            text: String::new(),
        }
    }
}

async fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).await.expect("a line");
    line
}

async fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let status_line = read_line(reader).await;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader).await;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (status, headers)
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// Its `id`.
    pub id: Option<String>,
    /// Its `data` lines joined.
    pub data: String,
    /// Its `retry`, in milliseconds.
    pub retry: Option<u64>,
}

/// An open event stream (chunked: the chunk framing is skipped line by line).
pub struct EventStream {
    reader: BufReader<TcpStream>,
    text: String,
}

impl EventStream {
    /// The next event with data, or `None` if none comes within `limit`. Comments
    /// (keep-alives) are skipped.
    pub async fn next(&mut self, limit: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(event) = self.take_event() {
                return Some(event);
            }
            let line = tokio::time::timeout_at(deadline, read_line(&mut self.reader))
                .await
                .ok()?;
            assert!(!line.is_empty(), "the stream ended");
            self.text.push_str(&line);
        }
    }

    fn take_event(&mut self) -> Option<Event> {
        loop {
            let end = self.text.find("\n\n")?;
            let block: String = self.text.drain(..end + 2).collect();
            let mut event = Event::default();
            let mut data = Vec::new();
            for line in block.lines() {
                // Chunk sizes arrive on lines of their own between the event's lines.
                if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                } else if let Some(value) = line.strip_prefix("id:") {
                    event.id = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("retry:") {
                    event.retry = value.trim().parse().ok();
                }
            }
            if !data.is_empty() {
                event.data = data.join("\n");
                return Some(event);
            }
        }
    }
}
