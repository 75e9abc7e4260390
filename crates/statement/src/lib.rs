//! Parsers for bank statement files: SWIFT MT940/MT942, ISO 20022 camt.052/053/054, and the
//! CSV and TAB exports of the Dutch banks.
//!
//! [`parse`] recognises the format from the content, [`parse_as`] reads a format the caller
//! names, and [`detect`] only recognises. All three are pure functions over bytes, without I/O
//! or mutable global state. No input makes them panic: property tests feed them random bytes
//! and broken MT940 and XML.
//!
//! # Formats and dialects
//!
//! - **MT940** statements and **MT942** interim reports as the Dutch banks write them:
//!   - ING, structured since 2014 and the older free-text layout;
//!   - ABN AMRO, with or without `:20:`, with intermediate `:60M:`/`:62M:` balances and three
//!     `:86:` layouts;
//!   - Rabobank, old fixed-width and structured;
//!   - Triodos, SNS, ASN, Knab, bunq, Mollie, Van Lanschot and Moneyou.
//!
//!   The [`Dialect`] is detected from the content (BIC in the envelope, bank code in the `:25:`
//!   IBAN, field habits) and only steers choices the content leaves open.
//! - **camt.053** statements, **camt.052** reports and **camt.054** notifications in every
//!   namespace version, matched by local element name.
//! - **CSV and TAB exports** ([`Format::Csv`]) of ING (payment and savings accounts, Dutch and
//!   English headers), Rabobank (since 2018, and the headerless layout before it), ABN AMRO
//!   TAB, bunq (four variants), Knab, ASN and Triodos. Each layout is recognised by its header,
//!   or without one by the shape of its first row. Rows become the transactions of one
//!   statement per account, and running balances in the file give the opening and closing
//!   balances.
//!
//! Files are decoded as UTF-8 (with or without byte order mark) when valid, otherwise as
//! Windows-1252; XML follows its `encoding` declaration. Line endings LF, CRLF, CR CR LF and CR
//! are all accepted.
//!
//! # Sign convention
//!
//! Money into the account is positive, money out is negative. MT940 `C` and `RD` (reversal of
//! a debit) are positive, `D` and `RC` negative. CAMT `CRDT` is positive and `DBIT` negative,
//! also when `RvslInd` is true, because ISO 20022 defines the indicator as describing the
//! reversal booking itself; [`Transaction::reversal`] keeps the flag. Debit balances are
//! negative.
//!
//! # What is imported
//!
//! - Booked transactions only: CAMT entries with status `PDNG` or `INFO` are left out, and a
//!   warning gives their number.
//! - A CAMT batch entry whose `TxDtls` each carry an amount that together add up to the entry
//!   becomes one transaction per part, each with its own amount, counterparty and references.
//!   A batch reported only as a summary stays one transaction.
//! - A statement-level `:86:` (after `:62F:`, such as ING's `/SUM/` line) is not attached to
//!   the last transaction, and not returned.
//! - The MT940 `:61:` customer reference is used only where banks put a counterparty in it
//!   (SNS/ASN IBAN, old Rabobank account and name). Otherwise it is not returned, because
//!   [`Transaction`] has no field for it.
//! - Structured references (betalingskenmerk, ISO 11649 `RF`) are checked;
//!   [`Transaction::structured_reference_valid`] is `false` for one whose check digit fails,
//!   which is kept as given, because real bank files carry such references.
//! - Every statement is checked: opening balance plus transactions must equal the closing
//!   balance. A file that does not add up is still returned, with a [`Warning`] naming the
//!   numbers. A file that cannot be read at all returns a [`ParseError`] naming the line (MT940)
//!   or byte offset (XML) and what was expected there.
//!
//! # Why MT940 is parsed by hand
//!
//! The Dutch MT940 dialects break the SWIFT rules. They exceed reference lengths, wrap lines in
//! the middle of keys, put `-` lines inside text and leave out `:20:` or `:62F:`. The Rust
//! crate `mt940` (version 1.1.0 on docs.rs) is strict by design: it rejects such input and
//! leaves the repair to the caller, and it reads no MT942. No other Rust crate for these
//! dialects was found. The parser here is lenient where banks are and strict where a mistake
//! would change an amount, a sign or a date.
//!
//! # Speed
//!
//! Both readers make one pass without regular expressions: MT940 lines are split with
//! `memchr`, XML is streamed with quick-xml. The benchmark in `benches/parse.rs` measures
//! them on generated files (see [`generate`]).

mod amount;
mod camt;
mod check;
mod date;
mod decode;
mod delimited;
mod detect;
mod error;
pub mod generate;
mod iban;
mod model;
mod mt940;
mod reference;
mod text;

pub use error::ParseError;
pub use model::{
    Balance, Dialect, Format, ParsedFile, Statement, Transaction, UnknownDialect, UnknownFormat,
    Warning,
};

/// The format and bank dialect that the user states in place of detection. Fields left `None`
/// are detected from the content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The format to read the file as.
    pub format: Option<Format>,
    /// The bank whose habits the file follows. For MT940 and MT942 it steers the reading. A CSV
    /// or TAB export must be of this bank's layout, or reading fails. For CAMT it only sets
    /// [`ParsedFile::dialect`].
    pub dialect: Option<Dialect>,
}
pub use reference::check as check_structured_reference;

