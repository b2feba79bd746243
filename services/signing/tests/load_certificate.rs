//! Loading a unit's PKCS#12 file: what `openssl pkcs12 -export` makes loads, and each reason a
//! file cannot be used gives its own error, whose message never contains the password.

// Helpers as well as tests panic on failure: that is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use signing::{LoadError, LocalSigner, SignatureAlgorithm, Signer};

fn load(file: &str, password: &str) -> Result<LocalSigner, LoadError> {
    let der = std::fs::read(pki().join(file)).unwrap();
    LocalSigner::from_pkcs12(&der, password, Utc::now())
}

/// Loads `file`, expects an error, and checks that neither its message nor its Debug form
/// gives the password away.
fn load_error(file: &str, password: &str) -> LoadError {
    let error = load(file, password).expect_err(file);
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(
            !text.contains(PASSWORD) && !text.contains(password),
            "{file}: {text}"
        );
    }
    error
}

#[test]
fn openssl_3_default_and_legacy_files_load_with_their_chain() {
    for file in ["signer.p12", "signer-legacy.p12"] {
        let signer = load(file, PASSWORD).unwrap();
        assert_eq!(signer.algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
        assert_eq!(
            signer.certificate_chain().len(),
            3,
            "{file}: signer, sub CA, root"
        );
        let info = signer.certificate_info();
        assert_eq!(info.common_name.as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(info.organization.as_deref(), Some("UBND phường Trí Quả"));
        assert!(
            info.issuer.contains("Baocao Test Sub CA"),
            "{}",
            info.issuer
        );
        assert!(info.not_after > Utc::now() && info.not_before < Utc::now());
        assert!(!info.serial.is_empty());
    }
}

#[test]
fn ecdsa_p256_files_load() {
    let signer = load("signer-ec.p12", PASSWORD).unwrap();
    assert_eq!(signer.algorithm(), SignatureAlgorithm::EcdsaSha256);
    assert_eq!(
        signer.certificate_info().common_name.as_deref(),
        Some("Trần Thị Bình")
    );
}

#[test]
fn a_wrong_password_is_named_as_such() {
    let error = load_error("signer.p12", "wrong-password");
    assert!(matches!(error, LoadError::WrongPassword), "{error}");
    let error = load_error("signer-legacy.p12", "wrong-password");
    assert!(matches!(error, LoadError::WrongPassword), "{error}");
}

#[test]
fn an_expired_certificate_is_refused_with_its_end_date() {
    let error = load_error("expired.p12", PASSWORD);
    let expected = Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap();
    assert!(
        matches!(&error, LoadError::Expired { not_after, .. } if *not_after == expected),
        "{error}"
    );
    assert!(error.to_string().contains("2021-01-01"), "{error}");
}

#[test]
fn a_certificate_not_yet_valid_is_refused() {
    let der = std::fs::read(pki().join("signer.p12")).unwrap();
    let long_ago = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap();
    let error = LocalSigner::from_pkcs12(&der, PASSWORD, long_ago).unwrap_err();
    assert!(matches!(error, LoadError::NotYetValid { .. }), "{error}");
}

#[test]
fn files_without_a_key_or_a_certificate_are_refused() {
    let error = load_error("no-key.p12", PASSWORD);
    assert!(matches!(error, LoadError::NoPrivateKey), "{error}");
    let error = load_error("no-cert.p12", PASSWORD);
    assert!(matches!(error, LoadError::NoCertificate), "{error}");
}

#[test]
fn a_key_without_its_certificate_is_refused() {
    let error = load_error("mismatch.p12", PASSWORD);
    assert!(matches!(error, LoadError::KeyMismatch), "{error}");
}

#[test]
fn unsupported_key_types_are_named() {
    let error = load_error("ed25519.p12", PASSWORD);
    assert!(
        matches!(&error, LoadError::UnsupportedKey(oid) if oid == "1.3.101.112"),
        "{error}"
    );
}

#[test]
fn garbage_and_missing_files_are_refused() {
    let error = LocalSigner::from_pkcs12(b"not a PKCS#12 file", PASSWORD, Utc::now()).unwrap_err();
    assert!(matches!(error, LoadError::Unreadable(_)), "{error}");
    let pem = std::fs::read(pki().join("signer.pem")).unwrap();
    let error = LocalSigner::from_pkcs12(&pem, PASSWORD, Utc::now()).unwrap_err();
    assert!(matches!(error, LoadError::Unreadable(_)), "{error}");
    let missing = pki().join("missing.p12");
    let error = LocalSigner::from_pkcs12_file(&missing, PASSWORD, Utc::now()).unwrap_err();
    assert!(matches!(error, LoadError::Missing { .. }), "{error}");
    assert!(error.to_string().contains("missing.p12"), "{error}");
}

#[test]
fn debug_output_shows_the_certificate_not_the_key() {
    let signer = load("signer.p12", PASSWORD).unwrap();
    let debug = format!("{signer:?}");
    assert!(
        debug.contains("Nguyễn Văn An") && !debug.contains("PRIVATE"),
        "{debug}"
    );
}

#[test]
fn a_certificate_whose_key_usage_excludes_signatures_is_refused() {
    let error = load_error("wrong-usage.p12", PASSWORD);
    assert!(
        matches!(&error, LoadError::NotForSigning { subject } if subject.contains("Mã Hoá Khoá")),
        "{error}"
    );
    assert!(error.to_string().contains("digitalSignature"), "{error}");
    // The signers made with digitalSignature and nonRepudiation still load.
    assert!(load("signer.p12", PASSWORD).is_ok());
}

#[test]
fn work_factors_beyond_a_million_iterations_are_refused() {
    // The MAC's derivation, PBES2's PBKDF2, and the legacy PKCS#12 derivation of the key.
    for file in ["costly-mac.p12", "costly-pbes2.p12", "costly-legacy.p12"] {
        let error = load_error(file, PASSWORD);
        assert!(
            matches!(&error, LoadError::KeyDerivationRefused(reason) if reason.contains("2000000")),
            "{file}: {error}"
        );
    }
}

#[test]
fn a_file_without_an_integrity_mac_is_refused() {
    let error = load_error("no-mac.p12", PASSWORD);
    assert!(matches!(error, LoadError::NoMac), "{error}");
}
