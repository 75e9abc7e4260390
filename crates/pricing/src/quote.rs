//! Quoting a basket: explained lines, net amount, VAT per rate and total.
//!
//! VAT is computed once per rate over the lines at that rate and only then rounded to cents, half
//! away from zero. Lines are never rounded for VAT one by one, because the two methods can differ
//! by a cent.

use std::collections::BTreeMap;

use dk_domain::{Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::basket::Basket;
use crate::catalogue::{Catalogue, CatalogueItem, ItemKind};
use crate::error::QuoteError;
use crate::language::Language;
use crate::users::user_lines;
use crate::vat::VatTreatment;

/// Kind of item a quote line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Module,
    AddOn,
    OrganisationOption,
    OneOff,
    Users,
}

impl From<ItemKind> for LineKind {
    fn from(kind: ItemKind) -> Self {
        match kind {
            ItemKind::Module => LineKind::Module,
            ItemKind::AddOn => LineKind::AddOn,
            ItemKind::OrganisationOption => LineKind::OrganisationOption,
            ItemKind::OneOff => LineKind::OneOff,
        }
    }
}

/// One line of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    /// Catalogue code, or [`crate::USERS_CODE`] for the users lines.
    pub code: String,
    /// Item name in the quote's language.
    pub description: String,
    pub kind: LineKind,
    pub quantity: Decimal,
    /// Price per unit excluding VAT, or `None` on a users line that needs custom pricing.
    pub unit_price: Option<Money>,
    /// Unit price times quantity, in cents, or `None` when the unit price is `None`.
    pub amount: Option<Money>,
    /// VAT rate that applies to the line, as a fraction.
    pub vat_rate: Decimal,
    /// Explanation of how the amount was computed, in the quote's language.
    pub explanation: String,
}

/// The VAT of all lines at one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatAmount {
    /// Rate as a fraction (0.21).
    pub rate: Decimal,
    /// Sum of the line amounts at this rate.
    pub base: Money,
    /// `base` times `rate`, rounded once to cents, half away from zero.
    pub amount: Money,
}

/// Whether every line of a quote has a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    Priced,
    /// The user count is beyond the last user block, so a sales employee must set the user
    /// price. The other lines are priced, and the totals leave the users out.
    CustomPricingRequired,
}

/// A priced basket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub language: Language,
    pub lines: Vec<QuoteLine>,
    /// Sum of the priced line amounts, excluding VAT.
    pub net: Money,
    /// VAT per rate, ordered by rate.
    pub vat: Vec<VatAmount>,
    /// `net` plus the VAT amounts.
    pub total: Money,
    pub status: QuoteStatus,
    pub vat_treatment: VatTreatment,
    /// Whether the customer accounts for the VAT ("btw verlegd").
    pub reverse_charge: bool,
    /// Text the quote shows about VAT: "btw verlegd" or "buiten de EU" and their English
    /// forms. It is `None` for domestic VAT.
    pub vat_note: Option<String>,
    /// The customer's VAT id, normalised when it is an EU VAT id.
    pub customer_vat_id: Option<String>,
}

