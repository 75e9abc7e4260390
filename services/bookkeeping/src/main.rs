//! The bookkeeping service binary.

use std::process::ExitCode;

use dk_bookkeeping::Settings;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load(None) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    let telemetry = match dk_telemetry::init("bookkeeping", &settings.telemetry) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(78);
        }
    };

    let shutdown = CancellationToken::new();
    let running = match connect_and_start(&settings, shutdown.clone()).await {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "bookkeeping failed to start");
            return ExitCode::FAILURE;
        }
    };

    dk_runtime::server::termination_signal().await;
    tracing::info!("bookkeeping stopping");
    shutdown.cancel();
    running.wait().await;
    tracing::info!("bookkeeping stopped");
    drop(telemetry);
    ExitCode::SUCCESS
}

async fn connect_and_start(
    settings: &Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<dk_runtime::server::Running> {
    let bus = dk_runtime::bus::connect(&settings.messaging).await?;
    dk_bookkeeping::start(settings, bus, shutdown).await
}
