//! Typed settings of the banksync service.

use std::path::Path;

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
    pub import: ImportSettings,
    pub bank_link: BankLinkSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// Largest statement file accepted, in bytes.
    pub max_file_bytes: usize,
}

/// The token key of `defaults.toml`, for development only.
const DEVELOPMENT_TOKEN_KEY: &str =
    "6b6f7070656c696e672d6f6e6c792d766f6f722d6f6e7477696b6b656c696e67";

/// The automatic bank link: its schedule, and how to reach each bank's API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankLinkSettings {
    /// Seconds between the scheduler's rounds; 0 turns the scheduler off.
    pub scheduler_interval_seconds: u64,
    /// Seconds between two syncs of one linked account.
    pub sync_interval_seconds: u64,
    /// Days before today that the first sync of an account reads.
    pub first_sync_days: i64,
    /// Days before the last synced date that every later sync reads again, so that bookings
    /// the bank adds late to a day are not missed.
    pub overlap_days: i64,
    /// Days before a consent lapses that the customer gets a renewal notice.
    pub renewal_notice_days: i64,
    /// The AES-256 key that seals the customers' bank tokens in the database: 64 hexadecimal
    /// characters.
    pub token_key: dk_config::Secret,
    /// Each bank's API; a bank left out cannot be linked.
    #[serde(default)]
    pub ing: Option<dk_banklink::BankApiSettings>,
    #[serde(default)]
    pub abnamro: Option<dk_banklink::BankApiSettings>,
    #[serde(default)]
    pub rabobank: Option<dk_banklink::BankApiSettings>,
}

impl BankLinkSettings {
    /// Returns the defaults of `defaults.toml`, with no bank configured.
    pub fn without_banks() -> Self {
        BankLinkSettings {
            scheduler_interval_seconds: 60,
            sync_interval_seconds: 4 * 3600,
            first_sync_days: 30,
            overlap_days: 3,
            renewal_notice_days: 14,
            token_key: dk_config::Secret::new(DEVELOPMENT_TOKEN_KEY),
            ing: None,
            abnamro: None,
            rabobank: None,
        }
    }

    /// Returns the API settings of `bank`, when configured.
    pub fn bank(&self, bank: dk_banklink::Bank) -> Option<&dk_banklink::BankApiSettings> {
        match bank {
            dk_banklink::Bank::Ing => self.ing.as_ref(),
            dk_banklink::Bank::AbnAmro => self.abnamro.as_ref(),
            dk_banklink::Bank::Rabobank => self.rabobank.as_ref(),
        }
    }
}

impl Settings {
    /// Loads defaults, then the optional file, then `DK_BANKSYNC__…` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        dk_config::load("banksync", DEFAULTS, file)
    }

    /// Checks the sections of banksync's own: the token key must be a valid AES-256 key.
    fn validate_own(&self) -> Result<(), String> {
        crate::vault::Vault::new(self.bank_link.token_key.expose()).map(|_| ())
    }
}

dk_runtime::service_settings!(Settings, validate = Settings::validate_own);

#[cfg(test)]
mod validation_tests {
    use dk_runtime::main_loop::ServiceSettings;

    use super::*;

    #[test]
    fn invalid_token_key_is_rejected() {
        let mut settings = Settings::load(None).expect("defaults load");
        assert_eq!(ServiceSettings::validate_own(&settings), Ok(()));
        settings.bank_link.token_key = dk_config::Secret::new("abc");
        let error = ServiceSettings::validate_own(&settings).expect_err("short key");
        assert!(error.contains("bank_link.token_key"), "{error}");
    }
}
