//! The whole stack in one process: banksync, bookkeeping, billing and support with their own
//! databases, joined by the in-process bus (embedded mode) or by RabbitMQ.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use dk_banklink::Bank;
use dk_banklink::fake::{FakeBank, FakeTransaction};
use dk_config::{
    AuthSettings, DatabaseSettings, GrpcSettings, LogFormat, MessagingSettings, Secret,
    TelemetrySettings,
};
use dk_messaging::Bus;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use tokio_util::sync::CancellationToken;

/// Options of a stack: data folder, servers, addresses and names.
pub struct StackOptions {
    /// Folder of the SQLite files in embedded mode.
    pub data_dir: PathBuf,
    /// PostgreSQL server URL; each service gets its own database on it.
    pub postgres_url: Option<String>,
    pub amqp_url: Option<String>,
    pub banksync_listen: SocketAddr,
    pub bookkeeping_listen: SocketAddr,
    pub billing_listen: SocketAddr,
    pub support_listen: SocketAddr,
    pub token_secret: String,
    /// Prefix of the RabbitMQ exchange and queue names; empty for the production names.
    pub name_prefix: String,
    /// Delete the RabbitMQ exchanges and queues when the stack stops (for one-off runs).
    pub temporary_topology: bool,
    /// Start fake ING, ABN AMRO and Rabobank servers on 127.0.0.1 for the automatic bank link.
    pub fake_banks: bool,
}

/// A running stack.
pub struct Stack {
    pub banksync: SocketAddr,
    pub bookkeeping: SocketAddr,
    pub billing: SocketAddr,
    pub support: SocketAddr,
    /// The fake banks, with the IBAN of the account each holds.
    pub fake_banks: Vec<(FakeBank, &'static str)>,
    bus: Bus,
    temporary_topology: bool,
    shutdown: CancellationToken,
    running: Vec<dk_runtime::server::Running>,
}

impl Stack {
    /// Stops the services and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for running in self.running {
            running.wait().await;
        }
        if let (true, Bus::Amqp(bus)) = (self.temporary_topology, &self.bus)
            && let Err(error) = bus.delete_topology().await
        {
            tracing::warn!(%error, "failed to delete the run's RabbitMQ exchanges and queues");
        }
    }
}

/// Stops the services that started before one failed, so that each closes its database, and
/// returns the failure.
async fn abandon(
    error: anyhow::Error,
    shutdown: &CancellationToken,
    started: Vec<dk_runtime::server::Running>,
) -> anyhow::Error {
    shutdown.cancel();
    for service in started {
        service.wait().await;
    }
    error
}

/// Starts banksync, bookkeeping, billing and support.
pub async fn start(options: &StackOptions) -> anyhow::Result<Stack> {
    let messaging = MessagingSettings {
        amqp_url: options.amqp_url.clone().map(Secret::new),
        name_prefix: options.name_prefix.clone(),
    };
    let bus = dk_runtime::bus::connect(&messaging)
        .await
        .context("failed to connect to RabbitMQ")?;
    let banksync_db = database_url(options, "banksync").await?;
    let bookkeeping_db = database_url(options, "bookkeeping").await?;
    let billing_db = database_url(options, "billing").await?;
    let support_db = database_url(options, "support").await?;
    let auth = AuthSettings {
        token_secret: Secret::new(options.token_secret.clone()),
    };
    let telemetry = TelemetrySettings {
        filter: String::new(),
        format: LogFormat::Text,
        otlp_endpoint: None,
    };
    let grpc = |listen| GrpcSettings {
        listen,
        shutdown_grace_seconds: 10,
    };
    let database = |url: String| DatabaseSettings {
        url: Secret::new(url),
        max_connections: 8,
        migrate_on_start: true,
    };

    let fake_banks = if options.fake_banks {
        start_fake_banks().await?
    } else {
        Vec::new()
    };

    let shutdown = CancellationToken::new();
    let bookkeeping_settings = dk_bookkeeping::Settings {
        grpc: grpc(options.bookkeeping_listen),
        database: database(bookkeeping_db),
        messaging: messaging.clone(),
        auth: auth.clone(),
        telemetry: telemetry.clone(),
    };
    let bookkeeping = dk_bookkeeping::start(&bookkeeping_settings, bus.clone(), shutdown.clone())
        .await
        .context("failed to start bookkeeping")?;
    let banksync_settings = dk_banksync::Settings {
        grpc: grpc(options.banksync_listen),
        database: database(banksync_db),
        messaging: messaging.clone(),
        auth: auth.clone(),
        telemetry: telemetry.clone(),
        import: dk_banksync::settings::ImportSettings {
            max_file_bytes: 32 * 1024 * 1024,
        },
        bank_link: bank_link_settings(&fake_banks),
    };
    let banksync = match dk_banksync::start(&banksync_settings, bus.clone(), shutdown.clone())
        .await
        .context("failed to start banksync")
    {
        Ok(running) => running,
        Err(error) => return Err(abandon(error, &shutdown, vec![bookkeeping]).await),
    };
    let billing_settings = dk_billing::Settings {
        grpc: grpc(options.billing_listen),
        database: database(billing_db),
        messaging: messaging.clone(),
        auth: auth.clone(),
        telemetry: telemetry.clone(),
        issuer: dk_billing::settings::IssuerSettings::demo(crate::DEV_VENDOR.as_uuid()),
        invoicing: dk_billing::settings::InvoicingSettings {
            payment_term_days: 14,
            run_interval_seconds: 3600,
        },
    };
    let billing = match dk_billing::start(&billing_settings, bus.clone(), shutdown.clone())
        .await
        .context("failed to start billing")
    {
        Ok(running) => running,
        Err(error) => return Err(abandon(error, &shutdown, vec![bookkeeping, banksync]).await),
    };
    let support_settings = dk_support::Settings {
        grpc: grpc(options.support_listen),
        database: database(support_db),
        messaging,
        auth,
        telemetry,
        calendar: dk_calendar::CalendarSettings::default(),
        tickets: dk_support::settings::TicketSettings {
            staff_organisation_id: crate::DEV_VENDOR.as_uuid(),
            billing_unit_minutes: 15,
            response_hours: [4, 8, 16],
            post_calculation_interval_seconds: 3600,
        },
        credit: dk_support::settings::CreditSettings::default_nl(),
    };
    let support = match dk_support::start(&support_settings, bus.clone(), shutdown.clone())
        .await
        .context("failed to start support")
    {
        Ok(running) => running,
        Err(error) => {
            let started = vec![bookkeeping, banksync, billing];
            return Err(abandon(error, &shutdown, started).await);
        }
    };
    Ok(Stack {
        banksync: banksync.address,
        bookkeeping: bookkeeping.address,
        billing: billing.address,
        support: support.address,
        fake_banks,
        bus,
        temporary_topology: options.temporary_topology,
        shutdown,
        running: vec![banksync, bookkeeping, billing, support],
    })
}

