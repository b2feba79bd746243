//! The screen judged by lapin's own parser (amq-protocol's): what it refuses is rewritten into
//! what it reads, with the note; what it reads passes untouched.

use super::*;
use amq_protocol::frame::{AMQPFrame, parse_frame};
use amq_protocol::protocol::{AMQPClass, basic};
use futures_lite::io::AsyncReadExt;
use proptest::prelude::*;

fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    encode_frame(kind, channel, payload)
}

fn short(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(bytes.len() as u8);
    out.extend(bytes);
}

fn deliver(routing_key: &[u8]) -> Vec<u8> {
    let mut payload = vec![0, 60, 0, 60];
    short(&mut payload, b"ctag");
    payload.extend(7u64.to_be_bytes());
    payload.push(0);
    short(&mut payload, b"eoffice.events");
    short(&mut payload, routing_key);
    frame(FRAME_METHOD, 1, &payload)
}

/// A content header with the given `type` property and header table entries (raw), and
/// delivery-mode 2 after the headers.
fn content_header(type_property: Option<&[u8]>, table: Option<&[u8]>) -> Vec<u8> {
    let mut flags: u16 = 1 << 12;
    flags |= if table.is_some() { HEADERS_FLAG } else { 0 };
    flags |= if type_property.is_some() { 1 << 5 } else { 0 };
    let mut payload = vec![0, 60, 0, 0];
    payload.extend(42u64.to_be_bytes());
    payload.extend(flags.to_be_bytes());
    if let Some(table) = table {
        push_long(&mut payload, table);
    }
    payload.push(2);
    if let Some(type_property) = type_property {
        short(&mut payload, type_property);
    }
    frame(FRAME_HEADER, 1, &payload)
}

fn text_entry(key: &[u8], value: &str) -> Vec<u8> {
    let mut entry = Vec::new();
    short(&mut entry, key);
    entry.push(b'S');
    push_long(&mut entry, value.as_bytes());
    entry
}

fn nested(depth: usize) -> Vec<u8> {
    let mut value: Vec<u8> = Vec::new();
    for _ in 0..depth {
        let mut outer = vec![b'A'];
        outer.extend((value.len() as u32).to_be_bytes());
        outer.extend(&value);
        value = outer;
    }
    let mut entry = Vec::new();
    short(&mut entry, b"x-deep");
    entry.extend(value);
    entry
}

fn cut() -> Vec<u8> {
    let name = "Phường Trí Quả".as_bytes();
    name[..name.len() - 1].to_vec()
}

fn lapin_reads(bytes: &[u8]) -> AMQPFrame {
    let (rest, frame) = parse_frame(bytes).expect("lapin's parser reads the frame");
    assert!(rest.is_empty(), "{} bytes left", rest.len());
    frame
}

fn header_note(frame: &AMQPFrame) -> String {
    let AMQPFrame::Header(_, header) = frame else {
        panic!("not a content header: {frame:?}")
    };
    let headers = header.properties.headers().clone().expect("headers");
    match headers.inner().get(UNREADABLE_HEADER) {
        Some(lapin::types::AMQPValue::LongString(note)) => {
            String::from_utf8(note.as_bytes().to_vec()).expect("UTF-8")
        }
        other => panic!("no note: {other:?}"),
    }
}

#[test]
fn a_routing_key_cut_mid_character_is_escaped_and_marks_the_header_that_follows() {
    let original = deliver(&cut());
    assert!(
        parse_frame(original.as_slice()).is_err(),
        "lapin refuses it"
    );
    let mut screen = Screen::default();
    let method = screen.screen(&original).expect("rewritten");
    let AMQPFrame::Method(1, AMQPClass::Basic(basic::AMQPMethod::Deliver(read))) =
        lapin_reads(&method)
    else {
        panic!("not a delivery")
    };
    assert_eq!(read.routing_key.as_str(), "Phường Trí Qu\\xe1\\xba");
    assert_eq!(read.delivery_tag, 7);
    let header = screen
        .screen(&content_header(None, None))
        .expect("the delivery's header is marked");
    let note = header_note(&lapin_reads(&header));
    assert!(
        note.contains("routing key is not UTF-8: Phường Trí Qu\\xe1\\xba"),
        "{note}"
    );
    // The next delivery is not marked.
    assert_eq!(screen.screen(&deliver(b"document.signed")), None);
    assert_eq!(screen.screen(&content_header(None, None)), None);
}

