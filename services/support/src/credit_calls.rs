//! Handlers of the credit calls: billing mode, buying credit, package renewals and the balance.

use chrono::{Duration, Utc};
use dk_domain::{Currency, Money};
use dk_proto::convert::{date_from_proto, timestamp_from};
use dk_proto::support::v1 as pb;
use dk_runtime::auth::{Caller, Role};
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{QueryOrder, Set};
use tonic::Status;

use crate::credits::{self, POST_CALCULATION, PREPAID};
use crate::entity::{billing_mode, credit_draw, credit_lot};
use crate::tickets::{Tickets, begin, db, now, to_i32};

impl Tickets {
    pub async fn set_billing_mode(
        &self,
        caller: &Caller,
        request: pb::SetBillingModeRequest,
    ) -> Result<pb::SetBillingModeResponse, Status> {
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "SetBillingMode",
            &request.idempotency_key,
            &request,
        )?;
        let mode = match pb::BillingMode::try_from(request.mode) {
            Ok(pb::BillingMode::PostCalculation) => POST_CALCULATION,
            Ok(pb::BillingMode::Prepaid) => PREPAID,
            _ => {
                return Err(status::invalid_argument(
                    "mode",
                    format!(
                        "{} is not a billing mode: expected BILLING_MODE_POST_CALCULATION or \
                         BILLING_MODE_PREPAID",
                        request.mode
                    ),
                ));
            }
        };
        let context = "setting the billing mode";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        billing_mode::Entity::insert(billing_mode::ActiveModel {
            organisation_id: Set(organisation),
            mode: Set(mode.to_owned()),
            updated_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(billing_mode::Column::OrganisationId)
                .update_columns([billing_mode::Column::Mode, billing_mode::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(&transaction)
        .await
        .map_err(db(context))?;
        let response = pb::SetBillingModeResponse {
            mode: mode_to_proto(mode) as i32,
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        Ok(response)
    }

    pub async fn buy_credit(
        &self,
        caller: &Caller,
        request: pb::BuyCreditRequest,
    ) -> Result<pb::BuyCreditResponse, Status> {
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "BuyCredit",
            &request.idempotency_key,
            &request,
        )?;
        let chosen = pb::CreditProduct::try_from(request.product)
            .ok()
            .and_then(|product| credits::product(&self.credit, product))
            .ok_or_else(|| {
                status::invalid_argument(
                    "product",
                    format!(
                        "{} is not a credit product: expected a CREDIT_PRODUCT_CARD_… or \
                         CREDIT_PRODUCT_PACKAGE_… value",
                        request.product
                    ),
                )
            })?;
        let (code, product) = chosen;
        let now = now();
        let today = now
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        let context = "buying credit";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        let (lot, amount) = if code.starts_with("package_") {
            credits::start_package(
                &transaction,
                organisation,
                code,
                product,
                self.credit.hourly_rate,
                now,
                today,
            )
            .await
        } else {
            credits::add_lot(
                &transaction,
                organisation,
                code,
                product,
                self.credit.hourly_rate,
                None,
                now,
            )
            .await
        }
        .map_err(db(context))?;
        let response = pb::BuyCreditResponse {
            lot: Some(lot_to_proto(&lot)),
            amount: Some(amount.into()),
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        self.relay.notify();
        tracing::info!(%organisation, product = code, lot_id = %lot.id, "credit bought");
        Ok(response)
    }

    pub async fn renew_packages(
        &self,
        caller: &Caller,
        request: pb::RenewPackagesRequest,
    ) -> Result<pb::RenewPackagesResponse, Status> {
        caller.require_staff(Role::SupportAgent, self.vendor())?;
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "RenewPackages",
            &request.idempotency_key,
            &request,
        )?;
        let day = date_from_proto("period", request.period.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .ok_or_else(|| {
                status::invalid_argument("period", "missing: expected a date in the period")
            })?;
        let today = Utc::now()
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        if day > today {
            return Err(status::invalid_argument(
                "period",
                format!(
                    "{day} is after today ({today}): a package period gets its hours once it has \
                     begun"
                ),
            ));
        }
        if let Some(response) = idempotency::replay(&self.db, &key).await? {
            return Ok(response);
        }
        let context = "renewing packages";
        let (lots, already) = credits::renew_all(&self.db, &self.credit, day)
            .await
            .map_err(db(context))?;
        let added: Vec<pb::CreditLot> = lots.iter().map(lot_to_proto).collect();
        if !added.is_empty() {
            self.relay.notify();
        }
        let response = pb::RenewPackagesResponse {
            added,
            already_added: already,
        };
        idempotency::store_or_replay(&self.db, &key, response, context).await
    }

    pub async fn credit_balance(
        &self,
        caller: &Caller,
        request: pb::GetCreditBalanceRequest,
    ) -> Result<pb::GetCreditBalanceResponse, Status> {
        let organisation = self.organisation(caller, &request.organisation_id)?;
        let context = "reading the credit balance";
        let mode = credits::mode(&self.db, organisation)
            .await
            .map_err(db(context))?;
        let lots = credit_lot::Entity::find()
            .filter(credit_lot::Column::OrganisationId.eq(organisation))
            .order_by_asc(credit_lot::Column::PurchasedAt)
            .order_by_asc(credit_lot::Column::Id)
            .all(&self.db)
            .await
            .map_err(db(context))?;
        let draws = credit_draw::Entity::find()
            .filter(credit_draw::Column::OrganisationId.eq(organisation))
            .order_by_asc(credit_draw::Column::DrawnAt)
            .order_by_asc(credit_draw::Column::Id)
            .all(&self.db)
            .await
            .map_err(db(context))?;
        let balance: i64 = lots
            .iter()
            .map(|lot| i64::from(lot.remaining_minutes))
            .sum();
        let since = Utc::now() - Duration::days(credits::PROJECTION_DAYS);
        let used: i64 = draws
            .iter()
            .filter(|draw| draw.lot_id.is_some() && draw.drawn_at >= since)
            .map(|draw| i64::from(draw.minutes))
            .sum();
        let today = Utc::now()
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        Ok(pb::GetCreditBalanceResponse {
            mode: mode_to_proto(&mode) as i32,
            balance_minutes: i32::try_from(balance).unwrap_or(i32::MAX),
            lots: lots.iter().map(lot_to_proto).collect(),
            draws: draws
                .iter()
                .map(|draw| pb::CreditDraw {
                    lot_id: draw.lot_id.map(|id| id.to_string()).unwrap_or_default(),
                    ticket_id: draw.ticket_id.to_string(),
                    time_entry_id: draw.time_entry_id.to_string(),
                    minutes: draw.minutes,
                    draw_time: Some(timestamp_from(draw.drawn_at)),
                })
                .collect(),
            used_minutes_last_90_days: to_i32(u32::try_from(used).unwrap_or(u32::MAX)),
            projected_exhausted_on: credits::projected_exhaustion(balance, used, today)
                .map(Into::into),
        })
    }
}

impl Tickets {
    pub async fn run_post_calculation(
        &self,
        caller: &Caller,
        request: pb::RunPostCalculationRequest,
    ) -> Result<pb::RunPostCalculationResponse, Status> {
        caller.require_staff(Role::SupportAgent, self.vendor())?;
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "RunPostCalculation",
            &request.idempotency_key,
            &request,
        )?;
        let (first, last) = crate::tickets::month_range(&request.month)?;
        let today = Utc::now()
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        if last >= today {
            return Err(status::invalid_argument(
                "month",
                format!(
                    "{} has not ended (today is {today}): a month is post-calculated once all \
                     its time is logged",
                    request.month.trim()
                ),
            ));
        }
        if let Some(response) = idempotency::replay(&self.db, &key).await? {
            return Ok(response);
        }
        let context = "running the post-calculation";
        let report = crate::post_calculation::run(
            &self.db,
            first,
            last,
            self.settings.billing_unit_minutes,
            self.credit.hourly_rate,
        )
        .await
        .map_err(db(context))?;
        if !report.statements.is_empty() {
            self.relay.notify();
        }
        let response = pb::RunPostCalculationResponse {
            statements: report.statements.iter().map(statement_to_proto).collect(),
            already_issued: i32::try_from(report.already_issued).unwrap_or(i32::MAX),
        };
        idempotency::store_or_replay(&self.db, &key, response, context).await
    }
}

fn statement_to_proto(
    statement: &crate::post_calculation::Statement,
) -> pb::PostCalculationStatement {
    let money = |minor: i64| -> dk_proto::common::v1::Money {
        Money::from_minor_units(minor, Currency::EUR).into()
    };
    pb::PostCalculationStatement {
        statement_id: statement.row.id.to_string(),
        organisation_id: statement.row.organisation_id.to_string(),
        month: statement.row.month.clone(),
        lines: statement
            .lines
            .iter()
            .map(|line| pb::PostCalculationLine {
                ticket_id: line.ticket_id.to_string(),
                subject: line.subject.clone(),
                line: if line.line >= 3 {
                    pb::SupportLine::Third
                } else {
                    pb::SupportLine::Second
                } as i32,
                billed_minutes: to_i32(line.billed_minutes),
                prepaid_minutes: to_i32(line.prepaid_minutes),
                post_calculated_minutes: to_i32(line.post_calculated_minutes),
                hourly_rate: Some(money(line.hourly_rate_minor)),
                amount: Some(money(line.amount_minor)),
            })
            .collect(),
        total: Some(money(statement.row.total_minor)),
    }
}

fn mode_to_proto(mode: &str) -> pb::BillingMode {
    if mode == PREPAID {
        pb::BillingMode::Prepaid
    } else {
        pb::BillingMode::PostCalculation
    }
}

fn lot_to_proto(lot: &credit_lot::Model) -> pb::CreditLot {
    let currency = Currency::parse(&lot.currency).unwrap_or(Currency::EUR);
    pb::CreditLot {
        lot_id: lot.id.to_string(),
        product: credits::product_to_proto(&lot.product) as i32,
        purchase_time: Some(timestamp_from(lot.purchased_at)),
        period: lot.period.clone().unwrap_or_default(),
        hourly_rate: Some(Money::from_minor_units(lot.hourly_rate_minor, currency).into()),
        total_minutes: lot.total_minutes,
        remaining_minutes: lot.remaining_minutes,
    }
}
