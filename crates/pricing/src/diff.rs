//! The difference between two baskets during a paid month, with the prorated charge.
//!
//! Licences are billed monthly in advance. An addition or increase during the month is charged
//! for the rest of that month by calendar day. The charge is the monthly difference times the
//! days remaining (the change date included) over the days in the month, rounded to cents half
//! away from zero.
//! A removal or decrease takes effect at the end of the paid month, so it charges nothing and
//! refunds nothing.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use dk_domain::{Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::basket::Basket;
use crate::catalogue::Catalogue;
use crate::error::QuoteError;
use crate::language::Language;
use crate::quote::{LineKind, Quote, QuoteLine, quote};

/// A calendar month that was billed in advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BillingMonth {
    year: i32,
    month: u32,
}

impl BillingMonth {
    /// Builds a month from a year and a month number from 1 to 12.
    pub fn new(year: i32, month: u32) -> Result<Self, QuoteError> {
        NaiveDate::from_ymd_opt(year, month, 1)
            .map(|_| Self { year, month })
            .ok_or(QuoteError::InvalidBillingMonth { year, month })
    }

    /// Returns the month that contains `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("month checked when built")
    }

    pub fn last_day(&self) -> NaiveDate {
        let day = u32::from(self.first_day().num_days_in_month());
        NaiveDate::from_ymd_opt(self.year, self.month, day).expect("month checked when built")
    }

    /// Returns the number of days in the month (28 to 31).
    pub fn days(&self) -> u32 {
        u32::from(self.first_day().num_days_in_month())
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Kind of change of one item between the two baskets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Increased,
    Unchanged,
    Decreased,
    Removed,
}

/// Quantity and monthly amount of one item on one side of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemTotal {
    pub quantity: Decimal,
    /// Sum of the item's line amounts, or `None` for users that need custom pricing.
    pub amount: Option<Money>,
}

/// One item of a diff. The users lines of each quote are summed into one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub code: String,
    /// Item name in the language of the `after` basket.
    pub description: String,
    pub before: Option<ItemTotal>,
    pub after: Option<ItemTotal>,
    pub change: Change,
    /// Amount excluding VAT to charge for the rest of the month, or `None` when custom user
    /// pricing on either side leaves it to sales.
    pub prorated_amount: Option<Money>,
    /// Explanation of the prorated amount, in the language of the `after` basket.
    pub explanation: String,
}

/// The difference between two baskets, changed on `change_date` within a paid month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteDiff {
    pub billing_month: BillingMonth,
    pub change_date: NaiveDate,
    /// Days from the change date to the end of the month, both included.
    pub days_remaining: u32,
    pub days_in_month: u32,
    pub before: Quote,
    pub after: Quote,
    pub lines: Vec<DiffLine>,
    /// Sum of the known prorated amounts, excluding VAT.
    pub prorated_total: Money,
}

/// Compares two baskets changed on `change_date` in `billing_month`, using the catalogue versions
/// in force on the change date.
pub fn diff(
    catalogue: &Catalogue,
    before: &Basket,
    after: &Basket,
    change_date: NaiveDate,
    billing_month: BillingMonth,
) -> Result<QuoteDiff, QuoteError> {
    if BillingMonth::of(change_date) != billing_month {
        return Err(QuoteError::ChangeOutsideBillingMonth {
            change_date,
            billing_month: billing_month.to_string(),
        });
    }
    let in_force = catalogue.effective_on(change_date);
    let before_quote = quote(&in_force, before)?;
    let after_quote = quote(&in_force, after)?;

    let days_in_month = billing_month.days();
    let days_remaining = days_in_month - change_date.day() + 1;
    let period = Period {
        language: after.language,
        currency: catalogue.currency,
        change_date,
        last_day: billing_month.last_day(),
        days_remaining,
        days_in_month,
    };

    let mut codes: Vec<&str> = Vec::new();
    for line in after_quote.lines.iter().chain(&before_quote.lines) {
        if !codes.contains(&line.code.as_str()) {
            codes.push(&line.code);
        }
    }
    let lines: Vec<DiffLine> = codes
        .into_iter()
        .map(|code| {
            let before_lines = lines_of(&before_quote, code);
            let after_lines = lines_of(&after_quote, code);
            period.diff_line(&before_lines, &after_lines)
        })
        .collect();

    let prorated: Decimal = lines
        .iter()
        .filter_map(|line| line.prorated_amount)
        .map(|amount| amount.amount())
        .sum();
    Ok(QuoteDiff {
        billing_month,
        change_date,
        days_remaining,
        days_in_month,
        prorated_total: Money::new(prorated, catalogue.currency).round(),
        before: before_quote,
        after: after_quote,
        lines,
    })
}

fn lines_of<'a>(quote: &'a Quote, code: &str) -> Vec<&'a QuoteLine> {
    quote
        .lines
        .iter()
        .filter(|line| line.code == code)
        .collect()
}

