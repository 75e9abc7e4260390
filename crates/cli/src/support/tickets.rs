//! `dk support ticket`, `dk support log` and `dk support billed`: support tickets on three
//! lines, the time logged on them and the billed time of a month.
//!
//! Customers act on the organisation of their token. Staff calls use the given --token, or else
//! a development token of the vendor organisation with the support_agent role, and name the
//! customer with --customer-organisation.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use clap::{Args, Subcommand, ValueEnum};
use dk_domain::OrganisationId;
use dk_proto::convert::timestamp_from;
use dk_proto::support::v1 as support;
use dk_runtime::auth::Role;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{self, idempotency_key, status_error};
use crate::table::{Align, print_table};

#[derive(Subcommand)]
pub enum TicketCommand {
    /// Open a ticket on the first line and show its response target.
    Open(OpenTicketArgs),
    /// Show a ticket with its escalations and time entries.
    Show(ShowTicketArgs),
    /// List the organisation's tickets, newest first.
    List(ListTicketsArgs),
    /// Staff, role support_agent: move a ticket to another support line.
    ///
    /// Moving it to the second or third line bills the time from then on, so name who at the
    /// customer agreed with --agreed-by. Without --token, calls with a development staff token
    /// of the vendor organisation.
    Escalate(EscalateArgs),
    /// Staff, role support_agent: set a ticket's status.
    ///
    /// Without --token, calls with a development staff token of the vendor organisation.
    Status(StatusArgs),
}

/// Channel a ticket came in through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChannelArg {
    Chat,
    Phone,
    Email,
}

impl ChannelArg {
    fn to_proto(self) -> support::Channel {
        match self {
            ChannelArg::Chat => support::Channel::Chat,
            ChannelArg::Phone => support::Channel::Phone,
            ChannelArg::Email => support::Channel::Email,
        }
    }
}

/// Status a staff member sets on a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Open,
    /// Waiting for the customer.
    Pending,
    Resolved,
    Closed,
}

impl StatusArg {
    fn to_proto(self) -> support::TicketStatus {
        match self {
            StatusArg::Open => support::TicketStatus::Open,
            StatusArg::Pending => support::TicketStatus::Pending,
            StatusArg::Resolved => support::TicketStatus::Resolved,
            StatusArg::Closed => support::TicketStatus::Closed,
        }
    }
}

