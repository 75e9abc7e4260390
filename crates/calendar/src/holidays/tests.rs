use super::*;
use crate::settings::LiberationDay;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Movable dates per year: Goede Vrijdag, Eerste Paasdag, Tweede Paasdag, Koningsdag,
/// Hemelvaartsdag, Eerste Pinksterdag, Tweede Pinksterdag. The Easter-based dates are
/// Easter Sunday - 2, + 1, + 39, + 49 and + 50 days.
#[rustfmt::skip]
const MOVABLE_DATES: [(i32, [&str; 7]); 12] = [
    (2024, ["2024-03-29", "2024-03-31", "2024-04-01", "2024-04-27", "2024-05-09", "2024-05-19", "2024-05-20"]),
    (2025, ["2025-04-18", "2025-04-20", "2025-04-21", "2025-04-26", "2025-05-29", "2025-06-08", "2025-06-09"]),
    (2026, ["2026-04-03", "2026-04-05", "2026-04-06", "2026-04-27", "2026-05-14", "2026-05-24", "2026-05-25"]),
    (2027, ["2027-03-26", "2027-03-28", "2027-03-29", "2027-04-27", "2027-05-06", "2027-05-16", "2027-05-17"]),
    (2028, ["2028-04-14", "2028-04-16", "2028-04-17", "2028-04-27", "2028-05-25", "2028-06-04", "2028-06-05"]),
    (2029, ["2029-03-30", "2029-04-01", "2029-04-02", "2029-04-27", "2029-05-10", "2029-05-20", "2029-05-21"]),
    (2030, ["2030-04-19", "2030-04-21", "2030-04-22", "2030-04-27", "2030-05-30", "2030-06-09", "2030-06-10"]),
    (2031, ["2031-04-11", "2031-04-13", "2031-04-14", "2031-04-26", "2031-05-22", "2031-06-01", "2031-06-02"]),
    (2032, ["2032-03-26", "2032-03-28", "2032-03-29", "2032-04-27", "2032-05-06", "2032-05-16", "2032-05-17"]),
    (2033, ["2033-04-15", "2033-04-17", "2033-04-18", "2033-04-27", "2033-05-26", "2033-06-05", "2033-06-06"]),
    (2034, ["2034-04-07", "2034-04-09", "2034-04-10", "2034-04-27", "2034-05-18", "2034-05-28", "2034-05-29"]),
    (2035, ["2035-03-23", "2035-03-25", "2035-03-26", "2035-04-27", "2035-05-03", "2035-05-13", "2035-05-14"]),
];

fn all_switches_closed() -> CalendarSettings {
    CalendarSettings {
        good_friday: GoodFriday::Closed,
        liberation_day: LiberationDay::Yearly,
        ..CalendarSettings::default()
    }
}

fn date_of(list: &[Holiday], kind: HolidayKind) -> Option<NaiveDate> {
    list.iter()
        .find(|holiday| holiday.kind == kind)
        .map(|holiday| holiday.date)
}

#[test]
fn holidays_2024_to_2035_match_table() {
    let settings = all_switches_closed();
    let movable_kinds = [
        HolidayKind::GoodFriday,
        HolidayKind::EasterSunday,
        HolidayKind::EasterMonday,
        HolidayKind::KingsDay,
        HolidayKind::AscensionDay,
        HolidayKind::WhitSunday,
        HolidayKind::WhitMonday,
    ];
    for (year, dates) in MOVABLE_DATES {
        let list = holidays(year, &settings);
        assert_eq!(list.len(), 11, "holiday count {year}");
        for (kind, expected) in movable_kinds.iter().zip(dates) {
            assert_eq!(
                date_of(&list, *kind),
                Some(day(expected)),
                "{kind:?} {year}"
            );
        }
        let fixed = [
            (HolidayKind::NewYearsDay, 1, 1),
            (HolidayKind::LiberationDay, 5, 5),
            (HolidayKind::ChristmasDay, 12, 25),
            (HolidayKind::BoxingDay, 12, 26),
        ];
        for (kind, month, day_of_month) in fixed {
            let expected = NaiveDate::from_ymd_opt(year, month, day_of_month).unwrap();
            assert_eq!(date_of(&list, kind), Some(expected), "{kind:?} {year}");
        }
    }
}

