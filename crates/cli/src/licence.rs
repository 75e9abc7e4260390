//! `dk licence`: starts a trial, accepts a quote, shows and changes the licence of the caller's
//! organisation, and sets the billing details that its invoices show.

use clap::{Args, Subcommand};
use dk_proto::billing::v1 as billing;
use dk_proto::common::v1 as common;
use dk_proto::convert::date_to_string;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{self, idempotency_key, status_error};
use crate::quote::{QuoteLanguage, amount, money_text, quote_line_json};
use crate::table::{Align, print_table};

#[derive(Subcommand)]
pub enum LicenceCommand {
    /// Start a free trial licence with the given modules, add-ons, users and bank link.
    Trial(TrialArgs),
    /// Accept a quote: create the paid licence, or convert the trial licence to paid.
    ///
    /// The address flags may be left out when the organisation has billing details already.
    /// When one is given, --name, --street, --postal-code and --city are all required.
    Accept(AcceptArgs),
    /// Show the licence: state, entitlements, scheduled change, pending charges and monthly price.
    Show(ShowArgs),
    /// Add or remove modules, add-ons, users or the bank link; with --preview, only price the
    /// change.
    Change(ChangeArgs),
    /// Set the name and address that the organisation's invoices are addressed to.
    Details(DetailsArgs),
}

#[derive(Args)]
pub struct TrialArgs {
    /// Module codes, comma-separated: crm, projecten-uren, boekhouding, handel, personeelsmanagement, facturatie.
    #[arg(long, value_delimiter = ',')]
    modules: Vec<String>,
    /// Add-on codes, comma-separated: documentbeheer, voorraadbeheer.
    #[arg(long, value_delimiter = ',')]
    addons: Vec<String>,
    /// Total number of users, the one included user counted.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    users: i32,
    /// Include the automatic bank link (needs boekhouding or facturatie).
    #[arg(long)]
    bank_link: bool,
    /// Language of the licence's descriptions, explanations and invoices.
    #[arg(long, value_enum, default_value = "nl")]
    language: QuoteLanguage,
    #[command(flatten)]
    target: TargetArgs,
}

/// Name and address on the invoices.
#[derive(Args)]
pub struct AddressArgs {
    /// Legal name of the customer.
    #[arg(long)]
    name: String,
    /// Street and house number.
    #[arg(long)]
    street: String,
    /// Postal code, for example 1012 AB.
    #[arg(long)]
    postal_code: String,
    /// City or town.
    #[arg(long)]
    city: String,
    /// Country as an ISO 3166 alpha-2 code; without it, the country of the accepted quote.
    #[arg(long)]
    country: Option<String>,
}

impl AddressArgs {
    fn to_proto(&self) -> billing::BillingDetails {
        billing::BillingDetails {
            name: self.name.clone(),
            street: self.street.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            country_code: self.country.clone().unwrap_or_default(),
            vat_id: String::new(),
        }
    }
}

#[derive(Args)]
pub struct AcceptArgs {
    /// Id of the quote to accept, as printed by `dk quote`.
    #[arg(value_parser = crate::parse_id)]
    quote_id: uuid::Uuid,
    /// Legal name of the customer on the invoices.
    #[arg(long, requires_all = ["street", "postal_code", "city"])]
    name: Option<String>,
    /// Street and house number.
    #[arg(long, requires_all = ["name", "postal_code", "city"])]
    street: Option<String>,
    /// Postal code, for example 1012 AB.
    #[arg(long, requires_all = ["name", "street", "city"])]
    postal_code: Option<String>,
    /// City or town.
    #[arg(long, requires_all = ["name", "street", "postal_code"])]
    city: Option<String>,
    /// Country as an ISO 3166 alpha-2 code; without it, the country of the quote.
    #[arg(long, requires = "name")]
    country: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
}

