//! The OAuth 2 authorisation-code flow that all three banks use for the customer's consent.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::{Http, excerpt};
use crate::{Bank, BankApiSettings, Grant, LinkError};

/// Lifetime of an access token, in seconds, when the token response leaves `expires_in` out.
const DEFAULT_ACCESS_SECONDS: i64 = 300;

pub(crate) struct OAuth {
    bank: Bank,
    authorize_url: String,
    token_url: String,
    client_id: String,
    client_secret: Option<String>,
    scope: &'static str,
    consent_days: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
    /// Seconds the refresh token, and so the consent, lasts; Rabobank and ING send it.
    #[serde(default)]
    refresh_token_expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuth {
    pub(crate) fn new(bank: Bank, settings: &BankApiSettings, scope: &'static str) -> Self {
        OAuth {
            bank,
            authorize_url: settings.authorize_url.clone(),
            token_url: settings.token_url.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            scope,
            consent_days: settings.consent_days,
        }
    }

    pub(crate) fn authorization_url(&self, state: &str, redirect_uri: &str) -> String {
        let query = [
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", self.scope),
            ("state", state),
        ];
        match url::Url::parse_with_params(&self.authorize_url, query) {
            Ok(url) => url.into(),
            // An unparsable setting is reported by the first token request; show it as set.
            Err(_) => self.authorize_url.clone(),
        }
    }

    /// Gets an application token with the client credentials (ING's first step).
    pub(crate) async fn application_token(&self, http: &Http) -> Result<String, LinkError> {
        let answer = self
            .request(http, &[("grant_type", "client_credentials")], None)
            .await?;
        Ok(answer.access_token)
    }

    pub(crate) async fn exchange_code(
        &self,
        http: &Http,
        code: &str,
        redirect_uri: &str,
        application_token: Option<&str>,
    ) -> Result<Grant, LinkError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        let answer = self.request(http, &form, application_token).await?;
        Ok(self.grant(answer, Utc::now(), None))
    }

    pub(crate) async fn refresh(
        &self,
        http: &Http,
        grant: &Grant,
        application_token: Option<&str>,
    ) -> Result<Grant, LinkError> {
        let Some(refresh_token) = grant.refresh_token.as_deref() else {
            return Err(LinkError::ConsentEnded {
                bank: self.bank.display_name(),
                reason: "the access token expired and the bank gave no refresh token".into(),
            });
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        match self.request(http, &form, application_token).await {
            Ok(answer) => Ok(self.grant(answer, Utc::now(), Some(grant))),
            Err(LinkError::ErrorResponse { status, body, .. })
                if status == 400 || status == 401 =>
            {
                Err(LinkError::ConsentEnded {
                    bank: self.bank.display_name(),
                    reason: format!("the bank rejected the refresh token: {body}"),
                })
            }
            Err(other) => Err(other),
        }
    }

    fn grant(&self, answer: TokenAnswer, now: DateTime<Utc>, previous: Option<&Grant>) -> Grant {
        let access_seconds = answer.expires_in.unwrap_or(DEFAULT_ACCESS_SECONDS).max(1);
        let consent_valid_until = match (answer.refresh_token_expires_in, previous) {
            // A refresh keeps the consent's end: the customer consented once, for a period.
            (_, Some(previous)) => previous.consent_valid_until,
            (Some(seconds), None) => now + TimeDelta::seconds(seconds.max(0)),
            (None, None) => now + TimeDelta::days(self.consent_days),
        };
        Grant {
            access_token: answer.access_token,
            access_expires_at: now + TimeDelta::seconds(access_seconds),
            refresh_token: answer
                .refresh_token
                .or_else(|| previous.and_then(|grant| grant.refresh_token.clone())),
            consent_valid_until,
        }
    }

    async fn request(
        &self,
        http: &Http,
        form: &[(&str, &str)],
        bearer: Option<&str>,
    ) -> Result<TokenAnswer, LinkError> {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("client_id", &self.client_id));
        if let Some(secret) = &self.client_secret {
            fields.push(("client_secret", secret));
        }
        let (status, body) = http
            .send(&self.token_url, |client| {
                let request = client.post(&self.token_url).form(&fields);
                match bearer {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                }
            })
            .await?;
        let bank = self.bank.display_name();
        if status != StatusCode::OK {
            let body = match serde_json::from_str::<ErrorAnswer>(&body) {
                Ok(error) => match error.error_description {
                    Some(description) => format!("{}: {description}", error.error),
                    None => error.error,
                },
                Err(_) => excerpt(&body),
            };
            return Err(LinkError::ErrorResponse {
                bank,
                status: status.as_u16(),
                url: self.token_url.clone(),
                body,
            });
        }
        serde_json::from_str(&body).map_err(|error| LinkError::Response {
            bank,
            url: self.token_url.clone(),
            reason: format!("expected a token answer with access_token: {error}"),
        })
    }
}
