//! ING and Rabobank: account information in the Berlin Group NextGenPSD2 shape.
//!
//! The account list gives each IBAN's `resourceId`. The transactions of that resource come as
//! `transactions.booked[]`, and `transactions._links.next.href` points to the next page until
//! the last page leaves it out. Rabobank adds `raboBookingDateTime`, a UTC moment: its date in
//! Amsterdam is the booking date that Rabobank's statement files show, which can be a day
//! after the JSON's own `bookingDate`, so it is preferred when present.

use chrono::{DateTime, FixedOffset, NaiveDate};
use chrono_tz::Europe::Amsterdam;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::http::{Http, excerpt};
use crate::oauth::OAuth;
use crate::{AccountInformation, Bank, BankApiSettings, Grant, LinkError, Transaction};

/// More pages than this for one range means the bank's paging loops.
const MAX_PAGES: usize = 10_000;

pub(crate) struct BerlinGroup {
    bank: Bank,
    http: Http,
    oauth: OAuth,
    api_url: String,
    accounts_path: &'static str,
    /// ING exchanges codes and refresh tokens with an application token of its own.
    application_token: bool,
    /// Rabobank's `x-ibm-client-id` header.
    client_id_header: Option<String>,
}

impl BerlinGroup {
    pub(crate) fn ing(http: Http, settings: &BankApiSettings) -> Self {
        BerlinGroup {
            bank: Bank::Ing,
            http,
            oauth: OAuth::new(
                Bank::Ing,
                settings,
                "payment-accounts:transactions:view payment-accounts:balances:view",
            ),
            api_url: settings.api_url.trim_end_matches('/').to_owned(),
            accounts_path: "/v3/accounts",
            application_token: true,
            client_id_header: None,
        }
    }

    pub(crate) fn rabobank(http: Http, settings: &BankApiSettings) -> Self {
        BerlinGroup {
            bank: Bank::Rabobank,
            http,
            oauth: OAuth::new(
                Bank::Rabobank,
                settings,
                "ais.balances.read ais.transactions.read-90days",
            ),
            api_url: settings.api_url.trim_end_matches('/').to_owned(),
            accounts_path: "/payments/account-information/ais/v3/accounts",
            application_token: false,
            client_id_header: Some(settings.client_id.clone()),
        }
    }

    async fn application_token(&self) -> Result<Option<String>, LinkError> {
        if !self.application_token {
            return Ok(None);
        }
        self.oauth.application_token(&self.http).await.map(Some)
    }

    /// GETs `url` with the customer's token and reads the JSON response.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<T, LinkError> {
        let (status, body) = self
            .http
            .send(url, |client| {
                let request = client
                    .get(url)
                    .bearer_auth(access_token)
                    .header("Accept", "application/json");
                match &self.client_id_header {
                    Some(id) => request.header("x-ibm-client-id", id),
                    None => request,
                }
            })
            .await?;
        let bank = self.bank.display_name();
        if status != StatusCode::OK {
            return Err(response_error(bank, status, url, &body));
        }
        serde_json::from_str(&body).map_err(|error| LinkError::Response {
            bank,
            url: url.to_owned(),
            reason: error.to_string(),
        })
    }

    async fn resource_id(&self, access_token: &str, iban: &str) -> Result<String, LinkError> {
        let url = format!("{}{}", self.api_url, self.accounts_path);
        let list: AccountList = self.get(&url, access_token).await?;
        list.accounts
            .into_iter()
            .find(|account| account.iban.as_deref().map(compact).as_deref() == Some(iban))
            .map(|account| account.resource_id)
            .ok_or_else(|| LinkError::AccountNotFound {
                bank: self.bank.display_name(),
                iban: iban.to_owned(),
            })
    }

    /// Resolves a `_links` address, which banks give relative to the API's host.
    fn absolute(&self, href: &str) -> Result<String, LinkError> {
        let base = url::Url::parse(&self.api_url).map_err(|error| LinkError::Settings {
            bank: self.bank.display_name(),
            reason: format!("api_url {:?} is not a URL: {error}", self.api_url),
        })?;
        base.join(href)
            .map(String::from)
            .map_err(|error| LinkError::Response {
                bank: self.bank.display_name(),
                url: self.api_url.clone(),
                reason: format!("the next-page link {href:?} is not a URL: {error}"),
            })
    }
}

#[async_trait::async_trait]
impl AccountInformation for BerlinGroup {
    fn bank(&self) -> Bank {
        self.bank
    }

    fn authorization_url(&self, state: &str, redirect_uri: &str) -> String {
        self.oauth.authorization_url(state, redirect_uri)
    }

    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<Grant, LinkError> {
        let application = self.application_token().await?;
        self.oauth
            .exchange_code(&self.http, code, redirect_uri, application.as_deref())
            .await
    }

    async fn refresh(&self, grant: &Grant) -> Result<Grant, LinkError> {
        let application = self.application_token().await?;
        self.oauth
            .refresh(&self.http, grant, application.as_deref())
            .await
    }