/// The options of `dk licence accept` behind the fields of its request.
const ACCEPT_OPTIONS: [(&str, &str); 6] = [
    ("quote_id", "QUOTE_ID"),
    ("billing_details.name", "--name"),
    ("billing_details.street", "--street"),
    ("billing_details.postal_code", "--postal-code"),
    ("billing_details.city", "--city"),
    ("billing_details.country_code", "--country"),
];

impl AcceptArgs {
    /// Returns the billing details, or `None` when no address flag was given.
    fn billing_details(&self) -> Option<billing::BillingDetails> {
        let address = AddressArgs {
            name: self.name.clone()?,
            street: self.street.clone()?,
            postal_code: self.postal_code.clone()?,
            city: self.city.clone()?,
            country: self.country.clone(),
        };
        Some(address.to_proto())
    }
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct ChangeArgs {
    /// Module codes to add, comma-separated.
    #[arg(long, value_delimiter = ',')]
    add_modules: Vec<String>,
    /// Module codes to remove at the end of the paid month, comma-separated.
    #[arg(long, value_delimiter = ',')]
    remove_modules: Vec<String>,
    /// Add-on codes to add, comma-separated.
    #[arg(long, value_delimiter = ',')]
    add_addons: Vec<String>,
    /// Add-on codes to remove at the end of the paid month, comma-separated.
    #[arg(long, value_delimiter = ',')]
    remove_addons: Vec<String>,
    /// Users to add, or to remove when negative, for example --users-delta=-2.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    users_delta: i32,
    /// Add the automatic bank link (needs boekhouding or facturatie).
    #[arg(long, conflicts_with = "remove_bank_link")]
    add_bank_link: bool,
    /// Remove the automatic bank link at the end of the paid month.
    #[arg(long)]
    remove_bank_link: bool,
    /// Price the change without making it.
    #[arg(long)]
    preview: bool,
    /// Language of the preview's descriptions and explanations; the licence's language when not
    /// given. A change without --preview always uses the licence's language.
    #[arg(long, value_enum, requires = "preview")]
    language: Option<QuoteLanguage>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct DetailsArgs {
    #[command(flatten)]
    address: AddressArgs,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn run(command: LicenceCommand) -> anyhow::Result<()> {
    match command {
        LicenceCommand::Trial(args) => trial(args).await,
        LicenceCommand::Accept(args) => accept(args).await,
        LicenceCommand::Show(args) => show(args).await,
        LicenceCommand::Change(args) => change(args).await,
        LicenceCommand::Details(args) => details(args).await,
    }
}

async fn trial(args: TrialArgs) -> anyhow::Result<()> {
    let request = billing::StartTrialRequest {
        idempotency_key: idempotency_key(None),
        modules: args.modules,
        addons: args.addons,
        users: args.users,
        bank_link: args.bank_link,
        language: args.language.to_proto() as i32,
    };
    let licence = args
        .target
        .target()
        .billing()
        .await?
        .start_trial(request)
        .await
        // The trial's request has the quote's fields, under the same options.
        .map_err(client::status_error_naming(&crate::quote::QUOTE_OPTIONS))?
        .into_inner()
        .licence
        .unwrap_or_default();
    print_licence_output(&licence, args.target.json);
    Ok(())
}

async fn accept(args: AcceptArgs) -> anyhow::Result<()> {
    let request = billing::AcceptQuoteRequest {
        idempotency_key: idempotency_key(None),
        quote_id: args.quote_id.to_string(),
        billing_details: args.billing_details(),
    };
    let licence = args
        .target
        .target()
        .billing()
        .await?
        .accept_quote(request)
        .await
        .map_err(|status| {
            let custom_pricing = status.message().contains("(SetCustomUserPrice)");
            let error = client::status_error_naming(&ACCEPT_OPTIONS)(status);
            if custom_pricing {
                anyhow::anyhow!(
                    "{error}\n  with the CLI: dk billing price-users {} --customer-organisation \
                     ORGANISATION_ID --unit-price PRICE",
                    args.quote_id
                )
            } else {
                error
            }
        })?
        .into_inner()
        .licence
        .unwrap_or_default();
    print_licence_output(&licence, args.target.json);
    Ok(())
}

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let licence = args
        .target
        .target()
        .billing()
        .await?
        .get_licence(billing::GetLicenceRequest {})
        .await
        .map_err(status_error)?
        .into_inner()
        .licence
        .unwrap_or_default();
    print_licence_output(&licence, args.target.json);
    Ok(())
}

async fn change(args: ChangeArgs) -> anyhow::Result<()> {
    let bank_link = if args.add_bank_link {
        billing::BankLinkChange::Add
    } else if args.remove_bank_link {
        billing::BankLinkChange::Remove
    } else {
        billing::BankLinkChange::Unspecified
    };
    let change = billing::LicenceChange {
        add_modules: args.add_modules,
        remove_modules: args.remove_modules,
        add_addons: args.add_addons,
        remove_addons: args.remove_addons,
        users_delta: args.users_delta,
        bank_link: bank_link as i32,
    };
    let mut client = args.target.target().billing().await?;
    let bank_link_option = if bank_link == billing::BankLinkChange::Remove {
        "--remove-bank-link"
    } else {
        "--add-bank-link"
    };
    let options = [
        ("change.add_modules", "--add-modules"),
        ("change.remove_modules", "--remove-modules"),
        ("change.add_addons", "--add-addons"),
        ("change.remove_addons", "--remove-addons"),
        ("change.users_delta", "--users-delta"),
        ("change.bank_link", bank_link_option),
    ];
    if args.preview {
        let language = args
            .language
            .map_or(billing::Language::Unspecified, QuoteLanguage::to_proto);
        let preview = client
            .preview_licence_change(billing::PreviewLicenceChangeRequest {
                change: Some(change),
                language: language as i32,
            })
            .await
            .map_err(client::status_error_naming(&options))?
            .into_inner()
            .preview
            .unwrap_or_default();
        if args.target.json {
            client::print_json(&json!({
                "applied": false,
                "preview": preview_json(&preview),
                "licence": Value::Null,
            }));
        } else {
            print_preview(&preview);
            println!("preview only: the licence is unchanged");
        }
        return Ok(());
    }

    let response = client
        .change_licence(billing::ChangeLicenceRequest {
            idempotency_key: idempotency_key(None),
            change: Some(change),
        })
        .await
        .map_err(client::status_error_naming(&options))?
        .into_inner();
    let licence = response.licence.unwrap_or_default();
    if args.target.json {
        client::print_json(&json!({
            "applied": true,
            "preview": response.preview.as_ref().map(preview_json),
            "licence": licence_json(&licence),
        }));
    } else {
        match &response.preview {
            Some(preview) => print_preview(preview),
            None => println!("trial licence: the change costs nothing"),
        }
        println!("licence {} changed", licence.licence_id);
        if licence.scheduled_entitlements.is_some() {
            println!(
                "removals take effect on {}; see dk licence show",
                date_to_string(licence.scheduled_date.as_ref())
            );
        }
    }
    Ok(())
}

async fn details(args: DetailsArgs) -> anyhow::Result<()> {
    let details = args
        .target
        .target()
        .billing()
        .await?
        .update_billing_details(billing::UpdateBillingDetailsRequest {
            idempotency_key: idempotency_key(None),
            billing_details: Some(args.address.to_proto()),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .billing_details
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&details_json(&details));
    } else {
        println!("billing details updated");
        print_details(&details);
    }
    Ok(())
}

fn print_licence_output(licence: &billing::Licence, json_output: bool) {
    if json_output {
        client::print_json(&licence_json(licence));
    } else {
        print_licence(licence);
    }
}

// ---- JSON ----

/// Formats a wire date as `YYYY-MM-DD`, or returns `null` when it is absent.
pub(crate) fn date_value(date: Option<&common::Date>) -> Value {
    match date {
        Some(_) => Value::String(date_to_string(date)),
        None => Value::Null,
    }
}

pub(crate) fn language_name(language: i32) -> &'static str {
    match billing::Language::try_from(language) {
        Ok(billing::Language::En) => "en",
        // Billing treats an unspecified language as Dutch.
        _ => "nl",
    }
}

fn state_name(state: i32) -> &'static str {
    match billing::LicenceState::try_from(state) {
        Ok(billing::LicenceState::Trial) => "trial",
        Ok(billing::LicenceState::Active) => "active",
        _ => "unknown",
    }
}

