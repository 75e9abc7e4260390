//! Graduated user pricing: one quote line per block of extra users.
//!
//! The included users come first and cost nothing. Extra users then fill the blocks in order, each
//! block at its own unit price ("graduated" tiers, not "volume" tiers), so the line for a block is
//! exactly its unit price times the users in it. Users are numbered from 1 in the explanations, so
//! with one included user the first block covers users 2-11.

use dk_domain::{Currency, Money};
use rust_decimal::Decimal;

use crate::catalogue::{USERS_CODE, UserPricing};
use crate::language::Language;
use crate::quote::{LineKind, QuoteLine};

/// Builds the users lines for `users` users (at least 1). A count beyond the last block gets one
/// line for the extra users at `custom_price`, or one unpriced line when sales has set no price.
pub(crate) fn user_lines(
    pricing: &UserPricing,
    users: u32,
    custom_price: Option<Decimal>,
    currency: Currency,
    vat_rate: Decimal,
    language: Language,
) -> Vec<QuoteLine> {
    let description = language.pick("Gebruikers", "Users").to_owned();
    let line = |quantity: u32, unit_price: Option<Decimal>, explanation: String| QuoteLine {
        code: USERS_CODE.to_owned(),
        description: description.clone(),
        kind: LineKind::Users,
        quantity: Decimal::from(quantity),
        unit_price: unit_price.map(|price| Money::new(price, currency).round()),
        amount: unit_price
            .map(|price| Money::new(price * Decimal::from(quantity), currency).round()),
        vat_rate,
        explanation,
    };

    let max_priced = pricing.max_priced_users();
    if let Some(price) = custom_price.filter(|_| users > max_priced) {
        let included = users.min(pricing.included_users);
        let extra = users - included;
        let range = user_range(included + 1, users, language);
        let price_text = language.amount(price);
        let explanation = match language {
            Language::Nl => {
                format!("{range} à {price_text}, prijs op maat vastgesteld door verkoop")
            }
            Language::En => format!("{range} at {price_text}, custom price set by sales"),
        };
        let mut lines = Vec::new();
        if included > 0 {
            let range = user_range(1, included, language);
            let explanation = match language {
                Language::Nl => format!("{range} inbegrepen"),
                Language::En => format!("{range} included"),
            };
            lines.push(line(included, Some(Decimal::ZERO), explanation));
        }
        lines.push(line(extra, Some(price), explanation));
        return lines;
    }
    if users > max_priced {
        let explanation = match language {
            Language::Nl => format!(
                "{users} gebruikers, meer dan {max_priced}: prijs op maat, vast te stellen door verkoop"
            ),
            Language::En => {
                format!("{users} users, more than {max_priced}: custom pricing, to be set by sales")
            }
        };
        return vec![line(users, None, explanation)];
    }

    let mut lines = Vec::new();
    let included = users.min(pricing.included_users);
    if included > 0 {
        let range = user_range(1, included, language);
        let explanation = match language {
            Language::Nl => format!("{range} inbegrepen"),
            Language::En => format!("{range} included"),
        };
        lines.push(line(included, Some(Decimal::ZERO), explanation));
    }

    let base_price = pricing.blocks.first().map(|block| block.unit_price);
    let mut remaining = users - included;
    let mut first_user = pricing.included_users + 1;
    for block in &pricing.blocks {
        if remaining == 0 {
            break;
        }
        let quantity = remaining.min(block.size);
        let range = user_range(first_user, first_user + quantity - 1, language);
        let price = language.amount(block.unit_price);
        let mut explanation = match language {
            Language::Nl => format!("{range} à {price}"),
            Language::En => format!("{range} at {price}"),
        };
        if let Some(base) = base_price.filter(|base| *base > block.unit_price) {
            let discount = language.percent((base - block.unit_price) / base);
            explanation.push_str(&match language {
                Language::Nl => format!(", {discount} staffelkorting"),
                Language::En => format!(", {discount} block discount"),
            });
        }
        lines.push(line(quantity, Some(block.unit_price), explanation));
        remaining -= quantity;
        first_user += block.size;
    }
    lines
}

