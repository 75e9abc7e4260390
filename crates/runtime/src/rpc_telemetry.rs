//! A span and a duration metric for every gRPC call the server handles.
//!
//! The span `grpc.request` continues the caller's trace when the request carries a W3C
//! `traceparent`, and everything the handler does (queries, outbox events) runs inside it, so
//! that an event written by the call carries the call's trace context. Health checks and
//! reflection pass through untraced: probes call them every few seconds.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use dk_telemetry::metrics::{attribute, instruments};
use dk_telemetry::propagation::{TRACEPARENT, TRACESTATE, set_remote_parent};
use tonic::codegen::http::{Request, Response};
use tracing::Instrument;

/// Wraps every service of a server in [`RpcTelemetry`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcTelemetryLayer;

impl<S> tower_layer::Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTelemetry { inner }
    }
}

/// The service that [`RpcTelemetryLayer`] builds.
#[derive(Debug, Clone)]
pub struct RpcTelemetry<S> {
    inner: S,
}

/// Status code recorded when the service fails without a gRPC status (`UNKNOWN`).
const UNKNOWN: i64 = 2;

fn is_untraced(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

impl<S, RequestBody, ResponseBody> tower_service::Service<Request<RequestBody>> for RpcTelemetry<S>
where
    S: tower_service::Service<Request<RequestBody>, Response = Response<ResponseBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResponseBody: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        let path = request.uri().path();
        if is_untraced(path) {
            return Box::pin(self.inner.call(request));
        }
        // The path is `/package.Service/Method`; the semantic conventions name `rpc.method`
        // the method and `rpc.service` the full service name.
        let full_name = path.trim_start_matches('/').to_owned();
        let (service, method) = full_name
            .split_once('/')
            .map_or((full_name.clone(), String::new()), |(service, method)| {
                (service.to_owned(), method.to_owned())
            });
        let span = tracing::info_span!(
            "grpc.request",
            otel.name = %full_name,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        set_remote_parent(&span, header(TRACEPARENT), header(TRACESTATE));

        let started = Instant::now();
        let response = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = response.await;
                // A handler's error comes back as a trailers-only response whose headers hold
                // `grpc-status`; a success carries its status in the trailers, and is OK.
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|value| value.to_str().ok()?.parse::<i64>().ok())
                        .unwrap_or(0),
                    Err(_) => UNKNOWN,
                };
                tracing::Span::current().record("rpc.grpc.status_code", code);
                instruments().rpc_duration.record(
                    started.elapsed().as_secs_f64(),
                    &[
                        attribute("rpc.service", service),
                        attribute("rpc.method", method),
                        attribute("rpc.grpc.status_code", code),
                    ],
                );
                result
            }
            .instrument(span),
        )
    }
}
