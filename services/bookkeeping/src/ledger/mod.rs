//! The double-entry ledger: posting balanced journal entries, reversing them, closing periods,
//! and the monthly balances kept beside the journal.
//!
//! Every posting is checked here, with an error that names what is wrong. The database checks
//! it again (see `migration::ledger_sql`), so no path around this module can store an
//! unbalanced entry, change a posted one, or post into a closed period.

pub mod booking;
pub mod chart;
pub mod reports;
pub mod vat;

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Utc};
use dk_domain::{Currency, Money};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, QueryOrder, Set};

use crate::entity::{account_balance, books, journal_entry, journal_line};
use vat::{VatBox, VatPart};

/// The journals of every organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    Sales,
    Purchases,
    Bank,
    Memorial,
}

impl Journal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sales => "sales",
            Self::Purchases => "purchases",
            Self::Bank => "bank",
            Self::Memorial => "memorial",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Sales, Self::Purchases, Self::Bank, Self::Memorial]
            .into_iter()
            .find(|journal| journal.as_str() == text)
    }
}

/// The kind of document or event a journal entry books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Invoice,
    Payment,
    Transfer,
    Manual,
    Reversal,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Payment => "payment",
            Self::Transfer => "transfer",
            Self::Manual => "manual",
            Self::Reversal => "reversal",
        }
    }
}

/// A line to post; `amount_minor` is debit positive, credit negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub account_id: Uuid,
    pub amount_minor: i64,
    pub description: String,
    pub invoice_id: Option<Uuid>,
    pub vat: Option<(VatBox, VatPart)>,
}

impl NewLine {
    pub fn new(account_id: Uuid, amount_minor: i64, description: impl Into<String>) -> Self {
        Self {
            account_id,
            amount_minor,
            description: description.into(),
            invoice_id: None,
            vat: None,
        }
    }

    pub fn for_invoice(mut self, invoice_id: Uuid) -> Self {
        self.invoice_id = Some(invoice_id);
        self
    }

    pub fn in_box(mut self, vat_box: VatBox, part: VatPart) -> Self {
        self.vat = Some((vat_box, part));
        self
    }
}

/// A journal entry to post.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub organisation_id: Uuid,
    pub journal: Journal,
    pub date: NaiveDate,
    pub description: String,
    pub source: Source,
    pub source_id: Option<Uuid>,
    pub reverses: Option<Uuid>,
    pub lines: Vec<NewLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least two lines; this one has {0}")]
    TooFewLines(usize),
    #[error("line {0} has an amount of zero; leave it out")]
    ZeroLine(usize),
    #[error(
        "the entry does not balance: debits {debit} and credits {credit} differ by {difference}"
    )]
    Unbalanced {
        debit: Money,
        credit: Money,
        difference: Money,
    },
    #[error(
        "entry date {date} lies in the closed periods (closed through {closed_through}); date the entry after {closed_through}"
    )]
    ClosedPeriod {
        date: NaiveDate,
        closed_through: NaiveDate,
    },
    #[error("journal entry {0} is already reversed")]
    AlreadyReversed(Uuid),
    #[error("journal entry {0} is itself a reversal; post a new entry instead")]
    ReversingAReversal(Uuid),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn euros(minor: i64) -> Money {
    Money::from_minor_units(minor, Currency::EUR)
}

/// Checks the lines of an entry: at least two, none zero, debits equal to credits.
pub fn check_balance(lines: &[NewLine]) -> Result<(), LedgerError> {
    if lines.len() < 2 {
        return Err(LedgerError::TooFewLines(lines.len()));
    }
    if let Some(position) = lines.iter().position(|line| line.amount_minor == 0) {
        return Err(LedgerError::ZeroLine(position + 1));
    }
    let debit: i128 = lines
        .iter()
        .map(|line| i128::from(Ord::max(line.amount_minor, 0)))
        .sum();
    let credit: i128 = lines
        .iter()
        .map(|line| -i128::from(Ord::min(line.amount_minor, 0)))
        .sum();
    if debit != credit {
        let clamp = |value: i128| i64::try_from(value).unwrap_or(i64::MAX);
        return Err(LedgerError::Unbalanced {
            debit: euros(clamp(debit)),
            credit: euros(clamp(credit)),
            difference: euros(clamp(debit - credit)),
        });
    }
    Ok(())
}

/// Returns the last day of the organisation's closed periods, if it closed any.
pub async fn closed_through<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
) -> Result<Option<NaiveDate>, DbErr> {
    Ok(books::Entity::find_by_id(organisation)
        .one(db)
        .await?
        .and_then(|row| row.closed_through))
}

/// Returns the date of an automatic posting: its own date, or the first open day when its
/// date lies in a closed period.
pub fn open_date(date: NaiveDate, closed_through: Option<NaiveDate>) -> NaiveDate {
    match closed_through {
        Some(closed) if date <= closed => closed + Days::new(1),
        _ => date,
    }
}

