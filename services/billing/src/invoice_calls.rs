//! Handlers of the invoice calls: listing and reading invoices, the monthly run and credit
//! notes.

use std::collections::HashMap;

use dk_domain::{Currency, Money};
use dk_pricing::BillingMonth;
use dk_proto::billing::v1 as pb;
use dk_proto::convert::date_from_proto;
use dk_runtime::auth::Caller;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::paging::Page;
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::{Condition, QueryOrder, QuerySelect};
use tonic::Status;

use crate::entity::{invoice, invoice_line, invoice_payment};
use crate::grpc::{self, Billing, db};
use crate::invoicing::{self, CreditError, KIND_CREDIT_NOTE, Party};
use crate::licensing;

/// Maximum length of a credit note's reason, in characters.
const MAX_REASON_LENGTH: usize = 500;

pub async fn list_invoices(
    billing: &Billing,
    caller: &Caller,
    request: pb::ListInvoicesRequest,
) -> Result<pb::ListInvoicesResponse, Status> {
    let page = Page::from_request(request.page_size, &request.page_token)?;
    let organisation = caller.organisation_id.as_uuid();
    let mut rows = invoice::Entity::find()
        .filter(visible_to(organisation))
        .order_by_desc(invoice::Column::CreatedAt)
        .order_by_desc(invoice::Column::Id)
        .offset(page.offset)
        .limit(page.fetch_limit())
        .all(&billing.db)
        .await
        .map_err(db("listing invoices"))?;
    let next_page_token = page.finish(&mut rows);
    Ok(pb::ListInvoicesResponse {
        invoices: to_proto(&billing.db, &rows).await?,
        next_page_token,
    })
}

pub async fn get_invoice(
    billing: &Billing,
    caller: &Caller,
    request: pb::GetInvoiceRequest,
) -> Result<pb::GetInvoiceResponse, Status> {
    let id = grpc::parse_uuid(
        "invoice_id",
        &request.invoice_id,
        "the invoice_id of an invoice or credit note",
    )?;
    let row = invoice::Entity::find_by_id(id)
        .filter(visible_to(caller.organisation_id.as_uuid()))
        .one(&billing.db)
        .await
        .map_err(db("reading an invoice"))?
        .ok_or_else(|| status::not_found("invoice", &id.to_string()))?;
    let mut invoices = to_proto(&billing.db, &[row]).await?;
    Ok(pb::GetInvoiceResponse {
        invoice: invoices.pop(),
    })
}

pub async fn run_monthly_invoices(
    billing: &Billing,
    caller: &Caller,
    request: pb::RunMonthlyInvoicesRequest,
) -> Result<pb::RunMonthlyInvoicesResponse, Status> {
    let key = Key::new(
        caller.organisation_id.as_uuid(),
        "RunMonthlyInvoices",
        &request.idempotency_key,
        &request,
    )?;
    let month = date_from_proto("month", request.month.as_ref())
        .map_err(|e| status::invalid_argument(&e.field, e.message))?
        .ok_or_else(|| {
            status::invalid_argument("month", "missing: expected a date in the month to invoice")
        })?;
    let period = BillingMonth::of(month);
    let today = licensing::local_date(grpc::now());
    if period.first_day() > today {
        return Err(status::invalid_argument(
            "month",
            format!(
                "{period} has not begun (today is {today}): a month is invoiced on or after its \
                 first day, so that every change made before then is on its invoice"
            ),
        ));
    }
    if let Some(response) = idempotency::replay(&billing.db, &key).await? {
        return Ok(response);
    }
    let report = invoicing::run_month(
        &billing.db,
        &billing.issuer,
        &billing.catalogues,
        period,
        today,
    )
    .await
    .map_err(|e| status::internal("running the monthly invoices", &e))?;
    if !report.issued.is_empty() {
        billing.relay.notify();
    }
    tracing::info!(
        period = %report.period,
        issued = report.issued.len(),
        already_invoiced = report.already_invoiced,
        failures = report.failures.len(),
        run_by = %caller.subject,
        "monthly invoice run"
    );
    let rows: Vec<invoice::Model> = report
        .issued
        .iter()
        .map(|issued| issued.invoice.clone())
        .collect();
    let response = pb::RunMonthlyInvoicesResponse {
        period: report.period.clone(),
        issued: to_proto(&billing.db, &rows).await?,
        already_invoiced: i32::try_from(report.already_invoiced).unwrap_or(i32::MAX),
        started_during_month: i32::try_from(report.started_during_month).unwrap_or(i32::MAX),
        failures: report
            .failures
            .iter()
            .map(|failure| pb::RunFailure {
                licence_id: failure.licence_id.to_string(),
                organisation_id: failure.organisation_id.to_string(),
                reason: failure.reason.clone(),
            })
            .collect(),
    };
    // The invoices are committed one by one, so the key only records the response.
    idempotency::store_or_replay(&billing.db, &key, response, "storing the run's response").await
}

