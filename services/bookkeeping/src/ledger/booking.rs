//! The journal lines that book an invoice: debtors or creditors, revenue or costs per line, and
//! VAT per code, each revenue, cost and VAT line tagged with its VAT return box.

use std::collections::BTreeMap;

use dk_domain::Decimal;
use rust_decimal::RoundingStrategy;
use sea_orm::DbErr;
use sea_orm::prelude::Uuid;

use super::NewLine;
use super::chart::{OrgChart, Role};
use super::vat::{self, Territory, VatBox, VatCode, VatPart};

/// Sales or purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceKind {
    Sales,
    Purchase,
}

/// An invoice line with its net amount in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub description: String,
    pub amount_minor: i64,
    pub vat_code: VatCode,
    pub account_id: Uuid,
}

/// Net, VAT per code and total of an invoice, in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub net_minor: i64,
    /// Per VAT code: the base and the VAT charged on the invoice.
    pub vat: BTreeMap<VatCode, (i64, i64)>,
    pub total_minor: i64,
}

impl Totals {
    pub fn vat_minor(&self) -> i64 {
        self.vat.values().map(|(_, amount)| amount).sum()
    }
}

/// Rounds cents times a rate to whole cents, half away from zero.
pub fn vat_of(base_minor: i64, rate: Decimal) -> i64 {
    let amount = (Decimal::from(base_minor) * rate)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(amount).unwrap_or(i64::MAX)
}

/// Adds the lines up per VAT code and rounds each code's VAT once, as billing does.
pub fn totals(lines: &[PricedLine]) -> Totals {
    let mut bases: BTreeMap<VatCode, i64> = BTreeMap::new();
    for line in lines {
        *bases.entry(line.vat_code).or_default() += line.amount_minor;
    }
    let vat: BTreeMap<VatCode, (i64, i64)> = bases
        .into_iter()
        .map(|(code, base)| (code, (base, vat_of(base, code.charged_rate()))))
        .collect();
    let net_minor = lines.iter().map(|line| line.amount_minor).sum();
    let vat_minor: i64 = vat.values().map(|(_, amount)| amount).sum();
    Totals {
        net_minor,
        vat,
        total_minor: net_minor + vat_minor,
    }
}

/// The invoice facts that its entry needs.
pub struct InvoiceHead<'a> {
    pub id: Uuid,
    pub kind: InvoiceKind,
    pub number: &'a str,
    pub counterparty: &'a str,
    pub territory: Territory,
}

