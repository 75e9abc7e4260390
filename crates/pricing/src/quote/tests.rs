use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::catalogue::{BANK_LINK_CODE, USERS_CODE};

fn codes(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|code| (*code).to_owned()).collect()
}

/// Builds the full example: CRM, Boekhouding, Facturatie, 12 users, Documentbeheer and the bank
/// link.
fn full_example() -> Basket {
    Basket {
        modules: codes(&["crm", "boekhouding", "facturatie"]),
        add_ons: codes(&["documentbeheer"]),
        bank_link: true,
        users: 12,
        ..Basket::default()
    }
}

fn users_total(quote: &Quote) -> Option<Decimal> {
    quote
        .lines
        .iter()
        .filter(|line| line.code == USERS_CODE)
        .map(|line| line.amount.map(|amount| amount.amount()))
        .sum()
}

#[test]
fn golden_users_line() {
    let catalogue = Catalogue::default_nl();
    let cases = [
        (1, Some(dec!(0.00))),
        (2, Some(dec!(10.00))),
        (11, Some(dec!(100.00))),
        (12, Some(dec!(108.00))),
        (21, Some(dec!(180.00))),
        (31, Some(dec!(244.00))),
        (41, Some(dec!(295.20))),
        (45, Some(dec!(311.60))),
        (50, Some(dec!(332.10))),
        (51, None),
    ];
    for (users, expected) in cases {
        let basket = Basket {
            users,
            ..Basket::default()
        };
        let quote = quote(&catalogue, &basket).unwrap();
        assert_eq!(users_total(&quote), expected, "{users} users");
    }
}

#[test]
fn golden_four_modules() {
    let basket = Basket {
        modules: codes(&["crm", "projecten-uren", "boekhouding", "facturatie"]),
        ..Basket::default()
    };
    let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
    assert_eq!(quote.net.amount(), dec!(55.00));
    assert_eq!(quote.status, QuoteStatus::Priced);
}

#[test]
fn golden_full_example() {
    let quote = quote(&Catalogue::default_nl(), &full_example()).unwrap();
    assert_eq!(quote.net.amount(), dec!(180.50));
    assert_eq!(quote.vat.len(), 1);
    assert_eq!(quote.vat[0].rate, dec!(0.21));
    assert_eq!(quote.vat[0].base.amount(), dec!(180.50));
    // 180.50 * 0.21 = 37.905, which rounds half away from zero.
    assert_eq!(quote.vat[0].amount.amount(), dec!(37.91));
    assert_eq!(quote.total.amount(), dec!(218.41));
    assert_eq!(quote.vat_treatment, VatTreatment::Domestic);
    assert!(!quote.reverse_charge);
    assert_eq!(quote.vat_note, None);
}

#[test]
fn full_example_lines_dutch() {
    let quote = quote(&Catalogue::default_nl(), &full_example()).unwrap();
    let rows: Vec<(&str, &str, Decimal, Decimal, &str)> = quote
        .lines
        .iter()
        .map(|line| {
            (
                line.code.as_str(),
                line.description.as_str(),
                line.quantity,
                line.amount.unwrap().amount(),
                line.explanation.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "crm",
                "CRM",
                dec!(1),
                dec!(15.00),
                "module, 15,00 per maand"
            ),
            (
                "boekhouding",
                "Boekhouding",
                dec!(1),
                dec!(15.00),
                "module, 15,00 per maand"
            ),
            (
                "facturatie",
                "Facturatie",
                dec!(1),
                dec!(10.00),
                "module, 10,00 per maand"
            ),
            (
                "documentbeheer",
                "Documentbeheer",
                dec!(1),
                dec!(7.50),
                "uitbreiding, 7,50 per maand"
            ),
            (
                BANK_LINK_CODE,
                "Automatische bankkoppeling",
                dec!(1),
                dec!(25.00),
                "per organisatie, tot 8 IBAN's, 25,00 per maand"
            ),
            (
                USERS_CODE,
                "Gebruikers",
                dec!(1),
                dec!(0.00),
                "gebruiker 1 inbegrepen"
            ),
            (
                USERS_CODE,
                "Gebruikers",
                dec!(10),
                dec!(100.00),
                "gebruikers 2-11 à 10,00"
            ),
            (
                USERS_CODE,
                "Gebruikers",
                dec!(1),
                dec!(8.00),
                "gebruiker 12 à 8,00, 20% staffelkorting"
            ),
        ]
    );
}

#[test]
fn full_example_lines_english() {
    let basket = Basket {
        language: Language::En,
        ..full_example()
    };
    let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
    let rows: Vec<(&str, &str)> = quote
        .lines
        .iter()
        .map(|line| (line.description.as_str(), line.explanation.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("CRM", "module, 15.00 a month"),
            ("Bookkeeping", "module, 15.00 a month"),
            ("Invoicing", "module, 10.00 a month"),
            ("Document management", "add-on, 7.50 a month"),
            (
                "Automatic bank link",
                "per organisation, up to 8 IBANs, 25.00 a month"
            ),
            ("Users", "user 1 included"),
            ("Users", "users 2-11 at 10.00"),
            ("Users", "user 12 at 8.00, 20% block discount"),
        ]
    );
    assert_eq!(quote.language, Language::En);
}

