//! Fake bank servers for tests and demos: each serves one bank's consent flow and transaction
//! JSON on 127.0.0.1, as that bank documents it, with paging, token expiry, revoked consents,
//! and injected 429 and 503 responses.
//!
//! The authorisation endpoint approves at once: it redirects to the `redirect_uri` with a code,
//! as the bank does after the customer logged in and consented. [`FakeBank::consent`] follows
//! that step for a test.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::{Bank, BankApiSettings};

/// The client id the fake banks accept.
pub const CLIENT_ID: &str = "fake-client";

/// One booked transaction of a fake bank.
#[derive(Debug, Clone)]
pub struct FakeTransaction {
    pub booking_date: NaiveDate,
    /// The moment of booking; Rabobank sends it as `raboBookingDateTime`. Without it, noon UTC
    /// of the booking date.
    pub booked_at: Option<DateTime<Utc>>,
    pub amount: Decimal,
    pub counterparty_iban: Option<String>,
    pub counterparty_name: Option<String>,
    pub remittance: String,
    pub end_to_end_id: Option<String>,
    pub structured_reference: Option<String>,
    pub entry_reference: String,
}

impl FakeTransaction {
    /// Creates a transaction without counterparty, description or references.
    pub fn new(booking_date: NaiveDate, amount: Decimal, entry_reference: &str) -> Self {
        FakeTransaction {
            booking_date,
            booked_at: None,
            amount,
            counterparty_iban: None,
            counterparty_name: None,
            remittance: String::new(),
            end_to_end_id: None,
            structured_reference: None,
            entry_reference: entry_reference.to_owned(),
        }
    }
}

/// A response that the next account-information request gets in place of the real one.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    TooManyRequests { retry_after_seconds: u64 },
    Unavailable,
}

struct Account {
    iban: String,
    resource_id: String,
    transactions: Vec<FakeTransaction>,
}

struct Inner {
    bank: Bank,
    address: SocketAddr,
    accounts: Vec<Account>,
    page_size: usize,
    codes: HashMap<String, String>,
    application_tokens: HashSet<String>,
    access_tokens: HashMap<String, DateTime<Utc>>,
    refresh_tokens: HashSet<String>,
    access_seconds: i64,
    consent_seconds: Option<i64>,
    consent_revoked: bool,
    faults: VecDeque<Fault>,
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records an account-information request and locks the bank for it, or returns the response
/// that rejects it (see [`rejection`]).
fn admit<'a>(
    shared: &'a Shared,
    uri: &axum::http::Uri,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<MutexGuard<'a, Inner>, Box<Response>> {
    let mut inner = lock(shared);
    record(&mut inner, "GET", uri.path(), query);
    match rejection(&mut inner, headers) {
        Some(rejected) => Err(Box::new(rejected)),
        None => Ok(inner),
    }
}

