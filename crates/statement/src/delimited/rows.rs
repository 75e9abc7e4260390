//! Turning rows into the transactions of one statement per account.

use std::collections::HashMap;

use chrono::NaiveDate;
use csv::StringRecord;
use rust_decimal::Decimal;

use super::MAX_RESERVED_ROWS;
use super::balances::set_balances;
use super::layout::{Layout, RunningBalance, Shape};
use super::values::{
    DateStyle, clean, counterparty_account, is_debit, is_plausible_account, non_empty, parse_amount,
};
use crate::amount;
use crate::error::ParseError;
use crate::iban;
use crate::model::{Dialect, Format, ParsedFile, Statement, Transaction, Warning};
use crate::mt940::information;
use crate::text::{collapse_whitespace, push_collapsed, structured_reference};

/// A row's running balance, kept to derive the statement balances.
#[derive(Debug, Clone, Copy)]
pub(super) enum RowBalance {
    None,
    After(Decimal),
    Before(Decimal),
    StartEnd(Decimal, Decimal),
}

pub(super) struct Row {
    pub(super) line: usize,
    pub(super) balance: RowBalance,
}

pub(super) struct Group {
    pub(super) statement: Statement,
    pub(super) rows: Vec<Row>,
}

/// Collects rows into statements.
pub(super) struct Builder<'a> {
    shape: &'a Shape,
    width: usize,
    dates: Option<DateStyle>,
    groups: Vec<Group>,
    by_account: HashMap<String, usize>,
    scratch: String,
    warnings: Vec<Warning>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(shape: &'a Shape) -> Self {
        Builder {
            shape,
            width: shape.columns.width(),
            dates: None,
            groups: Vec::new(),
            by_account: HashMap::new(),
            scratch: String::new(),
            warnings: Vec::new(),
        }
    }

    /// Adds the row at line `line` to the statement of its account. `remaining` is the number
    /// of bytes from this row to the end of the file, which sizes the first statement's list.
    pub(super) fn add(
        &mut self,
        line: usize,
        row: &StringRecord,
        remaining: usize,
    ) -> Result<(), ParseError> {
        let shape: &'a Shape = self.shape;
        // A row with more fields than its layout has lost a quote or gained a separator, so
        // its values would land in the wrong columns. Empty fields after the last are allowed.
        let expected = shape.columns.fields.max(self.width);
        let extra = row
            .iter()
            .skip(expected)
            .any(|field| !clean(field).is_empty());
        if row.len() < self.width || extra {
            return Err(ParseError::at_line(
                line,
                format!("{expected} fields of the {} layout", shape.layout.name()),
                &format!(
                    "{} fields: {}",
                    row.len(),
                    row.iter().collect::<Vec<_>>().join(" | ")
                ),
            ));
        }
        let style = match self.dates {
            Some(style) => style,
            None => *self.dates.insert(date_style(shape, row, line)?),
        };
        let fields = Fields {
            row,
            line,
            shape,
            style,
        };
        let mut transaction = fields.transaction()?;
        let balance = fields.balance()?;
        let mut remittance = fields.description();
        if shape.layout == Layout::AbnAmroTab {
            let details =
                information::parse(&remittance, &[], Dialect::AbnAmro, None, &mut self.scratch);
            transaction.counterparty_iban = details.counterparty_account;
            transaction.counterparty_name = details.counterparty_name;
            transaction.end_to_end_id = details.end_to_end_id;
            transaction.structured_reference = details.structured_reference;
            remittance = details.remittance;
        }
        if let Some(at) = shape.columns.notes {
            let notes = fields.text(at);
            read_ing_notes(notes, line, &mut transaction, &mut self.scratch)?;
            push_collapsed(&mut remittance, notes);
        }
        transaction.remittance = remittance;

        let account = fields.text(shape.columns.account);
        let group = self.group_for(account, &transaction.currency, row, remaining);
        if let Some(counterparty) = transaction
            .counterparty_iban
            .as_deref()
            .filter(|counterparty| !is_plausible_account(counterparty))
        {
            self.warnings.push(Warning::for_statement(
                group,
                format!(
                    "line {line}: the counterparty account {counterparty:?} is neither an IBAN nor an account number; it is kept as written"
                ),
            ));
        }
        let group = &mut self.groups[group];
        group.statement.transactions.push(transaction);
        group.rows.push(Row { line, balance });
        Ok(())
    }

    /// Returns the index of the statement of `account`, starting one on its first row.
    fn group_for(
        &mut self,
        account: &str,
        currency: &str,
        row: &StringRecord,
        remaining: usize,
    ) -> usize {
        if let Some(index) = self.by_account.get(account) {
            return *index;
        }
        let index = self.groups.len();
        self.by_account.insert(account.to_string(), index);
        let mut group = Group {
            statement: Statement {
                statement_id: None,
                sequence: None,
                iban: statement_iban(account, self.shape.layout),
                account: account.to_string(),
                currency: currency.to_string(),
                opening_balance: None,
                closing_balance: None,
                transactions: Vec::new(),
            },
            rows: Vec::new(),
        };
        if index == 0 {
            // Most files hold one account; growing a list of 100,000 transactions step by step
            // would copy it about seventeen times.
            let row_bytes = row.as_slice().len() + 3 * row.len() + 2;
            let expected = (remaining / row_bytes.max(1) + 1).min(MAX_RESERVED_ROWS);
            group.statement.transactions.reserve(expected);
            group.rows.reserve(expected);
        }
        self.groups.push(group);
        index
    }

    pub(super) fn finish(mut self) -> ParsedFile {
        if self.groups.is_empty() {
            self.warnings.push(Warning {
                statement: None,
                message: format!(
                    "the {} export has a header but no transactions",
                    self.shape.layout.name()
                ),
            });
        }
        let mut statements = Vec::with_capacity(self.groups.len());
        for (index, mut group) in self.groups.into_iter().enumerate() {
            set_balances(index, &mut group, self.shape.layout, &mut self.warnings);
            statements.push(group.statement);
        }
        ParsedFile {
            format: Format::Csv,
            dialect: self.shape.layout.dialect(),
            statements,
            warnings: self.warnings,
        }
    }
}

