//! Date of Easter Sunday in the Gregorian calendar.

use chrono::NaiveDate;

/// Computes Easter Sunday of a Gregorian `year` with the anonymous Gregorian algorithm
/// (Meeus/Jones/Butcher), valid for every year from 1583 on.
///
/// # Panics
///
/// Panics only if `year` is beyond the range `NaiveDate` can represent (about ±262,000).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;

    // The algorithm yields March 22 to April 25, so the date always exists.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("the computus yields a valid March or April date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};

    /// Computes Easter with Gauss's algorithm and its two Gregorian exceptions, as an
    /// independent check of the anonymous algorithm.
    fn easter_by_gauss(year: i32) -> NaiveDate {
        let a = year % 19;
        let b = year % 4;
        let c = year % 7;
        let k = year / 100;
        let p = (13 + 8 * k) / 25;
        let q = k / 4;
        let m = (15 - p + k - q) % 30;
        let n = (4 + k - q) % 7;
        let d = (19 * a + m) % 30;
        let e = (2 * b + 4 * c + 6 * d + n) % 7;
        let march_day = 22 + d + e;
        let (month, mut day) = if march_day > 31 {
            (4, march_day - 31)
        } else {
            (3, march_day)
        };
        if month == 4 && d == 29 && e == 6 {
            day = 19;
        }
        if month == 4 && d == 28 && e == 6 && (11 * m + 11) % 30 < 19 {
            day = 18;
        }
        NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap()
    }

    #[test]
    fn easter_known_dates() {
        let cases = [
            (1900, 4, 15),
            (1954, 4, 18),
            (1981, 4, 19),
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2029, 4, 1),
            (2030, 4, 21),
            (2031, 4, 13),
            (2032, 3, 28),
            (2033, 4, 17),
            (2034, 4, 9),
            (2035, 3, 25),
            (2038, 4, 25),
            (2200, 4, 6),
        ];
        for (year, month, day) in cases {
            let expected = NaiveDate::from_ymd_opt(year, month, day).unwrap();
            assert_eq!(easter_sunday(year), expected, "Easter {year}");
        }
    }

    #[test]
    fn easter_matches_gauss_1900_to_2200() {
        for year in 1900..=2200 {
            assert_eq!(easter_sunday(year), easter_by_gauss(year), "Easter {year}");
        }
    }

    #[test]
    fn easter_is_sunday_in_window() {
        for year in 1900..=2200 {
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sun, "Easter {year}");
            let earliest = NaiveDate::from_ymd_opt(year, 3, 22).unwrap();
            let latest = NaiveDate::from_ymd_opt(year, 4, 25).unwrap();
            assert!(easter >= earliest, "Easter {year} before March 22");
            assert!(easter <= latest, "Easter {year} after April 25");
        }
    }
}
