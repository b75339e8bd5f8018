//! Turning the bytes of an HTTP body into UTF-8 text.
//!
//! CPEs send UTF-8 with or without a BOM, and a few (Thomson) declare
//! `encoding="ISO-8859-1"`. Rules, in order:
//! 1. A UTF-16 BOM decodes UTF-16 (lossily); a UTF-8 BOM is dropped.
//! 2. An XML declaration naming ISO-8859-1 (or an alias) decodes Latin-1; naming
//!    windows-1252 decodes windows-1252.
//! 3. Otherwise the bytes are UTF-8 when valid, and Latin-1 when not (every byte sequence is
//!    valid Latin-1, so this never fails).

use std::borrow::Cow;

enum Charset {
    Utf8,
    Latin1,
    Windows1252,
}

/// The encoding named by a leading XML declaration, if any.
fn declared_charset(b: &[u8]) -> Charset {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let b = &b[start..];
    if !b.starts_with(b"<?xml") {
        return Charset::Utf8;
    }
    let window = &b[..b.len().min(256)];
    let end = match window.windows(2).position(|w| w == b"?>") {
        Some(e) => e,
        None => return Charset::Utf8,
    };
    let decl = &window[..end];
    let pos = match decl.windows(8).position(|w| w == b"encoding") {
        Some(p) => p + 8,
        None => return Charset::Utf8,
    };
    let mut rest = &decl[pos..];
    while let [c, tail @ ..] = rest {
        if c.is_ascii_whitespace() || *c == b'=' {
            rest = tail;
        } else {
            break;
        }
    }
    let (quote, rest) = match rest {
        [q @ (b'"' | b'\''), tail @ ..] => (*q, tail),
        _ => return Charset::Utf8,
    };
    let name = match rest.iter().position(|c| *c == quote) {
        Some(e) => &rest[..e],
        None => return Charset::Utf8,
    };
    let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
    match name.as_str() {
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "latin1" | "latin-1"
        | "l1" | "iso-ir-100" | "cp819" | "ibm819" | "csisolatin1" => Charset::Latin1,
        "windows-1252" | "cp1252" | "x-cp1252" => Charset::Windows1252,
        _ => Charset::Utf8,
    }
}

/// Windows-1252 code points for bytes 0x80..=0x9F (undefined bytes map to the C1 control).
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

fn single_byte(b: &[u8], cp1252: bool) -> Cow<'_, str> {
    if b.is_ascii() {
        // ASCII is valid UTF-8.
        return Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default());
    }
    let mut s = String::with_capacity(b.len() + b.len() / 8);
    for &c in b {
        if cp1252 && (0x80..=0x9F).contains(&c) {
            s.push(CP1252_HIGH[usize::from(c - 0x80)]);
        } else {
            s.push(char::from(c));
        }
    }
    Cow::Owned(s)
}

fn utf16(b: &[u8], big_endian: bool) -> Cow<'static, str> {
    let units = b.chunks_exact(2).map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    Cow::Owned(
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

/// Decodes the raw message bytes to text (see the module documentation).
pub(crate) fn decode(b: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = b.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, true);
    }
    if let Some(rest) = b.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, false);
    }
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    match declared_charset(b) {
        Charset::Latin1 => single_byte(b, false),
        Charset::Windows1252 => single_byte(b, true),
        Charset::Utf8 => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => single_byte(b, false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets() {
        assert_eq!(decode(b"\xEF\xBB\xBF<a/>"), "<a/>");
        assert_eq!(decode(b"<a>\xC3\xA9</a>"), "<a>\u{e9}</a>");
        assert_eq!(decode(b"<a>\xE9</a>"), "<a>\u{e9}</a>");
        assert_eq!(
            decode(b"<?xml version='1.0' encoding = 'ISO-8859-1'?><a>\xC3\xA9</a>"),
            "<?xml version='1.0' encoding = 'ISO-8859-1'?><a>\u{c3}\u{a9}</a>"
        );
        assert_eq!(
            decode(b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\x80</a>"),
            "<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\u{20ac}</a>"
        );
        assert_eq!(decode(b"\xFF\xFE<\0a\0/\0>\0"), "<a/>");
        assert_eq!(decode(b"\xFE\xFF\0<\0a\0/\0>"), "<a/>");
    }
}
