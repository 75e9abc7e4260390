//! Schema of the support database: tickets, their escalations and their time entries.

use sea_orm_migration::prelude::*;

use crate::entity::{
    article, billing_mode, credit_draw, credit_lot, credit_package, escalation, ticket, time_entry,
    usage_statement,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
            Box::new(CreateTickets),
            Box::new(CreateCredit),
            Box::new(CreateUsageStatements),
            Box::new(CreateKnowledgeBase),
            Box::new(dk_messaging::migration::IndexOutboxByProducer),
            Box::new(dk_messaging::migration::StoreSeveralEventsPerOutboxRow),
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

/// Creates billing modes, packages, credit lots and draws.
struct CreateCredit;

impl MigrationName for CreateCredit {
    fn name(&self) -> &str {
        "m0004_credit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCredit {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use billing_mode::Column as Mode;
        manager
            .create_table(
                Table::create()
                    .table(billing_mode::Entity)
                    .col(
                        ColumnDef::new(Mode::OrganisationId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Mode::Mode).string_len(20).not_null())
                    .col(timestamp(Mode::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        use credit_package::Column as Package;
        manager
            .create_table(
                Table::create()
                    .table(credit_package::Entity)
                    .col(ColumnDef::new(Package::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Package::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Package::Product).string_len(32).not_null())
                    .col(timestamp(Package::StartedAt))
                    .to_owned(),
            )
            .await?;

        use credit_lot::Column as Lot;
        manager
            .create_table(
                Table::create()
                    .table(credit_lot::Entity)
                    .col(ColumnDef::new(Lot::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Lot::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Lot::Product).string_len(32).not_null())
                    .col(ColumnDef::new(Lot::PackageId).uuid())
                    .col(ColumnDef::new(Lot::Period).string_len(7))
                    .col(timestamp(Lot::PurchasedAt))
                    .col(
                        ColumnDef::new(Lot::HourlyRateMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Lot::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Lot::TotalMinutes).integer().not_null())
                    .col(
                        ColumnDef::new(Lot::RemainingMinutes)
                            .integer()
                            .not_null()
                            .check(Expr::col(Lot::RemainingMinutes).gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("credit_lots_package_period")
                    .table(credit_lot::Entity)
                    .col(Lot::PackageId)
                    .col(Lot::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("credit_lots_organisation_purchased_at")
                    .table(credit_lot::Entity)
                    .col(Lot::OrganisationId)
                    .col(Lot::PurchasedAt)
                    .to_owned(),
            )
            .await?;

        use credit_draw::Column as Draw;
        manager
            .create_table(
                Table::create()
                    .table(credit_draw::Entity)
                    .col(ColumnDef::new(Draw::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Draw::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Draw::LotId).uuid())
                    .col(ColumnDef::new(Draw::TicketId).uuid().not_null())
                    .col(ColumnDef::new(Draw::TimeEntryId).uuid().not_null())
                    .col(ColumnDef::new(Draw::Minutes).integer().not_null())
                    .col(timestamp(Draw::DrawnAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("credit_draws_organisation_drawn_at")
                    .table(credit_draw::Entity)
                    .col(Draw::OrganisationId)
                    .col(Draw::DrawnAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "credit_draws",
            "credit_lots",
            "credit_packages",
            "billing_modes",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Creates the monthly post-calculation statements.
struct CreateUsageStatements;

impl MigrationName for CreateUsageStatements {
    fn name(&self) -> &str {
        "m0005_usage_statements"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateUsageStatements {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use usage_statement::Column as Statement;
        manager
            .create_table(
                Table::create()
                    .table(usage_statement::Entity)
                    .col(
                        ColumnDef::new(Statement::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Statement::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Statement::Month).string_len(7).not_null())
                    .col(
                        ColumnDef::new(Statement::TotalMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Statement::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Statement::Lines).text().not_null())
                    .col(timestamp(Statement::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("usage_statements_organisation_month")
                    .table(usage_statement::Entity)
                    .col(Statement::OrganisationId)
                    .col(Statement::Month)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("usage_statements"))
                    .to_owned(),
            )
            .await
    }
}

/// Creates the knowledge base and its full-text index: a generated `tsvector` with a GIN index on
/// PostgreSQL (Dutch or English configuration by the article's language), an FTS5 table of
/// stemmed words on SQLite.
struct CreateKnowledgeBase;

impl MigrationName for CreateKnowledgeBase {
    fn name(&self) -> &str {
        "m0006_knowledge_base"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateKnowledgeBase {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use article::Column as Article;
        manager
            .create_table(
                Table::create()
                    .table(article::Entity)
                    .col(ColumnDef::new(Article::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Article::Module).string_len(40).not_null())
                    .col(ColumnDef::new(Article::Page).string_len(200).not_null())
                    .col(ColumnDef::new(Article::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Article::Body).text().not_null())
                    .col(ColumnDef::new(Article::VideoUrl).string_len(500))
                    .col(ColumnDef::new(Article::Language).string_len(2).not_null())
                    .col(ColumnDef::new(Article::Views).big_integer().not_null())
                    .col(timestamp(Article::CreatedAt))
                    .col(timestamp(Article::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("kb_articles_module_language_views")
                    .table(article::Entity)
                    .col(Article::Module)
                    .col(Article::Language)
                    .col(Article::Views)
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                connection
                    .execute_unprepared(
                        "ALTER TABLE kb_articles ADD COLUMN search_vector tsvector GENERATED \
                         ALWAYS AS (to_tsvector(CASE WHEN language = 'en' THEN \
                         'english'::regconfig ELSE 'dutch'::regconfig END, title || ' ' || body)) \
                         STORED",
                    )
                    .await?;
                connection
                    .execute_unprepared(
                        "CREATE INDEX kb_articles_search ON kb_articles USING GIN (search_vector)",
                    )
                    .await?;
            }
            _ => {
                connection
                    .execute_unprepared(
                        "CREATE VIRTUAL TABLE kb_article_terms USING fts5(article_id UNINDEXED, \
                         terms)",
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TABLE IF EXISTS kb_article_terms")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Alias::new("kb_articles")).to_owned())
            .await
    }
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
