//! Statement-level elements: identification, account, balances, and the warnings written
//! when a statement ends.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::state::{State, credit_indicator, parse_amount};
use super::tags::Tag;
use crate::amount;
use crate::check;
use crate::date;
use crate::iban;
use crate::model::{Balance, Statement, Transaction, Warning};

/// The parts of a statement element read so far.
#[derive(Default)]
pub(super) struct StatementDraft {
    pub(super) id: Option<String>,
    pub(super) electronic_sequence: Option<String>,
    pub(super) legal_sequence: Option<String>,
    pub(super) copy_indicator: Option<String>,
    pub(super) account_iban: Option<String>,
    pub(super) account_other: Option<String>,
    pub(super) account_currency: Option<String>,
    pub(super) opening: Option<Balance>,
    pub(super) opening_is_previous_closing: bool,
    pub(super) closing: Option<Balance>,
    /// The currency of any balance, including interim ones, for the statement currency.
    pub(super) any_balance_currency: Option<String>,
    pub(super) to_date: Option<NaiveDate>,
    pub(super) created: Option<NaiveDate>,
    pub(super) transactions: Vec<Transaction>,
    pub(super) not_booked: Vec<String>,
    pub(super) undated_entries: usize,
    pub(super) balances_without_indicator: Vec<String>,
    pub(super) parts_mismatches: Vec<String>,
}

/// The parts of a `Bal` element read so far.
#[derive(Default)]
pub(super) struct BalanceDraft {
    pub(super) code: Option<String>,
    pub(super) amount: Option<(Decimal, String)>,
    pub(super) credit: Option<bool>,
    pub(super) date: Option<NaiveDate>,
}

impl StatementDraft {
    /// Moves what was read into a [`Statement`], leaving the notes for [`Self::notes`].
    fn build(&mut self) -> Statement {
        let account = self
            .account_iban
            .take()
            .or(self.account_other.take())
            .unwrap_or_default();
        let currency = self
            .opening
            .as_ref()
            .map(|balance| balance.currency.clone())
            .or(self.account_currency.take())
            .or(self
                .closing
                .as_ref()
                .map(|balance| balance.currency.clone()))
            .or(self.any_balance_currency.take())
            .or(self
                .transactions
                .first()
                .map(|transaction| transaction.currency.clone()))
            .unwrap_or_default();
        Statement {
            statement_id: self.id.take(),
            sequence: self
                .electronic_sequence
                .take()
                .or(self.legal_sequence.take()),
            iban: iban::normalise(&account),
            account,
            currency,
            opening_balance: self.opening.take(),
            closing_balance: self.closing.take(),
            transactions: std::mem::take(&mut self.transactions),
        }
    }

    /// Returns the warnings about this statement other than its balance check.
    fn notes(&self, label: &str, no_account: bool) -> Vec<String> {
        let mut notes = Vec::new();
        if no_account {
            notes.push(format!("{label} has no account identification (Acct/Id)"));
        }
        if let Some(indicator) = &self.copy_indicator {
            notes.push(format!(
                "{label} is marked as a copy or duplicate (CpyDplctInd {indicator}); it may have been imported before"
            ));
        }
        for code in &self.balances_without_indicator {
            notes.push(format!(
                "{label}: balance {code} has no CdtDbtInd and was read as a credit balance"
            ));
        }
        if !self.not_booked.is_empty() {
            let mut statuses: Vec<&str> = self.not_booked.iter().map(String::as_str).collect();
            statuses.sort_unstable();
            statuses.dedup();
            notes.push(format!(
                "{label}: {} entries that are not booked (Sts {}) were left out",
                self.not_booked.len(),
                statuses.join(", ")
            ));
        }
        if self.undated_entries > 0 {
            notes.push(format!(
                "{label}: {} entries have no booking or value date; the statement date was used",
                self.undated_entries
            ));
        }
        for mismatch in &self.parts_mismatches {
            notes.push(format!(
                "{label}: a batch entry was kept whole because its {mismatch}"
            ));
        }
        notes
    }
}

