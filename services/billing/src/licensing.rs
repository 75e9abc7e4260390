//! Licences: the entitlements an organisation pays for, as dated versions of a basket.
//!
//! A licence has one version per date on which its basket changed. The basket in force on a
//! day is the version with the latest `effective_from` not after it. A change is the full basket
//! the customer wants next (`desired`), derived from the latest version:
//!
//! - additions and increases hold from the change date, and the rest of the month is charged by
//!   calendar day on the next monthly invoice (`licence_charges`);
//! - removals and decreases hold from the first day of the next month, so the paid month keeps
//!   what was paid for and nothing is refunded.
//!
//! On the change date the licence therefore contains the union of the current and the desired
//! basket, and from the next month the desired basket. A trial licence charges nothing: its
//! changes hold at once.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use dk_pricing::{Basket, BillingMonth, Catalogue, Change, QuoteDiff};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryOrder, Set};

use crate::entity::{licence, licence_charge, licence_version};

/// A free trial licence.
pub const TRIAL: &str = "trial";
/// A paid licence, invoiced monthly in advance.
pub const ACTIVE: &str = "active";

/// Returns the date in the Netherlands at `now`, by which licences change and invoices are dated.
pub fn local_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive()
}

/// First day of the month after `date`.
pub fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    BillingMonth::of(date).last_day() + Days::new(1)
}

/// A licence with its versions, oldest first.
#[derive(Debug, Clone)]
pub struct Licence {
    pub row: licence::Model,
    pub versions: Vec<(NaiveDate, Basket)>,
}

impl Licence {
    /// Reads the licence of `organisation`, if it has one.
    pub async fn find<C: ConnectionTrait>(
        db: &C,
        organisation: Uuid,
    ) -> Result<Option<Self>, LicenceError> {
        let Some(row) = licence::Entity::find()
            .filter(licence::Column::OrganisationId.eq(organisation))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        Self::with_versions(db, row).await.map(Some)
    }

    /// Reads the versions of a licence row.
    pub async fn with_versions<C: ConnectionTrait>(
        db: &C,
        row: licence::Model,
    ) -> Result<Self, LicenceError> {
        let rows = licence_version::Entity::find()
            .filter(licence_version::Column::LicenceId.eq(row.id))
            .order_by_asc(licence_version::Column::EffectiveFrom)
            .all(db)
            .await?;
        let mut versions = Vec::with_capacity(rows.len());
        for version in rows {
            let basket: Basket = serde_json::from_str(&version.basket).map_err(|source| {
                LicenceError::StoredBasket {
                    licence_id: row.id,
                    source,
                }
            })?;
            versions.push((version.effective_from, basket));
        }
        Ok(Self { row, versions })
    }

    pub fn is_trial(&self) -> bool {
        self.row.state == TRIAL
    }

    /// Returns the basket in force on `date`, if the licence existed then.
    pub fn basket_on(&self, date: NaiveDate) -> Option<&Basket> {
        self.versions
            .iter()
            .rev()
            .find(|(from, _)| *from <= date)
            .map(|(_, basket)| basket)
    }

    /// The basket of the latest version, a scheduled one included.
    pub fn latest(&self) -> Option<&Basket> {
        self.versions.last().map(|(_, basket)| basket)
    }

    /// The first version that starts after `date`, if a change is scheduled.
    pub fn scheduled_after(&self, date: NaiveDate) -> Option<(NaiveDate, &Basket)> {
        self.versions
            .iter()
            .find(|(from, _)| *from > date)
            .map(|(from, basket)| (*from, basket))
    }
}

/// Returns the union of two baskets: every item of either, and the larger user count. Customer
/// data and the custom user price come from `desired`.
pub fn union(current: &Basket, desired: &Basket) -> Basket {
    let merge = |left: &[String], right: &[String]| {
        let mut merged = left.to_vec();
        merged.extend(right.iter().filter(|code| !left.contains(code)).cloned());
        merged
    };
    Basket {
        modules: merge(&current.modules, &desired.modules),
        add_ons: merge(&current.add_ons, &desired.add_ons),
        bank_link: current.bank_link || desired.bank_link,
        one_off_products: Vec::new(),
        users: current.users.max(desired.users),
        ..desired.clone()
    }
}

