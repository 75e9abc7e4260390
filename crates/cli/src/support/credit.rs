//! `dk support credit`: prepaid support credit. Customers choose the billing mode, buy hour
//! cards and packages and check their balance. Staff renew the packages of a period.
//!
//! Billed support time is taken from the credit lots oldest first. Minutes that the credit does
//! not cover are billed by post-calculation.

use chrono::{Datelike, NaiveDate};
use clap::{Args, Subcommand, ValueEnum};
use dk_domain::OrganisationId;
use dk_proto::common::v1 as common;
use dk_proto::convert::date_to_string;
use dk_proto::support::v1 as support;
use dk_runtime::auth::Role;
use serde_json::{Value, json};

use super::tickets::{customer_or_staff, instant_text};
use crate::TargetArgs;
use crate::client::{self, idempotency_key, status_error};
use crate::licence::date_value;
use crate::quote::amount;
use crate::table::{Align, print_table};

#[derive(Subcommand)]
pub enum CreditCommand {
    /// Choose how the organisation pays for billed support time.
    ///
    /// With prepaid, billed time is taken from the credit, oldest purchase first, and the
    /// minutes the credit does not cover are billed by post-calculation.
    Mode(ModeArgs),
    /// Buy prepaid credit: an hour card, or the first period of a monthly or yearly package.
    ///
    /// Prints the credit lot that the purchase adds and its amount excluding VAT. The purchase
    /// is published for billing, which does not invoice it yet.
    Buy(BuyArgs),
    /// Show the credit balance with its lots and draws, and when the credit runs out at the
    /// rate of use of the last 90 days.
    Balance(BalanceArgs),
    /// Staff, role support_agent: add each active package's lot for one period.
    ///
    /// Monthly packages get the lot of the given month and yearly packages the lot of its year.
    /// Each package gets at most one lot per period, so running it again adds nothing. Without
    /// --token, calls with a development staff token of the vendor organisation.
    Renew(RenewArgs),
}

/// Billing mode of an organisation's billed support time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Take billed time from prepaid credit first.
    Prepaid,
    /// Invoice billed time monthly in arrears at the standard hourly rate.
    PostCalculation,
}

impl ModeArg {
    fn to_proto(self) -> support::BillingMode {
        match self {
            ModeArg::Prepaid => support::BillingMode::Prepaid,
            ModeArg::PostCalculation => support::BillingMode::PostCalculation,
        }
    }
}

/// Credit product to buy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProductArg {
    /// Hour card of 10 hours.
    #[value(name = "card-10")]
    Card10,
    /// Hour card of 20 hours.
    #[value(name = "card-20")]
    Card20,
    /// Hour card of 50 hours.
    #[value(name = "card-50")]
    Card50,
    /// Package that adds hours every month.
    PackageMonthly,
    /// Package that adds hours every year.
    PackageYearly,
}

impl ProductArg {
    fn to_proto(self) -> support::CreditProduct {
        match self {
            ProductArg::Card10 => support::CreditProduct::Card10Hours,
            ProductArg::Card20 => support::CreditProduct::Card20Hours,
            ProductArg::Card50 => support::CreditProduct::Card50Hours,
            ProductArg::PackageMonthly => support::CreditProduct::PackageMonthly,
            ProductArg::PackageYearly => support::CreditProduct::PackageYearly,
        }
    }
}

