//! [`LocalSigner`]: a private key and certificate chain read from a unit's PKCS#12 file.
//!
//! Loading checks everything that would otherwise only fail at the first signature (password,
//! key present, certificate present and matching the key, validity at start-up, a key usage
//! that allows signatures), so that the service can refuse to start with a [`LoadError`]
//! naming the cause. Validity at the moment of signing is the caller's to check, with
//! [`CertificateInfo::check_valid_at`].

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, PrivateKeyInfo};
use rsa::rand_core::OsRng;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsage;

use crate::SignError;
use crate::certinfo::{CertificateInfo, Validity};
#[cfg(feature = "ecdsa")]
use crate::oid::EC_PUBLIC_KEY;
use crate::oid::RSA_ENCRYPTION;
use crate::pkcs12::{self, Bag, MAX_ITERATIONS, Pkcs12Error};
use crate::signer::{SignFuture, SignatureAlgorithm, Signer};

/// Why a PKCS#12 file cannot be used for signing. No variant ever carries the password.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read from disk.
    #[error("cannot read the certificate file {path}: {source}")]
    Missing {
        /// The path that was tried.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a PKCS#12 file, or a structure inside it is damaged.
    #[error("the certificate file is not a readable PKCS#12 file: {0}")]
    Unreadable(String),
    /// The password is wrong (the file's integrity MAC does not verify).
    #[error("the certificate file's password is wrong (integrity check failed)")]
    WrongPassword,
    /// The file uses an encryption or MAC algorithm that is not supported.
    #[error("the certificate file uses an unsupported algorithm ({0})")]
    UnsupportedAlgorithm(String),
    /// The file has no integrity MAC (`openssl pkcs12 -nomac`), so neither the password nor
    /// the contents can be checked.
    #[error(
        "the certificate file has no integrity MAC, so its password and contents cannot be \
         checked; export it again with a MAC"
    )]
    NoMac,
    /// The file asks for a key derivation this loader refuses to run: an iteration count
    /// outside 1 to 1,000,000, or scrypt, either of which a crafted file could use to keep the
    /// service busy.
    #[error(
        "the certificate file's key derivation is refused ({0}); export it again with PBKDF2 \
         and at most {MAX_ITERATIONS} iterations"
    )]
    KeyDerivationRefused(String),
    /// The file holds no private key.
    #[error("the certificate file contains no private key")]
    NoPrivateKey,
    /// The file holds no certificate.
    #[error("the certificate file contains no certificate")]
    NoCertificate,
    /// The private key is neither RSA nor ECDSA P-256.
    #[error("the private key type is not supported ({0}); use RSA or ECDSA P-256")]
    UnsupportedKey(String),
    /// No certificate in the file carries the private key's public key.
    #[error("no certificate in the file matches the private key")]
    KeyMismatch,
    /// The signer's certificate has expired.
    #[error("the certificate of {subject} expired on {not_after}")]
    Expired {
        /// The certificate's subject.
        subject: String,
        /// When it stopped being valid.
        not_after: DateTime<Utc>,
    },
    /// The signer's certificate is not valid yet.
    #[error("the certificate of {subject} is not valid before {not_before}")]
    NotYetValid {
        /// The certificate's subject.
        subject: String,
        /// When it starts being valid.
        not_before: DateTime<Utc>,
    },
    /// The signer's certificate restricts its key to uses other than signatures (its key usage
    /// extension has neither digitalSignature nor nonRepudiation).
    #[error(
        "the certificate of {subject} is not for signatures: its key usage allows neither \
         digitalSignature nor nonRepudiation"
    )]
    NotForSigning {
        /// The certificate's subject.
        subject: String,
    },
}

impl From<Pkcs12Error> for LoadError {
    fn from(error: Pkcs12Error) -> Self {
        match error {
            Pkcs12Error::Malformed(reason) => Self::Unreadable(reason),
            Pkcs12Error::WrongPassword => Self::WrongPassword,
            Pkcs12Error::Unsupported(oid) => Self::UnsupportedAlgorithm(oid.to_string()),
            Pkcs12Error::NoMac => Self::NoMac,
            Pkcs12Error::Cost(reason) => Self::KeyDerivationRefused(reason),
        }
    }
}

