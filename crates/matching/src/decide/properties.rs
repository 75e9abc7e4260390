use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{InvoiceIndex, InvoiceKind, Mutation, OpenInvoice, Outcome, decide};

fn cents(amount: i64) -> Decimal {
    Decimal::new(amount, 2)
}

/// Builds an index with one invoice per open amount, numbered `2026-0001` upwards, and a
/// remittance text naming them in `order`.
fn named_invoices(
    kind: InvoiceKind,
    open_cents: &[i64],
    order: &[usize],
) -> (InvoiceIndex, String) {
    let mut index = InvoiceIndex::new();
    for (position, &open) in open_cents.iter().enumerate() {
        index.insert(OpenInvoice {
            id: Uuid::new_v4(),
            kind,
            number: format!("2026-{:04}", position + 1),
            payment_reference: None,
            counterparty_iban: Some("NL91ABNA0417164300".to_owned()),
            open_amount: cents(open),
            total_amount: cents(open.max(1)),
        });
    }
    let numbers: Vec<String> = order
        .iter()
        .map(|&position| format!("2026-{:04}", position % open_cents.len() + 1))
        .collect();
    (index, format!("betaling facturen {}", numbers.join(", ")))
}

/// Returns whether `text` could contain `2026-0012` as a whole token in any accepted form: the
/// digits `2026`, one separator or space, `0012`, with no digit right before and no letter or
/// digit right after. Every form `decide` accepts satisfies this, so a text for which it is
/// false must not match.
fn may_contain_target(text: &str) -> bool {
    let normalised: Vec<u8> = text
        .bytes()
        .map(|byte| match byte {
            b'-' | b'/' | b'.' | b'_' | b' ' => b'-',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    let target = b"2026-0012";
    (0..normalised.len()).any(|start| {
        let end = start + target.len();
        let digit_before = start > 0 && normalised[start - 1].is_ascii_digit();
        let alphanumeric_after = normalised.get(end).is_some_and(u8::is_ascii_alphanumeric);
        normalised[start..].starts_with(target) && !digit_before && !alphanumeric_after
    })
}

fn near_miss_text() -> impl Strategy<Value = String> {
    let fragments = prop::sample::select(vec![
        "2026",
        "0012",
        "-",
        " ",
        "/",
        ".",
        ",",
        "(",
        ")",
        "1",
        "3",
        "a",
        "F",
        "factuur ",
        "00123",
        "12026",
        "2026-001",
        "026-0012",
        "20260012",
        "12026-0012",
        "2026-00123",
        "2026-0012a",
        "12026 0012",
        "2026 00123",
        "2025 2026 0012",
        "2026 0012 17",
        "  ",
        "é",
    ]);
    prop::collection::vec(fragments, 0..12).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn allocations_add_up_to_payment(
        open_cents in prop::collection::vec(0i64..200_000, 1..6),
        order in prop::collection::vec(0usize..6, 1..8),
        payment_cents in 1i64..600_000,
        is_credit in any::<bool>(),
    ) {
        let kind = if is_credit { InvoiceKind::Sales } else { InvoiceKind::Purchase };
        let (index, remittance) = named_invoices(kind, &open_cents, &order);
        let signed = if is_credit { cents(payment_cents) } else { -cents(payment_cents) };
        let mutation = Mutation {
            amount: signed,
            remittance: &remittance,
            end_to_end_id: None,
            structured_reference: None,
            counterparty_iban: None,
        };

        let decision = decide(&mutation, &index);

        let payment = cents(payment_cents);
        let allocated: Decimal = decision.allocations.iter().map(|allocation| allocation.amount).sum();
        prop_assert!(allocated <= payment, "allocated {} of payment {}", allocated, payment);
        for allocation in &decision.allocations {
            prop_assert!(allocation.amount > Decimal::ZERO);
            prop_assert!(allocation.open_after >= Decimal::ZERO);
            prop_assert_eq!(allocation.open_after, allocation.open_before - allocation.amount);
        }
        let surplus = decision.reasons.surplus.unwrap_or(Decimal::ZERO);
        prop_assert!(surplus >= Decimal::ZERO);
        match decision.outcome {
            Outcome::Exact | Outcome::Partial | Outcome::Overpaid => {
                prop_assert_eq!(allocated + surplus, payment);
            }
            Outcome::PossibleDoublePayment => {
                prop_assert!(open_cents.contains(&0));
                prop_assert!(decision.allocations.is_empty());
            }
            other => prop_assert!(false, "unexpected outcome {:?}", other),
        }
    }

    #[test]
    fn text_without_whole_token_never_matches(text in near_miss_text()) {
        prop_assume!(!may_contain_target(&text));
        let mut index = InvoiceIndex::new();
        index.insert(OpenInvoice {
            id: Uuid::new_v4(),
            kind: InvoiceKind::Sales,
            number: "2026-0012".to_owned(),
            payment_reference: None,
            counterparty_iban: None,
            open_amount: cents(15_000),
            total_amount: cents(15_000),
        });
        let mutation = Mutation {
            amount: cents(15_000),
            remittance: &text,
            end_to_end_id: Some(&text),
            structured_reference: Some(&text),
            counterparty_iban: None,
        };

        let decision = decide(&mutation, &index);

        prop_assert_eq!(decision.outcome, Outcome::Unmatched);
        prop_assert!(decision.reasons.matched_tokens.is_empty());
    }

    #[test]
    fn text_with_whole_token_matches(
        before in prop::sample::select(vec!["", "factuur ", "Factuurnr. ", "(", "betaling: ", "F", "nr."]),
        after in prop::sample::select(vec!["", ",", ")", ". Dank u", " betaald", ";"]),
        separator in prop::sample::select(vec!["-", "/", "."]),
    ) {
        let text = format!("{before}2026{separator}0012{after}");
        let mut index = InvoiceIndex::new();
        index.insert(OpenInvoice {
            id: Uuid::new_v4(),
            kind: InvoiceKind::Sales,
            number: "2026-0012".to_owned(),
            payment_reference: None,
            counterparty_iban: None,
            open_amount: cents(15_000),
            total_amount: cents(15_000),
        });
        let mutation = Mutation {
            amount: cents(15_000),
            remittance: &text,
            end_to_end_id: None,
            structured_reference: None,
            counterparty_iban: None,
        };

        prop_assert_eq!(decide(&mutation, &index).outcome, Outcome::Exact, "text {:?}", text);
    }
}
