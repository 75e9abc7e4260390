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
    // Values stay strings until a setting's type requires a number or a boolean, so that a
    // string that looks like a number, such as the KvK number 01234567, keeps its leading zero.
    builder = builder.add_source(
        config::Environment::with_prefix(&prefix)
            .prefix_separator("__")
            .separator("__"),
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

    /// Returns the secret value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Hides the password of a URL such as `amqp://user:password@host`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) else {
        return url.to_owned();
    };
    if at < scheme_end {
        return url.to_owned();
    }
    let credentials = &url[scheme_end + 3..at];
    match credentials.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &credentials[..colon],
            &url[at..]
        ),
        None => url.to_owned(),
    }
}

/// Address of the gRPC server and its shutdown grace period.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    pub listen: SocketAddr,
    /// Time that in-flight requests get to finish after SIGTERM, in seconds.
    pub shutdown_grace_seconds: u64,
}

/// The service's own database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` (embedded default) or `postgres://user@host/db`.
    pub url: Secret,
    pub max_connections: u32,
    /// Whether the service applies its pending migrations when it starts. With `false` it
    /// refuses to start while migrations are pending, and `dk-<service> migrate` applies them.
    #[serde(default = "migrate_on_start_default")]
    pub migrate_on_start: bool,
}

fn migrate_on_start_default() -> bool {
    true
}

/// The message broker; without an AMQP URL the embedded in-process bus is used.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    pub amqp_url: Option<Secret>,
    /// Prefix of every exchange and queue name, so that environments and tests can share one
    /// broker without seeing each other's messages.
    pub name_prefix: String,
}

/// Verification of callers' bearer tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key of the HS256 tokens. The compiled-in value is for development only.
    pub token_secret: Secret,
}

/// Logs and traces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, for example `info,dk_banksync=debug`.
    pub filter: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// OTLP/gRPC endpoint of an OpenTelemetry collector; traces are exported only when set.
    pub otlp_endpoint: Option<String>,
}

/// Shortest accepted token secret, in bytes: an HMAC key much shorter than its 32-byte
/// SHA-256 output is easy to guess.
pub const MIN_TOKEN_SECRET_BYTES: usize = 16;

impl DatabaseSettings {
    /// Checks what the type cannot: a known URL scheme and a pool of at least one connection.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(
                "database.url: expected sqlite://PATH?mode=rwc or postgres://USER@HOST/DATABASE"
                    .into(),
            );
        }
        if self.max_connections == 0 {
            return Err("database.max_connections: expected at least 1".into());
        }
        Ok(())
    }
}

impl MessagingSettings {
    /// Checks that an AMQP URL, when set, has the amqp or amqps scheme.
    pub fn validate(&self) -> Result<(), String> {
        match &self.amqp_url {
            Some(url)
                if !url.expose().is_empty()
                    && !url.expose().starts_with("amqp://")
                    && !url.expose().starts_with("amqps://") =>
            {
                Err("messaging.amqp_url: expected amqp://USER:PASSWORD@HOST:PORT/VHOST".into())
            }
            _ => Ok(()),
        }
    }
}

impl AuthSettings {
    /// Checks that the token secret is long enough to resist guessing.
    pub fn validate(&self) -> Result<(), String> {
        let length = self.token_secret.expose().len();
        if length < MIN_TOKEN_SECRET_BYTES {
            return Err(format!(
                "auth.token_secret: {length} bytes is too short; expected at least {MIN_TOKEN_SECRET_BYTES}"
            ));
        }
        Ok(())
    }
}

/// Log output format of the services: `text` for people, `json` for log collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl<'de> Deserialize<'de> for LogFormat {
    /// Accepts `text` or `json`; anything else is an error that names both.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(serde::de::Error::custom(format!(
                "log format {other:?} is not known: expected text or json"
            ))),
        }
    }
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
    fn environment_strings_stay_strings() {
        // SAFETY: the variable names are unique to this test, so no other thread reads them.
        unsafe {
            std::env::set_var("DK_CONFIGTESTSTRING__DATABASE__URL", "01234567");
            std::env::set_var("DK_CONFIGTESTSTRING__DATABASE__MIGRATE_ON_START", "false");
        }
        let settings: Example = load("configteststring", DEFAULTS, None).unwrap();
        assert_eq!(settings.database.url.expose(), "01234567");
        assert!(!settings.database.migrate_on_start);
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
    fn unknown_log_format_names_the_known_ones() {
        // SAFETY: the variable name is unique to this test, so no other thread reads it.
        unsafe { std::env::set_var("DK_CONFIGTESTFORMAT__TELEMETRY__FORMAT", "xml") };
        let error = load::<Example>("configtestformat", DEFAULTS, None)
            .expect_err("xml is not a log format")
            .to_string();
        assert!(
            error.contains("log format \"xml\" is not known: expected text or json"),
            "{error}"
        );
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
    fn unknown_key_is_an_error() {
        // SAFETY: the variable name is unique to this test, so no other thread reads it.
        unsafe { std::env::set_var("DK_CONFIGTESTTYPO__DATABASE__MAX_CONECTIONS", "9") };
        let result: Result<Example, _> = load("configtesttypo", DEFAULTS, None);
        let error = result.unwrap_err().to_string();
        assert!(error.contains("max_conections"), "{error}");
    }

    #[test]
    fn validation_rejects_bad_values() {
        let database = DatabaseSettings {
            url: Secret::new("mysql://x"),
            max_connections: 1,
            migrate_on_start: true,
        };
        assert!(database.validate().unwrap_err().contains("database.url"));
        let database = DatabaseSettings {
            url: Secret::new("sqlite://x.sqlite"),
            max_connections: 0,
            migrate_on_start: true,
        };
        assert!(database.validate().unwrap_err().contains("max_connections"));
        let auth = AuthSettings {
            token_secret: Secret::new(""),
        };
        assert!(auth.validate().unwrap_err().contains("too short"));
        let messaging = MessagingSettings {
            amqp_url: Some(Secret::new("notaurl")),
            name_prefix: String::new(),
        };
        assert!(messaging.validate().is_err());
    }

    #[test]
    fn url_password_is_hidden() {
        let cases = [
            (
                "amqp://guest:guest@127.0.0.1:5672/%2f",
                "amqp://guest:***@127.0.0.1:5672/%2f",
            ),
            ("postgres://u:p@h:5432", "postgres://u:***@h:5432"),
            (
                "postgres://postgres@127.0.0.1:5432",
                "postgres://postgres@127.0.0.1:5432",
            ),
            ("amqp://127.0.0.1:5672", "amqp://127.0.0.1:5672"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected);
        }
    }

    #[test]
    fn secret_is_hidden_in_debug() {
        let secret = Secret::new("postgres://user:hunter2@db/app");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "postgres://user:hunter2@db/app");
    }
}
