use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::{
    Decision, InvoiceIndex, InvoiceKind, MatchField, MatchRule, Mutation, OpenInvoice, Outcome,
    Score, decide,
};

const CUSTOMER_IBAN: &str = "NL91ABNA0417164300";
const SUPPLIER_IBAN: &str = "NL20INGB0001234567";
const OTHER_IBAN: &str = "NL02RABO0123456789";

fn invoice(kind: InvoiceKind, number: &str, open: Decimal, iban: Option<&str>) -> OpenInvoice {
    OpenInvoice {
        id: Uuid::new_v4(),
        kind,
        number: number.to_owned(),
        payment_reference: None,
        counterparty_iban: iban.map(str::to_owned),
        open_amount: open,
        total_amount: open.max(dec!(100.00)),
    }
}

fn sales(number: &str, open: Decimal) -> OpenInvoice {
    invoice(InvoiceKind::Sales, number, open, Some(CUSTOMER_IBAN))
}

fn purchase(number: &str, open: Decimal) -> OpenInvoice {
    invoice(InvoiceKind::Purchase, number, open, Some(SUPPLIER_IBAN))
}

fn index_of(invoices: &[&OpenInvoice]) -> InvoiceIndex {
    let mut index = InvoiceIndex::new();
    for invoice in invoices {
        index.insert((*invoice).clone());
    }
    index
}

fn payment<'a>(amount: Decimal, remittance: &'a str) -> Mutation<'a> {
    Mutation {
        amount,
        remittance,
        end_to_end_id: None,
        structured_reference: None,
        counterparty_iban: None,
    }
}

fn allocated_ids(decision: &Decision) -> Vec<Uuid> {
    decision
        .allocations
        .iter()
        .map(|allocation| allocation.invoice_id)
        .collect()
}

#[test]
fn whole_token_rule_rejects_near_misses() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);
    let texts = [
        "2026-00123",
        "12026-0012",
        "factuur 0012",
        "factuur 2026",
        "0012 2026",
        "2026-0012-3",
        "2026-0012a",
        "INV-2026-0012",
        "20260012",
        "2026 00123",
        "2026  0012",
        "2026 - 0012",
        "2025 2026 0012",
        "2026 0012 17",
        "ref 2026-0011 2026 0012",
        "2026-001",
        "026-0012",
        "2026-0012.pdf",
        "2026-0012/3",
        "/REMI/2026-0012/0013/EREF",
        "F2026-00123",
        "",
    ];
    for text in texts {
        let decision = decide(&payment(dec!(150.00), text), &index);
        assert_eq!(decision.outcome, Outcome::Unmatched, "text {text:?}");
        assert!(decision.allocations.is_empty(), "text {text:?}");
        assert!(decision.reasons.matched_tokens.is_empty(), "text {text:?}");
    }
}

#[test]
fn number_variants_match() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);
    let cases = [
        ("2026-0012", "2026-0012", MatchRule::Number),
        ("factuur 2026-0012", "2026-0012", MatchRule::Number),
        ("Factuurnr. 2026-0012", "2026-0012", MatchRule::Number),
        (
            "Factuurnr.2026-0012",
            "Factuurnr.2026-0012",
            MatchRule::NumberVariant,
        ),
        ("betaling 2026-0012, dank u", "2026-0012", MatchRule::Number),
        ("(2026-0012)", "2026-0012", MatchRule::Number),
        ("uw ref: 2026-0012.", "2026-0012", MatchRule::Number),
        ("F2026-0012", "F2026-0012", MatchRule::NumberVariant),
        ("f2026-0012", "f2026-0012", MatchRule::NumberVariant),
        ("INV2026-0012", "INV2026-0012", MatchRule::NumberVariant),
        ("2026/0012", "2026/0012", MatchRule::NumberVariant),
        ("2026.0012", "2026.0012", MatchRule::NumberVariant),
        ("2026 0012", "2026 0012", MatchRule::SpacedNumber),
        (
            "factuur 2026 0012 betaald",
            "2026 0012",
            MatchRule::SpacedNumber,
        ),
        ("FACTUUR 2026-0012 DANK U", "2026-0012", MatchRule::Number),
        (
            "/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/J. JANSEN/REMI/Factuur 2026-0012/EREF/NOTPROVIDED",
            "2026-0012",
            MatchRule::Number,
        ),
    ];
    for (text, token, rule) in cases {
        let decision = decide(&payment(dec!(150.00), text), &index);
        assert_eq!(decision.outcome, Outcome::Exact, "text {text:?}");
        assert_eq!(allocated_ids(&decision), vec![target.id], "text {text:?}");
        let matched = &decision.reasons.matched_tokens;
        assert_eq!(matched.len(), 1, "text {text:?}");
        assert_eq!(matched[0].token, token, "text {text:?}");
        assert_eq!(matched[0].rule, rule, "text {text:?}");
        assert_eq!(matched[0].field, MatchField::Remittance, "text {text:?}");
        assert_eq!(matched[0].invoice_number, "2026-0012", "text {text:?}");
    }
}

