//! A parser for PDF objects and the keywords around them (`obj`, `xref`, `trailer`, ...).
//!
//! The parser is total: whatever the bytes and wherever it starts, even past the end, it
//! returns an object or an error and never panics; arrays and dictionaries nest at most
//! [`MAX_DEPTH`] deep, so that a hostile file cannot exhaust the stack.

use super::object::{Dict, ObjRef, Object, is_regular, is_whitespace};

/// How deep arrays and dictionaries may nest. Real documents nest a handful of levels.
pub(crate) const MAX_DEPTH: usize = 256;

/// A cursor over PDF syntax.
pub(crate) struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    /// Arrays and dictionaries open around the current position.
    depth: usize,
}

/// Parse failures carry a short description and the byte offset.
pub(crate) type ParseResult<T> = Result<T, String>;

impl<'a> Parser<'a> {
    /// A parser at `pos` in `data`; past the end it finds nothing, without panicking.
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            depth: 0,
        }
    }

    /// The current byte offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The data from the current position on (empty past the end).
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    fn error<T>(&self, what: &str) -> ParseResult<T> {
        Err(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub fn skip_whitespace(&mut self) {
        while let Some(byte) = self.peek() {
            if is_whitespace(byte) {
                self.pos += 1;
            } else if byte == b'%' {
                while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Reads a run of regular characters (a keyword or a number) after skipping whitespace.
    pub fn token(&mut self) -> &'a [u8] {
        self.skip_whitespace();
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        self.data.get(start..self.pos).unwrap_or_default()
    }

    /// Reads the keyword `word`, or fails.
    pub fn expect(&mut self, word: &str) -> ParseResult<()> {
        if self.token() == word.as_bytes() {
            Ok(())
        } else {
            self.error(&format!("expected `{word}`"))
        }
    }

    /// Reads an unsigned integer.
    pub fn integer(&mut self) -> ParseResult<u64> {
        let token = self.token();
        match std::str::from_utf8(token).ok().and_then(|t| t.parse().ok()) {
            Some(value) => Ok(value),
            None => self.error("expected an integer"),
        }
    }

    /// Whether the next bytes (after whitespace) are `word`, without consuming them.
    pub fn at_keyword(&mut self, word: &str) -> bool {
        self.skip_whitespace();
        self.rest().starts_with(word.as_bytes())
    }

    /// Parses one object.
    pub fn object(&mut self) -> ParseResult<Object> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'/') => self.name().map(Object::Name),
            Some(b'(') => self.literal_string().map(Object::String),
            Some(b'<') if self.rest().starts_with(b"<<") => self.dict().map(Object::Dict),
            Some(b'<') => self.hex_string().map(Object::String),
            Some(b'[') => self.array().map(Object::Array),
            Some(byte) if byte.is_ascii_digit() || matches!(byte, b'+' | b'-' | b'.') => {
                self.number()
            }
            Some(_) => self.keyword(),
            None => self.error("unexpected end of data"),
        }
    }

    fn keyword(&mut self) -> ParseResult<Object> {
        match self.token() {
            b"true" => Ok(Object::Bool(true)),
            b"false" => Ok(Object::Bool(false)),
            b"null" => Ok(Object::Null),
            _ => self.error("unexpected token"),
        }
    }

    fn number(&mut self) -> ParseResult<Object> {
        let token = self.token();
        let text = std::str::from_utf8(token).unwrap_or_default();
        let Ok(value) = text.parse::<i64>() else {
            return match text.parse::<f64>() {
                Ok(_) => Ok(Object::Real(token.to_vec())),
                Err(_) => self.error("bad number"),
            };
        };
        // `num gen R` is a reference; anything else leaves the integer alone.
        let after = self.pos;
        if let (Ok(num), Ok(generation)) = (u32::try_from(value), self.integer())
            && self.token() == b"R"
            && let Ok(generation) = u16::try_from(generation)
        {
            return Ok(Object::Ref(ObjRef { num, generation }));
        }
        self.pos = after;
        Ok(Object::Int(value))
    }

    fn name(&mut self) -> ParseResult<Vec<u8>> {
        self.pos += 1;
        let mut name = Vec::new();
        while let Some(byte) = self.peek().filter(|&b| is_regular(b)) {
            self.pos += 1;
            let escaped = self.data.get(self.pos..self.pos + 2).and_then(hex_pair);
            match (byte, escaped) {
                (b'#', Some(value)) => {
                    name.push(value);
                    self.pos += 2;
                }
                _ => name.push(byte),
            }
        }
        Ok(name)
    }

    fn literal_string(&mut self) -> ParseResult<Vec<u8>> {
        self.pos += 1;
        let mut bytes = Vec::new();
        let mut depth = 0usize;
        loop {
            let Some(byte) = self.peek() else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            match byte {
                b'(' => depth += 1,
                b')' if depth == 0 => return Ok(bytes),
                b')' => depth -= 1,
                b'\\' => {
                    if let Some(value) = self.escape() {
                        bytes.push(value);
                    }
                    continue;
                }
                _ => {}
            }
            bytes.push(byte);
        }
    }

    /// Decodes the escape after a backslash; `None` for a line continuation.
    fn escape(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        match byte {
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'0'..=b'7' => {
                let mut value = u32::from(byte - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                Some((value & 0xff) as u8)
            }
            b'\r' => {
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
                None
            }
            b'\n' => None,
            other => Some(other),
        }
    }

    fn hex_string(&mut self) -> ParseResult<Vec<u8>> {
        self.pos += 1;
        let mut digits = Vec::new();
        loop {
            match self.peek() {
                Some(b'>') => break,
                Some(byte) if byte.is_ascii_hexdigit() => digits.push(byte),
                Some(byte) if is_whitespace(byte) => {}
                _ => return self.error("bad hex string"),
            }
            self.pos += 1;
        }
        self.pos += 1;
        if digits.len() % 2 == 1 {
            digits.push(b'0');
        }
        Ok(digits.chunks(2).filter_map(hex_pair).collect())
    }

    /// Runs `parse` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> ParseResult<T>) -> ParseResult<T> {
        if self.depth >= MAX_DEPTH {
            return self.error(&format!("objects nested more than {MAX_DEPTH} deep"));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn array(&mut self) -> ParseResult<Vec<Object>> {
        self.nested(|parser| {
            parser.pos += 1;
            let mut items = Vec::new();
            loop {
                parser.skip_whitespace();
                if parser.peek() == Some(b']') {
                    parser.pos += 1;
                    return Ok(items);
                }
                items.push(parser.object()?);
            }
        })
    }

    /// Parses `<< ... >>`.
    pub fn dict(&mut self) -> ParseResult<Dict> {
        self.skip_whitespace();
        if !self.rest().starts_with(b"<<") {
            return self.error("expected a dictionary");
        }
        self.nested(|parser| {
            parser.pos += 2;
            let mut dict = Dict::default();
            loop {
                parser.skip_whitespace();
                if parser.rest().starts_with(b">>") {
                    parser.pos += 2;
                    return Ok(dict);
                }
                if parser.peek() != Some(b'/') {
                    return parser.error("expected a name as dictionary key");
                }
                let key = parser.name()?;
                let value = parser.object()?;
                dict.0.push((key, value));
            }
        })
    }
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Object {
        Parser::new(text.as_bytes(), 0).object().unwrap()
    }

    #[test]
    fn parses_and_rewrites_a_page_dictionary() {
        let page = parse(
            "<</Type/Page/MediaBox[0 0 595.2756 841.8898]/Parent 3 0 R/Annots[12 0 R 13 0 R]\
             /Resources<</Font<</F1 7 0 R>>>>/Tabs/S/Name(a\\(b\\)\\351)/Odd/A#20B>>",
        );
        let mut out = Vec::new();
        page.write(&mut out);
        let expected = "<< /Type /Page /MediaBox [0 0 595.2756 841.8898] /Parent 3 0 R \
             /Annots [12 0 R 13 0 R] /Resources << /Font << /F1 7 0 R >> >> /Tabs /S \
             /Name <61286229E9> /Odd /A#20B >>";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn never_panics_wherever_it_starts() {
        let data = b"<</A [1 2 (x)] /B <41> /C 3 0 R>>";
        for start in 0..data.len() + 3 {
            let mut parser = Parser::new(data, start);
            let _ = parser.object();
            let mut parser = Parser::new(data, start);
            let _ = (parser.token(), parser.at_keyword("obj"), parser.dict());
        }
        assert!(Parser::new(b"", 10).object().is_err());
        assert!(!Parser::new(b"xref", 10).at_keyword("xref"));
    }

    #[test]
    fn refuses_objects_nested_deeper_than_the_limit() {
        let nested = |depth: usize, open: &str, close: &str| {
            format!("{}1{}", open.repeat(depth), close.repeat(depth))
        };
        assert!(
            Parser::new(nested(MAX_DEPTH, "[", "]").as_bytes(), 0)
                .object()
                .is_ok()
        );
        for (open, close) in [("[", "]"), ("<</K ", ">>"), ("[<</K ", ">>]")] {
            let deep = nested(MAX_DEPTH + 1, open, close);
            let error = Parser::new(deep.as_bytes(), 0).object().unwrap_err();
            assert!(error.contains("nested"), "{error}");
        }
        // Far deeper than any stack would survive without the limit.
        let hostile = "[".repeat(1_000_000);
        assert!(Parser::new(hostile.as_bytes(), 0).object().is_err());
    }

    #[test]
    fn distinguishes_references_from_integers() {
        assert_eq!(
            parse("[1 2 3 0 R 4]"),
            Object::Array(vec![
                Object::Int(1),
                Object::Int(2),
                Object::Ref(ObjRef {
                    num: 3,
                    generation: 0
                }),
                Object::Int(4)
            ])
        );
    }
}
