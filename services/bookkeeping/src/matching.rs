//! Consumer of `bank.mutation.imported.v1`: decides how each mutation pays invoices and books it.
//!
//! Mutations are decided with `dk-matching` against the organisation's cached invoice index and
//! booked in one transaction per delivery batch (see `batch.rs`); a single event is a batch of
//! one. Booking lowers the open amounts of the paid invoices, stores the decision with its
//! reasons, posts the payment in the bank journal (bank against debtors or creditors, a surplus
//! to the suspense account) and enqueues one `invoice.paid.v1` per paid invoice in the outbox. A
//! redelivered event, or the same mutation under a new event id, finds its decision by the
//! unique (organisation, mutation) index and changes nothing.

use std::str::FromStr;
use tracing::Instrument;

use chrono::Utc;
use dk_domain::{Currency, Money};
use dk_matching::{Decision, Outcome, Reasons, Score};
use dk_messaging::outbox::Relay;
use dk_messaging::{Event, Handler, HandlerError, topology};
use dk_proto::convert::{date_from_proto, money_from_proto};
use dk_proto::events::v1::{BankMutationImported, InvoicePaid, InvoicePaymentUndone};
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, DatabaseConnection, Set};

use crate::entity::{allocation, invoice, match_history, payment_booking, payment_match};
use crate::invoice_index::IndexCache;
use crate::ledger::chart::{Charts, OrgChart, Role};
use crate::ledger::{self, Journal, NewEntry, NewLine, Source};

/// CloudEvents source of bookkeeping events.
pub const EVENT_SOURCE: &str = "/dk/bookkeeping";

/// Handles bank mutations for bookkeeping.
pub struct BankMutationHandler {
    pub db: DatabaseConnection,
    pub relay: Relay,
    pub charts: Charts,
    pub index: IndexCache,
}

impl Handler for BankMutationHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mutation = decode(event)?;
            let organisation = mutation.organisation_id;
            let events = std::slice::from_ref(event);
            let mutations = [(0, mutation)];
            let published = self
                .book_organisation(organisation, events, &mutations)
                .instrument(crate::batch::booking_span(organisation, events, &mutations))
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))?;
            if published {
                self.relay.notify();
            }
            Ok(())
        })
    }

    fn handle_batch<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Vec<Result<(), HandlerError>>> {
        Box::pin(self.book_batch(events))
    }

    /// Two: the next batch decides while this one writes, and writes while it commits. The
    /// batches of one organisation keep their order through the invoice index's turns.
    fn batches_in_flight(&self) -> usize {
        2
    }
}

/// A received mutation with its fields checked.
pub(crate) struct ReceivedMutation {
    pub(crate) id: Uuid,
    pub(crate) organisation_id: Uuid,
    pub(crate) bank_account_id: Uuid,
    pub(crate) booking_date: Date,
    pub(crate) amount: Money,
    pub(crate) message: BankMutationImported,
}

pub(crate) fn decode(event: &Event) -> Result<ReceivedMutation, HandlerError> {
    let message = BankMutationImported::decode(event.payload.as_slice()).map_err(|error| {
        HandlerError::Reject(format!("undecodable BankMutationImported: {error}"))
    })?;
    let uuid = |field: &str, text: &str| {
        Uuid::from_str(text)
            .map_err(|_| HandlerError::Reject(format!("{field} {text:?} is not a UUID")))
    };
    let amount = money_from_proto("amount", message.amount.as_ref())
        .map_err(|error| HandlerError::Reject(error.to_string()))?;
    let booking_date = date_from_proto("booking_date", message.booking_date.as_ref())
        .map_err(|error| HandlerError::Reject(error.to_string()))?
        .ok_or_else(|| HandlerError::Reject("booking_date is missing".into()))?;
    let organisation_id = uuid("organisation_id", &message.organisation_id)?;
    if organisation_id != event.organisation_id {
        return Err(HandlerError::Reject(format!(
            "payload organisation {organisation_id} differs from the event's {}",
            event.organisation_id
        )));
    }
    Ok(ReceivedMutation {
        id: uuid("mutation_id", &message.mutation_id)?,
        organisation_id,
        bank_account_id: uuid("bank_account_id", &message.bank_account_id)?,
        booking_date,
        amount,
        message,
    })
}

/// Builds the decision for a transfer from or to another account of the same organisation.
pub(crate) fn own_transfer(counterparty_iban: &str) -> Decision {
    Decision {
        outcome: Outcome::OwnTransfer,
        allocations: Vec::new(),
        suggestions: Vec::new(),
        reasons: Reasons {
            matched_tokens: Vec::new(),
            amount_check: String::new(),
            surplus: None,
            score: Score {
                reference: 0,
                amount: 0,
                counterparty: 100,
                total: 100,
            },
            runner_up: None,
            summary: format!(
                "The counterparty {counterparty_iban} is another account of this organisation, so the mutation moves money between its own accounts and is booked against transfers in transit."
            ),
        },
    }
}

