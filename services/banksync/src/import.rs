//! Storing the statements of a file or of a bank sync: check, store with outbox events, all in
//! one transaction.
//!
//! A mutation's fingerprint identifies it whatever its source, so that a statement file, a
//! bank API sync and an overlap of both store each mutation once. Texts cannot be part of it:
//! a bank writes the same payment differently in MT940, CAMT, CSV and its API. The fingerprint
//! is a SHA-256 over the booking date, the amount in minor units, the currency and the
//! occurrence number among the mutations of the same account, day, amount and currency in
//! that file or sync. A unique index on (account, fingerprint) stores each once. So importing
//! a file again, a file that overlaps an earlier one, or syncing days already imported, finds
//! the fingerprints and skips those rows. Two equal payments on one day (two coffees of 3.50)
//! are occurrences 0 and 1, so both are kept, and a third booked later that day is occurrence
//! 2, new. This holds when each file or sync contains every transaction of each booking day it
//! covers up to that moment, as bank exports and the account-information APIs do.

use dk_telemetry::metrics::{attribute, instruments};
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use dk_domain::{Currency, Iban, Money, MoneyError, OrganisationId};
use dk_messaging::{Event, outbox, topology};
use dk_proto::banksync::v1 as pb;
use dk_proto::events::v1::BankMutationImported;
use dk_runtime::idempotency;
use dk_statement::{ParseError, ParsedFile, Statement};
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, QueryOrder, QuerySelect, Set};
use sha2::{Digest, Sha256};

use crate::entity::{bank_account, bank_mutation, bank_statement, statement_import};

/// CloudEvents source of banksync events.
pub const EVENT_SOURCE: &str = "/dk/banksync";

/// Rows per insert statement; below SQLite's limit of 32,766 bound values.
const INSERT_CHUNK: usize = 1000;

/// Reason a file was not imported; nothing of such a file is stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("statement file is empty")]
    Empty,
    #[error("statement file is {size} bytes; the maximum is {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("statement file cannot be read: {0}")]
    Parse(#[from] ParseError),
    #[error("statement file contains no statement")]
    NoStatements,
    #[error(
        "statement {statement} is for account {account:?}, which is not a valid IBAN ({reason}); only statements of IBAN accounts can be imported"
    )]
    NotAnIban {
        statement: usize,
        account: String,
        reason: String,
    },
    #[error("statement {statement}: {reason}")]
    InvalidIban {
        statement: usize,
        iban: String,
        reason: String,
    },
    #[error(
        "statement {statement} is for IBAN {iban}, which this organisation has not registered; register the bank account first"
    )]
    NotRegistered { statement: usize, iban: String },
    #[error("statement {statement}, transaction {transaction}: {source}")]
    Amount {
        statement: usize,
        transaction: usize,
        #[source]
        source: MoneyError,
    },
    #[error("statement {statement}: invalid currency {currency:?}")]
    Currency { statement: usize, currency: String },
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("idempotency: {0}")]
    Idempotency(tonic::Status),
}

/// Statements to store for one organisation.
pub struct ImportRequest<'a> {
    pub organisation_id: OrganisationId,
    pub source: Source<'a>,
    /// The caller's idempotency key; a scheduled sync has none.
    pub idempotency: Option<&'a idempotency::Key>,
}

/// The origin of statements, as the import record keeps it.
pub struct Source<'a> {
    /// The file name, or a description of the sync.
    pub name: &'a str,
    /// `mt940`, `camt053`, `csv` and so on for a file; `bank-api` for a sync.
    pub format: &'a str,
    /// The bank dialect of a file, or the bank of a sync.
    pub dialect: &'a str,
    /// The bytes read, whose SHA-256 is kept.
    pub content: &'a [u8],
}

/// Stores like [`store`], again when a concurrent import of overlapping statements stored
/// the same fingerprints first: the unique index fails the transaction, and the next attempt
/// counts those rows as duplicates.
pub async fn store_retrying(
    db: &DatabaseConnection,
    request: &ImportRequest<'_>,
    statements: &[Statement],
    parser_warnings: &[String],
) -> Result<pb::ImportStatementResponse, ImportError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store(db, request, statements, parser_warnings).await {
            Err(ImportError::Database(error)) if attempt < 3 && is_conflict(&error) => {
                tracing::debug!(%error, attempt, "import conflicted with a concurrent one, retrying");
            }
            Ok(response) => {
                instruments().mutations_imported.add(
                    u64::try_from(response.imported_count).unwrap_or(0),
                    &[attribute("format", request.source.format.to_owned())],
                );
                return Ok(response);
            }
            other => return other,
        }
    }
}

