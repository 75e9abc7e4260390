//! Recognising the format and the bank dialect from a file's content.
//!
//! Nothing is read at a fixed byte offset: a header that differs by one character (another
//! BIC branch code, an extra line) must not change the outcome.

use memchr::memmem;

use crate::model::{Dialect, Format};
use crate::mt940::fields::{Lines, split_tag};

/// How much of the start of a file format detection looks at.
const SNIFF_LEN: usize = 64 * 1024;

/// Returns true when the text looks like XML: `<` after white space.
pub(crate) fn looks_like_xml(text: &str) -> bool {
    text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .starts_with('<')
}

/// Detects the CAMT variant from the root's child element, or the namespace.
pub(crate) fn camt_format(text: &str) -> Option<Format> {
    let head = prefix(text, SNIFF_LEN).as_bytes();
    let by_element = [
        (&b"BkToCstmrStmt"[..], Format::Camt053),
        (b"BkToCstmrAcctRpt", Format::Camt052),
        (b"BkToCstmrDbtCdtNtfctn", Format::Camt054),
    ];
    let by_namespace = [
        (&b"camt.053.001"[..], Format::Camt053),
        (b"camt.052.001", Format::Camt052),
        (b"camt.054.001", Format::Camt054),
    ];
    by_element
        .iter()
        .chain(by_namespace.iter())
        .filter_map(|(needle, format)| memmem::find(head, needle).map(|at| (at, *format)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, format)| format)
}

/// Detects MT940 or MT942 from the tags present.
pub(crate) fn mt_format(text: &str) -> Option<Format> {
    let mut has_statement_tag = false;
    let mut has_final_balance = false;
    let mut has_interim_tag = false;
    for line in Lines::new(prefix(text, SNIFF_LEN)) {
        if line.text.contains("{2:I942") || line.text.contains("{2:O942") {
            has_interim_tag = true;
        }
        // A tag may follow the SWIFT blocks on the same line: `{1:…}{2:…}{4::20:…`.
        let after_blocks = line
            .text
            .find("{4:")
            .map_or(line.text, |at| &line.text[at + 3..]);
        let Some((tag, _)) = split_tag(after_blocks) else {
            continue;
        };
        match tag {
            "20" | "25" | "28" | "28C" | "61" => has_statement_tag = true,
            "60F" | "60M" | "62F" | "62M" => {
                has_statement_tag = true;
                has_final_balance = true;
            }
            "34F" | "13D" | "13" => has_interim_tag = true,
            _ => {}
        }
    }
    match (has_statement_tag, has_interim_tag && !has_final_balance) {
        (true, true) => Some(Format::Mt942),
        (true, false) => Some(Format::Mt940),
        (false, _) => None,
    }
}

/// Detects the bank dialect of an MT940/MT942 file.
///
/// In order: a bank BIC in the envelope before the first message, the bank code of the IBAN
/// (or the shape of the account number) in the first `:25:`, then field habits.
pub(crate) fn mt_dialect(text: &str) -> Dialect {
    let head = prefix(text, SNIFF_LEN);
    let first_tag = memmem::find(head.as_bytes(), b":20:")
        .into_iter()
        .chain(memmem::find(head.as_bytes(), b":25:"))
        .min()
        .unwrap_or(head.len());
    let envelope = &head[..first_tag];
    if let Some(dialect) = dialect_from_bic(envelope) {
        return dialect;
    }

    let account = Lines::new(head)
        .find_map(|line| {
            split_tag(line.text)
                .filter(|(tag, _)| *tag == "25")
                .map(|(_, content)| content.trim())
        })
        .unwrap_or_default();
    let keyed_abn = memmem::find(head.as_bytes(), b":86:/TRTP/").is_some();
    if let Some(dialect) = dialect_from_account(account) {
        // Mollie statements carry an ABN AMRO account but none of ABN AMRO's envelope.
        if dialect == Dialect::AbnAmro && keyed_abn {
            return Dialect::Mollie;
        }
        return dialect;
    }
    if head.trim_start().starts_with(":940:") {
        return Dialect::Rabobank;
    }
    Dialect::Generic
}

fn dialect_from_bic(envelope: &str) -> Option<Dialect> {
    const BICS: [(&str, Dialect); 11] = [
        ("INGBNL", Dialect::Ing),
        ("ABNANL", Dialect::AbnAmro),
        ("RABONL", Dialect::Rabobank),
        ("TRIONL", Dialect::Triodos),
        ("SNSBNL", Dialect::Sns),
        ("RBRBNL", Dialect::Sns),
        ("ASNBNL", Dialect::Asn),
        ("KNABNL", Dialect::Knab),
        ("BUNQNL", Dialect::Bunq),
        ("FVLBNL", Dialect::VanLanschot),
        ("MOYONL", Dialect::Moneyou),
    ];
    BICS.iter()
        .filter_map(|(bic, dialect)| {
            memmem::find(envelope.as_bytes(), bic.as_bytes()).map(|at| (at, *dialect))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, dialect)| dialect)
}