/// A running fake bank; it stops when dropped.
pub struct FakeBank {
    bank: Bank,
    address: SocketAddr,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBank {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBank {
    /// Starts a fake `bank` on a free port of 127.0.0.1.
    pub async fn start(bank: Bank) -> std::io::Result<FakeBank> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let inner = Arc::new(Mutex::new(Inner {
            bank,
            address,
            accounts: Vec::new(),
            page_size: 50,
            codes: HashMap::new(),
            application_tokens: HashSet::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            access_seconds: 3600,
            // ABN AMRO's token response leaves out how long the consent lasts.
            consent_seconds: (bank != Bank::AbnAmro).then_some(90 * 24 * 3600),
            consent_revoked: false,
            faults: VecDeque::new(),
            requests: Vec::new(),
        }));
        let oauth = Router::new()
            .route("/oauth2/authorize", get(authorize))
            .route("/oauth2/token", post(token));
        let api = match bank {
            Bank::Ing => Router::new()
                .route("/v3/accounts", get(accounts))
                .route("/v3/accounts/{id}/transactions", get(berlin_transactions)),
            Bank::Rabobank => Router::new()
                .route(
                    "/payments/account-information/ais/v3/accounts",
                    get(accounts),
                )
                .route(
                    "/payments/account-information/ais/v3/accounts/{id}/transactions",
                    get(berlin_transactions),
                ),
            Bank::AbnAmro => Router::new().route(
                "/v1/accounts/{iban}/transactions",
                get(abnamro_transactions),
            ),
        };
        let router = oauth.merge(api).with_state(inner.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "fake bank stopped");
            }
        });
        Ok(FakeBank {
            bank,
            address,
            inner,
            task,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    pub fn bank(&self) -> Bank {
        self.bank
    }

    /// Settings that reach this fake bank, with short retry waits.
    pub fn settings(&self) -> BankApiSettings {
        let base = format!("http://{}", self.address);
        let mut settings = BankApiSettings::new(
            &base,
            &format!("{base}/oauth2/authorize"),
            &format!("{base}/oauth2/token"),
            CLIENT_ID,
        );
        settings.api_key = (self.bank == Bank::AbnAmro).then(|| "fake-api-key".to_owned());
        settings.retry_base_millis = 10;
        settings.max_retry_after_seconds = 2;
        settings.timeout_seconds = 10;
        settings
    }

    /// Opens an account that the customer's consent covers.
    pub fn add_account(&self, iban: &str) {
        let mut inner = self.lock();
        let resource_id = format!("acc-{}", inner.accounts.len() + 1);
        inner.accounts.push(Account {
            iban: iban.to_owned(),
            resource_id,
            transactions: Vec::new(),
        });
    }

    /// Books a transaction on an account opened with [`FakeBank::add_account`].
    pub fn book(&self, iban: &str, transaction: FakeTransaction) {
        let mut inner = self.lock();
        let account = inner
            .accounts
            .iter_mut()
            .find(|account| account.iban == iban)
            .unwrap_or_else(|| panic!("fake bank has no account {iban}"));
        account.transactions.push(transaction);
        account
            .transactions
            .sort_by_key(|transaction| transaction.booking_date);
    }

    /// Transactions per page.
    pub fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    /// Lifetime of new access tokens.
    pub fn set_access_seconds(&self, seconds: i64) {
        self.lock().access_seconds = seconds;
    }

    /// Sets the consent lifetime that token responses state, or `None` to leave it out.
    pub fn set_consent_seconds(&self, seconds: Option<i64>) {
        self.lock().consent_seconds = seconds;
    }

    /// Makes every access token issued so far expire now.
    pub fn expire_access_tokens(&self) {
        let now = Utc::now();
        for expiry in self.lock().access_tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Withdraws the customer's consent at the bank, so tokens no longer refresh and requests fail.
    pub fn revoke_consent(&self) {
        let mut inner = self.lock();
        inner.consent_revoked = true;
        inner.refresh_tokens.clear();
    }

    /// Queues a response for the next account-information request.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Returns every request received, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// Plays the customer who opens `authorization_url` and consents; returns the code and
    /// state of the redirect back.
    pub async fn consent(&self, authorization_url: &str) -> Result<(String, String), String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| error.to_string())?;
        let response = client
            .get(authorization_url)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| format!("no redirect: answered {}", response.status()))?;
        let url = url::Url::parse(location).map_err(|error| error.to_string())?;
        let find = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
                .ok_or_else(|| format!("redirect {location} has no {name}"))
        };
        Ok((find("code")?, find("state")?))
    }
}

fn record(inner: &mut Inner, method: &str, path: &str, query: &HashMap<String, String>) {
    let mut pairs: Vec<_> = query
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    pairs.sort();
    inner
        .requests
        .push(format!("{method} {path}?{}", pairs.join("&")));
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn authorize(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = lock(&shared);
    record(&mut inner, "GET", "/oauth2/authorize", &query);
    let (Some(redirect), Some(state)) = (query.get("redirect_uri"), query.get("state")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri and state are required",
        );
    };
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "unknown client_id",
        );
    }
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    inner.codes.insert(code.clone(), redirect.clone());
    inner.consent_revoked = false;
    let Ok(mut target) = url::Url::parse(redirect) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not a URL",
        );
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = lock(&shared);
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    inner.requests.push(format!(
        "POST /oauth2/token grant_type={}",
        field("grant_type")
    ));
    if field("client_id") != CLIENT_ID {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        );
    }
    let bearer = bearer(&headers);
    let needs_application_token = inner.bank == Bank::Ing;
    match field("grant_type").as_str() {
        "client_credentials" if needs_application_token => {
            let token = format!("app-{}", uuid::Uuid::new_v4().simple());
            inner.application_tokens.insert(token.clone());
            axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 900}))
                .into_response()
        }
        grant @ ("authorization_code" | "refresh_token") => {
            if needs_application_token
                && !bearer.is_some_and(|token| inner.application_tokens.contains(&token))
            {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "an application access token is required",
                );
            }
            let refresh_token = if grant == "authorization_code" {
                match inner.codes.remove(&field("code")) {
                    Some(redirect) if redirect == field("redirect_uri") => {
                        format!("refresh-{}", uuid::Uuid::new_v4().simple())
                    }
                    Some(_) => {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "redirect_uri differs",
                        );
                    }
                    None => {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "unknown or used code",
                        );
                    }
                }
            } else {
                let given = field("refresh_token");
                if !inner.refresh_tokens.contains(&given) {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "refresh token expired or revoked",
                    );
                }
                given
            };
            let access = format!("access-{}", uuid::Uuid::new_v4().simple());
            let expires = Utc::now() + TimeDelta::seconds(inner.access_seconds);
            inner.access_tokens.insert(access.clone(), expires);
            inner.refresh_tokens.insert(refresh_token.clone());
            let mut answer = json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": inner.access_seconds,
                "refresh_token": refresh_token,
            });
            if let Some(seconds) = inner.consent_seconds {
                answer["refresh_token_expires_in"] = json!(seconds);
            }
            axum::Json(answer).into_response()
        }
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("grant_type {other:?}"),
        ),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