/// The writes of a change: the versions from today and from next month, and today's charges.
#[derive(Debug)]
pub struct Plan {
    /// The basket from the change date on, when it differs from the current one.
    pub from_today: Option<Basket>,
    /// The basket from the first day of the next month, when it differs from `from_today`.
    pub from_next_month: Option<Basket>,
    pub diff: QuoteDiff,
}

/// Plans the change of a paid licence from `current` to `desired` on `today`.
pub fn plan(
    catalogue: &Catalogue,
    current: &Basket,
    desired: &Basket,
    today: NaiveDate,
) -> Result<Plan, dk_pricing::QuoteError> {
    let diff = dk_pricing::diff(catalogue, current, desired, today, BillingMonth::of(today))?;
    let merged = union(current, desired);
    let from_today = (merged != *current).then(|| merged.clone());
    let from_next_month = (*desired != merged).then(|| desired.clone());
    Ok(Plan {
        from_today,
        from_next_month,
        diff,
    })
}

/// Returns an empty basket of the same customer, the starting point of a new licence.
pub fn empty_like(basket: &Basket) -> Basket {
    Basket {
        modules: Vec::new(),
        add_ons: Vec::new(),
        bank_link: false,
        one_off_products: Vec::new(),
        users: 1,
        ..basket.clone()
    }
}

/// Returns whether a diff leaves a price to sales: a users line beyond the table without a
/// custom price.
pub fn needs_custom_price(diff: &QuoteDiff) -> bool {
    diff.lines.iter().any(|line| {
        matches!(line.change, Change::Added | Change::Increased) && line.prorated_amount.is_none()
    })
}

