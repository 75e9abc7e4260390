//! Parsers for bank statement files: SWIFT MT940/MT942 and ISO 20022 camt.052/053/054.
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
//! - Every statement is checked: opening balance plus transactions must equal the closing
//!   balance. A file that does not add up is still returned, with a [`Warning`] naming the
//!   numbers. A file that cannot be read at all returns a [`ParseError`] naming the line (MT940)
//!   or byte offset (XML) and what was expected there.
//! - CSV exports are not read by this crate.
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
mod detect;
mod error;
pub mod generate;
mod iban;
mod model;
mod mt940;
mod text;

pub use error::ParseError;
pub use model::{
    Balance, Dialect, Format, ParsedFile, Statement, Transaction, UnknownFormat, Warning,
};

/// The expectation that `parse` reports when it recognises no format.
const EXPECTED_ANY_FORMAT: &str = "an MT940 or MT942 statement (:20:, :25:, :60F: tags) or a camt.052, camt.053 or camt.054 XML document";

/// Reads a statement file, recognising its format from the content.
///
/// # Errors
///
/// Returns a [`ParseError`] when the content is no known format (empty, binary, CSV), or
/// when the file is malformed: truncated XML, an MT940 without `:25:`, a malformed `:61:`.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, ParseError> {
    let (format, decoded) = detect_decoded(bytes)?;
    read(&decoded, format)
}

/// Reads a statement file as `format`, for when the user overrides the detection.
///
/// # Errors
///
/// Returns a [`ParseError`] when the file cannot be read as `format`, including a CAMT
/// document whose root element belongs to another CAMT message.
pub fn parse_as(bytes: &[u8], format: Format) -> Result<ParsedFile, ParseError> {
    let decoded = if format.is_camt() {
        decode::decode_xml(bytes)
    } else {
        decode::decode_text(bytes)
    };
    read(&decoded, format)
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
    match detect::mt_format(&text_decoded.text) {
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

fn read(decoded: &decode::Decoded<'_>, format: Format) -> Result<ParsedFile, ParseError> {
    match format {
        Format::Mt940 | Format::Mt942 => mt940::parse(&decoded.text, format),
        Format::Camt052 | Format::Camt053 | Format::Camt054 => camt::parse(decoded, format),
    }
}

#[cfg(test)]
mod tests;
