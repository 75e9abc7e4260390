//! Support tickets: three lines, escalation with the customer's agreement, time entries and
//! billed time per ticket and month.

use chrono::{Datelike, Months, NaiveDate};
use dk_proto::support::v1 as support;
use dk_testkit::{BusKind, DatabaseKind, Stack, SupportClient};
use tonic::Code;

use crate::*;

fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive()
}

fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

async fn open(client: &mut SupportClient, subject: &str) -> support::Ticket {
    client
        .open_ticket(support::OpenTicketRequest {
            idempotency_key: key(),
            subject: subject.into(),
            channel: support::Channel::Chat as i32,
        })
        .await
        .expect("open ticket")
        .into_inner()
        .ticket
        .expect("ticket")
}

fn log(organisation: &str, ticket: &str, minutes: i32, work_date: &str) -> support::LogTimeRequest {
    support::LogTimeRequest {
        idempotency_key: key(),
        organisation_id: organisation.into(),
        ticket_id: ticket.into(),
        minutes,
        description: "Instellingen btw-aangifte nagelopen".into(),
        work_date: work_date.into(),
    }
}

async fn billed(
    client: &mut SupportClient,
    organisation: &str,
    month: &str,
) -> support::GetBilledTimeResponse {
    client
        .get_billed_time(support::GetBilledTimeRequest {
            organisation_id: organisation.into(),
            month: month.into(),
        })
        .await
        .expect("billed time")
        .into_inner()
}

async fn check_ticket_flow(stack: &Stack) {
    let mut customer = stack
        .support_client(stack.organisation)
        .await
        .expect("client");
    let mut agent = stack.support_agent_client().await.expect("agent client");
    let organisation = stack.organisation.to_string();

    let ticket = open(&mut customer, "Btw-aangifte klopt niet").await;
    assert_eq!(ticket.line, support::SupportLine::First as i32);
    assert_eq!(ticket.status, support::TicketStatus::Open as i32);
    let opened = ticket.open_time.expect("open time").seconds;
    let due = ticket.response_due.expect("response due").seconds;
    assert!(due > opened, "the response target lies after the opening");
    assert!(
        ticket.response_due_text.ends_with("+01:00")
            || ticket.response_due_text.ends_with("+02:00"),
        "{}",
        ticket.response_due_text
    );

    // First-line time is kept but never billed.
    let first = agent
        .log_time(log(&organisation, &ticket.ticket_id, 20, ""))
        .await
        .expect("log first-line time")
        .into_inner()
        .time_entry
        .expect("entry");
    assert!(!first.billable);
    assert_eq!(first.agent, "agent-anna");

    // Moving to the billed second line needs the customer's agreement.
    let without = agent
        .escalate_ticket(support::EscalateTicketRequest {
            idempotency_key: key(),
            organisation_id: organisation.clone(),
            ticket_id: ticket.ticket_id.clone(),
            to_line: support::SupportLine::Second as i32,
            customer_agreed_by: String::new(),
            customer_agree_time: None,
        })
        .await
        .unwrap_err();
    assert_eq!(without.code(), Code::InvalidArgument);
    assert!(
        without.message().starts_with("customer_agreed_by"),
        "{}",
        without.message()
    );

    let agreed_at = chrono::Utc::now() - chrono::Duration::minutes(2);
    let escalated = agent
        .escalate_ticket(support::EscalateTicketRequest {
            idempotency_key: key(),
            organisation_id: organisation.clone(),
            ticket_id: ticket.ticket_id.clone(),
            to_line: support::SupportLine::Second as i32,
            customer_agreed_by: "Jan de Vries".into(),
            customer_agree_time: Some(prost_types::Timestamp {
                seconds: agreed_at.timestamp(),
                nanos: 0,
            }),
        })
        .await
        .expect("escalate")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(escalated.line, support::SupportLine::Second as i32);
    assert_eq!(escalated.escalations.len(), 1);
    let step = &escalated.escalations[0];
    assert_eq!(step.customer_agreed_by, "Jan de Vries");
    assert_eq!(step.escalated_by, "agent-anna");
    assert_eq!(step.from_line, support::SupportLine::First as i32);

    for minutes in [20, 7] {
        let entry = agent
            .log_time(log(&organisation, &ticket.ticket_id, minutes, ""))
            .await
            .expect("log second-line time")
            .into_inner()
            .time_entry
            .expect("entry");
        assert!(entry.billable);
        assert_eq!(entry.line, support::SupportLine::Second as i32);
    }
    // Time of an earlier month is billed in that month (the ticket is backdated, because work
    // before its opening is rejected).
    let earlier = today() - Months::new(1);
    backdate_ticket(stack, &ticket.ticket_id, 40).await;
    agent
        .log_time(log(
            &organisation,
            &ticket.ticket_id,
            50,
            &earlier.to_string(),
        ))
        .await
        .expect("log earlier time");

    let month = billed(&mut customer, "", &month_of(today())).await;
    assert_eq!(month.billing_unit_minutes, 15);
    assert_eq!(month.tickets.len(), 1);
    let line = &month.tickets[0];
    assert_eq!(
        (line.raw_minutes, line.billable_minutes, line.billed_minutes),
        (47, 27, 30)
    );
    assert_eq!(line.subject, "Btw-aangifte klopt niet");
    assert_eq!(month.billed_minutes, 30);
    let previous = billed(&mut agent, &organisation, &month_of(earlier)).await;
    assert_eq!(previous.billed_minutes, 60);

    let read = customer
        .get_ticket(support::GetTicketRequest {
            ticket_id: ticket.ticket_id.clone(),
            organisation_id: String::new(),
        })
        .await
        .expect("read ticket")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(read.time_entries.len(), 4);
}

