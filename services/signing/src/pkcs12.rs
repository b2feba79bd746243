//! Decoding of PKCS#12 (PFX) files: the MAC check, decryption of the safes, and the key and
//! certificate bags inside.
//!
//! Reads what `openssl pkcs12 -export` writes with OpenSSL 3's defaults (PBES2 with
//! AES-256-CBC and PBKDF2-HMAC-SHA256, MAC with SHA-256) and with `-legacy` (SHA-1 MAC,
//! 40-bit RC2 for certificates, 3DES for the key). [`LocalSigner`](crate::LocalSigner) turns
//! the result into a key and a chain.

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
use zeroize::Zeroizing;

const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
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
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Why a PKCS#12 file could not be decoded. Never carries the password.
#[derive(Debug)]
pub(crate) enum Pkcs12Error {
    /// Not DER, not a PFX, or a structure inside is malformed.
    Malformed(String),
    /// The MAC does not verify, or decryption fails for want of a MAC to check first.
    WrongPassword,
    /// An encryption or MAC algorithm this module does not implement.
    Unsupported(ObjectIdentifier),
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
    if pfx.auth_safe.content_type != DATA {
        return Err(Pkcs12Error::Unsupported(pfx.auth_safe.content_type));
    }
    let auth_safe = pfx.auth_safe.content.decode_as::<OctetString>()?;
    if let Some(mac) = &pfx.mac_data {
        verify_mac(mac, password, auth_safe.as_bytes())?;
    }
    let mut contents = Contents::default();
    for safe in Vec::<cms::content_info::ContentInfo>::from_der(auth_safe.as_bytes())? {
        let bags = match safe.content_type {
            DATA => safe.content.decode_as::<OctetString>()?.into_bytes(),
            ENCRYPTED_DATA => decrypt_safe(&safe.content.to_der()?, password)?,
            other => return Err(Pkcs12Error::Unsupported(other)),
        };
        for bag in Vec::<SafeBag>::from_der(&bags)? {
            read_bag(&bag, password, &mut contents)?;
        }
    }
    Ok(contents)
}

fn verify_mac(
    mac: &pkcs12::mac_data::MacData,
    password: &str,
    data: &[u8],
) -> Result<(), Pkcs12Error> {
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let rounds = mac.iterations;
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
    let key = derive_key_utf8::<D>(password, salt, Pkcs12KeyType::Mac, rounds, key_len)?;
    let mut mac = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(&key)
        .map_err(|e| Pkcs12Error::Malformed(e.to_string()))?;
    mac.update(data);
    Ok(mac.verify_slice(expected).is_ok())
}

fn decrypt_safe(encrypted_data: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let data = cms::encrypted_data::EncryptedData::from_der(encrypted_data)?;
    let info = data.enc_content_info;
    let ciphertext = info
        .encrypted_content
        .ok_or_else(|| Pkcs12Error::Malformed("encrypted safe without content".into()))?;
    decrypt(&info.content_enc_alg, ciphertext.as_bytes(), password)
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
        SHROUDED_KEY_BAG => {
            let info = pkcs12::pbe_params::EncryptedPrivateKeyInfo::from_der(value)?;
            let der = decrypt(
                &info.encryption_algorithm,
                info.encrypted_data.as_bytes(),
                password,
            )?;
            contents.keys.push(Bag {
                local_key_id,
                der: Zeroizing::new(der),
            });
        }
        CERT_BAG => {
            let cert = pkcs12::cert_type::CertBag::from_der(value)?;
            if cert.cert_id == X509_CERTIFICATE {
                let der = Zeroizing::new(cert.cert_value.into_bytes());
                contents.certificates.push(Bag { local_key_id, der });
            }
        }
        // CRLs, secrets and nested safes play no part in signing.
        _ => {}
    }
    Ok(())
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
) -> Result<Vec<u8>, Pkcs12Error> {
    let params = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Pkcs12Error::Malformed("encryption without parameters".into()))?
        .to_der()?;
    match algorithm.oid {
        PBES2 => decrypt_pbes2(&params, ciphertext, password),
        PBE_SHA1_3DES => legacy::decrypt_3des(&params, ciphertext, password),
        PBE_SHA1_RC2_128 => legacy::decrypt_rc2(&params, ciphertext, password, 128),
        PBE_SHA1_RC2_40 => legacy::decrypt_rc2(&params, ciphertext, password, 40),
        other => Err(Pkcs12Error::Unsupported(other)),
    }
}

fn decrypt_pbes2(params: &[u8], ciphertext: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let params = pkcs5::pbes2::Parameters::from_der(params)?;
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

    use super::Pkcs12Error;

    fn key_and_iv(
        params: &[u8],
        password: &str,
        key_len: usize,
    ) -> Result<(Vec<u8>, Vec<u8>), Pkcs12Error> {
        let params = Pkcs12PbeParams::from_der(params)?;
        let salt = params.salt.as_bytes();
        let rounds = params.iterations;
        let key = derive_key_utf8::<Sha1>(
            password,
            salt,
            Pkcs12KeyType::EncryptionKey,
            rounds,
            key_len,
        )?;
        let iv = derive_key_utf8::<Sha1>(password, salt, Pkcs12KeyType::Iv, rounds, 8)?;
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