/// The account each fake bank holds, and what it booked.
const FAKE_ACCOUNTS: [(Bank, &str); 3] = [
    (Bank::Ing, "NL69INGB0123456789"),
    (Bank::AbnAmro, "NL91ABNA0417164300"),
    (Bank::Rabobank, "NL44RABO0123456789"),
];

/// Starts a fake of each bank with one account and a few payments of the last days.
async fn start_fake_banks() -> anyhow::Result<Vec<(FakeBank, &'static str)>> {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive();
    let mut fakes = Vec::new();
    for (bank, iban) in FAKE_ACCOUNTS {
        let fake = FakeBank::start(bank)
            .await
            .with_context(|| format!("failed to start the fake {}", bank.display_name()))?;
        fake.add_account(iban);
        let payments = [
            (3, 121_000, "Bakkerij De Korst", "Factuur 2026-0012"),
            (2, -4_250, "Energie Noord BV", "Termijn december"),
            (1, 60_500, "Kapsalon Knip", "2026-0013 en 2026-0014"),
        ];
        for (index, (days_ago, cents, name, text)) in payments.into_iter().enumerate() {
            let mut payment = FakeTransaction::new(
                today - TimeDelta::days(days_ago),
                Decimal::new(cents, 2),
                &format!("{}-{index}", bank.as_str()),
            );
            payment.counterparty_iban = Some("NL18ABNA0484869868".into());
            payment.counterparty_name = Some(name.into());
            payment.remittance = text.into();
            fake.book(iban, payment);
        }
        fakes.push((fake, iban));
    }
    Ok(fakes)
}

fn bank_link_settings(
    fakes: &[(FakeBank, &'static str)],
) -> dk_banksync::settings::BankLinkSettings {
    let mut settings = dk_banksync::settings::BankLinkSettings::without_banks();
    for (fake, _) in fakes {
        let api = Some(fake.settings());
        match fake.bank() {
            Bank::Ing => settings.ing = api,
            Bank::AbnAmro => settings.abnamro = api,
            Bank::Rabobank => settings.rabobank = api,
        }
    }
    settings
}

/// Returns the database URL of one service: a SQLite file in the data folder, or a database named
/// `dk_<service>` on the PostgreSQL server, created when missing.
async fn database_url(options: &StackOptions, service: &str) -> anyhow::Result<String> {
    let Some(server) = &options.postgres_url else {
        std::fs::create_dir_all(&options.data_dir).with_context(|| {
            format!(
                "failed to create data folder {}",
                options.data_dir.display()
            )
        })?;
        return Ok(format!(
            "sqlite://{}/{service}.sqlite?mode=rwc",
            options.data_dir.display()
        ));
    };
    let server = server_part(server);
    let name = format!("dk_{service}");
    let admin = Database::connect(dk_runtime::database::admin_options(format!(
        "{server}/postgres"
    )))
    .await
    .with_context(|| {
        format!(
            "failed to connect to PostgreSQL at {}",
            dk_config::redact_url(&server)
        )
    })?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    admin.close().await?;
    Ok(format!("{server}/{name}"))
}

/// `postgres://user@host:port` without a database name or query.
fn server_part(url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or(url);
    match without_query.find("://") {
        Some(scheme_end) => match without_query[scheme_end + 3..].find('/') {
            Some(slash) => without_query[..scheme_end + 3 + slash].to_owned(),
            None => without_query.to_owned(),
        },
        None => without_query.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_part_drops_database_and_query() {
        assert_eq!(
            server_part("postgres://postgres@127.0.0.1:5432/dk?sslmode=disable"),
            "postgres://postgres@127.0.0.1:5432"
        );
        assert_eq!(
            server_part("postgres://postgres@127.0.0.1:5432"),
            "postgres://postgres@127.0.0.1:5432"
        );
    }
}
