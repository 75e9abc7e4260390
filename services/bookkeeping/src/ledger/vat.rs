//! VAT codes of invoice lines and the boxes (rubrieken) of the Dutch VAT return they count in.
//!
//! A journal line that counts in the VAT return carries its box and whether it is the box's
//! base (turnover) or tax column, so the return is a sum over journal lines alone. The sign in
//! which a line counts follows from the box and the part: revenue and VAT owed are credits,
//! reverse-charged purchases and input VAT are debits.

use std::fmt;
use std::str::FromStr;

use dk_domain::Decimal;
use rust_decimal_macros::dec;

/// The VAT treatment of one invoice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VatCode {
    /// The general rate, 21 %.
    High,
    /// The reduced rate, 9 %.
    Low,
    /// 0 %, or exempt.
    Zero,
    /// The customer accounts for the VAT ("btw verlegd"); on a purchase the organisation itself
    /// owes it and deducts it at the general rate.
    ReverseCharge,
}

impl VatCode {
    pub const ALL: [VatCode; 4] = [Self::High, Self::Low, Self::Zero, Self::ReverseCharge];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Low => "low",
            Self::Zero => "zero",
            Self::ReverseCharge => "reverse_charge",
        }
    }

    /// Returns the rate charged on the invoice, as a fraction.
    pub fn charged_rate(self) -> Decimal {
        match self {
            Self::High => dec!(0.21),
            Self::Low => dec!(0.09),
            Self::Zero | Self::ReverseCharge => Decimal::ZERO,
        }
    }

    /// Returns the rate a buyer self-assesses on a reverse-charged purchase.
    pub fn self_assessed_rate(self) -> Decimal {
        match self {
            Self::ReverseCharge => dec!(0.21),
            _ => Decimal::ZERO,
        }
    }
}

impl fmt::Display for VatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VatCode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| {
                format!("unknown VAT code {text:?}: expected high, low, zero or reverse_charge")
            })
    }
}

/// The counterparty's location for VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Territory {
    Netherlands,
    EuropeanUnion,
    OutsideEu,
}

impl Territory {
    /// Classifies an ISO 3166 alpha-2 country code.
    pub fn of_country(country: &str) -> Self {
        if country.eq_ignore_ascii_case("NL") {
            Self::Netherlands
        } else if dk_pricing::EU_COUNTRIES
            .iter()
            .any(|member| member.eq_ignore_ascii_case(country))
        {
            Self::EuropeanUnion
        } else {
            Self::OutsideEu
        }
    }
}

/// A box of the Dutch VAT return that journal lines count in. Boxes 5a and 5c to 5g are
/// computed from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VatBox {
    /// Supplies and services at the general rate.
    B1a,
    /// Supplies and services at the reduced rate.
    B1b,
    /// Supplies and services at other rates, except 0 %.
    B1c,
    /// Private use.
    B1d,
    /// Supplies and services at 0 % or not taxed with the organisation.
    B1e,
    /// Supplies and services to the organisation with the VAT reverse-charged to it.
    B2a,
    /// Supplies to countries outside the EU (export).
    B3a,
    /// Supplies and services to countries within the EU.
    B3b,
    /// Installation and distance sales within the EU.
    B3c,
    /// Supplies and services from countries outside the EU.
    B4a,
    /// Supplies and services from countries within the EU.
    B4b,
    /// Input VAT.
    B5b,
}

