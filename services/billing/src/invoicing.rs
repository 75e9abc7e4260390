//! Issuing invoices and credit notes: legal fields, the gapless number series, the monthly run.
//!
//! Every invoice is issued inside one transaction that checks the Dutch legal fields, takes the
//! next number of the issuer's series, writes the invoice with its lines and enqueues
//! `invoice.issued.v1`. The series is one row per issuer, incremented with `UPDATE … RETURNING`:
//! the row lock holds until commit, so concurrent issues wait for each other, and a rolled-back
//! issue returns its number with it. That makes the numbers unique and gapless on PostgreSQL as
//! well as on SQLite (whose write transactions are serial anyway).
//!
//! The monthly run issues one invoice per active licence and month. Before anything else it
//! inserts the claim `(licence, month)`, whose primary key lets exactly one transaction through,
//! so a second run, or a second replica running at the same moment, issues nothing twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use dk_domain::{Currency, Money};
use dk_messaging::{Event, outbox};
use dk_pricing::{BillingMonth, Language, LineKind, QuoteLine, QuoteStatus, VatAmount};
use dk_proto::events::v1 as events;
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, IntoActiveModel, PaginatorTrait,
    QueryOrder, Set, SqlErr, Statement,
};
use serde::{Deserialize, Serialize};

use crate::catalogue;
use crate::entity::{
    billing_details, credited_line, invoice, invoice_line, licence, licence_charge, licence_period,
};
use crate::licensing::{self, ACTIVE, Licence};
use crate::settings::IssuerSettings;

/// Routing key and CloudEvents type of an issued invoice or credit note.
pub const INVOICE_ISSUED: &str = dk_messaging::topology::INVOICE_ISSUED;
/// CloudEvents source of billing events.
pub const EVENT_SOURCE: &str = "/dk/billing";
/// The producer name of billing's exchange and outbox.
pub const PRODUCER: &str = "billing";

/// `invoice` or `credit_note`.
pub const KIND_INVOICE: &str = "invoice";
pub const KIND_CREDIT_NOTE: &str = "credit_note";

/// A party on an invoice, stored with it as JSON so the invoice keeps the names and addresses of
/// its issue date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Party {
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country_code: String,
    pub vat_id: String,
    pub kvk_number: String,
    pub iban: String,
}

impl Party {
    pub fn supplier(settings: &IssuerSettings) -> Self {
        Self {
            name: settings.name.trim().to_owned(),
            street: settings.street.trim().to_owned(),
            postal_code: settings.postal_code.trim().to_owned(),
            city: settings.city.trim().to_owned(),
            country_code: settings.country_code.trim().to_owned(),
            vat_id: settings.vat_id.trim().to_owned(),
            kvk_number: settings.kvk_number.trim().to_owned(),
            iban: settings.iban.trim().to_owned(),
        }
    }

    pub fn customer(details: Option<&billing_details::Model>) -> Self {
        match details {
            None => Self::default(),
            Some(details) => Self {
                name: details.name.clone(),
                street: details.street.clone(),
                postal_code: details.postal_code.clone(),
                city: details.city.clone(),
                country_code: details.country_code.clone(),
                vat_id: details.vat_id.clone().unwrap_or_default(),
                kvk_number: String::new(),
                iban: String::new(),
            },
        }
    }
}

/// Names the legal fields of a Dutch invoice that are empty: the supplier's name, address, KvK
/// number and VAT id, and the customer's name and address (and VAT id under the reverse
/// charge). Date, number and VAT per rate are set by [`issue`] itself.
pub fn missing_legal_fields(
    supplier: &Party,
    customer: &Party,
    reverse_charge: bool,
) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let checks = [
        (&supplier.name, "supplier name"),
        (&supplier.street, "supplier street"),
        (&supplier.postal_code, "supplier postal code"),
        (&supplier.city, "supplier city"),
        (&supplier.kvk_number, "supplier KvK number"),
        (&supplier.vat_id, "supplier VAT id"),
        (&customer.name, "customer name"),
        (&customer.street, "customer street"),
        (&customer.postal_code, "customer postal code"),
        (&customer.city, "customer city"),
    ];
    for (value, name) in checks {
        if value.trim().is_empty() {
            missing.push(name);
        }
    }
    if reverse_charge && customer.vat_id.trim().is_empty() {
        missing.push("customer VAT id (reverse charge)");
    }
    missing
}