    async fn booked_transactions(
        &self,
        access_token: &str,
        iban: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Transaction>, LinkError> {
        let resource = self.resource_id(access_token, iban).await?;
        let first = url::Url::parse_with_params(
            &format!(
                "{}{}/{}/transactions",
                self.api_url, self.accounts_path, resource
            ),
            [
                ("bookingStatus", "booked"),
                ("dateFrom", &from.to_string()),
                ("dateTo", &to.to_string()),
            ],
        )
        .map_err(|error| LinkError::Settings {
            bank: self.bank.display_name(),
            reason: format!("api_url {:?} is not a URL: {error}", self.api_url),
        })?;
        let mut next = Some(String::from(first));
        let mut transactions = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(LinkError::Response {
                    bank: self.bank.display_name(),
                    url,
                    reason: format!("more than {MAX_PAGES} pages: the paging does not end"),
                });
            }
            let page: TransactionsPage = self.get(&url, access_token).await?;
            let Some(report) = page.transactions else {
                break;
            };
            for booked in report.booked {
                transactions.push(booked.into_transaction(self.bank, &url)?);
            }
            if let Some(href) = report.links.and_then(|links| links.next) {
                next = Some(self.absolute(&href.href)?);
            }
        }
        Ok(transactions)
    }
}

/// Turns a non-200 response into the error that names what the caller must do.
pub(crate) fn response_error(
    bank: &'static str,
    status: StatusCode,
    url: &str,
    body: &str,
) -> LinkError {
    let consent_codes = [
        "CONSENT_EXPIRED",
        "CONSENT_INVALID",
        "CONSENT_UNKNOWN",
        "ACCESS_EXCEEDED",
    ];
    if status == StatusCode::FORBIDDEN && consent_codes.iter().any(|code| body.contains(code)) {
        return LinkError::ConsentEnded {
            bank,
            reason: excerpt(body),
        };
    }
    LinkError::ErrorResponse {
        bank,
        status: status.as_u16(),
        url: url.to_owned(),
        body: excerpt(body),
    }
}

/// Returns an IBAN in upper case without spaces.
pub(crate) fn compact(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[derive(Deserialize)]
struct AccountList {
    accounts: Vec<AccountEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountEntry {
    resource_id: String,
    #[serde(default)]
    iban: Option<String>,
}

#[derive(Deserialize)]
struct TransactionsPage {
    #[serde(default)]
    transactions: Option<Report>,
}

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    booked: Vec<Booked>,
    #[serde(rename = "_links", default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<Href>,
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Booked {
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    entry_reference: Option<String>,
    #[serde(default)]
    end_to_end_id: Option<String>,
    booking_date: NaiveDate,
    #[serde(default)]
    value_date: Option<NaiveDate>,
    transaction_amount: Amount,
    #[serde(default)]
    creditor_name: Option<String>,
    #[serde(default)]
    creditor_account: Option<AccountReference>,
    #[serde(default)]
    debtor_name: Option<String>,
    #[serde(default)]
    debtor_account: Option<AccountReference>,
    #[serde(default)]
    remittance_information_unstructured: Option<String>,
    #[serde(default)]
    remittance_information_unstructured_array: Option<Vec<String>>,
    #[serde(default)]
    remittance_information_structured: Option<Structured>,
    #[serde(default)]
    bank_transaction_code: Option<String>,
    #[serde(default)]
    proprietary_bank_transaction_code: Option<String>,
    #[serde(default)]
    rabo_booking_date_time: Option<DateTime<FixedOffset>>,
}

#[derive(Deserialize)]
struct Amount {
    amount: String,
    currency: String,
}

#[derive(Deserialize)]
struct AccountReference {
    #[serde(default)]
    iban: Option<String>,
}

/// Version 1.3 of the standard has a plain string; later versions an object.
#[derive(Deserialize)]
#[serde(untagged)]
enum Structured {
    Text(String),
    Object { reference: String },
}

impl Booked {
    fn into_transaction(self, bank: Bank, url: &str) -> Result<Transaction, LinkError> {
        let amount: Decimal =
            self.transaction_amount
                .amount
                .trim()
                .parse()
                .map_err(|_| LinkError::Response {
                    bank: bank.display_name(),
                    url: url.to_owned(),
                    reason: format!(
                        "transaction amount {:?} is not a decimal number",
                        self.transaction_amount.amount
                    ),
                })?;
        let booking_date = self
            .rabo_booking_date_time
            .map(|moment| moment.with_timezone(&Amsterdam).date_naive())
            .unwrap_or(self.booking_date);
        let (name, account) = if amount.is_sign_negative() {
            (self.creditor_name, self.creditor_account)
        } else {
            (self.debtor_name, self.debtor_account)
        };
        let remittance = match (
            self.remittance_information_unstructured,
            self.remittance_information_unstructured_array,
        ) {
            (Some(text), _) => text,
            (None, Some(lines)) => lines.join(" "),
            (None, None) => String::new(),
        };
        let structured =
            self.remittance_information_structured
                .map(|structured| match structured {
                    Structured::Text(text) => text,
                    Structured::Object { reference } => reference,
                });
        Ok(crate::mapping::transaction(crate::mapping::Fields {
            booking_date,
            value_date: self.value_date.unwrap_or(booking_date),
            amount,
            currency: self.transaction_amount.currency,
            counterparty_iban: account.and_then(|account| account.iban),
            counterparty_name: name,
            remittance,
            end_to_end_id: self.end_to_end_id,
            structured_reference: structured,
            bank_reference: self.entry_reference.or(self.transaction_id),
            transaction_code: self
                .bank_transaction_code
                .or(self.proprietary_bank_transaction_code),
        }))
    }
}
