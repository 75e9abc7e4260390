use rust_decimal_macros::dec;

use super::*;

fn number(key: &str) -> NumberKey {
    NumberKey::from_ascii(key.as_bytes()).expect("short key")
}

fn invoice(number: &str, kind: InvoiceKind, open: Decimal) -> OpenInvoice {
    OpenInvoice {
        id: Uuid::new_v4(),
        kind,
        number: number.to_owned(),
        payment_reference: Some("5000 0567 8901 2345".to_owned()),
        counterparty_iban: Some("nl91 abna 0417 1643 00".to_owned()),
        open_amount: open,
        total_amount: open,
    }
}

fn iban() -> IbanKey {
    IbanKey::compact("NL91ABNA0417164300").expect("valid IBAN")
}

#[test]
fn insert_indexes_every_key() {
    let mut index = InvoiceIndex::new();
    let sales = invoice("2026/0012", InvoiceKind::Sales, dec!(150.00));
    index.insert(sales.clone());

    assert_eq!(index.len(), 1);
    assert_eq!(index.get(sales.id), Some(&sales));
    assert_eq!(
        index.slots_by_number(InvoiceKind::Sales, &number("2026-0012")),
        &[0]
    );
    assert!(
        index
            .slots_by_number(InvoiceKind::Purchase, &number("2026-0012"))
            .is_empty()
    );
    let reference = ReferenceKey::compact("5000056789012345").expect("short reference");
    assert_eq!(
        index.slots_by_payment_reference(InvoiceKind::Sales, &reference),
        &[0]
    );
    let by_amount = index.slots_by_counterparty_and_amount(InvoiceKind::Sales, &iban(), dec!(150));
    assert_eq!(by_amount, &[0]);
    assert!(index.may_have_number(InvoiceKind::Sales, 9, true));
    assert!(!index.may_have_number(InvoiceKind::Sales, 9, false));
    assert!(!index.may_have_number(InvoiceKind::Sales, 8, true));
    assert!(index.may_have_payment_reference(InvoiceKind::Sales, 16, b'5'));
    assert!(!index.may_have_payment_reference(InvoiceKind::Sales, 16, b'4'));
    assert!(!index.may_have_payment_reference(InvoiceKind::Sales, 15, b'5'));
    assert_eq!(index.number(0), "2026/0012");
    assert_eq!(index.id(0), sales.id);
    assert_eq!(index.open_amount(0), dec!(150.00));
}

#[test]
fn long_number_is_indexed_and_read() {
    let mut index = InvoiceIndex::new();
    let long_number = format!("INV-{}", "1234567890".repeat(4));
    let sales = invoice(&long_number, InvoiceKind::Sales, dec!(10));
    index.insert(sales);

    let key = long_number.to_ascii_lowercase();
    assert_eq!(index.slots_by_long_number(InvoiceKind::Sales, &key), &[0]);
    assert_eq!(index.number(0), long_number);
}

#[test]
fn update_open_amount_moves_suggestion_bucket() {
    let mut index = InvoiceIndex::new();
    let sales = invoice("2026-0012", InvoiceKind::Sales, dec!(150.00));
    index.insert(sales.clone());
    let customer = &iban();

    index.update_open_amount(sales.id, dec!(50.00));
    assert!(
        index
            .slots_by_counterparty_and_amount(InvoiceKind::Sales, customer, dec!(150.00))
            .is_empty()
    );
    assert_eq!(
        index.slots_by_counterparty_and_amount(InvoiceKind::Sales, customer, dec!(50.00)),
        &[0]
    );
    assert_eq!(index.open_amount(0), dec!(50.00));

    index.update_open_amount(sales.id, dec!(-1));
    assert_eq!(
        index.get(sales.id).map(|stored| stored.open_amount),
        Some(Decimal::ZERO)
    );
    assert!(
        index
            .slots_by_counterparty_and_amount(InvoiceKind::Sales, customer, dec!(50.00))
            .is_empty()
    );
    assert_eq!(
        index.slots_by_number(InvoiceKind::Sales, &number("2026-0012")),
        &[0],
        "a paid invoice stays findable by number"
    );

    index.update_open_amount(Uuid::new_v4(), dec!(10));
    assert_eq!(index.len(), 1);
}

#[test]
fn shares_open_amount_follows_bucket() {
    let mut index = InvoiceIndex::new();
    let first = invoice("2026-0001", InvoiceKind::Sales, dec!(25.00));
    let second = invoice("2026-0002", InvoiceKind::Sales, dec!(25));
    index.insert(first.clone());
    assert!(!index.shares_open_amount(0));

    index.insert(second.clone());
    assert!(
        index.shares_open_amount(0),
        "25.00 and 25 are the same amount"
    );
    assert!(index.shares_open_amount(1));

    index.update_open_amount(second.id, dec!(10));
    assert!(!index.shares_open_amount(0));
    assert!(!index.shares_open_amount(1));

    index.update_open_amount(second.id, dec!(25.0));
    assert!(index.shares_open_amount(0));
    index.remove(first.id);
    assert!(
        !index.shares_open_amount(0),
        "the second invoice moved to slot 0 and is alone"
    );
}

#[test]
fn insert_with_same_id_replaces() {
    let mut index = InvoiceIndex::new();
    let mut sales = invoice("2026-0012", InvoiceKind::Sales, dec!(150.00));
    index.insert(sales.clone());
    sales.number = "2026-0099".to_owned();
    sales.kind = InvoiceKind::Purchase;
    index.insert(sales.clone());

    assert_eq!(index.len(), 1);
    assert!(
        index
            .slots_by_number(InvoiceKind::Sales, &number("2026-0012"))
            .is_empty()
    );
    assert_eq!(
        index.slots_by_number(InvoiceKind::Purchase, &number("2026-0099")),
        &[0]
    );
    assert!(!index.may_have_number(InvoiceKind::Sales, 9, true));
}

#[test]
fn remove_repoints_moved_invoice() {
    let mut index = InvoiceIndex::new();
    let first = invoice("2026-0001", InvoiceKind::Sales, dec!(10));
    let second = invoice("2026-0002", InvoiceKind::Sales, dec!(20));
    let third = invoice("2026-0003", InvoiceKind::Sales, dec!(30));
    for stored in [&first, &second, &third] {
        index.insert(stored.clone());
    }

    assert_eq!(index.remove(first.id), Some(first.clone()));
    assert_eq!(index.remove(first.id), None);
    assert_eq!(index.len(), 2);
    assert_eq!(index.get(third.id), Some(&third));
    assert!(
        index
            .slots_by_number(InvoiceKind::Sales, &number("2026-0001"))
            .is_empty()
    );
    let third_slot = index.slots_by_number(InvoiceKind::Sales, &number("2026-0003"))[0];
    assert_eq!(index.id(third_slot), third.id);
    assert_eq!(index.number(third_slot), "2026-0003");
    let by_amount = index.slots_by_counterparty_and_amount(InvoiceKind::Sales, &iban(), dec!(30));
    assert_eq!(by_amount, &[third_slot]);

    assert_eq!(index.remove(third.id), Some(third));
    assert_eq!(index.remove(second.id), Some(second));
    assert!(index.is_empty());
}
