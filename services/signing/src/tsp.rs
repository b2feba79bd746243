//! An RFC 3161 time-stamp client, for PAdES B-T.
//!
//! The signature value is hashed with SHA-256 and sent in a `TimeStampReq` with a fresh nonce
//! and `certReq` set; the answer's status, nonce and message imprint are checked, and the token
//! (a CMS `ContentInfo`) is returned for [`cms`](crate::cms) to add as the unsigned attribute
//! id-aa-signatureTimeStampToken. The token's own signature is left to validators, which have
//! the trust anchors for the authority.

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, Uint};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;

use crate::http::{self, HttpUrl};

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Why no time-stamp token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TimeStampError {
    /// The configured URL cannot be used.
    #[error("invalid time-stamp URL: {0}")]
    InvalidUrl(String),
    /// The connection or the HTTP exchange failed.
    #[error("time-stamp request failed: {0}")]
    Http(String),
    /// The authority answered with an HTTP status other than 200.
    #[error("the time-stamp authority answered HTTP {0}")]
    HttpStatus(u16),
    /// The authority refused the request (PKIStatus other than granted).
    #[error("the time-stamp authority refused the request (status {status}{text})")]
    Rejected {
        /// The PKIStatus value.
        status: u32,
        /// The authority's explanation, if any, prefixed with ": ".
        text: String,
    },
    /// The answer is not a well-formed time-stamp response.
    #[error("malformed time-stamp response: {0}")]
    Malformed(String),
    /// The token does not carry the nonce that was sent.
    #[error("the time-stamp token's nonce does not match the request")]
    NonceMismatch,
    /// The token time-stamps something other than the signature.
    #[error("the time-stamp token's message imprint does not match the signature")]
    ImprintMismatch,
}

impl From<der::Error> for TimeStampError {
    fn from(error: der::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// `TimeStampReq` without the request policy and extensions, which are never sent.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    nonce: Uint,
    cert_req: bool,
}

/// `PKIStatusInfo` (RFC 3161 section 2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u32,
    status_string: Option<Vec<String>>,
    fail_info: Option<der::asn1::BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    time_stamp_token: Option<ContentInfo>,
}

/// A client for one time-stamp authority.
#[derive(Debug, Clone)]
pub struct TimeStampClient {
    url: HttpUrl,
    timeout: Duration,
}

impl TimeStampClient {
    /// A client for the authority at `url` (`http://` only), with a 30-second timeout.
    pub fn new(url: &str) -> Result<Self, TimeStampError> {
        let url = HttpUrl::parse(url).map_err(TimeStampError::InvalidUrl)?;
        Ok(Self {
            url,
            timeout: Duration::from_secs(30),
        })
    }

    /// Sets how long one request may take, connection included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Gets a token over the SHA-256 of `data` (for B-T, the signature value) and returns the
    /// token's DER, a CMS `ContentInfo`.
    pub async fn time_stamp(&self, data: &[u8]) -> Result<Vec<u8>, TimeStampError> {
        let digest: [u8; 32] = Sha256::digest(data).into();
        let nonce = new_nonce()?;
        let request = TimeStampReq {
            version: 1,
            message_imprint: imprint(&digest)?,
            nonce: nonce.clone(),
            cert_req: true,
        }
        .to_der()?;
        let content_type = "application/timestamp-query";
        let response = http::post(&self.url, content_type, &request, self.timeout)
            .await
            .map_err(TimeStampError::Http)?;
        if response.status != 200 {
            return Err(TimeStampError::HttpStatus(response.status));
        }
        check_response(&response.body, &digest, &nonce).map_err(|error| {
            match (error, response.content_type.as_deref()) {
                (TimeStampError::Malformed(reason), Some(content_type))
                    if !content_type.starts_with("application/timestamp-reply") =>
                {
                    TimeStampError::Malformed(format!("{reason} (content type {content_type})"))
                }
                (error, _) => error,
            }
        })
    }
}

fn imprint(digest: &[u8; 32]) -> Result<MessageImprint, der::Error> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        },
        hashed_message: OctetString::new(digest.to_vec())?,
    })
}

fn new_nonce() -> Result<Uint, TimeStampError> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| TimeStampError::Http(format!("no randomness for the nonce: {e}")))?;
    // Keep it positive and eight bytes long, so that its encoding is stable.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(Uint::new(&bytes)?)
}

