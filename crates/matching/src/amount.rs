//! Display of amounts in explanations.

use std::fmt;

use rust_decimal::Decimal;

/// Decimal displayed exactly as `Decimal`'s own `Display` does (`150.00`, `0.05`, `-3`), but
/// with plain `u64` arithmetic for mantissas that fit. Explanations format several amounts per
/// decision, and `Decimal`'s general conversion showed up in the `decide` benchmark profile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Amount(pub Decimal);

impl fmt::Display for Amount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(mantissa) = u64::try_from(self.0.mantissa().unsigned_abs()) else {
            // Beyond any amount of money, so the slower general formatting is fine.
            return fmt::Display::fmt(&self.0, formatter);
        };
        let scale = self.0.scale() as usize;

        // A u64 has at most 20 digits, and a decimal at most 28 places after the point.
        let mut buffer = [0u8; 52];
        let mut start = buffer.len();
        let mut rest = mantissa;
        let mut written = 0;
        while rest > 0 || written <= scale {
            if written == scale && written > 0 {
                start -= 1;
                buffer[start] = b'.';
            }
            start -= 1;
            buffer[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            written += 1;
        }
        if self.0.is_sign_negative() && mantissa != 0 {
            start -= 1;
            buffer[start] = b'-';
        }
        formatter.write_str(std::str::from_utf8(&buffer[start..]).expect("digits are ASCII"))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn amount_matches_decimal_display() {
        let cases = [
            dec!(150.00),
            dec!(0.05),
            dec!(0),
            dec!(0.00),
            dec!(-3),
            dec!(-0.10),
            dec!(1234567.891),
            dec!(7),
        ];
        for amount in cases {
            assert_eq!(
                Amount(amount).to_string(),
                amount.to_string(),
                "amount {amount}"
            );
        }
    }

    proptest! {
        #[test]
        fn amount_display_equals_decimal(mantissa in any::<i64>(), scale in 0u32..=28) {
            let amount = Decimal::new(mantissa, scale);
            prop_assert_eq!(Amount(amount).to_string(), amount.to_string());
        }

        #[test]
        fn amount_display_large_mantissa(low in any::<u32>(), mid in any::<u32>(), high in any::<u32>(), negative in any::<bool>(), scale in 0u32..=28) {
            let amount = Decimal::from_parts(low, mid, high, negative, scale);
            prop_assert_eq!(Amount(amount).to_string(), amount.to_string());
        }
    }
}
