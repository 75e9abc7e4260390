//! SWIFT MT940 statements and MT942 interim reports, in the Dutch banks' dialects.
//!
//! A statement runs from `:20:` (or, in ABN AMRO files without `:20:`, from a second `:25:`)
//! to the next one. Its opening balance is `:60F:` or the intermediate `:60M:`, its closing
//! balance `:62F:` or `:62M:`. Each `:61:` starts a transaction, and the `:86:` fields after
//! it belong to it. A `:86:` after a balance (`:62F:`, `:64:`, `:65:`, MT942 `:90D:`) is the
//! statement's own summary, so it is not attached to the last transaction.

pub(crate) mod fields;
pub(crate) mod information;
mod statement_line;

use rust_decimal::Decimal;

use self::fields::{FieldHead, FieldReader, Line};
use self::information::Information;
pub(crate) use self::information::find_betalingskenmerk as betalingskenmerk_in_text;
use self::statement_line::StatementLine;
use crate::amount;
use crate::check;
use crate::date;
use crate::detect;
use crate::error::ParseError;
use crate::iban;
use crate::model::{Balance, Dialect, Format, ParsedFile, Statement, Transaction, Warning};

/// The expected balance layout, as error messages name it.
const EXPECTED_BALANCE: &str =
    "a balance (C or D, YYMMDD, currency, amount, for example C140219EUR662,23)";

/// The expected account field, as error messages name it.
const EXPECTED_ACCOUNT: &str =
    "a :25: account identification before the balances and statement lines";

/// Reads an MT940 or MT942 file that has been decoded to text. The user's `dialect`, when
/// given, replaces the detected one.
pub(crate) fn parse(
    text: &str,
    format: Format,
    dialect: Option<Dialect>,
) -> Result<ParsedFile, ParseError> {
    let dialect = dialect.unwrap_or_else(|| detect::mt_dialect(text));
    let mut reader = FieldReader::new(text);
    let mut continuation: Vec<Line<'_>> = Vec::new();
    let mut file = FileBuilder {
        format,
        dialect,
        statements: Vec::new(),
        warnings: Vec::new(),
        current: StatementBuilder::default(),
        scratch: String::new(),
    };

    while let Some(head) = reader.next_field(&mut continuation) {
        file.field(head, &continuation)?;
    }
    file.finish_statement()?;

    if file.statements.is_empty() {
        let first = fields::Lines::new(text).find(|line| !line.text.trim().is_empty());
        return Err(ParseError::at_line(
            first.map_or(1, |line| line.number),
            format!(
                "an {} statement (a :20: or :25: tag followed by balances)",
                format.as_str().to_uppercase()
            ),
            first.map_or("", |line| line.text),
        ));
    }
    check_not_truncated(text, format, &file.statements)?;
    let mut warnings = file.warnings;
    check::check_chain(&file.statements, &mut warnings);
    warnings.sort_by_key(|warning| warning.statement);
    Ok(ParsedFile {
        format,
        dialect,
        statements: file.statements,
        warnings,
    })
}

/// Rejects a file that ends early, so that a cut-off download is not imported as if complete
/// (its last transaction would lose text and come back later as a different mutation).
///
/// A file with SWIFT blocks must close its last `{4:` block with `-}`. A file without blocks and
/// without a closing `-}` must end its last MT940 statement with a closing balance. A statement
/// without closing balance in a closed block is only a warning, because some banks' files have
/// one.
fn check_not_truncated(
    text: &str,
    format: Format,
    statements: &[Statement],
) -> Result<(), ParseError> {
    let last_line = fields::Lines::new(text)
        .filter(|line| !line.text.trim().is_empty())
        .last();
    let (line_number, line_text) = last_line.map_or((1, ""), |line| (line.number, line.text));
    if let Some(block_start) = text.rfind("{4:") {
        if closes_block(&text.as_bytes()[block_start..]) {
            return Ok(());
        }
        let opened_at = text[..block_start]
            .bytes()
            .filter(|byte| *byte == b'\n')
            .count()
            + 1;
        return Err(ParseError::at_line(
            line_number,
            format!(
                "the end of the message block (-}}) that {{4: opened on line {opened_at}; the file looks truncated"
            ),
            line_text,
        ));
    }
    let complete = format != Format::Mt940
        || closes_block(text.as_bytes())
        || statements
            .last()
            .is_none_or(|statement| statement.closing_balance.is_some());
    if complete {
        return Ok(());
    }
    Err(ParseError::at_line(
        line_number,
        "a closing balance (:62F:) at the end of the last statement; the file looks truncated",
        line_text,
    ))
}

/// Whether a line that starts with `-` is followed, after optional white space, by `}`.
fn closes_block(block: &[u8]) -> bool {
    let mut at_line_start = false;
    let mut index = 0;
    while index < block.len() {
        let byte = block[index];
        if byte == b'-' && at_line_start {
            let rest = block[index + 1..]
                .iter()
                .find(|byte| !byte.is_ascii_whitespace());
            if rest == Some(&b'}') {
                return true;
            }
        }
        at_line_start = byte == b'\n' || (at_line_start && (byte == b'\r' || byte == b' '));
        index += 1;
    }
    false
}