/// Names a range of user numbers: "gebruikers 12-21", or "gebruiker 12" for one user.
fn user_range(first: u32, last: u32, language: Language) -> String {
    match (language, first == last) {
        (Language::Nl, true) => format!("gebruiker {first}"),
        (Language::Nl, false) => format!("gebruikers {first}-{last}"),
        (Language::En, true) => format!("user {first}"),
        (Language::En, false) => format!("users {first}-{last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use rust_decimal_macros::dec;

    fn lines(users: u32, language: Language) -> Vec<QuoteLine> {
        let catalogue = Catalogue::default_nl();
        user_lines(
            &catalogue.user_pricing[0],
            users,
            None,
            Currency::EUR,
            dec!(0.21),
            language,
        )
    }

    fn total(users: u32) -> Option<Decimal> {
        lines(users, Language::Nl)
            .iter()
            .map(|line| line.amount.map(|amount| amount.amount()))
            .sum()
    }

    #[test]
    fn custom_price_prices_users_beyond_the_table() {
        let catalogue = Catalogue::default_nl();
        let lines = user_lines(
            &catalogue.user_pricing[0],
            60,
            Some(dec!(3.75)),
            Currency::EUR,
            dec!(0.21),
            Language::Nl,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].quantity, dec!(59));
        assert_eq!(lines[1].amount.unwrap().amount(), dec!(221.25));
        assert_eq!(
            lines[1].explanation,
            "gebruikers 2-60 à 3,75, prijs op maat vastgesteld door verkoop"
        );
        // Within the table the custom price is ignored.
        let within = user_lines(
            &catalogue.user_pricing[0],
            12,
            Some(dec!(1)),
            Currency::EUR,
            dec!(0.21),
            Language::Nl,
        );
        let total: Decimal = within.iter().map(|l| l.amount.unwrap().amount()).sum();
        assert_eq!(total, dec!(108.00));
    }

    #[test]
    fn golden_user_totals() {
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
            assert_eq!(total(users), expected, "{users} users");
        }
    }

    #[test]
    fn unit_price_times_quantity_is_amount() {
        for users in 1..=50 {
            for line in lines(users, Language::Nl) {
                let unit_price = line.unit_price.unwrap().amount();
                assert_eq!(
                    unit_price * line.quantity,
                    line.amount.unwrap().amount(),
                    "{users} users"
                );
            }
        }
    }

    #[test]
    fn explanations_dutch() {
        let explanations: Vec<String> = lines(22, Language::Nl)
            .into_iter()
            .map(|line| line.explanation)
            .collect();
        assert_eq!(
            explanations,
            [
                "gebruiker 1 inbegrepen",
                "gebruikers 2-11 à 10,00",
                "gebruikers 12-21 à 8,00, 20% staffelkorting",
                "gebruiker 22 à 6,40, 36% staffelkorting",
            ]
        );
    }

    #[test]
    fn explanations_english() {
        let explanations: Vec<String> = lines(50, Language::En)
            .into_iter()
            .map(|line| line.explanation)
            .collect();
        assert_eq!(
            explanations,
            [
                "user 1 included",
                "users 2-11 at 10.00",
                "users 12-21 at 8.00, 20% block discount",
                "users 22-31 at 6.40, 36% block discount",
                "users 32-41 at 5.12, 48.8% block discount",
                "users 42-50 at 4.10, 59% block discount",
            ]
        );
    }

    #[test]
    fn custom_pricing_line_has_no_price() {
        for (language, expected) in [
            (
                Language::Nl,
                "51 gebruikers, meer dan 50: prijs op maat, vast te stellen door verkoop",
            ),
            (
                Language::En,
                "51 users, more than 50: custom pricing, to be set by sales",
            ),
        ] {
            let lines = lines(51, language);
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0].quantity, dec!(51));
            assert_eq!(lines[0].unit_price, None);
            assert_eq!(lines[0].amount, None);
            assert_eq!(lines[0].explanation, expected);
        }
    }
}