fn total_of(lines: &[&QuoteLine], currency: Currency) -> Option<ItemTotal> {
    if lines.is_empty() {
        return None;
    }
    let quantity = lines.iter().map(|line| line.quantity).sum();
    let amount: Option<Decimal> = lines
        .iter()
        .map(|line| line.amount.map(|amount| amount.amount()))
        .sum();
    Some(ItemTotal {
        quantity,
        amount: amount.map(|amount| Money::new(amount, currency).round()),
    })
}

/// The rest of the month from the change date, and the language to explain in.
struct Period {
    language: Language,
    currency: Currency,
    change_date: NaiveDate,
    last_day: NaiveDate,
    days_remaining: u32,
    days_in_month: u32,
}

impl Period {
    fn diff_line(&self, before_lines: &[&QuoteLine], after_lines: &[&QuoteLine]) -> DiffLine {
        let first = after_lines
            .first()
            .or(before_lines.first())
            .expect("every code comes from a quote line");
        let before = total_of(before_lines, self.currency);
        let after = total_of(after_lines, self.currency);
        let is_one_off = first.kind == LineKind::OneOff;
        let change = change_between(before.as_ref(), after.as_ref());
        let language = self.language;

        let (prorated_amount, explanation) = match change {
            Change::Unchanged => (
                Some(self.money(Decimal::ZERO)),
                language.pick("ongewijzigd", "unchanged").to_owned(),
            ),
            Change::Decreased | Change::Removed if is_one_off => (
                Some(self.money(Decimal::ZERO)),
                language
                    .pick(
                        "eenmalig, niets in rekening gebracht",
                        "one-off, nothing charged",
                    )
                    .to_owned(),
            ),
            Change::Decreased | Change::Removed => {
                (Some(self.money(Decimal::ZERO)), self.end_of_month_text())
            }
            Change::Added | Change::Increased => {
                let monthly = |total: &Option<ItemTotal>| match total {
                    None => Some(Decimal::ZERO),
                    Some(total) => total.amount.map(|amount| amount.amount()),
                };
                match (monthly(&before), monthly(&after)) {
                    (Some(old), Some(new)) if is_one_off => {
                        let text = match language {
                            Language::Nl => "eenmalig, volledig in rekening gebracht",
                            Language::En => "one-off, charged in full",
                        };
                        (Some(self.money(new - old)), text.to_owned())
                    }
                    (Some(old), Some(new)) => self.prorate(new - old),
                    _ => (None, self.custom_pricing_text()),
                }
            }
        };
        DiffLine {
            code: first.code.clone(),
            description: first.description.clone(),
            before,
            after,
            change,
            prorated_amount,
            explanation,
        }
    }

    fn prorate(&self, monthly: Decimal) -> (Option<Money>, String) {
        let amount =
            monthly * Decimal::from(self.days_remaining) / Decimal::from(self.days_in_month);
        let monthly_text = self.language.amount(monthly);
        let (days, month) = (self.days_remaining, self.days_in_month);
        let (from, to) = (
            self.date_text(self.change_date),
            self.date_text(self.last_day),
        );
        let explanation = match self.language {
            Language::Nl => {
                format!("{monthly_text} per maand × {days}/{month} dagen ({from} t/m {to})")
            }
            Language::En => {
                format!("{monthly_text} a month × {days}/{month} days ({from} to {to})")
            }
        };
        (Some(self.money(amount)), explanation)
    }

    fn money(&self, amount: Decimal) -> Money {
        Money::new(amount, self.currency).round()
    }

    fn end_of_month_text(&self) -> String {
        let end = self.date_text(self.last_day);
        match self.language {
            Language::Nl => {
                format!("gaat in na het einde van de betaalde maand ({end}), geen restitutie")
            }
            Language::En => {
                format!("takes effect after the end of the paid month ({end}), no refund")
            }
        }
    }

    fn custom_pricing_text(&self) -> String {
        self.language
            .pick(
                "prijs op maat: het bedrag naar rato stelt verkoop vast",
                "custom pricing: sales sets the prorated amount",
            )
            .to_owned()
    }

    fn date_text(&self, date: NaiveDate) -> String {
        match self.language {
            Language::Nl => date.format("%d-%m-%Y").to_string(),
            Language::En => date.format("%Y-%m-%d").to_string(),
        }
    }
}

fn change_between(before: Option<&ItemTotal>, after: Option<&ItemTotal>) -> Change {
    match (before, after) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        (Some(before), Some(after)) => {
            let (old, new) = match (before.amount, after.amount) {
                (Some(old), Some(new)) => (old.amount(), new.amount()),
                _ => (before.quantity, after.quantity),
            };
            if new > old {
                Change::Increased
            } else if new < old {
                Change::Decreased
            } else {
                Change::Unchanged
            }
        }
    }
}

#[cfg(test)]
mod tests;
