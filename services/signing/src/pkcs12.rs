//! Decoding of PKCS#12 (PFX) files: the MAC check, decryption of the safes, and the key and
//! certificate bags inside.
//!
//! Reads what `openssl pkcs12 -export` writes with OpenSSL 3's defaults (PBES2 with
//! AES-256-CBC and PBKDF2-HMAC-SHA256, MAC with SHA-256) and with `-legacy` (SHA-1 MAC,
//! 40-bit RC2 for certificates, 3DES for the key). [`LocalSigner`](crate::LocalSigner) turns
//! the result into a key and a chain.
//!
//! The file says how much work its key derivations take; [`check_cost`] bounds that before any
//! derivation, so that a crafted file cannot keep the service busy (or, with scrypt, take its
//! memory). A file without a MAC is refused: its password and contents could not be checked.
//! Derived keys and decrypted safes are wiped when dropped.

use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{AnyRef, Decode, Encode};
use hmac::{Mac, SimpleHmac};
use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
use pkcs12::pfx::Pfx;
use pkcs12::safe_bag::SafeBag;
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use zeroize::{Zeroize, Zeroizing};

use crate::oid::{ID_DATA, SHA256, SHA384, SHA512};

const ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_RC2_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

/// Most iterations accepted for one password-based derivation (the PKCS#12 KDF or PBKDF2).
/// OpenSSL 3 writes 2048; a file asking for more than this is more likely meant to keep the
/// service busy than to protect a key.
pub(crate) const MAX_ITERATIONS: u32 = 1_000_000;

/// Why a PKCS#12 file could not be decoded. Never carries the password.
#[derive(Debug)]
pub(crate) enum Pkcs12Error {
    /// Not DER, not a PFX, or a structure inside is malformed.
    Malformed(String),
    /// The MAC does not verify, or decryption fails for want of a MAC to check first.
    WrongPassword,
    /// An encryption or MAC algorithm this module does not implement.
    Unsupported(ObjectIdentifier),
    /// The file has no MAC, so neither the password nor the contents can be checked.
    NoMac,
    /// A key derivation's parameters are refused (iterations out of range, scrypt).
    Cost(String),
}

impl From<der::Error> for Pkcs12Error {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// A bag with its `localKeyId` attribute, which pairs a key with its certificate.
pub(crate) struct Bag {
    /// The `localKeyId` attribute, if present.
    pub local_key_id: Option<Vec<u8>>,
    /// A PKCS#8 `PrivateKeyInfo` or an X.509 certificate, as DER (wiped when dropped).
    pub der: Zeroizing<Vec<u8>>,
}

/// The keys and certificates of a PKCS#12 file.
#[derive(Default)]
pub(crate) struct Contents {
    /// Private keys as PKCS#8 `PrivateKeyInfo` DER.
    pub keys: Vec<Bag>,
    /// X.509 certificates as DER.
    pub certificates: Vec<Bag>,
}

/// Decodes a PFX, checking its MAC with `password` and decrypting what is encrypted.
pub(crate) fn decode(der: &[u8], password: &str) -> Result<Contents, Pkcs12Error> {
    let pfx = Pfx::from_der(der)?;
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(Pkcs12Error::Unsupported(pfx.auth_safe.content_type));
    }
    let auth_safe = pfx.auth_safe.content.decode_as::<OctetString>()?;
    let mac = pfx.mac_data.as_ref().ok_or(Pkcs12Error::NoMac)?;
    verify_mac(mac, password, auth_safe.as_bytes())?;
    let mut contents = Contents::default();
    for safe in Vec::<cms::content_info::ContentInfo>::from_der(auth_safe.as_bytes())? {
        let bags = match safe.content_type {
            ID_DATA => Zeroizing::new(safe.content.decode_as::<OctetString>()?.into_bytes()),
            ENCRYPTED_DATA => decrypt_safe(&safe.content.to_der()?, password)?,
            other => return Err(Pkcs12Error::Unsupported(other)),
        };
        read_safe(&bags, password, &mut contents)?;
    }
    Ok(contents)
}

/// Refuses a key derivation of fewer than 1 or more than [`MAX_ITERATIONS`] iterations. Every
/// derivation (MAC key, legacy key and IV, PBES2) is checked with this before it runs, as the
/// count comes from the file.
fn check_cost(iterations: i64) -> Result<(), Pkcs12Error> {
    if (1..=i64::from(MAX_ITERATIONS)).contains(&iterations) {
        Ok(())
    } else {
        Err(Pkcs12Error::Cost(format!(
            "{iterations} iterations, outside 1 to {MAX_ITERATIONS}"
        )))
    }
}

