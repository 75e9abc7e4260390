//! Which database errors count as conflicts that a service retries, read off real PostgreSQL
//! errors.

use dk_runtime::status::{from_db, is_retryable};
use dk_testkit::TestDatabase;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};

async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(1).sqlx_logging(false);
    Database::connect(options).await.expect("PostgreSQL")
}

#[tokio::test]
async fn deadlock_and_lock_timeout_are_conflicts() {
    let test_database = TestDatabase::create().await.expect("database");
    let first = connect(&test_database.url).await;
    let second = connect(&test_database.url).await;
    first
        .execute_unprepared(
            "CREATE TABLE rows (id int PRIMARY KEY); INSERT INTO rows VALUES (1), (2)",
        )
        .await
        .expect("table");

    // Two transactions lock the rows in opposite orders; PostgreSQL aborts one of them.
    let first_transaction = first.begin().await.expect("begin");
    let second_transaction = second.begin().await.expect("begin");
    first_transaction
        .execute_unprepared("UPDATE rows SET id = id WHERE id = 1")
        .await
        .expect("lock 1");
    second_transaction
        .execute_unprepared("UPDATE rows SET id = id WHERE id = 2")
        .await
        .expect("lock 2");
    let (left, right) = tokio::join!(
        first_transaction.execute_unprepared("UPDATE rows SET id = id WHERE id = 2"),
        second_transaction.execute_unprepared("UPDATE rows SET id = id WHERE id = 1"),
    );
    let deadlock = match (left, right) {
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => error,
        other => panic!("expected one deadlock, got {other:?}"),
    };
    assert!(is_retryable(&deadlock), "{deadlock}");
    assert_eq!(from_db("testing", deadlock).code(), tonic::Code::Aborted);
    drop((first_transaction, second_transaction));

    // A lock wait that runs into lock_timeout.
    let holder = first.begin().await.expect("begin");
    holder
        .execute_unprepared("UPDATE rows SET id = id WHERE id = 1")
        .await
        .expect("lock");
    let waiter = second.begin().await.expect("begin");
    let timeout = waiter
        .execute_unprepared("SET LOCAL lock_timeout = '50ms'; UPDATE rows SET id = id WHERE id = 1")
        .await
        .expect_err("lock timeout");
    assert!(is_retryable(&timeout), "{timeout}");
    drop((holder, waiter));

    // A duplicate key is no conflict: running the request again fails the same way.
    let duplicate = first
        .execute_unprepared("INSERT INTO rows VALUES (1)")
        .await
        .expect_err("duplicate");
    assert!(!is_retryable(&duplicate), "{duplicate}");

    first.close().await.expect("close");
    second.close().await.expect("close");
    test_database.drop_database().await.expect("drop");
}
