//! The error returned for a file that cannot be read.

use serde::Serialize;

/// The longest `found` text kept in a [`ParseError`], in characters.
const MAX_FOUND_CHARS: usize = 60;

/// A file that cannot be read: truncated, malformed, empty or not a statement at all.
///
/// It names where reading stopped (a line for MT940/MT942, a byte offset for XML), what the
/// parser expected there and what it found instead. Files that read but do not add up are not
/// errors; they produce a [`crate::Warning`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}expected {}, found {}", location(*.line, *.byte_offset), .expected, shown(.found, *.empty_field))]
pub struct ParseError {
    /// The one-based line number (MT940 and MT942).
    pub line: Option<usize>,
    /// The zero-based byte offset into the file (XML).
    pub byte_offset: Option<usize>,
    /// The expected content at that place.
    pub expected: String,
    /// The content found instead, cut to about 60 characters, or empty for the end of the
    /// file or an empty CSV field.
    pub found: String,
    /// True when `found` is empty because a CSV field is empty, not because the file ended.
    #[serde(skip)]
    empty_field: bool,
}

impl ParseError {
    /// Creates an error at a one-based line number.
    pub(crate) fn at_line(line: usize, expected: impl Into<String>, found: &str) -> Self {
        ParseError {
            line: Some(line),
            byte_offset: None,
            expected: expected.into(),
            found: truncate(found),
            empty_field: false,
        }
    }

    /// Creates an error about the content of a CSV field at a one-based line number.
    pub(crate) fn in_field(line: usize, expected: impl Into<String>, field: &str) -> Self {
        ParseError {
            empty_field: field.is_empty(),
            ..ParseError::at_line(line, expected, field)
        }
    }

    /// Creates an error at a zero-based byte offset.
    pub(crate) fn at_byte(offset: usize, expected: impl Into<String>, found: &str) -> Self {
        ParseError {
            line: None,
            byte_offset: Some(offset),
            expected: expected.into(),
            found: truncate(found),
            empty_field: false,
        }
    }
}

fn location(line: Option<usize>, byte_offset: Option<usize>) -> String {
    match (line, byte_offset) {
        (Some(line), _) => format!("line {line}: "),
        (None, Some(offset)) => format!("byte {offset}: "),
        (None, None) => String::new(),
    }
}

fn shown(found: &str, empty_field: bool) -> String {
    match (found.is_empty(), empty_field) {
        (true, true) => "an empty field".to_string(),
        (true, false) => "the end of the file".to_string(),
        (false, _) => format!("{found:?}"),
    }
}

/// Cuts `text` to [`MAX_FOUND_CHARS`] characters, marking a cut with `…`.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_FOUND_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line() {
        let error = ParseError::at_line(12, "a :61: statement line", ":61:ABC");
        assert_eq!(
            error.to_string(),
            "line 12: expected a :61: statement line, found \":61:ABC\""
        );
    }

    #[test]
    fn display_names_byte_offset() {
        let error = ParseError::at_byte(3071, "a closing </Stmt> tag", "");
        assert_eq!(
            error.to_string(),
            "byte 3071: expected a closing </Stmt> tag, found the end of the file"
        );
    }

    #[test]
    fn display_names_an_empty_field() {
        let error = ParseError::in_field(3, "an amount in column 7", "");
        assert_eq!(
            error.to_string(),
            "line 3: expected an amount in column 7, found an empty field"
        );
    }

    #[test]
    fn found_is_truncated() {
        let long = "é".repeat(100);
        let error = ParseError::at_line(1, "x", &long);
        assert_eq!(error.found.chars().count(), MAX_FOUND_CHARS + 1);
        assert!(error.found.ends_with('…'));
    }

    #[test]
    fn display_escapes_control_characters() {
        let error = ParseError::at_byte(0, "x", "\u{0}\u{1}");
        assert!(error.to_string().ends_with("found \"\\0\\u{1}\""));
    }
}
