//! Clients of the banks' account-information APIs (PSD2 AIS) for the automatic bank link.
//!
//! [`AccountInformation`] is the provider interface that banksync uses. It builds the URL where
//! the customer gives consent, exchanges the code the bank returns for tokens, refreshes them,
//! and reads the booked transactions of one IBAN over a date range, every page of them.
//!
//! - ING and Rabobank follow the Berlin Group NextGenPSD2 shape: `transactions.booked[]`, paged
//!   by `transactions._links.next`. ING first needs an application token of its own
//!   (`client_credentials`) before it exchanges the customer's code.
//! - ABN AMRO has its own shape: `transactions[]` with `descriptionLines`, paged by
//!   `nextPageKey`, and an `API-Key` header.
//!
//! Every adapter returns [`dk_statement::Transaction`], the model of the statement file
//! parsers, so a synced mutation and an imported one are stored and matched alike.
//!
//! Requests are retried with exponential backoff on connection errors and 5xx responses, and
//! wait the bank's `Retry-After` on 429 up to a limit (see `http`). [`fetch_booked`] refreshes an
//! expired access token, and reports a consent that the bank no longer honours as
//! [`LinkError::ConsentEnded`], so that the customer can be asked to renew it.
//!
//! Not built: the eIDAS QSealC request signature (`Digest` and `Signature` headers) that the
//! production APIs of ING and Rabobank ask for. Mutual TLS with a QWAC is supported through
//! [`BankApiSettings::client_certificate`].

mod abnamro;
mod berlin;
#[cfg(feature = "fake")]
pub mod fake;
mod http;
mod mapping;
mod oauth;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

pub use dk_statement::Transaction;

/// A bank with an account-information API that the automatic link supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bank {
    Ing,
    AbnAmro,
    Rabobank,
}

impl Bank {
    pub const ALL: [Bank; 3] = [Bank::Ing, Bank::AbnAmro, Bank::Rabobank];

    /// Returns the name used in settings, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Bank::Ing => "ing",
            Bank::AbnAmro => "abnamro",
            Bank::Rabobank => "rabobank",
        }
    }

    /// Returns the bank's name as customers use it.
    pub fn display_name(self) -> &'static str {
        match self {
            Bank::Ing => "ING",
            Bank::AbnAmro => "ABN AMRO",
            Bank::Rabobank => "Rabobank",
        }
    }

    /// Returns the bank of a Dutch IBAN, found by its bank code (`NLkk BBBB …`).
    pub fn of_iban(iban: &str) -> Option<Bank> {
        let code = iban.get(4..8)?;
        if !iban.starts_with("NL") {
            return None;
        }
        match code {
            "INGB" => Some(Bank::Ing),
            "ABNA" => Some(Bank::AbnAmro),
            "RABO" => Some(Bank::Rabobank),
            _ => None,
        }
    }
}

impl fmt::Display for Bank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned for a bank name that is not one of [`Bank::as_str`]'s names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bank {0:?}: expected ing, abnamro or rabobank")]
pub struct UnknownBank(pub String);

impl FromStr for Bank {
    type Err = UnknownBank;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Bank::ALL
            .into_iter()
            .find(|bank| bank.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownBank(name.to_owned()))
    }
}

