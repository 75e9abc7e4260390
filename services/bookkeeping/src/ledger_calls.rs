//! The ledger's gRPC calls: chart, manual entries and reversals, closing periods, and reports.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::Utc;
use dk_domain::{Currency, Money};
use dk_proto::bookkeeping::v1 as pb;
use dk_proto::convert::{date_from_proto, money_from_proto, timestamp_from};
use dk_runtime::idempotency::{self, Key};
use dk_runtime::paging::Page;
use dk_runtime::status;
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};
use tonic::Status;

use crate::entity::{journal_entry, journal_line, ledger_account};
use crate::grpc::Bookkeeping;
use crate::invoices::ledger_status;
use crate::ledger::chart::Role;
use crate::ledger::reports::{self, Ageing};
use crate::ledger::vat::{VatBox, VatPart};
use crate::ledger::{self, Journal, NewEntry, NewLine, Source};

/// Most lines of one manual entry.
const MAX_ENTRY_LINES: usize = 500;

fn euros(minor: i64) -> Option<dk_proto::common::v1::Money> {
    Some(Money::from_minor_units(minor, Currency::EUR).into())
}

pub fn account_to_proto(account: &ledger_account::Model) -> pb::LedgerAccount {
    pb::LedgerAccount {
        id: account.id.to_string(),
        number: account.number.clone(),
        name_nl: account.name_nl.clone(),
        name_en: account.name_en.clone(),
        rgs_code: account.rgs_code.clone(),
        account_class: account.class.clone(),
        normal_side: account.normal_side.clone(),
        role: account.role.clone().unwrap_or_default(),
    }
}

fn journal_to_proto(journal: &str) -> pb::Journal {
    match Journal::parse(journal) {
        Some(Journal::Sales) => pb::Journal::Sales,
        Some(Journal::Purchases) => pb::Journal::Purchases,
        Some(Journal::Bank) => pb::Journal::Bank,
        Some(Journal::Memorial) => pb::Journal::Memorial,
        None => pb::Journal::Unspecified,
    }
}

fn journal_from_proto(
    field: &str,
    value: i32,
    default: Option<Journal>,
) -> Result<Option<Journal>, Status> {
    match pb::Journal::try_from(value) {
        Ok(pb::Journal::Unspecified) => Ok(default),
        Ok(pb::Journal::Sales) => Ok(Some(Journal::Sales)),
        Ok(pb::Journal::Purchases) => Ok(Some(Journal::Purchases)),
        Ok(pb::Journal::Bank) => Ok(Some(Journal::Bank)),
        Ok(pb::Journal::Memorial) => Ok(Some(Journal::Memorial)),
        Err(_) => Err(status::invalid_argument(
            field,
            format!(
                "unknown journal {value}: expected JOURNAL_SALES, JOURNAL_PURCHASES, JOURNAL_BANK or JOURNAL_MEMORIAL"
            ),
        )),
    }
}

