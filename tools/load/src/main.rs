//! `dk-load`: measures a service's requests per second against a bare tonic echo service,
//! started in the same process on 127.0.0.1, driven by the same client with the same
//! concurrency. The ratio of the two rates shows how much the service's own work costs.
//!
//! `dk-load quote` drives billing's `CreateQuote` (pricing, a catalogue read, the quote row and
//! the idempotency key in one committed transaction) against the echo service. Every run is
//! bounded: at most `--requests` requests and `--seconds` seconds per service.
//!
//! `dk-load matching` measures bank mutations per second from a statement import to the last
//! stored decision (see `matching.rs`).

mod cpu;
mod matching;

mod echo {
    tonic::include_proto!("dk.load.v1");
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use dk_config::{
    AuthSettings, DatabaseSettings, GrpcSettings, LogFormat, MessagingSettings, Secret,
    TelemetrySettings,
};
use dk_messaging::Bus;
use dk_messaging::memory::MemoryBus;
use dk_messaging::topology::Names;
use dk_proto::billing::v1 as billing;
use dk_proto::billing::v1::billing_service_client::BillingServiceClient;
use dk_runtime::auth::TokenKeys;
use dk_testkit::{Bearer, TestDatabase};
use echo::echo_service_client::EchoServiceClient;
use echo::echo_service_server::{EchoService, EchoServiceServer};
use prost::Message;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Server};

/// The same allocator as the service binaries, so the services run here as they run alone.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Upper bounds of the arguments, so a typo cannot start an endless run.
const MAX_REQUESTS: u64 = 2_000_000;
const MAX_SECONDS: u64 = 300;
const MAX_CONCURRENCY: usize = 1024;
/// Requests sent before measuring, to open connections and warm caches.
const WARM_UP_REQUESTS: u64 = 500;
/// Signing key of the tokens this tool makes for the billing service it starts.
const TOKEN_SECRET: &str = "dk-load-secret";

#[derive(Parser)]
#[command(
    name = "dk-load",
    version,
    about = "Measure service throughput on 127.0.0.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// CreateQuote requests per second against a bare tonic echo service.
    Quote(QuoteArgs),
    /// Bank mutations per second from a statement import through banksync, the bus and
    /// bookkeeping to the last stored decision.
    Matching(matching::MatchingArgs),
}

#[derive(clap::Args)]
struct QuoteArgs {
    /// Requests per service, at most 2,000,000.
    #[arg(long, default_value_t = 50_000)]
    requests: u64,
    /// Time limit per service in seconds, at most 300.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections the requests are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Database of the billing service: a SQLite file (embedded default) or a fresh database on
    /// the local PostgreSQL (DK_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432).
    #[arg(long, value_enum, default_value_t = DatabaseChoice::Sqlite)]
    database: DatabaseChoice,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum DatabaseChoice {
    Sqlite,
    Postgres,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Quote(args) => quote(args).await,
        Command::Matching(args) => matching::run(args).await,
    }
}

/// The measured rate of one service.
#[derive(Debug, Serialize)]
struct Rate {
    requests: u64,
    errors: u64,
    seconds: f64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Serialize)]
struct Report {
    database: DatabaseChoice,
    concurrency: usize,
    connections: usize,
    echo: Rate,
    quote: Rate,
    /// Quote rate over echo rate.
    ratio: f64,
}

