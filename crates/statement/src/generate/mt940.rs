//! Writing statements as ING-style MT940.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::bic_for;
use crate::model::{Balance, Statement, Transaction};

/// The maximum line length, tag included, as ING writes it.
const LINE_WIDTH: usize = 65;

/// Writes `statements` as ING-style MT940: one SWIFT message per statement, `:86:` with
/// `/EREF/`, `/CNTP/` and `/REMI/USTD//` or `/REMI/STRD/CUR/` keys, wrapped at 65 characters.
///
/// Reading the output back with [`crate::parse`] gives the same statements when their
/// values fit the format:
/// - `:25:` contains the account as given, so its IBAN must be followed by the currency;
/// - an entry date must lie within half a year of its value date;
/// - a transaction with a structured reference has no unstructured remittance, because ING
///   writes one or the other;
/// - texts contain no `/KEY/` sequences such as `/EREF/`, and names no `/`.
pub fn render_mt940(statements: &[Statement]) -> String {
    let mut out =
        String::with_capacity(statements.len() * 256 + count_transactions(statements) * 256);
    for statement in statements {
        render_statement(&mut out, statement);
    }
    out
}

fn count_transactions(statements: &[Statement]) -> usize {
    statements
        .iter()
        .map(|statement| statement.transactions.len())
        .sum()
}

fn render_statement(out: &mut String, statement: &Statement) {
    out.push_str("{1:F01INGBNL2AXXXX0000000000}\n{2:I940INGBNL2AXXXN}\n{4:\n");
    let _ = writeln!(
        out,
        ":20:{}",
        statement.statement_id.as_deref().unwrap_or_default()
    );
    let _ = writeln!(out, ":25:{}", statement.account);
    if let Some(sequence) = &statement.sequence {
        let _ = writeln!(out, ":28C:{sequence}");
    }
    if let Some(opening) = &statement.opening_balance {
        render_balance(out, "60F", opening);
    }
    for transaction in &statement.transactions {
        render_transaction(out, transaction);
    }
    if let Some(closing) = &statement.closing_balance {
        render_balance(out, "62F", closing);
        render_balance(out, "64", closing);
    }

    // The statement-level summary ING adds: debit count, credit count, debit sum, credit sum.
    let (debits, credits): (Vec<&Transaction>, Vec<&Transaction>) = statement
        .transactions
        .iter()
        .partition(|transaction| transaction.amount.is_sign_negative());
    let debit_sum: Decimal = debits
        .iter()
        .map(|transaction| transaction.amount.abs())
        .sum();
    let credit_sum: Decimal = credits.iter().map(|transaction| transaction.amount).sum();
    let _ = writeln!(
        out,
        ":86:/SUM/{}/{}/{}/{}/",
        debits.len(),
        credits.len(),
        swift_amount(debit_sum),
        swift_amount(credit_sum)
    );
    out.push_str("-}\n");
}

fn render_balance(out: &mut String, tag: &str, balance: &Balance) {
    let mark = if balance.amount.is_sign_negative() {
        'D'
    } else {
        'C'
    };
    let _ = writeln!(
        out,
        ":{tag}:{mark}{}{}{}",
        balance.date.format("%y%m%d"),
        balance.currency,
        swift_amount(balance.amount.abs())
    );
}