#[test]
fn number_match_ignores_case() {
    let target = sales("INV-2026-12", dec!(80.00));
    let index = index_of(&[&target]);

    let decision = decide(&payment(dec!(80.00), "betreft inv-2026-12"), &index);

    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(decision.reasons.matched_tokens[0].rule, MatchRule::Number);
    assert_eq!(decision.reasons.score.reference, 100);
}

#[test]
fn prefixed_invoice_number_wins_over_stripped() {
    let plain = sales("2026-0012", dec!(150.00));
    let prefixed = sales("F2026-0012", dec!(150.00));
    let index = index_of(&[&plain, &prefixed]);

    let decision = decide(&payment(dec!(150.00), "F2026-0012"), &index);

    assert_eq!(allocated_ids(&decision), vec![prefixed.id]);
    assert_eq!(decision.reasons.matched_tokens[0].rule, MatchRule::Number);
}

#[test]
fn credits_and_debits_match_their_kind() {
    let sold = sales("2026-0012", dec!(150.00));
    let bought = purchase("2026-0012", dec!(90.00));
    let index = index_of(&[&sold, &bought]);

    let credit = decide(&payment(dec!(150.00), "2026-0012"), &index);
    assert_eq!(allocated_ids(&credit), vec![sold.id]);
    assert_eq!(credit.outcome, Outcome::Exact);

    let debit = decide(&payment(dec!(-90.00), "2026-0012"), &index);
    assert_eq!(allocated_ids(&debit), vec![bought.id]);
    assert_eq!(debit.outcome, Outcome::Exact);
    assert_eq!(
        debit.allocations[0].amount,
        dec!(90.00),
        "allocations are positive for debits"
    );
}

#[test]
fn credit_never_pays_purchase_invoice() {
    let bought = purchase("INK-77", dec!(90.00));
    let sold_elsewhere = sales("2026-0001", dec!(5.00));
    let index = index_of(&[&bought, &sold_elsewhere]);

    let credit = decide(&payment(dec!(90.00), "INK-77"), &index);
    assert_eq!(credit.outcome, Outcome::Unmatched);

    let refund = Mutation {
        counterparty_iban: Some(SUPPLIER_IBAN),
        ..payment(dec!(90.00), "terugbetaling")
    };
    assert_eq!(decide(&refund, &index).outcome, Outcome::Unmatched);

    let debit = decide(&payment(dec!(-5.00), "2026-0001"), &index);
    assert_eq!(
        debit.outcome,
        Outcome::Unmatched,
        "a debit never pays a sales invoice"
    );
}

#[test]
fn exact_payment_pays_invoice() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);

    let decision = decide(&payment(dec!(150.00), "factuur 2026-0012"), &index);

    assert_eq!(decision.outcome, Outcome::Exact);
    let allocation = &decision.allocations[0];
    assert_eq!(allocation.amount, dec!(150.00));
    assert_eq!(allocation.open_before, dec!(150.00));
    assert_eq!(allocation.open_after, dec!(0.00));
    assert_eq!(
        decision.reasons.amount_check,
        "payment 150.00 equals open amount 150.00"
    );
    assert_eq!(decision.reasons.surplus, None);
    assert_eq!(
        decision.reasons.summary,
        "Invoice 2026-0012 is paid in full."
    );
}

