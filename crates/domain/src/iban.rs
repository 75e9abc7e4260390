//! International Bank Account Numbers.
//!
//! Validation (country format and the ISO 13616 mod-97 check) comes from the `iban_validate`
//! crate. This type adds the electronic form we store and the recognition of Dutch banks.

use std::fmt;
use std::str::FromStr;

use iban::IbanLike;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A valid IBAN, held in its electronic form: upper case, no spaces (`NL91ABNA0417164300`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban(String);

/// Error of a text that is not a valid IBAN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IBAN {input:?}: {reason}")]
pub struct IbanError {
    pub input: String,
    pub reason: &'static str,
}

/// Returns the reason for a parse error of the `iban_validate` crate.
fn reason_of(error: &iban::ParseIbanError) -> &'static str {
    match error {
        iban::ParseIbanError::InvalidBaseIban {
            source: iban::ParseBaseIbanError::InvalidChecksum,
        } => "the mod-97 check digits do not match",
        iban::ParseIbanError::InvalidBaseIban { .. } => {
            "expected two letters, two check digits and up to 30 letters or digits"
        }
        iban::ParseIbanError::InvalidBban(_) => {
            "the length or the account part does not fit the format of its country"
        }
        iban::ParseIbanError::UnknownCountry(_) => "unknown country code",
    }
}

/// Returns why `compact` would be invalid even with the right check digits, if it would. The
/// `iban_validate` crate checks the digits before the country and its format, so an IBAN one
/// character short fails on its digits first. This names the other cause.
fn reason_besides_check_digits(compact: &str) -> Option<&'static str> {
    if compact.len() < 5 || !compact.is_ascii() {
        return None;
    }
    // ISO 13616: the check digits make the IBAN, rotated by four characters with letters as
    // 10 to 35, equal 1 modulo 97. With "00" in their place, the remainder is 98 minus them.
    let rotated = format!("{}{}00", &compact[4..], &compact[..2]);
    let mut remainder = 0u32;
    for c in rotated.chars() {
        let value = c.to_digit(36)?;
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    let corrected = format!("{}{:02}{}", &compact[..2], 98 - remainder, &compact[4..]);
    corrected
        .parse::<iban::Iban>()
        .err()
        .map(|error| reason_of(&error))
}

impl Iban {
    /// Parses an IBAN in electronic or print form (`NL91 ABNA 0417 1643 00`).
    pub fn parse(text: &str) -> Result<Self, IbanError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match compact.parse::<iban::Iban>() {
            Ok(valid) => Ok(Self(valid.electronic_str().to_owned())),
            Err(error) => Err(IbanError {
                input: text.to_owned(),
                reason: match error {
                    iban::ParseIbanError::InvalidBaseIban {
                        source: iban::ParseBaseIbanError::InvalidChecksum,
                    } => reason_besides_check_digits(&compact)
                        .unwrap_or("the mod-97 check digits do not match"),
                    other => reason_of(&other),
                },
            }),
        }
    }

    /// Returns the IBAN in electronic form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the two-letter ISO 3166 country code.
    pub fn country_code(&self) -> &str {
        &self.0[..2]
    }

    /// Returns the bank code inside the IBAN (`ABNA` for `NL91ABNA0417164300`), where the country's
    /// format has one.
    pub fn bank_code(&self) -> Option<&str> {
        self.0
            .parse::<iban::Iban>()
            .ok()
            .and_then(|valid| valid.bank_identifier().map(|code| self.slice_of(code)))
    }

    /// Returns the Dutch bank's name for a Dutch IBAN with a known bank code.
    pub fn bank_name(&self) -> Option<&'static str> {
        if self.country_code() != "NL" {
            return None;
        }
        let name = match self.bank_code()? {
            "ABNA" => "ABN AMRO",
            "ASNB" => "ASN Bank",
            "BUNQ" => "bunq",
            "INGB" => "ING",
            "KNAB" => "Knab",
            "RABO" => "Rabobank",
            "RBRB" => "RegioBank",
            "SNSB" => "SNS",
            "TRIO" => "Triodos Bank",
            "FVLB" => "Van Lanschot",
            "MOYO" => "Moneyou",
            "REVO" => "Revolut",
            _ => return None,
        };
        Some(name)
    }

    /// Formats the IBAN in groups of four for people (`NL91 ABNA 0417 1643 00`).
    pub fn to_print_form(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (index, character) in self.0.chars().enumerate() {
            if index > 0 && index % 4 == 0 {
                out.push(' ');
            }
            out.push(character);
        }
        out
    }

    // The bank identifier borrowed from a temporary parse; return the same range of our string.
    fn slice_of(&self, code: &str) -> &str {
        let start = 4 + self.0[4..].find(code).unwrap_or(0);
        &self.0[start..start + code.len()]
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Iban {
    type Err = IbanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for Iban {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Iban {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_accepts_print_form() {
        let iban = Iban::parse("nl91 abna 0417 1643 00").unwrap();
        assert_eq!(iban.as_str(), "NL91ABNA0417164300");
        assert_eq!(iban.to_print_form(), "NL91 ABNA 0417 1643 00");
    }

    #[test]
    fn iban_recognises_dutch_banks() {
        let cases = [
            ("NL91ABNA0417164300", "ABNA", "ABN AMRO"),
            ("NL69INGB0123456789", "INGB", "ING"),
            ("NL44RABO0123456789", "RABO", "Rabobank"),
        ];
        for (text, code, name) in cases {
            let iban = Iban::parse(text).unwrap();
            assert_eq!(iban.bank_code(), Some(code), "{text}");
            assert_eq!(iban.bank_name(), Some(name), "{text}");
        }
    }

    #[test]
    fn iban_rejects_bad_check_digits() {
        let error = Iban::parse("NL92ABNA0417164300").unwrap_err();
        assert_eq!(error.input, "NL92ABNA0417164300");
        assert!(error.to_string().contains("mod-97"), "{error}");
    }

    #[test]
    fn iban_rejects_wrong_length() {
        let error = Iban::parse("NL91ABNA041716430").unwrap_err();
        assert!(error.to_string().contains("NL91ABNA041716430"));
        assert!(error.reason.contains("length"), "{error}");
        let error = Iban::parse("NL85INGB000123456").unwrap_err();
        assert!(error.reason.contains("length"), "{error}");
        // A Dutch bank code must be letters, whatever the check digits.
        let error = Iban::parse("NL9112340417164300").unwrap_err();
        assert!(error.reason.contains("account part"), "{error}");
        let error = Iban::parse("XX00123456789").unwrap_err();
        assert_eq!(error.reason, "unknown country code");
    }

    #[test]
    fn iban_of_right_format_fails_on_check_digits() {
        for text in [
            "NL92ABNA0417164300",
            "DE89370400440532013001",
            "BE68539007547035",
        ] {
            let error = Iban::parse(text).unwrap_err();
            assert_eq!(
                error.reason, "the mod-97 check digits do not match",
                "{text}"
            );
        }
    }

    #[test]
    fn iban_rejects_garbage() {
        assert!(Iban::parse("").is_err());
        assert!(Iban::parse("hello world").is_err());
    }
}
