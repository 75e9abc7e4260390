//! Small text helpers shared by the MT940 and CAMT readers.

/// Returns `text` with leading and trailing white space removed and every inner run of white
/// space (spaces, tabs, line breaks) replaced by one space.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_collapsed(&mut out, text);
    out
}

/// Appends `text` to `out` as [`collapse_whitespace`] would return it, separated from what
/// `out` already contains by one space.
pub(crate) fn push_collapsed(out: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    // Most texts are ASCII with single spaces; they are copied as they are.
    let mut previous_space = false;
    let plain = text.bytes().all(|byte| {
        let space = byte == b' ';
        let fine =
            byte.is_ascii() && !(space && previous_space) && (space || !byte.is_ascii_whitespace());
        previous_space = space;
        fine
    });
    if plain {
        out.push_str(text);
        return;
    }
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
}

/// Returns the ASCII digits at the start of `text`.
pub(crate) fn take_digits(text: &str) -> &str {
    let len = text.bytes().take_while(u8::is_ascii_digit).count();
    &text[..len]
}

/// Returns a structured creditor reference as given, except that a Dutch 16-digit payment
/// reference (betalingskenmerk) written with spaces or dots becomes its 16 digits.
pub(crate) fn structured_reference(value: &str) -> String {
    let value = value.trim();
    let digits: String = value.chars().filter(|c| *c != ' ' && *c != '.').collect();
    if digits.len() == 16 && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        digits
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace() {
        let cases = [
            ("  a  b\tc \n", "a b c"),
            ("", ""),
            ("   ", ""),
            ("a\u{ad}b", "a\u{ad}b"),
        ];
        for (input, expected) in cases {
            assert_eq!(collapse_whitespace(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn pushes_collapsed_text_with_separator() {
        let mut out = String::new();
        push_collapsed(&mut out, "  ");
        assert_eq!(out, "");
        push_collapsed(&mut out, " one  two ");
        push_collapsed(&mut out, "three\u{a0}four");
        assert_eq!(out, "one two three four");
    }

    #[test]
    fn structured_references() {
        let cases = [
            ("9001123412341234", "9001123412341234"),
            (" 1234 5678 9012 3456 ", "1234567890123456"),
            ("1234.5678.9012.3456", "1234567890123456"),
            ("RF18 5390 0754 7034", "RF18 5390 0754 7034"),
            ("000000042188659", "000000042188659"),
        ];
        for (input, expected) in cases {
            assert_eq!(structured_reference(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn digits_prefix() {
        assert_eq!(take_digits("231732INCASSO"), "231732");
        assert_eq!(take_digits("x1"), "");
    }
}