impl VatBox {
    pub const ALL: [VatBox; 12] = [
        Self::B1a,
        Self::B1b,
        Self::B1c,
        Self::B1d,
        Self::B1e,
        Self::B2a,
        Self::B3a,
        Self::B3b,
        Self::B3c,
        Self::B4a,
        Self::B4b,
        Self::B5b,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::B1a => "1a",
            Self::B1b => "1b",
            Self::B1c => "1c",
            Self::B1d => "1d",
            Self::B1e => "1e",
            Self::B2a => "2a",
            Self::B3a => "3a",
            Self::B3b => "3b",
            Self::B3c => "3c",
            Self::B4a => "4a",
            Self::B4b => "4b",
            Self::B5b => "5b",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|vat_box| vat_box.as_str() == text)
    }

    /// Returns the sign that turns the signed amount of a journal line (debit positive) into
    /// the amount the line adds to this box's `part`.
    pub fn sign(self, part: VatPart) -> i64 {
        match (self, part) {
            // Reverse-charged purchases: the base is a cost (debit), the VAT owed a credit.
            (Self::B2a | Self::B4a | Self::B4b, VatPart::Base) => 1,
            // Input VAT is a debit.
            (Self::B5b, _) => 1,
            // Revenue and VAT owed are credits.
            _ => -1,
        }
    }
}

/// The column of a VAT return box that a journal line counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VatPart {
    Base,
    Tax,
}

impl VatPart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Tax => "tax",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "base" => Some(Self::Base),
            "tax" => Some(Self::Tax),
            _ => None,
        }
    }
}

/// Returns the box of a sales line's base.
pub fn sales_box(code: VatCode, territory: Territory) -> VatBox {
    match (code, territory) {
        (VatCode::High, _) => VatBox::B1a,
        (VatCode::Low, _) => VatBox::B1b,
        (VatCode::Zero, _) | (VatCode::ReverseCharge, Territory::Netherlands) => VatBox::B1e,
        (VatCode::ReverseCharge, Territory::EuropeanUnion) => VatBox::B3b,
        (VatCode::ReverseCharge, Territory::OutsideEu) => VatBox::B3a,
    }
}

/// Returns the box of a reverse-charged purchase, which contains both its base and the VAT
/// owed on it.
pub fn reverse_charge_purchase_box(territory: Territory) -> VatBox {
    match territory {
        Territory::Netherlands => VatBox::B2a,
        Territory::EuropeanUnion => VatBox::B4b,
        Territory::OutsideEu => VatBox::B4a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_is_named() {
        for code in VatCode::ALL {
            assert_eq!(code.as_str().parse::<VatCode>(), Ok(code));
        }
        let error = "21".parse::<VatCode>().unwrap_err();
        assert!(
            error.contains("\"21\"") && error.contains("reverse_charge"),
            "{error}"
        );
    }

    #[test]
    fn territories() {
        assert_eq!(Territory::of_country("nl"), Territory::Netherlands);
        assert_eq!(Territory::of_country("BE"), Territory::EuropeanUnion);
        assert_eq!(Territory::of_country("GB"), Territory::OutsideEu);
        assert_eq!(Territory::of_country("US"), Territory::OutsideEu);
    }

    #[test]
    fn sales_and_purchase_boxes() {
        assert_eq!(
            sales_box(VatCode::High, Territory::Netherlands),
            VatBox::B1a
        );
        assert_eq!(
            sales_box(VatCode::Low, Territory::EuropeanUnion),
            VatBox::B1b
        );
        assert_eq!(
            sales_box(VatCode::Zero, Territory::Netherlands),
            VatBox::B1e
        );
        assert_eq!(
            sales_box(VatCode::ReverseCharge, Territory::EuropeanUnion),
            VatBox::B3b
        );
        assert_eq!(
            sales_box(VatCode::ReverseCharge, Territory::OutsideEu),
            VatBox::B3a
        );
        assert_eq!(
            reverse_charge_purchase_box(Territory::EuropeanUnion),
            VatBox::B4b
        );
        assert_eq!(
            reverse_charge_purchase_box(Territory::Netherlands),
            VatBox::B2a
        );
    }

    #[test]
    fn signs_turn_credits_into_positive_turnover() {
        assert_eq!(VatBox::B1a.sign(VatPart::Base), -1);
        assert_eq!(VatBox::B1a.sign(VatPart::Tax), -1);
        assert_eq!(VatBox::B4b.sign(VatPart::Base), 1);
        assert_eq!(VatBox::B4b.sign(VatPart::Tax), -1);
        assert_eq!(VatBox::B5b.sign(VatPart::Tax), 1);
    }
}
