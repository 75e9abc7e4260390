//! Words of a mutation field and the normalised keys under which invoice numbers are found.
//!
//! A word is a maximal run of ASCII letters and digits in which single inner separators
//! (`-`, `/`, `.`, `_`) join groups: `2026-0012`, `F2026/0012`, `nr.2026-0012`. A separator
//! that is not followed by a letter or digit ends the word, so `(2026-0012),` and
//! `Factuurnr. 2026-0012.` both contain the word `2026-0012`. Every other character, including
//! letters and digits outside ASCII, ends a word.
//!
//! The number key of a word lowercases its letters and writes every inner separator as `-`, so
//! `2026/0012`, `2026.0012` and `2026-0012` share the key `2026-0012`. A key keeps every group,
//! which is what makes the whole-token rule hold: `2026-00123`, `12026-0012` and
//! `2026-0012-3` have keys of their own, and `2026` or `0012` alone never equals `2026-0012`.

use crate::key::InlineKey;

/// A word of a field, as byte offsets into the field text plus what the matcher needs to know
/// about its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word {
    pub start: usize,
    pub end: usize,
    /// Number of ASCII letters and digits, which is the word's length without separators.
    pub alnum_len: usize,
    /// The word contains at least one inner separator, so it has two or more groups.
    pub has_separator: bool,
    /// The word contains a `/`, which may separate a list of invoice numbers.
    pub has_slash: bool,
    pub has_digit: bool,
    /// The word is a single group of ASCII digits.
    pub all_digits: bool,
    /// Exactly one ASCII space separates this word from the previous word.
    pub space_before: bool,
    /// The word belongs to a payment reference or another grouped code, so it is not matched
    /// against invoice numbers on its own.
    pub consumed: bool,
}

pub(crate) fn is_inner_separator(byte: u8) -> bool {
    matches!(byte, b'-' | b'/' | b'.' | b'_')
}

/// Splits `text` into words, replacing the contents of `words`.
///
/// NOTE: a number glued to following text by a separator, as in `2026-0012.pdf` or
/// `2026-0012.Dank`, forms one longer word and does not name invoice `2026-0012`.
pub(crate) fn scan_words(text: &str, words: &mut Vec<Word>) {
    words.clear();
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut previous_end: Option<usize> = None;

    while position < bytes.len() {
        if !bytes[position].is_ascii_alphanumeric() {
            position += 1;
            continue;
        }

        let start = position;
        let mut word = Word {
            start,
            end: start,
            alnum_len: 0,
            has_separator: false,
            has_slash: false,
            has_digit: false,
            all_digits: true,
            space_before: previous_end.is_some_and(|end| start == end + 1 && bytes[end] == b' '),
            consumed: false,
        };
        let mut separators = 0;
        loop {
            while position < bytes.len() && bytes[position].is_ascii_alphanumeric() {
                if bytes[position].is_ascii_digit() {
                    word.has_digit = true;
                } else {
                    word.all_digits = false;
                }
                position += 1;
            }
            let joins_next_group = position + 1 < bytes.len()
                && is_inner_separator(bytes[position])
                && bytes[position + 1].is_ascii_alphanumeric();
            if !joins_next_group {
                break;
            }
            word.has_separator = true;
            word.has_slash |= bytes[position] == b'/';
            separators += 1;
            word.all_digits = false;
            position += 1;
        }
        word.end = position;
        word.alnum_len = position - start - separators;
        previous_end = Some(position);
        words.push(word);
    }
}

/// Maximum length of a number key stored inline. Longer invoice numbers are kept in a separate,
/// slower table.
pub(crate) const MAX_INLINE_NUMBER_LEN: usize = 32;

/// Number key of an invoice number of at most [`MAX_INLINE_NUMBER_LEN`] bytes.
pub(crate) type NumberKey = InlineKey<MAX_INLINE_NUMBER_LEN>;

/// Returns the bytes of the number key of `token`, a word or part of a word: letters
/// lowercased and every inner separator written as `-`. The key has as many bytes as the token.
pub(crate) fn number_key_bytes(token: &[u8]) -> impl Iterator<Item = u8> + '_ {
    token.iter().map(|&byte| {
        if is_inner_separator(byte) {
            b'-'
        } else {
            byte.to_ascii_lowercase()
        }
    })
}

