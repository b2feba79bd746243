//! A reader of the frames the broker sends, in front of lapin's own parser.
//!
//! AMQP says short strings are UTF-8, and RabbitMQ passes on whatever a publisher sent: a
//! routing key, a `type` or `message-id` property, or a header key cut mid-character at 255
//! bytes (a Vietnamese name cut by a byte count) reaches the consumer as it was published.
//! lapin (amq-protocol-types 10.6) refuses such a frame and drops the whole connection; the
//! message, never acknowledged, comes back first on the next connection, forever. Headers
//! nested thousands of arrays deep (100 KB fit in one frame) are worse: amq-protocol parses
//! them by recursion and overflows the stack, which kills the process.
//!
//! [`Screened`] sits between the socket (after TLS) and lapin. It reads each frame the broker
//! sends and passes it on unchanged unless lapin could not read it; then it rewrites the frame
//! into one lapin can read: each unreadable short string becomes its escaped text (`\xe1`), and
//! unreadable headers become one header, [`UNREADABLE_HEADER`], that says what was wrong with
//! the bytes escaped. The message itself arrives, with its body unchanged, and a consumer that
//! sees the header dead-letters it (`unreadable_frame`) instead of counting it: the publisher's
//! exact frame is gone, so its event cannot be trusted, but nothing is hidden and nothing
//! stalls. A publisher cannot set that header itself: the screen removes it from every
//! message that carries it.
//!
//! [`Screened::within`] also keeps a connection's [`Budget`]: a message is passed on only once
//! its body fits ([`crate::budget`]).
//!
//! Only the three methods that carry a publisher's routing key (`basic.deliver`,
//! `basic.return`, `basic.get-ok`) and content headers are looked into; body frames and every
//! other frame pass as they are.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use domain::text::{escape_bytes, truncate_bytes};
use futures_lite::io::{AsyncRead, AsyncWrite};

use crate::budget::Budget;

/// The header a screened message carries instead of what could not be read: a long string
/// saying what was wrong, with the bytes escaped.
pub const UNREADABLE_HEADER: &str = "x-baocao-unreadable";

/// How deep arrays and tables may nest in headers. RabbitMQ's own `x-death` is two levels.
pub const MAX_NESTING: usize = 32;

/// The longest note [`UNREADABLE_HEADER`] carries, in bytes.
const MAX_NOTE_BYTES: usize = 900;

/// Frames larger than this are not screened (RabbitMQ's `frame_max` is 128 KiB by default and
/// at most 1 MiB less a little; lapin refuses what it did not negotiate anyway).
const MAX_SCREENED_FRAME: usize = 64 << 20;

const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;
/// Type, channel and size.
const FRAME_HEAD: usize = 7;

/// The body size a content header frame (one whole frame) announces; `None` for any other
/// frame.
fn body_size(frame: &[u8]) -> Option<usize> {
    if frame.first() != Some(&FRAME_HEADER) {
        return None;
    }
    // Class and weight, then the body size.
    let size = frame.get(FRAME_HEAD + 4..FRAME_HEAD + 12)?;
    let size = u64::from_be_bytes(size.try_into().ok()?);
    Some(usize::try_from(size).unwrap_or(usize::MAX))
}

/// What to remember between frames: a delivery whose method frame was rewritten marks the
/// content header that follows it on the same channel.
#[derive(Debug, Default)]
pub struct Screen {
    pending: HashMap<u16, String>,
}

impl Screen {
    /// The frame lapin should read instead of `frame` (one whole frame, end byte included), or
    /// `None` to pass it as it is.
    pub fn screen(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let (kind, channel) = (frame[0], u16::from_be_bytes([frame[1], frame[2]]));
        let payload = &frame[FRAME_HEAD..frame.len() - 1];
        let rewritten = match kind {
            FRAME_METHOD => {
                let (payload, note) = match screen_method(payload) {
                    Some((payload, note)) => (Some(payload), Some(note)),
                    None => (None, None),
                };
                // A delivery's header follows its method frame on the same channel.
                match note {
                    Some(note) => self.pending.insert(channel, note),
                    None => self.pending.remove(&channel),
                };
                payload
            }
            FRAME_HEADER => screen_content_header(payload, self.pending.remove(&channel)),
            _ => None,
        }?;
        Some(encode_frame(kind, channel, &rewritten))
    }
}

fn encode_frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + FRAME_HEAD + 1);
    frame.push(kind);
    frame.extend(channel.to_be_bytes());
    // A rewritten frame is at most a little longer than a frame lapin accepted in size.
    frame.extend((payload.len() as u32).to_be_bytes());
    frame.extend(payload);
    frame.push(FRAME_END);
    frame
}

