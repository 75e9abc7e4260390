//! Character decoding of statement files.
//!
//! Dutch banks write UTF-8 (with or without a byte order mark) and ISO-8859-1/Windows-1252.
//! Text formats are read as UTF-8 when the bytes are valid UTF-8 and as Windows-1252
//! otherwise; Windows-1252 maps every byte to a character, so no byte is ever dropped. XML
//! files follow their byte order mark, then their `encoding` declaration.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The mapping from offsets in the decoded text back to offsets in the original bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffsetMap {
    /// UTF-8 input: one text byte per input byte, after a byte order mark of this length.
    Utf8 { bom_len: usize },
    /// A single-byte encoding: one input byte per character.
    SingleByte,
    /// UTF-16: two input bytes per UTF-16 code unit, after a two-byte byte order mark.
    Utf16,
    /// Any other multi-byte encoding; offsets are reported in the decoded text.
    Approximate,
}

/// A file decoded to UTF-8 text.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    /// The decoded text, borrowed when the input already was UTF-8 without a byte order mark.
    pub text: Cow<'a, str>,
    /// The encoding the bytes were read as.
    pub encoding: &'static Encoding,
    /// True when the XML declaration named UTF-8 but the bytes were not valid UTF-8.
    pub declared_utf8_was_invalid: bool,
    offsets: OffsetMap,
}

impl Decoded<'_> {
    /// Converts a byte offset in [`Decoded::text`] to a byte offset in the original input.
    pub fn input_offset(&self, text_offset: usize) -> usize {
        let text_offset = text_offset.min(self.text.len());
        let prefix = || {
            // Steps back to a char boundary, so slicing cannot panic.
            let mut end = text_offset;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            &self.text[..end]
        };
        match self.offsets {
            OffsetMap::Utf8 { bom_len } => text_offset + bom_len,
            OffsetMap::SingleByte => prefix().chars().count(),
            OffsetMap::Utf16 => 2 + 2 * prefix().encode_utf16().count(),
            // NOTE: for rare multi-byte encodings such as Shift_JIS the offset refers to the
            // decoded UTF-8 text, not to the original bytes.
            OffsetMap::Approximate => text_offset,
        }
    }
}

/// Decodes a text (MT940/MT942) file: UTF-8 if valid, else Windows-1252.
pub(crate) fn decode_text(bytes: &[u8]) -> Decoded<'_> {
    if let Some(decoded) = decode_with_bom(bytes) {
        return decoded;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Decoded {
            text: Cow::Borrowed(text),
            encoding: UTF_8,
            declared_utf8_was_invalid: false,
            offsets: OffsetMap::Utf8 { bom_len: 0 },
        },
        Err(_) => decode_single_byte(bytes, WINDOWS_1252),
    }
}

/// Decodes an XML file: byte order mark first, then the `encoding` declaration, then UTF-8 if
/// valid, else Windows-1252.
pub(crate) fn decode_xml(bytes: &[u8]) -> Decoded<'_> {
    if let Some(decoded) = decode_with_bom(bytes) {
        return decoded;
    }
    let declared = declared_encoding(bytes);
    match declared {
        Some(encoding) if encoding != UTF_8 && encoding.is_single_byte() => {
            decode_single_byte(bytes, encoding)
        }
        Some(encoding) if encoding != UTF_8 && encoding != UTF_16LE && encoding != UTF_16BE => {
            let (text, _) = encoding.decode_without_bom_handling(bytes);
            Decoded {
                text,
                encoding,
                declared_utf8_was_invalid: false,
                offsets: OffsetMap::Approximate,
            }
        }
        _ => {
            let mut decoded = decode_text(bytes);
            decoded.declared_utf8_was_invalid =
                declared == Some(UTF_8) && decoded.encoding != UTF_8;
            decoded
        }
    }
}

