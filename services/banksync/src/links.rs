//! The automatic bank link's entitlement: which organisations may link accounts, and how many.
//!
//! Billing announces every licence's entitlements in `licence.activated.v1` and
//! `licence.changed.v1`, each with the first day it holds. Banksync keeps one row per
//! organisation and effective date; the row in force on a day is the latest one not after it.
//! Turning an account's automatic link on checks that row: the licence must include the bank
//! link, and the number of linked accounts stays within its maximum (8 by default), so a ninth
//! IBAN is refused. On PostgreSQL the entitlement row is locked while counting, so two accounts
//! linked at the same moment cannot both take the last place.

use std::str::FromStr;

use chrono::{NaiveDate, Utc};
use dk_messaging::{Event, Handler, HandlerError, processed, topology};
use dk_proto::convert::date_from_proto;
use dk_proto::events::v1::{Entitlements, LicenceActivated, LicenceChanged};
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, QueryOrder, QuerySelect, Set};

use crate::entity::{automatic_link, licence_entitlement};

/// Name of this consumer in the processed-event table.
pub const CONSUMER: &str = "banksync.licences";

pub struct LicenceHandler {
    pub db: DatabaseConnection,
}

/// The fields of a licence event that banksync keeps.
struct Announced {
    organisation_id: Uuid,
    licence_id: Uuid,
    effective_from: NaiveDate,
    entitlements: Entitlements,
}

fn decode(event: &Event) -> Result<Announced, HandlerError> {
    let reject = |message: String| HandlerError::Reject(message);
    let (organisation, licence, entitlements, effective) = match event.event_type.as_str() {
        topology::LICENCE_ACTIVATED => {
            let message = LicenceActivated::decode(event.payload.as_slice())
                .map_err(|error| reject(format!("undecodable LicenceActivated: {error}")))?;
            (
                message.organisation_id,
                message.licence_id,
                message.entitlements,
                message.effective_date,
            )
        }
        topology::LICENCE_CHANGED => {
            let message = LicenceChanged::decode(event.payload.as_slice())
                .map_err(|error| reject(format!("undecodable LicenceChanged: {error}")))?;
            (
                message.organisation_id,
                message.licence_id,
                message.entitlements,
                message.effective_date,
            )
        }
        other => return Err(reject(format!("unexpected event type {other:?}"))),
    };
    let uuid = |field: &str, text: &str| {
        Uuid::from_str(text).map_err(|_| reject(format!("{field} {text:?} is not a UUID")))
    };
    let organisation_id = uuid("organisation_id", &organisation)?;
    if organisation_id != event.organisation_id {
        return Err(reject(format!(
            "payload organisation {organisation_id} differs from the event's {}",
            event.organisation_id
        )));
    }
    Ok(Announced {
        organisation_id,
        licence_id: uuid("licence_id", &licence)?,
        effective_from: date_from_proto("effective_date", effective.as_ref())
            .map_err(|error| reject(error.to_string()))?
            .ok_or_else(|| reject("effective_date is missing".into()))?,
        entitlements: entitlements.ok_or_else(|| reject("entitlements are missing".into()))?,
    })
}

impl Handler for LicenceHandler {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let announced = decode(event)?;
            self.store(event.id, announced)
                .await
                .map_err(|error| HandlerError::Retry(error.to_string()))
        })
    }
}

impl LicenceHandler {
    async fn store(&self, event_id: Uuid, announced: Announced) -> Result<(), DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        if !processed::try_mark(&transaction, CONSUMER, event_id).await? {
            return transaction.commit().await;
        }
        let row = licence_entitlement::ActiveModel {
            organisation_id: Set(announced.organisation_id),
            effective_from: Set(announced.effective_from),
            licence_id: Set(announced.licence_id),
            automatic_bank_link: Set(announced.entitlements.automatic_bank_link),
            max_linked_ibans: Set(announced.entitlements.max_linked_ibans.max(0)),
            received_at: Set(Utc::now()),
        };
        licence_entitlement::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    licence_entitlement::Column::OrganisationId,
                    licence_entitlement::Column::EffectiveFrom,
                ])
                .update_columns([
                    licence_entitlement::Column::LicenceId,
                    licence_entitlement::Column::AutomaticBankLink,
                    licence_entitlement::Column::MaxLinkedIbans,
                    licence_entitlement::Column::ReceivedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&transaction)
            .await?;
        tracing::info!(
            organisation_id = %announced.organisation_id,
            effective_from = %announced.effective_from,
            automatic_bank_link = announced.entitlements.automatic_bank_link,
            "licence entitlements received"
        );
        transaction.commit().await
    }
}

