//! Recognising IBANs in account fields.
//!
//! Statement files carry anonymised and placeholder IBANs whose check digits fail, so
//! recognition is by shape (country code, two check digits, 8 to 30 letters or digits), not by
//! the mod-97 check.

/// Returns the IBAN length that a country prescribes (ISO 13616 registry, SEPA countries and
/// common others), or `None` for a country not in this table.
pub(crate) fn country_length(country: &str) -> Option<usize> {
    let length = match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "IQ" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" | "ST" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "BY" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" | "SV" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        _ => return None,
    };
    Some(length)
}

/// Returns `text` as an IBAN in upper case without spaces if it has the shape of one.
pub(crate) fn normalise(text: &str) -> Option<String> {
    if has_iban_shape(text) && !text.bytes().any(|byte| byte.is_ascii_lowercase()) {
        return Some(text.to_string());
    }
    let compact: String = text
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    has_iban_shape(&compact).then_some(compact)
}

/// True for two letters, two digits and 8 to 30 letters or digits (12 to 34 characters).
pub(crate) fn has_iban_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    (12..=34).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_alphabetic)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..].iter().all(u8::is_ascii_alphanumeric)
}

/// Splits an MT940 `:25:` account into its IBAN and a currency code glued to or following it.
///
/// `NL77INGB0574908765EUR` gives (`NL77INGB0574908765`, `EUR`), `NL84RABO0123400003 EUR` gives
/// the same split at the space, `1291.99.348EUR` gives no IBAN and `EUR`.
pub(crate) fn split_account(account: &str) -> (Option<String>, Option<String>) {
    let mut words = account.split_whitespace();
    let first = words.next().unwrap_or_default();
    let following_currency = words.next().filter(|word| is_currency_code(word));

    let glued_currency = first
        .len()
        .checked_sub(3)
        .and_then(|at| first.get(at..).map(|tail| (at, tail)))
        .filter(|(_, tail)| is_currency_code(tail));

    if let Some((at, currency)) = glued_currency {
        let head = &first[..at];
        let expected = head
            .get(..2)
            .and_then(|country| country_length(&country.to_ascii_uppercase()));
        let whole_is_iban = first.get(..2).and_then(country_length) == Some(first.len());
        if expected == Some(head.len()) && has_iban_shape(head) && !whole_is_iban {
            return (normalise(head), Some(currency.to_string()));
        }
        if !has_iban_shape(first) {
            return (None, Some(currency.to_string()));
        }
    }
    (normalise(first), following_currency.map(str::to_string))
}

/// True for three ASCII capital letters.
pub(crate) fn is_currency_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|byte| byte.is_ascii_uppercase())
}

/// Checks the ISO 7064 mod-97 check digits of an IBAN in upper case without spaces.
#[cfg(test)]
pub(crate) fn is_valid(iban: &str) -> bool {
    has_iban_shape(iban)
        && mod97(
            iban.get(4..).unwrap_or_default(),
            iban.get(..4).unwrap_or_default(),
        ) == 1
}

/// Builds an IBAN with correct check digits from a country code and an account part (BBAN).
pub(crate) fn with_check_digits(country: &str, bban: &str) -> String {
    let remainder = mod97(bban, &format!("{country}00"));
    format!("{country}{:02}{bban}", 98 - remainder)
}

/// Computes `(bban ++ tail)` mod 97 with letters as 10..35, as ISO 13616 prescribes.
pub(crate) fn mod97(bban: &str, tail: &str) -> u32 {
    let mut remainder: u32 = 0;
    for c in bban.chars().chain(tail.chars()) {
        let value = match c.to_digit(36) {
            Some(value) => value,
            None => return u32::MAX,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_mt940_accounts() {
        // (:25: content, IBAN, currency)
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            (
                "NL77INGB0574908765EUR",
                Some("NL77INGB0574908765"),
                Some("EUR"),
            ),
            (
                "NL84RABO0123400003 EUR",
                Some("NL84RABO0123400003"),
                Some("EUR"),
            ),
            (
                "NL84RABO01212121212 EUR",
                Some("NL84RABO01212121212"),
                Some("EUR"),
            ),
            ("NL30ABNA000000000000", Some("NL30ABNA000000000000"), None),
            ("nl25snsb0123400004", Some("NL25SNSB0123400004"), None),
            ("1291.99.348EUR", None, Some("EUR")),
            ("TRIODOSBANK/0390123456", None, None),
            ("517852257", None, None),
            ("GJB0291077111", None, None),
            ("", None, None),
        ];
        for (account, iban, currency) in cases {
            let (found_iban, found_currency) = split_account(account);
            assert_eq!(found_iban.as_deref(), *iban, "account {account:?}");
            assert_eq!(found_currency.as_deref(), *currency, "account {account:?}");
        }
    }

    #[test]
    fn mod97_check() {
        assert!(is_valid("NL86INGB0002445588"));
        assert!(is_valid("NL66INGB0123400001"));
        assert!(!is_valid("NL30ABNA000000000000"));
        assert!(!is_valid("NL00INGB0002445588"));
        assert!(!is_valid("short"));
    }

    #[test]
    fn builds_valid_check_digits() {
        assert_eq!(
            with_check_digits("NL", "INGB0002445588"),
            "NL86INGB0002445588"
        );
        for counter in 0..50 {
            let iban = with_check_digits("NL", &format!("RABO01234{counter:05}"));
            assert!(is_valid(&iban), "{iban}");
        }
    }
}
