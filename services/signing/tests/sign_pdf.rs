//! Signing real report PDFs (PAdES B-B): validity for pdfsig and pyHanko, an incremental
//! update that leaves the rendered file untouched, and tamper detection.

// Helpers as well as tests panic on failure: that is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use signing::{LocalSigner, SignError, SignFuture, SignatureAlgorithm, Signer, sign_pdf};

async fn sign(pdf: &[u8], signer: &LocalSigner, page: usize) -> Vec<u8> {
    sign_pdf(pdf, &request(page), signer, None).await.unwrap()
}

#[tokio::test]
async fn signed_reports_are_valid_trusted_and_cover_the_whole_file() {
    let signer = load_signer("signer.p12");
    let dir = scratch_dir("valid");
    for (name, pdf) in reports() {
        let name = name.as_str();
        let signed = sign(&pdf, &signer, 0).await;
        assert!(
            signed.starts_with(&pdf),
            "{name}: the original is not a prefix of the signed file"
        );
        let path = write(&dir, name, &signed);
        assert_valid(&path);
        let status = &pyhanko_status(&path)[0];
        assert!(
            status.contains("\"unsigned_attrs\": []"),
            "B-B has no time-stamp: {status}"
        );
    }
}

#[tokio::test]
async fn the_widget_can_go_on_the_last_page() {
    let signer = load_signer("signer.p12");
    let dir = scratch_dir("last-page");
    for (name, pdf) in reports() {
        let name = name.as_str();
        let path = write(&dir, &format!("original-{name}"), &pdf);
        let pages = render(&path).len();
        let signed = sign(&pdf, &signer, pages - 1).await;
        assert_valid(&write(&dir, name, &signed));
        let error = sign_pdf(&pdf, &request(pages), &signer, None)
            .await
            .unwrap_err();
        assert!(
            matches!(error, SignError::PageOutOfRange { index, count } if index == pages && count == pages)
        );
    }
}

#[tokio::test]
async fn signing_leaves_the_rendered_pages_and_the_vietnamese_text_unchanged() {
    let signer = load_signer("signer.p12");
    let dir = scratch_dir("render");
    for (name, pdf) in reports() {
        let name = name.as_str();
        let original = write(&dir, &format!("original-{name}"), &pdf);
        let signed = write(
            &dir,
            &format!("signed-{name}"),
            &sign(&pdf, &signer, 0).await,
        );
        let (before, after) = (render(&original), render(&signed));
        assert!(!before.is_empty());
        assert!(
            before == after,
            "{name}: pages render differently after signing"
        );
        let text = pdftotext(&signed);
        assert_eq!(text, pdftotext(&original), "{name}: text changed");
        assert!(
            text.contains("phường") || text.contains("PHƯỜNG"),
            "{name}: no Vietnamese text in {text}"
        );
    }
}

#[tokio::test]
async fn changing_one_signed_byte_invalidates_the_signature() {
    let signer = load_signer("signer.p12");
    let dir = scratch_dir("tamper");
    for (name, pdf) in reports() {
        let name = name.as_str();
        let signed = sign(&pdf, &signer, 0).await;
        // A digit of the signing time: in the first signed range, and still a valid PDF.
        let m = find(&signed, b"/M (D:") + 8;
        let mut tampered = signed.clone();
        tampered[m] = if tampered[m] == b'9' {
            b'8'
        } else {
            tampered[m] + 1
        };
        assert_invalid(&write(&dir, &format!("time-{name}"), &tampered));
        // A byte of the original file's header comment.
        let mut tampered = signed.clone();
        let comment = find(&signed, b"\n%") + 2;
        tampered[comment] ^= 0x01;
        assert_invalid(&write(&dir, &format!("header-{name}"), &tampered));
        // A hex digit of /Reason, after /Contents: in the second signed range.
        let mut tampered = signed;
        let reason = find(&tampered, b"/Reason <FEFF") + 14;
        tampered[reason] = if tampered[reason] == b'0' { b'1' } else { b'0' };
        assert_invalid(&write(&dir, &format!("reason-{name}"), &tampered));
    }
}