#[tokio::test]
async fn ticket_time_is_billed_from_the_second_line() {
    let stack = Stack::start().await.expect("stack");
    check_ticket_flow(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn ticket_time_is_billed_embedded() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_ticket_flow(&stack).await;
    stack.stop().await.expect("stop");
}

/// Customers see only their own tickets and cannot log time; bad values are rejected with the
/// field and the expected value.
#[tokio::test]
async fn tickets_reject_strangers_and_bad_values() {
    let stack = Stack::start().await.expect("stack");
    let mut customer = stack
        .support_client(stack.organisation)
        .await
        .expect("client");
    let mut other = stack
        .support_client(stack.other_organisation)
        .await
        .expect("client");
    let mut agent = stack.support_agent_client().await.expect("agent client");
    let organisation = stack.organisation.to_string();
    let ticket = open(&mut customer, "Koppeling met de bank").await;

    let hidden = other
        .get_ticket(support::GetTicketRequest {
            ticket_id: ticket.ticket_id.clone(),
            organisation_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let foreign = other
        .list_tickets(support::ListTicketsRequest {
            organisation_id: organisation.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
    let not_staff = customer
        .log_time(log(&organisation, &ticket.ticket_id, 10, ""))
        .await
        .unwrap_err();
    assert_eq!(not_staff.code(), Code::PermissionDenied);

    let tomorrow = (today() + chrono::Days::new(1)).to_string();
    let yesterday = (today() - chrono::Days::new(1)).to_string();
    let before_opening = agent
        .log_time(log(&organisation, &ticket.ticket_id, 10, &yesterday))
        .await
        .unwrap_err();
    assert!(
        before_opening
            .message()
            .contains("before the ticket was opened"),
        "{}",
        before_opening.message()
    );
    let cases = [
        (log(&organisation, &ticket.ticket_id, 0, ""), "minutes"),
        (log(&organisation, &ticket.ticket_id, 1441, ""), "minutes"),
        (
            log(&organisation, &ticket.ticket_id, 10, &tomorrow),
            "work_date",
        ),
        (
            log(&organisation, &ticket.ticket_id, 10, "31-12-2026"),
            "work_date",
        ),
        (log(&organisation, "not-a-ticket", 10, ""), "ticket_id"),
    ];
    for (request, field) in cases {
        let status = agent.log_time(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{}", status.message());
    }
    let empty = customer
        .open_ticket(support::OpenTicketRequest {
            idempotency_key: key(),
            subject: "  ".into(),
            channel: support::Channel::Email as i32,
        })
        .await
        .unwrap_err();
    assert!(
        empty.message().starts_with("subject"),
        "{}",
        empty.message()
    );
    let no_channel = customer
        .open_ticket(support::OpenTicketRequest {
            idempotency_key: key(),
            subject: "Vraag".into(),
            channel: 0,
        })
        .await
        .unwrap_err();
    assert!(
        no_channel.message().starts_with("channel"),
        "{}",
        no_channel.message()
    );
    let bad_month = customer
        .get_billed_time(support::GetBilledTimeRequest {
            organisation_id: String::new(),
            month: "april".into(),
        })
        .await
        .unwrap_err();
    assert!(
        bad_month.message().contains("YYYY-MM"),
        "{}",
        bad_month.message()
    );
    let listed = customer
        .list_tickets(support::ListTicketsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .tickets;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].time_entries.is_empty(), "nothing was logged");

    // A closed ticket takes no more time until it is reopened.
    agent
        .set_ticket_status(support::SetTicketStatusRequest {
            idempotency_key: key(),
            organisation_id: organisation.clone(),
            ticket_id: ticket.ticket_id.clone(),
            status: support::TicketStatus::Closed as i32,
        })
        .await
        .expect("close");
    let closed = agent
        .log_time(log(&organisation, &ticket.ticket_id, 10, ""))
        .await
        .unwrap_err();
    assert_eq!(closed.code(), Code::FailedPrecondition);
    assert!(
        closed.message().contains("is closed"),
        "{}",
        closed.message()
    );
    stack.stop().await.expect("stop");
}
