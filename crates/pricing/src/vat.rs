//! Customer country, VAT id formats and the VAT treatment of a quote.
//!
//! The VAT id formats are the national formats that the EU's VIES service checks, as a small
//! table of patterns. A format check does not prove that the number is registered: that needs a
//! VIES look-up, which this pure crate does not do.

use serde::{Deserialize, Serialize};

use crate::error::QuoteError;

/// ISO 3166 alpha-2 codes of the 27 EU member states.
pub const EU_COUNTRIES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// VAT regime of a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VatTreatment {
    /// The seller's standard rate applies.
    Domestic,
    /// A business customer in another EU country accounts for the VAT ("btw verlegd").
    ReverseCharge,
    /// The customer is outside the EU, so no Dutch VAT is charged.
    OutsideEu,
}

/// Pattern of the part after the prefix. `9` is a digit, `X` a letter or digit, anything else is
/// itself.
struct VatFormat {
    country: &'static str,
    prefix: &'static str,
    bodies: &'static [&'static str],
    description: &'static str,
}

const VAT_FORMATS: &[VatFormat] = &[
    VatFormat {
        country: "NL",
        prefix: "NL",
        bodies: &["999999999B99"],
        description: "NL, 9 digits, B and 2 digits (NL123456789B01)",
    },
    VatFormat {
        country: "BE",
        prefix: "BE",
        bodies: &["0999999999", "1999999999"],
        description: "BE and 10 digits starting with 0 or 1 (BE0123456789)",
    },
    VatFormat {
        country: "DE",
        prefix: "DE",
        bodies: &["999999999"],
        description: "DE and 9 digits (DE123456789)",
    },
    VatFormat {
        country: "FR",
        prefix: "FR",
        bodies: &["XX999999999"],
        description: "FR, 2 letters or digits and 9 digits (FR12345678901)",
    },
    VatFormat {
        country: "LU",
        prefix: "LU",
        bodies: &["99999999"],
        description: "LU and 8 digits (LU12345678)",
    },
    VatFormat {
        country: "AT",
        prefix: "AT",
        bodies: &["U99999999"],
        description: "ATU and 8 digits (ATU12345678)",
    },
    VatFormat {
        country: "ES",
        prefix: "ES",
        bodies: &["X9999999X"],
        description: "ES, a letter or digit, 7 digits and a letter or digit (ESX1234567X)",
    },
    VatFormat {
        country: "IT",
        prefix: "IT",
        bodies: &["99999999999"],
        description: "IT and 11 digits (IT12345678901)",
    },
    VatFormat {
        country: "DK",
        prefix: "DK",
        bodies: &["99999999"],
        description: "DK and 8 digits (DK12345678)",
    },
    VatFormat {
        country: "PL",
        prefix: "PL",
        bodies: &["9999999999"],
        description: "PL and 10 digits (PL1234567890)",
    },
    // Greece uses EL, not its ISO code GR, as VAT prefix.
    VatFormat {
        country: "GR",
        prefix: "EL",
        bodies: &["999999999"],
        description: "EL and 9 digits (EL123456789)",
    },
];

/// Parses an assigned ISO 3166-1 alpha-2 country code, case-insensitive, returned in upper
/// case. The list of codes comes from the `isocountry` crate.
pub fn parse_country(text: &str) -> Result<String, QuoteError> {
    let upper = text.trim().to_ascii_uppercase();
    isocountry::CountryCode::for_alpha2(&upper)
        .map(|_| upper)
        .map_err(|_| QuoteError::InvalidCountry(text.to_owned()))
}

/// Returns whether `country` (upper case) is an EU member state.
pub fn is_eu(country: &str) -> bool {
    EU_COUNTRIES.contains(&country)
}

/// Returns the VAT id prefix of an EU country.
fn vat_prefix(country: &str) -> &str {
    VAT_FORMATS
        .iter()
        .find(|format| format.country == country)
        .map_or(country, |format| format.prefix)
}

/// Returns a VAT id in upper case, without the spaces, points and hyphens people write in it.
pub fn normalise_vat_id(vat_id: &str) -> String {
    vat_id
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Validates the VAT id of a customer in the EU country `country` and returns it normalised:
/// upper case, without spaces, points and hyphens.
///
/// Countries without an entry in the format table get a generic rule: the prefix and 2 to 13
/// letters or digits.
pub fn validate_vat_id(vat_id: &str, country: &str) -> Result<String, QuoteError> {
    let normalised = normalise_vat_id(vat_id);
    let expected_prefix = vat_prefix(country);
    let format = VAT_FORMATS.iter().find(|format| format.country == country);
    let invalid = || QuoteError::InvalidVatId {
        vat_id: vat_id.to_owned(),
        country: country.to_owned(),
        expected: format.map_or_else(
            || format!("{expected_prefix} and 2 to 13 letters or digits"),
            |format| format.description.to_owned(),
        ),
    };

    let prefix: String = normalised.chars().take(2).collect();
    if prefix.len() < 2 || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid());
    }
    if prefix != expected_prefix {
        return Err(QuoteError::VatIdCountryMismatch {
            vat_id: vat_id.to_owned(),
            prefix,
            country: country.to_owned(),
            expected: expected_prefix.to_owned(),
        });
    }

    let body = &normalised[2..];
    let valid = match format {
        Some(format) => format
            .bodies
            .iter()
            .any(|pattern| matches_pattern(body, pattern)),
        None => (2..=13).contains(&body.len()) && body.chars().all(|c| c.is_ascii_alphanumeric()),
    };
    if valid {
        Ok(normalised)
    } else {
        Err(invalid())
    }
}