#[test]
fn a_header_key_cut_mid_character_replaces_the_headers_with_the_note() {
    let mut table = text_entry(b"x-ok", "kept only when readable");
    table.extend(text_entry(&cut(), "v"));
    let original = content_header(Some(b"document.signed"), Some(&table));
    assert!(
        parse_frame(original.as_slice()).is_err(),
        "lapin refuses it"
    );
    let rewritten = Screen::default().screen(&original).expect("rewritten");
    let frame = lapin_reads(&rewritten);
    let note = header_note(&frame);
    assert!(
        note.contains("header key is not UTF-8: Phường Trí Qu\\xe1\\xba"),
        "{note}"
    );
    let AMQPFrame::Header(_, header) = frame else {
        unreachable!()
    };
    assert_eq!(header.body_size, 42);
    assert_eq!(*header.properties.delivery_mode(), Some(2));
    assert_eq!(
        header.properties.kind().as_ref().map(|k| k.as_str()),
        Some("document.signed")
    );
}

#[test]
fn headers_nested_twenty_thousand_deep_are_replaced_without_recursing() {
    let original = content_header(None, Some(&nested(20_000)));
    let rewritten = Screen::default().screen(&original).expect("rewritten");
    let note = header_note(&lapin_reads(&rewritten));
    assert!(note.contains("nested deeper than 32 levels"), "{note}");
    // Thirty levels are what lapin reads, and pass as they are.
    let shallow = content_header(None, Some(&nested(30)));
    assert_eq!(Screen::default().screen(&shallow), None);
    lapin_reads(&shallow);
}

#[test]
fn a_type_property_cut_mid_character_is_escaped_with_the_note() {
    let original = content_header(Some(&cut()), Some(&text_entry(b"x-trace", "t1")));
    let rewritten = Screen::default().screen(&original).expect("rewritten");
    let frame = lapin_reads(&rewritten);
    let note = header_note(&frame);
    assert!(note.contains("type property is not UTF-8"), "{note}");
    let AMQPFrame::Header(_, header) = frame else {
        unreachable!()
    };
    let headers = header.properties.headers().clone().expect("headers");
    assert!(
        headers.inner().contains_key("x-trace"),
        "readable headers are kept"
    );
    assert_eq!(
        header.properties.kind().as_ref().map(|k| k.as_str()),
        Some("Phường Trí Qu\\xe1\\xba")
    );
}

#[test]
fn an_unknown_field_type_is_unreadable() {
    let mut table = Vec::new();
    short(&mut table, b"x-odd");
    table.push(b'Z');
    let rewritten = Screen::default()
        .screen(&content_header(None, Some(&table)))
        .expect("rewritten");
    assert!(header_note(&lapin_reads(&rewritten)).contains("unknown type Z"));
}

#[test]
fn a_publisher_cannot_set_the_note_itself() {
    let mut table = text_entry(UNREADABLE_HEADER.as_bytes(), "forged");
    table.extend(text_entry(b"x-kept", "yes"));
    let rewritten = Screen::default()
        .screen(&content_header(None, Some(&table)))
        .expect("rewritten");
    let AMQPFrame::Header(_, header) = lapin_reads(&rewritten) else {
        panic!("not a header")
    };
    let headers = header.properties.headers().clone().expect("headers");
    assert!(!headers.inner().contains_key(UNREADABLE_HEADER));
    assert!(headers.inner().contains_key("x-kept"));
}

#[test]
fn readable_frames_pass_untouched() {
    let mut screen = Screen::default();
    let table = text_entry("khóa-tiếng-việt".as_bytes(), "giá trị");
    for frame in [
        deliver(b"document.signed"),
        content_header(Some(b"t"), Some(&table)),
        frame(FRAME_BODY, 1, b"{\"id\": 1}"),
        frame(FRAME_HEARTBEAT, 0, b""),
    ] {
        assert_eq!(screen.screen(&frame), None);
    }
}

/// Reads everything `bytes` gives through a [`Screened`] stream that gets them `chunk` bytes
/// at a time.
fn read_screened(bytes: Vec<u8>, chunk: usize) -> Vec<u8> {
    struct Trickle(Vec<u8>, usize, usize);
    impl AsyncRead for Trickle {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            let count = this.1.min(buf.len()).min(this.0.len() - this.2);
            buf[..count].copy_from_slice(&this.0[this.2..this.2 + count]);
            this.2 += count;
            Poll::Ready(Ok(count))
        }
    }
    let mut screened = Screened::new(Trickle(bytes, chunk, 0));
    let mut out = Vec::new();
    futures_lite::future::block_on(screened.read_to_end(&mut out)).expect("read");
    out
}