enum Key {
    Rsa(Box<RsaPrivateKey>),
    #[cfg(feature = "ecdsa")]
    EcdsaP256(p256::ecdsa::SigningKey),
}

/// A signer whose private key is held in this process, read from a PKCS#12 file.
pub struct LocalSigner {
    key: Key,
    chain: Vec<Vec<u8>>,
    info: CertificateInfo,
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner")
            .field("algorithm", &self.algorithm())
            .field("certificate", &self.info)
            .finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// Reads a PKCS#12 file from disk; see [`LocalSigner::from_pkcs12`].
    pub fn from_pkcs12_file(
        path: &Path,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, LoadError> {
        let der = std::fs::read(path).map_err(|source| LoadError::Missing {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pkcs12(&der, password, now)
    }

    /// Loads the key and chain from PKCS#12 bytes, and checks that the signer's certificate
    /// matches the key, is valid at `now` and may be used for signatures.
    pub fn from_pkcs12(der: &[u8], password: &str, now: DateTime<Utc>) -> Result<Self, LoadError> {
        let contents = pkcs12::decode(der, password)?;
        if contents.keys.is_empty() {
            return Err(LoadError::NoPrivateKey);
        }
        if contents.certificates.is_empty() {
            return Err(LoadError::NoCertificate);
        }
        let certificates = parse_certificates(&contents.certificates)?;
        let (key, leaf) = pair_key_with_certificate(&contents.keys, &certificates)?;
        let info = CertificateInfo::from_certificate(&certificates[leaf].1);
        check_validity(&info, now)?;
        check_key_usage(&certificates[leaf].1, &info)?;
        let chain = build_chain(&certificates, leaf);
        Ok(Self { key, chain, info })
    }

    /// Who the signer's certificate names and when it is valid.
    pub fn certificate_info(&self) -> &CertificateInfo {
        &self.info
    }
}

impl Signer for LocalSigner {
    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.key {
            Key::Rsa(_) => SignatureAlgorithm::RsaPkcs1Sha256,
            #[cfg(feature = "ecdsa")]
            Key::EcdsaP256(_) => SignatureAlgorithm::EcdsaSha256,
        }
    }

    fn sign_digest<'a>(&'a self, sha256_digest: &'a [u8; 32]) -> SignFuture<'a> {
        let result = sign_with(&self.key, sha256_digest);
        Box::pin(std::future::ready(result))
    }
}

fn sign_with(key: &Key, digest: &[u8; 32]) -> Result<Vec<u8>, SignError> {
    match key {
        // With a random number generator, the RSA private-key operation is blinded, so that
        // its timing does not depend on the key.
        Key::Rsa(key) => key
            .sign_with_rng(&mut OsRng, Pkcs1v15Sign::new::<Sha256>(), digest)
            .map_err(|e| SignError::Signer(e.to_string())),
        #[cfg(feature = "ecdsa")]
        Key::EcdsaP256(key) => {
            use p256::ecdsa::signature::hazmat::PrehashSigner;
            let signature: p256::ecdsa::Signature = key
                .sign_prehash(digest)
                .map_err(|e| SignError::Signer(e.to_string()))?;
            Ok(signature.to_der().as_bytes().to_vec())
        }
    }
}

fn parse_certificates(bags: &[Bag]) -> Result<Vec<(&Bag, Certificate)>, LoadError> {
    bags.iter()
        .map(|bag| {
            Certificate::from_der(&bag.der)
                .map(|certificate| (bag, certificate))
                .map_err(|e| LoadError::Unreadable(format!("certificate: {e}")))
        })
        .collect()
}

/// Finds a key and the certificate carrying its public key (preferring the one with the same
/// `localKeyId`). Returns the key and the certificate's index.
fn pair_key_with_certificate(
    keys: &[Bag],
    certificates: &[(&Bag, Certificate)],
) -> Result<(Key, usize), LoadError> {
    for bag in keys {
        let key = parse_key(&bag.der)?;
        let mut matching = (0..certificates.len())
            .filter(|&i| public_key_matches(&key, &certificates[i].1))
            .collect::<Vec<_>>();
        matching.sort_by_key(|&i| certificates[i].0.local_key_id != bag.local_key_id);
        if let Some(&leaf) = matching.first() {
            return Ok((key, leaf));
        }
    }
    Err(LoadError::KeyMismatch)
}

fn parse_key(pkcs8: &[u8]) -> Result<Key, LoadError> {
    let info = PrivateKeyInfo::try_from(pkcs8)
        .map_err(|e| LoadError::Unreadable(format!("private key: {e}")))?;
    let unreadable = |e: rsa::pkcs8::Error| LoadError::Unreadable(format!("private key: {e}"));
    match info.algorithm.oid {
        RSA_ENCRYPTION => Ok(Key::Rsa(Box::new(
            RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(unreadable)?,
        ))),
        #[cfg(feature = "ecdsa")]
        EC_PUBLIC_KEY => p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8)
            .map(Key::EcdsaP256)
            .map_err(|_| LoadError::UnsupportedKey(describe_ec_curve(&info))),
        other => Err(LoadError::UnsupportedKey(other.to_string())),
    }
}

#[cfg(feature = "ecdsa")]
fn describe_ec_curve(info: &PrivateKeyInfo<'_>) -> String {
    match info.algorithm.parameters_oid() {
        Ok(curve) => format!("EC key on curve {curve}"),
        Err(_) => "EC key".to_owned(),
    }
}

fn public_key_matches(key: &Key, certificate: &Certificate) -> bool {
    let Ok(spki) = certificate.tbs_certificate.subject_public_key_info.to_der() else {
        return false;
    };
    match key {
        Key::Rsa(key) => RsaPublicKey::from_public_key_der(&spki)
            .is_ok_and(|public| public == key.to_public_key()),
        #[cfg(feature = "ecdsa")]
        Key::EcdsaP256(key) => p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
            .is_ok_and(|public| &public == key.verifying_key()),
    }
}

fn check_validity(info: &CertificateInfo, now: DateTime<Utc>) -> Result<(), LoadError> {
    let subject = info.subject.clone();
    match info.validity_at(now) {
        Validity::Valid => Ok(()),
        Validity::NotYetValid => Err(LoadError::NotYetValid {
            subject,
            not_before: info.not_before,
        }),
        Validity::Expired => Err(LoadError::Expired {
            subject,
            not_after: info.not_after,
        }),
    }
}

/// Refuses a certificate whose key usage extension, when there is one, allows neither
/// digitalSignature nor nonRepudiation (RFC 5280 §4.2.1.3): validators would reject its
/// signatures.
fn check_key_usage(certificate: &Certificate, info: &CertificateInfo) -> Result<(), LoadError> {
    let usage = certificate
        .tbs_certificate
        .get::<KeyUsage>()
        .map_err(|e| LoadError::Unreadable(format!("key usage of the certificate: {e}")))?;
    match usage {
        Some((_, usage)) if !usage.digital_signature() && !usage.non_repudiation() => {
            Err(LoadError::NotForSigning {
                subject: info.subject.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// The signer's certificate followed by its issuers, as far as the file has them.
fn build_chain(certificates: &[(&Bag, Certificate)], leaf: usize) -> Vec<Vec<u8>> {
    let mut chain = vec![certificates[leaf].0.der.to_vec()];
    let mut used = vec![leaf];
    let mut current = &certificates[leaf].1;
    while current.tbs_certificate.issuer != current.tbs_certificate.subject {
        let issuer = (0..certificates.len()).find(|i| {
            !used.contains(i)
                && certificates[*i].1.tbs_certificate.subject == current.tbs_certificate.issuer
        });
        let Some(issuer) = issuer else { break };
        chain.push(certificates[issuer].0.der.to_vec());
        used.push(issuer);
        current = &certificates[issuer].1;
    }
    chain
}
