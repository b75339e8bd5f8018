//! A tolerant tokenizer for HTTP auth-param lists (RFC 7235 section 2.1).
//!
//! Accepts what real CPEs and servers send: quoted or bare values, commas inside quotes,
//! backslash escapes, missing or doubled commas, stray whitespace, missing closing quotes.
//! Values borrow from the input unless they contain escapes.

use std::borrow::Cow;

/// One element of an auth-param list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// `name=value` (value unquoted and unescaped).
    Param(&'a str, Cow<'a, str>),
    /// A bare token: an auth-scheme name in a challenge list, or a token68.
    Token(&'a str),
}

pub(crate) struct Params<'a> {
    s: &'a str,
    i: usize,
}

pub(crate) fn params(s: &str) -> Params<'_> {
    Params { s, i: 0 }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Params<'a> {
    fn skip_ws(&self, mut j: usize) -> usize {
        let b = self.s.as_bytes();
        while j < b.len() && is_ws(b[j]) {
            j += 1;
        }
        j
    }

    /// Parses a quoted-string whose opening quote is at `start`; sets `self.i` past it.
    fn quoted(&mut self, start: usize) -> Cow<'a, str> {
        let b = self.s.as_bytes();
        let body = start + 1;
        let mut j = body;
        while j < b.len() && b[j] != b'"' && b[j] != b'\\' {
            j += 1;
        }
        if j >= b.len() {
            // Unterminated: take the rest.
            self.i = b.len();
            return Cow::Borrowed(&self.s[body..]);
        }
        if b[j] == b'"' {
            self.i = j + 1;
            return Cow::Borrowed(&self.s[body..j]);
        }
        // Escapes present: unescape into an owned string.
        let mut out = String::with_capacity(j - body + 16);
        out.push_str(&self.s[body..j]);
        let mut chars = self.s[j..].char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        out.push(next);
                    }
                }
                '"' => {
                    self.i = j + off + 1;
                    return Cow::Owned(out);
                }
                c => out.push(c),
            }
        }
        self.i = b.len();
        Cow::Owned(out)
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let b = self.s.as_bytes();
        loop {
            while self.i < b.len() && (b[self.i] == b',' || is_ws(b[self.i])) {
                self.i += 1;
            }
            if self.i >= b.len() {
                return None;
            }
            if b[self.i] == b'"' {
                // A stray quoted string where a name should be: skip it.
                self.quoted(self.i);
                continue;
            }
            let start = self.i;
            while self.i < b.len() && !matches!(b[self.i], b'=' | b',' | b'"') && !is_ws(b[self.i])
            {
                self.i += 1;
            }
            let name = &self.s[start..self.i];
            let j = self.skip_ws(self.i);
            if j >= b.len() || b[j] != b'=' {
                return Some(Item::Token(name));
            }
            // token68 padding (`abc==`) or `name = value`.
            let j = self.skip_ws(j + 1);
            if j < b.len() && b[j] == b'"' {
                let value = self.quoted(j);
                return Some(Item::Param(name, value));
            }
            let mut k = j;
            while k < b.len() && b[k] != b',' && !is_ws(b[k]) {
                k += 1;
            }
            self.i = k;
            return Some(Item::Param(name, Cow::Borrowed(&self.s[j..k])));
        }
    }
}

/// Splits `Scheme rest` at the first whitespace. Returns `None` for an empty header.
pub(crate) fn split_scheme(header: &str) -> Option<(&str, &str)> {
    let h = header.trim_matches(|c: char| c.is_ascii_whitespace());
    if h.is_empty() {
        return None;
    }
    match h.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => Some((&h[..i], h[i..].trim_start())),
        None => Some((h, "")),
    }
}

/// Writes `value` as a quoted-string, escaping `"` and `\`.
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    if value.bytes().any(|b| b == b'"' || b == b'\\') {
        for c in value.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    } else {
        out.push_str(value);
    }
    out.push('"');
}

