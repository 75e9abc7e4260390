//! Deadlines measured in business hours: the instant a number of opening-hour minutes after
//! a start has passed, with the windows that were counted and the closed days skipped.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use crate::calendar::{Calendar, ClosedReason, Window};
use crate::error::CalendarError;

/// Maximum business hours one deadline may span. At eight opening hours a day this is about
/// five years of working days, far beyond any response-time target.
pub const MAX_BUSINESS_HOURS: u32 = 10_000;

/// A local day the deadline computation passed over because the service was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkippedDay {
    /// Local date of the closed day.
    pub date: NaiveDate,
    /// Reason the service was closed.
    pub reason: ClosedReason,
}

/// Result of [`Calendar::deadline`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// Instant the requested business time has passed, in the local offset of the
    /// calendar's time zone. It is the end of the last counted window, or the next opening
    /// when zero business time was requested.
    pub due: DateTime<FixedOffset>,
    /// Opening-hour spans counted towards the business time, in order. Their durations add
    /// up to the requested business time.
    pub windows: Vec<Window>,
    /// Closed days from the local date of the start up to and including the due date.
    pub skipped: Vec<SkippedDay>,
}

impl Calendar {
    /// Computes the deadline `business_hours` opening hours after `start`.
    ///
    /// A start outside opening hours begins counting at the next opening, and zero hours
    /// returns the next opening.
    ///
    /// # Errors
    ///
    /// Returns [`CalendarError::DurationTooLong`] above [`MAX_BUSINESS_HOURS`], and the
    /// errors of [`Calendar::next_opening`] when the walk over days stops.
    pub fn deadline<Z: TimeZone>(
        &self,
        start: &DateTime<Z>,
        business_hours: u32,
    ) -> Result<Deadline, CalendarError> {
        self.deadline_in_minutes(start, u64::from(business_hours) * 60)
    }

    /// Computes the deadline `business_minutes` opening-hour minutes after `start`; see
    /// [`Calendar::deadline`].
    ///
    /// # Errors
    ///
    /// Returns [`CalendarError::DurationTooLong`] above [`MAX_BUSINESS_HOURS`] times 60
    /// minutes, and the errors of [`Calendar::next_opening`] when the walk over days stops.
    pub fn deadline_in_minutes<Z: TimeZone>(
        &self,
        start: &DateTime<Z>,
        business_minutes: u64,
    ) -> Result<Deadline, CalendarError> {
        let max_minutes = u64::from(MAX_BUSINESS_HOURS) * 60;
        if business_minutes > max_minutes {
            return Err(CalendarError::DurationTooLong {
                requested_minutes: business_minutes,
                max_minutes,
                max_hours: u64::from(MAX_BUSINESS_HOURS),
            });
        }
        let minutes = i64::try_from(business_minutes).expect("bounded by the maximum above");
        let mut remaining = TimeDelta::minutes(minutes);

        let start = start.with_timezone(&Utc);
        let mut windows = Vec::new();
        let mut skipped = Vec::new();
        let mut days = self.days_from(&start);
        loop {
            let day = days.next_day()?;
            if let Some(reason) = day.closed {
                skipped.push(SkippedDay {
                    date: day.date,
                    reason,
                });
            }
            let Some(window) = day.window else {
                continue;
            };
            let window_end = window.end.with_timezone(&Utc);
            if start >= window_end {
                continue;
            }

            let counted_from = window.start.with_timezone(&Utc).max(start);
            if remaining.is_zero() {
                return Ok(Deadline {
                    due: self.to_local(counted_from),
                    windows,
                    skipped,
                });
            }
            let available = window_end - counted_from;
            let counted_to = if available >= remaining {
                counted_from + remaining
            } else {
                window_end
            };
            windows.push(Window {
                start: self.to_local(counted_from),
                end: self.to_local(counted_to),
            });
            remaining -= counted_to - counted_from;
            if remaining.is_zero() {
                return Ok(Deadline {
                    due: self.to_local(counted_to),
                    windows,
                    skipped,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