#[tokio::test]
async fn ecdsa_and_legacy_pkcs12_signers_sign_too() {
    let dir = scratch_dir("other-keys");
    let pdf = typst_or_other_report();
    for file in ["signer-ec.p12", "signer-legacy.p12"] {
        let signed = sign(&pdf, &load_signer(file), 0).await;
        assert_valid(&write(&dir, &format!("{file}.pdf"), &signed));
    }
}

#[tokio::test]
async fn a_signed_report_can_be_signed_again() {
    let signer = load_signer("signer.p12");
    let dir = scratch_dir("twice");
    for (name, pdf) in reports() {
        let name = name.as_str();
        let once = sign(&pdf, &signer, 0).await;
        let twice = sign(&once, &load_signer("signer-ec.p12"), 0).await;
        let path = write(&dir, name, &twice);
        assert_valid(&path);
        let statuses = pyhanko_status(&path);
        assert_eq!(statuses.len(), 2, "{statuses:?}");
        assert!(statuses[1].contains("Signature2"), "{statuses:?}");
    }
}

#[tokio::test]
async fn signing_can_run_on_any_tokio_worker() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let signer = load_signer("signer.p12");
    let pdf = typst_or_other_report();
    let signed = assert_send(sign_pdf(&pdf, &request(0), &signer, None)).await;
    assert!(signed.is_ok());
}

#[tokio::test]
async fn files_that_are_not_pdfs_are_refused() {
    let signer = load_signer("signer.p12");
    let error = sign_pdf(b"hello", &request(0), &signer, None)
        .await
        .unwrap_err();
    assert!(matches!(error, SignError::MalformedPdf(_)), "{error}");
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[tokio::test]
async fn a_pdf_laid_out_like_pdf_writer_output_signs_and_renders_the_same() {
    let pdf = pdf_writer_style_pdf();
    let dir = scratch_dir("pdf-writer");
    let original = write(&dir, "original.pdf", &pdf);
    run(std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&original));
    let signer = load_signer("signer.p12");
    for page in [0, 1] {
        let signed = sign(&pdf, &signer, page).await;
        assert!(signed.starts_with(&pdf));
        let path = write(&dir, &format!("signed-{page}.pdf"), &signed);
        assert_valid(&path);
        assert!(
            render(&original) == render(&path),
            "pages render differently after signing"
        );
        assert!(pdftotext(&path).contains("trang 2"));
    }
}

/// What a faulty remote signer gets wrong.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Answers with 16 KiB of garbage.
    Garbage,
    /// Answers with a real signature, one bit of which is flipped on the way.
    FlippedBit,
    /// Says it signs with ECDSA, but holds an RSA key.
    WrongAlgorithm,
}

/// A signer outside the crate, as a remote (CSC) signer would be: it answers later, from
/// another task, with the key it wraps (and with `fault`, wrongly).
struct RemoteLikeSigner {
    key: std::sync::Arc<LocalSigner>,
    fault: Option<Fault>,
}

impl Signer for RemoteLikeSigner {
    fn certificate_chain(&self) -> &[Vec<u8>] {
        self.key.certificate_chain()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.fault {
            Some(Fault::WrongAlgorithm) => SignatureAlgorithm::EcdsaSha256,
            _ => self.key.algorithm(),
        }
    }

    fn sign_digest<'a>(&'a self, sha256_digest: &'a [u8; 32]) -> SignFuture<'a> {
        let (key, digest, fault) = (self.key.clone(), *sha256_digest, self.fault);
        Box::pin(async move {
            let remote = tokio::spawn(async move { key.sign_digest(&digest).await });
            let mut signature = remote
                .await
                .map_err(|e| SignError::Signer(e.to_string()))??;
            match fault {
                Some(Fault::Garbage) => signature = vec![0x55; 16 * 1024],
                Some(Fault::FlippedBit) => signature[100] ^= 0x01,
                Some(Fault::WrongAlgorithm) | None => {}
            }
            Ok(signature)
        })
    }
}

