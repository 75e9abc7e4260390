//! Schema of the billing database, and the seed of its catalogue.

use chrono::Utc;
use dk_pricing::Catalogue;
use sea_orm::{EntityTrait, IntoActiveModel};
use sea_orm_migration::prelude::*;

use crate::entity::{catalogue_item, quote};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
            Box::new(CreateCatalogueItems),
            Box::new(CreateQuotes),
        ]
    }
}

/// Creates `catalogue_items` and fills it with the default Dutch catalogue. Later price changes
/// are new rows, never a change to this migration.
struct CreateCatalogueItems;

impl MigrationName for CreateCatalogueItems {
    fn name(&self) -> &str {
        "m0003_catalogue_items"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCatalogueItems {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use catalogue_item::Column as Item;
        manager
            .create_table(
                Table::create()
                    .table(catalogue_item::Entity)
                    .col(
                        ColumnDef::new(Item::Position)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Item::Entry).string_len(32).not_null())
                    .col(ColumnDef::new(Item::Code).string().not_null())
                    .col(ColumnDef::new(Item::EffectiveFrom).date().not_null())
                    .col(ColumnDef::new(Item::Definition).text().not_null())
                    .col(
                        ColumnDef::new(Item::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalogue_items_entry_code_effective_from")
                    .table(catalogue_item::Entity)
                    .col(Item::Entry)
                    .col(Item::Code)
                    .col(Item::EffectiveFrom)
                    .unique()
                    .to_owned(),
            )
            .await?;

        let rows = crate::catalogue::rows(&Catalogue::default_nl(), Utc::now());
        catalogue_item::Entity::insert_many(
            rows.into_iter().map(IntoActiveModel::into_active_model),
        )
        .exec(manager.get_connection())
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(catalogue_item::Entity).to_owned())
            .await
    }
}

struct CreateQuotes;

impl MigrationName for CreateQuotes {
    fn name(&self) -> &str {
        "m0004_quotes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateQuotes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use quote::Column as Quote;
        manager
            .create_table(
                Table::create()
                    .table(quote::Entity)
                    .col(ColumnDef::new(Quote::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Quote::OrganisationId).uuid().not_null())
                    .col(
                        ColumnDef::new(Quote::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Quote::ValidUntil).date().not_null())
                    .col(ColumnDef::new(Quote::Language).string_len(2).not_null())
                    .col(ColumnDef::new(Quote::Basket).text().not_null())
                    .col(ColumnDef::new(Quote::Quote).text().not_null())
                    .col(ColumnDef::new(Quote::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Quote::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Quote::NetMinor).big_integer().not_null())
                    .col(ColumnDef::new(Quote::VatMinor).big_integer().not_null())
                    .col(ColumnDef::new(Quote::TotalMinor).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("quotes_organisation_created_at")
                    .table(quote::Entity)
                    .col(Quote::OrganisationId)
                    .col(Quote::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(quote::Entity).to_owned())
            .await
    }
}
