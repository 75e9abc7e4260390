//! `dk billing`: lists and shows the subscription invoices of the caller's organisation, and
//! makes billing's staff calls: the monthly invoice run, credit notes and custom user prices.

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use dk_proto::billing::v1 as billing;
use dk_runtime::auth::Role;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{self, idempotency_key, status_error};
use crate::licence::{date_value, language_name};
use crate::quote::{amount, money_text, print_quote, quote_json, vat_json};
use crate::table::{Align, print_table};
use dk_proto::convert::date_to_string;

#[derive(Subcommand)]
pub enum BillingCommand {
    /// List the invoices and credit notes addressed to the organisation, newest first.
    Invoices(InvoicesArgs),
    /// Show one invoice or credit note with its lines, VAT per rate, supplier and customer.
    Invoice(InvoiceArgs),
    /// Staff, role finance: issue the monthly invoice of every active licence for one month.
    ///
    /// Without --token, calls with a development staff token of the vendor organisation.
    Run(RunArgs),
    /// Staff, role finance: issue a credit note for all or some lines of an invoice.
    ///
    /// Without --token, calls with a development staff token of the vendor organisation.
    Credit(CreditArgs),
    /// Staff, role sales: set the monthly price per extra user on a quote with more users than
    /// the user price table covers.
    ///
    /// Without --token, calls with a development staff token of the vendor organisation.
    PriceUsers(PriceUsersArgs),
}

