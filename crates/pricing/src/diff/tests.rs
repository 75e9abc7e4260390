use rust_decimal_macros::dec;

use super::*;
use crate::catalogue::{BANK_LINK_CODE, USERS_CODE};

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn basket(modules: &[&str], users: u32) -> Basket {
    Basket {
        modules: modules.iter().map(|code| (*code).to_owned()).collect(),
        users,
        ..Basket::default()
    }
}

fn line<'a>(diff: &'a QuoteDiff, code: &str) -> &'a DiffLine {
    diff.lines.iter().find(|line| line.code == code).unwrap()
}

#[test]
fn billing_month_days() {
    let cases = [
        (2026, 1, 31),
        (2026, 2, 28),
        (2028, 2, 29),
        (2026, 4, 30),
        (2026, 12, 31),
    ];
    for (year, month, days) in cases {
        let billing_month = BillingMonth::new(year, month).unwrap();
        assert_eq!(billing_month.days(), days, "{billing_month}");
        assert_eq!(billing_month.last_day().day(), days, "{billing_month}");
    }
    assert_eq!(
        BillingMonth::new(2026, 13),
        Err(QuoteError::InvalidBillingMonth {
            year: 2026,
            month: 13
        })
    );
}

#[test]
fn added_module_prorated_by_day() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 3).unwrap();
    // March has 31 days. Each case: change day, days remaining, prorated CRM at 15.00 a month.
    let cases = [
        (1, 31, dec!(15.00)),
        (12, 20, dec!(9.68)),
        (16, 16, dec!(7.74)),
        (31, 1, dec!(0.48)),
    ];
    for (day, remaining, expected) in cases {
        let before = basket(&["boekhouding"], 1);
        let after = basket(&["boekhouding", "crm"], 1);
        let diff = diff(&catalogue, &before, &after, date(2026, 3, day), month).unwrap();
        assert_eq!(diff.days_remaining, remaining, "day {day}");
        assert_eq!(diff.days_in_month, 31, "day {day}");
        let crm = line(&diff, "crm");
        assert_eq!(crm.change, Change::Added, "day {day}");
        assert_eq!(crm.before, None, "day {day}");
        assert_eq!(crm.prorated_amount.unwrap().amount(), expected, "day {day}");
        assert_eq!(diff.prorated_total.amount(), expected, "day {day}");
        assert_eq!(line(&diff, "boekhouding").change, Change::Unchanged);
    }
}

#[test]
fn prorating_rounds_half_away_from_zero() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 2).unwrap();
    // February 2026 has 28 days. Each case: change day, added add-on or option, prorated amount.
    let cases = [
        // 7.50 * 21 / 28 = 5.625, where banker's rounding would give 5.62.
        (8, "documentbeheer", dec!(5.63)),
        // 7.50 * 7 / 28 = 1.875.
        (22, "documentbeheer", dec!(1.88)),
        // 25.00 * 17 / 28 = 15.178571...
        (12, BANK_LINK_CODE, dec!(15.18)),
    ];
    for (day, code, expected) in cases {
        let before = basket(&["boekhouding"], 1);
        let mut after = basket(&["boekhouding"], 1);
        if code == BANK_LINK_CODE {
            after.bank_link = true;
        } else {
            after.add_ons.push(code.to_owned());
        }
        let diff = diff(&catalogue, &before, &after, date(2026, 2, day), month).unwrap();
        let added = line(&diff, code);
        assert_eq!(added.change, Change::Added, "{code} on day {day}");
        assert_eq!(
            added.prorated_amount.unwrap().amount(),
            expected,
            "{code} on day {day}"
        );
    }
}

#[test]
fn added_users_prorate_the_difference() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 4).unwrap();
    let before = basket(&["crm"], 11);
    let after = basket(&["crm"], 21);
    // 100.00 -> 180.00, difference 80.00 * 15 / 30 = 40.00.
    let diff = diff(&catalogue, &before, &after, date(2026, 4, 16), month).unwrap();
    let users = line(&diff, USERS_CODE);
    assert_eq!(users.change, Change::Increased);
    assert_eq!(users.before.as_ref().unwrap().quantity, dec!(11));
    assert_eq!(users.after.as_ref().unwrap().quantity, dec!(21));
    assert_eq!(
        users.after.as_ref().unwrap().amount.unwrap().amount(),
        dec!(180.00)
    );
    assert_eq!(users.prorated_amount.unwrap().amount(), dec!(40.00));
    assert_eq!(
        users.explanation,
        "80,00 per maand × 15/30 dagen (16-04-2026 t/m 30-04-2026)"
    );
}

