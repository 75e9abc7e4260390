//! Tickets on three support lines, their escalations, and the time logged on them.
//!
//! The first line answers general questions and is never billed. A ticket moves to the second
//! or third line (billed by the hour) only with the customer's agreement, recorded with who
//! agreed and when. Each time entry keeps its raw minutes and the line the ticket was on, and
//! the billed time of a ticket in a calendar month is its billable minutes of that month,
//! rounded up to the billing unit once.
//!
//! Every ticket has a response target: the line's business hours (settings `tickets`) after it
//! was opened or last escalated, counted with the support calendar.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use dk_calendar::Calendar;
use dk_domain::OrganisationId;
use dk_proto::convert::timestamp_from;
use dk_proto::support::v1 as pb;
use dk_runtime::auth::{Caller, Role};
use dk_runtime::idempotency::{self, Key};
use dk_runtime::paging::Page;
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, IntoActiveModel, QueryOrder,
    QuerySelect,
};
use tonic::Status;

use crate::entity::{escalation, ticket, time_entry};
use crate::settings::TicketSettings;

/// Maximum length of a ticket's subject, in characters.
const MAX_SUBJECT_LENGTH: usize = 200;
/// Maximum length of a time entry's description, in characters.
const MAX_DESCRIPTION_LENGTH: usize = 2000;
/// Maximum minutes in one time entry: a whole day.
const MAX_MINUTES: i32 = 24 * 60;

/// Returns the billed minutes of `billable` minutes: rounded up to whole units.
pub fn billed_minutes(billable: u32, unit: u32) -> u32 {
    billable.div_ceil(unit.max(1)) * unit.max(1)
}

/// Returns whether time on `line` is billed: only the second and third line are.
pub fn is_billable(line: i32) -> bool {
    line >= 2
}

/// State of the ticket and credit handlers.
pub struct Tickets {
    pub db: DatabaseConnection,
    pub calendar: Calendar,
    pub settings: TicketSettings,
    pub credit: crate::settings::CreditSettings,
    pub relay: dk_messaging::outbox::Relay,
}

impl Tickets {
    pub(crate) fn vendor(&self) -> OrganisationId {
        OrganisationId::from_uuid(self.settings.staff_organisation_id)
    }

    /// Returns the organisation a call acts on: the caller's own, or for a support agent of the
    /// vendor, the one the request names.
    pub(crate) fn organisation(&self, caller: &Caller, requested: &str) -> Result<Uuid, Status> {
        let requested = requested.trim();
        let is_agent =
            caller.organisation_id == self.vendor() && caller.roles.contains(&Role::SupportAgent);
        if is_agent && !requested.is_empty() {
            return parse_id(
                "organisation_id",
                requested,
                "the customer organisation's id",
            );
        }
        let own = caller.organisation_id.as_uuid();
        if requested.is_empty() || requested == own.to_string() {
            return Ok(own);
        }
        Err(Status::permission_denied(format!(
            "organisation {requested} is not the token's organisation {own}; only support agents \
             of the vendor act on other organisations"
        )))
    }

    fn response_due(&self, from: DateTime<Utc>, line: i32) -> Result<DateTime<Utc>, Status> {
        let index = usize::try_from(line - 1).unwrap_or_default().min(2);
        let hours = self.settings.response_hours[index];
        self.calendar
            .deadline(&from, hours)
            .map(|deadline| deadline.due.with_timezone(&Utc))
            .map_err(|error| status::internal("computing a response target", &error))
    }

