//! The `:61:` statement line.
//!
//! Layout: `YYMMDD[MMDD](C|D|RC|RD)[funds code]amount type customer-ref[//bank-ref]`, then
//! optional supplementary details on the next line. Banks stretch every part of it. ING wraps
//! the bank reference onto the next line. SNS and ASN put the counterparty IBAN in the
//! 16-character customer reference and the name on the next line. Rabobank puts the
//! counterparty account on the next line, and old Rabobank files pad account and name into
//! the customer reference.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::fields::Line;
use crate::amount;
use crate::date;
use crate::error::ParseError;
use crate::iban;

/// The longest SWIFT bank reference, used to recognise a bank reference wrapped onto the next
/// line.
const MAX_BANK_REFERENCE_LEN: usize = 16;

/// The maximum number of continuation lines joined to complete the fixed part of a statement
/// line. Known bank files break it at most once, and the limit keeps a hostile file from making the
/// repeated re-parsing quadratic.
const MAX_HEAD_LINES: usize = 3;

/// The expected layout, as error messages name it.
pub(crate) const EXPECTED_61: &str =
    "a :61: statement line (YYMMDD[MMDD]C|D|RC|RDamount…, then a type code such as NTRF)";

/// The maximum length of the amount of a `:61:` or balance field: SWIFT's `15d`, 15 characters
/// with the decimal comma. Leading zeros are not counted, because Rabobank pads balances to 16
/// characters.
pub(crate) const MAX_AMOUNT_CHARACTERS: usize = 15;

/// Returns whether an amount field is longer than [`MAX_AMOUNT_CHARACTERS`] without its leading
/// zeros.
pub(crate) fn amount_too_long(text: &str) -> bool {
    text.trim_start_matches('0').len() > MAX_AMOUNT_CHARACTERS
}

/// A parsed `:61:` field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StatementLine {
    pub value_date: NaiveDate,
    pub booking_date: NaiveDate,
    /// Signed: `C` and `RD` positive, `D` and `RC` negative.
    pub amount: Decimal,
    pub reversal: bool,
    pub type_code: String,
    pub bank_reference: Option<String>,
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    /// Supplementary details that are neither an account nor a name nor an ING code.
    pub details: Option<String>,
}

/// The fixed part of a statement line, up to and including the type code.
struct Head<'t> {
    value_date: NaiveDate,
    booking_date: NaiveDate,
    amount: Decimal,
    reversal: bool,
    type_code: &'t str,
    rest: &'t str,
}

enum HeadError {
    /// The text ended before the type code: the line may continue on the next line.
    Incomplete,
    Invalid,
    /// An amount longer than the 15 characters, comma included, that SWIFT allows.
    AmountTooLong(String),
    /// Digits in a date's place that name no calendar day, such as month 13 or 30 February.
    NoSuchDate {
        /// `value date (YYMMDD)` or `booking date (MMDD)`.
        date_name: &'static str,
        digits: String,
    },
}

