//! Structured payment references and IBANs: their compact form and their check digits.
//!
//! The compact form keeps only ASCII letters and digits, uppercased, so that
//! `RF18 5390 0754 7034`, `rf18-5390-0754-7034` and `RF18539007547034` compare equal.

use crate::key::InlineKey;

/// Maximum length of a compact payment reference. A SEPA structured creditor reference has at
/// most 35 characters, and longer references are not indexed.
pub(crate) const MAX_REFERENCE_LEN: usize = 35;

/// Maximum length of a compact IBAN (ISO 13616).
pub(crate) const MAX_IBAN_LEN: usize = 34;

/// Compact payment reference, for example `RF18539007547034`.
pub(crate) type ReferenceKey = InlineKey<MAX_REFERENCE_LEN>;

/// Compact IBAN, for example `NL91ABNA0417164300`.
pub(crate) type IbanKey = InlineKey<MAX_IBAN_LEN>;

/// Returns whether a compact code carries valid check digits of a Dutch betalingskenmerk, an RF
/// creditor reference or an IBAN. Used to recognise such a code written in groups of four, so
/// that its groups are not read as invoice numbers.
pub(crate) fn has_valid_check_digits(compact: &str) -> bool {
    is_betalingskenmerk(compact) || is_iso_7064_mod_97(compact)
}

/// Checks a Dutch betalingskenmerk of 9 to 14 or 16 digits with the weighted modulus 11 check
/// digit in front, as specified by the Betaalvereniging Nederland. The 9 to 14 digit forms have a
/// length code in the second position. The 7 digit form has no check digit and is not recognised.
fn is_betalingskenmerk(compact: &str) -> bool {
    const WEIGHTS: [u32; 10] = [2, 4, 8, 5, 10, 9, 7, 3, 6, 1];

    let digits = compact.as_bytes();
    let len = digits.len();
    if !matches!(len, 9..=14 | 16) || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if len != 16 {
        let length_code = u32::from(digits[1] - b'0');
        if length_code != (len as u32 - 2) % 10 {
            return false;
        }
    }

    let weighted_sum: u32 = digits[1..]
        .iter()
        .rev()
        .zip(WEIGHTS.iter().cycle())
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    let check = match 11 - weighted_sum % 11 {
        10 => 1,
        11 => 0,
        check => check,
    };
    check == u32::from(digits[0] - b'0')
}

/// Checks the ISO 7064 mod 97-10 digits used by RF creditor references (ISO 11649) and IBANs
/// (ISO 13616). Both start with two letters and two check digits. The code is valid when,
/// with these four characters moved to the end and letters counted as 10 to 35, the number
/// leaves remainder 1 when divided by 97.
fn is_iso_7064_mod_97(compact: &str) -> bool {
    let bytes = compact.as_bytes();
    let well_formed = bytes.len() >= 5
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_uppercase()
        && bytes[2].is_ascii_digit()
        && bytes[3].is_ascii_digit();
    if !well_formed {
        return false;
    }

    let mut remainder: u32 = 0;
    for &byte in bytes[4..].iter().chain(&bytes[..4]) {
        remainder = match byte {
            b'0'..=b'9' => (remainder * 10 + u32::from(byte - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(byte - b'A') + 10) % 97,
            _ => return false,
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_cases() {
        let cases = [
            // Example from the Betaalvereniging specification.
            ("5000056789012345", true),
            ("4000056789012345", false),
            // 14 digits with length code 2, from the same specification.
            ("12234534622567", true),
            ("12334534622567", false),
            ("RF18539007547034", true),
            ("RF19539007547034", false),
            ("NL91ABNA0417164300", true),
            ("NL92ABNA0417164300", false),
            ("2026001220260013", false),
            ("1234", false),
        ];
        for (code, expected) in cases {
            assert_eq!(has_valid_check_digits(code), expected, "code {code}");
        }
    }
}