#[tokio::test]
async fn a_signer_from_outside_the_crate_can_sign() {
    let key = std::sync::Arc::new(load_signer("signer.p12"));
    let signer = RemoteLikeSigner { key, fault: None };
    let pdf = typst_or_other_report();
    let signed = sign_pdf(&pdf, &request(0), &signer, None).await.unwrap();
    assert_valid(&write(&scratch_dir("remote-like"), "signed.pdf", &signed));
}

#[tokio::test]
async fn a_signature_that_does_not_verify_with_the_certificate_is_refused() {
    let key = std::sync::Arc::new(load_signer("signer.p12"));
    let pdf = typst_or_other_report();
    for fault in [Fault::Garbage, Fault::FlippedBit, Fault::WrongAlgorithm] {
        let signer = RemoteLikeSigner {
            key: key.clone(),
            fault: Some(fault),
        };
        let error = sign_pdf(&pdf, &request(0), &signer, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, SignError::Signer(reason) if reason.contains("certificate")),
            "{fault:?}: {error}"
        );
    }
}

#[tokio::test]
async fn indirect_forms_and_annotation_arrays_are_extended_and_sign_validly() {
    let pdf = indirect_form_and_annots_pdf();
    let dir = scratch_dir("indirect");
    let original = write(&dir, "original.pdf", &pdf);
    run(std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&original));
    let signed = sign(&pdf, &load_signer("signer.p12"), 0).await;
    let update = String::from_utf8_lossy(&signed[pdf.len()..]).into_owned();
    // The form object (6) is replaced with the new field added; the catalog is left alone.
    assert_eq!(
        object_numbers(&signed[pdf.len()..]),
        [10, 11, 12, 3, 6],
        "{update}"
    );
    assert!(update.contains("/Fields [9 0 R 11 0 R]"), "{update}");
    // The page's annotations, an indirect array, are written inline with the widget added.
    assert!(update.contains("/Annots [8 0 R 9 0 R 11 0 R]"), "{update}");
    let path = write(&dir, "signed.pdf", &signed);
    assert_valid(&path);
    assert!(
        render(&original) == render(&path),
        "pages render differently"
    );
}

#[tokio::test]
async fn new_objects_are_numbered_past_every_object_even_if_size_is_too_small() {
    // Eight objects, but a trailer that says /Size 4 (same length as /Size 9: offsets hold).
    let mut objects = one_page_objects("", "");
    objects.extend(["(six)", "(seven)", "(eight)"].map(str::to_owned));
    let mut pdf = build_pdf(&objects, "");
    let size = find(&pdf, b"/Size 9 ");
    pdf[size + 6] = b'4';
    let signed = sign(&pdf, &load_signer("signer.p12"), 0).await;
    // Signature, field, appearance after object 8; the page (3) and catalog (1) rewritten.
    assert_eq!(object_numbers(&signed[pdf.len()..]), [9, 10, 11, 3, 1]);
    assert!(String::from_utf8_lossy(&signed).contains("/Size 12"));
}

#[tokio::test]
async fn a_pdf_with_its_catalog_in_an_object_stream_signs_validly() {
    let pdf = object_stream_pdf(&ObjectStreamLayout::default());
    let dir = scratch_dir("object-stream");
    let original = write(&dir, "original.pdf", &pdf);
    run(std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&original));
    let signed = sign(&pdf, &load_signer("signer.p12"), 0).await;
    let path = write(&dir, "signed.pdf", &signed);
    assert_valid(&path);
    assert!(
        render(&original) == render(&path),
        "pages render differently"
    );
}
