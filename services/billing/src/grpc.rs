//! The gRPC face of billing. Each handler checks its request, runs in one write transaction
//! with its idempotency key, and maps domain errors to statuses that name the field or the rule.

use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, SubsecRound, Utc};
use dk_messaging::outbox::Relay;
use dk_pricing::{Basket, Catalogue, ItemKind, Language, QuoteError, QuoteStatus};
use dk_proto::billing::v1 as pb;
use dk_proto::billing::v1::billing_service_server::BillingService;
use dk_proto::convert::timestamp_from;
use dk_runtime::auth::{Role, caller};
use dk_runtime::idempotency::Key;
use dk_runtime::status;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use sea_orm::entity::prelude::*;
use serde::Serialize;
use tonic::{Request, Response, Status};

use crate::catalogue;
use crate::entity::quote;
use crate::invoicing::Issuer;

/// Days after the quote date until which a quote can be accepted.
const QUOTE_VALID_DAYS: u64 = 30;

/// Shared state of the gRPC handlers.
pub struct Billing {
    pub db: DatabaseConnection,
    pub catalogues: catalogue::Reader,
    pub issuer: Issuer,
    pub relay: Relay,
    /// Commits new quotes in batches.
    pub quotes: crate::quote_writer::QuoteWriter,
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
            &canonical_quote_request(&request),
        )?;
        let basket = basket_from_request(&request)?;
        // PostgreSQL keeps microseconds, so the time is cut to them before it is returned.
        let now = Utc::now().trunc_subsecs(6);
        let quote_date = crate::licensing::local_date(now);

        let catalogue = self
            .catalogues
            .in_force(&self.db, quote_date)
            .await
            .map_err(|e| status::internal("loading the catalogue", &e))?;
        require_module(&basket, &catalogue)?;
        let priced = match dk_pricing::quote(&catalogue, &basket) {
            Ok(priced) => priced,
            Err(error) => {
                // A repeated key returns its first quote even when the catalogue has changed
                // since and no longer prices the basket.
                if let Some(response) = crate::quote_writer::replay(&self.db, &key).await? {
                    return Ok(Response::new(response));
                }
                return Err(quote_error(&basket, error));
            }
        };
        let mut row = quote_row(organisation, &basket, &priced, now, quote_date)?;
        row.idempotency_key = Some(key.key.clone());
        row.request_hash = Some(key.request_hash.clone());
        let response = pb::CreateQuoteResponse {
            quote: Some(quote_to_proto(&row, &priced)),
        };
        let response = self.quotes.write(key, row, response).await?;
        Ok(Response::new(response))
    }

    async fn get_quote(
        &self,
        request: Request<pb::GetQuoteRequest>,
    ) -> Result<Response<pb::GetQuoteResponse>, Status> {
        let caller = caller(&request)?;
        let id = parse_uuid(
            "quote_id",
            &request.get_ref().quote_id,
            "the quote_id that CreateQuote returned",
        )?;
        let row = find_quote(&self.db, caller.organisation_id.as_uuid(), id).await?;
        let priced = stored_quote(&row)?;
        Ok(Response::new(pb::GetQuoteResponse {
            quote: Some(quote_to_proto(&row, &priced)),
        }))
    }

    async fn set_custom_user_price(
        &self,
        request: Request<pb::SetCustomUserPriceRequest>,
    ) -> Result<Response<pb::SetCustomUserPriceResponse>, Status> {
        let caller = caller(&request)?;
        caller.require_staff(Role::Sales, self.vendor())?;
        let request = request.into_inner();
        crate::licence_calls::set_custom_user_price(self, &caller, request)
            .await
            .map(Response::new)
    }

    async fn start_trial(
        &self,
        request: Request<pb::StartTrialRequest>,
    ) -> Result<Response<pb::StartTrialResponse>, Status> {
        let caller = caller(&request)?;
        crate::licence_calls::start_trial(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn accept_quote(
        &self,
        request: Request<pb::AcceptQuoteRequest>,
    ) -> Result<Response<pb::AcceptQuoteResponse>, Status> {
        let caller = caller(&request)?;
        crate::licence_calls::accept_quote(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_licence(
        &self,
        request: Request<pb::GetLicenceRequest>,
    ) -> Result<Response<pb::GetLicenceResponse>, Status> {
        let caller = caller(&request)?;
        crate::licence_calls::get_licence(self, &caller)
            .await
            .map(Response::new)
    }

    async fn preview_licence_change(
        &self,
        request: Request<pb::PreviewLicenceChangeRequest>,
    ) -> Result<Response<pb::PreviewLicenceChangeResponse>, Status> {
        let caller = caller(&request)?;
        crate::licence_calls::preview_change(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn change_licence(
        &self,
        request: Request<pb::ChangeLicenceRequest>,
    ) -> Result<Response<pb::ChangeLicenceResponse>, Status> {
        let caller = caller(&request)?;
        crate::licence_calls::change_licence(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_billing_details(
        &self,
        request: Request<pb::UpdateBillingDetailsRequest>,
    ) -> Result<Response<pb::UpdateBillingDetailsResponse>, Status> {
        let caller = caller(&request)?;
        crate::licence_calls::update_billing_details(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        let caller = caller(&request)?;
        crate::invoice_calls::list_invoices(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        let caller = caller(&request)?;
        crate::invoice_calls::get_invoice(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn run_monthly_invoices(
        &self,
        request: Request<pb::RunMonthlyInvoicesRequest>,
    ) -> Result<Response<pb::RunMonthlyInvoicesResponse>, Status> {
        let caller = caller(&request)?;
        caller.require_staff(Role::Finance, self.vendor())?;
        crate::invoice_calls::run_monthly_invoices(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn issue_credit_note(
        &self,
        request: Request<pb::IssueCreditNoteRequest>,
    ) -> Result<Response<pb::IssueCreditNoteResponse>, Status> {
        let caller = caller(&request)?;
        caller.require_staff(Role::Finance, self.vendor())?;
        crate::invoice_calls::issue_credit_note(self, &caller, request.into_inner())
            .await
            .map(Response::new)
    }
}

impl Billing {
    /// Returns the vendor's organisation, whose staff make the staff calls.
    pub fn vendor(&self) -> dk_domain::OrganisationId {
        dk_domain::OrganisationId::from_uuid(self.issuer.organisation_id())
    }
}

/// Parses a UUID field, naming what was expected when it is not one.
pub fn parse_uuid(field: &str, text: &str, expected: &str) -> Result<Uuid, Status> {
    Uuid::from_str(text.trim()).map_err(|_| {
        status::invalid_argument(
            field,
            format!("{text:?} is not a UUID: expected {expected}"),
        )
    })
}

/// Reads a quote of `organisation`; other organisations' quotes are NOT_FOUND.
pub async fn find_quote<C: sea_orm::ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    id: Uuid,
) -> Result<quote::Model, Status> {
    quote::Entity::find_by_id(id)
        .filter(quote::Column::OrganisationId.eq(organisation))
        .one(db)
        .await
        .map_err(|e| status::from_db("reading a quote", e))?
        .ok_or_else(|| status::not_found("quote", &id.to_string()))
}

/// Reads the priced quote stored in a quote row.
pub fn stored_quote(row: &quote::Model) -> Result<dk_pricing::Quote, Status> {
    serde_json::from_str(&row.quote).map_err(|e| status::internal("reading a stored quote", &e))
}

/// Reads the basket stored in a quote row.
pub fn stored_basket(row: &quote::Model) -> Result<Basket, Status> {
    serde_json::from_str(&row.basket).map_err(|e| status::internal("reading a stored quote", &e))
}

/// Returns the request in the form its idempotency hash covers, so that the same basket written
/// another way hashes the same, as it prices the same. The forms that count as one: modules or
/// add-ons in any order, padded codes, a country code in lower case (or empty for the
/// Netherlands), a VAT id with spaces, points or lower-case letters, and no language for Dutch.
pub(crate) fn canonical_quote_request(request: &pb::CreateQuoteRequest) -> pb::CreateQuoteRequest {
    let codes = |codes: &[String]| {
        let mut codes: Vec<String> = codes.iter().map(|code| code.trim().to_owned()).collect();
        codes.sort();
        codes
    };
    let country = match request.country_code.trim() {
        "" => "NL".to_owned(),
        country => country.to_ascii_uppercase(),
    };
    let language = match pb::Language::try_from(request.language) {
        Ok(pb::Language::Unspecified) => pb::Language::Nl as i32,
        _ => request.language,
    };
    pb::CreateQuoteRequest {
        modules: codes(&request.modules),
        addons: codes(&request.addons),
        country_code: country,
        vat_id: dk_pricing::normalise_vat_id(&request.vat_id),
        language,
        ..request.clone()
    }
}

/// Checks what the pricing engine cannot see (the wire's signed user count and language enum)
/// and builds the basket.
pub fn basket_from_request(request: &pb::CreateQuoteRequest) -> Result<Basket, Status> {
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
    let language = language_from_proto(request.language)?.unwrap_or_default();
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
        custom_user_price: None,
        country,
        vat_id,
        language,
    })
}

/// Rejects a basket without a module. A licence is built from modules, and a quote of the
/// included user alone would price nothing. (Licence changes start from an empty basket, so
/// the pricing crate itself accepts one.)
pub fn require_module(basket: &Basket, catalogue: &Catalogue) -> Result<(), Status> {
    if basket.modules.iter().any(|code| !code.trim().is_empty()) {
        return Ok(());
    }
    Err(status::invalid_argument(
        "modules",
        format!(
            "no module chosen: choose at least one of {}",
            catalogue.codes_of(ItemKind::Module).join(", ")
        ),
    ))
}

/// Reads the wire language; `None` when unspecified.
pub fn language_from_proto(value: i32) -> Result<Option<Language>, Status> {
    match pb::Language::try_from(value) {
        Ok(pb::Language::Unspecified) => Ok(None),
        Ok(pb::Language::Nl) => Ok(Some(Language::Nl)),
        Ok(pb::Language::En) => Ok(Some(Language::En)),
        Err(_) => Err(status::invalid_argument(
            "language",
            format!("unknown language {value}: expected LANGUAGE_NL or LANGUAGE_EN"),
        )),
    }
}

pub fn language_to_proto(language: Language) -> pb::Language {
    match language {
        Language::Nl => pb::Language::Nl,
        Language::En => pb::Language::En,
    }
}

/// Maps a pricing error to INVALID_ARGUMENT on the request field that caused it. Errors of the
/// catalogue itself are internal, because the caller cannot fix them.
pub fn quote_error(basket: &Basket, error: QuoteError) -> Status {
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

/// Builds the row of a priced quote, without an idempotency key.
pub fn quote_row(
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
        valid_until: valid_until(quote_date),
        language: crate::invoicing::language_code(priced.language).to_owned(),
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
        idempotency_key: None,
        request_hash: None,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, Status> {
    serde_json::to_string(value).map_err(|e| status::internal("storing a quote", &e))
}

/// Builds the wire quote lines of a priced quote.
pub fn quote_lines_to_proto(lines: &[dk_pricing::QuoteLine]) -> Vec<pb::QuoteLine> {
    lines
        .iter()
        .map(|line| pb::QuoteLine {
            code: line.code.clone(),
            description: line.description.clone(),
            quantity: line.quantity.normalize().to_string(),
            unit_price: line.unit_price.map(Into::into),
            amount: line.amount.map(Into::into),
            explanation: line.explanation.clone(),
        })
        .collect()
}

/// Builds the wire quote from its row and the priced quote stored in it.
pub fn quote_to_proto(row: &quote::Model, priced: &dk_pricing::Quote) -> pb::Quote {
    let lines = quote_lines_to_proto(&priced.lines);
    let vat = vat_lines_to_proto(&priced.vat);
    let status = match priced.status {
        QuoteStatus::Priced => pb::QuoteStatus::Priced,
        QuoteStatus::CustomPricingRequired => pb::QuoteStatus::CustomPricingRequired,
    };
    let language = language_to_proto(priced.language);
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

/// Builds the wire VAT lines.
pub fn vat_lines_to_proto(vat: &[dk_pricing::VatAmount]) -> Vec<pb::VatLine> {
    vat.iter()
        .map(|vat| pb::VatLine {
            rate: (vat.rate * Decimal::ONE_HUNDRED).normalize().to_string(),
            base: Some(vat.base.into()),
            amount: Some(vat.amount.into()),
        })
        .collect()
}

/// Maps a status-producing step's database error with a context.
pub fn db(context: &'static str) -> impl Fn(DbErr) -> Status {
    move |error| status::from_db(context, error)
}

/// Returns the last day on which a quote of `quote_date` can be accepted.
pub fn valid_until(quote_date: NaiveDate) -> NaiveDate {
    quote_date + Days::new(QUOTE_VALID_DAYS)
}

/// Returns the current time, cut to microseconds as PostgreSQL stores it.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
