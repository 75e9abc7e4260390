//! Opening and closing balances from the running balances of the rows.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::layout::Layout;
use super::rows::{Group, RowBalance};
use crate::model::{Balance, Warning};

/// Derives a statement's opening and closing balances from the rows' running balances, in date
/// order, and warns where a row's balance does not follow from the row before it.
///
/// Files list rows oldest first or newest first (ING), and rows of one day do not show which
/// came first. So the order is the file's order or its reverse, whichever the running balances
/// follow. When both fit equally, the dates decide, and for rows of one day the bank's habit.
pub(super) fn set_balances(
    index: usize,
    group: &mut Group,
    layout: Layout,
    warnings: &mut Vec<Warning>,
) {
    let transactions = &group.statement.transactions;
    let (Some(first), Some(last)) = (transactions.first(), transactions.last()) else {
        return;
    };
    if matches!(group.rows[0].balance, RowBalance::None) {
        return;
    }

    let forward: Vec<usize> = (0..transactions.len()).collect();
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    let newest_first = match first.booking_date.cmp(&last.booking_date) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => matches!(layout, Layout::IngPayments | Layout::IngSavings),
    };
    let (preferred, other) = if newest_first {
        (backward, forward)
    } else {
        (forward, backward)
    };

    let label = format!("statement {} ({})", index + 1, group.statement.account);
    let walk_preferred = walk(&preferred, group, &label);
    let walked = if walk_preferred.breaks == 0 {
        walk_preferred
    } else {
        let walk_other = walk(&other, group, &label);
        if walk_other.breaks < walk_preferred.breaks {
            walk_other
        } else {
            walk_preferred
        }
    };

    let currency = group.statement.currency.clone();
    let balance = |(amount, date): (Decimal, NaiveDate)| Balance {
        amount,
        currency: currency.clone(),
        date,
    };
    group.statement.opening_balance = walked.opening.map(balance);
    group.statement.closing_balance = walked.closing.map(balance);
    warnings.extend(
        walked
            .messages
            .into_iter()
            .map(|message| Warning::for_statement(index, message)),
    );
}

/// The balances and breaks found walking a statement's rows in one order.
pub(super) struct Walk {
    opening: Option<(Decimal, NaiveDate)>,
    closing: Option<(Decimal, NaiveDate)>,
    /// Places where a row's balance before it differs from the balance after the row before.
    breaks: usize,
    messages: Vec<String>,
}

pub(super) fn walk(order: &[usize], group: &Group, label: &str) -> Walk {
    let mut walked = Walk {
        opening: None,
        closing: None,
        breaks: 0,
        messages: Vec::new(),
    };
    let mut previous: Option<(usize, Decimal)> = None;
    for &at in order {
        let row = &group.rows[at];
        let transaction = &group.statement.transactions[at];
        let (before, after) = match row.balance {
            RowBalance::None => continue,
            RowBalance::After(after) => (after - transaction.amount, after),
            RowBalance::Before(before) => (before, before + transaction.amount),
            RowBalance::StartEnd(start, end) => {
                if start + transaction.amount != end {
                    walked.messages.push(format!(
                        "{label}: line {} gives a start balance of {start} and an end balance of {end}, which differ by {} instead of the amount {}",
                        row.line,
                        end - start,
                        transaction.amount
                    ));
                }
                (start, end)
            }
        };
        match previous {
            None => walked.opening = Some((before, transaction.booking_date)),
            Some((line, balance)) if balance != before => {
                walked.breaks += 1;
                walked.messages.push(format!(
                    "{label}: the balance is {balance} after line {line} but {before} before line {}; rows may be missing between them",
                    row.line
                ));
            }
            Some(_) => {}
        }
        previous = Some((row.line, after));
        walked.closing = Some((after, transaction.booking_date));
    }
    walked
}
