//! One trace from an import's gRPC call through the outbox and RabbitMQ to the matching and
//! booking in bookkeeping, and the metrics recorded on the way.
//!
//! This is a test binary of its own because it installs the process-wide tracing subscriber
//! and meter provider, with in-memory exporters, before any service starts.

use std::sync::OnceLock;

use dk_proto::banksync::v1 as banksync;
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_proto::common::v1 as common;
use dk_testkit::{BusKind, DatabaseKind, Stack};
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A statement with one credit of 1,210.00 that pays invoice 2026-0012.
const STATEMENT: &str = "{1:F01INGBNL2ABXXX0000000000}
{2:I940INGBNL2AXXXN}
{4:
:20:P260331000000001
:25:NL30INGB0008453127EUR
:28C:00031
:60F:C260322EUR10000,00
:61:2603230323C1210,00NTRFEREF//00000000000001
/TRCD/00100/
:86:/EREF/BDV-2026-0412//CNTP/NL43ABNA0472615893/ABNANL2A/Bakkeri
j de Vries BV///REMI/USTD//Factuur 2026-0012/
:62F:C260323EUR11210,00
-}";

struct Telemetry {
    spans: InMemorySpanExporter,
    tracer_provider: SdkTracerProvider,
    metrics: InMemoryMetricExporter,
    meter_provider: SdkMeterProvider,
}

/// Installs the global subscriber and meter provider once per test binary.
fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let spans = InMemorySpanExporter::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let metrics = InMemoryMetricExporter::default();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics.clone()).build())
            .build();
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info"))
            .with(tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("test")))
            .init();
        Telemetry {
            spans,
            tracer_provider,
            metrics,
            meter_provider,
        }
    })
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn span_named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, found {}; spans: {:?}",
        found.len(),
        spans.iter().map(|span| &span.name).collect::<Vec<_>>()
    );
    found[0]
}

fn assert_child(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{:?} is not in the trace of {:?}",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{:?} is not a child of {:?}",
        child.name,
        parent.name
    );
}

/// Returns the data of the metric `name`, from the last export.
fn metric<'a>(exported: &'a [ResourceMetrics], name: &str) -> &'a AggregatedMetrics {
    exported
        .iter()
        .rev()
        .flat_map(|resource| resource.scope_metrics())
        .flat_map(|scope| scope.metrics())
        .find(|metric| metric.name() == name)
        .unwrap_or_else(|| panic!("metric {name} was not recorded"))
        .data()
}

fn counter_total(exported: &[ResourceMetrics], name: &str) -> u64 {
    match metric(exported, name) {
        AggregatedMetrics::U64(MetricData::Sum(sum)) => {
            sum.data_points().map(|point| point.value()).sum()
        }
        _ => panic!("metric {name} is not a u64 counter"),
    }
}

fn histogram_count(exported: &[ResourceMetrics], name: &str) -> u64 {
    match metric(exported, name) {
        AggregatedMetrics::F64(MetricData::Histogram(histogram)) => {
            histogram.data_points().map(|point| point.count()).sum()
        }
        _ => panic!("metric {name} is not an f64 histogram"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_is_one_trace_to_booking() {
    let telemetry = telemetry();
    let stack = Stack::start_with(BusKind::RabbitMq, DatabaseKind::Postgres)
        .await
        .expect("stack");
    let organisation = stack.organisation;
    let mut banksync_client = stack.banksync_client(organisation).await.expect("banksync");
    let mut bookkeeping_client = stack
        .bookkeeping_client(organisation)
        .await
        .expect("bookkeeping");
    banksync_client
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: key(),
            iban: "NL30INGB0008453127".into(),
            name: "Zakelijke rekening".into(),
        })
        .await
        .expect("register bank account");
    bookkeeping_client
        .create_invoice(bookkeeping::CreateInvoiceRequest {
            idempotency_key: key(),
            kind: bookkeeping::InvoiceKind::Sales as i32,
            number: "2026-0012".into(),
            counterparty_name: "Bakkerij de Vries BV".into(),
            counterparty_iban: "NL43ABNA0472615893".into(),
            amount: Some(common::Money {
                amount: "1210.00".into(),
                currency_code: "EUR".into(),
            }),
            ..Default::default()
        })
        .await
        .expect("create invoice");

    // The caller's span is the root: the import call carries its traceparent.
    let root = tracing::info_span!("test.import");
    let traceparent =
        dk_telemetry::propagation::traceparent(&root).expect("the root span has a trace context");
    let mut request = tonic::Request::new(banksync::ImportStatementRequest {
        idempotency_key: key(),
        content: STATEMENT.as_bytes().to_vec(),
        file_name: "statement.940".into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ASCII header"));
    let imported = banksync_client
        .import_statement(request)
        .await
        .expect("import")
        .into_inner();
    assert_eq!(imported.imported_count, 1);
    drop(root);

    let booked = dk_testkit::eventually(std::time::Duration::from_secs(20), || {
        let mut client = bookkeeping_client.clone();
        async move {
            let matches = client
                .list_matches(bookkeeping::ListMatchesRequest {
                    page_size: 10,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner()
                .matches;
            matches.into_iter().find(|decision| decision.booked)
        }
    })
    .await
    .expect("the mutation is matched and booked");
    assert_eq!(
        booked.outcome,
        bookkeeping::MatchOutcome::Exact as i32,
        "{booked:?}"
    );
    stack.stop().await.expect("stop");

    telemetry
        .tracer_provider
        .force_flush()
        .expect("flush spans");
    let spans = telemetry.spans.get_finished_spans().expect("spans");
    let root = span_named(&spans, "test.import");
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_ne!(root.span_context.trace_id(), TraceId::INVALID);

    // gRPC call → outbox publication → RabbitMQ → processing → booking → matching.
    let call = span_named(&spans, "dk.banksync.v1.BankSyncService/ImportStatement");
    assert_child(call, root);
    let publish = span_named(&spans, "bank.mutation.imported.v1 publish");
    assert_child(publish, call);
    let process = span_named(&spans, "bank.mutation.imported.v1 process");
    assert_child(process, publish);
    assert!(
        process.parent_span_is_remote,
        "the processing continues a trace that arrived in the AMQP headers"
    );
    let book = span_named(&spans, "bookkeeping.book");
    assert_child(book, process);
    let matching = span_named(&spans, "bookkeeping.match");
    assert_child(matching, book);
    // The payment's own event, invoice.paid.v1, is published in the same trace.
    let paid = span_named(&spans, "invoice.paid.v1 publish");
    assert_eq!(paid.span_context.trace_id(), root.span_context.trace_id());

    telemetry
        .meter_provider
        .force_flush()
        .expect("flush metrics");
    let exported = telemetry.metrics.get_finished_metrics().expect("metrics");
    assert_eq!(counter_total(&exported, "dk.statement.imports"), 1);
    assert_eq!(counter_total(&exported, "dk.bank.mutations.imported"), 1);
    assert_eq!(counter_total(&exported, "dk.matching.decisions"), 1);
    assert!(histogram_count(&exported, "rpc.server.call.duration") >= 3);
    assert!(histogram_count(&exported, "dk.messaging.outbox.lag") >= 2);
    assert!(histogram_count(&exported, "dk.messaging.consumer.lag") >= 1);
}