async fn quote(args: QuoteArgs) -> anyhow::Result<()> {
    check_bounds(&args)?;
    let shutdown = CancellationToken::new();
    let echo_address = start_echo(shutdown.clone()).await?;
    let billing = start_billing(args.database, shutdown.clone()).await?;

    let request = billing::CreateQuoteRequest {
        idempotency_key: String::new(),
        modules: vec!["crm".into(), "boekhouding".into(), "facturatie".into()],
        addons: vec!["documentbeheer".into()],
        users: 12,
        bank_link: true,
        ..Default::default()
    };
    // The echo carries a payload of the quote request's size, so both send the same bytes.
    let payload = {
        let mut sized = request.clone();
        sized.idempotency_key = uuid::Uuid::new_v4().to_string();
        sized.encode_to_vec()
    };

    let echo_clients = connect(echo_address, args.connections)
        .await?
        .into_iter()
        .map(EchoServiceClient::new)
        .collect::<Vec<_>>();
    let echo = drive(&args, echo_clients, move |mut client| {
        let payload = payload.clone();
        async move { client.echo(echo::EchoRequest { payload }).await.map(|_| ()) }
    })
    .await;

    let token = TokenKeys::new(TOKEN_SECRET).issue(
        "dk-load",
        dk_domain::OrganisationId::new(),
        chrono_hours(2),
    );
    let bearer = Bearer(Some(format!("Bearer {token}").parse()?));
    let quote_clients = connect(billing.address, args.connections)
        .await?
        .into_iter()
        .map(|channel| BillingServiceClient::with_interceptor(channel, bearer.clone()))
        .collect::<Vec<_>>();
    let quote = drive(&args, quote_clients, move |mut client| {
        let mut request = request.clone();
        request.idempotency_key = uuid::Uuid::new_v4().to_string();
        async move { client.create_quote(request).await.map(|_| ()) }
    })
    .await;

    shutdown.cancel();
    billing.stop().await?;

    let ratio = quote.requests_per_second / echo.requests_per_second.max(f64::MIN_POSITIVE);
    let report = Report {
        database: args.database,
        concurrency: args.concurrency,
        connections: args.connections,
        echo,
        quote,
        ratio,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn check_bounds(args: &QuoteArgs) -> anyhow::Result<()> {
    if args.requests == 0 || args.requests > MAX_REQUESTS {
        anyhow::bail!("--requests {}: expected 1 to {MAX_REQUESTS}", args.requests);
    }
    if args.seconds == 0 || args.seconds > MAX_SECONDS {
        anyhow::bail!("--seconds {}: expected 1 to {MAX_SECONDS}", args.seconds);
    }
    if args.concurrency == 0 || args.concurrency > MAX_CONCURRENCY {
        anyhow::bail!(
            "--concurrency {}: expected 1 to {MAX_CONCURRENCY}",
            args.concurrency
        );
    }
    if args.connections == 0 || args.connections > args.concurrency {
        anyhow::bail!(
            "--connections {}: expected 1 to the concurrency ({})",
            args.connections,
            args.concurrency
        );
    }
    Ok(())
}

fn print_report(report: &Report) {
    let database = match report.database {
        DatabaseChoice::Sqlite => "SQLite",
        DatabaseChoice::Postgres => "PostgreSQL",
    };
    println!(
        "{} requests in flight over {} connections, billing on {database}",
        report.concurrency, report.connections
    );
    println!(
        "{:<12} {:>10} {:>8} {:>10} {:>10} {:>10}",
        "service", "requests", "errors", "req/s", "p50 ms", "p99 ms"
    );
    for (name, rate) in [("echo", &report.echo), ("CreateQuote", &report.quote)] {
        println!(
            "{name:<12} {:>10} {:>8} {:>10.0} {:>10.2} {:>10.2}",
            rate.requests, rate.errors, rate.requests_per_second, rate.p50_ms, rate.p99_ms
        );
    }
    println!(
        "CreateQuote reaches {:.1}% of the echo rate (target 70%)",
        report.ratio * 100.0
    );
}

fn chrono_hours(hours: i64) -> chrono::Duration {
    chrono::Duration::hours(hours)
}

/// Sends requests from `concurrency` workers until `requests` are done or the time is up, after
/// a short warm-up, and measures the rate and the latencies.
async fn drive<C, F, Fut>(args: &QuoteArgs, clients: Vec<C>, call: F) -> Rate
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let call = Arc::new(call);
    run_phase(
        &clients,
        &call,
        args.concurrency,
        WARM_UP_REQUESTS,
        Duration::from_secs(10),
    )
    .await;
    let started = Instant::now();
    let (latencies, errors) = run_phase(
        &clients,
        &call,
        args.concurrency,
        args.requests,
        Duration::from_secs(args.seconds),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = latencies;
    latencies.sort_unstable();
    let percentile = |fraction: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * fraction).round() as usize)
            .map(|micros| f64::from(*micros) / 1000.0)
            .unwrap_or_default()
    };
    let requests = latencies.len() as u64;
    Rate {
        requests,
        errors,
        seconds,
        requests_per_second: requests as f64 / seconds,
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
    }
}

