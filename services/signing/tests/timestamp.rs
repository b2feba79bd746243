//! PAdES B-T: signature time-stamps from a local RFC 3161 authority (`openssl ts -reply`
//! behind `tests/support/tsa_server.py`, over HTTP or HTTPS), and the client's errors.

// Helpers as well as tests panic on failure: that is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use signing::{SignError, TimeStampClient, TimeStampError, sign_pdf};

#[tokio::test]
async fn b_t_signatures_carry_a_valid_trusted_time_stamp() {
    let tsa = Tsa::start();
    let client = TimeStampClient::new(&tsa.url("/tsa")).unwrap();
    let signer = load_signer("signer.p12");
    let dir = scratch_dir("b-t");
    for (name, pdf) in reports() {
        let signed = sign_pdf(&pdf, &request(0), &signer, Some(&client))
            .await
            .unwrap();
        let path = write(&dir, &name, &signed);
        assert_valid(&path);
        let status = &pyhanko_status(&path)[0];
        for expected in [
            "\"timestamp_intact\": true",
            "\"timestamp_valid\": true",
            "\"timestamp_trusted\": true",
            "\"unsigned_attrs\": [\"signature_time_stamp_token\"]",
        ] {
            assert!(status.contains(expected), "{expected} missing in {status}");
        }
        let (_, pretty) = pyhanko(&path);
        for expected in [
            "The timestamp token is cryptographically sound.",
            "The TSA certificate is trusted.",
        ] {
            assert!(pretty.contains(expected), "{expected} missing in\n{pretty}");
        }
    }
}

#[tokio::test]
async fn a_token_verifies_with_openssl_against_the_data() {
    let tsa = Tsa::start();
    let client = TimeStampClient::new(&tsa.url("/tsa")).unwrap();
    let data = "chữ ký số".as_bytes();
    let token = client.time_stamp(data).await.unwrap();
    let dir = scratch_dir("token");
    let (data_path, token_path) = (
        write(&dir, "data.bin", data),
        write(&dir, "token.der", &token),
    );
    let output = Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(&token_path)
        .arg("-data")
        .arg(&data_path)
        .arg("-CAfile")
        .arg(pki().join("root.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("Verification: OK"),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn an_authority_error_stops_signing() {
    let tsa = Tsa::start();
    let client = TimeStampClient::new(&tsa.url("/broken")).unwrap();
    let error = client.time_stamp(b"x").await.unwrap_err();
    assert!(matches!(error, TimeStampError::HttpStatus(500)), "{error}");
    let signer = load_signer("signer.p12");
    let pdf = fixture("libreoffice-xref-table.pdf");
    let error = sign_pdf(&pdf, &request(0), &signer, Some(&client))
        .await
        .unwrap_err();
    assert!(
        matches!(error, SignError::TimeStamp(TimeStampError::HttpStatus(500))),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_authority_is_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = TimeStampClient::new(&format!("http://127.0.0.1:{port}/tsa"))
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    let error = client.time_stamp(b"x").await.unwrap_err();
    assert!(matches!(error, TimeStampError::Http(_)), "{error}");
}

#[test]
fn only_http_and_https_urls_are_accepted() {
    for url in [
        "ftp://tsa.example/",
        "tsa.example",
        "https://user@tsa.example/",
    ] {
        let error = TimeStampClient::new(url).unwrap_err();
        assert!(
            matches!(error, TimeStampError::InvalidUrl(_)),
            "{url}: {error}"
        );
    }
    let https = TimeStampClient::new("https://tsa.example/tsr").unwrap();
    assert!(https.is_secure() && !https.is_loopback());
    let local = TimeStampClient::new("http://127.0.0.1:3180/tsa").unwrap();
    assert!(!local.is_secure() && local.is_loopback());
    // Roots are for TLS: a plain authority takes none, and a file of no certificate is no root.
    let roots = std::fs::read(pki().join("tls-root.pem")).unwrap();
    let error = local.with_roots(&roots).unwrap_err();
    assert!(matches!(error, TimeStampError::InvalidRoots(_)), "{error}");
    let error = https.with_roots(b"not PEM").unwrap_err();
    assert!(matches!(error, TimeStampError::InvalidRoots(_)), "{error}");
}

#[tokio::test]
async fn an_https_authority_is_trusted_through_the_configured_root() {
    let tsa = Tsa::start_tls();
    let roots = std::fs::read(pki().join("tls-root.pem")).unwrap();
    let client = TimeStampClient::new(&tsa.https_url("/tsa"))
        .unwrap()
        .with_roots(&roots)
        .unwrap();
    let signer = load_signer("signer.p12");
    let pdf = fixture("libreoffice-xref-table.pdf");
    let signed = sign_pdf(&pdf, &request(0), &signer, Some(&client))
        .await
        .unwrap();
    let path = write(&scratch_dir("https"), "signed.pdf", &signed);
    assert_valid(&path);
    let status = &pyhanko_status(&path)[0];
    for expected in ["\"timestamp_valid\": true", "\"timestamp_trusted\": true"] {
        assert!(status.contains(expected), "{expected} missing in {status}");
    }
}

#[tokio::test]
async fn an_https_authority_whose_certificate_is_not_trusted_is_refused_clearly() {
    let tsa = Tsa::start_tls();
    let signer = load_signer("signer.p12");
    let pdf = fixture("libreoffice-xref-table.pdf");
    // The webpki roots alone, and another CA (the signing PKI's root) added: neither issued the
    // authority's TLS certificate.
    let other_root = std::fs::read(pki().join("root.pem")).unwrap();
    let clients = [
        TimeStampClient::new(&tsa.https_url("/tsa")).unwrap(),
        TimeStampClient::new(&tsa.https_url("/tsa"))
            .unwrap()
            .with_roots(&other_root)
            .unwrap(),
    ];
    for client in clients {
        let error = sign_pdf(&pdf, &request(0), &signer, Some(&client))
            .await
            .unwrap_err();
        let SignError::TimeStamp(TimeStampError::UntrustedCertificate(reason)) = &error else {
            panic!("not refused as untrusted: {error}");
        };
        assert!(
            reason.contains("127.0.0.1's TLS certificate is not trusted")
                && reason.contains("UnknownIssuer"),
            "{reason}"
        );
    }
}

/// The room `/Contents` reserves in `signed`, in bytes.
fn reserved_room(signed: &[u8]) -> usize {
    let start = signed
        .windows(11)
        .rposition(|w| w == b"/Contents <")
        .unwrap()
        + 11;
    let end = start + signed[start..].iter().position(|&b| b == b'>').unwrap();
    (end - start) / 2
}

#[tokio::test]
async fn a_token_too_large_for_the_reserved_room_is_fitted_by_signing_again() {
    let tsa = Tsa::start();
    let client = TimeStampClient::new(&tsa.url("/tsa-long-chain")).unwrap();
    let signer = load_signer("signer.p12");
    let pdf = fixture("libreoffice-xref-table.pdf");
    let signed = sign_pdf(&pdf, &request(0), &signer, Some(&client))
        .await
        .unwrap();
    let estimate = signing::cms::size_estimate(&signer, true);
    assert!(
        reserved_room(&signed) > estimate,
        "reserved {} of {estimate} estimated: the long token should not have fitted",
        reserved_room(&signed)
    );
    let path = write(&scratch_dir("long-chain"), "signed.pdf", &signed);
    assert_valid(&path);
    let status = &pyhanko_status(&path)[0];
    assert!(status.contains("\"timestamp_valid\": true"), "{status}");
}
