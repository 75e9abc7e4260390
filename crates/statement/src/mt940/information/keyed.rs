//! Keyed `:86:` layouts: ING `/EREF/…//CNTP/…//REMI/USTD//…/` and the single-slash SEPA
//! layout of ABN AMRO, Mollie, Van Lanschot, bunq and Rabobank (`/TRTP/…/NAME/…/REMI/…`).
//!
//! A value runs to the next known key. Values may contain slashes (`t/m`, `17227/248/20`),
//! so only `/KEY/` with a known key name splits the text.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::{Information, account, clean, end_to_end, find_betalingskenmerk, non_empty};
use crate::text::{push_collapsed, structured_reference};

/// Searchers built once: building one costs more than searching a short text.
static CNTP: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/CNTP/"));
static USTD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/USTD/"));
static STRD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/STRD/"));

/// The two keyed layouts. They share most keys, but names such as `NAME`, `ID` or `CD` are
/// keys only in the single-slash layout. In ING text they are ordinary words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// ING and Triodos since 2018: `/EREF/…//CNTP/…//REMI/USTD//…/`.
    Ing,
    /// ABN AMRO, Mollie, Van Lanschot, bunq, Rabobank: `/TRTP/…/IBAN/…/NAME/…`.
    Sepa,
}

impl Layout {
    fn is_key(self, name: &str) -> bool {
        let shared = matches!(
            name,
            "EREF"
                | "PREF"
                | "MARF"
                | "CSID"
                | "CNTP"
                | "REMI"
                | "RTRN"
                | "ISDT"
                | "PURP"
                | "ULTC"
                | "ULTD"
                | "ULTB"
                | "BENM"
                | "ORDP"
                | "SVCL"
        );
        shared
            || match self {
                Layout::Ing => matches!(name, "EXCH" | "CHGS" | "OCMT" | "BUSP"),
                Layout::Sepa => matches!(
                    name,
                    "TRTP"
                        | "IBAN"
                        | "BIC"
                        | "NAME"
                        | "ADDR"
                        | "ID"
                        | "CDTRREFTP"
                        | "CD"
                        | "ISSR"
                        | "CDTRREF"
                ),
            }
    }
}

/// A key found in keyed text: where its leading slash is, its name, where its value starts.
struct KeyAt<'t> {
    slash: usize,
    name: &'t str,
    value_start: usize,
}

/// Finds the first `/KEY/` at or after `from` that is a key of `layout`.
fn find_key(text: &str, from: usize, layout: Layout) -> Option<KeyAt<'_>> {
    let bytes = text.as_bytes();
    let mut search = from;
    while let Some(found) = bytes
        .get(search..)
        .and_then(|rest| memchr::memchr(b'/', rest))
    {
        let slash = search + found;
        if let Some(key) = key_at(text, slash, layout) {
            return Some(key);
        }
        search = slash + 1;
    }
    None
}

/// Reads a `/KEY/` whose leading slash is at `slash`.
fn key_at(text: &str, slash: usize, layout: Layout) -> Option<KeyAt<'_>> {
    let bytes = text.as_bytes();
    let name_start = slash + 1;
    let name_len = bytes
        .get(name_start..)?
        .iter()
        .take(10)
        .take_while(|byte| byte.is_ascii_uppercase())
        .count();
    if !(2..=9).contains(&name_len) || bytes.get(name_start + name_len) != Some(&b'/') {
        return None;
    }
    let name = &text[name_start..name_start + name_len];
    layout.is_key(name).then_some(KeyAt {
        slash,
        name,
        value_start: name_start + name_len + 1,
    })
}

/// True for text that opens with a key of either keyed layout.
pub(super) fn starts_with_key(text: &str) -> bool {
    text.starts_with('/')
        && [Layout::Ing, Layout::Sepa]
            .into_iter()
            .any(|layout| key_at(text, 0, layout).is_some())
}

/// Parses keyed text whose wrapped lines have been joined.
pub(super) fn parse(text: &str) -> Information {
    let ing_layout = [&*CNTP, &*USTD, &*STRD]
        .iter()
        .any(|finder| finder.find(text.as_bytes()).is_some());
    let layout = if ing_layout {
        Layout::Ing
    } else {
        Layout::Sepa
    };

    let mut information = Information::default();
    let mut remittance = String::new();
    let mut previous_key = "";
    let mut next = find_key(text, 0, layout);
    while let Some(key) = next {
        next = find_key(text, key.value_start, layout);
        let end = next.as_ref().map_or(text.len(), |next| next.slash);
        let raw = &text[key.value_start..end.max(key.value_start)];
        let value = clean(raw);
        match key.name {
            "EREF" if information.end_to_end_id.is_none() => {
                information.end_to_end_id = end_to_end(value);
            }
            "CNTP" => {
                let mut parts = value.split('/');
                let iban = parts.next().unwrap_or_default();
                let _bic = parts.next();
                let name = parts.next().unwrap_or_default().trim();
                if information.counterparty_account.is_none() {
                    information.counterparty_account = account(iban);
                }
                if information.counterparty_name.is_none() {
                    information.counterparty_name = non_empty(name);
                }
            }
            "IBAN" if information.counterparty_account.is_none() => {
                information.counterparty_account = account(value);
            }
            "NAME"
                if !matches!(previous_key, "ULTC" | "ULTD" | "ULTB")
                    && information.counterparty_name.is_none() =>
            {
                information.counterparty_name = non_empty(value);
            }
            "REMI" => read_remittance(raw, &mut remittance, &mut information),
            "CDTRREF" if information.structured_reference.is_none() => {
                information.structured_reference = non_empty(&structured_reference(value));
            }
            _ => {}
        }
        previous_key = key.name;
    }

    if information.structured_reference.is_none() {
        information.structured_reference = find_betalingskenmerk(&remittance);
    }
    information.remittance = remittance;
    information
}

/// Reads a `/REMI/` value: ING `USTD//text/` or `STRD/CUR/reference/`, or plain text.
fn read_remittance(raw: &str, remittance: &mut String, information: &mut Information) {
    if let Some(text) = raw.strip_prefix("USTD/") {
        let text = text.strip_prefix('/').unwrap_or(text);
        push_collapsed(remittance, clean(text));
    } else if let Some(structured) = raw.strip_prefix("STRD/") {
        // `CUR/9001123412341234/`: the issuer, then the reference.
        let mut parts = clean(structured).splitn(2, '/');
        let _issuer = parts.next();
        let reference = parts.next().unwrap_or_default();
        if information.structured_reference.is_none() {
            information.structured_reference = non_empty(&structured_reference(reference));
        }
    } else {
        push_collapsed(remittance, clean(raw));
    }
}
