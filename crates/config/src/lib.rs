//! Layered configuration for every service.
//!
//! Sources, later ones overriding earlier ones:
//! 1. defaults compiled into the service (a TOML text),
//! 2. an optional TOML file (`DK_CONFIG_FILE`, or the path a caller passes),
//! 3. environment variables `DK_<SERVICE>__<SECTION>__<KEY>`, for example
//!    `DK_BANKSYNC__DATABASE__URL=postgres://…`.
//!
//! The result deserialises into the service's typed settings; sections shared by all services
//! live here. Secrets are wrapped in [`Secret`] so that printing a configuration never shows them.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Configuration that cannot be loaded or does not fit the service's settings.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration for {service}: {source}")]
pub struct ConfigError {
    pub service: String,
    #[source]
    pub source: Box<config::ConfigError>,
}

/// Loads a service's settings from its defaults, an optional file and the environment.
///
/// `file` wins over `DK_CONFIG_FILE`; a named file that does not exist is an error.
pub fn load<T: serde::de::DeserializeOwned>(
    service: &str,
    defaults_toml: &str,
    file: Option<&Path>,
) -> Result<T, ConfigError> {
    let wrap = |source| ConfigError {
        service: service.to_owned(),
        source: Box::new(source),
    };
    let file: Option<PathBuf> = file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("DK_CONFIG_FILE").map(PathBuf::from));

    let mut builder = config::Config::builder().add_source(config::File::from_str(
        defaults_toml,
        config::FileFormat::Toml,
    ));
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    let prefix = format!("DK_{}", service.to_ascii_uppercase());
    builder = builder.add_source(
        config::Environment::with_prefix(&prefix)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true),
    );
    builder
        .build()
        .map_err(wrap)?
        .try_deserialize()
        .map_err(wrap)
}

/// A value that must not appear in logs or debug output, such as a password inside a URL.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the gRPC server listens.
#[derive(Debug, Clone, Deserialize)]
pub struct GrpcSettings {
    pub listen: SocketAddr,
    /// Time that in-flight requests get to finish after SIGTERM, in seconds.
    pub shutdown_grace_seconds: u64,
}

/// The service's own database.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` (embedded default) or `postgres://user@host/db`.
    pub url: Secret,
    pub max_connections: u32,
}

/// The message broker; without an AMQP URL the embedded in-process bus is used.
#[derive(Debug, Clone, Deserialize)]
pub struct MessagingSettings {
    pub amqp_url: Option<Secret>,
    /// Prefix of every exchange and queue name, so that environments and tests can share one
    /// broker without seeing each other's messages.
    pub name_prefix: String,
}

/// Verification of callers' bearer tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC key of the HS256 tokens. The compiled-in value is for development only.
    pub token_secret: Secret,
}

/// Logs and traces.
#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, for example `info,dk_banksync=debug`.
    pub filter: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// OTLP/gRPC endpoint of an OpenTelemetry collector; traces are exported only when set.
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Example {
        database: DatabaseSettings,
        telemetry: TelemetrySettings,
    }

    const DEFAULTS: &str = r#"
        [database]
        url = "sqlite://example.sqlite?mode=rwc"
        max_connections = 5
        [telemetry]
        filter = "info"
        format = "text"
    "#;

    #[test]
    fn defaults_load() {
        let settings: Example = load("configtestdefaults", DEFAULTS, None).unwrap();
        assert_eq!(settings.database.max_connections, 5);
        assert_eq!(settings.telemetry.format, LogFormat::Text);
        assert!(settings.telemetry.otlp_endpoint.is_none());
    }

    #[test]
    fn environment_overrides_defaults() {
        // SAFETY: the variable name is unique to this test, so no other thread reads it.
        unsafe { std::env::set_var("DK_CONFIGTESTENV__DATABASE__MAX_CONNECTIONS", "9") };
        let settings: Example = load("configtestenv", DEFAULTS, None).unwrap();
        assert_eq!(settings.database.max_connections, 9);
    }

    #[test]
    fn file_overrides_defaults() {
        let path = std::env::temp_dir().join(format!("dk-config-test-{}.toml", std::process::id()));
        std::fs::write(&path, "[telemetry]\nformat = \"json\"\n").unwrap();
        let settings: Example = load("configtestfile", DEFAULTS, Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(settings.telemetry.format, LogFormat::Json);
    }

    #[test]
    fn missing_file_is_an_error() {
        let result: Result<Example, _> = load(
            "configtestmissing",
            DEFAULTS,
            Some(Path::new("/nonexistent/dk.toml")),
        );
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("configtestmissing")
        );
    }

    #[test]
    fn secret_is_hidden_in_debug() {
        let secret = Secret::new("postgres://user:hunter2@db/app");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "postgres://user:hunter2@db/app");
    }
}