struct FileBuilder {
    format: Format,
    dialect: Dialect,
    statements: Vec<Statement>,
    warnings: Vec<Warning>,
    current: StatementBuilder,
    /// A reusable buffer for joining wrapped `:86:` lines.
    scratch: String,
}

/// A statement being read.
#[derive(Default)]
struct StatementBuilder {
    /// The line of the first field, for error messages.
    first_line: usize,
    first_raw: String,
    statement_id: Option<String>,
    sequence: Option<String>,
    account: Option<String>,
    account_currency: Option<String>,
    /// The currency of an MT942 `:34F:` floor limit.
    floor_limit_currency: Option<String>,
    opening: Option<Balance>,
    closing: Option<Balance>,
    transactions: Vec<Transaction>,
    pending: Option<PendingTransaction>,
    /// True once a closing or available balance has been read: a `:86:` now describes the
    /// statement, not a transaction.
    after_balances: bool,
}

struct PendingTransaction {
    line: StatementLine,
    information: Information,
}

impl StatementBuilder {
    fn has_content(&self) -> bool {
        self.account.is_some()
            || self.opening.is_some()
            || self.closing.is_some()
            || self.pending.is_some()
            || !self.transactions.is_empty()
    }

    fn note_first_field(&mut self, head: FieldHead<'_>) {
        if self.first_line == 0 {
            self.first_line = head.line;
            self.first_raw = head.raw.to_string();
        }
    }

    fn flush_pending(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.transactions.push(into_transaction(pending));
        }
    }

    fn require_account(&self, head: FieldHead<'_>) -> Result<(), ParseError> {
        match self.account {
            Some(_) => Ok(()),
            None => Err(ParseError::at_line(head.line, EXPECTED_ACCOUNT, head.raw)),
        }
    }
}

impl FileBuilder {
    fn field(&mut self, head: FieldHead<'_>, continuation: &[Line<'_>]) -> Result<(), ParseError> {
        match head.tag {
            "20" => self.reference(head)?,
            "25" => self.account(head)?,
            "28" | "28C" => {
                // ING wraps `:28C:0000` onto a second line `0`; the number continues there.
                let mut sequence = head.content.trim().to_string();
                for line in continuation {
                    sequence.push_str(line.text.trim());
                }
                self.current.sequence = Some(sequence);
            }
            "60F" | "60M" | "60" => self.opening_balance(head)?,
            "61" => self.statement_line(head, continuation)?,
            "86" => self.information(head, continuation),
            "62F" | "62M" | "62" => {
                self.current.require_account(head)?;
                self.current.flush_pending();
                self.current.closing = Some(parse_balance(head)?);
                self.current.after_balances = true;
            }
            "64" | "65" | "90D" | "90C" => {
                self.current.flush_pending();
                self.current.after_balances = true;
            }
            "34F" => {
                let content = head.content.trim();
                let currency = content.get(..3).filter(|code| iban::is_currency_code(code));
                if self.current.floor_limit_currency.is_none() {
                    self.current.floor_limit_currency = currency.map(str::to_string);
                }
            }
            // :21: related reference, :13:/:13D: date-time of an MT942, :NS: free text.
            "21" | "13" | "13D" | "NS" => {}
            tag => {
                let statement = self.statements.len();
                self.warnings.push(Warning {
                    statement: Some(statement),
                    message: format!(
                        "statement {}, line {}: field :{tag}: is not an MT940 or MT942 field \
                         and was skipped",
                        statement + 1,
                        head.line
                    ),
                });
            }
        }
        Ok(())
    }

    /// `:20:` starts a new statement.
    fn reference(&mut self, head: FieldHead<'_>) -> Result<(), ParseError> {
        if self.current.has_content() {
            self.finish_statement()?;
        }
        self.current.note_first_field(head);
        self.current.statement_id = Some(head.content.trim().to_string());
        Ok(())
    }

    /// `:25:` names the account; a second one starts a new statement (ABN AMRO files without
    /// `:20:`).
    fn account(&mut self, head: FieldHead<'_>) -> Result<(), ParseError> {
        if self.current.account.is_some() {
            self.finish_statement()?;
        }
        self.current.note_first_field(head);
        let account = head.content.trim();
        self.current.account = Some(account.to_string());
        self.current.account_currency = iban::split_account(account).1;
        Ok(())
    }

    fn opening_balance(&mut self, head: FieldHead<'_>) -> Result<(), ParseError> {
        self.current.require_account(head)?;
        if self.current.opening.is_some() || self.current.closing.is_some() {
            // A new statement for the same account without a new :20: or :25:.
            let account = self.current.account.clone();
            let account_currency = self.current.account_currency.clone();
            self.finish_statement()?;
            self.current.account = account;
            self.current.account_currency = account_currency;
        }
        self.current.note_first_field(head);
        self.current.opening = Some(parse_balance(head)?);
        Ok(())
    }

    fn statement_line(
        &mut self,
        head: FieldHead<'_>,
        continuation: &[Line<'_>],
    ) -> Result<(), ParseError> {
        self.current.require_account(head)?;
        self.current.flush_pending();
        let names_in_details = matches!(self.dialect, Dialect::Sns | Dialect::Asn);
        let line = statement_line::parse(
            head.content,
            continuation,
            head.raw,
            head.line,
            names_in_details,
        )?;
        self.current.pending = Some(PendingTransaction {
            line,
            information: Information::default(),
        });
        self.current.after_balances = false;
        Ok(())
    }

    /// `:86:` describes the pending transaction, or after a balance the statement itself, in
    /// which case it is not returned.
    fn information(&mut self, head: FieldHead<'_>, continuation: &[Line<'_>]) {
        if self.current.after_balances {
            return;
        }
        if let Some(pending) = self.current.pending.as_mut() {
            let known_account = pending.line.counterparty_account.as_deref();
            let information = information::parse(
                head.content,
                continuation,
                self.dialect,
                known_account,
                &mut self.scratch,
            );
            pending.information.merge(information);
        }
    }

    fn finish_statement(&mut self) -> Result<(), ParseError> {
        let mut builder = std::mem::take(&mut self.current);
        builder.flush_pending();
        let Some(account) = builder.account else {
            if builder.has_content() {
                return Err(ParseError::at_line(
                    builder.first_line.max(1),
                    EXPECTED_ACCOUNT,
                    &builder.first_raw,
                ));
            }
            return Ok(());
        };

        let currency = builder
            .opening
            .as_ref()
            .or(builder.closing.as_ref())
            .map(|balance| balance.currency.clone())
            .or(builder.account_currency)
            .or(builder.floor_limit_currency)
            .unwrap_or_default();
        let mut transactions = builder.transactions;
        for transaction in &mut transactions {
            transaction.currency.clone_from(&currency);
        }
        let statement = Statement {
            statement_id: builder.statement_id.filter(|id| !id.is_empty()),
            sequence: builder.sequence.filter(|sequence| !sequence.is_empty()),
            iban: iban::split_account(&account).0,
            account,
            currency,
            opening_balance: builder.opening,
            closing_balance: builder.closing,
            transactions,
        };
        let index = self.statements.len();
        check::check_balances(
            index,
            &statement,
            self.format == Format::Mt940,
            &mut self.warnings,
        );
        self.statements.push(statement);
        Ok(())
    }
}

