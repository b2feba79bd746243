//! A publisher that writes AMQP 0-9-1 frames byte by byte, for the tests of what a careless or
//! hostile publisher can send: a routing key, a property or a header key that is not UTF-8 (AMQP
//! says short strings are UTF-8; RabbitMQ does not check), or headers nested thousands deep.
//! lapin refuses to encode any of these, so the tests cannot publish them through it.
//!
//! Only what a publisher needs: the handshake with PLAIN credentials, one channel in confirm
//! mode, `basic.publish` with raw routing key and header bytes, and the broker's confirms.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const METHOD: u8 = 1;
const HEADER: u8 = 2;
const BODY: u8 = 3;
const FRAME_END: u8 = 0xCE;

/// The content header's property flags this publisher sets.
const FLAG_TYPE: u16 = 1 << 5;
const FLAG_HEADERS: u16 = 1 << 13;
const FLAG_DELIVERY_MODE: u16 = 1 << 12;

/// A message as bytes: what lapin would refuse to send.
#[derive(Debug, Clone, Default)]
pub struct RawMessage {
    /// The exchange.
    pub exchange: String,
    /// The routing key's bytes, up to 255.
    pub routing_key: Vec<u8>,
    /// The `type` property's bytes, if any.
    pub type_property: Option<Vec<u8>>,
    /// The encoded entries of the headers table (without its length), if any.
    pub headers: Option<Vec<u8>>,
    /// The body.
    pub body: Vec<u8>,
}

/// One connection with one channel in confirm mode.
pub struct RawPublisher {
    stream: TcpStream,
    frame_max: u32,
    published: u64,
}

impl RawPublisher {
    /// Connects to `127.0.0.1:5672` as guest, on `vhost`.
    pub async fn connect(vhost: &str) -> anyhow::Result<Self> {
        let mut stream = TcpStream::connect("127.0.0.1:5672")
            .await
            .context("the broker")?;
        stream.write_all(b"AMQP\x00\x00\x09\x01").await?;
        let mut publisher = Self {
            stream,
            frame_max: 131_072,
            published: 0,
        };
        publisher.expect_method(10, 10).await?; // connection.start
        let mut start_ok = Vec::new();
        start_ok.extend(0u32.to_be_bytes()); // client properties: none
        short(&mut start_ok, b"PLAIN");
        long(&mut start_ok, b"\0guest\0guest");
        short(&mut start_ok, b"en_US");
        publisher.send_method(0, 10, 11, &start_ok).await?;
        let tune = publisher.expect_method(10, 30).await?;
        ensure!(tune.len() >= 8, "a short connection.tune");
        let frame_max = u32::from_be_bytes([tune[2], tune[3], tune[4], tune[5]]);
        if frame_max != 0 {
            publisher.frame_max = frame_max;
        }
        let mut tune_ok = tune[..6].to_vec();
        tune_ok.extend(0u16.to_be_bytes()); // no heartbeats
        publisher.send_method(0, 10, 31, &tune_ok).await?;
        let mut open = Vec::new();
        short(&mut open, vhost.as_bytes());
        short(&mut open, b"");
        open.push(0);
        publisher.send_method(0, 10, 40, &open).await?;
        publisher.expect_method(10, 41).await?;
        publisher.send_method(1, 20, 10, &[0]).await?; // channel.open
        publisher.expect_method(20, 11).await?;
        publisher.send_method(1, 85, 10, &[0]).await?; // confirm.select
        publisher.expect_method(85, 11).await?;
        Ok(publisher)
    }

    /// Publishes `message` (persistent) and waits for the broker's confirm.
    pub async fn publish(&mut self, message: &RawMessage) -> anyhow::Result<()> {
        ensure!(
            message.routing_key.len() <= 255,
            "a routing key over 255 bytes"
        );
        let mut publish = 0u16.to_be_bytes().to_vec();
        short(&mut publish, message.exchange.as_bytes());
        short(&mut publish, &message.routing_key);
        publish.push(0);
        self.send_method(1, 60, 40, &publish).await?;
        self.send_frame(HEADER, 1, &content_header(message)).await?;
        let chunk = (self.frame_max as usize).saturating_sub(8).max(1);
        for part in message.body.chunks(chunk) {
            self.send_frame(BODY, 1, part).await?;
        }
        self.published += 1;
        let ack = self.expect_method(60, 80).await?;
        let tag = u64::from_be_bytes(ack[..8].try_into().context("a short basic.ack")?);
        ensure!(
            tag == self.published,
            "confirm {tag} for message {}",
            self.published
        );
        Ok(())
    }