/// How to reach one bank's API, as the bank's developer portal issued it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankApiSettings {
    /// Base URL of the account-information API, for example `https://api.ing.com`.
    pub api_url: String,
    /// The page where the customer gives consent.
    pub authorize_url: String,
    /// The OAuth 2 token endpoint.
    pub token_url: String,
    /// The client id from the bank's developer portal.
    pub client_id: String,
    /// The client secret, where the bank uses one (certificates replace it at ING).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// ABN AMRO's `API-Key` header.
    #[serde(default)]
    pub api_key: Option<String>,
    /// A PEM file with the client certificate chain and its private key, for mutual TLS (the
    /// eIDAS QWAC in production).
    #[serde(default)]
    pub client_certificate: Option<std::path::PathBuf>,
    /// Time allowed for one request.
    #[serde(default = "defaults::timeout_seconds")]
    pub timeout_seconds: u64,
    /// Attempts per request, the first included, on connection errors, 5xx and 429 responses.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: usize,
    /// The first wait between attempts; it doubles after each.
    #[serde(default = "defaults::retry_base_millis")]
    pub retry_base_millis: u64,
    /// The longest `Retry-After` waited for within one sync; a longer one ends the sync with
    /// [`LinkError::RateLimited`], and the scheduler tries again later.
    #[serde(default = "defaults::max_retry_after_seconds")]
    pub max_retry_after_seconds: u64,
    /// Days a consent lasts when the bank's token response leaves it out (PSD2 allows at most
    /// 180 days before the customer must confirm again).
    #[serde(default = "defaults::consent_days")]
    pub consent_days: i64,
}

mod defaults {
    pub fn timeout_seconds() -> u64 {
        30
    }
    pub fn max_attempts() -> usize {
        4
    }
    pub fn retry_base_millis() -> u64 {
        500
    }
    pub fn max_retry_after_seconds() -> u64 {
        60
    }
    pub fn consent_days() -> i64 {
        180
    }
}

impl BankApiSettings {
    /// Settings with the defaults for everything but the addresses and the client id.
    pub fn new(api_url: &str, authorize_url: &str, token_url: &str, client_id: &str) -> Self {
        BankApiSettings {
            api_url: api_url.to_owned(),
            authorize_url: authorize_url.to_owned(),
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            api_key: None,
            client_certificate: None,
            timeout_seconds: defaults::timeout_seconds(),
            max_attempts: defaults::max_attempts(),
            retry_base_millis: defaults::retry_base_millis(),
            max_retry_after_seconds: defaults::max_retry_after_seconds(),
            consent_days: defaults::consent_days(),
        }
    }
}

impl fmt::Debug for BankApiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &Option<String>| value.as_ref().map(|_| "***");
        f.debug_struct("BankApiSettings")
            .field("api_url", &self.api_url)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("api_key", &hidden(&self.api_key))
            .field("client_certificate", &self.client_certificate)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base_millis", &self.retry_base_millis)
            .field("max_retry_after_seconds", &self.max_retry_after_seconds)
            .field("consent_days", &self.consent_days)
            .finish()
    }
}

/// The tokens of one customer's consent.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: Option<String>,
    /// When the customer's consent lapses and must be given again.
    pub consent_valid_until: DateTime<Utc>,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("access_expires_at", &self.access_expires_at)
            .field("consent_valid_until", &self.consent_valid_until)
            .finish_non_exhaustive()
    }
}

/// The error of a failed call to a bank.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the consent for {bank} has ended ({reason}); the customer must give consent again")]
    ConsentEnded { bank: &'static str, reason: String },
    #[error("{bank} does not give access to IBAN {iban} under this consent")]
    AccountNotFound { bank: &'static str, iban: String },
    #[error(
        "{bank} limits the request rate and asks to wait {} seconds; the sync is tried again later",
        retry_after.map_or_else(|| "an unknown number of".to_owned(), |wait| wait.as_secs().to_string())
    )]
    RateLimited {
        bank: &'static str,
        retry_after: Option<Duration>,
    },
    #[error("{bank} returned HTTP {status} for {url}: {body}")]
    ErrorResponse {
        bank: &'static str,
        status: u16,
        url: String,
        body: String,
    },
    #[error("{bank} cannot be reached at {url}: {reason}")]
    Unreachable {
        bank: &'static str,
        url: String,
        reason: String,
    },
    #[error("{bank} returned an invalid response for {url}: {reason}")]
    Response {
        bank: &'static str,
        url: String,
        reason: String,
    },
    #[error("the {bank} settings are invalid: {reason}")]
    Settings { bank: &'static str, reason: String },
}

impl LinkError {
    /// True when only the customer can repair this, by giving consent again.
    pub fn needs_new_consent(&self) -> bool {
        matches!(self, LinkError::ConsentEnded { .. })
    }
}

