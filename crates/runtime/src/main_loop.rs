//! The `main` of every service binary, as one straight line of steps.

use std::process::ExitCode;

use dk_config::{
    AuthSettings, ConfigError, DatabaseSettings, LogFormat, MessagingSettings, TelemetrySettings,
};
use dk_messaging::Bus;
use tokio_util::sync::CancellationToken;

use crate::server::Running;

/// Exit code of a configuration error (`EX_CONFIG` of sysexits.h).
const EXIT_CONFIG: u8 = 78;

/// The parts of a service's settings that its `main` needs.
pub trait ServiceSettings {
    fn telemetry(&self) -> &TelemetrySettings;
    fn messaging(&self) -> &MessagingSettings;
    fn database(&self) -> &DatabaseSettings;
    fn auth(&self) -> &AuthSettings;

    /// Checks the service's own sections. [`run`] checks the shared ones before it calls this.
    fn validate_own(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The compiled-in development key; a service that runs with it logs a warning at start.
const DEVELOPMENT_TOKEN_SECRET: &str = "dk-development-secret";

fn validate<S: ServiceSettings>(settings: &S) -> Result<(), String> {
    settings.database().validate()?;
    settings.messaging().validate()?;
    settings.auth().validate()?;
    settings.validate_own()
}

/// Exit code of a command line that names an unknown command (`EX_USAGE` of sysexits.h).
const EXIT_USAGE: u8 = 64;

/// Runs a service binary's command line. With no argument it serves (see [`run`]), and with
/// `migrate` it applies the database migrations of `M` and exits.
pub async fn main<S: ServiceSettings, M: sea_orm_migration::MigratorTrait>(
    name: &'static str,
    settings: Result<S, ConfigError>,
    start: impl AsyncFnOnce(&S, Bus, CancellationToken) -> anyhow::Result<Running>,
) -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => run(name, settings, start).await,
        ["migrate"] => migrate::<S, M>(name, settings).await,
        ["-h" | "--help" | "help"] => {
            println!("{}", usage(name));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "unknown arguments {:?}, expected none or `migrate`\n{}",
                arguments.join(" "),
                usage(name)
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn usage(name: &str) -> String {
    format!(
        "usage: dk-{name} [migrate]\n\n  (no command)  serve gRPC until SIGTERM or Ctrl-C\n  \
         migrate       apply the pending database migrations, then exit\n\nSettings come from \
         the compiled-in defaults, the file named by DK_CONFIG_FILE and variables \
         DK_{}__<SECTION>__<KEY>.",
        name.to_ascii_uppercase()
    )
}

/// Checks the settings and starts telemetry, or returns the exit code of the failure.
fn prepare<S: ServiceSettings>(
    name: &'static str,
    settings: Result<S, ConfigError>,
) -> Result<(S, dk_telemetry::TelemetryGuard), ExitCode> {
    let settings = match settings {
        Ok(settings) => settings,
        Err(error) => {
            report_config_error(name, requested_log_format(name), &error.to_string());
            return Err(ExitCode::from(EXIT_CONFIG));
        }
    };
    if let Err(message) = validate(&settings) {
        report_config_error(
            name,
            settings.telemetry().format,
            &format!("invalid configuration for {name}: {message}"),
        );
        return Err(ExitCode::from(EXIT_CONFIG));
    }
    let telemetry = dk_telemetry::init(name, settings.telemetry()).map_err(|error| {
        report_config_error(name, settings.telemetry().format, &error.to_string());
        ExitCode::from(EXIT_CONFIG)
    })?;
    Ok((settings, telemetry))
}

/// Returns the log format that `DK_<SERVICE>__TELEMETRY__FORMAT` requests, for when the
/// settings as a whole fail to load. It is text unless the variable is exactly `json`, the one
/// spelling that the settings accept.
fn requested_log_format(name: &str) -> LogFormat {
    let variable = format!("DK_{}__TELEMETRY__FORMAT", name.to_ascii_uppercase());
    match std::env::var(variable) {
        Ok(value) if value == "json" => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

/// Reports a configuration error on stderr before telemetry runs: as plain text, or as one JSON
/// log line like the service's other logs, so that a log collector reads it.
fn report_config_error(name: &str, format: LogFormat, message: &str) {
    if format == LogFormat::Json {
        let settings = TelemetrySettings {
            filter: "error".into(),
            format,
            otlp_endpoint: None,
        };
        if let Ok(guard) = dk_telemetry::init(name, &settings) {
            tracing::error!(service = name, "{message}");
            drop(guard);
            return;
        }
    }
    eprintln!("{message}");
}

/// Applies the pending migrations of `M` to the service's database.
///
/// Exits with 78 on invalid settings and 1 when the database cannot be reached or migrated.
pub async fn migrate<S: ServiceSettings, M: sea_orm_migration::MigratorTrait>(
    name: &'static str,
    settings: Result<S, ConfigError>,
) -> ExitCode {
    let (settings, telemetry) = match prepare(name, settings) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let migrated = async {
        let db = crate::database::connect(settings.database()).await?;
        let applied = crate::database::migrate::<M>(&db, name).await?;
        db.close().await?;
        Ok::<_, anyhow::Error>(applied)
    }
    .await;
    let code = match migrated {
        Ok(applied) => {
            tracing::info!(service = name, applied, "database migrations applied");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(
                error = error_chain(&error),
                service = name,
                "failed to migrate the database"
            );
            ExitCode::FAILURE
        }
    };
    drop(telemetry);
    code
}

/// Runs a service: checks its settings, starts telemetry, connects the bus, starts the service
/// with `start`, waits for SIGTERM or Ctrl-C, then stops it and flushes telemetry.
///
/// Exits with 78 on invalid settings and 1 when the service cannot start.
pub async fn run<S: ServiceSettings>(
    name: &'static str,
    settings: Result<S, ConfigError>,
    start: impl AsyncFnOnce(&S, Bus, CancellationToken) -> anyhow::Result<Running>,
) -> ExitCode {
    let (settings, telemetry) = match prepare(name, settings) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };

    if settings.auth().token_secret.expose() == DEVELOPMENT_TOKEN_SECRET {
        tracing::warn!(
            service = name,
            "running with the development token secret; set auth.token_secret for any real use"
        );
    }

    // Listen for SIGTERM from the start, so that a stop request during startup is not lost.
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        crate::server::termination_signal().await;
        on_signal.cancel();
    });

    // NOTE: the bus declares its exchanges and queues before `start` checks the schema, so a
    // service with pending migrations still declares them. Declaring is idempotent.
    let started = match crate::bus::connect(settings.messaging()).await {
        Ok(bus) => start(&settings, bus, shutdown.clone()).await,
        Err(error) => Err(error.into()),
    };
    let running = match started {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(
                error = error_chain(&error),
                service = name,
                "failed to start"
            );
            return ExitCode::FAILURE;
        }
    };

    shutdown.cancelled().await;
    tracing::info!(service = name, "stopping");
    running.wait().await;
    tracing::info!(service = name, "stopped");
    drop(telemetry);
    ExitCode::SUCCESS
}

/// Formats an error with its causes, like `{:#}`, but leaves out a cause whose text already ends
/// the message. Many error types print their source and also return it from `source()`, so
/// `{:#}` printed "Address already in use (os error 98)" twice.
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.ends_with(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// Implements [`ServiceSettings`] for a settings struct whose fields `telemetry`, `messaging`,
/// `database` and `auth` hold the shared sections. With `validate = function`, the function
/// (`fn(&Settings) -> Result<(), String>`) checks the service's own sections at start, so that
/// an invalid value exits with 78 like any other configuration error.
#[macro_export]
macro_rules! service_settings {
    ($settings:ty) => {
        $crate::service_settings!($settings, validate = |_: &$settings| Ok(()));
    };
    ($settings:ty, validate = $validate:expr) => {
        impl $crate::main_loop::ServiceSettings for $settings {
            fn validate_own(&self) -> Result<(), String> {
                ($validate)(self)
            }

            fn telemetry(&self) -> &$crate::config::TelemetrySettings {
                &self.telemetry
            }

            fn messaging(&self) -> &$crate::config::MessagingSettings {
                &self.messaging
            }

            fn database(&self) -> &$crate::config::DatabaseSettings {
                &self.database
            }

            fn auth(&self) -> &$crate::config::AuthSettings {
                &self.auth
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to bind 127.0.0.1:1: {source}")]
    struct BindError {
        source: std::io::Error,
    }

    #[test]
    fn error_chain_prints_each_cause_once() {
        let bind = BindError {
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        let error = anyhow::Error::new(bind).context("failed to start billing");
        assert_eq!(
            error_chain(&error),
            "failed to start billing: failed to bind 127.0.0.1:1: address in use"
        );
    }
}
