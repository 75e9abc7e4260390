//! The `main` of every service binary, as one straight line of steps.

use std::process::ExitCode;

use dk_config::{ConfigError, MessagingSettings, TelemetrySettings};
use dk_messaging::Bus;
use tokio_util::sync::CancellationToken;

use crate::server::Running;

/// Exit code of a configuration error (`EX_CONFIG` of sysexits.h).
const EXIT_CONFIG: u8 = 78;

/// The parts of a service's settings that its `main` needs.
pub trait ServiceSettings {
    fn telemetry(&self) -> &TelemetrySettings;
    fn messaging(&self) -> &MessagingSettings;
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
    let settings = match settings {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let telemetry = match dk_telemetry::init(name, settings.telemetry()) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };

    // Listen for SIGTERM from the start, so that a stop request during startup is not lost.
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        crate::server::termination_signal().await;
        on_signal.cancel();
    });

    let started = match crate::bus::connect(settings.messaging()).await {
        Ok(bus) => start(&settings, bus, shutdown.clone()).await,
        Err(error) => Err(error.into()),
    };
    let running = match started {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
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