    pub async fn open_ticket(
        &self,
        caller: &Caller,
        request: pb::OpenTicketRequest,
    ) -> Result<pb::OpenTicketResponse, Status> {
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "OpenTicket",
            &request.idempotency_key,
            &request,
        )?;
        let subject = request.subject.trim();
        if subject.is_empty() {
            return Err(status::invalid_argument(
                "subject",
                "missing: expected a short description of the question",
            ));
        }
        if subject.chars().count() > MAX_SUBJECT_LENGTH {
            return Err(status::invalid_argument(
                "subject",
                format!("too long: expected at most {MAX_SUBJECT_LENGTH} characters"),
            ));
        }
        let channel = match pb::Channel::try_from(request.channel) {
            Ok(pb::Channel::Chat) => "chat",
            Ok(pb::Channel::Phone) => "phone",
            Ok(pb::Channel::Email) => "email",
            _ => {
                return Err(status::invalid_argument(
                    "channel",
                    format!(
                        "{} is not a channel: expected CHANNEL_CHAT, CHANNEL_PHONE or \
                         CHANNEL_EMAIL",
                        request.channel
                    ),
                ));
            }
        };
        let now = now();
        let row = ticket::Model {
            id: Uuid::now_v7(),
            organisation_id: organisation,
            subject: subject.to_owned(),
            channel: channel.to_owned(),
            line: 1,
            status: "open".to_owned(),
            opened_at: now,
            response_due: self.response_due(now, 1)?,
            updated_at: now,
        };
        let context = "opening a ticket";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        row.clone()
            .into_active_model()
            .insert(&transaction)
            .await
            .map_err(db(context))?;
        let response = pb::OpenTicketResponse {
            ticket: Some(self.ticket_view(&transaction, &row).await?),
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        Ok(response)
    }

    pub async fn get_ticket(
        &self,
        caller: &Caller,
        request: pb::GetTicketRequest,
    ) -> Result<pb::GetTicketResponse, Status> {
        let organisation = self.organisation(caller, &request.organisation_id)?;
        let row = find_ticket(&self.db, organisation, &request.ticket_id).await?;
        Ok(pb::GetTicketResponse {
            ticket: Some(self.ticket_view(&self.db, &row).await?),
        })
    }

    pub async fn list_tickets(
        &self,
        caller: &Caller,
        request: pb::ListTicketsRequest,
    ) -> Result<pb::ListTicketsResponse, Status> {
        let organisation = self.organisation(caller, &request.organisation_id)?;
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let mut rows = ticket::Entity::find()
            .filter(ticket::Column::OrganisationId.eq(organisation))
            .order_by_desc(ticket::Column::OpenedAt)
            .order_by_desc(ticket::Column::Id)
            .offset(page.offset)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(db("listing tickets"))?;
        let next_page_token = page.finish(&mut rows);
        let mut tickets = Vec::with_capacity(rows.len());
        for row in &rows {
            tickets.push(self.ticket_view(&self.db, row).await?);
        }
        Ok(pb::ListTicketsResponse {
            tickets,
            next_page_token,
        })
    }

    pub async fn escalate(
        &self,
        caller: &Caller,
        request: pb::EscalateTicketRequest,
    ) -> Result<pb::EscalateTicketResponse, Status> {
        caller.require_staff(Role::SupportAgent, self.vendor())?;
        let organisation = parse_id(
            "organisation_id",
            &request.organisation_id,
            "the customer organisation's id",
        )?;
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "EscalateTicket",
            &request.idempotency_key,
            &request,
        )?;
        let to_line = line_from_proto("to_line", request.to_line)?;
        let now = now();
        let agreement = if is_billable(to_line) {
            let agreed_by = request.customer_agreed_by.trim();
            if agreed_by.is_empty() {
                return Err(status::invalid_argument(
                    "customer_agreed_by",
                    format!(
                        "missing: line {to_line} is billed by the hour, so name the person at \
                         the customer who agreed"
                    ),
                ));
            }
            let agreed_at = request
                .customer_agree_time
                .as_ref()
                .and_then(|time| {
                    DateTime::from_timestamp(time.seconds, u32::try_from(time.nanos).ok()?)
                })
                .ok_or_else(|| {
                    status::invalid_argument(
                        "customer_agree_time",
                        "missing: expected when the customer agreed to billed time",
                    )
                })?;
            if agreed_at > now {
                return Err(status::invalid_argument(
                    "customer_agree_time",
                    format!("{agreed_at} is in the future: expected when the customer agreed"),
                ));
            }
            Some((agreed_by.to_owned(), agreed_at))
        } else {
            None
        };

