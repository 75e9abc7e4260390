//! The parser output: files, statements, balances, transactions and warnings.
//!
//! These types are the contract with the services and the `dk` command line tool. Their JSON
//! form (through `serde_json`) is printed as is, so field names and order are part of the
//! interface: amounts serialise as decimal strings and dates as `YYYY-MM-DD`.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// A statement file format that this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Format {
    /// SWIFT MT940 customer statement.
    #[serde(rename = "mt940")]
    Mt940,
    /// SWIFT MT942 interim transaction report.
    #[serde(rename = "mt942")]
    Mt942,
    /// ISO 20022 camt.052 account report (intraday).
    #[serde(rename = "camt.052")]
    Camt052,
    /// ISO 20022 camt.053 account statement.
    #[serde(rename = "camt.053")]
    Camt053,
    /// ISO 20022 camt.054 debit/credit notification.
    #[serde(rename = "camt.054")]
    Camt054,
    /// A bank's CSV or TAB export (ING, Rabobank, ABN AMRO, bunq, Knab, ASN, Triodos).
    #[serde(rename = "csv")]
    Csv,
}

impl Format {
    /// All formats, in the order used by error messages and help texts.
    pub const ALL: [Format; 6] = [
        Format::Mt940,
        Format::Mt942,
        Format::Camt052,
        Format::Camt053,
        Format::Camt054,
        Format::Csv,
    ];

    /// Returns the short name: `mt940`, `mt942`, `camt.052`, `camt.053`, `camt.054` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Mt940 => "mt940",
            Format::Mt942 => "mt942",
            Format::Camt052 => "camt.052",
            Format::Camt053 => "camt.053",
            Format::Camt054 => "camt.054",
            Format::Csv => "csv",
        }
    }

    /// Returns true for the XML (ISO 20022) formats.
    pub fn is_camt(self) -> bool {
        matches!(self, Format::Camt052 | Format::Camt053 | Format::Camt054)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a format name is not one of [`Format::as_str`]'s names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown statement format {0:?}: expected one of mt940, mt942, camt.052, camt.053, camt.054, csv"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses the names returned by [`Format::as_str`], ignoring ASCII case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownFormat(name.to_string()))
    }
}

/// The bank whose habits a file follows, detected from its content.
///
/// The dialect only chooses between readings that the content allows, such as whether
/// bunq's unwrapped `:86:` lines are joined with spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// ING Bank.
    Ing,
    /// ABN AMRO.
    AbnAmro,
    /// Rabobank.
    Rabobank,
    /// Triodos Bank.
    Triodos,
    /// SNS (de Volksbank).
    Sns,
    /// ASN Bank (de Volksbank).
    Asn,
    /// Knab.
    Knab,
    /// bunq.
    Bunq,
    /// Mollie (payment service provider, ABN AMRO-style MT940).
    Mollie,
    /// Van Lanschot Kempen.
    VanLanschot,
    /// Moneyou (former ABN AMRO savings brand).
    Moneyou,
    /// Any other bank, or a file without recognisable habits.
    Generic,
}

impl Dialect {
    /// Returns the lowercase name, for example `abnamro` or `vanlanschot`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Ing => "ing",
            Dialect::AbnAmro => "abnamro",
            Dialect::Rabobank => "rabobank",
            Dialect::Triodos => "triodos",
            Dialect::Sns => "sns",
            Dialect::Asn => "asn",
            Dialect::Knab => "knab",
            Dialect::Bunq => "bunq",
            Dialect::Mollie => "mollie",
            Dialect::VanLanschot => "vanlanschot",
            Dialect::Moneyou => "moneyou",
            Dialect::Generic => "generic",
        }
    }
}

impl Dialect {
    /// Returns the bank's name as written in text, for example `ABN AMRO` or `bunq`.
    pub fn bank_name(self) -> &'static str {
        match self {
            Dialect::Ing => "ING",
            Dialect::AbnAmro => "ABN AMRO",
            Dialect::Rabobank => "Rabobank",
            Dialect::Triodos => "Triodos",
            Dialect::Sns => "SNS",
            Dialect::Asn => "ASN",
            Dialect::Knab => "Knab",
            Dialect::Bunq => "bunq",
            Dialect::Mollie => "Mollie",
            Dialect::VanLanschot => "Van Lanschot",
            Dialect::Moneyou => "Moneyou",
            Dialect::Generic => "another bank",
        }
    }

    /// All dialects, in the order used by error messages and help texts.
    pub const ALL: [Dialect; 12] = [
        Dialect::Ing,
        Dialect::AbnAmro,
        Dialect::Rabobank,
        Dialect::Triodos,
        Dialect::Sns,
        Dialect::Asn,
        Dialect::Knab,
        Dialect::Bunq,
        Dialect::Mollie,
        Dialect::VanLanschot,
        Dialect::Moneyou,
        Dialect::Generic,
    ];
}

