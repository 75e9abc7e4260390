//! Matching of bank mutations to open invoices: a pure, explainable decision per mutation.
//!
//! [`decide()`] takes one [`Mutation`] and the [`InvoiceIndex`] of its organisation and returns a
//! [`Decision`]: what to book on which invoice, what to propose for review, and the reasons.
//! It does no I/O and changes nothing. The caller books the allocations and then updates the
//! index with [`InvoiceIndex::update_open_amount`].
//!
//! # Which invoices a mutation names
//!
//! A credit (positive amount) is matched to sales invoices only, and a debit (negative amount)
//! to purchase invoices only. The remittance text, the end-to-end id and the structured
//! reference are scanned, in that order. An invoice is named when:
//!
//! - its number appears as a whole token in any of these fields, or
//! - its payment reference (a Dutch betalingskenmerk or an RF creditor reference) equals the
//!   structured reference, or appears as a whole token in a field. Spaces, separators and case
//!   are ignored, so `5000 0567 8901 2345` names the reference `5000056789012345`.
//!
//! ## Words and number keys
//!
//! A field is split into words: maximal runs of ASCII letters and digits in which single
//! separators `-`, `/`, `.` or `_` join groups. Any other character ends a word, letters and
//! digits outside ASCII included, and so does a separator that is not followed by a letter or
//! digit. Both the invoice number and each word
//! are reduced to a number key: letters lowercased and each separator written as `-`. A word
//! names an invoice when its key equals the invoice's key, so all of these name `2026-0012`:
//!
//! | text | why |
//! | --- | --- |
//! | `2026-0012`, `2026/0012`, `2026.0012` | separators are interchangeable |
//! | `factuur 2026-0012`, `Factuurnr. 2026-0012` | the number is a word of its own |
//! | `2026-0012,` `(2026-0012)` `2026-0012.` | punctuation around it ends the word |
//! | `F2026-0012`, `nr.2026-0012` | a letter prefix glued to the number or ending in `.` is tried without it, but only when the key as written names no invoice |
//! | `2026-0012/2026-0013`, `REMI/2026-0012/EREF` | a `/`-separated part with two or more groups is also tried on its own, unless a neighbouring part is a bare digit group that may continue the number (`2026-0012/3`) |
//! | `2026 0012` | two digit groups separated by one space, see below |
//!
//! The key keeps every group, which makes the whole-token rule hold: `2026-00123`,
//! `12026-0012` and `2026-0012-3` are other numbers, and `2026` or `0012` alone never equal
//! `2026-0012`. `INV-2026-0012` does not name `2026-0012`, because `-` after letters is part of
//! the number.
//!
//! Two words that are each a group of digits, separated by exactly one space, are read as one
//! number (`2026 0012` as `2026-0012`) only when no other word containing a digit is joined to
//! them by a single space. In `2025 2026 0012` or `2026 0012 17` the grouping is ambiguous, so
//! no such pair is formed and only the single words are looked up. A pair can only name an
//! invoice whose number has exactly two digit groups.
//!
//! Words that belong to a payment reference, or to a code written in groups whose check digits
//! are valid (a betalingskenmerk, RF creditor reference or IBAN such as `5000 0567 8901 2345`),
//! are not read as invoice numbers. Otherwise the group `0567` could name invoice `0567`.
//!
//! When one token names several invoices of the right kind (two suppliers may use the same
//! number), the invoice with the best [`Score`] is taken. A tie leaves the decision to a person.
//!
//! # Outcomes
//!
//! | [`Outcome`] | when | booked |
//! | --- | --- | --- |
//! | `exact` | the payment equals the open amount, or the sum of the named invoices' open amounts | all named invoices in full |
//! | `partial` | the payment is less | in the order the invoices are named, each up to its open amount, until the payment runs out, so later invoices may get nothing |
//! | `overpaid` | the payment is more | all named invoices in full, the rest in [`Reasons::surplus`] |
//! | `possible_double_payment` | a named invoice has nothing open | nothing, and the named invoices still open are suggested |
//! | `suggested` | no invoice is named but open invoices of the right kind have the payment's amount and the counterparty IBAN, or a token names several invoices equally well | nothing |
//! | `unmatched` | none of the above, or the amount is zero | nothing |
//!
//! # Reasons and score
//!
//! Every decision carries [`Reasons`]: each matched token with its field and [`MatchRule`], an
//! amount check in English, the surplus, a [`Score`] and the runner-up candidate. The score has
//! three parts on a scale of 0 to 100 (reference, amount and counterparty evidence) and a
//! weighted total, also 0 to 100. [`Score`] documents the values.
//!
//! # Speed
//!
//! `decide` splits each field into words once and looks up single words, pairs of words and runs
//! of words of at most 35 letters and digits in hash tables. It hashes only candidates whose
//! length (and, for payment references, first character) some indexed key has. Suggestions are
//! looked up by (kind, counterparty IBAN, open amount), so no step scans the invoices and the
//! cost per mutation does not grow with their number. Allocations are limited to a few scratch
//! buffers and the decision itself. `benches/decide.rs` measures the throughput against 100,000
//! invoices.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod amount;
mod decide;
mod decision;
mod index;
mod invoice;
mod key;
mod outcome;
mod reference;
mod scan;
mod slot_map;
mod tokens;

pub use decide::{decide, score_choice};
pub use decision::{
    Allocation, Decision, MatchField, MatchRule, Outcome, Reasons, Score, Suggestion, TokenMatch,
};
pub use index::InvoiceIndex;
pub use invoice::{InvoiceKind, Mutation, OpenInvoice};
