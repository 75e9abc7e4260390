//! `dk-load matching`: bank mutations per second from the import call to the last booking.
//!
//! The run starts banksync and bookkeeping (with billing and support beside them) on fresh
//! PostgreSQL databases and on RabbitMQ with names of their own. It writes the open sales
//! invoices straight into bookkeeping's database, generates one MT940 statement that pays
//! them, and imports it through banksync's gRPC call. The clock runs from that call until
//! bookkeeping has stored a decision for every mutation. Each booked decision's payment entry,
//! allocations and `invoice.paid.v1` event are committed with it. Everything the run created is removed at
//! the end, also after an error.
//!
//! The invoices are written without their sales entries: their booking is not what the run
//! measures, and a gRPC call per invoice would take minutes for 100,000 invoices.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{Days, NaiveDate};
use dk_domain::Decimal;
use dk_proto::banksync::v1 as banksync;
use dk_statement::{Balance, Statement, Transaction};
use dk_testkit::{BusKind, DatabaseKind, Stack};
use sea_orm::{ConnectionTrait, Statement as Sql};
use serde::Serialize;

use crate::cpu;

/// Upper bounds, so that a typo cannot start an endless run.
const MAX_ITEMS: usize = 1_000_000;
const MAX_SECONDS: u64 = 1_800;
const MAX_INVOICE_WRITES: u32 = 100;
/// The account the statement is for.
const ACCOUNT: &str = "NL30INGB0008453127";
/// Mutations per daily statement in the generated file.
const PER_DAY: usize = 1_000;
/// Invoice rows per INSERT statement while preparing.
const INSERT_BATCH: usize = 1_000;

#[derive(clap::Args)]
pub struct MatchingArgs {
    /// Mutations in the imported statement, at most 1,000,000.
    #[arg(long, default_value_t = 100_000)]
    mutations: usize,
    /// Open sales invoices, at most 1,000,000.
    #[arg(long, default_value_t = 100_000)]
    invoices: usize,
    /// Time limit of the measured part in seconds, at most 1,800.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Sales invoices per second that a user creates through bookkeeping's gRPC call while the
    /// mutations are booked, at most 100. None of them is paid by the statement.
    #[arg(long, default_value_t = 0)]
    invoice_writes: u32,
    /// Run on SQLite and the in-process bus instead of PostgreSQL and RabbitMQ.
    #[arg(long)]
    embedded: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct MatchingReport {
    database: &'static str,
    bus: &'static str,
    mutations: usize,
    invoices: usize,
    statement_bytes: usize,
    /// Seconds of the ImportStatement call (parse, store, outbox).
    import_seconds: f64,
    /// Seconds from the import call until the last decision was stored, by the decision's
    /// `created_at` (set just before its transaction commits).
    end_to_end_seconds: f64,
    mutations_per_second: f64,
    /// Busy CPU seconds of all cores, from the import call until the tool saw the last decision,
    /// which is up to a second after it was stored. Absent where `/proc/stat` is missing.
    cpu_busy_seconds: Option<f64>,
    /// CPU seconds that the hypervisor gave to other guests in the same time.
    cpu_steal_seconds: Option<f64>,
    /// Busy CPU time per decided mutation, in microseconds.
    cpu_microseconds_per_mutation: Option<f64>,
    /// Invoices created through gRPC during the measured part (`--invoice-writes`).
    invoices_created: u64,
    /// Stored decisions per outcome.
    outcomes: Vec<(String, i64)>,
    /// Whether every mutation was decided within the time limit.
    complete: bool,
}

pub async fn run(args: MatchingArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_ITEMS).contains(&args.mutations) && (1..=MAX_ITEMS).contains(&args.invoices),
        "--mutations and --invoices must be 1 to {MAX_ITEMS}"
    );
    anyhow::ensure!(
        (1..=MAX_SECONDS).contains(&args.seconds),
        "--seconds must be 1 to {MAX_SECONDS}"
    );
    anyhow::ensure!(
        args.invoice_writes <= MAX_INVOICE_WRITES,
        "--invoice-writes must be 0 to {MAX_INVOICE_WRITES}, got {}",
        args.invoice_writes
    );
    let (bus, database) = if args.embedded {
        (BusKind::InProcess, DatabaseKind::Sqlite)
    } else {
        (BusKind::RabbitMq, DatabaseKind::Postgres)
    };
    let stack = Stack::start_for_load(bus, database, 256 * 1024 * 1024)
        .await
        .context("starting the services")?;
    let result = measure(&stack, &args).await;
    stack
        .stop()
        .await
        .context("removing the run's databases and queues")?;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} mutations against {} open invoices ({}, {}), statement {:.1} MB",
            report.mutations,
            report.invoices,
            report.database,
            report.bus,
            report.statement_bytes as f64 / 1e6
        );
        println!("  import call      {:>8.2} s", report.import_seconds);
        println!(
            "  end to end       {:>8.2} s  {:>10.0} mutations/s{}",
            report.end_to_end_seconds,
            report.mutations_per_second,
            if report.complete {
                ""
            } else {
                "  (time limit reached before the last decision)"
            }
        );
        if let (Some(busy), Some(steal), Some(per_mutation)) = (
            report.cpu_busy_seconds,
            report.cpu_steal_seconds,
            report.cpu_microseconds_per_mutation,
        ) {
            println!(
                "  CPU, all cores   {busy:>8.2} s  {per_mutation:>10.0} µs/mutation  ({steal:.2} s stolen by the host)"
            );
        }
        if args.invoice_writes > 0 {
            println!(
                "  invoices created {:>8} during the run",
                report.invoices_created
            );
        }
        for (outcome, count) in &report.outcomes {
            println!("  {outcome:<24} {count:>8}");
        }
    }
    Ok(())
}

