//! Domain types shared by every service.
//!
//! Each type validates when it is built, so a value that exists is a valid one: an [`Iban`] has
//! passed the mod-97 check, a [`Money`] amount is a `rust_decimal::Decimal` in a known currency,
//! an [`InvoiceNumber`] has a form that can be matched in remittance text.

mod iban;
mod invoice_number;
mod money;
mod organisation;
mod payment_reference;

pub use chrono::NaiveDate;
pub use iban::{Iban, IbanError};
pub use invoice_number::{InvoiceNumber, InvoiceNumberError};
pub use money::{Currency, CurrencyError, Money, MoneyError};
pub use organisation::{OrganisationId, OrganisationIdError};
pub use payment_reference::{
    PaymentReference, PaymentReferenceError, is_valid_betalingskenmerk, is_valid_mod_97,
};
pub use rust_decimal::Decimal;

/// Parses an ISO 8601 calendar date (`2026-03-31`).
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| DateError(text.to_owned()))
}

/// A date that is not written as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {0:?}: expected YYYY-MM-DD, for example 2026-03-31")]
pub struct DateError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parses_iso() {
        assert_eq!(
            parse_date("2026-03-31").unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
    }

    #[test]
    fn date_rejects_dutch_order() {
        let error = parse_date("31-03-2026").unwrap_err();
        assert!(error.to_string().contains("YYYY-MM-DD"));
    }
}
