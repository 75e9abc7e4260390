//! Invoice numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Maximum length of an invoice number, generous for any Dutch numbering scheme.
const MAX_LENGTH: usize = 40;

/// An invoice number as the issuer wrote it (`2026-0012`, `F/2026/12`).
///
/// It contains at least one digit, only letters, digits and the separators `-`, `/`, `.` and
/// `_`, and starts and ends with a letter or digit, so it can be found as a whole token in a
/// bank transfer's remittance text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceNumber(String);

/// Error of a text that cannot be an invoice number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid invoice number {input:?}: {reason}")]
pub struct InvoiceNumberError {
    pub input: String,
    pub reason: &'static str,
}

impl InvoiceNumber {
    pub fn parse(text: &str) -> Result<Self, InvoiceNumberError> {
        let trimmed = text.trim();
        let reject = |reason| {
            Err(InvoiceNumberError {
                input: text.to_owned(),
                reason,
            })
        };
        if trimmed.is_empty() {
            return reject("it is empty");
        }
        if trimmed.len() > MAX_LENGTH {
            return reject("expected at most 40 characters");
        }
        if !trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'.' | b'_'))
        {
            return reject("expected only letters, digits and the separators - / . _");
        }
        if !trimmed.bytes().any(|b| b.is_ascii_digit()) {
            return reject("expected at least one digit");
        }
        let first = trimmed.as_bytes()[0];
        let last = trimmed.as_bytes()[trimmed.len() - 1];
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return reject("expected a letter or digit at the start and the end");
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for InvoiceNumber {
    type Err = InvoiceNumberError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for InvoiceNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InvoiceNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoice_number_accepts_common_forms() {
        for text in ["2026-0012", "F2026/12", "INV.2026.001", "12345", " 2026_7 "] {
            assert!(InvoiceNumber::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn invoice_number_rejects_bad_forms() {
        let cases = [
            ("", "empty"),
            ("ABC", "digit"),
            ("2026 0012", "separators"),
            ("-2026", "start and the end"),
            ("2026-", "start and the end"),
            ("2026#1", "separators"),
        ];
        for (text, reason) in cases {
            let error = InvoiceNumber::parse(text).unwrap_err();
            assert!(error.to_string().contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn invoice_number_rejects_long_text() {
        assert!(InvoiceNumber::parse(&"1".repeat(41)).is_err());
    }
}