/// Posts a balanced entry and adds its lines to the monthly balances; returns the entry's id.
pub async fn post<C: ConnectionTrait>(db: &C, entry: NewEntry) -> Result<Uuid, LedgerError> {
    let organisation = entry.organisation_id;
    let ids = post_many(db, organisation, vec![entry]).await?;
    ids.into_iter()
        .next()
        .ok_or_else(|| LedgerError::Db(DbErr::Custom("posting returned no entry id".into())))
}

/// Rows per INSERT in [`post_many`]; 11 columns a line keeps a statement under SQLite's limit of
/// 32,766 bound values and PostgreSQL's of 65,535.
const ROWS_PER_INSERT: usize = 2_000;

/// Posts entries of one organisation in one go, with the same checks as [`post`]: a few
/// statements for all of them instead of five per entry. Returns the entries' ids in order.
pub async fn post_many<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    entries: Vec<NewEntry>,
) -> Result<Vec<Uuid>, LedgerError> {
    let posted = insert_entries(db, organisation, entries).await?;
    let ids = posted.ids.clone();
    posted.add_to_balances(db).await?;
    Ok(ids)
}

/// Entries written by [`insert_entries`] whose totals are not yet in the monthly balances.
#[must_use = "the balances miss the entries until `add_to_balances` runs"]
pub struct Posted {
    /// The entries' ids, in the order they were given.
    pub ids: Vec<Uuid>,
    balances: Vec<account_balance::ActiveModel>,
}

impl Posted {
    /// Adds the entries' totals to the monthly balances, in the same transaction.
    pub async fn add_to_balances<C: ConnectionTrait>(self, db: &C) -> Result<(), DbErr> {
        for chunk in chunked(self.balances) {
            add_to_balances(db, chunk).await?;
        }
        Ok(())
    }
}

