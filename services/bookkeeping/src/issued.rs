//! Consumer of `invoice.issued.v1`: books the invoices that billing issues as sales invoices of
//! the issuing organisation, so their payments are matched like any other sales invoice.
//!
//! An invoice becomes an open sales invoice for its total and is booked in the sales journal:
//! debtors, revenue per line and VAT per rate, as billing computed them. A credit note is booked
//! the same way with negative amounts against the invoice it corrects, whose open amount it
//! lowers (never below zero). Redeliveries change nothing: the event id is recorded as
//! processed, the invoice number is unique per organisation, and an invoice or credit note is
//! booked by one entry (a unique index). An entry dated in a closed period is booked on the
//! first open day.

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

use crate::entity::{invoice, journal_entry};
use crate::ledger::chart::{Charts, OrgChart, Role};
use crate::ledger::vat::{VatBox, VatPart};
use crate::ledger::{self, Journal, NewEntry, NewLine, Source};

/// Name of this consumer in the processed-event table.
pub const CONSUMER: &str = "bookkeeping.issued-invoices";

pub struct IssuedInvoiceHandler {
    pub db: DatabaseConnection,
    pub charts: Charts,
}

impl Handler for IssuedInvoiceHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let issued = InvoiceIssued::decode(event.payload.as_slice()).map_err(|error| {
                HandlerError::Reject(format!("undecodable InvoiceIssued: {error}"))
            })?;
            let booking = Booking::from_event(event, &issued)?;
            let chart = self
                .charts
                .of(event.organisation_id)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))?;
            let lines = entry_lines(&issued, &chart)?;
            self.book(event.id, booking, &issued, lines)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))
        })
    }
}

/// The booking of one event, with its fields checked.
enum Booking {
    Invoice(Box<invoice::Model>),
    CreditNote {
        organisation_id: Uuid,
        corrects: String,
        amount_minor: i64,
        credit_note_id: Uuid,
        issue_date: chrono::NaiveDate,
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
        let issue_date = date_from_proto("issue_date", issued.issue_date.as_ref())
            .map_err(|error| reject(error.to_string()))?
            .ok_or_else(|| reject("issue_date is missing".into()))?;
        if issued.kind == "credit_note" {
            let credit_note_id = Uuid::from_str(&issued.invoice_id)
                .map_err(|_| reject(format!("invoice_id {:?} is not a UUID", issued.invoice_id)))?;
            return Ok(Self::CreditNote {
                organisation_id,
                corrects: issued.corrects_invoice_number.clone(),
                amount_minor,
                credit_note_id,
                issue_date,
            });
        }
        let number = InvoiceNumber::parse(&issued.invoice_number)
            .map_err(|error| reject(error.to_string()))?;
        let due_date = date_from_proto("due_date", issued.due_date.as_ref())
            .map_err(|error| reject(error.to_string()))?
            .unwrap_or(issue_date);
        let now = Utc::now();
        Ok(Self::Invoice(Box::new(invoice::Model {
            id: Uuid::now_v7(),
            organisation_id,
            kind: "sales".to_owned(),
            number_key: number.as_str().to_lowercase(),
            number: number.to_string(),
            counterparty_name: issued.customer_name.clone(),
            counterparty_iban: None,
            counterparty_country: "NL".to_owned(),
            currency: total.currency().to_string(),
            amount_minor,
            open_minor: amount_minor,
            issue_date,
            due_date,
            payment_reference: None,
            created_at: now,
            updated_at: now,
        })))
    }
}

/// The accounts and boxes an issued line at one rate is booked on.
struct RateBooking {
    revenue: Role,
    /// The VAT account and the box of the tax, for rates that charge VAT.
    vat: Option<(Role, VatBox)>,
    /// The box of the line's base.
    base_box: VatBox,
}

/// Returns the revenue account and VAT return boxes of an issued line's rate. The VAT note
/// distinguishes a reverse charge within the EU from a sale outside it.
fn revenue(rate: &str, vat_note: &str) -> Result<RateBooking, HandlerError> {
    let booking = |revenue, vat, base_box| RateBooking {
        revenue,
        vat,
        base_box,
    };
    match rate.trim() {
        "21" => Ok(booking(
            Role::RevenueHigh,
            Some((Role::VatPayableHigh, VatBox::B1a)),
            VatBox::B1a,
        )),
        "9" => Ok(booking(
            Role::RevenueLow,
            Some((Role::VatPayableLow, VatBox::B1b)),
            VatBox::B1b,
        )),
        "0" | "" => Ok(match vat_note {
            // Billing writes the note in the invoice's language.
            "btw verlegd" | "VAT reverse charged" => booking(Role::RevenueEu, None, VatBox::B3b),
            "buiten de EU" | "outside the EU" => booking(Role::RevenueExport, None, VatBox::B3a),
            _ => booking(Role::RevenueZero, None, VatBox::B1e),
        }),
        other => Err(HandlerError::Reject(format!(
            "VAT rate {other:?} is not a Dutch rate: expected 21, 9 or 0"
        ))),
    }
}

