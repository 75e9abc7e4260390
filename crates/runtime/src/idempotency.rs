//! Durable idempotency keys: repeating a mutating call with the same key returns the first
//! result and changes nothing.
//!
//! The stored response is written in the same transaction as the change it describes. When two
//! calls with one key race, the second insert violates the primary key, its transaction rolls
//! back, and [`replay`] then finds the first call's response.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, Set};
use sea_orm_migration::prelude as migration;
use sha2::{Digest, Sha256};
use tonic::Status;

/// Maximum length of an idempotency key.
pub const MAX_KEY_LENGTH: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub method: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 of the encoded request, to detect a key reused for another request.
    pub request_hash: String,
    /// The encoded response returned the first time.
    pub response: Vec<u8>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A key and its request, taken from a mutating call.
#[derive(Debug, Clone)]
pub struct Key {
    pub organisation_id: Uuid,
    pub method: &'static str,
    pub key: String,
    pub request_hash: String,
}

impl Key {
    /// Validates the key and fingerprints the request. An empty key is rejected: every
    /// mutating call must carry one.
    pub fn new<M: prost::Message>(
        organisation_id: Uuid,
        method: &'static str,
        key: &str,
        request: &M,
    ) -> Result<Self, Status> {
        if key.trim().is_empty() {
            return Err(crate::status::invalid_argument(
                "idempotency_key",
                "missing: expected a unique key per intended change, for example a UUID",
            ));
        }
        if key.len() > MAX_KEY_LENGTH {
            return Err(crate::status::invalid_argument(
                "idempotency_key",
                format!(
                    "{} characters is too long: expected at most {MAX_KEY_LENGTH}",
                    key.len()
                ),
            ));
        }
        let hash = Sha256::digest(request.encode_to_vec());
        Ok(Self {
            organisation_id,
            method,
            key: key.to_owned(),
            request_hash: hash.iter().map(|byte| format!("{byte:02x}")).collect(),
        })
    }
}

/// Returns the stored response of an earlier call with this key, if any.
///
/// A key reused with a different request is an error, not a replay.
pub async fn replay<C: ConnectionTrait, R: prost::Message + Default>(
    db: &C,
    key: &Key,
) -> Result<Option<R>, Status> {
    let found = Entity::find_by_id((key.organisation_id, key.method.to_owned(), key.key.clone()))
        .one(db)
        .await
        .map_err(|error| crate::status::from_db("reading the idempotency key", error))?;
    let Some(found) = found else {
        return Ok(None);
    };
    if found.request_hash != key.request_hash {
        return Err(reused(key));
    }
    R::decode(found.response.as_slice())
        .map(Some)
        .map_err(|error| crate::status::internal("decoding a stored response", &error))
}

/// Builds the error of a key that was used before for a different request.
pub fn reused(key: &Key) -> Status {
    crate::status::with_reason(
        tonic::Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
        format!(
            "idempotency key {:?} was already used for a different {} request; use a new key for a new change",
            key.key, key.method
        ),
        &[("idempotency_key", key.key.clone())],
    )
}

/// Stores the response of a call, inside the transaction of its change.
pub async fn store<C: ConnectionTrait, R: prost::Message>(
    db: &C,
    key: &Key,
    response: &R,
) -> Result<(), DbErr> {
    ActiveModel {
        organisation_id: Set(key.organisation_id),
        method: Set(key.method.to_owned()),
        key: Set(key.key.clone()),
        request_hash: Set(key.request_hash.clone()),
        response: Set(response.encode_to_vec()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Stores the response of a call inside the transaction of its change and commits both.
pub async fn commit<R: prost::Message>(
    transaction: sea_orm::DatabaseTransaction,
    key: &Key,
    response: &R,
    context: &str,
) -> Result<(), Status> {
    store(&transaction, key, response)
        .await
        .map_err(|error| crate::status::from_db(context, error))?;
    transaction
        .commit()
        .await
        .map_err(|error| crate::status::from_db(context, error))
}

/// Stores the response of a call whose changes committed in transactions of their own, such
/// as a run over many records, and returns it. When a concurrent call with the same key
/// stored its response first, that response is returned instead.
pub async fn store_or_replay<R: prost::Message + Default>(
    db: &sea_orm::DatabaseConnection,
    key: &Key,
    response: R,
    context: &str,
) -> Result<R, Status> {
    let transaction = crate::database::begin_write(db)
        .await
        .map_err(|error| crate::status::from_db(context, error))?;
    match store(&transaction, key, &response).await {
        Ok(()) => {
            transaction
                .commit()
                .await
                .map_err(|error| crate::status::from_db(context, error))?;
            Ok(response)
        }
        Err(error)
            if matches!(
                error.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            drop(transaction);
            replay(db, key)
                .await?
                .ok_or_else(|| crate::status::internal(context, &error))
        }
        Err(error) => Err(crate::status::from_db(context, error)),
    }
}

/// Creates `idempotency_keys`; each service's migrator includes it.
pub struct CreateIdempotencyKeys;

impl migration::MigrationName for CreateIdempotencyKeys {
    fn name(&self) -> &str {
        "m0002_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl migration::MigrationTrait for CreateIdempotencyKeys {
    async fn up(&self, manager: &migration::SchemaManager) -> Result<(), DbErr> {
        use migration::{ColumnDef, Index, Table};
        manager
            .create_table(
                Table::create()
                    .table(Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(Column::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Column::Method).string().not_null())
                    .col(ColumnDef::new(Column::Key).string().not_null())
                    .col(ColumnDef::new(Column::RequestHash).string().not_null())
                    .col(ColumnDef::new(Column::Response).blob().not_null())
                    .col(
                        ColumnDef::new(Column::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Column::OrganisationId)
                            .col(Column::Method)
                            .col(Column::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &migration::SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(migration::Table::drop().table(Entity).to_owned())
            .await
    }
}
