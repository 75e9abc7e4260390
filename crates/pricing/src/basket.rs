//! The basket of a quote request, and its validation against a catalogue.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalogue::{BANK_LINK_CODE, Catalogue, CatalogueItem, ItemKind};
use crate::error::QuoteError;
use crate::language::Language;
use crate::vat::{self, VatTreatment};

/// A quote request: the items to license, the user count, and the customer's country, VAT id
/// and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Basket {
    /// Module codes (`crm`, `boekhouding`).
    pub modules: Vec<String>,
    /// Add-on codes (`documentbeheer`).
    pub add_ons: Vec<String>,
    /// Whether the automatic bank link is included.
    pub bank_link: bool,
    /// Codes of one-off products such as implementation packages and trainings.
    pub one_off_products: Vec<String>,
    /// Total number of users, the included ones counted.
    pub users: u32,
    /// Monthly price per extra user that a sales employee set, used only when `users` is beyond
    /// the last block of the user price table.
    pub custom_user_price: Option<Decimal>,
    /// ISO 3166 alpha-2 code of the customer's country, case-insensitive.
    pub country: String,
    /// The customer's VAT id, if the customer is a business that has one.
    pub vat_id: Option<String>,
    pub language: Language,
}

impl Default for Basket {
    /// Returns an empty basket of a Dutch customer with one user, quoted in Dutch.
    fn default() -> Self {
        Self {
            modules: Vec::new(),
            add_ons: Vec::new(),
            bank_link: false,
            one_off_products: Vec::new(),
            users: 1,
            custom_user_price: None,
            country: "NL".to_owned(),
            vat_id: None,
            language: Language::Nl,
        }
    }
}

/// A basket whose codes are known and whose customer data are valid.
pub(crate) struct CheckedBasket<'a> {
    /// Catalogue items in quote order: modules, add-ons, the bank link, one-off products.
    pub items: Vec<&'a CatalogueItem>,
    pub treatment: VatTreatment,
    /// The VAT id, normalised when it was checked.
    pub vat_id: Option<String>,
}

