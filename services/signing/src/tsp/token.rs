//! Checking a time-stamp token (RFC 3161 §2.4.2, a CMS `SignedData` over a `TSTInfo`):
//!
//! - it answers the request: the message imprint is the SHA-256 that was sent, the nonce is
//!   the one that was sent;
//! - its time (genTime) is within [`MAX_CLOCK_SKEW`] of this machine's clock;
//! - the authority's signature covers it: the content-type signed attribute is id-ct-TSTInfo,
//!   the message-digest signed attribute is the digest of the encapsulated `TSTInfo`, and the
//!   signature over the signed attributes verifies with the signer's certificate, which the
//!   token carries (`certReq` was set).
//!
//! Whether that certificate chains to a trusted authority is for validators to say.

use chrono::{DateTime, NaiveDate, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, Uint};
use der::{Any, AnyRef, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::{MAX_CLOCK_SKEW, MessageImprint, TimeStampError};
use crate::oid::{CONTENT_TYPE, ID_SIGNED_DATA, MESSAGE_DIGEST, RSA_ENCRYPTION, SHA256};
use crate::signer::{ECDSA_WITH_SHA256, SHA256_WITH_RSA};
use crate::verify::{self, Hash};

/// id-ct-TSTInfo (RFC 3161).
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Signature algorithms a `SignerInfo` may name; the key decides how it is checked.
const SIGNATURE_ALGORITHMS: [ObjectIdentifier; 7] = [
    // rsaEncryption, as OpenSSL writes it, and sha{256,384,512}WithRSAEncryption.
    RSA_ENCRYPTION,
    SHA256_WITH_RSA,
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12"),
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13"),
    // ecdsa-with-SHA{256,384,512}.
    ECDSA_WITH_SHA256,
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4"),
];

/// Checks `token` against the request (`digest`, `nonce`) and this machine's clock (`now`).
pub(super) fn check(
    token: &ContentInfo,
    digest: &[u8; 32],
    nonce: &Uint,
    now: DateTime<Utc>,
) -> Result<(), TimeStampError> {
    if token.content_type != ID_SIGNED_DATA {
        return Err(TimeStampError::Malformed("token is not SignedData".into()));
    }
    let signed_data = token.content.decode_as::<SignedData>()?;
    let tst_info = tst_info(&signed_data)?;
    // TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime,
    //   accuracy OPTIONAL, ordering DEFAULT FALSE, nonce INTEGER OPTIONAL, ... }
    let fields = Vec::<Any>::from_der(tst_info.as_bytes())?;
    check_imprint(&fields, digest)?;
    check_nonce(&fields, nonce)?;
    check_time(&fields, now)?;
    check_signature(token, &signed_data, tst_info.as_bytes())
}

/// The DER `TSTInfo` the token encapsulates.
fn tst_info(signed_data: &SignedData) -> Result<OctetString, TimeStampError> {
    let content = &signed_data.encap_content_info;
    match (content.econtent_type, &content.econtent) {
        (TST_INFO, Some(econtent)) => Ok(econtent.decode_as::<OctetString>()?),
        _ => Err(TimeStampError::Malformed(
            "token does not hold a TSTInfo".into(),
        )),
    }
}

fn field(fields: &[Any], index: usize) -> Result<&Any, TimeStampError> {
    fields
        .get(index)
        .ok_or_else(|| TimeStampError::Malformed("TSTInfo too short".into()))
}

fn check_imprint(fields: &[Any], digest: &[u8; 32]) -> Result<(), TimeStampError> {
    let imprint = field(fields, 2)?.decode_as::<MessageImprint>()?;
    // Compare the OID alone: SHA-256's parameters may be absent or NULL.
    if imprint.hash_algorithm.oid == SHA256 && imprint.hashed_message.as_bytes() == digest {
        Ok(())
    } else {
        Err(TimeStampError::ImprintMismatch)
    }
}

fn check_nonce(fields: &[Any], nonce: &Uint) -> Result<(), TimeStampError> {
    let token_nonce = fields
        .iter()
        .skip(5)
        .find(|field| field.tag() == Tag::Integer);
    match token_nonce
        .map(|field| field.decode_as::<Uint>())
        .transpose()?
    {
        Some(token_nonce) if &token_nonce == nonce => Ok(()),
        _ => Err(TimeStampError::NonceMismatch),
    }
}

fn check_time(fields: &[Any], now: DateTime<Utc>) -> Result<(), TimeStampError> {
    let gen_time = field(fields, 4)?;
    let time = (gen_time.tag() == Tag::GeneralizedTime)
        .then(|| generalized_time(gen_time.value()))
        .flatten()
        .ok_or_else(|| TimeStampError::Malformed("bad genTime in TSTInfo".into()))?;
    if (time - now).abs() <= MAX_CLOCK_SKEW {
        Ok(())
    } else {
        Err(TimeStampError::TimeOutOfRange { time, now })
    }
}

/// Reads `YYYYMMDDHHMMSS[.fraction]Z` (RFC 3161 §2.4.2), dropping the fraction of a second,
/// which the `der` crate's `GeneralizedTime` does not accept.
fn generalized_time(value: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |range: std::ops::Range<usize>| whole.get(range)?.parse::<u32>().ok();
    if whole.len() != 14
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(0..4)?).ok()?,
        digits(4..6)?,
        digits(6..8)?,
    )?;
    let time = date.and_hms_opt(digits(8..10)?, digits(10..12)?, digits(12..14)?)?;
    Some(time.and_utc())
}

