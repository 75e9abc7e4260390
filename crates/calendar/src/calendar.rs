//! The calendar itself: which local days are open, each day's opening window, and the
//! questions "is support open at T" and "when does it open next after T".

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Serialize;

use crate::error::CalendarError;
use crate::holidays::{Holiday, holiday_on, holidays};
use crate::settings::CalendarSettings;

/// First year `next_opening` and `deadline` accept.
pub const MIN_YEAR: i32 = 1900;
/// Last year `next_opening` and `deadline` accept.
pub const MAX_YEAR: i32 = 2200;
/// Maximum number of consecutive days without an opening that a search walks through before
/// it gives up. With the default working days, weekends and holidays close at most four days
/// in a row (Easter with Good Friday closed), so only a long run of company days reaches this.
pub const MAX_CLOSED_DAYS_IN_A_ROW: u32 = 400;

/// Reason the service is closed on a whole local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClosedReason {
    /// A public holiday that closes the service.
    Holiday {
        /// The holiday, with its Dutch and English names.
        holiday: Holiday,
    },
    /// A company day from `extra_closed_days`.
    CompanyDay,
    /// A weekday outside the working days, such as Saturday or Sunday.
    NotWorkingDay {
        /// The weekday of the date.
        weekday: Weekday,
    },
}

/// A span of opening hours, from `start` up to but not including `end`, in the local offset
/// of the calendar's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First instant of the span.
    pub start: DateTime<FixedOffset>,
    /// Instant right after the span.
    pub end: DateTime<FixedOffset>,
}

impl Window {
    /// Length of the window.
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }

    /// Returns whether `at` lies in the window.
    pub fn contains<Z: TimeZone>(&self, at: &DateTime<Z>) -> bool {
        let at = at.with_timezone(&Utc);
        self.start <= at && at < self.end
    }
}

/// Business-hours calendar built from validated [`CalendarSettings`].
#[derive(Debug, Clone)]
pub struct Calendar {
    settings: CalendarSettings,
    company_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Builds a calendar from `settings`.
    ///
    /// # Errors
    ///
    /// Returns [`CalendarError::InvalidOpeningHours`] when the closing time is not after the
    /// opening time, and [`CalendarError::NoWorkingDays`] when no weekday is a working day.
    pub fn new(settings: CalendarSettings) -> Result<Self, CalendarError> {
        if settings.opening >= settings.closing {
            return Err(CalendarError::InvalidOpeningHours {
                opening: settings.opening,
                closing: settings.closing,
            });
        }
        if settings.working_days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        let company_days = settings.extra_closed_days.iter().copied().collect();
        Ok(Calendar {
            settings,
            company_days,
        })
    }

    /// Settings the calendar was built from.
    pub fn settings(&self) -> &CalendarSettings {
        &self.settings
    }

    /// Time zone of the opening hours.
    pub fn time_zone(&self) -> Tz {
        self.settings.time_zone
    }

