//! An attachment's content, read as it streams: base64 decoded a chunk at a time (whitespace
//! and line breaks skipped, as encoders wrap lines) and the decoded bytes looked at for what
//! says a PDF is signed, without ever holding the attachment. A PDF starts with `%PDF-`
//! (within its first 1024 bytes) and a signed one carries a signature dictionary with a
//! `/ByteRange`, which sits near its end: the whole stream is looked at, a window of a few
//! bytes kept across chunks.

/// What marks a PDF.
const PDF_MAGIC: &[u8] = b"%PDF-";
/// Where the marker must be.
const PDF_HEAD: usize = 1024;
/// What a signature dictionary holds.
const BYTE_RANGE: &[u8] = b"/ByteRange";

/// Decodes base64 as it arrives. Accepts the standard and the URL-safe alphabets, with or
/// without padding.
#[derive(Debug, Default)]
pub struct Base64 {
    /// Sextets not yet written out, most significant first.
    pending: u32,
    /// How many sextets `pending` holds (0 to 3).
    count: u8,
    /// Whether padding was seen: nothing but padding and whitespace may follow.
    ended: bool,
}

/// Base64 that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadBase64;

impl Base64 {
    /// Decodes `input` onto `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), BadBase64> {
        for &byte in input {
            let sextet = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                b' ' | b'\t' | b'\r' | b'\n' => continue,
                b'=' => {
                    self.ended = true;
                    continue;
                }
                _ => return Err(BadBase64),
            };
            if self.ended {
                return Err(BadBase64);
            }
            self.pending = (self.pending << 6) | u32::from(sextet);
            self.count += 1;
            if self.count == 4 {
                out.extend_from_slice(&self.pending.to_be_bytes()[1..]);
                (self.pending, self.count) = (0, 0);
            }
        }
        Ok(())
    }

    /// Writes out what remains: the last one or two bytes of an unpadded or padded end.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), BadBase64> {
        match self.count {
            0 => {}
            2 => out.push((self.pending >> 4) as u8),
            3 => out.extend_from_slice(&((self.pending >> 2) as u16).to_be_bytes()),
            _ => return Err(BadBase64),
        }
        (self.pending, self.count) = (0, 0);
        Ok(())
    }
}

/// Looks at decoded bytes for a PDF's marker and a signature's `/ByteRange`.
#[derive(Debug, Default)]
pub struct PdfScan {
    /// The first bytes, up to [`PDF_HEAD`].
    head: Vec<u8>,
    /// The last bytes seen, shorter than [`BYTE_RANGE`]: a match across two chunks.
    tail: Vec<u8>,
    byte_range: bool,
    /// How many bytes were decoded.
    pub bytes: u64,
}

impl PdfScan {
    /// Looks at the next decoded bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        if self.head.len() < PDF_HEAD {
            let room = PDF_HEAD - self.head.len();
            self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        }
        if self.byte_range {
            return;
        }
        let edge = chunk.len().min(BYTE_RANGE.len() - 1);
        let mut seam = std::mem::take(&mut self.tail);
        seam.extend_from_slice(&chunk[..edge]);
        if memchr::memmem::find(&seam, BYTE_RANGE).is_some()
            || memchr::memmem::find(chunk, BYTE_RANGE).is_some()
        {
            self.byte_range = true;
            return;
        }
        // The last bytes of what was seen so far, for the next chunk's seam.
        let keep = BYTE_RANGE.len() - 1;
        let start = seam.len().saturating_sub(keep);
        self.tail = if chunk.len() >= keep {
            chunk[chunk.len() - keep..].to_vec()
        } else {
            seam[start..].to_vec()
        };
    }

    /// Whether the bytes were a PDF.
    pub fn is_pdf(&self) -> bool {
        memchr::memmem::find(&self.head, PDF_MAGIC).is_some()
    }

    /// Whether the bytes were a PDF carrying a signature.
    pub fn is_signed_pdf(&self) -> bool {
        self.is_pdf() && self.byte_range
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &[u8], chunk: usize) -> Result<Vec<u8>, BadBase64> {
        let mut decoder = Base64::default();
        let mut out = Vec::new();
        for part in text.chunks(chunk.max(1)) {
            decoder.feed(part, &mut out)?;
        }
        decoder.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn base64_decodes_in_any_chunks_with_line_breaks_and_padding() {
        assert_eq!(decode(b"TWFu", 1).unwrap(), b"Man");
        assert_eq!(decode(b"TWE=", 3).unwrap(), b"Ma");
        assert_eq!(decode(b"TQ==", 2).unwrap(), b"M");
        assert_eq!(decode(b"TQ", 2).unwrap(), b"M");
        assert_eq!(decode(b"JVBE\r\nRi0x\n", 5).unwrap(), b"%PDF-1");
        assert_eq!(decode(b"TQ==TQ==", 4), Err(BadBase64));
        assert_eq!(decode(b"T", 4), Err(BadBase64));
        assert_eq!(decode(b"TW&u", 4), Err(BadBase64));
    }

    #[test]
    fn a_byte_range_is_found_across_any_chunk_boundary() {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.extend(std::iter::repeat_n(b'x', 5000));
        pdf.extend_from_slice(b"<</Type/Sig/ByteRange [0 10 20 30]>>");
        for size in [1, 2, 3, 7, 9, 10, 11, 64, 4096] {
            let mut scan = PdfScan::default();
            pdf.chunks(size).for_each(|c| scan.feed(c));
            assert!(scan.is_signed_pdf(), "chunks of {size}");
        }
        let mut plain = PdfScan::default();
        pdf[..5000].chunks(3).for_each(|c| plain.feed(c));
        assert!(plain.is_pdf() && !plain.is_signed_pdf());
        let mut not_pdf = PdfScan::default();
        not_pdf.feed(b"PK\x03\x04 /ByteRange");
        assert!(!not_pdf.is_signed_pdf());
    }
}