fn unverified(reason: impl Into<String>) -> TimeStampError {
    TimeStampError::Unverified(reason.into())
}

/// Checks that the single signer's signed attributes name and digest `tst_info`, and that its
/// signature over them verifies with its certificate.
fn check_signature(
    token: &ContentInfo,
    signed_data: &SignedData,
    tst_info: &[u8],
) -> Result<(), TimeStampError> {
    let mut signers = signed_data.signer_infos.0.iter();
    let (Some(signer), None) = (signers.next(), signers.next()) else {
        return Err(unverified("the token does not have exactly one signer"));
    };
    let hash = Hash::from_oid(signer.digest_alg.oid).ok_or_else(|| {
        unverified(format!(
            "digest algorithm {} is not supported",
            signer.digest_alg.oid
        ))
    })?;
    if !SIGNATURE_ALGORITHMS.contains(&signer.signature_algorithm.oid) {
        return Err(unverified(format!(
            "signature algorithm {} is not supported",
            signer.signature_algorithm.oid
        )));
    }
    check_signed_attributes(signer, hash, tst_info)?;
    let certificate = signer_certificate(signed_data, &signer.sid)?;
    let signed = hash.digest(&signed_attributes_as_signed(token)?);
    let spki = &certificate.tbs_certificate.subject_public_key_info;
    verify::check(spki, hash, &signed, signer.signature.as_bytes()).map_err(unverified)?;
    Ok(())
}

/// The content-type attribute must be id-ct-TSTInfo and the message-digest attribute the
/// digest of the `TSTInfo` (RFC 5652 §5.3).
fn check_signed_attributes(
    signer: &SignerInfo,
    hash: Hash,
    tst_info: &[u8],
) -> Result<(), TimeStampError> {
    let attributes = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| unverified("the token's signer has no signed attributes"))?;
    let value = |oid: ObjectIdentifier| {
        attributes
            .iter()
            .find(|attribute| attribute.oid == oid)
            .and_then(|attribute| attribute.values.iter().next())
    };
    let content_type = value(CONTENT_TYPE).map(|v| v.decode_as::<ObjectIdentifier>());
    if !matches!(content_type, Some(Ok(TST_INFO))) {
        return Err(unverified(
            "its content-type attribute is not id-ct-TSTInfo",
        ));
    }
    let digest = value(MESSAGE_DIGEST).map(|v| v.decode_as::<OctetString>());
    match digest {
        Some(Ok(digest)) if digest.as_bytes() == hash.digest(tst_info) => Ok(()),
        _ => Err(unverified(
            "its message-digest attribute is missing or does not match the TSTInfo",
        )),
    }
}

/// The certificate among the token's that `sid` names.
fn signer_certificate<'a>(
    signed_data: &'a SignedData,
    sid: &SignerIdentifier,
) -> Result<&'a Certificate, TimeStampError> {
    let set = signed_data.certificates.as_ref();
    set.into_iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(certificate) => Some(certificate),
            CertificateChoices::Other(_) => None,
        })
        .find(|certificate| identifies(sid, certificate))
        .ok_or_else(|| unverified("the token does not carry its signer's certificate"))
}

fn identifies(sid: &SignerIdentifier, certificate: &Certificate) -> bool {
    let tbs = &certificate.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == tbs.issuer && id.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(id) => {
            matches!(tbs.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *id)
        }
    }
}

/// The signed attributes as the authority signed them: their own bytes under a SET tag
/// (RFC 5652 §5.4), taken from the token as received, since decoding sorts them and
/// re-encoding could give other bytes than a careless encoder's.
fn signed_attributes_as_signed(token: &ContentInfo) -> Result<Vec<u8>, TimeStampError> {
    // SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
    //   certificates [0] OPTIONAL, crls [1] OPTIONAL, signerInfos SET }
    let signed_data = token.content.to_der()?;
    let fields = Vec::<AnyRef<'_>>::from_der(&signed_data)?;
    let signer_infos = fields
        .last()
        .ok_or_else(|| TimeStampError::Malformed("empty SignedData".into()))?;
    let signer = SliceReader::new(signer_infos.value())?.decode::<AnyRef<'_>>()?;
    // SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT, ... }
    let signed_attrs_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    let signed_attrs = signer
        .decode_as::<Vec<AnyRef<'_>>>()?
        .into_iter()
        .find(|field| field.tag() == signed_attrs_tag)
        .ok_or_else(|| unverified("the token's signer has no signed attributes"))?;
    Ok(AnyRef::new(Tag::Set, signed_attrs.value())?.to_der()?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn reads_generalized_times_with_and_without_fractions() {
        let expected = Utc.with_ymd_and_hms(2026, 11, 30, 10, 37, 43).unwrap();
        assert_eq!(generalized_time(b"20261130103743Z"), Some(expected));
        assert_eq!(generalized_time(b"20261130103743.125Z"), Some(expected));
        for bad in [
            &b"20261130103743"[..],
            b"2026113010374Z",
            b"20261330103743Z",
            b"2026113010374xZ",
        ] {
            assert_eq!(generalized_time(bad), None, "{bad:?}");
        }
    }
}
