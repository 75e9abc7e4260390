//! Reports computed from the ledger: the trial balance (from the stored monthly balances, and
//! rebuilt from the journal lines to prove both agree), open items with ageing, and the VAT
//! return by box. Open items and the VAT return read the journal lines alone.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, FromQueryResult, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};

use super::chart::Role;
use super::first_of_month;
use super::vat::{VatBox, VatPart};
use crate::entity::{account_balance, invoice, journal_line, ledger_account};

/// Debit and credit totals of one account in one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthBalance {
    pub account_id: Uuid,
    pub month: NaiveDate,
    pub debit_minor: i64,
    pub credit_minor: i64,
}

/// Reads the monthly balances stored beside the journal, through the month of `through`.
pub async fn stored_balances<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    through: Option<NaiveDate>,
) -> Result<Vec<MonthBalance>, DbErr> {
    let mut query = account_balance::Entity::find()
        .filter(account_balance::Column::OrganisationId.eq(organisation));
    if let Some(through) = through {
        query = query.filter(account_balance::Column::Month.lte(first_of_month(through)));
    }
    let mut rows: Vec<MonthBalance> = query
        .all(db)
        .await?
        .into_iter()
        .map(|row| MonthBalance {
            account_id: row.account_id,
            month: row.month,
            debit_minor: row.debit_minor,
            credit_minor: row.credit_minor,
        })
        .collect();
    rows.sort();
    Ok(rows)
}

#[derive(Debug, FromQueryResult)]
struct DayTotal {
    account_id: Uuid,
    entry_date: NaiveDate,
    debit: i64,
    credit: i64,
}

/// Only lines of posted entries count; an unposted entry exists only inside the transaction
/// that posts it, or when someone wrote around the service.
fn posted() -> Expr {
    Expr::cust("entry_id IN (SELECT id FROM journal_entries WHERE posted_at IS NOT NULL)")
}

/// Rebuilds the monthly balances from the journal lines alone.
pub async fn rebuilt_balances<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    through: Option<NaiveDate>,
) -> Result<Vec<MonthBalance>, DbErr> {
    use journal_line::Column as Line;
    let debit = Expr::cust(
        "CAST(COALESCE(SUM(CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END), 0) AS BIGINT)",
    );
    let credit = Expr::cust(
        "CAST(COALESCE(SUM(CASE WHEN amount_minor < 0 THEN -amount_minor ELSE 0 END), 0) AS BIGINT)",
    );
    let mut query = journal_line::Entity::find()
        .select_only()
        .column(Line::AccountId)
        .column(Line::EntryDate)
        .column_as(debit, "debit")
        .column_as(credit, "credit")
        .filter(Line::OrganisationId.eq(organisation))
        .filter(posted())
        .group_by(Line::AccountId)
        .group_by(Line::EntryDate);
    if let Some(through) = through {
        let end = first_of_month(through)
            .checked_add_months(chrono::Months::new(1))
            .expect("a month after a valid date");
        query = query.filter(Line::EntryDate.lt(end));
    }
    let days = query.into_model::<DayTotal>().all(db).await?;
    let mut months: BTreeMap<(Uuid, NaiveDate), (i64, i64)> = BTreeMap::new();
    for day in days {
        let totals = months
            .entry((day.account_id, first_of_month(day.entry_date)))
            .or_default();
        totals.0 += day.debit;
        totals.1 += day.credit;
    }
    Ok(months
        .into_iter()
        .map(
            |((account_id, month), (debit_minor, credit_minor))| MonthBalance {
                account_id,
                month,
                debit_minor,
                credit_minor,
            },
        )
        .collect())
}

