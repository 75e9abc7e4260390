//! The invoice index that matching decides against, cached per organisation.
//!
//! Building the index reads every invoice of the organisation, which for 100,000 invoices
//! takes far longer than deciding a mutation. The cache keeps it between mutations and stays
//! correct with other writers through `invoice_versions`. Every transaction that changes an
//! organisation's invoices raises its version. The consumer raises it first, which also locks
//! the row, and uses the cached index only when it was current at the version before. After
//! the commit the consumer applies its own changes to the cache; after a failed transaction it
//! drops the cache, which the next mutation rebuilds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dk_domain::{Currency, Money};
use dk_matching::{InvoiceIndex, InvoiceKind, OpenInvoice};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, Set};

use crate::entity::{invoice, invoice_version};

/// Raises the organisation's invoice version and returns the new value. Called once in every
/// transaction that changes the organisation's invoices.
pub async fn bump<C: ConnectionTrait>(db: &C, organisation: Uuid) -> Result<i64, DbErr> {
    let row = invoice_version::Entity::insert(invoice_version::ActiveModel {
        organisation_id: Set(organisation),
        version: Set(1),
    })
    .on_conflict(
        OnConflict::column(invoice_version::Column::OrganisationId)
            .value(
                invoice_version::Column::Version,
                Expr::col((invoice_version::Entity, invoice_version::Column::Version)).add(1),
            )
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    Ok(row.version)
}

/// One organisation's index of sales or purchase invoices, with the rows it was built from.
pub struct OrgIndex {
    /// The version the index reflects.
    pub version: i64,
    pub sales: InvoiceIndex,
    pub purchase: InvoiceIndex,
    pub invoices: HashMap<Uuid, invoice::Model>,
}

impl OrgIndex {
    fn load_from(rows: Vec<invoice::Model>, version: i64) -> Self {
        let mut index = Self {
            version,
            sales: InvoiceIndex::new(),
            purchase: InvoiceIndex::new(),
            invoices: HashMap::with_capacity(rows.len()),
        };
        for row in rows {
            index.insert(row);
        }
        index
    }

    fn insert(&mut self, row: invoice::Model) {
        let currency = Currency::parse(&row.currency).unwrap_or(Currency::EUR);
        let (kind, target) = if row.kind == "purchase" {
            (InvoiceKind::Purchase, &mut self.purchase)
        } else {
            (InvoiceKind::Sales, &mut self.sales)
        };
        target.insert(OpenInvoice {
            id: row.id,
            kind,
            number: row.number.clone(),
            payment_reference: row.payment_reference.clone(),
            counterparty_iban: row.counterparty_iban.clone(),
            open_amount: Money::from_minor_units(row.open_minor, currency).amount(),
            total_amount: Money::from_minor_units(row.amount_minor, currency).amount(),
        });
        self.invoices.insert(row.id, row);
    }

    /// Returns the index of sales or of purchase invoices.
    pub fn of_kind(&self, purchase: bool) -> &InvoiceIndex {
        if purchase {
            &self.purchase
        } else {
            &self.sales
        }
    }

    /// Records a committed change of an invoice's open amount.
    pub fn set_open(&mut self, id: Uuid, open_minor: i64) {
        let Some(row) = self.invoices.get_mut(&id) else {
            return;
        };
        row.open_minor = open_minor;
        let currency = Currency::parse(&row.currency).unwrap_or(Currency::EUR);
        let amount = Money::from_minor_units(open_minor, currency).amount();
        if row.kind == "purchase" {
            self.purchase.update_open_amount(id, amount);
        } else {
            self.sales.update_open_amount(id, amount);
        }
    }
}

/// One organisation's cached index, empty until first built or after a failed transaction.
pub type Slot = Arc<tokio::sync::Mutex<Option<OrgIndex>>>;

/// Cached indexes per organisation. Each entry has its own lock, held by the transaction that
/// uses it, so one process decides an organisation's mutations one at a time.
#[derive(Clone, Default)]
pub struct IndexCache {
    entries: Arc<Mutex<HashMap<Uuid, Slot>>>,
}

impl IndexCache {
    /// Returns the slot of an organisation; lock it for the length of the transaction.
    pub fn slot(&self, organisation: Uuid) -> Slot {
        self.entries
            .lock()
            .expect("index cache lock")
            .entry(organisation)
            .or_default()
            .clone()
    }
}

/// Makes `slot` hold the index at `version - 1`, the state before the caller's own change:
/// keeps the cached one when it is current, and otherwise reads the invoices in `db`.
pub async fn refresh<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    version: i64,
    slot: &mut Option<OrgIndex>,
) -> Result<(), DbErr> {
    if slot
        .as_ref()
        .is_some_and(|index| index.version == version - 1)
    {
        return Ok(());
    }
    let rows = invoice::Entity::find()
        .filter(invoice::Column::OrganisationId.eq(organisation))
        .all(db)
        .await?;
    tracing::debug!(%organisation, invoices = rows.len(), "invoice index rebuilt");
    *slot = Some(OrgIndex::load_from(rows, version - 1));
    Ok(())
}
