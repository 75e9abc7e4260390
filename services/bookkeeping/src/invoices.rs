//! Entering an invoice: checking its lines, choosing their accounts, and posting its entry in
//! the sales or purchases journal, all in the caller's transaction.

use std::str::FromStr;

use dk_domain::{Currency, Decimal, Money};
use dk_proto::bookkeeping::v1 as pb;
use dk_proto::convert::money_from_proto;
use dk_runtime::status;
use rust_decimal::RoundingStrategy;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, Set};
use tonic::Status;

use crate::entity::{invoice, invoice_line, ledger_account};
use crate::ledger::booking::{self, InvoiceHead, InvoiceKind, PricedLine, Totals};
use crate::ledger::chart::{OrgChart, Role};
use crate::ledger::vat::{Territory, VatCode};
use crate::ledger::{self, Journal, LedgerError, NewEntry, NewLine, Source};

/// Most lines one invoice may have.
pub const MAX_LINES: usize = 500;

/// A line as the caller gave it, checked.
#[derive(Debug, Clone)]
pub struct LineInput {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub vat_code: VatCode,
    pub account_number: Option<String>,
}

/// Checks the lines of a `CreateInvoiceRequest`.
pub fn parse_lines(lines: &[pb::InvoiceLine]) -> Result<Vec<LineInput>, Status> {
    if lines.len() > MAX_LINES {
        return Err(status::invalid_argument(
            "lines",
            format!("{} lines: expected at most {MAX_LINES}", lines.len()),
        ));
    }
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let field = |name: &str| format!("lines[{index}].{name}");
            let description = line.description.trim();
            if description.is_empty() || description.chars().count() > 500 {
                return Err(status::invalid_argument(
                    &field("description"),
                    "expected 1 to 500 characters",
                ));
            }
            let quantity = match line.quantity.trim() {
                "" => Decimal::ONE,
                text => Decimal::from_str(text).map_err(|_| {
                    status::invalid_argument(
                        &field("quantity"),
                        format!("{text:?} is not a decimal number such as 1 or 2.5"),
                    )
                })?,
            };
            if quantity.is_zero() {
                return Err(status::invalid_argument(
                    &field("quantity"),
                    "0: expected a quantity other than zero",
                ));
            }
            let unit_price = money_from_proto(&field("unit_price"), line.unit_price.as_ref())
                .map_err(|e| status::invalid_argument(&e.field, e.message))?;
            if unit_price.currency() != Currency::EUR {
                return Err(status::invalid_argument(
                    &field("unit_price.currency_code"),
                    format!("{} is not supported: expected EUR", unit_price.currency()),
                ));
            }
            let unit_price_minor = unit_price
                .to_minor_units()
                .map_err(|e| status::invalid_argument(&field("unit_price.amount"), e.to_string()))?;
            let amount = (quantity * unit_price.amount())
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            let amount_minor = Money::new(amount, Currency::EUR)
                .to_minor_units()
                .map_err(|e| status::invalid_argument(&field("quantity"), e.to_string()))?;
            let vat_code = match pb::VatCode::try_from(line.vat_code) {
                Ok(pb::VatCode::High) => VatCode::High,
                Ok(pb::VatCode::Low) => VatCode::Low,
                Ok(pb::VatCode::Zero) => VatCode::Zero,
                Ok(pb::VatCode::ReverseCharge) => VatCode::ReverseCharge,
                _ => {
                    return Err(status::invalid_argument(
                        &field("vat_code"),
                        "missing or unknown: expected VAT_CODE_HIGH (21 %), VAT_CODE_LOW (9 %), VAT_CODE_ZERO or VAT_CODE_REVERSE_CHARGE",
                    ));
                }
            };
            let account_number = match line.account_number.trim() {
                "" => None,
                number => Some(number.to_owned()),
            };
            Ok(LineInput {
                description: description.to_owned(),
                quantity,
                unit_price_minor,
                amount_minor,
                vat_code,
                account_number,
            })
        })
        .collect()
}

/// Adds up checked lines into net, VAT per code and total.
pub fn totals(lines: &[LineInput]) -> Totals {
    let priced: Vec<PricedLine> = lines
        .iter()
        .map(|line| PricedLine {
            description: line.description.clone(),
            amount_minor: line.amount_minor,
            vat_code: line.vat_code,
            account_id: Uuid::nil(),
        })
        .collect();
    booking::totals(&priced)
}

/// Roles of the revenue and cost accounts an invoice line may name. Other accounts with a role
/// (bank, debtors, VAT, suspense, equity and the like) are booked by bookkeeping itself.
const LINE_ROLES: [Role; 9] = [
    Role::RevenueHigh,
    Role::RevenueLow,
    Role::RevenueZero,
    Role::RevenueEu,
    Role::RevenueExport,
    Role::CostOfSales,
    Role::GeneralCosts,
    Role::BankCosts,
    Role::PaymentDifferences,
];

/// Returns the role of a line's default revenue or cost account.
fn default_role(kind: InvoiceKind, code: VatCode, territory: Territory) -> Role {
    match (kind, code, territory) {
        (InvoiceKind::Purchase, _, _) => Role::GeneralCosts,
        (_, VatCode::High, _) => Role::RevenueHigh,
        (_, VatCode::Low, _) => Role::RevenueLow,
        (_, VatCode::Zero, _) | (_, VatCode::ReverseCharge, Territory::Netherlands) => {
            Role::RevenueZero
        }
        (_, VatCode::ReverseCharge, Territory::EuropeanUnion) => Role::RevenueEu,
        (_, VatCode::ReverseCharge, Territory::OutsideEu) => Role::RevenueExport,
    }
}