pub async fn issue_credit_note(
    billing: &Billing,
    caller: &Caller,
    request: pb::IssueCreditNoteRequest,
) -> Result<pb::IssueCreditNoteResponse, Status> {
    let key = Key::new(
        caller.organisation_id.as_uuid(),
        "IssueCreditNote",
        &request.idempotency_key,
        &request,
    )?;
    let id = grpc::parse_uuid(
        "invoice_id",
        &request.invoice_id,
        "the invoice_id of the invoice to correct",
    )?;
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(status::invalid_argument(
            "reason",
            "missing: expected why the invoice is corrected; the credit note shows it",
        ));
    }
    if reason.chars().count() > MAX_REASON_LENGTH {
        return Err(status::invalid_argument(
            "reason",
            format!("too long: expected at most {MAX_REASON_LENGTH} characters"),
        ));
    }
    let context = "issuing a credit note";
    let transaction = dk_runtime::database::begin_write(&billing.db)
        .await
        .map_err(db(context))?;
    if let Some(response) = idempotency::replay(&transaction, &key).await? {
        return Ok(response);
    }
    let original = invoice::Entity::find_by_id(id)
        .filter(invoice::Column::IssuerOrganisationId.eq(billing.issuer.organisation_id()))
        .one(&transaction)
        .await
        .map_err(db(context))?
        .ok_or_else(|| status::not_found("invoice", &id.to_string()))?;
    let today = licensing::local_date(grpc::now());
    let issued = invoicing::credit(
        &transaction,
        &billing.issuer,
        &original,
        &request.line_numbers,
        reason,
        today,
    )
    .await
    .map_err(credit_error)?;
    let response = pb::IssueCreditNoteResponse {
        credit_note: to_proto(&transaction, std::slice::from_ref(&issued.invoice))
            .await?
            .pop(),
    };
    idempotency::commit(transaction, &key, &response, context).await?;
    billing.relay.notify();
    tracing::info!(credit_note = %issued.invoice.number, corrects = %original.number, "credit note issued");
    Ok(response)
}

fn credit_error(error: CreditError) -> Status {
    match error {
        CreditError::UnknownLine { .. } => {
            status::invalid_argument("line_numbers", error.to_string())
        }
        CreditError::NotAnInvoice(_)
        | CreditError::AlreadyCredited { .. }
        | CreditError::NothingToCredit(_) => status::with_reason(
            tonic::Code::FailedPrecondition,
            "NOT_CREDITABLE",
            error.to_string(),
            &[],
        ),
        CreditError::Issue(invoicing::IssueError::MissingLegalFields(_)) => status::with_reason(
            tonic::Code::FailedPrecondition,
            "LEGAL_FIELDS_MISSING",
            error.to_string(),
            &[],
        ),
        CreditError::Issue(invoicing::IssueError::Database(error))
        | CreditError::Database(error) => status::from_db("issuing a credit note", error),
        CreditError::Issue(error) => status::internal("issuing a credit note", &error),
    }
}

/// Invoices the organisation received as customer or issued as the vendor.
fn visible_to(organisation: Uuid) -> Condition {
    Condition::any()
        .add(invoice::Column::CustomerOrganisationId.eq(organisation))
        .add(invoice::Column::IssuerOrganisationId.eq(organisation))
}

