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
}

/// Who works on tickets, how time is billed, and how soon each line answers.
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
    }
}
