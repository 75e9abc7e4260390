//! Schema of the support database: tickets, their escalations and their time entries.

use sea_orm_migration::prelude::*;

use crate::entity::{escalation, ticket, time_entry};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
            Box::new(CreateTickets),
        ]
    }
}

struct CreateTickets;

impl MigrationName for CreateTickets {
    fn name(&self) -> &str {
        "m0003_tickets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTickets {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ticket::Column as Ticket;
        manager
            .create_table(
                Table::create()
                    .table(ticket::Entity)
                    .col(ColumnDef::new(Ticket::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Ticket::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Ticket::Subject).string_len(200).not_null())
                    .col(ColumnDef::new(Ticket::Channel).string_len(8).not_null())
                    .col(ColumnDef::new(Ticket::Line).integer().not_null())
                    .col(ColumnDef::new(Ticket::Status).string_len(16).not_null())
                    .col(timestamp(Ticket::OpenedAt))
                    .col(timestamp(Ticket::ResponseDue))
                    .col(timestamp(Ticket::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("tickets_organisation_opened_at")
                    .table(ticket::Entity)
                    .col(Ticket::OrganisationId)
                    .col(Ticket::OpenedAt)
                    .to_owned(),
            )
            .await?;

        use escalation::Column as Escalation;
        manager
            .create_table(
                Table::create()
                    .table(escalation::Entity)
                    .col(
                        ColumnDef::new(Escalation::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Escalation::TicketId).uuid().not_null())
                    .col(ColumnDef::new(Escalation::FromLine).integer().not_null())
                    .col(ColumnDef::new(Escalation::ToLine).integer().not_null())
                    .col(ColumnDef::new(Escalation::EscalatedBy).string().not_null())
                    .col(timestamp(Escalation::EscalatedAt))
                    .col(ColumnDef::new(Escalation::CustomerAgreedBy).string())
                    .col(ColumnDef::new(Escalation::CustomerAgreedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ticket_escalations_ticket")
                    .table(escalation::Entity)
                    .col(Escalation::TicketId)
                    .to_owned(),
            )
            .await?;

        use time_entry::Column as Entry;
        manager
            .create_table(
                Table::create()
                    .table(time_entry::Entity)
                    .col(ColumnDef::new(Entry::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Entry::TicketId).uuid().not_null())
                    .col(ColumnDef::new(Entry::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Entry::Agent).string().not_null())
                    .col(ColumnDef::new(Entry::WorkDate).date().not_null())
                    .col(ColumnDef::new(Entry::Minutes).integer().not_null())
                    .col(ColumnDef::new(Entry::Description).text().not_null())
                    .col(ColumnDef::new(Entry::Line).integer().not_null())
                    .col(ColumnDef::new(Entry::Billable).boolean().not_null())
                    .col(timestamp(Entry::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("time_entries_organisation_work_date")
                    .table(time_entry::Entity)
                    .col(Entry::OrganisationId)
                    .col(Entry::WorkDate)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["time_entries", "ticket_escalations", "tickets"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
