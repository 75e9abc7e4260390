//! The invoice index that matching decides against, cached per organisation.
//!
//! Building the index reads every invoice of the organisation, which for 100,000 invoices
//! takes far longer than deciding a mutation. The cache keeps it between batches and stays
//! correct with other writers through `invoice_versions`: every transaction that changes an
//! organisation's invoices raises its version, as its last statement before the commit.
//!
//! Batches of bank mutations decide one at a time against the index, and may then write and
//! commit while the next one decides ([`Turn`]). Before a batch decides, the committed version
//! must equal the version the index was read at plus one for each of this process's batches
//! that committed since. A higher version means another writer committed a change. Once the
//! batches in flight have finished, the index then reads again the invoices that
//! `invoice_changes` lists for the versions since, or every invoice when the log no longer has
//! all of them. A batch whose predecessor failed fails too, because it decided on open amounts
//! that were never committed.
//!
//! A change that another writer commits while a batch is in flight is not in that batch's
//! decisions, as if the batch had committed first. That holds for the database as well: a
//! batch changes an invoice only if it still has the open amount the batch decided on.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use dk_domain::{Currency, Money};
use dk_matching::{InvoiceIndex, InvoiceKind, OpenInvoice};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, Set};
use tokio::sync::watch;

use crate::entity::{invoice, invoice_change, invoice_version};

/// The number of latest versions whose changed invoices are kept per organisation. An index
/// read before the oldest of them is read again in full.
pub const KEPT_CHANGES: i64 = 1_000;
/// Every this many versions, a raise deletes the changes older than [`KEPT_CHANGES`].
const PRUNE_EVERY: i64 = 100;
/// Above this many changed invoices, an index is read again in full rather than by id.
const MAX_CHANGED_READ: usize = 10_000;

