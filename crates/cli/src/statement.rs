//! `dk statement parse`: read a statement file offline and print what an import would read from it.

use std::path::Path;

use anyhow::Context;
use dk_statement::{Overrides, ParsedFile};

/// Parses `file` and prints it; a file that cannot be read is an error naming the line or byte.
pub fn parse(file: &Path, overrides: Overrides, json_output: bool) -> anyhow::Result<()> {
    let content =
        std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
    let parsed = dk_statement::parse_with(&content, overrides)
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    let mut parsed = parsed;
    warn_about_ibans(&mut parsed);
    if json_output {
        println!("{}", serde_json::to_string_pretty(&parsed)?);
    } else {
        print_summary(&parsed);
    }
    Ok(())
}

/// Adds a warning for each statement whose IBAN fails its check, because an import rejects it.
fn warn_about_ibans(parsed: &mut ParsedFile) {
    for (index, statement) in parsed.statements.iter().enumerate() {
        let Some(iban) = &statement.iban else {
            continue;
        };
        if let Err(error) = dk_domain::Iban::parse(iban) {
            parsed.warnings.push(dk_statement::Warning {
                statement: Some(index),
                message: format!(
                    "statement {}: {error}; an import rejects this statement",
                    index + 1
                ),
            });
        }
    }
}

fn print_summary(parsed: &ParsedFile) {
    println!(
        "format {} ({}), {} statement(s)",
        parsed.format.as_str(),
        parsed.dialect.as_str(),
        parsed.statements.len()
    );
    for statement in &parsed.statements {
        let balance = |balance: &Option<dk_statement::Balance>| match balance {
            Some(balance) => format!(
                "{} {} on {}",
                balance.amount, balance.currency, balance.date
            ),
            None => "-".to_owned(),
        };
        println!(
            "\n{} ({}): opening {}, closing {}",
            statement.iban.as_deref().unwrap_or(&statement.account),
            statement.currency,
            balance(&statement.opening_balance),
            balance(&statement.closing_balance)
        );
        for transaction in &statement.transactions {
            println!(
                "  {} {:>12} {:<26} {}",
                transaction.booking_date,
                transaction.amount.to_string(),
                transaction.counterparty_name.as_deref().unwrap_or("-"),
                transaction.remittance
            );
        }
    }
    for warning in &parsed.warnings {
        println!("warning: {}", warning.message);
    }
}