fn is_conflict(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) || dk_runtime::status::is_retryable(error)
}

/// Parses the file outside the async runtime's worker threads, because a large file takes a
/// noticeable time.
pub async fn parse(
    content: Vec<u8>,
    overrides: dk_statement::Overrides,
) -> Result<ParsedFile, ImportError> {
    let parsed = tokio::task::spawn_blocking(move || dk_statement::parse_with(&content, overrides))
        .await
        .map_err(|error| {
            ImportError::Database(DbErr::Custom(format!("parser task failed: {error}")))
        })?;
    Ok(parsed?)
}

/// Checks, stores and publishes statements. Returns the response of the call, which is also
/// stored under the request's idempotency key.
pub async fn store(
    db: &DatabaseConnection,
    request: &ImportRequest<'_>,
    statements: &[Statement],
    parser_warnings: &[String],
) -> Result<pb::ImportStatementResponse, ImportError> {
    if statements.is_empty() {
        return Err(ImportError::NoStatements);
    }
    let organisation = request.organisation_id.as_uuid();
    let accounts = resolve_accounts(db, organisation, statements).await?;
    let prepared = prepare_mutations(statements, &accounts, organisation)?;

    let transaction = dk_runtime::database::begin_write(db).await?;
    if let Some(key) = request.idempotency
        && let Some(response) = idempotency::replay(&transaction, key)
            .await
            .map_err(ImportError::Idempotency)?
    {
        return Ok(response);
    }

    let import_id = Uuid::now_v7();
    let now = Utc::now();
    let existing = existing_fingerprints(&transaction, &prepared).await?;

    let mut warnings: Vec<String> = parser_warnings.to_vec();
    let mut imported_statements = Vec::with_capacity(statements.len());
    let mut new_rows = Vec::new();
    let mut events = Vec::new();
    let mut statement_rows = Vec::new();

    for (index, statement) in statements.iter().enumerate() {
        let account = &accounts[index];
        let currency = Currency::parse(&statement.currency).map_err(|_| ImportError::Currency {
            statement: index + 1,
            currency: statement.currency.clone(),
        })?;
        if let Some(warning) =
            continuity_warning(&transaction, account, statement, currency).await?
        {
            warnings.push(warning);
        }

        let mut imported = 0;
        let mut duplicates = 0;
        for row in prepared.iter().filter(|row| row.statement == index) {
            if existing.contains(&(row.model.bank_account_id, row.model.fingerprint.clone())) {
                duplicates += 1;
                continue;
            }
            imported += 1;
            let mut model = row.model.clone();
            model.import_id = import_id;
            model.created_at = now;
            events.push(mutation_event(&model, &account.iban));
            new_rows.push(model);
        }

        let opening = stored_balance(
            statement.opening_balance.as_ref(),
            currency,
            index,
            "opening",
            &mut warnings,
        )?;
        let closing = stored_balance(
            statement.closing_balance.as_ref(),
            currency,
            index,
            "closing",
            &mut warnings,
        )?;
        statement_rows.push(bank_statement::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(organisation),
            import_id: Set(import_id),
            bank_account_id: Set(account.id),
            statement_ref: Set(statement.statement_id.clone()),
            currency: Set(currency.to_string()),
            opening_minor: Set(opening.map(|(units, _)| units)),
            opening_date: Set(opening.map(|(_, date)| date)),
            closing_minor: Set(closing.map(|(units, _)| units)),
            closing_date: Set(closing.map(|(_, date)| date)),
            transaction_count: Set(statement.transactions.len() as i32),
            created_at: Set(now),
        });
        imported_statements.push(pb::ImportedStatement {
            bank_account_id: account.id.to_string(),
            iban: account.iban.clone(),
            opening_balance: statement
                .opening_balance
                .as_ref()
                .and_then(balance_to_proto),
            opening_date: statement.opening_balance.as_ref().map(|b| b.date.into()),
            closing_balance: statement
                .closing_balance
                .as_ref()
                .and_then(balance_to_proto),
            closing_date: statement.closing_balance.as_ref().map(|b| b.date.into()),
            transaction_count: statement.transactions.len() as i32,
            imported_count: imported,
            duplicate_count: duplicates,
        });
    }

    let imported_count = new_rows.len() as i32;
    let duplicate_count = prepared.len() as i32 - imported_count;
    statement_import::ActiveModel {
        id: Set(import_id),
        organisation_id: Set(organisation),
        file_name: Set(request.source.name.to_owned()),
        format: Set(request.source.format.to_owned()),
        dialect: Set(request.source.dialect.to_owned()),
        content_sha256: Set(hex(&Sha256::digest(request.source.content))),
        byte_size: Set(request.source.content.len() as i64),
        imported_count: Set(imported_count),
        duplicate_count: Set(duplicate_count),
        warnings: Set(warnings.join("\n")),
        created_at: Set(now),
    }
    .insert(&transaction)
    .await?;
    bank_statement::Entity::insert_many(statement_rows)
        .exec_without_returning(&transaction)
        .await?;
    for chunk in new_rows.chunks(INSERT_CHUNK) {
        let rows = chunk
            .iter()
            .cloned()
            .map(sea_orm::IntoActiveModel::into_active_model);
        bank_mutation::Entity::insert_many(rows)
            .exec_without_returning(&transaction)
            .await?;
    }
    outbox::enqueue(&transaction, "banksync", &events).await?;

    let response = pb::ImportStatementResponse {
        import_id: import_id.to_string(),
        format: request.source.format.to_owned(),
        dialect: request.source.dialect.to_owned(),
        statements: imported_statements,
        imported_count,
        duplicate_count,
        warnings,
    };
    if let Some(key) = request.idempotency {
        idempotency::store(&transaction, key, &response).await?;
    }
    transaction.commit().await?;
    Ok(response)
}

