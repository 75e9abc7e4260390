//! Structured payment references: the Dutch betalingskenmerk and the ISO 11649 RF creditor
//! reference. Both carry check digits, so a mistyped reference is caught when it is entered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest structured creditor reference that SEPA allows.
const MAX_LENGTH: usize = 35;

/// A validated payment reference in compact form: digits, or `RF` with check digits and up to
/// 21 letters and digits, without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentReference(String);

/// A text that is not a valid payment reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid payment reference {input:?}: {reason}")]
pub struct PaymentReferenceError {
    pub input: String,
    pub reason: &'static str,
}

impl PaymentReference {
    /// Parses a reference written with or without spaces (`RF18 5390 0754 7034`).
    pub fn parse(text: &str) -> Result<Self, PaymentReferenceError> {
        let reject = |reason| {
            Err(PaymentReferenceError {
                input: text.to_owned(),
                reason,
            })
        };
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.is_empty() {
            return reject("it is empty");
        }
        if compact.len() > MAX_LENGTH || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return reject("expected at most 35 letters and digits");
        }
        if compact.starts_with("RF") {
            if !(5..=25).contains(&compact.len()) || !is_valid_mod_97(&compact) {
                return reject("the RF creditor reference's check digits do not match (ISO 11649)");
            }
        } else if !compact.bytes().all(|b| b.is_ascii_digit()) {
            return reject("expected a betalingskenmerk (digits) or an RF creditor reference");
        } else if !matches!(compact.len(), 7 | 9..=14 | 16) {
            return reject("expected a betalingskenmerk of 7, 9 to 14 or 16 digits");
        } else if compact.len() != 7 && !is_valid_betalingskenmerk(&compact) {
            return reject(
                "the betalingskenmerk's check digit (its first digit) does not match; check the reference for a typing error",
            );
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a Dutch betalingskenmerk of 9 to 14 or 16 digits: the first digit is a weighted
/// modulus 11 check digit over the others (weights 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 from the right),
/// and the 9 to 14 digit forms carry a length code in the second position. The 7 digit form has
/// no check digit and is not checked here.
pub fn is_valid_betalingskenmerk(digits: &str) -> bool {
    const WEIGHTS: [u32; 10] = [2, 4, 8, 5, 10, 9, 7, 3, 6, 1];

    let bytes = digits.as_bytes();
    let len = bytes.len();
    if !matches!(len, 9..=14 | 16) || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if len != 16 {
        let length_code = u32::from(bytes[1] - b'0');
        if length_code != (len as u32 - 2) % 10 {
            return false;
        }
    }
    let weighted_sum: u32 = bytes[1..]
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
    check == u32::from(bytes[0] - b'0')
}

/// Checks the ISO 7064 mod 97-10 digits of an RF creditor reference (ISO 11649) or an IBAN
/// (ISO 13616) in compact upper-case form: with the first four characters moved to the end and
/// letters counted as 10 to 35, the number leaves remainder 1 when divided by 97.
pub fn is_valid_mod_97(compact: &str) -> bool {
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

impl fmt::Display for PaymentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PaymentReference {
    type Err = PaymentReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for PaymentReference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PaymentReference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_accepts_valid_forms() {
        let cases = [
            ("RF18 5390 0754 7034", "RF18539007547034"),
            ("rf18539007547034", "RF18539007547034"),
            ("9200030840900000", "9200030840900000"),
            ("7000020260017001", "7000020260017001"),
            ("1234567", "1234567"),
        ];
        for (text, compact) in cases {
            let reference = PaymentReference::parse(text).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(reference.as_str(), compact);
        }
    }

    #[test]
    fn reference_rejects_bad_check_digits() {
        for text in [
            "RF00539007547034",
            "9001123412341234",
            "1070123412341234",
            "1234567890098876",
        ] {
            let error = PaymentReference::parse(text).unwrap_err();
            assert!(error.to_string().contains("check digit"), "{text}: {error}");
        }
    }

    #[test]
    fn reference_rejects_short_and_odd_text() {
        for text in [
            "",
            "1234",
            "12345678",
            "ABC123",
            "2026-0012",
            &"9".repeat(36),
        ] {
            assert!(PaymentReference::parse(text).is_err(), "{text}");
        }
    }
}