/// Returns a structured creditor reference as the parsers store it: a Dutch betalingskenmerk
/// written with spaces or dots becomes its 16 digits, anything else is trimmed.
pub fn normalise_structured_reference(reference: &str) -> String {
    text::structured_reference(reference)
}

/// Finds the betalingskenmerk that ABN AMRO and Rabobank write into free text after
/// `BETALINGSKENM.`, and returns its digits.
pub fn betalingskenmerk_in_text(text: &str) -> Option<String> {
    mt940::betalingskenmerk_in_text(text)
}

/// Collapses runs of white space to one space and trims the ends, as the parsers do with
/// descriptions.
pub fn collapse_whitespace(text: &str) -> String {
    text::collapse_whitespace(text)
}

/// The expectation that `parse` reports when it recognises no format.
const EXPECTED_ANY_FORMAT: &str = "an MT940 or MT942 statement (:20:, :25:, :60F: tags), a camt.052, camt.053 or camt.054 XML document, or a CSV or TAB export of ING, Rabobank, ABN AMRO, bunq, Knab, ASN or Triodos";

/// Reads a statement file, recognising its format from the content.
///
/// # Errors
///
/// Returns a [`ParseError`] when the content is no known format (empty, binary, a CSV of
/// unknown layout), or
/// when the file is malformed: truncated XML, an MT940 without `:25:`, a malformed `:61:`.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, ParseError> {
    parse_with(bytes, Overrides::default())
}

/// Reads a statement file as `format`, for when the user overrides the detection.
///
/// # Errors
///
/// Returns a [`ParseError`] when the file cannot be read as `format`, including a CAMT
/// document whose root element belongs to another CAMT message.
pub fn parse_as(bytes: &[u8], format: Format) -> Result<ParsedFile, ParseError> {
    parse_with(
        bytes,
        Overrides {
            format: Some(format),
            dialect: None,
        },
    )
}

/// Reads a statement file with the format or bank dialect the user states, detecting the rest.
///
/// # Errors
///
/// Returns a [`ParseError`] as [`parse`] and [`parse_as`] do, and when a CSV or TAB export is
/// not of the stated bank's layout.
pub fn parse_with(bytes: &[u8], overrides: Overrides) -> Result<ParsedFile, ParseError> {
    let (format, decoded) = match overrides.format {
        Some(format) if format.is_camt() => (format, decode::decode_xml(bytes)),
        Some(format) => (format, decode::decode_text(bytes)),
        None => detect_decoded(bytes)?,
    };
    read(&decoded, format, overrides.dialect)
}

/// Recognises the format of a statement file from its content, or returns `None`.
///
/// Looks at the first 64 KiB only.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let head = bytes.get(..64 * 1024).unwrap_or(bytes);
    let decoded = decode::decode_text(head);
    if detect::looks_like_xml(&decoded.text) {
        detect::camt_format(&decoded.text)
    } else {
        detect::mt_format(&decoded.text)
            .or_else(|| delimited::sniff(&decoded.text).map(|_| Format::Csv))
    }
}

fn detect_decoded(bytes: &[u8]) -> Result<(Format, decode::Decoded<'_>), ParseError> {
    let head = bytes.get(..1024).unwrap_or(bytes);
    if detect::looks_like_xml(&decode::decode_text(head).text) {
        let decoded = decode::decode_xml(bytes);
        return match detect::camt_format(&decoded.text) {
            Some(format) => Ok((format, decoded)),
            None => Err(ParseError::at_byte(
                0,
                EXPECTED_ANY_FORMAT,
                decoded.text.trim_start(),
            )),
        };
    }
    let text_decoded = decode::decode_text(bytes);
    let format = detect::mt_format(&text_decoded.text)
        .or_else(|| delimited::sniff(&text_decoded.text).map(|_| Format::Csv));
    match format {
        Some(format) => Ok((format, text_decoded)),
        None => {
            let first = text_decoded.text.lines().next().unwrap_or_default();
            if bytes.is_empty() {
                Err(ParseError::at_byte(0, EXPECTED_ANY_FORMAT, ""))
            } else {
                Err(ParseError::at_line(1, EXPECTED_ANY_FORMAT, first))
            }
        }
    }
}

fn read(
    decoded: &decode::Decoded<'_>,
    format: Format,
    dialect: Option<Dialect>,
) -> Result<ParsedFile, ParseError> {
    let mut file = match format {
        Format::Mt940 | Format::Mt942 => mt940::parse(&decoded.text, format, dialect),
        Format::Camt052 | Format::Camt053 | Format::Camt054 => camt::parse(decoded, format),
        Format::Csv => delimited::parse(&decoded.text, dialect),
    }?;
    if let Some(dialect) = dialect {
        file.dialect = dialect;
    }
    for (index, statement) in file.statements.iter_mut().enumerate() {
        for (position, transaction) in statement.transactions.iter_mut().enumerate() {
            let Some(reference) = transaction.structured_reference.as_deref() else {
                continue;
            };
            transaction.structured_reference_valid = reference::check(reference);
            if transaction.structured_reference_valid == Some(false) {
                file.warnings.push(Warning::for_statement(
                    index,
                    format!(
                        "statement {}, transaction {}: the structured reference {reference} fails its check digit; it is kept as given",
                        index + 1,
                        position + 1
                    ),
                ));
            }
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests;
