//! Typed settings of the bookkeeping service.

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
}

impl Settings {
    /// Loads defaults, then the optional file, then `DK_BOOKKEEPING__…` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        dk_config::load("bookkeeping", DEFAULTS, file)
    }
}

dk_runtime::service_settings!(Settings);