fn change_name(change: i32) -> &'static str {
    match billing::ItemChange::try_from(change) {
        Ok(billing::ItemChange::Added) => "added",
        Ok(billing::ItemChange::Increased) => "increased",
        Ok(billing::ItemChange::Unchanged) => "unchanged",
        Ok(billing::ItemChange::Decreased) => "decreased",
        Ok(billing::ItemChange::Removed) => "removed",
        _ => "unknown",
    }
}

fn entitlements_json(entitlements: &billing::Entitlements) -> Value {
    json!({
        "modules": entitlements.modules,
        "addons": entitlements.addons,
        "users": entitlements.users,
        "bank_link": entitlements.automatic_bank_link,
        "max_linked_ibans": entitlements.max_linked_ibans,
    })
}

pub(crate) fn details_json(details: &billing::BillingDetails) -> Value {
    json!({
        "name": details.name,
        "street": details.street,
        "postal_code": details.postal_code,
        "city": details.city,
        "country_code": details.country_code,
        "vat_id": details.vat_id,
    })
}

/// Builds the `--json` output of a licence, with money as decimal strings and dates as
/// `YYYY-MM-DD`; `scheduled` is `null` when no removal is scheduled.
pub fn licence_json(licence: &billing::Licence) -> Value {
    let scheduled = licence
        .scheduled_entitlements
        .as_ref()
        .map_or(Value::Null, |entitlements| {
            json!({
                "date": date_value(licence.scheduled_date.as_ref()),
                "entitlements": entitlements_json(entitlements),
            })
        });
    json!({
        "licence_id": licence.licence_id,
        "organisation_id": licence.organisation_id,
        "state": state_name(licence.state),
        "language": language_name(licence.language),
        "activated_on": date_value(licence.activated_on.as_ref()),
        "entitlements": entitlements_json(&licence.entitlements.clone().unwrap_or_default()),
        "scheduled": scheduled,
        "pending_charges": licence.pending_charges.iter().map(|charge| json!({
            "code": charge.code,
            "description": charge.description,
            "amount": amount(charge.amount.as_ref()),
            "explanation": charge.explanation,
            "change_date": date_value(charge.change_date.as_ref()),
        })).collect::<Vec<_>>(),
        "monthly_lines": licence.monthly_lines.iter().map(quote_line_json).collect::<Vec<_>>(),
        "billing_details": licence.billing_details.as_ref().map_or(Value::Null, details_json),
    })
}

