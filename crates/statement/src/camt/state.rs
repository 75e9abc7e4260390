//! The reader state: which statement, entry and transaction details are open, and what the
//! end of each element means for them.

use chrono::NaiveDate;
use quick_xml::events::BytesStart;
use rust_decimal::Decimal;

use super::entry::{self, DetailsDraft, EntryDraft};
use super::root_element;
use super::statement::{BalanceDraft, StatementDraft, close_statement_field};
use super::tags::Tag;
use crate::amount;
use crate::date;
use crate::iban;
use crate::model::{Format, Statement, Warning};
use crate::text::collapse_whitespace;

/// The reader's state between events.
pub(super) struct State {
    pub(super) requested: Format,
    pub(super) root_seen: bool,
    pub(super) statements: Vec<Statement>,
    pub(super) warnings: Vec<Warning>,
    pub(super) statement: Option<StatementDraft>,
    pub(super) balance: BalanceDraft,
    pub(super) entry: Option<EntryDraft>,
    pub(super) details: Option<DetailsDraft>,
    /// The `Ccy` attribute of the last `<Amt>` start tag.
    pub(super) amount_currency: String,
    /// `GrpHdr/CreDtTm`, the last fallback date for entries without dates.
    pub(super) message_date: Option<NaiveDate>,
}

impl State {
    pub(super) fn new(requested: Format) -> Self {
        State {
            requested,
            root_seen: false,
            statements: Vec::new(),
            warnings: Vec::new(),
            statement: None,
            balance: BalanceDraft::default(),
            entry: None,
            details: None,
            amount_currency: String::new(),
            message_date: None,
        }
    }

    pub(super) fn expected_root(&self) -> String {
        let (element, name) = root_element(self.requested);
        format!("a <Document> root element holding <{element}> ({name})")
    }

