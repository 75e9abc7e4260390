//! The consuming side's record of handled events, which makes redelivery harmless.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, Set};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "processed_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub consumer: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    pub processed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `consumer` handles `event_id`, inside the caller's transaction.
///
/// Returns `false` when the event was already recorded: the caller then skips the business
/// change and commits nothing new. The primary key makes this hold also for two consumers
/// receiving the same event at once, because the second insert waits for the first
/// transaction and then finds the row.
pub async fn try_mark<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        consumer: Set(consumer.to_owned()),
        event_id: Set(event_id),
        processed_at: Set(Utc::now()),
    };
    let inserted = Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Consumer, Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}