async fn measure(stack: &Stack, args: &MatchingArgs) -> anyhow::Result<MatchingReport> {
    let organisation = stack.organisation;
    let mut banksync = stack.banksync_client(organisation).await?;
    banksync
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            iban: ACCOUNT.into(),
            name: "Zakelijke rekening".into(),
        })
        .await
        .context("registering the account")?;
    let prepared = Instant::now();
    insert_invoices(stack, args.invoices).await?;
    let statement = statement_file(args.mutations, args.invoices);
    eprintln!(
        "prepared {} invoices and a {} byte statement in {:.1} s",
        args.invoices,
        statement.len(),
        prepared.elapsed().as_secs_f64()
    );

    let db = &stack.bookkeeping_db;
    let writer = if args.invoice_writes > 0 {
        let client = stack.bookkeeping_client(organisation).await?;
        Some(tokio::spawn(create_invoices(client, args.invoice_writes)))
    } else {
        None
    };
    let cpu_at_start = cpu::read();
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let request = banksync::ImportStatementRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        content: statement.clone(),
        file_name: "load.940".into(),
        ..Default::default()
    };
    let imported = banksync
        .import_statement(request)
        .await
        .context("importing the statement")?
        .into_inner();
    let import_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        imported.imported_count as usize == args.mutations,
        "banksync stored {} of {} mutations",
        imported.imported_count,
        args.mutations
    );

    // Counting the decisions scans the table, so the run counts once a second and takes the
    // end from the last decision's timestamp instead: frequent counts would take CPU from the
    // services under test.
    let deadline = started + Duration::from_secs(args.seconds);
    let mut decided = 0;
    while Instant::now() < deadline {
        decided = count(db, "SELECT COUNT(*) AS n FROM payment_matches").await?;
        if decided as usize >= args.mutations {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let cpu_used = cpu::read()
        .zip(cpu_at_start)
        .map(|(now, start)| now.since(start));
    let invoices_created = match writer {
        Some(writer) => {
            writer.abort();
            match writer.await {
                Err(aborted) if aborted.is_cancelled() => {
                    count(
                        db,
                        "SELECT COUNT(*) AS n FROM invoices WHERE number LIKE 'U-%'",
                    )
                    .await? as u64
                }
                Err(panicked) => return Err(panicked.into()),
                Ok(result) => {
                    result.context("creating invoices during the run")?;
                    0
                }
            }
        }
        None => 0,
    };
    let complete = decided as usize >= args.mutations;
    let end_to_end_seconds = if complete {
        let last = db
            .query_one_raw(Sql::from_string(
                db.get_database_backend(),
                "SELECT MAX(created_at) AS last FROM payment_matches",
            ))
            .await?
            .context("no decision row")?
            .try_get::<chrono::DateTime<chrono::Utc>>("", "last")?;
        (last - started_at).as_seconds_f64()
    } else {
        started.elapsed().as_secs_f64()
    };
    let outcomes = db
        .query_all_raw(Sql::from_string(
            db.get_database_backend(),
            "SELECT outcome, COUNT(*) AS n FROM payment_matches GROUP BY outcome ORDER BY outcome",
        ))
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "outcome")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    Ok(MatchingReport {
        database: if args.embedded { "sqlite" } else { "postgres" },
        bus: if args.embedded {
            "in-process"
        } else {
            "rabbitmq"
        },
        mutations: args.mutations,
        invoices: args.invoices,
        statement_bytes: statement.len(),
        import_seconds,
        end_to_end_seconds,
        mutations_per_second: decided as f64 / end_to_end_seconds,
        cpu_busy_seconds: cpu_used.map(|used| used.busy_seconds),
        cpu_steal_seconds: cpu_used.map(|used| used.steal_seconds),
        cpu_microseconds_per_mutation: cpu_used
            .filter(|_| decided > 0)
            .map(|used| used.busy_seconds * 1e6 / decided as f64),
        invoices_created,
        outcomes,
        complete,
    })
}

