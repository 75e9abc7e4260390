//! `dk support`: calls the support service to check whether support is open, to compute
//! deadlines in business hours, to work with tickets and their time (see `tickets`), and to
//! manage prepaid support credit (see `credit`).

mod credit;
mod tickets;

use chrono::{DateTime, FixedOffset, Utc};
use clap::{Args, Subcommand};
use dk_proto::convert::timestamp_from;
use dk_proto::support::v1 as support;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{self, status_error};

#[derive(Subcommand)]
pub enum SupportCommand {
    /// Show whether support is open at an instant, and its next opening.
    Open(OpenArgs),
    /// Compute the instant a number of business hours after a start has passed.
    Deadline(DeadlineArgs),
    /// Open, show and list support tickets; staff: escalate a ticket or set its status.
    #[command(subcommand)]
    Ticket(tickets::TicketCommand),
    /// Staff, role support_agent: log minutes of work on a ticket.
    ///
    /// Time logged on the first line is never billed. Without --token, calls with a development
    /// staff token of the vendor organisation.
    Log(tickets::LogArgs),
    /// Show the billed time of one month per ticket: raw, billable and billed minutes.
    ///
    /// Billed minutes are the second- and third-line minutes rounded up to the billing unit.
    Billed(tickets::BilledArgs),
    /// Prepaid support credit: choose the billing mode, buy hour cards and packages, and show
    /// the balance. Staff renew packages.
    #[command(subcommand)]
    Credit(credit::CreditCommand),
}

#[derive(Args)]
pub struct OpenArgs {
    /// Instant to check, RFC 3339 with an offset, for example 2026-04-03T10:00:00+02:00; now
    /// when not given.
    #[arg(long, value_parser = parse_instant)]
    at: Option<DateTime<FixedOffset>>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct DeadlineArgs {
    /// Start, RFC 3339 with an offset, for example 2026-04-02T16:30:00+02:00; now when not
    /// given.
    #[arg(long, value_parser = parse_instant)]
    start: Option<DateTime<FixedOffset>>,
    /// Business hours to count, from 0 up to 10000.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=10_000))]
    hours: i32,
    /// Business minutes to count in addition to --hours.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..))]
    minutes: i32,
    #[command(flatten)]
    target: TargetArgs,
}

fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text).map_err(|error| {
        format!(
            "invalid instant {text:?}: {error}; expected RFC 3339 such as 2026-04-03T10:00:00+02:00"
        )
    })
}

fn timestamp(instant: Option<DateTime<FixedOffset>>) -> prost_types::Timestamp {
    let instant = instant.map_or_else(Utc::now, |instant| instant.with_timezone(&Utc));
    timestamp_from(instant)
}

pub async fn run(command: SupportCommand) -> anyhow::Result<()> {
    match command {
        SupportCommand::Open(args) => open(args).await,
        SupportCommand::Deadline(args) => deadline(args).await,
        SupportCommand::Ticket(command) => tickets::run_ticket(command).await,
        SupportCommand::Log(args) => tickets::log(args).await,
        SupportCommand::Billed(args) => tickets::billed(args).await,
        SupportCommand::Credit(command) => credit::run(command).await,
    }
}

async fn open(args: OpenArgs) -> anyhow::Result<()> {
    let request = support::GetBusinessHoursStatusRequest {
        at: Some(timestamp(args.at)),
    };
    let status = args
        .target
        .target()
        .support()
        .await?
        .get_business_hours_status(request)
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&status_json(&status));
    } else if status.open {
        println!("open; next opening {}", status.next_opening_text);
    } else {
        println!("closed; next opening {}", status.next_opening_text);
    }
    Ok(())
}

async fn deadline(args: DeadlineArgs) -> anyhow::Result<()> {
    let request = support::ComputeDeadlineRequest {
        start: Some(timestamp(args.start)),
        business_hours: args.hours,
        business_minutes: args.minutes,
    };
    let deadline = args
        .target
        .target()
        .support()
        .await?
        .compute_deadline(request)
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&deadline_json(&deadline));
    } else {
        print_deadline(&deadline);
    }
    Ok(())
}

/// Builds the `--json` output of `dk support open`.
pub fn status_json(status: &support::GetBusinessHoursStatusResponse) -> Value {
    json!({
        "open": status.open,
        "next_opening": status.next_opening_text,
    })
}

/// Builds the `--json` output of `dk support deadline`, with every instant as RFC 3339 text in
/// the calendar's local offset.
pub fn deadline_json(deadline: &support::ComputeDeadlineResponse) -> Value {
    json!({
        "due": deadline.due_text,
        "windows": deadline.windows.iter().map(|window| json!({
            "start": window.start,
            "end": window.end,
        })).collect::<Vec<_>>(),
        "skipped": deadline.skipped.iter().map(|day| json!({
            "date": day.date,
            "reason_nl": day.reason_nl,
            "reason_en": day.reason_en,
        })).collect::<Vec<_>>(),
    })
}

fn print_deadline(deadline: &support::ComputeDeadlineResponse) {
    println!("due {}", deadline.due_text);
    if !deadline.windows.is_empty() {
        println!("business hours counted:");
        for window in &deadline.windows {
            println!("  {} to {}", window.start, window.end);
        }
    }
    if !deadline.skipped.is_empty() {
        println!("closed days skipped:");
        for day in &deadline.skipped {
            println!("  {}  {} ({})", day.date, day.reason_nl, day.reason_en);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_json_shape() {
        let deadline = support::ComputeDeadlineResponse {
            due: None,
            due_text: "2026-04-03T12:30:00+02:00".into(),
            windows: vec![support::BusinessWindow {
                start: "2026-04-02T16:30:00+02:00".into(),
                end: "2026-04-02T17:00:00+02:00".into(),
            }],
            skipped: vec![support::SkippedDay {
                date: "2026-04-04".into(),
                reason_nl: "zaterdag".into(),
                reason_en: "Saturday".into(),
            }],
        };
        let expected = json!({
            "due": "2026-04-03T12:30:00+02:00",
            "windows": [{"start": "2026-04-02T16:30:00+02:00", "end": "2026-04-02T17:00:00+02:00"}],
            "skipped": [{"date": "2026-04-04", "reason_nl": "zaterdag", "reason_en": "Saturday"}],
        });
        assert_eq!(deadline_json(&deadline), expected);
    }

    #[test]
    fn parse_instant_needs_offset() {
        assert!(parse_instant("2026-04-03T10:00:00+02:00").is_ok());
        let error = parse_instant("2026-04-03 10:00").unwrap_err();
        assert!(error.contains("2026-04-03 10:00"), "{error}");
    }
}
