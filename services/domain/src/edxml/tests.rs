use super::*;
use proptest::prelude::*;

fn units() -> KnownUnits {
    let tri_qua = UnitCode::parse("tri-qua").unwrap();
    KnownUnits::new([tri_qua.clone()]).with_agencies([("000.00.12.H55".to_owned(), tri_qua)])
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-18T01:00:00Z")
        .unwrap()
        .to_utc()
}

/// An example package of `proto/edxml/examples/`.
fn example(name: &str) -> String {
    let path = format!(
        "{}/../../proto/edxml/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(text: &str) -> Result<Package, Rejection> {
    read_package_bytes(text.as_bytes(), &units(), now())
}

fn document(text: &str) -> Document {
    match read(text) {
        Ok(Package::Document(document)) => document,
        other => panic!("not a document: {other:?}"),
    }
}

#[test]
fn a_package_with_a_signed_pdf_is_a_digital_document_of_its_unit() {
    let signed = document(&example("signed.xml"));
    assert_eq!(signed.unit.as_str(), "tri-qua");
    assert_eq!(signed.number, "103/BC-UBND");
    assert_eq!(signed.date, NaiveDate::from_ymd_opt(2026, 4, 20).unwrap());
    assert_eq!((signed.digital, signed.business), (true, Business::New));
    let event = document_event(&signed, "package");
    assert_eq!(
        event.event.occurred_at().to_rfc3339(),
        "2026-04-20T00:00:00+07:00"
    );
    assert_eq!(event.event.provenance(), Provenance::Record);
    let EventKind::DocumentSigned {
        document_id,
        digital,
        number,
    } = event.event.kind()
    else {
        panic!("not a document")
    };
    assert_eq!(document_id, "2026/04/20,103/BC-UBND");
    assert!(*digital);
    assert_eq!(number.as_deref(), Some("103/BC-UBND"));
}

#[test]
fn an_unsigned_pdf_and_a_non_pdf_with_a_byte_range_are_not_digital() {
    let unsigned = document(&example("unsigned.xml"));
    assert_eq!(unsigned.attachments, (2, 0));
    assert!(!unsigned.digital);
}

#[test]
fn an_update_names_the_same_event_and_a_recall_its_own_for_the_same_document() {
    let unsigned = document_event(&document(&example("unsigned.xml")), "package");
    let update = document(&example("update.xml"));
    assert_eq!((update.business, update.digital), (Business::Update, true));
    let update = document_event(&update, "package");
    assert_eq!(update.event.id(), unsigned.event.id());
    let signed = document_event(&document(&example("signed.xml")), "package");
    let recall = document(&example("recall.xml"));
    assert_eq!(recall.business, Business::Recall);
    let recall = document_event(&recall, "package");
    assert_ne!(recall.event.id(), signed.event.id());
    let id = |e: &ParsedEvent| match e.event.kind() {
        EventKind::DocumentSigned { document_id, .. } => document_id.clone(),
        _ => String::new(),
    };
    assert_eq!(id(&recall), id(&signed));
}

#[test]
fn a_register_line_names_the_same_document_whatever_its_spacing_and_case() {
    let package = document(&example("signed.xml"));
    let line = Document {
        number: "103 / bc-ubnd".into(),
        agency: None,
        digital: false,
        attachments: (0, 0),
        ..package.clone()
    };
    assert_eq!(
        document_event(&line, "register").event.id(),
        document_event(&package, "package").event.id()
    );
}

#[test]
fn status_messages_and_incoming_documents_are_accepted_and_unknown_agencies_refused() {
    assert!(
        matches!(read(&example("status.xml")), Ok(Package::Status(u)) if u.as_str() == "tri-qua")
    );
    assert!(
        matches!(read(&example("incoming.xml")), Ok(Package::Incoming(u)) if u.as_str() == "tri-qua")
    );
    let unknown = read(&example("unknown-agency.xml")).unwrap_err();
    assert_eq!(unknown.reason(), "unknown_unit");
    assert!(unknown.to_string().contains("000.00.99.H55"), "{unknown}");
}

#[test]
fn a_missing_organ_id_or_date_and_malformed_xml_have_clear_reasons() {
    let signed = example("signed.xml");
    let no_from = signed.replacen("<edXML:OrganId>000.00.12.H55</edXML:OrganId>", "", 1);
    assert_eq!(
        read(&no_from).unwrap_err().reason(),
        "invalid_field:OrganId"
    );
    let no_date = signed.replace(
        "<edXML:PromulgationDate>2026/04/20</edXML:PromulgationDate>",
        "",
    );
    assert_eq!(
        read(&no_date).unwrap_err().reason(),
        "invalid_field:PromulgationDate"
    );
    let bad_date = signed.replace(
        ">2026/04/20</edXML:Promulgation",
        ">20 tháng 4</edXML:Promulgation",
    );
    assert_eq!(
        read(&bad_date).unwrap_err().reason(),
        "invalid_field:PromulgationDate"
    );
    let future = signed.replace(
        ">2026/04/20</edXML:Promulgation",
        ">2027/04/20</edXML:Promulgation",
    );
    assert_eq!(read(&future).unwrap_err().reason(), "future_timestamp");
    let cut = &signed[..signed.len() / 2];
    let error = read(cut).unwrap_err();
    assert_eq!(error.reason(), "malformed");
    assert_eq!(read("{\"id\": 1}").unwrap_err().reason(), "malformed");
    assert!(
        read("<html></html>")
            .unwrap_err()
            .to_string()
            .contains("html")
    );
    let bad_base64 = signed.replacen("<edXML:Value>", "<edXML:Value>%%", 1);
    assert!(
        read(&bad_base64)
            .unwrap_err()
            .to_string()
            .contains("base64")
    );
}

#[test]
fn an_oversized_header_field_or_deep_nesting_is_refused_in_bounded_memory() {
    let signed = example("signed.xml");
    let huge = "x".repeat(2 * MAX_ELEMENT_BYTES);
    let long_subject = signed.replacen("<edXML:Subject>", &format!("<edXML:Subject>{huge}"), 1);
    let reader = std::io::BufReader::with_capacity(8192, long_subject.as_bytes());
    let refused = read_package(reader, &units(), now()).unwrap_err();
    assert!(refused.to_string().contains("over 1024 KiB"), "{refused}");
    let deep = format!("<edXMLEnvelope>{}", "<a>".repeat(MAX_DEPTH + 1));
    assert!(read(&deep).unwrap_err().to_string().contains("nested"));
}

#[test]
fn a_large_attachment_is_read_through_a_small_buffer() {
    // 3 MiB of PDF, signed at its end, read through an 8 KiB buffer.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(std::iter::repeat_n(b'0', 3 * 1024 * 1024));
    pdf.extend_from_slice(b"<</Type/Sig/ByteRange[0 1 2 3]>>\n%%EOF");
    let encoded = encode(&pdf);
    let signed = example("unsigned.xml");
    let start = signed.find("<edXML:Value>").unwrap() + "<edXML:Value>".len();
    let end = signed[start..].find("</edXML:Value>").unwrap() + start;
    let big = format!("{}{}{}", &signed[..start], encoded, &signed[end..]);
    let reader = std::io::BufReader::with_capacity(8192, big.as_bytes());
    let Ok(Package::Document(document)) = read_package(reader, &units(), now()) else {
        panic!("not read")
    };
    assert!(document.digital);
}

/// Base64 with lines of 76 characters.
fn encode(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_hand_written_encoder_round_trips() {
    let data: Vec<u8> = (0..=255).collect();
    let mut decoder = scan::Base64::default();
    let mut out = Vec::new();
    decoder.feed(encode(&data).as_bytes(), &mut out).unwrap();
    decoder.finish(&mut out).unwrap();
    assert_eq!(out, data);
}

/// The reasons a package may be refused with.
fn is_clear(rejection: &Rejection) -> bool {
    let reason = rejection.reason();
    !rejection.to_string().is_empty()
        && (matches!(
            reason.as_str(),
            "malformed" | "unknown_unit" | "future_timestamp" | "too_large"
        ) || reason.starts_with("invalid_field:"))
}

/// The leaf elements of a package (start, end of each `<edXML:X>text</edXML:X>`).
fn leaves(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find("<edXML:") {
        let start = at + open;
        let Some(close) = text[start..].find('>') else {
            break;
        };
        let name = &text[start + 7..start + close];
        let end_tag = format!("</edXML:{name}>");
        if !name.contains(['/', ' '])
            && let Some(end) = text[start..].find(&end_tag)
        {
            let end = start + end + end_tag.len();
            if !text[start + close..end - end_tag.len()].contains('<') {
                found.push((start, end));
            }
        }
        at = start + close;
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_refused_clearly(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Err(rejection) = read(&String::from_utf8_lossy(&bytes)) {
            prop_assert!(is_clear(&rejection), "{rejection:?}");
        }
        if let Err(rejection) = read_package(bytes.as_slice(), &units(), now()) {
            prop_assert!(is_clear(&rejection), "{rejection:?}");
        }
    }

    #[test]
    fn any_element_replaced_gives_a_package_or_a_clear_reason(
        which in 0usize..1000,
        name in prop::sample::select(vec!["signed.xml", "unsigned.xml", "update.xml", "recall.xml", "status.xml", "incoming.xml"]),
        replacement in prop_oneof![
            Just(String::new()),
            "[ -~]{0,40}",
            "\\PC{0,20}",
            Just("<edXML:X>".to_owned()),
            Just("<![CDATA[x]]>".to_owned()),
            Just("&bogus;".to_owned()),
            Just("\u{0}".to_owned()),
        ],
    ) {
        let text = example(name);
        let leaves = leaves(&text);
        let (start, end) = leaves[which % leaves.len()];
        let changed = format!("{}{}{}", &text[..start], replacement, &text[end..]);
        if let Err(rejection) = read(&changed) {
            prop_assert!(is_clear(&rejection), "{rejection:?}");
        }
        // And the element's text alone replaced.
        let inner_start = start + text[start..].find('>').unwrap() + 1;
        let inner_end = text[..end].rfind("</").unwrap();
        let changed = format!("{}{}{}", &text[..inner_start], replacement, &text[inner_end..]);
        if let Err(rejection) = read(&changed) {
            prop_assert!(is_clear(&rejection), "{rejection:?}");
        }
    }
}

#[test]
fn a_package_from_the_broker_over_1_mib_is_too_large() {
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        read_package_bytes(&big, &units(), now())
            .unwrap_err()
            .reason(),
        "too_large"
    );
}

#[test]
fn a_derived_event_reads_back_as_a_record_of_the_same_document() {
    let event = document_event(&document(&example("signed.xml")), "package");
    let again = read_derived(event.body.as_bytes(), &units(), now()).unwrap();
    assert_eq!(again.event, event.event);
    let petition = r#"{"id":"0b8e6f7c-3d1a-4f5e-9c2b-7a6d5e4f3c2b","type":"petition.received","occurred_at":"2026-04-20T00:00:00+07:00","unit":"tri-qua","data":{"petition_id":"P1"}}"#;
    assert!(read_derived(petition.as_bytes(), &units(), now()).is_err());
}
