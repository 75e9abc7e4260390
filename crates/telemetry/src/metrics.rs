//! The metric instruments of every service, created once from the global meter provider.
//!
//! [`crate::init`] installs an OTLP meter provider when an endpoint is configured. Without one
//! the global provider is a no-op, and recording costs next to nothing. The instruments bind to
//! the provider that is installed when [`instruments`] is first called, so a test that reads
//! metrics installs its provider before starting any service.

use std::sync::LazyLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

/// Bucket boundaries in seconds, from a fast RPC (1 ms) to a slow import or a long queue (60 s).
const SECONDS_BOUNDARIES: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

/// Every instrument the services record.
pub struct Instruments {
    /// `rpc.server.call.duration`: seconds per gRPC call, by `rpc.method` and
    /// `rpc.grpc.status_code` (OpenTelemetry semantic conventions for RPC).
    pub rpc_duration: Histogram<f64>,
    /// `dk.statement.imports`: statement imports by `format` and `outcome`
    /// (`imported`, `rejected`).
    pub statement_imports: Counter<u64>,
    /// `dk.bank.mutations.imported`: bank mutations stored, by `format` (`mt940`, `bank-api`, ...).
    pub mutations_imported: Counter<u64>,
    /// `dk.matching.decisions`: matching decisions by `outcome` (`exact`, `partial`, ...).
    pub matching_decisions: Counter<u64>,
    /// `dk.messaging.consumer.lag`: seconds from an event's time to its handling, by `queue`.
    pub consumer_lag: Histogram<f64>,
    /// `dk.messaging.outbox.lag`: seconds from an event's time to its publication, by `source`.
    pub outbox_lag: Histogram<f64>,
}

static INSTRUMENTS: LazyLock<Instruments> = LazyLock::new(|| {
    let meter = opentelemetry::global::meter("dk");
    Instruments {
        rpc_duration: meter
            .f64_histogram("rpc.server.call.duration")
            .with_unit("s")
            .with_description("Duration of gRPC calls handled by the server")
            .with_boundaries(SECONDS_BOUNDARIES.to_vec())
            .build(),
        statement_imports: meter
            .u64_counter("dk.statement.imports")
            .with_description("Bank statement files imported or rejected")
            .build(),
        mutations_imported: meter
            .u64_counter("dk.bank.mutations.imported")
            .with_description("Bank mutations stored, duplicates not counted")
            .build(),
        matching_decisions: meter
            .u64_counter("dk.matching.decisions")
            .with_description("Decisions of the automatic matcher, by outcome")
            .build(),
        consumer_lag: meter
            .f64_histogram("dk.messaging.consumer.lag")
            .with_unit("s")
            .with_description("Time from an event's occurrence to its handling by a consumer")
            .with_boundaries(SECONDS_BOUNDARIES.to_vec())
            .build(),
        outbox_lag: meter
            .f64_histogram("dk.messaging.outbox.lag")
            .with_unit("s")
            .with_description("Time from an event's occurrence to its publication to the broker")
            .with_boundaries(SECONDS_BOUNDARIES.to_vec())
            .build(),
    }
});

/// Returns the instruments, creating them on first use.
pub fn instruments() -> &'static Instruments {
    &INSTRUMENTS
}

/// Returns `time`'s age in seconds, zero when it lies in the future (clocks of two machines).
pub fn seconds_since(time: chrono::DateTime<chrono::Utc>) -> f64 {
    let age = chrono::Utc::now() - time;
    age.to_std().map_or(0.0, |age| age.as_secs_f64())
}

/// Builds one attribute.
pub fn attribute(key: &'static str, value: impl Into<opentelemetry::Value>) -> KeyValue {
    KeyValue::new(key, value)
}