/// Decodes an RFC 8187 ext-value (`UTF-8''J%C3%BCrgen`, `ISO-8859-1'en'%A3`).
pub(crate) fn decode_ext_value(v: &str) -> Option<String> {
    let mut it = v.splitn(3, '\'');
    let charset = it.next()?;
    let _lang = it.next()?;
    let encoded = it.next()?;
    let b = encoded.as_bytes();
    let mut bytes = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let mut byte = [0u8; 1];
            hex::decode_to_slice(hex, &mut byte).ok()?;
            bytes.push(byte[0]);
            i += 3;
        } else {
            bytes.push(b[i]);
            i += 1;
        }
    }
    if charset.eq_ignore_ascii_case("UTF-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("ISO-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// Encodes `v` as an RFC 8187 ext-value with the UTF-8 charset.
pub(crate) fn encode_ext_value(out: &mut String, v: &str) {
    out.push_str("UTF-8''");
    for &b in v.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push_str(&hex::encode_upper([b]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &'static str, v: &'static str) -> Item<'static> {
        Item::Param(name, Cow::Borrowed(v))
    }

    #[test]
    fn plain_list() {
        let items: Vec<_> = params(r#"realm="a, b", nonce=xyz,qop="auth""#).collect();
        assert_eq!(
            items,
            vec![p("realm", "a, b"), p("nonce", "xyz"), p("qop", "auth")]
        );
    }

    #[test]
    fn odd_spacing_and_commas() {
        let items: Vec<_> = params(" ,, realm = \"r\" ,\t nc = 00000001 ,, uri=\"\" ,").collect();
        assert_eq!(
            items,
            vec![p("realm", "r"), p("nc", "00000001"), p("uri", "")]
        );
    }

    #[test]
    fn escapes_and_unterminated() {
        let items: Vec<_> = params(r#"a="x\"y\\z", b="open"#).collect();
        assert_eq!(
            items,
            vec![
                Item::Param("a", Cow::Owned(r#"x"y\z"#.to_string())),
                p("b", "open")
            ]
        );
    }

    #[test]
    fn missing_commas_and_tokens() {
        let items: Vec<_> = params(r#"Digest realm="r" nonce=n Basic realm="b""#).collect();
        assert_eq!(
            items,
            vec![
                Item::Token("Digest"),
                p("realm", "r"),
                p("nonce", "n"),
                Item::Token("Basic"),
                p("realm", "b")
            ]
        );
    }

    #[test]
    fn garbage_does_not_loop() {
        for s in [
            "\"", "=", "==", "\"\"=\"", "a=", "a= ,", ",=,\"", "\\", "a=\"\\",
        ] {
            let n = params(s).count();
            assert!(n <= s.len() + 1, "{s:?}");
        }
    }

    #[test]
    fn scheme_split() {
        assert_eq!(split_scheme("  Digest  a=b "), Some(("Digest", "a=b")));
        assert_eq!(split_scheme("Basic"), Some(("Basic", "")));
        assert_eq!(split_scheme("   "), None);
    }

    #[test]
    fn ext_values() {
        assert_eq!(
            decode_ext_value("UTF-8''J%C3%A4s%C3%B8n%20Doe").as_deref(),
            Some("Jäsøn Doe")
        );
        assert_eq!(decode_ext_value("iso-8859-1'en'%A3").as_deref(), Some("£"));
        assert_eq!(decode_ext_value("UTF-8''%zz"), None);
        let mut s = String::new();
        encode_ext_value(&mut s, "Jäsøn Doe");
        assert_eq!(s, "UTF-8''J%C3%A4s%C3%B8n%20Doe");
        assert_eq!(decode_ext_value(&s).as_deref(), Some("Jäsøn Doe"));
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        push_quoted(&mut s, r#"a"b\c"#);
        assert_eq!(s, r#""a\"b\\c""#);
        let header = format!("x={s}");
        let items: Vec<_> = params(&header).collect();
        assert_eq!(items, vec![Item::Param("x", Cow::Owned(r#"a"b\c"#.into()))]);
    }
}
