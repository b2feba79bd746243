//! Checking a signature with a certificate's public key: the signer's own signature before it
//! goes into the PDF (so that a faulty remote signer is caught here, not by whoever opens the
//! report), and a time-stamp authority's signature over its token.

use const_oid::ObjectIdentifier;
use der::Encode;
use rsa::RsaPublicKey;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoOwned;

use crate::oid;

/// A digest algorithm a signature may be made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The algorithm an `AlgorithmIdentifier` names, if it is one of the SHA-2 family used here.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// PKCS#1 v1.5 signature padding with this digest's `DigestInfo` prefix.
    fn pkcs1v15(self) -> Pkcs1v15Sign {
        match self {
            Self::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            Self::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
            Self::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
        }
    }
}

/// The kind of key a signature was checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA, PKCS#1 v1.5 signatures.
    Rsa,
    /// ECDSA on P-256, DER `ECDSA-Sig-Value` signatures.
    EcdsaP256,
}

/// Checks `signature` over `digest` (made with `hash`) with the public key `spki`, and says
/// what kind of key that was. The error says why the signature was not accepted.
pub(crate) fn check(
    spki: &SubjectPublicKeyInfoOwned,
    hash: Hash,
    digest: &[u8],
    signature: &[u8],
) -> Result<KeyKind, String> {
    let der = spki
        .to_der()
        .map_err(|e| format!("unreadable public key: {e}"))?;
    match spki.algorithm.oid {
        oid::RSA_ENCRYPTION => {
            let key = RsaPublicKey::from_public_key_der(&der)
                .map_err(|e| format!("unreadable RSA public key: {e}"))?;
            key.verify(hash.pkcs1v15(), digest, signature)
                .map_err(|_| "the RSA signature does not verify".to_owned())?;
            Ok(KeyKind::Rsa)
        }
        oid::EC_PUBLIC_KEY => {
            check_ecdsa_p256(&der, digest, signature).map(|()| KeyKind::EcdsaP256)
        }
        other => Err(format!("cannot check a signature made with a {other} key")),
    }
}

#[cfg(feature = "ecdsa")]
fn check_ecdsa_p256(spki_der: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), String> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    let key = VerifyingKey::from_public_key_der(spki_der)
        .map_err(|_| "the EC public key is not on P-256".to_owned())?;
    let signature =
        Signature::from_der(signature).map_err(|e| format!("malformed ECDSA signature: {e}"))?;
    key.verify_prehash(digest, &signature)
        .map_err(|_| "the ECDSA signature does not verify".to_owned())
}

#[cfg(not(feature = "ecdsa"))]
fn check_ecdsa_p256(_: &[u8], _: &[u8], _: &[u8]) -> Result<(), String> {
    Err("checking an ECDSA signature needs the `ecdsa` feature".to_owned())
}
