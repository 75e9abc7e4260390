//! The decision for one mutation: which invoices it names, and what to do with the payment.

use rust_decimal::Decimal;

use crate::decision::{Decision, MatchField, MatchRule, Score, Suggestion, TokenMatch};
use crate::index::{InvoiceIndex, Slot};
use crate::invoice::{InvoiceKind, Mutation};
use crate::outcome;
use crate::reference::IbanKey;
use crate::scan::{Hit, Scanner, TokenForm};

/// Reference evidence for the invoice number as written or the payment reference.
const REFERENCE_EXACT: u32 = 100;
/// Reference evidence for other separators or a letter prefix.
const REFERENCE_VARIANT: u32 = 90;
/// Reference evidence for two numbers separated by a space.
const REFERENCE_SPACED: u32 = 80;

/// Decides what to do with one mutation, given the open invoices of its organisation.
///
/// The fields are scanned in the order remittance, end-to-end id, structured reference, and
/// named invoices are paid in that order. See the crate documentation for the rules.
pub fn decide(mutation: &Mutation<'_>, index: &InvoiceIndex) -> Decision {
    let Some(kind) = InvoiceKind::paid_by(mutation.amount) else {
        return outcome::zero_amount();
    };
    let context = Context {
        index,
        kind,
        payment: mutation.amount.abs(),
        counterparty_iban: mutation.counterparty_iban.and_then(IbanKey::compact),
    };

    let mut scanner = Scanner::new(index, kind);
    scanner.scan_field(MatchField::Remittance, mutation.remittance);
    if let Some(end_to_end_id) = mutation.end_to_end_id {
        scanner.scan_field(MatchField::EndToEndId, end_to_end_id);
    }
    if let Some(reference) = mutation.structured_reference {
        scanner.scan_field(MatchField::StructuredReference, reference);
    }

    if scanner.hits.is_empty() {
        return outcome::by_counterparty(&context);
    }
    let resolved = resolve_hits(&context, &scanner.hits);
    let runner_up = resolved.runner_up(&context);

    if !resolved.tied.is_empty() {
        return outcome::ambiguous(&context, resolved);
    }
    if resolved
        .named
        .iter()
        .any(|named| index.open_amount(named.slot).is_zero())
    {
        return outcome::possible_double_payment(&context, resolved, runner_up);
    }
    outcome::allocate(&context, resolved, runner_up)
}

/// Returns counterparty evidence: 100 for the same IBAN, 0 for a different one, 50 when either
/// IBAN is missing.
fn counterparty_evidence(payment: Option<&IbanKey>, invoice: Option<&IbanKey>) -> u32 {
    match (payment, invoice) {
        (Some(payment), Some(invoice)) if payment == invoice => 100,
        (Some(_), Some(_)) => 0,
        _ => 50,
    }
}

/// Returns amount evidence for paying `open_amount` with the whole `payment`: 100 when they are
/// equal, 50 when they differ, 0 when nothing is open.
fn amount_evidence(payment: Decimal, open_amount: Decimal) -> u32 {
    if open_amount.is_zero() {
        0
    } else if open_amount == payment {
        100
    } else {
        50
    }
}

/// Scores invoices that a user chose for a payment by hand, by the matcher's own rules.
///
/// A choice by hand carries no reference evidence. The amount evidence compares the payment
/// (its absolute amount) with the open amount of all chosen invoices together. The counterparty
/// evidence is the weakest of the chosen invoices': a payment from the customer of each scores
/// 100.
pub fn score_choice<'a>(
    payment: Decimal,
    payment_iban: Option<&str>,
    chosen: impl IntoIterator<Item = (Decimal, Option<&'a str>)>,
) -> Score {
    let payment_iban = payment_iban.and_then(IbanKey::compact);
    let mut open_total = Decimal::ZERO;
    let mut counterparty = 100;
    for (open_amount, invoice_iban) in chosen {
        open_total += open_amount;
        let invoice_iban = invoice_iban.and_then(IbanKey::compact);
        counterparty = counterparty.min(counterparty_evidence(
            payment_iban.as_ref(),
            invoice_iban.as_ref(),
        ));
    }
    Score::new(0, amount_evidence(payment.abs(), open_total), counterparty)
}

/// Inputs of a decision other than the hits: the index and the normalised mutation.
pub(crate) struct Context<'i> {
    pub index: &'i InvoiceIndex,
    pub kind: InvoiceKind,
    /// Absolute amount of the mutation.
    pub payment: Decimal,
    /// Compact counterparty IBAN of the mutation.
    pub counterparty_iban: Option<IbanKey>,
}

impl Context<'_> {
    /// Returns counterparty evidence for one invoice: 100 for the same IBAN, 0 for a different
    /// one, 50 when either IBAN is missing.
    pub fn counterparty_evidence(&self, slot: Slot) -> u32 {
        counterparty_evidence(
            self.counterparty_iban.as_ref(),
            self.index.counterparty_iban(slot),
        )
    }

    /// Returns amount evidence for paying `open_amount` with the whole payment: 100 when they
    /// are equal, 50 when they differ, 0 when nothing is open.
    pub fn amount_evidence(&self, open_amount: Decimal) -> u32 {
        amount_evidence(self.payment, open_amount)
    }

    pub fn score(&self, slot: Slot, reference: u32) -> Score {
        let amount = self.amount_evidence(self.index.open_amount(slot));
        Score::new(reference, amount, self.counterparty_evidence(slot))
    }

    pub fn suggestion(&self, candidate: &Named<'_>) -> Suggestion {
        Suggestion {
            invoice_id: self.index.id(candidate.slot),
            invoice_number: candidate.number.to_owned(),
            score: self.score(candidate.slot, candidate.reference),
        }
    }
}