fn matches_pattern(body: &str, pattern: &str) -> bool {
    body.len() == pattern.len()
        && body.chars().zip(pattern.chars()).all(|(c, p)| match p {
            '9' => c.is_ascii_digit(),
            'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            literal => c == literal,
        })
}

/// Decides the VAT treatment of a customer in `country` with an optional, already validated,
/// VAT id, for a seller in `seller_country`.
///
/// NOTE: an EU consumer outside the seller's country (no VAT id) is charged the seller's rate.
/// The EU rules for electronically supplied services want the customer country's rate there
/// (through the One-Stop Shop), which this catalogue does not hold.
pub fn treatment(country: &str, vat_id: Option<&str>, seller_country: &str) -> VatTreatment {
    if !is_eu(country) && country != seller_country {
        VatTreatment::OutsideEu
    } else if country != seller_country && vat_id.is_some() {
        VatTreatment::ReverseCharge
    } else {
        VatTreatment::Domestic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_vat_ids() {
        let cases = [
            ("NL", "NL123456789B01", "NL123456789B01"),
            ("NL", "nl 1234.56789-b01", "NL123456789B01"),
            ("BE", "BE0123456789", "BE0123456789"),
            ("BE", "BE1123456789", "BE1123456789"),
            ("DE", "DE123456789", "DE123456789"),
            ("FR", "FRAB123456789", "FRAB123456789"),
            ("FR", "FR12345678901", "FR12345678901"),
            ("LU", "LU12345678", "LU12345678"),
            ("AT", "ATU12345678", "ATU12345678"),
            ("ES", "ESX1234567X", "ESX1234567X"),
            ("ES", "ES12345678Z", "ES12345678Z"),
            ("IT", "IT12345678901", "IT12345678901"),
            ("GR", "EL123456789", "EL123456789"),
            ("SE", "SE123456789701", "SE123456789701"),
        ];
        for (country, input, expected) in cases {
            assert_eq!(
                validate_vat_id(input, country).as_deref(),
                Ok(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn invalid_vat_ids() {
        let cases = [
            ("NL", "NL123456789", "NL, 9 digits, B and 2 digits"),
            ("NL", "NL123456789C01", "NL, 9 digits, B and 2 digits"),
            ("NL", "NL12345678B01", "NL, 9 digits, B and 2 digits"),
            ("BE", "BE2123456789", "10 digits starting with 0 or 1"),
            ("DE", "DE12345678", "DE and 9 digits"),
            ("FR", "FR1234567890", "FR, 2 letters or digits"),
            ("LU", "LU1234567", "LU and 8 digits"),
            ("AT", "AT12345678", "ATU and 8 digits"),
            ("ES", "ES1234567", "ES, a letter or digit"),
            ("IT", "IT1234567890", "IT and 11 digits"),
            ("SE", "SE1", "SE and 2 to 13 letters or digits"),
            ("SE", "SE12345678901234", "SE and 2 to 13 letters or digits"),
            ("NL", "1", "NL, 9 digits"),
        ];
        for (country, input, expected) in cases {
            let error = validate_vat_id(input, country).unwrap_err();
            assert!(
                matches!(error, QuoteError::InvalidVatId { .. }),
                "{input}: {error}"
            );
            let message = error.to_string();
            assert!(message.contains(expected), "{message}");
            assert!(message.contains(input), "{message}");
        }
    }

    #[test]
    fn prefix_must_match_country() {
        let cases = [
            ("BE", "NL123456789B01", "NL", "BE"),
            ("DE", "ATU12345678", "AT", "DE"),
            ("GR", "GR123456789", "GR", "EL"),
        ];
        for (country, input, prefix, expected) in cases {
            let error = validate_vat_id(input, country).unwrap_err();
            assert_eq!(
                error,
                QuoteError::VatIdCountryMismatch {
                    vat_id: input.to_owned(),
                    prefix: prefix.to_owned(),
                    country: country.to_owned(),
                    expected: expected.to_owned(),
                }
            );
        }
    }

    #[test]
    fn country_codes() {
        assert_eq!(parse_country(" be ").unwrap(), "BE");
        for input in ["", "N", "NLD", "N1", "XX", "QQ"] {
            assert_eq!(
                parse_country(input),
                Err(QuoteError::InvalidCountry(input.to_owned()))
            );
        }
    }

    #[test]
    fn treatment_by_country_and_vat_id() {
        let cases = [
            ("NL", None, VatTreatment::Domestic),
            ("NL", Some("NL123456789B01"), VatTreatment::Domestic),
            ("BE", Some("BE0123456789"), VatTreatment::ReverseCharge),
            ("BE", None, VatTreatment::Domestic),
            ("US", None, VatTreatment::OutsideEu),
            ("CH", Some("CHE123"), VatTreatment::OutsideEu),
            ("GB", None, VatTreatment::OutsideEu),
        ];
        for (country, vat_id, expected) in cases {
            assert_eq!(treatment(country, vat_id, "NL"), expected, "{country}");
        }
    }
}
