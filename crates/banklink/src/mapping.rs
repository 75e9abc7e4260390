//! The fields every bank's JSON gives, turned into the statement parsers' transaction model.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::Transaction;

pub(crate) struct Fields {
    pub booking_date: NaiveDate,
    pub value_date: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub counterparty_iban: Option<String>,
    pub counterparty_name: Option<String>,
    pub remittance: String,
    pub end_to_end_id: Option<String>,
    pub structured_reference: Option<String>,
    pub bank_reference: Option<String>,
    pub transaction_code: Option<String>,
}

/// Builds a transaction with the parsers' conventions: IBANs compact and in upper case, texts
/// with collapsed white space, `NOTPROVIDED` as no end-to-end id, a betalingskenmerk as its 16
/// digits, and its check digit verified.
pub(crate) fn transaction(fields: Fields) -> Transaction {
    let text = |value: Option<String>| {
        value
            .map(|value| dk_statement::collapse_whitespace(&value))
            .filter(|value| !value.is_empty())
    };
    let remittance = dk_statement::collapse_whitespace(&fields.remittance);
    let structured_reference = text(fields.structured_reference)
        .map(|reference| dk_statement::normalise_structured_reference(&reference))
        .or_else(|| dk_statement::betalingskenmerk_in_text(&remittance));
    Transaction {
        booking_date: fields.booking_date,
        value_date: fields.value_date,
        amount: fields.amount,
        currency: fields.currency.trim().to_ascii_uppercase(),
        counterparty_iban: text(fields.counterparty_iban).map(|iban| crate::berlin::compact(&iban)),
        counterparty_name: text(fields.counterparty_name),
        structured_reference_valid: structured_reference
            .as_deref()
            .and_then(dk_statement::check_structured_reference),
        structured_reference,
        remittance,
        end_to_end_id: text(fields.end_to_end_id)
            .filter(|id| !id.eq_ignore_ascii_case("NOTPROVIDED")),
        bank_reference: text(fields.bank_reference),
        transaction_code: text(fields.transaction_code),
        reversal: false,
    }
}
