//! Prepaid credit (strippenkaart): billing modes, credit lots, and the draws of billed time.
//!
//! An organisation pays for billed time by post-calculation (the default) or from prepaid
//! credit. Buying an hour card, or a package period, adds a lot of minutes at the product's
//! discounted hourly rate; lots never expire. When time is logged on a billed line, it adds
//! billed minutes to its ticket's month, after rounding up to the billing unit. Those minutes are
//! drawn from the oldest lot with minutes left, then the next. What no lot covers falls back to
//! post-calculation and is recorded as a draw without a lot.
//!
//! The balance cannot go below zero: each draw is an `UPDATE … WHERE remaining_minutes >= n`,
//! which waits for a concurrent draw on the same lot and is then evaluated again, and a check
//! constraint rejects a negative balance in the database as well.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use dk_domain::{Currency, Money};
use dk_messaging::{Event, outbox};
use dk_proto::events::v1 as events;
use dk_proto::support::v1 as pb;
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ConnectionTrait, DatabaseTransaction, IntoActiveModel, QueryOrder, Set};

use crate::entity::{billing_mode, credit_draw, credit_lot, credit_package};
use crate::settings::{CreditProduct, CreditSettings};

/// Routing key and CloudEvents type of bought credit.
pub const CREDIT_PURCHASED: &str = "support.credit.purchased.v1";
/// Producer name of support's exchange and outbox.
pub const PRODUCER: &str = "support";
const EVENT_SOURCE: &str = "/dk/support";
/// Days of use the projection looks back on.
pub const PROJECTION_DAYS: i64 = 90;

pub const POST_CALCULATION: &str = "post_calculation";
pub const PREPAID: &str = "prepaid";

/// Returns a product's code in the database and events, with its hours and discount.
pub fn product(
    settings: &CreditSettings,
    product: pb::CreditProduct,
) -> Option<(&'static str, CreditProduct)> {
    match product {
        pb::CreditProduct::Card10Hours => Some(("card_10_hours", settings.card_10_hours)),
        pb::CreditProduct::Card20Hours => Some(("card_20_hours", settings.card_20_hours)),
        pb::CreditProduct::Card50Hours => Some(("card_50_hours", settings.card_50_hours)),
        pb::CreditProduct::PackageMonthly => Some(("package_monthly", settings.package_monthly)),
        pb::CreditProduct::PackageYearly => Some(("package_yearly", settings.package_yearly)),
        pb::CreditProduct::Unspecified => None,
    }
}

pub fn product_to_proto(code: &str) -> pb::CreditProduct {
    match code {
        "card_10_hours" => pb::CreditProduct::Card10Hours,
        "card_20_hours" => pb::CreditProduct::Card20Hours,
        "card_50_hours" => pb::CreditProduct::Card50Hours,
        "package_monthly" => pb::CreditProduct::PackageMonthly,
        "package_yearly" => pb::CreditProduct::PackageYearly,
        _ => pb::CreditProduct::Unspecified,
    }
}

/// Returns the discounted hourly rate: the standard rate minus the discount, rounded to cents
/// half away from zero.
pub fn discounted_rate(hourly_rate: Decimal, discount_percent: Decimal) -> Money {
    let rate = hourly_rate * (Decimal::ONE_HUNDRED - discount_percent) / Decimal::ONE_HUNDRED;
    Money::new(rate, Currency::EUR).round()
}

/// Returns the period key of a package on `date`: `YYYY-MM` monthly, `YYYY` yearly.
pub fn period_of(code: &str, date: NaiveDate) -> String {
    if code == "package_yearly" {
        format!("{:04}", date.year())
    } else {
        format!("{:04}-{:02}", date.year(), date.month())
    }
}

/// Reads an organisation's billing mode; post-calculation when it chose none.
pub async fn mode<C: ConnectionTrait>(db: &C, organisation: Uuid) -> Result<String, DbErr> {
    Ok(billing_mode::Entity::find_by_id(organisation)
        .one(db)
        .await?
        .map(|row| row.mode)
        .unwrap_or_else(|| POST_CALCULATION.to_owned()))
}

