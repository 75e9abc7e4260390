//! Group commit of new quotes: many `CreateQuote` calls share one statement.
//!
//! A quote is durable before its call returns, as with a transaction per call, but the
//! statement and its commit are paid once per batch. A quote row carries its idempotency key
//! and request hash, under a unique index per organisation, so the writer stores a batch with
//! one `INSERT … ON CONFLICT DO NOTHING RETURNING id`. One statement is atomic on its own, so
//! the batch needs no transaction and costs one round trip to the database. A key the insert
//! skipped was stored before: its call gets the stored quote, or FAILED_PRECONDITION when it
//! came with another request. The response is rebuilt from the row, as `GetQuote` does,
//! rather than stored a second time.
//!
//! When a batch fails as a whole, each quote of it is written again on its own, so one bad
//! call cannot fail its neighbours.
//!
//! On PostgreSQL several writers insert side by side, so a batch fills while another waits for
//! its commit to reach the disk. SQLite has a single writer, because its writes are serial and
//! a second writer would only wait for the lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dk_proto::billing::v1 as pb;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, IntoActiveModel};
use tokio::sync::{Mutex, mpsc, oneshot};
use tonic::Status;

use crate::entity::quote;

/// Quotes committed in one transaction at most.
const MAX_BATCH: usize = 256;
/// Quotes waiting for the writer at most; callers wait for room beyond it.
const QUEUE: usize = 4096;
/// The method name in the idempotency errors of quotes.
pub(crate) const METHOD: &str = "CreateQuote";
/// SQLite allows 32,766 bound values per statement; a quote row binds 14.
const ROWS_PER_STATEMENT: usize = 1000;
/// Writers committing at the same time on PostgreSQL.
const POSTGRES_WRITERS: usize = 4;

type Reply = oneshot::Sender<Result<pb::CreateQuoteResponse, Status>>;

struct Pending {
    key: Key,
    row: quote::Model,
    response: pb::CreateQuoteResponse,
    reply: Reply,
}

/// Hands new quotes to the writer task.
#[derive(Clone)]
pub struct QuoteWriter {
    sender: mpsc::Sender<Pending>,
}

impl QuoteWriter {
    /// Starts the writer tasks; they end when every `QuoteWriter` is dropped.
    pub fn start(db: DatabaseConnection) -> (Self, Vec<tokio::task::JoinHandle<()>>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        let writers = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => POSTGRES_WRITERS,
            _ => 1,
        };
        let tasks = (0..writers)
            .map(|_| tokio::spawn(run(db.clone(), receiver.clone())))
            .collect();
        (Self { sender }, tasks)
    }

    /// Stores `row` with its idempotency key and returns `response`, or the response stored
    /// before under the same key.
    pub async fn write(
        &self,
        key: Key,
        row: quote::Model,
        response: pb::CreateQuoteResponse,
    ) -> Result<pb::CreateQuoteResponse, Status> {
        let (reply, received) = oneshot::channel();
        let pending = Pending {
            key,
            row,
            response,
            reply,
        };
        self.sender
            .send(pending)
            .await
            .map_err(|_| Status::unavailable("billing is shutting down; retry the call"))?;
        received
            .await
            .map_err(|_| Status::unavailable("billing is shutting down; retry the call"))?
    }
}

async fn run(db: DatabaseConnection, receiver: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(pending) => batch.push(pending),
                    Err(_) => break,
                }
            }
        }
        match commit(&db, &batch).await {
            Ok(outcomes) => {
                for (pending, outcome) in batch.drain(..).zip(outcomes) {
                    let answer = match outcome {
                        Outcome::Stored => Ok(pending.response),
                        Outcome::Answer(answer) => *answer,
                    };
                    let _ = pending.reply.send(answer);
                }
            }
            Err(error) => {
                tracing::warn!(%error, quotes = batch.len(), "quote batch failed, writing one by one");
                for pending in batch.drain(..) {
                    let outcome = commit_one(&db, &pending).await;
                    let _ = pending.reply.send(outcome);
                }
            }
        }
    }
}

/// The outcome of one call of a batch.
enum Outcome {
    /// Its quote was stored, so it gets its own response.
    Stored,
    /// Its key was stored before, or by an earlier call of the same batch.
    Answer(Box<Result<pb::CreateQuoteResponse, Status>>),
}

