//! What the dashboard shows about a signing certificate: who it names and until when it is
//! valid; and whether a given moment (start-up, a signing time) falls within that period.

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::BmpString;
use der::{Any, Decode, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::hex;

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
        let serial = hex::upper(tbs.serial_number.as_bytes());
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

    /// Where `time` falls in the validity period; both ends belong to it (RFC 5280 §4.1.2.5).
    pub fn validity_at(&self, time: DateTime<Utc>) -> Validity {
        if time < self.not_before {
            Validity::NotYetValid
        } else if time > self.not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }

    /// Checks that a signature made at `time` falls within the validity period: a certificate
    /// valid at start-up may have expired by the time a report is signed.
    pub fn check_valid_at(&self, time: DateTime<Utc>) -> Result<(), OutsideValidity> {
        match self.validity_at(time) {
            Validity::Valid => Ok(()),
            Validity::NotYetValid | Validity::Expired => Err(OutsideValidity {
                subject: self.subject.clone(),
                time,
                not_before: self.not_before,
                not_after: self.not_after,
            }),
        }
    }
}

/// Where a moment falls in a certificate's validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Before notBefore.
    NotYetValid,
    /// From notBefore to notAfter, both included.
    Valid,
    /// After notAfter.
    Expired,
}

/// A signing time outside the signer certificate's validity period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the signing time {time} is outside the validity period of the certificate of {subject} \
     ({not_before} to {not_after})"
)]
pub struct OutsideValidity {
    /// The certificate's subject.
    pub subject: String,
    /// The signing time that was refused.
    pub time: DateTime<Utc>,
    /// Start of the validity period.
    pub not_before: DateTime<Utc>,
    /// End of the validity period.
    pub not_after: DateTime<Utc>,
}

/// Converts an X.509 time, which is always within chrono's range (years 1950 to 9999).
fn to_chrono(time: Time) -> DateTime<Utc> {
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn info() -> CertificateInfo {
        CertificateInfo {
            common_name: None,
            organization: None,
            subject: "CN=An".into(),
            issuer: "CN=CA".into(),
            serial: "10".into(),
            not_before: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            not_after: Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap(),
        }
    }

    #[test]
    fn a_signing_time_must_fall_within_the_validity_period_ends_included() {
        let info = info();
        assert!(info.check_valid_at(info.not_before).is_ok());
        assert!(info.check_valid_at(info.not_after).is_ok());
        let late = info.not_after + chrono::TimeDelta::seconds(1);
        let error = info.check_valid_at(late).unwrap_err();
        let message = error.to_string();
        for part in [
            "2027-01-01 00:00:00 UTC",
            "2026-01-01",
            "2026-12-31 23:59:59",
            "CN=An",
        ] {
            assert!(message.contains(part), "{part} missing in {message}");
        }
        let early = info.not_before - chrono::TimeDelta::seconds(1);
        assert_eq!(info.validity_at(early), Validity::NotYetValid);
        assert!(info.check_valid_at(early).is_err());
    }
}
