//! Consumer of `invoice.paid.v1` and `invoice.payment.undone.v1`: keeps the paid state of the
//! vendor's own invoices.
//!
//! Bookkeeping publishes payments for every organisation's invoices. Billing keeps only those
//! of the issuing organisation (the vendor) whose number is in its series; every other event is
//! acknowledged and ignored. A payment is one row per bookkeeping match and invoice, and the
//! event id is recorded as processed in the same transaction, so a redelivery changes nothing.
//!
//! A user can undo a booked match in bookkeeping and confirm it again. Each booking has its own
//! id, and a later booking has a greater one (UUIDv7). The row follows the event of the greatest
//! booking, and of one booking the undo outranks the payment. Events that arrive late or twice
//! therefore cannot bring back a payment that was undone, nor undo a newer one.
//!
//! NOTE: UUIDv7 ids follow the clock of the replica that made them. Two bookings of one match
//! made on two bookkeeping replicas within their clock difference may be ordered wrongly.

use std::str::FromStr;

use chrono::Utc;
use dk_messaging::{Event, Handler, HandlerError, processed, topology};
use dk_proto::convert::money_from_proto;
use dk_proto::events::v1::{InvoicePaid, InvoicePaymentUndone};
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{Condition, DatabaseConnection, Set};

use crate::entity::{invoice, invoice_payment};

/// Name of this consumer in the processed-event table.
pub const CONSUMER: &str = "billing.invoice-payments";

pub struct InvoicePaidHandler {
    pub db: DatabaseConnection,
    /// The vendor organisation whose invoices billing issues.
    pub issuer: Uuid,
}

/// A payment or its undo, decoded from either event.
struct PaymentChange {
    invoice_number: String,
    invoice_kind: String,
    match_id: Uuid,
    /// `None` in payments published before events carried the booking.
    booking_id: Option<Uuid>,
    amount_minor: i64,
    undone: bool,
}

impl PaymentChange {
    fn decode(event: &Event) -> Result<Self, HandlerError> {
        let reject = |message: String| HandlerError::Reject(message);
        let (number, kind, match_id, booking_id, amount, field, undone) =
            match event.event_type.as_str() {
                topology::INVOICE_PAYMENT_UNDONE => {
                    let undone = InvoicePaymentUndone::decode(event.payload.as_slice())
                        .map_err(|e| reject(format!("undecodable InvoicePaymentUndone: {e}")))?;
                    (
                        undone.invoice_number,
                        undone.invoice_kind,
                        undone.match_id,
                        undone.booking_id,
                        undone.amount_reversed,
                        "amount_reversed",
                        true,
                    )
                }
                _ => {
                    let paid = InvoicePaid::decode(event.payload.as_slice())
                        .map_err(|e| reject(format!("undecodable InvoicePaid: {e}")))?;
                    (
                        paid.invoice_number,
                        paid.invoice_kind,
                        paid.match_id,
                        paid.booking_id,
                        paid.amount_applied,
                        "amount_applied",
                        false,
                    )
                }
            };
        let match_id = Uuid::from_str(&match_id)
            .map_err(|_| reject(format!("match_id {match_id:?} is not a UUID")))?;
        let booking_id = match booking_id.as_str() {
            "" if !undone => None,
            text => Some(
                Uuid::from_str(text)
                    .map_err(|_| reject(format!("booking_id {text:?} is not a UUID")))?,
            ),
        };
        let amount_minor = money_from_proto(field, amount.as_ref())
            .and_then(|money| {
                money
                    .to_minor_units()
                    .map_err(|error| dk_proto::convert::FieldError::new(field, error.to_string()))
            })
            .map_err(|error| reject(error.to_string()))?;
        Ok(Self {
            invoice_number: number,
            invoice_kind: kind,
            match_id,
            booking_id,
            amount_minor,
            undone,
        })
    }
}

impl Handler for InvoicePaidHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let change = PaymentChange::decode(event)?;
            if event.organisation_id != self.issuer || change.invoice_kind != "sales" {
                return Ok(());
            }
            self.record(event.id, &change)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))
        })
    }
}

impl InvoicePaidHandler {
    async fn record(&self, event_id: Uuid, change: &PaymentChange) -> Result<(), DbErr> {
        let number = change.invoice_number.as_str();
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if !processed::try_mark(&transaction, CONSUMER, event_id).await? {
            return transaction.commit().await;
        }
        let found = invoice::Entity::find()
            .filter(invoice::Column::IssuerOrganisationId.eq(self.issuer))
            .filter(invoice::Column::Number.eq(number))
            .one(&transaction)
            .await?;
        let Some(found) = found else {
            // A sales invoice the vendor created in bookkeeping by hand, not one of ours.
            tracing::debug!(number, "payment for an invoice billing did not issue");
            return transaction.commit().await;
        };
        let now = Utc::now();
        let undone_at = change.undone.then_some(now);
        let inserted = invoice_payment::Entity::insert(invoice_payment::ActiveModel {
            match_id: Set(change.match_id),
            invoice_id: Set(found.id),
            amount_minor: Set(change.amount_minor),
            received_at: Set(now),
            booking_id: Set(change.booking_id),
            undone_at: Set(undone_at),
        })
        .on_conflict(
            OnConflict::columns([
                invoice_payment::Column::MatchId,
                invoice_payment::Column::InvoiceId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&transaction)
        .await?;
        let changed = match (inserted, change.booking_id) {
            (1.., _) => true,
            // A payment without a booking id changes nothing that is stored.
            (0, None) => false,
            (0, Some(booking)) => {
                // The row changes only when this event outranks its state.
                use invoice_payment::Column as Payment;
                let mut outranks = Condition::any()
                    .add(Payment::BookingId.is_null())
                    .add(Payment::BookingId.lt(booking));
                if change.undone {
                    outranks = outranks.add(
                        Condition::all()
                            .add(Payment::BookingId.eq(booking))
                            .add(Payment::UndoneAt.is_null()),
                    );
                }
                let mut update = invoice_payment::Entity::update_many()
                    .col_expr(Payment::AmountMinor, Expr::value(change.amount_minor))
                    .col_expr(Payment::BookingId, Expr::value(booking))
                    .col_expr(Payment::UndoneAt, Expr::value(undone_at));
                if !change.undone {
                    update = update.col_expr(Payment::ReceivedAt, Expr::value(now));
                }
                update
                    .filter(Payment::MatchId.eq(change.match_id))
                    .filter(Payment::InvoiceId.eq(found.id))
                    .filter(outranks)
                    .exec(&transaction)
                    .await?
                    .rows_affected
                    == 1
            }
        };
        if changed {
            tracing::info!(
                number,
                amount_minor = change.amount_minor,
                undone = change.undone,
                "payment on invoice recorded"
            );
        }
        transaction.commit().await
    }
}
