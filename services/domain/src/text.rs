//! Text from outside (events, narratives, configuration, SMTP replies) on its way into places
//! that cannot take everything: PostgreSQL text (no NUL), XML in the DOCX (no control
//! characters but tab, line feed and carriage return), AMQP headers (bounded), a terminal (no
//! escape sequences). Each rule is here once.

/// Whether `c` is a control character: C0 (U+0000–U+001F), DEL, or C1 (U+0080–U+009F).
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// The first control character of `text` that a single-line value must not hold, if any.
pub fn control_in_line(text: &str) -> Option<char> {
    text.chars().find(|c| is_control(*c))
}

/// The first control character of `text` that a paragraph must not hold (tab and line breaks
/// are allowed: they become spaces), if any.
pub fn control_in_paragraph(text: &str) -> Option<char> {
    text.chars()
        .find(|c| is_control(*c) && !matches!(c, '\t' | '\n' | '\r'))
}

/// The first control character of `text` that is not white space, if any: in a narrative's
/// text, white space (tab, line breaks, vertical tab, form feed, U+0085) only separates words
/// and paragraphs, so that every other control character is what would reach a paragraph.
pub fn control_in_text(text: &str) -> Option<char> {
    text.chars().find(|c| is_control(*c) && !c.is_whitespace())
}

/// How a control character is named in an error message: `U+0007`.
pub fn describe(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// `text` cut to at most `max_bytes` bytes of UTF-8, on a character boundary, with "…" at the
/// end when something was cut (counted within the limit).
pub fn truncate_bytes(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let ellipsis = "…";
    let budget = max_bytes.saturating_sub(ellipsis.len());
    let mut cut = budget.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ellipsis}", &text[..cut])
}

/// `text` with every control character written as an escape (`\x07`, `\u{9b}`), and nothing
/// else changed: safe to print on a terminal, and unambiguous to read.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) && u32::from(c) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)))
            }
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// `text` without its control characters: for text already stored that a document must print
/// (XML, and so the DOCX, cannot hold them at all).
pub fn without_controls(text: &str) -> String {
    text.chars().filter(|c| !is_control(*c)).collect()
}

/// `bytes` as text for a log or a record: invalid UTF-8 replaced, control characters escaped,
/// at most `max_chars` characters (before escaping).
pub fn printable_excerpt(bytes: &[u8], max_chars: usize) -> String {
    // Four bytes per character at most: enough bytes for `max_chars` characters.
    let head = &bytes[..bytes.len().min(max_chars.saturating_mul(4))];
    let text: String = String::from_utf8_lossy(head)
        .chars()
        .take(max_chars)
        .collect();
    escape_controls(&text)
}

/// `bytes` as text that shows every byte: valid UTF-8 as it is (control characters escaped),
/// each byte of an invalid sequence as `\xNN`. For bytes that should have been UTF-8 and are
/// not (a name cut mid-character), so that the administrator sees what was sent.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_controls(chunk.valid()));
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_are_found_and_named() {
        assert_eq!(control_in_line("Trí Quả"), None);
        assert_eq!(
            control_in_line("a\u{7}b").map(describe),
            Some("U+0007".into())
        );
        assert_eq!(control_in_line("a\tb"), Some('\t'));
        assert_eq!(control_in_paragraph("dòng một\ndòng\thai\r\n"), None);
        assert_eq!(control_in_paragraph("\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(control_in_paragraph("x\u{9b}y"), Some('\u{9b}'));
        assert_eq!(control_in_text("một\u{b}hai\u{c}\u{85}\r\n\tba"), None);
        assert_eq!(control_in_text("a\u{1f}b"), Some('\u{1f}'));
        assert_eq!(control_in_text("a\u{84}b"), Some('\u{84}'));
    }

    #[test]
    fn escaping_leaves_vietnamese_alone_and_shows_every_control() {
        assert_eq!(escape_controls("Báo cáo"), "Báo cáo");
        assert_eq!(
            escape_controls("a\u{0}b\u{7}\u{1b}[2J\n"),
            "a\\x00b\\x07\\x1b[2J\\n"
        );
        assert_eq!(escape_controls("\u{9b}"), "\\u{9b}");
    }

    #[test]
    fn controls_can_be_dropped_from_stored_text() {
        assert_eq!(without_controls("Hạn\u{7} chế\u{1b}"), "Hạn chế");
    }

    #[test]
    fn truncation_cuts_on_a_character_boundary_within_the_limit() {
        assert_eq!(truncate_bytes("ngắn", 100), "ngắn");
        let cut = truncate_bytes(&"ấ".repeat(1000), 1024);
        assert!(cut.len() <= 1024 && cut.ends_with('…'), "{}", cut.len());
        assert_eq!(truncate_bytes("abcdef", 4), "a…");
    }

    #[test]
    fn an_excerpt_of_any_bytes_is_printable_text() {
        let excerpt = printable_excerpt(b"\xff\x00{\"a\":\x07}", 100);
        assert_eq!(excerpt, "\u{fffd}\\x00{\"a\":\\x07}");
        assert_eq!(printable_excerpt("ấấấ".as_bytes(), 2), "ấấ");
    }

    #[test]
    fn invalid_bytes_are_shown_as_escapes_and_valid_text_as_it_is() {
        let cut = &"Quả".as_bytes()[..4];
        assert_eq!(escape_bytes(cut), "Qu\\xe1\\xba");
        assert_eq!(escape_bytes("Trí\u{7}".as_bytes()), "Trí\\x07");
        assert_eq!(escape_bytes(b"\xff"), "\\xff");
    }

    proptest! {
        #[test]
        fn escaped_bytes_are_single_line_text(bytes in any::<Vec<u8>>()) {
            prop_assert!(control_in_line(&escape_bytes(&bytes)).is_none());
        }

        #[test]
        fn escaped_text_has_no_control_characters(text in any::<String>()) {
            prop_assert!(control_in_line(&escape_controls(&text)).is_none());
        }

        #[test]
        fn truncated_text_fits(text in any::<String>(), max in 4usize..2000) {
            let cut = truncate_bytes(&text, max);
            prop_assert!(cut.len() <= max.max(text.len().min(max)));
            prop_assert!(cut.len() <= max);
        }
    }
}
