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

/// Records that `consumer` handles the events `event_ids`, inside the caller's transaction, and
/// returns those that were not recorded before. Another transaction that records one of them
/// at the same moment makes this insert fail, and the caller handles the events one by one.
pub async fn mark_many<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, DbErr> {
    let mut new: std::collections::HashSet<Uuid> = event_ids.iter().copied().collect();
    for chunk in event_ids.chunks(1000) {
        let seen = Entity::find()
            .filter(Column::Consumer.eq(consumer))
            .filter(Column::EventId.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        for row in seen {
            new.remove(&row.event_id);
        }
    }
    let now = Utc::now();
    let rows: Vec<ActiveModel> = new
        .iter()
        .map(|event_id| ActiveModel {
            consumer: Set(consumer.to_owned()),
            event_id: Set(*event_id),
            processed_at: Set(now),
        })
        .collect();
    for chunk in rows.chunks(1000) {
        Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(new)
}
