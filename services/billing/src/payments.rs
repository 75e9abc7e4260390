//! Consumer of `invoice.paid.v1`: marks the vendor's own invoices paid.
//!
//! Bookkeeping publishes a payment for every organisation's invoices. Billing keeps only those
//! of the issuing organisation (the vendor) whose number is in its series; every other event is
//! acknowledged and ignored. A payment is stored once per bookkeeping match and invoice, and the
//! event id is recorded as processed in the same transaction, so a redelivery changes nothing.

use std::str::FromStr;

use chrono::Utc;
use dk_messaging::{Event, Handler, HandlerError, processed};
use dk_proto::convert::money_from_proto;
use dk_proto::events::v1::InvoicePaid;
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, Set};

use crate::entity::{invoice, invoice_payment};

/// Name of this consumer in the processed-event table.
pub const CONSUMER: &str = "billing.invoice-payments";

pub struct InvoicePaidHandler {
    pub db: DatabaseConnection,
    /// The vendor organisation whose invoices billing issues.
    pub issuer: Uuid,
}

impl Handler for InvoicePaidHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let paid = InvoicePaid::decode(event.payload.as_slice()).map_err(|error| {
                HandlerError::Reject(format!("undecodable InvoicePaid: {error}"))
            })?;
            if event.organisation_id != self.issuer || paid.invoice_kind != "sales" {
                return Ok(());
            }
            let match_id = Uuid::from_str(&paid.match_id).map_err(|_| {
                HandlerError::Reject(format!("match_id {:?} is not a UUID", paid.match_id))
            })?;
            let amount = money_from_proto("amount_applied", paid.amount_applied.as_ref())
                .and_then(|money| {
                    money.to_minor_units().map_err(|error| {
                        dk_proto::convert::FieldError::new("amount_applied", error.to_string())
                    })
                })
                .map_err(|error| HandlerError::Reject(error.to_string()))?;
            self.record(event.id, &paid.invoice_number, match_id, amount)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))
        })
    }
}

impl InvoicePaidHandler {
    async fn record(
        &self,
        event_id: Uuid,
        number: &str,
        match_id: Uuid,
        amount_minor: i64,
    ) -> Result<(), DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if !processed::try_mark(&transaction, CONSUMER, event_id).await? {
            return transaction.commit().await;
        }
        let found = invoice::Entity::find()
            .filter(invoice::Column::IssuerOrganisationId.eq(self.issuer))
            .filter(invoice::Column::Number.eq(number))
            .one(&transaction)
            .await?;
        match found {
            None => {
                // A sales invoice the vendor created in bookkeeping by hand, not one of ours.
                tracing::debug!(number, "payment for an invoice billing did not issue");
            }
            Some(found) => {
                invoice_payment::Entity::insert(invoice_payment::ActiveModel {
                    match_id: Set(match_id),
                    invoice_id: Set(found.id),
                    amount_minor: Set(amount_minor),
                    received_at: Set(Utc::now()),
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
                tracing::info!(number, amount_minor, "payment recorded on invoice");
            }
        }
        transaction.commit().await
    }
}
