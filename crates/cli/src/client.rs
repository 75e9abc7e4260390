//! Commands that call a running stack over gRPC.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use dk_domain::{Currency, Money};
use dk_proto::banksync::v1 as banksync;
use dk_proto::banksync::v1::bank_sync_service_client::BankSyncServiceClient;
use dk_proto::billing::v1::billing_service_client::BillingServiceClient;
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_proto::bookkeeping::v1::bookkeeping_service_client::BookkeepingServiceClient;
use dk_proto::common::v1 as common;
use dk_proto::convert::{date_to_string, money_from_proto};
use dk_proto::support::v1::support_service_client::SupportServiceClient;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Adds the bearer token to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type BankSync = BankSyncServiceClient<InterceptedService<Channel, Bearer>>;
pub type Bookkeeping = BookkeepingServiceClient<InterceptedService<Channel, Bearer>>;
pub type Billing = BillingServiceClient<InterceptedService<Channel, Bearer>>;
pub type Support = SupportServiceClient<InterceptedService<Channel, Bearer>>;

/// Addresses of the services and the caller's token.
#[derive(Debug, Clone)]
pub struct Target {
    pub banksync_url: String,
    pub bookkeeping_url: String,
    pub billing_url: String,
    pub support_url: String,
    pub token: String,
}

impl Target {
    fn bearer(&self) -> anyhow::Result<Bearer> {
        let value = format!("Bearer {}", self.token)
            .parse()
            .context("the token contains characters that cannot travel in a header")?;
        Ok(Bearer(value))
    }

    pub async fn banksync(&self) -> anyhow::Result<BankSync> {
        let channel = connect(&self.banksync_url).await?;
        Ok(
            BankSyncServiceClient::with_interceptor(channel, self.bearer()?)
                .max_encoding_message_size(64 * 1024 * 1024),
        )
    }

    pub async fn bookkeeping(&self) -> anyhow::Result<Bookkeeping> {
        let channel = connect(&self.bookkeeping_url).await?;
        Ok(BookkeepingServiceClient::with_interceptor(
            channel,
            self.bearer()?,
        ))
    }

    pub async fn billing(&self) -> anyhow::Result<Billing> {
        let channel = connect(&self.billing_url).await?;
        Ok(BillingServiceClient::with_interceptor(
            channel,
            self.bearer()?,
        ))
    }

    pub async fn support(&self) -> anyhow::Result<Support> {
        let channel = connect(&self.support_url).await?;
        Ok(SupportServiceClient::with_interceptor(
            channel,
            self.bearer()?,
        ))
    }
}