/// Creates a lot of `product` and enqueues `support.credit.purchased.v1` for billing.
#[allow(clippy::too_many_arguments)]
pub async fn add_lot(
    transaction: &DatabaseTransaction,
    organisation: Uuid,
    code: &str,
    product: CreditProduct,
    hourly_rate: Decimal,
    package: Option<(Uuid, String)>,
    now: DateTime<Utc>,
) -> Result<(credit_lot::Model, Money), DbErr> {
    let rate = discounted_rate(hourly_rate, product.discount_percent);
    let minutes = i32::try_from(product.hours * 60).unwrap_or(i32::MAX);
    let lot = credit_lot::Model {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        product: code.to_owned(),
        package_id: package.as_ref().map(|(id, _)| *id),
        period: package.map(|(_, period)| period),
        purchased_at: now,
        hourly_rate_minor: rate
            .to_minor_units()
            .map_err(|error| DbErr::Custom(error.to_string()))?,
        currency: rate.currency().to_string(),
        total_minutes: minutes,
        remaining_minutes: minutes,
    };
    lot.clone().into_active_model().insert(transaction).await?;
    let amount = Money::new(
        rate.amount() * Decimal::from(product.hours),
        rate.currency(),
    )
    .round();
    let message = events::SupportCreditPurchased {
        organisation_id: organisation.to_string(),
        lot_id: lot.id.to_string(),
        product_code: code.to_owned(),
        hours: i32::try_from(product.hours).unwrap_or(i32::MAX),
        hourly_rate: Some(rate.into()),
        amount: Some(amount.into()),
    };
    let event = Event::new(
        CREDIT_PURCHASED,
        EVENT_SOURCE,
        organisation,
        message.encode_to_vec(),
    );
    outbox::enqueue(transaction, PRODUCER, &[event]).await?;
    Ok((lot, amount))
}

/// Starts a package and adds its first period's lot.
pub async fn start_package(
    transaction: &DatabaseTransaction,
    organisation: Uuid,
    code: &str,
    product: CreditProduct,
    hourly_rate: Decimal,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(credit_lot::Model, Money), DbErr> {
    let package = credit_package::Model {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        product: code.to_owned(),
        started_at: now,
    };
    package
        .clone()
        .into_active_model()
        .insert(transaction)
        .await?;
    add_lot(
        transaction,
        organisation,
        code,
        product,
        hourly_rate,
        Some((package.id, period_of(code, today))),
        now,
    )
    .await
}

/// Adds the lot of the period containing `day` to every package that has none yet and had begun
/// by then. Returns the added lots and the number of packages that had theirs. Each lot has a
/// transaction of its own, so the unique (package, period) index lets one run or replica add it. Callers pass a day no later than today, so no lot is added in advance.
pub async fn renew_all(
    db: &sea_orm::DatabaseConnection,
    settings: &CreditSettings,
    day: NaiveDate,
) -> Result<(Vec<credit_lot::Model>, i32), DbErr> {
    let packages = credit_package::Entity::find()
        .order_by_asc(credit_package::Column::StartedAt)
        .all(db)
        .await?;
    let mut added = Vec::new();
    let mut already = 0;
    for package in packages {
        let period = period_of(&package.product, day);
        let started = package
            .started_at
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        if period < period_of(&package.product, started) {
            continue;
        }
        let product = match package.product.as_str() {
            "package_yearly" => settings.package_yearly,
            _ => settings.package_monthly,
        };
        let transaction = dk_runtime::database::begin_write(db).await?;
        let result = add_lot(
            &transaction,
            package.organisation_id,
            &package.product,
            product,
            settings.hourly_rate,
            Some((package.id, period)),
            Utc::now(),
        )
        .await;
        match result {
            Ok((lot, _)) => {
                transaction.commit().await?;
                added.push(lot);
            }
            Err(error)
                if matches!(
                    error.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                already += 1;
            }
            Err(error) => return Err(error),
        }
    }
    Ok((added, already))
}

/// Draws `minutes` billed minutes of a time entry from the organisation's lots, oldest first;
/// the rest becomes a draw without a lot (post-calculation). Returns the draws.
pub async fn draw(
    transaction: &DatabaseTransaction,
    organisation: Uuid,
    ticket: Uuid,
    time_entry: Uuid,
    minutes: i32,
    now: DateTime<Utc>,
) -> Result<Vec<credit_draw::Model>, DbErr> {
    let mut left = minutes;
    let mut draws = Vec::new();
    while left > 0 {
        let oldest = credit_lot::Entity::find()
            .filter(credit_lot::Column::OrganisationId.eq(organisation))
            .filter(credit_lot::Column::RemainingMinutes.gt(0))
            .order_by_asc(credit_lot::Column::PurchasedAt)
            .order_by_asc(credit_lot::Column::Id)
            .one(transaction)
            .await?;
        let Some(lot) = oldest else {
            break;
        };
        let take = Ord::min(left, lot.remaining_minutes);
        let updated = credit_lot::Entity::update_many()
            .col_expr(
                credit_lot::Column::RemainingMinutes,
                Expr::col(credit_lot::Column::RemainingMinutes).sub(take),
            )
            .filter(credit_lot::Column::Id.eq(lot.id))
            .filter(credit_lot::Column::RemainingMinutes.gte(take))
            .exec(transaction)
            .await?;
        if updated.rows_affected == 0 {
            // Another draw took minutes from this lot first; read the lots again.
            continue;
        }
        draws.push(
            record(
                transaction,
                organisation,
                Some(lot.id),
                ticket,
                time_entry,
                take,
                now,
            )
            .await?,
        );
        left -= take;
    }
    if left > 0 {
        draws.push(
            record(
                transaction,
                organisation,
                None,
                ticket,
                time_entry,
                left,
                now,
            )
            .await?,
        );
    }
    Ok(draws)
}

async fn record(
    transaction: &DatabaseTransaction,
    organisation: Uuid,
    lot: Option<Uuid>,
    ticket: Uuid,
    time_entry: Uuid,
    minutes: i32,
    now: DateTime<Utc>,
) -> Result<credit_draw::Model, DbErr> {
    credit_draw::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation),
        lot_id: Set(lot),
        ticket_id: Set(ticket),
        time_entry_id: Set(time_entry),
        minutes: Set(minutes),
        drawn_at: Set(now),
    }
    .insert(transaction)
    .await
}

