//! Money: an exact decimal amount in an ISO 4217 currency.
//!
//! Amounts are `rust_decimal::Decimal`, never floats. Rounding to the currency's minor unit is
//! half away from zero (37.905 becomes 37.91), the Dutch commercial rule, never the banker's
//! rounding that `Decimal::round_dp` applies by default.
//!
//! Databases store money as a whole number of minor units (cents for EUR) in a 64-bit integer
//! column. PostgreSQL could hold NUMERIC exactly, but SQLite has no decimal type and sea-query's
//! SQLite binding passes `Decimal` through an `f64`, so integers are the one representation that
//! is exact on both.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An ISO 4217 alphabetic currency code (`EUR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// A text that is not a three-letter currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid currency {0:?}: expected a three-letter ISO 4217 code such as EUR")]
pub struct CurrencyError(pub String);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn parse(text: &str) -> Result<Self, CurrencyError> {
        let bytes = text.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(CurrencyError(text.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of decimal places of the currency's minor unit (ISO 4217 exponent).
    pub fn minor_unit_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"ISK" | b"CLP" | b"VND" | b"XOF" | b"XAF" | b"UGX" => 0,
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

/// An exact amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// Error of an amount that cannot be money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("invalid amount {0:?}: expected a decimal number with a point, such as 1250.00")]
    Syntax(String),
    #[error(
        "invalid amount {amount} {currency}: it has more than the {digits} decimals of the currency's minor unit"
    )]
    TooPrecise {
        amount: Decimal,
        currency: Currency,
        digits: u32,
    },
    #[error("amount {0} is too large to store")]
    Overflow(Decimal),
    #[error("currency mismatch: cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn eur(amount: Decimal) -> Self {
        Self::new(amount, Currency::EUR)
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// Parses a decimal string (`"-1250.5"`) in the given currency. Commas are rejected rather
    /// than guessed, because `1,250` means different amounts in Dutch and English writing.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.contains(',') || trimmed.contains(['e', 'E']) {
            return Err(MoneyError::Syntax(text.to_owned()));
        }
        Decimal::from_str(trimmed)
            .map(|amount| Self::new(amount, currency))
            .map_err(|_| MoneyError::Syntax(text.to_owned()))
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    pub fn abs(&self) -> Self {
        Self::new(self.amount.abs(), self.currency)
    }

    /// Rounds to the currency's minor unit, half away from zero, and fixes the scale, so
    /// `37.905` becomes `37.91` and `10` prints as `10.00`.
    pub fn round(&self) -> Self {
        let digits = self.currency.minor_unit_digits();
        let mut amount = self
            .amount
            .round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(digits);
        Self::new(amount, self.currency)
    }

    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|amount| Self::new(amount, self.currency))
            .ok_or(MoneyError::Overflow(self.amount))
    }

    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Self::new(-other.amount, other.currency))
    }

    /// Converts the amount to a whole number of minor units (cents for EUR), the form in which
    /// databases store it. Fails instead of rounding when the amount is more precise.
    pub fn to_minor_units(&self) -> Result<i64, MoneyError> {
        let digits = self.currency.minor_unit_digits();
        let normalized = self.amount.normalize();
        if normalized.scale() > digits {
            return Err(MoneyError::TooPrecise {
                amount: self.amount,
                currency: self.currency,
                digits,
            });
        }
        let scaled = normalized
            .checked_mul(Decimal::from(10_i64.pow(digits)))
            .ok_or(MoneyError::Overflow(self.amount))?;
        i64::try_from(scaled).map_err(|_| MoneyError::Overflow(self.amount))
    }

    /// Builds money from a whole number of minor units, with the currency's scale.
    pub fn from_minor_units(units: i64, currency: Currency) -> Self {
        Self::new(Decimal::new(units, currency.minor_unit_digits()), currency)
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_unit_digits();
        let mut shown = self.amount;
        if shown.scale() < digits {
            shown.rescale(digits);
        }
        write!(f, "{} {}", shown, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn round_is_half_away_from_zero() {
        let cases = [
            (dec!(37.905), dec!(37.91)),
            (dec!(37.895), dec!(37.90)),
            (dec!(-37.905), dec!(-37.91)),
            (dec!(0.005), dec!(0.01)),
            (dec!(4.096), dec!(4.10)),
            (dec!(10), dec!(10.00)),
        ];
        for (input, expected) in cases {
            let rounded = Money::eur(input).round().amount();
            assert_eq!(rounded, expected, "{input}");
            assert_eq!(rounded.scale(), 2, "{input}");
        }
    }

    #[test]
    fn minor_units_are_exact() {
        let money = Money::eur(dec!(123456789012345.67));
        assert_eq!(money.to_minor_units().unwrap(), 12345678901234567);
        assert_eq!(
            Money::from_minor_units(12345678901234567, Currency::EUR),
            money
        );
    }

    #[test]
    fn minor_units_accept_trailing_zeros() {
        assert_eq!(Money::eur(dec!(8.850)).to_minor_units().unwrap(), 885);
    }

    #[test]
    fn minor_units_reject_extra_precision() {
        let error = Money::eur(dec!(8.855)).to_minor_units().unwrap_err();
        assert!(error.to_string().contains("8.855 EUR"), "{error}");
    }

    #[test]
    fn minor_units_follow_currency_exponent() {
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(dec!(1500), yen).to_minor_units().unwrap(), 1500);
        let dinar = Currency::parse("kwd").unwrap();
        assert_eq!(
            Money::new(dec!(1.234), dinar).to_minor_units().unwrap(),
            1234
        );
    }

    #[test]
    fn parse_rejects_comma_and_exponent() {
        assert!(Money::parse("1,50", Currency::EUR).is_err());
        assert!(Money::parse("1e3", Currency::EUR).is_err());
        assert!(Money::parse("", Currency::EUR).is_err());
        assert_eq!(
            Money::parse(" -12.5 ", Currency::EUR).unwrap().amount(),
            dec!(-12.5)
        );
    }

    #[test]
    fn add_rejects_other_currency() {
        let sek = Money::new(dec!(1), Currency::parse("SEK").unwrap());
        assert!(Money::eur(dec!(1)).checked_add(sek).is_err());
    }

    #[test]
    fn display_pads_to_minor_unit() {
        assert_eq!(Money::eur(dec!(10)).to_string(), "10.00 EUR");
        assert_eq!(Money::eur(dec!(1.5)).to_string(), "1.50 EUR");
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(units in any::<i64>()) {
            let money = Money::from_minor_units(units, Currency::EUR);
            prop_assert_eq!(money.to_minor_units().unwrap(), units);
        }

        #[test]
        fn rounding_moves_at_most_half_a_cent(units in -1_000_000_000i64..1_000_000_000, extra in 0u32..1000) {
            let amount = Decimal::new(units, 2) + Decimal::new(extra as i64, 5);
            let rounded = Money::eur(amount).round().amount();
            prop_assert!((rounded - amount).abs() <= dec!(0.005));
        }
    }
}
