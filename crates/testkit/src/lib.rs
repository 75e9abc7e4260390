//! Test helpers that run the real services against the real servers on this machine.
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test, dropped afterwards.
//! - [`unique_prefix`]: a name prefix so that each test's exchanges and queues are its own.
//! - [`Stack`]: banksync, bookkeeping, billing and support on `127.0.0.1:0`, each with its own
//!   fresh database, connected through RabbitMQ (or the in-process bus), with tokens for two
//!   organisations.
//!
//! Servers are found through `DK_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`)
//! and `DK_TEST_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`).

use std::net::SocketAddr;
use std::time::Duration;

use dk_config::{
    AuthSettings, DatabaseSettings, GrpcSettings, LogFormat, MessagingSettings, Secret,
    TelemetrySettings,
};
use dk_domain::OrganisationId;
use dk_messaging::Bus;
use dk_messaging::amqp::AmqpBus;
use dk_messaging::memory::MemoryBus;
use dk_messaging::topology::Names;
use dk_proto::banksync::v1::bank_sync_service_client::BankSyncServiceClient;
use dk_proto::billing::v1::billing_service_client::BillingServiceClient;
use dk_proto::bookkeeping::v1::bookkeeping_service_client::BookkeepingServiceClient;
use dk_proto::support::v1::support_service_client::SupportServiceClient;
pub use dk_runtime::auth::Role;
use dk_runtime::auth::TokenKeys;
use sea_orm::{ConnectionTrait, Database};
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Signing key of test tokens.
pub const TEST_TOKEN_SECRET: &str = "dk-test-token-secret";

/// URL of the PostgreSQL server that tests use, without a database name.
pub fn postgres_url() -> String {
    std::env::var("DK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// URL of the RabbitMQ server that tests use.
pub fn amqp_url() -> String {
    std::env::var("DK_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Returns a prefix such as `test-1a2b3c4d.` that makes exchange and queue names unique to one
/// test.
pub fn unique_prefix() -> String {
    format!("test-{}.", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Sends test logs to the test harness's captured output; `RUST_LOG` sets the filter.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A PostgreSQL database that exists for one test.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// Creates a database with a unique name.
    pub async fn create() -> anyhow::Result<Self> {
        let name = format!("dk_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(dk_runtime::database::admin_options(format!(
            "{}/postgres",
            postgres_url()
        )))
        .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await?;
        Ok(Self {
            url: format!("{}/{name}", postgres_url()),
            name,
        })
    }

    /// Drops the database, ending the connections that still use it.
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let admin = Database::connect(dk_runtime::database::admin_options(format!(
            "{}/postgres",
            postgres_url()
        )))
        .await?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await?;
        admin.close().await?;
        Ok(())
    }
}

/// Database server of a [`Stack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Postgres,
    /// SQLite files in a temporary folder, as in the embedded mode.
    Sqlite,
}

/// Message bus of a [`Stack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusKind {
    RabbitMq,
    InProcess,
}

/// Banksync, bookkeeping, billing and support running for one test.
pub struct Stack {
    pub banksync: SocketAddr,
    pub bookkeeping: SocketAddr,
    pub billing: SocketAddr,
    pub support: SocketAddr,
    pub banksync_db: sea_orm::DatabaseConnection,
    pub bookkeeping_db: sea_orm::DatabaseConnection,
    pub billing_db: sea_orm::DatabaseConnection,
    pub support_db: sea_orm::DatabaseConnection,
    pub bus: Bus,
    pub organisation: OrganisationId,
    pub other_organisation: OrganisationId,
    /// The vendor organisation that billing issues its invoices as.
    pub vendor: OrganisationId,
    pub names: Names,
    keys: TokenKeys,
    databases: Vec<TestDatabase>,
    sqlite_dir: Option<std::path::PathBuf>,
    shutdown: CancellationToken,
    running: Vec<dk_runtime::server::Running>,
    bookkeeping_settings: dk_bookkeeping::Settings,
}

/// Largest statement file a test stack's banksync accepts.
const TEST_MAX_FILE_BYTES: usize = 1024 * 1024;

