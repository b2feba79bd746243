//! The signing interface: a local key or a remote signing service.
//!
//! A PAdES signature needs three things from whoever holds the key: the certificate chain (to
//! embed and to reference in signing-certificate-v2), the signature algorithm (to name it in the
//! CMS), and a signature over a SHA-256 digest. [`Signer`] asks for exactly that, so that a
//! Cloud Signature Consortium service (or a national provider's) can replace
//! [`LocalSigner`](crate::LocalSigner) without changes elsewhere.

use std::future::Future;
use std::pin::Pin;

use const_oid::ObjectIdentifier;

use crate::SignError;

/// The future returned by [`Signer::sign_digest`]: boxed, so that `dyn Signer` works.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, SignError>> + Send + 'a>>;

/// sha256WithRSAEncryption (RFC 4055).
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// ecdsa-with-SHA256 (RFC 5758).
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The signature algorithm a [`Signer`] uses; the digest is always SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 over a SHA-256 `DigestInfo`.
    RsaPkcs1Sha256,
    /// ECDSA over a SHA-256 digest; the signature is a DER `ECDSA-Sig-Value`.
    EcdsaSha256,
}

impl SignatureAlgorithm {
    /// The algorithm's OID, as used in the CMS `signatureAlgorithm` and in a CSC `signHash` call.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::RsaPkcs1Sha256 => SHA256_WITH_RSA,
            Self::EcdsaSha256 => ECDSA_WITH_SHA256,
        }
    }
}

/// Something that holds a signing key: a local PKCS#12 key or a remote signing service.
pub trait Signer: Send + Sync {
    /// The certificate chain as DER, the signer's own certificate first.
    fn certificate_chain(&self) -> &[Vec<u8>];

    /// The algorithm [`Signer::sign_digest`] uses.
    fn algorithm(&self) -> SignatureAlgorithm;

    /// Signs a SHA-256 digest. For RSA the result is the PKCS#1 v1.5 signature; for ECDSA it is
    /// the DER-encoded `ECDSA-Sig-Value`.
    fn sign_digest<'a>(&'a self, sha256_digest: &'a [u8; 32]) -> SignFuture<'a>;
}