#[test]
fn smaller_payment_is_partial() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);

    let decision = decide(&payment(dec!(100.00), "2026-0012"), &index);

    assert_eq!(decision.outcome, Outcome::Partial);
    let allocation = &decision.allocations[0];
    assert_eq!(allocation.amount, dec!(100.00));
    assert_eq!(allocation.open_after, dec!(50.00));
    assert_eq!(
        decision.reasons.amount_check,
        "payment 100.00 is less than open amount 150.00, so 50.00 stays open"
    );
    assert_eq!(decision.reasons.surplus, None);
    assert_eq!(decision.reasons.score.amount, 50);
}

#[test]
fn larger_payment_flags_surplus() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);

    let decision = decide(&payment(dec!(175.50), "2026-0012"), &index);

    assert_eq!(decision.outcome, Outcome::Overpaid);
    assert_eq!(decision.allocations[0].amount, dec!(150.00));
    assert_eq!(decision.allocations[0].open_after, dec!(0.00));
    assert_eq!(decision.reasons.surplus, Some(dec!(25.50)));
    assert_eq!(
        decision.reasons.amount_check,
        "payment 175.50 exceeds open amount 150.00 by 25.50"
    );
}

#[test]
fn several_invoices_paid_by_one_payment() {
    let first = sales("2026-0012", dec!(150.00));
    let second = sales("2026-0013", dec!(49.95));
    let index = index_of(&[&first, &second]);

    let decision = decide(
        &payment(dec!(199.95), "facturen 2026-0012 en 2026-0013"),
        &index,
    );

    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(allocated_ids(&decision), vec![first.id, second.id]);
    assert_eq!(decision.allocations[1].amount, dec!(49.95));
    assert_eq!(decision.reasons.matched_tokens.len(), 2);
    assert_eq!(
        decision.reasons.amount_check,
        "payment 199.95 equals the open amounts of 2 invoices (199.95 in total)"
    );
    assert_eq!(
        decision.reasons.summary,
        "Invoices 2026-0012, 2026-0013 are paid in full."
    );
}

#[test]
fn several_invoices_allocated_in_text_order() {
    let first = sales("2026-0012", dec!(100.00));
    let second = sales("2026-0013", dec!(100.00));
    let third = sales("2026-0014", dec!(100.00));
    let index = index_of(&[&first, &second, &third]);

    let decision = decide(
        &payment(dec!(150.00), "2026-0014, 2026-0012 en 2026-0013"),
        &index,
    );

    assert_eq!(decision.outcome, Outcome::Partial);
    assert_eq!(
        allocated_ids(&decision),
        vec![third.id, first.id],
        "the last named gets nothing"
    );
    assert_eq!(decision.allocations[0].amount, dec!(100.00));
    assert_eq!(decision.allocations[1].amount, dec!(50.00));
    assert_eq!(decision.allocations[1].open_after, dec!(50.00));
    assert_eq!(
        decision.reasons.amount_check,
        "payment 150.00 is less than the open amounts of 3 invoices (300.00 in total), so 150.00 stays open"
    );
}

#[test]
fn several_invoices_overpaid() {
    let first = sales("2026-0012", dec!(10.00));
    let second = sales("2026-0013", dec!(20.00));
    let index = index_of(&[&first, &second]);

    let decision = decide(&payment(dec!(35.00), "2026-0012/2026-0013"), &index);

    assert_eq!(decision.outcome, Outcome::Overpaid);
    assert_eq!(allocated_ids(&decision), vec![first.id, second.id]);
    assert_eq!(decision.reasons.surplus, Some(dec!(5.00)));
}

#[test]
fn invoice_named_twice_is_paid_once() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);
    let mutation = Mutation {
        end_to_end_id: Some("2026-0012"),
        ..payment(dec!(300.00), "2026-0012 2026-0012")
    };

    let decision = decide(&mutation, &index);

    assert_eq!(decision.outcome, Outcome::Overpaid);
    assert_eq!(allocated_ids(&decision), vec![target.id]);
    assert_eq!(decision.reasons.surplus, Some(dec!(150.00)));
    let fields: Vec<MatchField> = decision
        .reasons
        .matched_tokens
        .iter()
        .map(|matched| matched.field)
        .collect();
    assert_eq!(fields, vec![MatchField::Remittance, MatchField::EndToEndId]);
}

