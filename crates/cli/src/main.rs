//! `dk`: the command-line tool of the Digitaal Kantoor back end.
//!
//! Offline: `dk statement parse`. The stack: `dk dev` runs it, `dk demo` runs the main job once.
//! Clients: `dk account`, `dk bank`, `dk invoice`, `dk matches`, `dk quote`, `dk licence`,
//! `dk billing`, `dk support` call a running stack.

mod bank_link;
mod billing;
mod client;
mod demo;
mod ledger;
mod licence;
mod quote;
mod stack;
mod statement;
mod support;
mod table;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use dk_domain::OrganisationId;
use dk_proto::bookkeeping::v1 as bookkeeping;

/// Signing key of development tokens; the services' compiled-in default.
const DEV_TOKEN_SECRET: &str = "dk-development-secret";
/// The organisation that development tokens are for unless `--organisation` names another.
const DEV_ORGANISATION: &str = "0195f0c4-0000-7000-8000-000000000001";
/// The vendor organisation that `dk dev` issues the subscription invoices as (the billing
/// default); its staff make the staff calls of billing.
pub(crate) const DEV_VENDOR: OrganisationId = OrganisationId::from_uuid(uuid::Uuid::from_u128(
    0x0195f0c4_0000_7000_8000_000000000000,
));

#[derive(Parser)]
#[command(
    name = "dk",
    version,
    about = "Digitaal Kantoor back end: bank statements, invoices, matching, licence quotes and support hours"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with statement files offline.
    #[command(subcommand)]
    Statement(StatementCommand),
    /// Run banksync, bookkeeping, billing and support in this process until stopped (Ctrl-C).
    Dev(DevArgs),
    /// Run the main job once: import a shipped ING statement and match it to open invoices.
    Demo(DemoArgs),
    /// Print a bearer token for an organisation, signed with the development key or --token-secret.
    Token(TokenArgs),
    /// Manage bank accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Import bank statement files, and link accounts to their bank automatically.
    #[command(subcommand)]
    Bank(BankCommand),
    /// Manage sales and purchase invoices.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Show how bank mutations were matched to invoices.
    #[command(subcommand)]
    Matches(MatchesCommand),
    /// The chart of accounts and journal entries: list, post, reverse, close periods.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Reports of the ledger: trial balance, VAT return, open items.
    #[command(subcommand)]
    Report(ledger::ReportCommand),
    /// Price a licence: modules, add-ons, users and the bank link, with VAT.
    Quote(quote::QuoteArgs),
    /// Start a trial, accept a quote, and show or change the organisation's licence.
    #[command(subcommand)]
    Licence(licence::LicenceCommand),
    /// List the subscription invoices; staff: run the monthly invoices, credit an invoice, set a
    /// custom user price.
    #[command(subcommand)]
    Billing(billing::BillingCommand),
    /// Ask support's business-hours calendar, and work with support tickets and their billed
    /// time.
    #[command(subcommand)]
    Support(support::SupportCommand),
}

