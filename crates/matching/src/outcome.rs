//! Building each outcome with its allocations, suggestions and explanation.

use std::cmp::{Ordering, Reverse};
use std::fmt::{self, Write};

use rust_decimal::Decimal;

use crate::amount::Amount;
use crate::decide::{Context, Named, Resolved};
use crate::decision::{Allocation, Decision, Outcome, Reasons, Score, Suggestion, TokenMatch};
use crate::invoice::InvoiceKind;

/// Maximum number of suggestions in one decision. The best are kept, and the amount check of a
/// suggestion by counterparty states how many candidates there were in total.
const MAX_SUGGESTIONS: usize = 10;

/// Amount evidence of a decision that pays its invoices exactly.
const AMOUNT_EQUAL: u32 = 100;
/// Amount evidence of a decision that pays less or more than the open amounts.
const AMOUNT_DIFFERENT: u32 = 50;

pub(crate) fn zero_amount() -> Decision {
    unmatched(
        "payment amount is zero".to_owned(),
        "A mutation of zero is not matched.".to_owned(),
    )
}

/// Decides a mutation that names no invoice: open invoices of the right kind with the payment's
/// amount and counterparty IBAN are suggested, never booked.
pub(crate) fn by_counterparty(context: &Context<'_>) -> Decision {
    let kind = kind_name(context.kind);
    let payment = context.payment;
    let Some(iban) = &context.counterparty_iban else {
        return unmatched(
            format!(
                "no counterparty IBAN to look up open {kind} invoices of {}",
                Amount(payment)
            ),
            format!("The mutation names no known {kind} invoice and has no counterparty IBAN."),
        );
    };
    let slots = context
        .index
        .slots_by_counterparty_and_amount(context.kind, iban, payment);
    if slots.is_empty() {
        return unmatched(
            format!(
                "no open {kind} invoice of {} has this counterparty IBAN",
                Amount(payment)
            ),
            format!(
                "The mutation names no known {kind} invoice, and no open {kind} invoice has the same amount and counterparty IBAN."
            ),
        );
    }

    let mut suggestions: Vec<Suggestion> = slots
        .iter()
        .map(|&slot| {
            context.suggestion(&Named {
                slot,
                reference: 0,
                number: context.index.number(slot),
            })
        })
        .collect();
    suggestions.sort_by(|left, right| left.invoice_number.cmp(&right.invoice_number));
    let found = suggestions.len();
    suggestions.truncate(MAX_SUGGESTIONS);

    let amount_check = format!(
        "payment {} equals the open amount of {} with this counterparty IBAN",
        Amount(payment),
        count_of(found, &format!("{kind} invoice"))
    );
    let summary = if found == 1 {
        format!(
            "The mutation names no known {kind} invoice, so invoice {} with the same amount and counterparty IBAN is proposed for review.",
            suggestions[0].invoice_number
        )
    } else {
        format!(
            "The mutation names no known {kind} invoice, so {found} open invoices with the same amount and counterparty IBAN are proposed for review."
        )
    };
    suggested(suggestions, Vec::new(), amount_check, summary)
}

/// Decides a mutation in which a token names several invoices that score equally well: all
/// named invoices are suggested, best first, and nothing is booked.
pub(crate) fn ambiguous(context: &Context<'_>, resolved: Resolved<'_>) -> Decision {
    let tied = distinct(&resolved.tied);
    let candidates = distinct(&[resolved.tied.as_slice(), resolved.named.as_slice()].concat());
    let mut suggestions: Vec<Suggestion> = candidates
        .iter()
        .map(|candidate| context.suggestion(candidate))
        .collect();
    suggestions.sort_by_key(|suggestion| Reverse(suggestion.score.total));
    suggestions.truncate(MAX_SUGGESTIONS);

    let open_amounts: Vec<String> = tied
        .iter()
        .map(|candidate| Amount(context.index.open_amount(candidate.slot)).to_string())
        .collect();
    let amount_check = format!(
        "payment {} is not applied because {} invoices match equally well, with open amounts {}",
        Amount(context.payment),
        tied.len(),
        open_amounts.join(", ")
    );
    let summary = format!(
        "Invoices {} match the mutation equally well, so the named invoices are proposed for review and nothing is booked.",
        NumberList { named: &tied }
    );
    suggested(suggestions, resolved.matched_tokens, amount_check, summary)
}