/// Prices a basket against a catalogue that contains one version per item, such as the result of
/// [`Catalogue::effective_on`].
pub fn quote(catalogue: &Catalogue, basket: &Basket) -> Result<Quote, QuoteError> {
    let checked = basket.check(catalogue)?;
    let language = basket.language;
    let currency = catalogue.currency;
    let vat_rate = match checked.treatment {
        VatTreatment::Domestic => catalogue.vat_rate,
        VatTreatment::ReverseCharge | VatTreatment::OutsideEu => Decimal::ZERO,
    };
    let pricing = catalogue
        .user_pricing
        .first()
        .ok_or(QuoteError::NoUserPricing)?;

    let mut lines: Vec<QuoteLine> = checked
        .items
        .iter()
        .filter(|item| item.kind != ItemKind::OneOff)
        .map(|item| item_line(item, currency, vat_rate, language))
        .collect();
    lines.extend(user_lines(
        pricing,
        basket.users,
        basket.custom_user_price,
        currency,
        vat_rate,
        language,
    ));
    lines.extend(
        checked
            .items
            .iter()
            .filter(|item| item.kind == ItemKind::OneOff)
            .map(|item| item_line(item, currency, vat_rate, language)),
    );

    let status = if lines.iter().all(|line| line.amount.is_some()) {
        QuoteStatus::Priced
    } else {
        QuoteStatus::CustomPricingRequired
    };
    let vat = vat_per_rate(&lines, currency);
    let net = sum(lines.iter().filter_map(|line| line.amount), currency);
    let total = sum(
        std::iter::once(net).chain(vat.iter().map(|vat| vat.amount)),
        currency,
    );
    let vat_note = match checked.treatment {
        VatTreatment::Domestic => None,
        VatTreatment::ReverseCharge => Some(language.pick("btw verlegd", "VAT reverse charged")),
        VatTreatment::OutsideEu => Some(language.pick("buiten de EU", "outside the EU")),
    };

    Ok(Quote {
        language,
        lines,
        net,
        vat,
        total,
        status,
        vat_treatment: checked.treatment,
        reverse_charge: checked.treatment == VatTreatment::ReverseCharge,
        vat_note: vat_note.map(str::to_owned),
        customer_vat_id: checked.vat_id,
    })
}

fn item_line(
    item: &CatalogueItem,
    currency: Currency,
    vat_rate: Decimal,
    language: Language,
) -> QuoteLine {
    let price = language.amount(item.price);
    let explanation = match (item.kind, language) {
        (ItemKind::Module, Language::Nl) => format!("module, {price} per maand"),
        (ItemKind::Module, Language::En) => format!("module, {price} a month"),
        (ItemKind::AddOn, Language::Nl) => format!("uitbreiding, {price} per maand"),
        (ItemKind::AddOn, Language::En) => format!("add-on, {price} a month"),
        (ItemKind::OrganisationOption, Language::Nl) => match item.max_ibans {
            Some(max) => format!("per organisatie, tot {max} IBAN's, {price} per maand"),
            None => format!("per organisatie, {price} per maand"),
        },
        (ItemKind::OrganisationOption, Language::En) => match item.max_ibans {
            Some(max) => format!("per organisation, up to {max} IBANs, {price} a month"),
            None => format!("per organisation, {price} a month"),
        },
        (ItemKind::OneOff, Language::Nl) => format!("eenmalig, {price}"),
        (ItemKind::OneOff, Language::En) => format!("one-off, {price}"),
    };
    let price = Money::new(item.price, currency).round();
    QuoteLine {
        code: item.code.clone(),
        description: language.pick(&item.name_nl, &item.name_en).to_owned(),
        kind: item.kind.into(),
        quantity: Decimal::ONE,
        unit_price: Some(price),
        amount: Some(price),
        vat_rate,
        explanation,
    }
}

/// Sums the priced lines per VAT rate and rounds each rate's VAT once, half away from zero, so
/// an invoice built from quote lines gets its VAT the same way as the quote.
pub fn vat_per_rate(lines: &[QuoteLine], currency: Currency) -> Vec<VatAmount> {
    let mut bases: BTreeMap<Decimal, Decimal> = BTreeMap::new();
    for line in lines {
        if let Some(amount) = line.amount {
            *bases.entry(line.vat_rate.normalize()).or_default() += amount.amount();
        }
    }
    bases
        .into_iter()
        .map(|(rate, base)| VatAmount {
            rate,
            base: Money::new(base, currency).round(),
            amount: Money::new(base * rate, currency).round(),
        })
        .collect()
}

fn sum(amounts: impl Iterator<Item = Money>, currency: Currency) -> Money {
    let total: Decimal = amounts.map(|money| money.amount()).sum();
    Money::new(total, currency).round()
}

#[cfg(test)]
mod tests;
