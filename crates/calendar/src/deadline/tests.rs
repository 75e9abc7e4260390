use super::*;
use crate::holidays::HolidayKind;
use crate::settings::{CalendarSettings, GoodFriday, LiberationDay};
use chrono::{Datelike, Weekday};
use proptest::prelude::*;

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn calendar_with(good_friday: GoodFriday) -> Calendar {
    Calendar::new(CalendarSettings {
        good_friday,
        ..CalendarSettings::default()
    })
    .unwrap()
}

/// Describes a skipped day as "date:reason" so a whole list compares in one assert.
fn describe(skipped: &[SkippedDay]) -> Vec<String> {
    skipped
        .iter()
        .map(|day| {
            let reason = match day.reason {
                ClosedReason::Holiday { holiday } => holiday.name_nl.to_string(),
                ClosedReason::CompanyDay => "company day".to_string(),
                ClosedReason::NotWorkingDay { weekday } => weekday.to_string(),
            };
            format!("{}:{reason}", day.date)
        })
        .collect()
}

#[test]
fn deadline_due_table() {
    // (case, Good Friday switch, start, business hours, expected due)
    #[rustfmt::skip]
    let cases = [
        ("DST starts on Sunday", GoodFriday::Open, "2026-03-27T16:00:00+01:00", 8, "2026-03-30T16:00:00+02:00"),
        ("Good Friday closed", GoodFriday::Closed, "2026-04-02T16:30:00+02:00", 4, "2026-04-07T12:30:00+02:00"),
        ("Good Friday open", GoodFriday::Open, "2026-04-02T16:30:00+02:00", 4, "2026-04-03T12:30:00+02:00"),
        ("DST ends on Sunday", GoodFriday::Open, "2026-10-23T16:00:00+02:00", 8, "2026-10-26T16:00:00+01:00"),
        ("start exactly at closing", GoodFriday::Open, "2026-04-02T17:00:00+02:00", 1, "2026-04-03T10:00:00+02:00"),
        ("start before opening", GoodFriday::Open, "2026-04-02T07:00:00+02:00", 2, "2026-04-02T11:00:00+02:00"),
        ("start on Koningsdag", GoodFriday::Open, "2026-04-27T10:00:00+02:00", 1, "2026-04-28T10:00:00+02:00"),
        ("start on Saturday", GoodFriday::Open, "2026-04-11T12:00:00+02:00", 3, "2026-04-13T12:00:00+02:00"),
        ("Koningsdag 2025 on Saturday", GoodFriday::Open, "2025-04-25T16:00:00+02:00", 2, "2025-04-28T10:00:00+02:00"),
        ("Koningsdag 2031 on Saturday", GoodFriday::Open, "2031-04-25T16:00:00+02:00", 2, "2031-04-28T10:00:00+02:00"),
        ("Bevrijdingsdag 2025 closed", GoodFriday::Open, "2025-05-02T16:00:00+02:00", 2, "2025-05-06T10:00:00+02:00"),
        ("Bevrijdingsdag 2026 open", GoodFriday::Open, "2026-05-04T16:00:00+02:00", 2, "2026-05-05T10:00:00+02:00"),
        ("Bevrijdingsdag 2030 on Sunday", GoodFriday::Open, "2030-05-03T16:00:00+02:00", 2, "2030-05-06T10:00:00+02:00"),
        ("Christmas", GoodFriday::Open, "2026-12-24T16:00:00+01:00", 2, "2026-12-28T10:00:00+01:00"),
        ("whole day ends at closing", GoodFriday::Open, "2026-04-02T09:00:00+02:00", 8, "2026-04-02T17:00:00+02:00"),
        ("start given in UTC", GoodFriday::Open, "2026-03-27T15:00:00Z", 8, "2026-03-30T16:00:00+02:00"),
        ("zero hours when open", GoodFriday::Open, "2026-04-02T10:15:00+02:00", 0, "2026-04-02T10:15:00+02:00"),
        ("zero hours when closed", GoodFriday::Closed, "2026-04-02T17:00:00+02:00", 0, "2026-04-07T09:00:00+02:00"),
        ("two weeks", GoodFriday::Open, "2026-06-01T09:00:00+02:00", 80, "2026-06-12T17:00:00+02:00"),
    ];
    for (case, good_friday, start, hours, expected) in cases {
        let deadline = calendar_with(good_friday)
            .deadline(&at(start), hours)
            .unwrap();
        assert_eq!(deadline.due.to_rfc3339(), expected, "{case}");
    }
}