/// Checks and writes the entries and their lines, the first half of [`post_many`]. The caller
/// adds the totals to the balances, rows that every posting of the organisation shares. A
/// caller that runs next to other postings adds them last, so it keeps their locks briefly.
pub async fn insert_entries<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    entries: Vec<NewEntry>,
) -> Result<Posted, LedgerError> {
    if entries.is_empty() {
        return Ok(Posted {
            ids: Vec::new(),
            balances: Vec::new(),
        });
    }
    let closed = closed_through(db, organisation).await?;
    for entry in &entries {
        check_balance(&entry.lines)?;
        if entry.organisation_id != organisation {
            return Err(LedgerError::Db(DbErr::Custom(format!(
                "post_many got an entry of organisation {} among those of {organisation}",
                entry.organisation_id
            ))));
        }
        if let Some(closed) = closed
            && entry.date <= closed
        {
            return Err(LedgerError::ClosedPeriod {
                date: entry.date,
                closed_through: closed,
            });
        }
    }

    let now = Utc::now();
    let ids: Vec<Uuid> = entries.iter().map(|_| Uuid::now_v7()).collect();
    let mut headers = Vec::with_capacity(entries.len());
    let mut lines = Vec::new();
    let mut totals: BTreeMap<(Uuid, NaiveDate), (i64, i64)> = BTreeMap::new();
    for (entry, id) in entries.into_iter().zip(&ids) {
        let month = first_of_month(entry.date);
        for (position, line) in entry.lines.iter().enumerate() {
            let sums = totals.entry((line.account_id, month)).or_default();
            if line.amount_minor > 0 {
                sums.0 += line.amount_minor;
            } else {
                sums.1 -= line.amount_minor;
            }
            lines.push(journal_line::ActiveModel {
                id: Set(Uuid::now_v7()),
                entry_id: Set(*id),
                organisation_id: Set(organisation),
                position: Set(position as i32 + 1),
                account_id: Set(line.account_id),
                entry_date: Set(entry.date),
                amount_minor: Set(line.amount_minor),
                description: Set(line.description.clone()),
                invoice_id: Set(line.invoice_id),
                vat_box: Set(line.vat.map(|(vat_box, _)| vat_box.as_str().to_owned())),
                vat_part: Set(line.vat.map(|(_, part)| part.as_str().to_owned())),
            });
        }
        headers.push(journal_entry::ActiveModel {
            id: Set(*id),
            organisation_id: Set(organisation),
            journal: Set(entry.journal.as_str().to_owned()),
            entry_date: Set(entry.date),
            description: Set(entry.description),
            source: Set(entry.source.as_str().to_owned()),
            source_id: Set(entry.source_id),
            reverses_entry_id: Set(entry.reverses),
            posted_at: Set(None),
            created_at: Set(now),
        });
    }
    for chunk in chunked(headers) {
        journal_entry::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    for chunk in chunked(lines) {
        journal_line::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        journal_entry::Entity::update_many()
            .col_expr(journal_entry::Column::PostedAt, Expr::value(now))
            .filter(journal_entry::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    // In (account, month) order, so concurrent postings lock balance rows in the same order.
    let balances: Vec<_> = totals
        .into_iter()
        .map(
            |((account, month), (debit, credit))| account_balance::ActiveModel {
                account_id: Set(account),
                month: Set(month),
                organisation_id: Set(organisation),
                debit_minor: Set(debit),
                credit_minor: Set(credit),
            },
        )
        .collect();
    Ok(Posted { ids, balances })
}

fn chunked<T>(rows: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::with_capacity(rows.len() / ROWS_PER_INSERT + 1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        chunks.push(rows.by_ref().take(ROWS_PER_INSERT).collect());
    }
    chunks
}

/// Adds debit and credit totals to the monthly balances, creating the rows that are missing.
async fn add_to_balances<C: ConnectionTrait>(
    db: &C,
    balances: Vec<account_balance::ActiveModel>,
) -> Result<(), DbErr> {
    account_balance::Entity::insert_many(balances)
        .on_conflict(
            OnConflict::columns([
                account_balance::Column::AccountId,
                account_balance::Column::Month,
            ])
            .value(
                account_balance::Column::DebitMinor,
                Expr::col((account_balance::Entity, account_balance::Column::DebitMinor))
                    .add(Expr::cust("excluded.debit_minor")),
            )
            .value(
                account_balance::Column::CreditMinor,
                Expr::col((
                    account_balance::Entity,
                    account_balance::Column::CreditMinor,
                ))
                .add(Expr::cust("excluded.credit_minor")),
            )
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Posts the reversal of a posted entry on `date`: the same lines with opposite signs, in the
/// same journal. An entry is reversed at most once: the code checks it, and a unique index on
/// `reverses_entry_id` enforces it.
pub async fn reverse<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    entry_id: Uuid,
    date: NaiveDate,
    description: String,
) -> Result<Option<Uuid>, LedgerError> {
    let Some(entry) = journal_entry::Entity::find_by_id(entry_id)
        .filter(journal_entry::Column::OrganisationId.eq(organisation))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if entry.reverses_entry_id.is_some() {
        return Err(LedgerError::ReversingAReversal(entry_id));
    }
    let reversed = journal_entry::Entity::find()
        .filter(journal_entry::Column::ReversesEntryId.eq(entry_id))
        .one(db)
        .await?;
    if reversed.is_some() {
        return Err(LedgerError::AlreadyReversed(entry_id));
    }
    let lines = journal_line::Entity::find()
        .filter(journal_line::Column::EntryId.eq(entry_id))
        .order_by_asc(journal_line::Column::Position)
        .all(db)
        .await?;
    let lines = lines
        .into_iter()
        .map(|line| NewLine {
            account_id: line.account_id,
            amount_minor: -line.amount_minor,
            description: line.description,
            invoice_id: line.invoice_id,
            vat: line
                .vat_box
                .as_deref()
                .and_then(VatBox::parse)
                .zip(line.vat_part.as_deref().and_then(VatPart::parse)),
        })
        .collect();
    let id = post(
        db,
        NewEntry {
            organisation_id: organisation,
            journal: Journal::parse(&entry.journal).unwrap_or(Journal::Memorial),
            date,
            description,
            source: Source::Reversal,
            source_id: entry.source_id,
            reverses: Some(entry_id),
            lines,
        },
    )
    .await?;
    Ok(Some(id))
}

/// Closes the periods through `through`; nothing can be posted on or before it afterwards.
/// Closing is forward only: an earlier date than the current one is refused by the caller.
pub async fn close_through<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    through: NaiveDate,
) -> Result<(), DbErr> {
    books::Entity::insert(books::ActiveModel {
        organisation_id: Set(organisation),
        closed_through: Set(Some(through)),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(books::Column::OrganisationId)
            .update_columns([books::Column::ClosedThrough, books::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(amount_minor: i64) -> NewLine {
        NewLine::new(Uuid::nil(), amount_minor, "test")
    }

    #[test]
    fn balanced_lines_pass() {
        assert!(check_balance(&[line(12100), line(-10000), line(-2100)]).is_ok());
    }

    #[test]
    fn unbalanced_lines_name_the_difference() {
        let error = check_balance(&[line(12100), line(-10000), line(-2000)]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the entry does not balance: debits 121.00 EUR and credits 120.00 EUR differ by 1.00 EUR"
        );
    }

    #[test]
    fn one_line_or_a_zero_line_is_refused() {
        assert!(matches!(
            check_balance(&[line(0)]),
            Err(LedgerError::TooFewLines(1))
        ));
        assert!(matches!(
            check_balance(&[line(100), line(0), line(-100)]),
            Err(LedgerError::ZeroLine(2))
        ));
    }

    #[test]
    fn automatic_postings_move_out_of_closed_periods() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        let closed = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(
            open_date(date, Some(closed)),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        assert_eq!(open_date(date, None), date);
        assert_eq!(
            open_date(closed + Days::new(1), Some(closed)),
            closed + Days::new(1)
        );
    }
}