fn item_total_json(total: Option<&billing::ItemTotal>) -> Value {
    match total {
        Some(total) => json!({"quantity": total.quantity, "amount": amount(total.amount.as_ref())}),
        None => Value::Null,
    }
}

/// Builds the `--json` output of a priced change; a `null` amount means custom pricing.
pub fn preview_json(preview: &billing::LicenceChangePreview) -> Value {
    json!({
        "change_date": date_value(preview.change_date.as_ref()),
        "days_remaining": preview.days_remaining,
        "days_in_month": preview.days_in_month,
        "lines": preview.lines.iter().map(|line| json!({
            "code": line.code,
            "description": line.description,
            "before": item_total_json(line.before.as_ref()),
            "after": item_total_json(line.after.as_ref()),
            "change": change_name(line.change),
            "prorated_amount": amount(line.prorated_amount.as_ref()),
            "explanation": line.explanation,
        })).collect::<Vec<_>>(),
        "prorated_total": amount(preview.prorated_total.as_ref()),
        "monthly_before": amount(preview.monthly_before.as_ref()),
        "monthly_after": amount(preview.monthly_after.as_ref()),
    })
}

// ---- text ----

fn list_text(codes: &[String]) -> String {
    if codes.is_empty() {
        "none".to_owned()
    } else {
        codes.join(", ")
    }
}