#[test]
fn removals_take_effect_at_month_end() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 4).unwrap();
    let before = basket(&["crm", "handel"], 21);
    let cases = [
        (
            Language::Nl,
            "gaat in na het einde van de betaalde maand (30-04-2026), geen restitutie",
        ),
        (
            Language::En,
            "takes effect after the end of the paid month (2026-04-30), no refund",
        ),
    ];
    for (language, expected) in cases {
        let after = Basket {
            language,
            ..basket(&["crm"], 11)
        };
        let diff = diff(&catalogue, &before, &after, date(2026, 4, 10), month).unwrap();
        let handel = line(&diff, "handel");
        assert_eq!(handel.change, Change::Removed);
        assert_eq!(handel.after, None);
        assert_eq!(handel.prorated_amount.unwrap().amount(), dec!(0.00));
        assert_eq!(handel.explanation, expected);
        let users = line(&diff, USERS_CODE);
        assert_eq!(users.change, Change::Decreased);
        assert_eq!(users.prorated_amount.unwrap().amount(), dec!(0.00));
        assert_eq!(diff.prorated_total.amount(), dec!(0.00));
    }
}

#[test]
fn english_explanation_of_addition() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 3).unwrap();
    let before = basket(&["crm"], 1);
    let after = Basket {
        language: Language::En,
        ..basket(&["crm", "facturatie"], 1)
    };
    let diff = diff(&catalogue, &before, &after, date(2026, 3, 12), month).unwrap();
    let facturatie = line(&diff, "facturatie");
    assert_eq!(facturatie.description, "Invoicing");
    assert_eq!(
        facturatie.explanation,
        "10.00 a month × 20/31 days (2026-03-12 to 2026-03-31)"
    );
    assert_eq!(facturatie.prorated_amount.unwrap().amount(), dec!(6.45));
}

#[test]
fn custom_pricing_left_to_sales() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 3).unwrap();
    let before = basket(&["crm"], 40);
    let after = basket(&["crm"], 60);
    let diff = diff(&catalogue, &before, &after, date(2026, 3, 12), month).unwrap();
    let users = line(&diff, USERS_CODE);
    assert_eq!(users.change, Change::Increased);
    assert_eq!(users.prorated_amount, None);
    assert_eq!(
        users.explanation,
        "prijs op maat: het bedrag naar rato stelt verkoop vast"
    );
    assert_eq!(diff.prorated_total.amount(), dec!(0.00));
}

#[test]
fn change_outside_month_rejected() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 3).unwrap();
    let before = basket(&["crm"], 1);
    let error = diff(&catalogue, &before, &before, date(2026, 4, 1), month).unwrap_err();
    assert_eq!(
        error.to_string(),
        "change date 2026-04-01 is outside the billing month 2026-03"
    );
}

#[test]
fn invalid_basket_rejected() {
    let catalogue = Catalogue::default_nl();
    let month = BillingMonth::new(2026, 3).unwrap();
    let before = basket(&["crm"], 1);
    let after = basket(&["crm"], 0);
    let error = diff(&catalogue, &before, &after, date(2026, 3, 5), month).unwrap_err();
    assert_eq!(error, QuoteError::ZeroUsers);
}

#[test]
fn uses_prices_in_force_on_change_date() {
    let mut catalogue = Catalogue::default_nl();
    let mut raised = catalogue.item("crm").unwrap().clone();
    raised.price = dec!(31.00);
    raised.effective_from = date(2026, 3, 1);
    catalogue.items.push(raised);
    let month = BillingMonth::new(2026, 3).unwrap();
    let before = basket(&[], 1);
    let after = basket(&["crm"], 1);
    // 31.00 * 11 / 31 = 11.00.
    let diff = diff(&catalogue, &before, &after, date(2026, 3, 21), month).unwrap();
    assert_eq!(
        line(&diff, "crm").prorated_amount.unwrap().amount(),
        dec!(11.00)
    );
}

#[test]
fn one_off_product_charged_in_full() {
    let mut catalogue = Catalogue::default_nl();
    let mut training = catalogue.item("crm").unwrap().clone();
    training.code = "training-basis".to_owned();
    training.kind = crate::catalogue::ItemKind::OneOff;
    training.price = dec!(450.00);
    catalogue.items.push(training);
    let month = BillingMonth::new(2026, 3).unwrap();
    let before = basket(&["crm"], 1);
    let after = Basket {
        one_off_products: vec!["training-basis".to_owned()],
        ..basket(&["crm"], 1)
    };

    let added = diff(&catalogue, &before, &after, date(2026, 3, 20), month).unwrap();
    let line_added = line(&added, "training-basis");
    assert_eq!(line_added.change, Change::Added);
    assert_eq!(line_added.prorated_amount.unwrap().amount(), dec!(450.00));
    assert_eq!(
        line_added.explanation,
        "eenmalig, volledig in rekening gebracht"
    );

    let removed = diff(&catalogue, &after, &before, date(2026, 3, 20), month).unwrap();
    let line_removed = line(&removed, "training-basis");
    assert_eq!(line_removed.change, Change::Removed);
    assert_eq!(line_removed.prorated_amount.unwrap().amount(), dec!(0.00));
    assert_eq!(
        line_removed.explanation,
        "eenmalig, niets in rekening gebracht"
    );
}