/// Stores an invoice's lines and posts its entry; returns the entry's id. `row` is already
/// inserted. Without lines the total is booked against the suspense account.
pub async fn book<C: ConnectionTrait>(
    db: &C,
    chart: &OrgChart,
    row: &invoice::Model,
    lines: &[LineInput],
) -> Result<Uuid, Status> {
    let context = "booking an invoice";
    let kind = if row.kind == "purchase" {
        InvoiceKind::Purchase
    } else {
        InvoiceKind::Sales
    };
    let territory = Territory::of_country(&row.counterparty_country);
    let mut priced = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let account_id = match &line.account_number {
            None => chart
                .account(default_role(kind, line.vat_code, territory))
                .map_err(|e| status::from_db(context, e))?,
            Some(number) => {
                let account = ledger_account::Entity::find()
                    .filter(ledger_account::Column::OrganisationId.eq(row.organisation_id))
                    .filter(ledger_account::Column::Number.eq(number.as_str()))
                    .one(db)
                    .await
                    .map_err(|e| status::from_db(context, e))?
                    .ok_or_else(|| {
                        status::invalid_argument(
                            &format!("lines[{index}].account_number"),
                            format!(
                                "no ledger account {number:?}; `dk ledger accounts` lists them"
                            ),
                        )
                    })?;
                // A sales line books revenue; a purchase line costs, or an asset without a role
                // (such as furniture and equipment).
                let allowed = match account.role.as_deref() {
                    Some(role) => LINE_ROLES.iter().any(|allowed| allowed.as_str() == role),
                    None => kind == InvoiceKind::Purchase || account.class == "profit_loss",
                };
                if !allowed {
                    return Err(status::invalid_argument(
                        &format!("lines[{index}].account_number"),
                        format!(
                            "account {number} ({}) cannot take an invoice line: choose a revenue or cost account{}",
                            account.name_nl,
                            if kind == InvoiceKind::Purchase {
                                ", or an asset account such as 0100"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                account.id
            }
        };
        priced.push(PricedLine {
            description: line.description.clone(),
            amount_minor: line.amount_minor,
            vat_code: line.vat_code,
            account_id,
        });
        invoice_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            invoice_id: Set(row.id),
            position: Set(index as i32 + 1),
            description: Set(line.description.clone()),
            quantity: Set(line.quantity.normalize().to_string()),
            unit_price_minor: Set(line.unit_price_minor),
            amount_minor: Set(line.amount_minor),
            vat_code: Set(line.vat_code.as_str().to_owned()),
            account_id: Set(account_id),
        }
        .insert(db)
        .await
        .map_err(|e| status::from_db(context, e))?;
    }

    let title = format!("{} {}", row.number, row.counterparty_name);
    let entry_lines = if priced.is_empty() {
        let suspense = chart
            .account(Role::Suspense)
            .map_err(|e| status::from_db(context, e))?;
        let (control, sign) = match kind {
            InvoiceKind::Sales => (Role::Debtors, 1),
            InvoiceKind::Purchase => (Role::Creditors, -1),
        };
        let control = chart
            .account(control)
            .map_err(|e| status::from_db(context, e))?;
        vec![
            NewLine::new(control, sign * row.amount_minor, &title).for_invoice(row.id),
            NewLine::new(
                suspense,
                -sign * row.amount_minor,
                format!("{title}: te verdelen over omzet of kosten en btw"),
            ),
        ]
    } else {
        let totals = booking::totals(&priced);
        booking::invoice_lines(
            &InvoiceHead {
                id: row.id,
                kind,
                number: &row.number,
                counterparty: &row.counterparty_name,
                territory,
            },
            &priced,
            &totals,
            chart,
        )
        .map_err(|e| status::from_db(context, e))?
    };
    let journal = match kind {
        InvoiceKind::Sales => Journal::Sales,
        InvoiceKind::Purchase => Journal::Purchases,
    };
    ledger::post(
        db,
        NewEntry {
            organisation_id: row.organisation_id,
            journal,
            date: row.issue_date,
            description: title,
            source: Source::Invoice,
            source_id: Some(row.id),
            reverses: None,
            lines: entry_lines,
        },
    )
    .await
    .map_err(|error| ledger_status(context, error))
}

/// Maps a ledger error to the gRPC status returned to the caller.
pub fn ledger_status(context: &str, error: LedgerError) -> Status {
    match error {
        LedgerError::TooFewLines(_) | LedgerError::ZeroLine(_) | LedgerError::Unbalanced { .. } => {
            status::invalid_argument("lines", error.to_string())
        }
        LedgerError::ClosedPeriod { closed_through, .. } => status::with_reason(
            tonic::Code::FailedPrecondition,
            "PERIOD_CLOSED",
            error.to_string(),
            &[("closed_through", closed_through.to_string())],
        ),
        LedgerError::AlreadyReversed(_) | LedgerError::ReversingAReversal(_) => {
            status::with_reason(
                tonic::Code::FailedPrecondition,
                "ALREADY_REVERSED",
                error.to_string(),
                &[],
            )
        }
        LedgerError::Db(error) => status::from_db(context, error),
    }
}
