//! Each signing unit's certificate as this process last read it (SPEC §13). A certificate
//! that cannot be used (a missing file or password, a wrong password, an expired certificate)
//! is that unit's problem only: its reports are held, not issued unsigned, and every other
//! unit goes on.
//!
//! Only the targets that sign load certificates: the reporter (every scheduler step looks
//! again: [`Certificates::refresh`]), the API (for a send, and [`watch`] for the dashboard) and
//! the command line (on first use). Ingest never does. A file replaced in place (a Kubernetes
//! Secret updated) is read again at the next look: a working key is reloaded when the file's
//! content (or its time-stamp roots' file's) changes, and a failing one is tried again at every
//! look. A password comes from the environment, so changing it needs a restart.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::UnitCode;
use domain::profile::{SignatureConfig, UnitProfile};
use lifecycle::Shutdown;

use crate::signature::UnitSigner;

/// Where a unit stands with signing.
#[derive(Debug, Clone)]
pub enum Signing {
    /// The unit has no `[unit.signature]`: its reports are not signed.
    Unsigned,
    /// Its key is loaded and valid.
    Ready(Arc<UnitSigner>),
    /// Its certificate cannot be used, for this reason (naming the unit, never the password):
    /// its reports are held.
    Unavailable(String),
}

impl Signing {
    /// Why the unit's reports are held, if they are.
    pub fn unavailable(&self) -> Option<&str> {
        match self {
            Signing::Unavailable(cause) => Some(cause),
            Signing::Unsigned | Signing::Ready(_) => None,
        }
    }
}

/// One signing unit's certificate: what the configuration says, and what was last read.
struct Slot {
    unit: UnitCode,
    config: SignatureConfig,
    /// What the last look found; `None` before the first.
    state: Option<Signing>,
    /// The file's fingerprint at the last load, to see that it was replaced.
    loaded_from: Option<u64>,
}

/// The certificates of every unit (and summary) that signs, by code.
pub struct Certificates {
    base: PathBuf,
    slots: HashMap<String, Mutex<Slot>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut units: Vec<&String> = self.slots.keys().collect();
        units.sort();
        f.debug_struct("Certificates")
            .field("units", &units)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// The certificates `profiles` configure, their paths relative to `base`; none is read yet.
    pub fn new(profiles: &[UnitProfile], base: &Path) -> Self {
        let slots = profiles
            .iter()
            .filter_map(|profile| {
                let config = profile.signature.clone()?;
                let slot = Slot {
                    unit: profile.code.clone(),
                    config,
                    state: None,
                    loaded_from: None,
                };
                Some((profile.code.to_string(), Mutex::new(slot)))
            })
            .collect();
        Self {
            base: base.to_owned(),
            slots,
        }
    }

    /// No unit signs.
    pub fn none() -> Self {
        Self::new(&[], Path::new("."))
    }

