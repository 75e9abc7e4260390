//! The gRPC calls on match decisions: showing one with its history, confirming or rejecting a
//! suggestion, and undoing a booking.

use std::str::FromStr;

use chrono::Utc;
use dk_domain::{Currency, Money};
use dk_matching::{Allocation, Decision, Outcome, Suggestion};
use dk_messaging::outbox;
use dk_proto::bookkeeping::v1 as pb;
use dk_proto::convert::timestamp_from;
use dk_runtime::auth::Caller;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{DatabaseTransaction, QueryOrder, QuerySelect, Set};
use tonic::Status;

use crate::entity::{allocation, invoice, match_history, payment_booking, payment_match};
use crate::grpc::{Bookkeeping, match_to_proto};
use crate::invoices::ledger_status;
use crate::ledger;
use crate::matching::{self, encode, outcome_name, record_history};

/// Most invoices one confirmation may pay.
const MAX_CONFIRMED: usize = 20;

fn parse_uuid(field: &str, text: &str) -> Result<Uuid, Status> {
    Uuid::from_str(text.trim())
        .map_err(|_| status::invalid_argument(field, format!("{text:?} is not a UUID")))
}

fn decode(row: &payment_match::Model) -> Result<Decision, Status> {
    serde_json::from_str(&row.decision)
        .map_err(|error| status::internal("reading a stored decision", &error))
}

/// Updates a decision's reasons after a user rejected one suggestion. The score becomes the best
/// remaining suggestion's and the runner-up the next one. Without a suggestion left, the
/// mutation is unmatched.
fn reasons_after_rejection(decision: &mut Decision, rejected: &Suggestion, actor: &str) {
    // Suggestions are kept best first.
    let remaining = &decision.suggestions;
    let reasons = &mut decision.reasons;
    match remaining.first() {
        Some(best) => {
            if decision.outcome == Outcome::Suggested {
                reasons.score = best.score;
            }
            reasons.runner_up = remaining.get(1).cloned();
            reasons.summary = format!(
                "{actor} rejected invoice {}; {} suggested invoice{} remain{}, best {}.",
                rejected.invoice_number,
                remaining.len(),
                if remaining.len() == 1 { "" } else { "s" },
                if remaining.len() == 1 { "s" } else { "" },
                best.invoice_number,
            );
        }
        None => {
            reasons.runner_up = None;
            if decision.outcome == Outcome::Suggested {
                decision.outcome = Outcome::Unmatched;
                reasons.score = dk_matching::Score::new(0, 0, 0);
                reasons.amount_check = "no invoice left to compare the payment with".into();
                reasons.summary = format!(
                    "{actor} rejected invoice {}, the last suggestion, so the mutation is unmatched.",
                    rejected.invoice_number
                );
            }
        }
    }
}

fn precondition(reason: &str, message: String, match_id: Uuid) -> Status {
    status::with_reason(
        tonic::Code::FailedPrecondition,
        reason,
        message,
        &[("match_id", match_id.to_string())],
    )
}

