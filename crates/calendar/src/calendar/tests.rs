use super::*;
use crate::holidays::HolidayKind;
use crate::settings::{GoodFriday, LiberationDay};
use chrono::NaiveTime;

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn default_calendar() -> Calendar {
    Calendar::new(CalendarSettings::default()).unwrap()
}

fn good_friday_closed() -> Calendar {
    Calendar::new(CalendarSettings {
        good_friday: GoodFriday::Closed,
        ..CalendarSettings::default()
    })
    .unwrap()
}

fn every_day_open(opening: (u32, u32), closing: (u32, u32)) -> Calendar {
    Calendar::new(CalendarSettings {
        opening: NaiveTime::from_hms_opt(opening.0, opening.1, 0).unwrap(),
        closing: NaiveTime::from_hms_opt(closing.0, closing.1, 0).unwrap(),
        working_days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        ..CalendarSettings::default()
    })
    .unwrap()
}

#[test]
fn new_rejects_invalid_settings() {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let same_hours = CalendarSettings {
        opening: nine,
        closing: nine,
        ..CalendarSettings::default()
    };
    assert_eq!(
        Calendar::new(same_hours).unwrap_err(),
        CalendarError::InvalidOpeningHours {
            opening: nine,
            closing: nine
        }
    );

    let no_days = CalendarSettings {
        working_days: Vec::new(),
        ..CalendarSettings::default()
    };
    assert_eq!(
        Calendar::new(no_days).unwrap_err(),
        CalendarError::NoWorkingDays
    );
}

#[test]
fn is_open_default_settings() {
    let calendar = default_calendar();
    #[rustfmt::skip]
    let cases = [
        ("2026-04-03T10:00:00+02:00", true, "Good Friday open by default"),
        ("2026-04-03T08:00:00Z", true, "same instant in UTC"),
        ("2026-04-02T09:00:00+02:00", true, "opening minute"),
        ("2026-04-02T08:59:59+02:00", false, "just before opening"),
        ("2026-04-02T16:59:59+02:00", true, "just before closing"),
        ("2026-04-02T17:00:00+02:00", false, "closing minute"),
        ("2026-04-02T15:30:00Z", false, "17:30 local given in UTC"),
        ("2026-04-04T10:00:00+02:00", false, "Saturday"),
        ("2026-04-06T10:00:00+02:00", false, "Tweede Paasdag"),
        ("2026-04-27T10:00:00+02:00", false, "Koningsdag on a Monday"),
        ("2025-04-25T10:00:00+02:00", true, "Friday before Koningsdag on Saturday"),
        ("2025-04-28T10:00:00+02:00", true, "Monday after Koningsdag on Saturday"),
        ("2025-05-05T10:00:00+02:00", false, "Bevrijdingsdag in lustrum year"),
        ("2026-05-05T10:00:00+02:00", true, "Bevrijdingsdag outside lustrum"),
        ("2026-05-14T10:00:00+02:00", false, "Hemelvaartsdag"),
        ("2026-05-25T10:00:00+02:00", false, "Tweede Pinksterdag"),
        ("2026-12-25T10:00:00+01:00", false, "Eerste Kerstdag"),
        ("2027-01-01T10:00:00+01:00", false, "Nieuwjaarsdag"),
        ("2026-01-02T10:00:00+01:00", true, "ordinary Friday in winter"),
        ("2026-03-27T08:00:00Z", true, "opening on Friday before DST starts"),
        ("2026-03-30T06:59:00Z", false, "08:59 on Monday after DST starts"),
        ("2026-03-30T07:00:00Z", true, "opening on Monday after DST starts"),
        ("2026-03-30T08:00:00+01:00", true, "same instant in winter offset"),
        ("2026-10-23T06:59:00Z", false, "08:59 on Friday before DST ends"),
        ("2026-10-23T07:00:00Z", true, "opening on Friday before DST ends"),
        ("2026-10-26T07:59:00Z", false, "08:59 on Monday after DST ends"),
        ("2026-10-26T08:00:00Z", true, "opening on Monday after DST ends"),
        ("2026-10-26T15:59:00Z", true, "16:59 on Monday after DST ends"),
        ("2026-10-26T16:00:00Z", false, "closing on Monday after DST ends"),
    ];
    for (instant, expected, case) in cases {
        assert_eq!(
            calendar.is_open(&at(instant)),
            expected,
            "{case}: {instant}"
        );
    }
}

#[test]
fn is_open_good_friday_closed() {
    let calendar = good_friday_closed();
    assert!(!calendar.is_open(&at("2026-04-03T10:00:00+02:00")));
    assert!(calendar.is_open(&at("2026-04-02T10:00:00+02:00")));
}

#[test]
fn next_opening_cases() {
    #[rustfmt::skip]
    let cases = [
        // Good Friday closed, Saturday, Sunday and Tweede Paasdag follow.
        (good_friday_closed(), "2026-04-03T10:00:00+02:00", "2026-04-07T09:00:00+02:00"),
        (default_calendar(), "2026-04-03T10:00:00+02:00", "2026-04-03T10:00:00+02:00"),
        (default_calendar(), "2026-04-02T07:15:00+02:00", "2026-04-02T09:00:00+02:00"),
        (default_calendar(), "2026-04-02T17:00:00+02:00", "2026-04-03T09:00:00+02:00"),
        (default_calendar(), "2026-03-27T17:00:00+01:00", "2026-03-30T09:00:00+02:00"),
        (default_calendar(), "2026-10-24T12:00:00+02:00", "2026-10-26T09:00:00+01:00"),
        (default_calendar(), "2026-12-24T17:30:00+01:00", "2026-12-28T09:00:00+01:00"),
        (default_calendar(), "2026-04-02T08:00:00Z", "2026-04-02T10:00:00+02:00"),
    ];
    for (calendar, after, expected) in cases {
        let next = calendar.next_opening(&at(after)).unwrap();
        assert_eq!(next.to_rfc3339(), expected, "next opening after {after}");
    }
}

