//! The CAdES detached signature embedded in the PDF's `/Contents` (PAdES baseline B-B / B-T).
//!
//! A CMS `SignedData` with no encapsulated content (eContentType id-data), the signer's chain,
//! and one `SignerInfo` whose signed attributes are content-type, message-digest (the SHA-256
//! of the PDF's byte ranges) and signing-certificate-v2 (RFC 5035). PAdES forbids the
//! signing-time attribute: the time is the signature dictionary's `/M`. The DER of the signed
//! attributes is hashed and signed through [`Signer`], and the signature is checked with the
//! certificate's public key before it is used (a remote signer that answers with a wrong or
//! damaged signature fails here, not in the reader's validator); for B-T a time-stamp token
//! over the signature value is added as the unsigned attribute id-aa-signatureTimeStampToken.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Null, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::SignError;
use crate::oid::{CONTENT_TYPE, ID_DATA, ID_SIGNED_DATA, MESSAGE_DIGEST, SHA256};
use crate::signer::{SignatureAlgorithm, Signer};
use crate::tsp::TimeStampClient;
use crate::verify::{self, Hash, KeyKind};

/// id-aa-signingCertificateV2 (RFC 5035).
const SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
pub const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `ESSCertIDv2`; the hash algorithm is SHA-256, the DEFAULT, so DER leaves it out.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// Builds and signs the CMS `ContentInfo` for a PDF whose byte ranges hash to
/// `content_digest`; with `timestamp`, adds a signature time-stamp (B-T). Returns its DER.
pub async fn sign_detached(
    signer: &dyn Signer,
    content_digest: &[u8; 32],
    timestamp: Option<&TimeStampClient>,
) -> Result<Vec<u8>, SignError> {
    let chain = parse_chain(signer.certificate_chain())?;
    let leaf = &chain[0];
    let signed_attrs = signed_attributes(
        leaf,
        signer.certificate_chain()[0].as_slice(),
        content_digest,
    )?;
    let to_be_signed: [u8; 32] = Sha256::digest(signed_attrs.to_der()?).into();
    let algorithm = signer.algorithm();
    let signature = signer.sign_digest(&to_be_signed).await?;
    check_signature(leaf, algorithm, &to_be_signed, &signature)?;
    let unsigned_attrs = match timestamp {
        Some(client) => Some(time_stamp_attribute(client.time_stamp(&signature).await?)?),
        None => None,
    };
    let mut signer_info = signer_info(leaf, algorithm, signed_attrs, signature)?;
    signer_info.unsigned_attrs = unsigned_attrs;
    content_info(chain, signer_info)
}

/// Checks the signer's answer with the public key of its certificate, and that the key is of
/// the kind the signer's algorithm names (the CMS will name that algorithm).
fn check_signature(
    leaf: &Certificate,
    algorithm: SignatureAlgorithm,
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<(), SignError> {
    let spki = &leaf.tbs_certificate.subject_public_key_info;
    let kind = verify::check(spki, Hash::Sha256, digest, signature).map_err(|reason| {
        SignError::Signer(format!(
            "the signature does not verify with the signer's certificate: {reason}"
        ))
    })?;
    let expected = match algorithm {
        SignatureAlgorithm::RsaPkcs1Sha256 => KeyKind::Rsa,
        SignatureAlgorithm::EcdsaSha256 => KeyKind::EcdsaP256,
    };
    if kind == expected {
        Ok(())
    } else {
        Err(SignError::Signer(format!(
            "the signer names {algorithm:?} but its certificate holds a {kind:?} key"
        )))
    }
}

/// The `SignerInfo` without unsigned attributes: the signer's certificate by issuer and
/// serial, SHA-256, the signed attributes and the signature.
fn signer_info(
    leaf: &Certificate,
    algorithm: SignatureAlgorithm,
    signed_attrs: SetOfVec<Attribute>,
    signature: Vec<u8>,
) -> Result<SignerInfo, der::Error> {
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm(algorithm),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    })
}

/// A generous upper bound of the DER size [`sign_detached`] produces for `signer`, so that the
/// PDF can reserve room for it before the signature exists.
pub fn size_estimate(signer: &dyn Signer, with_timestamp: bool) -> usize {
    let chain: usize = signer.certificate_chain().iter().map(Vec::len).sum();
    // Signature (RSA 4096 at most is 512 bytes), attributes, issuer name, ASN.1 framing.
    let own = chain + 512 + 2048;
    // A token carries the authority's chain (typically 2 to 4 certificates) and its own
    // signed attributes and signature.
    let token = if with_timestamp { 12 * 1024 } else { 0 };
    own + token
}

fn parse_chain(chain: &[Vec<u8>]) -> Result<Vec<Certificate>, SignError> {
    if chain.is_empty() {
        return Err(SignError::Certificate(
            "the signer has no certificate".into(),
        ));
    }
    chain
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|e| SignError::Certificate(e.to_string())))
        .collect()
}

fn sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: SHA256,
        parameters: None,
    }
}

fn signature_algorithm(algorithm: SignatureAlgorithm) -> AlgorithmIdentifierOwned {
    let parameters = match algorithm {
        // RFC 4055: the RSA signature algorithms take a NULL parameter.
        SignatureAlgorithm::RsaPkcs1Sha256 => Some(Any::from(Null)),
        SignatureAlgorithm::EcdsaSha256 => None,
    };
    AlgorithmIdentifierOwned {
        oid: algorithm.oid(),
        parameters,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// content-type, message-digest and signing-certificate-v2, in DER (sorted) order.
fn signed_attributes(
    leaf: &Certificate,
    leaf_der: &[u8],
    content_digest: &[u8; 32],
) -> Result<SetOfVec<Attribute>, der::Error> {
    let content_type = attribute(CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?;
    let digest = OctetString::new(content_digest.to_vec())?;
    let message_digest = attribute(MESSAGE_DIGEST, Any::encode_from(&digest)?)?;
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(leaf_der).to_vec())?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    leaf.tbs_certificate.issuer.clone(),
                )],
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            },
        }],
    };
    let signing_certificate = attribute(
        SIGNING_CERTIFICATE_V2,
        Any::encode_from(&signing_certificate)?,
    )?;
    SetOfVec::try_from(vec![content_type, message_digest, signing_certificate])
}

fn time_stamp_attribute(token: Vec<u8>) -> Result<SetOfVec<Attribute>, der::Error> {
    let token = Any::from_der(&token)?;
    SetOfVec::try_from(vec![attribute(SIGNATURE_TIME_STAMP_TOKEN, token)?])
}

fn content_info(chain: Vec<Certificate>, signer_info: SignerInfo) -> Result<Vec<u8>, SignError> {
    let certificates: Vec<_> = chain
        .into_iter()
        .map(CertificateChoices::Certificate)
        .collect();
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(SetOfVec::try_from(certificates)?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}
