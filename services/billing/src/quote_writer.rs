//! Group commit of new quotes: many `CreateQuote` calls share one transaction.
//!
//! A quote is durable before its call returns, as with a transaction per call, but the commit
//! and the statements are paid once per batch: the writer takes the quotes that are waiting
//! (up to [`MAX_BATCH`]), looks up their idempotency keys with one query, inserts the new quotes
//! and keys with one statement each and commits. A key used before gets the stored response,
//! or FAILED_PRECONDITION when it came with another request. When a batch fails as a whole (for
//! example because another replica inserted one of its keys first), each quote of it is written
//! again in a transaction of its own, so one bad call cannot fail its neighbours.
//!
//! On PostgreSQL several writers commit side by side, so a batch fills while another waits for
//! its commit to reach the disk. SQLite has a single writer, because its write transactions are
//! serial and a second writer would only wait for the lock.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use dk_proto::billing::v1 as pb;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, IntoActiveModel, Set};
use tokio::sync::{Mutex, mpsc, oneshot};
use tonic::Status;

use crate::entity::quote;

/// Quotes committed in one transaction at most.
const MAX_BATCH: usize = 256;
/// Quotes waiting for the writer at most; callers wait for room beyond it.
const QUEUE: usize = 4096;
/// The idempotency method name of the quotes.
const METHOD: &str = "CreateQuote";
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
                    let _ = pending.reply.send(outcome);
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

/// Commits a batch; returns each call's outcome in order.
async fn commit(
    db: &DatabaseConnection,
    batch: &[Pending],
) -> Result<Vec<Result<pb::CreateQuoteResponse, Status>>, DbErr> {
    let transaction = dk_runtime::database::begin_write(db).await?;
    // One index scan over the batch's organisations and keys; pairs of one organisation's
    // id and another's key are dropped below.
    let organisations: std::collections::BTreeSet<Uuid> = batch
        .iter()
        .map(|pending| pending.key.organisation_id)
        .collect();
    let wanted: std::collections::HashSet<(Uuid, &str)> = batch
        .iter()
        .map(|pending| (pending.key.organisation_id, pending.key.key.as_str()))
        .collect();
    let mut known: HashMap<(Uuid, String), (String, Vec<u8>)> = idempotency::Entity::find()
        .filter(idempotency::Column::OrganisationId.is_in(organisations))
        .filter(idempotency::Column::Method.eq(METHOD))
        .filter(idempotency::Column::Key.is_in(wanted.iter().map(|(_, key)| (*key).to_owned())))
        .all(&transaction)
        .await?
        .into_iter()
        .filter(|row| wanted.contains(&(row.organisation_id, row.key.as_str())))
        .map(|row| {
            (
                (row.organisation_id, row.key),
                (row.request_hash, row.response),
            )
        })
        .collect();

    let mut outcomes = Vec::with_capacity(batch.len());
    let mut quotes = Vec::new();
    let mut keys = Vec::new();
    let now = Utc::now();
    for pending in batch {
        let id = (pending.key.organisation_id, pending.key.key.clone());
        if let Some((hash, response)) = known.get(&id) {
            outcomes.push(stored(&pending.key, hash, response));
            continue;
        }
        let response = pending.response.encode_to_vec();
        known.insert(id, (pending.key.request_hash.clone(), response.clone()));
        quotes.push(pending.row.clone().into_active_model());
        keys.push(idempotency::ActiveModel {
            organisation_id: Set(pending.key.organisation_id),
            method: Set(pending.key.method.to_owned()),
            key: Set(pending.key.key.clone()),
            request_hash: Set(pending.key.request_hash.clone()),
            response: Set(response),
            created_at: Set(now),
        });
        outcomes.push(Ok(pending.response.clone()));
    }
    // SQLite allows 32,766 bound values per statement; a quote row binds 13.
    for chunk in quotes.chunks(1000) {
        quote::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&transaction)
            .await?;
    }
    for chunk in keys.chunks(1000) {
        idempotency::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(outcomes)
}

/// Returns the stored response of a key, or the error of a key reused for another request.
fn stored(key: &Key, hash: &str, response: &[u8]) -> Result<pb::CreateQuoteResponse, Status> {
    if hash != key.request_hash {
        return Err(idempotency::reused(key));
    }
    pb::CreateQuoteResponse::decode(response)
        .map_err(|error| status::internal("decoding a stored response", &error))
}

/// Writes one quote in a transaction of its own.
async fn commit_one(
    db: &DatabaseConnection,
    pending: &Pending,
) -> Result<pb::CreateQuoteResponse, Status> {
    let context = "creating a quote";
    let transaction = dk_runtime::database::begin_write(db)
        .await
        .map_err(|e| status::from_db(context, e))?;
    if let Some(response) = idempotency::replay(&transaction, &pending.key).await? {
        return Ok(response);
    }
    pending
        .row
        .clone()
        .into_active_model()
        .insert(&transaction)
        .await
        .map_err(|e| status::from_db(context, e))?;
    idempotency::store(&transaction, &pending.key, &pending.response)
        .await
        .map_err(|e| status::from_db(context, e))?;
    transaction
        .commit()
        .await
        .map_err(|e| status::from_db(context, e))?;
    Ok(pending.response.clone())
}