/// Parses a `:61:` field from its tag line content and continuation lines.
pub(crate) fn parse(
    content: &str,
    continuation: &[Line<'_>],
    raw: &str,
    line: usize,
    counterparty_name_in_details: bool,
) -> Result<StatementLine, ParseError> {
    let invalid = || ParseError::at_line(line, EXPECTED_61, raw);

    // A line broken inside the fixed part (`…CR` then `30,00NTRF…`) is joined directly.
    let mut joined = String::new();
    let mut used = 0;
    let head = loop {
        let text = if used == 0 { content } else { joined.as_str() };
        match parse_head(text) {
            Ok(head) => break head,
            Err(HeadError::Incomplete) if used < continuation.len().min(MAX_HEAD_LINES) => {
                if used == 0 {
                    joined.push_str(content);
                }
                joined.push_str(continuation[used].text.trim_end());
                used += 1;
            }
            Err(HeadError::AmountTooLong(amount)) => {
                let expected = format!(
                    "an amount of at most {MAX_AMOUNT_CHARACTERS} characters after leading \
                     zeros, not {amount:?}, in {EXPECTED_61}"
                );
                return Err(ParseError::at_line(line, expected, raw));
            }
            Err(HeadError::NoSuchDate { date_name, digits }) => {
                let expected =
                    format!("a {date_name} that exists, not {digits:?}, in {EXPECTED_61}");
                return Err(ParseError::at_line(line, expected, raw));
            }
            Err(_) => return Err(invalid()),
        }
    };
    let details_lines = &continuation[used..];

    let (customer_reference, bank_reference) = match find_double_slash(head.rest) {
        Some(at) => (&head.rest[..at], Some(head.rest[at + 2..].trim())),
        None => (head.rest, None),
    };
    let (bank_reference, details_from) = join_bank_reference(bank_reference, details_lines);

    let mut statement_line = StatementLine {
        value_date: head.value_date,
        booking_date: head.booking_date,
        amount: head.amount,
        reversal: head.reversal,
        type_code: head.type_code.trim_end().to_string(),
        bank_reference,
        counterparty_account: None,
        counterparty_name: None,
        details: None,
    };
    read_customer_reference(customer_reference, &mut statement_line);

    let account_in_reference = statement_line.counterparty_account.is_some();
    let name_allowed = counterparty_name_in_details || account_in_reference;
    match &details_lines[details_from..] {
        [] => {}
        [only] => read_details(only.text.trim(), name_allowed, &mut statement_line),
        several => {
            let details: String = several.iter().map(|line| line.text).collect();
            read_details(details.trim(), name_allowed, &mut statement_line);
        }
    }
    Ok(statement_line)
}

fn parse_head(text: &str) -> Result<Head<'_>, HeadError> {
    let bytes = text.as_bytes();
    let value_text = text.get(..6).ok_or(HeadError::Incomplete)?;
    let no_such_date = |date_name, digits: &str| {
        if digits.bytes().all(|byte| byte.is_ascii_digit()) {
            HeadError::NoSuchDate {
                date_name,
                digits: digits.to_owned(),
            }
        } else {
            HeadError::Invalid
        }
    };
    let value_date = date::parse_yymmdd(value_text)
        .ok_or_else(|| no_such_date("value date (YYMMDD)", value_text))?;
    let mut at = 6;

    let mut booking_date = value_date;
    if bytes
        .get(at..at + 4)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    {
        let booking_text = &text[at..at + 4];
        booking_date = date::complete_mmdd(booking_text, value_date)
            .ok_or_else(|| no_such_date("booking date (MMDD)", booking_text))?;
        at += 4;
    }

    let (sign, reversal, mark_len) = match (bytes.get(at), bytes.get(at + 1)) {
        (Some(b'R'), Some(b'C')) => (-1, true, 2),
        (Some(b'R'), Some(b'D')) => (1, true, 2),
        // EC/ED: expected credit/debit, seen in MT942.
        (Some(b'E'), Some(b'C')) => (1, false, 2),
        (Some(b'E'), Some(b'D')) => (-1, false, 2),
        (Some(b'C'), _) => (1, false, 1),
        (Some(b'D'), _) => (-1, false, 1),
        (None, _) | (Some(b'R' | b'E'), None) => return Err(HeadError::Incomplete),
        _ => return Err(HeadError::Invalid),
    };
    at += mark_len;

    // Optional funds code: the third letter of the currency code.
    if bytes.get(at).is_some_and(u8::is_ascii_alphabetic) {
        at += 1;
    }

    let amount_len = bytes
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|byte| byte.is_ascii_digit() || **byte == b',')
        .count();
    if at + amount_len >= bytes.len() {
        return Err(HeadError::Incomplete);
    }
    let amount_text = &text[at..at + amount_len];
    if amount_too_long(amount_text) {
        return Err(HeadError::AmountTooLong(amount_text.to_owned()));
    }
    let amount = amount::parse_unsigned(amount_text, b',').ok_or(HeadError::Invalid)?;
    at += amount_len;

    // Type code: a letter and three letters, digits or spaces. SWIFT prescribes N, F or S first
    // (`NTRF`, `NOV `), but real MT942 files carry others (`MCI0`). Checking all four keeps a
    // mistyped amount (`5OO,00`) from passing as amount 5 and code `OO,0`.
    if !bytes.get(at).is_some_and(u8::is_ascii_uppercase) {
        return Err(HeadError::Invalid);
    }
    let type_end = (at + 4).min(bytes.len());
    let type_code = text.get(at..type_end).ok_or(HeadError::Invalid)?;
    if type_code.len() < 4 {
        return Err(HeadError::Incomplete);
    }
    if !type_code
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b' ')
    {
        return Err(HeadError::Invalid);
    }
    let rest = &text[type_end..];

    let amount = amount::with_sign(amount, sign < 0);
    Ok(Head {
        value_date,
        booking_date,
        amount,
        reversal,
        type_code,
        rest,
    })
}