/// Decides how a file writes its dates from the booking date of its first row.
fn date_style(shape: &Shape, row: &StringRecord, line: usize) -> Result<DateStyle, ParseError> {
    let column = shape.columns.booking_date;
    let text = clean(row.get(column).unwrap_or_default());
    DateStyle::of(text).ok_or_else(|| {
        ParseError::in_field(
            line,
            format!(
                "a date (yyyymmdd, yyyy-mm-dd, dd-mm-yyyy or dd/mm/yyyy) in {}",
                shape.columns.label(column)
            ),
            text,
        )
    })
}

/// One row's fields, read as its layout prescribes; errors name the line and the column.
struct Fields<'r> {
    row: &'r StringRecord,
    line: usize,
    shape: &'r Shape,
    style: DateStyle,
}

impl<'r> Fields<'r> {
    fn text(&self, column: usize) -> &'r str {
        clean(self.row.get(column).unwrap_or_default())
    }

    fn optional(&self, column: Option<usize>) -> Option<String> {
        column.map(|at| self.text(at)).and_then(non_empty)
    }

    fn error(&self, expected: String, column: usize) -> ParseError {
        let expected = format!("{expected} in {}", self.shape.columns.label(column));
        ParseError::in_field(self.line, expected, self.text(column))
    }

    fn date(&self, column: usize) -> Result<NaiveDate, ParseError> {
        self.style
            .parse(self.text(column))
            .ok_or_else(|| self.error(self.style.example().to_string(), column))
    }

    fn money(&self, column: usize) -> Result<Decimal, ParseError> {
        let decimal = self.shape.layout.decimal_mark();
        parse_amount(self.text(column), decimal).ok_or_else(|| {
            let example = if decimal == b',' {
                "an amount with at most two decimals, such as 1234,56 or -1.234,56"
            } else {
                "an amount with at most two decimals, such as 1234.56 or -1234.56"
            };
            self.error(example.to_string(), column)
        })
    }

    /// Reads the amount, signed by the debit or credit column where the layout has one.
    fn amount(&self) -> Result<Decimal, ParseError> {
        let columns = &self.shape.columns;
        let amount = self.money(columns.amount)?;
        let Some(sign) = columns.sign else {
            return Ok(amount);
        };
        let debit = is_debit(self.text(sign))
            .ok_or_else(|| self.error("Af or Bij, Debit or Credit, D or C".into(), sign))?;
        if amount.is_sign_negative() {
            let expected = format!(
                "an amount without a sign, because {} gives it",
                columns.label(sign)
            );
            return Err(self.error(expected, columns.amount));
        }
        Ok(amount::with_sign(amount, debit))
    }

    fn balance(&self) -> Result<RowBalance, ParseError> {
        Ok(match self.shape.columns.balance {
            RunningBalance::None => RowBalance::None,
            RunningBalance::After(at) => RowBalance::After(self.money(at)?),
            RunningBalance::Before(at) => RowBalance::Before(self.money(at)?),
            RunningBalance::StartEnd(start, end) => {
                RowBalance::StartEnd(self.money(start)?, self.money(end)?)
            }
        })
    }

    /// Joins the description columns. Old Rabobank cuts its text into fixed-width columns in
    /// the middle of words, so its columns are joined without a space; ASN quotes its text in
    /// single quotes.
    fn description(&self) -> String {
        let layout = self.shape.layout;
        let columns = &self.shape.columns.description;
        let length: usize = columns.iter().map(|at| self.text(*at).len() + 1).sum();
        let mut remittance = String::with_capacity(length);
        for at in columns {
            let part = self.text(*at);
            match layout {
                Layout::RabobankLegacy => remittance.push_str(part),
                Layout::Asn => push_collapsed(&mut remittance, part.trim_matches('\'')),
                _ => push_collapsed(&mut remittance, part),
            }
        }
        if layout == Layout::RabobankLegacy {
            remittance = collapse_whitespace(&remittance);
        }
        remittance
    }

    /// Reads everything but the remittance text.
    fn transaction(&self) -> Result<Transaction, ParseError> {
        let columns = &self.shape.columns;
        let booking_date = self.date(columns.booking_date)?;
        let value_date = match columns.value_date {
            Some(at) if !self.text(at).is_empty() => self.date(at)?,
            _ => booking_date,
        };
        let currency = match columns.currency.map(|at| self.text(at)) {
            None | Some("") => "EUR",
            Some(currency) => currency,
        };
        let mut structured = columns
            .structured
            .map(|at| self.text(at))
            .filter(|reference| !reference.is_empty())
            .map(structured_reference);
        if self.shape.layout == Layout::RabobankLegacy {
            // A direct debit with a betalingskenmerk carries it alone in the first column.
            let first = columns.description.first().map(|at| self.text(*at));
            if let Some(first) =
                first.filter(|text| text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit()))
            {
                structured = Some(first.to_string());
            }
        }
        Ok(Transaction {
            booking_date,
            value_date,
            amount: self.amount()?,
            currency: currency.to_string(),
            counterparty_iban: columns
                .counterparty
                .map(|at| self.text(at))
                .and_then(counterparty_account),
            counterparty_name: self.optional(columns.name),
            remittance: String::new(),
            end_to_end_id: self.optional(columns.end_to_end),
            structured_reference: structured,
            structured_reference_valid: None,
            bank_reference: columns
                .bank_reference
                .map(|at| self.text(at))
                .filter(|reference| reference.bytes().any(|byte| byte != b'0'))
                .and_then(non_empty),
            transaction_code: self.optional(columns.code),
            reversal: false,
        })
    }
}

