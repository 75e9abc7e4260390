//! The chart of accounts: the default set every organisation starts with, seeded on first use,
//! and the look-up of the accounts the service books on automatically.
//!
//! The default set lives in `data/chart.csv`, with the RGS code of every account; see
//! `data/README.md` for the RGS version and its source.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, QueryOrder, Set};
use serde::Deserialize;

use crate::entity::ledger_account;

/// The purpose of an account that the service books on automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Bank,
    Cash,
    Transfers,
    Suspense,
    Debtors,
    Creditors,
    VatPayableHigh,
    VatPayableLow,
    VatPayableReverseCharge,
    VatReceivable,
    VatSettlement,
    RevenueHigh,
    RevenueLow,
    RevenueZero,
    RevenueEu,
    RevenueExport,
    CostOfSales,
    GeneralCosts,
    PaymentDifferences,
    Equity,
    RetainedEarnings,
    BankCosts,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bank => "bank",
            Self::Cash => "cash",
            Self::Transfers => "transfers",
            Self::Suspense => "suspense",
            Self::Debtors => "debtors",
            Self::Creditors => "creditors",
            Self::VatPayableHigh => "vat_payable_high",
            Self::VatPayableLow => "vat_payable_low",
            Self::VatPayableReverseCharge => "vat_payable_reverse_charge",
            Self::VatReceivable => "vat_receivable",
            Self::VatSettlement => "vat_settlement",
            Self::RevenueHigh => "revenue_high",
            Self::RevenueLow => "revenue_low",
            Self::RevenueZero => "revenue_zero",
            Self::RevenueEu => "revenue_eu",
            Self::RevenueExport => "revenue_export",
            Self::CostOfSales => "cost_of_sales",
            Self::GeneralCosts => "general_costs",
            Self::PaymentDifferences => "payment_differences",
            Self::Equity => "equity",
            Self::RetainedEarnings => "retained_earnings",
            Self::BankCosts => "bank_costs",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

/// One account of the default chart, as `data/chart.csv` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct TemplateAccount {
    pub number: String,
    pub rgs_code: String,
    pub name_nl: String,
    pub name_en: String,
    pub class: String,
    pub normal_side: String,
    pub role: Option<Role>,
}

/// The default chart, read once from the file compiled into the binary.
pub static DEFAULT_CHART: LazyLock<Vec<TemplateAccount>> = LazyLock::new(|| {
    csv::Reader::from_reader(include_str!("../../data/chart.csv").as_bytes())
        .deserialize()
        .collect::<Result<Vec<TemplateAccount>, _>>()
        .expect("data/chart.csv is checked by the chart tests")
});

/// The accounts of one organisation that the service books on automatically.
#[derive(Debug)]
pub struct OrgChart {
    roles: HashMap<Role, Uuid>,
    /// Ledger account per bank account.
    banks: HashMap<Uuid, Uuid>,
    /// Ledger account per IBAN of the organisation's own bank accounts.
    ibans: HashMap<String, Uuid>,
    /// When the bank accounts were read from the database.
    banks_read_at: Instant,
}

/// How long an IBAN missing from a cached chart counts as not the organisation's own. After
/// that the bank accounts are read again, because another replica may have added one.
const OWN_IBANS_FRESH: Duration = Duration::from_secs(1);

impl OrgChart {
    /// Returns the account of a role; every role of the default chart is seeded.
    pub fn account(&self, role: Role) -> Result<Uuid, DbErr> {
        self.roles.get(&role).copied().ok_or_else(|| {
            DbErr::Custom(format!(
                "the chart of accounts has no {} account",
                role.as_str()
            ))
        })
    }
}

impl OrgChart {
    /// Adds a bank ledger account under its bank account and its IBAN.
    fn add_bank(&mut self, row: &ledger_account::Model) {
        if let Some(bank_account) = row.bank_account_id {
            self.banks.insert(bank_account, row.id);
        }
        if let Some(iban) = &row.iban {
            self.ibans.insert(iban.clone(), row.id);
        }
    }
}

