//! Logs and traces for every service.
//!
//! [`init`] installs a `tracing` subscriber with an env-filter and text or JSON output. When an
//! OTLP endpoint is configured, it also exports spans and metrics to an OpenTelemetry collector
//! over gRPC. Without one, nothing is exported and the metric instruments are no-ops. The
//! returned [`TelemetryGuard`] flushes pending spans and metrics when dropped, so `main` keeps
//! it until exit.
//!
//! [`propagation`] carries the W3C trace context across gRPC calls, the outbox and RabbitMQ.
//! [`metrics`] contains the instruments that the services record.

pub mod metrics;
pub mod propagation;

use std::io::IsTerminal;

use dk_config::{LogFormat, TelemetrySettings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Telemetry that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter {filter:?}: {message}")]
    Filter { filter: String, message: String },
    #[error("failed to build the OTLP exporter for {endpoint}: {message}")]
    Exporter { endpoint: String, message: String },
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Keeps the span exporter alive; flushes and shuts it down on drop.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
    endpoint: Option<String>,
}

impl TelemetryGuard {
    /// Returns whether spans are exported to a collector.
    pub fn exports_traces(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let endpoint = self.endpoint.as_deref().unwrap_or_default();
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, endpoint, "failed to send the last spans to the collector on exit");
        }
        if let Some(meters) = self.meters.take()
            && let Err(error) = meters.shutdown()
        {
            tracing::warn!(%error, endpoint, "failed to send the last metrics to the collector on exit");
        }
    }
}

/// Installs the global subscriber for `service_name`.
pub fn init(
    service_name: &str,
    settings: &TelemetrySettings,
) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_new(&settings.filter).map_err(|error| TelemetryError::Filter {
        filter: settings.filter.clone(),
        message: error.to_string(),
    })?;
    // Logs go to standard error, so that a command's output on standard output stays clean,
    // and carry colours only when a terminal shows them.
    let colour = std::io::stderr().is_terminal();
    let output = match settings.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour)
            .with_target(true)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let endpoint = settings
        .otlp_endpoint
        .as_deref()
        .filter(|endpoint| !endpoint.is_empty());
    let (provider, meters) = match endpoint {
        Some(endpoint) => (
            Some(otlp_provider(service_name, endpoint)?),
            Some(otlp_meters(service_name, endpoint)?),
        ),
        None => (None, None),
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name.to_owned()))
    });
    if let Some(meters) = &meters {
        opentelemetry::global::set_meter_provider(meters.clone());
    }

    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard {
        provider,
        meters,
        endpoint: endpoint.map(str::to_owned),
    })
}

/// Links a span may keep: a bookkeeping batch links to each of its up to 256 events, twice the
/// SDK's default of 128.
const MAX_LINKS_PER_SPAN: u32 = 256;

fn otlp_provider(service_name: &str, endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig;

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|error| exporter_error(endpoint, error))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_max_links_per_span(MAX_LINKS_PER_SPAN)
        .with_resource(resource(service_name))
        .build())
}

fn exporter_error(endpoint: &str, error: impl std::fmt::Display) -> TelemetryError {
    TelemetryError::Exporter {
        endpoint: endpoint.to_owned(),
        message: error.to_string(),
    }
}

fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_service_name(service_name.to_owned())
        .build()
}

/// Builds the meter provider that pushes every metric to the collector once a minute.
fn otlp_meters(service_name: &str, endpoint: &str) -> Result<SdkMeterProvider, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig;

    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|error| exporter_error(endpoint, error))?;
    Ok(SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter).build())
        .with_resource(resource(service_name))
        .build())
}
