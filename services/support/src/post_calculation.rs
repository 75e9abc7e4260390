//! The monthly post-calculation (nacalculatie): billed time that prepaid credit did not cover,
//! charged in arrears at the standard hourly rate.
//!
//! For every organisation with billable time in an ended month, each ticket's billed minutes
//! (its billable minutes of the month, rounded up to the billing unit) minus the minutes drawn
//! from credit lots for that month's entries are post-calculated. This rule applies whatever
//! billing mode the organisation had while the time was logged: post-calculation customers draw
//! nothing, and prepaid customers only leave what their credit did not cover. A statement is
//! stored and `support.usage.billable.v1` enqueued in one transaction, and the unique
//! `(organisation, month)` index lets one run or replica issue it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Utc};
use dk_domain::{Currency, Money};
use dk_messaging::{Event, outbox};
use dk_proto::events::v1 as events;
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, IntoActiveModel, SqlErr};
use serde::{Deserialize, Serialize};

use crate::credits::PRODUCER;
use crate::entity::{credit_draw, ticket, time_entry, usage_statement};
use crate::tickets::billed_minutes;

/// Routing key and CloudEvents type of a month's post-calculation statement.
pub const USAGE_BILLABLE: &str = "support.usage.billable.v1";
const EVENT_SOURCE: &str = "/dk/support";

/// One ticket's post-calculated time in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub ticket_id: Uuid,
    pub subject: String,
    /// The highest support line with billable time in the month.
    pub line: i32,
    pub billed_minutes: u32,
    pub prepaid_minutes: u32,
    pub post_calculated_minutes: u32,
    pub hourly_rate_minor: i64,
    pub amount_minor: i64,
}

/// A stored statement with its lines.
#[derive(Debug, Clone)]
pub struct Statement {
    pub row: usage_statement::Model,
    pub lines: Vec<StatementLine>,
}

/// Billable minutes and the minutes drawn from lots of one ticket in a month.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TicketUsage {
    pub billable_minutes: u32,
    pub prepaid_minutes: u32,
    pub line: i32,
}

/// Returns the billed and post-calculated minutes of a ticket's month.
pub fn post_calculated(usage: TicketUsage, unit: u32) -> (u32, u32) {
    let billed = billed_minutes(usage.billable_minutes, unit);
    (billed, billed.saturating_sub(usage.prepaid_minutes))
}

/// Returns the amount of `minutes` at `hourly_rate`, rounded to cents half away from zero.
pub fn amount(minutes: u32, hourly_rate: Decimal) -> Money {
    Money::new(
        hourly_rate * Decimal::from(minutes) / Decimal::from(60),
        Currency::EUR,
    )
    .round()
}

/// Result of a post-calculation run: the issued statements and the months issued before.
#[derive(Debug, Default)]
pub struct RunReport {
    pub statements: Vec<Statement>,
    pub already_issued: u32,
}

/// Issues the statements of `first`'s month (given by its first and last day).
pub async fn run(
    db: &DatabaseConnection,
    first: NaiveDate,
    last: NaiveDate,
    unit: u32,
    hourly_rate: Decimal,
) -> Result<RunReport, DbErr> {
    let month = format!("{:04}-{:02}", first.year(), first.month());
    let entries = time_entry::Entity::find()
        .filter(time_entry::Column::Billable.eq(true))
        .filter(time_entry::Column::WorkDate.gte(first))
        .filter(time_entry::Column::WorkDate.lte(last))
        .all(db)
        .await?;
    let mut usage: BTreeMap<Uuid, BTreeMap<Uuid, TicketUsage>> = BTreeMap::new();
    for entry in &entries {
        let ticket = usage
            .entry(entry.organisation_id)
            .or_default()
            .entry(entry.ticket_id)
            .or_default();
        ticket.billable_minutes += u32::try_from(entry.minutes).unwrap_or_default();
        ticket.line = ticket.line.max(entry.line);
    }
    let entry_ids: Vec<Uuid> = entries.iter().map(|entry| entry.id).collect();
    let ticket_of: BTreeMap<Uuid, (Uuid, Uuid)> = entries
        .iter()
        .map(|entry| (entry.id, (entry.organisation_id, entry.ticket_id)))
        .collect();
    for chunk in entry_ids.chunks(500) {
        let draws = credit_draw::Entity::find()
            .filter(credit_draw::Column::TimeEntryId.is_in(chunk.iter().copied()))
            .filter(credit_draw::Column::LotId.is_not_null())
            .all(db)
            .await?;
        for draw in draws {
            if let Some((organisation, ticket)) = ticket_of.get(&draw.time_entry_id)
                && let Some(found) = usage
                    .get_mut(organisation)
                    .and_then(|tickets| tickets.get_mut(ticket))
            {
                found.prepaid_minutes += u32::try_from(draw.minutes).unwrap_or_default();
            }
        }
    }

    let rate = Money::new(hourly_rate, Currency::EUR).round();
    let rate_minor = rate
        .to_minor_units()
        .map_err(|error| DbErr::Custom(error.to_string()))?;
    let mut report = RunReport::default();
    for (organisation, tickets) in usage {
        let subjects: BTreeMap<Uuid, String> = ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(tickets.keys().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|row| (row.id, row.subject))
            .collect();
        let mut lines = Vec::new();
        for (ticket_id, ticket_usage) in tickets {
            let (billed, post) = post_calculated(ticket_usage, unit);
            if post == 0 {
                continue;
            }
            let amount = amount(post, rate.amount());
            lines.push(StatementLine {
                ticket_id,
                subject: subjects.get(&ticket_id).cloned().unwrap_or_default(),
                line: ticket_usage.line,
                billed_minutes: billed,
                prepaid_minutes: ticket_usage.prepaid_minutes.min(billed),
                post_calculated_minutes: post,
                hourly_rate_minor: rate_minor,
                amount_minor: amount
                    .to_minor_units()
                    .map_err(|error| DbErr::Custom(error.to_string()))?,
            });
        }
        if lines.is_empty() {
            continue;
        }
        match issue(db, organisation, &month, first, lines).await? {
            Some(statement) => report.statements.push(statement),
            None => report.already_issued += 1,
        }
    }
    Ok(report)
}

