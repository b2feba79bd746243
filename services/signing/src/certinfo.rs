//! What the dashboard shows about a signing certificate: who it names and until when it is valid.

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::BmpString;
use der::{Any, Decode, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::time::Time;

const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

/// The facts about a signer's certificate that people ask for: signed by whom, valid until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject's common name (CN), if any.
    pub common_name: Option<String>,
    /// The subject's organisation (O), if any: for a ward, its People's Committee.
    pub organization: Option<String>,
    /// The whole subject name, RFC 4514 style.
    pub subject: String,
    /// The issuer's name, RFC 4514 style.
    pub issuer: String,
    /// The serial number in upper-case hexadecimal.
    pub serial: String,
    /// Start of the validity period.
    pub not_before: DateTime<Utc>,
    /// End of the validity period.
    pub not_after: DateTime<Utc>,
}

impl CertificateInfo {
    /// Reads the information from a DER-encoded X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        Ok(Self::from_certificate(&Certificate::from_der(der)?))
    }

    pub(crate) fn from_certificate(certificate: &Certificate) -> Self {
        let tbs = &certificate.tbs_certificate;
        let serial = tbs
            .serial_number
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Self {
            common_name: attribute(&tbs.subject, COMMON_NAME),
            organization: attribute(&tbs.subject, ORGANIZATION),
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial,
            not_before: to_chrono(tbs.validity.not_before),
            not_after: to_chrono(tbs.validity.not_after),
        }
    }
}

/// Converts an X.509 time, which is always within chrono's range (years 1950 to 9999).
pub(crate) fn to_chrono(time: Time) -> DateTime<Utc> {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The first value of the attribute `oid` in `name`, decoded from any DirectoryString form.
fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| directory_string(&atv.value))
}

fn directory_string(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        // T.61 in theory; in practice Latin-1.
        Tag::TeletexString => Some(value.value().iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => BmpString::from_der(&der::Encode::to_der(value).ok()?)
            .ok()
            .map(|s| s.to_string()),
        _ => None,
    }
}
