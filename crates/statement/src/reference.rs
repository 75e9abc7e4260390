//! Check digits of structured payment references: the Dutch 16-digit betalingskenmerk and the
//! ISO 11649 RF creditor reference.
//!
//! Banks mark references as structured without checking them, and real sample files carry
//! references whose check digit fails. Such a reference is kept as given; the check only sets
//! [`crate::Transaction::structured_reference_valid`].

use crate::iban;

/// Checks a reference by its scheme: `Some(true)` or `Some(false)` for a 16-digit
/// betalingskenmerk or an `RF` reference, and `None` for any other scheme, because this crate
/// has no check for it.
pub fn check(reference: &str) -> Option<bool> {
    let compact: std::borrow::Cow<'_, str> = if reference
        .bytes()
        .any(|byte| byte.is_ascii_whitespace() || byte == b'.')
    {
        reference
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.')
            .collect::<String>()
            .into()
    } else {
        reference.into()
    };
    if compact.len() == 16 && compact.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(betalingskenmerk_is_valid(&compact));
    }
    if compact
        .as_bytes()
        .get(..2)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"RF"))
    {
        return Some(creditor_reference_is_valid(&compact));
    }
    None
}

/// Computes the check digit of the 15 digits after it. The digits are weighted from right to
/// left with 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 (repeating). The check digit is 11 minus the sum
/// modulo 11, where 11 becomes 0 and 10 becomes 1.
pub(crate) fn betalingskenmerk_check_digit(body: &str) -> u64 {
    const WEIGHTS: [u64; 10] = [2, 4, 8, 5, 10, 9, 7, 3, 6, 1];
    let sum: u64 = body
        .bytes()
        .rev()
        .zip(WEIGHTS.iter().cycle())
        .map(|(digit, weight)| u64::from(digit.wrapping_sub(b'0')) * weight)
        .sum();
    match 11 - sum % 11 {
        11 => 0,
        10 => 1,
        digit => digit,
    }
}

fn betalingskenmerk_is_valid(digits: &str) -> bool {
    let Some(first) = digits.bytes().next() else {
        return false;
    };
    u64::from(first - b'0') == betalingskenmerk_check_digit(&digits[1..])
}

/// Checks `RF`, two check digits and 1 to 21 letters or digits. The check is ISO 7064 mod 97 of
/// the reference with its first four characters moved to the end, as for an IBAN.
fn creditor_reference_is_valid(reference: &str) -> bool {
    let bytes = reference.as_bytes();
    (5..=25).contains(&bytes.len())
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..].iter().all(u8::is_ascii_alphanumeric)
        && iban::mod97(
            &reference[4..].to_ascii_uppercase(),
            &reference[..4].to_ascii_uppercase(),
        ) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn betalingskenmerk_check_digit() {
        // A real reference from an insurer's direct debit in the bank corpus.
        assert_eq!(check("9200030840900000"), Some(true));
        assert_eq!(check("9200 0308 4090 0000"), Some(true));
        // References from banks' sample files that fail the check.
        assert_eq!(check("9001123412341234"), Some(false));
        assert_eq!(check("1070123412341234"), Some(false));
        assert_eq!(check("1234567890098876"), Some(false));
    }

    #[test]
    fn creditor_reference_mod_97() {
        assert_eq!(check("RF18539007547034"), Some(true));
        assert_eq!(check("RF18 5390 0754 7034"), Some(true));
        assert_eq!(check("rf18539007547034"), Some(true));
        assert_eq!(check("RF19539007547034"), Some(false));
        assert_eq!(check("RF18"), Some(false));
        assert_eq!(check("RF185390075470341234567890"), Some(false));
    }

    #[test]
    fn other_schemes_are_not_checked() {
        assert_eq!(check("2026-0012"), None);
        // A multi-byte character right after the first letter, as a fuzzer found.
        assert_eq!(check("Ré-42"), None);
        assert_eq!(check("R\u{e9}"), None);
        assert_eq!(check("123456789012"), None);
        assert_eq!(check(""), None);
    }
}
