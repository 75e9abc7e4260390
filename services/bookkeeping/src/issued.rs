//! Consumer of `invoice.issued.v1`: books the invoices that billing issues as sales invoices of
//! the issuing organisation, so their payments are matched like any other sales invoice.
//!
//! An invoice becomes an open sales invoice for its total. A credit note lowers the open amount
//! of the invoice it corrects (never below zero). Redeliveries change nothing: the event id is
//! recorded as processed, and the invoice number is unique per organisation.
//!
//! NOTE: the ledger entries of these invoices (debtors, revenue, VAT) come with the ledger.

use std::str::FromStr;

use chrono::Utc;
use dk_domain::InvoiceNumber;
use dk_messaging::{Event, Handler, HandlerError, processed};
use dk_proto::convert::{date_from_proto, money_from_proto};
use dk_proto::events::v1::InvoiceIssued;
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, Set};

use crate::entity::invoice;

/// Name of this consumer in the processed-event table.
pub const CONSUMER: &str = "bookkeeping.issued-invoices";

pub struct IssuedInvoiceHandler {
    pub db: DatabaseConnection,
}

impl Handler for IssuedInvoiceHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let issued = InvoiceIssued::decode(event.payload.as_slice()).map_err(|error| {
                HandlerError::Reject(format!("undecodable InvoiceIssued: {error}"))
            })?;
            let booking = Booking::from_event(event, &issued)?;
            self.book(event.id, booking)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))
        })
    }
}

/// The booking of one event, with its fields checked.
enum Booking {
    Invoice(invoice::Model),
    CreditNote {
        organisation_id: Uuid,
        corrects: String,
        amount_minor: i64,
    },
}

impl Booking {
    fn from_event(event: &Event, issued: &InvoiceIssued) -> Result<Self, HandlerError> {
        let reject = |message: String| HandlerError::Reject(message);
        let organisation_id = Uuid::from_str(&issued.issuer_organisation_id).map_err(|_| {
            reject(format!(
                "issuer_organisation_id {:?} is not a UUID",
                issued.issuer_organisation_id
            ))
        })?;
        if organisation_id != event.organisation_id {
            return Err(reject(format!(
                "issuer {organisation_id} differs from the event's organisation {}",
                event.organisation_id
            )));
        }
        let total = money_from_proto("total", issued.total.as_ref())
            .map_err(|error| reject(error.to_string()))?;
        let amount_minor = total
            .to_minor_units()
            .map_err(|error| reject(error.to_string()))?;
        if issued.kind == "credit_note" {
            return Ok(Self::CreditNote {
                organisation_id,
                corrects: issued.corrects_invoice_number.clone(),
                amount_minor,
            });
        }
        let number = InvoiceNumber::parse(&issued.invoice_number)
            .map_err(|error| reject(error.to_string()))?;
        let issue_date = date_from_proto("issue_date", issued.issue_date.as_ref())
            .map_err(|error| reject(error.to_string()))?
            .ok_or_else(|| reject("issue_date is missing".into()))?;
        let due_date = date_from_proto("due_date", issued.due_date.as_ref())
            .map_err(|error| reject(error.to_string()))?
            .unwrap_or(issue_date);
        let now = Utc::now();
        Ok(Self::Invoice(invoice::Model {
            id: Uuid::now_v7(),
            organisation_id,
            kind: "sales".to_owned(),
            number_key: number.as_str().to_lowercase(),
            number: number.to_string(),
            counterparty_name: issued.customer_name.clone(),
            counterparty_iban: None,
            currency: total.currency().to_string(),
            amount_minor,
            open_minor: amount_minor,
            issue_date,
            due_date,
            payment_reference: None,
            created_at: now,
            updated_at: now,
        }))
    }
}

impl IssuedInvoiceHandler {
    async fn book(&self, event_id: Uuid, booking: Booking) -> Result<(), DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if !processed::try_mark(&transaction, CONSUMER, event_id).await? {
            return transaction.commit().await;
        }
        match booking {
            Booking::Invoice(row) => {
                invoice::Entity::insert(invoice::ActiveModel::from(row))
                    .on_conflict(
                        OnConflict::columns([
                            invoice::Column::OrganisationId,
                            invoice::Column::Kind,
                            invoice::Column::NumberKey,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(&transaction)
                    .await?;
            }
            Booking::CreditNote {
                organisation_id,
                corrects,
                amount_minor,
            } => {
                let corrected = invoice::Entity::find()
                    .filter(invoice::Column::OrganisationId.eq(organisation_id))
                    .filter(invoice::Column::Kind.eq("sales"))
                    .filter(invoice::Column::NumberKey.eq(corrects.to_lowercase()))
                    .one(&transaction)
                    .await?;
                match corrected {
                    Some(corrected) => {
                        let open = (corrected.open_minor + amount_minor).max(0);
                        let mut row: invoice::ActiveModel = corrected.into();
                        row.open_minor = Set(open);
                        row.updated_at = Set(Utc::now());
                        row.update(&transaction).await?;
                    }
                    None => tracing::warn!(
                        corrects,
                        "credit note for an invoice that bookkeeping does not hold"
                    ),
                }
            }
        }
        transaction.commit().await
    }
}
