//! PDF objects: the few types a signature update reads and writes, and their serialisation
//! (the parser is in [`super::parser`]).
//!
//! Reals are kept as the bytes they were written with, so rewriting a dictionary (a page, the
//! catalog) gives back the same values; strings are rewritten in hexadecimal when not plain
//! ASCII, which denotes the same string.

use crate::hex;

/// A reference to an indirect object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjRef {
    pub num: u32,
    pub generation: u16,
}

/// A PDF object (streams are handled by the reader, which knows where their data lies).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Object {
    Null,
    Bool(bool),
    Int(i64),
    /// A real number, as written in the file.
    Real(Vec<u8>),
    /// A name, without the slash and with `#xx` escapes decoded.
    Name(Vec<u8>),
    /// A string's bytes, escapes decoded.
    String(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    Ref(ObjRef),
}

/// A dictionary, keeping its entries in their original order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Dict(pub Vec<(Vec<u8>, Object)>);

impl Dict {
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.0
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Replaces the entry `key`, or adds it at the end.
    pub fn set(&mut self, key: &str, value: Object) {
        match self.0.iter_mut().find(|(k, _)| k == key.as_bytes()) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.as_bytes().to_vec(), value)),
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Object::Int(value)) => Some(*value),
            _ => None,
        }
    }

    pub fn reference(&self, key: &str) -> Option<ObjRef> {
        match self.get(key) {
            Some(Object::Ref(reference)) => Some(*reference),
            _ => None,
        }
    }

    pub fn is_name(&self, key: &str, name: &str) -> bool {
        matches!(self.get(key), Some(Object::Name(n)) if n == name.as_bytes())
    }
}

impl Object {
    pub fn name(name: &str) -> Self {
        Self::Name(name.as_bytes().to_vec())
    }

    /// A text string: plain when ASCII, otherwise UTF-16BE with a byte order mark.
    pub fn text(text: &str) -> Self {
        if text.is_ascii() {
            return Self::String(text.as_bytes().to_vec());
        }
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        Self::String(bytes)
    }

    /// A number written with at most four decimals, as PDF has no exponent notation.
    pub fn number(value: f64) -> Self {
        let text = format!("{value:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        let text = if text == "-0" { "0" } else { text };
        Self::Real(text.as_bytes().to_vec())
    }

    /// Appends the object's PDF syntax to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.extend_from_slice(b"null"),
            Self::Bool(value) => out.extend_from_slice(if *value { b"true" } else { b"false" }),
            Self::Int(value) => out.extend_from_slice(value.to_string().as_bytes()),
            Self::Real(text) => out.extend_from_slice(text),
            Self::Name(name) => write_name(name, out),
            Self::String(bytes) => write_string(bytes, out),
            Self::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Self::Dict(dict) => dict.write(out),
            Self::Ref(r) => {
                out.extend_from_slice(format!("{} {} R", r.num, r.generation).as_bytes())
            }
        }
    }
}

impl Dict {
    /// Appends `<< /Key value ... >>` to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<<");
        for (key, value) in &self.0 {
            out.push(b' ');
            write_name(key, out);
            out.push(b' ');
            value.write(out);
        }
        out.extend_from_slice(b" >>");
    }
}

fn is_delimiter(byte: u8) -> bool {
    matches!(
        byte,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

pub(crate) fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

pub(crate) fn is_regular(byte: u8) -> bool {
    !is_delimiter(byte) && !is_whitespace(byte)
}

fn write_name(name: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &byte in name {
        if byte.is_ascii_graphic() && is_regular(byte) && byte != b'#' {
            out.push(byte);
        } else {
            out.push(b'#');
            hex::push_upper(&[byte], out);
        }
    }
}

fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.iter().all(|b| (b' '..=b'~').contains(b)) {
        out.push(b'(');
        for &byte in bytes {
            if matches!(byte, b'(' | b')' | b'\\') {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b')');
    } else {
        out.push(b'<');
        hex::push_upper(bytes, out);
        out.push(b'>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_text_strings_as_utf16_when_not_ascii() {
        let mut out = Vec::new();
        Object::text("Trí").write(&mut out);
        assert_eq!(out, b"<FEFF0054007200ED>");
        assert_eq!(Object::number(12.5), Object::Real(b"12.5".to_vec()));
        assert_eq!(Object::number(-0.00001), Object::Real(b"0".to_vec()));
        assert_eq!(Object::number(100.0), Object::Real(b"100".to_vec()));
    }
}
