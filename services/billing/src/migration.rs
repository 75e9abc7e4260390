//! Schema of the billing database, and the seed of its catalogue.

use chrono::Utc;
use dk_pricing::Catalogue;
use sea_orm::{EntityTrait, IntoActiveModel};
use sea_orm_migration::prelude::*;

use crate::entity::{
    billing_details, catalogue_item, credited_line, custom_user_price, invoice, invoice_line,
    invoice_payment, invoice_series, licence, licence_charge, licence_period, licence_version,
    quote,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
            Box::new(CreateCatalogueItems),
            Box::new(CreateQuotes),
            Box::new(CreateLicences),
            Box::new(CreateInvoices),
            Box::new(dk_messaging::migration::IndexOutboxByProducer),
            Box::new(KeyQuotesByIdempotencyKey),
            Box::new(TrackUndonePayments),
            Box::new(HashQuoteRequestsCanonically),
            Box::new(dk_messaging::migration::StoreSeveralEventsPerOutboxRow),
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

/// Stores the idempotency key of a quote in its own row.
///
/// Before, each `CreateQuote` also wrote its key and a copy of its response to
/// `idempotency_keys`, which doubled what a quote stored. The keys of earlier quotes move into
/// the quote rows: the quote id is read from the stored response.
struct KeyQuotesByIdempotencyKey;

impl MigrationName for KeyQuotesByIdempotencyKey {
    fn name(&self) -> &str {
        "m0007_quote_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for KeyQuotesByIdempotencyKey {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use dk_runtime::idempotency;
        use prost::Message;
        use quote::Column as Quote;
        use sea_orm::{ColumnTrait, QueryFilter};

        add_columns(
            manager,
            quote::Entity,
            [Quote::IdempotencyKey, Quote::RequestHash]
                .map(|column| ColumnDef::new(column).text().null().to_owned()),
        )
        .await?;
        let db = manager.get_connection();
        let earlier = idempotency::Entity::find()
            .filter(idempotency::Column::Method.eq(crate::quote_writer::METHOD))
            .all(db)
            .await?;
        for key in &earlier {
            let response = dk_proto::billing::v1::CreateQuoteResponse::decode(&key.response[..])
                .map_err(|error| {
                    DbErr::Migration(format!(
                        "the stored response of quote key {:?} does not decode: {error}",
                        key.key
                    ))
                })?;
            let quote_id = response
                .quote
                .as_ref()
                .and_then(|quote| sea_orm::prelude::Uuid::parse_str(&quote.quote_id).ok())
                .ok_or_else(|| {
                    DbErr::Migration(format!(
                        "the stored response of quote key {:?} names no quote id",
                        key.key
                    ))
                })?;
            quote::Entity::update_many()
                .col_expr(Quote::IdempotencyKey, Expr::value(key.key.clone()))
                .col_expr(Quote::RequestHash, Expr::value(key.request_hash.clone()))
                .filter(Quote::Id.eq(quote_id))
                .filter(Quote::OrganisationId.eq(key.organisation_id))
                .exec(db)
                .await?;
        }
        idempotency::Entity::delete_many()
            .filter(idempotency::Column::Method.eq(crate::quote_writer::METHOD))
            .exec(db)
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("quotes_organisation_idempotency_key")
                    .table(quote::Entity)
                    .col(Quote::OrganisationId)
                    .col(Quote::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use quote::Column as Quote;
        manager
            .drop_index(
                Index::drop()
                    .name("quotes_organisation_idempotency_key")
                    .table(quote::Entity)
                    .to_owned(),
            )
            .await?;
        drop_columns(
            manager,
            quote::Entity,
            [Quote::IdempotencyKey, Quote::RequestHash],
        )
        .await
    }
}

/// Adds the booking and the undo of a payment, so that an undone match reopens the invoice.
struct TrackUndonePayments;

impl MigrationName for TrackUndonePayments {
    fn name(&self) -> &str {
        "m0008_undone_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for TrackUndonePayments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use invoice_payment::Column as Payment;
        add_columns(
            manager,
            invoice_payment::Entity,
            [
                ColumnDef::new(Payment::BookingId).uuid().null().to_owned(),
                ColumnDef::new(Payment::UndoneAt)
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use invoice_payment::Column as Payment;
        drop_columns(
            manager,
            invoice_payment::Entity,
            [Payment::BookingId, Payment::UndoneAt],
        )
        .await
    }
}

/// Adds `columns` to `table` with one ALTER TABLE each, because SQLite adds one column per
/// statement.
async fn add_columns<T: IntoTableRef + Copy>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: impl IntoIterator<Item = ColumnDef>,
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(Table::alter().table(table).add_column(column).to_owned())
            .await?;
    }
    Ok(())
}

/// Drops `columns` from `table` with one ALTER TABLE each, as [`add_columns`] adds them.
async fn drop_columns<T: IntoTableRef + Copy, C: IntoIden>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(Table::alter().table(table).drop_column(column).to_owned())
            .await?;
    }
    Ok(())
}

