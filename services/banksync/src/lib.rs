//! Banksync: bank accounts of each organisation and the import of their statement files.
//!
//! An import parses an MT940, CAMT, CSV or TAB file with `dk-statement`, checks that every
//! statement is for a registered IBAN, and stores the file, its statements and its new mutations together
//! with one `bank.mutation.imported.v1` outbox event per new mutation, in one transaction. The
//! outbox relay then publishes the events.
//!
//! Accounts at ING, ABN AMRO and Rabobank can also be linked automatically (`bank_link`): the
//! customer consents at the bank, and a scheduler syncs the account's booked transactions
//! through the same import path.

pub mod bank_link;
mod entity;
mod grpc;
mod import;
mod links;
pub mod migration;
pub mod settings;
mod vault;

use std::sync::Arc;

use dk_messaging::Bus;
use dk_messaging::outbox::Relay;
use dk_messaging::topology;
use dk_proto::banksync::v1::bank_sync_service_server::BankSyncServiceServer;
use dk_runtime::auth::{Authenticate, TokenKeys};
use dk_runtime::server;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use settings::Settings;

/// gRPC service name, as health checks and probes name it.
pub const SERVICE_NAME: &str = "dk.banksync.v1.BankSyncService";

/// Connects the database, migrates it, starts the outbox relay, the consumer of licence
/// entitlements and the bank link scheduler, and serves gRPC until `shutdown` is cancelled.
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
        "banksync",
    )
    .await?;

    let relay = Relay::new(db.clone(), bus.clone(), "banksync");
    let relay_task = tokio::spawn(relay.clone().run(shutdown.clone()));
    let licences = bus
        .subscribe(
            &topology::BANKSYNC_LICENCES,
            Arc::new(links::LicenceHandler { db: db.clone() }),
            shutdown.clone(),
        )
        .await?;
    let licences_task = tokio::spawn(licences.join());

    let bank_links = Arc::new(bank_link::BankLinks::new(
        db.clone(),
        settings.bank_link.clone(),
        relay.clone(),
    )?);
    let scheduler_task = tokio::spawn(bank_links.clone().run(shutdown.clone()));

    let keys = Arc::new(TokenKeys::new(settings.auth.token_secret.expose()));
    let state = grpc::BankSync {
        db: db.clone(),
        relay,
        max_file_bytes: settings.import.max_file_bytes,
        bank_links,
    };
    // The transport limit is twice the file limit, so that a file up to twice too large gets
    // the service's own error naming both sizes. A larger request gets tonic's OUT_OF_RANGE,
    // which names the sizes too.
    let service = BankSyncServiceServer::new(state).max_decoding_message_size(
        settings
            .import
            .max_file_bytes
            .saturating_mul(2)
            .saturating_add(1024 * 1024),
    );
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
        tasks: vec![serving.task, relay_task, licences_task, scheduler_task],
    })
}