impl Stack {
    /// Starts the services on PostgreSQL and RabbitMQ.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(BusKind::RabbitMq, DatabaseKind::Postgres).await
    }

    pub async fn start_with(
        bus_kind: BusKind,
        database_kind: DatabaseKind,
    ) -> anyhow::Result<Self> {
        Self::start_with_calendar(
            bus_kind,
            database_kind,
            dk_calendar::CalendarSettings::default(),
        )
        .await
    }

    /// Starts the services with `calendar` as support's business-hours settings.
    pub async fn start_with_calendar(
        bus_kind: BusKind,
        database_kind: DatabaseKind,
        calendar: dk_calendar::CalendarSettings,
    ) -> anyhow::Result<Self> {
        Self::start_with_settings(
            bus_kind,
            database_kind,
            calendar,
            dk_banksync::settings::BankLinkSettings::without_banks(),
            TEST_MAX_FILE_BYTES,
        )
        .await
    }

    /// Starts the services with banksync's automatic bank link set to `bank_link`.
    pub async fn start_with_bank_link(
        bus_kind: BusKind,
        database_kind: DatabaseKind,
        bank_link: dk_banksync::settings::BankLinkSettings,
    ) -> anyhow::Result<Self> {
        Self::start_with_settings(
            bus_kind,
            database_kind,
            dk_calendar::CalendarSettings::default(),
            bank_link,
            TEST_MAX_FILE_BYTES,
        )
        .await
    }

    /// Starts the services for a load run: statement files up to `max_file_bytes`.
    pub async fn start_for_load(
        bus_kind: BusKind,
        database_kind: DatabaseKind,
        max_file_bytes: usize,
    ) -> anyhow::Result<Self> {
        Self::start_with_settings(
            bus_kind,
            database_kind,
            dk_calendar::CalendarSettings::default(),
            dk_banksync::settings::BankLinkSettings::without_banks(),
            max_file_bytes,
        )
        .await
    }

    async fn start_with_settings(
        bus_kind: BusKind,
        database_kind: DatabaseKind,
        calendar: dk_calendar::CalendarSettings,
        bank_link: dk_banksync::settings::BankLinkSettings,
        max_file_bytes: usize,
    ) -> anyhow::Result<Self> {
        init_logs();
        let names = Names::new(unique_prefix());
        let bus = match bus_kind {
            BusKind::RabbitMq => Bus::Amqp(AmqpBus::connect(&amqp_url(), names.clone()).await?),
            BusKind::InProcess => Bus::Memory(MemoryBus::new(names.clone())),
        };
        bus.declare_topology().await?;
        let mut databases = Vec::new();
        let mut sqlite_dir = None;
        let (banksync_url, bookkeeping_url, billing_url, support_url) = match database_kind {
            DatabaseKind::Postgres => {
                let banksync = TestDatabase::create().await?;
                let bookkeeping = TestDatabase::create().await?;
                let billing = TestDatabase::create().await?;
                let support = TestDatabase::create().await?;
                let urls = (
                    banksync.url.clone(),
                    bookkeeping.url.clone(),
                    billing.url.clone(),
                    support.url.clone(),
                );
                databases = vec![banksync, bookkeeping, billing, support];
                urls
            }
            DatabaseKind::Sqlite => {
                let dir =
                    std::env::temp_dir().join(format!("dk-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir)?;
                let urls = (
                    format!("sqlite://{}/banksync.sqlite?mode=rwc", dir.display()),
                    format!("sqlite://{}/bookkeeping.sqlite?mode=rwc", dir.display()),
                    format!("sqlite://{}/billing.sqlite?mode=rwc", dir.display()),
                    format!("sqlite://{}/support.sqlite?mode=rwc", dir.display()),
                );
                sqlite_dir = Some(dir);
                urls
            }
        };
        let shutdown = CancellationToken::new();
        let vendor = OrganisationId::new();

        let banksync_settings = dk_banksync::Settings {
            grpc: grpc_settings(),
            database: database_settings(&banksync_url),
            messaging: messaging_settings(&names),
            auth: auth_settings(),
            telemetry: telemetry_settings(),
            import: dk_banksync::settings::ImportSettings { max_file_bytes },
            bank_link,
        };
        let bookkeeping_settings = dk_bookkeeping::Settings {
            grpc: grpc_settings(),
            database: database_settings(&bookkeeping_url),
            messaging: messaging_settings(&names),
            auth: auth_settings(),
            telemetry: telemetry_settings(),
        };
        let bookkeeping =
            dk_bookkeeping::start(&bookkeeping_settings, bus.clone(), shutdown.clone()).await?;
        let banksync =
            dk_banksync::start(&banksync_settings, bus.clone(), shutdown.clone()).await?;
        let billing_settings = dk_billing::Settings {
            grpc: grpc_settings(),
            database: database_settings(&billing_url),
            messaging: messaging_settings(&names),
            auth: auth_settings(),
            telemetry: telemetry_settings(),
            issuer: dk_billing::settings::IssuerSettings::demo(vendor.as_uuid()),
            invoicing: dk_billing::settings::InvoicingSettings {
                payment_term_days: 14,
                // Tests run the month they mean with RunMonthlyInvoices.
                run_interval_seconds: 0,
            },
        };
        let billing = dk_billing::start(&billing_settings, bus.clone(), shutdown.clone()).await?;
        let support_settings = dk_support::Settings {
            grpc: grpc_settings(),
            database: database_settings(&support_url),
            messaging: messaging_settings(&names),
            auth: auth_settings(),
            telemetry: telemetry_settings(),
            calendar,
            tickets: dk_support::settings::TicketSettings {
                staff_organisation_id: vendor.as_uuid(),
                billing_unit_minutes: 15,
                response_hours: [4, 8, 16],
                post_calculation_interval_seconds: 0,
            },
            credit: dk_support::settings::CreditSettings::default_nl(),
        };
        let support = dk_support::start(&support_settings, bus.clone(), shutdown.clone()).await?;

        Ok(Self {
            banksync: banksync.address,
            bookkeeping: bookkeeping.address,
            billing: billing.address,
            support: support.address,
            banksync_db: banksync.db.clone(),
            bookkeeping_db: bookkeeping.db.clone(),
            billing_db: billing.db.clone(),
            support_db: support.db.clone(),
            bus,
            organisation: OrganisationId::new(),
            other_organisation: OrganisationId::new(),
            vendor,
            names,
            keys: TokenKeys::new(TEST_TOKEN_SECRET),
            databases,
            sqlite_dir,
            shutdown,
            running: vec![banksync, bookkeeping, billing, support],
            bookkeeping_settings,
        })
    }

    /// Starts a second bookkeeping service on the same database and queues, as a second
    /// replica would run; returns its address.
    pub async fn start_bookkeeping_replica(&mut self) -> anyhow::Result<SocketAddr> {
        let replica = dk_bookkeeping::start(
            &self.bookkeeping_settings,
            self.bus.clone(),
            self.shutdown.clone(),
        )
        .await?;
        let address = replica.address;
        self.running.push(replica);
        Ok(address)
    }

    /// Issues a bearer token for `organisation`.
    pub fn token(&self, organisation: OrganisationId) -> String {
        self.keys
            .issue("test", organisation, chrono::Duration::hours(1))
    }

    /// Connects a banksync client that calls as `organisation`.
    pub async fn banksync_client(
        &self,
        organisation: OrganisationId,
    ) -> anyhow::Result<BankSyncClient> {
        let channel = channel(self.banksync).await?;
        Ok(BankSyncServiceClient::with_interceptor(
            channel,
            self.bearer(organisation)?,
        ))
    }

    /// Connects a bookkeeping client that calls as `organisation`.
    pub async fn bookkeeping_client(
        &self,
        organisation: OrganisationId,
    ) -> anyhow::Result<BookkeepingClient> {
        let channel = channel(self.bookkeeping).await?;
        Ok(BookkeepingServiceClient::with_interceptor(
            channel,
            self.bearer(organisation)?,
        ))
    }

    /// Connects a billing client that calls as `organisation`.
    pub async fn billing_client(
        &self,
        organisation: OrganisationId,
    ) -> anyhow::Result<BillingClient> {
        let channel = channel(self.billing).await?;
        Ok(BillingServiceClient::with_interceptor(
            channel,
            self.bearer(organisation)?,
        ))
    }

    /// Connects a billing client for a staff member of the vendor with `roles`.
    pub async fn billing_staff_client(&self, roles: &[Role]) -> anyhow::Result<BillingClient> {
        let channel = channel(self.billing).await?;
        let token =
            self.keys
                .issue_with_roles("staff", self.vendor, roles, chrono::Duration::hours(1));
        Ok(BillingServiceClient::with_interceptor(
            channel,
            Bearer(Some(format!("Bearer {token}").parse()?)),
        ))
    }

    /// Connects a support client for a support agent of the vendor.
    pub async fn support_agent_client(&self) -> anyhow::Result<SupportClient> {
        let channel = channel(self.support).await?;
        let token = self.keys.issue_with_roles(
            "agent-anna",
            self.vendor,
            &[Role::SupportAgent],
            chrono::Duration::hours(1),
        );
        Ok(SupportServiceClient::with_interceptor(
            channel,
            Bearer(Some(format!("Bearer {token}").parse()?)),
        ))
    }

    /// Connects a support client that calls as `organisation`.
    pub async fn support_client(
        &self,
        organisation: OrganisationId,
    ) -> anyhow::Result<SupportClient> {
        let channel = channel(self.support).await?;
        Ok(SupportServiceClient::with_interceptor(
            channel,
            self.bearer(organisation)?,
        ))
    }

    fn bearer(&self, organisation: OrganisationId) -> anyhow::Result<Bearer> {
        Ok(Bearer(Some(
            format!("Bearer {}", self.token(organisation)).parse()?,
        )))
    }

    /// Stops the services, then drops the databases and the RabbitMQ exchanges and queues.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        for running in std::mem::take(&mut self.running) {
            running.wait().await;
        }
        remove_resources(
            &self.bus,
            &std::mem::take(&mut self.databases),
            self.sqlite_dir.take(),
        )
        .await
    }
}

