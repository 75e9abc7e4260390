//! CAMT entries (`Ntry`) and their transaction details (`TxDtls`), turned into transactions.
//!
//! An entry is one booking. When it carries several `TxDtls` that each have their own amount
//! and those amounts add up to the entry, it is a batch and every part becomes its own
//! transaction with its own counterparty and references. Otherwise the entry is one
//! transaction: a batch reported only as a summary, or parts without amounts (camt.054).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::amount;
use crate::model::Transaction;
use crate::text::{collapse_whitespace, structured_reference};

/// A bank transaction code: ISO `Domn/Cd`, `Fmly/Cd`, `SubFmlyCd`, and the bank's `Prtry/Cd`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct BankCode {
    pub domain: Option<String>,
    pub family: Option<String>,
    pub sub_family: Option<String>,
    pub proprietary: Option<String>,
}

impl BankCode {
    /// Returns `PMNT-RCDT-ESCT` for an ISO code, else the proprietary code.
    fn code(&self) -> Option<String> {
        if let (Some(domain), Some(family), Some(sub_family)) =
            (&self.domain, &self.family, &self.sub_family)
        {
            return Some(format!("{domain}-{family}-{sub_family}"));
        }
        self.proprietary.clone().or_else(|| self.domain.clone())
    }
}

/// The parts of a `TxDtls` element the transaction needs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DetailsDraft {
    pub end_to_end_id: Option<String>,
    pub bank_reference: Option<String>,
    /// `TxDtls/Amt` (camt.05x.001.04 and later).
    pub amount: Option<(Decimal, String)>,
    /// `TxDtls/AmtDtls/TxAmt/Amt`.
    pub transaction_amount: Option<(Decimal, String)>,
    pub credit: Option<bool>,
    pub code: BankCode,
    pub debtor_name: Option<String>,
    pub debtor_account: Option<String>,
    pub creditor_name: Option<String>,
    pub creditor_account: Option<String>,
    pub unstructured: String,
    pub structured_reference: Option<String>,
    pub additional_info: Option<String>,
}

impl DetailsDraft {
    fn own_amount(&self) -> Option<&(Decimal, String)> {
        self.amount.as_ref().or(self.transaction_amount.as_ref())
    }
}

/// The parts of an `Ntry` element the transactions need.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EntryDraft {
    /// Byte offset of the `<Ntry>` start tag in the decoded text, for error messages.
    pub offset: usize,
    pub amount: Option<Decimal>,
    pub currency: String,
    pub credit: Option<bool>,
    pub reversal: bool,
    pub status: Option<String>,
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    pub bank_reference: Option<String>,
    pub entry_reference: Option<String>,
    pub code: BankCode,
    pub additional_info: Option<String>,
    pub details: Vec<DetailsDraft>,
}

/// Facts about a read entry that become warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EntryNotes {
    /// The status of an entry that was not booked (`PDNG`, `INFO`).
    pub not_booked: Option<String>,
    /// The sum of the parts and the entry amount, when the parts did not add up.
    pub parts_mismatch: Option<(Decimal, Decimal)>,
    /// True when the entry had no dates and the statement date was used.
    pub used_statement_date: bool,
}

/// The part that an unreadable entry lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryError {
    Amount,
    Indicator,
    Date,
}

impl EntryError {
    pub(crate) fn expected(self) -> &'static str {
        match self {
            EntryError::Amount => {
                "an <Amt> with a decimal amount and a Ccy attribute in the <Ntry>"
            }
            EntryError::Indicator => "a <CdtDbtInd> of CRDT or DBIT in the <Ntry>",
            EntryError::Date => {
                "a <BookgDt> or <ValDt> in the <Ntry>, or a statement date to fall back on"
            }
        }
    }
}

/// Appends the booked transactions of `entry` to `out`.
pub(crate) fn into_transactions(
    entry: EntryDraft,
    statement_date: Option<NaiveDate>,
    out: &mut Vec<Transaction>,
) -> Result<EntryNotes, EntryError> {
    let mut notes = EntryNotes::default();
    let booked = entry
        .status
        .as_deref()
        .is_none_or(|status| status.eq_ignore_ascii_case("BOOK"));
    if !booked {
        notes.not_booked = entry.status.clone();
        return Ok(notes);
    }
    let unsigned = entry.amount.ok_or(EntryError::Amount)?;
    let credit = entry.credit.ok_or(EntryError::Indicator)?;
    let signed = amount::with_sign(unsigned, !credit);
    let (booking_date, value_date) = entry_dates(&entry, statement_date, &mut notes)?;

    let parts = split_amounts(&entry, credit).filter(|parts| {
        let sum = parts
            .iter()
            .try_fold(Decimal::ZERO, |sum, (amount, _)| sum.checked_add(*amount));
        if sum != Some(signed) {
            notes.parts_mismatch = Some((sum.unwrap_or(Decimal::MAX), signed));
        }
        sum == Some(signed)
    });

    let base = Transaction {
        booking_date,
        value_date,
        amount: signed,
        currency: entry.currency.clone(),
        counterparty_iban: None,
        counterparty_name: None,
        remittance: String::new(),
        end_to_end_id: None,
        structured_reference: None,
        bank_reference: entry
            .bank_reference
            .clone()
            .or(entry.entry_reference.clone()),
        transaction_code: entry.code.code(),
        reversal: entry.reversal,
        structured_reference_valid: None,
    };
    match parts {
        Some(parts) => push_parts(base, &entry, &parts, out),
        None => push_whole(base, &entry, credit, out),
    }
    Ok(notes)
}

