//! The gRPC face of billing: creating and reading quotes.

use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, SubsecRound, Utc};
use dk_pricing::{Basket, ItemKind, Language, QuoteError, QuoteStatus};
use dk_proto::billing::v1 as pb;
use dk_proto::billing::v1::billing_service_server::BillingService;
use dk_proto::convert::timestamp_from;
use dk_runtime::auth::caller;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use rust_decimal::Decimal;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, IntoActiveModel};
use serde::Serialize;
use tonic::{Request, Response, Status};

use crate::entity::quote;

/// Days after the quote date until which a quote can be accepted.
const QUOTE_VALID_DAYS: u64 = 30;

/// Shared state of the gRPC handlers.
pub struct Billing {
    pub db: DatabaseConnection,
}

#[tonic::async_trait]
impl BillingService for Billing {
    async fn create_quote(
        &self,
        request: Request<pb::CreateQuoteRequest>,
    ) -> Result<Response<pb::CreateQuoteResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "CreateQuote",
            &request.idempotency_key,
            &request,
        )?;
        let basket = basket_from_request(&request)?;
        // PostgreSQL keeps microseconds, so the time is cut to them before it is returned.
        let now = Utc::now().trunc_subsecs(6);
        let quote_date = now
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();

        let context = "creating a quote";
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(Response::new(response));
        }
        let catalogue = crate::catalogue::load(&transaction, quote_date)
            .await
            .map_err(|e| status::internal("loading the catalogue", &e))?;
        let priced = dk_pricing::quote(&catalogue, &basket).map_err(|e| quote_error(&basket, e))?;
        let row = quote_row(organisation, &basket, &priced, now, quote_date)?;
        let row = row
            .into_active_model()
            .insert(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let response = pb::CreateQuoteResponse {
            quote: Some(quote_to_proto(&row, &priced)),
        };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(Response::new(response))
    }

    async fn get_quote(
        &self,
        request: Request<pb::GetQuoteRequest>,
    ) -> Result<Response<pb::GetQuoteResponse>, Status> {
        let caller = caller(&request)?;
        let text = &request.get_ref().quote_id;
        let id = Uuid::from_str(text).map_err(|_| {
            status::invalid_argument(
                "quote_id",
                format!("{text:?} is not a UUID: expected the quote_id that CreateQuote returned"),
            )
        })?;
        let row = quote::Entity::find_by_id(id)
            .filter(quote::Column::OrganisationId.eq(caller.organisation_id.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| status::from_db("reading a quote", e))?
            .ok_or_else(|| status::not_found("quote", &id.to_string()))?;
        let priced: dk_pricing::Quote = serde_json::from_str(&row.quote)
            .map_err(|e| status::internal("reading a stored quote", &e))?;
        Ok(Response::new(pb::GetQuoteResponse {
            quote: Some(quote_to_proto(&row, &priced)),
        }))
    }
}

/// Checks what the pricing engine cannot see (the wire's signed user count and language enum)
/// and builds the basket.
fn basket_from_request(request: &pb::CreateQuoteRequest) -> Result<Basket, Status> {
    let users = u32::try_from(request.users)
        .ok()
        .filter(|users| *users > 0)
        .ok_or_else(|| {
            status::invalid_argument(
                "users",
                format!(
                    "invalid user count {}: expected at least 1, the included user counted",
                    request.users
                ),
            )
        })?;
    let language = match pb::Language::try_from(request.language) {
        Ok(pb::Language::Unspecified | pb::Language::Nl) => Language::Nl,
        Ok(pb::Language::En) => Language::En,
        Err(_) => {
            return Err(status::invalid_argument(
                "language",
                format!(
                    "unknown language {}: expected LANGUAGE_NL or LANGUAGE_EN",
                    request.language
                ),
            ));
        }
    };
    let country = match request.country_code.trim() {
        "" => "NL".to_owned(),
        country => country.to_owned(),
    };
    let vat_id = match request.vat_id.trim() {
        "" => None,
        vat_id => Some(vat_id.to_owned()),
    };
    Ok(Basket {
        modules: request.modules.clone(),
        add_ons: request.addons.clone(),
        bank_link: request.bank_link,
        one_off_products: Vec::new(),
        users,
        country,
        vat_id,
        language,
    })
}