/// Checks the faults, the token and the consent of an account-information request, and
/// returns the refusal when one applies.
fn rejection(inner: &mut Inner, headers: &HeaderMap) -> Option<Response> {
    if let Some(fault) = inner.faults.pop_front() {
        return Some(match fault {
            Fault::TooManyRequests {
                retry_after_seconds,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_seconds.to_string())],
                "rate limit exceeded",
            )
                .into_response(),
            Fault::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response(),
        });
    }
    if inner.bank == Bank::AbnAmro && headers.get("API-Key").is_none() {
        return Some((StatusCode::UNAUTHORIZED, "API-Key header missing").into_response());
    }
    let valid = bearer(headers)
        .and_then(|token| inner.access_tokens.get(&token).copied())
        .is_some_and(|expires| expires > Utc::now());
    if !valid {
        return Some((StatusCode::UNAUTHORIZED, "access token invalid or expired").into_response());
    }
    if inner.consent_revoked {
        let body = json!({"tppMessages": [{"category": "ERROR", "code": "CONSENT_EXPIRED",
            "text": "The consent was withdrawn or has expired"}]});
        return Some((StatusCode::FORBIDDEN, axum::Json(body)).into_response());
    }
    None
}

async fn accounts(
    State(shared): State<Shared>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let inner = match admit(&shared, &uri, &HashMap::new(), &headers) {
        Ok(inner) => inner,
        Err(rejected) => return *rejected,
    };
    let accounts: Vec<Value> = inner
        .accounts
        .iter()
        .map(|account| json!({"resourceId": account.resource_id, "iban": account.iban, "currency": "EUR"}))
        .collect();
    axum::Json(json!({"accounts": accounts})).into_response()
}

/// Selects the transactions of an account between the query's dates.
fn in_range<'a>(
    account: &'a Account,
    from: Option<&String>,
    to: Option<&String>,
) -> Vec<&'a FakeTransaction> {
    let date = |value: Option<&String>| value.and_then(|text| text.parse::<NaiveDate>().ok());
    let (from, to) = (date(from), date(to));
    account
        .transactions
        .iter()
        .filter(|transaction| from.is_none_or(|from| transaction.booking_date >= from))
        .filter(|transaction| to.is_none_or(|to| transaction.booking_date <= to))
        .collect()
}