#[test]
fn the_stream_screens_frames_however_the_socket_cuts_them() {
    let mut stream = b"AMQP\x00\x00\x09\x01".to_vec();
    stream.extend(deliver(&cut()));
    stream.extend(content_header(None, None));
    stream.extend(frame(FRAME_BODY, 1, &[b'x'; 200_000]));
    stream.extend(content_header(None, Some(&nested(20_000))));
    let mut expected = b"AMQP\x00\x00\x09\x01".to_vec();
    let mut screen = Screen::default();
    for part in [
        deliver(&cut()),
        content_header(None, None),
        frame(FRAME_BODY, 1, &[b'x'; 200_000]),
        content_header(None, Some(&nested(20_000))),
    ] {
        expected.extend(screen.screen(&part).unwrap_or(part));
    }
    for chunk in [1, 7, 4096, 1 << 20] {
        assert_eq!(
            read_screened(stream.clone(), chunk),
            expected,
            "chunk {chunk}"
        );
    }
}

proptest! {
    /// Whatever bytes a header table holds, the screen neither panics nor gives lapin a
    /// header it cannot read.
    #[test]
    fn any_header_table_becomes_one_lapin_reads(table in proptest::collection::vec(any::<u8>(), 0..300)) {
        let original = content_header(Some(b"t"), Some(&table));
        let screened = Screen::default().screen(&original).unwrap_or(original);
        prop_assert!(parse_frame(screened.as_slice()).is_ok());
    }

    #[test]
    fn any_routing_key_becomes_one_lapin_reads(key in proptest::collection::vec(any::<u8>(), 0..255)) {
        let original = deliver(&key);
        let screened = Screen::default().screen(&original).unwrap_or(original);
        prop_assert!(parse_frame(screened.as_slice()).is_ok());
    }
}

/// A waker that records whether it was woken.
struct Flag(std::sync::atomic::AtomicBool);

impl std::task::Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_message_is_read_only_once_its_body_fits_in_the_budget() {
    // Three messages of 42 bytes each, in a budget of 100: two fit.
    let message = [
        deliver(b"document.signed"),
        content_header(None, None),
        frame(FRAME_BODY, 1, &[b'x'; 42]),
    ]
    .concat();
    let stream = message.repeat(3);
    let budget = Budget::new(100);
    let mut screened = Screened::within(stream.as_slice(), budget.clone());
    let flag = std::sync::Arc::new(Flag(false.into()));
    let waker = std::task::Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut read = |screened: &mut Screened<&[u8]>, out: &mut Vec<u8>| loop {
        let mut buf = [0; 4096];
        match Pin::new(&mut *screened).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(0)) => return true,
            Poll::Ready(Ok(count)) => out.extend(&buf[..count]),
            Poll::Ready(Err(error)) => panic!("{error}"),
            Poll::Pending => return false,
        }
    };
    let mut out = Vec::new();
    assert!(!read(&mut screened, &mut out), "the third message waits");
    // Both messages whole, and the third's method frame, which holds no body.
    assert_eq!(
        out,
        [message.repeat(2), deliver(b"document.signed")].concat()
    );
    assert_eq!(budget.held(), 84);
    assert!(!flag.0.load(std::sync::atomic::Ordering::SeqCst));
    // The consumer is done with the first message: the reader is woken and reads the rest.
    drop(budget.hold(42));
    assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
    assert!(read(&mut screened, &mut out), "the stream ends");
    assert_eq!(out, stream);
    assert_eq!(budget.held(), 84);
}

#[test]
fn a_message_larger_than_the_budget_is_read_when_nothing_else_is_held() {
    let stream = [
        deliver(b"document.signed"),
        content_header(None, None),
        frame(FRAME_BODY, 1, &[b'x'; 42]),
    ]
    .concat();
    let budget = Budget::new(10);
    let mut out = Vec::new();
    let mut screened = Screened::within(stream.as_slice(), budget.clone());
    futures_lite::future::block_on(screened.read_to_end(&mut out)).expect("read");
    assert_eq!(out, stream);
    assert_eq!(budget.held(), 42);
}