async fn run_phase<C, F, Fut>(
    clients: &[C],
    call: &Arc<F>,
    concurrency: usize,
    requests: u64,
    limit: Duration,
) -> (Vec<u32>, u64)
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let tickets = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + limit;
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let client = clients[worker % clients.len()].clone();
        let call = call.clone();
        let tickets = tickets.clone();
        let errors = errors.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while tickets.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < deadline {
                let sent = Instant::now();
                match call(client.clone()).await {
                    Ok(()) => latencies
                        .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)),
                    Err(status) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first error: {status}");
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        if let Ok(latencies) = worker.await {
            all.extend(latencies);
        }
    }
    (all, errors.load(Ordering::Relaxed))
}

async fn connect(address: SocketAddr, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        channels.push(
            Channel::from_shared(format!("http://{address}"))?
                .connect()
                .await
                .with_context(|| format!("failed to connect to {address}"))?,
        );
    }
    Ok(channels)
}

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(
        &self,
        request: tonic::Request<echo::EchoRequest>,
    ) -> Result<tonic::Response<echo::EchoResponse>, tonic::Status> {
        Ok(tonic::Response::new(echo::EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

async fn start_echo(shutdown: CancellationToken) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    // The same socket options as the services' servers (dk_runtime::server::serve).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(async move {
        let served = Server::builder()
            .add_service(EchoServiceServer::new(Echo))
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            eprintln!("echo server failed: {error}");
        }
    });
    Ok(address)
}

/// Billing running in this process, with what it needs removed afterwards.
struct Billing {
    address: SocketAddr,
    running: dk_runtime::server::Running,
    database: Option<TestDatabase>,
    folder: Option<std::path::PathBuf>,
}

impl Billing {
    async fn stop(self) -> anyhow::Result<()> {
        self.running.wait().await;
        if let Some(database) = self.database {
            database.drop_database().await?;
        }
        if let Some(folder) = self.folder {
            std::fs::remove_dir_all(folder)?;
        }
        Ok(())
    }
}

async fn start_billing(
    database: DatabaseChoice,
    shutdown: CancellationToken,
) -> anyhow::Result<Billing> {
    let (url, test_database, folder) = match database {
        DatabaseChoice::Postgres => {
            let created = TestDatabase::create()
                .await
                .context("failed to create a database on the local PostgreSQL")?;
            (created.url.clone(), Some(created), None)
        }
        DatabaseChoice::Sqlite => {
            let folder =
                std::env::temp_dir().join(format!("dk-load-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&folder)?;
            let url = format!("sqlite://{}/billing.sqlite?mode=rwc", folder.display());
            (url, None, Some(folder))
        }
    };
    let names = Names::new(format!("load-{}.", uuid::Uuid::new_v4().simple()));
    let bus = Bus::Memory(MemoryBus::new(names.clone()));
    bus.declare_topology().await?;
    let defaults = dk_billing::Settings::load(None)?;
    let settings = dk_billing::Settings {
        grpc: GrpcSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            shutdown_grace_seconds: 5,
        },
        database: DatabaseSettings {
            url: Secret::new(url),
            ..defaults.database
        },
        messaging: MessagingSettings {
            amqp_url: None,
            name_prefix: String::new(),
        },
        auth: AuthSettings {
            token_secret: Secret::new(TOKEN_SECRET),
        },
        telemetry: TelemetrySettings {
            filter: "warn".into(),
            format: LogFormat::Text,
            otlp_endpoint: None,
        },
        issuer: defaults.issuer,
        invoicing: dk_billing::settings::InvoicingSettings {
            run_interval_seconds: 0,
            ..defaults.invoicing
        },
    };
    let running = dk_billing::start(&settings, bus, shutdown).await?;
    Ok(Billing {
        address: running.address,
        running,
        database: test_database,
        folder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(requests: u64, seconds: u64, concurrency: usize, connections: usize) -> QuoteArgs {
        QuoteArgs {
            requests,
            seconds,
            concurrency,
            connections,
            database: DatabaseChoice::Sqlite,
            json: false,
        }
    }

    #[test]
    fn runs_are_bounded() {
        assert!(check_bounds(&args(50_000, 20, 64, 4)).is_ok());
        let cases = [
            (args(0, 20, 64, 4), "--requests 0"),
            (args(MAX_REQUESTS + 1, 20, 64, 4), "--requests"),
            (args(10, 0, 64, 4), "--seconds 0"),
            (args(10, 301, 64, 4), "--seconds 301"),
            (args(10, 5, 0, 1), "--concurrency 0"),
            (args(10, 5, 4, 8), "--connections 8"),
        ];
        for (arguments, expected) in cases {
            let error = check_bounds(&arguments).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
