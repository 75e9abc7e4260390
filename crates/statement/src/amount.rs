//! Exact decimal amounts from SWIFT (`1234,56`) and ISO 20022 (`1234.56`) notation.

use rust_decimal::Decimal;

/// The maximum number of integer digits after leading zeros. SWIFT allows 15 digits in total
/// and ISO 20022 18, so this leaves room while keeping sums far from `Decimal`'s limit.
pub(crate) const MAX_INTEGER_DIGITS: usize = 18;

/// The maximum number of fraction digits. ISO 20022 allows 5.
pub(crate) const MAX_FRACTION_DIGITS: usize = 10;

/// Parses an unsigned amount written with `separator` as the decimal mark.
///
/// Accepts what banks write: `500`, `500,`, `0,3`, `000000001213,28`, `105.750`. The result
/// has at least two decimal places, so `9,` becomes `9.00`. Returns `None` for anything else,
/// including signs, thousands separators and more digits than [`MAX_INTEGER_DIGITS`] and
/// [`MAX_FRACTION_DIGITS`] allow.
pub(crate) fn parse_unsigned(text: &str, separator: u8) -> Option<Decimal> {
    let bytes = text.as_bytes();
    let (integer, fraction) = match memchr::memchr(separator, bytes) {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &b""[..]),
    };
    if integer.is_empty() || !integer.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !fraction.iter().all(u8::is_ascii_digit) || fraction.len() > MAX_FRACTION_DIGITS {
        return None;
    }
    let significant = integer.iter().skip_while(|digit| **digit == b'0').count();
    if significant > MAX_INTEGER_DIGITS {
        return None;
    }

    let mut mantissa: i128 = 0;
    for digit in integer.iter().chain(fraction) {
        mantissa = mantissa * 10 + i128::from(digit - b'0');
    }
    // Both limits together keep the mantissa below 10^28, inside Decimal's 96 bits.
    let scale = u32::try_from(fraction.len()).ok()?;
    let mut amount = Decimal::try_from_i128_with_scale(mantissa, scale).ok()?;
    if scale < 2 {
        amount.rescale(2);
    }
    Some(amount)
}

/// Returns `amount` negated when `negative`, keeping zero unsigned so it never prints as
/// `-0.00`.
pub(crate) fn with_sign(amount: Decimal, negative: bool) -> Decimal {
    if negative && !amount.is_zero() {
        -amount
    } else {
        amount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swift_amounts() {
        // (written, expected as a string)
        let cases = [
            ("500", "500.00"),
            ("500,", "500.00"),
            ("9,", "9.00"),
            ("0,3", "0.30"),
            ("0,", "0.00"),
            ("1,56", "1.56"),
            ("000000001213,28", "1213.28"),
            ("2876,84", "2876.84"),
            ("1,12345", "1.12345"),
        ];
        for (written, expected) in cases {
            let amount = parse_unsigned(written, b',').unwrap_or_else(|| panic!("{written}"));
            assert_eq!(amount.to_string(), expected, "written {written}");
        }
    }

    #[test]
    fn xml_amounts_keep_their_decimals() {
        let cases = [
            ("105.750", "105.750"),
            ("2", "2.00"),
            ("0", "0.00"),
            ("8.85", "8.85"),
        ];
        for (written, expected) in cases {
            let amount = parse_unsigned(written, b'.').unwrap();
            assert_eq!(amount.to_string(), expected, "written {written}");
        }
    }

    #[test]
    fn rejects_malformed_amounts() {
        let cases = [
            "",
            ",5",
            "1,2,3",
            "-5",
            "+5",
            "1.234,56",
            "12a",
            " 1",
            "1 ",
            "1,2 ",
            "1234567890123456789", // 19 integer digits
            "1,12345678901",       // 11 fraction digits
        ];
        for written in cases {
            assert_eq!(parse_unsigned(written, b','), None, "written {written:?}");
        }
    }

    #[test]
    fn zero_keeps_no_sign() {
        let zero = parse_unsigned("0,00", b',').unwrap();
        assert_eq!(with_sign(zero, true).to_string(), "0.00");
        let five = parse_unsigned("5", b',').unwrap();
        assert_eq!(with_sign(five, true).to_string(), "-5.00");
    }

    #[test]
    fn leading_zeros_do_not_count_as_digits() {
        let padded = format!("{}1,00", "0".repeat(40));
        assert_eq!(parse_unsigned(&padded, b',').unwrap().to_string(), "1.00");
    }
}
