//! Support's business-hours calendar over gRPC: opening status, next opening, deadlines across
//! daylight saving time and Easter, the Goede Vrijdag switch, and rejected input.

use chrono::{DateTime, Utc};
use dk_calendar::{CalendarSettings, GoodFriday};
use dk_proto::support::v1 as support;
use dk_testkit::{BusKind, DatabaseKind, Stack, SupportClient};
use tonic_types::StatusExt;

fn timestamp(rfc3339: &str) -> Option<prost_types::Timestamp> {
    let instant = DateTime::parse_from_rfc3339(rfc3339).expect("RFC 3339 test instant");
    Some(dk_proto::convert::timestamp_from(
        instant.with_timezone(&Utc),
    ))
}

async fn deadline(
    client: &mut SupportClient,
    start: &str,
    business_hours: i32,
) -> support::ComputeDeadlineResponse {
    client
        .compute_deadline(support::ComputeDeadlineRequest {
            start: timestamp(start),
            business_hours,
            business_minutes: 0,
        })
        .await
        .expect("compute deadline")
        .into_inner()
}

fn windows(response: &support::ComputeDeadlineResponse) -> Vec<(&str, &str)> {
    response
        .windows
        .iter()
        .map(|window| (window.start.as_str(), window.end.as_str()))
        .collect()
}

fn skipped(response: &support::ComputeDeadlineResponse) -> Vec<(&str, &str, &str)> {
    response
        .skipped
        .iter()
        .map(|day| {
            (
                day.date.as_str(),
                day.reason_nl.as_str(),
                day.reason_en.as_str(),
            )
        })
        .collect()
}

