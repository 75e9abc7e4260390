//! The documented restore of a logical backup: `pg_dump` of the bookkeeping database, then
//! `createdb` and `pg_restore` into a fresh database, with the same flags as the daily backup job
//! and the restore procedure in k8s/README.md. The restored books must be the same books.

use std::panic::AssertUnwindSafe;
use std::process::Command;

use futures::FutureExt;

use dk_bookkeeping::ledger::reports;
use dk_testkit::{Stack, TestDatabase};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::*;

/// Runs a PostgreSQL client program and fails the test with its output when it fails.
fn run(program: &str, arguments: &[&str]) {
    let output = Command::new(program)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("failed to run {program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {arguments:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn restored_dump_keeps_balances() {
    let stack = Stack::start().await.expect("stack");
    let name = format!("dk_test_restore_{}", uuid::Uuid::new_v4().simple());
    let fresh = TestDatabase {
        url: format!("{}/{name}", dk_testkit::postgres_url()),
        name,
    };
    // The restored database is dropped also when the test fails; the stack cleans up itself.
    let outcome = AssertUnwindSafe(dump_and_restore(&stack, &fresh))
        .catch_unwind()
        .await;
    fresh
        .drop_database()
        .await
        .expect("drop the restored database");
    stack.stop().await.expect("stop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn dump_and_restore(stack: &Stack, fresh: &TestDatabase) {
    let (organisation, mut banksync, mut bookkeeping) = demo_organisation(stack).await;
    import(&mut banksync, DEMO_STATEMENT).await.expect("import");
    wait_for_matches(&mut bookkeeping, 9).await;
    let trial = bookkeeping
        .get_trial_balance(bookkeeping::GetTrialBalanceRequest { through: None })
        .await
        .expect("trial balance")
        .into_inner();
    assert!(!trial.rows.is_empty(), "the demo posts entries");

    let original_db = &stack.bookkeeping_db;
    let row = original_db
        .query_one_raw(Statement::from_string(
            original_db.get_database_backend(),
            "SELECT current_database()",
        ))
        .await
        .expect("query")
        .expect("a row");
    let original: String = row.try_get_by_index(0).expect("database name");
    let server = dk_testkit::postgres_url();
    let dump = std::env::temp_dir().join(format!("dk-restore-{}.dump", uuid::Uuid::new_v4()));
    let dump_path = dump.to_str().expect("UTF-8 path");

    // The backup job's command.
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--no-acl",
            "--file",
            dump_path,
            "--dbname",
            &format!("{server}/{original}"),
        ],
    );
    // The restore procedure: a fresh database, then the dump in one transaction.
    run(
        "createdb",
        &["--host", "127.0.0.1", "--username", "postgres", &fresh.name],
    );
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            &fresh.url,
            dump_path,
        ],
    );
    std::fs::remove_file(&dump).expect("remove the dump");

    let restored = Database::connect(&fresh.url).await.expect("restored db");
    let organisation = organisation.as_uuid();
    let (original_rows, original_digest) = reports::trial_balance(original_db, organisation, None)
        .await
        .expect("original trial balance");
    let (restored_rows, restored_digest) = reports::trial_balance(&restored, organisation, None)
        .await
        .expect("restored trial balance");
    assert_eq!(original_digest, trial.digest);
    assert_eq!(restored_digest, trial.digest);
    assert_eq!(restored_rows, original_rows);
    let rebuilt = reports::rebuilt_balances(&restored, organisation, None)
        .await
        .expect("rebuild the restored balances");
    assert_eq!(reports::digest(&rebuilt), trial.digest);

    // The database's own rules came along: posted lines stay immutable.
    let error = restored
        .execute_unprepared("UPDATE journal_lines SET amount_minor = amount_minor + 1")
        .await
        .expect_err("posted lines cannot change in the restored database");
    assert!(error.to_string().contains("posted"), "{error}");

    restored.close().await.expect("close");
}