/// Reads the IBAN of an account field that the parser did not accept as one, to say why: ING
/// writes `NL77INGB0574908765EUR`, with the currency after the IBAN.
fn account_iban(account: &str) -> Result<Iban, String> {
    let compact: String = account.chars().filter(|c| !c.is_whitespace()).collect();
    let without_currency = compact
        .len()
        .checked_sub(3)
        .filter(|&end| {
            end > 0
                && compact.is_char_boundary(end)
                && compact[end..].bytes().all(|b| b.is_ascii_alphabetic())
        })
        .map(|end| &compact[..end]);
    match Iban::parse(&compact) {
        Ok(iban) => Ok(iban),
        Err(error) => match without_currency.map(Iban::parse) {
            Some(Ok(iban)) => Ok(iban),
            Some(Err(inner)) if compact.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                Err(inner.reason.to_owned())
            }
            _ => Err(error.reason.to_owned()),
        },
    }
}

/// A mutation ready to insert, with the statement it came from.
struct PreparedMutation {
    statement: usize,
    model: bank_mutation::Model,
}

/// Finds the registered account of every statement, or rejects the whole file.
async fn resolve_accounts(
    db: &DatabaseConnection,
    organisation: Uuid,
    statements: &[Statement],
) -> Result<Vec<bank_account::Model>, ImportError> {
    let mut ibans = Vec::with_capacity(statements.len());
    for (index, statement) in statements.iter().enumerate() {
        let iban = match statement.iban.as_deref().map(Iban::parse) {
            Some(Ok(iban)) => iban,
            Some(Err(error)) => {
                return Err(ImportError::InvalidIban {
                    statement: index + 1,
                    iban: error.input.clone(),
                    reason: error.to_string(),
                });
            }
            None => account_iban(&statement.account).map_err(|reason| ImportError::NotAnIban {
                statement: index + 1,
                account: statement.account.clone(),
                reason,
            })?,
        };
        ibans.push(iban);
    }
    let registered: HashMap<String, bank_account::Model> = bank_account::Entity::find()
        .filter(bank_account::Column::OrganisationId.eq(organisation))
        .filter(bank_account::Column::Iban.is_in(ibans.iter().map(Iban::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|account| (account.iban.clone(), account))
        .collect();
    ibans
        .iter()
        .enumerate()
        .map(|(index, iban)| {
            registered
                .get(iban.as_str())
                .cloned()
                .ok_or_else(|| ImportError::NotRegistered {
                    statement: index + 1,
                    iban: iban.to_string(),
                })
        })
        .collect()
}

fn prepare_mutations(
    statements: &[Statement],
    accounts: &[bank_account::Model],
    organisation: Uuid,
) -> Result<Vec<PreparedMutation>, ImportError> {
    let mut occurrences: HashMap<(Uuid, String), u32> = HashMap::new();
    let mut prepared = Vec::new();
    for (statement_index, statement) in statements.iter().enumerate() {
        let account = &accounts[statement_index];
        for (transaction_index, transaction) in statement.transactions.iter().enumerate() {
            let currency =
                Currency::parse(&transaction.currency).map_err(|_| ImportError::Currency {
                    statement: statement_index + 1,
                    currency: transaction.currency.clone(),
                })?;
            let amount_minor = Money::new(transaction.amount, currency)
                .to_minor_units()
                .map_err(|source| ImportError::Amount {
                    statement: statement_index + 1,
                    transaction: transaction_index + 1,
                    source,
                })?;
            let content = fingerprint_content(transaction, amount_minor, currency);
            let occurrence = occurrences
                .entry((account.id, content.clone()))
                .or_insert(0);
            let fingerprint = hex(&Sha256::digest(
                format!("{content}\u{1f}{occurrence}").as_bytes(),
            ));
            *occurrence += 1;

            prepared.push(PreparedMutation {
                statement: statement_index,
                model: bank_mutation::Model {
                    id: Uuid::now_v7(),
                    organisation_id: organisation,
                    bank_account_id: account.id,
                    import_id: Uuid::nil(),
                    fingerprint,
                    booking_date: transaction.booking_date,
                    value_date: transaction.value_date,
                    amount_minor,
                    currency: currency.to_string(),
                    counterparty_iban: transaction.counterparty_iban.clone(),
                    counterparty_name: transaction.counterparty_name.clone(),
                    remittance: transaction.remittance.clone(),
                    end_to_end_id: transaction.end_to_end_id.clone(),
                    structured_reference: transaction.structured_reference.clone(),
                    bank_reference: transaction.bank_reference.clone(),
                    transaction_code: transaction.transaction_code.clone(),
                    reversal: transaction.reversal,
                    created_at: Utc::now(),
                },
            });
        }
    }
    Ok(prepared)
}

/// Builds the part of the fingerprint that every source writes alike (see the module's docs).
fn fingerprint_content(
    transaction: &dk_statement::Transaction,
    amount_minor: i64,
    currency: Currency,
) -> String {
    format!(
        "{}\u{1f}{amount_minor}\u{1f}{currency}",
        transaction.booking_date
    )
}

async fn existing_fingerprints<C: ConnectionTrait>(
    db: &C,
    prepared: &[PreparedMutation],
) -> Result<HashSet<(Uuid, String)>, DbErr> {
    let mut by_account: HashMap<Uuid, Vec<&str>> = HashMap::new();
    for row in prepared {
        by_account
            .entry(row.model.bank_account_id)
            .or_default()
            .push(&row.model.fingerprint);
    }
    let mut found = HashSet::new();
    for (account, fingerprints) in by_account {
        for chunk in fingerprints.chunks(INSERT_CHUNK) {
            let rows: Vec<String> = bank_mutation::Entity::find()
                .select_only()
                .column(bank_mutation::Column::Fingerprint)
                .filter(bank_mutation::Column::BankAccountId.eq(account))
                .filter(bank_mutation::Column::Fingerprint.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            found.extend(rows.into_iter().map(|fingerprint| (account, fingerprint)));
        }
    }
    Ok(found)
}

/// Returns a warning when the statement's opening balance differs from the closing balance of the
/// account's latest earlier statement.
async fn continuity_warning<C: ConnectionTrait>(
    db: &C,
    account: &bank_account::Model,
    statement: &dk_statement::Statement,
    currency: Currency,
) -> Result<Option<String>, ImportError> {
    let Some(opening) = &statement.opening_balance else {
        return Ok(None);
    };
    if opening.currency != currency.as_str() {
        return Ok(None);
    }
    let previous = bank_statement::Entity::find()
        .filter(bank_statement::Column::BankAccountId.eq(account.id))
        .filter(bank_statement::Column::ClosingDate.lte(opening.date))
        .order_by_desc(bank_statement::Column::ClosingDate)
        .order_by_desc(bank_statement::Column::CreatedAt)
        .one(db)
        .await?;
    let Some(previous) = previous else {
        return Ok(None);
    };
    let (Some(previous_units), Some(previous_date)) =
        (previous.closing_minor, previous.closing_date)
    else {
        return Ok(None);
    };
    let previous_closing = Money::from_minor_units(previous_units, currency);
    if previous_closing.amount() == opening.amount {
        return Ok(None);
    }
    Ok(Some(format!(
        "balance continuity broken on {}: opening balance {} on {} differs from the closing balance {} of the previous statement on {}",
        account.iban,
        Money::new(opening.amount, currency),
        opening.date,
        previous_closing,
        previous_date,
    )))
}

/// Converts a balance to minor units for storage. A balance in another currency than its
/// statement (seen in test files) is not stored but reported as a warning, because the account's
/// balance chain is kept in one currency.
fn stored_balance(
    balance: Option<&dk_statement::Balance>,
    currency: Currency,
    statement: usize,
    which: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<(i64, Date)>, ImportError> {
    let Some(balance) = balance else {
        return Ok(None);
    };
    if balance.currency != currency.as_str() {
        warnings.push(format!(
            "statement {}: the {which} balance {} {} is not in the statement currency {currency}, so it is not stored",
            statement + 1,
            balance.amount,
            balance.currency
        ));
        return Ok(None);
    }
    Money::new(balance.amount, currency)
        .to_minor_units()
        .map(|units| Some((units, balance.date)))
        .map_err(|source| ImportError::Amount {
            statement: statement + 1,
            transaction: 0,
            source,
        })
}

fn balance_to_proto(balance: &dk_statement::Balance) -> Option<dk_proto::common::v1::Money> {
    let currency = Currency::parse(&balance.currency).ok()?;
    Some(Money::new(balance.amount, currency).into())
}

/// Checks a structured reference's check digits, as the wire enum.
pub(crate) fn reference_check(reference: Option<&str>) -> i32 {
    use dk_proto::common::v1::ReferenceCheck;
    let check = match reference.and_then(dk_statement::check_structured_reference) {
        None => ReferenceCheck::Unspecified,
        Some(true) => ReferenceCheck::Valid,
        Some(false) => ReferenceCheck::Invalid,
    };
    check as i32
}

fn mutation_event(model: &bank_mutation::Model, account_iban: &str) -> Event {
    let currency = Currency::parse(&model.currency).unwrap_or(Currency::EUR);
    let payload = BankMutationImported {
        mutation_id: model.id.to_string(),
        organisation_id: model.organisation_id.to_string(),
        bank_account_id: model.bank_account_id.to_string(),
        account_iban: account_iban.to_owned(),
        booking_date: Some(model.booking_date.into()),
        value_date: Some(model.value_date.into()),
        amount: Some(Money::from_minor_units(model.amount_minor, currency).into()),
        counterparty_iban: model.counterparty_iban.clone().unwrap_or_default(),
        counterparty_name: model.counterparty_name.clone().unwrap_or_default(),
        remittance: model.remittance.clone(),
        end_to_end_id: model.end_to_end_id.clone().unwrap_or_default(),
        structured_reference: model.structured_reference.clone().unwrap_or_default(),
        bank_reference: model.bank_reference.clone().unwrap_or_default(),
        reversal: model.reversal,
        import_id: model.import_id.to_string(),
        structured_reference_check: reference_check(model.structured_reference.as_deref()),
    };
    Event::new(
        topology::BANK_MUTATION_IMPORTED,
        EVENT_SOURCE,
        model.organisation_id,
        payload.encode_to_vec(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_iban_reads_ing_currency_suffix() {
        assert_eq!(
            account_iban("NL30INGB0008453127EUR").unwrap().as_str(),
            "NL30INGB0008453127"
        );
        assert_eq!(
            account_iban("NL30 INGB 0008 4531 27").unwrap().as_str(),
            "NL30INGB0008453127"
        );
    }

    #[test]
    fn account_iban_names_the_failed_check() {
        let reason = account_iban("NL77INGB0574908765EUR").unwrap_err();
        assert!(reason.contains("mod-97"), "{reason}");
        assert!(account_iban("0121470966").is_err());
        assert!(account_iban("").is_err());
    }
}