/// SHA-256 of balances in their sorted order, as hex.
pub fn digest(balances: &[MonthBalance]) -> String {
    let mut hasher = Sha256::new();
    for balance in balances {
        hasher.update(
            format!(
                "{}|{}|{}|{}\n",
                balance.account_id, balance.month, balance.debit_minor, balance.credit_minor
            )
            .as_bytes(),
        );
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One account of the trial balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialBalanceRow {
    pub account: ledger_account::Model,
    pub debit_minor: i64,
    pub credit_minor: i64,
}

impl TrialBalanceRow {
    /// Debit minus credit.
    pub fn balance_minor(&self) -> i64 {
        self.debit_minor - self.credit_minor
    }
}

/// Makes the trial balance through `through` from the stored balances: every account with
/// postings, in account order, and the digest of those balances.
pub async fn trial_balance<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    through: Option<NaiveDate>,
) -> Result<(Vec<TrialBalanceRow>, String), DbErr> {
    let balances = stored_balances(db, organisation, through).await?;
    let digest = digest(&balances);
    let mut totals: HashMap<Uuid, (i64, i64)> = HashMap::new();
    for balance in &balances {
        let entry = totals.entry(balance.account_id).or_default();
        entry.0 += balance.debit_minor;
        entry.1 += balance.credit_minor;
    }
    let accounts = ledger_account::Entity::find()
        .filter(ledger_account::Column::OrganisationId.eq(organisation))
        .order_by_asc(ledger_account::Column::Number)
        .all(db)
        .await?;
    let rows = accounts
        .into_iter()
        .filter_map(|account| {
            let (debit_minor, credit_minor) = totals.get(&account.id).copied()?;
            Some(TrialBalanceRow {
                account,
                debit_minor,
                credit_minor,
            })
        })
        .collect();
    Ok((rows, digest))
}

/// How far past its due date an open item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ageing {
    NotDue,
    Days1To30,
    Days31To60,
    Days61To90,
    Over90,
}

impl Ageing {
    pub const ALL: [Ageing; 5] = [
        Self::NotDue,
        Self::Days1To30,
        Self::Days31To60,
        Self::Days61To90,
        Self::Over90,
    ];

    pub fn of(due: NaiveDate, as_of: NaiveDate) -> Self {
        match (as_of - due).num_days() {
            days if days <= 0 => Self::NotDue,
            1..=30 => Self::Days1To30,
            31..=60 => Self::Days31To60,
            61..=90 => Self::Days61To90,
            _ => Self::Over90,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotDue => "not_due",
            Self::Days1To30 => "1-30",
            Self::Days31To60 => "31-60",
            Self::Days61To90 => "61-90",
            Self::Over90 => "over_90",
        }
    }
}

/// An invoice with an open amount on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub invoice: invoice::Model,
    /// Still to be received (sales) or paid (purchase), in cents.
    pub open_minor: i64,
    pub days_overdue: i64,
    pub ageing: Ageing,
}

#[derive(Debug, FromQueryResult)]
struct InvoiceTotal {
    invoice_id: Uuid,
    total: i64,
}

/// Open items of debtors (`Role::Debtors`) or creditors (`Role::Creditors`) on `as_of`: each
/// invoice whose debtors or creditors lines up to that day do not add up to zero.
pub async fn open_items<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    control: Role,
    control_account: Uuid,
    as_of: NaiveDate,
) -> Result<Vec<OpenItem>, DbErr> {
    use journal_line::Column as Line;
    let totals = journal_line::Entity::find()
        .select_only()
        .column(Line::InvoiceId)
        .column_as(Expr::cust("CAST(SUM(amount_minor) AS BIGINT)"), "total")
        .filter(Line::OrganisationId.eq(organisation))
        .filter(posted())
        .filter(Line::AccountId.eq(control_account))
        .filter(Line::InvoiceId.is_not_null())
        .filter(Line::EntryDate.lte(as_of))
        .group_by(Line::InvoiceId)
        .into_model::<InvoiceTotal>()
        .all(db)
        .await?;
    let sign = if control == Role::Creditors { -1 } else { 1 };
    let open: HashMap<Uuid, i64> = totals
        .into_iter()
        .filter(|total| total.total != 0)
        .map(|total| (total.invoice_id, sign * total.total))
        .collect();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = Vec::with_capacity(open.len());
    for chunk in open.keys().copied().collect::<Vec<_>>().chunks(500) {
        let invoices = invoice::Entity::find()
            .filter(invoice::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        for invoice in invoices {
            let open_minor = open[&invoice.id];
            items.push(OpenItem {
                days_overdue: (as_of - invoice.due_date).num_days().max(0),
                ageing: Ageing::of(invoice.due_date, as_of),
                open_minor,
                invoice,
            });
        }
    }
    items.sort_by(|left, right| {
        (left.invoice.due_date, &left.invoice.number)
            .cmp(&(right.invoice.due_date, &right.invoice.number))
    });
    Ok(items)
}

/// One box of the VAT return, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BoxAmounts {
    pub base_minor: i64,
    pub tax_minor: i64,
}

