//! The catalogue: every priced item, the graduated user blocks and the VAT rate, as versioned data.
//!
//! Prices live here and nowhere in the pricing logic. Each item and each user price table carries
//! the date from which it is in force, so a catalogue can contain several versions of one item and
//! [`Catalogue::effective_on`] selects the versions in force on a date.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dk_domain::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::QuoteError;

/// Code of the automatic bank link, the option that [`crate::Basket::bank_link`] switches on.
pub const BANK_LINK_CODE: &str = "automatische-bankkoppeling";

/// Code of the users lines on a quote.
pub const USERS_CODE: &str = "gebruikers";

/// What kind of product a catalogue item is, which decides how a basket names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A module, priced per month.
    Module,
    /// An add-on to the modules, priced per month.
    AddOn,
    /// An option bought once per organisation, priced per month.
    OrganisationOption,
    /// A product bought once, such as an implementation package or a training.
    OneOff,
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ItemKind::Module => "module",
            ItemKind::AddOn => "add-on",
            ItemKind::OrganisationOption => "organisation option",
            ItemKind::OneOff => "one-off product",
        })
    }
}

/// One version of a catalogue item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    /// Stable code used in baskets and on quote lines (`crm`).
    pub code: String,
    /// Dutch name (`Projecten & Uren`).
    pub name_nl: String,
    /// English name (`Projects and hours`).
    pub name_en: String,
    pub kind: ItemKind,
    /// Price excluding VAT: per month, or once for [`ItemKind::OneOff`].
    pub price: Decimal,
    /// First day on which this version is in force.
    pub effective_from: NaiveDate,
    /// Module codes of which the basket must contain at least one. An empty list means no
    /// prerequisite.
    #[serde(default)]
    pub requires_one_of: Vec<String>,
    /// Maximum number of IBANs the item covers, for the automatic bank link.
    #[serde(default)]
    pub max_ibans: Option<u32>,
}

/// One graduated block of extra users, each at its own unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserBlock {
    /// Number of extra users the block covers.
    pub size: u32,
    /// Monthly price per user in this block, excluding VAT, already rounded to cents.
    pub unit_price: Decimal,
}

/// One version of the user price table.
///
/// Users beyond the included ones fill the blocks in order. A count beyond the last block has no
/// automatic price and needs custom pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPricing {
    /// First day on which this version is in force.
    pub effective_from: NaiveDate,
    /// Users included in the licence at no charge.
    pub included_users: u32,
    pub blocks: Vec<UserBlock>,
}

impl UserPricing {
    /// Returns the largest total user count that has an automatic price.
    pub fn max_priced_users(&self) -> u32 {
        self.included_users + self.blocks.iter().map(|block| block.size).sum::<u32>()
    }
}

/// All items and user prices, with the VAT rate of the seller's country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub currency: Currency,
    /// ISO 3166 alpha-2 code of the seller's country, whose VAT applies at home.
    pub seller_country: String,
    /// Standard VAT rate of the seller's country as a fraction (0.21 for 21%).
    pub vat_rate: Decimal,
    pub items: Vec<CatalogueItem>,
    pub user_pricing: Vec<UserPricing>,
}