/// An invoice the mutation names, with the strongest reference evidence found for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Named<'i> {
    pub slot: Slot,
    pub reference: u32,
    /// Invoice number, read from the index once.
    pub number: &'i str,
}

/// The hits of a mutation resolved to invoices.
#[derive(Debug, Default)]
pub(crate) struct Resolved<'i> {
    /// Invoices named without doubt, in the order they were first named.
    pub named: Vec<Named<'i>>,
    /// Invoices that share a token and score equally well, so none of them can be chosen.
    pub tied: Vec<Named<'i>>,
    /// Invoices that shared a token with a better candidate.
    pub passed_over: Vec<Named<'i>>,
    pub matched_tokens: Vec<TokenMatch>,
    /// Field and invoice of each entry in `matched_tokens`.
    token_sources: Vec<(MatchField, Slot)>,
}

impl<'i> Resolved<'i> {
    /// Returns the best candidate that is not named: one that lost a tie-break on a shared
    /// token, or an invoice with the payment's amount and counterparty IBAN.
    fn runner_up(&self, context: &Context<'i>) -> Option<Suggestion> {
        let is_named = |slot: Slot| self.named.iter().any(|named| named.slot == slot);
        let same_amount_and_iban = match &context.counterparty_iban {
            // A named invoice with the payment's amount and IBAN that no other invoice shares
            // is the only one under that key, so the lookup can be skipped.
            Some(iban) if !self.named_alone_with_amount(context, iban) => context
                .index
                .slots_by_counterparty_and_amount(context.kind, iban, context.payment),
            _ => &[],
        }
        .iter()
        .map(|&slot| Named {
            slot,
            reference: 0,
            number: context.index.number(slot),
        });

        self.passed_over
            .iter()
            .copied()
            .chain(same_amount_and_iban)
            .filter(|candidate| !is_named(candidate.slot))
            .map(|candidate| context.suggestion(&candidate))
            .reduce(|best, candidate| {
                if candidate.score.total > best.score.total {
                    candidate
                } else {
                    best
                }
            })
    }

    fn named_alone_with_amount(&self, context: &Context<'_>, iban: &IbanKey) -> bool {
        let index = context.index;
        self.named.iter().any(|named| {
            index.counterparty_iban(named.slot) == Some(iban)
                && index.open_amount(named.slot) == context.payment
                && !index.shares_open_amount(named.slot)
        })
    }

    fn add_named(&mut self, candidate: Named<'i>) {
        match self
            .named
            .iter_mut()
            .find(|named| named.slot == candidate.slot)
        {
            Some(named) => named.reference = named.reference.max(candidate.reference),
            None => self.named.push(candidate),
        }
    }

    /// Records that `hit` named the invoice `named`, once per field and invoice.
    fn add_token(&mut self, hit: &Hit<'_, '_>, named: &Named<'_>, rule: MatchRule) {
        if self.token_sources.contains(&(hit.field, named.slot)) {
            return;
        }
        self.token_sources.push((hit.field, named.slot));
        self.matched_tokens.push(TokenMatch {
            field: hit.field,
            token: hit.token.to_owned(),
            invoice_number: named.number.to_owned(),
            rule,
        });
    }
}

/// Resolves each hit to one invoice. When a token names several invoices of the kind being
/// matched, the one with the best score is taken, and a tie for the best score leaves all tied
/// invoices undecided.
fn resolve_hits<'i>(context: &Context<'i>, hits: &[Hit<'_, '_>]) -> Resolved<'i> {
    let mut resolved = Resolved::default();

    for hit in hits {
        let candidate = |slot: Slot| {
            let number = context.index.number(slot);
            let rule = match_rule(hit, number);
            let named = Named {
                slot,
                reference: reference_evidence(rule),
                number,
            };
            (named, rule)
        };

        if let [slot] = *hit.slots {
            let (named, rule) = candidate(slot);
            resolved.add_named(named);
            resolved.add_token(hit, &named, rule);
            continue;
        }

        let total = |slot: Slot| context.score(slot, candidate(slot).0.reference).total;
        let best_total = hit.slots.iter().map(|&slot| total(slot)).max().unwrap_or(0);
        let best_count = hit
            .slots
            .iter()
            .filter(|&&slot| total(slot) == best_total)
            .count();

        for &slot in hit.slots {
            let (named, rule) = candidate(slot);
            if total(slot) < best_total {
                resolved.passed_over.push(named);
            } else if best_count == 1 {
                resolved.add_named(named);
                resolved.add_token(hit, &named, rule);
            } else {
                resolved.tied.push(named);
                resolved.add_token(hit, &named, rule);
            }
        }
    }
    resolved
}

fn reference_evidence(rule: MatchRule) -> u32 {
    match rule {
        MatchRule::Number | MatchRule::PaymentReference => REFERENCE_EXACT,
        MatchRule::NumberVariant => REFERENCE_VARIANT,
        MatchRule::SpacedNumber => REFERENCE_SPACED,
    }
}

fn match_rule(hit: &Hit<'_, '_>, invoice_number: &str) -> MatchRule {
    match hit.form {
        TokenForm::Word if hit.token.eq_ignore_ascii_case(invoice_number.trim()) => {
            MatchRule::Number
        }
        TokenForm::Word | TokenForm::Prefixed => MatchRule::NumberVariant,
        TokenForm::Spaced => MatchRule::SpacedNumber,
        TokenForm::PaymentReference => MatchRule::PaymentReference,
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