/// Creates sales invoices numbered `U-000001` and up through bookkeeping's gRPC call, `per_second`
/// a second, as a user would while the statement is booked. Runs until aborted; returns only on
/// an error.
async fn create_invoices(
    mut client: dk_testkit::BookkeepingClient,
    per_second: u32,
) -> anyhow::Result<()> {
    use dk_proto::bookkeeping::v1 as bookkeeping;

    let mut ticks = tokio::time::interval(Duration::from_secs(1) / per_second);
    for index in 1.. {
        ticks.tick().await;
        let number = format!("U-{index:06}");
        client
            .create_invoice(bookkeeping::CreateInvoiceRequest {
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                kind: bookkeeping::InvoiceKind::Sales as i32,
                number: number.clone(),
                counterparty_name: format!("Relatie {number}"),
                amount: Some(dk_domain::Money::eur(Decimal::new(12_100, 2)).into()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating invoice {number}"))?;
    }
    Ok(())
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Sql::from_string(db.get_database_backend(), sql))
        .await?
        .context("a count returns a row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

/// Returns the number of invoice `index`.
fn invoice_number(index: usize) -> String {
    format!("2026-{index:06}")
}

/// Returns invoice `index`'s total in cents, between 10.00 and 2,009.99.
fn invoice_cents(index: usize) -> i64 {
    1_000 + ((index as i64 * 7_919) % 200_000)
}

/// Builds a valid Dutch IBAN for the customer of invoice `index`.
fn customer_iban(index: usize) -> String {
    let bban = format!("RABO{:010}", 3_000_000_000u64 + index as u64);
    let digits: String = format!("{bban}NL00")
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (c as u32 - 'A' as u32 + 10).to_string()
            }
        })
        .collect();
    let remainder = digits
        .bytes()
        .fold(0u64, |acc, digit| (acc * 10 + u64::from(digit - b'0')) % 97);
    format!("NL{:02}{bban}", 98 - remainder)
}

/// Writes the open sales invoices in batches of multi-row INSERTs.
async fn insert_invoices(stack: &Stack, invoices: usize) -> anyhow::Result<()> {
    let db = &stack.bookkeeping_db;
    let organisation = stack.organisation.as_uuid();
    let id_literal = |id: uuid::Uuid| match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => format!("'{id}'"),
        _ => format!("X'{}'", id.simple()),
    };
    for start in (0..invoices).step_by(INSERT_BATCH) {
        let end = (start + INSERT_BATCH).min(invoices);
        let values: Vec<String> = (start..end)
            .map(|index| {
                let number = invoice_number(index);
                let cents = invoice_cents(index);
                format!(
                    "({}, {}, 'sales', '{number}', '{number}', 'Klant {index}', '{}', 'NL', 'EUR', {cents}, {cents}, '2026-01-02', '2026-02-01', NULL, '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z')",
                    id_literal(uuid::Uuid::now_v7()),
                    id_literal(organisation),
                    customer_iban(index),
                )
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO invoices (id, organisation_id, kind, number, number_key, counterparty_name, \
             counterparty_iban, counterparty_country, currency, amount_minor, open_minor, issue_date, \
             due_date, payment_reference, created_at, updated_at) VALUES {}",
            values.join(", ")
        ))
        .await
        .context("writing the open invoices")?;
    }
    Ok(())
}