async fn connect(url: &str) -> anyhow::Result<Channel> {
    if !url.starts_with("http://") && !url.starts_with("https://") {
        anyhow::bail!("invalid service URL {url:?}: expected http://host:port");
    }
    Channel::from_shared(url.to_owned())
        .with_context(|| format!("invalid service URL {url:?}: expected http://host:port"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("failed to connect to {url}; is the stack running (dk dev)?"))
}

/// Returns a new idempotency key, unless the user passed one.
pub fn idempotency_key(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn add_account(
    target: &Target,
    iban: &str,
    name: Option<String>,
    json_output: bool,
) -> anyhow::Result<()> {
    let response = target
        .banksync()
        .await?
        .register_bank_account(banksync::RegisterBankAccountRequest {
            idempotency_key: idempotency_key(None),
            iban: iban.to_owned(),
            name: name.unwrap_or_default(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let account = response.bank_account.unwrap_or_default();
    if json_output {
        let mut value = account_json(&account);
        value["already_registered"] = Value::Bool(response.already_registered);
        print_json(&value);
    } else if response.already_registered {
        println!(
            "{} was already registered as account {} ({:?}); its name is unchanged",
            account.iban, account.id, account.name
        );
    } else {
        println!(
            "registered {} ({}) as account {}",
            account.iban,
            display_bank(&account.bank_name),
            account.id
        );
    }
    Ok(())
}

pub async fn import(
    target: &Target,
    file: &Path,
    format: i32,
    dialect: Option<String>,
    json_output: bool,
) -> anyhow::Result<()> {
    let content = read_with_progress(file, json_output)?;
    let spinner = (!json_output).then(|| {
        let spinner =
            ProgressBar::new_spinner().with_message(format!("importing {}", file.display()));
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    let result = target
        .banksync()
        .await?
        .import_statement(banksync::ImportStatementRequest {
            idempotency_key: idempotency_key(None),
            content,
            file_name: file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            format,
            dialect: dialect.unwrap_or_default(),
        })
        .await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let response = result.map_err(status_error)?.into_inner();
    if json_output {
        print_json(&import_json(&response));
    } else {
        print_import(&response);
    }
    Ok(())
}

/// Reads a file, with a progress bar for files above 8 MiB.
fn read_with_progress(file: &Path, quiet: bool) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;

    let mut handle =
        std::fs::File::open(file).with_context(|| format!("failed to open {}", file.display()))?;
    let size = handle
        .metadata()
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    let bar = (!quiet && size > 8 * 1024 * 1024).then(|| {
        let bar = ProgressBar::new(size);
        if let Ok(style) = ProgressStyle::with_template("reading {bytes}/{total_bytes} {wide_bar}")
        {
            bar.set_style(style);
        }
        bar
    });
    let mut content = Vec::with_capacity(size as usize);
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let read = handle
            .read(&mut buffer)
            .with_context(|| format!("failed to read {}", file.display()))?;
        if read == 0 {
            break;
        }
        content.extend_from_slice(&buffer[..read]);
        if let Some(bar) = &bar {
            bar.inc(read as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(content)
}

/// Fields of a new invoice, as given on the command line.
pub struct NewInvoice {
    pub kind: bookkeeping::InvoiceKind,
    pub number: String,
    pub counterparty: String,
    pub counterparty_iban: Option<String>,
    pub amount: Option<String>,
    pub lines: Vec<bookkeeping::InvoiceLine>,
    pub country: Option<String>,
    pub issue_date: Option<chrono::NaiveDate>,
    pub due_date: Option<chrono::NaiveDate>,
    pub payment_reference: Option<String>,
}

pub async fn create_invoice(
    client: &mut Bookkeeping,
    invoice: NewInvoice,
) -> Result<bookkeeping::Invoice, Status> {
    let response = client
        .create_invoice(bookkeeping::CreateInvoiceRequest {
            idempotency_key: idempotency_key(None),
            kind: invoice.kind as i32,
            number: invoice.number,
            counterparty_name: invoice.counterparty,
            counterparty_iban: invoice.counterparty_iban.unwrap_or_default(),
            amount: invoice.amount.map(|amount| common::Money {
                amount,
                currency_code: "EUR".into(),
            }),
            issue_date: invoice.issue_date.map(Into::into),
            due_date: invoice.due_date.map(Into::into),
            payment_reference: invoice.payment_reference.unwrap_or_default(),
            lines: invoice.lines,
            counterparty_country: invoice.country.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok(response.invoice.unwrap_or_default())
}

pub async fn list_invoices(client: &mut Bookkeeping) -> anyhow::Result<Vec<bookkeeping::Invoice>> {
    let mut invoices = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_invoices(bookkeeping::ListInvoicesRequest {
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .map_err(status_error)?
            .into_inner();
        invoices.extend(response.invoices);
        if response.next_page_token.is_empty() {
            return Ok(invoices);
        }
        page_token = response.next_page_token;
    }
}

pub async fn list_matches(
    client: &mut Bookkeeping,
    unmatched_only: bool,
) -> anyhow::Result<Vec<bookkeeping::Match>> {
    let mut matches = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_matches(bookkeeping::ListMatchesRequest {
                unmatched_only,
                page_size: 500,
                page_token,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        matches.extend(response.matches);
        if response.next_page_token.is_empty() {
            return Ok(matches);
        }
        page_token = response.next_page_token;
    }
}

/// Turns a gRPC error into a readable error, with the field violations and error reason that
/// the services attach as standard error details.
pub fn status_error(status: Status) -> anyhow::Error {
    describe_status(&status, &[])
}

/// Works as [`status_error`], and names the command-line option behind a request field where
/// the server's message or a field violation starts with that field, as in
/// `--vat-id: invalid VAT id "BE123"`. `options` pairs each request field with its option.
pub fn status_error_naming<'a>(
    options: &'a [(&'a str, &'a str)],
) -> impl Fn(Status) -> anyhow::Error + 'a {
    move |status| describe_status(&status, options)
}

/// Replaces the request field that `text` starts with by its command-line option, if `options`
/// names one. The longest field wins, so `change.add_modules` goes before `change`.
fn with_option(text: &str, options: &[(&str, &str)]) -> String {
    let starts_with_field = |field: &str| {
        text.strip_prefix(field)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '.', '[']))
    };
    match options
        .iter()
        .filter(|(field, _)| starts_with_field(field))
        .max_by_key(|(field, _)| field.len())
    {
        Some((field, option)) => format!("{option}{}", &text[field.len()..]),
        None => text.to_owned(),
    }
}

fn describe_status(status: &Status, options: &[(&str, &str)]) -> anyhow::Error {
    use tonic_types::StatusExt;

    let mut message = format!(
        "{:?}: {}",
        status.code(),
        with_option(status.message(), options)
    );
    if status.code() == tonic::Code::Unimplemented {
        if !status.message().is_empty() {
            message.push_str("; ");
        }
        message.push_str(
            "the server does not offer this call; check that the service URL points at the right service",
        );
    }
    let details = status.get_error_details();
    if let Some(bad_request) = details.bad_request() {
        // The message already names a single violation; list them only when there are more.
        for violation in bad_request
            .field_violations
            .iter()
            .filter(|v| !status.message().contains(&v.description))
        {
            message.push_str(&format!(
                "\n  field {}: {}",
                with_option(&violation.field, options),
                violation.description
            ));
        }
    }
    if let Some(info) = details.error_info() {
        message.push_str(&format!("\n  reason: {}", info.reason));
    }
    anyhow::anyhow!(message)
}

// ---- output ----

pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

pub(crate) fn money_text(money: Option<&common::Money>) -> String {
    match money_from_proto("amount", money) {
        Ok(money) => money.to_string(),
        Err(_) => "-".into(),
    }
}

/// Returns a date as `YYYY-MM-DD`, or null when absent, as `dk statement parse --json` does.
fn date_value(date: Option<&common::Date>) -> Value {
    date.map_or(Value::Null, |date| {
        Value::String(date_to_string(Some(date)))
    })
}

/// Returns a date as `YYYY-MM-DD`, or `-` when absent.
pub fn date_text(date: Option<&common::Date>) -> String {
    date.map_or_else(|| "-".to_owned(), |date| date_to_string(Some(date)))
}

pub(crate) fn money_value(money: Option<&common::Money>) -> Value {
    match money {
        Some(money) => json!({"amount": money.amount, "currency": money.currency_code}),
        None => Value::Null,
    }
}

fn display_bank(name: &str) -> &str {
    if name.is_empty() {
        "bank not recognised"
    } else {
        name
    }
}

pub fn account_json(account: &banksync::BankAccount) -> Value {
    json!({"id": account.id, "iban": account.iban, "name": account.name, "bank": account.bank_name})
}

pub fn import_json(response: &banksync::ImportStatementResponse) -> Value {
    json!({
        "import_id": response.import_id,
        "format": response.format,
        "dialect": response.dialect,
        "imported": response.imported_count,
        "duplicates": response.duplicate_count,
        "statements": response.statements.iter().map(|statement| json!({
            "iban": statement.iban,
            "opening_balance": money_value(statement.opening_balance.as_ref()),
            "opening_date": date_value(statement.opening_date.as_ref()),
            "closing_balance": money_value(statement.closing_balance.as_ref()),
            "closing_date": date_value(statement.closing_date.as_ref()),
            "transactions": statement.transaction_count,
            "imported": statement.imported_count,
            "duplicates": statement.duplicate_count,
        })).collect::<Vec<_>>(),
        "warnings": response.warnings,
    })
}

pub fn print_import(response: &banksync::ImportStatementResponse) {
    println!(
        "imported {} ({} already known) from a {} file ({})",
        count_of(response.imported_count, "mutation"),
        response.duplicate_count,
        response.format,
        response.dialect
    );
    for statement in &response.statements {
        println!(
            "  {}: {} {} → {} {}, {}",
            statement.iban,
            date_to_string(statement.opening_date.as_ref()),
            money_text(statement.opening_balance.as_ref()),
            date_to_string(statement.closing_date.as_ref()),
            money_text(statement.closing_balance.as_ref()),
            count_of(statement.transaction_count, "transaction")
        );
    }
    for warning in &response.warnings {
        println!("  warning: {warning}");
    }
}

/// `1 mutation`, `2 mutations`.
fn count_of(count: i32, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

pub(crate) fn kind_name(kind: i32) -> &'static str {
    match bookkeeping::InvoiceKind::try_from(kind) {
        Ok(bookkeeping::InvoiceKind::Sales) => "sales",
        Ok(bookkeeping::InvoiceKind::Purchase) => "purchase",
        _ => "unknown",
    }
}

fn status_name(status: i32) -> &'static str {
    match bookkeeping::InvoiceStatus::try_from(status) {
        Ok(bookkeeping::InvoiceStatus::Open) => "open",
        Ok(bookkeeping::InvoiceStatus::PartiallyPaid) => "partially_paid",
        Ok(bookkeeping::InvoiceStatus::Paid) => "paid",
        _ => "unknown",
    }
}

pub fn invoice_json(invoice: &bookkeeping::Invoice) -> Value {
    json!({
        "id": invoice.id,
        "kind": kind_name(invoice.kind),
        "number": invoice.number,
        "counterparty": invoice.counterparty_name,
        "counterparty_iban": invoice.counterparty_iban,
        "amount": money_value(invoice.amount.as_ref()),
        "open_amount": money_value(invoice.open_amount.as_ref()),
        "issue_date": date_to_string(invoice.issue_date.as_ref()),
        "due_date": date_to_string(invoice.due_date.as_ref()),
        "payment_reference": invoice.payment_reference,
        "status": status_name(invoice.status),
    })
}

pub fn print_invoices(invoices: &[bookkeeping::Invoice]) {
    println!(
        "{:<9} {:<14} {:<28} {:>12} {:>12}  {:<10} status",
        "kind", "number", "counterparty", "amount", "open", "due"
    );
    for invoice in invoices {
        println!(
            "{:<9} {:<14} {:<28} {:>12} {:>12}  {:<10} {}",
            kind_name(invoice.kind),
            invoice.number,
            truncate(&invoice.counterparty_name, 28),
            money_text(invoice.amount.as_ref()),
            money_text(invoice.open_amount.as_ref()),
            date_to_string(invoice.due_date.as_ref()),
            status_name(invoice.status)
        );
    }
}

pub fn outcome_name(outcome: i32) -> &'static str {
    match bookkeeping::MatchOutcome::try_from(outcome) {
        Ok(bookkeeping::MatchOutcome::Exact) => "exact",
        Ok(bookkeeping::MatchOutcome::Partial) => "partial",
        Ok(bookkeeping::MatchOutcome::Overpaid) => "overpaid",
        Ok(bookkeeping::MatchOutcome::PossibleDoublePayment) => "possible_double_payment",
        Ok(bookkeeping::MatchOutcome::Suggested) => "suggested",
        Ok(bookkeeping::MatchOutcome::Unmatched) => "unmatched",
        Ok(bookkeeping::MatchOutcome::OwnTransfer) => "own_transfer",
        _ => "unknown",
    }
}

fn score_json(score: Option<&bookkeeping::Score>) -> Value {
    match score {
        Some(score) => {
            json!({"reference": score.reference, "amount": score.amount, "counterparty": score.counterparty, "total": score.total})
        }
        None => Value::Null,
    }
}

pub fn match_json(decision: &bookkeeping::Match) -> Value {
    let reasons = decision.reasons.clone().unwrap_or_default();
    json!({
        "id": decision.id,
        "mutation_id": decision.mutation_id,
        "booking_date": date_to_string(decision.booking_date.as_ref()),
        "amount": money_value(decision.amount.as_ref()),
        "counterparty_iban": decision.counterparty_iban,
        "counterparty_name": decision.counterparty_name,
        "remittance": decision.remittance,
        "outcome": outcome_name(decision.outcome),
        "booked": decision.booked,
        "allocations": decision.allocations.iter().map(|allocation| json!({
            "invoice_id": allocation.invoice_id,
            "invoice_number": allocation.invoice_number,
            "amount": money_value(allocation.amount.as_ref()),
            "open_before": money_value(allocation.open_before.as_ref()),
            "open_after": money_value(allocation.open_after.as_ref()),
        })).collect::<Vec<_>>(),
        "suggestions": decision.suggestions.iter().map(|suggestion| json!({
            "invoice_id": suggestion.invoice_id,
            "invoice_number": suggestion.invoice_number,
            "score": score_json(suggestion.score.as_ref()),
        })).collect::<Vec<_>>(),
        "reasons": {
            "summary": reasons.summary,
            "matched_tokens": reasons.matched_tokens.iter().map(|token| json!({
                "field": token.field, "token": token.token, "invoice_number": token.invoice_number,
            })).collect::<Vec<_>>(),
            "amount_check": reasons.amount_check,
            "surplus": money_value(reasons.surplus.as_ref()),
            "score": score_json(reasons.score.as_ref()),
            "runner_up": reasons.runner_up.as_ref().map(|runner_up| json!({
                "invoice_number": runner_up.invoice_number,
                "score": score_json(runner_up.score.as_ref()),
            })),
        },
        "history": decision.history.iter().map(|step| json!({
            "action": step.action,
            "actor": step.actor,
            "invoice_id": step.invoice_id,
            "invoice_ids": step.invoice_ids,
            "invoice_numbers": step.invoice_numbers,
            "time": crate::bank_link::amsterdam(step.time.as_ref()),
        })).collect::<Vec<_>>(),
        "journal_entry_id": decision.journal_entry_id,
    })
}

/// Prints one line per decision; `with_ids` adds each decision's id, which `dk matches undo`
/// and `confirm` take.
pub fn print_matches(matches: &[bookkeeping::Match], with_ids: bool) {
    if with_ids {
        print!("{:<36} ", "id");
    }
    println!(
        "{:<10} {:>12}  {:<26} {:<24} invoices / reason",
        "date", "amount", "counterparty", "outcome"
    );
    for decision in matches {
        let invoices: Vec<String> = decision
            .allocations
            .iter()
            .map(|allocation| {
                format!(
                    "{} ({})",
                    allocation.invoice_number,
                    money_text(allocation.amount.as_ref())
                )
            })
            .chain(
                decision
                    .suggestions
                    .iter()
                    .map(|suggestion| format!("suggest {}", suggestion.invoice_number)),
            )
            .collect();
        let detail = if invoices.is_empty() {
            decision
                .reasons
                .as_ref()
                .map(|reasons| reasons.summary.clone())
                .unwrap_or_default()
        } else {
            invoices.join(", ")
        };
        if with_ids {
            print!("{:<36} ", decision.id);
        }
        println!(
            "{:<10} {:>12}  {:<26} {:<24} {}",
            date_to_string(decision.booking_date.as_ref()),
            money_text(decision.amount.as_ref()),
            truncate(&decision.counterparty_name, 26),
            outcome_name(decision.outcome),
            detail
        );
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Parses an amount given on the command line, accepting a decimal point only.
/// Parses `--line "DESCRIPTION;QUANTITY;UNIT PRICE;VAT[;ACCOUNT]"`.
/// Returns the command-line option behind a server error about `lines[N]`, given the options
/// in the order the request lists their lines.
pub fn option_of_line(message: &str, options: &[String]) -> Option<String> {
    let index: usize = message
        .strip_prefix("lines[")?
        .split(']')
        .next()?
        .parse()
        .ok()?;
    options.get(index).cloned()
}

/// Writes an invoice line back as the `--line` option of `dk invoice create`.
pub fn invoice_line_option(line: &bookkeeping::InvoiceLine) -> String {
    let vat = match bookkeeping::VatCode::try_from(line.vat_code) {
        Ok(bookkeeping::VatCode::High) => "high",
        Ok(bookkeeping::VatCode::Low) => "low",
        Ok(bookkeeping::VatCode::Zero) => "zero",
        Ok(bookkeeping::VatCode::ReverseCharge) => "reverse-charge",
        _ => "unspecified",
    };
    let price = line
        .unit_price
        .as_ref()
        .map(|money| money.amount.as_str())
        .unwrap_or_default();
    let mut text = format!("{};{};{price};{vat}", line.description, line.quantity);
    if !line.account_number.is_empty() {
        text.push(';');
        text.push_str(&line.account_number);
    }
    format!("--line {text:?}")
}

pub fn parse_invoice_line(text: &str) -> Result<bookkeeping::InvoiceLine, String> {
    let parts: Vec<&str> = text.split(';').map(str::trim).collect();
    let [description, quantity, price, vat, rest @ ..] = parts.as_slice() else {
        return Err(format!(
            "{text:?}: expected DESCRIPTION;QUANTITY;UNIT PRICE;VAT[;ACCOUNT], for example \"Training;2;450.00;high\""
        ));
    };
    if rest.len() > 1 {
        return Err(format!(
            "{text:?} has {} fields: expected 4 or 5 (DESCRIPTION;QUANTITY;UNIT PRICE;VAT[;ACCOUNT])",
            parts.len()
        ));
    }
    let vat_code = match vat.to_ascii_lowercase().as_str() {
        "high" | "21" => bookkeeping::VatCode::High,
        "low" | "9" => bookkeeping::VatCode::Low,
        "zero" | "0" => bookkeeping::VatCode::Zero,
        "reverse-charge" | "reverse_charge" | "verlegd" => bookkeeping::VatCode::ReverseCharge,
        other => {
            return Err(format!(
                "VAT {other:?} in {text:?}: expected high (21 %), low (9 %), zero or reverse-charge"
            ));
        }
    };
    let unit_price =
        parse_amount(price).map_err(|error| format!("unit price in {text:?}: {error}"))?;
    Ok(bookkeeping::InvoiceLine {
        description: (*description).to_owned(),
        quantity: (*quantity).to_owned(),
        unit_price: Some(common::Money {
            amount: unit_price,
            currency_code: "EUR".into(),
        }),
        vat_code: vat_code as i32,
        account_number: rest
            .first()
            .map(|account| (*account).to_owned())
            .unwrap_or_default(),
        amount: None,
    })
}

pub fn parse_amount(text: &str) -> anyhow::Result<String> {
    let money = Money::parse(text, Currency::EUR)?;
    Ok(money.amount().to_string())
}

/// Sort key of a wire date.
pub fn date_key(date: Option<&common::Date>) -> (i32, i32, i32) {
    date.map(|date| (date.year, date.month, date.day))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: [(&str, &str); 3] = [
        ("vat_id", "--vat-id"),
        ("users", "--users"),
        ("change.add_modules", "--add-modules"),
    ];

    #[test]
    fn status_error_names_the_option() {
        let status = Status::invalid_argument("vat_id: invalid VAT id \"BE123\" for country BE");
        let message = status_error_naming(&OPTIONS)(status).to_string();
        assert_eq!(
            message,
            "InvalidArgument: --vat-id: invalid VAT id \"BE123\" for country BE"
        );
    }

    #[test]
    fn status_error_names_only_known_fields() {
        for (text, expected) in [
            ("users: at least 1 expected", "--users: at least 1 expected"),
            (
                "change.add_modules: unknown module code \"x\"",
                "--add-modules: unknown module code \"x\"",
            ),
            (
                "change.remove_modules: not on",
                "change.remove_modules: not on",
            ),
            ("vat_identity: unknown", "vat_identity: unknown"),
            ("number: empty", "number: empty"),
            ("no field named", "no field named"),
        ] {
            let message = status_error_naming(&OPTIONS)(Status::invalid_argument(text));
            assert_eq!(message.to_string(), format!("InvalidArgument: {expected}"));
        }
    }

    #[test]
    fn invoice_line_error_names_its_option() {
        let options: Vec<String> = ["Training;2;450.00;high", "Licentie; 1 ;99.5;zero;8010"]
            .iter()
            .map(|text| invoice_line_option(&parse_invoice_line(text).expect("line")))
            .collect();
        assert_eq!(options[0], r#"--line "Training;2;450.00;high""#);
        assert_eq!(options[1], r#"--line "Licentie;1;99.5;zero;8010""#);
        let message = "lines[1].account_number: account 8010 does not exist";
        assert_eq!(
            option_of_line(message, &options).as_deref(),
            Some(options[1].as_str())
        );
        assert_eq!(option_of_line("lines[2].quantity: invalid", &options), None);
        assert_eq!(option_of_line("number: empty", &options), None);
    }
}
