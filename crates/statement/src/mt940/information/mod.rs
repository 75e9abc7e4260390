//! The `:86:` information to account owner that follows a `:61:` statement line.
//!
//! Three layouts exist, recognised from the text itself:
//! - keyed fields: ING and Triodos `/EREF/…//CNTP/iban/bic/name/city//REMI/USTD//text/`,
//!   ABN AMRO, Mollie, Van Lanschot and bunq `/TRTP/…/IBAN/…/NAME/…/REMI/…/EREF/…`, Rabobank
//!   `/EREF/…/ORDP//NAME/…/REMI/…`. Wrapped lines are joined without a space, because banks cut
//!   lines at 65 characters in the middle of words and keys. bunq does not wrap, so its line
//!   breaks are real and become spaces.
//! - numbered sub-fields: old Triodos `000>10account>20text>21text` (and the German `?20`).
//! - free text: ABN AMRO columns (`IBAN: … NAAM: … BETALINGSKENM.: …`), card payments
//!   (`BEA NR:…`), SNS and ASN padded 65-character lines, Knab `REK: …/NAAM: …`, old ING and
//!   Rabobank. A full 65-character line continues mid-word, and a shorter one ends a line of
//!   text.

mod free_text;
mod keyed;

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::fields::Line;
use crate::iban;
use crate::model::Dialect;
use crate::text::take_digits;

/// A searcher built once: building one costs more than searching a short text.
static BETALINGSKENMERK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("BETALINGSKENM"));

/// The width at which banks wrap `:86:` text.
const WRAP_WIDTH: usize = 65;

/// The transaction details read from `:86:` fields.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Information {
    pub counterparty_account: Option<String>,
    pub counterparty_name: Option<String>,
    pub remittance: String,
    pub end_to_end_id: Option<String>,
    pub structured_reference: Option<String>,
}

impl Information {
    /// Adds a later `:86:` of the same transaction: known fields stay, text is appended.
    pub(crate) fn merge(&mut self, later: Information) {
        self.counterparty_account = self
            .counterparty_account
            .take()
            .or(later.counterparty_account);
        self.counterparty_name = self.counterparty_name.take().or(later.counterparty_name);
        self.end_to_end_id = self.end_to_end_id.take().or(later.end_to_end_id);
        self.structured_reference = self
            .structured_reference
            .take()
            .or(later.structured_reference);
        if self.remittance.is_empty() {
            self.remittance = later.remittance;
        } else {
            append_text(&mut self.remittance, &later.remittance);
        }
    }
}

/// Parses one `:86:` field from its tag line content and continuation lines.
///
/// `known_account` is the counterparty account already read from the `:61:` line; SNS and ASN
/// repeat it with the name on the first `:86:` line, which is then left out of the remittance.
/// `scratch` is a buffer for joining lines, reused between calls to save allocations.
pub(crate) fn parse(
    content: &str,
    continuation: &[Line<'_>],
    dialect: Dialect,
    known_account: Option<&str>,
    scratch: &mut String,
) -> Information {
    scratch.clear();
    let start = content.trim_start();
    if keyed::starts_with_key(start) {
        if dialect == Dialect::Bunq {
            join_with_spaces(scratch, content, continuation);
        } else {
            join_directly(scratch, content, continuation);
        }
        return keyed::parse(scratch);
    }
    if let Some(separator) = free_text::subfield_separator(start) {
        join_directly(scratch, content, continuation);
        return free_text::parse_subfields(scratch, separator);
    }

    let skip_first =
        known_account.is_some_and(|account| !account.is_empty() && start.starts_with(account));
    let first = if skip_first { "" } else { content };
    join_at_width(scratch, first, continuation);
    free_text::parse(scratch)
}

fn join_directly(text: &mut String, first: &str, continuation: &[Line<'_>]) {
    text.push_str(first);
    for line in continuation {
        text.push_str(line.text);
    }
}

fn join_with_spaces(text: &mut String, first: &str, continuation: &[Line<'_>]) {
    text.push_str(first);
    for line in continuation {
        append_text(text, line.text.trim());
    }
}

/// Joins lines directly after a full-width line that does not end in a space, and with a
/// space otherwise.
fn join_at_width(text: &mut String, first: &str, continuation: &[Line<'_>]) {
    let mut previous_full = false;
    for segment in std::iter::once(first).chain(continuation.iter().map(|line| line.text)) {
        let trimmed = segment.trim_end();
        if trimmed.is_empty() {
            previous_full = false;
            continue;
        }
        if !previous_full && !text.is_empty() {
            text.push(' ');
        }
        text.push_str(trimmed);
        previous_full = trimmed.len() == segment.len() && segment.chars().count() >= WRAP_WIDTH;
    }
}

fn append_text(text: &mut String, addition: &str) {
    if addition.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(addition);
}

/// Strips the one trailing slash that ends a value in the ING layout, and white space.
fn clean(value: &str) -> &str {
    value.strip_suffix('/').unwrap_or(value).trim()
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn end_to_end(value: &str) -> Option<String> {
    non_empty(value).filter(|value| !value.eq_ignore_ascii_case("NOTPROVIDED"))
}

fn account(value: &str) -> Option<String> {
    let value = value.trim();
    if iban::has_iban_shape(value) && !value.bytes().any(|byte| byte.is_ascii_lowercase()) {
        return Some(value.to_string());
    }
    iban::normalise(value).or_else(|| non_empty(value))
}

/// Finds `BETALINGSKENM.` (ABN AMRO, Rabobank) and returns the digits after it.
pub(crate) fn find_betalingskenmerk(text: &str) -> Option<String> {
    let at = BETALINGSKENMERK.find(text.as_bytes())?;
    let rest = &text[at + "BETALINGSKENM".len()..];
    let rest = rest
        .trim_start_matches(|c: char| c == '.' || c == ':' || c == ' ' || c.is_ascii_uppercase());
    non_empty(take_digits(rest))
}

#[cfg(test)]
mod tests;
