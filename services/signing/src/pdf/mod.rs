//! Signing a PDF: an incremental update holding the signature, appended to the rendered file.
//!
//! [`sign_pdf`] reads the original's cross-reference chain (module `read`, with `parser`,
//! `object` and `stream`), appends the signature dictionary, the signature field and widget,
//! the page and the catalog (or interactive form) rewritten to point at them (module
//! `fields`), and a cross-reference section of the original's kind (module `update`). It then
//! hashes everything but the `/Contents` placeholder, has [`cms`] build and sign the CAdES
//! signature, and writes it into the placeholder. Should the signature not fit the room
//! reserved for it (a time-stamp authority with a long chain), the update is prepared once more
//! with enough room, and signed again.

mod fields;
mod object;
mod parser;
mod read;
mod stream;
mod update;

use std::ops::Range;

use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};

use self::object::{Dict, ObjRef, Object};
use self::read::Document;
use self::update::Update;
use crate::signer::Signer;
use crate::tsp::TimeStampClient;
use crate::{SignError, cms, hex};

/// Room added to a signature's size when the update is prepared again after the reserved
/// room proved too small: a second time-stamp token may be a little longer than the first.
const RETRY_MARGIN: usize = 2048;

/// A rectangle in PDF user space (points, origin at the bottom left of the page).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
    /// Right edge.
    pub x2: f64,
    /// Top edge.
    pub y2: f64,
}

/// Where the signature goes and what the signature dictionary says.
#[derive(Debug, Clone, PartialEq)]
pub struct SignRequest {
    /// Zero-based index of the page that carries the widget.
    pub page: usize,
    /// The widget's rectangle, over the signature block Typst drew.
    pub rect: Rect,
    /// The signing time, written as `/M` with its zone (for Việt Nam, +07:00).
    pub signing_time: DateTime<FixedOffset>,
    /// `/Name`: the signer's name.
    pub name: Option<String>,
    /// `/Reason`: why the document is signed.
    pub reason: Option<String>,
    /// `/Location`: where it was signed.
    pub location: Option<String>,
    /// `/ContactInfo`: how to reach the signer.
    pub contact_info: Option<String>,
}

impl SignRequest {
    /// A request with no optional text.
    pub fn new(page: usize, rect: Rect, signing_time: DateTime<FixedOffset>) -> Self {
        Self {
            page,
            rect,
            signing_time,
            name: None,
            reason: None,
            location: None,
            contact_info: None,
        }
    }
}

/// Signs `pdf` (PAdES B-B, or B-T with `timestamp`) and returns the signed file, whose first
/// `pdf.len()` bytes are `pdf` itself.
///
/// The room for the signature is [`cms::size_estimate`]; if the signature turns out larger,
/// the file is prepared again with room for it plus a margin and signed once more (a second
/// signature, and a second time-stamp). Only if that one does not fit either does it fail with
/// [`SignError::PlaceholderTooSmall`].
pub async fn sign_pdf(
    pdf: &[u8],
    request: &SignRequest,
    signer: &dyn Signer,
    timestamp: Option<&TimeStampClient>,
) -> Result<Vec<u8>, SignError> {
    let reserved = cms::size_estimate(signer, timestamp.is_some());
    match sign_reserving(pdf, request, signer, timestamp, reserved).await {
        Err(SignError::PlaceholderTooSmall { needed, .. }) => {
            let reserved = needed.saturating_add(RETRY_MARGIN);
            sign_reserving(pdf, request, signer, timestamp, reserved).await
        }
        result => result,
    }
}

/// Prepares the update with `reserved` bytes for the signature, signs it and fills it in.
async fn sign_reserving(
    pdf: &[u8],
    request: &SignRequest,
    signer: &dyn Signer,
    timestamp: Option<&TimeStampClient>,
    reserved: usize,
) -> Result<Vec<u8>, SignError> {
    let prepared = prepare(pdf, request, reserved)?;
    let digest = prepared.digest();
    let signature = cms::sign_detached(signer, &digest, timestamp).await?;
    prepared.fill(&signature)
}

/// The updated file with its byte range set and `/Contents` still zeros.
struct Prepared {
    bytes: Vec<u8>,
    /// The `/Contents` hex string, `<` and `>` included: the part the signature does not cover.
    contents: Range<usize>,
}

impl Prepared {
    fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(&self.bytes[..self.contents.start]);
        hasher.update(&self.bytes[self.contents.end..]);
        hasher.finalize().into()
    }

    fn fill(mut self, signature: &[u8]) -> Result<Vec<u8>, SignError> {
        let reserved = (self.contents.len() - 2) / 2;
        if signature.len() > reserved {
            return Err(SignError::PlaceholderTooSmall {
                needed: signature.len(),
                reserved,
            });
        }
        let mut hex = Vec::with_capacity(2 * signature.len());
        hex::push_upper(signature, &mut hex);
        let start = self.contents.start + 1;
        self.bytes[start..start + hex.len()].copy_from_slice(&hex);
        Ok(self.bytes)
    }
}

