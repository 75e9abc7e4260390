//! SIGTERM to the banksync binary in the middle of an import: the call finishes within the
//! grace period, the events left in the outbox go out after a restart, and bookkeeping decides
//! on every mutation exactly once.
//!
//! Banksync runs as its own process, the real binary, so the signal takes the path it takes in
//! production. Bookkeeping runs in the test's stack on the same PostgreSQL and RabbitMQ.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dk_domain::Decimal;
use dk_proto::banksync::v1 as banksync;
use dk_proto::banksync::v1::bank_sync_service_client::BankSyncServiceClient;
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_proto::common::v1 as common;
use dk_statement::{Balance, Statement, Transaction};
use dk_testkit::{BankSyncClient, Bearer, Stack, TestDatabase};
use futures::{FutureExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement as Sql};

const ACCOUNT: &str = "NL30INGB0008453127";
/// Mutations in the statement: enough that storing them takes longer than the pause before
/// the signal, even in a release build.
const MUTATIONS: usize = 3_000;

/// A banksync process and the lines it writes to standard error.
struct BankSync {
    child: Child,
    logs: mpsc::Receiver<String>,
    address: SocketAddr,
}

impl BankSync {
    /// Starts the binary on `database_url` with the stack's exchanges, and waits until it
    /// listens.
    fn start(database_url: &str, stack: &Stack) -> BankSync {
        let prefix = stack.names.exchange("");
        let mut command = Self::command(database_url);
        command
            .env("DK_BANKSYNC__MESSAGING__AMQP_URL", dk_testkit::amqp_url())
            .env(
                "DK_BANKSYNC__MESSAGING__NAME_PREFIX",
                prefix.trim_end_matches("dk."),
            );
        Self::spawn(command)
    }

    /// Builds the command that runs the binary on `database_url`, with the in-process bus
    /// unless the caller adds a broker.
    fn command(database_url: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dk-banksync"));
        command
            .env_clear()
            .env("DK_BANKSYNC__GRPC__LISTEN", "127.0.0.1:0")
            .env("DK_BANKSYNC__GRPC__SHUTDOWN_GRACE_SECONDS", "30")
            .env("DK_BANKSYNC__DATABASE__URL", database_url)
            // An empty broker URL selects the in-process bus instead of the default broker.
            .env("DK_BANKSYNC__MESSAGING__AMQP_URL", "")
            .env(
                "DK_BANKSYNC__AUTH__TOKEN_SECRET",
                dk_testkit::TEST_TOKEN_SECRET,
            )
            // Debug level for banksync's own logs, which include "statement imported".
            .env(
                "DK_BANKSYNC__TELEMETRY__FILTER",
                "info,sqlx=warn,dk_banksync=debug",
            )
            .env("DK_BANKSYNC__BANK_LINK__SCHEDULER_INTERVAL_SECONDS", "0")
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        command
    }

