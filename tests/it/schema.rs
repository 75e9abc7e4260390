//! Migrations across releases: during a rolling update the old pods run on a database that the
//! new release's migration Job already migrated.

use std::panic::AssertUnwindSafe;

use dk_config::{DatabaseSettings, Secret};
use dk_runtime::database::{self, SchemaStatus};
use dk_support::migration::Migrator;
use dk_testkit::TestDatabase;
use futures::FutureExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};

const NEWER: &str = "m9999_from_a_newer_release";

fn settings(url: &str, migrate_on_start: bool) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(url),
        max_connections: 2,
        migrate_on_start,
    }
}

async fn execute(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.expect(sql);
}

#[tokio::test]
async fn old_release_runs_on_newer_schema() {
    let test_database = TestDatabase::create().await.expect("database");
    // The database is dropped also when the test fails.
    let outcome = AssertUnwindSafe(migrate_across_releases(&test_database))
        .catch_unwind()
        .await;
    test_database.drop_database().await.expect("drop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn migrate_across_releases(test_database: &TestDatabase) {
    let db = database::connect(&settings(&test_database.url, true))
        .await
        .expect("connect");

    let fresh = database::schema_status::<Migrator>(&db)
        .await
        .expect("status");
    assert!(!fresh.pending.is_empty());
    assert!(fresh.newer.is_empty());
    let applied = database::migrate::<Migrator>(&db, "support")
        .await
        .expect("migrate");
    assert_eq!(applied, fresh.pending.len());

    // A newer release adds a migration; this binary does not know it.
    execute(
        &db,
        &format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{NEWER}', 0)"),
    )
    .await;
    assert_eq!(
        database::schema_status::<Migrator>(&db)
            .await
            .expect("status"),
        SchemaStatus {
            pending: Vec::new(),
            newer: vec![NEWER.to_owned()],
        }
    );
    for migrate_on_start in [false, true] {
        database::prepare_schema::<Migrator>(
            &db,
            &settings(&test_database.url, migrate_on_start),
            "support",
        )
        .await
        .unwrap_or_else(|error| {
            panic!("start with migrate_on_start = {migrate_on_start} failed: {error:#}")
        });
    }
    assert_eq!(
        database::migrate::<Migrator>(&db, "support")
            .await
            .expect("migrate is a no-op"),
        0
    );

    // A database that lacks one of this binary's migrations while holding a newer one cannot
    // be migrated by this binary.
    let first = fresh.pending[0].clone();
    execute(
        &db,
        &format!("DELETE FROM seaql_migrations WHERE version = '{first}'"),
    )
    .await;
    let error = database::migrate::<Migrator>(&db, "support")
        .await
        .expect_err("mixed schema");
    let message = format!("{error:#}");
    assert!(message.contains(NEWER), "{message}");
    assert!(message.contains(&first), "{message}");
    let error =
        database::prepare_schema::<Migrator>(&db, &settings(&test_database.url, false), "support")
            .await
            .expect_err("pending migration");
    assert!(format!("{error:#}").contains(&first), "{error:#}");

    db.close().await.expect("close");
}

/// Bookkeeping's last three migrations of its own on PostgreSQL roll back to the foreign keys,
/// full pages and row trigger they replaced, and apply again.
#[tokio::test]
async fn bookkeeping_reference_checks_roll_back() {
    let test_database = TestDatabase::create().await.expect("database");
    let outcome = AssertUnwindSafe(roll_back_reference_checks(&test_database))
        .catch_unwind()
        .await;
    test_database.drop_database().await.expect("drop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Returns the foreign keys of the tables whose references bookkeeping checks per statement, the
/// reference triggers, the storage options of `journal_entries` and its guard triggers.
async fn reference_state(db: &DatabaseConnection) -> (i64, i64, Option<String>, i64) {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT (SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND conrelid IN \
               ('journal_lines'::regclass, 'payment_bookings'::regclass, \
                'payment_allocations'::regclass)) AS keys, \
             (SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE '%_references_%') AS triggers, \
             (SELECT array_to_string(reloptions, ',') FROM pg_class \
               WHERE relname = 'journal_entries') AS options, \
             (SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE 'journal_entries_guard%') AS guards",
        ))
        .await
        .expect("state")
        .expect("a row");
    (
        row.try_get("", "keys").expect("keys"),
        row.try_get("", "triggers").expect("triggers"),
        row.try_get("", "options").expect("options"),
        row.try_get("", "guards").expect("guards"),
    )
}

async fn roll_back_reference_checks(test_database: &TestDatabase) {
    use dk_bookkeeping::migration::Migrator;
    use sea_orm_migration::MigratorTrait;

    let db = database::connect(&settings(&test_database.url, true))
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("up");
    let checked = (0, 6, Some("fillfactor=50".to_owned()), 3);
    assert_eq!(reference_state(&db).await, checked);

    // The outbox's migration and the invoice change log come after them.
    Migrator::down(&db, Some(5)).await.expect("down");
    assert_eq!(reference_state(&db).await, (6, 0, None, 1));

    Migrator::up(&db, None).await.expect("up again");
    assert_eq!(reference_state(&db).await, checked);
    db.close().await.expect("close");
}

/// Banksync's last migration of its own on PostgreSQL rolls back to the foreign keys of
/// `bank_mutations`, and applies again over a stored mutation. The outbox's migration after it
/// rolls back to a compressed payload column and applies again.
#[tokio::test]
async fn banksync_reference_checks_roll_back() {
    let test_database = TestDatabase::create().await.expect("database");
    let outcome = AssertUnwindSafe(roll_back_mutation_reference_checks(&test_database))
        .catch_unwind()
        .await;
    test_database.drop_database().await.expect("drop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Returns the foreign keys of `bank_mutations`, the triggers that check references, and the
/// storage of the outbox's payload column (`e` uncompressed, `x` compressed).
async fn mutation_reference_state(db: &DatabaseConnection) -> (i64, i64, String) {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT (SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' \
               AND conrelid = 'bank_mutations'::regclass) AS keys, \
             (SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE 'bank_mutations_references_%' \
               OR tgname LIKE 'bank_accounts_referenced_%' \
               OR tgname LIKE 'statement_imports_referenced_%') AS triggers, \
             (SELECT attstorage::text FROM pg_attribute \
               WHERE attrelid = 'outbox_events'::regclass AND attname = 'payload') AS storage",
        ))
        .await
        .expect("state")
        .expect("a row");
    (
        row.try_get("", "keys").expect("keys"),
        row.try_get("", "triggers").expect("triggers"),
        row.try_get("", "storage").expect("storage"),
    )
}

async fn roll_back_mutation_reference_checks(test_database: &TestDatabase) {
    use dk_banksync::migration::Migrator;
    use sea_orm_migration::MigratorTrait;

    let db = database::connect(&settings(&test_database.url, true))
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("up");
    // Two reference triggers on bank_mutations, a delete and a truncate trigger on each parent.
    let checked = (0, 6, "e".to_owned());
    assert_eq!(mutation_reference_state(&db).await, checked);

    Migrator::down(&db, Some(2)).await.expect("down");
    assert_eq!(mutation_reference_state(&db).await, (2, 0, "x".to_owned()));

    // A database of the release before, with an imported mutation, takes the migration.
    execute(
        &db,
        "INSERT INTO bank_accounts (id, organisation_id, iban, name, created_at) \
           VALUES ('00000000-0000-7000-8000-000000000001', gen_random_uuid(), \
             'NL91ABNA0417164300', 'Zakelijk', now()); \
         INSERT INTO statement_imports (id, organisation_id, file_name, format, dialect, \
             content_sha256, byte_size, imported_count, duplicate_count, warnings, created_at) \
           VALUES ('00000000-0000-7000-8000-000000000002', gen_random_uuid(), 'a.940', \
             'mt940', 'ing', '', 1, 1, 0, '', now()); \
         INSERT INTO bank_mutations (id, organisation_id, bank_account_id, import_id, \
             fingerprint, booking_date, value_date, amount_minor, currency, remittance, \
             reversal, created_at) \
           VALUES (gen_random_uuid(), gen_random_uuid(), \
             '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002', \
             'f1', '2026-03-01', '2026-03-01', 100, 'EUR', 'factuur 2026-0001', false, now())",
    )
    .await;
    Migrator::up(&db, None).await.expect("up again");
    assert_eq!(mutation_reference_state(&db).await, checked);

    let error = db
        .execute_unprepared("DELETE FROM bank_accounts")
        .await
        .expect_err("deleting the mutation's account");
    assert!(
        error
            .to_string()
            .contains("referenced by bank_mutations.bank_account_id"),
        "{error}"
    );
    db.close().await.expect("close");
}