/// The error returned when a dialect name is not one of [`Dialect::as_str`]'s names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown bank dialect {0:?}: expected one of ing, abnamro, rabobank, triodos, sns, asn, knab, bunq, mollie, vanlanschot, moneyou, generic"
)]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// Parses the names returned by [`Dialect::as_str`], ignoring ASCII case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|dialect| dialect.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownDialect(name.to_string()))
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything read from one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedFile {
    /// The format the file was read as.
    pub format: Format,
    /// The bank dialect detected from the content.
    pub dialect: Dialect,
    /// The statements (MT940 messages, CAMT `Stmt`, `Rpt` or `Ntfctn` elements) in file order.
    pub statements: Vec<Statement>,
    /// Problems that did not stop the file from being read, such as balances that do not add up.
    pub warnings: Vec<Warning>,
}

/// One account statement, report or notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// The statement reference: MT940 `:20:`, CAMT `Stmt/Id`.
    pub statement_id: Option<String>,
    /// The statement or sequence number: MT940 `:28C:`, CAMT `ElctrncSeqNb` or `LglSeqNb`.
    pub sequence: Option<String>,
    /// The account as written in the file (MT940 `:25:`, CAMT `Acct/Id`), trimmed.
    pub account: String,
    /// The IBAN in [`Statement::account`], upper case without spaces, or `None` for a
    /// domestic account number.
    pub iban: Option<String>,
    /// The ISO 4217 currency code of the account.
    pub currency: String,
    /// The opening balance (MT940 `:60F:`/`:60M:`, CAMT `OPBD` or `PRCD`).
    pub opening_balance: Option<Balance>,
    /// The closing balance (MT940 `:62F:`/`:62M:`, CAMT `CLBD`).
    pub closing_balance: Option<Balance>,
    /// The booked transactions in file order. Pending CAMT entries are left out.
    pub transactions: Vec<Transaction>,
}

/// A balance at the end of a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Balance {
    /// The amount, negative for a debit balance.
    pub amount: Decimal,
    /// The ISO 4217 currency code.
    pub currency: String,
    /// The date the balance applies to.
    pub date: NaiveDate,
}

/// One booked transaction, or one part of a split CAMT batch entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    /// The date the bank booked the transaction (MT940 entry date, CAMT `BookgDt`).
    pub booking_date: NaiveDate,
    /// The date interest starts or stops counting (MT940 value date, CAMT `ValDt`).
    pub value_date: NaiveDate,
    /// The amount: positive for money into the account, negative for money out.
    pub amount: Decimal,
    /// The ISO 4217 currency code of [`Transaction::amount`].
    pub currency: String,
    /// The counterparty's account: an IBAN in upper case without spaces, or in pre-SEPA files
    /// the domestic account number as written.
    pub counterparty_iban: Option<String>,
    /// The counterparty's name.
    pub counterparty_name: Option<String>,
    /// The unstructured remittance information or description, with wrapped lines joined and
    /// runs of white space collapsed to one space.
    pub remittance: String,
    /// The end-to-end reference (`/EREF/`, `EndToEndId`). `NOTPROVIDED` becomes `None`.
    pub end_to_end_id: Option<String>,
    /// The structured creditor reference as given, or only its digits for a Dutch 16-digit
    /// payment reference (betalingskenmerk).
    pub structured_reference: Option<String>,
    /// Whether [`Transaction::structured_reference`] passes its check digits: `true` or
    /// `false` for a betalingskenmerk or an ISO 11649 `RF` reference, `None` without a
    /// reference or for another scheme. A reference that fails is kept as given.
    pub structured_reference_valid: Option<bool>,
    /// The bank's own reference (MT940 `:61:` bank reference, CAMT `AcctSvcrRef`).
    pub bank_reference: Option<String>,
    /// The transaction type code: MT940 `:61:` type such as `NTRF`, CAMT `BkTxCd` as
    /// `Domain-Family-SubFamily` or the bank's proprietary code.
    pub transaction_code: Option<String>,
    /// True when the bank marks the booking as a reversal (MT940 `RC`/`RD`, CAMT `RvslInd`).
    pub reversal: bool,
}

/// A problem that did not stop the file from being read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// The zero-based index into [`ParsedFile::statements`], or `None` for the whole file.
    pub statement: Option<usize>,
    /// The problem, naming the numbers involved.
    pub message: String,
}

impl Warning {
    pub(crate) fn for_statement(index: usize, message: String) -> Self {
        Warning {
            statement: Some(index),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>(), Ok(format));
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.as_str()));
        }
    }

    #[test]
    fn format_from_str_rejects_unknown() {
        let error = "camt.099".parse::<Format>().unwrap_err();
        assert!(error.to_string().contains("camt.099"));
    }

    #[test]
    fn dialect_names_round_trip() {
        for dialect in Dialect::ALL {
            assert_eq!(dialect.as_str().parse::<Dialect>(), Ok(dialect));
        }
        assert_eq!("ABNAMRO".parse::<Dialect>(), Ok(Dialect::AbnAmro));
        let error = "sparkasse".parse::<Dialect>().unwrap_err();
        assert!(error.to_string().contains("sparkasse"));
    }

    #[test]
    fn dialect_serialises_as_str() {
        for dialect in [Dialect::AbnAmro, Dialect::VanLanschot, Dialect::Generic] {
            let json = serde_json::to_string(&dialect).unwrap();
            assert_eq!(json, format!("\"{}\"", dialect.as_str()));
        }
    }
}
