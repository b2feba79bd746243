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

/// A signer outside the crate, as a remote (CSC) signer would be: it answers later, from
/// another task, with the key it wraps.
struct RemoteLikeSigner {
    key: std::sync::Arc<LocalSigner>,
    oversized: bool,
}

impl Signer for RemoteLikeSigner {
    fn certificate_chain(&self) -> &[Vec<u8>] {
        self.key.certificate_chain()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.key.algorithm()
    }

    fn sign_digest<'a>(&'a self, sha256_digest: &'a [u8; 32]) -> SignFuture<'a> {
        let (key, digest, oversized) = (self.key.clone(), *sha256_digest, self.oversized);
        Box::pin(async move {
            let remote = tokio::spawn(async move { key.sign_digest(&digest).await });
            let signature = remote
                .await
                .map_err(|e| SignError::Signer(e.to_string()))??;
            Ok(if oversized {
                vec![0x55; 16 * 1024]
            } else {
                signature
            })
        })
    }
}

#[tokio::test]
async fn a_signer_from_outside_the_crate_can_sign() {
    let key = std::sync::Arc::new(load_signer("signer.p12"));
    let signer = RemoteLikeSigner {
        key,
        oversized: false,
    };
    let pdf = typst_or_other_report();
    let signed = sign_pdf(&pdf, &request(0), &signer, None).await.unwrap();
    assert_valid(&write(&scratch_dir("remote-like"), "signed.pdf", &signed));
}

#[tokio::test]
async fn a_signature_larger_than_the_placeholder_is_refused() {
    let key = std::sync::Arc::new(load_signer("signer.p12"));
    let signer = RemoteLikeSigner {
        key,
        oversized: true,
    };
    let pdf = typst_or_other_report();
    let error = sign_pdf(&pdf, &request(0), &signer, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SignError::PlaceholderTooSmall { needed, reserved } if needed > reserved),
        "{error}"
    );
}