/// A cursor over a frame's payload; every read is `None` past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(count)?)?;
        self.at += count;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<usize> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// A short string's bytes (its length octet read).
    fn short(&mut self) -> Option<&'a [u8]> {
        let length = self.u8()?;
        self.take(usize::from(length))
    }

    /// A long string's, table's or array's bytes (its length read).
    fn long(&mut self) -> Option<&'a [u8]> {
        let length = self.u32()?;
        self.take(length)
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at.min(self.bytes.len())..]
    }

    fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

fn push_short(out: &mut Vec<u8>, bytes: &[u8]) {
    let length = bytes.len().min(255);
    out.push(length as u8);
    out.extend(&bytes[..length]);
}

fn push_long(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u32).to_be_bytes());
    out.extend(bytes);
}

/// A short string lapin can read in place of `bytes`: its escaped text, cut to 255 bytes.
fn readable_short(bytes: &[u8]) -> String {
    truncate_bytes(&escape_bytes(bytes), 255)
}

/// A field of a method's arguments, as far as screening needs to know it.
#[derive(Clone, Copy)]
enum Arg {
    /// A short string, named for the note.
    Short(&'static str),
    /// So many bytes of something else.
    Fixed(usize),
}

/// The arguments of `basic.deliver` (60.60), `basic.return` (60.50) and `basic.get-ok`
/// (60.71) up to their routing key; what follows is copied as it is.
fn method_args(class: u16, method: u16) -> Option<&'static [Arg]> {
    use Arg::{Fixed, Short};
    match (class, method) {
        (60, 60) => Some(&[
            Short("consumer tag"),
            Fixed(9),
            Short("exchange"),
            Short("routing key"),
        ]),
        (60, 50) => Some(&[
            Fixed(2),
            Short("reply text"),
            Short("exchange"),
            Short("routing key"),
        ]),
        (60, 71) => Some(&[Fixed(9), Short("exchange"), Short("routing key")]),
        _ => None,
    }
}

/// A method frame's payload rewritten with readable short strings, and what was wrong; `None`
/// when lapin can read it (or it is not one that carries a publisher's strings).
fn screen_method(payload: &[u8]) -> Option<(Vec<u8>, String)> {
    let mut cursor = Cursor::new(payload);
    let (class, method) = (cursor.u16()?, cursor.u16()?);
    let args = method_args(class, method)?;
    let mut rewritten = payload[..4].to_vec();
    let mut notes = Vec::new();
    for arg in args {
        match *arg {
            Arg::Fixed(count) => rewritten.extend(cursor.take(count)?),
            Arg::Short(name) => {
                let bytes = cursor.short()?;
                if std::str::from_utf8(bytes).is_ok() {
                    push_short(&mut rewritten, bytes);
                } else {
                    notes.push(format!("the {name} is not UTF-8: {}", escape_bytes(bytes)));
                    push_short(&mut rewritten, readable_short(bytes).as_bytes());
                }
            }
        }
    }
    rewritten.extend(cursor.rest());
    (!notes.is_empty()).then(|| (rewritten, notes.join("; ")))
}