#[cfg(test)]
impl OrgChart {
    /// Builds a chart whose every role has an account id of its own, for pure tests.
    pub fn for_tests() -> Self {
        let roles = DEFAULT_CHART
            .iter()
            .filter_map(|account| account.role)
            .enumerate()
            .map(|(index, role)| (role, Uuid::from_u128(1000 + index as u128)))
            .collect();
        Self {
            roles,
            banks: HashMap::new(),
            ibans: HashMap::new(),
            banks_read_at: Instant::now(),
        }
    }
}

/// Seeds charts on first use and caches each organisation's automatic accounts. Seeding runs in
/// its own committed transaction, so the cache never names an account that a rolled-back
/// transaction created.
#[derive(Clone)]
pub struct Charts {
    db: DatabaseConnection,
    cache: Arc<Mutex<HashMap<Uuid, Arc<OrgChart>>>>,
}

impl Charts {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            cache: Arc::default(),
        }
    }

    /// Returns the organisation's chart, seeding the default chart the first time.
    pub async fn of(&self, organisation: Uuid) -> Result<Arc<OrgChart>, DbErr> {
        if let Some(chart) = self.cached(organisation) {
            return Ok(chart);
        }
        seed(&self.db, organisation).await?;
        let rows = ledger_account::Entity::find()
            .filter(ledger_account::Column::OrganisationId.eq(organisation))
            .filter(ledger_account::Column::Role.is_not_null())
            .all(&self.db)
            .await?;
        let mut chart = OrgChart {
            roles: HashMap::new(),
            banks: HashMap::new(),
            ibans: HashMap::new(),
            banks_read_at: Instant::now(),
        };
        for row in rows {
            match row.role.as_deref().and_then(Role::parse) {
                Some(Role::Bank) => chart.add_bank(&row),
                Some(role) => {
                    chart.roles.insert(role, row.id);
                }
                None => {}
            }
        }
        Ok(self.store(organisation, chart))
    }

    /// Returns the ledger account of the organisation's own bank account with this IBAN, if
    /// it has one. An IBAN the cache does not know counts as someone else's until the cached
    /// bank accounts are a second old. Then they are read again, because another replica may
    /// have added one.
    pub async fn own_account(&self, organisation: Uuid, iban: &str) -> Result<Option<Uuid>, DbErr> {
        let chart = self.of(organisation).await?;
        if let Some(account) = chart.ibans.get(iban) {
            return Ok(Some(*account));
        }
        if chart.banks_read_at.elapsed() < OWN_IBANS_FRESH {
            return Ok(None);
        }
        let banks = ledger_account::Entity::find()
            .filter(ledger_account::Column::OrganisationId.eq(organisation))
            .filter(ledger_account::Column::Role.eq(Role::Bank.as_str()))
            .all(&self.db)
            .await?;
        let mut refreshed = OrgChart {
            roles: chart.roles.clone(),
            banks: HashMap::new(),
            ibans: HashMap::new(),
            banks_read_at: Instant::now(),
        };
        for row in &banks {
            refreshed.add_bank(row);
        }
        Ok(self.store(organisation, refreshed).ibans.get(iban).copied())
    }

    /// Caches a chart read from the database and returns the cached chart. Bank accounts
    /// already in the cache are kept: another task may have created one after this chart was
    /// read, and storing the older read must not hide it.
    fn store(&self, organisation: Uuid, mut chart: OrgChart) -> Arc<OrgChart> {
        let mut cache = self.cache.lock().expect("chart cache lock");
        if let Some(cached) = cache.get(&organisation) {
            for (bank_account, account) in &cached.banks {
                chart.banks.entry(*bank_account).or_insert(*account);
            }
            for (iban, account) in &cached.ibans {
                chart.ibans.entry(iban.clone()).or_insert(*account);
            }
        }
        let chart = Arc::new(chart);
        cache.insert(organisation, chart.clone());
        chart
    }

    /// Returns the ledger account of a bank account, creating it the first time: it copies the
    /// default bank account's RGS code, takes the next free number from 1100 on, and is named
    /// after the IBAN.
    pub async fn bank_account(
        &self,
        organisation: Uuid,
        bank_account: Uuid,
        iban: &str,
    ) -> Result<Uuid, DbErr> {
        let chart = self.of(organisation).await?;
        if let Some(account) = chart.banks.get(&bank_account) {
            return Ok(*account);
        }
        // Two tasks can create the same account at once, such as the consumer of a new bank
        // account's event and a batch of its first mutations. The loser of the unique index
        // finds the winner's row on the next attempt, or the next free number.
        let mut attempt = 1;
        let id = loop {
            match self
                .find_or_create_bank(organisation, bank_account, iban)
                .await
            {
                Err(error)
                    if attempt < 3
                        && matches!(
                            error.sql_err(),
                            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                        ) =>
                {
                    attempt += 1;
                }
                result => break result?,
            }
        };
        self.remember_bank(organisation, bank_account, iban, id);
        Ok(id)
    }

    /// Returns the ledger account of a bank account from the database, inserting it when it is
    /// missing.
    async fn find_or_create_bank(
        &self,
        organisation: Uuid,
        bank_account: Uuid,
        iban: &str,
    ) -> Result<Uuid, DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        let existing = ledger_account::Entity::find()
            .filter(ledger_account::Column::OrganisationId.eq(organisation))
            .filter(ledger_account::Column::BankAccountId.eq(bank_account))
            .one(&transaction)
            .await?;
        let id = match existing {
            Some(row) => row.id,
            None => {
                let template = DEFAULT_CHART
                    .iter()
                    .find(|account| account.role == Some(Role::Bank))
                    .ok_or_else(|| DbErr::Custom("the default chart has no bank account".into()))?;
                let numbers: Vec<String> = ledger_account::Entity::find()
                    .filter(ledger_account::Column::OrganisationId.eq(organisation))
                    .filter(ledger_account::Column::Number.starts_with("11"))
                    .order_by_asc(ledger_account::Column::Number)
                    .all(&transaction)
                    .await?
                    .into_iter()
                    .map(|row| row.number)
                    .collect();
                let number = (1100..1200)
                    .map(|number| number.to_string())
                    .find(|number| !numbers.contains(number))
                    .ok_or_else(|| DbErr::Custom("no free bank account number left".into()))?;
                let id = Uuid::now_v7();
                ledger_account::ActiveModel {
                    id: Set(id),
                    organisation_id: Set(organisation),
                    number: Set(number),
                    name_nl: Set(format!("Bank {iban}")),
                    name_en: Set(format!("Bank {iban}")),
                    rgs_code: Set(template.rgs_code.clone()),
                    class: Set(template.class.clone()),
                    normal_side: Set(template.normal_side.clone()),
                    role: Set(Some(Role::Bank.as_str().to_owned())),
                    bank_account_id: Set(Some(bank_account)),
                    iban: Set((!iban.is_empty()).then(|| iban.to_owned())),
                    created_at: Set(Utc::now()),
                }
                .insert(&transaction)
                .await?;
                id
            }
        };
        transaction.commit().await?;
        Ok(id)
    }

    fn remember_bank(&self, organisation: Uuid, bank_account: Uuid, iban: &str, id: Uuid) {
        let mut cache = self.cache.lock().expect("chart cache lock");
        if let Some(chart) = cache.get(&organisation) {
            let mut banks = chart.banks.clone();
            banks.insert(bank_account, id);
            let mut ibans = chart.ibans.clone();
            if !iban.is_empty() {
                ibans.insert(iban.to_owned(), id);
            }
            let updated = OrgChart {
                roles: chart.roles.clone(),
                banks,
                ibans,
                banks_read_at: chart.banks_read_at,
            };
            cache.insert(organisation, Arc::new(updated));
        }
    }

    fn cached(&self, organisation: Uuid) -> Option<Arc<OrgChart>> {
        self.cache
            .lock()
            .expect("chart cache lock")
            .get(&organisation)
            .cloned()
    }
}