#[test]
fn holidays_sorted_with_names() {
    let list = holidays(2026, &all_switches_closed());
    for pair in list.windows(2) {
        assert!(pair[0].date <= pair[1].date, "{pair:?} out of order");
    }
    let easter_monday = date_of(&list, HolidayKind::EasterMonday).unwrap();
    let holiday = holiday_on(easter_monday, &CalendarSettings::default()).unwrap();
    assert_eq!(holiday.name_nl, "Tweede Paasdag");
    assert_eq!(holiday.name_en, "Easter Monday");
}

#[test]
fn good_friday_switch() {
    let good_friday = day("2026-04-03");
    let open = CalendarSettings::default();
    let closed = CalendarSettings {
        good_friday: GoodFriday::Closed,
        ..CalendarSettings::default()
    };
    assert_eq!(holiday_on(good_friday, &open), None);
    let holiday = holiday_on(good_friday, &closed).unwrap();
    assert_eq!(holiday.kind, HolidayKind::GoodFriday);
    assert_eq!(holiday.name_nl, "Goede Vrijdag");
}

#[test]
fn liberation_day_default_lustrum_only() {
    let settings = CalendarSettings::default();
    let cases = [
        ("2025-05-05", true),
        ("2026-05-05", false),
        ("2029-05-05", false),
        ("2030-05-05", true),
        ("2035-05-05", true),
    ];
    for (date, closed) in cases {
        let holiday = holiday_on(day(date), &settings);
        assert_eq!(holiday.is_some(), closed, "Bevrijdingsdag {date}");
    }
}

#[test]
fn liberation_day_other_switches() {
    let yearly = CalendarSettings {
        liberation_day: LiberationDay::Yearly,
        ..CalendarSettings::default()
    };
    let never = CalendarSettings {
        liberation_day: LiberationDay::Never,
        ..CalendarSettings::default()
    };
    assert!(holiday_on(day("2026-05-05"), &yearly).is_some());
    assert!(holiday_on(day("2025-05-05"), &never).is_none());
}

#[test]
fn kings_day_moves_off_sunday() {
    let cases = [
        (2014, "2014-04-26"),
        (2025, "2025-04-26"),
        (2026, "2026-04-27"),
        (2031, "2031-04-26"),
        (2036, "2036-04-26"),
    ];
    for (year, expected) in cases {
        assert_eq!(kings_day(year), day(expected), "Koningsdag {year}");
        assert_ne!(kings_day(year).weekday(), Weekday::Sun, "Koningsdag {year}");
    }
}

#[test]
fn ascension_and_liberation_share_date() {
    // Easter 2005 fell on 27 March, so Hemelvaartsdag was 5 May, a lustrum year.
    let list = holidays(2005, &CalendarSettings::default());
    let on_may_5: Vec<HolidayKind> = list
        .iter()
        .filter(|holiday| holiday.date == day("2005-05-05"))
        .map(|holiday| holiday.kind)
        .collect();
    assert_eq!(
        on_may_5,
        vec![HolidayKind::LiberationDay, HolidayKind::AscensionDay]
    );
}

#[test]
fn holidays_every_supported_year() {
    let settings = all_switches_closed();
    for year in 1900..=2200 {
        let list = holidays(year, &settings);
        assert_eq!(list.len(), 11, "holiday count {year}");
        assert!(list.iter().all(|holiday| holiday.date.year() == year));
        assert_eq!(
            date_of(&list, HolidayKind::EasterSunday).unwrap().weekday(),
            Weekday::Sun
        );
        assert_eq!(
            date_of(&list, HolidayKind::WhitMonday).unwrap().weekday(),
            Weekday::Mon
        );
        assert_eq!(
            date_of(&list, HolidayKind::AscensionDay).unwrap().weekday(),
            Weekday::Thu
        );
    }
}
