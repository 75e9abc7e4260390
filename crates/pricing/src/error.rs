//! Errors of quoting a basket.

use chrono::NaiveDate;

use crate::catalogue::ItemKind;

/// Error of a basket that cannot be quoted. Each message names the rejected value and what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("unknown {kind} code {code:?}: {}", expected_codes(valid))]
    UnknownCode {
        kind: ItemKind,
        code: String,
        valid: Vec<String>,
    },
    #[error("duplicate code {0:?} in the basket: list each module, add-on and product once")]
    DuplicateCode(String),
    #[error("invalid user count 0: a licence has at least 1 user")]
    ZeroUsers,
    #[error(
        "the automatic bank link requires one of the modules {}: add one of them or remove the bank link",
        required.join(", ")
    )]
    BankLinkWithoutModule { required: Vec<String> },
    #[error(
        "too many IBANs for the automatic bank link: {count} requested, at most {max} per licence; import statement files for the other accounts"
    )]
    TooManyIbans { count: u32, max: u32 },
    #[error("the catalogue has no automatic bank link in force")]
    BankLinkNotInCatalogue,
    #[error("invalid country {0:?}: expected an ISO 3166 alpha-2 code such as NL")]
    InvalidCountry(String),
    #[error("invalid VAT id {vat_id:?} for country {country}: expected {expected}")]
    InvalidVatId {
        vat_id: String,
        country: String,
        expected: String,
    },
    #[error(
        "VAT id {vat_id:?} starts with {prefix:?}, but the customer country {country} expects the prefix {expected:?}"
    )]
    VatIdCountryMismatch {
        vat_id: String,
        prefix: String,
        country: String,
        expected: String,
    },
    #[error(
        "catalogue has several versions of {0:?}: call Catalogue::effective_on to select the versions in force"
    )]
    SeveralVersions(String),
    #[error("catalogue has no user price table in force")]
    NoUserPricing,
    #[error("change date {change_date} is outside the billing month {billing_month}")]
    ChangeOutsideBillingMonth {
        change_date: NaiveDate,
        billing_month: String,
    },
    #[error("invalid billing month {year}-{month}: expected a month from 1 to 12")]
    InvalidBillingMonth { year: i32, month: u32 },
}

/// Lists the codes a basket may use, or states that there are none.
fn expected_codes(valid: &[String]) -> String {
    if valid.is_empty() {
        "the catalogue has no such items in force".to_owned()
    } else {
        format!("expected one of {}", valid.join(", "))
    }
}
