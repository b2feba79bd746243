//! Signing issued reports (SPEC §13): each unit's key, loaded and checked at start-up, and the
//! signature put on an issued revision's PDF. Drafts are never signed.
//!
//! The key sits behind `signing::Signer` (a digest in; the signature and the chain out): the
//! local PKCS#12 key is the one implementation today, and a remote signing service can take
//! its place.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use domain::profile::UnitProfile;
use signing::{CertificateInfo, LocalSigner, Rect, SignRequest, Signer, TimeStampClient};

/// The width and height of the visible signature, in points, as the page template draws it.
pub const APPEARANCE: (f64, f64) = (200.0, 36.0);

/// A certificate within this many days of its end is a warning on the dashboard.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// One unit's signing key, and its time-stamp authority if any.
pub struct UnitSigner {
    signer: Box<dyn Signer>,
    timestamp: Option<TimeStampClient>,
    /// Who the certificate names, and until when it is valid.
    pub info: CertificateInfo,
}

impl std::fmt::Debug for UnitSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitSigner")
            .field("subject", &self.info.subject)
            .field("not_after", &self.info.not_after)
            .field("timestamp", &self.timestamp.is_some())
            .finish_non_exhaustive()
    }
}

/// Where a signature goes: the page (from 0) and the rectangle, in PDF points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// The page, from 0.
    pub page: usize,
    /// The rectangle's lower left and upper right corners.
    pub rect: [f64; 4],
}

/// A signature as recorded with the revision it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The organisation (or person) the certificate names.
    pub signed_by: String,
    /// The signing time written in the signature.
    pub signed_at: DateTime<Utc>,
    /// The end of the certificate's validity.
    pub valid_until: DateTime<Utc>,
    /// Whether a time-stamp authority stamped it (PAdES B-T).
    pub timestamped: bool,
}

impl UnitSigner {
    /// The signer of a unit configured with `[unit.signature]`: the PKCS#12 file at
    /// `certificate` (relative to `base`), opened with the password in the environment variable
    /// the configuration names. Every failure says the unit and the cause, never the password.
    pub fn load(
        profile: &UnitProfile,
        base: &Path,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>, String> {
        let Some(config) = &profile.signature else {
            return Ok(None);
        };
        let unit = &profile.code;
        // Wiped from memory when dropped, once the key is decrypted.
        let password = zeroize::Zeroizing::new(std::env::var(&config.password_env).map_err(|_| {
            format!(
                "unit '{unit}': the signing certificate's password is to be in {}, which is not set",
                config.password_env
            )
        })?);
        let path = base.join(&config.certificate);
        let signer = LocalSigner::from_pkcs12_file(&path, &password, now).map_err(|error| {
            format!(
                "unit '{unit}': cannot use the signing certificate {}: {error}",
                path.display()
            )
        })?;
        let timestamp = config
            .timestamp_url
            .as_deref()
            .map(TimeStampClient::new)
            .transpose()
            .map_err(|error| format!("unit '{unit}': the time-stamp URL: {error}"))?;
        let info = signer.certificate_info().clone();
        Ok(Some(Self {
            signer: Box::new(signer),
            timestamp,
            info,
        }))
    }

    /// The name the visible signature shows: the certificate's organisation, else its name,
    /// else `fallback`.
    pub fn organisation(&self, fallback: &str) -> String {
        self.info
            .organization
            .clone()
            .or_else(|| self.info.common_name.clone())
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// Whether the certificate ends within [`EXPIRY_WARNING_DAYS`] of `now`.
    pub fn expires_soon(&self, now: DateTime<Utc>) -> bool {
        self.info.not_after - now < chrono::TimeDelta::days(EXPIRY_WARNING_DAYS)
    }

    /// `pdf` signed at `place` with `time` as its signing time (and time-stamped if the unit
    /// has an authority), as an incremental update that leaves the rendered bytes as they are.
    /// A signing time outside the certificate's validity period is refused: the certificate
    /// was valid at start-up, but may have expired since.
    pub async fn sign(
        &self,
        pdf: &[u8],
        place: Place,
        time: DateTime<FixedOffset>,
        organisation: &str,
    ) -> anyhow::Result<(Vec<u8>, Signed)> {
        self.info
            .check_valid_at(time.to_utc())
            .map_err(|error| anyhow::anyhow!("Failed to sign the report's PDF: {error}"))?;
        let [x1, y1, x2, y2] = place.rect;
        let mut request = SignRequest::new(place.page, Rect { x1, y1, x2, y2 }, time);
        request.name = Some(organisation.to_owned());
        request.reason = Some("Ký số văn bản điện tử (Nghị định 30/2020/NĐ-CP)".to_owned());
        let signed =
            signing::sign_pdf(pdf, &request, self.signer.as_ref(), self.timestamp.as_ref())
                .await
                .map_err(|error| anyhow::anyhow!("Failed to sign the report's PDF: {error}"))?;
        let record = Signed {
            signed_by: organisation.to_owned(),
            signed_at: time.to_utc(),
            valid_until: self.info.not_after,
            timestamped: self.timestamp.is_some(),
        };
        Ok((signed, record))
    }
}

/// The signing time as the visible signature writes it: ISO 8601 with the zone's offset,
/// `2026-05-18T08:00:00+07:00`.
pub fn visible_time(time: DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The signers of every unit that has `[unit.signature]`, by unit code; the first failure
/// (a missing file, a wrong password, an expired certificate) stops with its unit and cause.
pub fn load_all(
    units: &[UnitProfile],
    base: &Path,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Arc<UnitSigner>>, String> {
    let mut signers = HashMap::new();
    for profile in units {
        if let Some(signer) = UnitSigner::load(profile, base, now)? {
            let expiry = signer.info.not_after.timestamp() as f64;
            metrics::global().set_certificate_expiry(profile.code.as_str(), expiry);
            signers.insert(profile.code.to_string(), Arc::new(signer));
        }
    }
    Ok(signers)
}