/// Returns the bytes of the number key of two single-group words written with a space between
/// them (`2026 0012` gives `2026-0012`).
pub(crate) fn spaced_number_key_bytes<'a>(
    first: &'a [u8],
    second: &'a [u8],
) -> impl Iterator<Item = u8> + 'a {
    number_key_bytes(first)
        .chain(std::iter::once(b'-'))
        .chain(number_key_bytes(second))
}

/// Returns the number key of an invoice number, or `None` when the number cannot be matched.
///
/// Groups of ASCII letters and digits are kept and lowercased, and any run of other ASCII
/// characters between them becomes one `-`: `2026-0012`, `2026/0012` and `2026 - 0012` all give
/// `2026-0012`. A number without letters or digits returns `None`. So does a number with a
/// letter or digit outside ASCII. The word scanner treats such a character as the end of a word,
/// so it could find a shorter number that is not this one.
pub(crate) fn invoice_number_key(number: &str) -> Option<String> {
    let mut key = String::with_capacity(number.len());
    let mut separator_pending = false;
    for character in number.chars() {
        if character.is_ascii_alphanumeric() {
            if separator_pending && !key.is_empty() {
                key.push('-');
            }
            separator_pending = false;
            key.push(character.to_ascii_lowercase());
        } else if character.is_alphanumeric() {
            return None;
        } else {
            separator_pending = true;
        }
    }
    (!key.is_empty()).then_some(key)
}

/// Returns the length of a letter prefix written before a number, so that `F2026-0012`,
/// `nr.2026-0012` and `fact.nr.2026-0012` can be read as `2026-0012`.
///
/// The prefix is a run of ASCII letters glued to the first digit, or one or more runs of
/// letters each followed by a `.`. `INV-2026-0012` has no such prefix because the letters are
/// joined with `-`, which invoice numbers use as a separator of their own.
pub(crate) fn letter_prefix_len(token: &[u8]) -> Option<usize> {
    let mut position = 0;
    loop {
        let run_start = position;
        while position < token.len() && token[position].is_ascii_alphabetic() {
            position += 1;
        }
        let ends_in_dot = position < token.len() && token[position] == b'.';
        if position == run_start || !ends_in_dot {
            break;
        }
        position += 1;
    }
    let number_follows = position < token.len() && token[position].is_ascii_digit();
    (position > 0 && number_follows).then_some(position)
}

