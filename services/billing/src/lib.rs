//! Billing: licence quotes priced from the catalogue in the database.
//!
//! `CreateQuote` prices a basket with `dk-pricing` against the catalogue versions in force on
//! the quote date (Europe/Amsterdam) and stores the quote for 30 days; `GetQuote` reads it back.
//! The catalogue lives in the `catalogue_items` table, seeded from
//! `dk_pricing::Catalogue::default_nl()` when the database is created.
//!
//! NOTE: licences, subscriptions and invoices are not built yet, so a quote cannot be accepted
//! and billing publishes no events.

mod catalogue;
mod entity;
mod grpc;
pub mod migration;
pub mod settings;

use std::sync::Arc;

use dk_messaging::Bus;
use dk_proto::billing::v1::billing_service_server::BillingServiceServer;
use dk_runtime::auth::{Authenticate, TokenKeys};
use dk_runtime::server;
use sea_orm_migration::MigratorTrait;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use settings::Settings;

/// gRPC service name, as health checks and probes name it.
pub const SERVICE_NAME: &str = "dk.billing.v1.BillingService";

/// Connects the database, migrates it and serves gRPC until `shutdown` is cancelled.
///
/// The bus is taken for the shared `main_loop` signature and unused, because billing publishes
/// and consumes no events yet.
pub async fn start(
    settings: &Settings,
    _bus: Bus,
    shutdown: CancellationToken,
) -> anyhow::Result<server::Running> {
    let db = dk_runtime::database::connect(&settings.database).await?;
    migration::Migrator::up(&db, None).await?;
    tracing::info!("billing database migrated");

    let keys = Arc::new(TokenKeys::new(settings.auth.token_secret.expose()));
    let service = BillingServiceServer::new(grpc::Billing { db: db.clone() });
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
        tasks: vec![serving.task],
    })
}
