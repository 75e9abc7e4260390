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

/// The difference between a database's applied migrations and those compiled into a binary.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Migrations of this binary that the database lacks, in order.
    pub pending: Vec<String>,
    /// Applied migrations that this binary does not know: a newer release applied them.
    pub newer: Vec<String>,
}

/// Compares the applied migrations with those of `M`, creating the migrations table if missing.
///
/// sea-orm-migration's own status calls fail when the database contains a migration that the
/// binary lacks, which is the normal state for the old pods of a rolling update.
pub async fn schema_status<M: sea_orm_migration::MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<SchemaStatus, DbErr> {
    let applied: std::collections::HashSet<String> = M::get_migration_models(db)
        .await?
        .into_iter()
        .map(|model| model.version)
        .collect();
    let known: Vec<String> = M::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let pending = known
        .iter()
        .filter(|name| !applied.contains(*name))
        .cloned()
        .collect();
    let mut newer: Vec<String> = applied
        .into_iter()
        .filter(|name| !known.contains(name))
        .collect();
    newer.sort();
    Ok(SchemaStatus { pending, newer })
}

/// Applies the pending migrations of `M`; returns how many it applied.
///
/// A database that a newer release already migrated is left alone when nothing of this
/// binary is pending, so that old and new pods share it during a rolling update.
pub async fn migrate<M: sea_orm_migration::MigratorTrait>(
    db: &DatabaseConnection,
    service: &str,
) -> anyhow::Result<usize> {
    let status = schema_status::<M>(db).await?;
    warn_if_newer(&status, service);
    if status.pending.is_empty() {
        return Ok(0);
    }
    if !status.newer.is_empty() {
        anyhow::bail!(
            "the {service} database has migrations of a newer release ({}) but lacks {} of this              one; migrate it with the newer release's `dk-{service} migrate`",
            status.newer.join(", "),
            status.pending.join(", ")
        );
    }
    M::up(db, None).await?;
    Ok(status.pending.len())
}

fn warn_if_newer(status: &SchemaStatus, service: &str) {
    if !status.newer.is_empty() {
        tracing::warn!(
            service,
            newer = status.newer.join(", "),
            "the database has migrations of a newer release; running on its schema"
        );
    }
}

/// Brings the schema up to date at start, or, with `migrate_on_start = false`, checks that a
/// separate `dk-<service> migrate` run already did.
pub async fn prepare_schema<M: sea_orm_migration::MigratorTrait>(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    service: &str,
) -> anyhow::Result<()> {
    if settings.migrate_on_start {
        let applied = migrate::<M>(db, service).await?;
        tracing::info!(service, applied, "database migrated");
        return Ok(());
    }
    let status = schema_status::<M>(db).await?;
    warn_if_newer(&status, service);
    if !status.pending.is_empty() {
        anyhow::bail!(
            "the {service} database has {} pending migrations ({}); run `dk-{service} migrate` \
             first, or set database.migrate_on_start = true",
            status.pending.len(),
            status.pending.join(", ")
        );
    }
    tracing::info!(service, "database schema is up to date");
    Ok(())
}