#[derive(Args)]
pub struct ModeArgs {
    /// Billing mode to use from now on.
    #[arg(value_enum)]
    mode: ModeArg,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct BuyArgs {
    /// Product to buy.
    #[arg(value_enum)]
    product: ProductArg,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct BalanceArgs {
    /// Staff: id of the customer organisation. When given, calls as a support agent.
    #[arg(long)]
    customer_organisation: Option<OrganisationId>,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct RenewArgs {
    /// Month to add the package lots for, YYYY-MM, for example 2026-05. Yearly packages get the
    /// lot of that month's year.
    #[arg(long, value_parser = crate::billing::parse_month)]
    period: NaiveDate,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn run(command: CreditCommand) -> anyhow::Result<()> {
    match command {
        CreditCommand::Mode(args) => set_mode(args).await,
        CreditCommand::Buy(args) => buy(args).await,
        CreditCommand::Balance(args) => balance(args).await,
        CreditCommand::Renew(args) => renew(args).await,
    }
}

async fn set_mode(args: ModeArgs) -> anyhow::Result<()> {
    let response = args
        .target
        .target()
        .support()
        .await?
        .set_billing_mode(support::SetBillingModeRequest {
            idempotency_key: idempotency_key(None),
            mode: args.mode.to_proto() as i32,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&json!({"mode": mode_name(response.mode)}));
    } else {
        println!("billing mode {}", mode_name(response.mode));
    }
    Ok(())
}

async fn buy(args: BuyArgs) -> anyhow::Result<()> {
    let response = args
        .target
        .target()
        .support()
        .await?
        .buy_credit(support::BuyCreditRequest {
            idempotency_key: idempotency_key(None),
            product: args.product.to_proto() as i32,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&purchase_json(&response));
    } else {
        print_purchase(&response);
    }
    Ok(())
}

async fn balance(args: BalanceArgs) -> anyhow::Result<()> {
    let (target, organisation_id) = customer_or_staff(&args.target, args.customer_organisation);
    let response = target
        .support()
        .await?
        .get_credit_balance(support::GetCreditBalanceRequest { organisation_id })
        .await
        .map_err(status_error)?
        .into_inner();
    if args.target.json {
        client::print_json(&balance_json(&response));
    } else {
        print_balance(&response);
    }
    Ok(())
}

async fn renew(args: RenewArgs) -> anyhow::Result<()> {
    let response = args
        .target
        .staff_target(Role::SupportAgent)
        .support()
        .await?
        .renew_packages(support::RenewPackagesRequest {
            idempotency_key: idempotency_key(None),
            period: Some(wire_date(args.period)),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let month = args.period.format("%Y-%m").to_string();
    if args.target.json {
        client::print_json(&renew_json(&month, &response));
    } else {
        print_renew(&month, &response);
    }
    Ok(())
}

fn wire_date(date: NaiveDate) -> common::Date {
    common::Date {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    }
}

// ---- names ----

/// Returns a billing mode in the spelling of the `mode` argument.
fn mode_name(mode: i32) -> &'static str {
    match support::BillingMode::try_from(mode) {
        Ok(support::BillingMode::Prepaid) => "prepaid",
        Ok(support::BillingMode::PostCalculation) => "post-calculation",
        _ => "unknown",
    }
}

/// Returns a credit product in the spelling of the `buy` argument.
fn product_name(product: i32) -> &'static str {
    match support::CreditProduct::try_from(product) {
        Ok(support::CreditProduct::Card10Hours) => "card-10",
        Ok(support::CreditProduct::Card20Hours) => "card-20",
        Ok(support::CreditProduct::Card50Hours) => "card-50",
        Ok(support::CreditProduct::PackageMonthly) => "package-monthly",
        Ok(support::CreditProduct::PackageYearly) => "package-yearly",
        _ => "unknown",
    }
}

/// Formats minutes as whole hours and the minutes left over, such as "9 h 45 min".
fn hours_text(minutes: i32) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let minutes = minutes.unsigned_abs();
    format!("{sign}{} h {:02} min", minutes / 60, minutes % 60)
}

/// Formats an amount with its currency, or "-" when the service sent none.
fn money_text(money: Option<&common::Money>) -> String {
    match money {
        Some(money) => format!("{} {}", money.amount, money.currency_code),
        None => "-".to_owned(),
    }
}

fn period_text(period: &str) -> &str {
    if period.is_empty() { "-" } else { period }
}

// ---- JSON ----

/// Builds the `--json` output of a credit lot: money as a decimal string, the purchase time
/// as RFC 3339 with the calendar's local offset, and an empty period for a card.
pub fn lot_json(lot: &support::CreditLot) -> Value {
    json!({
        "lot_id": lot.lot_id,
        "product": product_name(lot.product),
        "purchase_time": instant_text(lot.purchase_time.as_ref()),
        "period": lot.period,
        "hourly_rate": amount(lot.hourly_rate.as_ref()),
        "currency": lot.hourly_rate.as_ref().map(|rate| rate.currency_code.clone()),
        "total_minutes": lot.total_minutes,
        "remaining_minutes": lot.remaining_minutes,
    })
}

/// Builds the `--json` output of `dk support credit buy`. The amount excludes VAT.
pub fn purchase_json(response: &support::BuyCreditResponse) -> Value {
    json!({
        "lot": response.lot.as_ref().map(lot_json),
        "amount": amount(response.amount.as_ref()),
        "currency": response.amount.as_ref().map(|amount| amount.currency_code.clone()),
    })
}

/// Builds the `--json` output of `dk support credit balance`. A draw without a lot has
/// `"lot_id": null` because post-calculation bills its minutes, and the projected date is
/// `null` when the service makes no projection.
pub fn balance_json(response: &support::GetCreditBalanceResponse) -> Value {
    json!({
        "mode": mode_name(response.mode),
        "balance_minutes": response.balance_minutes,
        "lots": response.lots.iter().map(lot_json).collect::<Vec<_>>(),
        "draws": response.draws.iter().map(|draw| json!({
            "draw_time": instant_text(draw.draw_time.as_ref()),
            "ticket_id": draw.ticket_id,
            "time_entry_id": draw.time_entry_id,
            "lot_id": (!draw.lot_id.is_empty()).then_some(&draw.lot_id),
            "minutes": draw.minutes,
        })).collect::<Vec<_>>(),
        "used_minutes_last_90_days": response.used_minutes_last_90_days,
        "projected_exhausted_on": date_value(response.projected_exhausted_on.as_ref()),
    })
}

/// Builds the `--json` output of `dk support credit renew`.
pub fn renew_json(month: &str, response: &support::RenewPackagesResponse) -> Value {
    json!({
        "period": month,
        "added": response.added.iter().map(lot_json).collect::<Vec<_>>(),
        "already_added": response.already_added,
    })
}

// ---- text ----

fn print_purchase(response: &support::BuyCreditResponse) {
    let lot = response.lot.clone().unwrap_or_default();
    println!("bought {}, lot {}", product_name(lot.product), lot.lot_id);
    println!(
        "  minutes  {} ({})",
        lot.total_minutes,
        hours_text(lot.total_minutes)
    );
    println!(
        "  rate     {} per hour",
        money_text(lot.hourly_rate.as_ref())
    );
    println!("  period   {}", period_text(&lot.period));
    println!(
        "amount {} excluding VAT",
        money_text(response.amount.as_ref())
    );
}

fn print_lots(lots: &[support::CreditLot], indent: &str) {
    let rows: Vec<Vec<String>> = lots
        .iter()
        .map(|lot| {
            vec![
                instant_text(lot.purchase_time.as_ref()).unwrap_or_default(),
                product_name(lot.product).to_owned(),
                period_text(&lot.period).to_owned(),
                money_text(lot.hourly_rate.as_ref()),
                lot.total_minutes.to_string(),
                lot.remaining_minutes.to_string(),
                lot.lot_id.clone(),
            ]
        })
        .collect();
    let header = [
        ("purchased", Align::Left),
        ("product", Align::Left),
        ("period", Align::Left),
        ("rate", Align::Right),
        ("total", Align::Right),
        ("remaining", Align::Right),
        ("lot", Align::Left),
    ];
    print_table(&header, &rows, indent);
}

fn print_draws(draws: &[support::CreditDraw]) {
    let rows: Vec<Vec<String>> = draws
        .iter()
        .map(|draw| {
            let lot = if draw.lot_id.is_empty() {
                "post-calculation".to_owned()
            } else {
                draw.lot_id.clone()
            };
            vec![
                instant_text(draw.draw_time.as_ref()).unwrap_or_default(),
                draw.ticket_id.clone(),
                draw.time_entry_id.clone(),
                lot,
                draw.minutes.to_string(),
            ]
        })
        .collect();
    let header = [
        ("time", Align::Left),
        ("ticket", Align::Left),
        ("time entry", Align::Left),
        ("lot", Align::Left),
        ("minutes", Align::Right),
    ];
    print_table(&header, &rows, "  ");
}

fn print_balance(response: &support::GetCreditBalanceResponse) {
    println!("billing mode {}", mode_name(response.mode));
    println!(
        "balance {} ({} min)",
        hours_text(response.balance_minutes),
        response.balance_minutes
    );
    if response.lots.is_empty() {
        println!("lots: none");
    } else {
        println!("lots (minutes):");
        print_lots(&response.lots, "  ");
    }
    if response.draws.is_empty() {
        println!("draws: none");
    } else {
        println!("draws:");
        print_draws(&response.draws);
    }
    println!(
        "used in the last 90 days {} min",
        response.used_minutes_last_90_days
    );
    match response.projected_exhausted_on.as_ref() {
        Some(date) => println!("projected run-out {}", date_to_string(Some(date))),
        None => println!("projected run-out: no projection"),
    }
}

fn print_renew(month: &str, response: &support::RenewPackagesResponse) {
    println!(
        "packages renewed for {month}: lots added {}, packages that had their lot already {}",
        response.added.len(),
        response.already_added
    );
    if !response.added.is_empty() {
        print_lots(&response.added, "  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_values_map_to_proto() {
        let cases = [
            ("prepaid", support::BillingMode::Prepaid),
            ("post-calculation", support::BillingMode::PostCalculation),
        ];
        for (text, expected) in cases {
            let mode = ModeArg::from_str(text, false).unwrap();
            assert_eq!(mode.to_proto(), expected, "{text}");
            assert_eq!(mode_name(expected as i32), text);
        }
        assert!(ModeArg::from_str("postpaid", false).is_err());
    }

    #[test]
    fn product_values_map_to_proto() {
        let cases = [
            ("card-10", support::CreditProduct::Card10Hours),
            ("card-20", support::CreditProduct::Card20Hours),
            ("card-50", support::CreditProduct::Card50Hours),
            ("package-monthly", support::CreditProduct::PackageMonthly),
            ("package-yearly", support::CreditProduct::PackageYearly),
        ];
        for (text, expected) in cases {
            let product = ProductArg::from_str(text, false).unwrap();
            assert_eq!(product.to_proto(), expected, "{text}");
            assert_eq!(product_name(expected as i32), text);
        }
        for text in ["card-30", "card10", "package", ""] {
            assert!(ProductArg::from_str(text, false).is_err(), "{text:?}");
        }
    }

    #[test]
    fn unknown_enum_values_named_unknown() {
        assert_eq!(mode_name(0), "unknown");
        assert_eq!(mode_name(99), "unknown");
        assert_eq!(product_name(0), "unknown");
        assert_eq!(product_name(99), "unknown");
    }

    #[test]
    fn renew_period_sends_first_day() {
        let first_day = crate::billing::parse_month("2026-05").unwrap();
        let date = wire_date(first_day);
        assert_eq!(date.year, 2026);
        assert_eq!(date.month, 5);
        assert_eq!(date.day, 1);
    }

    #[test]
    fn renew_period_rejects_others() {
        for text in ["2026-5", "2026-13", "2026-05-01", "may", ""] {
            let error = crate::billing::parse_month(text).unwrap_err();
            assert!(error.contains("YYYY-MM"), "{text:?}: {error}");
        }
    }

    #[test]
    fn hours_text_splits_minutes() {
        assert_eq!(hours_text(0), "0 h 00 min");
        assert_eq!(hours_text(15), "0 h 15 min");
        assert_eq!(hours_text(600), "10 h 00 min");
        assert_eq!(hours_text(585), "9 h 45 min");
        assert_eq!(hours_text(-15), "-0 h 15 min");
    }

    fn money(amount: &str) -> Option<common::Money> {
        Some(common::Money {
            amount: amount.into(),
            currency_code: "EUR".into(),
        })
    }

    fn card() -> support::CreditLot {
        support::CreditLot {
            lot_id: "l1".into(),
            product: support::CreditProduct::Card10Hours as i32,
            // 2026-04-07 08:00 UTC is 10:00 in Amsterdam summer time.
            purchase_time: Some(prost_types::Timestamp {
                seconds: 1_775_548_800,
                nanos: 0,
            }),
            period: String::new(),
            hourly_rate: money("85.00"),
            total_minutes: 600,
            remaining_minutes: 0,
        }
    }

    #[test]
    fn purchase_json_shape() {
        let response = support::BuyCreditResponse {
            lot: Some(card()),
            amount: money("850.00"),
        };
        let expected = json!({
            "lot": {
                "lot_id": "l1",
                "product": "card-10",
                "purchase_time": "2026-04-07T10:00:00+02:00",
                "period": "",
                "hourly_rate": "85.00",
                "currency": "EUR",
                "total_minutes": 600,
                "remaining_minutes": 0,
            },
            "amount": "850.00",
            "currency": "EUR",
        });
        assert_eq!(purchase_json(&response), expected);
    }

    #[test]
    fn balance_json_shape() {
        let response = support::GetCreditBalanceResponse {
            mode: support::BillingMode::Prepaid as i32,
            balance_minutes: 0,
            lots: vec![card()],
            draws: vec![
                support::CreditDraw {
                    lot_id: "l1".into(),
                    ticket_id: "t1".into(),
                    time_entry_id: "e1".into(),
                    minutes: 600,
                    draw_time: None,
                },
                support::CreditDraw {
                    lot_id: String::new(),
                    ticket_id: "t1".into(),
                    time_entry_id: "e2".into(),
                    minutes: 15,
                    draw_time: None,
                },
            ],
            used_minutes_last_90_days: 600,
            projected_exhausted_on: None,
        };
        let value = balance_json(&response);
        assert_eq!(value["mode"], "prepaid");
        assert_eq!(value["balance_minutes"], 0);
        assert_eq!(value["lots"][0]["total_minutes"], 600);
        assert_eq!(value["draws"][0]["lot_id"], "l1");
        assert_eq!(value["draws"][0]["draw_time"], Value::Null);
        assert_eq!(value["draws"][1]["lot_id"], Value::Null);
        assert_eq!(value["draws"][1]["minutes"], 15);
        assert_eq!(value["used_minutes_last_90_days"], 600);
        assert_eq!(value["projected_exhausted_on"], Value::Null);
    }

    #[test]
    fn balance_json_projected_date() {
        let response = support::GetCreditBalanceResponse {
            projected_exhausted_on: Some(common::Date {
                year: 2026,
                month: 7,
                day: 3,
            }),
            ..Default::default()
        };
        assert_eq!(
            balance_json(&response)["projected_exhausted_on"],
            "2026-07-03"
        );
    }

    #[test]
    fn renew_json_shape() {
        let response = support::RenewPackagesResponse {
            added: vec![],
            already_added: 1,
        };
        let expected = json!({"period": "2026-05", "added": [], "already_added": 1});
        assert_eq!(renew_json("2026-05", &response), expected);
    }
}
