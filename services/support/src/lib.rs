//! Support: tickets on three support lines with the time logged on them, and the
//! business-hours calendar over gRPC.
//!
//! Tickets open on the free first line and move to the billed second or third line only with
//! the customer's recorded agreement; billed time per ticket and month is rounded up to the
//! billing unit (see `tickets`).
//!
//! `GetBusinessHoursStatus` returns whether support is open at an instant and when it opens
//! next. `ComputeDeadline` returns the instant a number of business hours after a start has
//! passed, with the opening-hour windows it counted and the closed days it skipped. Both come
//! from `dk-calendar`, configured by the `[calendar]` settings.
//!
//! Prepaid credit (see `credits`) is drawn oldest lot first when billed time is logged, and
//! bought credit is published as `support.credit.purchased.v1` for billing.
//!
//! NOTE: the monthly post-calculation run (`support.usage.billable.v1`) and the knowledge base
//! are not built yet.

mod credit_calls;
pub mod credits;
mod entity;
mod grpc;
pub mod migration;
pub mod settings;
pub mod tickets;

use std::sync::Arc;

use anyhow::Context;
use dk_calendar::Calendar;
use dk_messaging::Bus;
use dk_messaging::outbox::Relay;
use dk_proto::support::v1::support_service_server::SupportServiceServer;
use dk_runtime::auth::{Authenticate, TokenKeys};
use dk_runtime::server;
use sea_orm_migration::MigratorTrait;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

pub use settings::Settings;

/// gRPC service name, as health checks and probes name it.
pub const SERVICE_NAME: &str = "dk.support.v1.SupportService";

/// Checks the calendar settings, connects and migrates the database and serves gRPC until
/// `shutdown` is cancelled.
///
/// Support publishes `support.credit.purchased.v1` through its outbox and consumes no events.
pub async fn start(
    settings: &Settings,
    bus: Bus,
    shutdown: CancellationToken,
) -> anyhow::Result<server::Running> {
    let calendar =
        Calendar::new(settings.calendar.clone()).context("invalid [calendar] settings")?;
    let db = dk_runtime::database::connect(&settings.database).await?;
    migration::Migrator::up(&db, None).await?;
    tracing::info!("support database migrated");

    let keys = Arc::new(TokenKeys::new(settings.auth.token_secret.expose()));
    let relay = Relay::new(db.clone(), bus, credits::PRODUCER);
    let relay_task = tokio::spawn(relay.clone().run(shutdown.clone()));
    let tickets = tickets::Tickets {
        db: db.clone(),
        calendar: calendar.clone(),
        settings: settings.tickets.clone(),
        credit: settings.credit.clone(),
        relay,
    };
    let service = SupportServiceServer::new(grpc::Support { calendar, tickets });
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
        tasks: vec![serving.task, relay_task],
    })
}