fn into_transaction(pending: PendingTransaction) -> Transaction {
    let PendingTransaction { line, information } = pending;
    let mut remittance = information.remittance;
    if let Some(details) = line.details {
        if !remittance.is_empty() {
            remittance.push(' ');
        }
        remittance.push_str(&details);
    }
    Transaction {
        booking_date: line.booking_date,
        value_date: line.value_date,
        amount: line.amount,
        currency: String::new(),
        counterparty_iban: information
            .counterparty_account
            .or(line.counterparty_account),
        counterparty_name: information.counterparty_name.or(line.counterparty_name),
        remittance,
        end_to_end_id: information.end_to_end_id,
        structured_reference: information.structured_reference,
        bank_reference: line.bank_reference,
        transaction_code: Some(line.type_code).filter(|code| !code.is_empty()),
        reversal: line.reversal,
        structured_reference_valid: None,
    }
}

/// Parses `:60F:`, `:62F:` and their intermediate `M` forms: `C140219EUR662,23`.
fn parse_balance(head: FieldHead<'_>) -> Result<Balance, ParseError> {
    let invalid = || ParseError::at_line(head.line, EXPECTED_BALANCE, head.raw);
    let content = head.content.trim();
    let negative = match content.as_bytes().first() {
        Some(b'C') => false,
        Some(b'D') => true,
        _ => return Err(invalid()),
    };
    let date = content
        .get(1..7)
        .and_then(date::parse_yymmdd)
        .ok_or_else(invalid)?;
    let currency = content
        .get(7..10)
        .filter(|code| iban::is_currency_code(code))
        .ok_or_else(invalid)?;
    let amount_text = content.get(10..).ok_or_else(invalid)?;
    if statement_line::amount_too_long(amount_text) {
        let expected = format!(
            "an amount of at most {} characters after leading zeros, not {amount_text:?}, in \
             {EXPECTED_BALANCE}",
            statement_line::MAX_AMOUNT_CHARACTERS,
        );
        return Err(ParseError::at_line(head.line, expected, head.raw));
    }
    let amount: Decimal = amount::parse_unsigned(amount_text, b',').ok_or_else(invalid)?;
    Ok(Balance {
        amount: amount::with_sign(amount, negative),
        currency: currency.to_string(),
        date,
    })
}

#[cfg(test)]
mod tests;
