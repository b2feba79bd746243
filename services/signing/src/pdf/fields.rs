//! The objects a signature adds or changes: the signature dictionary (with the `/ByteRange`
//! and `/Contents` placeholders), the signature field merged with its widget annotation, its
//! empty appearance, the page's `/Annots` and the catalog's `/AcroForm`.

use chrono::{DateTime, FixedOffset};

use super::object::{Dict, ObjRef, Object};
use super::read::Document;
use super::{Rect, SignRequest};
use crate::SignError;

/// Room for `[0 a b c]` with three offsets of up to ten digits.
pub(crate) const BYTE_RANGE_WIDTH: usize = 40;

/// Annotation flags: Print (4) and Locked (128).
const WIDGET_FLAGS: i64 = 132;

/// A signature dictionary's body and where its placeholders are, relative to the body.
pub(crate) struct SignatureDict {
    pub body: Vec<u8>,
    /// Offset of the `[` of the `/ByteRange` placeholder.
    pub byte_range_at: usize,
    /// Offset of the `<` of the `/Contents` placeholder.
    pub contents_at: usize,
}

/// `<< /Type /Sig ... >>` with a `/ByteRange` of spaces and `/Contents` of `2 * reserved` zeros.
pub(crate) fn signature_dict(request: &SignRequest, reserved: usize) -> SignatureDict {
    let mut body = b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached".to_vec();
    body.extend_from_slice(b" /ByteRange ");
    let byte_range_at = body.len();
    body.push(b'[');
    body.resize(byte_range_at + BYTE_RANGE_WIDTH - 1, b' ');
    body.push(b']');
    body.extend_from_slice(b" /Contents ");
    let contents_at = body.len();
    body.push(b'<');
    body.resize(contents_at + 1 + 2 * reserved, b'0');
    body.push(b'>');
    for (key, value) in &described(request).0 {
        body.push(b' ');
        Object::Name(key.clone()).write(&mut body);
        body.push(b' ');
        value.write(&mut body);
    }
    body.extend_from_slice(b" >>");
    SignatureDict {
        body,
        byte_range_at,
        contents_at,
    }
}

/// `/M` and whichever of `/Name`, `/Reason`, `/Location` and `/ContactInfo` were given.
fn described(request: &SignRequest) -> Dict {
    let mut dict = Dict::default();
    dict.set(
        "M",
        Object::String(pdf_date(request.signing_time).into_bytes()),
    );
    let optional = [
        ("Name", &request.name),
        ("Reason", &request.reason),
        ("Location", &request.location),
        ("ContactInfo", &request.contact_info),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            dict.set(key, Object::text(value));
        }
    }
    dict
}

/// A PDF date, `D:YYYYMMDDHHmmSS+HH'mm'`.
pub(crate) fn pdf_date(time: DateTime<FixedOffset>) -> String {
    let offset = time.offset().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let (hours, minutes) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    format!(
        "D:{}{sign}{hours:02}'{minutes:02}'",
        time.format("%Y%m%d%H%M%S")
    )
}

/// The signature field, which is also its widget annotation on `page`.
pub(crate) fn widget(
    name: &str,
    rect: &Rect,
    signature: ObjRef,
    page: ObjRef,
    appearance: ObjRef,
) -> Dict {
    let mut appearances = Dict::default();
    appearances.set("N", Object::Ref(appearance));
    let mut widget = Dict::default();
    widget.set("Type", Object::name("Annot"));
    widget.set("Subtype", Object::name("Widget"));
    widget.set("FT", Object::name("Sig"));
    widget.set("T", Object::text(name));
    widget.set("V", Object::Ref(signature));
    widget.set("Rect", rect_array(rect));
    widget.set("F", Object::Int(WIDGET_FLAGS));
    widget.set("P", Object::Ref(page));
    widget.set("AP", Object::Dict(appearances));
    widget
}

fn rect_array(rect: &Rect) -> Object {
    let values = [
        rect.x1.min(rect.x2),
        rect.y1.min(rect.y2),
        rect.x1.max(rect.x2),
        rect.y1.max(rect.y2),
    ];
    Object::Array(values.into_iter().map(Object::number).collect())
}

/// The empty form XObject used as the widget's normal appearance; the visible signature is
/// part of the page content, drawn by Typst.
pub(crate) fn empty_appearance(rect: &Rect) -> Dict {
    let mut appearance = Dict::default();
    appearance.set("Type", Object::name("XObject"));
    appearance.set("Subtype", Object::name("Form"));
    let (width, height) = ((rect.x2 - rect.x1).abs(), (rect.y2 - rect.y1).abs());
    let bbox = [0.0, 0.0, width, height];
    appearance.set(
        "BBox",
        Object::Array(bbox.into_iter().map(Object::number).collect()),
    );
    appearance.set("Resources", Object::Dict(Dict::default()));
    appearance
}

/// The page with `field` added to its `/Annots` (resolved and written inline if it was an
/// indirect array); every other entry stays as it was.
pub(crate) fn page_with_widget(
    document: &Document<'_>,
    mut page: Dict,
    field: ObjRef,
) -> Result<Dict, SignError> {
    let mut annots = match page
        .get("Annots")
        .map(|a| document.resolve(a))
        .transpose()?
    {
        Some(Object::Array(items)) => items,
        None | Some(Object::Null) => Vec::new(),
        Some(_) => {
            return Err(SignError::MalformedPdf(
                "the page's /Annots is not an array".into(),
            ));
        }
    };
    annots.push(Object::Ref(field));
    page.set("Annots", Object::Array(annots));
    Ok(page)
}

/// The interactive form with `field` added and `/SigFlags 3` (signatures exist, append only),
/// and the name to give the field (`Signature1`, or the next one free).
pub(crate) fn acro_form_with_field(
    document: &Document<'_>,
    form: Option<&Object>,
    field: ObjRef,
) -> Result<(Dict, String), SignError> {
    let mut form = match form.map(|f| document.resolve(f)).transpose()? {
        Some(Object::Dict(dict)) => dict,
        None | Some(Object::Null) => Dict::default(),
        Some(_) => {
            return Err(SignError::MalformedPdf(
                "/AcroForm is not a dictionary".into(),
            ));
        }
    };
    let mut fields = match form
        .get("Fields")
        .map(|f| document.resolve(f))
        .transpose()?
    {
        Some(Object::Array(items)) => items,
        _ => Vec::new(),
    };
    let name = free_field_name(document, &fields)?;
    fields.push(Object::Ref(field));
    form.set("Fields", Object::Array(fields));
    form.set("SigFlags", Object::Int(3));
    Ok((form, name))
}

fn free_field_name(document: &Document<'_>, fields: &[Object]) -> Result<String, SignError> {
    let mut taken = Vec::new();
    for field in fields {
        if let Object::Dict(dict) = document.resolve(field)?
            && let Some(Object::String(name)) = dict.get("T")
        {
            taken.push(name.clone());
        }
    }
    let name = (1..)
        .map(|n| format!("Signature{n}"))
        .find(|name| !taken.contains(&name.as_bytes().to_vec()))
        .unwrap_or_default();
    Ok(name)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn writes_the_signing_time_with_its_zone() {
        let zone = FixedOffset::east_opt(7 * 3600).unwrap();
        let time = zone.with_ymd_and_hms(2026, 5, 15, 9, 30, 5).unwrap();
        assert_eq!(pdf_date(time), "D:20260515093005+07'00'");
    }
}
