//! Business-hours calendar of the support service.
//!
//! The calendar answers three questions for a configured set of opening hours:
//!
//! - is support open at an instant ([`Calendar::is_open`]),
//! - when does it open next ([`Calendar::next_opening`]),
//! - when do N business hours after a start run out ([`Calendar::deadline`]), used for
//!   response-time targets.
//!
//! Opening hours are local wall-clock times in a time zone, by default 09:00-17:00 on Monday to
//! Friday in `Europe/Amsterdam`. On the days daylight saving time starts or ends the service
//! still opens at 09:00 local time, and every instant returned carries the local offset
//! (`+01:00` in winter, `+02:00` in summer).
//!
//! Support is closed on the Dutch public holidays ([`holidays`]): Nieuwjaarsdag, Tweede
//! Paasdag, Koningsdag, Hemelvaartsdag, Tweede Pinksterdag and both Kerstdagen, plus Eerste
//! Paasdag and Eerste Pinksterdag, which are Sundays. Goede Vrijdag and Bevrijdingsdag depend on
//! switches in [`CalendarSettings`], which also lists extra company days.
//!
//! ```
//! use chrono::DateTime;
//! use dk_calendar::{Calendar, CalendarSettings};
//!
//! let calendar = Calendar::new(CalendarSettings::default()).unwrap();
//! // Friday 16:00 in winter time. Daylight saving time starts on Sunday 29 March 2026.
//! let start = DateTime::parse_from_rfc3339("2026-03-27T16:00:00+01:00").unwrap();
//! let deadline = calendar.deadline(&start, 8).unwrap();
//! assert_eq!(deadline.due.to_rfc3339(), "2026-03-30T16:00:00+02:00");
//! ```

mod calendar;
mod deadline;
mod easter;
mod error;
mod holidays;
mod settings;

pub use calendar::{Calendar, ClosedReason, MAX_CLOSED_DAYS_IN_A_ROW, MAX_YEAR, MIN_YEAR, Window};
pub use deadline::{Deadline, MAX_BUSINESS_HOURS, SkippedDay};
pub use easter::easter_sunday;
pub use error::CalendarError;
pub use holidays::{Holiday, HolidayKind, holiday_on, holidays};
pub use settings::{CalendarSettings, GoodFriday, LiberationDay};