/// Maps a pricing error to INVALID_ARGUMENT on the request field that caused it. Errors of the
/// catalogue itself are internal, because the caller cannot fix them.
fn quote_error(basket: &Basket, error: QuoteError) -> Status {
    let field = match &error {
        QuoteError::UnknownCode { kind, .. } => match kind {
            ItemKind::AddOn => "addons",
            ItemKind::Module | ItemKind::OrganisationOption | ItemKind::OneOff => "modules",
        },
        QuoteError::DuplicateCode(code) => {
            if basket.modules.iter().any(|module| module.trim() == code) {
                "modules"
            } else {
                "addons"
            }
        }
        QuoteError::ZeroUsers => "users",
        QuoteError::BankLinkWithoutModule { .. }
        | QuoteError::TooManyIbans { .. }
        | QuoteError::BankLinkNotInCatalogue => "bank_link",
        QuoteError::InvalidCountry(_) => "country_code",
        QuoteError::InvalidVatId { .. } | QuoteError::VatIdCountryMismatch { .. } => "vat_id",
        QuoteError::SeveralVersions(_)
        | QuoteError::NoUserPricing
        | QuoteError::ChangeOutsideBillingMonth { .. }
        | QuoteError::InvalidBillingMonth { .. } => {
            return status::internal("pricing a quote", &error);
        }
    };
    status::invalid_argument(field, error.to_string())
}

fn quote_row(
    organisation: Uuid,
    basket: &Basket,
    priced: &dk_pricing::Quote,
    now: DateTime<Utc>,
    quote_date: NaiveDate,
) -> Result<quote::Model, Status> {
    let minor = |money: dk_domain::Money| {
        money
            .to_minor_units()
            .map_err(|e| status::internal("storing a quote", &e))
    };
    let mut vat_minor = 0;
    for vat in &priced.vat {
        vat_minor += minor(vat.amount)?;
    }
    Ok(quote::Model {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        created_at: now,
        valid_until: quote_date + Days::new(QUOTE_VALID_DAYS),
        language: language_code(priced.language).to_owned(),
        basket: to_json(basket)?,
        quote: to_json(priced)?,
        status: match priced.status {
            QuoteStatus::Priced => "priced",
            QuoteStatus::CustomPricingRequired => "custom_pricing_required",
        }
        .to_owned(),
        currency: priced.net.currency().to_string(),
        net_minor: minor(priced.net)?,
        vat_minor,
        total_minor: minor(priced.total)?,
    })
}

fn language_code(language: Language) -> &'static str {
    match language {
        Language::Nl => "nl",
        Language::En => "en",
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, Status> {
    serde_json::to_string(value).map_err(|e| status::internal("storing a quote", &e))
}

/// Builds the wire quote from its row and the priced quote stored in it.
fn quote_to_proto(row: &quote::Model, priced: &dk_pricing::Quote) -> pb::Quote {
    let lines = priced
        .lines
        .iter()
        .map(|line| pb::QuoteLine {
            code: line.code.clone(),
            description: line.description.clone(),
            quantity: line.quantity.normalize().to_string(),
            unit_price: line.unit_price.map(Into::into),
            amount: line.amount.map(Into::into),
            explanation: line.explanation.clone(),
        })
        .collect();
    let vat = priced
        .vat
        .iter()
        .map(|vat| pb::VatLine {
            rate: (vat.rate * Decimal::ONE_HUNDRED).normalize().to_string(),
            base: Some(vat.base.into()),
            amount: Some(vat.amount.into()),
        })
        .collect();
    let status = match priced.status {
        QuoteStatus::Priced => pb::QuoteStatus::Priced,
        QuoteStatus::CustomPricingRequired => pb::QuoteStatus::CustomPricingRequired,
    };
    let language = match priced.language {
        Language::Nl => pb::Language::Nl,
        Language::En => pb::Language::En,
    };
    pb::Quote {
        quote_id: row.id.to_string(),
        lines,
        net: Some(priced.net.into()),
        vat,
        total: Some(priced.total.into()),
        status: status as i32,
        reverse_charge: priced.reverse_charge,
        vat_note: priced.vat_note.clone().unwrap_or_default(),
        customer_vat_id: priced.customer_vat_id.clone().unwrap_or_default(),
        valid_until: Some(row.valid_until.into()),
        language: language as i32,
        create_time: Some(timestamp_from(row.created_at)),
    }
}