        let context = "escalating a ticket";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        let row = find_ticket(&transaction, organisation, &request.ticket_id).await?;
        reject_closed(&row)?;
        if row.line == to_line {
            return Err(status::with_reason(
                tonic::Code::FailedPrecondition,
                "ALREADY_ON_LINE",
                format!("ticket {} is on line {to_line} already", row.id),
                &[],
            ));
        }
        escalation::ActiveModel {
            id: sea_orm::Set(Uuid::now_v7()),
            ticket_id: sea_orm::Set(row.id),
            from_line: sea_orm::Set(row.line),
            to_line: sea_orm::Set(to_line),
            escalated_by: sea_orm::Set(caller.subject.clone()),
            escalated_at: sea_orm::Set(now),
            customer_agreed_by: sea_orm::Set(agreement.as_ref().map(|(by, _)| by.clone())),
            customer_agreed_at: sea_orm::Set(agreement.as_ref().map(|(_, at)| *at)),
        }
        .insert(&transaction)
        .await
        .map_err(db(context))?;
        let updated = ticket::Model {
            line: to_line,
            response_due: self.response_due(now, to_line)?,
            updated_at: now,
            ..row
        };
        updated
            .clone()
            .into_active_model()
            .reset_all()
            .update(&transaction)
            .await
            .map_err(db(context))?;
        tracing::info!(ticket_id = %updated.id, to_line, by = %caller.subject, "ticket escalated");
        let response = pb::EscalateTicketResponse {
            ticket: Some(self.ticket_view(&transaction, &updated).await?),
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        Ok(response)
    }

    pub async fn set_status(
        &self,
        caller: &Caller,
        request: pb::SetTicketStatusRequest,
    ) -> Result<pb::SetTicketStatusResponse, Status> {
        caller.require_staff(Role::SupportAgent, self.vendor())?;
        let organisation = parse_id(
            "organisation_id",
            &request.organisation_id,
            "the customer organisation's id",
        )?;
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "SetTicketStatus",
            &request.idempotency_key,
            &request,
        )?;
        let status_text = match pb::TicketStatus::try_from(request.status) {
            Ok(pb::TicketStatus::Open) => "open",
            Ok(pb::TicketStatus::Pending) => "pending",
            Ok(pb::TicketStatus::Resolved) => "resolved",
            Ok(pb::TicketStatus::Closed) => "closed",
            _ => {
                return Err(status::invalid_argument(
                    "status",
                    format!(
                        "{} is not a ticket status: expected OPEN, PENDING, RESOLVED or CLOSED",
                        request.status
                    ),
                ));
            }
        };
        let context = "setting a ticket's status";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        let row = find_ticket(&transaction, organisation, &request.ticket_id).await?;
        let updated = ticket::Model {
            status: status_text.to_owned(),
            updated_at: now(),
            ..row
        };
        updated
            .clone()
            .into_active_model()
            .reset_all()
            .update(&transaction)
            .await
            .map_err(db(context))?;
        let response = pb::SetTicketStatusResponse {
            ticket: Some(self.ticket_view(&transaction, &updated).await?),
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        Ok(response)
    }

    pub async fn log_time(
        &self,
        caller: &Caller,
        request: pb::LogTimeRequest,
    ) -> Result<pb::LogTimeResponse, Status> {
        caller.require_staff(Role::SupportAgent, self.vendor())?;
        let organisation = parse_id(
            "organisation_id",
            &request.organisation_id,
            "the customer organisation's id",
        )?;
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "LogTime",
            &request.idempotency_key,
            &request,
        )?;
        if !(1..=MAX_MINUTES).contains(&request.minutes) {
            return Err(status::invalid_argument(
                "minutes",
                format!(
                    "{} minutes: expected whole minutes from 1 to {MAX_MINUTES}",
                    request.minutes
                ),
            ));
        }
        let description = request.description.trim();
        if description.chars().count() > MAX_DESCRIPTION_LENGTH {
            return Err(status::invalid_argument(
                "description",
                format!("too long: expected at most {MAX_DESCRIPTION_LENGTH} characters"),
            ));
        }
        let now = now();
        let today = now
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        let work_date = match request.work_date.trim() {
            "" => today,
            text => dk_domain::parse_date(text)
                .map_err(|error| status::invalid_argument("work_date", error.to_string()))?,
        };
        if work_date > today {
            return Err(status::invalid_argument(
                "work_date",
                format!(
                    "{work_date} is in the future (today is {today}): expected the day of the work"
                ),
            ));
        }