#[derive(Args)]
pub struct OpenTicketArgs {
    /// Short description of the question, at most 200 characters.
    #[arg(long)]
    subject: String,
    /// Channel the question came in through.
    #[arg(long, value_enum)]
    channel: ChannelArg,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct ShowTicketArgs {
    /// Id of the ticket, as `dk support ticket open` or `list` prints it.
    #[arg(value_parser = crate::parse_id)]
    ticket_id: uuid::Uuid,
    /// Staff: id of the ticket's customer organisation. When given, calls as a support agent.
    #[arg(long)]
    customer_organisation: Option<OrganisationId>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct ListTicketsArgs {
    /// Staff: id of the customer organisation whose tickets to list. When given, calls as a
    /// support agent.
    #[arg(long)]
    customer_organisation: Option<OrganisationId>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct EscalateArgs {
    /// Id of the ticket.
    #[arg(value_parser = crate::parse_id)]
    ticket_id: uuid::Uuid,
    /// Id of the ticket's customer organisation.
    #[arg(long)]
    customer_organisation: OrganisationId,
    /// Support line to move the ticket to: 1 (never billed), 2 or 3 (billed by the hour).
    #[arg(long, value_parser = parse_line)]
    line: support::SupportLine,
    /// Person at the customer who agreed to billed time. Required for line 2 and 3.
    #[arg(long)]
    agreed_by: Option<String>,
    /// When the customer agreed, RFC 3339 with an offset, for example
    /// 2026-04-07T10:15:00+02:00; now when not given. Not in the future.
    #[arg(long, requires = "agreed_by", value_parser = super::parse_instant)]
    agreed_at: Option<DateTime<FixedOffset>>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Id of the ticket.
    #[arg(value_parser = crate::parse_id)]
    ticket_id: uuid::Uuid,
    /// Id of the ticket's customer organisation.
    #[arg(long)]
    customer_organisation: OrganisationId,
    /// New status of the ticket.
    #[arg(long, value_enum)]
    status: StatusArg,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct LogArgs {
    /// Id of the ticket.
    #[arg(value_parser = crate::parse_id)]
    ticket_id: uuid::Uuid,
    /// Id of the ticket's customer organisation.
    #[arg(long)]
    customer_organisation: OrganisationId,
    /// Whole minutes of work, from 1 up to 1440.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=1440))]
    minutes: i32,
    /// Description of the work, at most 2000 characters.
    #[arg(long, default_value = "")]
    description: String,
    /// Local date of the work, YYYY-MM-DD, not in the future; today when not given.
    #[arg(long, value_parser = crate::parse_date)]
    date: Option<NaiveDate>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct BilledArgs {
    /// Calendar month, YYYY-MM, for example 2026-04.
    #[arg(long, value_parser = parse_month)]
    month: String,
    /// Staff: id of the customer organisation. When given, calls as a support agent.
    #[arg(long)]
    customer_organisation: Option<OrganisationId>,
    #[command(flatten)]
    target: TargetArgs,
}

/// Parses a support line given as 1, 2 or 3.
pub fn parse_line(text: &str) -> Result<support::SupportLine, String> {
    match text.trim() {
        "1" => Ok(support::SupportLine::First),
        "2" => Ok(support::SupportLine::Second),
        "3" => Ok(support::SupportLine::Third),
        _ => Err(format!("invalid support line {text:?}: expected 1, 2 or 3")),
    }
}

/// Parses `YYYY-MM` and returns it in that form, as the support service expects it.
pub fn parse_month(text: &str) -> Result<String, String> {
    crate::billing::parse_month(text).map(|first_day| first_day.format("%Y-%m").to_string())
}

/// Returns the target and the `organisation_id` field of a call that both customers and staff
/// make: the customer's own token and an empty field, or with `customer` a support agent's
/// target and that organisation.
pub(super) fn customer_or_staff(
    target: &TargetArgs,
    customer: Option<OrganisationId>,
) -> (client::Target, String) {
    match customer {
        Some(organisation) => (
            target.staff_target(Role::SupportAgent),
            organisation.to_string(),
        ),
        None => (target.target(), String::new()),
    }
}

pub async fn run_ticket(command: TicketCommand) -> anyhow::Result<()> {
    match command {
        TicketCommand::Open(args) => open(args).await,
        TicketCommand::Show(args) => show(args).await,
        TicketCommand::List(args) => list(args).await,
        TicketCommand::Escalate(args) => escalate(args).await,
        TicketCommand::Status(args) => set_status(args).await,
    }
}

async fn open(args: OpenTicketArgs) -> anyhow::Result<()> {
    let ticket = args
        .target
        .target()
        .support()
        .await?
        .open_ticket(support::OpenTicketRequest {
            idempotency_key: idempotency_key(None),
            subject: args.subject,
            channel: args.channel.to_proto() as i32,
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .ticket
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&ticket_json(&ticket));
    } else {
        println!(
            "opened ticket {} on line {}, status {}",
            ticket.ticket_id,
            line_text(ticket.line),
            status_name(ticket.status)
        );
        println!("response due {}", ticket.response_due_text);
    }
    Ok(())
}

async fn show(args: ShowTicketArgs) -> anyhow::Result<()> {
    let (target, organisation_id) = customer_or_staff(&args.target, args.customer_organisation);
    let ticket = target
        .support()
        .await?
        .get_ticket(support::GetTicketRequest {
            ticket_id: args.ticket_id.to_string(),
            organisation_id,
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .ticket
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&ticket_json(&ticket));
    } else {
        print_ticket(&ticket);
    }
    Ok(())
}

async fn list(args: ListTicketsArgs) -> anyhow::Result<()> {
    let (target, organisation_id) = customer_or_staff(&args.target, args.customer_organisation);
    let mut client = target.support().await?;
    let mut tickets = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_tickets(support::ListTicketsRequest {
                organisation_id: organisation_id.clone(),
                page_size: 500,
                page_token,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        tickets.extend(response.tickets);
        if response.next_page_token.is_empty() {
            break;
        }
        page_token = response.next_page_token;
    }
    if args.target.json {
        client::print_json(&Value::Array(tickets.iter().map(ticket_json).collect()));
    } else if tickets.is_empty() {
        println!("no tickets");
    } else {
        print_tickets(&tickets);
    }
    Ok(())
}

async fn escalate(args: EscalateArgs) -> anyhow::Result<()> {
    // The service checks that a billed line comes with an agreement, so a missing --agreed-by
    // is left for its error message.
    let customer_agree_time = args
        .agreed_by
        .as_ref()
        .map(|_| timestamp_or_now(args.agreed_at));
    let ticket = args
        .target
        .staff_target(Role::SupportAgent)
        .support()
        .await?
        .escalate_ticket(support::EscalateTicketRequest {
            idempotency_key: idempotency_key(None),
            organisation_id: args.customer_organisation.to_string(),
            ticket_id: args.ticket_id.to_string(),
            to_line: args.line as i32,
            customer_agreed_by: args.agreed_by.unwrap_or_default(),
            customer_agree_time,
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .ticket
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&ticket_json(&ticket));
    } else {
        println!(
            "ticket {} is on line {} now; response due {}",
            ticket.ticket_id,
            line_text(ticket.line),
            ticket.response_due_text
        );
    }
    Ok(())
}

async fn set_status(args: StatusArgs) -> anyhow::Result<()> {
    let ticket = args
        .target
        .staff_target(Role::SupportAgent)
        .support()
        .await?
        .set_ticket_status(support::SetTicketStatusRequest {
            idempotency_key: idempotency_key(None),
            organisation_id: args.customer_organisation.to_string(),
            ticket_id: args.ticket_id.to_string(),
            status: args.status.to_proto() as i32,
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .ticket
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&ticket_json(&ticket));
    } else {
        println!(
            "ticket {} is {} now",
            ticket.ticket_id,
            status_name(ticket.status)
        );
    }
    Ok(())
}

pub async fn log(args: LogArgs) -> anyhow::Result<()> {
    let response = args
        .target
        .staff_target(Role::SupportAgent)
        .support()
        .await?
        .log_time(support::LogTimeRequest {
            idempotency_key: idempotency_key(None),
            organisation_id: args.customer_organisation.to_string(),
            ticket_id: args.ticket_id.to_string(),
            minutes: args.minutes,
            description: args.description,
            work_date: args
                .date
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let entry = response.time_entry.unwrap_or_default();
    let ticket = response.ticket.unwrap_or_default();
    if args.target.json {
        client::print_json(&json!({
            "time_entry": time_entry_json(&entry),
            "ticket": ticket_json(&ticket),
        }));
    } else {
        println!(
            "logged {} min on ticket {} for {}, line {}, {}",
            entry.minutes,
            ticket.ticket_id,
            entry.work_date,
            line_text(entry.line),
            billable_text(entry.billable)
        );
        println!("time entry {}", entry.time_entry_id);
    }
    Ok(())
}

pub async fn billed(args: BilledArgs) -> anyhow::Result<()> {
    let (target, organisation_id) = customer_or_staff(&args.target, args.customer_organisation);
    let response = target
        .support()
        .await?
        .get_billed_time(support::GetBilledTimeRequest {
            organisation_id,
            month: args.month,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&billed_json(&response));
    } else {
        print_billed(&response);
    }
    Ok(())
}

fn timestamp_or_now(instant: Option<DateTime<FixedOffset>>) -> prost_types::Timestamp {
    let instant = instant.map_or_else(Utc::now, |instant| instant.with_timezone(&Utc));
    timestamp_from(instant)
}

// ---- names ----

fn channel_name(channel: i32) -> &'static str {
    match support::Channel::try_from(channel) {
        Ok(support::Channel::Chat) => "chat",
        Ok(support::Channel::Phone) => "phone",
        Ok(support::Channel::Email) => "email",
        _ => "unknown",
    }
}

fn status_name(status: i32) -> &'static str {
    match support::TicketStatus::try_from(status) {
        Ok(support::TicketStatus::Open) => "open",
        Ok(support::TicketStatus::Pending) => "pending",
        Ok(support::TicketStatus::Resolved) => "resolved",
        Ok(support::TicketStatus::Closed) => "closed",
        _ => "unknown",
    }
}

/// Returns a support line's number, 1 to 3, or `None` for an unspecified or unknown line.
fn line_number(line: i32) -> Option<i32> {
    match support::SupportLine::try_from(line) {
        Ok(support::SupportLine::First) => Some(1),
        Ok(support::SupportLine::Second) => Some(2),
        Ok(support::SupportLine::Third) => Some(3),
        _ => None,
    }
}

fn line_text(line: i32) -> String {
    line_number(line).map_or_else(|| "unknown".to_owned(), |number| number.to_string())
}

fn billable_text(billable: bool) -> &'static str {
    if billable { "billable" } else { "not billable" }
}

/// Formats a wire timestamp as RFC 3339 in the time zone of the default support calendar
/// (Europe/Amsterdam), the offset that the service's own text fields carry.
pub(super) fn instant_text(timestamp: Option<&prost_types::Timestamp>) -> Option<String> {
    let timestamp = timestamp?;
    let instant =
        DateTime::from_timestamp(timestamp.seconds, u32::try_from(timestamp.nanos).ok()?)?;
    let zone = dk_calendar::CalendarSettings::default().time_zone;
    Some(
        instant
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
    )
}

// ---- JSON ----

fn time_entry_json(entry: &support::TimeEntry) -> Value {
    json!({
        "time_entry_id": entry.time_entry_id,
        "agent": entry.agent,
        "work_date": entry.work_date,
        "minutes": entry.minutes,
        "description": entry.description,
        "line": line_number(entry.line),
        "billable": entry.billable,
    })
}

/// Builds the `--json` output of a ticket: lines as numbers 1 to 3, timestamps as RFC 3339
/// with the calendar's local offset, and `null` for a missing timestamp.
pub fn ticket_json(ticket: &support::Ticket) -> Value {
    json!({
        "ticket_id": ticket.ticket_id,
        "organisation_id": ticket.organisation_id,
        "subject": ticket.subject,
        "channel": channel_name(ticket.channel),
        "line": line_number(ticket.line),
        "status": status_name(ticket.status),
        "open_time": instant_text(ticket.open_time.as_ref()),
        "response_due": ticket.response_due_text,
        "escalations": ticket.escalations.iter().map(|step| json!({
            "from_line": line_number(step.from_line),
            "to_line": line_number(step.to_line),
            "escalated_by": step.escalated_by,
            "escalate_time": instant_text(step.escalate_time.as_ref()),
            "customer_agreed_by": step.customer_agreed_by,
            "customer_agree_time": instant_text(step.customer_agree_time.as_ref()),
        })).collect::<Vec<_>>(),
        "time_entries": ticket.time_entries.iter().map(time_entry_json).collect::<Vec<_>>(),
    })
}

/// Builds the `--json` output of `dk support billed`, with every duration in minutes.
pub fn billed_json(response: &support::GetBilledTimeResponse) -> Value {
    json!({
        "month": response.month,
        "billing_unit_minutes": response.billing_unit_minutes,
        "tickets": response.tickets.iter().map(|ticket| json!({
            "ticket_id": ticket.ticket_id,
            "subject": ticket.subject,
            "raw_minutes": ticket.raw_minutes,
            "billable_minutes": ticket.billable_minutes,
            "billed_minutes": ticket.billed_minutes,
        })).collect::<Vec<_>>(),
        "billed_minutes": response.billed_minutes,
    })
}

// ---- text ----

fn logged_minutes(ticket: &support::Ticket) -> i32 {
    ticket.time_entries.iter().map(|entry| entry.minutes).sum()
}

fn print_tickets(tickets: &[support::Ticket]) {
    let rows: Vec<Vec<String>> = tickets
        .iter()
        .map(|ticket| {
            vec![
                ticket.ticket_id.clone(),
                instant_text(ticket.open_time.as_ref()).unwrap_or_default(),
                line_text(ticket.line),
                status_name(ticket.status).to_owned(),
                channel_name(ticket.channel).to_owned(),
                ticket.response_due_text.clone(),
                logged_minutes(ticket).to_string(),
                ticket.subject.clone(),
            ]
        })
        .collect();
    let header = [
        ("id", Align::Left),
        ("opened", Align::Left),
        ("line", Align::Right),
        ("status", Align::Left),
        ("channel", Align::Left),
        ("response due", Align::Left),
        ("minutes", Align::Right),
        ("subject", Align::Left),
    ];
    print_table(&header, &rows, "");
}

fn print_ticket(ticket: &support::Ticket) {
    println!("ticket {}", ticket.ticket_id);
    println!("  subject       {}", ticket.subject);
    println!("  organisation  {}", ticket.organisation_id);
    println!("  channel       {}", channel_name(ticket.channel));
    println!("  line          {}", line_text(ticket.line));
    println!("  status        {}", status_name(ticket.status));
    println!(
        "  opened        {}",
        instant_text(ticket.open_time.as_ref()).unwrap_or_default()
    );
    println!("  response due  {}", ticket.response_due_text);
    print_escalations(&ticket.escalations);
    print_time_entries(ticket);
}

fn print_escalations(escalations: &[support::Escalation]) {
    if escalations.is_empty() {
        println!("escalations: none");
    } else {
        println!("escalations:");
        for step in escalations {
            println!(
                "  {}  line {} to {} by {}",
                instant_text(step.escalate_time.as_ref()).unwrap_or_default(),
                line_text(step.from_line),
                line_text(step.to_line),
                step.escalated_by
            );
            if !step.customer_agreed_by.is_empty() {
                println!(
                    "    customer agreed: {} at {}",
                    step.customer_agreed_by,
                    instant_text(step.customer_agree_time.as_ref()).unwrap_or_default()
                );
            }
        }
    }
}

fn print_time_entries(ticket: &support::Ticket) {
    if ticket.time_entries.is_empty() {
        println!("time entries: none");
        return;
    }
    println!("time entries:");
    let rows: Vec<Vec<String>> = ticket
        .time_entries
        .iter()
        .map(|entry| {
            vec![
                entry.work_date.clone(),
                entry.minutes.to_string(),
                line_text(entry.line),
                if entry.billable { "yes" } else { "no" }.to_owned(),
                entry.agent.clone(),
                entry.description.clone(),
            ]
        })
        .collect();
    let header = [
        ("date", Align::Left),
        ("minutes", Align::Right),
        ("line", Align::Right),
        ("billable", Align::Left),
        ("agent", Align::Left),
        ("description", Align::Left),
    ];
    print_table(&header, &rows, "  ");
    println!("  total {} min", logged_minutes(ticket));
}

fn print_billed(response: &support::GetBilledTimeResponse) {
    println!(
        "billed time {}, rounded up per ticket to {} min",
        response.month, response.billing_unit_minutes
    );
    if response.tickets.is_empty() {
        println!("no time logged");
    } else {
        let rows: Vec<Vec<String>> = response
            .tickets
            .iter()
            .map(|ticket| {
                vec![
                    ticket.ticket_id.clone(),
                    ticket.raw_minutes.to_string(),
                    ticket.billable_minutes.to_string(),
                    ticket.billed_minutes.to_string(),
                    ticket.subject.clone(),
                ]
            })
            .collect();
        let header = [
            ("ticket", Align::Left),
            ("raw", Align::Right),
            ("billable", Align::Right),
            ("billed", Align::Right),
            ("subject", Align::Left),
        ];
        print_table(&header, &rows, "");
    }
    println!("total billed {} min", response.billed_minutes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_line_accepts_one_to_three() {
        assert_eq!(parse_line("1"), Ok(support::SupportLine::First));
        assert_eq!(parse_line("2"), Ok(support::SupportLine::Second));
        assert_eq!(parse_line(" 3 "), Ok(support::SupportLine::Third));
    }

    #[test]
    fn parse_line_rejects_others() {
        for text in ["0", "4", "second", "", "-1"] {
            let error = parse_line(text).unwrap_err();
            assert!(error.contains(&format!("{text:?}")), "{error}");
        }
    }

    #[test]
    fn parse_month_normalises() {
        assert_eq!(parse_month("2026-04").as_deref(), Ok("2026-04"));
        assert_eq!(parse_month(" 2026-12 ").as_deref(), Ok("2026-12"));
    }

    #[test]
    fn parse_month_rejects_others() {
        for text in ["2026-4", "2026-13", "2026-00", "2026-04-01", "april", ""] {
            let error = parse_month(text).unwrap_err();
            assert!(error.contains("YYYY-MM"), "{text:?}: {error}");
        }
    }

    #[test]
    fn channel_values_map_to_proto() {
        let cases = [
            ("chat", support::Channel::Chat),
            ("phone", support::Channel::Phone),
            ("email", support::Channel::Email),
        ];
        for (text, expected) in cases {
            let channel = ChannelArg::from_str(text, false).unwrap();
            assert_eq!(channel.to_proto(), expected, "{text}");
            assert_eq!(channel_name(expected as i32), text);
        }
        assert!(ChannelArg::from_str("fax", false).is_err());
    }

    #[test]
    fn status_values_map_to_proto() {
        let cases = [
            ("open", support::TicketStatus::Open),
            ("pending", support::TicketStatus::Pending),
            ("resolved", support::TicketStatus::Resolved),
            ("closed", support::TicketStatus::Closed),
        ];
        for (text, expected) in cases {
            let status = StatusArg::from_str(text, false).unwrap();
            assert_eq!(status.to_proto(), expected, "{text}");
            assert_eq!(status_name(expected as i32), text);
        }
        assert!(StatusArg::from_str("done", false).is_err());
    }

    #[test]
    fn instant_text_uses_local_offset() {
        // 2026-04-07 08:00 UTC is 10:00 in Amsterdam summer time.
        let timestamp = prost_types::Timestamp {
            seconds: 1_775_548_800,
            nanos: 0,
        };
        assert_eq!(
            instant_text(Some(&timestamp)).as_deref(),
            Some("2026-04-07T10:00:00+02:00")
        );
        assert_eq!(instant_text(None), None);
    }

    #[test]
    fn ticket_json_shape() {
        let ticket = support::Ticket {
            ticket_id: "t1".into(),
            organisation_id: "o1".into(),
            subject: "Import fails".into(),
            channel: support::Channel::Phone as i32,
            line: support::SupportLine::Second as i32,
            status: support::TicketStatus::Pending as i32,
            open_time: None,
            response_due: None,
            response_due_text: "2026-04-07T13:00:00+02:00".into(),
            escalations: vec![support::Escalation {
                from_line: support::SupportLine::First as i32,
                to_line: support::SupportLine::Second as i32,
                escalated_by: "agent".into(),
                escalate_time: None,
                customer_agreed_by: "Jan".into(),
                customer_agree_time: None,
            }],
            time_entries: vec![support::TimeEntry {
                time_entry_id: "e1".into(),
                agent: "agent".into(),
                work_date: "2026-04-07".into(),
                minutes: 20,
                description: String::new(),
                line: support::SupportLine::First as i32,
                billable: false,
            }],
        };
        let expected = json!({
            "ticket_id": "t1",
            "organisation_id": "o1",
            "subject": "Import fails",
            "channel": "phone",
            "line": 2,
            "status": "pending",
            "open_time": null,
            "response_due": "2026-04-07T13:00:00+02:00",
            "escalations": [{
                "from_line": 1,
                "to_line": 2,
                "escalated_by": "agent",
                "escalate_time": null,
                "customer_agreed_by": "Jan",
                "customer_agree_time": null,
            }],
            "time_entries": [{
                "time_entry_id": "e1",
                "agent": "agent",
                "work_date": "2026-04-07",
                "minutes": 20,
                "description": "",
                "line": 1,
                "billable": false,
            }],
        });
        assert_eq!(ticket_json(&ticket), expected);
    }

    #[test]
    fn billed_json_shape() {
        let response = support::GetBilledTimeResponse {
            month: "2026-04".into(),
            billing_unit_minutes: 15,
            tickets: vec![support::BilledTicket {
                ticket_id: "t1".into(),
                subject: "Import fails".into(),
                raw_minutes: 47,
                billable_minutes: 27,
                billed_minutes: 30,
            }],
            billed_minutes: 30,
        };
        let expected = json!({
            "month": "2026-04",
            "billing_unit_minutes": 15,
            "tickets": [{
                "ticket_id": "t1",
                "subject": "Import fails",
                "raw_minutes": 47,
                "billable_minutes": 27,
                "billed_minutes": 30,
            }],
            "billed_minutes": 30,
        });
        assert_eq!(billed_json(&response), expected);
    }
}
