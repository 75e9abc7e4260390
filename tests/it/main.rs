//! End-to-end tests: banksync, bookkeeping, billing and support on real PostgreSQL and RabbitMQ.

mod bank_link;
mod conflicts;
mod credits;
mod csv_import;
mod flow;
mod isolation;
mod knowledge;
mod ledger;
mod licence;
mod messaging;
mod money;
mod quote;
mod rejection;
mod restore;
mod schema;
mod support;
mod tickets;

use std::time::Duration;

use dk_domain::OrganisationId;
use dk_proto::banksync::v1 as banksync;
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_proto::common::v1 as common;
use dk_testkit::{BankSyncClient, BookkeepingClient, Stack};

/// The fictional ING statement that `dk demo` imports: nine mutations on NL30INGB0008453127.
pub const DEMO_STATEMENT: &[u8] = include_bytes!("../../crates/cli/demo/ing-2026-03.940");
pub const DEMO_ACCOUNT: &str = "NL30INGB0008453127";

/// How long a test waits for events to travel from banksync to bookkeeping.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn eur(amount: &str) -> Option<common::Money> {
    Some(common::Money {
        amount: amount.into(),
        currency_code: "EUR".into(),
    })
}

pub async fn register(client: &mut BankSyncClient, iban: &str) -> banksync::BankAccount {
    client
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: key(),
            iban: iban.into(),
            name: "Zakelijke rekening".into(),
        })
        .await
        .expect("register bank account")
        .into_inner()
        .bank_account
        .expect("account in response")
}

pub async fn import(
    client: &mut BankSyncClient,
    content: &[u8],
) -> Result<banksync::ImportStatementResponse, tonic::Status> {
    client
        .import_statement(banksync::ImportStatementRequest {
            idempotency_key: key(),
            content: content.to_vec(),
            file_name: "statement.940".into(),
            format: banksync::StatementFormat::Unspecified as i32,
            dialect: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn create_invoice(
    client: &mut BookkeepingClient,
    kind: bookkeeping::InvoiceKind,
    number: &str,
    amount: &str,
    counterparty_iban: &str,
    payment_reference: &str,
) -> bookkeeping::Invoice {
    client
        .create_invoice(bookkeeping::CreateInvoiceRequest {
            idempotency_key: key(),
            kind: kind as i32,
            number: number.into(),
            counterparty_name: format!("Relatie {number}"),
            counterparty_iban: counterparty_iban.into(),
            amount: eur(amount),
            issue_date: None,
            due_date: None,
            payment_reference: payment_reference.into(),
            ..Default::default()
        })
        .await
        .expect("create invoice")
        .into_inner()
        .invoice
        .expect("invoice in response")
}

/// Creates the open invoices that the demo statement pays.
pub async fn create_demo_invoices(client: &mut BookkeepingClient) {
    use bookkeeping::InvoiceKind::{Purchase, Sales};
    let invoices = [
        (Sales, "2026-0012", "1210.00", "NL43ABNA0472615893", ""),
        (Sales, "2026-0013", "1815.00", "NL57RABO0318264759", ""),
        (Sales, "2026-0014", "363.00", "NL16INGB0006382914", ""),
        (Sales, "2026-0015", "484.00", "NL16INGB0006382914", ""),
        (Sales, "2026-0016", "60.50", "NL33RABO0162738495", ""),
        (
            Sales,
            "2026-0017",
            "423.50",
            "NL29SNSB0937261845",
            "7000020260017001",
        ),
        (Purchase, "INK-2026-104", "726.00", "NL76TRIO0254836197", ""),
    ];
    for (kind, number, amount, iban, reference) in invoices {
        create_invoice(client, kind, number, amount, iban, reference).await;
    }
}

pub async fn matches(
    client: &mut BookkeepingClient,
    unmatched_only: bool,
) -> Vec<bookkeeping::Match> {
    client
        .list_matches(bookkeeping::ListMatchesRequest {
            unmatched_only,
            page_size: 500,
            page_token: String::new(),
        })
        .await
        .expect("list matches")
        .into_inner()
        .matches
}

/// Waits until bookkeeping has decided on `count` mutations.
pub async fn wait_for_matches(
    client: &mut BookkeepingClient,
    count: usize,
) -> Vec<bookkeeping::Match> {
    let mut last = Vec::new();
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        last = matches(client, false).await;
        if last.len() >= count {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {count} decisions within {EVENT_TIMEOUT:?}, found {}",
        last.len()
    );
}

pub async fn invoices(client: &mut BookkeepingClient) -> Vec<bookkeeping::Invoice> {
    client
        .list_invoices(bookkeeping::ListInvoicesRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list invoices")
        .into_inner()
        .invoices
}

pub fn open_amount(invoices: &[bookkeeping::Invoice], number: &str) -> String {
    invoices
        .iter()
        .find(|invoice| invoice.number == number)
        .and_then(|invoice| invoice.open_amount.clone())
        .map(|money| money.amount)
        .unwrap_or_else(|| panic!("invoice {number} not listed"))
}

/// Sets up an organisation with the demo account and invoices on a started stack.
pub async fn demo_organisation(
    stack: &Stack,
) -> (OrganisationId, BankSyncClient, BookkeepingClient) {
    let organisation = stack.organisation;
    let mut banksync = stack
        .banksync_client(organisation)
        .await
        .expect("banksync client");
    let mut bookkeeping = stack
        .bookkeeping_client(organisation)
        .await
        .expect("bookkeeping client");
    register(&mut banksync, DEMO_ACCOUNT).await;
    create_demo_invoices(&mut bookkeeping).await;
    (organisation, banksync, bookkeeping)
}

/// Moves a support ticket's opening time back by `days`, for tests that log work of earlier
/// days (work before a ticket was opened is rejected).
pub async fn backdate_ticket(stack: &Stack, ticket_id: &str, days: i64) {
    backdate_row(stack, "tickets", "opened_at", ticket_id, days).await;
}

/// Moves a row's timestamp column in support's database back by `days`.
pub async fn backdate_row(stack: &Stack, table: &str, column: &str, id: &str, days: i64) {
    use sea_orm::ConnectionTrait;

    let backend = stack.support_db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            format!("UPDATE {table} SET {column} = $1 WHERE id = $2")
        }
        _ => format!("UPDATE {table} SET {column} = ? WHERE id = ?"),
    };
    let when = chrono::Utc::now() - chrono::Duration::days(days);
    let id = uuid::Uuid::parse_str(id).expect("row id");
    stack
        .support_db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [when.into(), id.into()],
        ))
        .await
        .expect("backdate the row");
}

/// Asserts that the database rejected `statement` for a broken reference: on PostgreSQL with a
/// message containing `postgres_message`, on SQLite by a foreign key.
pub fn assert_reference_error(
    db: &sea_orm::DatabaseConnection,
    statement: &str,
    error: &sea_orm::DbErr,
    postgres_message: &str,
) {
    let expected = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        postgres_message
    } else {
        "FOREIGN KEY constraint failed"
    };
    assert!(error.to_string().contains(expected), "{statement}: {error}");
}

/// Asserts that PostgreSQL rejects `TRUNCATE` of each of `tables`, which rows elsewhere refer to.
pub async fn assert_truncate_rejected(db: &sea_orm::DatabaseConnection, tables: &[&str]) {
    use sea_orm::ConnectionTrait;

    for table in tables {
        let statement = format!("TRUNCATE {table}");
        let error = db
            .execute_unprepared(&statement)
            .await
            .expect_err(&statement);
        assert!(
            error.to_string().to_lowercase().contains("truncate"),
            "{statement}: {error}"
        );
    }
}
