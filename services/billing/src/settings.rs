//! Typed settings of the billing service.

use std::path::Path;

use dk_config::{
    AuthSettings, ConfigError, DatabaseSettings, GrpcSettings, MessagingSettings, TelemetrySettings,
};
use serde::Deserialize;
use uuid::Uuid;

/// Compiled-in defaults; see the file for each value's meaning.
pub const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub messaging: MessagingSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub issuer: IssuerSettings,
    pub invoicing: InvoicingSettings,
}

/// The vendor that issues the subscription invoices: the supplier on every invoice.
///
/// Empty fields are allowed at start-up; issuing an invoice without one of the legal fields
/// fails with an error that names it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerSettings {
    /// The vendor's own organisation: its staff call the staff RPCs, and its bookkeeping books
    /// the invoices.
    pub organisation_id: Uuid,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166 alpha-2 code.
    pub country_code: String,
    /// Chamber of Commerce (KvK) number, 8 digits.
    pub kvk_number: String,
    pub vat_id: String,
    /// Account the customers pay to.
    pub iban: String,
    /// Prefix of the invoice numbers, for example `DK`; the series itself is one gapless
    /// counter per issuer.
    pub number_prefix: String,
}

impl IssuerSettings {
    /// Returns a made-up vendor with every legal field filled, for `dk dev`, the demo and tests. The KvK
    /// number, VAT id and IBAN are the documented example values, not a real company's.
    pub fn demo(organisation_id: Uuid) -> Self {
        Self {
            organisation_id,
            name: "Kantoorsoft Demo B.V.".to_owned(),
            street: "Stationsplein 1".to_owned(),
            postal_code: "3511 ED".to_owned(),
            city: "Utrecht".to_owned(),
            country_code: "NL".to_owned(),
            kvk_number: "12345678".to_owned(),
            vat_id: "NL123456789B01".to_owned(),
            iban: "NL91ABNA0417164300".to_owned(),
            number_prefix: "DK".to_owned(),
        }
    }
}

/// When and how invoices are issued.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InvoicingSettings {
    /// Days between the issue date and the due date.
    pub payment_term_days: u32,
    /// Seconds between two checks of the monthly invoice run; 0 turns the scheduled run off,
    /// leaving only the RunMonthlyInvoices call.
    pub run_interval_seconds: u64,
}

impl Settings {
    /// Loads defaults, then the optional file, then `DK_BILLING__…` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        dk_config::load("billing", DEFAULTS, file)
    }

    /// Checks the issuer's identifiers that are set. An empty one is left to the invoice run,
    /// which names every missing legal field of an invoice it cannot issue.
    fn validate_own(&self) -> Result<(), String> {
        let issuer = &self.issuer;
        let iban = issuer.iban.trim();
        if !iban.is_empty() {
            dk_domain::Iban::parse(iban).map_err(|error| format!("issuer.iban: {error}"))?;
        }
        let kvk = issuer.kvk_number.trim();
        let kvk_valid = kvk.len() == 8 && kvk.bytes().all(|b| b.is_ascii_digit());
        if !kvk.is_empty() && !kvk_valid {
            return Err(format!(
                "issuer.kvk_number: {kvk:?} is not a KvK number: expected 8 digits"
            ));
        }
        let country = issuer.country_code.trim();
        let country_valid = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        if !country.is_empty() && !country_valid {
            return Err(format!(
                "issuer.country_code: {country:?} is not a country code: expected two capital \
                 letters (ISO 3166), for example NL"
            ));
        }
        Ok(())
    }
}

dk_runtime::service_settings!(Settings, validate = Settings::validate_own);

#[cfg(test)]
mod validation_tests {
    use super::*;

    #[test]
    fn default_issuer_is_valid() {
        let settings = Settings::load(None).expect("defaults load");
        assert_eq!(settings.validate_own(), Ok(()));
    }

    #[test]
    fn malformed_issuer_identifiers_rejected() {
        let defaults = Settings::load(None).expect("defaults load");
        let mut settings = defaults.clone();
        settings.issuer.iban = "NL00XXXX".into();
        let error = settings.validate_own().expect_err("a bad IBAN");
        assert!(
            error.starts_with("issuer.iban: invalid IBAN \"NL00XXXX\""),
            "{error}"
        );

        let mut settings = defaults.clone();
        settings.issuer.kvk_number = "1234567".into();
        let error = settings.validate_own().expect_err("a short KvK number");
        assert!(error.contains("expected 8 digits"), "{error}");

        let mut settings = defaults;
        settings.issuer.country_code = "nl".into();
        let error = settings
            .validate_own()
            .expect_err("a lower-case country code");
        assert!(error.contains("two capital letters"), "{error}");
    }

    #[test]
    fn empty_issuer_identifiers_pass() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.issuer.iban.clear();
        settings.issuer.kvk_number.clear();
        settings.issuer.country_code.clear();
        assert_eq!(settings.validate_own(), Ok(()));
    }
}