fn verify_mac(
    mac: &pkcs12::mac_data::MacData,
    password: &str,
    data: &[u8],
) -> Result<(), Pkcs12Error> {
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let rounds = mac.iterations;
    check_cost(i64::from(rounds))?;
    let ok = match mac.mac.algorithm.oid {
        SHA1 => hmac_matches::<Sha1>(password, salt, rounds, data, expected)?,
        SHA256 => hmac_matches::<Sha256>(password, salt, rounds, data, expected)?,
        SHA384 => hmac_matches::<Sha384>(password, salt, rounds, data, expected)?,
        SHA512 => hmac_matches::<Sha512>(password, salt, rounds, data, expected)?,
        other => return Err(Pkcs12Error::Unsupported(other)),
    };
    if ok {
        Ok(())
    } else {
        Err(Pkcs12Error::WrongPassword)
    }
}

fn hmac_matches<D>(
    password: &str,
    salt: &[u8],
    rounds: i32,
    data: &[u8],
    expected: &[u8],
) -> Result<bool, Pkcs12Error>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset + sha2::digest::core_api::BlockSizeUser,
{
    let key_len = <D as sha2::Digest>::output_size();
    let key = Zeroizing::new(derive_key_utf8::<D>(
        password,
        salt,
        Pkcs12KeyType::Mac,
        rounds,
        key_len,
    )?);
    let mut mac = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(&key)
        .map_err(|e| Pkcs12Error::Malformed(e.to_string()))?;
    mac.update(data);
    Ok(mac.verify_slice(expected).is_ok())
}

fn decrypt_safe(encrypted_data: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    let data = cms::encrypted_data::EncryptedData::from_der(encrypted_data)?;
    let info = data.enc_content_info;
    let ciphertext = info
        .encrypted_content
        .ok_or_else(|| Pkcs12Error::Malformed("encrypted safe without content".into()))?;
    decrypt(&info.content_enc_alg, ciphertext.as_bytes(), password)
}

/// Reads the bags of one safe into `contents`, then wipes the decoded bags (a plain key bag
/// holds the key in the clear).
fn read_safe(safe: &[u8], password: &str, contents: &mut Contents) -> Result<(), Pkcs12Error> {
    let mut bags = Vec::<SafeBag>::from_der(safe)?;
    let result = bags
        .iter()
        .try_for_each(|bag| read_bag(bag, password, contents));
    for bag in &mut bags {
        bag.bag_value.zeroize();
    }
    result
}

fn read_bag(bag: &SafeBag, password: &str, contents: &mut Contents) -> Result<(), Pkcs12Error> {
    // `pkcs12` keeps the `[0] EXPLICIT` wrapper around the bag value; look inside it.
    let wrapped = AnyRef::from_der(&bag.bag_value)?;
    let value = wrapped.value();
    let local_key_id = local_key_id(bag);
    match bag.bag_id {
        KEY_BAG => contents.keys.push(Bag {
            local_key_id,
            der: Zeroizing::new(value.to_vec()),
        }),
        SHROUDED_KEY_BAG => contents.keys.push(Bag {
            local_key_id,
            der: decrypt_shrouded_key(value, password)?,
        }),
        CERT_BAG => {
            if let Some(der) = x509_certificate(value)? {
                contents.certificates.push(Bag { local_key_id, der });
            }
        }
        // CRLs, secrets and nested safes play no part in signing.
        _ => {}
    }
    Ok(())
}

/// The PKCS#8 `PrivateKeyInfo` inside an `EncryptedPrivateKeyInfo`.
fn decrypt_shrouded_key(value: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    let info = pkcs12::pbe_params::EncryptedPrivateKeyInfo::from_der(value)?;
    decrypt(
        &info.encryption_algorithm,
        info.encrypted_data.as_bytes(),
        password,
    )
}

