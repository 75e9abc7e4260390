//! Dutch public holidays that close the support service.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

use crate::easter::easter_sunday;
use crate::settings::{CalendarSettings, GoodFriday};

/// A Dutch public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// Nieuwjaarsdag, 1 January.
    NewYearsDay,
    /// Goede Vrijdag, two days before Easter.
    GoodFriday,
    /// Eerste Paasdag, Easter Sunday.
    EasterSunday,
    /// Tweede Paasdag, the day after Easter.
    EasterMonday,
    /// Koningsdag, 27 April, or 26 April when the 27th is a Sunday.
    KingsDay,
    /// Bevrijdingsdag, 5 May.
    LiberationDay,
    /// Hemelvaartsdag, 39 days after Easter.
    AscensionDay,
    /// Eerste Pinksterdag, 49 days after Easter.
    WhitSunday,
    /// Tweede Pinksterdag, 50 days after Easter.
    WhitMonday,
    /// Eerste Kerstdag, 25 December.
    ChristmasDay,
    /// Tweede Kerstdag, 26 December.
    BoxingDay,
}

impl HolidayKind {
    /// Dutch name, as printed on Dutch calendars.
    pub fn name_nl(self) -> &'static str {
        match self {
            HolidayKind::NewYearsDay => "Nieuwjaarsdag",
            HolidayKind::GoodFriday => "Goede Vrijdag",
            HolidayKind::EasterSunday => "Eerste Paasdag",
            HolidayKind::EasterMonday => "Tweede Paasdag",
            HolidayKind::KingsDay => "Koningsdag",
            HolidayKind::LiberationDay => "Bevrijdingsdag",
            HolidayKind::AscensionDay => "Hemelvaartsdag",
            HolidayKind::WhitSunday => "Eerste Pinksterdag",
            HolidayKind::WhitMonday => "Tweede Pinksterdag",
            HolidayKind::ChristmasDay => "Eerste Kerstdag",
            HolidayKind::BoxingDay => "Tweede Kerstdag",
        }
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        match self {
            HolidayKind::NewYearsDay => "New Year's Day",
            HolidayKind::GoodFriday => "Good Friday",
            HolidayKind::EasterSunday => "Easter Sunday",
            HolidayKind::EasterMonday => "Easter Monday",
            HolidayKind::KingsDay => "King's Day",
            HolidayKind::LiberationDay => "Liberation Day",
            HolidayKind::AscensionDay => "Ascension Day",
            HolidayKind::WhitSunday => "Whit Sunday",
            HolidayKind::WhitMonday => "Whit Monday",
            HolidayKind::ChristmasDay => "Christmas Day",
            HolidayKind::BoxingDay => "Boxing Day",
        }
    }
}

/// A holiday on which the support service is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Holiday {
    /// Local date of the holiday.
    pub date: NaiveDate,
    /// Kind of holiday.
    pub kind: HolidayKind,
    /// Dutch name, such as "Tweede Paasdag".
    pub name_nl: &'static str,
    /// English name, such as "Easter Monday".
    pub name_en: &'static str,
}

impl Holiday {
    fn new(kind: HolidayKind, date: NaiveDate) -> Self {
        Holiday {
            date,
            kind,
            name_nl: kind.name_nl(),
            name_en: kind.name_en(),
        }
    }
}

/// Lists the holidays of `year` that close the service under `settings`, in date order.
///
/// Goede Vrijdag is listed only when `settings.good_friday` is closed, and Bevrijdingsdag only
/// in the years `settings.liberation_day` closes it. Eerste Paasdag and Eerste Pinksterdag are
/// listed although they always fall on a Sunday. Company days are not holidays and are not
/// listed. Hemelvaartsdag and Bevrijdingsdag can share a date (2005, 2016), and then both are
/// listed.
///
/// NOTE: today's rules are applied to every year. Before 2014 the Dutch celebrated
/// Koninginnedag on 30 April (and on other dates before 1949), which this list does not model.
///
/// # Panics
///
/// Panics only for years beyond the range `NaiveDate` can represent (about ±262,000).
pub fn holidays(year: i32, settings: &CalendarSettings) -> Vec<Holiday> {
    let date = |month, day| {
        NaiveDate::from_ymd_opt(year, month, day).expect("fixed holiday dates exist every year")
    };
    let easter = easter_sunday(year);
    let from_easter = |days: i64| {
        easter
            .checked_add_signed(chrono::Duration::days(days))
            .expect("Easter offsets stay within the year")
    };

    let mut list = vec![Holiday::new(HolidayKind::NewYearsDay, date(1, 1))];
    if settings.good_friday == GoodFriday::Closed {
        list.push(Holiday::new(HolidayKind::GoodFriday, from_easter(-2)));
    }
    list.push(Holiday::new(HolidayKind::EasterSunday, easter));
    list.push(Holiday::new(HolidayKind::EasterMonday, from_easter(1)));
    list.push(Holiday::new(HolidayKind::KingsDay, kings_day(year)));
    if settings.liberation_day.closes_in(year) {
        list.push(Holiday::new(HolidayKind::LiberationDay, date(5, 5)));
    }
    list.push(Holiday::new(HolidayKind::AscensionDay, from_easter(39)));
    list.push(Holiday::new(HolidayKind::WhitSunday, from_easter(49)));
    list.push(Holiday::new(HolidayKind::WhitMonday, from_easter(50)));
    list.push(Holiday::new(HolidayKind::ChristmasDay, date(12, 25)));
    list.push(Holiday::new(HolidayKind::BoxingDay, date(12, 26)));

    // A stable sort keeps the order above for holidays that share a date.
    list.sort_by_key(|holiday| holiday.date);
    list
}

/// Returns the closing holiday on `date` under `settings`, if any. When two holidays share
/// the date, the one listed first by [`holidays`] is returned.
pub fn holiday_on(date: NaiveDate, settings: &CalendarSettings) -> Option<Holiday> {
    holidays(date.year(), settings)
        .into_iter()
        .find(|holiday| holiday.date == date)
}

/// Koningsdag: 27 April, moved to Saturday 26 April when the 27th is a Sunday.
fn kings_day(year: i32) -> NaiveDate {
    let april_27 = NaiveDate::from_ymd_opt(year, 4, 27).expect("27 April exists every year");
    if april_27.weekday() == Weekday::Sun {
        april_27 - Days::new(1)
    } else {
        april_27
    }
}

#[cfg(test)]
mod tests;