#[derive(Args)]
pub struct InvoicesArgs {
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct InvoiceArgs {
    /// Id of the invoice or credit note, as listed by `dk billing invoices --json`.
    #[arg(value_parser = crate::parse_id)]
    invoice_id: uuid::Uuid,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct RunArgs {
    /// Month to invoice in advance, YYYY-MM, for example 2026-05.
    #[arg(long, value_parser = parse_month)]
    month: NaiveDate,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct CreditArgs {
    /// Id of the invoice to correct.
    #[arg(value_parser = crate::parse_id)]
    invoice_id: uuid::Uuid,
    /// Reason for the correction, shown on the credit note.
    #[arg(long, value_parser = parse_reason)]
    reason: String,
    /// Line numbers to credit in full, comma-separated, for example 1,2; every line not
    /// credited before when not given.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(i32).range(1..))]
    lines: Vec<i32>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct PriceUsersArgs {
    /// Id of the quote that needs a custom user price.
    #[arg(value_parser = crate::parse_id)]
    quote_id: uuid::Uuid,
    /// Id of the customer organisation that created the quote.
    #[arg(long)]
    customer_organisation: dk_domain::OrganisationId,
    /// Monthly price per extra user in euros, excluding VAT, with a decimal point, for example
    /// 3.75.
    #[arg(long)]
    unit_price: String,
    #[command(flatten)]
    target: TargetArgs,
}

/// Parses `YYYY-MM` into the first day of that month.
pub fn parse_month(text: &str) -> Result<NaiveDate, String> {
    let invalid = || format!("invalid month {text:?}: expected YYYY-MM, for example 2026-05");
    let (year, month) = text.trim().split_once('-').ok_or_else(invalid)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(invalid());
    }
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let month: u32 = month.parse().map_err(|_| invalid())?;
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid)
}

/// Trims a credit note's reason and rejects an empty one before calling the server.
fn parse_reason(text: &str) -> Result<String, String> {
    let reason = text.trim();
    if reason.is_empty() {
        return Err("empty reason: expected why the invoice is corrected".to_owned());
    }
    Ok(reason.to_owned())
}

pub async fn run(command: BillingCommand) -> anyhow::Result<()> {
    match command {
        BillingCommand::Invoices(args) => invoices(args).await,
        BillingCommand::Invoice(args) => invoice(args).await,
        BillingCommand::Run(args) => run_month(args).await,
        BillingCommand::Credit(args) => credit(args).await,
        BillingCommand::PriceUsers(args) => price_users(args).await,
    }
}

async fn invoices(args: InvoicesArgs) -> anyhow::Result<()> {
    let mut client = args.target.target().billing().await?;
    let mut invoices = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_invoices(billing::ListInvoicesRequest {
                page_size: 500,
                page_token,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        invoices.extend(response.invoices);
        if response.next_page_token.is_empty() {
            break;
        }
        page_token = response.next_page_token;
    }
    if args.target.json {
        client::print_json(&Value::Array(invoices.iter().map(invoice_json).collect()));
    } else if invoices.is_empty() {
        println!("no invoices");
    } else {
        print_invoices(&invoices);
    }
    Ok(())
}

async fn invoice(args: InvoiceArgs) -> anyhow::Result<()> {
    let invoice = args
        .target
        .target()
        .billing()
        .await?
        .get_invoice(billing::GetInvoiceRequest {
            invoice_id: args.invoice_id.to_string(),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .invoice
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&invoice_json(&invoice));
    } else {
        print_invoice(&invoice);
    }
    Ok(())
}

async fn run_month(args: RunArgs) -> anyhow::Result<()> {
    let response = args
        .target
        .staff_target(Role::Finance)
        .billing()
        .await?
        .run_monthly_invoices(billing::RunMonthlyInvoicesRequest {
            idempotency_key: idempotency_key(None),
            month: Some(args.month.into()),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&run_json(&response));
    } else {
        print_run(&response);
    }
    Ok(())
}

async fn credit(args: CreditArgs) -> anyhow::Result<()> {
    let credit_note = args
        .target
        .staff_target(Role::Finance)
        .billing()
        .await?
        .issue_credit_note(billing::IssueCreditNoteRequest {
            idempotency_key: idempotency_key(None),
            invoice_id: args.invoice_id.to_string(),
            line_numbers: args.lines,
            reason: args.reason,
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .credit_note
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&invoice_json(&credit_note));
    } else {
        print_invoice(&credit_note);
    }
    Ok(())
}

async fn price_users(args: PriceUsersArgs) -> anyhow::Result<()> {
    let unit_price = client::parse_amount(&args.unit_price)
        .map_err(|error| anyhow::anyhow!("invalid --unit-price {:?}: {error}", args.unit_price))?;
    let response = args
        .target
        .staff_target(Role::Sales)
        .billing()
        .await?
        .set_custom_user_price(billing::SetCustomUserPriceRequest {
            idempotency_key: idempotency_key(None),
            organisation_id: args.customer_organisation.to_string(),
            quote_id: args.quote_id.to_string(),
            unit_price: Some(dk_proto::common::v1::Money {
                amount: unit_price,
                currency_code: "EUR".into(),
            }),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let quote = response.quote.unwrap_or_default();
    if args.target.json {
        client::print_json(&json!({
            "quote": quote_json(&quote),
            "set_by": response.set_by,
        }));
    } else {
        print_quote(&quote);
        println!("custom user price set by {}", response.set_by);
    }
    Ok(())
}

// ---- JSON ----

fn kind_name(kind: i32) -> &'static str {
    match billing::InvoiceKind::try_from(kind) {
        Ok(billing::InvoiceKind::Invoice) => "invoice",
        Ok(billing::InvoiceKind::CreditNote) => "credit_note",
        _ => "unknown",
    }
}

fn payment_status_name(status: i32) -> &'static str {
    match billing::PaymentStatus::try_from(status) {
        Ok(billing::PaymentStatus::Open) => "open",
        Ok(billing::PaymentStatus::PartiallyPaid) => "partially_paid",
        Ok(billing::PaymentStatus::Paid) => "paid",
        Ok(billing::PaymentStatus::Credited) => "credited",
        _ => "unknown",
    }
}

fn party_json(party: Option<&billing::Party>) -> Value {
    let Some(party) = party else {
        return Value::Null;
    };
    json!({
        "name": party.name,
        "street": party.street,
        "postal_code": party.postal_code,
        "city": party.city,
        "country_code": party.country_code,
        "vat_id": party.vat_id,
        "kvk_number": party.kvk_number,
        "iban": party.iban,
    })
}

/// Builds the `--json` output of an invoice or credit note, with money as decimal strings and
/// dates as `YYYY-MM-DD`.
pub fn invoice_json(invoice: &billing::Invoice) -> Value {
    json!({
        "invoice_id": invoice.invoice_id,
        "invoice_number": invoice.invoice_number,
        "kind": kind_name(invoice.kind),
        "corrects_invoice_id": invoice.corrects_invoice_id,
        "corrects_invoice_number": invoice.corrects_invoice_number,
        "supplier": party_json(invoice.supplier.as_ref()),
        "customer": party_json(invoice.customer.as_ref()),
        "customer_organisation_id": invoice.customer_organisation_id,
        "issue_date": date_value(invoice.issue_date.as_ref()),
        "due_date": date_value(invoice.due_date.as_ref()),
        "period": invoice.period,
        "lines": invoice.lines.iter().map(|line| json!({
            "line_number": line.line_number,
            "code": line.code,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": amount(line.unit_price.as_ref()),
            "amount": amount(line.amount.as_ref()),
            "vat_rate": line.vat_rate,
            "explanation": line.explanation,
        })).collect::<Vec<_>>(),
        "net": amount(invoice.net.as_ref()),
        "vat": invoice.vat.iter().map(vat_json).collect::<Vec<_>>(),
        "total": amount(invoice.total.as_ref()),
        "vat_note": invoice.vat_note,
        "language": language_name(invoice.language),
        "payment_status": payment_status_name(invoice.payment_status),
        "open_amount": amount(invoice.open_amount.as_ref()),
        "reason": invoice.reason,
    })
}

/// Builds the `--json` output of a monthly run.
pub fn run_json(response: &billing::RunMonthlyInvoicesResponse) -> Value {
    json!({
        "period": response.period,
        "issued": response.issued.iter().map(invoice_json).collect::<Vec<_>>(),
        "already_invoiced": response.already_invoiced,
        "started_during_month": response.started_during_month,
        "failures": response.failures.iter().map(|failure| json!({
            "licence_id": failure.licence_id,
            "organisation_id": failure.organisation_id,
            "reason": failure.reason,
        })).collect::<Vec<_>>(),
    })
}

// ---- text ----

fn kind_text(kind: i32) -> &'static str {
    match billing::InvoiceKind::try_from(kind) {
        Ok(billing::InvoiceKind::CreditNote) => "credit note",
        _ => "invoice",
    }
}

fn print_invoices(invoices: &[billing::Invoice]) {
    let rows: Vec<Vec<String>> = invoices
        .iter()
        .map(|invoice| {
            vec![
                invoice.invoice_number.clone(),
                kind_text(invoice.kind).to_owned(),
                date_to_string(invoice.issue_date.as_ref()),
                invoice.period.clone(),
                money_text(invoice.total.as_ref()),
                payment_status_name(invoice.payment_status).to_owned(),
                money_text(invoice.open_amount.as_ref()),
                invoice.invoice_id.clone(),
            ]
        })
        .collect();
    let header = [
        ("number", Align::Left),
        ("kind", Align::Left),
        ("issued", Align::Left),
        ("period", Align::Left),
        ("total", Align::Right),
        ("payment", Align::Left),
        ("open", Align::Right),
        ("id", Align::Left),
    ];
    print_table(&header, &rows, "");
}

fn print_party(role: &str, party: Option<&billing::Party>) {
    let Some(party) = party else {
        println!("{role}: none");
        return;
    };
    println!("{role}:");
    println!("  {}", party.name);
    println!("  {}", party.street);
    println!(
        "  {}  {}  {}",
        party.postal_code, party.city, party.country_code
    );
    let identifiers = [
        ("VAT id", &party.vat_id),
        ("KvK", &party.kvk_number),
        ("IBAN", &party.iban),
    ];
    for (label, value) in identifiers {
        if !value.is_empty() {
            println!("  {label} {value}");
        }
    }
}

/// Prints the header, parties, lines, VAT per rate, totals and payment status.
fn print_invoice(invoice: &billing::Invoice) {
    println!(
        "{} {} ({})",
        kind_text(invoice.kind),
        invoice.invoice_number,
        invoice.invoice_id
    );
    if !invoice.corrects_invoice_number.is_empty() {
        println!(
            "corrects invoice {} ({})",
            invoice.corrects_invoice_number, invoice.corrects_invoice_id
        );
    }
    if !invoice.reason.is_empty() {
        println!("reason: {}", invoice.reason);
    }
    let mut dates = format!(
        "issued {}, due {}",
        date_to_string(invoice.issue_date.as_ref()),
        date_to_string(invoice.due_date.as_ref())
    );
    if !invoice.period.is_empty() {
        dates.push_str(&format!(", period {}", invoice.period));
    }
    println!("{dates}");
    print_party("supplier", invoice.supplier.as_ref());
    print_party("customer", invoice.customer.as_ref());
    println!();

    let rows: Vec<Vec<String>> = invoice
        .lines
        .iter()
        .map(|line| {
            vec![
                line.line_number.to_string(),
                line.description.clone(),
                line.quantity.clone(),
                money_text(line.unit_price.as_ref()),
                money_text(line.amount.as_ref()),
                format!("{}%", line.vat_rate),
                line.explanation.clone(),
            ]
        })
        .collect();
    let header = [
        ("#", Align::Right),
        ("description", Align::Left),
        ("quantity", Align::Right),
        ("unit price", Align::Right),
        ("amount", Align::Right),
        ("VAT", Align::Right),
        ("explanation", Align::Left),
    ];
    print_table(&header, &rows, "");
    println!();

    println!("net    {}", money_text(invoice.net.as_ref()));
    for vat in &invoice.vat {
        println!(
            "VAT    {} ({}% over {})",
            money_text(vat.amount.as_ref()),
            vat.rate,
            money_text(vat.base.as_ref())
        );
    }
    println!("total  {}", money_text(invoice.total.as_ref()));
    if !invoice.vat_note.is_empty() {
        println!("VAT note: {}", invoice.vat_note);
    }
    println!(
        "payment {}, open {}",
        payment_status_name(invoice.payment_status),
        money_text(invoice.open_amount.as_ref())
    );
}

fn print_run(response: &billing::RunMonthlyInvoicesResponse) {
    println!(
        "monthly run for {}: {} issued, {} already invoiced, {} failed",
        response.period,
        response.issued.len(),
        response.already_invoiced,
        response.failures.len()
    );
    if response.started_during_month > 0 {
        println!(
            "{} licence(s) became paid during {}: not invoiced for it in advance; the rest of \
             that month is charged pro rata on the next month's invoice",
            response.started_during_month, response.period
        );
    }
    if !response.issued.is_empty() {
        let rows: Vec<Vec<String>> = response
            .issued
            .iter()
            .map(|invoice| {
                vec![
                    invoice.invoice_number.clone(),
                    invoice
                        .customer
                        .as_ref()
                        .map(|customer| customer.name.clone())
                        .unwrap_or_default(),
                    money_text(invoice.total.as_ref()),
                    invoice.invoice_id.clone(),
                ]
            })
            .collect();
        let header = [
            ("number", Align::Left),
            ("customer", Align::Left),
            ("total", Align::Right),
            ("id", Align::Left),
        ];
        print_table(&header, &rows, "  ");
    }
    for failure in &response.failures {
        println!(
            "  failed: licence {} of organisation {}: {}",
            failure.licence_id, failure.organisation_id, failure.reason
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_month_accepts_year_month() {
        assert_eq!(
            parse_month("2026-05"),
            Ok(NaiveDate::from_ymd_opt(2026, 5, 1).unwrap())
        );
        assert_eq!(
            parse_month(" 2026-12 "),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        );
    }

    #[test]
    fn parse_month_rejects_other_forms() {
        for text in [
            "2026-13",
            "2026-00",
            "2026-5",
            "26-05",
            "2026-05-01",
            "may",
            "",
        ] {
            let error = parse_month(text).unwrap_err();
            assert!(error.contains(&format!("{text:?}")), "{text}: {error}");
            assert!(error.contains("YYYY-MM"), "{text}: {error}");
        }
    }

    #[test]
    fn parse_reason_rejects_blank() {
        assert_eq!(parse_reason("  dubbel  "), Ok("dubbel".to_owned()));
        assert!(parse_reason("").is_err());
        assert!(parse_reason("   ").is_err());
    }

    #[test]
    fn invoice_json_shape() {
        let money = |amount: &str| {
            Some(dk_proto::common::v1::Money {
                amount: amount.into(),
                currency_code: "EUR".into(),
            })
        };
        let invoice = billing::Invoice {
            invoice_id: "i-1".into(),
            invoice_number: "2026-0001".into(),
            kind: billing::InvoiceKind::Invoice as i32,
            issue_date: Some(dk_proto::common::v1::Date {
                year: 2026,
                month: 5,
                day: 1,
            }),
            period: "2026-05".into(),
            lines: vec![billing::InvoiceLine {
                line_number: 1,
                code: "crm".into(),
                description: "CRM".into(),
                quantity: "1".into(),
                unit_price: money("15.00"),
                amount: money("15.00"),
                vat_rate: "21".into(),
                explanation: String::new(),
            }],
            net: money("15.00"),
            total: money("18.15"),
            payment_status: billing::PaymentStatus::Open as i32,
            open_amount: money("18.15"),
            ..Default::default()
        };

        let value = invoice_json(&invoice);

        assert_eq!(value["kind"], "invoice");
        assert_eq!(value["issue_date"], "2026-05-01");
        assert_eq!(value["due_date"], Value::Null);
        assert_eq!(value["supplier"], Value::Null);
        assert_eq!(value["lines"][0]["line_number"], 1);
        assert_eq!(value["lines"][0]["amount"], "15.00");
        assert_eq!(value["total"], "18.15");
        assert_eq!(value["payment_status"], "open");
        assert_eq!(value["open_amount"], "18.15");
    }
}