impl State {
    pub(super) fn close_balance(&mut self, path: &[Tag], value: &str) {
        let balance = &mut self.balance;
        match path {
            [.., Tag::Bal, Tag::Tp, Tag::CdOrPrtry, Tag::Cd] => {
                balance.code = Some(value.to_string())
            }
            [.., Tag::Bal, Tag::Amt] => balance.amount = parse_amount(value, &self.amount_currency),
            [.., Tag::Bal, Tag::CdtDbtInd] => balance.credit = credit_indicator(value),
            [.., Tag::Bal, Tag::Dt, Tag::Dt] => balance.date = date::parse_iso_date(value),
            [.., Tag::Bal, Tag::Dt, Tag::DtTm] => {
                balance.date = date::parse_iso_datetime_local_date(value)
            }
            [.., Tag::Bal] => self.finish_balance(),
            _ => {}
        }
    }

    pub(super) fn finish_balance(&mut self) {
        let draft = std::mem::take(&mut self.balance);
        let Some(statement) = self.statement.as_mut() else {
            return;
        };
        if let Some((_, currency)) = &draft.amount {
            statement
                .any_balance_currency
                .get_or_insert_with(|| currency.clone());
        }
        let code = draft.code.unwrap_or_default();
        let is_opening = code == "OPBD" || code == "PRCD";
        if !is_opening && code != "CLBD" {
            return;
        }
        let (Some((amount, currency)), Some(date)) = (draft.amount, draft.date) else {
            return;
        };
        let credit = draft.credit.unwrap_or_else(|| {
            statement.balances_without_indicator.push(code.clone());
            true
        });
        let balance = Balance {
            amount: amount::with_sign(amount, !credit),
            currency,
            date,
        };
        if code == "CLBD" {
            statement.closing = Some(balance);
        } else if code == "OPBD"
            || statement.opening.is_none()
            || statement.opening_is_previous_closing
        {
            // A booked opening balance wins over the previous closing balance.
            statement.opening_is_previous_closing = code == "PRCD";
            statement.opening = Some(balance);
        }
    }

    pub(super) fn finish_statement(&mut self) {
        let Some(mut draft) = self.statement.take() else {
            return;
        };
        let index = self.statements.len();
        let statement = draft.build();
        let label = check::statement_label(index, &statement);
        for message in draft.notes(&label, statement.account.is_empty()) {
            self.warnings.push(Warning::for_statement(index, message));
        }
        check::check_balances(index, &statement, false, &mut self.warnings);
        self.statements.push(statement);
    }
}

pub(super) fn close_statement_field(statement: &mut StatementDraft, path: &[Tag], value: &str) {
    let text = || (!value.is_empty()).then(|| value.to_string());
    // Only direct children of the statement element: `Acct/Id/IBAN` also occurs deeper.
    let Some(at) = path.iter().position(|tag| tag.is_statement()) else {
        return;
    };
    match &path[at + 1..] {
        [Tag::Id] => statement.id = text(),
        [Tag::ElctrncSeqNb] => statement.electronic_sequence = text(),
        [Tag::LglSeqNb] => statement.legal_sequence = text(),
        [Tag::CpyDplctInd] => statement.copy_indicator = text(),
        [Tag::CreDtTm] => statement.created = date::parse_iso_datetime_local_date(value),
        [Tag::FrToDt, Tag::ToDtTm] => {
            statement.to_date = date::parse_iso_datetime_local_date(value)
        }
        [Tag::Acct, Tag::Id, Tag::Iban] => statement.account_iban = text(),
        [Tag::Acct, Tag::Id, Tag::Othr, Tag::Id] => statement.account_other = text(),
        [Tag::Acct, Tag::Ccy] => statement.account_currency = text(),
        _ => {}
    }
}
