//! Connecting to the service's database: PostgreSQL in production, SQLite embedded.

use std::time::Duration;

use dk_config::DatabaseSettings;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};

/// Opens a connection pool and applies the backend's settings.
///
/// SQLite gets write-ahead logging (readers do not block the writer), enforced foreign keys
/// and a busy timeout, so that concurrent writers wait instead of failing.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose();
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.max_connections)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
        });
    }
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared("SET TIME ZONE 'UTC'").await?;
    }
    Ok(db)
}

/// Begins a transaction that will write.
///
/// On SQLite it takes the write lock at `BEGIN IMMEDIATE`. A deferred transaction that reads
/// first and writes later fails at once with "database is locked" when another connection
/// committed in between, because SQLite cannot upgrade a stale read snapshot; an immediate one
/// waits for the busy timeout instead. PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};

    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Builds connection options for short administrative connections (creating or dropping
/// databases): no statement logging, and a 10 s limit on waiting for a connection.
pub fn admin_options(url: String) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10));
    options
}

/// Brings the schema up to date at start, or, with `migrate_on_start = false`, checks that a
/// separate `dk-<service> migrate` run already did.
pub async fn prepare_schema<M: sea_orm_migration::MigratorTrait>(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    service: &str,
) -> anyhow::Result<()> {
    if settings.migrate_on_start {
        M::up(db, None).await?;
        tracing::info!(service, "database migrated");
        return Ok(());
    }
    let pending: Vec<String> = M::get_pending_migrations(db)
        .await?
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    if !pending.is_empty() {
        anyhow::bail!(
            "the {service} database has {} pending migrations ({}); run `dk-{service} migrate` \
             first, or set database.migrate_on_start = true",
            pending.len(),
            pending.join(", ")
        );
    }
    tracing::info!(service, "database schema is up to date");
    Ok(())
}