fn print_entitlements(entitlements: &billing::Entitlements, indent: &str) {
    println!("{indent}modules    {}", list_text(&entitlements.modules));
    println!("{indent}add-ons    {}", list_text(&entitlements.addons));
    println!("{indent}users      {}", entitlements.users);
    if entitlements.automatic_bank_link {
        println!(
            "{indent}bank link  yes, up to {} linked IBANs",
            entitlements.max_linked_ibans
        );
    } else {
        println!("{indent}bank link  no");
    }
}

pub(crate) fn print_details(details: &billing::BillingDetails) {
    println!("  {}", details.name);
    println!("  {}", details.street);
    println!(
        "  {}  {}  {}",
        details.postal_code, details.city, details.country_code
    );
    if !details.vat_id.is_empty() {
        println!("  VAT id {}", details.vat_id);
    }
}

fn print_licence(licence: &billing::Licence) {
    let state = match billing::LicenceState::try_from(licence.state) {
        Ok(billing::LicenceState::Active) => format!(
            "active since {}",
            date_to_string(licence.activated_on.as_ref())
        ),
        _ => state_name(licence.state).to_owned(),
    };
    println!("licence {} ({state})", licence.licence_id);
    println!("organisation {}", licence.organisation_id);
    println!("entitlements:");
    print_entitlements(&licence.entitlements.clone().unwrap_or_default(), "  ");
    if let Some(scheduled) = &licence.scheduled_entitlements {
        println!(
            "scheduled change from {}:",
            date_to_string(licence.scheduled_date.as_ref())
        );
        print_entitlements(scheduled, "  ");
    }

    if !licence.pending_charges.is_empty() {
        println!("pending charges, on the next monthly invoice:");
        let rows: Vec<Vec<String>> = licence
            .pending_charges
            .iter()
            .map(|charge| {
                vec![
                    date_to_string(charge.change_date.as_ref()),
                    charge.description.clone(),
                    money_text(charge.amount.as_ref()),
                    charge.explanation.clone(),
                ]
            })
            .collect();
        let header = [
            ("date", Align::Left),
            ("description", Align::Left),
            ("amount", Align::Right),
            ("explanation", Align::Left),
        ];
        print_table(&header, &rows, "  ");
    }

    if !licence.monthly_lines.is_empty() {
        println!("monthly price, excluding VAT:");
        let rows: Vec<Vec<String>> = licence
            .monthly_lines
            .iter()
            .map(|line| {
                vec![
                    line.description.clone(),
                    line.quantity.clone(),
                    money_text(line.unit_price.as_ref()),
                    line.amount
                        .as_ref()
                        .map_or_else(|| "custom".to_owned(), |money| money.amount.clone()),
                    line.explanation.clone(),
                ]
            })
            .collect();
        let header = [
            ("description", Align::Left),
            ("quantity", Align::Right),
            ("unit price", Align::Right),
            ("amount", Align::Right),
            ("explanation", Align::Left),
        ];
        print_table(&header, &rows, "  ");
    }

    match &licence.billing_details {
        Some(details) => {
            println!("billing details:");
            print_details(details);
        }
        None => println!("billing details: none; set them with dk licence details"),
    }
}

fn item_total_text(total: Option<&billing::ItemTotal>) -> String {
    match total {
        Some(total) => {
            let price = total
                .amount
                .as_ref()
                .map_or_else(|| "custom".to_owned(), |money| money.amount.clone());
            format!("{} ({price})", total.quantity)
        }
        None => "-".to_owned(),
    }
}