async fn berlin_transactions(
    State(shared): State<Shared>,
    Path(resource_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let inner = match admit(&shared, &uri, &query, &headers) {
        Ok(inner) => inner,
        Err(rejected) => return *rejected,
    };
    let Some(account) = inner
        .accounts
        .iter()
        .find(|account| account.resource_id == resource_id)
    else {
        return (StatusCode::NOT_FOUND, "unknown account").into_response();
    };
    let selected = in_range(account, query.get("dateFrom"), query.get("dateTo"));
    let offset: usize = query
        .get("page")
        .or(query.get("next"))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let end = (offset + inner.page_size).min(selected.len());
    let booked: Vec<Value> = selected[offset.min(end)..end]
        .iter()
        .map(|transaction| berlin_json(inner.bank, transaction))
        .collect();
    let mut report = json!({"booked": booked, "pending": []});
    if end < selected.len() {
        let mut next = url::Url::parse(&format!("http://{}{}", inner.address, uri.path()))
            .expect("own address is a URL");
        {
            let mut pairs = next.query_pairs_mut();
            for key in ["bookingStatus", "dateFrom", "dateTo"] {
                if let Some(value) = query.get(key) {
                    pairs.append_pair(key, value);
                }
            }
            // ING's link is relative and names the position `next`; Rabobank's is absolute
            // and counts `page`.
            let name = if inner.bank == Bank::Ing {
                "next"
            } else {
                "page"
            };
            pairs.append_pair(name, &end.to_string());
        }
        let href = if inner.bank == Bank::Ing {
            format!("{}?{}", next.path(), next.query().unwrap_or_default())
        } else {
            next.to_string()
        };
        report["_links"] = json!({"next": {"href": href}});
    }
    axum::Json(json!({"account": {"iban": account.iban}, "transactions": report})).into_response()
}

fn berlin_json(bank: Bank, transaction: &FakeTransaction) -> Value {
    let booked_at = transaction.booked_at.unwrap_or_else(|| {
        transaction
            .booking_date
            .and_hms_opt(12, 0, 0)
            .expect("noon exists")
            .and_utc()
    });
    let mut value = json!({
        "transactionId": format!("tx-{}", transaction.entry_reference),
        "entryReference": transaction.entry_reference,
        // Rabobank's bookingDate is the UTC date of the booking moment.
        "bookingDate": if bank == Bank::Rabobank { booked_at.date_naive() } else { transaction.booking_date },
        "valueDate": transaction.booking_date,
        "transactionAmount": {"amount": transaction.amount.to_string(), "currency": "EUR"},
        "remittanceInformationUnstructured": transaction.remittance,
        "bankTransactionCode": "PMNT-RCDT-ESCT",
    });
    let (name_key, account_key) = if transaction.amount.is_sign_negative() {
        ("creditorName", "creditorAccount")
    } else {
        ("debtorName", "debtorAccount")
    };
    if let Some(name) = &transaction.counterparty_name {
        value[name_key] = json!(name);
    }
    if let Some(iban) = &transaction.counterparty_iban {
        value[account_key] = json!({"iban": iban});
    }
    if let Some(id) = &transaction.end_to_end_id {
        value["endToEndId"] = json!(id);
    }
    if let Some(reference) = &transaction.structured_reference {
        value["remittanceInformationStructured"] = match bank {
            Bank::Ing => json!({"reference": reference, "referenceType": "SCOR"}),
            _ => json!(reference),
        };
    }
    if bank == Bank::Rabobank {
        value["raboBookingDateTime"] = json!(booked_at.to_rfc3339());
        value["raboTransactionTypeName"] = json!("Overboeking");
    }
    value
}

async fn abnamro_transactions(
    State(shared): State<Shared>,
    Path(iban): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let inner = match admit(&shared, &uri, &query, &headers) {
        Ok(inner) => inner,
        Err(rejected) => return *rejected,
    };
    let Some(account) = inner.accounts.iter().find(|account| account.iban == iban) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"errors": [{"code": "ERR_1100_004", "message": "Account not found"}]}),
            ),
        )
            .into_response();
    };
    let selected = in_range(account, query.get("bookDateFrom"), query.get("bookDateTo"));
    let offset: usize = query
        .get("nextPageKey")
        .and_then(|key| key.strip_prefix('k'))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let end = (offset + inner.page_size).min(selected.len());
    let transactions: Vec<Value> = selected[offset.min(end)..end]
        .iter()
        .map(|transaction| abnamro_json(transaction))
        .collect();
    let mut page = json!({"accountNumber": account.iban, "transactions": transactions});
    if end < selected.len() {
        page["nextPageKey"] = json!(format!("k{end}"));
    }
    axum::Json(page).into_response()
}

fn abnamro_json(transaction: &FakeTransaction) -> Value {
    let mut lines = vec![transaction.remittance.clone()];
    if let Some(reference) = &transaction.structured_reference {
        let digits: String = reference.chars().filter(|c| !c.is_whitespace()).collect();
        lines.push(format!("BETALINGSKENM.: {digits}"));
    }
    let mut value = json!({
        "transactionId": transaction.entry_reference,
        "mutationCode": "940",
        "descriptionLines": lines,
        "bookDate": transaction.booking_date,
        "valueDate": transaction.booking_date,
        "amount": transaction.amount.to_f64().unwrap_or_default(),
        "currency": "EUR",
    });
    if let Some(iban) = &transaction.counterparty_iban {
        value["counterPartyAccountNumber"] = json!(iban);
    }
    if let Some(name) = &transaction.counterparty_name {
        value["counterPartyName"] = json!(name);
    }
    value
}