    /// Handles a start tag below `path`. Returns what was expected when the root is wrong.
    pub(super) fn open(
        &mut self,
        path: &[Tag],
        tag: Tag,
        start: &BytesStart<'_>,
        offset: usize,
    ) -> Result<(), String> {
        match (path, tag) {
            ([], Tag::Document) => {}
            ([], root) | ([Tag::Document], root) => {
                let found = match root {
                    Tag::BkToCstmrStmt => Some(Format::Camt053),
                    Tag::BkToCstmrAcctRpt => Some(Format::Camt052),
                    Tag::BkToCstmrDbtCdtNtfctn => Some(Format::Camt054),
                    _ => None,
                };
                if found != Some(self.requested) {
                    return Err(self.expected_root());
                }
                self.root_seen = true;
            }
            ([.., root], statement) if root.is_message_root() && statement.is_statement() => {
                self.statement = Some(StatementDraft::default());
            }
            (_, Tag::Bal) => self.balance = BalanceDraft::default(),
            (_, Tag::Ntry) => {
                self.entry = Some(EntryDraft {
                    offset,
                    ..EntryDraft::default()
                });
            }
            (_, Tag::TxDtls) => self.details = Some(DetailsDraft::default()),
            (_, Tag::Amt) => {
                self.amount_currency.clear();
                if let Ok(Some(attribute)) = start.try_get_attribute("Ccy") {
                    self.amount_currency.push_str(
                        std::str::from_utf8(&attribute.value)
                            .unwrap_or_default()
                            .trim(),
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Handles the end of the last element of `path`, whose text content is `value`.
    /// Returns the offset and what was expected when an entry cannot be read.
    pub(super) fn close(&mut self, path: &[Tag], value: &str) -> Result<(), (usize, String)> {
        let value = value.trim();
        let Some(&tag) = path.last() else {
            return Ok(());
        };
        if self.details.is_some() && path.contains(&Tag::TxDtls) {
            self.close_details(path, value);
        } else if self.entry.is_some() && path.contains(&Tag::Ntry) {
            self.close_entry(path, value)?;
        } else if path.contains(&Tag::Bal) {
            self.close_balance(path, value);
        } else if let Some(statement) = self.statement.as_mut() {
            close_statement_field(statement, path, value);
        } else if let [.., Tag::GrpHdr, Tag::CreDtTm] = path {
            self.message_date = date::parse_iso_datetime_local_date(value);
        }
        if let [.., root, statement] = path
            && root.is_message_root()
            && statement.is_statement()
            && tag == *statement
        {
            self.finish_statement();
        }
        Ok(())
    }

    fn close_details(&mut self, path: &[Tag], value: &str) {
        let Some(details) = self.details.as_mut() else {
            return;
        };
        let text = || (!value.is_empty()).then(|| value.to_string());
        match path {
            [.., Tag::TxDtls] => {
                if let (Some(entry), Some(done)) = (self.entry.as_mut(), self.details.take()) {
                    entry.details.push(done);
                }
            }
            [.., Tag::TxDtls, Tag::Refs, Tag::EndToEndId] => details.end_to_end_id = text(),
            [.., Tag::TxDtls, Tag::Refs, Tag::AcctSvcrRef] => {
                details.bank_reference = text().filter(|r| r != "NONREF")
            }
            [.., Tag::TxDtls, Tag::Amt] => {
                details.amount = parse_amount(value, &self.amount_currency)
            }
            [.., Tag::TxDtls, Tag::CdtDbtInd] => details.credit = credit_indicator(value),
            [.., Tag::TxDtls, Tag::AmtDtls, Tag::TxAmt, Tag::Amt] => {
                details.transaction_amount = parse_amount(value, &self.amount_currency)
            }
            [.., Tag::TxDtls, Tag::BkTxCd, Tag::Domn, Tag::Cd] => details.code.domain = text(),
            [.., Tag::TxDtls, Tag::BkTxCd, Tag::Domn, Tag::Fmly, Tag::Cd] => {
                details.code.family = text()
            }
            [
                ..,
                Tag::TxDtls,
                Tag::BkTxCd,
                Tag::Domn,
                Tag::Fmly,
                Tag::SubFmlyCd,
            ] => details.code.sub_family = text(),
            [.., Tag::TxDtls, Tag::BkTxCd, Tag::Prtry, Tag::Cd] => {
                details.code.proprietary = text()
            }
            [.., Tag::RltdPties, Tag::Dbtr, Tag::Nm]
            | [.., Tag::RltdPties, Tag::Dbtr, Tag::Pty, Tag::Nm] => {
                details.debtor_name = text().map(|name| collapse_whitespace(&name));
            }
            [.., Tag::RltdPties, Tag::Cdtr, Tag::Nm]
            | [.., Tag::RltdPties, Tag::Cdtr, Tag::Pty, Tag::Nm] => {
                details.creditor_name = text().map(|name| collapse_whitespace(&name));
            }
            [.., Tag::RltdPties, Tag::DbtrAcct, Tag::Id, Tag::Iban]
            | [
                ..,
                Tag::RltdPties,
                Tag::DbtrAcct,
                Tag::Id,
                Tag::Othr,
                Tag::Id,
            ] => {
                details.debtor_account = account(value);
            }
            [.., Tag::RltdPties, Tag::CdtrAcct, Tag::Id, Tag::Iban]
            | [
                ..,
                Tag::RltdPties,
                Tag::CdtrAcct,
                Tag::Id,
                Tag::Othr,
                Tag::Id,
            ] => {
                details.creditor_account = account(value);
            }
            [.., Tag::TxDtls, Tag::RmtInf, Tag::Ustrd] => {
                if !details.unstructured.is_empty() && !value.is_empty() {
                    details.unstructured.push(' ');
                }
                details.unstructured.push_str(value);
            }
            [
                ..,
                Tag::TxDtls,
                Tag::RmtInf,
                Tag::Strd,
                Tag::CdtrRefInf,
                Tag::Ref,
            ] if details.structured_reference.is_none() => details.structured_reference = text(),
            [.., Tag::TxDtls, Tag::AddtlTxInf] => details.additional_info = text(),
            _ => {}
        }
    }

    fn close_entry(&mut self, path: &[Tag], value: &str) -> Result<(), (usize, String)> {
        let Some(entry) = self.entry.as_mut() else {
            return Ok(());
        };
        let text = || (!value.is_empty()).then(|| value.to_string());
        match path {
            [.., Tag::Ntry] => return self.finish_entry(),
            [.., Tag::Ntry, Tag::Amt] => {
                if let Some((amount, currency)) = parse_amount(value, &self.amount_currency) {
                    entry.amount = Some(amount);
                    entry.currency = currency;
                }
            }
            [.., Tag::Ntry, Tag::CdtDbtInd] => entry.credit = credit_indicator(value),
            [.., Tag::Ntry, Tag::RvslInd] => entry.reversal = value == "true" || value == "1",
            [.., Tag::Ntry, Tag::Sts] | [.., Tag::Ntry, Tag::Sts, Tag::Cd] if !value.is_empty() => {
                entry.status = text();
            }
            [.., Tag::Ntry, Tag::BookgDt, Tag::Dt] => {
                entry.booking_date = date::parse_iso_date(value)
            }
            [.., Tag::Ntry, Tag::BookgDt, Tag::DtTm] => {
                entry.booking_date = date::parse_iso_datetime_local_date(value)
            }
            [.., Tag::Ntry, Tag::ValDt, Tag::Dt] => entry.value_date = date::parse_iso_date(value),
            [.., Tag::Ntry, Tag::ValDt, Tag::DtTm] => {
                entry.value_date = date::parse_iso_datetime_local_date(value)
            }
            [.., Tag::Ntry, Tag::AcctSvcrRef] => {
                entry.bank_reference = text().filter(|r| r != "NONREF")
            }
            [.., Tag::Ntry, Tag::NtryRef] => entry.entry_reference = text(),
            [.., Tag::Ntry, Tag::BkTxCd, Tag::Domn, Tag::Cd] => entry.code.domain = text(),
            [.., Tag::Ntry, Tag::BkTxCd, Tag::Domn, Tag::Fmly, Tag::Cd] => {
                entry.code.family = text()
            }
            [
                ..,
                Tag::Ntry,
                Tag::BkTxCd,
                Tag::Domn,
                Tag::Fmly,
                Tag::SubFmlyCd,
            ] => entry.code.sub_family = text(),
            [.., Tag::Ntry, Tag::BkTxCd, Tag::Prtry, Tag::Cd] => entry.code.proprietary = text(),
            [.., Tag::Ntry, Tag::AddtlNtryInf] => entry.additional_info = text(),
            _ => {}
        }
        Ok(())
    }

    fn finish_entry(&mut self) -> Result<(), (usize, String)> {
        let (Some(entry), Some(statement)) = (self.entry.take(), self.statement.as_mut()) else {
            return Ok(());
        };
        let offset = entry.offset;
        let fallback_date = statement
            .closing
            .as_ref()
            .map(|balance| balance.date)
            .or(statement.opening.as_ref().map(|balance| balance.date))
            .or(statement.to_date)
            .or(statement.created)
            .or(self.message_date);
        let notes = entry::into_transactions(entry, fallback_date, &mut statement.transactions)
            .map_err(|error| (offset, error.expected().to_string()))?;
        if let Some(status) = notes.not_booked {
            statement.not_booked.push(status);
        }
        if notes.used_statement_date {
            statement.undated_entries += 1;
        }
        if let Some((parts, total)) = notes.parts_mismatch {
            statement
                .parts_mismatches
                .push(format!("parts add up to {parts}, entry is {total}"));
        }
        Ok(())
    }
}

/// Parses an ISO amount and pairs it with its currency.
pub(super) fn parse_amount(value: &str, currency: &str) -> Option<(Decimal, String)> {
    let amount = amount::parse_unsigned(value, b'.')?;
    Some((amount, currency.to_string()))
}

pub(super) fn credit_indicator(value: &str) -> Option<bool> {
    match value {
        "CRDT" => Some(true),
        "DBIT" => Some(false),
        _ => None,
    }
}

pub(super) fn account(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(iban::normalise(value).unwrap_or_else(|| value.to_string()))
}
