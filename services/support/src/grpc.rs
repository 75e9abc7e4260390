//! The gRPC face of support: tickets and their time (see `tickets`), and business-hours status
//! and deadlines from the calendar.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc, Weekday};
use dk_calendar::{Calendar, CalendarError, ClosedReason, Deadline, MAX_BUSINESS_HOURS};
use dk_proto::convert::timestamp_from;
use dk_proto::support::v1 as pb;
use dk_proto::support::v1::support_service_server::SupportService;
use dk_runtime::auth::caller;
use dk_runtime::status;
use tonic::{Request, Response, Status};

/// Shared state of the gRPC handlers.
pub struct Support {
    pub calendar: Calendar,
    pub tickets: crate::tickets::Tickets,
}

#[tonic::async_trait]
impl SupportService for Support {
    async fn open_ticket(
        &self,
        request: Request<pb::OpenTicketRequest>,
    ) -> Result<Response<pb::OpenTicketResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .open_ticket(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .get_ticket(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .list_tickets(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn escalate_ticket(
        &self,
        request: Request<pb::EscalateTicketRequest>,
    ) -> Result<Response<pb::EscalateTicketResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .escalate(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn set_ticket_status(
        &self,
        request: Request<pb::SetTicketStatusRequest>,
    ) -> Result<Response<pb::SetTicketStatusResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .set_status(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn log_time(
        &self,
        request: Request<pb::LogTimeRequest>,
    ) -> Result<Response<pb::LogTimeResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .log_time(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn set_billing_mode(
        &self,
        request: Request<pb::SetBillingModeRequest>,
    ) -> Result<Response<pb::SetBillingModeResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .set_billing_mode(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn buy_credit(
        &self,
        request: Request<pb::BuyCreditRequest>,
    ) -> Result<Response<pb::BuyCreditResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .buy_credit(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn renew_packages(
        &self,
        request: Request<pb::RenewPackagesRequest>,
    ) -> Result<Response<pb::RenewPackagesResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .renew_packages(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_credit_balance(
        &self,
        request: Request<pb::GetCreditBalanceRequest>,
    ) -> Result<Response<pb::GetCreditBalanceResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .credit_balance(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn run_post_calculation(
        &self,
        request: Request<pb::RunPostCalculationRequest>,
    ) -> Result<Response<pb::RunPostCalculationResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .run_post_calculation(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn save_article(
        &self,
        request: Request<pb::SaveArticleRequest>,
    ) -> Result<Response<pb::SaveArticleResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .save_article(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn search_articles(
        &self,
        request: Request<pb::SearchArticlesRequest>,
    ) -> Result<Response<pb::SearchArticlesResponse>, Status> {
        caller(&request)?;
        self.tickets
            .search_articles(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_article(
        &self,
        request: Request<pb::GetArticleRequest>,
    ) -> Result<Response<pb::GetArticleResponse>, Status> {
        caller(&request)?;
        self.tickets
            .get_article(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_popular_articles(
        &self,
        request: Request<pb::ListPopularArticlesRequest>,
    ) -> Result<Response<pb::ListPopularArticlesResponse>, Status> {
        caller(&request)?;
        self.tickets
            .popular_articles(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_billed_time(
        &self,
        request: Request<pb::GetBilledTimeRequest>,
    ) -> Result<Response<pb::GetBilledTimeResponse>, Status> {
        let caller = caller(&request)?;
        self.tickets
            .billed_time(&caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_business_hours_status(
        &self,
        request: Request<pb::GetBusinessHoursStatusRequest>,
    ) -> Result<Response<pb::GetBusinessHoursStatusResponse>, Status> {
        let at = instant_from_request("at", request.get_ref().at.as_ref())?;
        let open = self.calendar.is_open(&at);
        let next_opening = self
            .calendar
            .next_opening(&at)
            .map_err(|e| calendar_error("at", e))?;
        Ok(Response::new(pb::GetBusinessHoursStatusResponse {
            open,
            next_opening: Some(timestamp_from(next_opening.with_timezone(&Utc))),
            next_opening_text: rfc3339(&next_opening),
        }))
    }

    async fn compute_deadline(
        &self,
        request: Request<pb::ComputeDeadlineRequest>,
    ) -> Result<Response<pb::ComputeDeadlineResponse>, Status> {
        let request = request.into_inner();
        let start = instant_from_request("start", request.start.as_ref())?;
        let minutes = business_minutes(&request)?;
        let deadline = self
            .calendar
            .deadline_in_minutes(&start, minutes)
            .map_err(|e| calendar_error("start", e))?;
        Ok(Response::new(deadline_to_proto(&deadline)))
    }
}

/// Converts a required wire timestamp, naming `field` when it is missing or out of range.
fn instant_from_request(
    field: &str,
    timestamp: Option<&prost_types::Timestamp>,
) -> Result<DateTime<Utc>, Status> {
    let timestamp = timestamp.ok_or_else(|| {
        status::invalid_argument(field, format!("missing {field}: expected a timestamp"))
    })?;
    u32::try_from(timestamp.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(timestamp.seconds, nanos))
        .ok_or_else(|| {
            status::invalid_argument(
                field,
                format!(
                    "invalid {field} {}s {}ns: expected a timestamp between years 1 and 9999",
                    timestamp.seconds, timestamp.nanos
                ),
            )
        })
}

/// Adds the request's hours and minutes, rejecting negative values and totals above the
/// calendar's maximum of [`MAX_BUSINESS_HOURS`] hours.
fn business_minutes(request: &pb::ComputeDeadlineRequest) -> Result<u64, Status> {
    let max_minutes = u64::from(MAX_BUSINESS_HOURS) * 60;
    let hours = u64::try_from(request.business_hours).map_err(|_| {
        status::invalid_argument(
            "business_hours",
            format!(
                "invalid business_hours {}: expected 0 to {MAX_BUSINESS_HOURS}",
                request.business_hours
            ),
        )
    })?;
    let minutes = u64::try_from(request.business_minutes).map_err(|_| {
        status::invalid_argument(
            "business_minutes",
            format!(
                "invalid business_minutes {}: expected 0 to {max_minutes}",
                request.business_minutes
            ),
        )
    })?;
    if hours > u64::from(MAX_BUSINESS_HOURS) {
        return Err(status::invalid_argument(
            "business_hours",
            format!(
                "invalid business_hours {hours}: expected at most {MAX_BUSINESS_HOURS} business hours"
            ),
        ));
    }
    let total = hours * 60 + minutes;
    if total > max_minutes {
        return Err(status::invalid_argument(
            "business_minutes",
            format!(
                "invalid business_minutes {minutes}: with business_hours {hours} the total of \
                 {total} minutes exceeds the maximum of {max_minutes} minutes"
            ),
        ));
    }
    Ok(total)
}

/// Maps a calendar error: dates outside the supported years are the caller's `field`, the rest
/// come from the service's settings and are internal.
fn calendar_error(field: &str, error: CalendarError) -> Status {
    match error {
        CalendarError::OutOfRange { .. } | CalendarError::DurationTooLong { .. } => {
            status::invalid_argument(field, error.to_string())
        }
        CalendarError::InvalidOpeningHours { .. }
        | CalendarError::NoWorkingDays
        | CalendarError::NoOpeningFound { .. } => {
            status::internal("computing business hours", &error)
        }
    }
}

fn rfc3339(instant: &DateTime<FixedOffset>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn deadline_to_proto(deadline: &Deadline) -> pb::ComputeDeadlineResponse {
    let windows = deadline
        .windows
        .iter()
        .map(|window| pb::BusinessWindow {
            start: rfc3339(&window.start),
            end: rfc3339(&window.end),
        })
        .collect();
    let skipped = deadline
        .skipped
        .iter()
        .map(|day| {
            let (reason_nl, reason_en) = reason_names(day.reason);
            pb::SkippedDay {
                date: day.date.format("%Y-%m-%d").to_string(),
                reason_nl,
                reason_en,
            }
        })
        .collect();
    pb::ComputeDeadlineResponse {
        due: Some(timestamp_from(deadline.due.with_timezone(&Utc))),
        due_text: rfc3339(&deadline.due),
        windows,
        skipped,
    }
}

/// Returns the Dutch and English text of a closed day's reason.
fn reason_names(reason: ClosedReason) -> (String, String) {
    match reason {
        ClosedReason::Holiday { holiday } => {
            (holiday.name_nl.to_owned(), holiday.name_en.to_owned())
        }
        ClosedReason::CompanyDay => ("bedrijfsdag".to_owned(), "company day".to_owned()),
        ClosedReason::NotWorkingDay { weekday } => (
            weekday_nl(weekday).to_owned(),
            weekday_en(weekday).to_owned(),
        ),
    }
}

fn weekday_nl(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "maandag",
        Weekday::Tue => "dinsdag",
        Weekday::Wed => "woensdag",
        Weekday::Thu => "donderdag",
        Weekday::Fri => "vrijdag",
        Weekday::Sat => "zaterdag",
        Weekday::Sun => "zondag",
    }
}

fn weekday_en(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(business_hours: i32, business_minutes: i32) -> pb::ComputeDeadlineRequest {
        pb::ComputeDeadlineRequest {
            start: None,
            business_hours,
            business_minutes,
        }
    }

    #[test]
    fn business_minutes_adds_hours() {
        assert_eq!(business_minutes(&request(4, 30)).unwrap(), 270);
        assert_eq!(business_minutes(&request(0, 0)).unwrap(), 0);
        assert_eq!(
            business_minutes(&request(10_000, 0)).unwrap(),
            600_000,
            "the maximum itself is accepted"
        );
    }

    #[test]
    fn business_minutes_rejects_bad_values() {
        let cases = [(-1, 0), (0, -1), (10_001, 0), (10_000, 1), (i32::MAX, 0)];
        for (hours, minutes) in cases {
            let error = business_minutes(&request(hours, minutes)).unwrap_err();
            assert_eq!(
                error.code(),
                tonic::Code::InvalidArgument,
                "{hours} h {minutes} min"
            );
        }
    }
}