impl Catalogue {
    /// Builds the default Dutch catalogue, in force from 1 January 2024.
    ///
    /// It has no one-off products, because their prices are set per product by sales.
    pub fn default_nl() -> Self {
        let from = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
        let item = |code: &str, name_nl: &str, name_en: &str, kind, price: Decimal| CatalogueItem {
            code: code.to_owned(),
            name_nl: name_nl.to_owned(),
            name_en: name_en.to_owned(),
            kind,
            price,
            effective_from: from,
            requires_one_of: Vec::new(),
            max_ibans: None,
        };
        let fifteen = Decimal::new(1500, 2);
        let seven_fifty = Decimal::new(750, 2);
        let mut bank_link = item(
            BANK_LINK_CODE,
            "Automatische bankkoppeling",
            "Automatic bank link",
            ItemKind::OrganisationOption,
            Decimal::new(2500, 2),
        );
        bank_link.requires_one_of = vec!["boekhouding".to_owned(), "facturatie".to_owned()];
        bank_link.max_ibans = Some(8);

        let block = |size, cents| UserBlock {
            size,
            unit_price: Decimal::new(cents, 2),
        };
        Self {
            currency: Currency::EUR,
            seller_country: "NL".to_owned(),
            vat_rate: Decimal::new(21, 2),
            items: vec![
                item("crm", "CRM", "CRM", ItemKind::Module, fifteen),
                item(
                    "projecten-uren",
                    "Projecten & Uren",
                    "Projects and hours",
                    ItemKind::Module,
                    fifteen,
                ),
                item(
                    "boekhouding",
                    "Boekhouding",
                    "Bookkeeping",
                    ItemKind::Module,
                    fifteen,
                ),
                item("handel", "Handel", "Trade", ItemKind::Module, fifteen),
                item(
                    "personeelsmanagement",
                    "Personeelsmanagement",
                    "HR management",
                    ItemKind::Module,
                    fifteen,
                ),
                item(
                    "facturatie",
                    "Facturatie",
                    "Invoicing",
                    ItemKind::Module,
                    Decimal::new(1000, 2),
                ),
                item(
                    "documentbeheer",
                    "Documentbeheer",
                    "Document management",
                    ItemKind::AddOn,
                    seven_fifty,
                ),
                item(
                    "voorraadbeheer",
                    "Voorraadbeheer",
                    "Inventory management",
                    ItemKind::AddOn,
                    seven_fifty,
                ),
                bank_link,
            ],
            user_pricing: vec![UserPricing {
                effective_from: from,
                included_users: 1,
                blocks: vec![
                    block(10, 1000),
                    block(10, 800),
                    block(10, 640),
                    block(10, 512),
                    block(9, 410),
                ],
            }],
        }
    }

    /// Returns a catalogue with, per item code, only the version in force on `date` (the latest
    /// `effective_from` not after it), and likewise for the user price table. Items with no
    /// version in force yet are left out.
    pub fn effective_on(&self, date: NaiveDate) -> Catalogue {
        let mut latest: BTreeMap<&str, &CatalogueItem> = BTreeMap::new();
        for item in self.items.iter().filter(|item| item.effective_from <= date) {
            let entry = latest.entry(item.code.as_str()).or_insert(item);
            if item.effective_from > entry.effective_from {
                *entry = item;
            }
        }
        // Keep the catalogue's order of first appearance, so quotes list items predictably.
        let mut items = Vec::new();
        for item in &self.items {
            if let Some(chosen) = latest.remove(item.code.as_str()) {
                items.push(chosen.clone());
            }
        }
        let user_pricing = self
            .user_pricing
            .iter()
            .filter(|pricing| pricing.effective_from <= date)
            .max_by_key(|pricing| pricing.effective_from)
            .cloned()
            .into_iter()
            .collect();
        Catalogue {
            items,
            user_pricing,
            ..self.clone()
        }
    }

    /// Finds the item with `code`, the first version if there are several.
    pub fn item(&self, code: &str) -> Option<&CatalogueItem> {
        self.items.iter().find(|item| item.code == code)
    }

