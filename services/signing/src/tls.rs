//! TLS for the time-stamp client. An `https://` authority's certificate is checked against the
//! webpki roots (Mozilla's, built into the binary, so that a slim container needs no CA bundle)
//! and any CA certificates the configuration adds (a national or private CA), by rustls with
//! its ring provider.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// What an `https://` exchange trusts: the webpki roots, and the added ones.
#[derive(Clone)]
pub(crate) struct Tls {
    connector: TlsConnector,
    added: usize,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("added_roots", &self.added)
            .finish_non_exhaustive()
    }
}

/// Why a TLS connection could not be made.
#[derive(Debug)]
pub(crate) enum TlsFailure {
    /// The server's certificate does not chain to a trusted root, or is not for this host, or
    /// is otherwise not acceptable.
    Untrusted(String),
    /// Anything else: the handshake failed, the name is not a host name.
    Other(String),
}

impl Tls {
    /// Trusts the webpki roots and, with `pem`, every CA certificate in it (at least one).
    pub(crate) fn new(pem: Option<&[u8]>) -> Result<Self, String> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let added = match pem {
            Some(pem) => add_roots(&mut roots, pem)?,
            None => 0,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS cannot be set up: {error}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            added,
        })
    }

    /// Opens TLS to `host` over `stream`, the server's certificate checked for `host`.
    pub(crate) async fn connect(
        &self,
        host: &str,
        stream: TcpStream,
    ) -> Result<TlsStream<TcpStream>, TlsFailure> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| TlsFailure::Other(format!("{host:?} is not a host name for TLS")))?;
        self.connector
            .connect(name, stream)
            .await
            .map_err(|error| classify(host, &error))
    }
}

/// Adds every certificate of `pem` to `roots`; how many.
fn add_roots(roots: &mut RootCertStore, pem: &[u8]) -> Result<usize, String> {
    let mut added = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        let certificate =
            certificate.map_err(|error| format!("the roots file is not PEM: {error}"))?;
        roots.add(certificate).map_err(|error| {
            format!("a certificate of the roots file cannot be a root: {error}")
        })?;
        added += 1;
    }
    if added == 0 {
        return Err("the roots file holds no PEM certificate".into());
    }
    Ok(added)
}

fn classify(host: &str, error: &std::io::Error) -> TlsFailure {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(_)) => {
            TlsFailure::Untrusted(format!("{host}'s TLS certificate is not trusted: {error}"))
        }
        _ => TlsFailure::Other(format!("TLS with {host} failed: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roots_file_must_hold_a_certificate() {
        assert!(Tls::new(None).is_ok());
        let error = Tls::new(Some(b"not a certificate")).unwrap_err();
        assert!(error.contains("no PEM certificate"), "{error}");
        let broken = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(Tls::new(Some(broken)).is_err());
    }
}
