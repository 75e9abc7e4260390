//! Events between services, with the same delivery contract on RabbitMQ and in process.
//!
//! - [`topology`] declares every exchange, queue, binding and dead-letter queue in one place.
//! - [`outbox`] stores events in the producing service's database, in the same transaction as
//!   the business change, and relays them to the bus with publisher confirms.
//! - [`processed`] records handled event ids on the consuming side, in the consumer's own
//!   transaction, so that a redelivered event changes nothing.
//! - [`Bus`] is either RabbitMQ ([`amqp`]) or the embedded in-process bus ([`memory`]). Both
//!   deliver at least once, acknowledge only after the handler returned `Ok` (which it does
//!   after its transaction committed), retry failed deliveries a few times with backoff and then
//!   move them to the consumer's dead-letter queue.

pub mod amqp;
mod bus;
pub mod memory;
pub mod migration;
pub mod outbox;
pub mod processed;
pub mod topology;

pub use bus::{Bus, BusError, Handler, HandlerError, Subscriber};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One event with its CloudEvents attributes and a protobuf payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// CloudEvents `id`, the AMQP message id; consumers deduplicate by it.
    pub id: Uuid,
    /// CloudEvents `type`, also the routing key, for example `bank.mutation.imported.v1`.
    pub event_type: String,
    /// CloudEvents `source`, for example `/dk/banksync`.
    pub source: String,
    /// CloudEvents `time`: when the business change happened.
    pub time: DateTime<Utc>,
    /// The organisation the event belongs to.
    pub organisation_id: Uuid,
    /// Protobuf-encoded message of the type named by `event_type`.
    pub payload: Vec<u8>,
    /// W3C trace context of the change that produced the event, when tracing is on.
    pub traceparent: Option<String>,
}

impl Event {
    /// Creates an event with a new time-ordered id, stamped now, in the trace of the current
    /// span.
    pub fn new(event_type: &str, source: &str, organisation_id: Uuid, payload: Vec<u8>) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            source: source.to_owned(),
            time: Utc::now(),
            organisation_id,
            payload,
            traceparent: dk_telemetry::propagation::current_traceparent(),
        }
    }

    /// Returns a span for handling this event, a child of the span that published it.
    pub fn process_span(&self) -> tracing::Span {
        let span = tracing::info_span!(
            "event.process",
            otel.name = format!("{} process", self.event_type),
            otel.kind = "consumer",
            messaging.operation.type = "process",
            messaging.message.id = %self.id,
            dk.organisation_id = %self.organisation_id,
        );
        dk_telemetry::propagation::set_remote_parent(&span, self.traceparent.as_deref(), None);
        span
    }
}