pub(crate) fn dialect_from_account(account: &str) -> Option<Dialect> {
    if account.starts_with("TRIODOSBANK") {
        return Some(Dialect::Triodos);
    }
    let bank_code = account.get(4..8).filter(|_| {
        account
            .get(..2)
            .is_some_and(|country| country.eq_ignore_ascii_case("NL"))
    });
    if let Some(code) = bank_code {
        let dialect = match code.to_ascii_uppercase().as_str() {
            "INGB" => Dialect::Ing,
            "ABNA" => Dialect::AbnAmro,
            "RABO" => Dialect::Rabobank,
            "TRIO" => Dialect::Triodos,
            "SNSB" | "RBRB" => Dialect::Sns,
            "ASNB" => Dialect::Asn,
            "KNAB" => Dialect::Knab,
            "BUNQ" => Dialect::Bunq,
            "FVLB" => Dialect::VanLanschot,
            "MOYO" => Dialect::Moneyou,
            _ => return None,
        };
        return Some(dialect);
    }
    // Old Rabobank account numbers are written with dots: 1291.99.348.
    let dotted = account.len() >= 11
        && account.as_bytes().get(4) == Some(&b'.')
        && account.as_bytes().get(7) == Some(&b'.');
    dotted.then_some(Dialect::Rabobank)
}

/// Returns the longest prefix of `text` of at most `len` bytes that ends on a character
/// boundary.
fn prefix(text: &str, len: usize) -> &str {
    let mut end = len.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camt_variants() {
        let cases = [
            (
                "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>",
                Some(Format::Camt053),
            ),
            ("<Document><BkToCstmrAcctRpt>", Some(Format::Camt052)),
            ("<Document><BkToCstmrDbtCdtNtfctn>", Some(Format::Camt054)),
            (
                "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">",
                Some(Format::Camt054),
            ),
            ("<html><body>", None),
        ];
        for (text, expected) in cases {
            assert_eq!(camt_format(text), expected, "{text}");
        }
    }

    #[test]
    fn mt_variants() {
        let cases = [
            (":20:X\n:25:NL1\n:60F:C140219EUR1,00\n", Some(Format::Mt940)),
            (
                "{1:F01X}{2:O940X}{3:}{4:\n:20:X\n:25:Y\n",
                Some(Format::Mt940),
            ),
            ("{1:F01X}{2:O940X}{4::20:X\n", Some(Format::Mt940)),
            (
                ":20:X\n:25:Y\n:28C:1\n:34F:EURD0,00\n:13D:1610301730+0000\n",
                Some(Format::Mt942),
            ),
            ("Datum,Bedrag\n2024-01-01,5\n", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(mt_format(text), expected, "{text:?}");
        }
    }

    #[test]
    fn dialects() {
        let cases = [
            (
                "{1:F01INGBNL2ABXXX0000000000}\n:20:P1\n:25:NL77INGB0574908765EUR\n",
                Dialect::Ing,
            ),
            (
                "{1:F01INGBNL2AXXXX00001}\n:20:X\n:25:0001234567\n",
                Dialect::Ing,
            ),
            (
                "ABNANL2A\n940\nABNANL2A\n:20:ABN AMRO BANK NV\n:25:517852257\n",
                Dialect::AbnAmro,
            ),
            (
                "BUNQNL2A\n940\nBUNQNL2A\n:20:BUNQ BV\n:25:NL79BUNQ0123400006 EUR\n",
                Dialect::Bunq,
            ),
            (
                ":940:\n:20:940A110615\n:25:1291.99.348EUR\n",
                Dialect::Rabobank,
            ),
            (
                ":940:\n:20:940S140102\n:25:NL84RABO0123400003 EUR\n",
                Dialect::Rabobank,
            ),
            (
                ":20:1308728725026/1\n:25:TRIODOSBANK/0390123456\n",
                Dialect::Triodos,
            ),
            (
                ":20:940A160901\n:25:NL30ABNA000000000000\n:86:/TRTP/SEPA OVERBOEKING/\n",
                Dialect::Mollie,
            ),
            (
                "0000 01FVLBNL22AXXX00042\n940 00\n:20:FVLOLB\n",
                Dialect::VanLanschot,
            ),
            (
                "MOYONL21\n940\nMOYONL21\n:20:940A190401\n",
                Dialect::Moneyou,
            ),
            (":20:CGNGHKLI0290980\n:25:GJB0291077111\n", Dialect::Generic),
        ];
        for (text, expected) in cases {
            assert_eq!(mt_dialect(text), expected, "{text:?}");
        }
    }
}