    /// Closes the connection.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let mut close = 200u16.to_be_bytes().to_vec();
        short(&mut close, b"done");
        close.extend([0, 0, 0, 0]);
        self.send_method(0, 10, 50, &close).await?;
        self.expect_method(10, 51).await.map(|_| ())
    }

    async fn send_method(
        &mut self,
        channel: u16,
        class: u16,
        method: u16,
        args: &[u8],
    ) -> anyhow::Result<()> {
        let mut payload = class.to_be_bytes().to_vec();
        payload.extend(method.to_be_bytes());
        payload.extend(args);
        self.send_frame(METHOD, channel, &payload).await
    }

    async fn send_frame(&mut self, kind: u8, channel: u16, payload: &[u8]) -> anyhow::Result<()> {
        let mut frame = vec![kind];
        frame.extend(channel.to_be_bytes());
        frame.extend(u32::try_from(payload.len())?.to_be_bytes());
        frame.extend(payload);
        frame.push(FRAME_END);
        self.stream
            .write_all(&frame)
            .await
            .context("writing a frame")
    }

    /// The arguments of the next method frame, which must be `class.method`.
    async fn expect_method(&mut self, class: u16, method: u16) -> anyhow::Result<Vec<u8>> {
        loop {
            let (kind, payload) = tokio::time::timeout(Duration::from_secs(10), self.read_frame())
                .await
                .context("the broker did not answer within 10 s")??;
            if kind != METHOD {
                continue;
            }
            let got = (
                u16::from_be_bytes([payload[0], payload[1]]),
                u16::from_be_bytes([payload[2], payload[3]]),
            );
            if got == (class, method) {
                return Ok(payload[4..].to_vec());
            }
            bail!(
                "expected method {class}.{method}, got {}.{}: {}",
                got.0,
                got.1,
                String::from_utf8_lossy(&payload[4..])
            );
        }
    }

    async fn read_frame(&mut self) -> anyhow::Result<(u8, Vec<u8>)> {
        let mut head = [0u8; 7];
        self.stream.read_exact(&mut head).await.context("a frame")?;
        let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
        let mut payload = vec![0u8; size + 1];
        self.stream.read_exact(&mut payload).await?;
        ensure!(payload.pop() == Some(FRAME_END), "a frame without its end");
        Ok((head[0], payload))
    }
}

fn content_header(message: &RawMessage) -> Vec<u8> {
    let mut flags = FLAG_DELIVERY_MODE;
    flags |= if message.headers.is_some() {
        FLAG_HEADERS
    } else {
        0
    };
    flags |= if message.type_property.is_some() {
        FLAG_TYPE
    } else {
        0
    };
    let mut header = 60u16.to_be_bytes().to_vec();
    header.extend(0u16.to_be_bytes());
    header.extend((message.body.len() as u64).to_be_bytes());
    header.extend(flags.to_be_bytes());
    if let Some(table) = &message.headers {
        long(&mut header, table);
    }
    header.push(2); // persistent
    if let Some(type_property) = &message.type_property {
        short(&mut header, type_property);
    }
    header
}

/// One header table entry: `key` (any bytes) with a long-string value.
pub fn text_entry(key: &[u8], value: &str) -> Vec<u8> {
    let mut entry = Vec::new();
    short(&mut entry, key);
    entry.push(b'S');
    long(&mut entry, value.as_bytes());
    entry
}

/// One header table entry `key` holding arrays nested `depth` deep (5 bytes a level).
pub fn nested_arrays_entry(key: &str, depth: usize) -> Vec<u8> {
    // Built from the inside out: each level is 'A' and the length of what it holds.
    let mut value: Vec<u8> = Vec::new();
    for _ in 0..depth {
        let mut outer = Vec::with_capacity(value.len() + 5);
        outer.push(b'A');
        outer.extend((value.len() as u32).to_be_bytes());
        outer.extend(&value);
        value = outer;
    }
    let mut entry = Vec::new();
    short(&mut entry, key.as_bytes());
    entry.extend(value);
    entry
}

fn short(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(u8::try_from(bytes.len()).expect("a short string is at most 255 bytes"));
    out.extend(bytes);
}

fn long(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u32).to_be_bytes());
    out.extend(bytes);
}