#[test]
fn paid_invoice_flags_double_payment() {
    let mut target = sales("2026-0012", dec!(0.00));
    target.total_amount = dec!(150.00);
    let index = index_of(&[&target]);

    let decision = decide(&payment(dec!(150.00), "2026-0012"), &index);

    assert_eq!(decision.outcome, Outcome::PossibleDoublePayment);
    assert!(decision.allocations.is_empty());
    assert!(decision.suggestions.is_empty());
    assert_eq!(decision.reasons.matched_tokens.len(), 1);
    assert_eq!(decision.reasons.score.amount, 0);
    assert_eq!(
        decision.reasons.amount_check,
        "invoice 2026-0012 has no open amount (total 150.00), so payment 150.00 is not applied"
    );
}

#[test]
fn double_payment_suggests_open_named_invoices() {
    let paid = sales("2026-0012", dec!(0));
    let open = sales("2026-0013", dec!(75.00));
    let index = index_of(&[&paid, &open]);

    let decision = decide(&payment(dec!(150.00), "2026-0012 + 2026-0013"), &index);

    assert_eq!(decision.outcome, Outcome::PossibleDoublePayment);
    assert!(decision.allocations.is_empty());
    assert_eq!(decision.suggestions.len(), 1);
    assert_eq!(decision.suggestions[0].invoice_id, open.id);
}

#[test]
fn second_payment_after_update_is_double() {
    let target = sales("2026-0012", dec!(150.00));
    let mut index = index_of(&[&target]);
    let mutation = payment(dec!(150.00), "2026-0012");

    let first = decide(&mutation, &index);
    assert_eq!(first.outcome, Outcome::Exact);
    index.update_open_amount(target.id, first.allocations[0].open_after);

    let second = decide(&mutation, &index);
    assert_eq!(second.outcome, Outcome::PossibleDoublePayment);
}

#[test]
fn no_number_suggests_by_amount_and_iban() {
    let target = sales("2026-0012", dec!(150.00));
    let other_amount = sales("2026-0013", dec!(150.01));
    let other_customer = invoice(
        InvoiceKind::Sales,
        "2026-0014",
        dec!(150.00),
        Some(OTHER_IBAN),
    );
    let index = index_of(&[&target, &other_amount, &other_customer]);
    let mutation = Mutation {
        counterparty_iban: Some("nl91 abna 0417 1643 00"),
        ..payment(dec!(150.00), "bedankt voor de levering")
    };

    let decision = decide(&mutation, &index);

    assert_eq!(decision.outcome, Outcome::Suggested);
    assert!(
        decision.allocations.is_empty(),
        "suggestions are never booked"
    );
    assert_eq!(decision.suggestions.len(), 1);
    assert_eq!(decision.suggestions[0].invoice_id, target.id);
    assert_eq!(decision.suggestions[0].score, Score::new(0, 100, 100));
    assert_eq!(decision.reasons.score.total, 50);
    assert_eq!(decision.reasons.runner_up, None);
    assert!(decision.reasons.matched_tokens.is_empty());
}

#[test]
fn several_suggestions_give_runner_up() {
    let first = sales("2026-0020", dec!(25.00));
    let second = sales("2026-0021", dec!(25.00));
    let index = index_of(&[&second, &first]);
    let mutation = Mutation {
        counterparty_iban: Some(CUSTOMER_IBAN),
        ..payment(dec!(25.00), "contributie")
    };

    let decision = decide(&mutation, &index);

    assert_eq!(decision.outcome, Outcome::Suggested);
    let numbers: Vec<&str> = decision
        .suggestions
        .iter()
        .map(|suggestion| suggestion.invoice_number.as_str())
        .collect();
    assert_eq!(numbers, vec!["2026-0020", "2026-0021"]);
    assert_eq!(
        decision
            .reasons
            .runner_up
            .as_ref()
            .map(|runner_up| runner_up.invoice_id),
        Some(second.id)
    );
}

