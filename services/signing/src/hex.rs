//! Upper-case hexadecimal, as PDF hex strings, `#xx` name escapes and certificate serial
//! numbers are written.

const DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the two upper-case hex digits of each byte to `out`.
pub(crate) fn push_upper(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(2 * bytes.len());
    for &byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 0x0f)]);
    }
}

/// The bytes as upper-case hex digits, two a byte.
pub(crate) fn upper(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(2 * bytes.len());
    push_upper(bytes, &mut out);
    out.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_two_upper_case_digits_a_byte() {
        assert_eq!(upper(&[0x00, 0x0f, 0xa5, 0xff]), "000FA5FF");
        let mut out = b"<".to_vec();
        push_upper(&[0x7e], &mut out);
        assert_eq!(out, b"<7E");
    }
}