    /// Where `unit` stands, as last read; a certificate never read yet is read now.
    pub fn signing(&self, unit: &str, now: DateTime<Utc>) -> Signing {
        let Some(slot) = self.slots.get(unit) else {
            return Signing::Unsigned;
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.state.is_none() {
            look(&mut slot, &self.base, now);
        }
        slot.state.clone().unwrap_or(Signing::Unsigned)
    }

    /// Every unit whose certificate cannot be used as last read (one never read is read now),
    /// and why, by code.
    pub fn unavailable(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        let mut held: Vec<(String, String)> = self
            .slots
            .keys()
            .filter_map(|code| {
                let cause = self.signing(code, now).unavailable()?.to_owned();
                Some((code.clone(), cause))
            })
            .collect();
        held.sort();
        held
    }

    /// Looks at every certificate again, on a blocking thread (reading and decrypting a key is
    /// file I/O and CPU work).
    pub async fn refresh(self: &Arc<Self>, now: DateTime<Utc>) {
        let certificates = Arc::clone(self);
        let looked = tokio::task::spawn_blocking(move || {
            for slot in certificates.slots.values() {
                let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                look(&mut slot, &certificates.base, now);
            }
        });
        if looked.await.is_err() {
            tracing::error!("reading the signing certificates panicked");
        }
    }

    /// Looks at `unit`'s certificate again (a send is about to use it), on a blocking thread.
    pub async fn refresh_unit(self: &Arc<Self>, unit: &str, now: DateTime<Utc>) {
        if !self.slots.contains_key(unit) {
            return;
        }
        let (certificates, unit) = (Arc::clone(self), unit.to_owned());
        let looked = tokio::task::spawn_blocking(move || {
            if let Some(slot) = certificates.slots.get(&unit) {
                let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                look(&mut slot, &certificates.base, now);
            }
        });
        if looked.await.is_err() {
            tracing::error!("reading a signing certificate panicked");
        }
    }
}

/// Looks at the certificate every `every` until `shutdown`: for a process that signs without
/// the scheduler (the api target), so that its dashboard and metrics follow the files.
pub async fn watch(
    certificates: Arc<Certificates>,
    every: Duration,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    while !shutdown.is_triggered() {
        certificates.refresh(Utc::now()).await;
        shutdown.sleep(every).await;
    }
    Ok(())
}

/// Reads `slot`'s files (the certificate, and the time-stamp roots if configured) and loads its
/// key when they are new, were replaced, or failed last time; notices a loaded certificate that
/// has expired since; logs and exports a change of state.
fn look(slot: &mut Slot, base: &Path, now: DateTime<Utc>) {
    let path = base.join(&slot.config.certificate);
    let read = std::fs::read(&path)
        .map_err(|error| {
            format!(
                "unit '{}': cannot read the signing certificate {}: {error}",
                slot.unit,
                path.display()
            )
        })
        .and_then(|der| Ok((der, read_roots(slot, base)?)));
    let fingerprint = read
        .as_ref()
        .ok()
        .map(|(der, roots)| fingerprint(der, roots));
    let next = match (&slot.state, read) {
        (Some(Signing::Ready(signer)), _) if fingerprint == slot.loaded_from => {
            match signer.lapsed(&slot.unit, now) {
                Some(cause) => Signing::Unavailable(cause),
                None => return,
            }
        }
        (_, Err(cause)) => Signing::Unavailable(cause),
        (_, Ok((der, roots))) => {
            match UnitSigner::load(&slot.unit, &slot.config, &der, roots.as_deref(), now) {
                Ok(signer) => Signing::Ready(Arc::new(signer)),
                Err(cause) => Signing::Unavailable(cause),
            }
        }
    };
    report_change(&slot.unit, slot.state.as_ref(), &next);
    slot.loaded_from = fingerprint;
    slot.state = Some(next);
}

/// The content of `slot`'s `timestamp_roots` file, if it names one.
fn read_roots(slot: &Slot, base: &Path) -> Result<Option<Vec<u8>>, String> {
    let Some(roots) = &slot.config.timestamp_roots else {
        return Ok(None);
    };
    let path = base.join(roots);
    std::fs::read(&path).map(Some).map_err(|error| {
        format!(
            "unit '{}': cannot read the time-stamp authority's roots {}: {error}",
            slot.unit,
            path.display()
        )
    })
}

/// Logs a new state when it differs from the last (once per change, not once per look) and
/// sets the unit's metrics.
fn report_change(unit: &UnitCode, before: Option<&Signing>, after: &Signing) {
    let metrics = metrics::global();
    match after {
        Signing::Ready(signer) => {
            metrics.set_certificate_unavailable(unit.as_str(), false);
            let expiry = signer.info.not_after.timestamp() as f64;
            metrics.set_certificate_expiry(unit.as_str(), expiry);
            let subject = &signer.info.subject;
            match before {
                Some(Signing::Unavailable(_)) => {
                    tracing::info!(%unit, subject, "the signing certificate works again: the unit's reports are issued")
                }
                Some(Signing::Ready(_)) => {
                    tracing::info!(%unit, subject, "the signing certificate was replaced and is loaded")
                }
                _ => tracing::info!(%unit, subject, "signing certificate loaded"),
            }
        }
        Signing::Unavailable(cause) => {
            metrics.set_certificate_unavailable(unit.as_str(), true);
            if before.and_then(Signing::unavailable) != Some(cause.as_str()) {
                tracing::error!(%unit, cause, "the signing certificate cannot be used: the unit's reports are held");
            }
        }
        Signing::Unsigned => {}
    }
}

/// A fingerprint of the certificate's and the roots' bytes, to tell a replaced file from the
/// one loaded.
fn fingerprint(certificate: &[u8], roots: &Option<Vec<u8>>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    certificate.hash(&mut hasher);
    roots.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped ward as `code`, signing with `certificate` and a password variable that
    /// is never set.
    fn profile(code: &str, certificate: &Path) -> UnitProfile {
        let mut profile = crate::shipped_unit(code);
        profile.signature = Some(SignatureConfig {
            certificate: certificate.to_owned(),
            password_env: "BAOCAO_TEST_NO_SUCH_PASSWORD_VARIABLE".into(),
            timestamp_url: None,
            timestamp_roots: None,
            timestamp_allow_http: false,
        });
        profile
    }

    /// Why `unit` is held after one more look at its files (as a scheduler step looks).
    fn looked_again(certificates: &Certificates, unit: &str, now: DateTime<Utc>) -> String {
        let mut slot = certificates.slots[unit].lock().expect("a slot");
        look(&mut slot, Path::new("/"), now);
        let cause = slot.state.as_ref().and_then(Signing::unavailable);
        cause.expect("held").to_owned()
    }

    #[test]
    fn a_unit_without_a_certificate_is_unsigned_and_one_that_cannot_load_is_unavailable() {
        let dir = std::env::temp_dir().join(format!("bct-certs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let certificates = Certificates::new(
            &[profile("tri-qua", &dir.join("missing.p12"))],
            Path::new("/"),
        );
        let now = Utc::now();
        assert!(matches!(
            certificates.signing("an-phu", now),
            Signing::Unsigned
        ));
        let missing = certificates.signing("tri-qua", now);
        let cause = missing.unavailable().expect("unavailable");
        assert!(
            cause.starts_with("unit 'tri-qua': cannot read the signing certificate"),
            "{cause}"
        );
        // The file appears, but the password variable is not set: still held, for that cause.
        std::fs::write(dir.join("missing.p12"), b"not a PKCS#12 file").expect("a file");
        let no_password = certificates.signing("tri-qua", now);
        assert_eq!(
            no_password.unavailable(),
            Some(cause),
            "signing() does not look again; refresh does"
        );
        let cause = looked_again(&certificates, "tri-qua", now);
        assert!(
            cause.contains("BAOCAO_TEST_NO_SUCH_PASSWORD_VARIABLE"),
            "{cause}"
        );
        assert_eq!(certificates.unavailable(now).len(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_time_stamp_roots_file_that_cannot_be_read_holds_the_unit_until_it_appears() {
        let dir = std::env::temp_dir().join(format!("bct-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        std::fs::write(dir.join("tri-qua.p12"), b"not a PKCS#12 file").expect("a file");
        let mut unit = profile("tri-qua", &dir.join("tri-qua.p12"));
        if let Some(signature) = unit.signature.as_mut() {
            signature.timestamp_url = Some("https://tsa.example/tsr".into());
            signature.timestamp_roots = Some(dir.join("tsa-ca.pem"));
        }
        let certificates = Certificates::new(&[unit], Path::new("/"));
        let now = Utc::now();
        let held = certificates.signing("tri-qua", now);
        let cause = held.unavailable().expect("held");
        assert!(
            cause.starts_with("unit 'tri-qua': cannot read the time-stamp authority's roots")
                && cause.contains("tsa-ca.pem"),
            "{cause}"
        );
        // Once there, the certificate is the next cause (its password is not set).
        std::fs::write(dir.join("tsa-ca.pem"), b"roots").expect("a file");
        let cause = looked_again(&certificates, "tri-qua", now);
        assert!(
            cause.contains("BAOCAO_TEST_NO_SUCH_PASSWORD_VARIABLE"),
            "{cause}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