/// Returns the day a balance runs out at the rate of `used` minutes over the last
/// [`PROJECTION_DAYS`] days, counted from `today`. Without use or without balance it returns
/// `None`.
pub fn projected_exhaustion(balance: i64, used: i64, today: NaiveDate) -> Option<NaiveDate> {
    if balance <= 0 || used <= 0 {
        return None;
    }
    // Days = balance / (used / 90), rounded up to whole days.
    let days = (balance * PROJECTION_DAYS + used - 1) / used;
    today.checked_add_days(Days::new(u64::try_from(days).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn card_discounts_lower_the_rate() {
        assert_eq!(discounted_rate(dec!(95.00), dec!(5)).amount(), dec!(90.25));
        assert_eq!(discounted_rate(dec!(95.00), dec!(10)).amount(), dec!(85.50));
        assert_eq!(discounted_rate(dec!(95.00), dec!(15)).amount(), dec!(80.75));
        assert_eq!(discounted_rate(dec!(95.00), dec!(0)).amount(), dec!(95.00));
    }

    #[test]
    fn package_periods_are_months_or_years() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 17).unwrap();
        assert_eq!(period_of("package_monthly", day), "2026-03");
        assert_eq!(period_of("package_yearly", day), "2026");
    }

    #[test]
    fn projection_follows_the_recent_rate() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        // 900 minutes used in 90 days is 10 a day; 100 left lasts 10 days.
        assert_eq!(
            projected_exhaustion(100, 900, today),
            NaiveDate::from_ymd_opt(2026, 1, 11)
        );
        // A part of a day counts as a day.
        assert_eq!(
            projected_exhaustion(101, 900, today),
            NaiveDate::from_ymd_opt(2026, 1, 12)
        );
        assert_eq!(projected_exhaustion(100, 0, today), None);
        assert_eq!(projected_exhaustion(0, 900, today), None);
    }
}