    /// Lists the codes of all items of one kind, in catalogue order.
    pub fn codes_of(&self, kind: ItemKind) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for item in self.items.iter().filter(|item| item.kind == kind) {
            if !codes.contains(&item.code) {
                codes.push(item.code.clone());
            }
        }
        codes
    }

    /// Returns the maximum number of IBANs the automatic bank link covers, if it is in the
    /// catalogue.
    pub fn bank_link_max_ibans(&self) -> Option<u32> {
        self.item(BANK_LINK_CODE).and_then(|item| item.max_ibans)
    }

    /// Checks that the automatic bank link covers `ibans` linked IBANs, so a ninth IBAN is
    /// rejected under the default cap of 8. Manually imported statements have no cap and need no
    /// check.
    pub fn check_bank_link_ibans(&self, ibans: u32) -> Result<(), QuoteError> {
        let bank_link = self
            .item(BANK_LINK_CODE)
            .ok_or(QuoteError::BankLinkNotInCatalogue)?;
        match bank_link.max_ibans {
            Some(max) if ibans > max => Err(QuoteError::TooManyIbans { count: ibans, max }),
            _ => Ok(()),
        }
    }

    /// Returns the first code that has more than one version, if any.
    pub(crate) fn first_versioned_code(&self) -> Option<&str> {
        self.items.iter().enumerate().find_map(|(index, item)| {
            self.items[..index]
                .iter()
                .any(|earlier| earlier.code == item.code)
                .then_some(item.code.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn default_prices_match_table() {
        let catalogue = Catalogue::default_nl();
        let cases = [
            ("crm", ItemKind::Module, dec!(15.00)),
            ("projecten-uren", ItemKind::Module, dec!(15.00)),
            ("boekhouding", ItemKind::Module, dec!(15.00)),
            ("handel", ItemKind::Module, dec!(15.00)),
            ("personeelsmanagement", ItemKind::Module, dec!(15.00)),
            ("facturatie", ItemKind::Module, dec!(10.00)),
            ("documentbeheer", ItemKind::AddOn, dec!(7.50)),
            ("voorraadbeheer", ItemKind::AddOn, dec!(7.50)),
            (BANK_LINK_CODE, ItemKind::OrganisationOption, dec!(25.00)),
        ];
        assert_eq!(catalogue.items.len(), cases.len());
        for (code, kind, price) in cases {
            let item = catalogue.item(code).unwrap();
            assert_eq!(item.kind, kind, "{code}");
            assert_eq!(item.price, price, "{code}");
        }
    }

    #[test]
    fn default_user_blocks() {
        let catalogue = Catalogue::default_nl();
        let pricing = &catalogue.user_pricing[0];
        let prices: Vec<Decimal> = pricing.blocks.iter().map(|b| b.unit_price).collect();
        assert_eq!(
            prices,
            [dec!(10.00), dec!(8.00), dec!(6.40), dec!(5.12), dec!(4.10)]
        );
        assert_eq!(pricing.included_users, 1);
        assert_eq!(pricing.max_priced_users(), 50);
    }

    #[test]
    fn default_bank_link_terms() {
        let catalogue = Catalogue::default_nl();
        assert_eq!(catalogue.bank_link_max_ibans(), Some(8));
        let bank_link = catalogue.item(BANK_LINK_CODE).unwrap();
        assert_eq!(bank_link.requires_one_of, ["boekhouding", "facturatie"]);
    }

    #[test]
    fn bank_link_iban_cap() {
        let catalogue = Catalogue::default_nl();
        for ibans in 0..=8 {
            assert_eq!(catalogue.check_bank_link_ibans(ibans), Ok(()), "{ibans}");
        }
        let error = catalogue.check_bank_link_ibans(9).unwrap_err();
        assert_eq!(error, QuoteError::TooManyIbans { count: 9, max: 8 });
        assert_eq!(
            error.to_string(),
            "too many IBANs for the automatic bank link: 9 requested, at most 8 per licence; \
             import statement files for the other accounts"
        );
    }

    #[test]
    fn effective_on_picks_version_in_force() {
        let mut catalogue = Catalogue::default_nl();
        let mut raised = catalogue.item("crm").unwrap().clone();
        raised.price = dec!(17.50);
        raised.effective_from = date(2027, 1, 1);
        catalogue.items.push(raised);
        assert_eq!(catalogue.first_versioned_code(), Some("crm"));

        let cases = [
            (date(2026, 12, 31), dec!(15.00)),
            (date(2027, 1, 1), dec!(17.50)),
            (date(2030, 6, 1), dec!(17.50)),
        ];
        for (on, expected) in cases {
            let in_force = catalogue.effective_on(on);
            assert_eq!(in_force.item("crm").unwrap().price, expected, "{on}");
            assert_eq!(in_force.first_versioned_code(), None, "{on}");
            assert_eq!(in_force.items.len(), 9, "{on}");
        }
    }

    #[test]
    fn effective_on_drops_future_items() {
        let catalogue = Catalogue::default_nl().effective_on(date(2023, 12, 31));
        assert!(catalogue.items.is_empty());
        assert!(catalogue.user_pricing.is_empty());
    }

    #[test]
    fn serde_round_trip() {
        let catalogue = Catalogue::default_nl();
        let json = serde_json::to_string(&catalogue).unwrap();
        assert!(json.contains("\"organisation_option\""), "{json}");
        let back: Catalogue = serde_json::from_str(&json).unwrap();
        assert_eq!(back, catalogue);
    }
}