    /// Lists the holidays of `year` that close the service; see [`holidays`].
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        holidays(year, &self.settings)
    }

    /// Returns why the service is closed all day on the local `date`, or `None` on an open
    /// day. A holiday is reported before a company day, and both before a weekend.
    pub fn closed_reason(&self, date: NaiveDate) -> Option<ClosedReason> {
        if let Some(holiday) = holiday_on(date, &self.settings) {
            return Some(ClosedReason::Holiday { holiday });
        }
        if self.company_days.contains(&date) {
            return Some(ClosedReason::CompanyDay);
        }
        let weekday = date.weekday();
        if !self.settings.working_days.contains(&weekday) {
            return Some(ClosedReason::NotWorkingDay { weekday });
        }
        None
    }

    /// Returns the opening hours of the local `date`, or `None` when the service is closed
    /// that day.
    ///
    /// Opening and closing are local wall-clock times. When daylight saving time skips a
    /// configured time, the window uses the first local time after the gap, and when a time
    /// occurs twice, the window uses the earlier one. A day whose window would be empty after
    /// that adjustment has no opening hours.
    pub fn opening_window(&self, date: NaiveDate) -> Option<Window> {
        if self.closed_reason(date).is_some() {
            return None;
        }
        self.hours_on(date)
    }

    /// Returns the opening hours `date` would have as a working day, without checking
    /// whether it is one.
    fn hours_on(&self, date: NaiveDate) -> Option<Window> {
        let zone = self.settings.time_zone;
        let start = resolve_local(zone, date.and_time(self.settings.opening));
        let end = resolve_local(zone, date.and_time(self.settings.closing));
        (start < end).then_some(Window { start, end })
    }

    /// Returns whether the service is open at `at`. Opening hours include the opening minute
    /// and exclude the closing minute, so 17:00 is closed.
    ///
    /// Unlike [`Calendar::next_opening`], this accepts any year and applies today's holiday
    /// rules to it.
    pub fn is_open<Z: TimeZone>(&self, at: &DateTime<Z>) -> bool {
        let local_date = at.with_timezone(&self.settings.time_zone).date_naive();
        self.opening_window(local_date)
            .is_some_and(|window| window.contains(at))
    }

    /// Returns the first open instant at or after `after`: `after` itself when the service
    /// is open then, otherwise the next opening time. The result carries the local offset of
    /// the calendar's time zone.
    ///
    /// # Errors
    ///
    /// Returns [`CalendarError::OutOfRange`] when the search leaves the years
    /// [`MIN_YEAR`]-[`MAX_YEAR`], and [`CalendarError::NoOpeningFound`] when more than
    /// [`MAX_CLOSED_DAYS_IN_A_ROW`] days in a row have no opening.
    pub fn next_opening<Z: TimeZone>(
        &self,
        after: &DateTime<Z>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let after = after.with_timezone(&Utc);
        let mut days = self.days_from(&after);
        loop {
            let step = days.next_day()?;
            if let Some(window) = step.window
                && after < window.end
            {
                let start = window.start.with_timezone(&Utc).max(after);
                return Ok(self.to_local(start));
            }
        }
    }

    /// Starts a bounded walk over local days, beginning with the local date of `from`.
    pub(crate) fn days_from(&self, from: &DateTime<Utc>) -> DayWalk<'_> {
        let first = from.with_timezone(&self.settings.time_zone).date_naive();
        DayWalk {
            calendar: self,
            first,
            next: first,
            days_without_window: 0,
        }
    }

    /// Converts a UTC instant into the local offset of the calendar's time zone.
    pub(crate) fn to_local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.settings.time_zone).fixed_offset()
    }
}

/// One local day of a [`DayWalk`].
pub(crate) struct DayStep {
    pub date: NaiveDate,
    pub closed: Option<ClosedReason>,
    pub window: Option<Window>,
}

/// Iterator-like walk over consecutive local days that fails instead of running forever.
pub(crate) struct DayWalk<'a> {
    calendar: &'a Calendar,
    first: NaiveDate,
    next: NaiveDate,
    days_without_window: u32,
}

impl DayWalk<'_> {
    /// Returns the next day, or an error when the walk leaves the supported years or passes
    /// too many days without opening hours.
    pub fn next_day(&mut self) -> Result<DayStep, CalendarError> {
        let date = self.next;
        if !(MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
            return Err(CalendarError::OutOfRange {
                date,
                min_year: MIN_YEAR,
                max_year: MAX_YEAR,
            });
        }
        if self.days_without_window >= MAX_CLOSED_DAYS_IN_A_ROW {
            return Err(CalendarError::NoOpeningFound {
                from: self.first,
                days: self.days_without_window,
            });
        }

        let closed = self.calendar.closed_reason(date);
        let window = match closed {
            Some(_) => None,
            None => self.calendar.hours_on(date),
        };
        if window.is_some() {
            self.days_without_window = 0;
        } else {
            self.days_without_window += 1;
        }
        self.next = date
            .succ_opt()
            .expect("the year check stops the walk long before the last NaiveDate");
        Ok(DayStep {
            date,
            closed,
            window,
        })
    }
}

/// Maps a local wall-clock time to an instant. A time skipped by daylight saving time moves
/// to the first existing minute after the gap, and a time that occurs twice takes the
/// earlier instant.
fn resolve_local(zone: Tz, local: NaiveDateTime) -> DateTime<FixedOffset> {
    let mut candidate = local;
    // A gap lasts at most a day (Pacific/Apia skipped 30 December 2011), so a day of
    // minutes always reaches an existing time.
    for _ in 0..=24 * 60 {
        match zone.from_local_datetime(&candidate) {
            LocalResult::Single(at) => return at.fixed_offset(),
            LocalResult::Ambiguous(earlier, _) => return earlier.fixed_offset(),
            LocalResult::None => {
                candidate += TimeDelta::minutes(1);
            }
        }
    }
    // Not reached for IANA zones, because no gap lasts longer than a day. Reading the local
    // time as UTC keeps the function total.
    zone.from_utc_datetime(&local).fixed_offset()
}

#[cfg(test)]
mod tests;
