//! Configuration of the calendar: opening hours, working days, time zone and the holiday
//! switches.

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Switch for Goede Vrijdag (Good Friday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodFriday {
    /// Good Friday is an ordinary working day.
    #[default]
    Open,
    /// Good Friday is a holiday.
    Closed,
}

/// Switch for the years support is closed on Bevrijdingsdag (Liberation Day, 5 May).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiberationDay {
    /// Closed on 5 May every year.
    Yearly,
    /// Closed on 5 May only in lustrum years, the years divisible by 5 (2025, 2030, ...).
    #[default]
    LustrumOnly,
    /// Never closed for Liberation Day.
    Never,
}

impl LiberationDay {
    /// Returns whether support is closed on 5 May of `year`.
    pub fn closes_in(self, year: i32) -> bool {
        match self {
            LiberationDay::Yearly => true,
            LiberationDay::LustrumOnly => year.rem_euclid(5) == 0,
            LiberationDay::Never => false,
        }
    }
}

/// Settings of the business-hours calendar. Every field has a default, so an empty
/// configuration gives the standard Dutch opening hours.
///
/// Opening and closing are local wall-clock times in `time_zone`, so on the days daylight
/// saving time starts or ends the service still opens at 09:00 and closes at 17:00 local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarSettings {
    /// Local time the service opens on a working day (default 09:00).
    pub opening: NaiveTime,
    /// Local time the service closes on a working day (default 17:00). The closing minute
    /// itself is outside opening hours.
    pub closing: NaiveTime,
    /// Weekdays the service works (default Monday to Friday).
    pub working_days: Vec<Weekday>,
    /// IANA time zone of the opening hours (default `Europe/Amsterdam`).
    #[serde(with = "time_zone_name")]
    pub time_zone: Tz,
    /// Good Friday switch (default open).
    pub good_friday: GoodFriday,
    /// Liberation Day switch (default closed in lustrum years only).
    pub liberation_day: LiberationDay,
    /// Company days: extra local dates the service is closed.
    pub extra_closed_days: Vec<NaiveDate>,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        CalendarSettings {
            opening: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a valid time"),
            closing: NaiveTime::from_hms_opt(17, 0, 0).expect("17:00 is a valid time"),
            working_days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            time_zone: chrono_tz::Europe::Amsterdam,
            good_friday: GoodFriday::default(),
            liberation_day: LiberationDay::default(),
            extra_closed_days: Vec::new(),
        }
    }
}

/// Serializes a time zone as its IANA name, such as `"Europe/Amsterdam"`.
mod time_zone_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(zone: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(zone.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse::<Tz>().map_err(|_| {
            D::Error::custom(format!(
                "invalid time zone {name:?}: expected an IANA name such as \"Europe/Amsterdam\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_gives_defaults() {
        let settings: CalendarSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(settings, CalendarSettings::default());
        assert_eq!(settings.opening, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(settings.closing, NaiveTime::from_hms_opt(17, 0, 0).unwrap());
        assert_eq!(settings.time_zone, chrono_tz::Europe::Amsterdam);
        assert_eq!(settings.good_friday, GoodFriday::Open);
        assert_eq!(settings.liberation_day, LiberationDay::LustrumOnly);
        assert_eq!(settings.working_days.len(), 5);
        assert!(settings.extra_closed_days.is_empty());
    }

    #[test]
    fn settings_json_round_trip() {
        let settings = CalendarSettings {
            good_friday: GoodFriday::Closed,
            liberation_day: LiberationDay::Yearly,
            extra_closed_days: vec![NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()],
            ..CalendarSettings::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        let parsed: CalendarSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, settings);
    }

    #[test]
    fn settings_parse_explicit_fields() {
        let json = r#"{
            "opening": "08:30:00",
            "closing": "16:00:00",
            "working_days": ["Mon", "Wed"],
            "time_zone": "Europe/Brussels",
            "good_friday": "closed",
            "liberation_day": "never",
            "extra_closed_days": ["2026-12-24"]
        }"#;
        let settings: CalendarSettings = serde_json::from_str(json).unwrap();
        assert_eq!(settings.opening, NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert_eq!(settings.closing, NaiveTime::from_hms_opt(16, 0, 0).unwrap());
        assert_eq!(settings.working_days, vec![Weekday::Mon, Weekday::Wed]);
        assert_eq!(settings.time_zone, chrono_tz::Europe::Brussels);
        assert_eq!(settings.good_friday, GoodFriday::Closed);
        assert_eq!(settings.liberation_day, LiberationDay::Never);
        assert_eq!(
            settings.extra_closed_days,
            vec![NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()]
        );
    }

    #[test]
    fn settings_reject_bad_input() {
        let cases = [
            r#"{"time_zone": "Europe/Atlantis"}"#,
            r#"{"good_friday": "maybe"}"#,
            r#"{"opening_time": "09:00:00"}"#,
        ];
        for json in cases {
            let parsed: Result<CalendarSettings, _> = serde_json::from_str(json);
            assert!(parsed.is_err(), "accepted {json}");
        }
    }

    #[test]
    fn liberation_day_years() {
        let cases = [
            (LiberationDay::LustrumOnly, 2025, true),
            (LiberationDay::LustrumOnly, 2026, false),
            (LiberationDay::LustrumOnly, 2030, true),
            (LiberationDay::Yearly, 2026, true),
            (LiberationDay::Never, 2025, false),
        ];
        for (switch, year, closed) in cases {
            assert_eq!(switch.closes_in(year), closed, "{switch:?} in {year}");
        }
    }
}