/// The object numbers the update adds, after every number the original uses.
struct NewObjects {
    signature: ObjRef,
    field: ObjRef,
    appearance: ObjRef,
    /// Used only when the update ends with a cross-reference stream.
    xref_stream: ObjRef,
    /// The trailer's `/Size` after the update.
    size: u32,
}

impl NewObjects {
    /// Numbers from the original's `/Size` on, or from past its highest object number if
    /// `/Size` is too small (a damaged trailer must not make the update reuse a number).
    fn after(document: &Document<'_>) -> Result<Self, SignError> {
        let size = document
            .trailer
            .int("Size")
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| SignError::MalformedPdf("trailer without /Size".into()))?;
        let past_highest = document
            .highest_object_number()
            .map_or(0, |highest| highest.saturating_add(1));
        let size = size.max(past_highest);
        if size.checked_add(4).is_none() {
            return Err(SignError::UnsupportedPdf("no object numbers left".into()));
        }
        let new = |offset: u32| ObjRef {
            num: size + offset,
            generation: 0,
        };
        let added = if document.kind == read::XrefKind::Stream {
            4
        } else {
            3
        };
        Ok(Self {
            signature: new(0),
            field: new(1),
            appearance: new(2),
            xref_stream: new(3),
            size: size + added,
        })
    }
}

fn prepare(pdf: &[u8], request: &SignRequest, reserved: usize) -> Result<Prepared, SignError> {
    check_rect(&request.rect)?;
    let document = Document::parse(pdf)?;
    let new = NewObjects::after(&document)?;
    let sig = fields::signature_dict(request, reserved);
    let mut update = Update::new(pdf, sig.body.len());
    let body_at = update.raw_object(new.signature, &sig.body);
    append_field(&mut update, &document, request, &new)?;
    let trailer = new_trailer(&document, pdf, document.root()?, new.size);
    let mut bytes = update.finish(document.kind, trailer, document.startxref, new.xref_stream);

    let contents_at = body_at + sig.contents_at;
    let contents = contents_at..contents_at + 2 * reserved + 2;
    write_byte_range(&mut bytes, body_at + sig.byte_range_at, &contents)?;
    Ok(Prepared { bytes, contents })
}

/// Appends the field and widget, its appearance, the page with the widget in its `/Annots`,
/// and the catalog (or its form, if that is an object of its own) listing the field.
fn append_field(
    update: &mut Update,
    document: &Document<'_>,
    request: &SignRequest,
    new: &NewObjects,
) -> Result<(), SignError> {
    let (page_ref, page) = document.page(request.page)?;
    let page = fields::page_with_widget(document, page, new.field)?;
    let root = document.root()?;
    let mut catalog = document.dict(root, "catalog")?;
    let (form, name) = fields::acro_form_with_field(document, catalog.get("AcroForm"), new.field)?;
    let widget = fields::widget(
        &name,
        &request.rect,
        new.signature,
        page_ref,
        new.appearance,
    );
    update.object(new.field, &widget);
    update.stream(new.appearance, fields::empty_appearance(&request.rect), b"");
    update.object(page_ref, &page);
    match catalog.reference("AcroForm") {
        Some(form_ref) => update.object(form_ref, &form),
        None => {
            catalog.set("AcroForm", Object::Dict(form));
            update.object(root, &catalog);
        }
    }
    Ok(())
}

fn check_rect(rect: &Rect) -> Result<(), SignError> {
    let values = [rect.x1, rect.y1, rect.x2, rect.y2];
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(SignError::UnsupportedPdf(
            "the widget rectangle is not finite".into(),
        ))
    }
}

/// `/Size`, `/Root`, and the original's `/Info` and `/ID`; an ID is made if there was none.
fn new_trailer(document: &Document<'_>, pdf: &[u8], root: ObjRef, size: u32) -> Dict {
    let mut trailer = Dict::default();
    trailer.set("Size", Object::Int(i64::from(size)));
    trailer.set("Root", Object::Ref(root));
    if let Some(info) = document.trailer.get("Info") {
        trailer.set("Info", info.clone());
    }
    let id = document.trailer.get("ID").cloned().unwrap_or_else(|| {
        let hash = Sha256::digest(pdf)[..16].to_vec();
        Object::Array(vec![Object::String(hash.clone()), Object::String(hash)])
    });
    trailer.set("ID", id);
    trailer
}

fn write_byte_range(bytes: &mut [u8], at: usize, contents: &Range<usize>) -> Result<(), SignError> {
    let after = bytes.len() - contents.end;
    let mut text = format!("[0 {} {} {after}", contents.start, contents.end).into_bytes();
    if text.len() >= fields::BYTE_RANGE_WIDTH {
        return Err(SignError::UnsupportedPdf(
            "the file is too large to sign".into(),
        ));
    }
    text.resize(fields::BYTE_RANGE_WIDTH - 1, b' ');
    text.push(b']');
    bytes[at..at + fields::BYTE_RANGE_WIDTH].copy_from_slice(&text);
    Ok(())
}