/// Returns `candidates` without repeated invoices, in their first order.
fn distinct<'i>(candidates: &[Named<'i>]) -> Vec<Named<'i>> {
    let mut listed: Vec<Named<'i>> = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        if !listed.iter().any(|other| other.slot == candidate.slot) {
            listed.push(*candidate);
        }
    }
    listed
}

/// Decides a mutation that names an invoice with nothing open: nothing is booked and the other
/// named invoices that are still open are suggested.
pub(crate) fn possible_double_payment(
    context: &Context<'_>,
    resolved: Resolved<'_>,
    runner_up: Option<Suggestion>,
) -> Decision {
    let (paid, open): (Vec<Named>, Vec<Named>) = resolved
        .named
        .iter()
        .partition(|named| context.index.open_amount(named.slot).is_zero());
    let first_paid = paid[0].slot;
    let first_paid_number = paid[0].number;
    let payment = Amount(context.payment);

    let (amount_check, summary) = if let [_] = paid.as_slice() {
        (
            format!(
                "invoice {first_paid_number} has no open amount (total {}), so payment {payment} is not applied",
                Amount(context.index.total_amount(first_paid))
            ),
            format!(
                "Invoice {first_paid_number} is already paid, so the payment is flagged as a possible double payment and not applied."
            ),
        )
    } else {
        let numbers = NumberList { named: &paid };
        (
            format!("invoices {numbers} have no open amount, so payment {payment} is not applied"),
            format!(
                "Invoices {numbers} are already paid, so the payment is flagged as a possible double payment and not applied."
            ),
        )
    };

    Decision {
        outcome: Outcome::PossibleDoublePayment,
        allocations: Vec::new(),
        suggestions: open.iter().map(|named| context.suggestion(named)).collect(),
        reasons: Reasons {
            matched_tokens: resolved.matched_tokens,
            amount_check,
            surplus: None,
            score: context.score(paid[0].slot, paid[0].reference),
            runner_up,
            summary,
        },
    }
}

/// Books the payment on the named invoices in the order they are named, each up to its open
/// amount, until the payment runs out. What is left after the last invoice is the surplus.
pub(crate) fn allocate(
    context: &Context<'_>,
    resolved: Resolved<'_>,
    runner_up: Option<Suggestion>,
) -> Decision {
    let payment = context.payment;
    let named = &resolved.named;
    let open_total: Decimal = named
        .iter()
        .map(|candidate| context.index.open_amount(candidate.slot))
        .sum();

    let mut remaining = payment;
    let mut allocations = Vec::with_capacity(named.len());
    for candidate in named {
        if remaining.is_zero() {
            break;
        }
        let open_before = context.index.open_amount(candidate.slot);
        let applied = remaining.min(open_before);
        remaining -= applied;
        allocations.push(Allocation {
            invoice_id: context.index.id(candidate.slot),
            invoice_number: candidate.number.to_owned(),
            amount: applied,
            open_before,
            open_after: open_before - applied,
        });
    }

    let outcome = match payment.cmp(&open_total) {
        Ordering::Equal => Outcome::Exact,
        Ordering::Less => Outcome::Partial,
        Ordering::Greater => Outcome::Overpaid,
    };
    let surplus = (outcome == Outcome::Overpaid).then_some(remaining);

    let reference = named
        .iter()
        .map(|candidate| candidate.reference)
        .min()
        .unwrap_or(0);
    let counterparty = named
        .iter()
        .map(|candidate| context.counterparty_evidence(candidate.slot))
        .min()
        .unwrap_or(0);
    let amount = if outcome == Outcome::Exact {
        AMOUNT_EQUAL
    } else {
        AMOUNT_DIFFERENT
    };

    let (amount_check, summary) = explain_allocation(context, named, outcome, open_total);
    Decision {
        outcome,
        allocations,
        suggestions: Vec::new(),
        reasons: Reasons {
            matched_tokens: resolved.matched_tokens,
            amount_check,
            surplus,
            score: Score::new(reference, amount, counterparty),
            runner_up,
            summary,
        },
    }
}

