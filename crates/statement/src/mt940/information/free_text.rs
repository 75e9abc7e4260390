//! Free-text and numbered `:86:` layouts: ABN AMRO columns (`IBAN: … NAAM: …`), card
//! payments (`BEA NR:…`), SNS/ASN padded lines, Knab `REK: …/NAAM: …`, and old Triodos
//! `000>10account>20text` sub-fields.

use memchr::memmem;

use super::{Information, account, clean, end_to_end, find_betalingskenmerk, non_empty};
use crate::text::collapse_whitespace;

/// Labels of free-text layouts as written, each with the upper-case name the parser uses.
/// ABN AMRO's MT940 writes them in upper case; its TAB export and ING's CSV `Mededelingen`
/// capitalise only the first letter.
const LABELS: &[(&str, &str)] = &[
    ("IBAN:", "IBAN:"),
    ("BIC:", "BIC:"),
    ("NAAM:", "NAAM:"),
    ("Naam:", "NAAM:"),
    ("OMSCHRIJVING:", "OMSCHRIJVING:"),
    ("Omschrijving:", "OMSCHRIJVING:"),
    ("KENMERK:", "KENMERK:"),
    ("Kenmerk:", "KENMERK:"),
    ("BETALINGSKENM.", "BETALINGSKENM."),
    ("REK:", "REK:"),
    ("MACHTIGING:", "MACHTIGING:"),
    ("Machtiging:", "MACHTIGING:"),
    ("Machtiging ID:", "MACHTIGING:"),
    ("INCASSANT:", "INCASSANT:"),
    ("Incassant:", "INCASSANT:"),
    ("Incassant ID:", "INCASSANT:"),
    ("ID DEBITEUR:", "ID DEBITEUR:"),
    ("Valutadatum:", "VALUTADATUM:"),
    ("Voor:", "VOOR:"),
];

/// Returns `>` or `?` for text that starts like `000>10…` or `166?00…`.
pub(super) fn subfield_separator(text: &str) -> Option<u8> {
    let bytes = text.as_bytes();
    let code = bytes.get(..3)?;
    let separator = *bytes.get(3)?;
    let number = bytes.get(4..6)?;
    let shaped = code.iter().all(u8::is_ascii_digit) && number.iter().all(u8::is_ascii_digit);
    (shaped && (separator == b'>' || separator == b'?')).then_some(separator)
}

/// Parses numbered sub-fields. With `>` (old Triodos), `>10` is the counterparty account and
/// `>20` to `>29` the description. With `?` (German banks), `?20`-`?29` and `?60`-`?63` are the
/// description, `?31` the account and `?32`-`?33` the name.
pub(super) fn parse_subfields(text: &str, separator: u8) -> Information {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    for (at, byte) in bytes.iter().enumerate() {
        let numbered = bytes
            .get(at + 1..at + 3)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if *byte == separator && numbered {
            starts.push(at);
        }
    }

    let mut information = Information::default();
    let mut description = String::new();
    let mut name = String::new();
    for (index, start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(bytes.len());
        let code = &text[start + 1..start + 3];
        let value = &text[start + 3..end];
        match (separator, code) {
            (b'>', "10") | (b'?', "31") => information.counterparty_account = account(value),
            (_, code) if code.starts_with('2') => description.push_str(value),
            (b'?', "60" | "61" | "62" | "63") => description.push_str(value),
            (b'?', "32" | "33") => name.push_str(value),
            _ => {}
        }
    }
    information.counterparty_name = non_empty(name.trim());
    information.structured_reference = find_betalingskenmerk(&description);
    information.remittance = collapse_whitespace(&description);
    information
}

/// A label found in free text: where it starts and where its value starts.
struct LabelAt {
    label: &'static str,
    start: usize,
    value_start: usize,
}

fn find_labels(text: &str) -> Vec<LabelAt> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (written, label) in LABELS {
        for start in memmem::find_iter(bytes, written.as_bytes()) {
            let preceded_by_letter = start
                .checked_sub(1)
                .and_then(|before| bytes.get(before))
                .is_some_and(u8::is_ascii_alphabetic);
            if !preceded_by_letter {
                found.push(LabelAt {
                    label,
                    start,
                    value_start: start + written.len(),
                });
            }
        }
    }
    found.sort_by_key(|label| label.start);
    found
}

/// Parses free text whose wrapped lines have been joined.
pub(super) fn parse(text: &str) -> Information {
    let mut information = Information::default();
    let labels = find_labels(text);
    let mut remittance_end = text.len();
    for (index, label) in labels.iter().enumerate() {
        let end = labels.get(index + 1).map_or(text.len(), |next| next.start);
        let value = clean(text.get(label.value_start..end).unwrap_or_default());
        match label.label {
            "IBAN:" | "REK:" if information.counterparty_account.is_none() => {
                let first_word = value.split_whitespace().next().unwrap_or_default();
                information.counterparty_account = account(clean(first_word));
                if label.label == "REK:" {
                    // Knab ends the description with `REK: iban/NAAM: name`.
                    remittance_end = remittance_end.min(label.start);
                }
            }
            "NAAM:" if information.counterparty_name.is_none() => {
                information.counterparty_name = non_empty(&collapse_whitespace(value));
            }
            "KENMERK:" if information.end_to_end_id.is_none() => {
                information.end_to_end_id = end_to_end(&collapse_whitespace(value));
            }
            _ => {}
        }
    }

    information.structured_reference = find_betalingskenmerk(text);
    if information.counterparty_name.is_none() {
        read_abn_amro_columns(text, &mut information);
    }
    information.remittance = collapse_whitespace(&text[..remittance_end]);
    information
}

/// Reads the counterparty from old ABN AMRO layouts: `GIRO   428428 KPN - DIGITENNE  …`,
/// `BEA   NR:XXX1234   21.05.11/12.54 SHOP NAME,PAS999` and `54.49.42.108 ABC BOOM KK`.
fn read_abn_amro_columns(text: &str, information: &mut Information) {
    let first_column = |rest: &str| -> Option<String> {
        let rest = rest.trim_start();
        let end = rest.find("  ").unwrap_or(rest.len());
        non_empty(rest[..end].trim())
    };

    if let Some(rest) = text.strip_prefix("GIRO ") {
        let rest = rest.trim_start();
        let number_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if number_len > 0 {
            information.counterparty_name = first_column(&rest[number_len..]);
        }
    } else if text.starts_with("BEA ") || text.starts_with("GEA ") {
        // The merchant follows the `dd.mm.yy/hh.mm` timestamp and ends at `,PAS`.
        let Some(pas) = text.find(",PAS") else {
            return;
        };
        let before = &text[..pas];
        let Some(slash) = before.find('/') else {
            return;
        };
        let Some(space) = before[slash..].find(' ') else {
            return;
        };
        information.counterparty_name = non_empty(&collapse_whitespace(&before[slash + space..]));
    } else {
        let first = text.split(' ').next().unwrap_or_default();
        let dotted = first.len() == 12
            && first.bytes().enumerate().all(|(at, byte)| match at {
                2 | 5 | 8 => byte == b'.',
                _ => byte.is_ascii_digit(),
            });
        if dotted {
            information
                .counterparty_account
                .get_or_insert_with(|| first.to_string());
            information.counterparty_name = first_column(&text[first.len()..]);
        }
    }
}