#[test]
fn deadline_across_dst_start_details() {
    let deadline = calendar_with(GoodFriday::Open)
        .deadline(&at("2026-03-27T16:00:00+01:00"), 8)
        .unwrap();
    let windows: Vec<(String, String)> = deadline
        .windows
        .iter()
        .map(|window| (window.start.to_rfc3339(), window.end.to_rfc3339()))
        .collect();
    assert_eq!(
        windows,
        vec![
            (
                "2026-03-27T16:00:00+01:00".to_string(),
                "2026-03-27T17:00:00+01:00".to_string()
            ),
            (
                "2026-03-30T09:00:00+02:00".to_string(),
                "2026-03-30T16:00:00+02:00".to_string()
            ),
        ]
    );
    assert_eq!(
        describe(&deadline.skipped),
        vec!["2026-03-28:Sat", "2026-03-29:Sun"]
    );
}

#[test]
fn deadline_good_friday_closed_skips_easter() {
    let deadline = calendar_with(GoodFriday::Closed)
        .deadline(&at("2026-04-02T16:30:00+02:00"), 4)
        .unwrap();
    assert_eq!(
        describe(&deadline.skipped),
        vec![
            "2026-04-03:Goede Vrijdag",
            "2026-04-04:Sat",
            "2026-04-05:Eerste Paasdag",
            "2026-04-06:Tweede Paasdag",
        ]
    );
    assert_eq!(deadline.windows.len(), 2);
    assert_eq!(deadline.windows[0].duration(), TimeDelta::minutes(30));
    assert_eq!(deadline.windows[1].duration(), TimeDelta::minutes(210));
}

#[test]
fn deadline_koningsdag_saturday_loses_no_weekday() {
    let deadline = calendar_with(GoodFriday::Open)
        .deadline(&at("2025-04-25T16:00:00+02:00"), 2)
        .unwrap();
    assert_eq!(
        describe(&deadline.skipped),
        vec!["2025-04-26:Koningsdag", "2025-04-27:Sun"]
    );
}

#[test]
fn deadline_skips_company_days() {
    let calendar = Calendar::new(CalendarSettings {
        extra_closed_days: vec![day("2026-12-28"), day("2026-12-29")],
        ..CalendarSettings::default()
    })
    .unwrap();
    let deadline = calendar
        .deadline(&at("2026-12-24T16:00:00+01:00"), 2)
        .unwrap();
    assert_eq!(deadline.due.to_rfc3339(), "2026-12-30T10:00:00+01:00");
    assert_eq!(
        describe(&deadline.skipped),
        vec![
            "2026-12-25:Eerste Kerstdag",
            "2026-12-26:Tweede Kerstdag",
            "2026-12-27:Sun",
            "2026-12-28:company day",
            "2026-12-29:company day",
        ]
    );
}

#[test]
fn deadline_in_minutes_counts_partial_hours() {
    let deadline = calendar_with(GoodFriday::Open)
        .deadline_in_minutes(&at("2026-04-02T16:00:00+02:00"), 90)
        .unwrap();
    assert_eq!(deadline.due.to_rfc3339(), "2026-04-03T09:30:00+02:00");
}

#[test]
fn deadline_zero_hours_has_no_windows() {
    let deadline = calendar_with(GoodFriday::Open)
        .deadline(&at("2026-04-04T12:00:00+02:00"), 0)
        .unwrap();
    assert_eq!(deadline.due.to_rfc3339(), "2026-04-07T09:00:00+02:00");
    assert!(deadline.windows.is_empty());
    assert_eq!(
        describe(&deadline.skipped),
        vec![
            "2026-04-04:Sat",
            "2026-04-05:Eerste Paasdag",
            "2026-04-06:Tweede Paasdag"
        ]
    );
}

#[test]
fn deadline_rejects_too_many_hours() {
    let calendar = calendar_with(GoodFriday::Open);
    let start = at("2026-01-05T09:00:00+01:00");
    assert_eq!(
        calendar
            .deadline(&start, MAX_BUSINESS_HOURS + 1)
            .unwrap_err(),
        CalendarError::DurationTooLong {
            requested_minutes: u64::from(MAX_BUSINESS_HOURS + 1) * 60,
            max_minutes: u64::from(MAX_BUSINESS_HOURS) * 60,
            max_hours: u64::from(MAX_BUSINESS_HOURS),
        }
    );
    let longest = calendar.deadline(&start, MAX_BUSINESS_HOURS).unwrap();
    let counted: TimeDelta = longest.windows.iter().map(Window::duration).sum();
    assert_eq!(counted, TimeDelta::hours(i64::from(MAX_BUSINESS_HOURS)));
}