/// Returns the booking and value date, each falling back on the other and both on the
/// statement date.
fn entry_dates(
    entry: &EntryDraft,
    statement_date: Option<NaiveDate>,
    notes: &mut EntryNotes,
) -> Result<(NaiveDate, NaiveDate), EntryError> {
    let booking_date = entry.booking_date.or(entry.value_date);
    let value_date = entry.value_date.or(entry.booking_date);
    if let (Some(booking), Some(value)) = (booking_date, value_date) {
        return Ok((booking, value));
    }
    let date = statement_date.ok_or(EntryError::Date)?;
    notes.used_statement_date = true;
    Ok((date, date))
}

/// Pushes one transaction per batch part, each with its own amount and details.
fn push_parts(
    base: Transaction,
    entry: &EntryDraft,
    parts: &[(Decimal, bool)],
    out: &mut Vec<Transaction>,
) {
    for (details, (amount, credit)) in entry.details.iter().zip(parts) {
        let mut transaction = base.clone();
        transaction.amount = *amount;
        if details.bank_reference.is_some() {
            transaction
                .bank_reference
                .clone_from(&details.bank_reference);
        }
        fill_from_details(&mut transaction, details, *credit);
        fill_remittance(&mut transaction, std::slice::from_ref(details), entry);
        out.push(transaction);
    }
}

/// Pushes the entry as one transaction, with the first part's details.
fn push_whole(
    mut transaction: Transaction,
    entry: &EntryDraft,
    credit: bool,
    out: &mut Vec<Transaction>,
) {
    if let Some(first) = entry.details.first() {
        if transaction.bank_reference.is_none() {
            transaction.bank_reference.clone_from(&first.bank_reference);
        }
        fill_from_details(&mut transaction, first, credit);
    }
    fill_remittance(&mut transaction, &entry.details, entry);
    out.push(transaction);
}

/// Returns the signed amounts and credit marks of the parts when the entry is a batch of two
/// or more `TxDtls` that all carry an amount in the entry's currency.
fn split_amounts(entry: &EntryDraft, entry_credit: bool) -> Option<Vec<(Decimal, bool)>> {
    if entry.details.len() < 2 {
        return None;
    }
    entry
        .details
        .iter()
        .map(|details| {
            let (amount, currency) = details.own_amount()?;
            if *currency != entry.currency {
                return None;
            }
            let credit = details.credit.unwrap_or(entry_credit);
            Some((amount::with_sign(*amount, !credit), credit))
        })
        .collect()
}

/// Fills counterparty, references and code from one `TxDtls`. For a credit the counterparty
/// is the debtor, for a debit the creditor.
fn fill_from_details(transaction: &mut Transaction, details: &DetailsDraft, credit: bool) {
    let (name, account) = if credit {
        (&details.debtor_name, &details.debtor_account)
    } else {
        (&details.creditor_name, &details.creditor_account)
    };
    transaction.counterparty_name.clone_from(name);
    transaction.counterparty_iban.clone_from(account);
    transaction.end_to_end_id = details
        .end_to_end_id
        .clone()
        .filter(|id| !id.eq_ignore_ascii_case("NOTPROVIDED"));
    transaction.structured_reference = details
        .structured_reference
        .as_deref()
        .map(structured_reference);
    if let Some(code) = details.code.code() {
        transaction.transaction_code = Some(code);
    }
}

