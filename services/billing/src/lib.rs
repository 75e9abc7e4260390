//! Billing: quotes, licences and the vendor's monthly subscription invoices.
//!
//! - `CreateQuote` prices a basket with `dk-pricing` against the catalogue versions in force on
//!   the quote date (Europe/Amsterdam). The catalogue lives in `catalogue_items`, seeded from
//!   `dk_pricing::Catalogue::default_nl()`.
//! - Accepting a quote creates the licence or converts the trial; changes are prorated by
//!   calendar day (see [`licensing`]).
//! - The monthly run issues each active licence's invoice once per month, numbered in the
//!   issuer's one gapless series. Credit notes correct issued invoices (see [`invoicing`]).
//! - Billing publishes `licence.activated.v1`, `licence.changed.v1` and `invoice.issued.v1`
//!   through its outbox, and consumes `invoice.paid.v1` and `invoice.payment.undone.v1` to keep
//!   its invoices' paid state.

pub mod catalogue;
mod entity;
mod grpc;
mod invoice_calls;
pub mod invoicing;
mod licence_calls;
pub mod licensing;
pub mod migration;
mod payments;
mod quote_writer;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use dk_messaging::outbox::Relay;
use dk_messaging::{Bus, topology};
use dk_proto::billing::v1::billing_service_server::BillingServiceServer;
use dk_runtime::auth::{Authenticate, TokenKeys};
use dk_runtime::server;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use settings::Settings;

/// gRPC service name, as health checks and probes name it.
pub const SERVICE_NAME: &str = "dk.billing.v1.BillingService";

/// Connects the database, migrates it, starts the outbox relay, the payment consumer and the
/// scheduled monthly run, and serves gRPC until `shutdown` is cancelled.
pub async fn start(
    settings: &Settings,
    bus: Bus,
    shutdown: CancellationToken,
) -> anyhow::Result<server::Running> {
    server::start_with_database(&settings.database, &shutdown, |db| {
        serve(settings, bus, shutdown.clone(), db)
    })
    .await
}

/// Migrates the connected database and starts the relay, the consumers and the gRPC server.
async fn serve(
    settings: &Settings,
    bus: Bus,
    shutdown: CancellationToken,
    db: sea_orm::DatabaseConnection,
) -> anyhow::Result<server::Running> {
    dk_runtime::database::prepare_schema::<migration::Migrator>(&db, &settings.database, "billing")
        .await?;

    let issuer = invoicing::Issuer {
        settings: settings.issuer.clone(),
        payment_term_days: settings.invoicing.payment_term_days,
    };
    let catalogues = catalogue::Reader::default();
    let relay = Relay::new(db.clone(), bus.clone(), invoicing::PRODUCER);
    let mut tasks = vec![tokio::spawn(relay.clone().run(shutdown.clone()))];

    let handler = Arc::new(payments::InvoicePaidHandler {
        db: db.clone(),
        issuer: issuer.organisation_id(),
    });
    let consumer = bus
        .subscribe_for(
            &topology::BILLING_INVOICE_PAYMENTS,
            issuer.organisation_id(),
            handler,
            shutdown.clone(),
        )
        .await?;
    tasks.push(tokio::spawn(consumer.join()));

    if settings.invoicing.run_interval_seconds > 0 {
        tasks.push(tokio::spawn(scheduled_runs(
            db.clone(),
            issuer.clone(),
            catalogues.clone(),
            relay.clone(),
            Duration::from_secs(settings.invoicing.run_interval_seconds),
            shutdown.clone(),
        )));
    }

    let (quotes, quote_tasks) = quote_writer::QuoteWriter::start(db.clone());
    tasks.extend(quote_tasks);
    let keys = Arc::new(TokenKeys::new(settings.auth.token_secret.expose()));
    let service = BillingServiceServer::new(grpc::Billing {
        db: db.clone(),
        catalogues,
        issuer,
        relay,
        quotes,
    });
    let serving = server::spawn(
        SERVICE_NAME,
        &settings.grpc,
        dk_proto::FILE_DESCRIPTOR_SET,
        shutdown,
        |router| router.add_service(InterceptedService::new(service, Authenticate::new(keys))),
    )
    .await?;
    tasks.insert(0, serving.task);

    Ok(server::Running {
        address: serving.address,
        db,
        tasks,
    })
}

/// Runs the current month's invoices at start-up and then every `interval`. Each run issues
/// only what is missing, so replicas may run it side by side.
async fn scheduled_runs(
    db: DatabaseConnection,
    issuer: invoicing::Issuer,
    catalogues: catalogue::Reader,
    relay: Relay,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let today = licensing::local_date(chrono::Utc::now());
        let period = dk_pricing::BillingMonth::of(today);
        match invoicing::run_month(&db, &issuer, &catalogues, period, today).await {
            Ok(report) => {
                if !report.issued.is_empty() {
                    relay.notify();
                    tracing::info!(
                        period = %report.period,
                        issued = report.issued.len(),
                        failures = report.failures.len(),
                        "scheduled monthly invoice run"
                    );
                }
            }
            Err(error) => tracing::error!(%error, "scheduled monthly invoice run failed"),
        }
    }
}
