//! The transactional outbox: events written with the business change, then relayed.
//!
//! A service calls [`enqueue`] inside the transaction that makes the change, so the event exists
//! if and only if the change committed. The [`Relay`] reads pending rows in order, publishes them
//! with confirms and deletes them afterwards. A crash between publish and delete publishes the
//! row again on the next run; consumers deduplicate by event id. On PostgreSQL the rows are
//! locked with `FOR UPDATE SKIP LOCKED`, so several replicas can relay side by side.
//!
//! A row contains one event in its columns, or up to [`EVENTS_PER_ROUND`] events of one
//! [`enqueue`] call encoded in its payload ([`StoredEvents`]). Every row costs the database an
//! insert into three indexes, a read and a delete. An import of 100,000 bank mutations writes
//! 200 rows instead of 100,000. Each event is still published as a message of its own.

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, QueryOrder, QuerySelect, Set, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{Bus, Event};

/// The maximum number of events in one row, and the maximum the relay publishes in one round.
pub const EVENTS_PER_ROUND: usize = 500;
/// Interval at which the relay polls for rows when no commit woke it.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The event's id; for a row of several events, an id of the row's own.
    #[sea_orm(unique)]
    pub id: Uuid,
    pub producer: String,
    /// For a row of several events, the first event's type, source, organisation and time, so
    /// that the table shows what the row is about.
    pub event_type: String,
    pub source: String,
    pub organisation_id: Uuid,
    pub time: DateTimeUtc,
    /// The event's payload, or [`StoredEvents`] when `event_count` is more than 1.
    pub payload: Vec<u8>,
    pub traceparent: Option<String>,
    pub event_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The events of a row that contains several, in the order they were enqueued.
#[derive(Clone, PartialEq, Message)]
pub struct StoredEvents {
    #[prost(message, repeated, tag = "1")]
    pub events: Vec<StoredEvent>,
}

/// One event of [`StoredEvents`], with every attribute of [`Event`].
#[derive(Clone, PartialEq, Message)]
pub struct StoredEvent {
    #[prost(bytes = "vec", tag = "1")]
    pub id: Vec<u8>,
    #[prost(string, tag = "2")]
    pub event_type: String,
    #[prost(string, tag = "3")]
    pub source: String,
    #[prost(int64, tag = "4")]
    pub time_seconds: i64,
    #[prost(uint32, tag = "5")]
    pub time_nanos: u32,
    #[prost(bytes = "vec", tag = "6")]
    pub organisation_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "7")]
    pub payload: Vec<u8>,
    #[prost(string, optional, tag = "8")]
    pub traceparent: Option<String>,
}

impl From<&Event> for StoredEvent {
    fn from(event: &Event) -> Self {
        Self {
            id: event.id.as_bytes().to_vec(),
            event_type: event.event_type.clone(),
            source: event.source.clone(),
            time_seconds: event.time.timestamp(),
            time_nanos: event.time.timestamp_subsec_nanos(),
            organisation_id: event.organisation_id.as_bytes().to_vec(),
            payload: event.payload.clone(),
            traceparent: event.traceparent.clone(),
        }
    }
}

impl TryFrom<StoredEvent> for Event {
    type Error = String;

    fn try_from(stored: StoredEvent) -> Result<Self, String> {
        let uuid = |bytes: &[u8], what: &str| {
            Uuid::from_slice(bytes)
                .map_err(|_| format!("{what} has {} bytes, expected 16", bytes.len()))
        };
        Ok(Event {
            id: uuid(&stored.id, "event id")?,
            time: DateTime::from_timestamp(stored.time_seconds, stored.time_nanos).ok_or_else(
                || {
                    format!(
                        "time {}.{:09} s is out of range",
                        stored.time_seconds, stored.time_nanos
                    )
                },
            )?,
            organisation_id: uuid(&stored.organisation_id, "organisation id")?,
            event_type: stored.event_type,
            source: stored.source,
            payload: stored.payload,
            traceparent: stored.traceparent,
        })
    }
}