#[test]
fn no_number_without_candidate_is_unmatched() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);
    let cases = [
        (dec!(150.00), Some(OTHER_IBAN)),
        (dec!(149.99), Some(CUSTOMER_IBAN)),
        (dec!(150.00), None),
        (dec!(-150.00), Some(CUSTOMER_IBAN)),
    ];
    for (amount, iban) in cases {
        let mutation = Mutation {
            counterparty_iban: iban,
            ..payment(amount, "overboeking")
        };
        let decision = decide(&mutation, &index);
        assert_eq!(
            decision.outcome,
            Outcome::Unmatched,
            "amount {amount}, IBAN {iban:?}"
        );
        assert!(
            decision.suggestions.is_empty(),
            "amount {amount}, IBAN {iban:?}"
        );
        assert!(
            decision.allocations.is_empty(),
            "amount {amount}, IBAN {iban:?}"
        );
        assert_eq!(
            decision.reasons.score,
            Score::default(),
            "amount {amount}, IBAN {iban:?}"
        );
    }
}

#[test]
fn zero_amount_is_unmatched() {
    let target = sales("2026-0012", dec!(150.00));
    let index = index_of(&[&target]);

    let decision = decide(&payment(dec!(0.00), "2026-0012"), &index);

    assert_eq!(decision.outcome, Outcome::Unmatched);
    assert_eq!(decision.reasons.amount_check, "payment amount is zero");
}

#[test]
fn structured_reference_matches_payment_reference() {
    let mut target = sales("2026-0012", dec!(150.00));
    target.payment_reference = Some("5000 0567 8901 2345".to_owned());
    let index = index_of(&[&target]);
    let mutation = Mutation {
        structured_reference: Some("5000056789012345"),
        ..payment(dec!(150.00), "")
    };

    let decision = decide(&mutation, &index);

    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(allocated_ids(&decision), vec![target.id]);
    let matched = &decision.reasons.matched_tokens[0];
    assert_eq!(matched.field, MatchField::StructuredReference);
    assert_eq!(matched.rule, MatchRule::PaymentReference);
    assert_eq!(matched.token, "5000056789012345");
    assert_eq!(decision.reasons.score.reference, 100);
}

#[test]
fn payment_reference_found_in_remittance() {
    let mut kenmerk = sales("2026-0012", dec!(150.00));
    kenmerk.payment_reference = Some("5000056789012345".to_owned());
    let mut creditor_reference = sales("2026-0013", dec!(60.00));
    creditor_reference.payment_reference = Some("RF18 5390 0754 7034".to_owned());
    let index = index_of(&[&kenmerk, &creditor_reference]);
    let cases = [
        (
            "betalingskenmerk 5000 0567 8901 2345",
            kenmerk.id,
            dec!(150.00),
        ),
        ("kenmerk:5000056789012345.", kenmerk.id, dec!(150.00)),
        ("rf18 5390 0754 7034", creditor_reference.id, dec!(60.00)),
        ("/RF18539007547034/", creditor_reference.id, dec!(60.00)),
    ];
    for (text, id, amount) in cases {
        let decision = decide(&payment(amount, text), &index);
        assert_eq!(decision.outcome, Outcome::Exact, "text {text:?}");
        assert_eq!(allocated_ids(&decision), vec![id], "text {text:?}");
        assert_eq!(
            decision.reasons.matched_tokens[0].rule,
            MatchRule::PaymentReference,
            "text {text:?}"
        );
    }

    let longer = decide(&payment(dec!(150.00), "50000567890123456"), &index);
    assert_eq!(
        longer.outcome,
        Outcome::Unmatched,
        "a longer number is another reference"
    );
}