/// Rewrites the request hash of every quote key in the canonical form of its request.
///
/// Earlier releases hashed a `CreateQuoteRequest` as sent, so the same basket with its modules
/// in another order counted as another request. The stored basket contains every field of the
/// request, so the canonical request, and its hash, can be rebuilt from it. A quote whose basket
/// a sales employee priced by hand keeps the basket it was requested with, apart from the price.
struct HashQuoteRequestsCanonically;

impl MigrationName for HashQuoteRequestsCanonically {
    fn name(&self) -> &str {
        "m0009_canonical_quote_request_hashes"
    }
}

/// Quote rows read per query while rehashing.
const REHASH_PAGE: u64 = 1_000;

#[async_trait::async_trait]
impl MigrationTrait for HashQuoteRequestsCanonically {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use dk_proto::billing::v1 as pb;
        use quote::Column as Quote;
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};

        let db = manager.get_connection();
        let mut after: Option<sea_orm::prelude::Uuid> = None;
        loop {
            let mut query = quote::Entity::find()
                .filter(Quote::IdempotencyKey.is_not_null())
                .order_by_asc(Quote::Id)
                .limit(REHASH_PAGE);
            if let Some(after) = after {
                query = query.filter(Quote::Id.gt(after));
            }
            let rows = query.all(db).await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = Some(last.id);
            for row in rows {
                let basket: dk_pricing::Basket =
                    serde_json::from_str(&row.basket).map_err(|error| {
                        DbErr::Migration(format!(
                            "the basket of quote {} does not decode: {error}",
                            row.id
                        ))
                    })?;
                let key = row.idempotency_key.clone().unwrap_or_default();
                let request = pb::CreateQuoteRequest {
                    idempotency_key: key.clone(),
                    modules: basket.modules,
                    addons: basket.add_ons,
                    users: <i32 as TryFrom<u32>>::try_from(basket.users).unwrap_or(i32::MAX),
                    bank_link: basket.bank_link,
                    country_code: basket.country,
                    vat_id: basket.vat_id.unwrap_or_default(),
                    language: crate::grpc::language_to_proto(basket.language) as i32,
                };
                let hashed = dk_runtime::idempotency::Key::new(
                    row.organisation_id,
                    crate::quote_writer::METHOD,
                    &key,
                    &crate::grpc::canonical_quote_request(&request),
                )
                .map_err(|status| {
                    DbErr::Migration(format!(
                        "the idempotency key of quote {} is invalid: {}",
                        row.id,
                        status.message()
                    ))
                })?;
                quote::Entity::update_many()
                    .col_expr(Quote::RequestHash, Expr::value(hashed.request_hash))
                    .filter(Quote::Id.eq(row.id))
                    .exec(db)
                    .await?;
            }
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The hashes of the requests as sent cannot be rebuilt, because the basket keeps neither
        // an empty country code nor an unspecified language. After a rollback an earlier
        // release rejects a repeat of such a request as another request under the same key.
        Ok(())
    }
}

/// Creates billing details, custom user prices, licences, their versions and their charges.
struct CreateLicences;