/// Writes events to the outbox inside the caller's transaction: one row per event when there
/// is one, else one row per [`EVENTS_PER_ROUND`] events.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    producer: &str,
    events: &[Event],
) -> Result<(), DbErr> {
    let rows: Vec<ActiveModel> = events
        .chunks(EVENTS_PER_ROUND)
        .map(|chunk| row(producer, chunk))
        .collect();
    // SQLite allows at most 32,766 bound values per statement.
    for part in rows.chunks(1000) {
        Entity::insert_many(part.iter().cloned())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Builds the row of one to [`EVENTS_PER_ROUND`] events.
fn row(producer: &str, events: &[Event]) -> ActiveModel {
    let first = &events[0];
    let (id, payload, traceparent) = match events {
        [event] => (event.id, event.payload.clone(), event.traceparent.clone()),
        _ => {
            let stored = StoredEvents {
                events: events.iter().map(StoredEvent::from).collect(),
            };
            (Uuid::now_v7(), stored.encode_to_vec(), None)
        }
    };
    ActiveModel {
        id: Set(id),
        producer: Set(producer.to_owned()),
        event_type: Set(first.event_type.clone()),
        source: Set(first.source.clone()),
        organisation_id: Set(first.organisation_id),
        time: Set(first.time),
        payload: Set(payload),
        traceparent: Set(traceparent),
        event_count: Set(i32::try_from(events.len()).expect("at most EVENTS_PER_ROUND events")),
        ..Default::default()
    }
}

/// Reads the events of a row, in the order they were enqueued.
fn events_of(row: Model) -> Result<Vec<Event>, RelayError> {
    if row.event_count == 1 {
        return Ok(vec![Event {
            id: row.id,
            event_type: row.event_type,
            source: row.source,
            time: row.time,
            organisation_id: row.organisation_id,
            payload: row.payload,
            traceparent: row.traceparent,
        }]);
    }
    let unreadable = |reason: String| RelayError::Unreadable {
        seq: row.seq,
        reason,
    };
    let stored = StoredEvents::decode(row.payload.as_slice())
        .map_err(|error| unreadable(error.to_string()))?;
    if stored.events.len() != row.event_count as usize {
        return Err(unreadable(format!(
            "it holds {} events, expected event_count {}",
            stored.events.len(),
            row.event_count
        )));
    }
    stored
        .events
        .into_iter()
        .map(Event::try_from)
        .collect::<Result<_, _>>()
        .map_err(unreadable)
}

/// Number of events waiting in the outbox.
pub async fn pending_count<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    let sum: Option<i64> = Entity::find()
        .select_only()
        .column_as(Column::EventCount.sum(), "events")
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(sum.unwrap_or(0).try_into().unwrap_or(0))
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
        // The head of this producer's rows, without their payloads, to take as many rows as
        // fit into one round.
        let mut head = Entity::find()
            .select_only()
            .column(Column::Seq)
            .column(Column::EventCount)
            .filter(Column::Producer.eq(self.producer.as_str()))
            .order_by_asc(Column::Seq)
            .limit(EVENTS_PER_ROUND as u64);
        if self.db.get_database_backend() == DatabaseBackend::Postgres {
            head = head.lock_with_behavior(
                sea_orm::sea_query::LockType::Update,
                sea_orm::sea_query::LockBehavior::SkipLocked,
            );
        }
        let head: Vec<(i64, i32)> = head.into_tuple().all(&transaction).await?;
        if head.is_empty() {
            transaction.commit().await?;
            return Ok(0);
        }
        let mut seqs = Vec::new();
        let mut count = 0;
        for (seq, events) in head {
            let events = usize::try_from(events).unwrap_or(0);
            if !seqs.is_empty() && count + events > EVENTS_PER_ROUND {
                break;
            }
            seqs.push(seq);
            count += events;
        }
        let rows = Entity::find()
            .filter(Column::Seq.is_in(seqs.iter().copied()))
            .order_by_asc(Column::Seq)
            .all(&transaction)
            .await?;
        let mut events = Vec::with_capacity(count);
        for row in rows {
            events.extend(events_of(row)?);
        }

        // A traced event gets a publish span in the trace of the change that wrote it, and
        // travels with that span as its parent. The spans end once the broker confirmed.
        let exchange = self.bus.names().exchange(&self.producer);
        let publish_spans: Vec<Option<tracing::Span>> = events
            .iter()
            .map(|event| {
                let traceparent = event.traceparent.as_deref()?;
                let span = tracing::info_span!(
                    "outbox.publish",
                    otel.name = format!("{} publish", event.event_type),
                    otel.kind = "producer",
                    messaging.operation.type = "send",
                    messaging.destination.name = %exchange,
                    messaging.message.id = %event.id,
                );
                dk_telemetry::propagation::set_remote_parent(&span, Some(traceparent), None);
                Some(span)
            })
            .collect();
        for (event, span) in events.iter_mut().zip(&publish_spans) {
            if let Some(traceparent) = span
                .as_ref()
                .and_then(dk_telemetry::propagation::traceparent)
            {
                event.traceparent = Some(traceparent);
            }
        }
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
            .filter(Column::Seq.is_in(seqs))
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
    /// A row of several events whose payload does not decode; it stays in the outbox.
    #[error("outbox row {seq} cannot be read: {reason}")]
    Unreadable { seq: i64, reason: String },
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

    /// An SQLite file with the messaging tables; `remove` deletes it.
    struct OutboxFile {
        path: std::path::PathBuf,
        db: DatabaseConnection,
    }

    impl OutboxFile {
        async fn new() -> Self {
            let path = std::env::temp_dir().join(format!("dk-outbox-{}.db", Uuid::new_v4()));
            let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
                .await
                .expect("connect");
            let manager = SchemaManager::new(&db);
            crate::migration::CreateMessagingTables
                .up(&manager)
                .await
                .expect("outbox table");
            crate::migration::IndexOutboxByProducer
                .up(&manager)
                .await
                .expect("outbox index");
            crate::migration::StoreSeveralEventsPerOutboxRow
                .up(&manager)
                .await
                .expect("event count");
            Self { path, db }
        }

        async fn remove(self) {
            self.db.close().await.expect("close");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
            }
        }
    }

    /// Subscribes a recorder to the test subscription on an in-process bus.
    async fn recording_bus() -> (Bus, Arc<Recorder>, CancellationToken, crate::Subscriber) {
        let bus = MemoryBus::new(Names::new("test"));
        bus.declare(&[SUBSCRIPTION]);
        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let consumer = Bus::Memory(bus.clone())
            .subscribe(&SUBSCRIPTION, recorder.clone(), shutdown.clone())
            .await
            .expect("subscribe");
        (Bus::Memory(bus), recorder, shutdown, consumer)
    }

    fn numbered_events(count: usize) -> Vec<Event> {
        (0..count)
            .map(|i| {
                let mut event = Event::new(
                    EVENT_TYPE,
                    "/dk/test",
                    Uuid::now_v7(),
                    i.to_le_bytes().to_vec(),
                );
                event.traceparent =
                    (i % 2 == 0).then(|| format!("00-{:032x}-{:016x}-01", i + 1, i + 1));
                event
            })
            .collect()
    }

    #[tokio::test]
    async fn outbox_stores_many_events_per_row_and_relays_each() {
        let file = OutboxFile::new().await;
        let db = &file.db;
        let single = numbered_events(1);
        let many = numbered_events(EVENTS_PER_ROUND * 2 + 34);
        enqueue(db, PRODUCER, &single).await.expect("enqueue one");
        enqueue(db, PRODUCER, &many).await.expect("enqueue many");
        let counts: Vec<i32> = Entity::find()
            .order_by_asc(Column::Seq)
            .all(db)
            .await
            .expect("rows")
            .into_iter()
            .map(|row| row.event_count)
            .collect();
        assert_eq!(counts, [1, 500, 500, 34]);
        assert_eq!(pending(db).await, 4);
        assert_eq!(pending_count(db).await.expect("count"), 1 + 1_034);

        let (bus, recorder, shutdown, consumer) = recording_bus().await;
        let relay = Relay::new(db.clone(), bus, PRODUCER);
        let mut rounds = Vec::new();
        loop {
            match relay.relay_batch().await.expect("relay") {
                0 => break,
                relayed => rounds.push(relayed),
            }
        }
        // A full row fills a round by itself, so the single event goes out alone.
        assert_eq!(rounds, [1, 500, 500, 34]);
        assert_eq!(pending_count(db).await.expect("count"), 0);
        let expected: Vec<Uuid> = single.iter().chain(&many).map(|event| event.id).collect();
        assert_eq!(*recorder.0.lock().expect("recorder"), expected);

        // Every attribute survives the row of several events, the time to the nanosecond.
        let rows: Vec<Model> = many
            .chunks(EVENTS_PER_ROUND)
            .map(|chunk| {
                let row = row(PRODUCER, chunk);
                Model {
                    seq: 7,
                    id: row.id.unwrap(),
                    producer: row.producer.unwrap(),
                    event_type: row.event_type.unwrap(),
                    source: row.source.unwrap(),
                    organisation_id: row.organisation_id.unwrap(),
                    time: row.time.unwrap(),
                    payload: row.payload.unwrap(),
                    traceparent: row.traceparent.unwrap(),
                    event_count: row.event_count.unwrap(),
                }
            })
            .collect();
        let read: Vec<Event> = rows
            .into_iter()
            .flat_map(|row| events_of(row).expect("readable"))
            .collect();
        assert_eq!(read, many);

        shutdown.cancel();
        consumer.join().await;
        file.remove().await;
    }

    #[tokio::test]
    async fn relay_names_an_unreadable_row_and_keeps_it() {
        let file = OutboxFile::new().await;
        let db = &file.db;
        enqueue(db, PRODUCER, &numbered_events(3))
            .await
            .expect("enqueue");
        let row = Entity::find().one(db).await.expect("read").expect("row");
        let seq = row.seq;
        let mut broken: ActiveModel = row.into();
        broken.payload = Set(b"\xff\xff not protobuf".to_vec());
        broken.update(db).await.expect("break the payload");

        let (bus, recorder, shutdown, consumer) = recording_bus().await;
        let error = Relay::new(db.clone(), bus, PRODUCER)
            .relay_batch()
            .await
            .expect_err("an unreadable row");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("outbox row {seq} cannot be read: ")),
            "{message}"
        );
        assert_eq!(pending_count(db).await.expect("count"), 3);
        assert!(recorder.0.lock().expect("recorder").is_empty());

        shutdown.cancel();
        consumer.join().await;
        file.remove().await;
    }

    #[tokio::test]
    async fn migration_down_waits_for_batched_rows() {
        let file = OutboxFile::new().await;
        let db = &file.db;
        let migration = crate::migration::StoreSeveralEventsPerOutboxRow;
        enqueue(db, PRODUCER, &numbered_events(2))
            .await
            .expect("enqueue");
        let error = migration
            .down(&SchemaManager::new(db))
            .await
            .expect_err("a row of two events is waiting");
        assert!(
            error
                .to_string()
                .contains("1 outbox rows contain several events each"),
            "{error}"
        );
        assert_eq!(pending_count(db).await.expect("count"), 2);

        let (bus, _recorder, shutdown, consumer) = recording_bus().await;
        Relay::new(db.clone(), bus, PRODUCER)
            .relay_batch()
            .await
            .expect("relay");
        migration
            .down(&SchemaManager::new(db))
            .await
            .expect("nothing waiting");

        shutdown.cancel();
        consumer.join().await;
        file.remove().await;
    }

    #[tokio::test]
    async fn relay_keeps_batch_until_published() {
        let file = OutboxFile::new().await;
        let db = &file.db;
        let events: Vec<Event> = (0..3u8)
            .map(|i| Event::new(EVENT_TYPE, "/dk/test", Uuid::nil(), vec![i]))
            .collect();
        enqueue(db, PRODUCER, &events).await.expect("enqueue");

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
        assert_eq!(pending_count(db).await.expect("count"), 3);

        // A running consumer receives the batch in order, and the outbox is empty afterwards.
        let (bus, recorder, shutdown, consumer) = recording_bus().await;
        let relayed = Relay::new(db.clone(), bus, PRODUCER)
            .relay_batch()
            .await
            .expect("relay");
        assert_eq!(relayed, 3);
        assert_eq!(pending(db).await, 0);
        let expected: Vec<Uuid> = events.iter().map(|event| event.id).collect();
        assert_eq!(*recorder.0.lock().expect("recorder"), expected);

        shutdown.cancel();
        consumer.join().await;
        file.remove().await;
    }
}