/// The certificate of a `CertBag`, if it holds an X.509 one.
fn x509_certificate(value: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, Pkcs12Error> {
    let cert = pkcs12::cert_type::CertBag::from_der(value)?;
    Ok((cert.cert_id == X509_CERTIFICATE).then(|| Zeroizing::new(cert.cert_value.into_bytes())))
}

fn local_key_id(bag: &SafeBag) -> Option<Vec<u8>> {
    let attributes = bag.bag_attributes.as_ref()?;
    let attribute = attributes.iter().find(|a| a.oid == LOCAL_KEY_ID)?;
    let value = attribute.values.iter().next()?;
    let id = value.decode_as::<OctetString>().ok()?;
    Some(id.into_bytes())
}

/// Decrypts with PBES2 or one of the PKCS#12 legacy password-based schemes.
fn decrypt(
    algorithm: &AlgorithmIdentifierOwned,
    ciphertext: &[u8],
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    let params = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Pkcs12Error::Malformed("encryption without parameters".into()))?
        .to_der()?;
    let plaintext = match algorithm.oid {
        PBES2 => decrypt_pbes2(&params, ciphertext, password),
        PBE_SHA1_3DES => legacy::decrypt_3des(&params, ciphertext, password),
        PBE_SHA1_RC2_128 => legacy::decrypt_rc2(&params, ciphertext, password, 128),
        PBE_SHA1_RC2_40 => legacy::decrypt_rc2(&params, ciphertext, password, 40),
        other => Err(Pkcs12Error::Unsupported(other)),
    };
    plaintext.map(Zeroizing::new)
}

fn decrypt_pbes2(params: &[u8], ciphertext: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let params = pkcs5::pbes2::Parameters::from_der(params)?;
    match &params.kdf {
        pkcs5::pbes2::Kdf::Pbkdf2(pbkdf2) => check_cost(i64::from(pbkdf2.iteration_count))?,
        // Memory-hard by design: a crafted file could ask for gigabytes. No tool that makes
        // signing certificates writes it.
        pkcs5::pbes2::Kdf::Scrypt(_) => return Err(Pkcs12Error::Cost("scrypt".into())),
        other => return Err(Pkcs12Error::Unsupported(other.oid())),
    }
    params
        .decrypt(password.as_bytes(), ciphertext)
        .map_err(|error| match error {
            // Bad padding: with the MAC checked first this means a password the MAC did not cover.
            pkcs5::Error::DecryptFailed => Pkcs12Error::WrongPassword,
            pkcs5::Error::AlgorithmParametersInvalid { oid } => Pkcs12Error::Unsupported(oid),
            pkcs5::Error::UnsupportedAlgorithm { oid } => Pkcs12Error::Unsupported(oid),
            other => Pkcs12Error::Malformed(other.to_string()),
        })
}

/// The password-based encryption schemes of PKCS#12 itself (RFC 7292 appendix C), which
/// `openssl pkcs12 -legacy` and older tools write.
mod legacy {
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyIvInit};
    use der::Decode;
    use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
    use pkcs12::pbe_params::Pkcs12PbeParams;
    use sha1::Sha1;
    use zeroize::Zeroizing;

    use super::{Pkcs12Error, check_cost};

    /// A derived key and IV, wiped when dropped.
    type KeyAndIv = (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);

    fn key_and_iv(params: &[u8], password: &str, key_len: usize) -> Result<KeyAndIv, Pkcs12Error> {
        let params = Pkcs12PbeParams::from_der(params)?;
        let salt = params.salt.as_bytes();
        let rounds = params.iterations;
        check_cost(i64::from(rounds))?;
        let derive = |kind, len| derive_key_utf8::<Sha1>(password, salt, kind, rounds, len);
        let key = Zeroizing::new(derive(Pkcs12KeyType::EncryptionKey, key_len)?);
        let iv = Zeroizing::new(derive(Pkcs12KeyType::Iv, 8)?);
        Ok((key, iv))
    }

    pub(super) fn decrypt_3des(
        params: &[u8],
        ciphertext: &[u8],
        password: &str,
    ) -> Result<Vec<u8>, Pkcs12Error> {
        let (key, iv) = key_and_iv(params, password, 24)?;
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|e| Pkcs12Error::Malformed(e.to_string()))?
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .map_err(|_| Pkcs12Error::WrongPassword)
    }

    pub(super) fn decrypt_rc2(
        params: &[u8],
        ciphertext: &[u8],
        password: &str,
        bits: usize,
    ) -> Result<Vec<u8>, Pkcs12Error> {
        let (key, iv) = key_and_iv(params, password, bits / 8)?;
        let cipher = rc2::Rc2::new_with_eff_key_len(&key, bits);
        cbc::Decryptor::inner_iv_slice_init(cipher, &iv)
            .map_err(|e| Pkcs12Error::Malformed(e.to_string()))?
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .map_err(|_| Pkcs12Error::WrongPassword)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_counts_are_bounded_on_both_sides() {
        for accepted in [1, 2048, i64::from(MAX_ITERATIONS)] {
            assert!(check_cost(accepted).is_ok(), "{accepted}");
        }
        for refused in [i64::MIN, -1, 0, i64::from(MAX_ITERATIONS) + 1, i64::MAX] {
            assert!(
                matches!(check_cost(refused), Err(Pkcs12Error::Cost(_))),
                "{refused}"
            );
        }
    }
}