impl Basket {
    /// Checks the basket against a catalogue that contains one version per item.
    pub(crate) fn check<'a>(
        &self,
        catalogue: &'a Catalogue,
    ) -> Result<CheckedBasket<'a>, QuoteError> {
        if let Some(code) = catalogue.first_versioned_code() {
            return Err(QuoteError::SeveralVersions(code.to_owned()));
        }
        if self.users == 0 {
            return Err(QuoteError::ZeroUsers);
        }

        let requested = [
            (ItemKind::Module, &self.modules),
            (ItemKind::AddOn, &self.add_ons),
            (ItemKind::OneOff, &self.one_off_products),
        ];
        let mut seen: Vec<String> = Vec::new();
        let mut items = Vec::new();
        for (kind, codes) in requested {
            for code in codes {
                // Codes are lower case in the catalogue; `CRM` means `crm`, as in a licence change.
                let code = code.trim().to_lowercase();
                if seen.contains(&code) {
                    return Err(QuoteError::DuplicateCode(code));
                }
                seen.push(code.clone());
                let item = catalogue
                    .item(&code)
                    .filter(|item| item.kind == kind)
                    .ok_or_else(|| QuoteError::UnknownCode {
                        kind,
                        code: code.clone(),
                        valid: catalogue.codes_of(kind),
                    })?;
                items.push(item);
            }
        }

        if self.bank_link {
            let bank_link = catalogue
                .item(BANK_LINK_CODE)
                .ok_or(QuoteError::BankLinkNotInCatalogue)?;
            let required = &bank_link.requires_one_of;
            if !required.is_empty() && !items.iter().any(|item| required.contains(&item.code)) {
                return Err(QuoteError::BankLinkWithoutModule {
                    required: required.clone(),
                });
            }
            // The bank link goes after the add-ons, before the one-off products.
            let position = self.modules.len() + self.add_ons.len();
            items.insert(position, bank_link);
        }

        let country = vat::parse_country(&self.country)?;
        let vat_id = match self.vat_id.as_deref().map(str::trim) {
            None | Some("") => None,
            // NOTE: a tax id of a customer outside the EU is kept as given, because its format
            // is not an EU VAT format.
            Some(vat_id) if !vat::is_eu(&country) => Some(vat_id.to_owned()),
            Some(vat_id) => Some(vat::validate_vat_id(vat_id, &country)?),
        };
        let treatment = vat::treatment(&country, vat_id.as_deref(), &catalogue.seller_country);
        Ok(CheckedBasket {
            items,
            treatment,
            vat_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basket() -> Basket {
        Basket {
            modules: vec!["crm".to_owned(), "boekhouding".to_owned()],
            add_ons: vec!["documentbeheer".to_owned()],
            bank_link: true,
            ..Basket::default()
        }
    }

    #[test]
    fn items_in_quote_order() {
        let catalogue = Catalogue::default_nl();
        let basket = basket();
        let checked = basket.check(&catalogue).unwrap();
        let codes: Vec<&str> = checked
            .items
            .iter()
            .map(|item| item.code.as_str())
            .collect();
        assert_eq!(
            codes,
            ["crm", "boekhouding", "documentbeheer", BANK_LINK_CODE]
        );
        assert_eq!(checked.treatment, VatTreatment::Domestic);

        let upper_case = Basket {
            modules: vec!["CRM".to_owned(), " Boekhouding ".to_owned()],
            add_ons: vec!["DocumentBeheer".to_owned()],
            ..basket.clone()
        };
        let checked = upper_case.check(&catalogue).unwrap();
        let upper_codes: Vec<&str> = checked
            .items
            .iter()
            .map(|item| item.code.as_str())
            .collect();
        assert_eq!(upper_codes, codes, "codes are read in any case");
    }

    #[test]
    fn basket_errors() {
        let catalogue = Catalogue::default_nl();
        let cases: Vec<(Basket, &str)> = vec![
            (
                Basket {
                    modules: vec!["crn".to_owned()],
                    ..basket()
                },
                "unknown module code \"crn\": expected one of crm, projecten-uren, boekhouding, handel, personeelsmanagement, facturatie",
            ),
            (
                Basket {
                    add_ons: vec!["handel".to_owned()],
                    ..basket()
                },
                "unknown add-on code \"handel\": expected one of documentbeheer, voorraadbeheer",
            ),
            (
                Basket {
                    one_off_products: vec!["training".to_owned()],
                    ..basket()
                },
                "unknown one-off product code \"training\": the catalogue has no such items in force",
            ),
            (
                Basket {
                    modules: vec!["crm".to_owned(), "boekhouding".to_owned(), "crm".to_owned()],
                    ..basket()
                },
                "duplicate code \"crm\"",
            ),
            (
                Basket {
                    modules: vec!["crm".to_owned(), "CRM".to_owned()],
                    ..basket()
                },
                "duplicate code \"crm\"",
            ),
            (
                Basket {
                    users: 0,
                    ..basket()
                },
                "invalid user count 0: a licence has at least 1 user",
            ),
            (
                Basket {
                    modules: vec!["crm".to_owned(), "handel".to_owned()],
                    ..basket()
                },
                "the automatic bank link requires one of the modules boekhouding, facturatie",
            ),
            (
                Basket {
                    country: "Nederland".to_owned(),
                    ..basket()
                },
                "invalid country \"Nederland\": expected an ISO 3166 alpha-2 code such as NL",
            ),
            (
                Basket {
                    vat_id: Some("NL12345678B01".to_owned()),
                    ..basket()
                },
                "invalid VAT id \"NL12345678B01\" for country NL: expected NL, 9 digits, B and 2 digits",
            ),
            (
                Basket {
                    country: "DE".to_owned(),
                    vat_id: Some("NL123456789B01".to_owned()),
                    ..basket()
                },
                "VAT id \"NL123456789B01\" starts with \"NL\", but the customer country DE expects the prefix \"DE\"",
            ),
        ];
        for (basket, expected) in cases {
            let message = match basket.check(&catalogue) {
                Ok(_) => panic!("accepted {basket:?}"),
                Err(error) => error.to_string(),
            };
            assert!(message.starts_with(expected), "{message}");
        }
    }

    #[test]
    fn bank_link_with_facturatie_only() {
        let catalogue = Catalogue::default_nl();
        let basket = Basket {
            modules: vec!["facturatie".to_owned()],
            add_ons: Vec::new(),
            ..basket()
        };
        assert!(basket.check(&catalogue).is_ok());
    }

    #[test]
    fn outside_eu_tax_id_is_kept() {
        let catalogue = Catalogue::default_nl();
        let basket = Basket {
            country: "ch".to_owned(),
            vat_id: Some("CHE-123.456.789 MWST".to_owned()),
            ..basket()
        };
        let checked = basket.check(&catalogue).unwrap();
        assert_eq!(checked.treatment, VatTreatment::OutsideEu);
        assert_eq!(checked.vat_id.as_deref(), Some("CHE-123.456.789 MWST"));
    }

    #[test]
    fn several_versions_rejected() {
        let mut catalogue = Catalogue::default_nl();
        let copy = catalogue.items[0].clone();
        catalogue.items.push(copy);
        let error = basket().check(&catalogue).err().unwrap();
        assert_eq!(error, QuoteError::SeveralVersions("crm".to_owned()));
    }

    #[test]
    fn json_defaults() {
        let basket: Basket = serde_json::from_str(r#"{"modules":["crm"]}"#).unwrap();
        assert_eq!(basket.users, 1);
        assert_eq!(basket.country, "NL");
        assert_eq!(basket.language, Language::Nl);
    }
}
