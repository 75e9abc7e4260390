//! Deciding and booking the bank mutations of one delivery batch in one transaction.
//!
//! The mutations are decided in their order against the organisation's index, which takes each
//! booking's new open amounts at once, so a later mutation is decided against what an earlier
//! one paid. The rows of the whole batch are written with a few multi-row statements per table.
//! Mutations already decided are skipped. A batch that fails as a whole is tried once more.
//! When it fails again, every event gets `Retry`, and the bus hands each to `Handler::handle`,
//! which books it as a batch of one.
//!
//! Two batches may be in flight at once; [`invoice_index::Turn`] keeps their order.

use dk_telemetry::metrics::{attribute, instruments};
use dk_telemetry::propagation::{add_remote_link, set_remote_parent};
use std::collections::{HashMap, HashSet};
use tracing::Instrument;

use chrono::Utc;
use dk_domain::{Currency, Money};
use dk_matching::{Decision, Mutation, Outcome};
use dk_messaging::outbox;
use dk_messaging::{Event, HandlerError};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::entity::{allocation, payment_booking, payment_match};
use crate::invoice_index;
use crate::ledger::chart::{OrgChart, Role};
use crate::ledger::{self, Journal, NewEntry, NewLine, Source};
use crate::matching::{
    BankMutationHandler, ReceivedMutation, counterparty_of, decode, encode, non_empty,
    outcome_name, own_transfer, paid_event, to_minor,
};

/// Returns the span of booking one organisation's share of a batch. A single event is handled
/// inside its own process span, which becomes the parent. A batch serves several traces, so the
/// span links to each of them.
pub(crate) fn booking_span(
    organisation: Uuid,
    events: &[Event],
    mutations: &[(usize, ReceivedMutation)],
) -> tracing::Span {
    let span = tracing::info_span!(
        "bookkeeping.book",
        dk.organisation_id = %organisation,
        mutations = mutations.len(),
    );
    if events.len() > 1 {
        for (position, _) in mutations {
            add_remote_link(&span, events[*position].traceparent.as_deref());
        }
    }
    span
}

/// Returns the span of matching one mutation: a child of the booking span when the event came
/// alone, otherwise a child of the span that published the event.
fn matching_span(events: &[Event], event: &Event) -> tracing::Span {
    let span = tracing::info_span!("bookkeeping.match", dk.mutation_event_id = %event.id);
    if events.len() > 1 {
        set_remote_parent(&span, event.traceparent.as_deref(), None);
    }
    span
}

