//! An RFC 3161 time-stamp client, for PAdES B-T.
//!
//! The signature value is hashed with SHA-256 and sent in a `TimeStampReq` with a fresh nonce
//! and `certReq` set; the answer's status is read, and the token (a CMS `ContentInfo`) is
//! checked by the `token` module (imprint, nonce, time, and the authority's signature with the
//! certificate it carries) before it is returned for [`cms`](crate::cms) to add as the
//! unsigned attribute id-aa-signatureTimeStampToken. Whether the token's signing certificate is
//! trusted is left to validators, which have the trust anchors for it.
//!
//! The authority is reached over `https://` (its TLS certificate checked against the webpki
//! roots and any added with [`TimeStampClient::with_roots`]) or plain `http://`; which plain
//! URLs a deployment accepts is its own policy ([`TimeStampClient::is_secure`],
//! [`TimeStampClient::is_loopback`]).

mod token;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use cms::content_info::ContentInfo;
use der::asn1::{OctetString, Uint};
use der::{Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;

use crate::http::{self, HttpUrl};
use crate::oid::SHA256;
use crate::tls::Tls;

/// How long one request may take by default, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// How far a token's time may be from this machine's clock. A token time-stamps the signature
/// just made, so anything further means a wrong clock here or at the authority.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Why no time-stamp token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TimeStampError {
    /// The configured URL cannot be used.
    #[error("invalid time-stamp URL: {0}")]
    InvalidUrl(String),
    /// No random number could be had for the request's nonce.
    #[error("no randomness for the time-stamp nonce: {0}")]
    NoRandomness(String),
    /// The roots added for an `https://` authority cannot be used.
    #[error("the time-stamp authority's roots: {0}")]
    InvalidRoots(String),
    /// The connection or the HTTP exchange failed.
    #[error("time-stamp request failed: {0}")]
    Http(String),
    /// The `https://` authority's certificate is not trusted: it does not chain to the webpki
    /// roots or the added ones, or it is not for the authority's host.
    #[error("time-stamp request refused: {0}")]
    UntrustedCertificate(String),
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
    /// The token's time is further than [`MAX_CLOCK_SKEW`] from this machine's clock.
    #[error(
        "the time-stamp token's time {time} is more than {} minutes from this machine's clock \
         ({now})",
        MAX_CLOCK_SKEW.num_minutes()
    )]
    TimeOutOfRange {
        /// The token's genTime.
        time: DateTime<Utc>,
        /// This machine's time when the token was checked.
        now: DateTime<Utc>,
    },
    /// The authority's signature does not cover the token as it is, or cannot be checked.
    #[error("the time-stamp token's signature does not verify: {0}")]
    Unverified(String),
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
    /// For an `https://` URL: what its certificate is checked against.
    tls: Option<Tls>,
    timeout: Duration,
}