#[derive(Subcommand)]
enum StatementCommand {
    /// Parse a statement file (MT940, CAMT, or a bank CSV or TAB export) and print its contents.
    Parse {
        file: PathBuf,
        /// Format to read the file as, instead of detecting it: mt940, mt942, camt.052, camt.053, camt.054 or csv.
        #[arg(long, value_parser = parse_format)]
        format: Option<dk_statement::Format>,
        /// Bank whose habits the file follows, instead of detecting it: ing, abnamro, rabobank, triodos, sns, asn, knab, bunq, mollie, vanlanschot, moneyou or generic.
        #[arg(long, value_parser = parse_dialect)]
        dialect: Option<dk_statement::Dialect>,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct StackArgs {
    /// PostgreSQL server URL; each service gets its own database there (dk_banksync, dk_bookkeeping, dk_billing, dk_support).
    #[arg(long, env = "DK_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// RabbitMQ URL; without it the services share an in-process bus.
    #[arg(long, env = "DK_AMQP_URL")]
    amqp_url: Option<String>,
    /// Folder of the SQLite files when no PostgreSQL URL is given.
    #[arg(long, env = "DK_DATA_DIR", default_value = ".dk")]
    data_dir: PathBuf,
}

#[derive(Args)]
struct DevArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// Address of the banksync gRPC server.
    #[arg(long, default_value = "127.0.0.1:50061")]
    banksync_listen: SocketAddr,
    /// Address of the bookkeeping gRPC server.
    #[arg(long, default_value = "127.0.0.1:50062")]
    bookkeeping_listen: SocketAddr,
    /// Address of the billing gRPC server.
    #[arg(long, default_value = "127.0.0.1:50063")]
    billing_listen: SocketAddr,
    /// Address of the support gRPC server.
    #[arg(long, default_value = "127.0.0.1:50064")]
    support_listen: SocketAddr,
    /// Also start fake ING, ABN AMRO and Rabobank servers on 127.0.0.1, each with one account,
    /// to try the automatic bank link.
    #[arg(long)]
    fake_banks: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// PostgreSQL server URL; each service gets its own database there (dk_banksync, dk_bookkeeping, dk_billing, dk_support).
    /// Without it the demo uses SQLite files in a temporary folder that it removes afterwards.
    #[arg(long, env = "DK_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// RabbitMQ URL; without it the services share an in-process bus.
    #[arg(long, env = "DK_AMQP_URL")]
    amqp_url: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct TokenArgs {
    /// Organisation the token is for.
    #[arg(long, env = "DK_ORGANISATION", default_value = DEV_ORGANISATION)]
    organisation: OrganisationId,
    /// Key to sign with: the services' auth.token_secret. Without it the token is signed with
    /// the development key, which only services running with the development key accept.
    #[arg(long, env = "DK_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Hours until the token expires.
    #[arg(long, default_value_t = 720, value_parser = clap::value_parser!(u32).range(1..=8760))]
    hours: u32,
}

#[derive(Args, Clone)]
struct TargetArgs {
    /// URL of the banksync service.
    #[arg(
        long,
        env = "DK_BANKSYNC_URL",
        default_value = "http://127.0.0.1:50061",
        global = true
    )]
    banksync_url: String,
    /// URL of the bookkeeping service.
    #[arg(
        long,
        env = "DK_BOOKKEEPING_URL",
        default_value = "http://127.0.0.1:50062",
        global = true
    )]
    bookkeeping_url: String,
    /// URL of the billing service.
    #[arg(
        long,
        env = "DK_BILLING_URL",
        default_value = "http://127.0.0.1:50063",
        global = true
    )]
    billing_url: String,
    /// URL of the support service.
    #[arg(
        long,
        env = "DK_SUPPORT_URL",
        default_value = "http://127.0.0.1:50064",
        global = true
    )]
    support_url: String,
    /// Bearer token; without it, a development token for --organisation is used.
    #[arg(long, env = "DK_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Organisation of the development token; not used when --token is given.
    #[arg(long, env = "DK_ORGANISATION", default_value = DEV_ORGANISATION, global = true)]
    organisation: OrganisationId,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Register a bank account by IBAN.
    Add {
        iban: String,
        /// Name shown for the account.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Subcommand)]
enum BankCommand {
    /// Import a statement file (MT940, MT942, CAMT or a bank CSV/TAB export).
    Import {
        file: PathBuf,
        /// Format to read the file as, instead of detecting it: mt940, mt942, camt.052, camt.053, camt.054 or csv.
        #[arg(long, value_parser = parse_format)]
        format: Option<dk_statement::Format>,
        /// Bank whose habits the file follows, instead of detecting it: ing, abnamro, rabobank, triodos, sns, asn, knab, bunq, mollie, vanlanschot, moneyou or generic.
        #[arg(long, value_parser = parse_dialect)]
        dialect: Option<dk_statement::Dialect>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Turn the automatic bank link of an account on, or off with --off. The licence must
    /// include the bank link, and it caps the number of linked IBANs.
    Link {
        /// Id of the bank account (see `dk account add`).
        #[arg(long)]
        account: String,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Give or renew the customer's consent at the bank for a linked account.
    #[command(subcommand)]
    Consent(bank_link::ConsentCommand),
    /// Sync a linked account from its bank now, as the scheduler does on its own.
    Sync {
        /// Id of the bank account.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// List the linked accounts with their consent, last sync and notices.
    Links {
        /// Language of the notices: nl or en.
        #[arg(long, default_value = "nl")]
        language: String,
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Sales,
    Purchase,
}

#[derive(Subcommand)]
enum InvoiceCommand {
    /// Create a sales or purchase invoice with its full amount open, and book it.
    ///
    /// Give the lines with --line; the total and VAT follow from them. An invoice given with
    /// --amount alone is booked against the suspense account (1900) until a memorial entry
    /// divides it over revenue or costs and VAT.
    #[command(group(clap::ArgGroup::new("total").args(["amount", "line"]).multiple(true).required(true)))]
    Create {
        #[arg(long, value_enum)]
        kind: Kind,
        /// Invoice number, for example 2026-0012.
        #[arg(long)]
        number: String,
        /// Name of the customer or supplier.
        #[arg(long)]
        counterparty: String,
        /// IBAN of the customer or supplier, used to suggest matches for payments without a number.
        #[arg(long)]
        counterparty_iban: Option<String>,
        /// Total including VAT in euros, with a decimal point, for example 1210.00; with --line
        /// it must equal the lines' total.
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
        /// An invoice line, "DESCRIPTION;QUANTITY;UNIT PRICE;VAT[;ACCOUNT]" with VAT one of
        /// high (21 %), low (9 %), zero or reverse-charge, for example "Training;2;450.00;high".
        /// Repeat for more lines.
        #[arg(long, value_parser = client::parse_invoice_line)]
        line: Vec<dk_proto::bookkeeping::v1::InvoiceLine>,
        /// Country of the customer or supplier (ISO code such as BE); NL when not given.
        #[arg(long)]
        country: Option<String>,
        /// Issue date, YYYY-MM-DD; today when not given.
        #[arg(long, value_parser = parse_date)]
        issue_date: Option<chrono::NaiveDate>,
        /// Due date, YYYY-MM-DD; 30 days after the issue date when not given.
        #[arg(long, value_parser = parse_date)]
        due: Option<chrono::NaiveDate>,
        /// Structured payment reference printed on the invoice (betalingskenmerk or RF reference).
        #[arg(long)]
        payment_reference: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// List invoices with their open amounts.
    List {
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Subcommand)]
enum MatchesCommand {
    /// List the decision on every received bank mutation.
    List {
        /// Only mutations that paid no invoice.
        #[arg(long)]
        unmatched: bool,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Show one decision with its score breakdown and history.
    Show {
        /// Id of the decision, as `dk matches list` prints it.
        #[arg(value_name = "MATCH_ID", value_parser = parse_id_text)]
        id: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Book a mutation that paid nothing on a suggested invoice, or on other open invoices of
    /// the kind it pays.
    Confirm {
        /// Id of the decision.
        #[arg(value_name = "MATCH_ID", value_parser = parse_id_text)]
        id: String,
        /// An invoice to pay, by number (2026-0016) or id; repeat to pay several in this order.
        #[arg(long, required = true)]
        invoice: Vec<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Drop a suggested invoice from a decision.
    Reject {
        /// Id of the decision.
        #[arg(value_name = "MATCH_ID", value_parser = parse_id_text)]
        id: String,
        /// The suggested invoice, by number or id.
        #[arg(long)]
        invoice: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Undo a booked decision: reverse its journal entry and reopen its invoices, which become
    /// suggestions.
    Undo {
        /// Id of the decision.
        #[arg(value_name = "MATCH_ID", value_parser = parse_id_text)]
        id: String,
        #[command(flatten)]
        target: TargetArgs,
    },
}

fn parse_dialect(text: &str) -> Result<dk_statement::Dialect, String> {
    text.parse()
        .map_err(|error: dk_statement::UnknownDialect| error.to_string())
}

fn parse_format(text: &str) -> Result<dk_statement::Format, String> {
    text.parse::<dk_statement::Format>().map_err(|_| {
        format!(
            "unknown format {text:?}: expected mt940, mt942, camt.052, camt.053, camt.054 or csv"
        )
    })
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    dk_domain::parse_date(text).map_err(|error| error.to_string())
}

/// Parses an id given on the command line: of a quote, invoice, ticket or decision.
///
/// clap puts the rejected value and the argument in front of the message.
fn parse_id(text: &str) -> Result<uuid::Uuid, String> {
    text.trim()
        .parse::<uuid::Uuid>()
        .map_err(|_| "expected a UUID such as 0195f0c4-0000-7000-8000-000000000001".to_owned())
}

/// Checks an id given as text and returns it in the usual lower-case form.
fn parse_id_text(text: &str) -> Result<String, String> {
    parse_id(text).map(|id| id.to_string())
}

impl TargetArgs {
    fn target(&self) -> client::Target {
        let token = self
            .token
            .clone()
            .unwrap_or_else(|| dev_token(self.organisation));
        client::Target {
            banksync_url: self.banksync_url.clone(),
            bookkeeping_url: self.bookkeeping_url.clone(),
            billing_url: self.billing_url.clone(),
            support_url: self.support_url.clone(),
            token,
        }
    }

    /// Returns the target of a staff call: the given --token, or else a development staff token
    /// of the vendor organisation with `role`. --organisation is not used.
    fn staff_target(&self, role: dk_runtime::auth::Role) -> client::Target {
        let mut target = self.target();
        if self.token.is_none() {
            target.token = staff_token(role);
        }
        target
    }
}

fn dev_token(organisation: OrganisationId) -> String {
    dk_runtime::auth::TokenKeys::new(DEV_TOKEN_SECRET).issue(
        "dk-cli",
        organisation,
        chrono::Duration::days(30),
    )
}

/// Issues a development staff token of the vendor organisation `DEV_VENDOR` with one role.
fn staff_token(role: dk_runtime::auth::Role) -> String {
    dk_runtime::auth::TokenKeys::new(DEV_TOKEN_SECRET).issue_with_roles(
        "dk-cli",
        DEV_VENDOR,
        &[role],
        chrono::Duration::days(30),
    )
}

fn stack_options(
    args: StackArgs,
    banksync_listen: SocketAddr,
    bookkeeping_listen: SocketAddr,
    billing_listen: SocketAddr,
    support_listen: SocketAddr,
) -> stack::StackOptions {
    stack::StackOptions {
        data_dir: args.data_dir,
        postgres_url: args.postgres_url,
        amqp_url: args.amqp_url,
        banksync_listen,
        bookkeeping_listen,
        billing_listen,
        support_listen,
        token_secret: DEV_TOKEN_SECRET.into(),
        name_prefix: String::new(),
        temporary_topology: false,
        fake_banks: false,
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return argument_error(error, std::env::args()),
    };
    let json = wants_json(&matches);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = dk_runtime::main_loop::error_chain(&error);
            if json {
                eprintln!("{}", serde_json::json!({ "error": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Reports a command line that clap rejected. With `--json` among the arguments the error is
/// printed as `{"error": "…"}` like any other failure. Help and version are printed as usual.
fn argument_error(error: clap::Error, args: impl Iterator<Item = String>) -> ExitCode {
    use clap::error::ErrorKind;

    let shown_as_text = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if shown_as_text || !json_requested(args) {
        error.exit();
    }
    // The pointer to --help is for a person reading a terminal, not for a program.
    let rendered = error.render().to_string();
    let message = rendered
        .lines()
        .filter(|line| !line.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join("\n");
    let message = message.trim();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    eprintln!("{}", serde_json::json!({ "error": message }));
    // clap's own exit code for a wrong command line.
    ExitCode::from(2)
}

/// Returns whether `--json` is among the options, before any `--` that ends them.
fn json_requested(args: impl Iterator<Item = String>) -> bool {
    args.skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json")
}

/// Returns whether a command on the command line has `--json` set, so that a failure is
/// reported as JSON too.
fn wants_json(matches: &clap::ArgMatches) -> bool {
    let this_command = matches
        .try_get_one::<bool>("json")
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false);
    this_command
        || matches
            .subcommand()
            .is_some_and(|(_, subcommand)| wants_json(subcommand))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Statement(StatementCommand::Parse {
            file,
            format,
            dialect,
            json,
        }) => statement::parse(&file, dk_statement::Overrides { format, dialect }, json),
        Command::Dev(args) => run_dev(args).await,
        Command::Demo(args) => {
            init_logs("warn,sqlx=warn");
            // A fresh folder per run, so that the demo always starts from an empty ledger.
            let data_dir =
                std::env::temp_dir().join(format!("dk-demo-{}", uuid::Uuid::new_v4().simple()));
            let uses_sqlite = args.postgres_url.is_none();
            let stack = StackArgs {
                postgres_url: args.postgres_url,
                amqp_url: args.amqp_url,
                data_dir: data_dir.clone(),
            };
            let any_port = ([127, 0, 0, 1], 0).into();
            let mut options = stack_options(stack, any_port, any_port, any_port, any_port);
            // Its own exchanges and queues, so that a running stack on the same broker neither
            // takes the demo's events nor gets them.
            options.name_prefix =
                format!("demo-{}.", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            options.temporary_topology = true;
            let result = demo::run(options).await;
            if uses_sqlite
                && data_dir.exists()
                && let Err(error) = std::fs::remove_dir_all(&data_dir)
            {
                tracing::warn!(%error, folder = %data_dir.display(), "failed to remove the demo's data folder");
            }
            result?.print(args.json);
            Ok(())
        }
        Command::Token(args) => {
            let secret = args.token_secret.as_deref().unwrap_or(DEV_TOKEN_SECRET);
            anyhow::ensure!(
                secret.len() >= dk_config::MIN_TOKEN_SECRET_BYTES,
                "--token-secret is {} bytes long; the services accept keys of at least {} bytes",
                secret.len(),
                dk_config::MIN_TOKEN_SECRET_BYTES
            );
            let token = dk_runtime::auth::TokenKeys::new(secret).issue(
                "dk-cli",
                args.organisation,
                chrono::Duration::hours(i64::from(args.hours)),
            );
            println!("{token}");
            Ok(())
        }
        Command::Account(AccountCommand::Add { iban, name, target }) => {
            client::add_account(&target.target(), &iban, name, target.json).await
        }
        Command::Bank(BankCommand::Import {
            file,
            format,
            dialect,
            target,
        }) => {
            let format = format_to_proto(format);
            let dialect = dialect.map(|dialect| dialect.as_str().to_owned());
            client::import(&target.target(), &file, format, dialect, target.json).await
        }
        Command::Bank(BankCommand::Link {
            account,
            off,
            target,
        }) => bank_link::link(account, off, target).await,
        Command::Bank(BankCommand::Consent(command)) => bank_link::consent(command).await,
        Command::Bank(BankCommand::Sync { account, target }) => {
            bank_link::sync(account, target).await
        }
        Command::Bank(BankCommand::Links { language, target }) => {
            bank_link::list(language, target).await
        }
        Command::Invoice(command) => run_invoice(command).await,
        Command::Ledger(command) => ledger::run_ledger(command).await,
        Command::Report(command) => ledger::run_report(command).await,
        Command::Matches(command) => ledger::run_matches(command).await,
        Command::Quote(args) => quote::run(args).await,
        Command::Licence(command) => licence::run(command).await,
        Command::Billing(command) => billing::run(command).await,
        Command::Support(command) => support::run(command).await,
    }
}

async fn run_invoice(command: InvoiceCommand) -> anyhow::Result<()> {
    match command {
        InvoiceCommand::Create {
            kind,
            number,
            counterparty,
            counterparty_iban,
            amount,
            line,
            country,
            issue_date,
            due,
            payment_reference,
            target,
        } => {
            let amount = amount.as_deref().map(client::parse_amount).transpose()?;
            let options: Vec<String> = line.iter().map(client::invoice_line_option).collect();
            let mut bookkeeping = target.target().bookkeeping().await?;
            let invoice = client::create_invoice(
                &mut bookkeeping,
                client::NewInvoice {
                    kind: match kind {
                        Kind::Sales => bookkeeping::InvoiceKind::Sales,
                        Kind::Purchase => bookkeeping::InvoiceKind::Purchase,
                    },
                    number,
                    counterparty,
                    counterparty_iban,
                    amount,
                    lines: line,
                    country,
                    issue_date,
                    due_date: due,
                    payment_reference,
                },
            )
            .await
            .map_err(|status| {
                match client::option_of_line(status.message(), &options) {
                    Some(option) => client::status_error(status).context(option),
                    None => client::status_error(status),
                }
            })?;
            if target.json {
                client::print_json(&client::invoice_json(&invoice));
            } else {
                println!("created invoice {} ({})", invoice.number, invoice.id);
            }
            Ok(())
        }
        InvoiceCommand::List { target } => {
            let mut bookkeeping = target.target().bookkeeping().await?;
            let invoices = client::list_invoices(&mut bookkeeping).await?;
            if target.json {
                client::print_json(&serde_json::Value::Array(
                    invoices.iter().map(client::invoice_json).collect(),
                ));
            } else {
                client::print_invoices(&invoices);
            }
            Ok(())
        }
    }
}

async fn run_dev(args: DevArgs) -> anyhow::Result<()> {
    init_logs("info,sqlx=warn");
    let mut options = stack_options(
        args.stack,
        args.banksync_listen,
        args.bookkeeping_listen,
        args.billing_listen,
        args.support_listen,
    );
    options.fake_banks = args.fake_banks;
    let mode = match (&options.postgres_url, &options.amqp_url) {
        (None, None) => format!(
            "embedded: SQLite in {}, in-process bus",
            options.data_dir.display()
        ),
        (Some(_), None) => "PostgreSQL, in-process bus".into(),
        (None, Some(_)) => format!("SQLite in {}, RabbitMQ", options.data_dir.display()),
        (Some(_), Some(_)) => "PostgreSQL and RabbitMQ".into(),
    };
    let stack = stack::start(&options).await?;
    let organisation: OrganisationId = DEV_ORGANISATION.parse()?;
    println!("dk dev is running ({mode})");
    println!("  banksync     http://{}", stack.banksync);
    println!("  bookkeeping  http://{}", stack.bookkeeping);
    println!("  billing      http://{}", stack.billing);
    println!("  support      http://{}", stack.support);
    for (fake, iban) in &stack.fake_banks {
        println!(
            "  fake {:<8} {} (account {iban})",
            fake.bank().display_name(),
            fake.settings().api_url
        );
    }
    println!("  organisation {organisation}");
    println!("  token        {}", dev_token(organisation));
    let addresses = [
        ("DK_BANKSYNC_URL", stack.banksync, "127.0.0.1:50061"),
        ("DK_BOOKKEEPING_URL", stack.bookkeeping, "127.0.0.1:50062"),
        ("DK_BILLING_URL", stack.billing, "127.0.0.1:50063"),
        ("DK_SUPPORT_URL", stack.support, "127.0.0.1:50064"),
    ];
    let moved: Vec<String> = addresses
        .iter()
        .filter(|(_, address, default)| address.to_string() != *default)
        .map(|(variable, address, _)| format!("export {variable}=http://{address}"))
        .collect();
    if moved.is_empty() {
        println!("Client commands use these by default. Stop with Ctrl-C.");
    } else {
        println!("Client commands use the default ports; point them at this stack with:");
        for line in moved {
            println!("  {line}");
        }
        println!("Stop with Ctrl-C.");
    }
    dk_runtime::server::termination_signal().await;
    println!("stopping");
    stack.stop().await;
    Ok(())
}

fn format_to_proto(format: Option<dk_statement::Format>) -> i32 {
    use dk_proto::banksync::v1::StatementFormat;
    let format = match format {
        None => StatementFormat::Unspecified,
        Some(dk_statement::Format::Mt940) => StatementFormat::Mt940,
        Some(dk_statement::Format::Mt942) => StatementFormat::Mt942,
        Some(dk_statement::Format::Camt052) => StatementFormat::Camt052,
        Some(dk_statement::Format::Camt053) => StatementFormat::Camt053,
        Some(dk_statement::Format::Camt054) => StatementFormat::Camt054,
        Some(dk_statement::Format::Csv) => StatementFormat::Csv,
    };
    format as i32
}

/// Lets `dk … | head` end quietly. Rust ignores SIGPIPE, so a write to a closed pipe would
/// otherwise make `println!` panic.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn init_logs(default_filter: &str) {
    let settings = dk_config::TelemetrySettings {
        filter: std::env::var("RUST_LOG").unwrap_or_else(|_| default_filter.to_owned()),
        format: dk_config::LogFormat::Text,
        otlp_endpoint: None,
    };
    if let Ok(guard) = dk_telemetry::init("dk", &settings) {
        // Nothing is exported without an endpoint, so there is nothing to flush at exit.
        std::mem::forget(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("dk").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_flag_found_in_subcommands() {
        let matches = |args: &[&str]| {
            Cli::command()
                .try_get_matches_from(std::iter::once("dk").chain(args.iter().copied()))
                .expect("valid command line")
        };
        assert!(wants_json(&matches(&["matches", "list", "--json"])));
        assert!(wants_json(&matches(&[
            "statement",
            "parse",
            "a.sta",
            "--json"
        ])));
        assert!(!wants_json(&matches(&["matches", "list"])));
        assert!(!wants_json(&matches(&["dev"])));
    }

    #[test]
    fn json_requested_before_double_dash_only() {
        let args = |line: &str| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(json_requested(args("dk matches show xyz --json")));
        assert!(!json_requested(args("dk matches show xyz")));
        assert!(!json_requested(args("dk statement parse -- --json")));
        // The program name is never an option.
        assert!(!json_requested(args("--json matches")));
    }

    #[test]
    fn parse_id_names_invalid_value() {
        assert!(parse_id("0195f0c4-0000-7000-8000-000000000001").is_ok());
        let error = Cli::try_parse_from(["dk", "matches", "undo", "quote-7"])
            .err()
            .expect("an id that is no UUID")
            .to_string();
        assert!(error.contains("'quote-7'"), "{error}");
        assert!(error.contains("<MATCH_ID>"), "{error}");
        assert!(error.contains("expected a UUID"), "{error}");
    }

    #[test]
    fn licence_change_negative_users_delta() {
        for args in [
            ["licence", "change", "--users-delta=-2"].as_slice(),
            ["licence", "change", "--users-delta", "-2"].as_slice(),
        ] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn licence_change_bank_link_conflict() {
        let result = parse(&["licence", "change", "--add-bank-link", "--remove-bank-link"]);
        assert!(result.is_err());
    }

    #[test]
    fn licence_change_language_needs_preview() {
        assert!(
            parse(&[
                "licence",
                "change",
                "--users-delta",
                "1",
                "--language",
                "en"
            ])
            .is_err()
        );
        let preview = [
            "licence",
            "change",
            "--users-delta",
            "1",
            "--preview",
            "--language",
            "en",
        ];
        assert!(parse(&preview).is_ok());
    }

    #[test]
    fn licence_accept_address_optional() {
        let id = "0195f0c4-0000-7000-8000-000000000009";
        assert!(parse(&["licence", "accept", id]).is_ok());
        let full = [
            "licence",
            "accept",
            id,
            "--name",
            "Bakkerij de Vries",
            "--street",
            "Dorpsstraat 1",
            "--postal-code",
            "1234 AB",
            "--city",
            "Utrecht",
        ];
        assert!(parse(&full).is_ok());
    }

    #[test]
    fn licence_accept_partial_address() {
        let id = "0195f0c4-0000-7000-8000-000000000009";
        let error = parse(&["licence", "accept", id, "--name", "Bakkerij de Vries"])
            .err()
            .expect("a name without an address is rejected");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn billing_credit_lines_list() {
        let id = "0195f0c4-0000-7000-8000-000000000009";
        let Ok(Cli {
            command: Command::Billing(billing::BillingCommand::Credit(_)),
        }) = parse(&[
            "billing", "credit", id, "--reason", "dubbel", "--lines", "1,2",
        ])
        else {
            panic!("billing credit with --lines 1,2 did not parse");
        };
        assert!(
            parse(&[
                "billing", "credit", id, "--reason", "dubbel", "--lines", "0"
            ])
            .is_err()
        );
        assert!(parse(&["billing", "credit", id, "--reason", " "]).is_err());
    }

    #[test]
    fn support_escalate_agreed_at_needs_agreed_by() {
        let base = [
            "support",
            "ticket",
            "escalate",
            "0195f0c4-0000-7000-8000-000000000009",
            "--customer-organisation",
            DEV_ORGANISATION,
            "--line",
            "2",
        ];
        let agreed_at = ["--agreed-at", "2026-04-07T10:00:00+02:00"];
        let agreed_by = ["--agreed-by", "Jan de Vries"];
        assert!(parse(&base).is_ok(), "the server checks the agreement");
        assert!(parse(&[&base[..], &agreed_by[..]].concat()).is_ok());
        assert!(parse(&[&base[..], &agreed_by[..], &agreed_at[..]].concat()).is_ok());
        let error = parse(&[&base[..], &agreed_at[..]].concat())
            .err()
            .expect("--agreed-at without --agreed-by is rejected");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn support_log_minutes_range() {
        let id = "0195f0c4-0000-7000-8000-000000000009";
        let log = |minutes: &str| {
            parse(&[
                "support",
                "log",
                id,
                "--customer-organisation",
                DEV_ORGANISATION,
                "--minutes",
                minutes,
            ])
        };
        assert!(log("1").is_ok());
        assert!(log("1440").is_ok());
        assert!(log("0").is_err());
        assert!(log("1441").is_err());
        assert!(log("-5").is_err());
    }

    #[test]
    fn billing_run_month_format() {
        assert!(parse(&["billing", "run", "--month", "2026-05"]).is_ok());
        assert!(parse(&["billing", "run", "--month", "2026-05-01"]).is_err());
    }
}
