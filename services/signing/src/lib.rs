//! PAdES signing of baocao's issued report PDFs.
//!
//! Decree 30/2020 requires the issuing body's digital signature on every issued report. This
//! crate adds it to a PDF that Typst has already rendered, without touching the rendered bytes:
//!
//! - [`signer`]: the [`Signer`] interface (certificate chain and algorithm out, SHA-256 digest in,
//!   signature out), so that a remote signing service can replace the local key;
//! - [`local`]: [`LocalSigner`], a key and chain loaded from a PKCS#12 file (decoded by the
//!   private `pkcs12` module), with [`LoadError`] naming why a certificate cannot be used;
//! - [`certinfo`]: [`CertificateInfo`], who signs and until when, for the dashboard;
//! - [`cms`]: the CAdES detached `SignedData` (content-type, message-digest and
//!   signing-certificate-v2 signed attributes; optional signature time-stamp);
//! - [`tsp`]: an RFC 3161 time-stamp client over a minimal HTTP/1.1 POST (private `http`), plain
//!   or over TLS checked against the webpki roots and configured ones (private `tls`);
//! - [`pdf`]: [`sign_pdf`], which appends an incremental update holding the signature dictionary,
//!   the signature field and widget, and fills in the byte range and the CMS;
//! - private helpers: `verify` (a signature checked with a certificate's public key: the
//!   signer's before it is embedded, the time-stamp authority's over its token), `oid` (the
//!   object identifiers several modules name) and `hex`.
//!
//! The visible part of the signature (organisation name and signing time) is drawn by Typst in
//! the page content; the widget placed here has an empty appearance.
#![forbid(unsafe_code)]

pub mod certinfo;
pub mod cms;
mod error;
mod hex;
mod http;
pub mod local;
mod oid;
pub mod pdf;
mod pkcs12;
pub mod signer;
mod tls;
pub mod tsp;
mod verify;

pub use certinfo::CertificateInfo;
pub use error::SignError;
pub use local::{LoadError, LocalSigner};
pub use pdf::{Rect, SignRequest, sign_pdf};
pub use signer::{SignFuture, SignatureAlgorithm, Signer};
pub use tsp::{TimeStampClient, TimeStampError};