/// Generates the MT940 statement, in which mutation `i` pays invoice `i % invoices`. Of the
/// mutations, 90 % name the invoice number and pay it in full and 4 % pay half of it. Another
/// 4 % name no number, so they become suggestions by amount and IBAN, and 2 % are debits that
/// pay nothing.
fn statement_file(mutations: usize, invoices: usize) -> Vec<u8> {
    let start = NaiveDate::from_ymd_opt(2026, 2, 2).expect("valid date");
    let mut balance = Decimal::new(1_000_000, 2);
    let mut statements = Vec::with_capacity(mutations.div_ceil(PER_DAY));
    for (day, chunk) in (0..mutations)
        .collect::<Vec<_>>()
        .chunks(PER_DAY)
        .enumerate()
    {
        let date = start + Days::new(day as u64);
        let opening = balance;
        let transactions: Vec<Transaction> = chunk
            .iter()
            .map(|&index| {
                let invoice = index % invoices;
                let number = invoice_number(invoice);
                let full = Decimal::new(invoice_cents(invoice), 2);
                let (amount, remittance, iban) = if index % 50 == 49 {
                    (
                        Decimal::new(-2_599, 2),
                        format!("Inkoop materialen order {index}"),
                        None,
                    )
                } else if index % 20 == 19 {
                    (
                        full,
                        format!("Bestelling {index}"),
                        Some(customer_iban(invoice)),
                    )
                } else if index % 10 == 9 {
                    (
                        Decimal::new(invoice_cents(invoice) / 2, 2),
                        format!("Deelbetaling factuur {number}"),
                        Some(customer_iban(invoice)),
                    )
                } else {
                    (
                        full,
                        format!("Factuur {number}"),
                        Some(customer_iban(invoice)),
                    )
                };
                balance += amount;
                Transaction {
                    booking_date: date,
                    value_date: date,
                    amount,
                    currency: "EUR".into(),
                    counterparty_iban: iban,
                    counterparty_name: Some(format!("Klant {invoice}")),
                    remittance,
                    end_to_end_id: None,
                    structured_reference: None,
                    structured_reference_valid: None,
                    bank_reference: None,
                    transaction_code: None,
                    reversal: false,
                }
            })
            .collect();
        statements.push(Statement {
            statement_id: Some(format!("LOAD{day:06}")),
            sequence: Some(format!("{:05}", day + 1)),
            account: ACCOUNT.into(),
            iban: Some(ACCOUNT.into()),
            currency: "EUR".into(),
            opening_balance: Some(Balance {
                amount: opening,
                currency: "EUR".into(),
                date: date - Days::new(1),
            }),
            closing_balance: Some(Balance {
                amount: balance,
                currency: "EUR".into(),
                date,
            }),
            transactions,
        });
    }
    dk_statement::generate::render_mt940(&statements).into_bytes()
}