impl MigrationName for CreateLicences {
    fn name(&self) -> &str {
        "m0005_licences"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLicences {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use billing_details::Column as Details;
        manager
            .create_table(
                Table::create()
                    .table(billing_details::Entity)
                    .col(uuid_key(Details::OrganisationId))
                    .col(text(Details::Name))
                    .col(text(Details::Street))
                    .col(text(Details::PostalCode))
                    .col(text(Details::City))
                    .col(
                        ColumnDef::new(Details::CountryCode)
                            .string_len(2)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Details::VatId).string())
                    .col(timestamp(Details::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        use custom_user_price::Column as Price;
        manager
            .create_table(
                Table::create()
                    .table(custom_user_price::Entity)
                    .col(uuid_key(Price::QuoteId))
                    .col(
                        ColumnDef::new(Price::UnitPriceMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Price::Currency).string_len(3).not_null())
                    .col(text(Price::SetBy))
                    .col(timestamp(Price::SetAt))
                    .to_owned(),
            )
            .await?;

        use licence::Column as Licence;
        manager
            .create_table(
                Table::create()
                    .table(licence::Entity)
                    .col(uuid_key(Licence::Id))
                    .col(
                        ColumnDef::new(Licence::OrganisationId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Licence::State).string_len(16).not_null())
                    .col(ColumnDef::new(Licence::Language).string_len(2).not_null())
                    .col(ColumnDef::new(Licence::ActivatedOn).date())
                    .col(ColumnDef::new(Licence::QuoteId).uuid())
                    .col(timestamp(Licence::CreatedAt))
                    .to_owned(),
            )
            .await?;

        use licence_version::Column as Version;
        manager
            .create_table(
                Table::create()
                    .table(licence_version::Entity)
                    .col(ColumnDef::new(Version::LicenceId).uuid().not_null())
                    .col(ColumnDef::new(Version::EffectiveFrom).date().not_null())
                    .col(text(Version::Basket))
                    .col(timestamp(Version::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Version::LicenceId)
                            .col(Version::EffectiveFrom),
                    )
                    .to_owned(),
            )
            .await?;

        use licence_charge::Column as Charge;
        manager
            .create_table(
                Table::create()
                    .table(licence_charge::Entity)
                    .col(uuid_key(Charge::Id))
                    .col(ColumnDef::new(Charge::LicenceId).uuid().not_null())
                    .col(
                        ColumnDef::new(Charge::BillingMonth)
                            .string_len(7)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Charge::ChangeDate).date().not_null())
                    .col(text(Charge::Code))
                    .col(text(Charge::Description))
                    .col(ColumnDef::new(Charge::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(Charge::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Charge::VatRate).string_len(16).not_null())
                    .col(text(Charge::Explanation))
                    .col(ColumnDef::new(Charge::InvoiceId).uuid())
                    .col(timestamp(Charge::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("licence_charges_licence_invoice")
                    .table(licence_charge::Entity)
                    .col(Charge::LicenceId)
                    .col(Charge::InvoiceId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "licence_charges",
            "licence_versions",
            "licences",
            "custom_user_prices",
            "billing_details",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Creates the invoice tables. Issued invoices and their lines are immutable: triggers refuse
/// every UPDATE and DELETE on both databases, so a correction can only be a credit note.
struct CreateInvoices;

impl MigrationName for CreateInvoices {
    fn name(&self) -> &str {
        "m0006_invoices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInvoices {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use invoice_series::Column as Series;
        manager
            .create_table(
                Table::create()
                    .table(invoice_series::Entity)
                    .col(uuid_key(Series::IssuerOrganisationId))
                    .col(ColumnDef::new(Series::LastNumber).big_integer().not_null())
                    .to_owned(),
            )
            .await?;

        use invoice::Column as Invoice;
        manager
            .create_table(
                Table::create()
                    .table(invoice::Entity)
                    .col(uuid_key(Invoice::Id))
                    .col(
                        ColumnDef::new(Invoice::IssuerOrganisationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invoice::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(Invoice::Number).string_len(40).not_null())
                    .col(ColumnDef::new(Invoice::Kind).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Invoice::CustomerOrganisationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invoice::LicenceId).uuid())
                    .col(ColumnDef::new(Invoice::Period).string_len(7))
                    .col(ColumnDef::new(Invoice::CorrectsInvoiceId).uuid())
                    .col(ColumnDef::new(Invoice::IssueDate).date().not_null())
                    .col(ColumnDef::new(Invoice::DueDate).date().not_null())
                    .col(ColumnDef::new(Invoice::Language).string_len(2).not_null())
                    .col(ColumnDef::new(Invoice::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Invoice::NetMinor).big_integer().not_null())
                    .col(ColumnDef::new(Invoice::VatMinor).big_integer().not_null())
                    .col(ColumnDef::new(Invoice::TotalMinor).big_integer().not_null())
                    .col(text(Invoice::Supplier))
                    .col(text(Invoice::Customer))
                    .col(text(Invoice::Vat))
                    .col(ColumnDef::new(Invoice::VatNote).string())
                    .col(ColumnDef::new(Invoice::Reason).text())
                    .col(timestamp(Invoice::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "invoices_issuer_sequence",
                vec![Invoice::IssuerOrganisationId, Invoice::Sequence],
            ),
            (
                "invoices_issuer_number",
                vec![Invoice::IssuerOrganisationId, Invoice::Number],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(invoice::Entity).unique();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("invoices_customer_sequence")
                    .table(invoice::Entity)
                    .col(Invoice::CustomerOrganisationId)
                    .col(Invoice::Sequence)
                    .to_owned(),
            )
            .await?;

        use invoice_line::Column as Line;
        manager
            .create_table(
                Table::create()
                    .table(invoice_line::Entity)
                    .col(ColumnDef::new(Line::InvoiceId).uuid().not_null())
                    .col(ColumnDef::new(Line::LineNumber).integer().not_null())
                    .col(text(Line::Code))
                    .col(text(Line::Description))
                    .col(ColumnDef::new(Line::Quantity).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Line::UnitPriceMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Line::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(Line::VatRate).string_len(16).not_null())
                    .col(text(Line::Explanation))
                    .primary_key(Index::create().col(Line::InvoiceId).col(Line::LineNumber))
                    .to_owned(),
            )
            .await?;

        use licence_period::Column as Period;
        manager
            .create_table(
                Table::create()
                    .table(licence_period::Entity)
                    .col(ColumnDef::new(Period::LicenceId).uuid().not_null())
                    .col(ColumnDef::new(Period::Period).string_len(7).not_null())
                    .col(ColumnDef::new(Period::InvoiceId).uuid().not_null())
                    .primary_key(Index::create().col(Period::LicenceId).col(Period::Period))
                    .to_owned(),
            )
            .await?;

        use credited_line::Column as Credited;
        manager
            .create_table(
                Table::create()
                    .table(credited_line::Entity)
                    .col(ColumnDef::new(Credited::InvoiceId).uuid().not_null())
                    .col(ColumnDef::new(Credited::LineNumber).integer().not_null())
                    .col(ColumnDef::new(Credited::CreditNoteId).uuid().not_null())
                    .primary_key(
                        Index::create()
                            .col(Credited::InvoiceId)
                            .col(Credited::LineNumber),
                    )
                    .to_owned(),
            )
            .await?;

        use invoice_payment::Column as Payment;
        manager
            .create_table(
                Table::create()
                    .table(invoice_payment::Entity)
                    .col(ColumnDef::new(Payment::MatchId).uuid().not_null())
                    .col(ColumnDef::new(Payment::InvoiceId).uuid().not_null())
                    .col(
                        ColumnDef::new(Payment::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(timestamp(Payment::ReceivedAt))
                    .primary_key(
                        Index::create()
                            .col(Payment::MatchId)
                            .col(Payment::InvoiceId),
                    )
                    .to_owned(),
            )
            .await?;

        let connection = manager.get_connection();
        for statement in immutability_triggers(manager.get_database_backend()) {
            connection.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "invoice_payments",
            "credited_lines",
            "licence_periods",
            "invoice_lines",
            "invoices",
            "invoice_series",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS refuse_change_to_issued_invoice()")
                .await?;
        }
        Ok(())
    }
}

/// SQL that makes `invoices` and `invoice_lines` append-only.
fn immutability_triggers(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    let tables = ["invoices", "invoice_lines"];
    match backend {
        sea_orm::DatabaseBackend::Postgres => {
            let mut statements = vec![
                "CREATE FUNCTION refuse_change_to_issued_invoice() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'issued invoices are immutable: % on % refused; issue a \
                 credit note instead', TG_OP, TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
                    .to_owned(),
            ];
            statements.extend(tables.iter().map(|table| {
                format!(
                    "CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION refuse_change_to_issued_invoice()"
                )
            }));
            statements
        }
        _ => tables
            .iter()
            .flat_map(|table| {
                ["UPDATE", "DELETE"].map(|operation| {
                    format!(
                        "CREATE TRIGGER {table}_no_{op} BEFORE {operation} ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: {operation} \
                         on {table} refused; issue a credit note instead'); END",
                        op = operation.to_lowercase()
                    )
                })
            })
            .collect(),
    }
}

fn uuid_key(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().not_null().to_owned()
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