        let context = "logging time";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        // The ticket row is locked, so two agents logging on one ticket at once round its month
        // one after the other.
        let row = find_ticket_locked(&transaction, organisation, &request.ticket_id).await?;
        reject_closed(&row)?;
        let opened_on = row
            .opened_at
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        if work_date < opened_on {
            return Err(status::invalid_argument(
                "work_date",
                format!(
                    "{work_date} is before the ticket was opened on {opened_on}: expected the day \
                     of the work on this ticket"
                ),
            ));
        }
        let (month_first, month_last) =
            month_range(&format!("{:04}-{:02}", work_date.year(), work_date.month()))?;
        let month_text = format!("{:04}-{:02}", work_date.year(), work_date.month());
        let post_calculated = crate::entity::usage_statement::Entity::find()
            .filter(crate::entity::usage_statement::Column::OrganisationId.eq(organisation))
            .filter(crate::entity::usage_statement::Column::Month.eq(month_text.clone()))
            .one(&transaction)
            .await
            .map_err(db(context))?;
        if post_calculated.is_some() {
            return Err(status::with_reason(
                tonic::Code::FailedPrecondition,
                "MONTH_POST_CALCULATED",
                format!(
                    "{month_text} is post-calculated already, so its time can no longer change; \
                     log the work on a day of the current month"
                ),
                &[("work_date", work_date.to_string())],
            ));
        }
        let earlier_billable: i64 = time_entry::Entity::find()
            .filter(time_entry::Column::TicketId.eq(row.id))
            .filter(time_entry::Column::Billable.eq(true))
            .filter(time_entry::Column::WorkDate.gte(month_first))
            .filter(time_entry::Column::WorkDate.lte(month_last))
            .all(&transaction)
            .await
            .map_err(db(context))?
            .iter()
            .map(|entry| i64::from(entry.minutes))
            .sum();
        let entry = time_entry::Model {
            id: Uuid::now_v7(),
            ticket_id: row.id,
            organisation_id: organisation,
            agent: caller.subject.clone(),
            work_date,
            minutes: request.minutes,
            description: description.to_owned(),
            line: row.line,
            billable: is_billable(row.line),
            created_at: now,
        };
        entry
            .clone()
            .into_active_model()
            .insert(&transaction)
            .await
            .map_err(db(context))?;
        if entry.billable
            && crate::credits::mode(&transaction, organisation)
                .await
                .map_err(db(context))?
                == crate::credits::PREPAID
        {
            let unit = self.settings.billing_unit_minutes;
            let before = u32::try_from(earlier_billable).unwrap_or(u32::MAX);
            let after = before.saturating_add(u32::try_from(entry.minutes).unwrap_or_default());
            let added = billed_minutes(after, unit) - billed_minutes(before, unit);
            if added > 0 {
                crate::credits::draw(
                    &transaction,
                    organisation,
                    row.id,
                    entry.id,
                    to_i32(added),
                    now,
                )
                .await
                .map_err(db(context))?;
            }
        }
        let response = pb::LogTimeResponse {
            time_entry: Some(entry_to_proto(&entry)),
            ticket: Some(self.ticket_view(&transaction, &row).await?),
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        Ok(response)
    }

    pub async fn billed_time(
        &self,
        caller: &Caller,
        request: pb::GetBilledTimeRequest,
    ) -> Result<pb::GetBilledTimeResponse, Status> {
        let organisation = self.organisation(caller, &request.organisation_id)?;
        let (first, last) = month_range(&request.month)?;
        let entries = time_entry::Entity::find()
            .filter(time_entry::Column::OrganisationId.eq(organisation))
            .filter(time_entry::Column::WorkDate.gte(first))
            .filter(time_entry::Column::WorkDate.lte(last))
            .all(&self.db)
            .await
            .map_err(db("reading billed time"))?;
        let mut per_ticket: BTreeMap<Uuid, (u32, u32)> = BTreeMap::new();
        for entry in &entries {
            let minutes = u32::try_from(entry.minutes).unwrap_or_default();
            let totals = per_ticket.entry(entry.ticket_id).or_default();
            totals.0 += minutes;
            if entry.billable {
                totals.1 += minutes;
            }
        }
        let subjects: BTreeMap<Uuid, String> = if per_ticket.is_empty() {
            BTreeMap::new()
        } else {
            ticket::Entity::find()
                .filter(ticket::Column::Id.is_in(per_ticket.keys().copied()))
                .all(&self.db)
                .await
                .map_err(db("reading billed time"))?
                .into_iter()
                .map(|row| (row.id, row.subject))
                .collect()
        };
        let unit = self.settings.billing_unit_minutes;
        let mut total = 0;
        let tickets = per_ticket
            .into_iter()
            .map(|(id, (raw, billable))| {
                let billed = billed_minutes(billable, unit);
                total += billed;
                pb::BilledTicket {
                    ticket_id: id.to_string(),
                    subject: subjects.get(&id).cloned().unwrap_or_default(),
                    raw_minutes: to_i32(raw),
                    billable_minutes: to_i32(billable),
                    billed_minutes: to_i32(billed),
                }
            })
            .collect();
        Ok(pb::GetBilledTimeResponse {
            month: request.month.trim().to_owned(),
            billing_unit_minutes: to_i32(unit),
            tickets,
            billed_minutes: to_i32(total),
        })
    }

