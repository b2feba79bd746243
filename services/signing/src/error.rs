//! The error returned when a PDF cannot be signed.

use crate::tsp::TimeStampError;

/// Why a PDF could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The input is not a PDF this crate can read (the message says where it went wrong).
    #[error("cannot read the PDF: {0}")]
    MalformedPdf(String),
    /// The PDF uses a feature this crate does not handle (for example encryption).
    #[error("unsupported PDF: {0}")]
    UnsupportedPdf(String),
    /// The requested page does not exist.
    #[error("page {index} does not exist (the document has {count} pages)")]
    PageOutOfRange {
        /// Zero-based page index that was asked for.
        index: usize,
        /// Number of pages in the document.
        count: usize,
    },
    /// The signer's certificate chain is empty or not valid DER.
    #[error("invalid signer certificate: {0}")]
    Certificate(String),
    /// The signer (local key or remote service) failed to produce a signature.
    #[error("the signer failed: {0}")]
    Signer(String),
    /// Building or encoding the CMS structure failed.
    #[error("cannot encode the CMS signature: {0}")]
    Encoding(#[from] der::Error),
    /// Getting the time-stamp token failed.
    #[error("time-stamp: {0}")]
    TimeStamp(#[from] TimeStampError),
    /// The CMS signature does not fit the space reserved in `/Contents`.
    #[error("the signature needs {needed} bytes but only {reserved} were reserved in /Contents")]
    PlaceholderTooSmall {
        /// DER size of the signature.
        needed: usize,
        /// Bytes reserved in the placeholder.
        reserved: usize,
    },
}
