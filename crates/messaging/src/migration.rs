//! Tables of the outbox and the processed-event record; each service's migrator includes them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

/// Creates `outbox_events` and `processed_events`.
pub struct CreateMessagingTables;

impl MigrationName for CreateMessagingTables {
    fn name(&self) -> &str {
        "m0001_messaging_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateMessagingTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(OutboxEvents::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::Id)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(OutboxEvents::Producer).string().not_null())
                    .col(ColumnDef::new(OutboxEvents::EventType).string().not_null())
                    .col(ColumnDef::new(OutboxEvents::Source).string().not_null())
                    .col(
                        ColumnDef::new(OutboxEvents::OrganisationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::Time)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutboxEvents::Payload).blob().not_null())
                    .col(ColumnDef::new(OutboxEvents::Traceparent).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProcessedEvents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ProcessedEvents::Consumer)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ProcessedEvents::EventId).uuid().not_null())
                    .col(
                        ColumnDef::new(ProcessedEvents::ProcessedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ProcessedEvents::Consumer)
                            .col(ProcessedEvents::EventId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProcessedEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxEvents::Table).to_owned())
            .await
    }
}

/// Indexes the outbox by producer and sequence, the order in which the relay reads it.
///
/// With the primary key on `seq` alone and no statistics yet, PostgreSQL read a large outbox in
/// full and sorted it, payloads included, for every batch the relay took. So the relay slowed
/// down as the outbox grew. This index returns a batch in order without sorting.
pub struct IndexOutboxByProducer;

impl MigrationName for IndexOutboxByProducer {
    fn name(&self) -> &str {
        "messaging_0002_outbox_producer_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for IndexOutboxByProducer {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_producer_seq")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::Producer)
                    .col(OutboxEvents::Seq)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("outbox_events_producer_seq")
                    .table(OutboxEvents::Table)
                    .to_owned(),
            )
            .await
    }
}

/// Lets an outbox row hold several events ([`crate::outbox::StoredEvents`]), counted in
/// `event_count`. Rows written before hold one event each, so the column starts at 1.
///
/// On PostgreSQL the payload column is stored uncompressed. A row of 500 events is about 200 KB
/// and is usually deleted a fraction of a second after its insert, so compressing and decompressing it
/// would cost more CPU than the disk space is worth.
pub struct StoreSeveralEventsPerOutboxRow;

impl MigrationName for StoreSeveralEventsPerOutboxRow {
    fn name(&self) -> &str {
        "messaging_0003_several_events_per_outbox_row"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for StoreSeveralEventsPerOutboxRow {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvents::Table)
                    .add_column(
                        ColumnDef::new(OutboxEvents::EventCount)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE outbox_events ALTER COLUMN payload SET STORAGE EXTERNAL",
                )
                .await?;
        }
        Ok(())
    }

    /// Fails while rows of several events are waiting, because the table before this migration
    /// cannot store them and dropping them would lose their events.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        let waiting = connection
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT count(*) FROM outbox_events WHERE event_count > 1",
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if waiting > 0 {
            return Err(DbErr::Migration(format!(
                "{waiting} outbox rows contain several events each, which the table before \
                 messaging_0003 cannot store; let the relay publish them, then migrate down"
            )));
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            connection
                .execute_unprepared(
                    "ALTER TABLE outbox_events ALTER COLUMN payload SET STORAGE EXTENDED",
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvents::Table)
                    .drop_column(OutboxEvents::EventCount)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Seq,
    Id,
    Producer,
    EventType,
    Source,
    OrganisationId,
    Time,
    Payload,
    Traceparent,
    EventCount,
}

#[derive(DeriveIden)]
enum ProcessedEvents {
    Table,
    Consumer,
    EventId,
    ProcessedAt,
}