/// The VAT return summary of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatReturn {
    /// Boxes 1a to 4b and 5b, from the tagged journal lines.
    pub boxes: BTreeMap<VatBox, BoxAmounts>,
    /// 5a: VAT owed, the tax of boxes 1a to 4b.
    pub owed_minor: i64,
    /// 5b: input VAT.
    pub input_minor: i64,
    /// 5c: 5a minus 5b.
    pub subtotal_minor: i64,
    /// 5d: small business scheme reduction, which this system does not compute.
    pub small_business_relief_minor: i64,
    /// 5e and 5f: estimates of earlier and this return, which this system does not make.
    pub estimate_previous_minor: i64,
    pub estimate_this_minor: i64,
    /// 5g: to pay (positive) or to reclaim (negative).
    pub total_minor: i64,
}

#[derive(Debug, FromQueryResult)]
struct BoxTotal {
    vat_box: String,
    vat_part: String,
    total: i64,
}

/// The VAT return of the period `from` to `to`, both inclusive, from the journal lines alone.
pub async fn vat_return<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<VatReturn, DbErr> {
    use journal_line::Column as Line;
    let totals = journal_line::Entity::find()
        .select_only()
        .column(Line::VatBox)
        .column(Line::VatPart)
        .column_as(Expr::cust("CAST(SUM(amount_minor) AS BIGINT)"), "total")
        .filter(Line::OrganisationId.eq(organisation))
        .filter(posted())
        .filter(Line::VatBox.is_not_null())
        .filter(Line::EntryDate.gte(from))
        .filter(Line::EntryDate.lte(to))
        .group_by(Line::VatBox)
        .group_by(Line::VatPart)
        .into_model::<BoxTotal>()
        .all(db)
        .await?;
    let mut boxes: BTreeMap<VatBox, BoxAmounts> = VatBox::ALL
        .into_iter()
        .map(|vat_box| (vat_box, BoxAmounts::default()))
        .collect();
    for total in totals {
        let (Some(vat_box), Some(part)) = (
            VatBox::parse(&total.vat_box),
            VatPart::parse(&total.vat_part),
        ) else {
            return Err(DbErr::Custom(format!(
                "journal line tagged with unknown VAT box {:?} / part {:?}",
                total.vat_box, total.vat_part
            )));
        };
        let amounts = boxes.entry(vat_box).or_default();
        let value = vat_box.sign(part) * total.total;
        match part {
            VatPart::Base => amounts.base_minor += value,
            VatPart::Tax => amounts.tax_minor += value,
        }
    }
    let owed_minor = boxes
        .iter()
        .filter(|(vat_box, _)| **vat_box != VatBox::B5b)
        .map(|(_, amounts)| amounts.tax_minor)
        .sum();
    let input_minor = boxes[&VatBox::B5b].tax_minor;
    let subtotal_minor = owed_minor - input_minor;
    Ok(VatReturn {
        boxes,
        owed_minor,
        input_minor,
        subtotal_minor,
        small_business_relief_minor: 0,
        estimate_previous_minor: 0,
        estimate_this_minor: 0,
        total_minor: subtotal_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ageing_buckets() {
        let due = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let day = |d: u64| due + chrono::Days::new(d);
        assert_eq!(Ageing::of(due, due), Ageing::NotDue);
        assert_eq!(Ageing::of(due, day(1)), Ageing::Days1To30);
        assert_eq!(Ageing::of(due, day(30)), Ageing::Days1To30);
        assert_eq!(Ageing::of(due, day(31)), Ageing::Days31To60);
        assert_eq!(Ageing::of(due, day(90)), Ageing::Days61To90);
        assert_eq!(Ageing::of(due, day(91)), Ageing::Over90);
    }

    #[test]
    fn digest_depends_on_every_field() {
        let balance = MonthBalance {
            account_id: Uuid::from_u128(7),
            month: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            debit_minor: 12100,
            credit_minor: 0,
        };
        let changed = MonthBalance {
            credit_minor: 1,
            ..balance
        };
        assert_ne!(digest(&[balance]), digest(&[changed]));
        assert_eq!(digest(&[balance]), digest(&[balance]));
    }
}
