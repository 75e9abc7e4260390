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

fn is_betalingskenmerk(compact: &str) -> bool {
    dk_domain::is_valid_betalingskenmerk(compact)
}

fn is_iso_7064_mod_97(compact: &str) -> bool {
    dk_domain::is_valid_mod_97(compact)
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
