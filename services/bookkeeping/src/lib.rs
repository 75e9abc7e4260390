//! Bookkeeping: the double-entry ledger, sales and purchase invoices with VAT, reports, and
//! the matching of bank mutations to invoices.
//!
//! The service consumes `bank.mutation.imported.v1`, decides for each mutation which invoices
//! it pays (see `dk-matching` for the rules), books the payments on the invoices' open amounts,
//! stores every decision with its reasons and publishes `invoice.paid.v1`. It also books the
//! invoices billing issues (`invoice.issued.v1`) as sales invoices of the issuing organisation.

mod batch;
mod entity;
mod grpc;
mod invoice_index;
mod invoices;
mod issued;
pub mod ledger;
mod ledger_calls;
mod match_calls;
mod matching;
pub mod migration;
pub mod settings;

use std::sync::Arc;

use dk_messaging::outbox::Relay;
use dk_messaging::{Bus, topology};
use dk_proto::bookkeeping::v1::bookkeeping_service_server::BookkeepingServiceServer;
use dk_runtime::auth::{Authenticate, TokenKeys};
use dk_runtime::server;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use settings::Settings;

/// gRPC service name, as health checks and probes name it.
pub const SERVICE_NAME: &str = "dk.bookkeeping.v1.BookkeepingService";

/// Connects the database, migrates it, starts the outbox relay and the bank-mutation consumer,
/// and serves gRPC until `shutdown` is cancelled.
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
    dk_runtime::database::prepare_schema::<migration::Migrator>(
        &db,
        &settings.database,
        "bookkeeping",
    )
    .await?;

    let relay = Relay::new(db.clone(), bus.clone(), "bookkeeping");
    let relay_task = tokio::spawn(relay.clone().run(shutdown.clone()));
    let charts = ledger::chart::Charts::new(db.clone());
    let handler = Arc::new(matching::BankMutationHandler {
        db: db.clone(),
        relay: relay.clone(),
        charts: charts.clone(),
        index: invoice_index::IndexCache::default(),
    });
    let consumer = bus
        .subscribe(
            &topology::BOOKKEEPING_BANK_MUTATIONS,
            handler,
            shutdown.clone(),
        )
        .await?;
    let consumer_task = tokio::spawn(consumer.join());
    let accounts = bus
        .subscribe(
            &topology::BOOKKEEPING_BANK_ACCOUNTS,
            Arc::new(matching::BankAccountHandler {
                charts: charts.clone(),
            }),
            shutdown.clone(),
        )
        .await?;
    let accounts_task = tokio::spawn(accounts.join());
    let issued = bus
        .subscribe(
            &topology::BOOKKEEPING_ISSUED_INVOICES,
            Arc::new(issued::IssuedInvoiceHandler {
                db: db.clone(),
                charts: charts.clone(),
            }),
            shutdown.clone(),
        )
        .await?;
    let issued_task = tokio::spawn(issued.join());

    let keys = Arc::new(TokenKeys::new(settings.auth.token_secret.expose()));
    let service = BookkeepingServiceServer::new(grpc::Bookkeeping {
        db: db.clone(),
        charts,
        relay,
    });
    let serving = server::spawn(
        SERVICE_NAME,
        &settings.grpc,
        dk_proto::FILE_DESCRIPTOR_SET,
        shutdown,
        |router| router.add_service(InterceptedService::new(service, Authenticate::new(keys))),
    )
    .await?;

    Ok(server::Running {
        address: serving.address,
        db,
        tasks: vec![
            serving.task,
            relay_task,
            consumer_task,
            accounts_task,
            issued_task,
        ],
    })
}
