//! The gRPC face of bookkeeping: invoices and the list of match decisions.

use std::str::FromStr;

use chrono::{Days, Utc};
use dk_domain::{Currency, Iban, InvoiceNumber, Money, PaymentReference};
use dk_matching::Decision;
use dk_proto::bookkeeping::v1 as pb;
use dk_proto::bookkeeping::v1::bookkeeping_service_server::BookkeepingService;
use dk_proto::convert::{date_from_proto, money_from_proto, timestamp_from};
use dk_runtime::auth::caller;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::paging::Page;
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, QueryOrder, QuerySelect};
use tonic::{Request, Response, Status};

use crate::entity::{invoice, payment_match};

/// Default payment term when an invoice names no due date.
const DEFAULT_PAYMENT_DAYS: u64 = 30;

/// Shared state of the gRPC handlers.
pub struct Bookkeeping {
    pub db: DatabaseConnection,
}

#[tonic::async_trait]
impl BookkeepingService for Bookkeeping {
    async fn create_invoice(
        &self,
        request: Request<pb::CreateInvoiceRequest>,
    ) -> Result<Response<pb::CreateInvoiceResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "CreateInvoice",
            &request.idempotency_key,
            &request,
        )?;
        let row = validate_invoice(organisation, &request)?;

        let context = "creating an invoice";
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(Response::new(response));
        }
        let duplicate = invoice::Entity::find()
            .filter(invoice::Column::OrganisationId.eq(organisation))
            .filter(invoice::Column::Kind.eq(row.kind.clone()))
            .filter(invoice::Column::NumberKey.eq(row.number_key.clone()))
            .one(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(reference) = &row.payment_reference {
            let taken = invoice::Entity::find()
                .filter(invoice::Column::OrganisationId.eq(organisation))
                .filter(invoice::Column::PaymentReference.eq(reference.clone()))
                .one(&transaction)
                .await
                .map_err(|e| status::from_db(context, e))?;
            if let Some(other) = taken {
                return Err(status::with_reason(
                    tonic::Code::AlreadyExists,
                    "PAYMENT_REFERENCE_TAKEN",
                    format!(
                        "payment reference {reference} is already on invoice {}; a reference must name one invoice",
                        other.number
                    ),
                    &[("payment_reference", reference.clone())],
                ));
            }
        }
        if let Some(existing) = duplicate {
            return Err(status::with_reason(
                tonic::Code::AlreadyExists,
                "INVOICE_NUMBER_TAKEN",
                format!(
                    "{} invoice {} already exists as {}; invoice numbers are unique regardless of case",
                    row.kind, row.number, existing.number
                ),
                &[("number", existing.number.clone())],
            ));
        }
        let row = sea_orm::IntoActiveModel::into_active_model(row)
            .insert(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let response = pb::CreateInvoiceResponse {
            invoice: Some(invoice_to_proto(&row)),
        };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(Response::new(response))
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        let caller = caller(&request)?;
        let id = Uuid::from_str(&request.get_ref().id).map_err(|_| {
            status::invalid_argument("id", format!("{:?} is not a UUID", request.get_ref().id))
        })?;
        let row = invoice::Entity::find_by_id(id)
            .filter(invoice::Column::OrganisationId.eq(caller.organisation_id.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| status::from_db("reading an invoice", e))?
            .ok_or_else(|| status::not_found("invoice", &id.to_string()))?;
        Ok(Response::new(pb::GetInvoiceResponse {
            invoice: Some(invoice_to_proto(&row)),
        }))
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let mut query = invoice::Entity::find()
            .filter(invoice::Column::OrganisationId.eq(caller.organisation_id.as_uuid()));
        match pb::InvoiceKind::try_from(request.kind) {
            Ok(pb::InvoiceKind::Unspecified) => {}
            Ok(pb::InvoiceKind::Sales) => query = query.filter(invoice::Column::Kind.eq("sales")),
            Ok(pb::InvoiceKind::Purchase) => {
                query = query.filter(invoice::Column::Kind.eq("purchase"))
            }
            Err(_) => {
                return Err(status::invalid_argument(
                    "kind",
                    format!("unknown invoice kind {}", request.kind),
                ));
            }
        }
        if request.open_only {
            query = query.filter(invoice::Column::OpenMinor.gt(0));
        }
        let mut rows = query
            .order_by_asc(invoice::Column::CreatedAt)
            .order_by_asc(invoice::Column::Id)
            .offset(page.offset)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("listing invoices", e))?;
        let next_page_token = page.finish(&mut rows);
        Ok(Response::new(pb::ListInvoicesResponse {
            invoices: rows.iter().map(invoice_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn list_matches(
        &self,
        request: Request<pb::ListMatchesRequest>,
    ) -> Result<Response<pb::ListMatchesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let mut query = payment_match::Entity::find()
            .filter(payment_match::Column::OrganisationId.eq(caller.organisation_id.as_uuid()));
        if request.unmatched_only {
            query = query.filter(payment_match::Column::Booked.eq(false));
        }
        let mut rows = query
            .order_by_desc(payment_match::Column::BookingDate)
            .order_by_desc(payment_match::Column::Id)
            .offset(page.offset)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("listing matches", e))?;
        let next_page_token = page.finish(&mut rows);
        let matches = rows
            .iter()
            .map(match_to_proto)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::ListMatchesResponse {
            matches,
            next_page_token,
        }))
    }
}

fn validate_invoice(
    organisation: Uuid,
    request: &pb::CreateInvoiceRequest,
) -> Result<invoice::Model, Status> {
    let kind = match pb::InvoiceKind::try_from(request.kind) {
        Ok(pb::InvoiceKind::Sales) => "sales",
        Ok(pb::InvoiceKind::Purchase) => "purchase",
        _ => {
            return Err(status::invalid_argument(
                "kind",
                "missing or unknown: expected INVOICE_KIND_SALES or INVOICE_KIND_PURCHASE",
            ));
        }
    };

    let number = InvoiceNumber::parse(&request.number)
        .map_err(|e| status::invalid_argument("number", e.to_string()))?;

    let counterparty_name = request.counterparty_name.trim();
    if counterparty_name.is_empty() || counterparty_name.chars().count() > 200 {
        return Err(status::invalid_argument(
            "counterparty_name",
            "expected 1 to 200 characters",
        ));
    }

    let counterparty_iban = match request.counterparty_iban.trim() {
        "" => None,
        text => Some(
            Iban::parse(text)
                .map_err(|e| status::invalid_argument("counterparty_iban", e.to_string()))?,
        ),
    };

    let amount = money_from_proto("amount", request.amount.as_ref())
        .map_err(|e| status::invalid_argument(&e.field, e.message))?;
    if amount.currency() != Currency::EUR {
        return Err(status::invalid_argument(
            "amount.currency_code",
            format!("{} is not supported: expected EUR", amount.currency()),
        ));
    }
    if !amount.amount().is_sign_positive() || amount.is_zero() {
        return Err(status::invalid_argument(
            "amount.amount",
            format!(
                "{} is not positive: expected the invoice total, such as 121.00",
                amount.amount()
            ),
        ));
    }
    let amount_minor = amount
        .to_minor_units()
        .map_err(|e| status::invalid_argument("amount.amount", e.to_string()))?;

    let issue_date = date_from_proto("issue_date", request.issue_date.as_ref())
        .map_err(|e| status::invalid_argument(&e.field, e.message))?
        .unwrap_or_else(|| Utc::now().date_naive());
    let due_date = date_from_proto("due_date", request.due_date.as_ref())
        .map_err(|e| status::invalid_argument(&e.field, e.message))?
        .unwrap_or_else(|| issue_date + Days::new(DEFAULT_PAYMENT_DAYS));
    if due_date < issue_date {
        return Err(status::invalid_argument(
            "due_date",
            format!("{due_date} is before the issue date {issue_date}"),
        ));
    }

    let payment_reference = match request.payment_reference.trim() {
        "" => None,
        text => Some(
            PaymentReference::parse(text)
                .map_err(|e| status::invalid_argument("payment_reference", e.to_string()))?
                .to_string(),
        ),
    };

    let now = Utc::now();
    Ok(invoice::Model {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        kind: kind.to_owned(),
        number: number.to_string(),
        number_key: number.as_str().to_lowercase(),
        counterparty_name: counterparty_name.to_owned(),
        counterparty_iban: counterparty_iban.map(|iban| iban.to_string()),
        currency: amount.currency().to_string(),
        amount_minor,
        open_minor: amount_minor,
        issue_date,
        due_date,
        payment_reference,
        created_at: now,
        updated_at: now,
    })
}

fn invoice_to_proto(row: &invoice::Model) -> pb::Invoice {
    let currency = Currency::parse(&row.currency).unwrap_or(Currency::EUR);
    let status = if row.open_minor == 0 {
        pb::InvoiceStatus::Paid
    } else if row.open_minor < row.amount_minor {
        pb::InvoiceStatus::PartiallyPaid
    } else {
        pb::InvoiceStatus::Open
    };
    pb::Invoice {
        id: row.id.to_string(),
        kind: if row.kind == "purchase" {
            pb::InvoiceKind::Purchase
        } else {
            pb::InvoiceKind::Sales
        } as i32,
        number: row.number.clone(),
        counterparty_name: row.counterparty_name.clone(),
        counterparty_iban: row.counterparty_iban.clone().unwrap_or_default(),
        amount: Some(Money::from_minor_units(row.amount_minor, currency).into()),
        open_amount: Some(Money::from_minor_units(row.open_minor, currency).into()),
        issue_date: Some(row.issue_date.into()),
        due_date: Some(row.due_date.into()),
        payment_reference: row.payment_reference.clone().unwrap_or_default(),
        status: status as i32,
        create_time: Some(timestamp_from(row.created_at)),
    }
}

fn match_to_proto(row: &payment_match::Model) -> Result<pb::Match, Status> {
    let decision: Decision = serde_json::from_str(&row.decision)
        .map_err(|error| status::internal("reading a stored decision", &error))?;
    let currency = Currency::parse(&row.currency).unwrap_or(Currency::EUR);
    let money =
        |amount: Decimal| -> dk_proto::common::v1::Money { Money::new(amount, currency).into() };
    let score = |score: &dk_matching::Score| pb::Score {
        reference: score.reference as i32,
        amount: score.amount as i32,
        counterparty: score.counterparty as i32,
        total: score.total as i32,
    };
    let suggestion = |suggestion: &dk_matching::Suggestion| pb::Suggestion {
        invoice_id: suggestion.invoice_id.to_string(),
        invoice_number: suggestion.invoice_number.clone(),
        score: Some(score(&suggestion.score)),
    };
    let outcome = match decision.outcome {
        dk_matching::Outcome::Exact => pb::MatchOutcome::Exact,
        dk_matching::Outcome::Partial => pb::MatchOutcome::Partial,
        dk_matching::Outcome::Overpaid => pb::MatchOutcome::Overpaid,
        dk_matching::Outcome::PossibleDoublePayment => pb::MatchOutcome::PossibleDoublePayment,
        dk_matching::Outcome::Suggested => pb::MatchOutcome::Suggested,
        dk_matching::Outcome::Unmatched => pb::MatchOutcome::Unmatched,
    };
    let reasons = &decision.reasons;
    Ok(pb::Match {
        id: row.id.to_string(),
        mutation_id: row.mutation_id.to_string(),
        booking_date: Some(row.booking_date.into()),
        amount: Some(Money::from_minor_units(row.amount_minor, currency).into()),
        counterparty_iban: row.counterparty_iban.clone().unwrap_or_default(),
        counterparty_name: row.counterparty_name.clone().unwrap_or_default(),
        remittance: row.remittance.clone(),
        outcome: outcome as i32,
        allocations: decision
            .allocations
            .iter()
            .map(|allocation| pb::Allocation {
                invoice_id: allocation.invoice_id.to_string(),
                invoice_number: allocation.invoice_number.clone(),
                amount: Some(money(allocation.amount)),
                open_before: Some(money(allocation.open_before)),
                open_after: Some(money(allocation.open_after)),
            })
            .collect(),
        suggestions: decision.suggestions.iter().map(suggestion).collect(),
        reasons: Some(pb::MatchReasons {
            matched_tokens: reasons
                .matched_tokens
                .iter()
                .map(|token| pb::TokenMatch {
                    field: serde_json::to_value(token.field)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    token: token.token.clone(),
                    invoice_number: token.invoice_number.clone(),
                })
                .collect(),
            amount_check: reasons.amount_check.clone(),
            surplus: reasons.surplus.map(money),
            score: Some(score(&reasons.score)),
            runner_up: reasons.runner_up.as_ref().map(suggestion),
            summary: reasons.summary.clone(),
        }),
        create_time: Some(timestamp_from(row.created_at)),
    })
}
