//! The result of matching one mutation, with the reasons behind it.
//!
//! Every type here serialises with serde so that the bookkeeping service can store a decision
//! and return it over its API. Amounts serialise as decimal strings.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The decision for one mutation: what to book, what to propose and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Outcome for the payment.
    pub outcome: Outcome,
    /// Amounts to book, in the order the invoices are named. Empty unless the outcome is
    /// [`Outcome::Exact`], [`Outcome::Partial`] or [`Outcome::Overpaid`].
    pub allocations: Vec<Allocation>,
    /// Invoices proposed for manual review, best first. Never booked automatically.
    pub suggestions: Vec<Suggestion>,
    /// Evidence and explanation of the decision.
    pub reasons: Reasons,
}

/// Outcome for a payment: booked, proposed for review or left unmatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The named invoices are paid exactly.
    Exact,
    /// The payment is less than the named invoices' open amounts. It is booked and the rest
    /// stays open.
    Partial,
    /// The payment is more than the named invoices' open amounts. They are paid and the surplus
    /// is in [`Reasons::surplus`].
    Overpaid,
    /// A named invoice is already fully paid. Nothing is booked.
    PossibleDoublePayment,
    /// No invoice could be booked with certainty. Candidates are in [`Decision::suggestions`].
    Suggested,
    /// No invoice is named and no candidate was found.
    Unmatched,
    /// The counterparty is another account of the same organisation: money moved between its
    /// own accounts. The caller recognises this before deciding; `decide` never returns it.
    OwnTransfer,
}

/// An amount to book on one invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Invoice the amount is booked on.
    pub invoice_id: Uuid,
    /// Number of that invoice.
    pub invoice_number: String,
    /// Amount applied to the invoice, always positive, also for a debit.
    pub amount: Decimal,
    /// Open amount before this payment.
    pub open_before: Decimal,
    /// Open amount after this payment, never negative.
    pub open_after: Decimal,
}

/// An invoice proposed for review, or a runner-up candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Candidate invoice.
    pub invoice_id: Uuid,
    /// Number of that invoice.
    pub invoice_number: String,
    /// Evidence for this candidate.
    pub score: Score,
}

/// Evidence and explanation of a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reasons {
    /// Every token that named an invoice, at most one per field and invoice.
    pub matched_tokens: Vec<TokenMatch>,
    /// Comparison of the payment with the open amounts, in English, for example
    /// `payment 150.00 equals open amount 150.00`.
    pub amount_check: String,
    /// Part of the payment left after paying every named invoice, only for
    /// [`Outcome::Overpaid`].
    pub surplus: Option<Decimal>,
    /// Evidence for the decision as a whole. For a booking, reference and counterparty evidence
    /// are the weakest named invoice's, and amount evidence compares the payment with the sum of
    /// the open amounts. Otherwise it is the score of the best suggestion or of the paid invoice.
    pub score: Score,
    /// Best candidate that was not chosen, if any.
    pub runner_up: Option<Suggestion>,
    /// One-sentence explanation for a person, in English.
    pub summary: String,
}

/// A token in a mutation field that named an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenMatch {
    /// Field the token was found in.
    pub field: MatchField,
    /// Token as written in that field, for example `F2026-0012` or `2026 0012`.
    pub token: String,
    /// Number of the invoice the token named.
    pub invoice_number: String,
    /// How the token was compared with the invoice.
    pub rule: MatchRule,
}

/// Mutation field a token was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchField {
    /// Free remittance text.
    Remittance,
    /// End-to-end id.
    EndToEndId,
    /// Structured payment reference.
    StructuredReference,
}

/// How a token was compared with an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The token is the invoice number as written, ignoring case.
    Number,
    /// The token is the invoice number with other separators (`2026/0012` for `2026-0012`) or
    /// with a letter prefix the invoice number does not have (`F2026-0012`, `nr.2026-0012`).
    NumberVariant,
    /// Two numbers separated by one space (`2026 0012`) form the invoice number.
    SpacedNumber,
    /// The token is the invoice's structured payment reference, ignoring spaces and case.
    PaymentReference,
}

/// Evidence for a candidate or a decision, each part on a scale of 0 to 100.
///
/// - `reference`: 100 for the invoice number as written or the payment reference,
///   90 for a [`MatchRule::NumberVariant`], 80 for a [`MatchRule::SpacedNumber`],
///   0 when the mutation does not name the invoice.
/// - `amount`: 100 when the payment equals the open amount (or the sum of the named invoices'
///   open amounts), 50 when it differs, 0 when nothing is open.
/// - `counterparty`: 100 when the mutation's counterparty IBAN equals the invoice's, 0 when both
///   are known and differ, 50 when either is missing.
/// - `total`: `(5 * reference + 3 * amount + 2 * counterparty) / 10`, rounded down, so a named
///   invoice paid exactly by its own customer scores 100 and an unnamed invoice with the same
///   amount and IBAN scores 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Score {
    /// Evidence that the mutation names the invoice.
    pub reference: u32,
    /// Evidence from comparing the payment with the open amount.
    pub amount: u32,
    /// Evidence from comparing counterparty IBANs.
    pub counterparty: u32,
    /// Weighted sum of the three parts.
    pub total: u32,
}

impl Score {
    /// Builds a score from its three parts and computes the weighted total. Parts above 100
    /// are stored as 100.
    pub fn new(reference: u32, amount: u32, counterparty: u32) -> Self {
        let reference = reference.min(100);
        let amount = amount.min(100);
        let counterparty = counterparty.min(100);
        Self {
            reference,
            amount,
            counterparty,
            total: (5 * reference + 3 * amount + 2 * counterparty) / 10,
        }
    }
}