/// Builds wire invoices with their lines, payments and credit notes.
async fn to_proto<C: sea_orm::ConnectionTrait>(
    db_connection: &C,
    rows: &[invoice::Model],
) -> Result<Vec<pb::Invoice>, Status> {
    let context = "reading invoices";
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut lines = invoicing::lines_of(db_connection, &ids)
        .await
        .map_err(db(context))?;
    let mut paid: HashMap<Uuid, i64> = HashMap::new();
    let mut credited: HashMap<Uuid, i64> = HashMap::new();
    let mut numbers: HashMap<Uuid, String> = HashMap::new();
    for chunk in ids.chunks(500) {
        for payment in invoice_payment::Entity::find()
            .filter(invoice_payment::Column::InvoiceId.is_in(chunk.iter().copied()))
            .filter(invoice_payment::Column::UndoneAt.is_null())
            .all(db_connection)
            .await
            .map_err(db(context))?
        {
            *paid.entry(payment.invoice_id).or_default() += payment.amount_minor;
        }
        for credit in invoice::Entity::find()
            .filter(invoice::Column::CorrectsInvoiceId.is_in(chunk.iter().copied()))
            .all(db_connection)
            .await
            .map_err(db(context))?
        {
            if let Some(corrected) = credit.corrects_invoice_id {
                *credited.entry(corrected).or_default() += credit.total_minor;
            }
        }
    }
    let corrected: Vec<Uuid> = rows
        .iter()
        .filter_map(|row| row.corrects_invoice_id)
        .collect();
    if !corrected.is_empty() {
        for row in invoice::Entity::find()
            .filter(invoice::Column::Id.is_in(corrected))
            .all(db_connection)
            .await
            .map_err(db(context))?
        {
            numbers.insert(row.id, row.number);
        }
    }
    Ok(rows
        .iter()
        .map(|row| {
            invoice_to_proto(
                row,
                lines.remove(&row.id).unwrap_or_default(),
                paid.get(&row.id).copied().unwrap_or_default(),
                credited.get(&row.id).copied().unwrap_or_default(),
                row.corrects_invoice_id
                    .and_then(|id| numbers.get(&id).cloned())
                    .unwrap_or_default(),
            )
        })
        .collect())
}

fn invoice_to_proto(
    row: &invoice::Model,
    lines: Vec<invoice_line::Model>,
    paid_minor: i64,
    credited_minor: i64,
    corrects_number: String,
) -> pb::Invoice {
    let currency = Currency::parse(&row.currency).unwrap_or(Currency::EUR);
    let money = |minor: i64| -> dk_proto::common::v1::Money {
        Money::from_minor_units(minor, currency).into()
    };
    let party = |json: &str| {
        let party: Party = serde_json::from_str(json).unwrap_or_default();
        pb::Party {
            name: party.name,
            street: party.street,
            postal_code: party.postal_code,
            city: party.city,
            country_code: party.country_code,
            vat_id: party.vat_id,
            kvk_number: party.kvk_number,
            iban: party.iban,
        }
    };
    let vat: Vec<dk_pricing::VatAmount> = serde_json::from_str(&row.vat).unwrap_or_default();
    // A credit note is settled against the invoice it corrects: it lowers that invoice's open
    // amount and has nothing open of its own.
    let is_credit_note = row.kind == KIND_CREDIT_NOTE;
    let open_minor = if is_credit_note {
        0
    } else {
        (row.total_minor + credited_minor - paid_minor).max(0)
    };
    let payment_status = if is_credit_note {
        pb::PaymentStatus::Credited
    } else if paid_minor == 0 && open_minor > 0 {
        pb::PaymentStatus::Open
    } else if open_minor > 0 {
        pb::PaymentStatus::PartiallyPaid
    } else if paid_minor > 0 {
        pb::PaymentStatus::Paid
    } else {
        pb::PaymentStatus::Credited
    };
    let language = if row.language == "en" {
        dk_pricing::Language::En
    } else {
        dk_pricing::Language::Nl
    };
    pb::Invoice {
        invoice_id: row.id.to_string(),
        invoice_number: row.number.clone(),
        kind: if is_credit_note {
            pb::InvoiceKind::CreditNote
        } else {
            pb::InvoiceKind::Invoice
        } as i32,
        corrects_invoice_id: row
            .corrects_invoice_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        corrects_invoice_number: corrects_number,
        supplier: Some(party(&row.supplier)),
        customer: Some(party(&row.customer)),
        customer_organisation_id: row.customer_organisation_id.to_string(),
        issue_date: Some(row.issue_date.into()),
        due_date: Some(row.due_date.into()),
        period: row.period.clone().unwrap_or_default(),
        lines: lines
            .into_iter()
            .map(|line| pb::InvoiceLine {
                line_number: line.line_number,
                code: line.code,
                description: line.description,
                quantity: line.quantity,
                unit_price: Some(money(line.unit_price_minor)),
                amount: Some(money(line.amount_minor)),
                vat_rate: invoicing::percent(&line.vat_rate),
                explanation: line.explanation,
            })
            .collect(),
        net: Some(money(row.net_minor)),
        vat: grpc::vat_lines_to_proto(&vat),
        total: Some(money(row.total_minor)),
        vat_note: row.vat_note.clone().unwrap_or_default(),
        language: grpc::language_to_proto(language) as i32,
        payment_status: payment_status as i32,
        open_amount: Some(money(open_minor.max(if is_credit_note {
            i64::MIN
        } else {
            0
        }))),
        reason: row.reason.clone().unwrap_or_default(),
    }
}
