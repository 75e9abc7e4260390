//! Bad input gets a clear error and leaves nothing stored.

use dk_proto::banksync::v1 as banksync;
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_testkit::{BusKind, DatabaseKind, Stack};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use tonic_types::StatusExt;

use crate::*;

async fn count(db: &sea_orm::DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count query")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("count")
}

/// The demo statement with its fourth transaction line broken.
fn broken_statement() -> (Vec<u8>, usize) {
    let text = String::from_utf8(DEMO_STATEMENT.to_vec()).expect("ASCII");
    let broken = text.replacen(":61:2603260326D726,00NTRF", ":61:26XX0326D726,00NTRF", 1);
    let line = broken
        .lines()
        .position(|line| line.starts_with(":61:26XX"))
        .expect("broken line")
        + 1;
    (broken.into_bytes(), line)
}

#[tokio::test]
async fn broken_file_is_rejected_with_its_line() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, _) = demo_organisation(&stack).await;
    let (content, line) = broken_statement();

    let status = import(&mut banksync, &content)
        .await
        .expect_err("broken file");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains(&format!("line {line}")),
        "{}",
        status.message()
    );
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("error info");
    assert_eq!(info.reason, "STATEMENT_UNREADABLE");
    assert_eq!(info.metadata.get("line"), Some(&line.to_string()));

    for table in [
        "statement_imports",
        "bank_statements",
        "bank_mutations",
        "outbox_events",
    ] {
        assert_eq!(
            count(&stack.banksync_db, table).await,
            0,
            "{table} is empty"
        );
    }
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn garbage_and_empty_files_are_rejected() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, _) = demo_organisation(&stack).await;
    // The demo statement cut off inside its first transaction, as a broken download would be.
    let truncated = &DEMO_STATEMENT[..300];
    for content in [
        &b""[..],
        b"\x00\x01\x02 not a statement",
        b"<?xml version=\"1.0\"?><Document><Broken>",
        truncated,
    ] {
        let status = import(&mut banksync, content)
            .await
            .expect_err("unreadable file");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{}",
            status.message()
        );
        assert!(!status.message().is_empty());
    }
    assert_eq!(count(&stack.banksync_db, "bank_mutations").await, 0);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn oversized_file_names_both_sizes() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, _) = demo_organisation(&stack).await;
    // The test stack accepts at most 1 MiB.
    let content = vec![b' '; 1024 * 1024 + 1];
    let status = import(&mut banksync, &content)
        .await
        .expect_err("too large");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("1048577 bytes"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("1048576 bytes"),
        "{}",
        status.message()
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn invalid_iban_names_the_value() {
    let stack = Stack::start().await.expect("stack");
    let mut banksync = stack
        .banksync_client(stack.organisation)
        .await
        .expect("client");
    let status = banksync
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: key(),
            iban: "NL31INGB0008453127".into(),
            name: String::new(),
        })
        .await
        .expect_err("wrong check digits");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = status.get_error_details();
    let violation = &details
        .bad_request()
        .expect("bad request details")
        .field_violations[0];
    assert_eq!(violation.field, "iban");
    assert!(
        violation.description.contains("NL31INGB0008453127"),
        "{}",
        violation.description
    );

    let status = banksync
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: String::new(),
            iban: DEMO_ACCOUNT.into(),
            name: String::new(),
        })
        .await
        .expect_err("missing idempotency key");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("idempotency_key"));

    let first = register(&mut banksync, DEMO_ACCOUNT).await;
    let again = banksync
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: key(),
            iban: "nl30 ingb 0008 4531 27".into(),
            name: "Andere naam".into(),
        })
        .await
        .expect("register again")
        .into_inner();
    assert!(again.already_registered);
    let account = again.bank_account.expect("account");
    assert_eq!(account.id, first.id);
    assert_eq!(account.name, first.name, "the first name stays");

    // A statement whose own IBAN has wrong check digits names the statement and the value.
    let wrong = String::from_utf8_lossy(DEMO_STATEMENT).replace(DEMO_ACCOUNT, "NL31INGB0008453127");
    let status = import(&mut banksync, wrong.as_bytes())
        .await
        .expect_err("statement of an invalid IBAN");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("NL31INGB0008453127"),
        "{}",
        status.message()
    );
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("error info");
    assert_eq!(info.reason, "STATEMENT_IBAN_INVALID");
    assert_eq!(
        info.metadata.get("statement").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        info.metadata.get("account").map(String::as_str),
        Some("NL31INGB0008453127")
    );
    assert_eq!(count(&stack.banksync_db, "bank_mutations").await, 0);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn invalid_invoices_are_rejected() {
    let stack = Stack::start().await.expect("stack");
    let mut bookkeeping = stack
        .bookkeeping_client(stack.organisation)
        .await
        .expect("client");
    let valid = bookkeeping::CreateInvoiceRequest {
        idempotency_key: key(),
        kind: bookkeeping::InvoiceKind::Sales as i32,
        number: "2026-0001".into(),
        counterparty_name: "Bakkerij de Vries BV".into(),
        counterparty_iban: String::new(),
        amount: eur("121.00"),
        issue_date: None,
        due_date: None,
        payment_reference: String::new(),
        ..Default::default()
    };
    let cases = [
        (
            "kind",
            bookkeeping::CreateInvoiceRequest {
                kind: 0,
                ..valid.clone()
            },
        ),
        (
            "number",
            bookkeeping::CreateInvoiceRequest {
                number: "2026 0001".into(),
                ..valid.clone()
            },
        ),
        (
            "amount.amount",
            bookkeeping::CreateInvoiceRequest {
                amount: eur("12,50"),
                ..valid.clone()
            },
        ),
        (
            "amount.amount",
            bookkeeping::CreateInvoiceRequest {
                amount: eur("-5.00"),
                ..valid.clone()
            },
        ),
        (
            "amount.amount",
            bookkeeping::CreateInvoiceRequest {
                amount: eur("1.005"),
                ..valid.clone()
            },
        ),
        (
            "counterparty_iban",
            bookkeeping::CreateInvoiceRequest {
                counterparty_iban: "NL00XXXX".into(),
                ..valid.clone()
            },
        ),
        (
            "counterparty_name",
            bookkeeping::CreateInvoiceRequest {
                counterparty_name: " ".into(),
                ..valid.clone()
            },
        ),
    ];
    for (field, request) in cases {
        let status = bookkeeping
            .create_invoice(bookkeeping::CreateInvoiceRequest {
                idempotency_key: key(),
                ..request
            })
            .await
            .expect_err(field);
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{field}: {}",
            status.message()
        );
        let details = status.get_error_details();
        let violation = &details
            .bad_request()
            .expect("bad request details")
            .field_violations[0];
        assert_eq!(violation.field, field);
    }

    bookkeeping
        .create_invoice(valid.clone())
        .await
        .expect("valid invoice");
    let status = bookkeeping
        .create_invoice(bookkeeping::CreateInvoiceRequest {
            idempotency_key: key(),
            ..valid
        })
        .await
        .expect_err("number taken");
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    assert!(status.message().contains("2026-0001"));
    stack.stop().await.expect("stop");
}