impl TimeStampClient {
    /// A client for the authority at `url` (`https://`, its certificate checked against the
    /// webpki roots; or `http://`), with a [`DEFAULT_TIMEOUT`].
    pub fn new(url: &str) -> Result<Self, TimeStampError> {
        let url = HttpUrl::parse(url).map_err(TimeStampError::InvalidUrl)?;
        let tls = if url.is_secure() {
            Some(Tls::new(None).map_err(TimeStampError::InvalidRoots)?)
        } else {
            None
        };
        Ok(Self {
            url,
            tls,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Also trusts the CA certificates in `pem` (at least one) for the authority's TLS
    /// certificate, besides the webpki roots: a national or private CA. Only for `https://`.
    pub fn with_roots(mut self, pem: &[u8]) -> Result<Self, TimeStampError> {
        if !self.url.is_secure() {
            return Err(TimeStampError::InvalidRoots(
                "roots apply to an https:// authority only".into(),
            ));
        }
        self.tls = Some(Tls::new(Some(pem)).map_err(TimeStampError::InvalidRoots)?);
        Ok(self)
    }

    /// Sets how long one request may take, connection included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the authority is reached over TLS (`https://`).
    pub fn is_secure(&self) -> bool {
        self.url.is_secure()
    }

    /// Whether the authority is on this machine (`localhost` or a loopback address).
    pub fn is_loopback(&self) -> bool {
        self.url.is_loopback()
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
        let response = http::post(
            &self.url,
            self.tls.as_ref(),
            content_type,
            &request,
            self.timeout,
        )
        .await
        .map_err(|failure| match failure {
            http::Failure::Untrusted(reason) => TimeStampError::UntrustedCertificate(reason),
            http::Failure::Other(reason) => TimeStampError::Http(reason),
        })?;
        if response.status != 200 {
            return Err(TimeStampError::HttpStatus(response.status));
        }
        check_response(&response.body, &digest, &nonce, Utc::now())
            .map_err(|error| with_content_type(error, response.content_type.as_deref()))
    }
}

/// Adds the answer's content type to a parse error when it is not a time-stamp reply's: the
/// URL probably names something else.
fn with_content_type(error: TimeStampError, content_type: Option<&str>) -> TimeStampError {
    match (error, content_type) {
        (TimeStampError::Malformed(reason), Some(content_type))
            if !content_type.starts_with("application/timestamp-reply") =>
        {
            TimeStampError::Malformed(format!("{reason} (content type {content_type})"))
        }
        (error, _) => error,
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
    getrandom::getrandom(&mut bytes).map_err(|e| TimeStampError::NoRandomness(e.to_string()))?;
    // Keep it positive and eight bytes long, so that its encoding is stable.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(Uint::new(&bytes)?)
}

/// Checks a `TimeStampResp` received at `now` and returns its token.
fn check_response(
    body: &[u8],
    digest: &[u8; 32],
    nonce: &Uint,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, TimeStampError> {
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
    token::check(&token, digest, nonce, now)?;
    Ok(token.to_der()?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// `openssl ts -reply` to a query for "chữ ký số" with nonce 0xDB9BB579F1A67275, made at
    /// 2026-11-30 10:37:43 UTC.
    const REPLY: &[u8] = include_bytes!("../../tests/fixtures/tsa-reply.der");

    fn digest() -> [u8; 32] {
        Sha256::digest("chữ ký số".as_bytes()).into()
    }

    fn nonce(value: u64) -> Uint {
        Uint::new(&value.to_be_bytes()).unwrap()
    }

    /// The fixture's genTime.
    fn made_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 10, 37, 43).unwrap()
    }

    fn check(reply: &[u8], now: DateTime<Utc>) -> Result<Vec<u8>, TimeStampError> {
        check_response(reply, &digest(), &nonce(0xDB9B_B579_F1A6_7275), now)
    }

    #[test]
    fn accepts_the_token_for_the_request_it_answers() {
        let token = check(REPLY, made_at() + TimeDelta::seconds(2)).unwrap();
        assert!(ContentInfo::from_der(&token).is_ok());
    }

    #[test]
    fn refuses_a_token_with_another_nonce_or_imprint() {
        let error =
            check_response(REPLY, &digest(), &nonce(0x4142_4344_4546_4748), made_at()).unwrap_err();
        assert!(matches!(error, TimeStampError::NonceMismatch), "{error}");
        let other: [u8; 32] = Sha256::digest(b"other").into();
        let error =
            check_response(REPLY, &other, &nonce(0xDB9B_B579_F1A6_7275), made_at()).unwrap_err();
        assert!(matches!(error, TimeStampError::ImprintMismatch), "{error}");
    }

    #[test]
    fn refuses_a_token_whose_time_is_far_from_the_clock() {
        let within = MAX_CLOCK_SKEW - TimeDelta::seconds(1);
        assert!(check(REPLY, made_at() + within).is_ok());
        assert!(check(REPLY, made_at() - within).is_ok());
        for now in [
            made_at() + TimeDelta::hours(1),
            made_at() - MAX_CLOCK_SKEW * 2,
        ] {
            let error = check(REPLY, now).unwrap_err();
            assert!(
                matches!(error, TimeStampError::TimeOutOfRange { time, .. } if time == made_at()),
                "{error}"
            );
        }
    }

    #[test]
    fn refuses_a_token_whose_tst_info_was_changed_after_signing() {
        // The TSTInfo's serial number, `02 01 02`, just before genTime.
        let gen_time = find(REPLY, b"\x18\x0f20261130103743Z");
        assert_eq!(&REPLY[gen_time - 3..gen_time], b"\x02\x01\x02");
        let mut changed = REPLY.to_vec();
        changed[gen_time - 1] = 0x03;
        let error = check(&changed, made_at()).unwrap_err();
        assert!(
            matches!(&error, TimeStampError::Unverified(reason) if reason.contains("message-digest")),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_token_whose_signature_does_not_verify() {
        // The reply ends with the authority's signature value.
        let mut changed = REPLY.to_vec();
        if let Some(last) = changed.last_mut() {
            *last ^= 0x01;
        }
        let error = check(&changed, made_at()).unwrap_err();
        assert!(
            matches!(&error, TimeStampError::Unverified(reason) if reason.contains("RSA")),
            "{error}"
        );
    }

    #[test]
    fn reports_a_refusal_with_its_status() {
        // TimeStampResp { status { status 2 (rejection), statusString { "bad alg" } } }
        let rejection = [
            0x30, 0x0f, 0x30, 0x0d, 0x02, 0x01, 0x02, 0x30, 0x08, 0x0c, 0x06, b'b', b'a', b'd',
            b'a', b'l', b'g',
        ];
        let error = check_response(&rejection, &digest(), &nonce(1), made_at()).unwrap_err();
        assert!(
            matches!(&error, TimeStampError::Rejected { status: 2, text } if text == ": badalg"),
            "{error}"
        );
    }

    fn find(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap()
    }
}