impl Bookkeeping {
    async fn find_match<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        organisation: Uuid,
        id: Uuid,
    ) -> Result<payment_match::Model, Status> {
        payment_match::Entity::find_by_id(id)
            .filter(payment_match::Column::OrganisationId.eq(organisation))
            .one(db)
            .await
            .map_err(|e| status::from_db("reading a match", e))?
            .ok_or_else(|| status::not_found("match", &id.to_string()))
    }

    /// Like [`Self::find_match`], and locks the row until the transaction ends (on PostgreSQL).
    /// So two calls changing the same match run one after the other, and the second reads what
    /// the first wrote.
    async fn lock_match(
        &self,
        transaction: &DatabaseTransaction,
        organisation: Uuid,
        id: Uuid,
    ) -> Result<payment_match::Model, Status> {
        payment_match::Entity::find_by_id(id)
            .filter(payment_match::Column::OrganisationId.eq(organisation))
            .lock_exclusive()
            .one(transaction)
            .await
            .map_err(|e| status::from_db("reading a match", e))?
            .ok_or_else(|| status::not_found("match", &id.to_string()))
    }

    /// Loads a match with its history and the entry of its current booking.
    async fn full_match<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        row: &payment_match::Model,
    ) -> Result<pb::Match, Status> {
        let context = "reading a match";
        let mut found = match_to_proto(row)?;
        let steps = match_history::Entity::find()
            .filter(match_history::Column::MatchId.eq(row.id))
            .order_by_asc(match_history::Column::CreatedAt)
            .order_by_asc(match_history::Column::Id)
            .all(db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        // A rejection stores the invoice it named; its number is read here.
        let rejected: Vec<Uuid> = steps
            .iter()
            .filter(|step| step.action == "rejected")
            .filter_map(|step| step.invoice_id)
            .collect();
        let numbers: std::collections::HashMap<Uuid, String> = if rejected.is_empty() {
            Default::default()
        } else {
            invoice::Entity::find()
                .filter(invoice::Column::Id.is_in(rejected))
                .all(db)
                .await
                .map_err(|e| status::from_db(context, e))?
                .into_iter()
                .map(|invoice| (invoice.id, invoice.number))
                .collect()
        };
        found.history = steps
            .into_iter()
            .map(|step| {
                let named: Vec<(Uuid, String)> = match step.action.as_str() {
                    "rejected" => step
                        .invoice_id
                        .map(|id| (id, numbers.get(&id).cloned().unwrap_or_default()))
                        .into_iter()
                        .collect(),
                    "decided" | "confirmed" => serde_json::from_str::<Decision>(&step.decision)
                        .map_err(|e| status::internal("reading a stored decision", &e))?
                        .allocations
                        .into_iter()
                        .map(|paid| (paid.invoice_id, paid.invoice_number))
                        .collect(),
                    _ => Vec::new(),
                };
                // The single invoice field names the first invoice, as for a confirmation.
                let first = step.invoice_id.or_else(|| named.first().map(|(id, _)| *id));
                Ok(pb::MatchStep {
                    action: step.action,
                    actor: step.actor,
                    invoice_id: first.map(|id| id.to_string()).unwrap_or_default(),
                    time: Some(timestamp_from(step.created_at)),
                    invoice_ids: named.iter().map(|(id, _)| id.to_string()).collect(),
                    invoice_numbers: named.into_iter().map(|(_, number)| number).collect(),
                })
            })
            .collect::<Result<_, Status>>()?;
        if found.history.is_empty() {
            let decision = decode(row)?;
            found.history.push(pb::MatchStep {
                action: "decided".into(),
                actor: "matcher".into(),
                invoice_id: decision
                    .allocations
                    .first()
                    .map(|paid| paid.invoice_id.to_string())
                    .unwrap_or_default(),
                time: Some(timestamp_from(row.created_at)),
                invoice_ids: decision
                    .allocations
                    .iter()
                    .map(|paid| paid.invoice_id.to_string())
                    .collect(),
                invoice_numbers: decision
                    .allocations
                    .into_iter()
                    .map(|paid| paid.invoice_number)
                    .collect(),
            });
        }
        found.journal_entry_id = active_booking(db, row.id)
            .await
            .map_err(|e| status::from_db(context, e))?
            .map(|booking| booking.entry_id.to_string())
            .unwrap_or_default();
        Ok(found)
    }

    pub async fn get_match_call(
        &self,
        caller: &Caller,
        request: pb::GetMatchRequest,
    ) -> Result<pb::GetMatchResponse, Status> {
        let id = parse_uuid("id", &request.id)?;
        let row = self
            .find_match(&self.db, caller.organisation_id.as_uuid(), id)
            .await?;
        Ok(pb::GetMatchResponse {
            r#match: Some(self.full_match(&self.db, &row).await?),
        })
    }

    /// Begins a write transaction for a call on a match; `Ok(Err(response))` is a replay.
    async fn begin<T: prost::Message + Default>(
        &self,
        key: &Key,
        context: &str,
    ) -> Result<Result<DatabaseTransaction, T>, Status> {
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, key).await? {
            return Ok(Err(response));
        }
        Ok(Ok(transaction))
    }

    pub async fn confirm_suggestion_call(
        &self,
        caller: &Caller,
        request: pb::ConfirmSuggestionRequest,
    ) -> Result<pb::ConfirmSuggestionResponse, Status> {
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "ConfirmSuggestion",
            &request.idempotency_key,
            &request,
        )?;
        let match_id = parse_uuid("match_id", &request.match_id)?;
        if request.invoice_ids.is_empty() || request.invoice_ids.len() > MAX_CONFIRMED {
            return Err(status::invalid_argument(
                "invoice_ids",
                format!(
                    "{} invoices: expected 1 to {MAX_CONFIRMED}",
                    request.invoice_ids.len()
                ),
            ));
        }
        let mut invoice_ids = Vec::with_capacity(request.invoice_ids.len());
        for (index, text) in request.invoice_ids.iter().enumerate() {
            let id = parse_uuid(&format!("invoice_ids[{index}]"), text)?;
            if invoice_ids.contains(&id) {
                return Err(status::invalid_argument(
                    &format!("invoice_ids[{index}]"),
                    format!("invoice {id} is named twice"),
                ));
            }
            invoice_ids.push(id);
        }
        let context = "confirming a suggestion";
        // Accounts first, in their own transactions.
        let chart = self
            .charts
            .of(organisation)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let before = self.find_match(&self.db, organisation, match_id).await?;
        let bank_account = self
            .charts
            .bank_account(organisation, before.bank_account_id, "")
            .await
            .map_err(|e| status::from_db(context, e))?;

        let transaction = match self.begin(&key, context).await? {
            Ok(transaction) => transaction,
            Err(response) => return Ok(response),
        };
        let row = self
            .lock_match(&transaction, organisation, match_id)
            .await?;
        matching::record_decided(&transaction, &row)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if row.booked {
            return Err(precondition(
                "MATCH_ALREADY_BOOKED",
                format!(
                    "match {match_id} is already booked; undo it first with `dk matches undo {match_id}`"
                ),
                match_id,
            ));
        }
        let decision = decode(&row)?;
        let purchase = row.amount_minor < 0;
        let mut payment_left = row.amount_minor.abs();
        let mut applied = Vec::with_capacity(invoice_ids.len());
        let mut allocations = Vec::with_capacity(invoice_ids.len());
        let mut open_total = 0;
        for invoice_id in &invoice_ids {
            // Locked (on PostgreSQL) until the commit: a consumer's batch that pays the same
            // invoice commits first, and the call then reads the amount that batch left open.
            let invoice = invoice::Entity::find_by_id(*invoice_id)
                .filter(invoice::Column::OrganisationId.eq(organisation))
                .lock_exclusive()
                .one(&transaction)
                .await
                .map_err(|e| status::from_db(context, e))?
                .ok_or_else(|| status::not_found("invoice", &invoice_id.to_string()))?;
            if (invoice.kind == "purchase") != purchase {
                return Err(precondition(
                    "WRONG_INVOICE_KIND",
                    format!(
                        "invoice {} is a {} invoice, but money {} pays {} invoices",
                        invoice.number,
                        invoice.kind,
                        if purchase { "going out" } else { "coming in" },
                        if purchase { "purchase" } else { "sales" }
                    ),
                    match_id,
                ));
            }
            if invoice.open_minor == 0 {
                return Err(precondition(
                    "INVOICE_ALREADY_PAID",
                    format!(
                        "invoice {} is paid in full; choose an open invoice or reject the suggestion",
                        invoice.number
                    ),
                    match_id,
                ));
            }
            if payment_left == 0 {
                return Err(precondition(
                    "PAYMENT_USED_UP",
                    format!(
                        "the payment of {} is used up by the invoices before {}; leave it out",
                        Money::from_minor_units(row.amount_minor.abs(), Currency::EUR),
                        invoice.number
                    ),
                    match_id,
                ));
            }
            let amount = Ord::min(payment_left, invoice.open_minor);
            payment_left -= amount;
            open_total += invoice.open_minor;
            let currency = Currency::parse(&invoice.currency).unwrap_or(Currency::EUR);
            let money = |minor: i64| Money::from_minor_units(minor, currency).amount();
            allocations.push(Allocation {
                invoice_id: *invoice_id,
                invoice_number: invoice.number.clone(),
                amount: money(amount),
                open_before: money(invoice.open_minor),
                open_after: money(invoice.open_minor - amount),
            });
            applied.push((invoice, amount));
        }
        let money = |minor: i64| Money::from_minor_units(minor, Currency::EUR);
        let payment = row.amount_minor.abs();
        let outcome = match payment.cmp(&open_total) {
            std::cmp::Ordering::Equal => Outcome::Exact,
            std::cmp::Ordering::Less => Outcome::Partial,
            std::cmp::Ordering::Greater => Outcome::Overpaid,
        };
        let numbers: Vec<String> = allocations
            .iter()
            .map(|allocation| allocation.invoice_number.clone())
            .collect();
        let suggested = decision
            .suggestions
            .iter()
            .find(|suggestion| invoice_ids.contains(&suggestion.invoice_id));
        let mut confirmed = decision.clone();
        confirmed.outcome = outcome;
        confirmed.allocations = allocations;
        confirmed.suggestions.clear();
        confirmed.reasons.surplus = (payment_left > 0).then(|| money(payment_left).amount());
        // A suggestion keeps the score it was suggested with; invoices chosen by hand are
        // scored now by the matcher's rules, without reference evidence.
        confirmed.reasons.score = match suggested {
            Some(suggestion) => suggestion.score,
            None => dk_matching::score_choice(
                money(row.amount_minor).amount(),
                row.counterparty_iban.as_deref(),
                applied.iter().map(|(invoice, _)| {
                    (
                        money(invoice.open_minor).amount(),
                        invoice.counterparty_iban.as_deref(),
                    )
                }),
            ),
        };
        let invoices_text = format!(
            "{} {}",
            if numbers.len() == 1 {
                "invoice"
            } else {
                "invoices"
            },
            numbers.join(" and ")
        );
        confirmed.reasons.amount_check = format!(
            "payment {} against open amount {} of {invoices_text}",
            money(payment),
            money(open_total),
        );
        confirmed.reasons.summary = format!(
            "{} chose {invoices_text}{}, which the payment {}.",
            caller.subject,
            if suggested.is_some() {
                " from the suggestions"
            } else {
                " by hand"
            },
            match outcome {
                Outcome::Exact => "pays in full",
                Outcome::Partial => "pays in part",
                _ => "pays with a surplus on the suspense account",
            }
        );

        let events = matching::apply(&transaction, &chart, &row, bank_account, &applied)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let json = encode(&confirmed).map_err(|e| status::from_db(context, e))?;
        let row = self
            .update_match(&transaction, row, true, outcome, &json)
            .await?;
        record_history(
            &transaction,
            &row,
            "confirmed",
            &caller.subject,
            invoice_ids.first().copied(),
            &json,
        )
        .await
        .map_err(|e| status::from_db(context, e))?;
        outbox::enqueue(&transaction, "bookkeeping", &events)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let response = pb::ConfirmSuggestionResponse {
            r#match: Some(self.full_match(&transaction, &row).await?),
        };
        self.finish_changing_invoices(
            transaction,
            organisation,
            &invoice_ids,
            &key,
            &response,
            context,
        )
        .await?;
        self.relay.notify();
        Ok(response)
    }

    pub async fn reject_suggestion_call(
        &self,
        caller: &Caller,
        request: pb::RejectSuggestionRequest,
    ) -> Result<pb::RejectSuggestionResponse, Status> {
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "RejectSuggestion",
            &request.idempotency_key,
            &request,
        )?;
        let match_id = parse_uuid("match_id", &request.match_id)?;
        let invoice_id = parse_uuid("invoice_id", &request.invoice_id)?;
        let context = "rejecting a suggestion";
        let transaction = match self.begin(&key, context).await? {
            Ok(transaction) => transaction,
            Err(response) => return Ok(response),
        };
        let row = self
            .lock_match(&transaction, organisation, match_id)
            .await?;
        matching::record_decided(&transaction, &row)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if row.booked {
            return Err(precondition(
                "MATCH_ALREADY_BOOKED",
                format!(
                    "match {match_id} is booked, so its suggestions are closed; undo it first with `dk matches undo {match_id}`"
                ),
                match_id,
            ));
        }
        let mut decision = decode(&row)?;
        let Some(rejected) = decision
            .suggestions
            .iter()
            .position(|suggestion| suggestion.invoice_id == invoice_id)
        else {
            let named = invoice::Entity::find_by_id(invoice_id)
                .one(&transaction)
                .await
                .map_err(|e| status::from_db(context, e))?
                .map_or_else(|| invoice_id.to_string(), |invoice| invoice.number);
            let suggested: Vec<&str> = decision
                .suggestions
                .iter()
                .map(|suggestion| suggestion.invoice_number.as_str())
                .collect();
            return Err(precondition(
                "NOT_A_SUGGESTION",
                format!(
                    "invoice {named} is not among the suggestions of match {match_id} \
                     (suggested: {})",
                    if suggested.is_empty() {
                        "none".to_owned()
                    } else {
                        suggested.join(", ")
                    }
                ),
                match_id,
            ));
        };
        let rejected = decision.suggestions.remove(rejected);
        reasons_after_rejection(&mut decision, &rejected, &caller.subject);
        let json = encode(&decision).map_err(|e| status::from_db(context, e))?;
        let outcome = decision.outcome;
        let row = self
            .update_match(&transaction, row, false, outcome, &json)
            .await?;
        record_history(
            &transaction,
            &row,
            "rejected",
            &caller.subject,
            Some(invoice_id),
            &json,
        )
        .await
        .map_err(|e| status::from_db(context, e))?;
        let response = pb::RejectSuggestionResponse {
            r#match: Some(self.full_match(&transaction, &row).await?),
        };
        self.finish(transaction, &key, &response, context).await?;
        Ok(response)
    }

    pub async fn undo_match_call(
        &self,
        caller: &Caller,
        request: pb::UndoMatchRequest,
    ) -> Result<pb::UndoMatchResponse, Status> {
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "UndoMatch",
            &request.idempotency_key,
            &request,
        )?;
        let match_id = parse_uuid("match_id", &request.match_id)?;
        let context = "undoing a match";
        let transaction = match self.begin(&key, context).await? {
            Ok(transaction) => transaction,
            Err(response) => return Ok(response),
        };
        let row = self
            .lock_match(&transaction, organisation, match_id)
            .await?;
        matching::record_decided(&transaction, &row)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let booking = active_booking(&transaction, match_id)
            .await
            .map_err(|e| status::from_db(context, e))?
            .ok_or_else(|| {
                precondition(
                    "MATCH_NOT_BOOKED",
                    format!(
                        "match {match_id} books nothing ({}), so there is nothing to undo",
                        outcome_name(
                            decode(&row)
                                .map(|d| d.outcome)
                                .unwrap_or(Outcome::Unmatched)
                        )
                    ),
                    match_id,
                )
            })?;
        // The invoices before the balances, which the reversal changes: a consumer's batch
        // also changes invoices first, so the two do not deadlock over them.
        let allocations = allocation::Entity::find()
            .filter(allocation::Column::BookingId.eq(booking.id))
            .order_by_asc(allocation::Column::InvoiceId)
            .all(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let now = Utc::now();
        for allocation in &allocations {
            // Reopen the invoice; never above its total.
            let updated = invoice::Entity::update_many()
                .col_expr(
                    invoice::Column::OpenMinor,
                    Expr::col(invoice::Column::OpenMinor).add(allocation.amount_minor),
                )
                .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
                .filter(invoice::Column::Id.eq(allocation.invoice_id))
                .filter(
                    Expr::col(invoice::Column::OpenMinor)
                        .add(allocation.amount_minor)
                        .lte(Expr::col(invoice::Column::AmountMinor)),
                )
                .exec(&transaction)
                .await
                .map_err(|e| status::from_db(context, e))?;
            if updated.rows_affected != 1 {
                return Err(status::internal(
                    context,
                    &format!(
                        "invoice {} cannot take back {} cents",
                        allocation.invoice_id, allocation.amount_minor
                    ),
                ));
            }
        }
        let closed = ledger::closed_through(&transaction, organisation)
            .await
            .map_err(|e| status::from_db(context, e))?;
        // The reversal takes the payment entry's date, so the balances of that period come back
        // as they were, and a new booking of the mutation lands on the same date again.
        let booked_on = crate::entity::journal_entry::Entity::find_by_id(booking.entry_id)
            .one(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?
            .map(|entry| entry.entry_date)
            .unwrap_or(row.booking_date);
        let reversal = ledger::reverse(
            &transaction,
            organisation,
            booking.entry_id,
            ledger::open_date(booked_on, closed),
            format!(
                "Ongedaan gemaakt: {} {}",
                row.counterparty_name.as_deref().unwrap_or_default(),
                row.remittance.trim()
            ),
        )
        .await
        .map_err(|error| ledger_status(context, error))?
        .ok_or_else(|| status::internal(context, &"the booking's entry is missing"))?;

        // Tell the invoices' issuers (billing, for the vendor) that the payments no longer count.
        let reopened = invoice::Entity::find()
            .filter(
                invoice::Column::Id
                    .is_in(allocations.iter().map(|allocation| allocation.invoice_id)),
            )
            .all(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let events: Vec<_> = allocations
            .iter()
            .filter_map(|allocation| {
                let invoice = reopened
                    .iter()
                    .find(|invoice| invoice.id == allocation.invoice_id)?;
                Some(matching::payment_undone_event(
                    &row,
                    booking.id,
                    invoice,
                    allocation.amount_minor,
                ))
            })
            .collect();
        outbox::enqueue(&transaction, "bookkeeping", &events)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let mut undone: payment_booking::ActiveModel = booking.into();
        undone.undone_at = Set(Some(now));
        undone.reversal_entry_id = Set(Some(reversal));
        undone
            .update(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        // The invoices the booking paid become suggestions, so a booking undone by mistake
        // can be confirmed again.
        let mut decision = decode(&row)?;
        for paid in std::mem::take(&mut decision.allocations) {
            if !decision
                .suggestions
                .iter()
                .any(|s| s.invoice_id == paid.invoice_id)
            {
                decision.suggestions.push(Suggestion {
                    invoice_id: paid.invoice_id,
                    invoice_number: paid.invoice_number,
                    score: decision.reasons.score,
                });
            }
        }
        decision.reasons.surplus = None;
        decision.outcome = if decision.suggestions.is_empty() {
            Outcome::Unmatched
        } else {
            Outcome::Suggested
        };
        decision.reasons.summary = format!(
            "{} undid the booking; its entry is reversed{}.",
            caller.subject,
            if decision.suggestions.is_empty() {
                ""
            } else {
                " and the invoices it paid are open again and suggested"
            }
        );
        let json = encode(&decision).map_err(|e| status::from_db(context, e))?;
        let row = self
            .update_match(&transaction, row, false, decision.outcome, &json)
            .await?;
        record_history(&transaction, &row, "undone", &caller.subject, None, &json)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let response = pb::UndoMatchResponse {
            r#match: Some(self.full_match(&transaction, &row).await?),
        };
        let reopened: Vec<Uuid> = allocations
            .iter()
            .map(|allocation| allocation.invoice_id)
            .collect();
        self.finish_changing_invoices(
            transaction,
            organisation,
            &reopened,
            &key,
            &response,
            context,
        )
        .await?;
        self.relay.notify();
        Ok(response)
    }

    async fn update_match(
        &self,
        db: &DatabaseTransaction,
        row: payment_match::Model,
        booked: bool,
        outcome: Outcome,
        decision: &str,
    ) -> Result<payment_match::Model, Status> {
        let mut changed: payment_match::ActiveModel = row.into();
        changed.booked = Set(booked);
        changed.outcome = Set(outcome_name(outcome).to_owned());
        changed.decision = Set(decision.to_owned());
        changed
            .update(db)
            .await
            .map_err(|e| status::from_db("updating a match", e))
    }

    /// Like [`Self::finish`], for a call that changed the organisation's `invoices`. It raises
    /// their version last, so the transaction locks the version row only while it finishes. A
    /// consumer's batch waits for that row while the batch after it has invoice rows locked,
    /// and a writer that waited for one of those rows with the version row locked would stall
    /// both.
    async fn finish_changing_invoices<T: prost::Message>(
        &self,
        transaction: DatabaseTransaction,
        organisation: Uuid,
        invoices: &[Uuid],
        key: &Key,
        response: &T,
        context: &str,
    ) -> Result<(), Status> {
        crate::invoice_index::bump(&transaction, organisation, invoices)
            .await
            .map_err(|e| status::from_db(context, e))?;
        self.finish(transaction, key, response, context).await
    }

    async fn finish<T: prost::Message>(
        &self,
        transaction: DatabaseTransaction,
        key: &Key,
        response: &T,
        context: &str,
    ) -> Result<(), Status> {
        idempotency::store(&transaction, key, response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))
    }
}

/// Returns the booking of a match that is not undone, if any.
async fn active_booking<C: sea_orm::ConnectionTrait>(
    db: &C,
    match_id: Uuid,
) -> Result<Option<payment_booking::Model>, DbErr> {
    payment_booking::Entity::find()
        .filter(payment_booking::Column::MatchId.eq(match_id))
        .filter(payment_booking::Column::UndoneAt.is_null())
        .one(db)
        .await
}

#[cfg(test)]
mod tests {
    use dk_matching::{Reasons, Score};

    use super::*;

    fn suggestion(number: &str, total_parts: (u32, u32, u32)) -> Suggestion {
        let (reference, amount, counterparty) = total_parts;
        Suggestion {
            invoice_id: Uuid::new_v4(),
            invoice_number: number.to_owned(),
            score: Score::new(reference, amount, counterparty),
        }
    }

    fn suggested(suggestions: Vec<Suggestion>) -> Decision {
        Decision {
            outcome: Outcome::Suggested,
            allocations: Vec::new(),
            reasons: Reasons {
                matched_tokens: Vec::new(),
                amount_check: "payment 60.50 equals open amount 60.50".into(),
                surplus: None,
                score: suggestions[0].score,
                runner_up: suggestions.get(1).cloned(),
                summary: "3 open invoices are proposed for review.".into(),
            },
            suggestions,
        }
    }

    #[test]
    fn rejecting_best_promotes_next() {
        let mut decision = suggested(vec![
            suggestion("2026-0020", (0, 100, 100)),
            suggestion("2026-0021", (0, 100, 50)),
            suggestion("2026-0022", (0, 50, 50)),
        ]);
        let rejected = decision.suggestions.remove(0);
        reasons_after_rejection(&mut decision, &rejected, "anna");
        assert_eq!(decision.outcome, Outcome::Suggested);
        assert_eq!(decision.reasons.score, Score::new(0, 100, 50));
        let runner_up = decision.reasons.runner_up.as_ref().expect("runner-up");
        assert_eq!(runner_up.invoice_number, "2026-0022");
        assert_eq!(
            decision.reasons.summary,
            "anna rejected invoice 2026-0020; 2 suggested invoices remain, best 2026-0021."
        );
    }

    #[test]
    fn rejecting_runner_up_clears_it() {
        let mut decision = suggested(vec![
            suggestion("2026-0020", (0, 100, 100)),
            suggestion("2026-0021", (0, 100, 50)),
        ]);
        let rejected = decision.suggestions.remove(1);
        reasons_after_rejection(&mut decision, &rejected, "anna");
        assert_eq!(decision.reasons.score, Score::new(0, 100, 100));
        assert!(decision.reasons.runner_up.is_none());
        assert_eq!(
            decision.reasons.summary,
            "anna rejected invoice 2026-0021; 1 suggested invoice remains, best 2026-0020."
        );
    }

    #[test]
    fn rejecting_last_leaves_unmatched() {
        let mut decision = suggested(vec![suggestion("2026-0022", (0, 50, 50))]);
        let rejected = decision.suggestions.remove(0);
        reasons_after_rejection(&mut decision, &rejected, "anna");
        assert_eq!(decision.outcome, Outcome::Unmatched);
        assert_eq!(decision.reasons.score.total, 0);
        assert!(decision.reasons.runner_up.is_none());
        assert!(
            decision
                .reasons
                .summary
                .contains("2026-0022, the last suggestion"),
            "{}",
            decision.reasons.summary
        );
    }
}
