//! `dk ledger` and `dk report`: the chart of accounts, journal entries, closing periods, and the
//! trial balance, open items and VAT return of the bookkeeping service.

use clap::{Args, Subcommand, ValueEnum};
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_proto::common::v1 as common;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{self, money_text, money_value, status_error};
use crate::table::{Align, print_table};

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// List the chart of accounts with their RGS codes.
    Accounts {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// List journal entries with their lines, latest first.
    Entries {
        /// Only this journal.
        #[arg(long, value_enum)]
        journal: Option<JournalArg>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Post a balanced entry in the memorial journal.
    Post(PostArgs),
    /// Post the reversal of a manual entry.
    Reverse {
        /// Id of the entry to reverse.
        entry_id: String,
        /// Date of the reversal, YYYY-MM-DD; today when not given.
        #[arg(long, value_parser = crate::parse_date)]
        date: Option<chrono::NaiveDate>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Close the periods through a date; nothing can be posted on or before it afterwards.
    Close {
        /// Last day to close, YYYY-MM-DD.
        #[arg(long, value_parser = crate::parse_date)]
        through: chrono::NaiveDate,
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum JournalArg {
    Sales,
    Purchases,
    Bank,
    Memorial,
}

impl JournalArg {
    fn to_proto(self) -> bookkeeping::Journal {
        match self {
            Self::Sales => bookkeeping::Journal::Sales,
            Self::Purchases => bookkeeping::Journal::Purchases,
            Self::Bank => bookkeeping::Journal::Bank,
            Self::Memorial => bookkeeping::Journal::Memorial,
        }
    }
}

#[derive(Args)]
pub struct PostArgs {
    /// Date of the entry, YYYY-MM-DD.
    #[arg(long, value_parser = crate::parse_date)]
    date: chrono::NaiveDate,
    /// The description of the entry.
    #[arg(long)]
    description: String,
    /// A debit line, ACCOUNT=AMOUNT[:BOX:PART], for example 4400=50.00; repeat for more lines.
    /// BOX and PART put the line in the VAT return, for example 1900=121.00 or
    /// 8000=100.00:1a:base.
    #[arg(long, value_parser = parse_line)]
    debit: Vec<EntryLine>,
    /// A credit line, ACCOUNT=AMOUNT[:BOX:PART], for example 1500=21.00:1a:tax; repeat for more
    /// lines. Lines on revenue and VAT accounts need a box, except in a VAT settlement: lines on
    /// VAT accounts only, one of them on 1550 without a box.
    #[arg(long, value_parser = parse_line)]
    credit: Vec<EntryLine>,
    /// Key that makes a retried command post the entry once.
    #[arg(long)]
    idempotency_key: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
}

/// One line of `dk ledger post`.
#[derive(Clone)]
pub struct EntryLine {
    account: String,
    amount: String,
    vat_box: String,
    vat_part: String,
}

impl EntryLine {
    /// Writes the line back as the command-line option it came from.
    fn option(&self, flag: &str) -> String {
        match self.vat_box.as_str() {
            "" => format!("{flag} {}={}", self.account, self.amount),
            vat_box => format!(
                "{flag} {}={}:{vat_box}:{}",
                self.account, self.amount, self.vat_part
            ),
        }
    }
}

fn parse_line(text: &str) -> Result<EntryLine, String> {
    let (account, rest) = text.split_once('=').ok_or_else(|| {
        format!("{text:?}: expected ACCOUNT=AMOUNT[:BOX:PART], for example 4400=50.00")
    })?;
    let mut parts = rest.split(':').map(str::trim);
    let amount = parts.next().unwrap_or_default();
    let amount = client::parse_amount(amount).map_err(|error| format!("{text:?}: {error}"))?;
    let (vat_box, vat_part) = match (parts.next(), parts.next(), parts.next()) {
        (None, None, None) => (String::new(), String::new()),
        (Some(vat_box), Some(part), None) => (vat_box.to_owned(), part.to_owned()),
        _ => {
            return Err(format!(
                "{text:?}: expected ACCOUNT=AMOUNT or ACCOUNT=AMOUNT:BOX:PART, for example 8000=100.00:1a:base"
            ));
        }
    };
    Ok(EntryLine {
        account: account.trim().to_owned(),
        amount,
        vat_box,
        vat_part,
    })
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Debit, credit and balance per account, with the digest of the balances.
    TrialBalance {
        /// Through the end of this date's month, YYYY-MM-DD; everything when not given.
        #[arg(long, value_parser = crate::parse_date)]
        through: Option<chrono::NaiveDate>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// The VAT return summary by box (rubrieken 1a to 5g).
    Vat {
        /// First day of the period, YYYY-MM-DD.
        #[arg(long, value_parser = crate::parse_date)]
        from: chrono::NaiveDate,
        /// Last day of the period, YYYY-MM-DD.
        #[arg(long, value_parser = crate::parse_date)]
        to: chrono::NaiveDate,
        /// Language of the box descriptions: nl or en.
        #[arg(long, default_value = "nl")]
        language: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Open items of debtors and creditors with ageing.
    OpenItems {
        /// Only sales (debtors) or purchase (creditors) invoices.
        #[arg(long, value_enum)]
        kind: Option<crate::Kind>,
        /// Day to report on, YYYY-MM-DD; today when not given.
        #[arg(long, value_parser = crate::parse_date)]
        as_of: Option<chrono::NaiveDate>,
        #[command(flatten)]
        target: TargetArgs,
    },
}

fn end_of_month(day: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    let first = day.with_day(1).unwrap_or(day);
    first + chrono::Months::new(1) - chrono::Days::new(1)
}

fn date_text(date: Option<&common::Date>) -> String {
    date.map(|date| format!("{:04}-{:02}-{:02}", date.year, date.month, date.day))
        .unwrap_or_default()
}

fn amount_text(money: Option<&common::Money>) -> String {
    money.map(|money| money.amount.clone()).unwrap_or_default()
}

fn account_json(account: &bookkeeping::LedgerAccount) -> Value {
    json!({
        "number": account.number,
        "name_nl": account.name_nl,
        "name_en": account.name_en,
        "rgs_code": account.rgs_code,
        "class": account.account_class,
        "normal_side": account.normal_side,
        "role": account.role,
    })
}

fn entry_json(entry: &bookkeeping::JournalEntry) -> Value {
    json!({
        "id": entry.id,
        "journal": journal_name(entry.journal),
        "entry_date": date_text(entry.entry_date.as_ref()),
        "description": entry.description,
        "source": entry.source,
        "source_id": entry.source_id,
        "reverses_entry_id": entry.reverses_entry_id,
        "reversed_by_entry_id": entry.reversed_by_entry_id,
        "lines": entry.lines.iter().map(|line| json!({
            "account": line.account_number,
            "account_name": line.account_name,
            "debit": money_value(line.debit.as_ref()),
            "credit": money_value(line.credit.as_ref()),
            "description": line.description,
            "invoice_id": line.invoice_id,
            "vat_box": line.vat_box,
            "vat_part": line.vat_part,
        })).collect::<Vec<_>>(),
    })
}

fn journal_name(journal: i32) -> &'static str {
    match bookkeeping::Journal::try_from(journal) {
        Ok(bookkeeping::Journal::Sales) => "sales",
        Ok(bookkeeping::Journal::Purchases) => "purchases",
        Ok(bookkeeping::Journal::Bank) => "bank",
        Ok(bookkeeping::Journal::Memorial) => "memorial",
        _ => "unknown",
    }
}

fn print_entry(entry: &bookkeeping::JournalEntry) {
    let mut heading = format!(
        "{}  {:<9} {}  ({})",
        date_text(entry.entry_date.as_ref()),
        journal_name(entry.journal),
        entry.description,
        entry.id
    );
    if !entry.reverses_entry_id.is_empty() {
        heading.push_str(&format!(", reverses {}", entry.reverses_entry_id));
    }
    if !entry.reversed_by_entry_id.is_empty() {
        heading.push_str(&format!(", reversed by {}", entry.reversed_by_entry_id));
    }
    println!("{heading}");
    let rows: Vec<Vec<String>> = entry
        .lines
        .iter()
        .map(|line| {
            vec![
                line.account_number.clone(),
                line.account_name.clone(),
                amount_text(line.debit.as_ref()),
                amount_text(line.credit.as_ref()),
                line.vat_box.clone(),
                line.description.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            ("account", Align::Left),
            ("name", Align::Left),
            ("debit", Align::Right),
            ("credit", Align::Right),
            ("VAT box", Align::Left),
            ("description", Align::Left),
        ],
        &rows,
        "  ",
    );
}

pub async fn run_ledger(command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Accounts { target } => {
            let mut client = target.target().bookkeeping().await?;
            let accounts = client
                .list_ledger_accounts(bookkeeping::ListLedgerAccountsRequest {})
                .await
                .map_err(status_error)?
                .into_inner()
                .accounts;
            if target.json {
                client::print_json(&Value::Array(accounts.iter().map(account_json).collect()));
            } else {
                let rows: Vec<Vec<String>> = accounts
                    .iter()
                    .map(|account| {
                        vec![
                            account.number.clone(),
                            account.name_nl.clone(),
                            account.rgs_code.clone(),
                            account.role.clone(),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        ("number", Align::Left),
                        ("name", Align::Left),
                        ("RGS code", Align::Left),
                        ("role", Align::Left),
                    ],
                    &rows,
                    "",
                );
            }
        }
        LedgerCommand::Entries { journal, target } => {
            let mut client = target.target().bookkeeping().await?;
            let mut entries = Vec::new();
            let mut page_token = String::new();
            loop {
                let response = client
                    .list_journal_entries(bookkeeping::ListJournalEntriesRequest {
                        journal: journal.map_or(0, |journal| journal.to_proto() as i32),
                        page_size: 500,
                        page_token,
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                entries.extend(response.entries);
                if response.next_page_token.is_empty() {
                    break;
                }
                page_token = response.next_page_token;
            }
            if target.json {
                client::print_json(&Value::Array(entries.iter().map(entry_json).collect()));
            } else if entries.is_empty() {
                println!("no journal entries");
            } else {
                for entry in &entries {
                    print_entry(entry);
                }
            }
        }
        LedgerCommand::Post(args) => {
            let mut client = args.target.target().bookkeeping().await?;
            let money = |amount: &String| {
                Some(common::Money {
                    amount: amount.clone(),
                    currency_code: "EUR".into(),
                })
            };
            let line = |entry: &EntryLine| bookkeeping::JournalLine {
                account_number: entry.account.clone(),
                vat_box: entry.vat_box.clone(),
                vat_part: entry.vat_part.clone(),
                ..Default::default()
            };
            let mut lines: Vec<bookkeeping::JournalLine> = args
                .debit
                .iter()
                .map(|entry| bookkeeping::JournalLine {
                    debit: money(&entry.amount),
                    ..line(entry)
                })
                .collect();
            lines.extend(args.credit.iter().map(|entry| bookkeeping::JournalLine {
                credit: money(&entry.amount),
                ..line(entry)
            }));
            let options: Vec<String> = args
                .debit
                .iter()
                .map(|entry| entry.option("--debit"))
                .chain(args.credit.iter().map(|entry| entry.option("--credit")))
                .collect();
            let entry = client
                .post_journal_entry(bookkeeping::PostJournalEntryRequest {
                    idempotency_key: client::idempotency_key(args.idempotency_key),
                    journal: bookkeeping::Journal::Memorial as i32,
                    entry_date: Some(args.date.into()),
                    description: args.description,
                    lines,
                })
                .await
                // The service numbers the lines from zero, the debits first and then the credits.
                .map_err(
                    |status| match client::option_of_line(status.message(), &options) {
                        Some(option) => status_error(status).context(option),
                        None => status_error(status),
                    },
                )?
                .into_inner()
                .entry
                .unwrap_or_default();
            if args.target.json {
                client::print_json(&entry_json(&entry));
            } else {
                print_entry(&entry);
            }
        }
        LedgerCommand::Reverse {
            entry_id,
            date,
            target,
        } => {
            let mut client = target.target().bookkeeping().await?;
            let entry = client
                .reverse_journal_entry(bookkeeping::ReverseJournalEntryRequest {
                    idempotency_key: client::idempotency_key(None),
                    entry_id,
                    entry_date: date.map(Into::into),
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .entry
                .unwrap_or_default();
            if target.json {
                client::print_json(&entry_json(&entry));
            } else {
                print_entry(&entry);
            }
        }
        LedgerCommand::Close { through, target } => {
            let mut client = target.target().bookkeeping().await?;
            client
                .close_period(bookkeeping::ClosePeriodRequest {
                    through: Some(through.into()),
                })
                .await
                .map_err(status_error)?;
            if target.json {
                client::print_json(&json!({ "closed_through": through.to_string() }));
            } else {
                println!("periods closed through {through}");
            }
        }
    }
    Ok(())
}

pub async fn run_report(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::TrialBalance { through, target } => {
            let mut client = target.target().bookkeeping().await?;
            let report = client
                .get_trial_balance(bookkeeping::GetTrialBalanceRequest {
                    through: through.map(Into::into),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            if target.json {
                client::print_json(&json!({
                    "through": through.map(|day| end_of_month(day).to_string()),
                    "rows": report.rows.iter().map(|row| json!({
                        "account": row.account.as_ref().map(account_json),
                        "debit": money_value(row.debit.as_ref()),
                        "credit": money_value(row.credit.as_ref()),
                        "balance": money_value(row.balance.as_ref()),
                    })).collect::<Vec<_>>(),
                    "total_debit": money_value(report.total_debit.as_ref()),
                    "total_credit": money_value(report.total_credit.as_ref()),
                    "digest": report.digest,
                }));
                return Ok(());
            }
            let mut rows: Vec<Vec<String>> = report
                .rows
                .iter()
                .map(|row| {
                    let account = row.account.clone().unwrap_or_default();
                    vec![
                        account.number,
                        account.name_nl,
                        account.rgs_code,
                        amount_text(row.debit.as_ref()),
                        amount_text(row.credit.as_ref()),
                        amount_text(row.balance.as_ref()),
                    ]
                })
                .collect();
            rows.push(vec![
                String::new(),
                "total".into(),
                String::new(),
                amount_text(report.total_debit.as_ref()),
                amount_text(report.total_credit.as_ref()),
                String::new(),
            ]);
            match through {
                Some(day) => println!(
                    "Trial balance through {} (the end of the month of {day})",
                    end_of_month(day)
                ),
                None => println!("Trial balance of all postings"),
            }
            print_table(
                &[
                    ("account", Align::Left),
                    ("name", Align::Left),
                    ("RGS code", Align::Left),
                    ("debit", Align::Right),
                    ("credit", Align::Right),
                    ("balance", Align::Right),
                ],
                &rows,
                "",
            );
            println!("digest {}", report.digest);
        }
        ReportCommand::Vat {
            from,
            to,
            language,
            target,
        } => {
            let mut client = target.target().bookkeeping().await?;
            let boxes = client
                .get_vat_return(bookkeeping::GetVatReturnRequest {
                    from: Some(from.into()),
                    to: Some(to.into()),
                    language,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .boxes;
            if target.json {
                client::print_json(&json!({
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "boxes": boxes.iter().map(|vat_box| json!({
                        "code": vat_box.code,
                        "description": vat_box.description,
                        "base": money_value(vat_box.base.as_ref()),
                        "tax": money_value(vat_box.tax.as_ref()),
                    })).collect::<Vec<_>>(),
                }));
                return Ok(());
            }
            println!("VAT return {from} to {to}");
            let rows: Vec<Vec<String>> = boxes
                .iter()
                .map(|vat_box| {
                    vec![
                        vat_box.code.clone(),
                        vat_box.description.clone(),
                        amount_text(vat_box.base.as_ref()),
                        amount_text(vat_box.tax.as_ref()),
                    ]
                })
                .collect();
            print_table(
                &[
                    ("box", Align::Left),
                    ("description", Align::Left),
                    ("base", Align::Right),
                    ("VAT", Align::Right),
                ],
                &rows,
                "",
            );
        }
        ReportCommand::OpenItems {
            kind,
            as_of,
            target,
        } => {
            let mut client = target.target().bookkeeping().await?;
            let report = client
                .get_open_items(bookkeeping::GetOpenItemsRequest {
                    kind: match kind {
                        None => 0,
                        Some(crate::Kind::Sales) => bookkeeping::InvoiceKind::Sales as i32,
                        Some(crate::Kind::Purchase) => bookkeeping::InvoiceKind::Purchase as i32,
                    },
                    as_of: as_of.map(Into::into),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            if target.json {
                client::print_json(&json!({
                    "items": report.items.iter().map(|item| json!({
                        "invoice_id": item.invoice_id,
                        "kind": client::kind_name(item.kind),
                        "number": item.number,
                        "counterparty": item.counterparty_name,
                        "issue_date": date_text(item.issue_date.as_ref()),
                        "due_date": date_text(item.due_date.as_ref()),
                        "amount": money_value(item.amount.as_ref()),
                        "open_amount": money_value(item.open_amount.as_ref()),
                        "days_overdue": item.days_overdue,
                        "ageing": item.ageing,
                    })).collect::<Vec<_>>(),
                    "totals": report.totals.iter().map(|total| json!({
                        "kind": client::kind_name(total.kind),
                        "ageing": total.ageing,
                        "open_amount": money_value(total.open_amount.as_ref()),
                    })).collect::<Vec<_>>(),
                }));
                return Ok(());
            }
            if report.items.is_empty() {
                println!("no open items");
            } else {
                let rows: Vec<Vec<String>> = report
                    .items
                    .iter()
                    .map(|item| {
                        vec![
                            client::kind_name(item.kind).to_owned(),
                            item.number.clone(),
                            item.counterparty_name.clone(),
                            date_text(item.due_date.as_ref()),
                            money_text(item.open_amount.as_ref()),
                            item.days_overdue.to_string(),
                            item.ageing.clone(),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        ("kind", Align::Left),
                        ("number", Align::Left),
                        ("counterparty", Align::Left),
                        ("due", Align::Left),
                        ("open", Align::Right),
                        ("days overdue", Align::Right),
                        ("ageing", Align::Left),
                    ],
                    &rows,
                    "",
                );
            }
            println!();
            let rows: Vec<Vec<String>> = report
                .totals
                .iter()
                .map(|total| {
                    vec![
                        client::kind_name(total.kind).to_owned(),
                        total.ageing.clone(),
                        money_text(total.open_amount.as_ref()),
                    ]
                })
                .collect();
            print_table(
                &[
                    ("kind", Align::Left),
                    ("ageing", Align::Left),
                    ("open", Align::Right),
                ],
                &rows,
                "",
            );
        }
    }
    Ok(())
}

/// `dk matches list|show|confirm|reject|undo`.
pub async fn run_matches(command: crate::MatchesCommand) -> anyhow::Result<()> {
    use crate::MatchesCommand;
    let (target, found) = match command {
        MatchesCommand::List { unmatched, target } => {
            let mut bookkeeping = target.target().bookkeeping().await?;
            let matches = client::list_matches(&mut bookkeeping, unmatched).await?;
            if target.json {
                client::print_json(&Value::Array(
                    matches.iter().map(client::match_json).collect(),
                ));
            } else {
                client::print_matches(&matches, true);
            }
            return Ok(());
        }
        MatchesCommand::Show { id, target } => {
            let mut client = target.target().bookkeeping().await?;
            let found = client
                .get_match(bookkeeping::GetMatchRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .r#match;
            (target, found)
        }
        MatchesCommand::Confirm {
            id,
            invoice,
            target,
        } => {
            if let Some(twice) = named_twice(&invoice) {
                anyhow::bail!("--invoice {twice} is given twice: name each invoice once");
            }
            let mut client = target.target().bookkeeping().await?;
            let mut invoice_ids = Vec::with_capacity(invoice.len());
            for invoice in &invoice {
                invoice_ids.push(invoice_id(&mut client, &id, invoice).await?);
            }
            let found = client
                .confirm_suggestion(bookkeeping::ConfirmSuggestionRequest {
                    idempotency_key: client::idempotency_key(None),
                    match_id: id,
                    invoice_ids,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .r#match;
            (target, found)
        }
        MatchesCommand::Reject {
            id,
            invoice,
            target,
        } => {
            let mut client = target.target().bookkeeping().await?;
            let invoice_id = invoice_id(&mut client, &id, &invoice).await?;
            let found = client
                .reject_suggestion(bookkeeping::RejectSuggestionRequest {
                    idempotency_key: client::idempotency_key(None),
                    match_id: id,
                    invoice_id,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .r#match;
            (target, found)
        }
        MatchesCommand::Undo { id, target } => {
            let mut client = target.target().bookkeeping().await?;
            let found = client
                .undo_match(bookkeeping::UndoMatchRequest {
                    idempotency_key: client::idempotency_key(None),
                    match_id: id,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .r#match;
            (target, found)
        }
    };
    let found = found.unwrap_or_default();
    if target.json {
        client::print_json(&client::match_json(&found));
    } else {
        print_match(&found);
    }
    Ok(())
}

/// Returns the id of an invoice given by number or id. A number is looked up among the
/// decision's suggestions first, then among all invoices.
async fn invoice_id(
    client: &mut client::Bookkeeping,
    match_id: &str,
    invoice: &str,
) -> anyhow::Result<String> {
    let invoice = invoice.trim();
    if uuid::Uuid::parse_str(invoice).is_ok() {
        return Ok(invoice.to_owned());
    }
    let found = client
        .get_match(bookkeeping::GetMatchRequest {
            id: match_id.to_owned(),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .r#match
        .unwrap_or_default();
    if let Some(suggestion) = found
        .suggestions
        .iter()
        .find(|suggestion| suggestion.invoice_number.eq_ignore_ascii_case(invoice))
    {
        return Ok(suggestion.invoice_id.clone());
    }
    let purchase = found
        .amount
        .as_ref()
        .is_some_and(|amount| amount.amount.starts_with('-'));
    let kind = if purchase {
        bookkeeping::InvoiceKind::Purchase
    } else {
        bookkeeping::InvoiceKind::Sales
    };
    let listed = client::list_invoices(client).await?;
    let named: Vec<&bookkeeping::Invoice> = listed
        .iter()
        .filter(|listed| listed.number.eq_ignore_ascii_case(invoice))
        .collect();
    if let Some(found) = named.iter().find(|listed| listed.kind == kind as i32) {
        return Ok(found.id.clone());
    }
    match named.first() {
        Some(other) => Err(anyhow::anyhow!(
            "invoice {invoice} is a {} invoice, but money {} pays {} invoices",
            client::kind_name(other.kind),
            if purchase { "going out" } else { "coming in" },
            client::kind_name(kind as i32)
        )),
        None => Err(anyhow::anyhow!(
            "no invoice {invoice}; `dk invoice list` shows the invoices"
        )),
    }
}

fn score_text(score: Option<&bookkeeping::Score>) -> String {
    score.map_or_else(String::new, |score| {
        format!(
            "total {} (reference {}, amount {}, counterparty {})",
            score.total, score.reference, score.amount, score.counterparty
        )
    })
}

fn print_match(found: &bookkeeping::Match) {
    let reasons = found.reasons.clone().unwrap_or_default();
    println!("decision   {}", found.id);
    println!(
        "mutation   {} {} {} {}",
        date_text(found.booking_date.as_ref()),
        money_text(found.amount.as_ref()),
        found.counterparty_name,
        found.remittance
    );
    println!(
        "outcome    {}{}",
        client::outcome_name(found.outcome),
        if found.booked { ", booked" } else { "" }
    );
    for allocation in &found.allocations {
        println!(
            "paid       {} {} (open {} -> {})",
            allocation.invoice_number,
            money_text(allocation.amount.as_ref()),
            money_text(allocation.open_before.as_ref()),
            money_text(allocation.open_after.as_ref())
        );
    }
    for suggestion in &found.suggestions {
        println!(
            "suggested  {} ({}), score {}",
            suggestion.invoice_number,
            suggestion.invoice_id,
            score_text(suggestion.score.as_ref())
        );
    }
    println!("score      {}", score_text(reasons.score.as_ref()));
    if let Some(runner_up) = &reasons.runner_up {
        println!(
            "runner-up  {}, score {}",
            runner_up.invoice_number,
            score_text(runner_up.score.as_ref())
        );
    }
    if !reasons.amount_check.is_empty() {
        println!("amount     {}", reasons.amount_check);
    }
    println!("summary    {}", reasons.summary);
    if !found.journal_entry_id.is_empty() {
        println!("entry      {}", found.journal_entry_id);
    }
    for step in &found.history {
        let invoices = if step.invoice_numbers.is_empty() {
            String::new()
        } else {
            format!(": {}", step.invoice_numbers.join(", "))
        };
        println!(
            "history    {} {} by {}{invoices}",
            crate::bank_link::amsterdam(step.time.as_ref()).unwrap_or_default(),
            step.action,
            step.actor
        );
    }
}

/// Returns the first invoice number that a command line names a second time.
fn named_twice(numbers: &[String]) -> Option<&str> {
    numbers
        .iter()
        .enumerate()
        .find_map(|(index, number)| numbers[..index].contains(number).then_some(number.as_str()))
}

#[cfg(test)]
mod tests {
    use super::{named_twice, parse_line};
    use crate::client::option_of_line;

    #[test]
    fn option_of_line_names_the_option() {
        let options = vec![
            parse_line("1900=21.00").expect("line").option("--debit"),
            parse_line("1500=21.00:1A:tax")
                .expect("line")
                .option("--credit"),
        ];
        let message = "lines[1].vat_box: \"5b\" on account 1500";
        assert_eq!(
            option_of_line(message, &options).as_deref(),
            Some("--credit 1500=21.00:1A:tax")
        );
        assert_eq!(option_of_line("lines[2].debit: invalid", &options), None);
        assert_eq!(option_of_line("description: too long", &options), None);
    }

    #[test]
    fn named_twice_finds_repeat() {
        let numbers = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(named_twice(&numbers(&["2026-0014", "2026-0015"])), None);
        assert_eq!(
            named_twice(&numbers(&["KPN-1", "2026-0015", "KPN-1"])),
            Some("KPN-1")
        );
    }
}