/// Error of an account that cannot be linked automatically.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "the licence of organisation {0} does not include the automatic bank link: add it to \
         the licence (dk licence change --add-bank-link; it needs the Boekhouding or Facturatie \
         module)"
    )]
    NotEntitled(Uuid),
    #[error(
        "the licence allows at most {max} automatically linked IBANs and {linked} are linked: \
         unlink one first (dk bank link --account ID --off), or import this account's \
         statement files by hand (no limit)"
    )]
    LimitReached { max: i32, linked: u64 },
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Reads the entitlement in force on `date`, locked on PostgreSQL until the transaction ends.
async fn in_force<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    date: NaiveDate,
) -> Result<Option<licence_entitlement::Model>, DbErr> {
    let mut query = licence_entitlement::Entity::find()
        .filter(licence_entitlement::Column::OrganisationId.eq(organisation))
        .filter(licence_entitlement::Column::EffectiveFrom.lte(date))
        .order_by_desc(licence_entitlement::Column::EffectiveFrom)
        .limit(1);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await
}

/// Returns whether the licence in force on `date` includes the automatic bank link.
pub async fn includes_bank_link<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    date: NaiveDate,
) -> Result<bool, DbErr> {
    Ok(licence_entitlement::Entity::find()
        .filter(licence_entitlement::Column::OrganisationId.eq(organisation))
        .filter(licence_entitlement::Column::EffectiveFrom.lte(date))
        .order_by_desc(licence_entitlement::Column::EffectiveFrom)
        .one(db)
        .await?
        .is_some_and(|entitlement| entitlement.automatic_bank_link))
}

/// Links `account` automatically when the licence allows one more; returns the number linked
/// and the maximum. Linking an account that is linked already changes nothing.
pub async fn link<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    account: Uuid,
    today: NaiveDate,
) -> Result<(u64, i32), LinkError> {
    let entitlement = in_force(db, organisation, today)
        .await?
        .filter(|entitlement| entitlement.automatic_bank_link)
        .ok_or(LinkError::NotEntitled(organisation))?;
    let max = entitlement.max_linked_ibans;
    let linked = linked_count(db, organisation).await?;
    let already = automatic_link::Entity::find_by_id(account)
        .one(db)
        .await?
        .is_some();
    if already {
        return Ok((linked, max));
    }
    if linked >= u64::try_from(max).unwrap_or_default() {
        return Err(LinkError::LimitReached { max, linked });
    }
    automatic_link::ActiveModel {
        bank_account_id: Set(account),
        organisation_id: Set(organisation),
        linked_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok((linked + 1, max))
}

/// Turns the automatic link of `account` off; returns the number linked and the maximum.
pub async fn unlink<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    account: Uuid,
    today: NaiveDate,
) -> Result<(u64, i32), DbErr> {
    automatic_link::Entity::delete_by_id(account)
        .exec(db)
        .await?;
    let max = in_force(db, organisation, today)
        .await?
        .filter(|entitlement| entitlement.automatic_bank_link)
        .map(|entitlement| entitlement.max_linked_ibans)
        .unwrap_or_default();
    Ok((linked_count(db, organisation).await?, max))
}

async fn linked_count<C: ConnectionTrait>(db: &C, organisation: Uuid) -> Result<u64, DbErr> {
    automatic_link::Entity::find()
        .filter(automatic_link::Column::OrganisationId.eq(organisation))
        .count(db)
        .await
}

/// Returns the ids of the accounts among `accounts` that are linked automatically.
pub async fn linked_among<C: ConnectionTrait>(
    db: &C,
    accounts: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, DbErr> {
    if accounts.is_empty() {
        return Ok(Default::default());
    }
    Ok(automatic_link::Entity::find()
        .filter(automatic_link::Column::BankAccountId.is_in(accounts.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|link| link.bank_account_id)
        .collect())
}