fn decode_with_bom(bytes: &[u8]) -> Option<Decoded<'_>> {
    let (encoding, bom_len) = Encoding::for_bom(bytes)?;
    let body = bytes.get(bom_len..).unwrap_or_default();
    if encoding == UTF_8 {
        // A UTF-8 byte order mark followed by invalid UTF-8 still decodes: the bad bytes become
        // U+FFFD, which keeps every other character and line in place.
        let text = match std::str::from_utf8(body) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => Cow::Owned(String::from_utf8_lossy(body).into_owned()),
        };
        return Some(Decoded {
            text,
            encoding,
            declared_utf8_was_invalid: false,
            offsets: OffsetMap::Utf8 { bom_len },
        });
    }
    let (text, _) = encoding.decode_without_bom_handling(body);
    Some(Decoded {
        text,
        encoding,
        declared_utf8_was_invalid: false,
        offsets: OffsetMap::Utf16,
    })
}

fn decode_single_byte<'a>(bytes: &'a [u8], encoding: &'static Encoding) -> Decoded<'a> {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text,
        encoding,
        declared_utf8_was_invalid: false,
        offsets: OffsetMap::SingleByte,
    }
}

/// Reads the `encoding` pseudo-attribute of an XML declaration at the start of `bytes`.
fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let start = bytes.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let rest = bytes.get(start..)?;
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = memchr::memmem::find(rest, b"?>")?;
    let declaration = rest.get(..end)?;
    let at = memchr::memmem::find(declaration, b"encoding")?;
    let after = declaration.get(at + "encoding".len()..)?;
    let after = trim_ascii_start(after).strip_prefix(b"=")?;
    let after = trim_ascii_start(after);
    let quote = *after.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = after.get(1..)?;
    let close = memchr::memchr(quote, value)?;
    Encoding::for_label(value.get(..close)?)
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_encodings() {
        // (input, expected text, encoding name)
        let cases: &[(&[u8], &str, &str)] = &[
            (b"plain ascii", "plain ascii", "UTF-8"),
            ("initi\u{eb}rende".as_bytes(), "initiërende", "UTF-8"),
            (b"\xEF\xBB\xBFwith bom", "with bom", "UTF-8"),
            (b"initi\xEBrende", "initiërende", "windows-1252"),
            (b"\x80 5,00", "€ 5,00", "windows-1252"),
            (b"\xFF\xFEa\x00b\x00", "ab", "UTF-16LE"),
        ];
        for (input, text, encoding) in cases {
            let decoded = decode_text(input);
            assert_eq!(decoded.text, *text, "input {input:?}");
            assert_eq!(decoded.encoding.name(), *encoding, "input {input:?}");
        }
    }

    #[test]
    fn xml_declaration_wins_over_utf8_check() {
        // Valid UTF-8 bytes, but the declaration names ISO-8859-1, so they mean "Ã©".
        let input = "<?xml version='1.0' encoding='ISO-8859-1'?><a>\u{e9}</a>".as_bytes();
        let decoded = decode_xml(input);
        assert_eq!(decoded.encoding, WINDOWS_1252);
        assert!(decoded.text.contains("<a>Ã©</a>"));
    }

    #[test]
    fn xml_invalid_utf8_falls_back() {
        let input = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xE9</a>";
        let decoded = decode_xml(input);
        assert!(decoded.declared_utf8_was_invalid);
        assert!(decoded.text.contains("<a>é</a>"));
    }

    #[test]
    fn offsets_map_back_to_input() {
        let bom = decode_text(b"\xEF\xBB\xBFabc");
        assert_eq!(bom.input_offset(2), 5);

        let latin1 = decode_text(b"\xE9\xE9x");
        let x_at = latin1.text.find('x').unwrap();
        assert_eq!(latin1.input_offset(x_at), 2);

        let utf16 = decode_text(b"\xFF\xFEa\x00b\x00");
        assert_eq!(utf16.input_offset(1), 4);
    }

    #[test]
    fn offset_inside_character_does_not_panic() {
        let latin1 = decode_text(b"\xE9x");
        assert_eq!(latin1.input_offset(1), 0);
        assert_eq!(latin1.input_offset(99), 2);
    }
}
