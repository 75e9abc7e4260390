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

use crate::entity::{invoice, invoice_line, journal_entry, ledger_account, payment_match};
use crate::invoices::{self, LineInput};
use crate::ledger::chart::Charts;

/// Default payment term when an invoice names no due date.
const DEFAULT_PAYMENT_DAYS: u64 = 30;

/// Shared state of the gRPC handlers.
pub struct Bookkeeping {
    pub db: DatabaseConnection,
    pub charts: Charts,
    /// Woken after a call enqueues events.
    pub relay: dk_messaging::outbox::Relay,
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
        let lines = invoices::parse_lines(&request.lines)?;
        let row = validate_invoice(organisation, &request, &lines)?;

        let context = "creating an invoice";
        // The chart is seeded in its own transaction, before this one takes the write lock.
        let chart = self
            .charts
            .of(organisation)
            .await
            .map_err(|e| status::from_db(context, e))?;
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
        let entry_id = invoices::book(&transaction, &chart, &row, &lines).await?;
        let mut invoice = invoice_to_proto(&row);
        invoice.journal_entry_id = entry_id.to_string();
        invoice.lines = lines_to_proto(&transaction, row.id).await?;
        let response = pb::CreateInvoiceResponse {
            invoice: Some(invoice),
        };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        // Last: see `invoice_index::Turn` on why writers hold the version row only to commit.
        crate::invoice_index::bump(&transaction, organisation, &[row.id])
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
        let mut invoice = invoice_to_proto(&row);
        invoice.lines = lines_to_proto(&self.db, row.id).await?;
        invoice.journal_entry_id = journal_entry::Entity::find()
            .filter(journal_entry::Column::SourceId.eq(row.id))
            .filter(journal_entry::Column::Source.eq("invoice"))
            .one(&self.db)
            .await
            .map_err(|e| status::from_db("reading an invoice", e))?
            .map(|entry| entry.id.to_string())
            .unwrap_or_default();
        Ok(Response::new(pb::GetInvoiceResponse {
            invoice: Some(invoice),
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

    async fn get_match(
        &self,
        request: Request<pb::GetMatchRequest>,
    ) -> Result<Response<pb::GetMatchResponse>, Status> {
        let caller = caller(&request)?;
        self.get_match_call(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn confirm_suggestion(
        &self,
        request: Request<pb::ConfirmSuggestionRequest>,
    ) -> Result<Response<pb::ConfirmSuggestionResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        retrying_conflicts(|| self.confirm_suggestion_call(&caller, request.clone()))
            .await
            .map(Response::new)
    }

    async fn reject_suggestion(
        &self,
        request: Request<pb::RejectSuggestionRequest>,
    ) -> Result<Response<pb::RejectSuggestionResponse>, Status> {
        let caller = caller(&request)?;
        self.reject_suggestion_call(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn undo_match(
        &self,
        request: Request<pb::UndoMatchRequest>,
    ) -> Result<Response<pb::UndoMatchResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        retrying_conflicts(|| self.undo_match_call(&caller, request.clone()))
            .await
            .map(Response::new)
    }

    async fn list_ledger_accounts(
        &self,
        request: Request<pb::ListLedgerAccountsRequest>,
    ) -> Result<Response<pb::ListLedgerAccountsResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.list_ledger_accounts_call(organisation)
            .await
            .map(Response::new)
    }

    async fn post_journal_entry(
        &self,
        request: Request<pb::PostJournalEntryRequest>,
    ) -> Result<Response<pb::PostJournalEntryResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.post_journal_entry_call(organisation, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn reverse_journal_entry(
        &self,
        request: Request<pb::ReverseJournalEntryRequest>,
    ) -> Result<Response<pb::ReverseJournalEntryResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.reverse_journal_entry_call(organisation, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_journal_entries(
        &self,
        request: Request<pb::ListJournalEntriesRequest>,
    ) -> Result<Response<pb::ListJournalEntriesResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.list_journal_entries_call(organisation, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn close_period(
        &self,
        request: Request<pb::ClosePeriodRequest>,
    ) -> Result<Response<pb::ClosePeriodResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.close_period_call(organisation, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_trial_balance(
        &self,
        request: Request<pb::GetTrialBalanceRequest>,
    ) -> Result<Response<pb::GetTrialBalanceResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.trial_balance_call(organisation, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_open_items(
        &self,
        request: Request<pb::GetOpenItemsRequest>,
    ) -> Result<Response<pb::GetOpenItemsResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.open_items_call(organisation, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_vat_return(
        &self,
        request: Request<pb::GetVatReturnRequest>,
    ) -> Result<Response<pb::GetVatReturnResponse>, Status> {
        let organisation = caller(&request)?.organisation_id.as_uuid();
        self.vat_return_call(organisation, request.into_inner())
            .await
            .map(Response::new)
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
    lines: &[LineInput],
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

    let stated = match (&request.amount, lines.is_empty()) {
        (None, false) => None,
        (amount, _) => {
            let amount = money_from_proto("amount", amount.as_ref())
                .map_err(|e| status::invalid_argument(&e.field, e.message))?;
            if amount.currency() != Currency::EUR {
                return Err(status::invalid_argument(
                    "amount.currency_code",
                    format!("{} is not supported: expected EUR", amount.currency()),
                ));
            }
            Some(
                amount
                    .to_minor_units()
                    .map_err(|e| status::invalid_argument("amount.amount", e.to_string()))?,
            )
        }
    };
    let amount_minor = if lines.is_empty() {
        stated.unwrap_or_default()
    } else {
        let total = invoices::totals(lines).total_minor;
        if let Some(stated) = stated
            && stated != total
        {
            return Err(status::invalid_argument(
                "amount",
                format!(
                    "{} differs from the lines' total including VAT, {}; leave the amount out or correct it",
                    Money::from_minor_units(stated, Currency::EUR),
                    Money::from_minor_units(total, Currency::EUR)
                ),
            ));
        }
        total
    };
    if amount_minor <= 0 {
        return Err(status::invalid_argument(
            if lines.is_empty() {
                "amount.amount"
            } else {
                "lines"
            },
            format!(
                "the total {} is not positive: expected an invoice total such as 121.00",
                Money::from_minor_units(amount_minor, Currency::EUR)
            ),
        ));
    }

    let counterparty_country = match request.counterparty_country.trim() {
        "" => "NL".to_owned(),
        text => dk_pricing::parse_country(text).map_err(|_| {
            status::invalid_argument(
                "counterparty_country",
                format!("{text:?} is not an ISO 3166 country code such as NL, BE or DE"),
            )
        })?,
    };

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
        counterparty_country,
        currency: Currency::EUR.to_string(),
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
        lines: Vec::new(),
        counterparty_country: row.counterparty_country.clone(),
        journal_entry_id: String::new(),
    }
}

/// Loads the stored lines of an invoice, with their account numbers.
async fn lines_to_proto<C: sea_orm::ConnectionTrait>(
    db: &C,
    invoice_id: Uuid,
) -> Result<Vec<pb::InvoiceLine>, Status> {
    let context = "reading invoice lines";
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(invoice_line::Column::Position)
        .all(db)
        .await
        .map_err(|e| status::from_db(context, e))?;
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let accounts: std::collections::HashMap<Uuid, String> = ledger_account::Entity::find()
        .filter(
            ledger_account::Column::Id
                .is_in(lines.iter().map(|line| line.account_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await
        .map_err(|e| status::from_db(context, e))?
        .into_iter()
        .map(|account| (account.id, account.number))
        .collect();
    Ok(lines
        .into_iter()
        .map(|line| pb::InvoiceLine {
            description: line.description,
            quantity: line.quantity,
            unit_price: Some(Money::from_minor_units(line.unit_price_minor, Currency::EUR).into()),
            vat_code: match line.vat_code.as_str() {
                "high" => pb::VatCode::High,
                "low" => pb::VatCode::Low,
                "zero" => pb::VatCode::Zero,
                _ => pb::VatCode::ReverseCharge,
            } as i32,
            account_number: accounts.get(&line.account_id).cloned().unwrap_or_default(),
            amount: Some(Money::from_minor_units(line.amount_minor, Currency::EUR).into()),
        })
        .collect())
}

pub fn match_to_proto(row: &payment_match::Model) -> Result<pb::Match, Status> {
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
        dk_matching::Outcome::OwnTransfer => pb::MatchOutcome::OwnTransfer,
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
        booked: row.booked,
        history: Vec::new(),
        journal_entry_id: String::new(),
    })
}

/// Attempts at a call that loses a conflict with a concurrent transaction.
const CONFLICT_ATTEMPTS: u32 = 3;

/// Runs a call again while it fails with ABORTED, the status of a conflict with a concurrent
/// transaction, such as a deadlock with a consumer's batch that pays the same invoice. The
/// failed attempt's transaction was rolled back, so the next one starts afresh.
async fn retrying_conflicts<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(status) if status.code() == tonic::Code::Aborted && attempt < CONFLICT_ATTEMPTS => {
                tracing::info!(attempt, error = %status.message(), "call lost a conflict with a concurrent transaction; running it again");
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(status) if status.code() == tonic::Code::Aborted => {
                tracing::warn!(attempts = attempt, error = %status.message(), "call lost every attempt to concurrent transactions");
                return Err(status);
            }
            result => return result,
        }
    }
}