/// Drops what a stack created on the servers and on disk.
async fn remove_resources(
    bus: &Bus,
    databases: &[TestDatabase],
    sqlite_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    if let Bus::Amqp(bus) = bus {
        bus.delete_topology().await?;
    }
    for database in databases {
        database.drop_database().await?;
    }
    if let Some(dir) = sqlite_dir {
        std::fs::remove_dir_all(dir)?;
    }
    Ok(())
}

impl Drop for Stack {
    /// Removes the databases, exchanges and queues of a test that ended without `stop`, such as
    /// one that panicked, so that failed tests leave nothing behind either.
    fn drop(&mut self) {
        if self.databases.is_empty() && self.sqlite_dir.is_none() {
            return;
        }
        self.shutdown.cancel();
        let bus = self.bus.clone();
        let databases = std::mem::take(&mut self.databases);
        let sqlite_dir = self.sqlite_dir.take();
        // The test's runtime may be the one unwinding, so clean up on a thread of our own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(remove_resources(&bus, &databases, sqlite_dir))
        });
        if let Ok(Err(error)) = cleanup.join() {
            eprintln!("failed to clean up after a test: {error:#}");
        }
    }
}

/// Adds a bearer token to every call; `Bearer(None)` sends none.
#[derive(Clone)]
pub struct Bearer(pub Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type BankSyncClient = BankSyncServiceClient<InterceptedService<Channel, Bearer>>;
pub type BookkeepingClient = BookkeepingServiceClient<InterceptedService<Channel, Bearer>>;
pub type BillingClient = BillingServiceClient<InterceptedService<Channel, Bearer>>;
pub type SupportClient = SupportServiceClient<InterceptedService<Channel, Bearer>>;

/// Opens a channel to a service's address.
pub async fn channel(address: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{address}"))?
        .connect()
        .await?)
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn grpc_settings() -> GrpcSettings {
    GrpcSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        shutdown_grace_seconds: 5,
    }
}

fn database_settings(url: &str) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(url),
        max_connections: 5,
        migrate_on_start: true,
    }
}

fn messaging_settings(names: &Names) -> MessagingSettings {
    MessagingSettings {
        amqp_url: Some(Secret::new(amqp_url())),
        name_prefix: names.exchange("").trim_end_matches("dk.").to_owned(),
    }
}

fn auth_settings() -> AuthSettings {
    AuthSettings {
        token_secret: Secret::new(TEST_TOKEN_SECRET),
    }
}

fn telemetry_settings() -> TelemetrySettings {
    TelemetrySettings {
        filter: "warn".into(),
        format: LogFormat::Text,
        otlp_endpoint: None,
    }
}
