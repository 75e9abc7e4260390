//! Tables of the outbox and the processed-event record; each service's migrator includes them.

use sea_orm_migration::prelude::*;

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
}

#[derive(DeriveIden)]
enum ProcessedEvents {
    Table,
    Consumer,
    EventId,
    ProcessedAt,
}