/// The basic class's properties, from the highest flag bit down: what each holds.
#[derive(Clone, Copy, PartialEq)]
enum Property {
    Short(&'static str),
    Headers,
    Fixed(usize),
}

fn property(bit: u16) -> Property {
    match bit {
        15 => Property::Short("content-type"),
        14 => Property::Short("content-encoding"),
        13 => Property::Headers,
        12 | 11 => Property::Fixed(1),
        10 => Property::Short("correlation-id"),
        9 => Property::Short("reply-to"),
        8 => Property::Short("expiration"),
        7 => Property::Short("message-id"),
        6 => Property::Fixed(8),
        5 => Property::Short("type"),
        4 => Property::Short("user-id"),
        3 => Property::Short("app-id"),
        _ => Property::Short("cluster-id"),
    }
}

const HEADERS_FLAG: u16 = 1 << 13;

/// A content header's payload rewritten so that lapin can read it, or `None` when it can as it
/// is and `note` (what its method frame's screening found) is `None`.
fn screen_content_header(payload: &[u8], note: Option<String>) -> Option<Vec<u8>> {
    let mut cursor = Cursor::new(payload);
    let prefix = cursor.take(12)?;
    let flags = cursor.u16()?;
    if flags & 1 != 0 {
        // A second flags word: never sent for the basic class.
        return None;
    }
    let mut notes: Vec<String> = note.into_iter().collect();
    let mut properties: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut headers: Option<Vec<u8>> = None;
    let mut strip_own = false;
    for bit in (2..=15u16).rev().filter(|bit| flags & (1 << bit) != 0) {
        match property(bit) {
            Property::Fixed(count) => properties.push((bit, cursor.take(count)?.to_vec())),
            Property::Short(name) => {
                let bytes = cursor.short()?;
                let mut encoded = Vec::with_capacity(bytes.len() + 1);
                if std::str::from_utf8(bytes).is_ok() {
                    push_short(&mut encoded, bytes);
                } else {
                    notes.push(format!(
                        "the {name} property is not UTF-8: {}",
                        escape_bytes(bytes)
                    ));
                    push_short(&mut encoded, readable_short(bytes).as_bytes());
                }
                properties.push((bit, encoded));
            }
            Property::Headers => {
                let table = cursor.long()?;
                match top_level_entries(table) {
                    Ok(entries) => {
                        strip_own = entries.iter().any(|(key, _)| *key == UNREADABLE_HEADER);
                        headers = Some(
                            entries
                                .into_iter()
                                .filter(|(key, _)| *key != UNREADABLE_HEADER)
                                .flat_map(|(_, entry)| entry.iter().copied())
                                .collect(),
                        );
                    }
                    Err(problem) => {
                        notes.push(format!("the headers cannot be read: {problem}"));
                        headers = Some(Vec::new());
                    }
                }
            }
        }
    }
    if notes.is_empty() && !strip_own {
        return None;
    }
    let mut table = headers.unwrap_or_default();
    if !notes.is_empty() {
        let note = truncate_bytes(&notes.join("; "), MAX_NOTE_BYTES);
        push_short(&mut table, UNREADABLE_HEADER.as_bytes());
        table.push(b'S');
        push_long(&mut table, note.as_bytes());
    }
    let flags = match notes.is_empty() {
        true => flags,
        false => flags | HEADERS_FLAG,
    };
    let mut rewritten = prefix.to_vec();
    rewritten.extend(flags.to_be_bytes());
    // The headers' place is between content-encoding (bit 14) and delivery-mode (bit 12).
    let mut headers_written = flags & HEADERS_FLAG == 0;
    for (bit, encoded) in properties {
        if bit < 13 && !headers_written {
            push_long(&mut rewritten, &table);
            headers_written = true;
        }
        rewritten.extend(encoded);
    }
    if !headers_written {
        push_long(&mut rewritten, &table);
    }
    Some(rewritten)
}

/// The entries of a header table, each as its key and its encoded bytes, if lapin can read
/// every one of them; otherwise what is wrong.
fn top_level_entries(table: &[u8]) -> Result<Vec<(&str, &[u8])>, String> {
    let mut cursor = Cursor::new(table);
    let mut entries = Vec::new();
    while !cursor.is_done() {
        let start = cursor.at;
        let key = read_key(&mut cursor)?;
        check_value(&mut cursor, 1)?;
        entries.push((key, &table[start..cursor.at]));
    }
    Ok(entries)
}

fn read_key<'a>(cursor: &mut Cursor<'a>) -> Result<&'a str, String> {
    let key = cursor
        .short()
        .ok_or("a key runs past the end of its table")?;
    std::str::from_utf8(key)
        .map_err(|_| format!("a header key is not UTF-8: {}", escape_bytes(key)))
}

/// Checks the value at `cursor` as amq-protocol reads it (RabbitMQ's field types), `depth`
/// levels down; a table or array nests at most [`MAX_NESTING`] levels.
fn check_value(cursor: &mut Cursor<'_>, depth: usize) -> Result<(), String> {
    let short = || "a value runs past the end of its table".to_owned();
    let kind = cursor.u8().ok_or_else(short)?;
    let fixed = match kind {
        b't' | b'b' | b'B' => 1,
        b's' | b'U' | b'u' => 2,
        b'I' | b'i' | b'f' => 4,
        b'l' | b'L' | b'd' | b'T' => 8,
        b'D' => 5,
        b'V' => 0,
        b'S' | b'x' => return cursor.long().map(drop).ok_or_else(short),
        b'A' | b'F' => {
            if depth >= MAX_NESTING {
                return Err(format!("headers nested deeper than {MAX_NESTING} levels"));
            }
            let mut inner = Cursor::new(cursor.long().ok_or_else(short)?);
            while !inner.is_done() {
                if kind == b'F' {
                    read_key(&mut inner)?;
                }
                check_value(&mut inner, depth + 1)?;
            }
            return Ok(());
        }
        other => {
            return Err(format!(
                "a value of unknown type {}",
                escape_bytes(&[other])
            ));
        }
    };
    cursor.take(fixed).map(drop).ok_or_else(short)
}

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// A stream whose incoming frames pass through a [`Screen`] (the module's documentation says
/// why); what is written goes out as it is.
#[derive(Debug)]
pub struct Screened<S> {
    inner: S,
    screen: Screen,
    /// Bytes read from the socket: `raw[start..filled]` is not screened yet.
    raw: Vec<u8>,
    start: usize,
    filled: usize,
    /// Screened bytes: `out[sent..]` is for lapin to read.
    out: Vec<u8>,
    sent: usize,
    /// A frame this reader does not understand came: the rest passes unscreened (lapin will
    /// refuse it and close the connection, as it would have).
    passthrough: bool,
    eof: bool,
    /// What the messages read may take until their consumers give them back, if bounded.
    budget: Option<Budget>,
    /// The next message does not fit in the budget: nothing more is read until it does.
    waiting: bool,
}