/// Returns which of `mutation_ids` the organisation has decided on already.
///
/// On PostgreSQL each id is looked up on its own in the unique index of the organisation and
/// mutation. A plain `mutation_id IN (...)` lets the planner scan every decision of the
/// organisation when the table has no statistics yet, as in a database that grows fast after
/// it was created. That scan grows with the table, so every batch took longer than the last.
async fn decided_among<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    mutation_ids: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT decided.mutation_id FROM unnest($2::uuid[]) AS wanted(id) \
                 CROSS JOIN LATERAL (SELECT mutation_id FROM payment_matches \
                   WHERE organisation_id = $1 AND mutation_id = wanted.id LIMIT 1) AS decided",
                [organisation.into(), mutation_ids.to_vec().into()],
            ))
            .await?;
        return rows
            .iter()
            .map(|row| row.try_get::<Uuid>("", "mutation_id"))
            .collect();
    }
    let mut decided = HashSet::new();
    for chunk in mutation_ids.chunks(ROWS_PER_INSERT) {
        decided.extend(
            payment_match::Entity::find()
                .filter(payment_match::Column::OrganisationId.eq(organisation))
                .filter(payment_match::Column::MutationId.is_in(chunk.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(|row| row.mutation_id),
        );
    }
    Ok(decided)
}

/// Attempts at booking a whole batch before its events are booked one by one.
const BATCH_ATTEMPTS: u32 = 2;

/// Rows per multi-row INSERT, under SQLite's limit of 32,766 bound values for the widest table.
const ROWS_PER_INSERT: usize = 1_000;

impl BankMutationHandler {
    /// Handles a batch: undecodable events are rejected, the rest are booked per organisation
    /// in one transaction each.
    pub(crate) async fn book_batch(&self, events: &[Event]) -> Vec<Result<(), HandlerError>> {
        let mut results: Vec<Result<(), HandlerError>> = Vec::with_capacity(events.len());
        let mut by_organisation: HashMap<Uuid, Vec<(usize, ReceivedMutation)>> = HashMap::new();
        for (position, event) in events.iter().enumerate() {
            match decode(event) {
                Ok(mutation) => {
                    results.push(Ok(()));
                    by_organisation
                        .entry(mutation.organisation_id)
                        .or_default()
                        .push((position, mutation));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        let mut published = false;
        for (organisation, mutations) in by_organisation {
            match self
                .book_organisation(organisation, events, &mutations)
                .instrument(booking_span(organisation, events, &mutations))
                .await
            {
                Ok(any) => published |= any,
                Err(error) => {
                    tracing::warn!(%organisation, %error, mutations = mutations.len(), "batch booking failed; booking the mutations one by one");
                    for (position, _) in &mutations {
                        results[*position] = Err(HandlerError::Retry(error.to_string()));
                    }
                }
            }
        }
        if published {
            self.relay.notify();
        }
        results
    }

    /// Books one organisation's mutations of a batch; returns whether it enqueued events.
    pub(crate) async fn book_organisation(
        &self,
        organisation: Uuid,
        events: &[Event],
        mutations: &[(usize, ReceivedMutation)],
    ) -> Result<bool, DbErr> {
        // Accounts first, each in its own transaction, before this one takes the write lock.
        let chart = self.charts.of(organisation).await?;
        let mut bank_accounts: HashMap<Uuid, Uuid> = HashMap::new();
        let mut own_ibans: HashSet<String> = HashSet::new();
        for (_, mutation) in mutations {
            let message = &mutation.message;
            if let std::collections::hash_map::Entry::Vacant(vacant) =
                bank_accounts.entry(mutation.bank_account_id)
            {
                let account = self
                    .charts
                    .bank_account(
                        organisation,
                        mutation.bank_account_id,
                        &message.account_iban,
                    )
                    .await?;
                vacant.insert(account);
            }
            if let Some(iban) = non_empty(&message.counterparty_iban)
                && iban != message.account_iban
                && self.charts.own_account(organisation, iban).await?.is_some()
            {
                own_ibans.insert(iban.to_owned());
            }
        }

        let started = std::time::Instant::now();
        let mut attempt = 1;
        loop {
            let result = self
                .write_batch(
                    organisation,
                    events,
                    mutations,
                    &chart,
                    &bank_accounts,
                    &own_ibans,
                )
                .await;
            tracing::debug!(
                mutations = mutations.len(),
                attempt,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "bank mutation batch"
            );
            match result {
                Ok(published) => return Ok(published),
                // Most failures of a whole batch come from the batch before it, or from another
                // writer that paid one of its invoices meanwhile. The second attempt decides
                // against the invoices as read again.
                Err(error) if attempt < BATCH_ATTEMPTS => {
                    tracing::debug!(%organisation, %error, "batch booking failed; trying the batch again");
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Decides and writes the batch in one transaction; returns whether it enqueued events.
    ///
    /// The batch decides while it has its organisation's slot locked, and writes and commits
    /// after it let go, in the order of [`invoice_index::Turn`]. So the next batch decides while this
    /// one writes, and writes while this one commits.
    async fn write_batch(
        &self,
        organisation: Uuid,
        events: &[Event],
        mutations: &[(usize, ReceivedMutation)],
        chart: &OrgChart,
        bank_accounts: &HashMap<Uuid, Uuid>,
        own_ibans: &HashSet<String>,
    ) -> Result<bool, DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if transaction.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // A batch waits in this process for the batch before it, where PostgreSQL cannot
            // see the wait. The timeout ends a lock wait that would close a cycle through it.
            transaction
                .execute_unprepared(
                    "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL lock_timeout = '30s'",
                )
                .await?;
        }
        let mutation_ids: Vec<Uuid> = mutations.iter().map(|(_, mutation)| mutation.id).collect();
        let mut decided = decided_among(&transaction, organisation, &mutation_ids).await?;
        // Each mutation is decided once: a redelivered event, or the same mutation under another
        // event id (in this batch or before), finds it decided. The unique index on the
        // organisation and mutation makes this hold against other replicas and against a batch
        // still in flight, so no processed event ids are recorded: every handled event leaves a
        // decision row.
        let todo: Vec<&(usize, ReceivedMutation)> = mutations
            .iter()
            .filter(|(_, mutation)| decided.insert(mutation.id))
            .collect();
        if todo.is_empty() {
            transaction.commit().await?;
            return Ok(false);
        }
        let closed = ledger::closed_through(&transaction, organisation).await?;

        let slot = self.index.slot(organisation);
        let (writes, turn) = {
            let mut state = slot.lock().await;
            let (index, turn) = state.take_turn(&transaction, organisation).await?;
            let writes = self.decide(
                organisation,
                events,
                &todo,
                chart,
                bank_accounts,
                own_ibans,
                closed,
                index,
            );
            (writes, turn)
        };
        let result = async {
            let writes = writes?;
            let published = !writes.events.is_empty();
            let changed: Vec<Uuid> = writes.invoice_changes.keys().copied().collect();
            let (writes, posted) = writes.save_own(&transaction, organisation).await?;
            turn.previous_written().await?;
            writes
                .save_shared(&transaction, organisation, posted)
                .await?;
            turn.written();
            turn.previous_committed().await?;
            invoice_index::bump(&transaction, organisation, &changed).await?;
            Ok(published)
        }
        .await;
        match result {
            Ok(published) => match transaction.commit().await {
                Ok(()) => {
                    turn.committed();
                    Ok(published)
                }
                Err(error) => {
                    turn.failed().await;
                    Err(error)
                }
            },
            Err(error) => {
                drop(transaction);
                turn.failed().await;
                Err(error)
            }
        }
    }

    /// Decides the batch's mutations in their order against the index, applying each payment
    /// to it, and collects the rows that record them.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        organisation: Uuid,
        events: &[Event],
        todo: &[&(usize, ReceivedMutation)],
        chart: &OrgChart,
        bank_accounts: &HashMap<Uuid, Uuid>,
        own_ibans: &HashSet<String>,
        closed: Option<chrono::NaiveDate>,
        index: &mut invoice_index::OrgIndex,
    ) -> Result<Writes, DbErr> {
        let now = Utc::now();
        let mut writes = Writes {
            now,
            ..Writes::default()
        };
        for (position, mutation) in todo.iter().copied() {
            let event = &events[*position];
            let message = &mutation.message;
            let purchase = mutation.amount.is_negative();
            let own =
                non_empty(&message.counterparty_iban).is_some_and(|iban| own_ibans.contains(iban));
            let decision = matching_span(events, event).in_scope(|| {
                let decision = if own {
                    own_transfer(&message.counterparty_iban)
                } else {
                    dk_matching::decide(
                        &Mutation {
                            amount: mutation.amount.amount(),
                            remittance: &message.remittance,
                            end_to_end_id: non_empty(&message.end_to_end_id),
                            structured_reference: non_empty(&message.structured_reference),
                            counterparty_iban: non_empty(&message.counterparty_iban),
                        },
                        index.of_kind(purchase),
                    )
                };
                let outcome = outcome_name(decision.outcome);
                tracing::debug!(
                    mutation_id = %mutation.id,
                    outcome,
                    invoices = decision.allocations.len(),
                    "bank mutation matched"
                );
                instruments()
                    .matching_decisions
                    .add(1, &[attribute("outcome", outcome)]);
                decision
            });
            let booked =
                !decision.allocations.is_empty() || decision.outcome == Outcome::OwnTransfer;
            let row = payment_match::Model {
                id: Uuid::now_v7(),
                organisation_id: organisation,
                mutation_id: mutation.id,
                event_id: event.id,
                bank_account_id: mutation.bank_account_id,
                booking_date: mutation.booking_date,
                amount_minor: to_minor(mutation.amount)?,
                currency: mutation.amount.currency().to_string(),
                counterparty_iban: non_empty(&message.counterparty_iban).map(str::to_owned),
                counterparty_name: non_empty(&message.counterparty_name).map(str::to_owned),
                remittance: message.remittance.clone(),
                outcome: outcome_name(decision.outcome).to_owned(),
                booked,
                decision: encode(&decision)?,
                created_at: now,
            };
            if booked {
                // UUIDv7: a later booking of the same match has a greater id.
                let booking_id = Uuid::now_v7();
                let bank_account = bank_accounts[&mutation.bank_account_id];
                let lines = if own {
                    let text = format!("Overboeking {}", message.counterparty_iban);
                    vec![
                        NewLine::new(bank_account, row.amount_minor, &text),
                        NewLine::new(chart.account(Role::Transfers)?, -row.amount_minor, &text),
                    ]
                } else {
                    let paying = Paying {
                        row: &row,
                        booking_id,
                        bank_account,
                    };
                    self.pay(&mut writes, index, chart, paying, &decision)?
                };
                writes.entries.push(NewEntry {
                    organisation_id: organisation,
                    journal: Journal::Bank,
                    date: ledger::open_date(row.booking_date, closed),
                    description: format!("{} {}", counterparty_of(&row), row.remittance.trim()),
                    source: if own {
                        Source::Transfer
                    } else {
                        Source::Payment
                    },
                    source_id: Some(row.id),
                    reverses: None,
                    lines,
                });
                writes.booked_matches.push((row.clone(), booking_id));
            }
            writes.matches.push(row.into());
        }

        Ok(writes)
    }

    /// Applies a decision's allocations to the index and collects the rows that book them;
    /// returns the lines of the payment entry.
    fn pay(
        &self,
        writes: &mut Writes,
        index: &mut invoice_index::OrgIndex,
        chart: &OrgChart,
        paying: Paying<'_>,
        decision: &Decision,
    ) -> Result<Vec<NewLine>, DbErr> {
        let Paying {
            row,
            booking_id,
            bank_account,
        } = paying;
        let control = chart.account(if row.amount_minor < 0 {
            Role::Creditors
        } else {
            Role::Debtors
        })?;
        let counterparty = counterparty_of(row);
        let mut lines = vec![NewLine::new(
            bank_account,
            row.amount_minor,
            format!("{counterparty} {}", row.remittance.trim()),
        )];
        for allocation in &decision.allocations {
            let invoice = index
                .invoices
                .get(&allocation.invoice_id)
                .cloned()
                .ok_or_else(|| {
                    DbErr::Custom(format!(
                        "decided invoice {} is not loaded",
                        allocation.invoice_id
                    ))
                })?;
            let currency = Currency::parse(&invoice.currency).unwrap_or(Currency::EUR);
            let applied = to_minor(Money::new(allocation.amount, currency))?;
            let open_after = invoice.open_minor - applied;
            writes
                .invoice_changes
                .entry(invoice.id)
                .or_insert((invoice.open_minor, open_after))
                .1 = open_after;
            index.set_open(invoice.id, open_after);
            lines.push(
                NewLine::new(
                    control,
                    -row.amount_minor.signum() * applied,
                    format!("Betaling {} {}", invoice.number, invoice.counterparty_name),
                )
                .for_invoice(invoice.id),
            );
            writes.allocations.push((row.id, invoice.id, applied));
            writes
                .events
                .push(paid_event(row, booking_id, &invoice, applied, open_after));
        }
        let remainder: i64 = lines.iter().map(|line| line.amount_minor).sum();
        if remainder != 0 {
            lines.push(NewLine::new(
                chart.account(Role::Suspense)?,
                -remainder,
                format!("Overbetaling {counterparty}, uit te zoeken"),
            ));
        }
        Ok(lines)
    }
}

/// A booked match that pays invoices: its booking and the bank ledger account of its mutation.
#[derive(Clone, Copy)]
struct Paying<'a> {
    row: &'a payment_match::Model,
    booking_id: Uuid,
    bank_account: Uuid,
}

/// The rows of a batch, written together at the end.
#[derive(Default)]
struct Writes {
    matches: Vec<payment_match::ActiveModel>,
    /// The booked matches with their booking ids, in the order of `entries`.
    booked_matches: Vec<(payment_match::Model, Uuid)>,
    entries: Vec<NewEntry>,
    /// Per match and invoice, the cents applied.
    allocations: Vec<(Uuid, Uuid, i64)>,
    /// Per invoice, its open amount before the batch and after it.
    invoice_changes: HashMap<Uuid, (i64, i64)>,
    events: Vec<Event>,
    /// When the batch was decided, the creation time of its rows.
    now: chrono::DateTime<Utc>,
}

impl Writes {
    /// Writes the rows no other batch touches: the payment entries and their lines. Runs while
    /// the batch before may still be writing.
    async fn save_own<C: ConnectionTrait>(
        mut self,
        db: &C,
        organisation: Uuid,
    ) -> Result<(Self, ledger::Posted), DbErr> {
        let entries = std::mem::take(&mut self.entries);
        let posted = ledger::insert_entries(db, organisation, entries)
            .await
            .map_err(|error| match error {
                ledger::LedgerError::Db(error) => error,
                other => DbErr::Custom(other.to_string()),
            })?;
        Ok((self, posted))
    }

    /// Writes the rows a batch before may hold as well, once it has written its own: the
    /// decisions (unique per mutation), the invoices' open amounts and the monthly balances,
    /// with the rows that refer to them.
    async fn save_shared<C: ConnectionTrait>(
        self,
        db: &C,
        organisation: Uuid,
        posted: ledger::Posted,
    ) -> Result<(), DbErr> {
        let now = self.now;
        insert_all(db, self.matches).await?;
        let mut booking_of_match = HashMap::with_capacity(posted.ids.len());
        let bookings: Vec<payment_booking::ActiveModel> = self
            .booked_matches
            .iter()
            .zip(&posted.ids)
            .map(|((row, id), entry_id)| {
                booking_of_match.insert(row.id, *id);
                payment_booking::ActiveModel {
                    id: Set(*id),
                    organisation_id: Set(organisation),
                    mutation_id: Set(row.mutation_id),
                    match_id: Set(row.id),
                    entry_id: Set(*entry_id),
                    created_at: Set(now),
                    undone_at: Set(None),
                    reversal_entry_id: Set(None),
                }
            })
            .collect();
        insert_all(db, bookings).await?;
        // The invoices first: the allocations' reference check then finds them locked already.
        update_open_amounts(db, &self.invoice_changes, now).await?;
        let allocations: Vec<allocation::ActiveModel> = self
            .allocations
            .iter()
            .map(|(match_id, invoice_id, amount)| allocation::ActiveModel {
                id: Set(Uuid::now_v7()),
                match_id: Set(*match_id),
                booking_id: Set(booking_of_match.get(match_id).copied()),
                invoice_id: Set(*invoice_id),
                amount_minor: Set(*amount),
                created_at: Set(now),
            })
            .collect();
        insert_all(db, allocations).await?;
        outbox::enqueue(db, "bookkeeping", &self.events).await?;
        // Last, as every batch adds to the same balances and waits here for the one before.
        posted.add_to_balances(db).await
    }
}

/// Inserts rows in chunks of multi-row INSERTs.
async fn insert_all<A, C>(db: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Sets the open amounts of the invoices a batch paid, in one statement per 1,000 invoices.
/// Each changes only if it still has the amount the index read, and the call fails when any
/// changed meanwhile. The ids and amounts are generated here, never text from a request, so
/// they are written inline.
async fn update_open_amounts<C: ConnectionTrait>(
    db: &C,
    changes: &HashMap<Uuid, (i64, i64)>,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let changes: Vec<(&Uuid, &(i64, i64))> = changes.iter().collect();
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(id, (before, after))| {
                let id = match backend {
                    sea_orm::DatabaseBackend::Postgres => format!("'{id}'::uuid"),
                    _ => format!("X'{}'", id.simple()),
                };
                format!("({id}, {before}, {after})")
            })
            .collect();
        let placeholder = match backend {
            sea_orm::DatabaseBackend::Postgres => "$1",
            _ => "?",
        };
        let sql = format!(
            "WITH changed(id, before, after) AS (VALUES {}) \
             UPDATE invoices SET open_minor = changed.after, updated_at = {placeholder} \
             FROM changed WHERE invoices.id = changed.id AND invoices.open_minor = changed.before",
            values.join(", ")
        );
        let result = db
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql,
                [now.into()],
            ))
            .await?;
        if result.rows_affected() != chunk.len() as u64 {
            return Err(DbErr::Custom(format!(
                "{} of {} invoices changed while booking a batch",
                chunk.len() as u64 - result.rows_affected(),
                chunk.len()
            )));
        }
    }
    Ok(())
}