/// Inserts the default chart for an organisation; accounts it already has are kept.
async fn seed(db: &DatabaseConnection, organisation: Uuid) -> Result<(), DbErr> {
    let now = Utc::now();
    let rows = DEFAULT_CHART
        .iter()
        // Bank accounts are made per bank account; the template row is a model only.
        .filter(|account| account.role != Some(Role::Bank))
        .map(|account| ledger_account::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(organisation),
            number: Set(account.number.clone()),
            name_nl: Set(account.name_nl.clone()),
            name_en: Set(account.name_en.clone()),
            rgs_code: Set(account.rgs_code.clone()),
            class: Set(account.class.clone()),
            normal_side: Set(account.normal_side.clone()),
            role: Set(account.role.map(|role| role.as_str().to_owned())),
            bank_account_id: Set(None),
            iban: Set(None),
            created_at: Set(now),
        });
    let transaction = dk_runtime::database::begin_write(db).await?;
    ledger_account::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                ledger_account::Column::OrganisationId,
                ledger_account::Column::Number,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&transaction)
        .await?;
    transaction.commit().await
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::invoice_index::tests::database;

    const IBAN: &str = "NL91ABNA0417164300";

    #[tokio::test]
    async fn charts_hold_stored_ibans_at_first_read() {
        let db = database().await;
        let organisation = Uuid::now_v7();
        let account = Charts::new(db.clone())
            .bank_account(organisation, Uuid::now_v7(), IBAN)
            .await
            .expect("bank ledger account");
        // As after a restart: the chart is read within the second in which an unknown IBAN
        // counts as someone else's, so the first read has to know every stored IBAN.
        let restarted = Charts::new(db);
        assert_eq!(
            restarted
                .own_account(organisation, IBAN)
                .await
                .expect("read"),
            Some(account)
        );
    }

    #[tokio::test]
    async fn charts_keep_account_from_older_read() {
        let db = database().await;
        let organisation = Uuid::now_v7();
        let charts = Charts::new(db);
        let before = charts.of(organisation).await.expect("chart");
        let older = OrgChart {
            roles: before.roles.clone(),
            banks: HashMap::new(),
            ibans: HashMap::new(),
            banks_read_at: Instant::now(),
        };
        let bank_account = Uuid::now_v7();
        let account = charts
            .bank_account(organisation, bank_account, IBAN)
            .await
            .expect("bank ledger account");
        // A read that started before the bank account was committed is stored after it.
        let stored = charts.store(organisation, older);
        assert_eq!(stored.banks.get(&bank_account), Some(&account));
        assert_eq!(
            charts.own_account(organisation, IBAN).await.expect("read"),
            Some(account)
        );
    }

    #[test]
    fn default_chart_is_complete_and_consistent() {
        let chart = &*DEFAULT_CHART;
        let numbers: HashSet<&str> = chart.iter().map(|a| a.number.as_str()).collect();
        assert_eq!(numbers.len(), chart.len(), "account numbers are unique");
        let roles: Vec<Role> = chart.iter().filter_map(|a| a.role).collect();
        let unique: HashSet<Role> = roles.iter().copied().collect();
        assert_eq!(unique.len(), roles.len(), "each role appears once");
        for role in [
            Role::Bank,
            Role::Transfers,
            Role::Suspense,
            Role::Debtors,
            Role::Creditors,
            Role::VatPayableHigh,
            Role::VatPayableLow,
            Role::VatPayableReverseCharge,
            Role::VatReceivable,
            Role::RevenueHigh,
            Role::RevenueLow,
            Role::RevenueZero,
            Role::RevenueEu,
            Role::RevenueExport,
            Role::GeneralCosts,
        ] {
            assert!(
                unique.contains(&role),
                "the chart has a {} account",
                role.as_str()
            );
        }
        for account in chart {
            assert!(
                account.number.len() == 4 && account.number.bytes().all(|b| b.is_ascii_digit()),
                "{} is a four-digit number",
                account.number
            );
            assert!(
                account.rgs_code.starts_with('B') || account.rgs_code.starts_with('W'),
                "{} has an RGS code of the balance sheet (B) or profit and loss (W): {}",
                account.number,
                account.rgs_code
            );
            let expected_class = if account.rgs_code.starts_with('B') {
                "balance"
            } else {
                "profit_loss"
            };
            assert_eq!(account.class, expected_class, "class of {}", account.number);
            assert!(matches!(account.normal_side.as_str(), "debit" | "credit"));
            assert!(
                !account.name_nl.is_empty(),
                "Dutch name of {}",
                account.number
            );
            assert!(
                !account.name_en.is_empty(),
                "English name of {}",
                account.number
            );
        }
    }
}
