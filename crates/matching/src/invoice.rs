//! The inputs of a decision: open invoices and one bank mutation.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether an invoice was issued by the organisation or received from a supplier.
///
/// Credits (money in) are matched to sales invoices and debits (money out) to purchase invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// An invoice the organisation sent to a customer (verkoopfactuur).
    Sales,
    /// An invoice the organisation received from a supplier (inkoopfactuur).
    Purchase,
}

impl InvoiceKind {
    /// Returns the kind of invoice that a payment of `amount` can pay: sales for a credit,
    /// purchase for a debit, and `None` for zero.
    pub(crate) fn paid_by(amount: Decimal) -> Option<Self> {
        if amount.is_zero() {
            None
        } else if amount.is_sign_positive() {
            Some(Self::Sales)
        } else {
            Some(Self::Purchase)
        }
    }

    pub(crate) fn position(self) -> usize {
        match self {
            Self::Sales => 0,
            Self::Purchase => 1,
        }
    }
}

/// An invoice of one organisation, with the fields matching uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenInvoice {
    /// Invoice id in the bookkeeping service.
    pub id: Uuid,
    /// Sales or purchase invoice.
    pub kind: InvoiceKind,
    /// Invoice number as printed on the invoice, for example `2026-0012`.
    pub number: String,
    /// Structured payment reference printed on the invoice: a Dutch betalingskenmerk
    /// (`5000 0567 8901 2345`) or an RF creditor reference (`RF18 5390 0754 7034`).
    /// Spaces and case do not matter.
    pub payment_reference: Option<String>,
    /// IBAN of the customer (sales) or supplier (purchase). Spaces and case do not matter.
    pub counterparty_iban: Option<String>,
    /// Amount still to be paid, in EUR. Zero means fully paid. The index stores a negative
    /// value as zero.
    pub open_amount: Decimal,
    /// Invoice total including VAT, in EUR.
    pub total_amount: Decimal,
}

/// One bank mutation (bank transaction) to be matched, borrowed from the imported statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mutation<'a> {
    /// Signed amount in EUR: positive for money in (credit), negative for money out (debit).
    pub amount: Decimal,
    /// Free remittance text (omschrijving), for example `Factuurnr. 2026-0012`.
    pub remittance: &'a str,
    /// End-to-end id set by the payer, if any.
    pub end_to_end_id: Option<&'a str>,
    /// Structured payment reference (betalingskenmerk or RF creditor reference), if any.
    pub structured_reference: Option<&'a str>,
    /// IBAN of the other party, if the statement contains it.
    pub counterparty_iban: Option<&'a str>,
}