#[test]
fn custom_pricing_prices_other_lines() {
    let basket = Basket {
        users: 51,
        ..full_example()
    };
    let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
    assert_eq!(quote.status, QuoteStatus::CustomPricingRequired);
    assert_eq!(users_total(&quote), None);
    // CRM 15 + Boekhouding 15 + Facturatie 10 + Documentbeheer 7.50 + bank link 25.
    assert_eq!(quote.net.amount(), dec!(72.50));
    assert_eq!(quote.vat[0].amount.amount(), dec!(15.23));
    assert_eq!(quote.total.amount(), dec!(87.73));
}

#[test]
fn vat_treatment_texts() {
    let catalogue = Catalogue::default_nl();
    let cases = [
        (
            "BE",
            Some("BE 0123.456.789"),
            Language::Nl,
            "btw verlegd",
            true,
        ),
        (
            "DE",
            Some("DE123456789"),
            Language::En,
            "VAT reverse charged",
            true,
        ),
        ("US", None, Language::Nl, "buiten de EU", false),
        ("CH", None, Language::En, "outside the EU", false),
    ];
    for (country, vat_id, language, note, reverse_charge) in cases {
        let basket = Basket {
            country: country.to_owned(),
            vat_id: vat_id.map(str::to_owned),
            language,
            ..full_example()
        };
        let quote = quote(&catalogue, &basket).unwrap();
        assert_eq!(quote.vat_note.as_deref(), Some(note), "{country}");
        assert_eq!(quote.reverse_charge, reverse_charge, "{country}");
        assert_eq!(quote.vat.len(), 1, "{country}");
        assert_eq!(quote.vat[0].rate, dec!(0), "{country}");
        assert_eq!(quote.vat[0].amount.amount(), dec!(0.00), "{country}");
        assert_eq!(quote.total.amount(), dec!(180.50), "{country}");
    }
}

#[test]
fn reverse_charge_shows_vat_id() {
    let basket = Basket {
        country: "be".to_owned(),
        vat_id: Some("BE 0123.456.789".to_owned()),
        ..full_example()
    };
    let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
    assert_eq!(quote.customer_vat_id.as_deref(), Some("BE0123456789"));
}

#[test]
fn eu_consumer_pays_dutch_vat() {
    let basket = Basket {
        country: "BE".to_owned(),
        ..full_example()
    };
    let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
    assert!(!quote.reverse_charge);
    assert_eq!(quote.vat[0].amount.amount(), dec!(37.91));
}

#[test]
fn dutch_business_pays_vat() {
    let basket = Basket {
        vat_id: Some("NL123456789B01".to_owned()),
        ..full_example()
    };
    let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
    assert!(!quote.reverse_charge);
    assert_eq!(quote.customer_vat_id.as_deref(), Some("NL123456789B01"));
    assert_eq!(quote.total.amount(), dec!(218.41));
}

/// Builds a catalogue with a one-off training and an add-on whose VAT ends on half a cent.
fn catalogue_with_extras() -> Catalogue {
    let mut catalogue = Catalogue::default_nl();
    let from = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    catalogue.items.push(CatalogueItem {
        code: "training-basis".to_owned(),
        name_nl: "Basistraining".to_owned(),
        name_en: "Basic training".to_owned(),
        kind: ItemKind::OneOff,
        price: dec!(450.00),
        effective_from: from,
        requires_one_of: Vec::new(),
        max_ibans: None,
    });
    catalogue.items.push(CatalogueItem {
        code: "archief".to_owned(),
        name_nl: "Archief".to_owned(),
        name_en: "Archive".to_owned(),
        kind: ItemKind::AddOn,
        price: dec!(0.50),
        effective_from: from,
        requires_one_of: Vec::new(),
        max_ibans: None,
    });
    catalogue
}

#[test]
fn one_off_product_line() {
    let basket = Basket {
        modules: codes(&["crm"]),
        one_off_products: codes(&["training-basis"]),
        language: Language::En,
        ..Basket::default()
    };
    let quote = quote(&catalogue_with_extras(), &basket).unwrap();
    let last = quote.lines.last().unwrap();
    assert_eq!(last.kind, LineKind::OneOff);
    assert_eq!(last.description, "Basic training");
    assert_eq!(last.explanation, "one-off, 450.00");
    assert_eq!(quote.net.amount(), dec!(465.00));
}

#[test]
fn vat_half_cent_rounds_up() {
    let cases = [
        // 0.50 * 0.21 = 0.105.
        (vec!["archief"], dec!(0.50), dec!(0.11)),
        // 8.00 * 0.21 = 1.68 exactly, so nothing to round.
        (vec!["archief", "documentbeheer"], dec!(8.00), dec!(1.68)),
    ];
    for (add_ons, net, vat) in cases {
        let basket = Basket {
            add_ons: codes(&add_ons),
            ..Basket::default()
        };
        let quote = quote(&catalogue_with_extras(), &basket).unwrap();
        assert_eq!(quote.net.amount(), net, "{add_ons:?}");
        assert_eq!(quote.vat[0].amount.amount(), vat, "{add_ons:?}");
    }

    let basket = Basket {
        modules: codes(&["crm"]),
        add_ons: codes(&["archief"]),
        ..Basket::default()
    };
    let quote = quote(&catalogue_with_extras(), &basket).unwrap();
    // 15.50 * 0.21 = 3.255, where banker's rounding would give 3.25.
    assert_eq!(quote.vat[0].amount.amount(), dec!(3.26));
}