/// Raises the organisation's invoice version, logs the invoices the transaction inserted or
/// changed under the new version, and returns it. Called once in every transaction that
/// changes the organisation's invoices.
pub async fn bump<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    changed: &[Uuid],
) -> Result<i64, DbErr> {
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
    let version = row.version;
    invoice_change::Entity::insert(invoice_change::ActiveModel {
        organisation_id: Set(organisation),
        version: Set(version),
        invoice_ids: Set(changed.iter().flat_map(|id| *id.as_bytes()).collect()),
    })
    .exec_without_returning(db)
    .await?;
    if version % PRUNE_EVERY == 0 {
        invoice_change::Entity::delete_many()
            .filter(invoice_change::Column::OrganisationId.eq(organisation))
            .filter(invoice_change::Column::Version.lte(version - KEPT_CHANGES))
            .exec(db)
            .await?;
    }
    Ok(version)
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

    /// Puts an invoice read from the database into the index, replacing its earlier state.
    fn upsert(&mut self, row: invoice::Model) {
        let only_open_changed = self.invoices.get(&row.id).map(|known| {
            let mut comparable = known.clone();
            comparable.open_minor = row.open_minor;
            comparable.updated_at = row.updated_at;
            comparable == row
        });
        match only_open_changed {
            Some(true) => {
                let (id, open_minor) = (row.id, row.open_minor);
                self.set_open(id, open_minor);
                self.invoices.insert(id, row);
            }
            Some(false) => {
                self.sales.remove(row.id);
                self.purchase.remove(row.id);
                self.insert(row);
            }
            None => self.insert(row),
        }
    }

    /// Brings the index up to `version` by reading again the invoices logged under the versions
    /// since it was read. Returns false and changes nothing when the log no longer has all those
    /// versions or names too many invoices. The index must then be read in full.
    async fn catch_up<C: ConnectionTrait>(
        &mut self,
        db: &C,
        organisation: Uuid,
        version: i64,
    ) -> Result<bool, DbErr> {
        if version < self.version {
            return Ok(false);
        }
        let logged = invoice_change::Entity::find()
            .filter(invoice_change::Column::OrganisationId.eq(organisation))
            .filter(invoice_change::Column::Version.gt(self.version))
            .filter(invoice_change::Column::Version.lte(version))
            .all(db)
            .await?;
        if logged.len() as i64 != version - self.version {
            return Ok(false);
        }

        let mut changed = HashSet::new();
        for change in &logged {
            for bytes in change.invoice_ids.chunks(16) {
                let id = Uuid::from_slice(bytes).map_err(|_| {
                    DbErr::Custom(format!(
                        "invoice change {} of organisation {organisation} holds {} bytes, not \
                         a multiple of 16",
                        change.version,
                        change.invoice_ids.len()
                    ))
                })?;
                changed.insert(id);
            }
        }
        if changed.len() > MAX_CHANGED_READ {
            return Ok(false);
        }

        let changed: Vec<Uuid> = changed.into_iter().collect();
        let mut rows = Vec::with_capacity(changed.len());
        for chunk in changed.chunks(1_000) {
            rows.extend(
                invoice::Entity::find()
                    .filter(invoice::Column::OrganisationId.eq(organisation))
                    .filter(invoice::Column::Id.is_in(chunk.iter().copied()))
                    .all(db)
                    .await?,
            );
        }
        for row in rows {
            self.upsert(row);
        }
        self.version = version;
        Ok(true)
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

/// How far a batch that decided against the cached index has come. A batch that failed
/// passes straight to `Failed`, from any stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Deciding or writing its rows.
    Writing,
    /// All its statements but the version raise and the commit have run.
    Written,
    Committed,
    Failed,
}

/// One organisation's cached index and the batches deciding against it.
#[derive(Default)]
pub struct OrgState {
    /// The index with the changes of every batch that decided against it, committed or not.
    index: Option<OrgIndex>,
    /// Set when a batch that decided against `index` did not commit, so that the index contains
    /// open amounts that are not in the database.
    broken: Arc<AtomicBool>,
    /// This process's batches that committed since `index` was read; each raised the version
    /// once.
    committed: Arc<AtomicI64>,
    /// The progress of the last batch that decided against `index`.
    last: Option<watch::Receiver<Progress>>,
    /// How often `index` was read in full.
    full_reads: u64,
}

/// A batch's place in its organisation's order of batches.
///
/// Batches decide one after the other against the index, each seeing the open amounts of the
/// ones before, and may then overlap in the database. A batch writes the rows that others may
/// touch once the batch before it has written its own, and raises the version and commits once
/// that batch has committed. So no two batches wait for each other's rows, and a batch commits
/// only after every decision it built on. Dropping a turn that did not commit marks the index
/// broken.
pub struct Turn {
    previous: Option<watch::Receiver<Progress>>,
    progress: watch::Sender<Progress>,
    broken: Arc<AtomicBool>,
    committed: Arc<AtomicI64>,
}

impl OrgState {
    /// Readies the index for the next batch and gives that batch its turn.
    ///
    /// The index is used when no other writer has raised the organisation's version since it was
    /// read, with the changes of the batches still in flight. Otherwise it is read again from
    /// `db`, after those batches have finished.
    pub async fn take_turn<C: ConnectionTrait>(
        &mut self,
        db: &C,
        organisation: Uuid,
    ) -> Result<(&mut OrgIndex, Turn), DbErr> {
        let in_flight = self
            .last
            .as_ref()
            .filter(|last| *last.borrow() != Progress::Committed)
            .cloned();

        let mut usable = self.index.is_some() && !self.broken.load(Ordering::Acquire);
        if usable
            && in_flight
                .as_ref()
                .is_some_and(|last| *last.borrow() == Progress::Failed)
        {
            usable = false;
        }
        if usable && let Some(index) = &self.index {
            let current = current_version(db, organisation).await?;
            // A batch that committed but has not counted itself yet reads as another writer,
            // which costs a needless read but never a missed change.
            let own = self.committed.load(Ordering::Acquire);
            usable = current == index.version + own;
            if !usable {
                tracing::debug!(%organisation, current, read_at = index.version, own, "another writer changed the invoices; reading them again");
            }
        }

        let previous = if usable {
            in_flight
        } else {
            if let Some(last) = in_flight {
                settled(last).await;
            }
            // The version first: invoices changed after it raise it, and the next turn reads
            // them again.
            let version = current_version(db, organisation).await?;
            // A failed batch left open amounts in the index that are not in the database, and
            // the log does not name its invoices, so only a full read repairs the index.
            let caught_up = match self.index.as_mut() {
                Some(index) if !self.broken.load(Ordering::Acquire) => {
                    index.catch_up(db, organisation, version).await?
                }
                _ => false,
            };
            if caught_up {
                tracing::debug!(%organisation, version, "invoice index caught up");
            } else {
                // This reads every invoice of the organisation, about 0.5 s for 100,000.
                let rows = invoice::Entity::find()
                    .filter(invoice::Column::OrganisationId.eq(organisation))
                    .all(db)
                    .await?;
                tracing::debug!(%organisation, invoices = rows.len(), "invoice index rebuilt");
                self.index = Some(OrgIndex::load_from(rows, version));
                self.full_reads += 1;
            }
            self.broken = Arc::default();
            self.committed = Arc::default();
            None
        };

        let (progress, last) = watch::channel(Progress::Writing);
        self.last = Some(last);
        let index = self
            .index
            .as_mut()
            .ok_or_else(|| DbErr::Custom("the invoice index is missing".into()))?;
        let turn = Turn {
            previous,
            progress,
            broken: self.broken.clone(),
            committed: self.committed.clone(),
        };
        Ok((index, turn))
    }
}

impl Turn {
    /// Waits until the batch before has written its rows; fails when it failed.
    pub async fn previous_written(&self) -> Result<(), DbErr> {
        self.wait_previous(|progress| progress != Progress::Writing)
            .await
    }

    /// Waits until the batch before has committed; fails when it failed.
    pub async fn previous_committed(&self) -> Result<(), DbErr> {
        self.wait_previous(|progress| matches!(progress, Progress::Committed | Progress::Failed))
            .await
    }

    async fn wait_previous(&self, reached: impl Fn(Progress) -> bool) -> Result<(), DbErr> {
        let Some(previous) = &self.previous else {
            return Ok(());
        };
        let mut previous = previous.clone();
        let progress = previous
            .wait_for(|progress| reached(*progress))
            .await
            .map(|progress| *progress)
            .unwrap_or(Progress::Failed);
        if progress == Progress::Failed {
            return Err(DbErr::Custom(
                "the batch before this one failed, and this one decided on its open amounts".into(),
            ));
        }
        Ok(())
    }

    /// Records that all statements but the version raise and the commit have run.
    pub fn written(&self) {
        self.progress.send_replace(Progress::Written);
    }

    /// Records the commit, which raised the version once.
    pub fn committed(self) {
        self.committed.fetch_add(1, Ordering::AcqRel);
        self.progress.send_replace(Progress::Committed);
    }

    /// Records a failure once the batch before has settled, so that batches settle in order.
    pub async fn failed(self) {
        if let Some(previous) = self.previous.clone() {
            settled(previous).await;
        }
        // Dropping marks the failure.
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if *self.progress.borrow() != Progress::Committed {
            self.broken.store(true, Ordering::Release);
            self.progress.send_replace(Progress::Failed);
        }
    }
}

/// Waits until a batch has committed or failed.
async fn settled(mut progress: watch::Receiver<Progress>) {
    let _ = progress
        .wait_for(|progress| matches!(progress, Progress::Committed | Progress::Failed))
        .await;
}

/// Returns the organisation's committed invoice version, 0 before its first change.
async fn current_version<C: ConnectionTrait>(db: &C, organisation: Uuid) -> Result<i64, DbErr> {
    Ok(invoice_version::Entity::find_by_id(organisation)
        .one(db)
        .await?
        .map_or(0, |row| row.version))
}

/// One organisation's state, locked by a batch while it decides.
pub type Slot = Arc<tokio::sync::Mutex<OrgState>>;

/// Cached indexes per organisation. Each entry has its own lock, held while a batch decides, so
/// one process decides an organisation's mutations one at a time.
#[derive(Clone, Default)]
pub struct IndexCache {
    entries: Arc<Mutex<HashMap<Uuid, Slot>>>,
}

impl IndexCache {
    /// Returns the slot of an organisation; lock it while deciding.
    pub fn slot(&self, organisation: Uuid) -> Slot {
        self.entries
            .lock()
            .expect("index cache lock")
            .entry(organisation)
            .or_default()
            .clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use futures::FutureExt;
    use sea_orm::{ActiveModelTrait, ConnectOptions, Database, DatabaseConnection};
    use sea_orm_migration::MigratorTrait;

    use super::*;

    /// Opens a migrated bookkeeping database in memory.
    pub(crate) async fn database() -> DatabaseConnection {
        let mut options = ConnectOptions::new("sqlite::memory:");
        // One connection: each connection to `sqlite::memory:` opens a database of its own.
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.expect("SQLite in memory");
        crate::migration::Migrator::up(&db, None)
            .await
            .expect("migrate");
        db
    }

    /// Writes an open sales invoice of 10.00 the way another writer would, raising the version.
    async fn add_invoice(db: &DatabaseConnection, organisation: Uuid, number: &str) -> Uuid {
        let today = chrono::Utc::now();
        let id = Uuid::now_v7();
        invoice::ActiveModel {
            id: Set(id),
            organisation_id: Set(organisation),
            kind: Set("sales".into()),
            number: Set(number.into()),
            number_key: Set(number.to_lowercase()),
            counterparty_name: Set("Kantoorhuis Smit".into()),
            counterparty_iban: Set(None),
            counterparty_country: Set("NL".into()),
            currency: Set("EUR".into()),
            amount_minor: Set(1_000),
            open_minor: Set(1_000),
            issue_date: Set(today.date_naive()),
            due_date: Set(today.date_naive()),
            payment_reference: Set(None),
            created_at: Set(today),
            updated_at: Set(today),
        }
        .insert(db)
        .await
        .expect("invoice");
        bump(db, organisation, &[id]).await.expect("raise");
        id
    }

    /// Writes an invoice without raising the version, which no writer of the service does.
    async fn add_invoice_unannounced(db: &DatabaseConnection, organisation: Uuid, number: &str) {
        let version = current_version(db, organisation).await.expect("version");
        add_invoice(db, organisation, number).await;
        invoice_version::Entity::update_many()
            .col_expr(invoice_version::Column::Version, Expr::value(version))
            .filter(invoice_version::Column::OrganisationId.eq(organisation))
            .exec(db)
            .await
            .expect("version back");
    }

    #[tokio::test]
    async fn turn_writes_and_commits_after_previous() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        let mut state = OrgState::default();
        let (_, first) = state.take_turn(&db, organisation).await.expect("turn");
        let (_, second) = state.take_turn(&db, organisation).await.expect("turn");

        assert!(
            second.previous_written().now_or_never().is_none(),
            "the second writes after the first"
        );
        first.written();
        second
            .previous_written()
            .await
            .expect("the first has written");
        assert!(
            second.previous_committed().now_or_never().is_none(),
            "the second commits after the first"
        );
        bump(&db, organisation, &[]).await.expect("raise");
        first.committed();
        second
            .previous_committed()
            .await
            .expect("the first has committed");
        bump(&db, organisation, &[]).await.expect("raise");
        second.committed();

        // The version counts the two commits only, so the index is used as it is: an invoice
        // written without raising the version does not appear.
        add_invoice_unannounced(&db, organisation, "2026-0001").await;
        let (index, third) = state.take_turn(&db, organisation).await.expect("turn");
        assert!(index.invoices.is_empty(), "the cached index is used");
        third.previous_committed().await.expect("no batch before");
    }

    #[tokio::test]
    async fn turn_after_failed_batch_fails() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        add_invoice(&db, organisation, "2026-0001").await;
        let mut state = OrgState::default();
        let (index, first) = state.take_turn(&db, organisation).await.expect("turn");
        let paid = *index.invoices.keys().next().expect("the invoice");
        index.set_open(paid, 0);
        let (_, second) = state.take_turn(&db, organisation).await.expect("turn");

        // The first batch fails, say at its commit; the second decided on its open amounts.
        first.failed().await;
        let error = second
            .previous_written()
            .await
            .expect_err("the batch before failed");
        assert!(
            error
                .to_string()
                .contains("the batch before this one failed"),
            "{error}"
        );
        second.failed().await;

        let (index, third) = state.take_turn(&db, organisation).await.expect("turn");
        assert_eq!(
            index.invoices[&paid].open_minor, 1_000,
            "the amount the failed batch paid is open again"
        );
        assert_eq!(state.full_reads, 2, "a failed batch makes a full read");
        third.previous_written().await.expect("no batch before");
    }

    #[tokio::test]
    async fn turn_reads_change_by_other_writer() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        let mut state = OrgState::default();
        let (index, first) = state.take_turn(&db, organisation).await.expect("turn");
        assert!(index.invoices.is_empty());
        bump(&db, organisation, &[]).await.expect("raise");
        first.committed();

        add_invoice(&db, organisation, "2026-0002").await;
        let (index, _) = state.take_turn(&db, organisation).await.expect("turn");
        assert_eq!(index.invoices.len(), 1, "the new invoice is in the index");
    }

    #[tokio::test]
    async fn turn_reads_change_after_batch_in_flight() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        let mut state = OrgState::default();
        let (_, first) = state.take_turn(&db, organisation).await.expect("turn");
        add_invoice(&db, organisation, "2026-0003").await;

        // The next turn waits for the batch in flight, whose changes a new read would miss.
        let first_committed = AtomicBool::new(false);
        let (taken, ()) = tokio::join!(state.take_turn(&db, organisation), async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            bump(&db, organisation, &[]).await.expect("raise");
            first_committed.store(true, Ordering::SeqCst);
            first.committed();
        });
        let (index, _) = taken.expect("turn");
        assert!(
            first_committed.load(Ordering::SeqCst),
            "the turn waited for the batch in flight"
        );
        assert_eq!(index.invoices.len(), 1, "the new invoice is in the index");
    }

    #[tokio::test]
    async fn turn_reads_only_logged_invoices_again() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        let paid = add_invoice(&db, organisation, "2026-0004").await;
        let mut state = OrgState::default();
        let (index, first) = state.take_turn(&db, organisation).await.expect("turn");
        assert_eq!(index.invoices.len(), 1);
        bump(&db, organisation, &[]).await.expect("raise");
        first.committed();
        assert_eq!(state.full_reads, 1);

        // Another writer adds an invoice and pays part of the first.
        let added = add_invoice(&db, organisation, "2026-0005").await;
        invoice::Entity::update_many()
            .col_expr(invoice::Column::OpenMinor, Expr::value(400))
            .filter(invoice::Column::Id.eq(paid))
            .exec(&db)
            .await
            .expect("pay");
        bump(&db, organisation, &[paid]).await.expect("raise");

        let (index, _) = state.take_turn(&db, organisation).await.expect("turn");
        assert_eq!(index.invoices[&paid].open_minor, 400);
        assert!(index.invoices.contains_key(&added), "the new invoice");
        let open = index.sales.get(paid).expect("indexed").open_amount;
        assert_eq!(open, rust_decimal::Decimal::new(400, 2));
        assert_eq!(state.full_reads, 1, "no second full read");
    }

    #[tokio::test]
    async fn turn_reads_all_without_the_log() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        let mut state = OrgState::default();
        state.take_turn(&db, organisation).await.expect("turn");
        let added = add_invoice(&db, organisation, "2026-0006").await;
        // As when the versions since the index was read have been pruned.
        invoice_change::Entity::delete_many()
            .exec(&db)
            .await
            .expect("prune");

        let (index, _) = state.take_turn(&db, organisation).await.expect("turn");
        assert!(index.invoices.contains_key(&added));
        assert_eq!(state.full_reads, 2);
    }

    #[tokio::test]
    async fn bump_keeps_latest_changes_only() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        let raises = KEPT_CHANGES + PRUNE_EVERY;
        for _ in 0..raises {
            bump(&db, organisation, &[Uuid::now_v7()])
                .await
                .expect("raise");
        }
        let versions: Vec<i64> = invoice_change::Entity::find()
            .all(&db)
            .await
            .expect("log")
            .into_iter()
            .map(|change| change.version)
            .collect();
        assert_eq!(versions.len() as i64, KEPT_CHANGES);
        assert_eq!(versions.iter().min(), Some(&(raises - KEPT_CHANGES + 1)));
        assert_eq!(versions.iter().max(), Some(&raises));
    }

    #[tokio::test]
    async fn dropped_turn_breaks_index() {
        let db = database().await;
        let organisation = Uuid::new_v4();
        add_invoice(&db, organisation, "2026-0003").await;
        let mut state = OrgState::default();
        let (index, turn) = state.take_turn(&db, organisation).await.expect("turn");
        let paid = *index.invoices.keys().next().expect("the invoice");
        index.set_open(paid, 0);
        // As when the process stops while the batch waits for PostgreSQL.
        drop(turn);
        let (index, _) = state.take_turn(&db, organisation).await.expect("turn");
        assert_eq!(index.invoices[&paid].open_minor, 1_000);
    }
}