/// The issuer of the invoices and its payment terms.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub settings: IssuerSettings,
    pub payment_term_days: u32,
}

impl Issuer {
    pub fn organisation_id(&self) -> Uuid {
        self.settings.organisation_id
    }
}

/// An invoice before it has a number.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The id the invoice will have, chosen up front so claims can refer to it.
    pub id: Uuid,
    pub kind: &'static str,
    pub customer_organisation_id: Uuid,
    pub customer: Party,
    pub licence_id: Option<Uuid>,
    pub period: Option<String>,
    /// The invoice a credit note corrects: id and number.
    pub corrects: Option<(Uuid, String)>,
    pub language: Language,
    pub currency: Currency,
    pub lines: Vec<QuoteLine>,
    pub vat_note: Option<String>,
    pub reverse_charge: bool,
    pub reason: Option<String>,
}

/// An issued invoice with its lines.
#[derive(Debug, Clone)]
pub struct Issued {
    pub invoice: invoice::Model,
    pub lines: Vec<invoice_line::Model>,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("invoice not issued: missing {}", .0.join(", "))]
    MissingLegalFields(Vec<&'static str>),
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Money(#[from] dk_domain::MoneyError),
}

/// Issues a draft inside `transaction`: checks the legal fields, numbers it, stores it and
/// enqueues `invoice.issued.v1`.
pub async fn issue(
    transaction: &DatabaseTransaction,
    issuer: &Issuer,
    draft: Draft,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    let supplier = Party::supplier(&issuer.settings);
    let missing = missing_legal_fields(&supplier, &draft.customer, draft.reverse_charge);
    if !missing.is_empty() {
        return Err(IssueError::MissingLegalFields(missing));
    }

    let sequence = next_number(transaction, issuer.organisation_id()).await?;
    let number = format!("{}{sequence:06}", issuer.settings.number_prefix.trim());
    let vat = dk_pricing::vat_per_rate(&draft.lines, draft.currency);
    let net = sum(
        draft.lines.iter().filter_map(|line| line.amount),
        draft.currency,
    );
    let vat_total = sum(vat.iter().map(|vat| vat.amount), draft.currency);
    let total = sum([net, vat_total].into_iter(), draft.currency);

    let id = draft.id;
    let invoice = invoice::Model {
        id,
        issuer_organisation_id: issuer.organisation_id(),
        sequence,
        number,
        kind: draft.kind.to_owned(),
        customer_organisation_id: draft.customer_organisation_id,
        licence_id: draft.licence_id,
        period: draft.period.clone(),
        corrects_invoice_id: draft.corrects.as_ref().map(|(id, _)| *id),
        issue_date: today,
        due_date: today + Days::new(u64::from(issuer.payment_term_days)),
        language: language_code(draft.language).to_owned(),
        currency: draft.currency.to_string(),
        net_minor: net.to_minor_units()?,
        vat_minor: vat_total.to_minor_units()?,
        total_minor: total.to_minor_units()?,
        supplier: to_json(&supplier),
        customer: to_json(&draft.customer),
        vat: to_json(&vat),
        vat_note: draft.vat_note.clone(),
        reason: draft.reason.clone(),
        created_at: now,
    };
    let mut lines = Vec::with_capacity(draft.lines.len());
    for (index, line) in draft.lines.iter().enumerate() {
        let zero = Money::zero(draft.currency);
        lines.push(invoice_line::Model {
            invoice_id: id,
            line_number: i32::try_from(index + 1).unwrap_or(i32::MAX),
            code: line.code.clone(),
            description: line.description.clone(),
            quantity: line.quantity.normalize().to_string(),
            unit_price_minor: line.unit_price.unwrap_or(zero).to_minor_units()?,
            amount_minor: line.amount.unwrap_or(zero).to_minor_units()?,
            vat_rate: line.vat_rate.normalize().to_string(),
            explanation: line.explanation.clone(),
        });
    }

    invoice
        .clone()
        .into_active_model()
        .insert(transaction)
        .await?;
    if !lines.is_empty() {
        invoice_line::Entity::insert_many(
            lines
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(transaction)
        .await?;
    }
    let issued = Issued { invoice, lines };
    let event = issued_event(&issued, &draft, &vat, net, vat_total, total);
    outbox::enqueue(transaction, PRODUCER, &[event]).await?;
    Ok(issued)
}

/// Takes the next number of the issuer's series inside the caller's transaction.
async fn next_number(transaction: &DatabaseTransaction, issuer: Uuid) -> Result<i64, DbErr> {
    let backend = transaction.get_database_backend();
    let (create, increment) = match backend {
        sea_orm::DatabaseBackend::Postgres => (
            "INSERT INTO invoice_series (issuer_organisation_id, last_number) VALUES ($1, 0) \
             ON CONFLICT DO NOTHING",
            "UPDATE invoice_series SET last_number = last_number + 1 \
             WHERE issuer_organisation_id = $1 RETURNING last_number",
        ),
        _ => (
            "INSERT INTO invoice_series (issuer_organisation_id, last_number) VALUES (?, 0) \
             ON CONFLICT DO NOTHING",
            "UPDATE invoice_series SET last_number = last_number + 1 \
             WHERE issuer_organisation_id = ? RETURNING last_number",
        ),
    };
    transaction
        .execute_raw(Statement::from_sql_and_values(
            backend,
            create,
            [issuer.into()],
        ))
        .await?;
    let row = transaction
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            increment,
            [issuer.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("invoice series of issuer {issuer}")))?;
    row.try_get::<i64>("", "last_number")
}

fn issued_event(
    issued: &Issued,
    draft: &Draft,
    vat: &[VatAmount],
    net: Money,
    vat_total: Money,
    total: Money,
) -> Event {
    let invoice = &issued.invoice;
    let currency = draft.currency;
    let money = |minor: i64| Money::from_minor_units(minor, currency).into();
    let message = events::InvoiceIssued {
        issuer_organisation_id: invoice.issuer_organisation_id.to_string(),
        invoice_id: invoice.id.to_string(),
        invoice_number: invoice.number.clone(),
        customer_name: draft.customer.name.clone(),
        issue_date: Some(invoice.issue_date.into()),
        due_date: Some(invoice.due_date.into()),
        lines: issued
            .lines
            .iter()
            .map(|line| events::IssuedInvoiceLine {
                description: line.description.clone(),
                quantity: line.quantity.clone(),
                unit_price: Some(money(line.unit_price_minor)),
                amount: Some(money(line.amount_minor)),
                vat_rate: percent(&line.vat_rate),
            })
            .collect(),
        net: Some(net.into()),
        vat: Some(vat_total.into()),
        total: Some(total.into()),
        payment_reference: String::new(),
        kind: invoice.kind.clone(),
        customer_organisation_id: invoice.customer_organisation_id.to_string(),
        customer_vat_id: draft.customer.vat_id.clone(),
        corrects_invoice_number: draft
            .corrects
            .as_ref()
            .map(|(_, number)| number.clone())
            .unwrap_or_default(),
        vat_lines: vat
            .iter()
            .map(|vat| events::IssuedVat {
                rate: (vat.rate * Decimal::ONE_HUNDRED).normalize().to_string(),
                base: Some(vat.base.into()),
                amount: Some(vat.amount.into()),
            })
            .collect(),
        vat_note: draft.vat_note.clone().unwrap_or_default(),
    };
    Event::new(
        INVOICE_ISSUED,
        EVENT_SOURCE,
        invoice.issuer_organisation_id,
        message.encode_to_vec(),
    )
}

/// Turns a stored fraction (`0.21`) into a percentage string (`21`).
pub fn percent(fraction: &str) -> String {
    fraction
        .parse::<Decimal>()
        .map(|rate| (rate * Decimal::ONE_HUNDRED).normalize().to_string())
        .unwrap_or_else(|_| fraction.to_owned())
}

/// Result of a monthly run: the issued invoices, the skipped licences and the failures.
#[derive(Debug, Default)]
pub struct RunReport {
    pub period: String,
    pub issued: Vec<Issued>,
    pub already_invoiced: u32,
    pub failures: Vec<RunFailure>,
    /// Licences that became paid during the month, charged pro rata on the next invoice.
    pub started_during_month: u64,
}

#[derive(Debug, Clone)]
pub struct RunFailure {
    pub licence_id: Uuid,
    pub organisation_id: Uuid,
    pub reason: String,
}

enum Outcome {
    Issued(Box<Issued>),
    AlreadyInvoiced,
    Failed(String),
}

/// Issues the invoice for `period` of every active licence that was paid before the month
/// began. Licences activated during the month pay its rest through the prorated charge on the
/// next month's invoice.
pub async fn run_month(
    db: &DatabaseConnection,
    issuer: &Issuer,
    catalogues: &catalogue::Reader,
    period: BillingMonth,
    today: NaiveDate,
) -> Result<RunReport, RunError> {
    let period_text = period.to_string();
    let licences = licence::Entity::find()
        .filter(licence::Column::State.eq(ACTIVE))
        .filter(licence::Column::ActivatedOn.lt(period.first_day()))
        .order_by_asc(licence::Column::CreatedAt)
        .all(db)
        .await?;
    let invoiced: std::collections::HashSet<Uuid> = licence_period::Entity::find()
        .filter(licence_period::Column::Period.eq(period_text.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|claim| claim.licence_id)
        .collect();

    let started_during_month = licence::Entity::find()
        .filter(licence::Column::State.eq(ACTIVE))
        .filter(licence::Column::ActivatedOn.gte(period.first_day()))
        .filter(licence::Column::ActivatedOn.lte(period.last_day()))
        .count(db)
        .await?;
    let mut report = RunReport {
        period: period_text,
        started_during_month,
        ..RunReport::default()
    };
    for row in licences {
        if invoiced.contains(&row.id) {
            report.already_invoiced += 1;
            continue;
        }
        let (licence_id, organisation_id) = (row.id, row.organisation_id);
        match invoice_licence(db, issuer, catalogues, row, period, today).await? {
            Outcome::Issued(issued) => report.issued.push(*issued),
            Outcome::AlreadyInvoiced => report.already_invoiced += 1,
            Outcome::Failed(reason) => {
                tracing::warn!(%licence_id, %organisation_id, %reason, "licence not invoiced");
                report.failures.push(RunFailure {
                    licence_id,
                    organisation_id,
                    reason,
                });
            }
        }
    }
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Licence(#[from] licensing::LicenceError),
    #[error(transparent)]
    Catalogue(#[from] catalogue::CatalogueError),
    #[error(transparent)]
    Money(#[from] dk_domain::MoneyError),
}

async fn invoice_licence(
    db: &DatabaseConnection,
    issuer: &Issuer,
    catalogues: &catalogue::Reader,
    row: licence::Model,
    period: BillingMonth,
    today: NaiveDate,
) -> Result<Outcome, RunError> {
    let now = Utc::now();
    let transaction = dk_runtime::database::begin_write(db).await?;
    let invoice_id = Uuid::now_v7();
    let claim = licence_period::ActiveModel {
        licence_id: Set(row.id),
        period: Set(period.to_string()),
        invoice_id: Set(invoice_id),
    }
    .insert(&transaction)
    .await;
    match claim {
        Ok(_) => {}
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(Outcome::AlreadyInvoiced);
        }
        Err(error) => return Err(error.into()),
    }

    let licence = Licence::with_versions(&transaction, row).await?;
    let first_day = period.first_day();
    let Some(basket) = licence.basket_on(first_day) else {
        return Ok(Outcome::Failed(format!(
            "the licence holds no entitlements on {first_day}"
        )));
    };
    let catalogue = catalogues.in_force(&transaction, first_day).await?;
    let quote = match dk_pricing::quote(&catalogue, basket) {
        Ok(quote) => quote,
        Err(error) => {
            return Ok(Outcome::Failed(format!(
                "the licence cannot be priced: {error}"
            )));
        }
    };
    if quote.status == QuoteStatus::CustomPricingRequired {
        return Ok(Outcome::Failed(format!(
            "{} users need a custom price per user, set by sales",
            basket.users
        )));
    }
    let language = quote.language;
    let month = licensing::month_text(period, language);
    let mut lines: Vec<QuoteLine> = quote
        .lines
        .into_iter()
        .map(|line| QuoteLine {
            description: format!("{}, {month}", line.description),
            ..line
        })
        .collect();

    let period_text = period.to_string();
    let charges: Vec<licence_charge::Model> =
        licensing::pending_charges(&transaction, licence.row.id)
            .await?
            .into_iter()
            .filter(|charge| charge.billing_month < period_text)
            .collect();
    lines.extend(charge_lines(&charges, catalogue.currency, language)?);

    let details = billing_details::Entity::find_by_id(licence.row.organisation_id)
        .one(&transaction)
        .await?;
    let draft = Draft {
        id: invoice_id,
        kind: KIND_INVOICE,
        customer_organisation_id: licence.row.organisation_id,
        customer: Party::customer(details.as_ref()),
        licence_id: Some(licence.row.id),
        period: Some(period_text),
        corrects: None,
        language,
        currency: catalogue.currency,
        lines,
        vat_note: quote.vat_note,
        reverse_charge: quote.reverse_charge,
        reason: None,
    };
    let issued = match issue(&transaction, issuer, draft, today, now).await {
        Ok(issued) => issued,
        Err(IssueError::MissingLegalFields(missing)) => {
            return Ok(Outcome::Failed(
                IssueError::MissingLegalFields(missing).to_string(),
            ));
        }
        Err(IssueError::Database(error)) => return Err(error.into()),
        Err(IssueError::Money(error)) => return Err(error.into()),
    };
    if !charges.is_empty() {
        licence_charge::Entity::update_many()
            .col_expr(
                licence_charge::Column::InvoiceId,
                Expr::value(issued.invoice.id),
            )
            .filter(licence_charge::Column::Id.is_in(charges.iter().map(|charge| charge.id)))
            .exec(&transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(Outcome::Issued(Box::new(issued)))
}

/// Collects the charges into one line per item and month.
fn charge_lines(
    charges: &[licence_charge::Model],
    currency: Currency,
    language: Language,
) -> Result<Vec<QuoteLine>, RunError> {
    let mut grouped: BTreeMap<(String, String), Vec<&licence_charge::Model>> = BTreeMap::new();
    for charge in charges {
        grouped
            .entry((charge.billing_month.clone(), charge.code.clone()))
            .or_default()
            .push(charge);
    }
    let mut lines = Vec::new();
    for ((month, _), group) in grouped {
        let first = group[0];
        let minor: i64 = group.iter().map(|charge| charge.amount_minor).sum();
        let amount = Money::from_minor_units(minor, currency);
        let month_text = month_of(&month)
            .map(|month| licensing::month_text(month, language))
            .unwrap_or(month);
        let description = match language {
            Language::Nl => format!("{}, naar rato {month_text}", first.description),
            Language::En => format!("{}, prorated {month_text}", first.description),
        };
        let explanation = group
            .iter()
            .map(|charge| charge.explanation.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        lines.push(QuoteLine {
            code: first.code.clone(),
            description,
            kind: LineKind::Module,
            quantity: Decimal::ONE,
            unit_price: Some(amount),
            amount: Some(amount),
            vat_rate: first.vat_rate.parse().unwrap_or_default(),
            explanation,
        });
    }
    Ok(lines)
}

fn month_of(text: &str) -> Option<BillingMonth> {
    let (year, month) = text.split_once('-')?;
    BillingMonth::new(year.parse().ok()?, month.parse().ok()?).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error("{0} is a credit note; only invoices can be credited")]
    NotAnInvoice(String),
    #[error("invoice {number} has no line {line}: expected one of 1 to {count}")]
    UnknownLine {
        number: String,
        line: i32,
        count: usize,
    },
    #[error("line {line} of invoice {number} is credited already")]
    AlreadyCredited { number: String, line: i32 },
    #[error("every line of invoice {0} is credited already")]
    NothingToCredit(String),
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Issues a credit note for `line_numbers` of `original` (every line not credited yet when the
/// list is empty), inside `transaction`.
pub async fn credit(
    transaction: &DatabaseTransaction,
    issuer: &Issuer,
    original: &invoice::Model,
    line_numbers: &[i32],
    reason: &str,
    today: NaiveDate,
) -> Result<Issued, CreditError> {
    if original.kind != KIND_INVOICE {
        return Err(CreditError::NotAnInvoice(original.number.clone()));
    }
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(original.id))
        .order_by_asc(invoice_line::Column::LineNumber)
        .all(transaction)
        .await?;
    let credited: Vec<i32> = credited_line::Entity::find()
        .filter(credited_line::Column::InvoiceId.eq(original.id))
        .all(transaction)
        .await?
        .into_iter()
        .map(|row| row.line_number)
        .collect();
    let mut chosen = Vec::new();
    if line_numbers.is_empty() {
        chosen.extend(
            lines
                .iter()
                .filter(|line| !credited.contains(&line.line_number)),
        );
        if chosen.is_empty() {
            return Err(CreditError::NothingToCredit(original.number.clone()));
        }
    } else {
        for number in line_numbers {
            let line = lines
                .iter()
                .find(|line| line.line_number == *number)
                .ok_or_else(|| CreditError::UnknownLine {
                    number: original.number.clone(),
                    line: *number,
                    count: lines.len(),
                })?;
            if credited.contains(number) {
                return Err(CreditError::AlreadyCredited {
                    number: original.number.clone(),
                    line: *number,
                });
            }
            if !chosen.contains(&line) {
                chosen.push(line);
            }
        }
    }

    let currency = Currency::parse(&original.currency).unwrap_or(Currency::EUR);
    let language = if original.language == "en" {
        Language::En
    } else {
        Language::Nl
    };
    // A credited line keeps its quantity and gets the negative unit price and amount, so unit
    // price times quantity is still the amount.
    let credit_lines = chosen
        .iter()
        .map(|line| {
            let negated = |minor: i64| Money::from_minor_units(-minor, currency);
            QuoteLine {
                code: line.code.clone(),
                description: match language {
                    Language::Nl => format!("Creditering: {}", line.description),
                    Language::En => format!("Credit: {}", line.description),
                },
                kind: LineKind::Module,
                quantity: line.quantity.parse().unwrap_or(Decimal::ONE),
                unit_price: Some(negated(line.unit_price_minor)),
                amount: Some(negated(line.amount_minor)),
                vat_rate: line.vat_rate.parse().unwrap_or_default(),
                explanation: match language {
                    Language::Nl => format!(
                        "correctie van factuur {} regel {}",
                        original.number, line.line_number
                    ),
                    Language::En => format!(
                        "correction of invoice {} line {}",
                        original.number, line.line_number
                    ),
                },
            }
        })
        .collect();
    let customer: Party = serde_json::from_str(&original.customer).unwrap_or_default();
    let draft = Draft {
        id: Uuid::now_v7(),
        kind: KIND_CREDIT_NOTE,
        customer_organisation_id: original.customer_organisation_id,
        // The original passed the check of the customer's VAT id when it was issued, and the
        // credit note copies that customer.
        reverse_charge: false,
        customer,
        licence_id: original.licence_id,
        period: None,
        corrects: Some((original.id, original.number.clone())),
        language,
        currency,
        lines: credit_lines,
        vat_note: original.vat_note.clone(),
        reason: Some(reason.to_owned()),
    };
    let issued = issue(transaction, issuer, draft, today, Utc::now()).await?;
    for line in &chosen {
        let inserted = credited_line::ActiveModel {
            invoice_id: Set(original.id),
            line_number: Set(line.line_number),
            credit_note_id: Set(issued.invoice.id),
        }
        .insert(transaction)
        .await;
        if let Err(error) = inserted {
            if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
                return Err(CreditError::AlreadyCredited {
                    number: original.number.clone(),
                    line: line.line_number,
                });
            }
            return Err(error.into());
        }
    }
    Ok(issued)
}

/// Reads the lines of invoices, grouped by invoice.
pub async fn lines_of<C: ConnectionTrait>(
    db: &C,
    invoices: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<invoice_line::Model>>, DbErr> {
    let mut grouped: BTreeMap<Uuid, Vec<invoice_line::Model>> = BTreeMap::new();
    if invoices.is_empty() {
        return Ok(grouped);
    }
    for chunk in invoices.chunks(500) {
        let rows = invoice_line::Entity::find()
            .filter(invoice_line::Column::InvoiceId.is_in(chunk.iter().copied()))
            .order_by_asc(invoice_line::Column::LineNumber)
            .all(db)
            .await?;
        for row in rows {
            grouped.entry(row.invoice_id).or_default().push(row);
        }
    }
    Ok(grouped)
}

fn sum(amounts: impl Iterator<Item = Money>, currency: Currency) -> Money {
    let total: Decimal = amounts.map(|money| money.amount()).sum();
    Money::new(total, currency).round()
}

pub fn language_code(language: Language) -> &'static str {
    match language {
        Language::Nl => "nl",
        Language::En => "en",
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("invoice parts serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete_supplier() -> Party {
        Party {
            name: "Kantoorsoft B.V.".into(),
            street: "Stationsplein 1".into(),
            postal_code: "3511 ED".into(),
            city: "Utrecht".into(),
            country_code: "NL".into(),
            vat_id: "NL123456789B01".into(),
            kvk_number: "12345678".into(),
            iban: "NL91ABNA0417164300".into(),
        }
    }

    #[test]
    fn every_missing_legal_field_is_named() {
        let customer = Party {
            name: "Bakkerij De Korst".into(),
            ..Party::default()
        };
        let mut supplier = complete_supplier();
        supplier.kvk_number.clear();
        let missing = missing_legal_fields(&supplier, &customer, true);
        assert_eq!(
            missing,
            [
                "supplier KvK number",
                "customer street",
                "customer postal code",
                "customer city",
                "customer VAT id (reverse charge)"
            ]
        );
        let message = IssueError::MissingLegalFields(missing).to_string();
        assert!(message.starts_with("invoice not issued: missing supplier KvK number, "));
    }

    #[test]
    fn complete_parties_pass() {
        let customer = Party {
            name: "Bakkerij De Korst".into(),
            street: "Dorpsstraat 3".into(),
            postal_code: "1234 AB".into(),
            city: "Ede".into(),
            ..Party::default()
        };
        assert!(missing_legal_fields(&complete_supplier(), &customer, false).is_empty());
    }

    #[test]
    fn charges_collect_into_one_line_per_item_and_month() {
        let charge =
            |code: &str, month: &str, minor: i64, explanation: &str| licence_charge::Model {
                id: Uuid::now_v7(),
                licence_id: Uuid::nil(),
                billing_month: month.into(),
                change_date: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
                code: code.into(),
                description: "Gebruikers".into(),
                amount_minor: minor,
                currency: "EUR".into(),
                vat_rate: "0.21".into(),
                explanation: explanation.into(),
                invoice_id: None,
                created_at: Utc::now(),
            };
        let charges = [
            charge("gebruikers", "2026-03", 1000, "a"),
            charge("gebruikers", "2026-03", 550, "b"),
            charge("crm", "2026-03", 700, "c"),
        ];
        let lines = charge_lines(&charges, Currency::EUR, Language::Nl).unwrap();
        assert_eq!(lines.len(), 2);
        let users = lines.iter().find(|line| line.code == "gebruikers").unwrap();
        assert_eq!(users.amount.unwrap().to_minor_units().unwrap(), 1550);
        assert_eq!(users.description, "Gebruikers, naar rato maart 2026");
        assert_eq!(users.explanation, "a; b");
    }

    #[test]
    fn percent_of_stored_rate() {
        assert_eq!(percent("0.21"), "21");
        assert_eq!(percent("0"), "0");
        assert_eq!(percent("0.09"), "9");
    }
}