#[test]
fn grouped_code_does_not_name_its_groups() {
    let kenmerk_group = sales("0567", dec!(150.00));
    let iban_group = sales("0417", dec!(150.00));
    let creditor_reference_group = sales("5390", dec!(150.00));
    let index = index_of(&[&kenmerk_group, &iban_group, &creditor_reference_group]);
    let texts = [
        "betalingskenmerk 5000 0567 8901 2345",
        "van NL91 ABNA 0417 1643 00",
        "RF18 5390 0754 7034",
    ];
    for text in texts {
        let decision = decide(&payment(dec!(150.00), text), &index);
        assert_eq!(decision.outcome, Outcome::Unmatched, "text {text:?}");
        assert!(decision.allocations.is_empty(), "text {text:?}");
    }

    let invalid_check_digits = decide(&payment(dec!(150.00), "RF19 5390 0754 7034"), &index);
    assert_eq!(
        allocated_ids(&invalid_check_digits),
        vec![creditor_reference_group.id]
    );
    let alone = decide(&payment(dec!(150.00), "factuur 0567"), &index);
    assert_eq!(allocated_ids(&alone), vec![kenmerk_group.id]);
}

#[test]
fn end_to_end_id_and_structured_field_scanned() {
    let target = purchase("INV-88812", dec!(1210.00));
    let index = index_of(&[&target]);

    let by_end_to_end_id = Mutation {
        end_to_end_id: Some("INV-88812"),
        ..payment(dec!(-1210.00), "")
    };
    let decision = decide(&by_end_to_end_id, &index);
    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(
        decision.reasons.matched_tokens[0].field,
        MatchField::EndToEndId
    );
    assert_eq!(decision.reasons.matched_tokens[0].token, "INV-88812");

    let by_structured_field = Mutation {
        structured_reference: Some("INV-88812"),
        ..payment(dec!(-1210.00), "")
    };
    let decision = decide(&by_structured_field, &index);
    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(
        decision.reasons.matched_tokens[0].field,
        MatchField::StructuredReference
    );
}

#[test]
fn reasons_carry_score_and_runner_up() {
    let named = sales("2026-0012", dec!(150.00));
    let same_amount = sales("2026-0040", dec!(150.00));
    let index = index_of(&[&named, &same_amount]);
    let mutation = Mutation {
        counterparty_iban: Some(CUSTOMER_IBAN),
        ..payment(dec!(150.00), "factuur 2026-0012")
    };

    let decision = decide(&mutation, &index);

    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(decision.reasons.score, Score::new(100, 100, 100));
    assert_eq!(decision.reasons.score.total, 100);
    let runner_up = decision
        .reasons
        .runner_up
        .expect("an invoice with the same amount and IBAN");
    assert_eq!(runner_up.invoice_id, same_amount.id);
    assert_eq!(runner_up.score, Score::new(0, 100, 100));
}

#[test]
fn counterparty_decides_shared_number() {
    let ours = purchase("12345", dec!(500.00));
    let theirs = invoice(
        InvoiceKind::Purchase,
        "12345",
        dec!(500.00),
        Some(OTHER_IBAN),
    );
    let index = index_of(&[&theirs, &ours]);
    let mutation = Mutation {
        counterparty_iban: Some(SUPPLIER_IBAN),
        ..payment(dec!(-500.00), "factuur 12345")
    };

    let decision = decide(&mutation, &index);

    assert_eq!(decision.outcome, Outcome::Exact);
    assert_eq!(allocated_ids(&decision), vec![ours.id]);
    assert_eq!(decision.reasons.score.counterparty, 100);
    let runner_up = decision
        .reasons
        .runner_up
        .expect("the other supplier's invoice");
    assert_eq!(runner_up.invoice_id, theirs.id);
    assert_eq!(runner_up.score, Score::new(100, 100, 0));
}

#[test]
fn tied_shared_number_is_suggested() {
    let first = invoice(
        InvoiceKind::Purchase,
        "12345",
        dec!(500.00),
        Some(SUPPLIER_IBAN),
    );
    let second = invoice(
        InvoiceKind::Purchase,
        "12345",
        dec!(500.00),
        Some(OTHER_IBAN),
    );
    let index = index_of(&[&first, &second]);

    let decision = decide(&payment(dec!(-500.00), "factuur 12345"), &index);

    assert_eq!(decision.outcome, Outcome::Suggested);
    assert!(decision.allocations.is_empty());
    assert_eq!(decision.suggestions.len(), 2);
    assert_eq!(decision.reasons.matched_tokens.len(), 2);
    assert!(decision.reasons.runner_up.is_some());
    assert_eq!(
        decision.reasons.amount_check,
        "payment 500.00 is not applied because 2 invoices match equally well, with open amounts 500.00, 500.00"
    );
}