/// Stores a batch; returns each call's outcome in order.
async fn commit(db: &DatabaseConnection, batch: &[Pending]) -> Result<Vec<Outcome>, DbErr> {
    // The first call with a key in this batch speaks for the later ones with the same key.
    let mut first_with_key: HashMap<(Uuid, &str), usize> = HashMap::new();
    let mut candidates = Vec::new();
    for (index, pending) in batch.iter().enumerate() {
        let id = (pending.key.organisation_id, pending.key.key.as_str());
        if let std::collections::hash_map::Entry::Vacant(entry) = first_with_key.entry(id) {
            entry.insert(index);
            candidates.push(index);
        }
    }

    let mut inserted: HashSet<Uuid> = HashSet::with_capacity(candidates.len());
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk
            .iter()
            .map(|index| batch[*index].row.clone().into_active_model());
        let ids = quote::Entity::insert_many(rows)
            .on_conflict(on_key_conflict(db.get_database_backend()))
            .exec_with_returning_keys(db)
            .await?;
        inserted.extend(ids);
    }

    // The quotes stored under keys that the insert skipped: their request hash and response.
    let mut earlier: HashMap<usize, (String, Result<pb::CreateQuoteResponse, Status>)> =
        HashMap::new();
    for index in &candidates {
        let pending = &batch[*index];
        if inserted.contains(&pending.row.id) {
            continue;
        }
        let stored = stored(db, &pending.key).await?.ok_or_else(|| {
            DbErr::RecordNotFound(format!(
                "the quote stored before under idempotency key {:?}",
                pending.key.key
            ))
        })?;
        earlier.insert(*index, stored);
    }
    Ok(batch
        .iter()
        .enumerate()
        .map(|(index, pending)| {
            let first = first_with_key[&(pending.key.organisation_id, pending.key.key.as_str())];
            let (hash, answer) = match earlier.get(&first) {
                Some((hash, answer)) => (hash, answer.clone()),
                None if index == first => return Outcome::Stored,
                None => (
                    &batch[first].key.request_hash,
                    Ok(batch[first].response.clone()),
                ),
            };
            if *hash != pending.key.request_hash {
                return Outcome::Answer(Box::new(Err(idempotency::reused(&pending.key))));
            }
            Outcome::Answer(Box::new(answer))
        })
        .collect())
}

/// The conflict clause of the batch insert: skip a quote whose key is stored.
///
/// SQLite gets no conflict target. It checks a target against its cached schema when it
/// prepares the statement. A pooled connection that read the schema while the migrations ran
/// may lack the key index there, and the insert then fails with "ON CONFLICT clause does not
/// match any PRIMARY KEY or UNIQUE constraint" instead of re-reading the schema. Without a
/// target the statement prepares. When it runs, SQLite detects the schema change and prepares
/// it again, and any uniqueness conflict skips the row. The only other unique key is the quote's
/// fresh UUIDv7 id.
fn on_key_conflict(backend: sea_orm::DatabaseBackend) -> OnConflict {
    match backend {
        sea_orm::DatabaseBackend::Sqlite => OnConflict::new().do_nothing().to_owned(),
        _ => OnConflict::columns([quote::Column::OrganisationId, quote::Column::IdempotencyKey])
            .do_nothing()
            .to_owned(),
    }
}

/// Returns the request hash and the response of the quote stored under `key`, or `None` when
/// no quote has the key.
async fn stored<C: ConnectionTrait>(
    db: &C,
    key: &Key,
) -> Result<Option<(String, Result<pb::CreateQuoteResponse, Status>)>, DbErr> {
    let Some(row) = quote::Entity::find()
        .filter(quote::Column::OrganisationId.eq(key.organisation_id))
        .filter(quote::Column::IdempotencyKey.eq(key.key.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let response = crate::grpc::stored_quote(&row).map(|priced| pb::CreateQuoteResponse {
        quote: Some(crate::grpc::quote_to_proto(&row, &priced)),
    });
    Ok(Some((row.request_hash.unwrap_or_default(), response)))
}

/// Returns the quote stored before under `key`, for a call that cannot price its basket any
/// more because the catalogue changed since the first call. A key used for another request is
/// FAILED_PRECONDITION.
pub async fn replay(
    db: &DatabaseConnection,
    key: &Key,
) -> Result<Option<pb::CreateQuoteResponse>, Status> {
    let stored = stored(db, key)
        .await
        .map_err(|e| status::from_db("reading a stored quote", e))?;
    match stored {
        Some((hash, _)) if hash != key.request_hash => Err(idempotency::reused(key)),
        Some((_, response)) => response.map(Some),
        None => Ok(None),
    }
}

/// Writes one quote on its own.
async fn commit_one(
    db: &DatabaseConnection,
    pending: &Pending,
) -> Result<pb::CreateQuoteResponse, Status> {
    match commit(db, std::slice::from_ref(pending)).await {
        Ok(mut outcomes) => match outcomes.pop().expect("one outcome per call") {
            Outcome::Stored => Ok(pending.response.clone()),
            Outcome::Answer(answer) => *answer,
        },
        Err(error) => Err(status::from_db("creating a quote", error)),
    }
}