#[tokio::test]
async fn deadline_crosses_dst_start() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .support_client(stack.organisation)
        .await
        .expect("client");

    // Friday 16:00 in winter time; daylight saving time starts on Sunday 29 March 2026.
    let response = deadline(&mut client, "2026-03-27T16:00:00+01:00", 8).await;

    assert_eq!(response.due_text, "2026-03-30T16:00:00+02:00");
    assert_eq!(response.due, timestamp("2026-03-30T16:00:00+02:00"));
    assert_eq!(
        windows(&response),
        [
            ("2026-03-27T16:00:00+01:00", "2026-03-27T17:00:00+01:00"),
            ("2026-03-30T09:00:00+02:00", "2026-03-30T16:00:00+02:00"),
        ]
    );
    assert_eq!(
        skipped(&response),
        [
            ("2026-03-28", "zaterdag", "Saturday"),
            ("2026-03-29", "zondag", "Sunday"),
        ]
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn deadline_good_friday_open() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .support_client(stack.organisation)
        .await
        .expect("client");

    let response = deadline(&mut client, "2026-04-02T16:30:00+02:00", 4).await;

    assert_eq!(response.due_text, "2026-04-03T12:30:00+02:00");
    assert_eq!(
        windows(&response),
        [
            ("2026-04-02T16:30:00+02:00", "2026-04-02T17:00:00+02:00"),
            ("2026-04-03T09:00:00+02:00", "2026-04-03T12:30:00+02:00"),
        ]
    );
    assert!(response.skipped.is_empty(), "{:?}", response.skipped);

    // Goede Vrijdag is an ordinary working day by default, so support is open that morning.
    let status = client
        .get_business_hours_status(support::GetBusinessHoursStatusRequest {
            at: timestamp("2026-04-03T10:00:00+02:00"),
        })
        .await
        .expect("business hours status")
        .into_inner();
    assert!(status.open);
    assert_eq!(status.next_opening_text, "2026-04-03T10:00:00+02:00");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn deadline_good_friday_closed() {
    let calendar = CalendarSettings {
        good_friday: GoodFriday::Closed,
        ..CalendarSettings::default()
    };
    let stack = Stack::start_with_calendar(BusKind::InProcess, DatabaseKind::Postgres, calendar)
        .await
        .expect("stack");
    let mut client = stack
        .support_client(stack.organisation)
        .await
        .expect("client");

    let response = deadline(&mut client, "2026-04-02T16:30:00+02:00", 4).await;

    assert_eq!(response.due_text, "2026-04-07T12:30:00+02:00");
    assert_eq!(
        windows(&response),
        [
            ("2026-04-02T16:30:00+02:00", "2026-04-02T17:00:00+02:00"),
            ("2026-04-07T09:00:00+02:00", "2026-04-07T12:30:00+02:00"),
        ]
    );
    assert_eq!(
        skipped(&response),
        [
            ("2026-04-03", "Goede Vrijdag", "Good Friday"),
            ("2026-04-04", "zaterdag", "Saturday"),
            ("2026-04-05", "Eerste Paasdag", "Easter Sunday"),
            ("2026-04-06", "Tweede Paasdag", "Easter Monday"),
        ]
    );

    let status = client
        .get_business_hours_status(support::GetBusinessHoursStatusRequest {
            at: timestamp("2026-04-03T10:00:00+02:00"),
        })
        .await
        .expect("business hours status")
        .into_inner();
    assert!(!status.open);
    assert_eq!(status.next_opening_text, "2026-04-07T09:00:00+02:00");
    assert_eq!(status.next_opening, timestamp("2026-04-07T09:00:00+02:00"));
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn status_outside_opening_hours() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .support_client(stack.organisation)
        .await
        .expect("client");

    // Saturday evening in winter time; the next opening is Monday in summer time.
    let status = client
        .get_business_hours_status(support::GetBusinessHoursStatusRequest {
            at: timestamp("2026-03-28T20:00:00+01:00"),
        })
        .await
        .expect("business hours status")
        .into_inner();
    assert!(!status.open);
    assert_eq!(status.next_opening_text, "2026-03-30T09:00:00+02:00");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn support_rejects_bad_input() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .support_client(stack.organisation)
        .await
        .expect("client");
    let start = timestamp("2026-04-02T16:30:00+02:00");
    let cases = [
        (None, 4, 0, "start", "missing start"),
        (start, -1, 0, "business_hours", "-1"),
        (start, 10_001, 0, "business_hours", "10001"),
        (start, 0, -5, "business_minutes", "-5"),
        (start, 10_000, 1, "business_minutes", "600001"),
        // The calendar knows holidays for the years 1900 to 2200 only.
        (
            timestamp("1850-06-03T10:00:00+00:00"),
            4,
            0,
            "start",
            "1850",
        ),
    ];
    for (start, business_hours, business_minutes, field, expected) in cases {
        let request = support::ComputeDeadlineRequest {
            start,
            business_hours,
            business_minutes,
        };
        let status = client
            .compute_deadline(request)
            .await
            .expect_err("invalid request rejected");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{request:?}");
        let details = status.get_error_details();
        let violation = &details.bad_request().expect("bad request").field_violations[0];
        assert_eq!(violation.field, field, "{request:?}");
        assert!(
            violation.description.contains(expected),
            "{}",
            violation.description
        );
    }

    let status = client
        .get_business_hours_status(support::GetBusinessHoursStatusRequest { at: None })
        .await
        .expect_err("missing instant rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = status.get_error_details();
    let violation = &details.bad_request().expect("bad request").field_violations[0];
    assert_eq!(violation.field, "at");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn support_requires_token() {
    let stack = Stack::start().await.expect("stack");
    let channel = dk_testkit::channel(stack.support).await.expect("channel");
    let mut client =
        dk_proto::support::v1::support_service_client::SupportServiceClient::with_interceptor(
            channel,
            dk_testkit::Bearer(None),
        );
    let status = client
        .get_business_hours_status(support::GetBusinessHoursStatusRequest {
            at: timestamp("2026-04-03T10:00:00+02:00"),
        })
        .await
        .expect_err("call without token rejected");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    stack.stop().await.expect("stop");
}
