//! Schema of the bookkeeping database.

use sea_orm_migration::prelude::*;

use crate::entity::{allocation, invoice, payment_match};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
            Box::new(CreateInvoiceTables),
        ]
    }
}

struct CreateInvoiceTables;

impl MigrationName for CreateInvoiceTables {
    fn name(&self) -> &str {
        "m0003_invoice_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInvoiceTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use invoice::Column as Invoice;
        manager
            .create_table(
                Table::create()
                    .table(invoice::Entity)
                    .col(ColumnDef::new(Invoice::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Invoice::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Invoice::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Invoice::Number).string().not_null())
                    .col(ColumnDef::new(Invoice::NumberKey).string().not_null())
                    .col(
                        ColumnDef::new(Invoice::CounterpartyName)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invoice::CounterpartyIban).string().null())
                    .col(ColumnDef::new(Invoice::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(Invoice::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invoice::OpenMinor).big_integer().not_null())
                    .col(ColumnDef::new(Invoice::IssueDate).date().not_null())
                    .col(ColumnDef::new(Invoice::DueDate).date().not_null())
                    .col(ColumnDef::new(Invoice::PaymentReference).string().null())
                    .col(
                        ColumnDef::new(Invoice::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invoice::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(Invoice::OpenMinor).gte(0))
                    .check(Expr::col(Invoice::OpenMinor).lte(Expr::col(Invoice::AmountMinor)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoices_organisation_kind_number")
                    .table(invoice::Entity)
                    .col(Invoice::OrganisationId)
                    .col(Invoice::Kind)
                    .col(Invoice::NumberKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // NULL references do not collide with each other on either database.
        manager
            .create_index(
                Index::create()
                    .name("invoices_organisation_payment_reference")
                    .table(invoice::Entity)
                    .col(Invoice::OrganisationId)
                    .col(Invoice::PaymentReference)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use payment_match::Column as Match;
        manager
            .create_table(
                Table::create()
                    .table(payment_match::Entity)
                    .col(ColumnDef::new(Match::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Match::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Match::MutationId).uuid().not_null())
                    .col(ColumnDef::new(Match::EventId).uuid().not_null())
                    .col(ColumnDef::new(Match::BankAccountId).uuid().not_null())
                    .col(ColumnDef::new(Match::BookingDate).date().not_null())
                    .col(ColumnDef::new(Match::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(Match::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Match::CounterpartyIban).string().null())
                    .col(ColumnDef::new(Match::CounterpartyName).string().null())
                    .col(ColumnDef::new(Match::Remittance).text().not_null())
                    .col(ColumnDef::new(Match::Outcome).string_len(32).not_null())
                    .col(ColumnDef::new(Match::Booked).boolean().not_null())
                    .col(ColumnDef::new(Match::Decision).text().not_null())
                    .col(
                        ColumnDef::new(Match::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payment_matches_organisation_mutation")
                    .table(payment_match::Entity)
                    .col(Match::OrganisationId)
                    .col(Match::MutationId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use allocation::Column as Allocation;
        manager
            .create_table(
                Table::create()
                    .table(allocation::Entity)
                    .col(
                        ColumnDef::new(Allocation::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Allocation::MatchId).uuid().not_null())
                    .col(ColumnDef::new(Allocation::InvoiceId).uuid().not_null())
                    .col(
                        ColumnDef::new(Allocation::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Allocation::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(allocation::Entity, Allocation::MatchId)
                            .to(payment_match::Entity, Match::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(allocation::Entity, Allocation::InvoiceId)
                            .to(invoice::Entity, Invoice::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payment_allocations_invoice")
                    .table(allocation::Entity)
                    .col(Allocation::InvoiceId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Table::drop().table(allocation::Entity).to_owned(),
            Table::drop().table(payment_match::Entity).to_owned(),
            Table::drop().table(invoice::Entity).to_owned(),
        ] {
            manager.drop_table(table).await?;
        }
        Ok(())
    }
}