/// Prints each line's quantity and monthly amount before and after the change, the prorated
/// amount with its explanation, then the totals.
fn print_preview(preview: &billing::LicenceChangePreview) {
    println!(
        "change on {}, {} of {} days left in the month",
        date_to_string(preview.change_date.as_ref()),
        preview.days_remaining,
        preview.days_in_month
    );
    let rows: Vec<Vec<String>> = preview
        .lines
        .iter()
        .map(|line| {
            vec![
                line.description.clone(),
                format!(
                    "{} → {}",
                    item_total_text(line.before.as_ref()),
                    item_total_text(line.after.as_ref())
                ),
                change_name(line.change).to_owned(),
                line.prorated_amount
                    .as_ref()
                    .map_or_else(|| "custom".to_owned(), |money| money.amount.clone()),
                line.explanation.clone(),
            ]
        })
        .collect();
    let header = [
        ("description", Align::Left),
        ("before → after", Align::Left),
        ("change", Align::Left),
        ("prorated", Align::Right),
        ("explanation", Align::Left),
    ];
    print_table(&header, &rows, "");
    println!();
    println!(
        "prorated total {}, excluding VAT, on the next monthly invoice",
        money_text(preview.prorated_total.as_ref())
    );
    println!(
        "monthly price {} → {}, excluding VAT",
        money_text(preview.monthly_before.as_ref()),
        money_text(preview.monthly_after.as_ref())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_error_names_the_address_option() {
        let status = tonic::Status::invalid_argument(
            "billing_details.postal_code: missing billing_details.postal_code, but every invoice \
             must show the customer's name, street, postal code and city",
        );
        let message = client::status_error_naming(&ACCEPT_OPTIONS)(status).to_string();
        assert!(
            message.starts_with("InvalidArgument: --postal-code: missing "),
            "{message}"
        );
    }

    fn money(amount: &str) -> Option<common::Money> {
        Some(common::Money {
            amount: amount.into(),
            currency_code: "EUR".into(),
        })
    }

    #[test]
    fn preview_json_shape() {
        let preview = billing::LicenceChangePreview {
            change_date: Some(common::Date {
                year: 2026,
                month: 5,
                day: 14,
            }),
            days_remaining: 18,
            days_in_month: 31,
            lines: vec![billing::ChangeLine {
                code: "gebruikers".into(),
                description: "Extra gebruikers".into(),
                before: Some(billing::ItemTotal {
                    quantity: "2".into(),
                    amount: money("15.00"),
                }),
                after: Some(billing::ItemTotal {
                    quantity: "5".into(),
                    amount: None,
                }),
                change: billing::ItemChange::Increased as i32,
                prorated_amount: None,
                explanation: "maatwerkprijs".into(),
            }],
            prorated_total: money("0.00"),
            monthly_before: money("30.00"),
            monthly_after: money("30.00"),
        };
        let expected = json!({
            "change_date": "2026-05-14",
            "days_remaining": 18,
            "days_in_month": 31,
            "lines": [{
                "code": "gebruikers",
                "description": "Extra gebruikers",
                "before": {"quantity": "2", "amount": "15.00"},
                "after": {"quantity": "5", "amount": null},
                "change": "increased",
                "prorated_amount": null,
                "explanation": "maatwerkprijs",
            }],
            "prorated_total": "0.00",
            "monthly_before": "30.00",
            "monthly_after": "30.00",
        });
        assert_eq!(preview_json(&preview), expected);
    }

    #[test]
    fn licence_json_trial_without_dates() {
        let licence = billing::Licence {
            licence_id: "l-1".into(),
            state: billing::LicenceState::Trial as i32,
            entitlements: Some(billing::Entitlements {
                modules: vec!["crm".into()],
                users: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        let value = licence_json(&licence);
        assert_eq!(value["state"], "trial");
        assert_eq!(value["language"], "nl");
        assert_eq!(value["activated_on"], Value::Null);
        assert_eq!(value["scheduled"], Value::Null);
        assert_eq!(value["billing_details"], Value::Null);
        assert_eq!(value["entitlements"]["modules"], json!(["crm"]));
        assert_eq!(value["entitlements"]["bank_link"], false);
    }
}
