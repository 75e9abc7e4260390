//! Quote language and number formatting.
//!
//! Dutch texts write numbers with a decimal comma and a point between thousands (`1.234,50`),
//! English texts the other way round (`1,234.50`).

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Language of the descriptions and explanations on a quote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Dutch, the default.
    #[default]
    Nl,
    /// English.
    En,
}

impl Language {
    /// Names a month of a year: "april 2026" in Dutch, "April 2026" in English.
    pub fn month(self, year: i32, month: u32) -> String {
        const DUTCH: [&str; 12] = [
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ];
        const ENGLISH: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let names = match self {
            Language::Nl => &DUTCH,
            Language::En => &ENGLISH,
        };
        let index = (month.clamp(1, 12) - 1) as usize;
        format!("{} {year}", names[index])
    }

    /// Picks the Dutch or the English text.
    pub fn pick<'a>(self, dutch: &'a str, english: &'a str) -> &'a str {
        match self {
            Language::Nl => dutch,
            Language::En => english,
        }
    }

    fn separators(self) -> (char, char) {
        match self {
            Language::Nl => (',', '.'),
            Language::En => ('.', ','),
        }
    }

    /// Formats an amount with two decimals, rounded half away from zero.
    pub fn amount(self, value: Decimal) -> String {
        let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(2);
        self.number(rounded)
    }

    /// Formats a percentage of a fraction (0.2 becomes `20%`), with at most one decimal.
    pub(crate) fn percent(self, fraction: Decimal) -> String {
        let percent = (fraction * Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
            .normalize();
        format!("{}%", self.number(percent))
    }

    /// Writes a decimal with all its digits, using this language's separators.
    fn number(self, value: Decimal) -> String {
        let (decimal_mark, thousands_mark) = self.separators();
        let text = value.abs().to_string();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text.as_str(), None),
        };

        let mut grouped = String::new();
        for (index, digit) in whole.chars().enumerate() {
            if index > 0 && (whole.len() - index).is_multiple_of(3) {
                grouped.push(thousands_mark);
            }
            grouped.push(digit);
        }
        if let Some(fraction) = fraction {
            grouped.push(decimal_mark);
            grouped.push_str(fraction);
        }
        if value.is_sign_negative() && !value.is_zero() {
            grouped.insert(0, '-');
        }
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amount_per_language() {
        let cases = [
            (dec!(8), "8,00", "8.00"),
            (dec!(4.096), "4,10", "4.10"),
            (dec!(37.905), "37,91", "37.91"),
            (dec!(1234.5), "1.234,50", "1,234.50"),
            (dec!(1234567.891), "1.234.567,89", "1,234,567.89"),
            (dec!(-12.5), "-12,50", "-12.50"),
            (dec!(0), "0,00", "0.00"),
        ];
        for (value, dutch, english) in cases {
            assert_eq!(Language::Nl.amount(value), dutch, "{value}");
            assert_eq!(Language::En.amount(value), english, "{value}");
        }
    }

    #[test]
    fn percent_per_language() {
        let cases = [
            (dec!(0.2), "20%", "20%"),
            (dec!(0.36), "36%", "36%"),
            (dec!(0.488), "48,8%", "48.8%"),
            (dec!(0.21), "21%", "21%"),
        ];
        for (value, dutch, english) in cases {
            assert_eq!(Language::Nl.percent(value), dutch, "{value}");
            assert_eq!(Language::En.percent(value), english, "{value}");
        }
    }

    #[test]
    fn month_names() {
        assert_eq!(Language::Nl.month(2026, 3), "maart 2026");
        assert_eq!(Language::En.month(2026, 12), "December 2026");
    }

    #[test]
    fn serde_names() {
        assert_eq!(serde_json::to_string(&Language::En).unwrap(), "\"en\"");
        assert_eq!(Language::default(), Language::Nl);
    }
}