    async fn ticket_view<C: sea_orm::ConnectionTrait>(
        &self,
        db_connection: &C,
        row: &ticket::Model,
    ) -> Result<pb::Ticket, Status> {
        let context = "reading a ticket";
        let escalations = escalation::Entity::find()
            .filter(escalation::Column::TicketId.eq(row.id))
            .order_by_asc(escalation::Column::EscalatedAt)
            .all(db_connection)
            .await
            .map_err(db(context))?;
        let entries = time_entry::Entity::find()
            .filter(time_entry::Column::TicketId.eq(row.id))
            .order_by_asc(time_entry::Column::CreatedAt)
            .all(db_connection)
            .await
            .map_err(db(context))?;
        let due_local = row
            .response_due
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .fixed_offset();
        Ok(pb::Ticket {
            ticket_id: row.id.to_string(),
            organisation_id: row.organisation_id.to_string(),
            subject: row.subject.clone(),
            channel: match row.channel.as_str() {
                "chat" => pb::Channel::Chat,
                "phone" => pb::Channel::Phone,
                _ => pb::Channel::Email,
            } as i32,
            line: line_to_proto(row.line) as i32,
            status: match row.status.as_str() {
                "pending" => pb::TicketStatus::Pending,
                "resolved" => pb::TicketStatus::Resolved,
                "closed" => pb::TicketStatus::Closed,
                _ => pb::TicketStatus::Open,
            } as i32,
            open_time: Some(timestamp_from(row.opened_at)),
            response_due: Some(timestamp_from(row.response_due)),
            response_due_text: due_local.to_rfc3339_opts(SecondsFormat::Secs, false),
            escalations: escalations
                .iter()
                .map(|step| pb::Escalation {
                    from_line: line_to_proto(step.from_line) as i32,
                    to_line: line_to_proto(step.to_line) as i32,
                    escalated_by: step.escalated_by.clone(),
                    escalate_time: Some(timestamp_from(step.escalated_at)),
                    customer_agreed_by: step.customer_agreed_by.clone().unwrap_or_default(),
                    customer_agree_time: step.customer_agreed_at.map(timestamp_from),
                })
                .collect(),
            time_entries: entries.iter().map(entry_to_proto).collect(),
        })
    }
}

fn entry_to_proto(entry: &time_entry::Model) -> pb::TimeEntry {
    pb::TimeEntry {
        time_entry_id: entry.id.to_string(),
        agent: entry.agent.clone(),
        work_date: entry.work_date.to_string(),
        minutes: entry.minutes,
        description: entry.description.clone(),
        line: line_to_proto(entry.line) as i32,
        billable: entry.billable,
    }
}

fn line_to_proto(line: i32) -> pb::SupportLine {
    match line {
        1 => pb::SupportLine::First,
        2 => pb::SupportLine::Second,
        _ => pb::SupportLine::Third,
    }
}

fn line_from_proto(field: &str, value: i32) -> Result<i32, Status> {
    match pb::SupportLine::try_from(value) {
        Ok(pb::SupportLine::First) => Ok(1),
        Ok(pb::SupportLine::Second) => Ok(2),
        Ok(pb::SupportLine::Third) => Ok(3),
        _ => Err(status::invalid_argument(
            field,
            format!(
                "{value} is not a support line: expected SUPPORT_LINE_FIRST, SUPPORT_LINE_SECOND \
                 or SUPPORT_LINE_THIRD"
            ),
        )),
    }
}