/// Sets the remittance: the `Ustrd` texts of `details`, else their `AddtlTxInf`, else the
/// entry's `AddtlNtryInf`.
fn fill_remittance(transaction: &mut Transaction, details: &[DetailsDraft], entry: &EntryDraft) {
    let mut text = String::new();
    let mut previous = "";
    for part in details {
        // Batch parts often repeat the same text, so a repeat is kept once.
        if !part.unstructured.is_empty() && part.unstructured != previous {
            text.push(' ');
            text.push_str(&part.unstructured);
            previous = &part.unstructured;
        }
    }
    if text.trim().is_empty() {
        for part in details {
            if let Some(info) = &part.additional_info {
                text.push(' ');
                text.push_str(info);
            }
        }
    }
    if let (true, Some(info)) = (text.trim().is_empty(), &entry.additional_info) {
        text.push_str(info);
    }
    transaction.remittance = collapse_whitespace(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2014, 1, 5).unwrap()
    }

    fn part(value: &str, creditor: &str, end_to_end: &str) -> DetailsDraft {
        DetailsDraft {
            end_to_end_id: Some(end_to_end.to_string()),
            transaction_amount: Some((amount(value), "EUR".to_string())),
            creditor_name: Some(creditor.to_string()),
            creditor_account: Some("NL46ABNA0499998748".to_string()),
            unstructured: "Direct Debit S14 0410".to_string(),
            ..DetailsDraft::default()
        }
    }

    fn entry(value: &str, credit: bool, details: Vec<DetailsDraft>) -> EntryDraft {
        EntryDraft {
            amount: Some(amount(value)),
            currency: "EUR".to_string(),
            credit: Some(credit),
            status: Some("BOOK".to_string()),
            booking_date: Some(date()),
            value_date: Some(date()),
            bank_reference: Some("REF1".to_string()),
            details,
            ..EntryDraft::default()
        }
    }

    #[test]
    fn batch_is_split_into_parts() {
        let mut batch = entry(
            "664.05",
            false,
            vec![part("564.05", "A", "E1"), part("100.00", "B", "E2")],
        );
        batch.reversal = true;
        let mut out = Vec::new();
        let notes = into_transactions(batch, None, &mut out).unwrap();
        assert_eq!(notes, EntryNotes::default());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].amount, amount("-564.05"));
        assert_eq!(out[1].amount, amount("-100.00"));
        assert_eq!(out[1].end_to_end_id.as_deref(), Some("E2"));
        assert_eq!(out[1].counterparty_name.as_deref(), Some("B"));
        assert!(out.iter().all(|transaction| transaction.reversal));
    }

    #[test]
    fn unbalanced_parts_stay_whole() {
        let batch = entry(
            "700.00",
            false,
            vec![part("564.05", "A", "E1"), part("100.00", "B", "E2")],
        );
        let mut out = Vec::new();
        let notes = into_transactions(batch, None, &mut out).unwrap();
        assert_eq!(
            notes.parts_mismatch,
            Some((amount("-664.05"), amount("-700.00")))
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].amount, amount("-700.00"));
    }

    #[test]
    fn parts_without_amounts_stay_one_transaction() {
        let mut details = vec![
            part("1", "A", "E1"),
            part("1", "A", "E1"),
            part("1", "A", "E1"),
        ];
        for detail in &mut details {
            detail.transaction_amount = None;
        }
        let notification = entry("200000", false, details);
        let mut out = Vec::new();
        into_transactions(notification, None, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].amount, amount("-200000"));
        assert_eq!(out[0].end_to_end_id.as_deref(), Some("E1"));
    }

    #[test]
    fn pending_entry_is_not_booked() {
        let mut pending = entry("5.00", true, vec![]);
        pending.status = Some("PDNG".to_string());
        let mut out = Vec::new();
        let notes = into_transactions(pending, None, &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(notes.not_booked.as_deref(), Some("PDNG"));
    }

    #[test]
    fn credit_counterparty_is_debtor() {
        let mut details = part("5.00", "Creditor", "NOTPROVIDED");
        details.debtor_name = Some("Debtor".to_string());
        details.debtor_account = Some("NL69ABNA0522123643".to_string());
        let credit = entry("5.00", true, vec![details]);
        let mut out = Vec::new();
        into_transactions(credit, None, &mut out).unwrap();
        assert_eq!(out[0].counterparty_name.as_deref(), Some("Debtor"));
        assert_eq!(
            out[0].counterparty_iban.as_deref(),
            Some("NL69ABNA0522123643")
        );
        assert_eq!(out[0].end_to_end_id, None);
    }

    #[test]
    fn missing_dates_fall_back_to_statement_date() {
        let mut undated = entry("2", false, vec![]);
        undated.booking_date = None;
        undated.value_date = None;
        let mut out = Vec::new();
        let notes = into_transactions(undated.clone(), Some(date()), &mut out).unwrap();
        assert!(notes.used_statement_date);
        assert_eq!(out[0].booking_date, date());
        assert_eq!(
            into_transactions(undated, None, &mut out),
            Err(EntryError::Date)
        );
    }

    #[test]
    fn remittance_falls_back_to_additional_information() {
        let mut details = part("5.00", "A", "E");
        details.unstructured.clear();
        details.additional_info = Some("#RD PARTY  MEDIA".to_string());
        let mut out = Vec::new();
        into_transactions(entry("5.00", false, vec![details]), None, &mut out).unwrap();
        assert_eq!(out[0].remittance, "#RD PARTY MEDIA");
    }

    #[test]
    fn bank_code_forms() {
        let iso = BankCode {
            domain: Some("PMNT".into()),
            family: Some("RCDT".into()),
            sub_family: Some("ESCT".into()),
            proprietary: Some("ET".into()),
        };
        assert_eq!(iso.code().as_deref(), Some("PMNT-RCDT-ESCT"));
        let proprietary = BankCode {
            proprietary: Some("NTRF+116+7002+000".into()),
            ..BankCode::default()
        };
        assert_eq!(proprietary.code().as_deref(), Some("NTRF+116+7002+000"));
    }
}
