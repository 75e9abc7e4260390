//! Dates: SWIFT `YYMMDD` and `MMDD`, ISO 8601 dates and date-times.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// Two-digit years from this value up are read as 19YY, lower ones as 20YY.
const CENTURY_PIVOT: i32 = 80;

/// Parses a SWIFT `YYMMDD` date.
pub(crate) fn parse_yymmdd(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = two_digits(bytes, 0)?;
    let year = if year >= CENTURY_PIVOT {
        1900 + year
    } else {
        2000 + year
    };
    let month = u32::try_from(two_digits(bytes, 2)?).ok()?;
    let day = u32::try_from(two_digits(bytes, 4)?).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Completes a SWIFT `MMDD` entry date with the year that puts it nearest to `value_date`.
///
/// A statement line gives the value date with a year but the entry date without one, so
/// `:61:1901011231` (value 2019-01-01, entry 31 December) is booked on 2018-12-31.
pub(crate) fn complete_mmdd(text: &str, value_date: NaiveDate) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let month = u32::try_from(two_digits(bytes, 0)?).ok()?;
    let day = u32::try_from(two_digits(bytes, 2)?).ok()?;
    let year = value_date.year();
    if let Some(same_year) = NaiveDate::from_ymd_opt(year, month, day) {
        // Within half a year of the value date the same year is always the nearest.
        if (same_year - value_date).num_days().abs() <= 182 {
            return Some(same_year);
        }
    }
    [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|candidate| NaiveDate::from_ymd_opt(candidate, month, day))
        .min_by_key(|date| (*date - value_date).num_days().abs())
}

/// Parses an ISO 8601 date, ignoring a time-zone suffix such as `+02:00` or `Z`.
pub(crate) fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let date = text.trim().get(..10)?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// Parses an ISO 8601 date-time and returns its calendar date in the Netherlands.
///
/// A date-time with an offset (`Z`, `+01:00`) is converted to Europe/Amsterdam time, so
/// `2025-10-05T22:08:00Z` is booked on 2025-10-06. A date-time without an offset is taken as
/// local time already.
pub(crate) fn parse_iso_datetime_local_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let date = parse_iso_date(text)?;
    let rest = text.get(10..)?;
    let Some(time_part) = rest.strip_prefix('T') else {
        return Some(date);
    };
    let offset_at = time_part.find(['Z', '+', '-']);
    let (clock, offset) = match offset_at {
        Some(at) => (&time_part[..at], Some(&time_part[at..])),
        None => (time_part, None),
    };
    let Some(offset) = offset else {
        return Some(date);
    };
    let offset_minutes = parse_offset_minutes(offset)?;
    let clock = clock.get(..8).unwrap_or(clock);
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .ok()?;
    let utc =
        NaiveDateTime::new(date, time).checked_sub_signed(Duration::minutes(offset_minutes))?;
    let local = utc.checked_add_signed(Duration::hours(amsterdam_offset_hours(utc)))?;
    Some(local.date())
}

/// Reads `Z`, `+hh:mm`, `-hh:mm` or `+hhmm` as minutes east of UTC.
fn parse_offset_minutes(offset: &str) -> Option<i64> {
    if offset == "Z" {
        return Some(0);
    }
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 60 + minutes))
}

/// Returns the offset of Europe/Amsterdam from UTC at a UTC moment: 2 hours in summer time,
/// 1 hour otherwise.
///
/// Summer time runs from the last Sunday of March 01:00 UTC to the last Sunday of October
/// 01:00 UTC (the EU rule since 1996). NOTE: older dates use the same rule, which is off by
/// up to a month for 1981-1995.
fn amsterdam_offset_hours(utc: NaiveDateTime) -> i64 {
    let year = utc.year();
    let start = last_sunday(year, 3).and_then(|day| day.and_hms_opt(1, 0, 0));
    let end = last_sunday(year, 10).and_then(|day| day.and_hms_opt(1, 0, 0));
    match (start, end) {
        (Some(start), Some(end)) if utc >= start && utc < end => 2,
        _ => 1,
    }
}

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    // Day 31 exists in March and October, the only months asked for.
    let last = NaiveDate::from_ymd_opt(year, month, 31)?;
    let back = i64::from(last.weekday().num_days_from_sunday());
    last.checked_sub_signed(Duration::days(back))
}

fn two_digits(bytes: &[u8], at: usize) -> Option<i32> {
    let tens = bytes.get(at)?.checked_sub(b'0')?;
    let ones = bytes.get(at + 1)?.checked_sub(b'0')?;
    if tens > 9 || ones > 9 {
        return None;
    }
    Some(i32::from(tens) * 10 + i32::from(ones))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn yymmdd_dates() {
        let cases = [
            ("140220", Some("2014-02-20")),
            ("991231", Some("1999-12-31")),
            ("000229", Some("2000-02-29")),
            ("010229", None),
            ("141301", None),
            ("14022", None),
            ("1402201", None),
            ("14o220", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_yymmdd(text), expected.map(date), "text {text}");
        }
    }

    #[test]
    fn entry_date_rolls_over_the_year() {
        // (MMDD, value date, expected booking date)
        let cases = [
            ("1231", "2019-01-01", "2018-12-31"), // Moneyou: booked before New Year
            ("0105", "2014-12-31", "2015-01-05"), // ABN AMRO: booked after New Year
            ("0220", "2014-02-20", "2014-02-20"),
            ("0329", "2019-04-01", "2019-03-29"),
            ("0502", "2019-04-01", "2019-05-02"),
            ("0229", "2020-03-01", "2020-02-29"),
        ];
        for (mmdd, value, expected) in cases {
            assert_eq!(
                complete_mmdd(mmdd, date(value)),
                Some(date(expected)),
                "entry {mmdd} value {value}"
            );
        }
    }

    #[test]
    fn entry_date_rejects_impossible_dates() {
        assert_eq!(complete_mmdd("1332", date("2019-01-01")), None);
        assert_eq!(complete_mmdd("12", date("2019-01-01")), None);
    }

    #[test]
    fn iso_dates_ignore_time_zone() {
        assert_eq!(parse_iso_date("2017-04-01+02:00"), Some(date("2017-04-01")));
        assert_eq!(parse_iso_date(" 2014-12-30 "), Some(date("2014-12-30")));
        assert_eq!(parse_iso_date("2014-12"), None);
    }

    #[test]
    fn datetimes_become_amsterdam_dates() {
        let cases = [
            ("2025-10-05T22:08:00Z", "2025-10-06"), // summer time, UTC+2
            ("2025-12-01T23:30:00Z", "2025-12-02"), // winter time, UTC+1
            ("2025-12-01T22:30:00Z", "2025-12-01"),
            ("2007-10-18T13:15:00+01:00", "2007-10-18"),
            ("2014-12-31T23:59:59.999-05:00", "2015-01-01"),
            ("2017-03-22T20:00:00", "2017-03-22"), // no offset: local already
            ("2014-12-31", "2014-12-31"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_iso_datetime_local_date(text),
                Some(date(expected)),
                "{text}"
            );
        }
    }

    #[test]
    fn last_sundays() {
        assert_eq!(last_sunday(2025, 3), Some(date("2025-03-30")));
        assert_eq!(last_sunday(2025, 10), Some(date("2025-10-26")));
        assert_eq!(last_sunday(2024, 3), Some(date("2024-03-31")));
    }

    #[test]
    fn datetime_rejects_bad_offset() {
        assert_eq!(parse_iso_datetime_local_date("2025-10-05T22:08:00+2"), None);
    }
}