    /// Starts `command` and waits until the binary listens.
    fn spawn(mut command: Command) -> BankSync {
        let mut child = command.spawn().expect("start dk-banksync");
        let stderr = child.stderr.take().expect("piped standard error");
        let (sender, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let line = wait_for_log(&logs, "listening", Duration::from_secs(60));
        let address = line
            .split("address=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        BankSync {
            child,
            logs,
            address,
        }
    }

    async fn client(&self, stack: &Stack) -> BankSyncClient {
        let channel = dk_testkit::channel(self.address).await.expect("channel");
        let token = format!("Bearer {}", stack.token(stack.organisation));
        BankSyncServiceClient::with_interceptor(
            channel,
            Bearer(Some(token.parse().expect("ASCII token"))),
        )
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits for the process to exit, at most `timeout`.
    fn wait(mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for dk-banksync") {
                let logs = self.logs.try_iter().collect();
                return (status, logs);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("dk-banksync did not exit within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BankSync {
    /// Kills the process when a failed test leaves it running; it has exited otherwise.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_log(logs: &mpsc::Receiver<String>, text: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match logs.recv_timeout(left) {
            Ok(line) if line.contains(text) => return line,
            Ok(line) => seen.push(line),
            Err(error) => panic!("dk-banksync logged no {text:?} ({error}); it logged {seen:#?}"),
        }
    }
}

fn invoice_number(index: usize) -> String {
    format!("2026-{:05}", index + 1)
}

fn invoice_amount(index: usize) -> Decimal {
    Decimal::new(10_000 + index as i64, 2)
}

/// Renders one statement in which mutation `i` pays invoice `i` in full, naming its number.
fn statement_file() -> Vec<u8> {
    let date = NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date");
    let opening = Decimal::new(1_000_000, 2);
    let transactions: Vec<Transaction> = (0..MUTATIONS)
        .map(|index| Transaction {
            booking_date: date,
            value_date: date,
            amount: invoice_amount(index),
            currency: "EUR".into(),
            counterparty_iban: Some("NL43ABNA0472615893".into()),
            counterparty_name: Some("Bakkerij de Vries BV".into()),
            remittance: format!("Factuur {}", invoice_number(index)),
            end_to_end_id: None,
            structured_reference: None,
            structured_reference_valid: None,
            bank_reference: None,
            transaction_code: None,
            reversal: false,
        })
        .collect();
    let closing = opening + transactions.iter().map(|t| t.amount).sum::<Decimal>();
    let statement = Statement {
        statement_id: Some("SIGTERM".into()),
        sequence: Some("00001".into()),
        account: ACCOUNT.into(),
        iban: Some(ACCOUNT.into()),
        currency: "EUR".into(),
        opening_balance: Some(Balance {
            amount: opening,
            currency: "EUR".into(),
            date: date.pred_opt().expect("valid date"),
        }),
        closing_balance: Some(Balance {
            amount: closing,
            currency: "EUR".into(),
            date,
        }),
        transactions,
    };
    dk_statement::generate::render_mt940(&[statement]).into_bytes()
}

async fn create_invoices(stack: &Stack) {
    let client = stack
        .bookkeeping_client(stack.organisation)
        .await
        .expect("bookkeeping client");
    futures::stream::iter(0..MUTATIONS)
        .map(|index| {
            let mut client = client.clone();
            async move {
                client
                    .create_invoice(bookkeeping::CreateInvoiceRequest {
                        idempotency_key: uuid::Uuid::new_v4().to_string(),
                        kind: bookkeeping::InvoiceKind::Sales as i32,
                        number: invoice_number(index),
                        counterparty_name: "Bakkerij de Vries BV".into(),
                        counterparty_iban: "NL43ABNA0472615893".into(),
                        amount: Some(common::Money {
                            amount: invoice_amount(index).to_string(),
                            currency_code: "EUR".into(),
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("create invoice");
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Sql::from_string(db.get_database_backend(), sql))
        .await
        .expect("count query")
        .expect("one row");
    row.try_get_by_index(0).expect("a count")
}

fn import_request(key: &str, content: &[u8]) -> banksync::ImportStatementRequest {
    banksync::ImportStatementRequest {
        idempotency_key: key.to_owned(),
        content: content.to_vec(),
        file_name: "sigterm.940".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_import_loses_nothing() {
    let stack = Stack::start().await.expect("stack");
    let database = TestDatabase::create().await.expect("banksync database");
    // The database is dropped also when the test fails; the stack cleans up after itself.
    let outcome = AssertUnwindSafe(import_with_sigterm(&stack, &database))
        .catch_unwind()
        .await;
    database.drop_database().await.expect("drop database");
    stack.stop().await.expect("stop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn import_with_sigterm(stack: &Stack, database: &TestDatabase) {
    create_invoices(stack).await;
    let content = statement_file();
    let key = uuid::Uuid::new_v4().to_string();

    let first = BankSync::start(&database.url, stack);
    let mut client = first.client(stack).await;
    client
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            iban: ACCOUNT.into(),
            name: "Zakelijke rekening".into(),
        })
        .await
        .expect("register bank account");

    // The signal comes while the import call is in flight.
    let import = tokio::spawn({
        let request = import_request(&key, &content);
        let mut client = client.clone();
        async move { client.import_statement(request).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.terminate();
    let signalled = Instant::now();
    let response = import.await.expect("import task");
    let answered = Instant::now();
    let (status, logs) = tokio::task::spawn_blocking(move || first.wait(Duration::from_secs(60)))
        .await
        .expect("wait task");
    assert!(
        status.success(),
        "dk-banksync exited with {status}: {logs:#?}"
    );
    let response = response.expect("the import in flight completes during the grace period");
    assert!(
        answered > signalled,
        "the import finished before the signal"
    );
    let position = |text: &str| {
        logs.iter()
            .position(|line| line.contains(text))
            .unwrap_or_else(|| panic!("dk-banksync logged no {text:?}: {logs:#?}"))
    };
    assert!(
        position("stopping") < position("statement imported"),
        "the import was stored before the signal, so this run proves nothing; raise MUTATIONS"
    );
    assert_eq!(response.get_ref().imported_count, MUTATIONS as i32);

    // A restart relays whatever the first process left in the outbox, and the retried call
    // returns the stored result without importing again.
    let second = BankSync::start(&database.url, stack);
    let mut client = second.client(stack).await;
    let retried = client
        .import_statement(import_request(&key, &content))
        .await
        .expect("retried import");
    assert_eq!(retried.get_ref().import_id, response.get_ref().import_id);

    let banksync_db = Database::connect(&database.url).await.expect("banksync db");
    let decided = dk_testkit::eventually(Duration::from_secs(120), || {
        let db = stack.bookkeeping_db.clone();
        async move {
            let decided = count(&db, "SELECT count(*) FROM payment_matches").await;
            (decided >= MUTATIONS as i64).then_some(decided)
        }
    })
    .await
    .expect("bookkeeping decides on every mutation");
    // Redelivered events must not add decisions: wait a moment for stragglers.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let bookkeeping_db = &stack.bookkeeping_db;
    assert_eq!(decided, MUTATIONS as i64);
    assert_eq!(
        count(bookkeeping_db, "SELECT count(*) FROM payment_matches").await,
        MUTATIONS as i64
    );
    assert_eq!(
        count(
            bookkeeping_db,
            "SELECT count(DISTINCT mutation_id) FROM payment_matches"
        )
        .await,
        MUTATIONS as i64
    );
    assert_eq!(
        count(
            bookkeeping_db,
            "SELECT count(*) FROM payment_matches WHERE booked"
        )
        .await,
        MUTATIONS as i64
    );
    assert_eq!(
        count(
            bookkeeping_db,
            "SELECT count(*) FROM invoices WHERE open_minor <> 0"
        )
        .await,
        0,
        "every invoice is paid exactly once"
    );
    assert_eq!(
        count(&banksync_db, "SELECT count(*) FROM bank_mutations").await,
        MUTATIONS as i64
    );
    assert_eq!(
        count(&banksync_db, "SELECT count(*) FROM outbox_events").await,
        0
    );

    second.terminate();
    let (status, logs) = tokio::task::spawn_blocking(move || second.wait(Duration::from_secs(60)))
        .await
        .expect("wait task");
    assert!(
        status.success(),
        "dk-banksync exited with {status}: {logs:#?}"
    );
    banksync_db.close().await.expect("close");
}

/// Creates an empty folder for a test's SQLite files.
fn temporary_folder(name: &str) -> std::path::PathBuf {
    let folder = std::env::temp_dir().join(format!(
        "dk-banksync-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&folder).expect("temporary folder");
    folder
}

/// Lists the names of the files in `folder`.
fn files_in(folder: &std::path::Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(folder)
        .expect("folder")
        .map(|entry| entry.expect("entry").file_name())
        .collect()
}

/// A service on SQLite closes its connections when it stops, so SQLite folds the write-ahead log
/// into the database file and removes the `-wal` and `-shm` files.
#[test]
fn sqlite_stop_removes_wal_files() {
    let folder = temporary_folder("stop");
    let database = folder.join("banksync.sqlite");
    let banksync = BankSync::spawn(BankSync::command(&format!(
        "sqlite://{}?mode=rwc",
        database.display()
    )));
    let log = |suffix: &str| folder.join(format!("banksync.sqlite{suffix}"));
    assert!(
        log("-wal").exists(),
        "a running service keeps a write-ahead log"
    );

    banksync.terminate();
    let (status, logs) = banksync.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}: {logs:#?}");
    assert_eq!(
        files_in(&folder),
        vec![std::ffi::OsString::from("banksync.sqlite")]
    );
    std::fs::remove_dir_all(&folder).expect("remove folder");
}

/// A start that fails after the database was opened, here because the gRPC port is taken,
/// closes the database as a stop does.
#[test]
fn sqlite_failed_start_removes_wal_files() {
    let folder = temporary_folder("failed-start");
    let port_holder = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let address = port_holder.local_addr().expect("address").to_string();
    let mut command = BankSync::command(&format!(
        "sqlite://{}?mode=rwc",
        folder.join("banksync.sqlite").display()
    ));
    command.env("DK_BANKSYNC__GRPC__LISTEN", &address);

    let output = command.output().expect("run dk-banksync");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&address), "{stderr}");
    assert_eq!(
        files_in(&folder),
        vec![std::ffi::OsString::from("banksync.sqlite")]
    );
    std::fs::remove_dir_all(&folder).expect("remove folder");
}
