//! The transactional outbox: events written with the business change, then relayed.
//!
//! A service calls [`enqueue`] inside the transaction that makes the change, so the event exists
//! if and only if the change committed. The [`Relay`] reads pending rows in order, publishes them
//! with confirms and deletes them afterwards. A crash between publish and delete publishes the
//! row again on the next run; consumers deduplicate by event id. On PostgreSQL the rows are
//! locked with `FOR UPDATE SKIP LOCKED`, so several replicas can relay side by side.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, QueryOrder, QuerySelect, Set, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{Bus, Event};

/// Rows relayed per round trip.
const BATCH_SIZE: u64 = 500;
/// Interval at which the relay polls for rows when no commit woke it.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: Uuid,
    pub producer: String,
    pub event_type: String,
    pub source: String,
    pub organisation_id: Uuid,
    pub time: DateTimeUtc,
    pub payload: Vec<u8>,
    pub traceparent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Writes events to the outbox inside the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    producer: &str,
    events: &[Event],
) -> Result<(), DbErr> {
    // Insert in chunks: SQLite allows at most 32,766 bound values per statement.
    for chunk in events.chunks(1000) {
        let rows = chunk.iter().map(|event| ActiveModel {
            id: Set(event.id),
            producer: Set(producer.to_owned()),
            event_type: Set(event.event_type.clone()),
            source: Set(event.source.clone()),
            organisation_id: Set(event.organisation_id),
            time: Set(event.time),
            payload: Set(event.payload.clone()),
            traceparent: Set(event.traceparent.clone()),
            ..Default::default()
        });
        Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Number of events waiting in the outbox.
pub async fn pending_count<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    Entity::find().count(db).await
}

/// Publishes outbox rows to the bus.
#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    bus: Bus,
    producer: String,
    wake: Arc<Notify>,
}

