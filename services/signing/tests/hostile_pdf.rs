//! Hostile input: files made to crash, hang or exhaust the PDF reader. Each must come back as
//! an error (or, if it happens to be readable, a signed file), never as a panic, a stack
//! overflow or an endless loop. Explicit cases for each kind of attack, then property tests
//! over random bytes, random PDF-like token soups and mutated real reports.

// Helpers as well as tests panic on failure: that is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use signing::{LocalSigner, SignError, sign_pdf};

fn signer() -> &'static LocalSigner {
    static SIGNER: OnceLock<LocalSigner> = OnceLock::new();
    SIGNER.get_or_init(|| load_signer("signer.p12"))
}

/// Signs `pdf` on a runtime of its own (proptest's cases are not async).
fn try_sign(pdf: &[u8]) -> Result<Vec<u8>, SignError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(sign_pdf(pdf, &request(0), signer(), None))
}

/// Signs `pdf`, expecting a `MalformedPdf` error whose message contains `expected`.
fn assert_malformed(pdf: &[u8], expected: &str) {
    match try_sign(pdf) {
        Err(SignError::MalformedPdf(reason)) => {
            assert!(reason.contains(expected), "{expected:?} not in {reason:?}");
        }
        other => panic!("expected MalformedPdf({expected:?}), got {other:?}"),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

/// Appends an incremental update section with no entries and the trailer `trailer`, whose
/// `{xref}` is replaced with the section's own offset; returns that offset.
fn append_section(pdf: &mut Vec<u8>, trailer: &str) -> usize {
    let xref = pdf.len();
    let trailer = trailer.replace("{xref}", &xref.to_string());
    let section = format!("xref\n0 0\ntrailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n");
    pdf.extend_from_slice(section.as_bytes());
    xref
}

#[test]
fn arrays_and_dictionaries_nested_without_end_are_refused() {
    for (open, close) in [("[", "]"), ("<< /A ", " >>")] {
        let deep = format!("/Deep {}0{}", open.repeat(100_000), close.repeat(100_000));
        let pdf = build_pdf(&one_page_objects(&deep, ""), "");
        assert_malformed(&pdf, "nested");
    }
    // Within the limit, the same nesting is read.
    let deep = format!("/Deep {}0{}", "[".repeat(200), "]".repeat(200));
    assert!(try_sign(&build_pdf(&one_page_objects(&deep, ""), "")).is_ok());
}

#[test]
fn a_prev_chain_that_loops_is_refused() {
    let pdf = build_pdf(&one_page_objects("", ""), "");
    // The newest section names itself as the one before.
    let mut looping = pdf.clone();
    append_section(&mut looping, "<< /Size 6 /Root 1 0 R /Prev {xref} >>");
    assert_malformed(&looping, "loops");
    // Two sections naming each other: the first's /Prev is filled in once the second exists.
    let mut looping = pdf;
    let first = append_section(&mut looping, "<< /Size 6 /Root 1 0 R /Prev 0000000000 >>");
    let second = append_section(
        &mut looping,
        &format!("<< /Size 6 /Root 1 0 R /Prev {first} >>"),
    );
    let prev = find(&looping, b"/Prev 0000000000") + 6;
    looping[prev..prev + 10].copy_from_slice(format!("{second:010}").as_bytes());
    assert_malformed(&looping, "loops");
}

#[test]
fn offsets_past_the_end_of_the_file_are_refused() {
    let pdf = build_pdf(&one_page_objects("", ""), "");
    // /Prev past the end.
    let mut prev = pdf.clone();
    append_section(&mut prev, "<< /Size 6 /Root 1 0 R /Prev 99999999 >>");
    assert_malformed(&prev, "past the end");
    // /XRefStm past the end.
    let mut hybrid = pdf.clone();
    append_section(&mut hybrid, "<< /Size 6 /Root 1 0 R /XRefStm 99999999 >>");
    assert_malformed(&hybrid, "past the end");
    // An xref entry (the page tree's, the third line after the free entry) past the end.
    let mut entry = pdf.clone();
    let pages = find(&entry, b"65535 f\r\n") + 9 + 20;
    entry[pages..pages + 10].copy_from_slice(b"9999999999");
    assert_malformed(&entry, "past the end");
    // startxref past the end.
    let mut start = pdf;
    let at = start
        .windows(10)
        .rposition(|w| w == b"startxref\n")
        .unwrap()
        + 10;
    let end = at + start[at..].iter().position(|&b| b == b'\n').unwrap();
    start.splice(at..end, b"99999999".iter().copied());
    assert_malformed(&start, "outside the file");
}

#[test]
fn a_huge_predictor_width_in_an_xref_stream_is_refused() {
    for columns in ["1099511627776", "9223372036854775807", "0", "-5"] {
        let layout = ObjectStreamLayout {
            xref_extra: format!("/DecodeParms << /Predictor 12 /Columns {columns} >>"),
            ..ObjectStreamLayout::default()
        };
        assert_malformed(&object_stream_pdf(&layout), "bad predictor parameters");
    }
}

#[test]
fn an_object_stream_whose_header_names_another_object_is_refused() {
    let layout = ObjectStreamLayout {
        header: [1, 7],
        ..ObjectStreamLayout::default()
    };
    assert_malformed(&object_stream_pdf(&layout), "names object 7");
    // An index beyond the stream's /N.
    let layout = ObjectStreamLayout {
        indices: [0, 5],
        ..ObjectStreamLayout::default()
    };
    assert_malformed(&object_stream_pdf(&layout), "holds 2");
}

#[test]
fn a_stream_length_that_leads_back_into_its_own_stream_is_refused() {
    // The object stream's /Length is object 1, which is inside that very stream.
    let layout = ObjectStreamLayout {
        length: Some("1 0 R".into()),
        ..ObjectStreamLayout::default()
    };
    assert_malformed(&object_stream_pdf(&layout), "direct /Length");
}

#[test]
fn a_cross_reference_stream_with_an_indirect_length_is_refused() {
    let mut pdf = object_stream_pdf(&ObjectStreamLayout::default());
    let xref = find(&pdf, b"7 0 obj\n<< /Type /XRef");
    let length = xref + find(&pdf[xref..], b"/Length ") + 8;
    let end = length + pdf[length..].iter().position(|&b| b == b' ').unwrap();
    // Object 5 (the page content) is a plain object whose offset is known: only the rule that
    // an xref stream's /Length be direct can refuse this.
    pdf.splice(length..end, b"5 0 R".iter().copied());
    assert_malformed(&pdf, "direct /Length");
}

/// Bytes that matter to the PDF syntax, for mutations that reach the parser's corners.
const SYNTAX: &[u8] = b"0123456789 \n\r/<>[]()R%#.-+obj";

/// One change to a file.
#[derive(Debug, Clone)]
enum Mutation {
    Replace { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![proptest::sample::select(SYNTAX), any::<u8>()];
    // Positions are reduced modulo the file's length when applied.
    let at = any::<usize>();
    prop_oneof![
        // Replacing keeps the offsets right, so it gets past the cross-reference more often.
        8 => (at, byte.clone()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        1 => (at, byte).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        1 => at.prop_map(|at| Mutation::Delete { at }),
        1 => at.prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// Applies `mutation`, aiming half of them at the last 2 KB, where the cross-reference
/// sections and trailers are.
fn apply(pdf: &mut Vec<u8>, mutation: &Mutation) {
    if pdf.is_empty() {
        return;
    }
    let place = |at: usize| {
        let tail = pdf.len().min(2048);
        if at.is_multiple_of(2) {
            pdf.len() - tail + at / 2 % tail
        } else {
            at / 2 % pdf.len()
        }
    };
    match *mutation {
        Mutation::Replace { at, byte } => {
            let at = place(at);
            pdf[at] = byte;
        }
        Mutation::Insert { at, byte } => {
            let at = place(at);
            pdf.insert(at, byte);
        }
        Mutation::Delete { at } => {
            let at = place(at);
            pdf.remove(at);
        }
        Mutation::Truncate { at } => {
            let at = place(at);
            pdf.truncate(at);
        }
    }
}

/// Real reports and the built files (object streams, indirect forms), to mutate.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds: Vec<Vec<u8>> = reports().into_iter().map(|(_, pdf)| pdf).collect();
        seeds.push(object_stream_pdf(&ObjectStreamLayout::default()));
        seeds.push(indirect_form_and_annots_pdf());
        seeds.push(pdf_writer_style_pdf());
        seeds
    })
}

/// Words of PDF syntax, for token soups that get further than random bytes.
const WORDS: &[&str] = &[
    "<<",
    ">>",
    "[",
    "]",
    "(a)",
    "<41>",
    "/Type",
    "/Catalog",
    "/Pages",
    "/Page",
    "/Kids",
    "/Count",
    "/Root",
    "/Size",
    "/Prev",
    "/XRefStm",
    "/Length",
    "/W",
    "/Index",
    "/Filter",
    "/FlateDecode",
    "/DecodeParms",
    "/Predictor",
    "/Columns",
    "/ObjStm",
    "/XRef",
    "/N",
    "/First",
    "/Annots",
    "/AcroForm",
    "/Fields",
    "obj",
    "endobj",
    "stream\n",
    "endstream",
    "xref",
    "trailer",
    "R",
    "0",
    "1",
    "2",
    "3",
    "12",
    "65535",
    "n",
    "f",
    "-1",
    "1.5",
    " ",
    "\n",
];

/// A run of [`WORDS`].
fn soup(max: usize) -> impl Strategy<Value = String> + Clone {
    proptest::collection::vec(proptest::sample::select(WORDS), 0..max)
        .prop_map(|words| words.join(" "))
}

/// Files with a sound cross-reference table whose objects are token soups, alone or in the
/// catalog and page of an otherwise well-formed document: the reader gets to the objects.
fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    let soups = proptest::collection::vec(soup(40), 1..8);
    prop_oneof![
        soups.clone().prop_map(|objects| build_pdf(&objects, "")),
        (soup(30), soup(30), soups).prop_map(|(catalog, page, more)| {
            let mut objects = one_page_objects(&catalog, &page);
            objects.extend(more);
            build_pdf(&objects, "")
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_refused_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        start in any::<usize>(),
    ) {
        prop_assert!(try_sign(&bytes).is_err());
        // With a startxref, so that the reader gets past the first check.
        let mut pdf = bytes;
        let start = start % (pdf.len() + 16);
        pdf.extend_from_slice(format!("\nstartxref\n{start}\n%%EOF\n").as_bytes());
        let _ = try_sign(&pdf);
    }

    #[test]
    fn pdf_like_token_soups_never_panic(pdf in token_soup()) {
        if let Ok(signed) = try_sign(&pdf) {
            prop_assert!(signed.starts_with(&pdf));
        }
    }
}

proptest! {
    // Each case may sign a real report: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mutated_reports_are_signed_or_refused_never_panicking(
        seed in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut pdf = seeds()[seed % seeds().len()].clone();
        for mutation in &mutations {
            apply(&mut pdf, mutation);
        }
        if let Ok(signed) = try_sign(&pdf) {
            prop_assert!(signed.starts_with(&pdf));
        }
    }
}