impl Bookkeeping {
    async fn accounts_by_id(
        &self,
        organisation: Uuid,
    ) -> Result<HashMap<Uuid, ledger_account::Model>, Status> {
        self.charts
            .of(organisation)
            .await
            .map_err(|e| status::from_db("reading the chart of accounts", e))?;
        Ok(ledger_account::Entity::find()
            .filter(ledger_account::Column::OrganisationId.eq(organisation))
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("reading the chart of accounts", e))?
            .into_iter()
            .map(|account| (account.id, account))
            .collect())
    }

    /// Loads entries' lines and reversals and converts them.
    async fn entries_to_proto<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        organisation: Uuid,
        entries: Vec<journal_entry::Model>,
    ) -> Result<Vec<pb::JournalEntry>, Status> {
        let context = "reading journal entries";
        let accounts = self.accounts_by_id(organisation).await?;
        let ids: Vec<Uuid> = entries.iter().map(|entry| entry.id).collect();
        let mut lines: HashMap<Uuid, Vec<journal_line::Model>> = HashMap::new();
        for line in journal_line::Entity::find()
            .filter(journal_line::Column::EntryId.is_in(ids.clone()))
            .order_by_asc(journal_line::Column::Position)
            .all(db)
            .await
            .map_err(|e| status::from_db(context, e))?
        {
            lines.entry(line.entry_id).or_default().push(line);
        }
        let reversed_by: HashMap<Uuid, Uuid> = journal_entry::Entity::find()
            .filter(journal_entry::Column::ReversesEntryId.is_in(ids))
            .all(db)
            .await
            .map_err(|e| status::from_db(context, e))?
            .into_iter()
            .filter_map(|entry| entry.reverses_entry_id.map(|reversed| (reversed, entry.id)))
            .collect();
        Ok(entries
            .into_iter()
            .map(|entry| pb::JournalEntry {
                id: entry.id.to_string(),
                journal: journal_to_proto(&entry.journal) as i32,
                entry_date: Some(entry.entry_date.into()),
                description: entry.description.clone(),
                source: entry.source.clone(),
                source_id: entry.source_id.map(|id| id.to_string()).unwrap_or_default(),
                reverses_entry_id: entry
                    .reverses_entry_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                reversed_by_entry_id: reversed_by
                    .get(&entry.id)
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                lines: lines
                    .remove(&entry.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|line| {
                        let account = accounts.get(&line.account_id);
                        pb::JournalLine {
                            account_number: account.map(|a| a.number.clone()).unwrap_or_default(),
                            account_name: account.map(|a| a.name_nl.clone()).unwrap_or_default(),
                            debit: (line.amount_minor > 0)
                                .then(|| euros(line.amount_minor))
                                .flatten(),
                            credit: (line.amount_minor < 0)
                                .then(|| euros(-line.amount_minor))
                                .flatten(),
                            description: line.description,
                            invoice_id: line
                                .invoice_id
                                .map(|id| id.to_string())
                                .unwrap_or_default(),
                            vat_box: line.vat_box.unwrap_or_default(),
                            vat_part: line.vat_part.unwrap_or_default(),
                        }
                    })
                    .collect(),
                post_time: entry.posted_at.map(timestamp_from),
            })
            .collect())
    }

    pub async fn list_ledger_accounts_call(
        &self,
        organisation: Uuid,
    ) -> Result<pb::ListLedgerAccountsResponse, Status> {
        let mut accounts: Vec<ledger_account::Model> = self
            .accounts_by_id(organisation)
            .await?
            .into_values()
            .collect();
        accounts.sort_by(|left, right| left.number.cmp(&right.number));
        Ok(pb::ListLedgerAccountsResponse {
            accounts: accounts.iter().map(account_to_proto).collect(),
        })
    }

    pub async fn post_journal_entry_call(
        &self,
        organisation: Uuid,
        request: pb::PostJournalEntryRequest,
    ) -> Result<pb::PostJournalEntryResponse, Status> {
        let key = Key::new(
            organisation,
            "PostJournalEntry",
            &request.idempotency_key,
            &request,
        )?;
        // Sales, purchases and bank entries come from invoices and payments only.
        let journal = journal_from_proto("journal", request.journal, Some(Journal::Memorial))?
            .unwrap_or(Journal::Memorial);
        if journal != Journal::Memorial {
            return Err(status::invalid_argument(
                "journal",
                format!(
                    "{}: manual entries go in the memorial journal; the sales, purchases and bank journals are filled by invoices and payments",
                    journal.as_str()
                ),
            ));
        }
        let date = date_from_proto("entry_date", request.entry_date.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .ok_or_else(|| {
                status::invalid_argument("entry_date", "missing: expected the date of the entry")
            })?;
        let description = request.description.trim();
        if description.is_empty() || description.chars().count() > 500 {
            return Err(status::invalid_argument(
                "description",
                "expected 1 to 500 characters",
            ));
        }
        if request.lines.len() > MAX_ENTRY_LINES {
            return Err(status::invalid_argument(
                "lines",
                format!(
                    "{} lines: expected at most {MAX_ENTRY_LINES}",
                    request.lines.len()
                ),
            ));
        }
        let accounts = self.accounts_by_id(organisation).await?;
        let by_number: HashMap<&str, &ledger_account::Model> = accounts
            .values()
            .map(|account| (account.number.as_str(), account))
            .collect();
        let mut lines = Vec::with_capacity(request.lines.len());
        let account_with_role = |role: &str| {
            accounts
                .values()
                .find(|account| account.role.as_deref() == Some(role))
                .map(|account| format!("account {} ({})", account.number, account.name_nl))
                .unwrap_or_else(|| format!("the account with role {role}"))
        };
        // The first line on a VAT account without a box. It is allowed only in a VAT settlement:
        // an entry with lines on VAT accounts only, one of them on the settlement account.
        let mut untagged_tax: Option<(usize, &ledger_account::Model)> = None;
        let mut books_settlement = false;
        let mut only_vat_accounts = true;
        for (index, line) in request.lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{index}].{name}");
            let account = by_number.get(line.account_number.trim()).ok_or_else(|| {
                status::invalid_argument(
                    &field("account_number"),
                    format!(
                        "no ledger account {:?}; `dk ledger accounts` lists them",
                        line.account_number
                    ),
                )
            })?;
            if matches!(account.role.as_deref(), Some("debtors" | "creditors")) {
                return Err(status::invalid_argument(
                    &field("account_number"),
                    format!(
                        "account {} ({}) holds open items and is booked through invoices and payments only",
                        account.number, account.name_nl
                    ),
                ));
            }
            let amount = |name: &str,
                          money: &Option<dk_proto::common::v1::Money>|
             -> Result<i64, Status> {
                let money = money_from_proto(&field(name), money.as_ref())
                    .map_err(|e| status::invalid_argument(&e.field, e.message))?;
                if money.currency() != Currency::EUR {
                    return Err(status::invalid_argument(
                        &field(name),
                        "expected an amount in EUR",
                    ));
                }
                let minor = money
                    .to_minor_units()
                    .map_err(|e| status::invalid_argument(&field(name), e.to_string()))?;
                if minor == 0 {
                    return Err(status::invalid_argument(
                        &field(name),
                        format!(
                            "{money}: expected an amount greater than zero; leave the line out"
                        ),
                    ));
                }
                if minor < 0 {
                    return Err(status::invalid_argument(
                        &field(name),
                        format!(
                            "{money} is negative: book it on the other side (debit or credit) instead"
                        ),
                    ));
                }
                Ok(minor)
            };
            let amount_minor = match (&line.debit, &line.credit) {
                (Some(_), None) => amount("debit", &line.debit)?,
                (None, Some(_)) => -amount("credit", &line.credit)?,
                _ => {
                    return Err(status::invalid_argument(
                        &field("debit"),
                        "expected exactly one of debit and credit",
                    ));
                }
            };
            let role = account.role.as_deref().unwrap_or_default();
            only_vat_accounts &= role.starts_with("vat_");
            let text = line.description.trim();
            let mut posted = NewLine::new(
                account.id,
                amount_minor,
                if text.is_empty() { description } else { text },
            );
            match (line.vat_box.trim(), line.vat_part.trim()) {
                // Turnover booked without a box would be missing from the VAT return.
                ("", "") if is_revenue(account) => {
                    let expected = match revenue_box(account) {
                        Some(vat_box) => format!(
                            "box {vat_box} with vat_part base (on the command line {}=AMOUNT:{vat_box}:base)",
                            account.number
                        ),
                        None => "the box of its turnover with vat_part base, such as 1a (21 %), \
                                 1b (9 %), 1e (0 % or not taxed in the Netherlands), 3a (exports) \
                                 or 3b (within the EU)"
                            .to_owned(),
                    };
                    return Err(status::invalid_argument(
                        &field("vat_box"),
                        format!(
                            "missing for revenue account {} ({}): expected {expected}",
                            account.number, account.name_nl
                        ),
                    ));
                }
                ("", "") => {
                    if role == "vat_settlement" {
                        books_settlement = true;
                    } else if role.starts_with("vat_") && untagged_tax.is_none() {
                        untagged_tax = Some((index, account));
                    }
                }
                (vat_box, _) if role == "vat_settlement" && !vat_box.is_empty() => {
                    return Err(status::invalid_argument(
                        &field("vat_box"),
                        format!(
                            "{vat_box:?} on account {} ({}): the settlement account takes no VAT \
                             box, because the return counted that VAT when it was booked; leave \
                             the box out",
                            account.number, account.name_nl
                        ),
                    ));
                }
                (vat_box, part) => {
                    // Case does not matter: "1A" and "BASE" are read as 1a and base.
                    let parsed_box = VatBox::parse(&vat_box.to_ascii_lowercase()).ok_or_else(|| {
                        status::invalid_argument(
                            &field("vat_box"),
                            format!("{vat_box:?}: expected one of 1a, 1b, 1c, 1d, 1e, 2a, 3a, 3b, 3c, 4a, 4b or 5b"),
                        )
                    })?;
                    let parsed_part =
                        VatPart::parse(&part.to_ascii_lowercase()).ok_or_else(|| {
                            status::invalid_argument(
                                &field("vat_part"),
                                format!("{part:?}: expected base or tax, with the VAT box"),
                            )
                        })?;
                    // Tax belongs on VAT accounts and turnover on the others; box 5b (input
                    // VAT) has no turnover column.
                    let vat_account = account
                        .role
                        .as_deref()
                        .is_some_and(|role| role.starts_with("vat_"));
                    if parsed_part == VatPart::Tax && !vat_account {
                        return Err(status::invalid_argument(
                            &field("vat_part"),
                            format!(
                                "tax on account {} ({}): tax goes on a VAT account such as 1500 or 1530",
                                account.number, account.name_nl
                            ),
                        ));
                    }
                    if parsed_part == VatPart::Base && vat_account {
                        return Err(status::invalid_argument(
                            &field("vat_part"),
                            format!(
                                "base on VAT account {} ({}): the base of box {vat_box} goes on a revenue or cost account, the tax on this one",
                                account.number, account.name_nl
                            ),
                        ));
                    }
                    if parsed_part == VatPart::Base && parsed_box == VatBox::B5b {
                        return Err(status::invalid_argument(
                            &field("vat_part"),
                            format!(
                                "base in box 5b on account {} ({}): box 5b (input VAT) has no base; book the tax on {}",
                                account.number,
                                account.name_nl,
                                account_with_role("vat_receivable")
                            ),
                        ));
                    }
                    // Input VAT is deducted in box 5b only, and VAT due is never booked there.
                    if parsed_part == VatPart::Tax
                        && (role == "vat_receivable") != (parsed_box == VatBox::B5b)
                    {
                        let expected = if role == "vat_receivable" {
                            "input VAT goes in box 5b".to_owned()
                        } else {
                            format!(
                                "box 5b is input VAT, which goes on {}",
                                account_with_role("vat_receivable")
                            )
                        };
                        return Err(status::invalid_argument(
                            &field("vat_box"),
                            format!(
                                "box {vat_box} on account {} ({}): {expected}",
                                account.number, account.name_nl
                            ),
                        ));
                    }
                    posted = posted.in_box(parsed_box, parsed_part);
                }
            }
            lines.push(posted);
        }
        // VAT booked without a box would be missing from the return, unless the entry settles
        // the VAT accounts' balances against the settlement account, which no box covers.
        if let (Some((index, account)), false) =
            (untagged_tax, books_settlement && only_vat_accounts)
        {
            let boxes = match account.role.as_deref() {
                Some("vat_payable_high") => "1a",
                Some("vat_payable_low") => "1b",
                Some("vat_receivable") => "5b",
                _ => "2a, 4a or 4b",
            };
            let example = boxes.split(',').next().unwrap_or(boxes);
            return Err(status::invalid_argument(
                &format!("lines[{index}].vat_box"),
                format!(
                    "missing for VAT account {} ({}): expected box {boxes} with vat_part tax \
                     (on the command line {}=AMOUNT:{example}:tax), or, when the entry settles \
                     the VAT, lines on VAT accounts only, one of them on {}",
                    account.number,
                    account.name_nl,
                    account.number,
                    account_with_role("vat_settlement")
                ),
            ));
        }

        let context = "posting a journal entry";
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        let id = ledger::post(
            &transaction,
            NewEntry {
                organisation_id: organisation,
                journal,
                date,
                description: description.to_owned(),
                source: Source::Manual,
                source_id: None,
                reverses: None,
                lines,
            },
        )
        .await
        .map_err(|error| ledger_status(context, error))?;
        let entry = self.entry_by_id(&transaction, organisation, id).await?;
        let response = pb::PostJournalEntryResponse { entry: Some(entry) };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(response)
    }

    async fn entry_by_id<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        organisation: Uuid,
        id: Uuid,
    ) -> Result<pb::JournalEntry, Status> {
        let entry = journal_entry::Entity::find_by_id(id)
            .filter(journal_entry::Column::OrganisationId.eq(organisation))
            .one(db)
            .await
            .map_err(|e| status::from_db("reading a journal entry", e))?
            .ok_or_else(|| status::not_found("journal entry", &id.to_string()))?;
        Ok(self
            .entries_to_proto(db, organisation, vec![entry])
            .await?
            .remove(0))
    }

    pub async fn reverse_journal_entry_call(
        &self,
        organisation: Uuid,
        request: pb::ReverseJournalEntryRequest,
    ) -> Result<pb::ReverseJournalEntryResponse, Status> {
        let key = Key::new(
            organisation,
            "ReverseJournalEntry",
            &request.idempotency_key,
            &request,
        )?;
        let id = Uuid::from_str(request.entry_id.trim()).map_err(|_| {
            status::invalid_argument("entry_id", format!("{:?} is not a UUID", request.entry_id))
        })?;
        let date = date_from_proto("entry_date", request.entry_date.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .unwrap_or_else(|| Utc::now().date_naive());
        let context = "reversing a journal entry";
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        let original = journal_entry::Entity::find_by_id(id)
            .filter(journal_entry::Column::OrganisationId.eq(organisation))
            .one(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?
            .ok_or_else(|| status::not_found("journal entry", &id.to_string()))?;
        if date < original.entry_date {
            return Err(status::invalid_argument(
                "entry_date",
                format!(
                    "{date} is before {}, the date of the entry it reverses",
                    original.entry_date
                ),
            ));
        }
        if original.source != Source::Manual.as_str() {
            return Err(status::with_reason(
                tonic::Code::FailedPrecondition,
                "ENTRY_NOT_MANUAL",
                format!(
                    "journal entry {id} books {} {}; undo it where it came from (a match with `dk matches undo`, an invoice with a credit note)",
                    if original.source == "invoice" {
                        "an"
                    } else {
                        "a"
                    },
                    original.source
                ),
                &[("source", original.source.clone())],
            ));
        }
        let reversal = ledger::reverse(
            &transaction,
            organisation,
            id,
            date,
            format!("Tegenboeking van {}", original.description),
        )
        .await
        .map_err(|error| ledger_status(context, error))?
        .ok_or_else(|| status::not_found("journal entry", &id.to_string()))?;
        let entry = self
            .entry_by_id(&transaction, organisation, reversal)
            .await?;
        let response = pb::ReverseJournalEntryResponse { entry: Some(entry) };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(response)
    }

    pub async fn list_journal_entries_call(
        &self,
        organisation: Uuid,
        request: pb::ListJournalEntriesRequest,
    ) -> Result<pb::ListJournalEntriesResponse, Status> {
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let mut query = journal_entry::Entity::find()
            .filter(journal_entry::Column::OrganisationId.eq(organisation))
            .filter(journal_entry::Column::PostedAt.is_not_null());
        if let Some(journal) = journal_from_proto("journal", request.journal, None)? {
            query = query.filter(journal_entry::Column::Journal.eq(journal.as_str()));
        }
        let mut rows = query
            .order_by_desc(journal_entry::Column::EntryDate)
            .order_by_desc(journal_entry::Column::Id)
            .offset(page.offset)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("listing journal entries", e))?;
        let next_page_token = page.finish(&mut rows);
        Ok(pb::ListJournalEntriesResponse {
            entries: self.entries_to_proto(&self.db, organisation, rows).await?,
            next_page_token,
        })
    }

    pub async fn close_period_call(
        &self,
        organisation: Uuid,
        request: pb::ClosePeriodRequest,
    ) -> Result<pb::ClosePeriodResponse, Status> {
        let through = date_from_proto("through", request.through.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .ok_or_else(|| {
                status::invalid_argument("through", "missing: expected the last day to close")
            })?;
        let today = Utc::now().date_naive();
        if through >= today {
            return Err(status::invalid_argument(
                "through",
                format!(
                    "{through} is not before today ({today}): a period is closed after it has ended"
                ),
            ));
        }
        let context = "closing a period";
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let current = ledger::closed_through(&transaction, organisation)
            .await
            .map_err(|e| status::from_db(context, e))?;
        match current {
            Some(current) if through < current => {
                return Err(status::with_reason(
                    tonic::Code::FailedPrecondition,
                    "PERIOD_ALREADY_CLOSED",
                    format!(
                        "the periods are closed through {current}; {through} is earlier, and a closed period is not reopened"
                    ),
                    &[("closed_through", current.to_string())],
                ));
            }
            _ => {}
        }
        ledger::close_through(&transaction, organisation, through)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(pb::ClosePeriodResponse {
            closed_through: Some(through.into()),
        })
    }

    pub async fn trial_balance_call(
        &self,
        organisation: Uuid,
        request: pb::GetTrialBalanceRequest,
    ) -> Result<pb::GetTrialBalanceResponse, Status> {
        let through = date_from_proto("through", request.through.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?;
        let (rows, digest) = reports::trial_balance(&self.db, organisation, through)
            .await
            .map_err(|e| status::from_db("making the trial balance", e))?;
        let total_debit = rows.iter().map(|row| row.debit_minor).sum();
        let total_credit = rows.iter().map(|row| row.credit_minor).sum();
        Ok(pb::GetTrialBalanceResponse {
            rows: rows
                .iter()
                .map(|row| pb::TrialBalanceRow {
                    account: Some(account_to_proto(&row.account)),
                    debit: euros(row.debit_minor),
                    credit: euros(row.credit_minor),
                    balance: euros(row.balance_minor()),
                })
                .collect(),
            total_debit: euros(total_debit),
            total_credit: euros(total_credit),
            digest,
        })
    }

    pub async fn open_items_call(
        &self,
        organisation: Uuid,
        request: pb::GetOpenItemsRequest,
    ) -> Result<pb::GetOpenItemsResponse, Status> {
        let as_of = date_from_proto("as_of", request.as_of.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .unwrap_or_else(|| Utc::now().date_naive());
        let kinds: &[(Role, pb::InvoiceKind)] = match pb::InvoiceKind::try_from(request.kind) {
            Ok(pb::InvoiceKind::Unspecified) => &[
                (Role::Debtors, pb::InvoiceKind::Sales),
                (Role::Creditors, pb::InvoiceKind::Purchase),
            ],
            Ok(pb::InvoiceKind::Sales) => &[(Role::Debtors, pb::InvoiceKind::Sales)],
            Ok(pb::InvoiceKind::Purchase) => &[(Role::Creditors, pb::InvoiceKind::Purchase)],
            Err(_) => {
                return Err(status::invalid_argument(
                    "kind",
                    format!("unknown invoice kind {}", request.kind),
                ));
            }
        };
        let context = "listing open items";
        let chart = self
            .charts
            .of(organisation)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let mut response = pb::GetOpenItemsResponse::default();
        for (role, kind) in kinds {
            let account = chart
                .account(*role)
                .map_err(|e| status::from_db(context, e))?;
            let items = reports::open_items(&self.db, organisation, *role, account, as_of)
                .await
                .map_err(|e| status::from_db(context, e))?;
            let mut buckets: BTreeMap<Ageing, i64> =
                Ageing::ALL.into_iter().map(|a| (a, 0)).collect();
            for item in items {
                *buckets.entry(item.ageing).or_default() += item.open_minor;
                response.items.push(pb::OpenItem {
                    invoice_id: item.invoice.id.to_string(),
                    kind: *kind as i32,
                    number: item.invoice.number.clone(),
                    counterparty_name: item.invoice.counterparty_name.clone(),
                    issue_date: Some(item.invoice.issue_date.into()),
                    due_date: Some(item.invoice.due_date.into()),
                    amount: euros(item.invoice.amount_minor),
                    open_amount: euros(item.open_minor),
                    days_overdue: i32::try_from(item.days_overdue).unwrap_or(i32::MAX),
                    ageing: item.ageing.as_str().to_owned(),
                });
            }
            response
                .totals
                .extend(buckets.into_iter().map(|(ageing, open)| pb::AgeingTotal {
                    kind: *kind as i32,
                    ageing: ageing.as_str().to_owned(),
                    open_amount: euros(open),
                }));
        }
        Ok(response)
    }

    pub async fn vat_return_call(
        &self,
        organisation: Uuid,
        request: pb::GetVatReturnRequest,
    ) -> Result<pb::GetVatReturnResponse, Status> {
        let from = date_from_proto("from", request.from.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .ok_or_else(|| {
                status::invalid_argument("from", "missing: expected the first day of the period")
            })?;
        let to = date_from_proto("to", request.to.as_ref())
            .map_err(|e| status::invalid_argument(&e.field, e.message))?
            .ok_or_else(|| {
                status::invalid_argument("to", "missing: expected the last day of the period")
            })?;
        if to < from {
            return Err(status::invalid_argument(
                "to",
                format!("{to} is before {from}"),
            ));
        }
        let english = match request.language.trim() {
            "" | "nl" => false,
            "en" => true,
            other => {
                return Err(status::invalid_argument(
                    "language",
                    format!("{other:?}: expected nl or en"),
                ));
            }
        };
        let summary = reports::vat_return(&self.db, organisation, from, to)
            .await
            .map_err(|e| status::from_db("making the VAT return", e))?;
        let mut boxes: Vec<pb::VatReturnBox> = summary
            .boxes
            .iter()
            .filter(|(vat_box, _)| **vat_box != VatBox::B5b)
            .map(|(vat_box, amounts)| pb::VatReturnBox {
                code: vat_box.as_str().to_owned(),
                description: box_description(vat_box.as_str(), english).to_owned(),
                base: euros(amounts.base_minor),
                tax: euros(amounts.tax_minor),
            })
            .collect();
        for (code, tax) in [
            ("5a", summary.owed_minor),
            ("5b", summary.input_minor),
            ("5c", summary.subtotal_minor),
            ("5d", summary.small_business_relief_minor),
            ("5e", summary.estimate_previous_minor),
            ("5f", summary.estimate_this_minor),
            ("5g", summary.total_minor),
        ] {
            boxes.push(pb::VatReturnBox {
                code: code.to_owned(),
                description: box_description(code, english).to_owned(),
                base: None,
                tax: euros(tax),
            });
        }
        Ok(pb::GetVatReturnResponse { boxes })
    }
}

/// The description of a VAT return box, in Dutch as on the return, or in English.
fn box_description(code: &str, english: bool) -> &'static str {
    let (dutch, english_text) = match code {
        "1a" => (
            "Leveringen/diensten belast met hoog tarief",
            "Supplies and services at the general rate",
        ),
        "1b" => (
            "Leveringen/diensten belast met laag tarief",
            "Supplies and services at the reduced rate",
        ),
        "1c" => (
            "Leveringen/diensten belast met overige tarieven, behalve 0%",
            "Supplies and services at other rates, except 0%",
        ),
        "1d" => ("Privégebruik", "Private use"),
        "1e" => (
            "Leveringen/diensten belast met 0% of niet bij u belast",
            "Supplies and services at 0% or not taxed with you",
        ),
        "2a" => (
            "Leveringen/diensten waarbij de omzetbelasting naar u is verlegd",
            "Supplies and services with the VAT reverse-charged to you",
        ),
        "3a" => (
            "Leveringen naar landen buiten de EU (uitvoer)",
            "Supplies to countries outside the EU (export)",
        ),
        "3b" => (
            "Leveringen naar of diensten in landen binnen de EU",
            "Supplies to or services in countries within the EU",
        ),
        "3c" => (
            "Installatie/afstandsverkopen binnen de EU",
            "Installation and distance sales within the EU",
        ),
        "4a" => (
            "Leveringen/diensten uit landen buiten de EU",
            "Supplies and services from countries outside the EU",
        ),
        "4b" => (
            "Leveringen/diensten uit landen binnen de EU",
            "Supplies and services from countries within the EU",
        ),
        "5a" => ("Verschuldigde omzetbelasting", "VAT owed"),
        "5b" => ("Voorbelasting", "Input VAT"),
        "5c" => ("Subtotaal", "Subtotal"),
        "5d" => (
            "Vermindering volgens de kleineondernemersregeling",
            "Small business scheme reduction",
        ),
        "5e" => (
            "Schatting vorige aangifte(n)",
            "Estimate of earlier returns",
        ),
        "5f" => ("Schatting deze aangifte", "Estimate of this return"),
        _ => (
            "Totaal te betalen / terug te vragen",
            "Total to pay or to reclaim",
        ),
    };
    if english { english_text } else { dutch }
}

/// Returns whether `account` is a turnover account: its reference code (RGS) is in the revenue group
/// `WOmz`.
fn is_revenue(account: &ledger_account::Model) -> bool {
    account.rgs_code.starts_with("WOmz")
}

/// Returns the VAT return box of the turnover on a revenue account with a role, as invoices
/// book it. A revenue account the organisation added itself has no role and gets `None`.
fn revenue_box(account: &ledger_account::Model) -> Option<&'static str> {
    match account.role.as_deref()? {
        "revenue_high" => Some("1a"),
        "revenue_low" => Some("1b"),
        "revenue_zero" => Some("1e"),
        "revenue_eu" => Some("3b"),
        "revenue_export" => Some("3a"),
        _ => None,
    }
}