impl Relay {
    pub fn new(db: DatabaseConnection, bus: Bus, producer: &str) -> Self {
        Self {
            db,
            bus,
            producer: producer.to_owned(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Wakes the relay after a commit that enqueued events, so it need not wait for its poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Relays until `shutdown` is cancelled; rows not yet published stay for the next start.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delay = Duration::from_millis(100);
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            // A batch stops at shutdown: its transaction rolls back and the events stay in the
            // outbox. The in-process bus waits for consumers that stop at the same moment.
            let relayed = tokio::select! {
                relayed = self.relay_batch() => relayed,
                _ = shutdown.cancelled() => break,
            };
            match relayed {
                Ok(0) => {
                    delay = Duration::from_millis(100);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(POLL_INTERVAL) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Ok(_) => delay = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(error = %error, producer = %self.producer, "failed to relay outbox events, retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Publishes one batch and deletes it; returns how many events it relayed.
    pub async fn relay_batch(&self) -> Result<usize, RelayError> {
        // SQLite takes the write lock at BEGIN, so the delete below cannot find the snapshot
        // stale; PostgreSQL ignores the mode and locks the selected rows instead.
        let transaction = self
            .db
            .begin_with_options(TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await?;
        let mut query = Entity::find()
            .filter(Column::Producer.eq(self.producer.as_str()))
            .order_by_asc(Column::Seq)
            .limit(BATCH_SIZE);
        if self.db.get_database_backend() == DatabaseBackend::Postgres {
            query = query.lock_with_behavior(
                sea_orm::sea_query::LockType::Update,
                sea_orm::sea_query::LockBehavior::SkipLocked,
            );
        }
        let rows = query.all(&transaction).await?;
        if rows.is_empty() {
            transaction.commit().await?;
            return Ok(0);
        }

        // A traced event gets a publish span in the trace of the change that wrote it, and
        // travels with that span as its parent. The spans end once the broker confirmed.
        let exchange = self.bus.names().exchange(&self.producer);
        let publish_spans: Vec<Option<tracing::Span>> = rows
            .iter()
            .map(|row| {
                let traceparent = row.traceparent.as_deref()?;
                let span = tracing::info_span!(
                    "outbox.publish",
                    otel.name = format!("{} publish", row.event_type),
                    otel.kind = "producer",
                    messaging.operation.type = "send",
                    messaging.destination.name = %exchange,
                    messaging.message.id = %row.id,
                );
                dk_telemetry::propagation::set_remote_parent(&span, Some(traceparent), None);
                Some(span)
            })
            .collect();
        let events: Vec<Event> = rows
            .iter()
            .zip(&publish_spans)
            .map(|(row, span)| Event {
                id: row.id,
                event_type: row.event_type.clone(),
                source: row.source.clone(),
                time: row.time,
                organisation_id: row.organisation_id,
                payload: row.payload.clone(),
                traceparent: span
                    .as_ref()
                    .and_then(dk_telemetry::propagation::traceparent)
                    .or_else(|| row.traceparent.clone()),
            })
            .collect();
        self.bus.publish(&self.producer, &events).await?;
        drop(publish_spans);
        let lag = &dk_telemetry::metrics::instruments().outbox_lag;
        let producer = [dk_telemetry::metrics::attribute(
            "source",
            self.producer.clone(),
        )];
        for event in &events {
            lag.record(dk_telemetry::metrics::seconds_since(event.time), &producer);
        }

        Entity::delete_many()
            .filter(Column::Id.is_in(rows.iter().map(|row| row.id)))
            .exec(&transaction)
            .await?;
        transaction.commit().await?;
        tracing::debug!(count = events.len(), producer = %self.producer, "relayed outbox events");
        Ok(events.len())
    }
}

/// A relay round that failed; the rows stay in the outbox.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Bus(#[from] crate::BusError),
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use sea_orm::Database;
    use sea_orm_migration::{MigrationTrait, SchemaManager};

    use super::*;
    use crate::memory::MemoryBus;
    use crate::topology::{Names, Scope, Subscription};
    use crate::{Handler, HandlerError};

    const PRODUCER: &str = "banksync";
    const EVENT_TYPE: &str = "test.happened.v1";
    const SUBSCRIPTION: Subscription = Subscription {
        consumer: "test",
        name: "outbox",
        producer: PRODUCER,
        routing_keys: &[EVENT_TYPE],
        scope: Scope::Every,
    };

    /// Records the ids of the events it handles, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Uuid>>);

    impl Handler for Recorder {
        fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
            self.0.lock().expect("recorder").push(event.id);
            Box::pin(async { Ok(()) })
        }
    }

    async fn pending(db: &DatabaseConnection) -> u64 {
        Entity::find().count(db).await.expect("count")
    }

    #[tokio::test]
    async fn relay_keeps_batch_until_published() {
        let path = std::env::temp_dir().join(format!("dk-outbox-{}.db", Uuid::new_v4()));
        let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .expect("connect");
        crate::migration::CreateMessagingTables
            .up(&SchemaManager::new(&db))
            .await
            .expect("outbox table");
        let events: Vec<Event> = (0..3u8)
            .map(|i| Event::new(EVENT_TYPE, "/dk/test", Uuid::nil(), vec![i]))
            .collect();
        enqueue(&db, PRODUCER, &events).await.expect("enqueue");

        // The broker rejects the batch, because no exchange of that name was declared, and the
        // batch stays in the outbox.
        let url = std::env::var("DK_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
        let undeclared = Names::new(format!("test-{}", Uuid::new_v4().simple()));
        let broker = crate::amqp::AmqpBus::connect(&url, undeclared)
            .await
            .expect("RabbitMQ on 127.0.0.1");
        let failed = Relay::new(db.clone(), Bus::Amqp(broker), PRODUCER)
            .relay_batch()
            .await;
        assert!(
            failed.is_err(),
            "publishing to a missing exchange: {failed:?}"
        );
        assert_eq!(pending(&db).await, 3);

        // A running consumer receives the batch in order, and the outbox is empty afterwards.
        let running = MemoryBus::new(Names::new("test"));
        running.declare(&[SUBSCRIPTION]);
        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let consumer = Bus::Memory(running.clone())
            .subscribe(&SUBSCRIPTION, recorder.clone(), shutdown.clone())
            .await
            .expect("subscribe");
        let relayed = Relay::new(db.clone(), Bus::Memory(running), PRODUCER)
            .relay_batch()
            .await
            .expect("relay");
        assert_eq!(relayed, 3);
        assert_eq!(pending(&db).await, 0);
        let expected: Vec<Uuid> = events.iter().map(|event| event.id).collect();
        assert_eq!(*recorder.0.lock().expect("recorder"), expected);

        shutdown.cancel();
        consumer.join().await;
        db.close().await.expect("close");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