/// Builds the journal lines of an issued invoice or credit note. The debtors line carries a
/// placeholder invoice id that the caller replaces. An event whose amounts do not balance is
/// rejected.
fn entry_lines(issued: &InvoiceIssued, chart: &OrgChart) -> Result<Vec<NewLine>, HandlerError> {
    let reject = |message: String| HandlerError::Reject(message);
    let minor = |field: &str, money: Option<&dk_proto::common::v1::Money>| {
        money_from_proto(field, money)
            .map_err(|error| reject(error.to_string()))?
            .to_minor_units()
            .map_err(|error| reject(error.to_string()))
    };
    let account = |role: Role| {
        chart
            .account(role)
            .map_err(|error| HandlerError::Retry(error.to_string()))
    };
    let title = format!("{} {}", issued.invoice_number, issued.customer_name);
    // The debtors line names the invoice; `book` puts in its id, unknown until then.
    let mut lines = vec![
        NewLine::new(
            account(Role::Debtors)?,
            minor("total", issued.total.as_ref())?,
            &title,
        )
        .for_invoice(Uuid::nil()),
    ];
    for (index, line) in issued.lines.iter().enumerate() {
        let rate = revenue(&line.vat_rate, &issued.vat_note)?;
        lines.push(
            NewLine::new(
                account(rate.revenue)?,
                -minor(&format!("lines[{index}].amount"), line.amount.as_ref())?,
                &line.description,
            )
            .in_box(rate.base_box, VatPart::Base),
        );
    }
    for (index, vat) in issued.vat_lines.iter().enumerate() {
        let amount = minor(&format!("vat_lines[{index}].amount"), vat.amount.as_ref())?;
        if amount == 0 {
            continue;
        }
        let Some((role, vat_box)) = revenue(&vat.rate, &issued.vat_note)?.vat else {
            return Err(reject(format!(
                "vat_lines[{index}] charges VAT at rate {:?}, which charges none",
                vat.rate
            )));
        };
        lines.push(
            NewLine::new(account(role)?, -amount, format!("btw {title}"))
                .in_box(vat_box, VatPart::Tax),
        );
    }
    lines.retain(|line| line.amount_minor != 0);
    ledger::check_balance(&lines).map_err(|error| {
        reject(format!(
            "invoice {} cannot be booked: {error}",
            issued.invoice_number
        ))
    })?;
    Ok(lines)
}

impl IssuedInvoiceHandler {
    async fn book(
        &self,
        event_id: Uuid,
        booking: Booking,
        issued: &InvoiceIssued,
        mut lines: Vec<NewLine>,
    ) -> Result<(), DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if !processed::try_mark(&transaction, CONSUMER, event_id).await? {
            return transaction.commit().await;
        }
        let (organisation_id, booked_invoice, source_id, date) = match booking {
            Booking::Invoice(row) => {
                let inserted = invoice::Entity::insert(invoice::ActiveModel::from(*row.clone()))
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
                if inserted == 0 {
                    // The same invoice arrived before under another event id.
                    return transaction.commit().await;
                }
                (row.organisation_id, Some(row.id), row.id, row.issue_date)
            }
            Booking::CreditNote {
                organisation_id,
                corrects,
                amount_minor,
                credit_note_id,
                issue_date,
            } => {
                let booked = journal_entry::Entity::find()
                    .filter(journal_entry::Column::Source.eq(Source::Invoice.as_str()))
                    .filter(journal_entry::Column::SourceId.eq(credit_note_id))
                    .one(&transaction)
                    .await?;
                if booked.is_some() {
                    // The same credit note arrived before under another event id.
                    return transaction.commit().await;
                }
                let corrected = invoice::Entity::find()
                    .filter(invoice::Column::OrganisationId.eq(organisation_id))
                    .filter(invoice::Column::Kind.eq("sales"))
                    .filter(invoice::Column::NumberKey.eq(corrects.to_lowercase()))
                    .one(&transaction)
                    .await?;
                let corrected_id = match corrected {
                    Some(corrected) => {
                        let id = corrected.id;
                        let open = (corrected.open_minor + amount_minor).max(0);
                        let mut row: invoice::ActiveModel = corrected.into();
                        row.open_minor = Set(open);
                        row.updated_at = Set(Utc::now());
                        row.update(&transaction).await?;
                        Some(id)
                    }
                    None => {
                        tracing::warn!(
                            corrects,
                            "credit note for an invoice that bookkeeping does not hold"
                        );
                        None
                    }
                };
                (organisation_id, corrected_id, credit_note_id, issue_date)
            }
        };
        for line in &mut lines {
            if line.invoice_id == Some(Uuid::nil()) {
                line.invoice_id = booked_invoice;
            }
        }
        let closed = ledger::closed_through(&transaction, organisation_id).await?;
        let posted = ledger::post(
            &transaction,
            NewEntry {
                organisation_id,
                journal: Journal::Sales,
                date: ledger::open_date(date, closed),
                description: format!("{} {}", issued.invoice_number, issued.customer_name),
                source: Source::Invoice,
                source_id: Some(source_id),
                reverses: None,
                lines,
            },
        )
        .await;
        match posted {
            Ok(_) => {
                // Last: see `invoice_index::Turn` on why writers hold the version row only to
                // commit.
                crate::invoice_index::bump(
                    &transaction,
                    organisation_id,
                    booked_invoice.as_slice(),
                )
                .await?;
                transaction.commit().await
            }
            Err(ledger::LedgerError::Db(error)) => Err(error),
            Err(error) => Err(DbErr::Custom(error.to_string())),
        }
    }
}