/// Stores one statement and enqueues its event; `None` when the month had one already.
async fn issue(
    db: &DatabaseConnection,
    organisation: Uuid,
    month: &str,
    first: NaiveDate,
    lines: Vec<StatementLine>,
) -> Result<Option<Statement>, DbErr> {
    let total_minor: i64 = lines.iter().map(|line| line.amount_minor).sum();
    let row = usage_statement::Model {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        month: month.to_owned(),
        total_minor,
        currency: Currency::EUR.to_string(),
        lines: serde_json::to_string(&lines).map_err(|error| DbErr::Custom(error.to_string()))?,
        created_at: Utc::now(),
    };
    let transaction = dk_runtime::database::begin_write(db).await?;
    match row.clone().into_active_model().insert(&transaction).await {
        Ok(_) => {}
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    }
    let money = |minor: i64| Money::from_minor_units(minor, Currency::EUR).into();
    let message = events::SupportUsageBillable {
        organisation_id: organisation.to_string(),
        statement_id: row.id.to_string(),
        year: first.year(),
        month: i32::try_from(first.month()).unwrap_or_default(),
        tickets: lines
            .iter()
            .map(|line| events::BillableTicketUsage {
                ticket_id: line.ticket_id.to_string(),
                support_line: if line.line >= 3 { "third" } else { "second" }.to_owned(),
                billed_minutes: i32::try_from(line.post_calculated_minutes).unwrap_or(i32::MAX),
                hourly_rate: Some(money(line.hourly_rate_minor)),
                amount: Some(money(line.amount_minor)),
            })
            .collect(),
        total: Some(money(total_minor)),
    };
    let event = Event::new(
        USAGE_BILLABLE,
        EVENT_SOURCE,
        organisation,
        message.encode_to_vec(),
    );
    outbox::enqueue(&transaction, PRODUCER, &[event]).await?;
    transaction.commit().await?;
    Ok(Some(Statement { row, lines }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn prepaid_minutes_are_not_post_calculated() {
        let usage = |billable, prepaid| TicketUsage {
            billable_minutes: billable,
            prepaid_minutes: prepaid,
            line: 2,
        };
        assert_eq!(post_calculated(usage(27, 0), 15), (30, 30));
        assert_eq!(post_calculated(usage(700, 600), 15), (705, 105));
        assert_eq!(post_calculated(usage(590, 600), 15), (600, 0));
    }

    #[test]
    fn amounts_round_half_away_from_zero() {
        assert_eq!(amount(30, dec!(95.00)).amount(), dec!(47.50));
        assert_eq!(amount(105, dec!(95.00)).amount(), dec!(166.25));
        // 95.00 × 7 / 60 = 11.0833…
        assert_eq!(amount(7, dec!(95.00)).amount(), dec!(11.08));
        // 0.5 cent rounds up: 0.30 × 1 / 60 × 100 = 0.5.
        assert_eq!(amount(1, dec!(0.30)).amount(), dec!(0.01));
    }
}