pub fn encode(decision: &Decision) -> Result<String, DbErr> {
    serde_json::to_string(decision).map_err(|error| DbErr::Custom(error.to_string()))
}

/// Records the matcher's decision as the first step of a match's history, before a user's
/// step changes it. The matcher writes no history row itself: a match without history rows
/// still has its first decision in `decision`.
pub async fn record_decided<C: ConnectionTrait>(
    db: &C,
    row: &payment_match::Model,
) -> Result<(), DbErr> {
    let recorded = match_history::Entity::find()
        .filter(match_history::Column::MatchId.eq(row.id))
        .one(db)
        .await?;
    if recorded.is_none() {
        match_history::ActiveModel {
            id: Set(Uuid::now_v7()),
            match_id: Set(row.id),
            organisation_id: Set(row.organisation_id),
            action: Set("decided".to_owned()),
            actor: Set("matcher".to_owned()),
            invoice_id: Set(None),
            decision: Set(row.decision.clone()),
            created_at: Set(row.created_at),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Records a step in a match's history.
pub async fn record_history<C: ConnectionTrait>(
    db: &C,
    row: &payment_match::Model,
    action: &str,
    actor: &str,
    invoice_id: Option<Uuid>,
    decision: &str,
) -> Result<(), DbErr> {
    match_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        match_id: Set(row.id),
        organisation_id: Set(row.organisation_id),
        action: Set(action.to_owned()),
        actor: Set(actor.to_owned()),
        invoice_id: Set(invoice_id),
        decision: Set(decision.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub(crate) fn counterparty_of(row: &payment_match::Model) -> &str {
    row.counterparty_name
        .as_deref()
        .unwrap_or("onbekende tegenpartij")
}

/// Posts an entry for a matched mutation and records it as the mutation's booking.
async fn post_booking<C: ConnectionTrait>(
    db: &C,
    row: &payment_match::Model,
    booking_id: Uuid,
    source: Source,
    lines: Vec<NewLine>,
) -> Result<(), DbErr> {
    let closed = ledger::closed_through(db, row.organisation_id).await?;
    let entry_id = ledger::post(
        db,
        NewEntry {
            organisation_id: row.organisation_id,
            journal: Journal::Bank,
            date: ledger::open_date(row.booking_date, closed),
            description: format!("{} {}", counterparty_of(row), row.remittance.trim()),
            source,
            source_id: Some(row.id),
            reverses: None,
            lines,
        },
    )
    .await
    .map_err(|error| match error {
        ledger::LedgerError::Db(error) => error,
        other => DbErr::Custom(other.to_string()),
    })?;
    payment_booking::ActiveModel {
        id: Set(booking_id),
        organisation_id: Set(row.organisation_id),
        mutation_id: Set(row.mutation_id),
        match_id: Set(row.id),
        entry_id: Set(entry_id),
        created_at: Set(Utc::now()),
        undone_at: Set(None),
        reversal_entry_id: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Builds the `invoice.payment.undone.v1` event of a booking's payment to one invoice that an
/// undo takes back; `invoice` is read after it was reopened.
pub(crate) fn payment_undone_event(
    row: &payment_match::Model,
    booking_id: Uuid,
    invoice: &invoice::Model,
    reversed_minor: i64,
) -> Event {
    let currency = Currency::parse(&invoice.currency).unwrap_or(Currency::EUR);
    let undone = InvoicePaymentUndone {
        organisation_id: row.organisation_id.to_string(),
        invoice_id: invoice.id.to_string(),
        invoice_number: invoice.number.clone(),
        invoice_kind: invoice.kind.clone(),
        amount_reversed: Some(Money::from_minor_units(reversed_minor, currency).into()),
        open_amount: Some(Money::from_minor_units(invoice.open_minor, currency).into()),
        mutation_id: row.mutation_id.to_string(),
        match_id: row.id.to_string(),
        booking_id: booking_id.to_string(),
    };
    Event::new(
        topology::INVOICE_PAYMENT_UNDONE,
        EVENT_SOURCE,
        row.organisation_id,
        undone.encode_to_vec(),
    )
}

/// Builds the `invoice.paid.v1` event of a payment applied to one invoice.
pub(crate) fn paid_event(
    row: &payment_match::Model,
    booking_id: Uuid,
    invoice: &invoice::Model,
    applied_minor: i64,
    open_after: i64,
) -> Event {
    let currency = Currency::parse(&invoice.currency).unwrap_or(Currency::EUR);
    let paid = InvoicePaid {
        organisation_id: row.organisation_id.to_string(),
        invoice_id: invoice.id.to_string(),
        invoice_number: invoice.number.clone(),
        invoice_kind: invoice.kind.clone(),
        amount_applied: Some(Money::from_minor_units(applied_minor, currency).into()),
        open_amount: Some(Money::from_minor_units(open_after, currency).into()),
        fully_paid: open_after == 0,
        mutation_id: row.mutation_id.to_string(),
        match_id: row.id.to_string(),
        booking_id: booking_id.to_string(),
    };
    Event::new(
        topology::INVOICE_PAID,
        EVENT_SOURCE,
        row.organisation_id,
        paid.encode_to_vec(),
    )
}

/// Applies a payment to invoices: lowers their open amounts (only if no one changed them since
/// they were read), records the allocations and posts the bank entry, with any surplus on the
/// suspense account. Returns one `invoice.paid.v1` per invoice.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    chart: &OrgChart,
    row: &payment_match::Model,
    bank_account: Uuid,
    applied: &[(invoice::Model, i64)],
) -> Result<Vec<Event>, DbErr> {
    let now = Utc::now();
    // UUIDv7: a later booking of the same match has a greater id.
    let booking_id = Uuid::now_v7();
    let counterparty = counterparty_of(row);
    let purchase = row.amount_minor < 0;
    let control = chart.account(if purchase {
        Role::Creditors
    } else {
        Role::Debtors
    })?;
    let mut lines = vec![NewLine::new(
        bank_account,
        row.amount_minor,
        format!("{counterparty} {}", row.remittance.trim()),
    )];
    let mut allocations = Vec::with_capacity(applied.len());
    let mut events = Vec::with_capacity(applied.len());
    for (invoice, applied_minor) in applied {
        let open_after = invoice.open_minor - applied_minor;
        let updated = invoice::Entity::update_many()
            .col_expr(invoice::Column::OpenMinor, Expr::value(open_after))
            .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
            .filter(invoice::Column::Id.eq(invoice.id))
            .filter(invoice::Column::OpenMinor.eq(invoice.open_minor))
            .exec(db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(DbErr::Custom(format!(
                "invoice {} changed while booking mutation {}",
                invoice.number, row.mutation_id
            )));
        }
        lines.push(
            NewLine::new(
                control,
                -row.amount_minor.signum() * applied_minor,
                format!("Betaling {} {}", invoice.number, invoice.counterparty_name),
            )
            .for_invoice(invoice.id),
        );
        allocations.push((invoice.id, *applied_minor));
        events.push(paid_event(
            row,
            booking_id,
            invoice,
            *applied_minor,
            open_after,
        ));
    }
    let remainder: i64 = lines.iter().map(|line| line.amount_minor).sum();
    if remainder != 0 {
        lines.push(NewLine::new(
            chart.account(Role::Suspense)?,
            -remainder,
            format!("Overbetaling {counterparty}, uit te zoeken"),
        ));
    }
    post_booking(db, row, booking_id, Source::Payment, lines).await?;
    for (invoice_id, amount_minor) in allocations {
        allocation::ActiveModel {
            id: Set(Uuid::now_v7()),
            match_id: Set(row.id),
            booking_id: Set(Some(booking_id)),
            invoice_id: Set(invoice_id),
            amount_minor: Set(amount_minor),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(events)
}

pub(crate) fn to_minor(money: Money) -> Result<i64, DbErr> {
    money
        .to_minor_units()
        .map_err(|error| DbErr::Custom(error.to_string()))
}

pub(crate) fn non_empty(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

/// Returns the name under which an outcome is stored and listed.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Exact => "exact",
        Outcome::Partial => "partial",
        Outcome::Overpaid => "overpaid",
        Outcome::PossibleDoublePayment => "possible_double_payment",
        Outcome::Suggested => "suggested",
        Outcome::Unmatched => "unmatched",
        Outcome::OwnTransfer => "own_transfer",
    }
}

/// Consumer of `bank.account.registered.v1`: gives each registered bank account its ledger
/// account, so transfers between the organisation's accounts are recognised from the first
/// statement on. Creating the account twice is harmless: the second finds the first.
pub struct BankAccountHandler {
    pub charts: Charts,
}

impl Handler for BankAccountHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let registered =
                dk_proto::events::v1::BankAccountRegistered::decode(event.payload.as_slice())
                    .map_err(|error| {
                        HandlerError::Reject(format!("undecodable BankAccountRegistered: {error}"))
                    })?;
            let bank_account = Uuid::from_str(&registered.bank_account_id).map_err(|_| {
                HandlerError::Reject(format!(
                    "bank_account_id {:?} is not a UUID",
                    registered.bank_account_id
                ))
            })?;
            self.charts
                .bank_account(event.organisation_id, bank_account, &registered.iban)
                .await
                .map(|_| ())
                .map_err(|error| HandlerError::Retry(error.to_string()))
        })
    }
}
