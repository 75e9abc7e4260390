//! `dk demo`: the main job from start to end on a realistic Dutch bank statement.
//!
//! It starts the stack (embedded by default), registers the company's ING account, creates the
//! open sales and purchase invoices of `demo/invoices.json`, imports the ING MT940 statement of
//! `demo/ing-2026-03.940`, waits until bookkeeping has decided on every imported mutation, and
//! prints what was imported and what matched. Both files are fictional and ship in the binary.

use std::time::Duration;

use anyhow::Context;
use dk_domain::OrganisationId;
use dk_proto::banksync::v1 as banksync;
use dk_proto::bookkeeping::v1 as bookkeeping;
use serde::Deserialize;
use serde_json::json;

use crate::client::{self, NewInvoice, Target};
use crate::stack::{self, StackOptions};

const STATEMENT: &[u8] = include_bytes!("../demo/ing-2026-03.940");
const STATEMENT_NAME: &str = "ing-2026-03.940";
const INVOICES: &str = include_str!("../demo/invoices.json");
const ACCOUNT_IBAN: &str = "NL30INGB0008453127";
const ACCOUNT_NAME: &str = "Studio Verhoeven B.V. zakelijk";

#[derive(Deserialize)]
struct DemoInvoice {
    kind: String,
    number: String,
    counterparty: String,
    counterparty_iban: Option<String>,
    amount: String,
    /// The invoice's one line, as `dk invoice create --line` takes it.
    line: String,
    issue_date: chrono::NaiveDate,
    due_date: chrono::NaiveDate,
    payment_reference: Option<String>,
}

/// Results of the demo, printed after the stack has stopped and its files are gone.
pub struct Report {
    imported: banksync::ImportStatementResponse,
    matches: Vec<bookkeeping::Match>,
    invoices: Vec<bookkeeping::Invoice>,
}

/// Runs the demo on a stack started with `options`.
pub async fn run(options: StackOptions) -> anyhow::Result<Report> {
    let stack = stack::start(&options).await?;
    let result = run_on(&stack, &options.token_secret).await;
    stack.stop().await;
    result
}

async fn run_on(stack: &stack::Stack, token_secret: &str) -> anyhow::Result<Report> {
    // A fresh organisation, so that the demo can run again on the same databases.
    let organisation = OrganisationId::new();
    let keys = dk_runtime::auth::TokenKeys::new(token_secret);
    let target = Target {
        banksync_url: format!("http://{}", stack.banksync),
        bookkeeping_url: format!("http://{}", stack.bookkeeping),
        billing_url: format!("http://{}", stack.billing),
        support_url: format!("http://{}", stack.support),
        token: keys.issue("demo", organisation, chrono::Duration::hours(1)),
    };
    let mut banksync_client = target.banksync().await?;
    let mut bookkeeping_client = target.bookkeeping().await?;

    banksync_client
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: client::idempotency_key(None),
            iban: ACCOUNT_IBAN.into(),
            name: ACCOUNT_NAME.into(),
        })
        .await
        .map_err(client::status_error)?;

    let invoices: Vec<DemoInvoice> =
        serde_json::from_str(INVOICES).context("demo invoices are invalid")?;
    for invoice in invoices {
        let kind = if invoice.kind == "purchase" {
            bookkeeping::InvoiceKind::Purchase
        } else {
            bookkeeping::InvoiceKind::Sales
        };
        client::create_invoice(
            &mut bookkeeping_client,
            NewInvoice {
                kind,
                number: invoice.number,
                counterparty: invoice.counterparty,
                counterparty_iban: invoice.counterparty_iban,
                amount: Some(invoice.amount),
                lines: vec![
                    client::parse_invoice_line(&invoice.line)
                        .map_err(|error| anyhow::anyhow!("demo invoice line: {error}"))?,
                ],
                country: None,
                issue_date: Some(invoice.issue_date),
                due_date: Some(invoice.due_date),
                payment_reference: invoice.payment_reference,
            },
        )
        .await
        .map_err(client::status_error)?;
    }

    let imported = banksync_client
        .import_statement(banksync::ImportStatementRequest {
            idempotency_key: client::idempotency_key(None),
            content: STATEMENT.to_vec(),
            file_name: STATEMENT_NAME.into(),
            format: banksync::StatementFormat::Unspecified as i32,
            dialect: String::new(),
        })
        .await
        .map_err(client::status_error)?
        .into_inner();

    let expected = imported.imported_count as usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let matches = loop {
        let matches = client::list_matches(&mut bookkeeping_client, false).await?;
        if matches.len() >= expected {
            break matches;
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "bookkeeping decided on {} of {expected} mutations within 30 seconds",
                matches.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut matches = matches;
    matches.sort_by(|a, b| {
        client::date_key(a.booking_date.as_ref())
            .cmp(&client::date_key(b.booking_date.as_ref()))
            .then(a.mutation_id.cmp(&b.mutation_id))
    });
    let invoices = client::list_invoices(&mut bookkeeping_client).await?;
    Ok(Report {
        imported,
        matches,
        invoices,
    })
}

impl Report {
    /// Prints the report as tables, or as one JSON document.
    pub fn print(&self, json_output: bool) {
        if json_output {
            client::print_json(&json!({
                "import": client::import_json(&self.imported),
                "matches": self.matches.iter().map(client::match_json).collect::<Vec<_>>(),
                "invoices": self.invoices.iter().map(client::invoice_json).collect::<Vec<_>>(),
            }));
            return;
        }
        println!("Statement {STATEMENT_NAME} for {ACCOUNT_IBAN} ({ACCOUNT_NAME})\n");
        client::print_import(&self.imported);
        println!("\nWhat bookkeeping decided for each mutation:\n");
        client::print_matches(&self.matches, false);
        println!("\nInvoices afterwards:\n");
        client::print_invoices(&self.invoices);
    }
}