fn render_transaction(out: &mut String, transaction: &Transaction) {
    let negative = transaction.amount.is_sign_negative();
    let mark = match (negative, transaction.reversal) {
        (false, false) => "C",
        (true, false) => "D",
        (false, true) => "RD",
        (true, true) => "RC",
    };
    let code = transaction
        .transaction_code
        .as_deref()
        .filter(|code| {
            code.len() == 4 && code.is_ascii() && code.as_bytes()[0].is_ascii_alphabetic()
        })
        .unwrap_or("NMSC");
    let customer_reference = match (
        &transaction.structured_reference,
        &transaction.end_to_end_id,
    ) {
        (Some(reference), _) if reference.len() <= 16 && !reference.contains([' ', '/']) => {
            reference.as_str()
        }
        (_, Some(_)) => "EREF",
        _ => "NONREF",
    };
    let _ = write!(
        out,
        ":61:{}{}{mark}{}{code}{customer_reference}",
        transaction.value_date.format("%y%m%d"),
        transaction.booking_date.format("%m%d"),
        swift_amount(transaction.amount.abs()),
    );
    if let Some(reference) = &transaction.bank_reference {
        let _ = write!(out, "//{reference}");
    }
    out.push_str("\n/TRCD/00100/\n");

    let information = information(transaction);
    if !information.is_empty() {
        write_wrapped(out, ":86:", &information);
    }
}

/// Builds the `:86:` text in ING's double-slash layout.
fn information(transaction: &Transaction) -> String {
    let mut text = String::new();
    if let Some(end_to_end_id) = &transaction.end_to_end_id {
        let _ = write!(text, "/EREF/{end_to_end_id}/");
    }
    if transaction.counterparty_iban.is_some() || transaction.counterparty_name.is_some() {
        let iban = transaction.counterparty_iban.as_deref().unwrap_or_default();
        let bic = if iban.is_empty() { "" } else { bic_for(iban) };
        let name = transaction.counterparty_name.as_deref().unwrap_or_default();
        let _ = write!(text, "/CNTP/{iban}/{bic}/{name}//");
    }
    if let Some(reference) = &transaction.structured_reference {
        let _ = write!(text, "/REMI/STRD/CUR/{reference}/");
    } else if !transaction.remittance.is_empty() {
        let _ = write!(text, "/REMI/USTD//{}/", transaction.remittance);
    }
    text
}

/// Writes `tag` and `text` in lines of at most [`LINE_WIDTH`] characters. A continuation line
/// never starts with a character that could be read as a tag, terminator or envelope.
fn write_wrapped(out: &mut String, tag: &str, text: &str) {
    out.push_str(tag);
    let mut width = LINE_WIDTH - tag.len();
    let mut rest = text;
    loop {
        let mut cut = rest
            .char_indices()
            .nth(width)
            .map_or(rest.len(), |(at, _)| at);
        while cut < rest.len() && cut > 1 && rest[cut..].starts_with([':', '-', '{', '}', ' ']) {
            cut = rest[..cut]
                .char_indices()
                .next_back()
                .map_or(0, |(at, _)| at);
        }
        out.push_str(&rest[..cut]);
        out.push('\n');
        rest = &rest[cut..];
        if rest.is_empty() {
            break;
        }
        width = LINE_WIDTH;
    }
}

/// Formats an unsigned amount with a decimal comma: `1234,56`.
fn swift_amount(amount: Decimal) -> String {
    amount.to_string().replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_65_characters() {
        let mut out = String::new();
        let text = "x".repeat(150);
        write_wrapped(&mut out, ":86:", &text);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 65);
        assert_eq!(lines[1].len(), 65);
        assert_eq!(lines.concat().len(), 150 + 4);
    }

    #[test]
    fn continuation_never_starts_with_a_marker() {
        for marker in [':', '-', '{', '}', ' '] {
            let text = format!("{}{marker}{}", "a".repeat(61), "b".repeat(10));
            let mut out = String::new();
            write_wrapped(&mut out, ":86:", &text);
            for line in out.lines().skip(1) {
                assert!(!line.starts_with(marker), "{marker:?} in {out:?}");
            }
            assert_eq!(out.lines().collect::<String>(), format!(":86:{text}"));
        }
    }

    #[test]
    fn amounts_use_a_decimal_comma() {
        assert_eq!(swift_amount("1234.56".parse().unwrap()), "1234,56");
        assert_eq!(swift_amount("0.30".parse().unwrap()), "0,30");
    }
}
