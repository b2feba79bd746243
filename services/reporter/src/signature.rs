//! Signing issued reports (SPEC §13): one unit's key, loaded and checked from its PKCS#12 file,
//! and the signature put on an issued revision's PDF. Drafts are never signed. Which units have
//! a key that works, and reading a replaced file again, is [`crate::certificates`]'s.
//!
//! The key sits behind `signing::Signer` (a digest in; the signature and the chain out): the
//! local PKCS#12 key is the one implementation today, and a remote signing service can take
//! its place.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use domain::UnitCode;
use domain::profile::SignatureConfig;
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
    /// The signer of `unit`, configured with `config`, from the bytes of its PKCS#12 file,
    /// opened with the password in the environment variable the configuration names. Every
    /// failure says the unit and the cause, never the password.
    /// `roots` is the content of the configuration's `timestamp_roots` file, if it names one.
    pub fn load(
        unit: &UnitCode,
        config: &SignatureConfig,
        der: &[u8],
        roots: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        // Wiped from memory when dropped, once the key is decrypted.
        let password = zeroize::Zeroizing::new(std::env::var(&config.password_env).map_err(|_| {
            format!(
                "unit '{unit}': the signing certificate's password is to be in {}, which is not set",
                config.password_env
            )
        })?);
        let signer = LocalSigner::from_pkcs12(der, &password, now).map_err(|error| {
            format!(
                "unit '{unit}': cannot use the signing certificate {}: {error}",
                config.certificate.display()
            )
        })?;
        let timestamp = timestamp_client(config, roots)
            .map_err(|(_, error)| format!("unit '{unit}': {error}"))?;
        let info = signer.certificate_info().clone();
        Ok(Self {
            signer: Box::new(signer),
            timestamp,
            info,
        })
    }

    /// Why this certificate can no longer sign at `now`, if it cannot: it was valid when
    /// loaded, and has expired since.
    pub fn lapsed(&self, unit: &UnitCode, now: DateTime<Utc>) -> Option<String> {
        // The cause names the certificate's end, not `now`: it is the same at every look.
        self.info.check_valid_at(now).err().map(|_| {
            format!(
                "unit '{unit}': the signing certificate of {} expired on {}",
                self.info.subject, self.info.not_after
            )
        })
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

/// Checks what `config` says of its time-stamp authority, without reading any file: the URL
/// (`https://`, or `http://` on this machine, or anywhere with `timestamp_allow_http`), and
/// `timestamp_roots` only with `https://`. A problem is the field it is in
/// (`signature.timestamp_url`…) and what is wrong.
pub fn check_timestamp(config: &SignatureConfig) -> Result<(), (&'static str, String)> {
    timestamp_client(config, None).map(|_| ())
}

/// The client for `config`'s time-stamp authority (none without a `timestamp_url`), also
/// trusting the CA certificates of `roots` (the `timestamp_roots` file's content) when given;
/// or the field at fault and why.
fn timestamp_client(
    config: &SignatureConfig,
    roots: Option<&[u8]>,
) -> Result<Option<TimeStampClient>, (&'static str, String)> {
    const URL: &str = "signature.timestamp_url";
    const ROOTS: &str = "signature.timestamp_roots";
    let Some(url) = config.timestamp_url.as_deref() else {
        return match config.timestamp_roots {
            Some(_) => Err((
                ROOTS,
                "timestamp_roots needs an https:// timestamp_url".into(),
            )),
            None => Ok(None),
        };
    };
    let client = TimeStampClient::new(url)
        .map_err(|error| (URL, format!("the time-stamp URL {url:?}: {error}")))?;
    if !client.is_secure() {
        if config.timestamp_roots.is_some() {
            let message = "timestamp_roots applies to an https:// timestamp_url only";
            return Err((ROOTS, message.into()));
        }
        if !client.is_loopback() && !config.timestamp_allow_http {
            return Err((URL, plain_http_refused(url)));
        }
    }
    let client = match roots {
        Some(pem) => client.with_roots(pem).map_err(|error| {
            let path = config
                .timestamp_roots
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            (ROOTS, format!("{}: {error}", path.display()))
        })?,
        None => client,
    };
    Ok(Some(client))
}

fn plain_http_refused(url: &str) -> String {
    format!(
        "the time-stamp URL {url:?} is plain HTTP beyond this machine, where anyone on the path \
         could answer in the authority's place: use its https:// URL (its certificate is \
         checked), or set timestamp_allow_http = true to accept that"
    )
}

/// The signing time as the visible signature writes it: ISO 8601 with the zone's offset,
/// `2026-05-18T08:00:00+07:00`.
pub fn visible_time(time: DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, false)
}
