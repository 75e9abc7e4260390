//! Requests to a bank with retries.
//!
//! A connection error, a timeout or a 5xx response is retried after an exponentially growing,
//! jittered wait (backon). A 429 response is retried after the wait in its `Retry-After`
//! header, in seconds or as an HTTP date. A wait longer than the configured limit is not waited
//! for. The request then fails with [`LinkError::RateLimited`], and the next scheduled sync
//! tries again. Every request carries a fresh `X-Request-ID`, as the Berlin Group standard
//! requires.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, RequestBuilder, StatusCode};

use crate::{Bank, BankApiSettings, LinkError};

/// Maximum number of characters of an error body kept in a message.
const BODY_EXCERPT: usize = 300;

pub(crate) struct Http {
    client: Client,
    bank: Bank,
    max_attempts: usize,
    retry_base: Duration,
    max_retry_after: Duration,
}

/// The outcome of one attempt that may be repeated.
enum Attempt {
    Network(reqwest::Error),
    Server { status: StatusCode, body: String },
    TooManyRequests(Option<Duration>),
}

impl Http {
    pub(crate) fn new(bank: Bank, settings: &BankApiSettings) -> Result<Self, LinkError> {
        let settings_error = |reason: String| LinkError::Settings {
            bank: bank.display_name(),
            reason,
        };
        let mut builder = Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds.max(1)))
            .user_agent(concat!("dk-banksync/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &settings.client_certificate {
            let pem = std::fs::read(path).map_err(|error| {
                settings_error(format!(
                    "client_certificate {} cannot be read: {error}",
                    path.display()
                ))
            })?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|error| {
                settings_error(format!(
                    "client_certificate {} is not a PEM file with a certificate and its private key: {error}",
                    path.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|error| settings_error(format!("HTTP client: {error}")))?;
        Ok(Http {
            client,
            bank,
            max_attempts: settings.max_attempts.max(1),
            retry_base: Duration::from_millis(settings.retry_base_millis),
            max_retry_after: Duration::from_secs(settings.max_retry_after_seconds),
        })
    }

    /// Sends the request that `build` makes, again when that may help, and returns the status
    /// and body of a 2xx or 4xx response. `url` names the request in errors.
    pub(crate) async fn send(
        &self,
        url: &str,
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<(StatusCode, String), LinkError> {
        let attempt = || async {
            let response = build(&self.client)
                .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
                .send()
                .await
                .map_err(Attempt::Network)?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Err(Attempt::TooManyRequests(retry_after(
                    response.headers(),
                    Utc::now(),
                )));
            }
            let body = response.text().await.map_err(Attempt::Network)?;
            if status.is_server_error() {
                return Err(Attempt::Server { status, body });
            }
            Ok((status, body))
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry_base)
            .with_max_delay(self.max_retry_after.max(self.retry_base))
            .with_max_times(self.max_attempts - 1)
            .with_jitter();
        let max_retry_after = self.max_retry_after;
        attempt
            .retry(backoff)
            .when(|attempt| match attempt {
                Attempt::TooManyRequests(Some(wait)) => *wait <= max_retry_after,
                _ => true,
            })
            .adjust(|attempt, planned| match attempt {
                // The bank's own wait replaces the planned one; the attempt limit still holds.
                Attempt::TooManyRequests(Some(wait)) => planned.map(|_| *wait),
                _ => planned,
            })
            .notify(|attempt, wait| {
                tracing::warn!(
                    bank = self.bank.as_str(),
                    url,
                    wait_ms = wait.as_millis() as u64,
                    "{}; trying again",
                    describe(attempt)
                );
            })
            .await
            .map_err(|attempt| self.error(url, attempt))
    }

    fn error(&self, url: &str, attempt: Attempt) -> LinkError {
        let bank = self.bank.display_name();
        match attempt {
            Attempt::Network(error) => LinkError::Unreachable {
                bank,
                url: url.to_owned(),
                reason: error.to_string(),
            },
            Attempt::Server { status, body } => LinkError::ErrorResponse {
                bank,
                status: status.as_u16(),
                url: url.to_owned(),
                body: excerpt(&body),
            },
            Attempt::TooManyRequests(retry_after) => LinkError::RateLimited { bank, retry_after },
        }
    }
}

fn describe(attempt: &Attempt) -> String {
    match attempt {
        Attempt::Network(error) => format!("request failed: {error}"),
        Attempt::Server { status, .. } => format!("returned HTTP {status}"),
        Attempt::TooManyRequests(_) => "returned HTTP 429 Too Many Requests".to_owned(),
    }
}

/// Reads `Retry-After` as seconds or as an HTTP date (RFC 9110, section 10.2.3).
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default())
}

/// Cuts an error body to its first characters, for messages and logs.
pub(crate) fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(BODY_EXCERPT) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sat, 05 Dec 2026 10:02:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sat, 05 Dec 2026 09:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn excerpts_stop_at_a_character_boundary() {
        let long = "é".repeat(400);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), BODY_EXCERPT + 1);
        assert_eq!(excerpt("  {\"error\":\"x\"} "), "{\"error\":\"x\"}");
    }
}
