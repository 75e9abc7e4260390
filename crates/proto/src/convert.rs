//! Conversions between wire types and domain types, in one place.
//!
//! Every conversion from the wire validates, and its error names the field and the value so
//! that a service can return it as an `INVALID_ARGUMENT` field violation.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dk_domain::{Currency, Decimal, Money};

use crate::common::v1 as pb;

/// A wire value that does not convert to its domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The request field, for example `amount`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<Money> for pb::Money {
    fn from(money: Money) -> Self {
        pb::Money {
            amount: money.amount().to_string(),
            currency_code: money.currency().to_string(),
        }
    }
}

/// Converts wire money; a missing currency code means EUR.
pub fn money_from_proto(field: &str, money: Option<&pb::Money>) -> Result<Money, FieldError> {
    let money = money.ok_or_else(|| FieldError::new(field, "missing: expected an amount"))?;
    let currency = if money.currency_code.is_empty() {
        Currency::EUR
    } else {
        Currency::parse(&money.currency_code)
            .map_err(|error| FieldError::new(format!("{field}.currency_code"), error.to_string()))?
    };
    Money::parse(&money.amount, currency)
        .map_err(|error| FieldError::new(format!("{field}.amount"), error.to_string()))
}

/// Converts a decimal and currency into wire money.
pub fn money_to_proto(amount: Decimal, currency: Currency) -> pb::Money {
    Money::new(amount, currency).into()
}

impl From<NaiveDate> for pb::Date {
    fn from(date: NaiveDate) -> Self {
        pb::Date {
            year: date.year(),
            month: date.month() as i32,
            day: date.day() as i32,
        }
    }
}

/// Converts a wire date; `None` when the message is absent.
pub fn date_from_proto(
    field: &str,
    date: Option<&pb::Date>,
) -> Result<Option<NaiveDate>, FieldError> {
    let Some(date) = date else {
        return Ok(None);
    };
    let month = u32::try_from(date.month).ok();
    let day = u32::try_from(date.day).ok();
    match (month, day) {
        (Some(month), Some(day)) => NaiveDate::from_ymd_opt(date.year, month, day)
            .map(Some)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("invalid date {}-{}-{}", date.year, date.month, date.day),
                )
            }),
        _ => Err(FieldError::new(
            field,
            "invalid date: negative month or day",
        )),
    }
}

/// Formats a wire date as `YYYY-MM-DD`, or an empty string when absent.
pub fn date_to_string(date: Option<&pb::Date>) -> String {
    match date {
        Some(date) => format!("{:04}-{:02}-{:02}", date.year, date.month, date.day),
        None => String::new(),
    }
}

pub fn timestamp_from(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trips() {
        let money = Money::parse("-1250.50", Currency::EUR).unwrap();
        let wire = pb::Money::from(money);
        assert_eq!(wire.amount, "-1250.50");
        assert_eq!(wire.currency_code, "EUR");
        assert_eq!(money_from_proto("amount", Some(&wire)).unwrap(), money);
    }

    #[test]
    fn money_names_field_on_error() {
        let wire = pb::Money {
            amount: "12,50".into(),
            currency_code: "EUR".into(),
        };
        let error = money_from_proto("amount", Some(&wire)).unwrap_err();
        assert_eq!(error.field, "amount.amount");
        assert!(error.message.contains("12,50"));
    }

    #[test]
    fn money_missing_is_an_error() {
        assert_eq!(
            money_from_proto("amount", None).unwrap_err().field,
            "amount"
        );
    }

    #[test]
    fn date_rejects_impossible_day() {
        let wire = pb::Date {
            year: 2026,
            month: 2,
            day: 30,
        };
        assert!(date_from_proto("due_date", Some(&wire)).is_err());
        let good = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert_eq!(
            date_from_proto("due_date", Some(&good.into())).unwrap(),
            Some(good)
        );
        assert_eq!(date_to_string(Some(&good.into())), "2026-02-28");
    }
}