impl<S> Screened<S> {
    /// Screens what `inner` reads.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            screen: Screen::default(),
            raw: vec![0; READ_CHUNK],
            start: 0,
            filled: 0,
            out: Vec::new(),
            sent: 0,
            passthrough: false,
            eof: false,
            budget: None,
            waiting: false,
        }
    }

    /// Screens what `inner` reads, and reads each message only once its body fits in `budget`
    /// ([`crate::budget`]).
    pub fn within(inner: S, budget: Budget) -> Self {
        Self {
            budget: Some(budget),
            ..Self::new(inner)
        }
    }

    /// Moves every complete frame read so far to `out`, screened, up to a message that does not
    /// fit in the budget (then `waiting`, and `cx` is woken when it may). Whether anything
    /// moved.
    fn screen_frames(&mut self, cx: &Context<'_>) -> bool {
        let before = self.out.len();
        self.waiting = false;
        while let Some(length) = self.next_unit() {
            let unit = &self.raw[self.start..self.start + length];
            if let (Some(budget), false) = (&self.budget, self.passthrough)
                && let Some(bytes) = body_size(unit)
                && budget.poll_take(bytes, cx).is_pending()
            {
                self.waiting = true;
                break;
            }
            match self.passthrough {
                true => self.out.extend(unit),
                false => match self.screen.screen(unit) {
                    Some(rewritten) => self.out.extend(rewritten),
                    None => self.out.extend(unit),
                },
            }
            self.start += length;
        }
        self.out.len() > before
    }

    /// The length of the next whole unit (a frame, or the 8-byte protocol header a server
    /// sends to refuse our version) in `raw[start..filled]`, if it has arrived.
    fn next_unit(&mut self) -> Option<usize> {
        let available = &self.raw[self.start..self.filled];
        if available.is_empty() {
            return None;
        }
        if self.passthrough {
            return Some(available.len());
        }
        if available[0] == b'A' {
            return (available.len() >= 8).then_some(8);
        }
        if available.len() < FRAME_HEAD {
            return None;
        }
        let size = u32::from_be_bytes([available[3], available[4], available[5], available[6]]);
        let length = (size as usize).saturating_add(FRAME_HEAD + 1);
        let known = matches!(
            available[0],
            FRAME_METHOD | FRAME_HEADER | FRAME_BODY | FRAME_HEARTBEAT
        );
        if !known || length > MAX_SCREENED_FRAME {
            self.passthrough = true;
            return Some(available.len());
        }
        if available.len() < length {
            // Room for the whole frame, the unscreened part moved to the front.
            self.raw.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            if self.raw.len() < length {
                self.raw.resize(length, 0);
            }
            return None;
        }
        if available[length - 1] != FRAME_END {
            self.passthrough = true;
            return Some(available.len());
        }
        Some(length)
    }

    /// Makes room to read into: the unscreened bytes moved to the front when past half.
    fn make_room(&mut self) {
        if self.start == self.filled {
            (self.start, self.filled) = (0, 0);
        } else if self.start > self.raw.len() / 2 {
            self.raw.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.raw.len() {
            self.raw.resize(self.raw.len() + READ_CHUNK, 0);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Screened<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if this.sent < this.out.len() {
                let count = buf.len().min(this.out.len() - this.sent);
                buf[..count].copy_from_slice(&this.out[this.sent..this.sent + count]);
                this.sent += count;
                if this.sent == this.out.len() {
                    this.out.clear();
                    this.sent = 0;
                }
                return Poll::Ready(Ok(count));
            }
            if this.screen_frames(cx) {
                continue;
            }
            if this.waiting {
                return Poll::Pending;
            }
            if this.eof {
                // A frame cut short by the end of the stream: lapin reports it as it would.
                this.out.extend(&this.raw[this.start..this.filled]);
                this.start = this.filled;
                if this.out.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                continue;
            }
            this.make_room();
            let filled = this.filled;
            match Pin::new(&mut this.inner).poll_read(cx, &mut this.raw[filled..]) {
                Poll::Ready(Ok(0)) => this.eof = true,
                Poll::Ready(Ok(count)) => this.filled += count,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Screened<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests;