/// Checks a `TimeStampResp` and returns its token.
fn check_response(body: &[u8], digest: &[u8; 32], nonce: &Uint) -> Result<Vec<u8>, TimeStampError> {
    let response = TimeStampResp::from_der(body)?;
    let status = response.status.status;
    // 0 = granted, 1 = grantedWithMods.
    if status > 1 {
        let text = response.status.status_string.unwrap_or_default().join("; ");
        let text = if text.is_empty() {
            text
        } else {
            format!(": {text}")
        };
        return Err(TimeStampError::Rejected { status, text });
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| TimeStampError::Malformed("granted without a token".into()))?;
    check_token(&token, digest, nonce)?;
    Ok(token.to_der()?)
}

fn check_token(token: &ContentInfo, digest: &[u8; 32], nonce: &Uint) -> Result<(), TimeStampError> {
    // TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime,
    //   accuracy OPTIONAL, ordering DEFAULT FALSE, nonce INTEGER OPTIONAL, ... }
    let fields = tst_info_fields(token)?;
    let imprint_field = fields
        .get(2)
        .ok_or_else(|| TimeStampError::Malformed("TSTInfo too short".into()))?;
    // Compare the OID alone: SHA-256's parameters may be absent or NULL.
    let token_imprint = imprint_field.decode_as::<MessageImprint>()?;
    if token_imprint.hash_algorithm.oid != SHA256
        || token_imprint.hashed_message.as_bytes() != digest.as_slice()
    {
        return Err(TimeStampError::ImprintMismatch);
    }
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

/// The fields of the token's TSTInfo, each left undecoded.
fn tst_info_fields(token: &ContentInfo) -> Result<Vec<Any>, TimeStampError> {
    if token.content_type != SIGNED_DATA {
        return Err(TimeStampError::Malformed("token is not SignedData".into()));
    }
    let content = token.content.decode_as::<SignedData>()?.encap_content_info;
    let tst_info = match (content.econtent_type, content.econtent) {
        (TST_INFO, Some(econtent)) => econtent.decode_as::<OctetString>()?,
        _ => {
            return Err(TimeStampError::Malformed(
                "token does not hold a TSTInfo".into(),
            ));
        }
    };
    Ok(Vec::<Any>::from_der(tst_info.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl ts -reply` to a query for "chữ ký số" with nonce 0xDB9BB579F1A67275.
    const REPLY: &[u8] = include_bytes!("../tests/fixtures/tsa-reply.der");

    fn digest() -> [u8; 32] {
        Sha256::digest("chữ ký số".as_bytes()).into()
    }

    fn nonce(value: u64) -> Uint {
        Uint::new(&value.to_be_bytes()).unwrap()
    }

    #[test]
    fn accepts_the_token_for_the_request_it_answers() {
        let token = check_response(REPLY, &digest(), &nonce(0xDB9B_B579_F1A6_7275)).unwrap();
        assert!(ContentInfo::from_der(&token).is_ok());
    }

    #[test]
    fn refuses_a_token_with_another_nonce_or_imprint() {
        let error = check_response(REPLY, &digest(), &nonce(0x4142_4344_4546_4748)).unwrap_err();
        assert!(matches!(error, TimeStampError::NonceMismatch), "{error}");
        let other: [u8; 32] = Sha256::digest(b"other").into();
        let error = check_response(REPLY, &other, &nonce(0xDB9B_B579_F1A6_7275)).unwrap_err();
        assert!(matches!(error, TimeStampError::ImprintMismatch), "{error}");
    }

    #[test]
    fn reports_a_refusal_with_its_status() {
        // TimeStampResp { status { status 2 (rejection), statusString { "bad alg" } } }
        let rejection = [
            0x30, 0x0f, 0x30, 0x0d, 0x02, 0x01, 0x02, 0x30, 0x08, 0x0c, 0x06, b'b', b'a', b'd',
            b'a', b'l', b'g',
        ];
        let error = check_response(&rejection, &digest(), &nonce(1)).unwrap_err();
        assert!(
            matches!(&error, TimeStampError::Rejected { status: 2, text } if text == ": badalg"),
            "{error}"
        );
    }
}