/// The provider interface of the automatic bank link: one bank's consent flow and transactions.
#[async_trait::async_trait]
pub trait AccountInformation: Send + Sync {
    fn bank(&self) -> Bank;

    /// Builds the URL where the customer logs in at the bank and consents. The bank sends the
    /// customer back to `redirect_uri` with `code` and the given `state`.
    fn authorization_url(&self, state: &str, redirect_uri: &str) -> String;

    /// Exchanges the code from the consent redirect for the customer's tokens.
    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<Grant, LinkError>;

    /// Gets a new access token with the grant's refresh token; the consent's end stays.
    async fn refresh(&self, grant: &Grant) -> Result<Grant, LinkError>;

    /// Reads the booked transactions of `iban` from `from` to `to`, both included, all pages.
    async fn booked_transactions(
        &self,
        access_token: &str,
        iban: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Transaction>, LinkError>;
}

/// Creates the adapter of `bank`.
pub fn connect(
    bank: Bank,
    settings: &BankApiSettings,
) -> Result<Arc<dyn AccountInformation>, LinkError> {
    let http = http::Http::new(bank, settings)?;
    Ok(match bank {
        Bank::Ing => Arc::new(berlin::BerlinGroup::ing(http, settings)),
        Bank::Rabobank => Arc::new(berlin::BerlinGroup::rabobank(http, settings)),
        Bank::AbnAmro => Arc::new(abnamro::AbnAmro::new(http, settings)),
    })
}

/// Access tokens this close to their end are refreshed before use.
const REFRESH_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Reads booked transactions with the customer's grant, refreshing the access token when it
/// has expired or the bank rejects it. Afterwards `grant` contains the tokens to store.
pub async fn fetch_booked(
    api: &dyn AccountInformation,
    grant: &mut Grant,
    iban: &str,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Transaction>, LinkError> {
    let bank = api.bank().display_name();
    if grant.consent_valid_until <= now {
        return Err(LinkError::ConsentEnded {
            bank,
            reason: format!("it lapsed on {}", grant.consent_valid_until.date_naive()),
        });
    }
    if grant.access_expires_at <= now + REFRESH_MARGIN {
        *grant = api.refresh(grant).await?;
    }
    match api
        .booked_transactions(&grant.access_token, iban, from, to)
        .await
    {
        Err(LinkError::ErrorResponse { status: 401, .. }) => {
            *grant = api.refresh(grant).await?;
            api.booked_transactions(&grant.access_token, iban, from, to)
                .await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_of_dutch_ibans() {
        assert_eq!(Bank::of_iban("NL91ABNA0417164300"), Some(Bank::AbnAmro));
        assert_eq!(Bank::of_iban("NL69INGB0123456789"), Some(Bank::Ing));
        assert_eq!(Bank::of_iban("NL44RABO0123456789"), Some(Bank::Rabobank));
        assert_eq!(Bank::of_iban("NL02TRIO0123456789"), None);
        assert_eq!(Bank::of_iban("DE89370400440532013000"), None);
        assert_eq!(Bank::of_iban("NL"), None);
    }

    #[test]
    fn bank_names_round_trip() {
        for bank in Bank::ALL {
            assert_eq!(bank.as_str().parse::<Bank>(), Ok(bank));
        }
        assert_eq!(
            "knab".parse::<Bank>().unwrap_err().to_string(),
            "unknown bank \"knab\": expected ing, abnamro or rabobank"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut settings = BankApiSettings::new("https://a", "https://b", "https://c", "id");
        settings.client_secret = Some("s3cret".into());
        settings.api_key = Some("k3y".into());
        let printed = format!("{settings:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("k3y"),
            "{printed}"
        );
        let grant = Grant {
            access_token: "t0ken".into(),
            access_expires_at: Utc::now(),
            refresh_token: Some("r3fresh".into()),
            consent_valid_until: Utc::now(),
        };
        let printed = format!("{grant:?}");
        assert!(
            !printed.contains("t0ken") && !printed.contains("r3fresh"),
            "{printed}"
        );
    }
}
