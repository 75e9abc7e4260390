//! Writing statements as a Rabobank CSV export (26 columns, since 2018).

use rust_decimal::Decimal;

use super::bic_for;
use crate::model::{Statement, Transaction};

/// The header row of Rabobank's CSV export.
const HEADER: [&str; 26] = [
    "IBAN/BBAN",
    "Munt",
    "BIC",
    "Volgnr",
    "Datum",
    "Rentedatum",
    "Bedrag",
    "Saldo na trn",
    "Tegenrekening IBAN/BBAN",
    "Naam tegenpartij",
    "Naam uiteindelijke partij",
    "Naam initiërende partij",
    "BIC tegenpartij",
    "Code",
    "Batch ID",
    "Transactiereferentie",
    "Machtigingskenmerk",
    "Incassant ID",
    "Betalingskenmerk",
    "Omschrijving-1",
    "Omschrijving-2",
    "Omschrijving-3",
    "Reden retour",
    "Oorspr bedrag",
    "Oorspr munt",
    "Koers",
];

/// Writes `statements` as one Rabobank CSV export, oldest row first, every field quoted.
///
/// Each row gets a running number (`Volgnr`, which reads back as the bank reference) and the
/// balance after it, counted from the statement's opening balance (zero without one). Reading
/// the output back with [`crate::parse`] gives the same dates, amounts, counterparties,
/// remittance texts and references, with the opening and closing balances in the row dates.
/// The transaction codes become Rabobank's `cb` (credit) and `bg` (debit).
pub fn render_rabobank_csv(statements: &[Statement]) -> String {
    let rows: usize = statements
        .iter()
        .map(|statement| statement.transactions.len())
        .sum();
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::with_capacity(rows * 320 + 400));
    // A csv::Writer over a Vec fails only on I/O, which a Vec never reports.
    let _ = writer.write_record(HEADER);
    let mut number: u64 = 0;
    for statement in statements {
        let account = statement.iban.as_deref().unwrap_or(&statement.account);
        let mut balance = statement
            .opening_balance
            .as_ref()
            .map_or(Decimal::ZERO, |opening| opening.amount);
        for transaction in &statement.transactions {
            number += 1;
            balance += transaction.amount;
            let _ = writer.write_record(row(
                account,
                &statement.currency,
                number,
                balance,
                transaction,
            ));
        }
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn row(
    account: &str,
    currency: &str,
    number: u64,
    balance: Decimal,
    transaction: &Transaction,
) -> [String; 26] {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    let counterparty = optional(&transaction.counterparty_iban);
    let counterparty_bic = if counterparty.is_empty() {
        String::new()
    } else {
        bic_for(&counterparty).to_string()
    };
    let code = if transaction.amount.is_sign_negative() {
        "bg"
    } else {
        "cb"
    };
    [
        account.to_string(),
        currency.to_string(),
        bic_for(account).to_string(),
        format!("{number:018}"),
        transaction.booking_date.to_string(),
        transaction.value_date.to_string(),
        signed(transaction.amount),
        signed(balance),
        counterparty,
        optional(&transaction.counterparty_name),
        String::new(),
        String::new(),
        counterparty_bic,
        code.to_string(),
        String::new(),
        optional(&transaction.end_to_end_id),
        String::new(),
        String::new(),
        optional(&transaction.structured_reference),
        transaction.remittance.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]
}

/// Writes an amount as Rabobank does: a sign, then a decimal comma (`+1210,00`, `-5,50`).
fn signed(amount: Decimal) -> String {
    let sign = if amount.is_sign_negative() { '-' } else { '+' };
    let mut text = format!("{sign}{:.2}", amount.abs());
    if let Some(point) = text.rfind('.') {
        text.replace_range(point..=point, ",");
    }
    text
}
