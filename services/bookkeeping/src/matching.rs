//! Consumer of `bank.mutation.imported.v1`: decides how each mutation pays invoices and books it.
//!
//! Each event is handled in one transaction: record the event id as processed, decide with
//! `dk-matching`, lower the open amounts of the paid invoices, store the decision with its
//! reasons, post the payment in the bank journal (bank against debtors or creditors, a surplus
//! to the suspense account), and enqueue one `invoice.paid.v1` per paid invoice in the outbox. A redelivered
//! event finds its id in `processed_events` and changes nothing. A mutation that arrives under a
//! new event id finds its decision by the unique (organisation, mutation) index.

use std::str::FromStr;

use chrono::Utc;
use dk_domain::{Currency, Money};
use dk_matching::{InvoiceIndex, InvoiceKind, Mutation, OpenInvoice, Outcome};
use dk_messaging::outbox::{self, Relay};
use dk_messaging::{Event, Handler, HandlerError, processed, topology};
use dk_proto::convert::{date_from_proto, money_from_proto};
use dk_proto::events::v1::{BankMutationImported, InvoicePaid};
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, Set};

use crate::entity::{allocation, invoice, payment_match};
use crate::ledger::chart::{Charts, Role};
use crate::ledger::{self, Journal, NewEntry, NewLine, Source};

/// Name of this consumer in the processed-event table.
pub const CONSUMER: &str = "bookkeeping.bank-mutations";
/// CloudEvents source of bookkeeping events.
pub const EVENT_SOURCE: &str = "/dk/bookkeeping";

/// Handles bank mutations for bookkeeping.
pub struct BankMutationHandler {
    pub db: DatabaseConnection,
    pub relay: Relay,
    pub charts: Charts,
}

impl Handler for BankMutationHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mutation = decode(event)?;
            match self.book(event, &mutation).await {
                Ok(published) => {
                    if published {
                        self.relay.notify();
                    }
                    Ok(())
                }
                Err(error) => Err(HandlerError::Retry(error.to_string())),
            }
        })
    }
}

/// A received mutation with its fields checked.
struct ReceivedMutation {
    id: Uuid,
    organisation_id: Uuid,
    bank_account_id: Uuid,
    booking_date: Date,
    amount: Money,
    message: BankMutationImported,
}

