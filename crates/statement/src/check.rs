//! The balance check: opening balance plus transactions must equal the closing balance.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::model::{Balance, Statement, Warning};

/// Adds warnings for `statement` (at `index` in the file) whose balances do not add up.
///
/// With `balances_required` (MT940, where `:60F:` and `:62F:` are mandatory) a missing opening
/// or closing balance is reported too.
pub(crate) fn check_balances(
    index: usize,
    statement: &Statement,
    balances_required: bool,
    warnings: &mut Vec<Warning>,
) {
    let label = statement_label(index, statement);
    let (Some(opening), Some(closing)) = (&statement.opening_balance, &statement.closing_balance)
    else {
        if balances_required {
            for (missing, name) in [
                (
                    statement.opening_balance.is_none(),
                    "opening balance (:60F:)",
                ),
                (
                    statement.closing_balance.is_none(),
                    "closing balance (:62F:)",
                ),
            ] {
                if missing {
                    let message = format!("{label} has no {name}, so its balance was not checked");
                    warnings.push(Warning::for_statement(index, message));
                }
            }
        }
        return;
    };
    if let Some(message) = balance_problem(&label, statement, opening, closing) {
        warnings.push(Warning::for_statement(index, message));
    }
}

/// Describes why `opening` plus the transactions does not give `closing`, or returns `None`
/// when it does.
fn balance_problem(
    label: &str,
    statement: &Statement,
    opening: &Balance,
    closing: &Balance,
) -> Option<String> {
    if opening.currency != closing.currency {
        return Some(format!(
            "{label} does not add up: the opening balance {} {} and the closing balance {} {} are in different currencies",
            opening.amount, opening.currency, closing.amount, closing.currency
        ));
    }
    let foreign = statement
        .transactions
        .iter()
        .filter(|transaction| transaction.currency != opening.currency)
        .count();
    if foreign > 0 {
        return Some(format!(
            "{label}: {foreign} transactions are not in the balance currency {}, so the balance was not checked",
            opening.currency
        ));
    }

    let total = statement
        .transactions
        .iter()
        .try_fold(Decimal::ZERO, |sum, transaction| {
            sum.checked_add(transaction.amount)
        });
    let Some(total) = total else {
        return Some(format!(
            "{label}: the transactions add up to more than can be represented"
        ));
    };
    let expected = opening.amount.checked_add(total)?;
    (expected != closing.amount).then(|| {
        format!(
            "{label} does not add up: opening balance {} {} on {} plus transactions {} gives {}, but the closing balance on {} is {} (difference {})",
            opening.amount,
            opening.currency,
            opening.date,
            total,
            expected,
            closing.date,
            closing.amount,
            closing.amount.checked_sub(expected).unwrap_or_default(),
        )
    })
}

/// Adds warnings where a statement's opening balance differs from the closing balance of the
/// previous statement for the same account in the file: a statement may be missing between
/// them.
pub(crate) fn check_chain(statements: &[Statement], warnings: &mut Vec<Warning>) {
    let mut last_by_account: HashMap<&str, &Statement> = HashMap::new();
    for (index, statement) in statements.iter().enumerate() {
        let previous = last_by_account.insert(statement.account.as_str(), statement);
        let Some(opening) = &statement.opening_balance else {
            continue;
        };
        let Some(closing) = previous.and_then(|earlier| earlier.closing_balance.as_ref()) else {
            continue;
        };
        if closing.currency == opening.currency && closing.amount != opening.amount {
            warnings.push(Warning::for_statement(
                index,
                format!(
                    "{} opens with {} {} on {}, but the previous statement for this account closed with {} {} on {}; a statement may be missing",
                    statement_label(index, statement),
                    opening.amount,
                    opening.currency,
                    opening.date,
                    closing.amount,
                    closing.currency,
                    closing.date,
                ),
            ));
        }
    }
}

