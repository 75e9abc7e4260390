//! Handlers of the licence calls: custom user prices, trials, accepting quotes, changes and
//! billing details.

use chrono::{DateTime, NaiveDate, Utc};
use dk_domain::Money;
use dk_messaging::{Event, outbox, topology};
use dk_pricing::{Basket, Catalogue, Change, QuoteDiff, QuoteStatus};
use dk_proto::billing::v1 as pb;
use dk_proto::convert::money_from_proto;
use dk_proto::events::v1 as events;
use dk_runtime::auth::Caller;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseTransaction, IntoActiveModel, Set};
use tonic::Status;

use crate::entity::{billing_details, custom_user_price, licence, licence_charge};
use crate::grpc::{self, Billing, db};
use crate::invoicing::{EVENT_SOURCE, PRODUCER, language_code};
use crate::licensing::{self, ACTIVE, Licence, TRIAL};

/// Maximum length of a name or address field in billing details, in characters.
const MAX_DETAIL_LENGTH: usize = 200;

pub async fn set_custom_user_price(
    billing: &Billing,
    caller: &Caller,
    request: pb::SetCustomUserPriceRequest,
) -> Result<pb::SetCustomUserPriceResponse, Status> {
    let key = Key::new(
        caller.organisation_id.as_uuid(),
        "SetCustomUserPrice",
        &request.idempotency_key,
        &request,
    )?;
    let organisation = grpc::parse_uuid(
        "organisation_id",
        &request.organisation_id,
        "the customer organisation's id",
    )?;
    let quote_id = grpc::parse_uuid(
        "quote_id",
        &request.quote_id,
        "the id of the customer's quote",
    )?;
    let price = money_from_proto("unit_price", request.unit_price.as_ref())
        .map_err(|e| status::invalid_argument(&e.field, e.message))?;
    if price.is_negative() {
        return Err(status::invalid_argument(
            "unit_price",
            format!(
                "{} is negative: expected a price of at least 0",
                price.amount()
            ),
        ));
    }

    let context = "setting a custom user price";
    let transaction = dk_runtime::database::begin_write(&billing.db)
        .await
        .map_err(db(context))?;
    if let Some(response) = idempotency::replay(&transaction, &key).await? {
        return Ok(response);
    }
    let row = grpc::find_quote(&transaction, organisation, quote_id).await?;
    let accepted = licence::Entity::find()
        .filter(licence::Column::QuoteId.eq(quote_id))
        .one(&transaction)
        .await
        .map_err(db(context))?;
    if let Some(accepted) = accepted {
        return Err(status::with_reason(
            tonic::Code::FailedPrecondition,
            "QUOTE_ALREADY_ACCEPTED",
            format!(
                "quote {quote_id} is accepted already (licence {}); its price can no longer \
                 change, so make a new quote",
                accepted.id
            ),
            &[("quote_id", quote_id.to_string())],
        ));
    }
    let quote_date = licensing::local_date(row.created_at);
    let catalogue = catalogue_on(billing, &transaction, quote_date).await?;
    let mut basket = grpc::stored_basket(&row)?;
    let max = catalogue
        .user_pricing
        .first()
        .map(|pricing| pricing.max_priced_users())
        .unwrap_or_default();
    if basket.users <= max {
        return Err(status::with_reason(
            tonic::Code::FailedPrecondition,
            "NO_CUSTOM_PRICE_NEEDED",
            format!(
                "quote {quote_id} has {} users, within the user price table (up to {max}); it \
                 needs no custom price",
                basket.users
            ),
            &[("quote_id", quote_id.to_string())],
        ));
    }
    if price.currency() != catalogue.currency {
        return Err(status::invalid_argument(
            "unit_price.currency_code",
            format!(
                "{} differs from the catalogue's {}",
                price.currency(),
                catalogue.currency
            ),
        ));
    }
    basket.custom_user_price = Some(price.amount());
    let priced =
        dk_pricing::quote(&catalogue, &basket).map_err(|e| grpc::quote_error(&basket, e))?;
    let mut updated = grpc::quote_row(organisation, &basket, &priced, row.created_at, quote_date)?;
    updated.id = row.id;
    updated.idempotency_key = row.idempotency_key.clone();
    updated.request_hash = row.request_hash.clone();
    updated
        .clone()
        .into_active_model()
        .reset_all()
        .update(&transaction)
        .await
        .map_err(db(context))?;
    let now = grpc::now();
    custom_user_price::Entity::insert(custom_user_price::ActiveModel {
        quote_id: Set(quote_id),
        unit_price_minor: Set(price
            .to_minor_units()
            .map_err(|e| status::invalid_argument("unit_price", e.to_string()))?),
        currency: Set(price.currency().to_string()),
        set_by: Set(caller.subject.clone()),
        set_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(custom_user_price::Column::QuoteId)
            .update_columns([
                custom_user_price::Column::UnitPriceMinor,
                custom_user_price::Column::Currency,
                custom_user_price::Column::SetBy,
                custom_user_price::Column::SetAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&transaction)
    .await
    .map_err(db(context))?;
    tracing::info!(%quote_id, set_by = %caller.subject, "custom user price set");
    let response = pb::SetCustomUserPriceResponse {
        quote: Some(grpc::quote_to_proto(&updated, &priced)),
        set_by: caller.subject.clone(),
    };
    idempotency::commit(transaction, &key, &response, context).await?;
    Ok(response)
}

pub async fn start_trial(
    billing: &Billing,
    caller: &Caller,
    request: pb::StartTrialRequest,
) -> Result<pb::StartTrialResponse, Status> {
    let organisation = caller.organisation_id.as_uuid();
    let key = Key::new(
        organisation,
        "StartTrial",
        &request.idempotency_key,
        &request,
    )?;
    let basket = grpc::basket_from_request(&pb::CreateQuoteRequest {
        idempotency_key: String::new(),
        modules: request.modules.clone(),
        addons: request.addons.clone(),
        users: request.users,
        bank_link: request.bank_link,
        country_code: String::new(),
        vat_id: String::new(),
        language: request.language,
    })?;
    let now = grpc::now();
    let today = licensing::local_date(now);
    let context = "starting a trial";
    let transaction = dk_runtime::database::begin_write(&billing.db)
        .await
        .map_err(db(context))?;
    if let Some(response) = idempotency::replay(&transaction, &key).await? {
        return Ok(response);
    }
    let catalogue = catalogue_on(billing, &transaction, today).await?;
    grpc::require_module(&basket, &catalogue)?;
    dk_pricing::quote(&catalogue, &basket).map_err(|e| grpc::quote_error(&basket, e))?;
    if let Some(existing) = Licence::find(&transaction, organisation)
        .await
        .map_err(|e| status::internal(context, &e))?
    {
        return Err(licence_exists(&existing));
    }
    let row = licence::Model {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        state: TRIAL.to_owned(),
        language: language_code(basket.language).to_owned(),
        activated_on: None,
        quote_id: None,
        created_at: now,
    };
    row.clone()
        .into_active_model()
        .insert(&transaction)
        .await
        .map_err(db(context))?;
    licensing::put_version(&transaction, row.id, today, &basket, now)
        .await
        .map_err(db(context))?;
    let licence = Licence {
        row,
        versions: vec![(today, basket.clone())],
    };
    let event = licence_event(
        topology::LICENCE_ACTIVATED,
        &licence.row,
        &basket,
        today,
        &catalogue,
    );
    outbox::enqueue(&transaction, PRODUCER, &[event])
        .await
        .map_err(db(context))?;
    let response = pb::StartTrialResponse {
        licence: Some(licence_view(&transaction, &licence, &catalogue, today).await?),
    };
    idempotency::commit(transaction, &key, &response, context).await?;
    billing.relay.notify();
    Ok(response)
}

pub async fn accept_quote(
    billing: &Billing,
    caller: &Caller,
    request: pb::AcceptQuoteRequest,
) -> Result<pb::AcceptQuoteResponse, Status> {
    let organisation = caller.organisation_id.as_uuid();
    let key = Key::new(
        organisation,
        "AcceptQuote",
        &request.idempotency_key,
        &request,
    )?;
    let quote_id = grpc::parse_uuid(
        "quote_id",
        &request.quote_id,
        "the quote_id that CreateQuote returned",
    )?;
    let now = grpc::now();
    let today = licensing::local_date(now);
    let context = "accepting a quote";
    let transaction = dk_runtime::database::begin_write(&billing.db)
        .await
        .map_err(db(context))?;
    if let Some(response) = idempotency::replay(&transaction, &key).await? {
        return Ok(response);
    }
    let quote_row = grpc::find_quote(&transaction, organisation, quote_id).await?;
    if quote_row.valid_until < today {
        return Err(status::with_reason(
            tonic::Code::FailedPrecondition,
            "QUOTE_EXPIRED",
            format!(
                "quote {quote_id} was valid until {}; ask for a new quote",
                quote_row.valid_until
            ),
            &[("quote_id", quote_id.to_string())],
        ));
    }
    let basket = grpc::stored_basket(&quote_row)?;
    let catalogue = catalogue_on(billing, &transaction, today).await?;
    let priced =
        dk_pricing::quote(&catalogue, &basket).map_err(|e| grpc::quote_error(&basket, e))?;
    if priced.status == QuoteStatus::CustomPricingRequired {
        return Err(status::with_reason(
            tonic::Code::FailedPrecondition,
            "CUSTOM_PRICING_REQUIRED",
            format!(
                "quote {quote_id} has {} users, beyond the user price table: a sales employee \
                 must set the price per user (SetCustomUserPrice) before it can be accepted",
                basket.users
            ),
            &[("quote_id", quote_id.to_string())],
        ));
    }
    let existing = Licence::find(&transaction, organisation)
        .await
        .map_err(|e| status::internal(context, &e))?;
    if let Some(existing) = &existing
        && existing.row.quote_id == Some(quote_id)
    {
        return Err(status::with_reason(
            tonic::Code::FailedPrecondition,
            "QUOTE_ALREADY_ACCEPTED",
            format!(
                "quote {quote_id} is accepted already; its licence is {}",
                existing.row.id
            ),
            &[("quote_id", quote_id.to_string())],
        ));
    }
    save_billing_details(
        &transaction,
        organisation,
        request.billing_details.as_ref(),
        Some((&basket.country, priced.customer_vat_id.as_deref())),
        now,
    )
    .await?;

    let (licence, events) = match existing {
        Some(existing) if existing.row.state == ACTIVE => {
            let current = existing
                .basket_on(today)
                .cloned()
                .unwrap_or_else(|| licensing::empty_like(&basket));
            let had_scheduled = existing.scheduled_after(today).is_some();
            let mut row = existing.row.clone();
            row.quote_id = Some(quote_id);
            row.clone()
                .into_active_model()
                .reset_all()
                .update(&transaction)
                .await
                .map_err(db(context))?;
            let plan = licensing::plan(&catalogue, &current, &basket, today)
                .map_err(|e| grpc::quote_error(&basket, e))?;
            let events = apply_plan(
                &transaction,
                &row,
                &current,
                plan,
                had_scheduled,
                &catalogue,
                today,
                now,
            )
            .await?;
            (row, events)
        }
        existing => {
            // A new licence, or a trial that becomes paid: the whole basket starts today and the
            // rest of this month is charged on the next invoice.
            let row = match existing {
                Some(trial) => licence::Model {
                    state: ACTIVE.to_owned(),
                    activated_on: Some(today),
                    quote_id: Some(quote_id),
                    language: language_code(basket.language).to_owned(),
                    ..trial.row
                },
                None => licence::Model {
                    id: Uuid::now_v7(),
                    organisation_id: organisation,
                    state: ACTIVE.to_owned(),
                    language: language_code(basket.language).to_owned(),
                    activated_on: Some(today),
                    quote_id: Some(quote_id),
                    created_at: now,
                },
            };
            let saved = row.clone().into_active_model().reset_all();
            let exists = licence::Entity::find_by_id(row.id)
                .one(&transaction)
                .await
                .map_err(db(context))?
                .is_some();
            if exists {
                saved.update(&transaction).await.map_err(db(context))?;
            } else {
                saved.insert(&transaction).await.map_err(db(context))?;
            }
            licensing::drop_scheduled(&transaction, row.id, today)
                .await
                .map_err(db(context))?;
            licensing::put_version(&transaction, row.id, today, &basket, now)
                .await
                .map_err(db(context))?;
            let empty = licensing::empty_like(&basket);
            let diff = dk_pricing::diff(
                &catalogue,
                &empty,
                &basket,
                today,
                dk_pricing::BillingMonth::of(today),
            )
            .map_err(|e| grpc::quote_error(&basket, e))?;
            licensing::record_charges(&transaction, row.id, &diff, now)
                .await
                .map_err(|e| status::internal(context, &e))?;
            let event = licence_event(
                topology::LICENCE_ACTIVATED,
                &row,
                &basket,
                today,
                &catalogue,
            );
            (row, vec![event])
        }
    };
    outbox::enqueue(&transaction, PRODUCER, &events)
        .await
        .map_err(db(context))?;
    let licence = Licence::with_versions(&transaction, licence)
        .await
        .map_err(|e| status::internal(context, &e))?;
    tracing::info!(%quote_id, licence_id = %licence.row.id, "quote accepted");
    let response = pb::AcceptQuoteResponse {
        licence: Some(licence_view(&transaction, &licence, &catalogue, today).await?),
    };
    idempotency::commit(transaction, &key, &response, context).await?;
    billing.relay.notify();
    Ok(response)
}

pub async fn get_licence(
    billing: &Billing,
    caller: &Caller,
) -> Result<pb::GetLicenceResponse, Status> {
    let organisation = caller.organisation_id.as_uuid();
    let today = licensing::local_date(Utc::now());
    let licence = find_licence(&billing.db, organisation).await?;
    let catalogue = catalogue_on(billing, &billing.db, today).await?;
    Ok(pb::GetLicenceResponse {
        licence: Some(licence_view(&billing.db, &licence, &catalogue, today).await?),
    })
}

pub async fn preview_change(
    billing: &Billing,
    caller: &Caller,
    request: pb::PreviewLicenceChangeRequest,
) -> Result<pb::PreviewLicenceChangeResponse, Status> {
    let organisation = caller.organisation_id.as_uuid();
    let today = licensing::local_date(Utc::now());
    let licence = find_licence(&billing.db, organisation).await?;
    if licence.is_trial() {
        return Err(trial_not_charged());
    }
    let catalogue = catalogue_on(billing, &billing.db, today).await?;
    let (current, mut desired) = desired_basket(&licence, request.change.as_ref(), today)?;
    let mut current = current;
    if let Some(language) = grpc::language_from_proto(request.language)? {
        desired.language = language;
        current.language = language;
    }
    let diff = dk_pricing::diff(
        &catalogue,
        &current,
        &desired,
        today,
        dk_pricing::BillingMonth::of(today),
    )
    .map_err(|e| change_error(&desired, e))?;
    Ok(pb::PreviewLicenceChangeResponse {
        preview: Some(preview_to_proto(&diff)),
    })
}

pub async fn change_licence(
    billing: &Billing,
    caller: &Caller,
    request: pb::ChangeLicenceRequest,
) -> Result<pb::ChangeLicenceResponse, Status> {
    let organisation = caller.organisation_id.as_uuid();
    let key = Key::new(
        organisation,
        "ChangeLicence",
        &request.idempotency_key,
        &request,
    )?;
    let now = grpc::now();
    let today = licensing::local_date(now);
    let context = "changing a licence";
    let transaction = dk_runtime::database::begin_write(&billing.db)
        .await
        .map_err(db(context))?;
    if let Some(response) = idempotency::replay(&transaction, &key).await? {
        return Ok(response);
    }
    let licence = find_licence(&transaction, organisation).await?;
    let catalogue = catalogue_on(billing, &transaction, today).await?;
    let (current, desired) = desired_basket(&licence, request.change.as_ref(), today)?;
    let diff = dk_pricing::diff(
        &catalogue,
        &current,
        &desired,
        today,
        dk_pricing::BillingMonth::of(today),
    )
    .map_err(|e| change_error(&desired, e))?;

    let events = if licence.is_trial() {
        licensing::drop_scheduled(&transaction, licence.row.id, today)
            .await
            .map_err(db(context))?;
        licensing::put_version(&transaction, licence.row.id, today, &desired, now)
            .await
            .map_err(db(context))?;
        vec![licence_event(
            topology::LICENCE_CHANGED,
            &licence.row,
            &desired,
            today,
            &catalogue,
        )]
    } else {
        if licensing::needs_custom_price(&diff) {
            return Err(status::with_reason(
                tonic::Code::FailedPrecondition,
                "CUSTOM_PRICING_REQUIRED",
                format!(
                    "{} users is beyond the user price table: ask sales for a quote with a \
                     custom price per user and accept it",
                    desired.users
                ),
                &[],
            ));
        }
        let had_scheduled = licence.scheduled_after(today).is_some();
        let plan = licensing::plan(&catalogue, &current, &desired, today)
            .map_err(|e| change_error(&desired, e))?;
        apply_plan(
            &transaction,
            &licence.row,
            &current,
            plan,
            had_scheduled,
            &catalogue,
            today,
            now,
        )
        .await?
    };
    outbox::enqueue(&transaction, PRODUCER, &events)
        .await
        .map_err(db(context))?;
    let licence = Licence::with_versions(&transaction, licence.row)
        .await
        .map_err(|e| status::internal(context, &e))?;
    let response = pb::ChangeLicenceResponse {
        licence: Some(licence_view(&transaction, &licence, &catalogue, today).await?),
        preview: (!licence.is_trial()).then(|| preview_to_proto(&diff)),
    };
    idempotency::commit(transaction, &key, &response, context).await?;
    billing.relay.notify();
    Ok(response)
}

pub async fn update_billing_details(
    billing: &Billing,
    caller: &Caller,
    request: pb::UpdateBillingDetailsRequest,
) -> Result<pb::UpdateBillingDetailsResponse, Status> {
    let organisation = caller.organisation_id.as_uuid();
    let key = Key::new(
        organisation,
        "UpdateBillingDetails",
        &request.idempotency_key,
        &request,
    )?;
    let details = request.billing_details.as_ref().ok_or_else(|| {
        status::invalid_argument("billing_details", "missing: expected name and address")
    })?;
    let context = "updating billing details";
    let transaction = dk_runtime::database::begin_write(&billing.db)
        .await
        .map_err(db(context))?;
    if let Some(response) = idempotency::replay(&transaction, &key).await? {
        return Ok(response);
    }
    let saved =
        save_billing_details(&transaction, organisation, Some(details), None, grpc::now()).await?;
    let response = pb::UpdateBillingDetailsResponse {
        billing_details: Some(details_to_proto(&saved)),
    };
    idempotency::commit(transaction, &key, &response, context).await?;
    Ok(response)
}

/// Writes the versions, charges and events of a paid licence's change.
#[allow(clippy::too_many_arguments)]
async fn apply_plan(
    transaction: &DatabaseTransaction,
    row: &licence::Model,
    current: &Basket,
    plan: licensing::Plan,
    had_scheduled: bool,
    catalogue: &Catalogue,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Status> {
    let context = "changing a licence";
    licensing::drop_scheduled(transaction, row.id, today)
        .await
        .map_err(db(context))?;
    let mut events = Vec::new();
    if let Some(basket) = &plan.from_today {
        licensing::put_version(transaction, row.id, today, basket, now)
            .await
            .map_err(db(context))?;
        events.push(licence_event(
            topology::LICENCE_CHANGED,
            row,
            basket,
            today,
            catalogue,
        ));
    }
    let next_month = licensing::first_of_next_month(today);
    if let Some(basket) = &plan.from_next_month {
        licensing::put_version(transaction, row.id, next_month, basket, now)
            .await
            .map_err(db(context))?;
        events.push(licence_event(
            topology::LICENCE_CHANGED,
            row,
            basket,
            next_month,
            catalogue,
        ));
    } else if had_scheduled {
        // The change cancels a scheduled removal, so announce the entitlements of next month again.
        let holds = plan.from_today.as_ref().unwrap_or(current);
        events.push(licence_event(
            topology::LICENCE_CHANGED,
            row,
            holds,
            next_month,
            catalogue,
        ));
    }
    licensing::record_charges(transaction, row.id, &plan.diff, now)
        .await
        .map_err(|e| status::internal(context, &e))?;
    Ok(events)
}

/// Returns the basket in force today and the basket the change requests.
fn desired_basket(
    licence: &Licence,
    change: Option<&pb::LicenceChange>,
    today: NaiveDate,
) -> Result<(Basket, Basket), Status> {
    let current = licence
        .basket_on(today)
        .or(licence.latest())
        .cloned()
        .ok_or_else(|| status::internal("reading a licence", &"licence without versions"))?;
    let latest = licence.latest().cloned().unwrap_or_else(|| current.clone());
    let change = change.ok_or_else(|| {
        status::invalid_argument("change", "missing: expected the items to add or remove")
    })?;
    if let Some((from, _)) = licence.scheduled_after(today) {
        let removals = [
            (
                &change.remove_modules,
                &current.modules,
                &latest.modules,
                "module",
            ),
            (
                &change.remove_addons,
                &current.add_ons,
                &latest.add_ons,
                "add-on",
            ),
        ];
        for (requested, held_now, held_later, kind) in removals {
            for code in requested {
                let code = code.trim().to_lowercase();
                if held_now.contains(&code) && !held_later.contains(&code) {
                    return Err(status::with_reason(
                        tonic::Code::FailedPrecondition,
                        "REMOVAL_SCHEDULED",
                        format!("{kind} {code:?} is already scheduled for removal on {from}"),
                        &[("code", code.clone())],
                    ));
                }
            }
        }
    }
    Ok((current, apply_change(&latest, change)?))
}

/// Applies a change to a basket; names the item when the change does not fit it.
pub fn apply_change(latest: &Basket, change: &pb::LicenceChange) -> Result<Basket, Status> {
    let bank_link = pb::BankLinkChange::try_from(change.bank_link).map_err(|_| {
        status::invalid_argument(
            "change.bank_link",
            format!(
                "unknown value {}: expected BANK_LINK_CHANGE_ADD or BANK_LINK_CHANGE_REMOVE",
                change.bank_link
            ),
        )
    })?;
    let nothing = change.add_modules.is_empty()
        && change.remove_modules.is_empty()
        && change.add_addons.is_empty()
        && change.remove_addons.is_empty()
        && change.users_delta == 0
        && bank_link == pb::BankLinkChange::Unspecified;
    if nothing {
        return Err(status::invalid_argument(
            "change",
            "empty: expected at least one module, add-on, user or bank link change",
        ));
    }
    let mut basket = latest.clone();
    edit_codes(
        &mut basket.modules,
        &change.add_modules,
        &change.remove_modules,
        "module",
        "change.add_modules",
        "change.remove_modules",
    )?;
    edit_codes(
        &mut basket.add_ons,
        &change.add_addons,
        &change.remove_addons,
        "add-on",
        "change.add_addons",
        "change.remove_addons",
    )?;
    let users = i64::from(latest.users) + i64::from(change.users_delta);
    basket.users = u32::try_from(users)
        .ok()
        .filter(|users| *users >= 1)
        .ok_or_else(|| {
            status::invalid_argument(
                "change.users_delta",
                format!(
                    "a users delta of {} on a licence of {} user{} leaves {users}: expected at \
                     least 1 user",
                    change.users_delta,
                    latest.users,
                    if latest.users == 1 { "" } else { "s" },
                ),
            )
        })?;
    match bank_link {
        pb::BankLinkChange::Unspecified => {}
        pb::BankLinkChange::Add if latest.bank_link => {
            return Err(status::invalid_argument(
                "change.bank_link",
                "the licence has the automatic bank link already",
            ));
        }
        pb::BankLinkChange::Remove if !latest.bank_link => {
            return Err(status::invalid_argument(
                "change.bank_link",
                "the licence has no automatic bank link to remove",
            ));
        }
        pb::BankLinkChange::Add => basket.bank_link = true,
        pb::BankLinkChange::Remove => basket.bank_link = false,
    }
    Ok(basket)
}

fn edit_codes(
    codes: &mut Vec<String>,
    add: &[String],
    remove: &[String],
    kind: &str,
    add_field: &str,
    remove_field: &str,
) -> Result<(), Status> {
    for code in remove {
        let code = code.trim().to_lowercase();
        let position = codes.iter().position(|held| *held == code).ok_or_else(|| {
            status::invalid_argument(
                remove_field,
                format!("{kind} {code:?} is not on the licence: expected one of {codes:?}"),
            )
        })?;
        codes.remove(position);
    }
    for code in add {
        let code = code.trim().to_lowercase();
        if codes.contains(&code) {
            return Err(status::invalid_argument(
                add_field,
                format!("{kind} {code:?} is on the licence already"),
            ));
        }
        codes.push(code);
    }
    Ok(())
}

/// Names the part of the change that the pricing engine rejected, where it is known. An unknown
/// code can only be one that the change adds, because a removed code must be on the licence.
fn change_error(basket: &Basket, error: dk_pricing::QuoteError) -> Status {
    let added_field = match &error {
        dk_pricing::QuoteError::UnknownCode { kind, .. } => Some(match kind {
            dk_pricing::ItemKind::AddOn => "change.add_addons",
            _ => "change.add_modules",
        }),
        _ => None,
    };
    let message = error.to_string();
    let status = grpc::quote_error(basket, error);
    if status.code() != tonic::Code::InvalidArgument {
        return status;
    }
    match added_field {
        Some(field) => status::invalid_argument(field, message),
        None => status::invalid_argument("change", status.message().to_owned()),
    }
}

/// Validates and stores billing details. `from_quote` supplies the country and VAT id of an
/// accepted quote; without it the stored ones stay.
async fn save_billing_details(
    transaction: &DatabaseTransaction,
    organisation: Uuid,
    details: Option<&pb::BillingDetails>,
    from_quote: Option<(&String, Option<&str>)>,
    now: DateTime<Utc>,
) -> Result<billing_details::Model, Status> {
    let context = "saving billing details";
    let stored = billing_details::Entity::find_by_id(organisation)
        .one(transaction)
        .await
        .map_err(db(context))?;
    let Some(details) = details else {
        let Some(stored) = stored else {
            return Err(status::invalid_argument(
                "billing_details",
                "missing: expected name, street, postal code and city for the invoices",
            ));
        };
        if let Some((country, vat_id)) = from_quote {
            let updated = billing_details::Model {
                country_code: country.to_uppercase(),
                vat_id: vat_id.map(str::to_owned),
                updated_at: now,
                ..stored
            };
            return updated
                .into_active_model()
                .reset_all()
                .update(transaction)
                .await
                .map_err(db(context));
        }
        return Ok(stored);
    };
    let fields = [
        ("billing_details.name", &details.name),
        ("billing_details.street", &details.street),
        ("billing_details.postal_code", &details.postal_code),
        ("billing_details.city", &details.city),
    ];
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(field, _)| *field)
        .collect();
    if !missing.is_empty() {
        return Err(status::invalid_argument(
            missing[0],
            format!(
                "missing {}, but every invoice must show the customer's name, street, postal \
                 code and city",
                missing.join(", ")
            ),
        ));
    }
    if let Some((field, _)) = fields
        .iter()
        .find(|(_, value)| value.chars().count() > MAX_DETAIL_LENGTH)
    {
        return Err(status::invalid_argument(
            field,
            format!("too long: expected at most {MAX_DETAIL_LENGTH} characters"),
        ));
    }
    let (country, vat_id) = match from_quote {
        Some((country, vat_id)) => (country.to_uppercase(), vat_id.map(str::to_owned)),
        None => {
            let requested = details.country_code.trim().to_uppercase();
            let country = if !requested.is_empty() {
                requested
            } else {
                stored
                    .as_ref()
                    .map(|stored| stored.country_code.clone())
                    .unwrap_or_else(|| "NL".to_owned())
            };
            (
                country,
                stored.as_ref().and_then(|stored| stored.vat_id.clone()),
            )
        }
    };
    let country = dk_pricing::parse_country(&country).map_err(|_| {
        status::invalid_argument(
            "billing_details.country_code",
            format!("{country:?} is not a country: expected an ISO 3166 alpha-2 code such as NL"),
        )
    })?;
    let model = billing_details::Model {
        organisation_id: organisation,
        name: details.name.trim().to_owned(),
        street: details.street.trim().to_owned(),
        postal_code: details.postal_code.trim().to_owned(),
        city: details.city.trim().to_owned(),
        country_code: country,
        vat_id,
        updated_at: now,
    };
    let active = model.clone().into_active_model().reset_all();
    if stored.is_some() {
        active.update(transaction).await.map_err(db(context))
    } else {
        active.insert(transaction).await.map_err(db(context))
    }
}

async fn catalogue_on<C: sea_orm::ConnectionTrait>(
    billing: &Billing,
    db: &C,
    date: NaiveDate,
) -> Result<std::sync::Arc<Catalogue>, Status> {
    billing
        .catalogues
        .in_force(db, date)
        .await
        .map_err(|e| status::internal("loading the catalogue", &e))
}

async fn find_licence<C: sea_orm::ConnectionTrait>(
    db: &C,
    organisation: Uuid,
) -> Result<Licence, Status> {
    Licence::find(db, organisation)
        .await
        .map_err(|e| status::internal("reading a licence", &e))?
        .ok_or_else(|| {
            status::with_reason(
                tonic::Code::NotFound,
                "NO_LICENCE",
                format!(
                    "organisation {organisation} has no licence: start a trial or accept a quote"
                ),
                &[("organisation_id", organisation.to_string())],
            )
        })
}

fn licence_exists(existing: &Licence) -> Status {
    status::with_reason(
        tonic::Code::FailedPrecondition,
        "LICENCE_EXISTS",
        format!(
            "organisation {} has a licence already ({}, state {}); accept a quote to order",
            existing.row.organisation_id, existing.row.id, existing.row.state
        ),
        &[("licence_id", existing.row.id.to_string())],
    )
}

fn trial_not_charged() -> Status {
    status::with_reason(
        tonic::Code::FailedPrecondition,
        "TRIAL_NOT_CHARGED",
        "a trial licence is not charged, so a change has no price: accept a quote to order",
        &[],
    )
}

/// Returns the entitlements a basket grants.
pub fn entitlements(basket: &Basket, catalogue: &Catalogue) -> events::Entitlements {
    let max_ibans = if basket.bank_link {
        catalogue.bank_link_max_ibans().unwrap_or_default()
    } else {
        0
    };
    events::Entitlements {
        modules: basket.modules.clone(),
        addons: basket.add_ons.clone(),
        users: i32::try_from(basket.users).unwrap_or(i32::MAX),
        automatic_bank_link: basket.bank_link,
        max_linked_ibans: i32::try_from(max_ibans).unwrap_or(i32::MAX),
    }
}

fn licence_event(
    event_type: &str,
    row: &licence::Model,
    basket: &Basket,
    effective: NaiveDate,
    catalogue: &Catalogue,
) -> Event {
    let entitlements = Some(entitlements(basket, catalogue));
    let (organisation_id, licence_id) = (row.organisation_id.to_string(), row.id.to_string());
    let payload = if event_type == topology::LICENCE_ACTIVATED {
        events::LicenceActivated {
            organisation_id,
            licence_id,
            entitlements,
            effective_date: Some(effective.into()),
            state: row.state.clone(),
        }
        .encode_to_vec()
    } else {
        events::LicenceChanged {
            organisation_id,
            licence_id,
            entitlements,
            effective_date: Some(effective.into()),
            state: row.state.clone(),
        }
        .encode_to_vec()
    };
    Event::new(event_type, EVENT_SOURCE, row.organisation_id, payload)
}

fn entitlements_to_proto(basket: &Basket, catalogue: &Catalogue) -> pb::Entitlements {
    let granted = entitlements(basket, catalogue);
    pb::Entitlements {
        modules: granted.modules,
        addons: granted.addons,
        users: granted.users,
        automatic_bank_link: granted.automatic_bank_link,
        max_linked_ibans: granted.max_linked_ibans,
    }
}

fn details_to_proto(details: &billing_details::Model) -> pb::BillingDetails {
    pb::BillingDetails {
        name: details.name.clone(),
        street: details.street.clone(),
        postal_code: details.postal_code.clone(),
        city: details.city.clone(),
        country_code: details.country_code.clone(),
        vat_id: details.vat_id.clone().unwrap_or_default(),
    }
}

/// Builds the wire licence: entitlements today, the scheduled change, waiting charges, the
/// monthly price and the billing details.
async fn licence_view<C: sea_orm::ConnectionTrait>(
    db: &C,
    licence: &Licence,
    catalogue: &Catalogue,
    today: NaiveDate,
) -> Result<pb::Licence, Status> {
    let context = "reading a licence";
    let current = licence
        .basket_on(today)
        .or(licence.latest())
        .ok_or_else(|| status::internal(context, &"licence without versions"))?;
    let scheduled = licence.scheduled_after(today);
    let charges = licensing::pending_charges(db, licence.row.id)
        .await
        .map_err(db_err(context))?;
    let details = billing_details::Entity::find_by_id(licence.row.organisation_id)
        .one(db)
        .await
        .map_err(db_err(context))?;
    let monthly = dk_pricing::quote(catalogue, current)
        .map(|quote| grpc::quote_lines_to_proto(&quote.lines))
        .unwrap_or_default();
    let state = match licence.row.state.as_str() {
        TRIAL => pb::LicenceState::Trial,
        _ => pb::LicenceState::Active,
    };
    Ok(pb::Licence {
        licence_id: licence.row.id.to_string(),
        organisation_id: licence.row.organisation_id.to_string(),
        state: state as i32,
        entitlements: Some(entitlements_to_proto(current, catalogue)),
        scheduled_entitlements: scheduled
            .map(|(_, basket)| entitlements_to_proto(basket, catalogue)),
        scheduled_date: scheduled.map(|(date, _)| date.into()),
        activated_on: licence.row.activated_on.map(Into::into),
        pending_charges: charges.iter().map(charge_to_proto).collect(),
        monthly_lines: monthly,
        language: grpc::language_to_proto(current.language) as i32,
        billing_details: details.as_ref().map(details_to_proto),
    })
}

fn db_err(context: &'static str) -> impl Fn(DbErr) -> Status {
    db(context)
}

fn charge_to_proto(charge: &licence_charge::Model) -> pb::PendingCharge {
    let currency = dk_domain::Currency::parse(&charge.currency).unwrap_or(dk_domain::Currency::EUR);
    pb::PendingCharge {
        code: charge.code.clone(),
        description: charge.description.clone(),
        amount: Some(Money::from_minor_units(charge.amount_minor, currency).into()),
        explanation: charge.explanation.clone(),
        change_date: Some(charge.change_date.into()),
    }
}

fn preview_to_proto(diff: &QuoteDiff) -> pb::LicenceChangePreview {
    let total = |total: &Option<dk_pricing::ItemTotal>| {
        total.as_ref().map(|total| pb::ItemTotal {
            quantity: total.quantity.normalize().to_string(),
            amount: total.amount.map(Into::into),
        })
    };
    let change = |change: Change| match change {
        Change::Added => pb::ItemChange::Added,
        Change::Increased => pb::ItemChange::Increased,
        Change::Unchanged => pb::ItemChange::Unchanged,
        Change::Decreased => pb::ItemChange::Decreased,
        Change::Removed => pb::ItemChange::Removed,
    };
    pb::LicenceChangePreview {
        change_date: Some(diff.change_date.into()),
        days_remaining: i32::try_from(diff.days_remaining).unwrap_or_default(),
        days_in_month: i32::try_from(diff.days_in_month).unwrap_or_default(),
        lines: diff
            .lines
            .iter()
            .map(|line| pb::ChangeLine {
                code: line.code.clone(),
                description: line.description.clone(),
                before: total(&line.before),
                after: total(&line.after),
                change: change(line.change) as i32,
                prorated_amount: line.prorated_amount.map(Into::into),
                explanation: line.explanation.clone(),
            })
            .collect(),
        prorated_total: Some(diff.prorated_total.into()),
        monthly_before: Some(diff.before.net.into()),
        monthly_after: Some(diff.after.net.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basket() -> Basket {
        Basket {
            modules: vec!["crm".into(), "handel".into()],
            users: 5,
            ..Basket::default()
        }
    }

    #[test]
    fn change_adds_and_removes() {
        let change = pb::LicenceChange {
            add_modules: vec!["Boekhouding".into()],
            remove_modules: vec!["handel".into()],
            users_delta: 3,
            bank_link: pb::BankLinkChange::Add as i32,
            ..Default::default()
        };
        let changed = apply_change(&basket(), &change).unwrap();
        assert_eq!(changed.modules, ["crm", "boekhouding"]);
        assert_eq!(changed.users, 8);
        assert!(changed.bank_link);
    }

    #[test]
    fn change_that_does_not_fit_names_the_item() {
        let cases = [
            (
                pb::LicenceChange {
                    remove_modules: vec!["facturatie".into()],
                    ..Default::default()
                },
                "change.remove_modules",
                "facturatie",
            ),
            (
                pb::LicenceChange {
                    add_modules: vec!["crm".into()],
                    ..Default::default()
                },
                "change.add_modules",
                "already",
            ),
            (
                pb::LicenceChange {
                    users_delta: -5,
                    ..Default::default()
                },
                "change.users_delta",
                "at least 1 user",
            ),
            (
                pb::LicenceChange {
                    bank_link: pb::BankLinkChange::Remove as i32,
                    ..Default::default()
                },
                "change.bank_link",
                "no automatic bank link",
            ),
            (pb::LicenceChange::default(), "change", "empty"),
        ];
        for (change, field, text) in cases {
            let status = apply_change(&basket(), &change).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().starts_with(field), "{}", status.message());
            assert!(status.message().contains(text), "{}", status.message());
        }
    }

    #[test]
    fn change_error_names_the_added_codes() {
        let unknown = |kind| dk_pricing::QuoteError::UnknownCode {
            kind,
            code: "foo".into(),
            valid: vec!["crm".into()],
        };
        let cases = [
            (
                unknown(dk_pricing::ItemKind::Module),
                "change.add_modules: unknown module code \"foo\"",
            ),
            (
                unknown(dk_pricing::ItemKind::AddOn),
                "change.add_addons: unknown add-on code \"foo\"",
            ),
            (
                dk_pricing::QuoteError::BankLinkWithoutModule {
                    required: vec!["boekhouding".into()],
                },
                "change: bank_link: the automatic bank link requires",
            ),
        ];
        for (error, expected) in cases {
            let status = change_error(&basket(), error);
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(
                status.message().starts_with(expected),
                "{}",
                status.message()
            );
        }
    }
}