/// Returns the amount check and summary of an allocation.
fn explain_allocation(
    context: &Context<'_>,
    named: &[Named<'_>],
    outcome: Outcome,
    open_total: Decimal,
) -> (String, String) {
    let payment = context.payment;
    let numbers = NumberList { named };
    let single = named.len() == 1;

    // `fmt::Write for String` never returns an error, so the results of `write!` are ignored.
    let mut amount_check = String::with_capacity(96);
    let comparison = match outcome {
        Outcome::Exact => "equals",
        Outcome::Partial => "is less than",
        _ => "exceeds",
    };
    let _ = write!(amount_check, "payment {} {comparison} ", Amount(payment));
    if single {
        let _ = write!(amount_check, "open amount {}", Amount(open_total));
    } else {
        let _ = write!(
            amount_check,
            "the open amounts of {} invoices ({} in total)",
            named.len(),
            Amount(open_total)
        );
    }

    let summary = match outcome {
        Outcome::Exact if single => format!("Invoice {numbers} is paid in full."),
        Outcome::Exact => format!("Invoices {numbers} are paid in full."),
        Outcome::Partial => {
            let rest = Amount(open_total - payment);
            let _ = write!(amount_check, ", so {rest} stays open");
            if single {
                format!("Invoice {numbers} is paid in part and {rest} stays open.")
            } else {
                format!(
                    "The payment is allocated to invoices {numbers} in the order they are named, and {rest} stays open."
                )
            }
        }
        _ => {
            let surplus = Amount(payment - open_total);
            let _ = write!(amount_check, " by {surplus}");
            if single {
                format!(
                    "Invoice {numbers} is paid in full and the surplus of {surplus} is flagged."
                )
            } else {
                format!(
                    "Invoices {numbers} are paid in full and the surplus of {surplus} is flagged."
                )
            }
        }
    };
    (amount_check, summary)
}

fn suggested(
    suggestions: Vec<Suggestion>,
    matched_tokens: Vec<TokenMatch>,
    amount_check: String,
    summary: String,
) -> Decision {
    Decision {
        outcome: Outcome::Suggested,
        reasons: Reasons {
            matched_tokens,
            amount_check,
            surplus: None,
            score: suggestions[0].score,
            runner_up: suggestions.get(1).cloned(),
            summary,
        },
        allocations: Vec::new(),
        suggestions,
    }
}

fn unmatched(amount_check: String, summary: String) -> Decision {
    Decision {
        outcome: Outcome::Unmatched,
        allocations: Vec::new(),
        suggestions: Vec::new(),
        reasons: Reasons {
            matched_tokens: Vec::new(),
            amount_check,
            surplus: None,
            score: Score::default(),
            runner_up: None,
            summary,
        },
    }
}

fn kind_name(kind: InvoiceKind) -> &'static str {
    match kind {
        InvoiceKind::Sales => "sales",
        InvoiceKind::Purchase => "purchase",
    }
}

fn count_of(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The numbers of some invoices, displayed separated by commas.
struct NumberList<'a, 'i> {
    named: &'a [Named<'i>],
}

impl fmt::Display for NumberList<'_, '_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, candidate) in self.named.iter().enumerate() {
            if position > 0 {
                formatter.write_str(", ")?;
            }
            formatter.write_str(candidate.number)?;
        }
        Ok(())
    }
}
