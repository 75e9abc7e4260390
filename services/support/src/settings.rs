//! Typed settings of the support service.

use std::path::Path;

use dk_calendar::{Calendar, CalendarSettings};
use dk_config::{
    AuthSettings, ConfigError, DatabaseSettings, GrpcSettings, MessagingSettings, TelemetrySettings,
};
use serde::Deserialize;

/// Compiled-in defaults; see the file for each value's meaning.
pub const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub messaging: MessagingSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    /// Opening hours and holiday switches; checked by `Calendar::new` when the service starts.
    #[serde(default)]
    pub calendar: CalendarSettings,
    pub tickets: TicketSettings,
    pub credit: CreditSettings,
}

/// Prices of billed time and of the prepaid credit products.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreditSettings {
    /// Standard hourly rate excluding VAT, as a decimal string such as "95.00".
    pub hourly_rate: rust_decimal::Decimal,
    pub card_10_hours: CreditProduct,
    pub card_20_hours: CreditProduct,
    pub card_50_hours: CreditProduct,
    pub package_monthly: CreditProduct,
    pub package_yearly: CreditProduct,
}

impl CreditSettings {
    /// Returns the compiled-in prices: 95.00 an hour, cards of 10, 20 and 50 hours at 5, 10 and
    /// 15 percent off, and packages of 4 hours a month at 10 and 48 hours a year at 15 percent
    /// off.
    pub fn default_nl() -> Self {
        let product = |hours, discount: i64| CreditProduct {
            hours,
            discount_percent: rust_decimal::Decimal::from(discount),
        };
        Self {
            hourly_rate: rust_decimal::Decimal::new(9500, 2),
            card_10_hours: product(10, 5),
            card_20_hours: product(20, 10),
            card_50_hours: product(50, 15),
            package_monthly: product(4, 10),
            package_yearly: product(48, 15),
        }
    }
}

/// Hours of a credit product and its discount on the hourly rate.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreditProduct {
    pub hours: u32,
    /// Discount in percent, as a decimal string such as "5".
    pub discount_percent: rust_decimal::Decimal,
}

/// Ticket settings: the staff organisation, the billing unit and the response targets.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TicketSettings {
    /// The vendor's organisation, whose support agents make the staff calls.
    pub staff_organisation_id: uuid::Uuid,
    /// Billed time per ticket and month is rounded up to whole units of these minutes.
    pub billing_unit_minutes: u32,
    /// Response targets in business hours after a ticket reaches the first, second and third
    /// line.
    pub response_hours: [u32; 3],
    /// Seconds between two checks of the previous month's post-calculation; 0 turns the
    /// scheduled run off, leaving only the RunPostCalculation call.
    pub post_calculation_interval_seconds: u64,
}

impl Settings {
    /// Loads defaults, then the optional file, then `DK_SUPPORT__…` variables, and checks the
    /// calendar settings, so that invalid opening hours stop the service like any other invalid
    /// setting.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let settings: Self = dk_config::load("support", DEFAULTS, file)?;
        if settings.tickets.billing_unit_minutes == 0 || settings.tickets.billing_unit_minutes > 480
        {
            return Err(ConfigError {
                service: "support".to_owned(),
                source: Box::new(config::ConfigError::Message(format!(
                    "invalid tickets.billing_unit_minutes {}: expected 1 to 480",
                    settings.tickets.billing_unit_minutes
                ))),
            });
        }
        let products = [
            settings.credit.card_10_hours,
            settings.credit.card_20_hours,
            settings.credit.card_50_hours,
            settings.credit.package_monthly,
            settings.credit.package_yearly,
        ];
        let invalid_product = products.iter().any(|product| {
            product.hours == 0
                || product.discount_percent.is_sign_negative()
                || product.discount_percent >= rust_decimal::Decimal::ONE_HUNDRED
        });
        if invalid_product || settings.credit.hourly_rate <= rust_decimal::Decimal::ZERO {
            return Err(ConfigError {
                service: "support".to_owned(),
                source: Box::new(config::ConfigError::Message(
                    "invalid [credit] settings: expected a positive hourly rate, and products of \
                     at least 1 hour with a discount from 0 to below 100 percent"
                        .to_owned(),
                )),
            });
        }
        Calendar::new(settings.calendar.clone()).map_err(|error| ConfigError {
            service: "support".to_owned(),
            source: Box::new(config::ConfigError::Message(format!(
                "invalid [calendar] settings: {error}"
            ))),
        })?;
        Ok(settings)
    }
}

dk_runtime::service_settings!(Settings);

#[cfg(test)]
mod tests {
    use dk_calendar::{GoodFriday, LiberationDay};

    use super::*;

    #[test]
    fn defaults_parse_with_calendar() {
        let settings = Settings::load(None).expect("compiled-in defaults load");
        assert_eq!(settings.grpc.listen.port(), 50064);
        assert_eq!(settings.calendar.good_friday, GoodFriday::Open);
        assert_eq!(settings.calendar.liberation_day, LiberationDay::LustrumOnly);
        assert_eq!(settings.calendar, CalendarSettings::default());
        assert_eq!(settings.tickets.billing_unit_minutes, 15);
        assert_eq!(settings.tickets.response_hours, [4, 8, 16]);
        assert_eq!(settings.credit.hourly_rate.to_string(), "95.00");
        assert_eq!(settings.credit.card_50_hours.hours, 50);
        assert_eq!(
            settings.credit.package_yearly.discount_percent.to_string(),
            "15"
        );
        assert_eq!(settings.credit, CreditSettings::default_nl());
    }
}
