//! Support: tickets on three support lines with the time logged on them, and the
//! business-hours calendar over gRPC.
//!
//! Tickets open on the free first line and move to the billed second or third line only with
//! the customer's recorded agreement. Billed time per ticket and month is rounded up to the
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
//! Once a month ends, the post-calculation run (see `post_calculation`) sends each
//! organisation's statement of billed time not covered by credit as `support.usage.billable.v1`.
//!
//! The knowledge base (see `knowledge`) answers frequently asked questions with Dutch full-text
//! search on both databases.

mod credit_calls;
pub mod credits;
mod entity;
mod grpc;
pub mod knowledge;
pub mod migration;
pub mod post_calculation;
pub mod settings;
pub mod tickets;

use std::sync::Arc;

use anyhow::Context;
use chrono::Datelike;
use dk_calendar::Calendar;
use dk_messaging::Bus;
use dk_messaging::outbox::Relay;
use dk_proto::support::v1::support_service_server::SupportServiceServer;
use dk_runtime::auth::{Authenticate, TokenKeys};
use dk_runtime::server;
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
    server::start_with_database(&settings.database, &shutdown, |db| {
        serve(settings, bus, shutdown.clone(), db, calendar)
    })
    .await
}

/// Migrates the connected database and starts the relay and the gRPC server.
async fn serve(
    settings: &Settings,
    bus: Bus,
    shutdown: CancellationToken,
    db: sea_orm::DatabaseConnection,
    calendar: Calendar,
) -> anyhow::Result<server::Running> {
    dk_runtime::database::prepare_schema::<migration::Migrator>(&db, &settings.database, "support")
        .await?;

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
    let mut tasks = vec![relay_task];
    if settings.tickets.post_calculation_interval_seconds > 0 {
        tasks.push(tokio::spawn(scheduled_post_calculation(
            db.clone(),
            settings.clone(),
            tickets.relay.clone(),
            std::time::Duration::from_secs(settings.tickets.post_calculation_interval_seconds),
            shutdown.clone(),
        )));
    }
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
        tasks: std::iter::once(serving.task).chain(tasks).collect(),
    })
}

/// Adds the current period's package lots and post-calculates the previous month, at start-up
/// and then every `interval`. Both only add what is missing, so replicas may run them side by
/// side.
async fn scheduled_post_calculation(
    db: sea_orm::DatabaseConnection,
    settings: Settings,
    relay: Relay,
    interval: std::time::Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        match credits::renew_all(&db, &settings.credit, today).await {
            Ok((added, _)) if !added.is_empty() => {
                relay.notify();
                tracing::info!(lots = added.len(), "scheduled package renewal");
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "scheduled package renewal failed"),
        }
        let Some(last) = today.with_day(1).and_then(|first| first.pred_opt()) else {
            continue;
        };
        let Some(first) = last.with_day(1) else {
            continue;
        };
        match post_calculation::run(
            &db,
            first,
            last,
            settings.tickets.billing_unit_minutes,
            settings.credit.hourly_rate,
        )
        .await
        {
            Ok(report) if !report.statements.is_empty() => {
                relay.notify();
                tracing::info!(
                    statements = report.statements.len(),
                    month = %first.format("%Y-%m"),
                    "scheduled post-calculation"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "scheduled post-calculation failed"),
        }
    }
}