/// Returns the first and last day of a `YYYY-MM` month.
pub(crate) fn month_range(text: &str) -> Result<(NaiveDate, NaiveDate), Status> {
    let invalid = || {
        status::invalid_argument(
            "month",
            format!("{text:?} is not a month: expected YYYY-MM, for example 2026-04"),
        )
    };
    let (year, month) = text.trim().split_once('-').ok_or_else(invalid)?;
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let month: u32 = month.parse().map_err(|_| invalid())?;
    let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid)?;
    let last = first + chrono::Months::new(1) - chrono::Days::new(1);
    Ok((first, last))
}

async fn find_ticket<C: sea_orm::ConnectionTrait>(
    db_connection: &C,
    organisation: Uuid,
    ticket_id: &str,
) -> Result<ticket::Model, Status> {
    let id = parse_id(
        "ticket_id",
        ticket_id,
        "the ticket_id that OpenTicket returned",
    )?;
    ticket::Entity::find_by_id(id)
        .filter(ticket::Column::OrganisationId.eq(organisation))
        .one(db_connection)
        .await
        .map_err(db("reading a ticket"))?
        .ok_or_else(|| status::not_found("ticket", &id.to_string()))
}

/// Rejects work on a closed ticket; a support agent reopens it first.
fn reject_closed(row: &ticket::Model) -> Result<(), Status> {
    if row.status == "closed" {
        return Err(status::with_reason(
            tonic::Code::FailedPrecondition,
            "TICKET_CLOSED",
            format!(
                "ticket {} is closed: set its status to open before logging time or escalating",
                row.id
            ),
            &[("ticket_id", row.id.to_string())],
        ));
    }
    Ok(())
}

/// Reads a ticket like [`find_ticket`] and, on PostgreSQL, locks its row until the transaction
/// ends.
async fn find_ticket_locked(
    transaction: &DatabaseTransaction,
    organisation: Uuid,
    ticket_id: &str,
) -> Result<ticket::Model, Status> {
    let id = parse_id(
        "ticket_id",
        ticket_id,
        "the ticket_id that OpenTicket returned",
    )?;
    let mut query =
        ticket::Entity::find_by_id(id).filter(ticket::Column::OrganisationId.eq(organisation));
    if transaction.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(transaction)
        .await
        .map_err(db("reading a ticket"))?
        .ok_or_else(|| status::not_found("ticket", &id.to_string()))
}

pub(crate) fn parse_id(field: &str, text: &str, expected: &str) -> Result<Uuid, Status> {
    Uuid::from_str(text.trim()).map_err(|_| {
        status::invalid_argument(
            field,
            format!("{text:?} is not a UUID: expected {expected}"),
        )
    })
}

pub(crate) fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Returns the current time, cut to microseconds as PostgreSQL stores it.
pub(crate) fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn db(context: &'static str) -> impl Fn(DbErr) -> Status {
    move |error| status::from_db(context, error)
}

pub(crate) async fn begin(
    db_connection: &DatabaseConnection,
    context: &'static str,
) -> Result<DatabaseTransaction, Status> {
    dk_runtime::database::begin_write(db_connection)
        .await
        .map_err(db(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billed_minutes_round_up_to_the_unit() {
        let cases = [
            (0, 0),
            (1, 15),
            (15, 15),
            (16, 30),
            (27, 30),
            (60, 60),
            (61, 75),
        ];
        for (billable, billed) in cases {
            assert_eq!(billed_minutes(billable, 15), billed, "{billable} minutes");
        }
        assert_eq!(billed_minutes(7, 6), 12);
    }

    #[test]
    fn only_second_and_third_line_are_billed() {
        assert!(!is_billable(1));
        assert!(is_billable(2));
        assert!(is_billable(3));
    }

    #[test]
    fn months_parse_to_their_days() {
        let (first, last) = month_range("2026-02").unwrap();
        assert_eq!(first.to_string(), "2026-02-01");
        assert_eq!(last.to_string(), "2026-02-28");
        let (_, last) = month_range("2028-12").unwrap();
        assert_eq!(last.to_string(), "2028-12-31");
        for text in ["2026", "2026-13", "abc-01", ""] {
            let status = month_range(text).unwrap_err();
            assert!(status.message().contains("YYYY-MM"), "{}", status.message());
        }
    }
}
