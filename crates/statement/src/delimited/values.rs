//! Reading the values of one field: dates, amounts, debit and credit marks, accounts.

use std::borrow::Cow;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::amount;
use crate::iban;

/// Trims a field and removes a stray quote left at one end by a broken export.
pub(super) fn clean(field: &str) -> &str {
    let field = field.trim_ascii();
    match (field.strip_prefix('"'), field.strip_suffix('"')) {
        (Some(_), Some(_)) => field,
        (Some(rest), None) | (None, Some(rest)) => rest.trim_ascii(),
        (None, None) => field,
    }
}

/// The date notation of a file, decided from its first row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateStyle {
    /// `20240426`
    Compact,
    /// `2024-04-26`
    Iso,
    /// `26-04-2024`
    DayMonthYearDash,
    /// `26/04/2024`
    DayMonthYearSlash,
}

impl DateStyle {
    pub(super) fn of(text: &str) -> Option<DateStyle> {
        let style = match text.as_bytes() {
            [_, _, _, _, _, _, _, _] => DateStyle::Compact,
            [_, _, _, _, b'-', _, _, b'-', _, _] => DateStyle::Iso,
            [_, _, b'-', _, _, b'-', _, _, _, _] => DateStyle::DayMonthYearDash,
            [_, _, b'/', _, _, b'/', _, _, _, _] => DateStyle::DayMonthYearSlash,
            _ => return None,
        };
        style.parse(text).map(|_| style)
    }

    pub(super) fn parse(self, text: &str) -> Option<NaiveDate> {
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let digits = bytes.get(range)?;
            digits.iter().try_fold(0u32, |value, digit| {
                digit
                    .is_ascii_digit()
                    .then(|| value * 10 + u32::from(digit - b'0'))
            })
        };
        let (year, month, day) = match (self, bytes.len()) {
            (DateStyle::Compact, 8) => (number(0..4)?, number(4..6)?, number(6..8)?),
            (DateStyle::Iso, 10) if bytes[4] == b'-' && bytes[7] == b'-' => {
                (number(0..4)?, number(5..7)?, number(8..10)?)
            }
            (DateStyle::DayMonthYearDash, 10) if bytes[2] == b'-' && bytes[5] == b'-' => {
                (number(6..10)?, number(3..5)?, number(0..2)?)
            }
            (DateStyle::DayMonthYearSlash, 10) if bytes[2] == b'/' && bytes[5] == b'/' => {
                (number(6..10)?, number(3..5)?, number(0..2)?)
            }
            _ => return None,
        };
        NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
    }

    pub(super) fn example(self) -> &'static str {
        match self {
            DateStyle::Compact => "a date such as 20240426",
            DateStyle::Iso => "a date such as 2024-04-26",
            DateStyle::DayMonthYearDash => "a date such as 26-04-2024",
            DateStyle::DayMonthYearSlash => "a date such as 26/04/2024",
        }
    }
}

/// Parses an amount with an optional sign, `decimal` as the decimal mark and, with a decimal
/// comma, dots between groups of three digits (`-609.450.010,25`).
pub(super) fn parse_amount(text: &str, decimal: u8) -> Option<Decimal> {
    let text = text.trim();
    // Bank exports write cents; a third decimal means a misread column or notation.
    let decimals = text
        .rfind(char::from(decimal))
        .map_or(0, |at| text.len() - at - 1);
    if decimals > 2 {
        return None;
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text[1..].trim_start()),
        Some(b'+') => (false, text[1..].trim_start()),
        _ => (false, text),
    };
    let digits: Cow<'_, str> = if decimal == b',' && digits.contains('.') {
        let integer_end = digits.find(',').unwrap_or(digits.len());
        let (integer, fraction) = digits.split_at(integer_end);
        let mut groups = integer.split('.');
        let leading = groups.next()?;
        if leading.is_empty() || leading.len() > 3 {
            return None;
        }
        let mut joined = String::with_capacity(digits.len());
        joined.push_str(leading);
        for group in groups {
            if group.len() != 3 {
                return None;
            }
            joined.push_str(group);
        }
        joined.push_str(fraction);
        Cow::Owned(joined)
    } else {
        Cow::Borrowed(digits)
    };
    amount::parse_unsigned(&digits, decimal).map(|amount| amount::with_sign(amount, negative))
}

/// Reads a debit or credit mark: `Af`/`Bij`, `Debit`/`Credit`, `D`/`C`, `Debet`/`Credit`.
pub(super) fn is_debit(mark: &str) -> Option<bool> {
    match mark.to_ascii_lowercase().as_str() {
        "af" | "debit" | "debet" | "d" => Some(true),
        "bij" | "credit" | "c" => Some(false),
        _ => None,
    }
}

/// Returns a counterparty account as an IBAN in upper case without spaces, or else as written.
/// Triodos writes `BIC IBAN` in one field, so a last word shaped like an IBAN is the account.
pub(super) fn counterparty_account(text: &str) -> Option<String> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return None;
    }
    let candidate = match text.rfind(' ') {
        Some(at) if iban::has_iban_shape(&text[at + 1..]) => &text[at + 1..],
        _ => text,
    };
    iban::normalise(candidate).or_else(|| Some(candidate.to_string()))
}

/// True for an IBAN-shaped account or a domestic account number (digits, with spaces or dots).
pub(super) fn is_plausible_account(account: &str) -> bool {
    iban::has_iban_shape(account)
        || (account.bytes().any(|byte| byte.is_ascii_digit())
            && account
                .bytes()
                .all(|byte| byte.is_ascii_digit() || byte == b' ' || byte == b'.'))
}

pub(super) fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