/// Builds the journal lines of an invoice, leaving out lines of zero.
pub fn invoice_lines(
    head: &InvoiceHead<'_>,
    lines: &[PricedLine],
    totals: &Totals,
    chart: &OrgChart,
) -> Result<Vec<NewLine>, DbErr> {
    let title = format!("{} {}", head.number, head.counterparty);
    let mut entry = Vec::with_capacity(lines.len() + 4);
    match head.kind {
        InvoiceKind::Sales => {
            entry.push(
                NewLine::new(chart.account(Role::Debtors)?, totals.total_minor, &title)
                    .for_invoice(head.id),
            );
            for line in lines {
                let vat_box = vat::sales_box(line.vat_code, head.territory);
                entry.push(
                    NewLine::new(line.account_id, -line.amount_minor, &line.description)
                        .in_box(vat_box, VatPart::Base),
                );
            }
            for (code, (_, amount)) in &totals.vat {
                let (role, vat_box) = match code {
                    VatCode::High => (Role::VatPayableHigh, VatBox::B1a),
                    VatCode::Low => (Role::VatPayableLow, VatBox::B1b),
                    VatCode::Zero | VatCode::ReverseCharge => continue,
                };
                entry.push(
                    NewLine::new(chart.account(role)?, -amount, format!("btw {title}"))
                        .in_box(vat_box, VatPart::Tax),
                );
            }
        }
        InvoiceKind::Purchase => {
            entry.push(
                NewLine::new(chart.account(Role::Creditors)?, -totals.total_minor, &title)
                    .for_invoice(head.id),
            );
            let reverse_charge_box = vat::reverse_charge_purchase_box(head.territory);
            for line in lines {
                let mut booked =
                    NewLine::new(line.account_id, line.amount_minor, &line.description);
                if line.vat_code == VatCode::ReverseCharge {
                    booked = booked.in_box(reverse_charge_box, VatPart::Base);
                }
                entry.push(booked);
            }
            for (code, (base, amount)) in &totals.vat {
                match code {
                    VatCode::High | VatCode::Low => entry.push(
                        NewLine::new(
                            chart.account(Role::VatReceivable)?,
                            *amount,
                            format!("btw {title}"),
                        )
                        .in_box(VatBox::B5b, VatPart::Tax),
                    ),
                    VatCode::ReverseCharge => {
                        let owed = vat_of(*base, code.self_assessed_rate());
                        entry.push(
                            NewLine::new(
                                chart.account(Role::VatPayableReverseCharge)?,
                                -owed,
                                format!("btw verlegd {title}"),
                            )
                            .in_box(reverse_charge_box, VatPart::Tax),
                        );
                        entry.push(
                            NewLine::new(
                                chart.account(Role::VatReceivable)?,
                                owed,
                                format!("btw verlegd {title}"),
                            )
                            .in_box(VatBox::B5b, VatPart::Tax),
                        );
                    }
                    VatCode::Zero => {}
                }
            }
        }
    }
    entry.retain(|line| line.amount_minor != 0);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::check_balance;

    fn line(amount_minor: i64, vat_code: VatCode) -> PricedLine {
        PricedLine {
            description: "line".into(),
            amount_minor,
            vat_code,
            account_id: Uuid::from_u128(99),
        }
    }

    fn chart() -> OrgChart {
        OrgChart::for_tests()
    }

    fn head(kind: InvoiceKind, territory: Territory) -> InvoiceHead<'static> {
        InvoiceHead {
            id: Uuid::from_u128(1),
            kind,
            number: "2026-0012",
            counterparty: "Bakkerij De Korenbloem",
            territory,
        }
    }

    #[test]
    fn vat_rounds_once_per_code() {
        // 0.50 and 0.50 at 9 %: 4.5 cents each, 9 cents together.
        let sum = totals(&[line(50, VatCode::Low), line(50, VatCode::Low)]);
        assert_eq!(sum.vat[&VatCode::Low], (100, 9));
        // 0.50 at 21 % is 10.5 cents, which rounds up to 11.
        assert_eq!(vat_of(50, dec!(0.21)), 11);
        assert_eq!(vat_of(-50, dec!(0.21)), -11);
    }

    #[test]
    fn sales_invoice_books_debtors_revenue_and_vat() {
        let lines = [line(10000, VatCode::High), line(5000, VatCode::Low)];
        let sum = totals(&lines);
        assert_eq!(sum.total_minor, 10000 + 2100 + 5000 + 450);
        let entry = invoice_lines(
            &head(InvoiceKind::Sales, Territory::Netherlands),
            &lines,
            &sum,
            &chart(),
        )
        .unwrap();
        check_balance(&entry).unwrap();
        assert_eq!(entry[0].amount_minor, 17550);
        assert_eq!(entry[0].invoice_id, Some(Uuid::from_u128(1)));
        let boxes: Vec<_> = entry.iter().filter_map(|line| line.vat).collect();
        assert_eq!(
            boxes,
            [
                (VatBox::B1a, VatPart::Base),
                (VatBox::B1b, VatPart::Base),
                (VatBox::B1a, VatPart::Tax),
                (VatBox::B1b, VatPart::Tax)
            ]
        );
    }

    #[test]
    fn reverse_charged_purchase_owes_and_deducts_the_vat() {
        let lines = [line(100000, VatCode::ReverseCharge)];
        let sum = totals(&lines);
        assert_eq!(sum.total_minor, 100000);
        let entry = invoice_lines(
            &head(InvoiceKind::Purchase, Territory::EuropeanUnion),
            &lines,
            &sum,
            &chart(),
        )
        .unwrap();
        check_balance(&entry).unwrap();
        let tagged: Vec<_> = entry
            .iter()
            .filter_map(|line| line.vat.map(|tag| (tag, line.amount_minor)))
            .collect();
        assert_eq!(
            tagged,
            [
                ((VatBox::B4b, VatPart::Base), 100000),
                ((VatBox::B4b, VatPart::Tax), -21000),
                ((VatBox::B5b, VatPart::Tax), 21000)
            ]
        );
    }

    #[test]
    fn zero_rated_sale_abroad_has_no_vat_line() {
        let lines = [line(20000, VatCode::ReverseCharge)];
        let sum = totals(&lines);
        let entry = invoice_lines(
            &head(InvoiceKind::Sales, Territory::EuropeanUnion),
            &lines,
            &sum,
            &chart(),
        )
        .unwrap();
        check_balance(&entry).unwrap();
        assert_eq!(entry.len(), 2);
        assert_eq!(entry[1].vat, Some((VatBox::B3b, VatPart::Base)));
    }

    #[test]
    fn credit_note_books_the_opposite_signs() {
        let lines = [line(-10000, VatCode::High)];
        let sum = totals(&lines);
        assert_eq!(sum.total_minor, -12100);
        let entry = invoice_lines(
            &head(InvoiceKind::Sales, Territory::Netherlands),
            &lines,
            &sum,
            &chart(),
        )
        .unwrap();
        check_balance(&entry).unwrap();
        assert_eq!(entry[0].amount_minor, -12100);
    }
}