/// Names a statement in messages: its id, or its one-based position.
pub(crate) fn statement_label(index: usize, statement: &Statement) -> String {
    match &statement.statement_id {
        Some(id) if !id.is_empty() => format!("statement {} ({id})", index + 1),
        _ => format!("statement {}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::model::{Balance, Transaction};

    fn balance(amount: &str, currency: &str) -> Balance {
        Balance {
            amount: amount.parse().unwrap(),
            currency: currency.to_string(),
            date: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
        }
    }

    fn transaction(amount: &str, currency: &str) -> Transaction {
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        Transaction {
            booking_date: date,
            value_date: date,
            amount: amount.parse().unwrap(),
            currency: currency.to_string(),
            counterparty_iban: None,
            counterparty_name: None,
            remittance: String::new(),
            end_to_end_id: None,
            structured_reference: None,
            bank_reference: None,
            transaction_code: None,
            reversal: false,
            structured_reference_valid: None,
        }
    }

    fn statement(
        opening: Option<Balance>,
        closing: Option<Balance>,
        amounts: &[(&str, &str)],
    ) -> Statement {
        Statement {
            statement_id: Some("S1".into()),
            sequence: None,
            account: "NL86INGB0002445588".into(),
            iban: None,
            currency: "EUR".into(),
            opening_balance: opening,
            closing_balance: closing,
            transactions: amounts
                .iter()
                .map(|(amount, currency)| transaction(amount, currency))
                .collect(),
        }
    }

    fn warnings_for(statement: &Statement, required: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        check_balances(0, statement, required, &mut warnings);
        warnings
            .into_iter()
            .map(|warning| warning.message)
            .collect()
    }

    #[test]
    fn balanced_statement_has_no_warning() {
        let balanced = statement(
            Some(balance("100.00", "EUR")),
            Some(balance("90.50", "EUR")),
            &[("-12.00", "EUR"), ("2.50", "EUR")],
        );
        assert!(warnings_for(&balanced, true).is_empty());
    }

    #[test]
    fn mismatch_names_the_numbers() {
        let off = statement(
            Some(balance("100.00", "EUR")),
            Some(balance("95.00", "EUR")),
            &[("-12.00", "EUR")],
        );
        let warnings = warnings_for(&off, true);
        assert_eq!(warnings.len(), 1);
        for number in ["100.00", "-12.00", "88.00", "95.00", "7.00"] {
            assert!(
                warnings[0].contains(number),
                "{number} missing in {}",
                warnings[0]
            );
        }
    }

    #[test]
    fn missing_balances_are_reported_only_when_required() {
        let open_only = statement(Some(balance("1.00", "EUR")), None, &[]);
        assert_eq!(warnings_for(&open_only, true).len(), 1);
        assert!(warnings_for(&open_only, false).is_empty());
    }

    #[test]
    fn gap_between_statements_is_reported() {
        let first = statement(
            Some(balance("1.00", "EUR")),
            Some(balance("5.00", "EUR")),
            &[("4.00", "EUR")],
        );
        let follows = statement(
            Some(balance("5.00", "EUR")),
            Some(balance("5.00", "EUR")),
            &[],
        );
        let gap = statement(
            Some(balance("9.00", "EUR")),
            Some(balance("9.00", "EUR")),
            &[],
        );

        let mut warnings = Vec::new();
        check_chain(&[first.clone(), follows], &mut warnings);
        assert!(warnings.is_empty());

        check_chain(&[first, gap], &mut warnings);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].statement, Some(1));
        assert!(warnings[0].message.contains("may be missing"));
    }

    #[test]
    fn currency_differences_are_reported() {
        let mixed = statement(
            Some(balance("1.00", "EUR")),
            Some(balance("-27.00", "SEK")),
            &[],
        );
        assert!(warnings_for(&mixed, true)[0].contains("different currencies"));

        let foreign = statement(
            Some(balance("1.00", "EUR")),
            Some(balance("1.00", "EUR")),
            &[("-5.00", "SEK")],
        );
        assert!(warnings_for(&foreign, true)[0].contains("not in the balance currency"));
    }
}