/// Writes a version of `licence_id` from `from`, replacing one of the same date.
pub async fn put_version<C: ConnectionTrait>(
    db: &C,
    licence_id: Uuid,
    from: NaiveDate,
    basket: &Basket,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    licence_version::Entity::delete_many()
        .filter(licence_version::Column::LicenceId.eq(licence_id))
        .filter(licence_version::Column::EffectiveFrom.eq(from))
        .exec(db)
        .await?;
    licence_version::ActiveModel {
        licence_id: Set(licence_id),
        effective_from: Set(from),
        basket: Set(serde_json::to_string(basket).expect("a basket serialises")),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Removes the versions that would start after `date`: a new change replaces what was
/// scheduled.
pub async fn drop_scheduled<C: ConnectionTrait>(
    db: &C,
    licence_id: Uuid,
    date: NaiveDate,
) -> Result<(), DbErr> {
    licence_version::Entity::delete_many()
        .filter(licence_version::Column::LicenceId.eq(licence_id))
        .filter(licence_version::Column::EffectiveFrom.gt(date))
        .exec(db)
        .await
        .map(|_| ())
}

/// Records the prorated amounts of a diff's additions as charges for the next invoice.
pub async fn record_charges<C: ConnectionTrait>(
    db: &C,
    licence_id: Uuid,
    diff: &QuoteDiff,
    now: DateTime<Utc>,
) -> Result<(), LicenceError> {
    for line in &diff.lines {
        let Some(amount) = line
            .prorated_amount
            .filter(|amount| amount.amount() > 0.into())
        else {
            continue;
        };
        if !matches!(line.change, Change::Added | Change::Increased) {
            continue;
        }
        let vat_rate = diff
            .after
            .lines
            .iter()
            .find(|after| after.code == line.code)
            .map(|after| after.vat_rate.normalize())
            .unwrap_or_default();
        licence_charge::ActiveModel {
            id: Set(Uuid::now_v7()),
            licence_id: Set(licence_id),
            billing_month: Set(diff.billing_month.to_string()),
            change_date: Set(diff.change_date),
            code: Set(line.code.clone()),
            description: Set(line.description.clone()),
            amount_minor: Set(amount.to_minor_units()?),
            currency: Set(amount.currency().to_string()),
            vat_rate: Set(vat_rate.to_string()),
            explanation: Set(line.explanation.clone()),
            invoice_id: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Reads the charges of a licence that no invoice has collected yet.
pub async fn pending_charges<C: ConnectionTrait>(
    db: &C,
    licence_id: Uuid,
) -> Result<Vec<licence_charge::Model>, DbErr> {
    licence_charge::Entity::find()
        .filter(licence_charge::Column::LicenceId.eq(licence_id))
        .filter(licence_charge::Column::InvoiceId.is_null())
        .order_by_asc(licence_charge::Column::CreatedAt)
        .all(db)
        .await
}

/// Text of a month for a `YYYY-MM` billing month in `language`.
pub fn month_text(month: BillingMonth, language: dk_pricing::Language) -> String {
    let first = month.first_day();
    language.month(first.year(), first.month())
}

#[derive(Debug, thiserror::Error)]
pub enum LicenceError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error("stored basket of licence {licence_id} is unreadable: {source}")]
    StoredBasket {
        licence_id: Uuid,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Money(#[from] dk_domain::MoneyError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn basket(modules: &[&str], users: u32) -> Basket {
        Basket {
            modules: modules.iter().map(|code| (*code).to_owned()).collect(),
            users,
            ..Basket::default()
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn addition_holds_today_and_is_prorated() {
        let catalogue = Catalogue::default_nl();
        let current = basket(&["crm"], 1);
        let desired = basket(&["crm", "handel"], 4);
        let plan = plan(&catalogue, &current, &desired, date("2026-04-16")).unwrap();
        assert_eq!(plan.from_today, Some(desired.clone()));
        assert_eq!(plan.from_next_month, None);
        // Handel 15.00 and 3 users at 10.00, 15 of 30 days: 7.50 + 15.00.
        assert_eq!(plan.diff.prorated_total.amount(), dec!(22.50));
    }

    #[test]
    fn removal_waits_for_the_next_month() {
        let catalogue = Catalogue::default_nl();
        let current = basket(&["crm", "handel"], 5);
        let desired = basket(&["crm", "facturatie"], 3);
        let plan = plan(&catalogue, &current, &desired, date("2026-02-10")).unwrap();
        let today = plan.from_today.unwrap();
        assert_eq!(today.modules, ["crm", "handel", "facturatie"]);
        assert_eq!(today.users, 5);
        assert_eq!(plan.from_next_month, Some(desired));
        // Only Facturatie is charged: 10.00 × 19/28 days.
        assert_eq!(plan.diff.prorated_total.amount(), dec!(6.79));
    }

    #[test]
    fn unchanged_basket_plans_nothing() {
        let catalogue = Catalogue::default_nl();
        let current = basket(&["crm"], 2);
        let plan = plan(&catalogue, &current, &current, date("2026-05-31")).unwrap();
        assert!(plan.from_today.is_none());
        assert!(plan.from_next_month.is_none());
        assert!(plan.diff.prorated_total.is_zero());
    }

    #[test]
    fn growing_beyond_the_user_table_needs_sales() {
        let catalogue = Catalogue::default_nl();
        let current = basket(&["crm"], 40);
        let desired = basket(&["crm"], 60);
        let plan = plan(&catalogue, &current, &desired, date("2026-05-02")).unwrap();
        assert!(needs_custom_price(&plan.diff));
        let priced = Basket {
            custom_user_price: Some(dec!(3)),
            ..desired
        };
        let plan = super::plan(&catalogue, &current, &priced, date("2026-05-02")).unwrap();
        assert!(!needs_custom_price(&plan.diff));
    }

    #[test]
    fn versions_pick_the_latest_in_force() {
        let row = licence::Model {
            id: Uuid::nil(),
            organisation_id: Uuid::nil(),
            state: ACTIVE.to_owned(),
            language: "nl".to_owned(),
            activated_on: Some(date("2026-01-10")),
            quote_id: None,
            created_at: Utc::now(),
        };
        let licence = Licence {
            row,
            versions: vec![
                (date("2026-01-10"), basket(&["crm"], 1)),
                (date("2026-02-01"), basket(&["boekhouding"], 1)),
            ],
        };
        assert!(licence.basket_on(date("2026-01-09")).is_none());
        assert_eq!(
            licence.basket_on(date("2026-01-31")).unwrap().modules,
            ["crm"]
        );
        assert_eq!(
            licence.basket_on(date("2026-02-01")).unwrap().modules,
            ["boekhouding"]
        );
        assert_eq!(
            licence.scheduled_after(date("2026-01-20")).unwrap().0,
            date("2026-02-01")
        );
        assert_eq!(first_of_next_month(date("2026-12-31")), date("2027-01-01"));
    }
}