#[test]
fn tie_with_other_named_invoice_counts_tied_only() {
    let first = invoice(
        InvoiceKind::Purchase,
        "12345",
        dec!(500.00),
        Some(SUPPLIER_IBAN),
    );
    let second = invoice(
        InvoiceKind::Purchase,
        "12345",
        dec!(500.00),
        Some(OTHER_IBAN),
    );
    let other = purchase("INV-9", dec!(20.00));
    let index = index_of(&[&first, &second, &other]);

    let decision = decide(&payment(dec!(-520.00), "INV-9 en 12345"), &index);

    assert_eq!(decision.outcome, Outcome::Suggested);
    assert_eq!(
        decision.suggestions.len(),
        3,
        "every named invoice is proposed"
    );
    assert!(
        decision
            .reasons
            .amount_check
            .contains("because 2 invoices match equally well")
    );
    assert!(
        decision
            .reasons
            .summary
            .starts_with("Invoices 12345, 12345 match")
    );
}

#[test]
fn decision_round_trips_through_json() {
    let target = sales("2026-0012", dec!(150.00));
    let same_amount = sales("2026-0040", dec!(200.00));
    let index = index_of(&[&target, &same_amount]);
    let mutation = Mutation {
        counterparty_iban: Some(CUSTOMER_IBAN),
        ..payment(dec!(200.00), "F2026-0012")
    };
    let decision = decide(&mutation, &index);

    let json = serde_json::to_value(&decision).expect("a decision serialises");
    assert_eq!(json["outcome"], "overpaid");
    assert_eq!(json["reasons"]["matched_tokens"][0]["field"], "remittance");
    assert_eq!(
        json["reasons"]["matched_tokens"][0]["rule"],
        "number_variant"
    );
    assert_eq!(json["reasons"]["surplus"], "50.00");
    assert_eq!(json["allocations"][0]["amount"], "150.00");
    assert!(json["reasons"]["runner_up"]["score"]["total"].is_u64());

    let text = serde_json::to_string(&decision).expect("a decision serialises");
    let restored: Decision = serde_json::from_str(&text).expect("a decision deserialises");
    assert_eq!(restored, decision);
}

#[test]
fn outcome_names_are_snake_case() {
    let cases = [
        (Outcome::Exact, "exact"),
        (Outcome::Partial, "partial"),
        (Outcome::Overpaid, "overpaid"),
        (Outcome::PossibleDoublePayment, "possible_double_payment"),
        (Outcome::Suggested, "suggested"),
        (Outcome::Unmatched, "unmatched"),
    ];
    for (outcome, name) in cases {
        assert_eq!(serde_json::to_value(outcome).expect("serialises"), name);
    }
}

#[test]
fn score_choice_without_reference() {
    // The customer pays exactly the one open invoice: amount and counterparty both agree.
    let exact = crate::score_choice(
        dec!(150.00),
        Some("nl91 abna 0417 1643 00"),
        [(dec!(150.00), Some(CUSTOMER_IBAN))],
    );
    assert_eq!(exact, Score::new(0, 100, 100));
    // Money out pays a purchase invoice: the sign of the payment does not matter.
    let outgoing = crate::score_choice(
        dec!(-150.00),
        Some(SUPPLIER_IBAN),
        [(dec!(150.00), Some(SUPPLIER_IBAN))],
    );
    assert_eq!(outgoing, Score::new(0, 100, 100));
    // Two invoices together are compared with the payment; the weakest counterparty counts.
    let two = crate::score_choice(
        dec!(300.00),
        Some(CUSTOMER_IBAN),
        [
            (dec!(100.00), Some(CUSTOMER_IBAN)),
            (dec!(200.00), Some(OTHER_IBAN)),
        ],
    );
    assert_eq!(two, Score::new(0, 100, 0));
    // A partial payment from an unknown account.
    let partial = crate::score_choice(dec!(50.00), None, [(dec!(150.00), Some(CUSTOMER_IBAN))]);
    assert_eq!(partial, Score::new(0, 50, 50));
    assert_eq!(partial.total, 25);
}