#[test]
fn vat_is_rounded_once_per_rate() {
    // Seven add-ons at 0.50 each: rounding per line would give 7 * 0.11 = 0.77, once gives
    // 3.50 * 0.21 = 0.735 -> 0.74.
    let mut catalogue = catalogue_with_extras();
    let archive = catalogue.item("archief").unwrap().clone();
    let mut add_ons = Vec::new();
    for index in 0..7 {
        let code = format!("archief-{index}");
        catalogue.items.push(CatalogueItem {
            code: code.clone(),
            ..archive.clone()
        });
        add_ons.push(code);
    }
    let basket = Basket {
        add_ons,
        ..Basket::default()
    };
    let quote = quote(&catalogue, &basket).unwrap();
    assert_eq!(quote.vat[0].amount.amount(), dec!(0.74));
}

#[test]
fn quote_serialises_to_json() {
    let quote = quote(&Catalogue::default_nl(), &full_example()).unwrap();
    let json = serde_json::to_value(&quote).unwrap();
    assert_eq!(json["total"]["amount"], "218.41");
    assert_eq!(json["status"], "priced");
}

#[test]
fn catalogue_errors() {
    let mut several = Catalogue::default_nl();
    several.items.push(several.items[1].clone());
    let mut no_users = Catalogue::default_nl();
    no_users.user_pricing.clear();
    let cases = [
        (
            several,
            QuoteError::SeveralVersions("projecten-uren".to_owned()),
            "catalogue has several versions of \"projecten-uren\": call Catalogue::effective_on to select the versions in force",
        ),
        (
            no_users,
            QuoteError::NoUserPricing,
            "catalogue has no user price table in force",
        ),
    ];
    for (catalogue, expected, message) in cases {
        let error = quote(&catalogue, &Basket::default()).unwrap_err();
        assert_eq!(error.to_string(), message);
        assert_eq!(error, expected);
    }
}

const ALL_MODULES: [&str; 6] = [
    "crm",
    "projecten-uren",
    "boekhouding",
    "handel",
    "personeelsmanagement",
    "facturatie",
];

prop_compose! {
    fn any_basket()(
        modules in proptest::sample::subsequence(ALL_MODULES.to_vec(), 0..=6),
        add_ons in proptest::sample::subsequence(vec!["documentbeheer", "voorraadbeheer"], 0..=2),
        bank_link in any::<bool>(),
        users in 1u32..=60,
        country in proptest::sample::select(vec!["NL", "BE", "US"]),
    ) -> Basket {
        let bank_link = bank_link && (modules.contains(&"boekhouding") || modules.contains(&"facturatie"));
        let vat_id = (country == "BE").then(|| "BE0123456789".to_owned());
        Basket {
            modules: codes(&modules),
            add_ons: codes(&add_ons),
            bank_link,
            users,
            country: country.to_owned(),
            vat_id,
            ..Basket::default()
        }
    }
}

proptest! {
    #[test]
    fn total_is_net_plus_vat(basket in any_basket()) {
        let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
        let vat: Decimal = quote.vat.iter().map(|vat| vat.amount.amount()).sum();
        prop_assert_eq!(quote.total.amount(), quote.net.amount() + vat);
    }

    #[test]
    fn net_is_sum_of_lines(basket in any_basket()) {
        let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
        let lines: Decimal = quote.lines.iter().filter_map(|line| line.amount).map(|amount| amount.amount()).sum();
        prop_assert_eq!(quote.net.amount(), lines);
    }

    #[test]
    fn users_line_never_decreases(users in 1u32..50) {
        let catalogue = Catalogue::default_nl();
        let price = |users| {
            let basket = Basket { users, ..Basket::default() };
            users_total(&quote(&catalogue, &basket).unwrap()).unwrap()
        };
        prop_assert!(price(users + 1) >= price(users));
    }

    #[test]
    fn vat_rounds_half_away_from_zero(cents in 1i64..1_000_000) {
        // Any net whose VAT has a fraction of a cent rounds to the nearest cent, a half up.
        let net = Decimal::new(cents, 2);
        let lines = [QuoteLine {
            code: "x".to_owned(),
            description: String::new(),
            kind: LineKind::AddOn,
            quantity: Decimal::ONE,
            unit_price: Some(Money::eur(net)),
            amount: Some(Money::eur(net)),
            vat_rate: dec!(0.21),
            explanation: String::new(),
        }];
        let vat = vat_per_rate(&lines, Currency::EUR)[0].amount.amount();
        let exact = net * dec!(0.21);
        let difference = vat - exact;
        prop_assert!(difference <= dec!(0.005) && difference > dec!(-0.005), "{} -> {}", exact, vat);
    }
}