#[test]
fn opening_window_on_dst_days() {
    let calendar = every_day_open((9, 0), (17, 0));
    #[rustfmt::skip]
    let cases = [
        ("2026-03-28", "2026-03-28T09:00:00+01:00", "2026-03-28T17:00:00+01:00"),
        ("2026-03-29", "2026-03-29T09:00:00+02:00", "2026-03-29T17:00:00+02:00"),
        ("2026-10-25", "2026-10-25T09:00:00+01:00", "2026-10-25T17:00:00+01:00"),
        ("2026-10-24", "2026-10-24T09:00:00+02:00", "2026-10-24T17:00:00+02:00"),
    ];
    for (date, start, end) in cases {
        let window = calendar.opening_window(day(date)).unwrap();
        assert_eq!(window.start.to_rfc3339(), start, "opening on {date}");
        assert_eq!(window.end.to_rfc3339(), end, "closing on {date}");
        assert_eq!(window.duration(), TimeDelta::hours(8), "length on {date}");
    }
}

#[test]
fn is_open_on_dst_change_sundays() {
    let calendar = every_day_open((9, 0), (17, 0));
    let cases = [
        ("2026-03-29T06:59:00Z", false),
        ("2026-03-29T07:00:00Z", true),
        ("2026-03-29T14:59:00Z", true),
        ("2026-03-29T15:00:00Z", false),
        ("2026-10-25T07:59:00Z", false),
        ("2026-10-25T08:00:00Z", true),
        ("2026-10-25T15:59:00Z", true),
        ("2026-10-25T16:00:00Z", false),
    ];
    for (instant, expected) in cases {
        assert_eq!(calendar.is_open(&at(instant)), expected, "{instant}");
    }
}

#[test]
fn opening_window_in_dst_gap_and_fold() {
    let calendar = every_day_open((2, 30), (10, 0));
    // 02:30 does not exist on 29 March 2026, so the service opens when the clock reads 03:00.
    let spring = calendar.opening_window(day("2026-03-29")).unwrap();
    assert_eq!(spring.start.to_rfc3339(), "2026-03-29T03:00:00+02:00");
    assert_eq!(spring.duration(), TimeDelta::hours(7));
    // 02:30 occurs twice on 25 October 2026, and the earlier one counts.
    let autumn = calendar.opening_window(day("2026-10-25")).unwrap();
    assert_eq!(autumn.start.to_rfc3339(), "2026-10-25T02:30:00+02:00");
    assert_eq!(autumn.duration(), TimeDelta::minutes(8 * 60 + 30));
}

#[test]
fn closed_reason_precedence() {
    let calendar = Calendar::new(CalendarSettings {
        extra_closed_days: vec![day("2026-12-24"), day("2026-12-25")],
        liberation_day: LiberationDay::LustrumOnly,
        ..CalendarSettings::default()
    })
    .unwrap();

    let holiday_kind = |date: &str| match calendar.closed_reason(day(date)) {
        Some(ClosedReason::Holiday { holiday }) => Some(holiday.kind),
        _ => None,
    };
    assert_eq!(holiday_kind("2025-04-26"), Some(HolidayKind::KingsDay));
    assert_eq!(holiday_kind("2030-05-05"), Some(HolidayKind::LiberationDay));
    assert_eq!(holiday_kind("2026-12-25"), Some(HolidayKind::ChristmasDay));
    assert_eq!(
        calendar.closed_reason(day("2026-12-24")),
        Some(ClosedReason::CompanyDay)
    );
    assert_eq!(
        calendar.closed_reason(day("2026-12-27")),
        Some(ClosedReason::NotWorkingDay {
            weekday: Weekday::Sun
        })
    );
    assert_eq!(calendar.closed_reason(day("2026-12-23")), None);
}

#[test]
fn next_opening_outside_supported_years() {
    let calendar = default_calendar();
    let late = calendar.next_opening(&at("2200-12-31T17:00:00+01:00"));
    assert_eq!(
        late.unwrap_err(),
        CalendarError::OutOfRange {
            date: day("2201-01-01"),
            min_year: MIN_YEAR,
            max_year: MAX_YEAR,
        }
    );
    let early = calendar.next_opening(&at("1899-06-01T10:00:00+00:00"));
    assert!(matches!(early, Err(CalendarError::OutOfRange { .. })));
    // is_open applies the rules to any year instead of failing.
    assert!(calendar.is_open(&at("1899-06-01T10:00:00+00:00")));
}

#[test]
fn next_opening_stops_after_closed_run() {
    let first = day("2027-01-01");
    let company_days = (0..500)
        .map(|offset| first + chrono::Days::new(offset))
        .collect();
    let calendar = Calendar::new(CalendarSettings {
        extra_closed_days: company_days,
        ..CalendarSettings::default()
    })
    .unwrap();
    let result = calendar.next_opening(&at("2026-12-31T18:00:00+01:00"));
    assert_eq!(
        result.unwrap_err(),
        CalendarError::NoOpeningFound {
            from: day("2026-12-31"),
            days: MAX_CLOSED_DAYS_IN_A_ROW,
        }
    );
}