fn decode(event: &Event) -> Result<ReceivedMutation, HandlerError> {
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

impl BankMutationHandler {
    /// Decides and books one mutation; returns whether it enqueued events.
    async fn book(&self, event: &Event, mutation: &ReceivedMutation) -> Result<bool, DbErr> {
        // Accounts are made in their own transactions, before this one takes the write lock.
        let chart = self.charts.of(mutation.organisation_id).await?;
        let bank_account = self
            .charts
            .bank_account(
                mutation.organisation_id,
                mutation.bank_account_id,
                &mutation.message.account_iban,
            )
            .await?;
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if !processed::try_mark(&transaction, CONSUMER, event.id).await? {
            transaction.commit().await?;
            return Ok(false);
        }
        let already_decided = payment_match::Entity::find()
            .filter(payment_match::Column::OrganisationId.eq(mutation.organisation_id))
            .filter(payment_match::Column::MutationId.eq(mutation.id))
            .one(&transaction)
            .await?
            .is_some();
        if already_decided {
            transaction.commit().await?;
            return Ok(false);
        }

        let kind = if mutation.amount.is_negative() {
            "purchase"
        } else {
            "sales"
        };
        // NOTE: the index is rebuilt from the organisation's invoices of one kind for every
        // mutation, which is linear in their number.
        let invoices = invoice::Entity::find()
            .filter(invoice::Column::OrganisationId.eq(mutation.organisation_id))
            .filter(invoice::Column::Kind.eq(kind))
            .all(&transaction)
            .await?;
        let index = build_index(&invoices);
        let message = &mutation.message;
        let decision = dk_matching::decide(
            &Mutation {
                amount: mutation.amount.amount(),
                remittance: &message.remittance,
                end_to_end_id: non_empty(&message.end_to_end_id),
                structured_reference: non_empty(&message.structured_reference),
                counterparty_iban: non_empty(&message.counterparty_iban),
            },
            &index,
        );

        let match_id = Uuid::now_v7();
        let now = Utc::now();
        let booked = !decision.allocations.is_empty();
        payment_match::ActiveModel {
            id: Set(match_id),
            organisation_id: Set(mutation.organisation_id),
            mutation_id: Set(mutation.id),
            event_id: Set(event.id),
            bank_account_id: Set(mutation.bank_account_id),
            booking_date: Set(mutation.booking_date),
            amount_minor: Set(to_minor(mutation.amount)?),
            currency: Set(mutation.amount.currency().to_string()),
            counterparty_iban: Set(non_empty(&message.counterparty_iban).map(str::to_owned)),
            counterparty_name: Set(non_empty(&message.counterparty_name).map(str::to_owned)),
            remittance: Set(message.remittance.clone()),
            outcome: Set(outcome_name(decision.outcome).to_owned()),
            booked: Set(booked),
            decision: Set(serde_json::to_string(&decision)
                .map_err(|error| DbErr::Custom(error.to_string()))?),
            created_at: Set(now),
        }
        .insert(&transaction)
        .await?;

        let mut events = Vec::with_capacity(decision.allocations.len());
        let amount_minor = to_minor(mutation.amount)?;
        let control = chart.account(if kind == "purchase" {
            Role::Creditors
        } else {
            Role::Debtors
        })?;
        let counterparty = non_empty(&message.counterparty_name).unwrap_or("onbekende tegenpartij");
        let mut entry_lines = vec![NewLine::new(
            bank_account,
            amount_minor,
            format!("{counterparty} {}", message.remittance.trim()),
        )];
        for applied in &decision.allocations {
            let Some(invoice) = invoices
                .iter()
                .find(|invoice| invoice.id == applied.invoice_id)
            else {
                return Err(DbErr::Custom(format!(
                    "decided invoice {} is not loaded",
                    applied.invoice_id
                )));
            };
            let currency = Currency::parse(&invoice.currency).unwrap_or(Currency::EUR);
            let applied_minor = to_minor(Money::new(applied.amount, currency))?;
            let open_after = invoice.open_minor - applied_minor;
            // The open amount read above must still hold, or a concurrent booking changed it.
            let updated = invoice::Entity::update_many()
                .col_expr(invoice::Column::OpenMinor, Expr::value(open_after))
                .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
                .filter(invoice::Column::Id.eq(invoice.id))
                .filter(invoice::Column::OpenMinor.eq(invoice.open_minor))
                .exec(&transaction)
                .await?;
            if updated.rows_affected != 1 {
                return Err(DbErr::Custom(format!(
                    "invoice {} changed while booking mutation {}; retrying",
                    invoice.number, mutation.id
                )));
            }
            entry_lines.push(
                NewLine::new(
                    control,
                    -amount_minor.signum() * applied_minor,
                    format!("Betaling {} {}", invoice.number, invoice.counterparty_name),
                )
                .for_invoice(invoice.id),
            );
            allocation::ActiveModel {
                id: Set(Uuid::now_v7()),
                match_id: Set(match_id),
                invoice_id: Set(invoice.id),
                amount_minor: Set(applied_minor),
                created_at: Set(now),
            }
            .insert(&transaction)
            .await?;
            let paid = InvoicePaid {
                organisation_id: mutation.organisation_id.to_string(),
                invoice_id: invoice.id.to_string(),
                invoice_number: invoice.number.clone(),
                invoice_kind: invoice.kind.clone(),
                amount_applied: Some(Money::from_minor_units(applied_minor, currency).into()),
                open_amount: Some(Money::from_minor_units(open_after, currency).into()),
                fully_paid: open_after == 0,
                mutation_id: mutation.id.to_string(),
                match_id: match_id.to_string(),
            };
            events.push(Event::new(
                topology::INVOICE_PAID,
                EVENT_SOURCE,
                mutation.organisation_id,
                paid.encode_to_vec(),
            ));
        }
        if booked {
            let remainder: i64 = entry_lines.iter().map(|line| line.amount_minor).sum();
            if remainder != 0 {
                entry_lines.push(NewLine::new(
                    chart.account(Role::Suspense)?,
                    -remainder,
                    format!("Overbetaling {counterparty}, uit te zoeken"),
                ));
            }
            let closed = ledger::closed_through(&transaction, mutation.organisation_id).await?;
            ledger::post(
                &transaction,
                NewEntry {
                    organisation_id: mutation.organisation_id,
                    journal: Journal::Bank,
                    date: ledger::open_date(mutation.booking_date, closed),
                    description: format!("{counterparty} {}", message.remittance.trim()),
                    source: Source::Payment,
                    source_id: Some(match_id),
                    reverses: None,
                    lines: entry_lines,
                },
            )
            .await
            .map_err(|error| match error {
                ledger::LedgerError::Db(error) => error,
                other => DbErr::Custom(other.to_string()),
            })?;
        }
        outbox::enqueue(&transaction, "bookkeeping", &events).await?;
        transaction.commit().await?;
        tracing::debug!(
            mutation_id = %mutation.id,
            outcome = outcome_name(decision.outcome),
            allocations = decision.allocations.len(),
            "bank mutation decided"
        );
        Ok(!events.is_empty())
    }
}

fn build_index(invoices: &[invoice::Model]) -> InvoiceIndex {
    let mut index = InvoiceIndex::new();
    for row in invoices {
        let currency = Currency::parse(&row.currency).unwrap_or(Currency::EUR);
        index.insert(OpenInvoice {
            id: row.id,
            kind: if row.kind == "purchase" {
                InvoiceKind::Purchase
            } else {
                InvoiceKind::Sales
            },
            number: row.number.clone(),
            payment_reference: row.payment_reference.clone(),
            counterparty_iban: row.counterparty_iban.clone(),
            open_amount: Money::from_minor_units(row.open_minor, currency).amount(),
            total_amount: Money::from_minor_units(row.amount_minor, currency).amount(),
        });
    }
    index
}

fn to_minor(money: Money) -> Result<i64, DbErr> {
    money
        .to_minor_units()
        .map_err(|error| DbErr::Custom(error.to_string()))
}

fn non_empty(text: &str) -> Option<&str> {
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
    }
}
