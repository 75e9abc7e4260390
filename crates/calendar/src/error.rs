//! Errors returned when building a calendar or answering a question with it.

use chrono::{NaiveDate, NaiveTime};
use thiserror::Error;

/// Errors of the business-hours calendar.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    /// The settings close the service at or before the time it opens.
    #[error(
        "invalid opening hours: opening time {opening} must be before closing time {closing}; \
         set `opening` earlier than `closing`"
    )]
    InvalidOpeningHours {
        /// Configured opening time.
        opening: NaiveTime,
        /// Configured closing time.
        closing: NaiveTime,
    },

    /// The settings list no working day, so the service never opens.
    #[error("invalid working days: the list is empty; name at least one weekday")]
    NoWorkingDays,

    /// The requested duration exceeds the maximum the calendar computes.
    #[error(
        "invalid business duration: {requested_minutes} minutes exceeds the maximum of \
         {max_minutes} minutes ({max_hours} business hours)"
    )]
    DurationTooLong {
        /// Requested business minutes.
        requested_minutes: u64,
        /// Maximum accepted business minutes.
        max_minutes: u64,
        /// The same maximum in whole business hours.
        max_hours: u64,
    },

    /// A date lies outside the years the calendar supports.
    #[error("date {date} is outside the supported years {min_year}-{max_year}")]
    OutOfRange {
        /// The first date found outside the range.
        date: NaiveDate,
        /// First supported year.
        min_year: i32,
        /// Last supported year.
        max_year: i32,
    },

    /// No opening was found within the search limit, for example because company days
    /// close the service for more than the limit in a row.
    #[error("no opening found within {days} days after {from}; check the company days")]
    NoOpeningFound {
        /// The local date the search started on.
        from: NaiveDate,
        /// The number of consecutive days searched.
        days: u32,
    },
}
