//! The W3C trace context (`traceparent`, `tracestate`) of a span, as text that crosses process
//! boundaries: gRPC metadata, the outbox table and AMQP headers.
//!
//! The functions use the W3C propagator directly rather than the global one, so that the trace
//! context flows the same way whether or not an exporter is configured. Without an OpenTelemetry
//! layer in the subscriber, spans carry no trace context and [`traceparent`] returns `None`.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Header that carries the trace id, parent span id and sampling flag.
pub const TRACEPARENT: &str = "traceparent";
/// Header that carries vendor-specific trace state.
pub const TRACESTATE: &str = "tracestate";

/// Returns the `traceparent` of `span`, or `None` when the span has no valid trace context.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Returns the `traceparent` of the current span.
pub fn current_traceparent() -> Option<String> {
    traceparent(&tracing::Span::current())
}

/// Makes the remote span named by `traceparent` (and `tracestate`) the parent of `span`.
///
/// A missing or malformed `traceparent` leaves `span` where it is: a trace context from outside
/// is a hint, never a reason to fail a call or drop a message.
pub fn set_remote_parent(
    span: &tracing::Span,
    traceparent: Option<&str>,
    tracestate: Option<&str>,
) {
    if let Some(context) = remote_context(traceparent, tracestate) {
        // An error means that `span` is disabled or already started, so it has no parent to set.
        let _ = span.set_parent(context);
    }
}

/// Links `span` to the remote span named by `traceparent`, for work that serves several traces
/// at once, such as a batch of messages.
pub fn add_remote_link(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(context) = remote_context(traceparent, None) {
        span.add_link(context.span().span_context().clone());
    }
}

fn remote_context(
    traceparent: Option<&str>,
    tracestate: Option<&str>,
) -> Option<opentelemetry::Context> {
    let mut carrier = HashMap::with_capacity(2);
    carrier.insert(TRACEPARENT.to_owned(), traceparent?.to_owned());
    if let Some(tracestate) = tracestate {
        carrier.insert(TRACESTATE.to_owned(), tracestate.to_owned());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    context.span().span_context().is_valid().then_some(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_traceparent_is_ignored() {
        assert!(remote_context(Some("00-not-a-trace"), None).is_none());
        assert!(remote_context(None, None).is_none());
    }

    #[test]
    fn valid_traceparent_is_read() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = remote_context(Some(traceparent), None).unwrap();
        let span = context.span();
        let span_context = span.span_context();
        assert_eq!(
            span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span_context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(span_context.is_remote());
    }

    #[test]
    fn span_without_layer_has_no_traceparent() {
        let span = tracing::info_span!("untraced");
        assert_eq!(traceparent(&span), None);
    }
}