/// Reads ING's `Mededelingen`: the value date (`Valutadatum: 13-02-2020`) and the payment
/// reference (`Kenmerk: …`). A 16-digit or `RF` reference is structured; another is the
/// end-to-end reference.
fn read_ing_notes(
    notes: &str,
    line: usize,
    transaction: &mut Transaction,
    scratch: &mut String,
) -> Result<(), ParseError> {
    if let Some(at) = notes.find("Valutadatum:") {
        let text = notes[at + "Valutadatum:".len()..].trim_start();
        let text = text.get(..10).unwrap_or(text);
        transaction.value_date = DateStyle::DayMonthYearDash.parse(text).ok_or_else(|| {
            ParseError::at_line(line, "a value date such as Valutadatum: 13-02-2020", text)
        })?;
    }
    if !notes.contains("Kenmerk:") {
        return Ok(());
    }
    let details = information::parse(notes, &[], Dialect::Ing, None, scratch);
    if let Some(reference) = details.end_to_end_id {
        // A reference of a scheme with check digits is structured, even when the check fails.
        if crate::reference::check(&reference).is_some() {
            transaction.structured_reference = Some(structured_reference(&reference));
        } else {
            transaction.end_to_end_id = Some(reference);
        }
    }
    Ok(())
}

/// Returns the IBAN of an account column: the IBAN itself, or the IBAN built from an ABN AMRO
/// domestic account number.
fn statement_iban(account: &str, layout: Layout) -> Option<String> {
    let digits = account.len();
    if layout == Layout::AbnAmroTab
        && (9..=10).contains(&digits)
        && account.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Some(iban::with_check_digits(
            "NL",
            &format!("ABNA{account:0>10}"),
        ));
    }
    iban::normalise(account)
}