/// Checks that the banksync database rejects a mutation that refers to no account or import,
/// and the deletion, re-keying or truncation of an account or import that mutations refer to.
/// PostgreSQL checks these references per statement (banksync's migration m0006), SQLite by
/// foreign keys.
async fn check_mutation_references(stack: &Stack) {
    let db = &stack.banksync_db;
    let (_, mut banksync, _) = demo_organisation(stack).await;
    import(&mut banksync, DEMO_STATEMENT)
        .await
        .expect("demo import");
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let new_id = if postgres {
        "gen_random_uuid()"
    } else {
        "randomblob(16)"
    };
    let stored = count(db, "bank_mutations").await;
    assert!(stored > 0, "the demo statement stored mutations");

    let copy_with = |column: &str| {
        let columns = "organisation_id, bank_account_id, import_id, booking_date, value_date, \
             amount_minor, currency, counterparty_iban, counterparty_name, remittance, \
             end_to_end_id, structured_reference, bank_reference, transaction_code, reversal, \
             created_at";
        let values = columns.replace(column, new_id);
        format!(
            "INSERT INTO bank_mutations (id, fingerprint, {columns}) \
             SELECT {new_id}, fingerprint || '-copy', {values} FROM bank_mutations"
        )
    };
    // A delete or key change runs after the rows of bank_statements are gone, whose own
    // foreign keys would reject it first. The transaction is rolled back afterwards.
    let clear_statements = Some("DELETE FROM bank_statements");
    let rejected = [
        (
            None,
            copy_with("bank_account_id"),
            "bank_mutations.bank_account_id",
        ),
        (None, copy_with("import_id"), "bank_mutations.import_id"),
        (
            clear_statements,
            "DELETE FROM bank_accounts".to_owned(),
            "referenced by bank_mutations.bank_account_id",
        ),
        (
            clear_statements,
            "DELETE FROM statement_imports".to_owned(),
            "referenced by bank_mutations.import_id",
        ),
        (
            clear_statements,
            format!("UPDATE statement_imports SET id = {new_id}"),
            "cannot change",
        ),
    ];
    for (before, statement, postgres_message) in rejected {
        let transaction = db.begin().await.expect("begin");
        if let Some(before) = before {
            transaction.execute_unprepared(before).await.expect(before);
        }
        let error = transaction
            .execute_unprepared(&statement)
            .await
            .expect_err(&statement);
        transaction.rollback().await.expect("rollback");
        assert_reference_error(db, &statement, &error, postgres_message);
    }
    if postgres {
        assert_truncate_rejected(db, &["bank_accounts", "statement_imports"]).await;
    }
    assert_eq!(count(db, "bank_mutations").await, stored);
    assert!(count(db, "bank_statements").await > 0, "statements kept");
}

#[tokio::test]
async fn mutation_references_are_checked_on_postgres() {
    let stack = Stack::start().await.expect("stack");
    check_mutation_references(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn mutation_references_are_checked_on_sqlite() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_mutation_references(&stack).await;
    stack.stop().await.expect("stop");
}