#[test]
fn deadline_stops_at_last_supported_year() {
    let result = calendar_with(GoodFriday::Open).deadline(&at("2200-12-30T09:00:00+01:00"), 40);
    assert!(matches!(result, Err(CalendarError::OutOfRange { .. })));
}

fn settings_strategy() -> impl Strategy<Value = CalendarSettings> {
    let good_friday = prop_oneof![Just(GoodFriday::Open), Just(GoodFriday::Closed)];
    let liberation_day = prop_oneof![
        Just(LiberationDay::Yearly),
        Just(LiberationDay::LustrumOnly),
        Just(LiberationDay::Never),
    ];
    (good_friday, liberation_day).prop_map(|(good_friday, liberation_day)| CalendarSettings {
        good_friday,
        liberation_day,
        ..CalendarSettings::default()
    })
}

/// Whole-minute instants from 2024 up to 2036.
fn start_strategy() -> impl Strategy<Value = DateTime<Utc>> {
    let first = at("2024-01-01T00:00:00Z").timestamp() / 60;
    let last = at("2036-01-01T00:00:00Z").timestamp() / 60;
    (first..last).prop_map(|minute| DateTime::from_timestamp(minute * 60, 0).unwrap())
}

proptest! {
    #[test]
    fn deadline_properties(
        settings in settings_strategy(),
        start in start_strategy(),
        hours in 0u32..=300,
    ) {
        let calendar = Calendar::new(settings).unwrap();
        let deadline = calendar.deadline(&start, hours).unwrap();

        prop_assert!(deadline.due >= start, "due {} before start {start}", deadline.due);

        let counted: TimeDelta = deadline.windows.iter().map(Window::duration).sum();
        prop_assert_eq!(counted, TimeDelta::hours(i64::from(hours)));

        for window in &deadline.windows {
            let local_date = window.start.with_timezone(&calendar.time_zone()).date_naive();
            let opening = calendar.opening_window(local_date);
            prop_assert!(opening.is_some(), "window {window:?} on a closed day");
            let opening = opening.unwrap();
            prop_assert!(window.start >= opening.start, "window {window:?} before opening");
            prop_assert!(window.end <= opening.end, "window {window:?} after closing");
            prop_assert!(window.start < window.end, "empty window {window:?}");
            prop_assert!(window.start >= start, "window {window:?} before start");
        }
        for pair in deadline.windows.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "overlapping windows {pair:?}");
        }

        if hours > 0 {
            let last_minute = deadline.due - TimeDelta::minutes(1);
            prop_assert!(calendar.is_open(&last_minute), "closed at {last_minute}");
            prop_assert_eq!(deadline.windows.last().unwrap().end, deadline.due);
        } else {
            prop_assert_eq!(deadline.due, calendar.next_opening(&start).unwrap());
        }

        for skipped in &deadline.skipped {
            prop_assert!(calendar.opening_window(skipped.date).is_none());
            let weekend = matches!(skipped.date.weekday(), Weekday::Sat | Weekday::Sun);
            if let ClosedReason::NotWorkingDay { .. } = skipped.reason {
                prop_assert!(weekend, "{skipped:?} is not a weekend");
            }
        }
    }

    #[test]
    fn next_opening_properties(
        settings in settings_strategy(),
        start in start_strategy(),
    ) {
        let calendar = Calendar::new(settings).unwrap();
        let next = calendar.next_opening(&start).unwrap();
        prop_assert!(next >= start);
        prop_assert!(calendar.is_open(&next), "closed at {next}");
        prop_assert_eq!(calendar.is_open(&start), next == start);
    }
}

#[test]
fn liberation_day_holiday_kind_in_skipped() {
    let deadline = calendar_with(GoodFriday::Open)
        .deadline(&at("2030-05-03T16:00:00+02:00"), 2)
        .unwrap();
    let reasons: Vec<ClosedReason> = deadline.skipped.iter().map(|day| day.reason).collect();
    assert!(matches!(
        reasons.last(),
        Some(ClosedReason::Holiday { holiday }) if holiday.kind == HolidayKind::LiberationDay
    ));
}
