//! Group commit of new quotes: many `CreateQuote` calls share one transaction.
//!
//! A quote is durable before its call returns, as with a transaction per call, but the commit
//! and the statements are paid once per batch. The writer takes the quotes that are waiting
//! (up to [`MAX_BATCH`]) and inserts their idempotency keys with one statement that skips keys
//! stored before. It then inserts the quotes of the new keys with one more statement and
//! commits. A key used before gets the stored response, or FAILED_PRECONDITION when it came
//! with another request. When a batch fails as a whole (for
//! example because another replica inserted one of its keys first), each quote of it is written
//! again in a transaction of its own, so one bad call cannot fail its neighbours.
//!
//! On PostgreSQL several writers commit side by side, so a batch fills while another waits for
//! its commit to reach the disk. SQLite has a single writer, because its write transactions are
//! serial and a second writer would only wait for the lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use dk_proto::billing::v1 as pb;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, DatabaseConnection, IntoActiveModel, Statement};
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
///
/// The keys are inserted first with `ON CONFLICT DO NOTHING RETURNING`, so each key costs one
/// probe of the primary key. Keys the insert did not return were stored before; their responses
/// are read one by one, which only repeated calls pay for.
async fn commit(
    db: &DatabaseConnection,
    batch: &[Pending],
) -> Result<Vec<Result<pb::CreateQuoteResponse, Status>>, DbErr> {
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

    let transaction = dk_runtime::database::begin_write(db).await?;
    let now = Utc::now();
    // What the key of each first call stores: its request hash and response.
    let mut stored_for: HashMap<usize, (String, Vec<u8>)> = HashMap::new();
    let mut inserted: HashSet<(Uuid, String)> = HashSet::new();
    // SQLite allows 32,766 bound values per statement; a key row binds 6.
    for chunk in candidates.chunks(1000) {
        let backend = transaction.get_database_backend();
        let mut sql = String::from(
            "INSERT INTO idempotency_keys \
             (organisation_id, method, key, request_hash, response, created_at) VALUES ",
        );
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 6);
        for (row, index) in chunk.iter().enumerate() {
            let pending = &batch[*index];
            let response = pending.response.encode_to_vec();
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for column in 0..6 {
                if column > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    sea_orm::DatabaseBackend::Postgres => {
                        sql.push_str(&format!("${}", values.len() + column + 1))
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
            values.extend([
                pending.key.organisation_id.into(),
                METHOD.into(),
                pending.key.key.clone().into(),
                pending.key.request_hash.clone().into(),
                response.clone().into(),
                now.into(),
            ]);
            stored_for.insert(*index, (pending.key.request_hash.clone(), response));
        }
        sql.push_str(" ON CONFLICT DO NOTHING RETURNING organisation_id, key");
        for row in transaction
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
        {
            inserted.insert((
                row.try_get::<Uuid>("", "organisation_id")?,
                row.try_get::<String>("", "key")?,
            ));
        }
    }

    let mut quotes = Vec::new();
    let mut outcomes: Vec<Option<Result<pb::CreateQuoteResponse, Status>>> =
        vec![None; batch.len()];
    for index in &candidates {
        let pending = &batch[*index];
        let id = (pending.key.organisation_id, pending.key.key.clone());
        if inserted.contains(&id) {
            quotes.push(pending.row.clone().into_active_model());
            outcomes[*index] = Some(Ok(pending.response.clone()));
            continue;
        }
        let earlier = idempotency::Entity::find_by_id((id.0, METHOD.to_owned(), id.1))
            .one(&transaction)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("an idempotency key that conflicted".into()))?;
        outcomes[*index] = Some(stored(
            &pending.key,
            &earlier.request_hash,
            &earlier.response,
        ));
        stored_for.insert(*index, (earlier.request_hash, earlier.response));
    }
    for (index, pending) in batch.iter().enumerate() {
        if outcomes[index].is_some() {
            continue;
        }
        let first = first_with_key[&(pending.key.organisation_id, pending.key.key.as_str())];
        let (hash, response) = &stored_for[&first];
        let outcome = stored(&pending.key, hash, response);
        outcomes[index] = Some(outcome);
    }

    // SQLite allows 32,766 bound values per statement; a quote row binds 13.
    for chunk in quotes.chunks(1000) {
        quote::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every call is decided"))
        .collect())
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