/// Returns the bank reference, completed with the next line when ING wrapped it
/// (`EREF//00000000001` then `005`), and the number of detail lines that took.
fn join_bank_reference(
    reference: Option<&str>,
    details_lines: &[Line<'_>],
) -> (Option<String>, usize) {
    let Some(reference) = reference else {
        return (None, 0);
    };
    let mut reference = reference.to_string();
    let mut used = 0;
    if let Some(next) = details_lines.first() {
        let next = next.text.trim();
        let fits = reference.len() + next.len() <= MAX_BANK_REFERENCE_LEN;
        if !next.is_empty() && !next.starts_with('/') && !next.contains(' ') && fits {
            reference.push_str(next);
            used = 1;
        }
    }
    ((!reference.is_empty()).then_some(reference), used)
}

/// Finds the first `//`, which separates the customer and the bank reference.
fn find_double_slash(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = bytes
        .get(from..)
        .and_then(|rest| memchr::memchr(b'/', rest))
    {
        let at = from + found;
        if bytes.get(at + 1) == Some(&b'/') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Reads a counterparty from the customer reference, where some banks put it.
fn read_customer_reference(reference: &str, line: &mut StatementLine) {
    let trimmed = reference.trim();
    // Old Rabobank layout: account padded to 16 characters, then the name.
    if let Some(gap) = reference.find("  ") {
        let account = reference[..gap].trim();
        let name = reference[gap..].trim();
        if !name.is_empty() && !account.contains(' ') {
            if is_account_number(account) {
                line.counterparty_account = Some(account.to_string());
            }
            line.counterparty_name = Some(name.to_string());
            return;
        }
    }
    // SNS and ASN: the counterparty IBAN as customer reference.
    line.counterparty_account = iban::normalise(trimmed).filter(|_| !trimmed.contains(' '));
}

/// Reads the supplementary details: an account (Rabobank), a name (SNS, ASN) or free text.
fn read_details(details: &str, name_allowed: bool, line: &mut StatementLine) {
    if details.is_empty() || details.starts_with('/') {
        // ING puts its own codes here (`/TRCD/00100/`); they add nothing to the type code.
        return;
    }
    let mut words = details.splitn(2, ' ');
    let first = words.next().unwrap_or_default();
    if is_account_number(first) {
        if line.counterparty_account.is_none() {
            line.counterparty_account =
                Some(iban::normalise(first).unwrap_or_else(|| first.to_string()));
        }
        let name = words.next().unwrap_or_default().trim();
        if !name.is_empty() && line.counterparty_name.is_none() {
            line.counterparty_name = Some(name.to_string());
        }
        return;
    }
    if name_allowed && line.counterparty_name.is_none() {
        line.counterparty_name = Some(details.to_string());
    } else {
        line.details = Some(details.to_string());
    }
}

/// True for an IBAN or a Dutch domestic account number (`0663616476`, `P004500018`).
fn is_account_number(text: &str) -> bool {
    let digits = text.strip_prefix('P').unwrap_or(text);
    iban::has_iban_shape(text)
        || ((7..=10).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines<'a>(texts: &[&'a str]) -> Vec<Line<'a>> {
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| Line {
                number: index + 2,
                text,
            })
            .collect()
    }

    fn parse_ok(content: &str, more: &[&str]) -> StatementLine {
        parse(content, &lines(more), content, 1, false).unwrap_or_else(|error| panic!("{error}"))
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn amounts_and_signs() {
        // (content, amount, reversal)
        let cases = [
            ("1402200220C1,56NTRFEREF//00000000001005", "1.56", false),
            ("1402200220D1,57NTRFPREF", "-1.57", false),
            ("1105240524D9,N192NONREF", "-9.00", false),
            (
                "1407290729C500NTRF29-07-2014 10:05//B4G29PGDCK1QFV3E",
                "500.00",
                false,
            ),
            ("1901310131C0,3NTRFNONREF", "0.30", false),
            ("1901310131RC5,00NTRFNONREF", "-5.00", true),
            ("1901310131RD5,00NTRFNONREF", "5.00", true),
            ("1811261126CR30,00N062NONREF", "30.00", false),
            ("110527D000000001213,28N0440121470966", "-1213.28", false),
            ("1608310831C29,93NMSC", "29.93", false),
        ];
        for (content, amount, reversal) in cases {
            let line = parse_ok(content, &[]);
            assert_eq!(line.amount.to_string(), amount, "{content}");
            assert_eq!(line.reversal, reversal, "{content}");
        }
    }

    #[test]
    fn mistyped_amount_or_type_is_rejected() {
        let cases = [
            "1403240324C5OO,00NTRFEREF//00000000000002",
            "1403240324C500,00N!RFEREF//00000000000002",
        ];
        for content in cases {
            let result = parse(content, &lines(&[]), content, 1, false);
            assert!(result.is_err(), "{content} was accepted");
        }
    }

    #[test]
    fn date_that_does_not_exist_is_named() {
        let cases = [
            (
                "2613450325D12,50NTRFNONREF",
                "value date (YYMMDD) that exists, not \"261345\"",
            ),
            (
                "2602300230D12,50NTRFNONREF",
                "value date (YYMMDD) that exists, not \"260230\"",
            ),
            (
                "2603251345D12,50NTRFNONREF",
                "booking date (MMDD) that exists, not \"1345\"",
            ),
        ];
        for (content, expected) in cases {
            let error = parse(content, &lines(&[]), content, 7, false)
                .expect_err(content)
                .to_string();
            assert!(error.starts_with("line 7: expected a "), "{error}");
            assert!(error.contains(expected), "{error}");
        }
        let not_a_date = parse("26AB250325D12,50NTRF", &lines(&[]), "x", 7, false)
            .expect_err("letters in the date")
            .to_string();
        assert!(!not_a_date.contains("exists"), "{not_a_date}");
    }

    #[test]
    fn amount_longer_than_15_characters_is_named() {
        let longest = parse_ok("2603250325C999999999999,99NTRFNONREF", &[]);
        assert_eq!(longest.amount.to_string(), "999999999999.99");
        let padded = parse_ok("2603250325C0000000000001000,89NTRFNONREF", &[]);
        assert_eq!(padded.amount.to_string(), "1000.89");
        let content = "2603250325C99999999999999,99NTRFNONREF";
        let error = parse(content, &lines(&[]), content, 7, false)
            .expect_err(content)
            .to_string();
        assert!(
            error.contains(
                "an amount of at most 15 characters after leading zeros, not \"99999999999999,99\""
            ),
            "{error}"
        );
    }

    #[test]
    fn entry_date_in_previous_year() {
        let line = parse_ok("1901011231C000000000006,44NMSC0987654321      ", &[]);
        assert_eq!(line.value_date, date("2019-01-01"));
        assert_eq!(line.booking_date, date("2018-12-31"));
        assert_eq!(line.counterparty_account, None);
    }

    #[test]
    fn missing_entry_date_uses_value_date() {
        let line = parse_ok("140102C000000000400,00N541NONREF", &["NL14RABO0123400002"]);
        assert_eq!(line.booking_date, date("2014-01-02"));
        assert_eq!(
            line.counterparty_account.as_deref(),
            Some("NL14RABO0123400002")
        );
        assert_eq!(line.type_code, "N541");
    }

    #[test]
    fn wrapped_bank_reference() {
        let line = parse_ok(
            "1402200220C1,56NTRFEREF//00000000001",
            &["005", "/TRCD/00100/"],
        );
        assert_eq!(line.bank_reference.as_deref(), Some("00000000001005"));
        assert_eq!(line.details, None);

        let line = parse_ok(
            "1402200220D119,00NTRF1070123412341234//00000000001012",
            &["/", "TRCD/00108/"],
        );
        assert_eq!(line.bank_reference.as_deref(), Some("00000000001012"));
    }

    #[test]
    fn long_details_are_not_a_bank_reference() {
        let line = parse_ok(
            "1610301031D0,42MCI0NONREF//055001022000001",
            &["YAY MT942 CHG"],
        );
        assert_eq!(line.bank_reference.as_deref(), Some("055001022000001"));
        assert_eq!(line.details.as_deref(), Some("YAY MT942 CHG"));
        assert_eq!(line.type_code, "MCI0");
    }

    #[test]
    fn wrapped_fixed_part_is_joined() {
        let line = parse_ok("1811261126CR", &["30,00N062NONREF"]);
        assert_eq!(line.amount.to_string(), "30.00");
        assert_eq!(line.type_code, "N062");
    }

    #[test]
    fn sns_iban_reference_and_name() {
        let line = parse_ok(
            "1712271227D713,13NOVBNL30RABO0123400005",
            &["testers glas en schilderwerk"],
        );
        assert_eq!(line.type_code, "NOVB");
        assert_eq!(
            line.counterparty_account.as_deref(),
            Some("NL30RABO0123400005")
        );
        assert_eq!(
            line.counterparty_name.as_deref(),
            Some("testers glas en schilderwerk")
        );
    }

    #[test]
    fn old_rabobank_padded_reference() {
        let content = "110527D000000001213,28N0440121470966      T.Q. Tester                      ";
        let line = parse_ok(content, &[]);
        assert_eq!(line.counterparty_account.as_deref(), Some("0121470966"));
        assert_eq!(line.counterparty_name.as_deref(), Some("T.Q. Tester"));

        let content = "110721D000000000236,56N030NONREF          TOMTE TUMMETOT AMERSFOORT        ";
        let line = parse_ok(content, &[]);
        assert_eq!(line.counterparty_account, None);
        assert_eq!(
            line.counterparty_name.as_deref(),
            Some("TOMTE TUMMETOT AMERSFOORT")
        );
    }

    #[test]
    fn type_code_with_space() {
        let line = parse_ok("100722D25,03NOV NONREF", &[]);
        assert_eq!(line.type_code, "NOV");
    }

    #[test]
    fn malformed_lines_are_errors() {
        let cases = [
            "ABC",
            "1402200220X1,00NTRF",
            "1402200220C,5NTRF",
            "1413200220C1,00NTRF",
            "1402200220C1,2,3NTRF",
            "1402200220C1,00 NTRF",
        ];
        for content in cases {
            let raw = format!(":61:{content}");
            let error = parse(content, &[], &raw, 7, false).unwrap_err();
            assert_eq!(error.line, Some(7), "{content}");
            assert_eq!(error.found, raw, "{content}");
        }
    }

    #[test]
    fn incomplete_line_without_continuation_is_an_error() {
        assert!(parse("1402200220C1,00", &[], ":61:x", 3, false).is_err());
    }
}