/// Returns the `/`-separated parts of a word that may be invoice numbers of their own, such as
/// the numbers in `2026-0012/2026-0013` or in `REMI/Factuur 2026-0012/EREF` from an MT940
/// statement line.
///
/// A part qualifies when it has two or more groups and neither neighbouring part is a bare group
/// of digits. That keeps `A/2026/12` from naming the invoices `2026` or `12`, and
/// `2026-0012/3` or `2026-0012/0013` from naming `2026-0012`, because there the digits after the
/// `/` may continue the number.
pub(crate) fn slash_separated_numbers(token: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let is_bare_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    let mut parts = token.split(|&byte| byte == b'/').peekable();
    let mut start = 0;
    let mut previous_is_bare_digits = false;

    std::iter::from_fn(move || {
        loop {
            let part = parts.next()?;
            let range = (start, start + part.len());
            start += part.len() + 1;

            let has_groups = part.iter().any(|&byte| is_inner_separator(byte));
            let next_is_bare_digits = parts.peek().is_some_and(|next| is_bare_digits(next));
            let qualifies = has_groups && !previous_is_bare_digits && !next_is_bare_digits;
            previous_is_bare_digits = is_bare_digits(part);
            if qualifies {
                return Some(range);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> Vec<&str> {
        let mut words = Vec::new();
        scan_words(text, &mut words);
        words
            .iter()
            .map(|word| &text[word.start..word.end])
            .collect()
    }

    #[test]
    fn scan_words_splits_on_punctuation() {
        let cases: &[(&str, &[&str])] = &[
            ("2026-0012", &["2026-0012"]),
            ("(2026-0012)", &["2026-0012"]),
            ("2026-0012,", &["2026-0012"]),
            ("Factuurnr. 2026-0012.", &["Factuurnr", "2026-0012"]),
            ("nr.2026-0012", &["nr.2026-0012"]),
            ("2026--0012", &["2026", "0012"]),
            (
                "factuur:2026/0012;2026_0013",
                &["factuur", "2026/0012", "2026_0013"],
            ),
            ("café2026-0012", &["caf", "2026-0012"]),
            ("€150,00", &["150", "00"]),
            ("", &[]),
            (" -/. ", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(words_of(text), *expected, "text {text:?}");
        }
    }

    #[test]
    fn scan_words_records_word_shape() {
        let text = "ref 2026 0012  F12-3/4";
        let mut words = Vec::new();
        scan_words(text, &mut words);

        assert_eq!(words.len(), 4);
        assert!(!words[0].space_before);
        assert!(!words[0].has_digit);
        assert!(words[1].space_before);
        assert!(words[1].all_digits);
        assert!(words[2].space_before);
        assert!(!words[3].space_before, "two spaces do not count as one");
        assert!(words[3].has_separator);
        assert!(words[3].has_slash);
        assert_eq!(words[3].alnum_len, 5);
        assert!(!words[3].all_digits);
    }

    #[test]
    fn number_key_unifies_separators_and_case() {
        let key_of = |token: &str| {
            String::from_utf8(number_key_bytes(token.as_bytes()).collect()).expect("ASCII")
        };
        for token in ["2026-0012", "2026/0012", "2026.0012", "2026_0012"] {
            assert_eq!(key_of(token), "2026-0012", "token {token}");
        }
        assert_eq!(key_of("INV-12"), "inv-12");
        let spaced: Vec<u8> = spaced_number_key_bytes(b"2026", b"0012").collect();
        assert_eq!(spaced, b"2026-0012");
    }

    #[test]
    fn invoice_number_key_cases() {
        let cases = [
            ("2026-0012", Some("2026-0012")),
            ("2026 - 0012", Some("2026-0012")),
            (" F2026/0012 ", Some("f2026-0012")),
            ("INV#12", Some("inv-12")),
            ("12345", Some("12345")),
            ("---", None),
            ("", None),
            ("Ä-12", None),
        ];
        for (number, expected) in cases {
            assert_eq!(
                invoice_number_key(number).as_deref(),
                expected,
                "number {number:?}"
            );
        }
    }

    #[test]
    fn letter_prefix_len_cases() {
        let cases: &[(&str, Option<usize>)] = &[
            ("F2026-0012", Some(1)),
            ("INV2026-0012", Some(3)),
            ("nr.2026-0012", Some(3)),
            ("fact.nr.2026-0012", Some(8)),
            ("2026-0012", None),
            ("INV-2026-0012", None),
            ("factuur", None),
            ("a.b", None),
            ("F.X2026", Some(3)),
        ];
        for (token, expected) in cases {
            assert_eq!(
                letter_prefix_len(token.as_bytes()),
                *expected,
                "token {token}"
            );
        }
    }

    #[test]
    fn slash_separated_numbers_cases() {
        let cases: &[(&str, &[&str])] = &[
            ("2026-0012/2026-0013", &["2026-0012", "2026-0013"]),
            ("F26.1/F26.2/F26.3", &["F26.1", "F26.2", "F26.3"]),
            ("2026-0012/EREF/NOTPROVIDED", &["2026-0012"]),
            ("REMI/2026-0012", &["2026-0012"]),
            ("A/2026/12", &[]),
            ("2026-0012/0013", &[]),
            ("2026-0012/3", &[]),
            ("7/2026-0012", &[]),
        ];
        for (token, expected) in cases {
            let parts: Vec<&str> = slash_separated_numbers(token.as_bytes())
                .map(|(start, end)| &token[start..end])
                .collect();
            assert_eq!(parts, *expected, "token {token}");
        }
    }
}
