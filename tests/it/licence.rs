//! Licences and the vendor's invoices: accepting quotes, trials, changes with proration, the
//! monthly run (repeated and concurrent), gapless numbers, credit notes, legal fields, events
//! and payments coming back from bookkeeping.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use dk_domain::{Currency, Decimal, Money, OrganisationId};
use dk_messaging::{Event, topology};
use dk_proto::billing::v1 as billing;
use dk_proto::common::v1 as common;
use dk_testkit::{BillingClient, BusKind, DatabaseKind, Role, Stack};
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic::Code;
use tonic_types::StatusExt;

use crate::*;

fn spec_basket() -> billing::CreateQuoteRequest {
    billing::CreateQuoteRequest {
        idempotency_key: key(),
        modules: vec!["crm".into(), "boekhouding".into(), "facturatie".into()],
        addons: vec!["documentbeheer".into()],
        users: 12,
        bank_link: true,
        ..Default::default()
    }
}

fn details(name: &str) -> billing::BillingDetails {
    billing::BillingDetails {
        name: name.into(),
        street: "Dorpsstraat 3".into(),
        postal_code: "6711 AA".into(),
        city: "Ede".into(),
        ..Default::default()
    }
}

fn decimal(money: Option<&common::Money>) -> Decimal {
    let money = money.expect("money present");
    Money::parse(&money.amount, Currency::EUR)
        .expect("decimal amount")
        .amount()
}

fn date(value: Option<&common::Date>) -> NaiveDate {
    let value = value.expect("date present");
    NaiveDate::from_ymd_opt(value.year, value.month as u32, value.day as u32).expect("valid date")
}

fn month_after(day: NaiveDate) -> common::Date {
    let next = if day.month() == 12 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
    };
    next.expect("valid month").into()
}

async fn quote(client: &mut BillingClient, request: billing::CreateQuoteRequest) -> billing::Quote {
    client
        .create_quote(request)
        .await
        .expect("create quote")
        .into_inner()
        .quote
        .expect("quote in response")
}

async fn accept(
    client: &mut BillingClient,
    quote_id: &str,
    name: &str,
) -> Result<billing::Licence, tonic::Status> {
    client
        .accept_quote(billing::AcceptQuoteRequest {
            idempotency_key: key(),
            quote_id: quote_id.into(),
            billing_details: Some(details(name)),
        })
        .await
        .map(|response| response.into_inner().licence.expect("licence in response"))
}

/// Gives `organisation` a paid licence on the SPEC example basket.
async fn licensed(stack: &Stack, organisation: OrganisationId, name: &str) -> billing::Licence {
    let mut client = stack.billing_client(organisation).await.expect("client");
    let quote = quote(&mut client, spec_basket()).await;
    accept(&mut client, &quote.quote_id, name)
        .await
        .expect("accept quote")
}

async fn run(
    client: &mut BillingClient,
    month: common::Date,
) -> Result<billing::RunMonthlyInvoicesResponse, tonic::Status> {
    client
        .run_monthly_invoices(billing::RunMonthlyInvoicesRequest {
            idempotency_key: key(),
            month: Some(month),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn issuer(stack: &Stack) -> dk_billing::invoicing::Issuer {
    dk_billing::invoicing::Issuer {
        settings: dk_billing::settings::IssuerSettings::demo(stack.vendor.as_uuid()),
        payment_term_days: 14,
    }
}

/// Runs the invoices of a month that has not begun, as the scheduled run will on its first day
/// (the RPC refuses such a month), and reads them back over gRPC as finance. Returns the issued
/// invoices and the number of licences invoiced before.
async fn run_ahead(stack: &Stack, month: common::Date) -> (Vec<billing::Invoice>, u32) {
    let period = dk_pricing::BillingMonth::of(date(Some(&month)));
    let report = dk_billing::invoicing::run_month(
        &stack.billing_db,
        &issuer(stack),
        &dk_billing::catalogue::Reader::default(),
        period,
        period.first_day(),
    )
    .await
    .expect("run a month ahead");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let mut finance = stack
        .billing_staff_client(&[Role::Finance])
        .await
        .expect("finance client");
    let mut invoices = Vec::new();
    for issued in &report.issued {
        invoices.push(
            finance
                .get_invoice(billing::GetInvoiceRequest {
                    invoice_id: issued.invoice.id.to_string(),
                })
                .await
                .expect("read the issued invoice")
                .into_inner()
                .invoice
                .expect("invoice"),
        );
    }
    (invoices, report.already_invoiced)
}

/// Moves a licence's start to the first day of the previous month, so the current month is one
/// it pays in advance.
async fn backdate(stack: &Stack, licence_id: &str) {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive();
    let start = dk_pricing::BillingMonth::of(today).first_day() - chrono::Days::new(1);
    let start = dk_pricing::BillingMonth::of(start).first_day();
    let backend = stack.billing_db.get_database_backend();
    let placeholder = |index: usize| match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${index}"),
        _ => "?".to_owned(),
    };
    let id = uuid::Uuid::parse_str(licence_id).expect("licence id");
    for table_update in [
        format!(
            "UPDATE licences SET activated_on = {} WHERE id = {}",
            placeholder(1),
            placeholder(2)
        ),
        format!(
            "UPDATE licence_versions SET effective_from = {} WHERE licence_id = {}",
            placeholder(1),
            placeholder(2)
        ),
    ] {
        stack
            .billing_db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                table_update,
                [start.into(), id.into()],
            ))
            .await
            .expect("backdate the licence");
    }
}

async fn customer_invoices(client: &mut BillingClient) -> Vec<billing::Invoice> {
    client
        .list_invoices(billing::ListInvoicesRequest {
            page_size: 500,
            page_token: String::new(),
        })
        .await
        .expect("list invoices")
        .into_inner()
        .invoices
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

async fn issued_sequences(stack: &Stack) -> Vec<i64> {
    let backend = stack.billing_db.get_database_backend();
    stack
        .billing_db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT sequence FROM invoices ORDER BY sequence",
        ))
        .await
        .expect("invoice query")
        .iter()
        .map(|row| row.try_get::<i64>("", "sequence").expect("sequence"))
        .collect()
}

/// Accepting the SPEC example, invoicing the next month once, and reading the invoice as the
/// customer: monthly lines plus the prorated rest of the first month, VAT once at 21%, every
/// legal field, and nothing more on a second run.
async fn check_accept_and_monthly_invoice(stack: &Stack) {
    let customer = stack.organisation;
    let licence = licensed(stack, customer, "Bakkerij De Korst").await;
    assert_eq!(licence.state, billing::LicenceState::Active as i32);
    let entitlements = licence.entitlements.clone().expect("entitlements");
    assert_eq!(entitlements.users, 12);
    assert!(entitlements.automatic_bank_link);
    assert_eq!(entitlements.max_linked_ibans, 8);
    let activated = date(licence.activated_on.as_ref());

    // The rest of the activation month is charged by calendar day on the next invoice.
    let charged: Decimal = licence
        .pending_charges
        .iter()
        .map(|charge| decimal(charge.amount.as_ref()))
        .sum();
    let month = dk_pricing::BillingMonth::of(activated);
    let days_remaining = month.days() - activated.day() + 1;
    let expected = (Decimal::new(18050, 2) * Decimal::from(days_remaining)
        / Decimal::from(month.days()))
    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let tolerance = Decimal::new(5, 2); // one cent of rounding per charged item
    assert!(
        (charged - expected).abs() <= tolerance,
        "charged {charged}, expected about {expected}"
    );

    let mut finance = stack
        .billing_staff_client(&[Role::Finance])
        .await
        .expect("finance client");
    // The activation month itself is not invoiced in advance: it is charged pro rata.
    let current = run(&mut finance, activated.into()).await.expect("run");
    assert!(current.issued.is_empty());
    assert!(current.failures.is_empty());
    assert_eq!(current.started_during_month, 1);

    // A month that has not begun is refused: changes made before its first day belong on it.
    let early = run(&mut finance, month_after(activated)).await.unwrap_err();
    assert_eq!(early.code(), Code::InvalidArgument);
    assert!(
        early.message().contains("has not begun"),
        "{}",
        early.message()
    );

    let (next, _) = run_ahead(stack, month_after(activated)).await;
    assert_eq!(next.len(), 1);
    let invoice = &next[0];
    assert_eq!(invoice.invoice_number, "DK000001");
    assert_eq!(invoice.kind, billing::InvoiceKind::Invoice as i32);
    let net = decimal(invoice.net.as_ref());
    assert_eq!(net, Decimal::new(18050, 2) + charged);
    assert_eq!(invoice.vat.len(), 1);
    assert_eq!(invoice.vat[0].rate, "21");
    let vat = decimal(invoice.vat[0].amount.as_ref());
    assert_eq!(
        vat,
        (net * Decimal::new(21, 2))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    );
    assert_eq!(decimal(invoice.total.as_ref()), net + vat);
    let lines_total: Decimal = invoice
        .lines
        .iter()
        .map(|line| decimal(line.amount.as_ref()))
        .sum();
    assert_eq!(lines_total, net);
    assert!(
        invoice.lines[0].description.starts_with("CRM, "),
        "{}",
        invoice.lines[0].description
    );
    assert!(
        invoice
            .lines
            .iter()
            .any(|line| line.description.contains("naar rato")),
        "a prorated line: {:?}",
        invoice.lines
    );
    let supplier = invoice.supplier.clone().expect("supplier");
    assert_eq!(supplier.kvk_number, "12345678");
    assert_eq!(supplier.vat_id, "NL123456789B01");
    let buyer = invoice.customer.clone().expect("customer");
    assert_eq!(buyer.name, "Bakkerij De Korst");
    assert_eq!(buyer.city, "Ede");
    assert_eq!(
        date(invoice.due_date.as_ref()) - date(invoice.issue_date.as_ref()),
        chrono::Duration::days(14)
    );
    assert_eq!(invoice.payment_status, billing::PaymentStatus::Open as i32);

    // Running the month again issues nothing.
    let (again, already_invoiced) = run_ahead(stack, month_after(activated)).await;
    assert!(again.is_empty());
    assert_eq!(already_invoiced, 1);
    assert_eq!(issued_sequences(stack).await, [1]);

    // The customer lists the invoice and has no charges left; another organisation lists nothing.
    let mut client = stack.billing_client(customer).await.expect("client");
    let listed = customer_invoices(&mut client).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].invoice_id, invoice.invoice_id);
    let licence = client
        .get_licence(billing::GetLicenceRequest {})
        .await
        .expect("licence")
        .into_inner()
        .licence
        .expect("licence");
    assert!(licence.pending_charges.is_empty());
    let mut other = stack
        .billing_client(stack.other_organisation)
        .await
        .expect("client");
    assert!(customer_invoices(&mut other).await.is_empty());
    let hidden = other
        .get_invoice(billing::GetInvoiceRequest {
            invoice_id: invoice.invoice_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test]
async fn accepted_quote_is_invoiced_once_per_month_on_postgres() {
    let stack = Stack::start().await.expect("stack");
    check_accept_and_monthly_invoice(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn accepted_quote_is_invoiced_once_per_month_embedded() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_accept_and_monthly_invoice(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn staff_calls_need_the_vendor_and_the_role() {
    let stack = Stack::start().await.expect("stack");
    let mut customer = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let denied = run(
        &mut customer,
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().into(),
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let mut sales = stack
        .billing_staff_client(&[Role::Sales])
        .await
        .expect("client");
    let denied = run(
        &mut sales,
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().into(),
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("finance"), "{}", denied.message());
    stack.stop().await.expect("stop");
}

/// Finance's RunMonthlyInvoices issues the current month of a licence that was paid before the
/// month began, once.
#[tokio::test]
async fn finance_runs_the_current_month_once() {
    let stack = Stack::start().await.expect("stack");
    let licence = licensed(&stack, stack.organisation, "Bakkerij De Korst").await;
    backdate(&stack, &licence.licence_id).await;
    let mut finance = stack
        .billing_staff_client(&[Role::Finance])
        .await
        .expect("client");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive();
    let first = run(&mut finance, today.into()).await.expect("run");
    assert_eq!(first.issued.len(), 1, "{:?}", first.failures);
    assert_eq!(first.issued[0].invoice_number, "DK000001");
    assert_eq!(
        decimal(first.issued[0].net.as_ref()),
        Decimal::new(18050, 2)
    );
    assert_eq!(
        decimal(first.issued[0].total.as_ref()),
        Decimal::new(21841, 2)
    );
    let again = run(&mut finance, today.into()).await.expect("run");
    assert!(again.issued.is_empty());
    assert_eq!(again.already_invoiced, 1);
    stack.stop().await.expect("stop");
}

/// More users than the table covers: the quote cannot be accepted until a sales employee sets
/// the price per user, which is recorded with who set it.
#[tokio::test]
async fn custom_user_price_is_set_by_sales() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let large_request = billing::CreateQuoteRequest {
        users: 60,
        ..spec_basket()
    };
    let large = quote(&mut client, large_request.clone()).await;
    assert_eq!(
        large.status,
        billing::QuoteStatus::CustomPricingRequired as i32
    );
    let refused = accept(&mut client, &large.quote_id, "Groothandel Noord")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "CUSTOM_PRICING_REQUIRED");

    let request = billing::SetCustomUserPriceRequest {
        idempotency_key: key(),
        organisation_id: stack.organisation.to_string(),
        quote_id: large.quote_id.clone(),
        unit_price: eur("3.75"),
    };
    let denied = client
        .set_custom_user_price(request.clone())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let mut sales = stack
        .billing_staff_client(&[Role::Sales])
        .await
        .expect("client");
    let priced = sales
        .set_custom_user_price(request)
        .await
        .expect("set price")
        .into_inner();
    assert_eq!(priced.set_by, "staff");
    let priced = priced.quote.expect("quote");
    assert_eq!(priced.status, billing::QuoteStatus::Priced as i32);
    // 59 extra users at 3.75 plus the other lines of the SPEC basket (72.50).
    assert_eq!(decimal(priced.net.as_ref()), Decimal::new(29375, 2));
    // The quote keeps its idempotency key: repeating the first call returns the quote as it
    // is now, with the price set, and creates no other quote.
    let repeated = quote(&mut client, large_request).await;
    assert_eq!(repeated, priced);

    let licence = accept(&mut client, &large.quote_id, "Groothandel Noord")
        .await
        .expect("accept after pricing");
    assert_eq!(licence.entitlements.expect("entitlements").users, 60);
    let again = accept(&mut client, &large.quote_id, "Groothandel Noord")
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "QUOTE_ALREADY_ACCEPTED");
    let repriced = sales
        .set_custom_user_price(billing::SetCustomUserPriceRequest {
            idempotency_key: key(),
            organisation_id: stack.organisation.to_string(),
            quote_id: large.quote_id.clone(),
            unit_price: eur("1.00"),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&repriced), "QUOTE_ALREADY_ACCEPTED");
    stack.stop().await.expect("stop");
}

/// A trial charges nothing, changes at once, and becomes paid by accepting a quote.
#[tokio::test]
async fn trial_converts_by_accepting_a_quote() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let without_module = client
        .start_trial(billing::StartTrialRequest {
            idempotency_key: key(),
            addons: vec!["documentbeheer".into()],
            users: 3,
            ..Default::default()
        })
        .await
        .expect_err("a trial without a module");
    assert_eq!(without_module.code(), tonic::Code::InvalidArgument);
    assert!(
        without_module
            .message()
            .starts_with("modules: no module chosen"),
        "{}",
        without_module.message()
    );

    let trial = client
        .start_trial(billing::StartTrialRequest {
            idempotency_key: key(),
            modules: vec!["crm".into()],
            users: 3,
            ..Default::default()
        })
        .await
        .expect("trial")
        .into_inner()
        .licence
        .expect("licence");
    assert_eq!(trial.state, billing::LicenceState::Trial as i32);
    assert!(trial.pending_charges.is_empty());

    let twice = client
        .start_trial(billing::StartTrialRequest {
            idempotency_key: key(),
            modules: vec!["crm".into()],
            users: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "LICENCE_EXISTS");

    let changed = client
        .change_licence(billing::ChangeLicenceRequest {
            idempotency_key: key(),
            change: Some(billing::LicenceChange {
                add_modules: vec!["handel".into()],
                remove_modules: vec!["crm".into()],
                ..Default::default()
            }),
        })
        .await
        .expect("change trial")
        .into_inner();
    assert!(changed.preview.is_none(), "a trial change costs nothing");
    let changed = changed.licence.expect("licence");
    assert_eq!(
        changed.entitlements.expect("entitlements").modules,
        ["handel"]
    );
    assert!(changed.pending_charges.is_empty());
    assert!(changed.scheduled_entitlements.is_none());

    let quote = quote(&mut client, spec_basket()).await;
    let paid = accept(&mut client, &quote.quote_id, "Fietsenmaker Bakker")
        .await
        .expect("accept");
    assert_eq!(paid.licence_id, trial.licence_id);
    assert_eq!(paid.state, billing::LicenceState::Active as i32);
    assert!(!paid.pending_charges.is_empty());
    stack.stop().await.expect("stop");
}

/// The quote diff prices "add 3 users" and "add a module" against the licence; the change
/// charges the same prorated amounts, and a removal waits for the next month.
#[tokio::test]
async fn licence_change_is_previewed_and_prorated() {
    let stack = Stack::start().await.expect("stack");
    licensed(&stack, stack.organisation, "Installatiebedrijf Jansen").await;
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let change = billing::LicenceChange {
        add_modules: vec!["handel".into()],
        remove_modules: vec!["crm".into()],
        users_delta: 3,
        ..Default::default()
    };
    let preview = client
        .preview_licence_change(billing::PreviewLicenceChangeRequest {
            change: Some(change.clone()),
            language: billing::Language::En as i32,
        })
        .await
        .expect("preview")
        .into_inner()
        .preview
        .expect("preview");
    let line = |code: &str| {
        preview
            .lines
            .iter()
            .find(|line| line.code == code)
            .unwrap_or_else(|| panic!("no line {code}"))
            .clone()
    };
    assert_eq!(line("handel").change, billing::ItemChange::Added as i32);
    assert_eq!(line("crm").change, billing::ItemChange::Removed as i32);
    assert_eq!(decimal(line("crm").prorated_amount.as_ref()), Decimal::ZERO);
    assert!(line("crm").explanation.contains("no refund"));
    let users = line("gebruikers");
    assert_eq!(users.change, billing::ItemChange::Increased as i32);
    assert_eq!(users.before.expect("before").quantity, "12");
    assert_eq!(users.after.expect("after").quantity, "15");
    // 12 → 15 users adds three users at 8.00 and Handel adds 15.00: 39.00 a month.
    let monthly_after = decimal(preview.monthly_after.as_ref());
    assert_eq!(
        monthly_after - decimal(preview.monthly_before.as_ref()),
        Decimal::new(2400, 2)
    );
    let expected = (Decimal::new(3900, 2) * Decimal::from(preview.days_remaining)
        / Decimal::from(preview.days_in_month))
    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let prorated = decimal(preview.prorated_total.as_ref());
    assert!(
        (prorated - expected).abs() <= Decimal::new(1, 2),
        "{prorated} vs {expected}"
    );

    let before = client
        .get_licence(billing::GetLicenceRequest {})
        .await
        .expect("licence")
        .into_inner()
        .licence
        .expect("licence");
    let request = billing::ChangeLicenceRequest {
        idempotency_key: key(),
        change: Some(change),
    };
    let changed = client
        .change_licence(request.clone())
        .await
        .expect("change")
        .into_inner();
    // Repeating the request with its key changes nothing.
    let repeated = client
        .change_licence(request)
        .await
        .expect("repeat")
        .into_inner();
    assert_eq!(repeated, changed);
    let licence = changed.licence.expect("licence");
    let now = licence.entitlements.expect("entitlements");
    assert!(now.modules.contains(&"crm".to_owned()));
    assert!(now.modules.contains(&"handel".to_owned()));
    assert_eq!(now.users, 15);
    let scheduled = licence.scheduled_entitlements.expect("scheduled removal");
    assert!(!scheduled.modules.contains(&"crm".to_owned()));
    let new_charges = licence.pending_charges.len() - before.pending_charges.len();
    assert_eq!(new_charges, 2, "{:?}", licence.pending_charges);

    // Removing CRM again names the date its removal is scheduled for.
    let twice = client
        .change_licence(billing::ChangeLicenceRequest {
            idempotency_key: key(),
            change: Some(billing::LicenceChange {
                remove_modules: vec!["crm".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "REMOVAL_SCHEDULED");
    let scheduled_date = date(licence.scheduled_date.as_ref()).to_string();
    assert!(
        twice.message().contains(&scheduled_date),
        "{}",
        twice.message()
    );
    stack.stop().await.expect("stop");
}

/// Several runs at once, as replicas would make them, issue each licence's invoice once,
/// numbered 1..n without gaps. Parallel credit notes continue the series, and a credit note
/// that loses a race takes no number.
#[tokio::test]
async fn concurrent_runs_and_credit_notes_keep_numbers_gapless() {
    let stack = Stack::start().await.expect("stack");
    let customers: Vec<OrganisationId> = (0..12).map(|_| OrganisationId::new()).collect();
    let mut activated = None;
    for (index, customer) in customers.iter().enumerate() {
        let licence = licensed(&stack, *customer, &format!("Klant {index}")).await;
        activated = Some(date(licence.activated_on.as_ref()));
    }
    let month = month_after(activated.expect("a licence"));

    // Five runs at once, each on its own connections, as five replicas would make them.
    let mut runs = Vec::new();
    for _ in 0..5 {
        let db = stack.billing_db.clone();
        let issuer = issuer(&stack);
        let period = dk_pricing::BillingMonth::of(date(Some(&month)));
        runs.push(tokio::spawn(async move {
            dk_billing::invoicing::run_month(
                &db,
                &issuer,
                &dk_billing::catalogue::Reader::default(),
                period,
                period.first_day(),
            )
            .await
            .expect("run")
            .issued
            .len()
        }));
    }
    let mut issued = 0;
    for run in runs {
        issued += run.await.expect("run task");
    }
    assert_eq!(issued, customers.len());
    let expected: Vec<i64> = (1..=customers.len() as i64).collect();
    assert_eq!(issued_sequences(&stack).await, expected);

    // Credit every invoice twice at once: one credit note per invoice wins.
    let mut finance = stack
        .billing_staff_client(&[Role::Finance])
        .await
        .expect("client");
    let invoices = customer_invoices(&mut finance).await;
    assert_eq!(invoices.len(), customers.len());
    let mut credits = Vec::new();
    for invoice in invoices.iter().chain(invoices.iter()) {
        let mut finance = finance.clone();
        let invoice_id = invoice.invoice_id.clone();
        credits.push(tokio::spawn(async move {
            finance
                .issue_credit_note(billing::IssueCreditNoteRequest {
                    idempotency_key: key(),
                    invoice_id,
                    line_numbers: vec![1],
                    reason: "Module dubbel gefactureerd".into(),
                })
                .await
        }));
    }
    let mut numbers = BTreeSet::new();
    let mut refused = 0;
    for credit in credits {
        match credit.await.expect("credit task") {
            Ok(response) => {
                let note = response.into_inner().credit_note.expect("credit note");
                assert!(decimal(note.total.as_ref()) < Decimal::ZERO);
                numbers.insert(note.invoice_number);
            }
            Err(status) => {
                assert!(
                    matches!(status.code(), Code::FailedPrecondition | Code::Aborted),
                    "{status:?}"
                );
                refused += 1;
            }
        }
    }
    assert_eq!(numbers.len(), customers.len());
    assert_eq!(refused, customers.len());
    let expected: Vec<i64> = (1..=2 * customers.len() as i64).collect();
    assert_eq!(issued_sequences(&stack).await, expected);
    stack.stop().await.expect("stop");
}

/// Issued invoices cannot be changed in the database. A credit note corrects them and lowers
/// their open amount, and a credit note itself cannot be credited.
#[tokio::test]
async fn invoices_are_immutable_and_corrected_by_credit_notes() {
    let stack = Stack::start().await.expect("stack");
    let licence = licensed(&stack, stack.organisation, "Bakkerij De Korst").await;
    let mut finance = stack
        .billing_staff_client(&[Role::Finance])
        .await
        .expect("client");
    let month = month_after(date(licence.activated_on.as_ref()));
    let invoice = run_ahead(&stack, month).await.0.remove(0);

    let backend = stack.billing_db.get_database_backend();
    for statement in [
        "UPDATE invoices SET total_minor = 1",
        "DELETE FROM invoice_lines",
    ] {
        let error = stack
            .billing_db
            .execute_raw(Statement::from_string(backend, statement))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("immutable"), "{error}");
    }

    let credit = finance
        .issue_credit_note(billing::IssueCreditNoteRequest {
            idempotency_key: key(),
            invoice_id: invoice.invoice_id.clone(),
            line_numbers: vec![],
            reason: "Licence per abuis gefactureerd".into(),
        })
        .await
        .expect("credit note")
        .into_inner()
        .credit_note
        .expect("credit note");
    assert_eq!(credit.kind, billing::InvoiceKind::CreditNote as i32);
    assert_eq!(credit.corrects_invoice_number, invoice.invoice_number);
    assert_eq!(credit.invoice_number, "DK000002");
    assert_eq!(
        decimal(credit.total.as_ref()),
        -decimal(invoice.total.as_ref())
    );
    assert!(credit.lines[0].description.starts_with("Creditering: "));

    let corrected = finance
        .get_invoice(billing::GetInvoiceRequest {
            invoice_id: invoice.invoice_id.clone(),
        })
        .await
        .expect("invoice")
        .into_inner()
        .invoice
        .expect("invoice");
    assert_eq!(decimal(corrected.open_amount.as_ref()), Decimal::ZERO);
    assert_eq!(
        corrected.payment_status,
        billing::PaymentStatus::Credited as i32
    );

    let nothing_left = finance
        .issue_credit_note(billing::IssueCreditNoteRequest {
            idempotency_key: key(),
            invoice_id: invoice.invoice_id.clone(),
            line_numbers: vec![],
            reason: "Nogmaals".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(nothing_left.code(), Code::FailedPrecondition);
    let of_credit = finance
        .issue_credit_note(billing::IssueCreditNoteRequest {
            idempotency_key: key(),
            invoice_id: credit.invoice_id.clone(),
            line_numbers: vec![],
            reason: "Creditnota corrigeren".into(),
        })
        .await
        .unwrap_err();
    assert!(
        of_credit.message().contains("is a credit note"),
        "{}",
        of_credit.message()
    );
    let unknown_line = finance
        .issue_credit_note(billing::IssueCreditNoteRequest {
            idempotency_key: key(),
            invoice_id: invoice.invoice_id.clone(),
            line_numbers: vec![99],
            reason: "Regel bestaat niet".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_line.code(), Code::InvalidArgument);
    assert!(
        unknown_line.message().contains("no line 99"),
        "{}",
        unknown_line.message()
    );
    assert_eq!(issued_sequences(&stack).await, [1, 2]);
    stack.stop().await.expect("stop");
}

/// Without the supplier's KvK number and VAT id no invoice is issued, the failure names them,
/// and no number is used up.
#[tokio::test]
async fn missing_legal_fields_stop_the_invoice_and_name_the_field() {
    let stack = Stack::start().await.expect("stack");
    let licence = licensed(&stack, stack.organisation, "Bakkerij De Korst").await;
    let period = dk_pricing::BillingMonth::of(date(Some(&month_after(date(
        licence.activated_on.as_ref(),
    )))));
    let mut incomplete = dk_billing::settings::IssuerSettings::demo(stack.vendor.as_uuid());
    incomplete.kvk_number.clear();
    incomplete.vat_id = "  ".into();
    let issuer = dk_billing::invoicing::Issuer {
        settings: incomplete,
        payment_term_days: 14,
    };
    let report = dk_billing::invoicing::run_month(
        &stack.billing_db,
        &issuer,
        &dk_billing::catalogue::Reader::default(),
        period,
        period.first_day(),
    )
    .await
    .expect("run");
    assert!(report.issued.is_empty());
    assert_eq!(report.failures.len(), 1);
    assert_eq!(
        report.failures[0].reason,
        "invoice not issued: missing supplier KvK number, supplier VAT id"
    );
    assert!(issued_sequences(&stack).await.is_empty());

    let (issued, _) = run_ahead(&stack, period.first_day().into()).await;
    assert_eq!(issued[0].invoice_number, "DK000001");
    stack.stop().await.expect("stop");
}

/// The whole loop: billing issues the invoice, bookkeeping books it for the vendor, the
/// customer's transfer arrives on the vendor's statement, matching applies it, and billing marks
/// its invoice paid.
#[tokio::test]
async fn payment_on_the_vendor_account_marks_the_invoice_paid() {
    let stack = Stack::start().await.expect("stack");
    let licence = licensed(&stack, stack.organisation, "Bakkerij De Korst").await;
    let month = month_after(date(licence.activated_on.as_ref()));
    let invoice = run_ahead(&stack, month).await.0.remove(0);
    let total = invoice.total.clone().expect("total").amount;

    let mut vendor_books = stack
        .bookkeeping_client(stack.vendor)
        .await
        .expect("client");
    let booked = dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut client = vendor_books.clone();
        async move {
            invoices(&mut client)
                .await
                .into_iter()
                .find(|booked| booked.number == "DK000001")
        }
    })
    .await
    .expect("bookkeeping books the issued invoice");
    assert_eq!(booked.amount.expect("amount").amount, total);
    assert_eq!(booked.counterparty_name, "Bakkerij De Korst");

    let mut vendor_bank = stack.banksync_client(stack.vendor).await.expect("client");
    register(&mut vendor_bank, "NL91ABNA0417164300").await;
    let amount = total.replace('.', ",");
    let statement = format!(
        "{{1:F01INGBNL2ABXXX0000000000}}\r\n{{2:I940INGBNL2AXXXN}}\r\n{{4:\r\n\
         :20:P260501000000001\r\n:25:NL91ABNA0417164300EUR\r\n:28C:00001\r\n\
         :60F:C260430EUR0,00\r\n\
         :61:2605040504C{amount}NTRFEREF//00000000000001\r\n/TRCD/00100/\r\n\
         :86:/EREF/NOTPROVIDED//CNTP/NL43ABNA0472615893/ABNANL2A/Bakkerij De Korst///REMI/USTD//Factuur DK000001/\r\n\
         :62F:C260504EUR{amount}\r\n-}}\r\n"
    );
    import(&mut vendor_bank, statement.as_bytes())
        .await
        .expect("import the vendor's statement");
    wait_for_matches(&mut vendor_books, 1).await;

    let customer = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let paid = payment_status(&customer, &invoice.invoice_id, billing::PaymentStatus::Paid)
        .await
        .expect("billing marks the invoice paid");
    assert_eq!(decimal(paid.open_amount.as_ref()), Decimal::ZERO);

    // The vendor's ledger: the invoice's VAT in box 1a of its month, no open item left, and a
    // trial balance that the journal rebuilds.
    let issued_on = date(invoice.issue_date.as_ref());
    let first = issued_on.with_day(1).expect("first day");
    let last = first + chrono::Months::new(1) - chrono::Days::new(1);
    let boxes = vendor_books
        .get_vat_return(dk_proto::bookkeeping::v1::GetVatReturnRequest {
            from: Some(first.into()),
            to: Some(last.into()),
            language: "en".into(),
        })
        .await
        .expect("VAT return")
        .into_inner()
        .boxes;
    let high = boxes.iter().find(|b| b.code == "1a").expect("box 1a");
    assert_eq!(decimal(high.base.as_ref()), decimal(invoice.net.as_ref()));
    let invoice_vat: Decimal = invoice.vat.iter().map(|v| decimal(v.amount.as_ref())).sum();
    assert_eq!(decimal(high.tax.as_ref()), invoice_vat);
    assert_eq!(
        high.description,
        "Supplies and services at the general rate"
    );
    let open = vendor_books
        .get_open_items(dk_proto::bookkeeping::v1::GetOpenItemsRequest {
            kind: 0,
            // The statement is dated before the run-ahead invoice; look after both.
            as_of: Some(last.into()),
        })
        .await
        .expect("open items")
        .into_inner();
    assert!(open.items.is_empty(), "{:?}", open.items);
    let trial = vendor_books
        .get_trial_balance(dk_proto::bookkeeping::v1::GetTrialBalanceRequest::default())
        .await
        .expect("trial balance")
        .into_inner();
    let rebuilt = dk_bookkeeping::ledger::reports::rebuilt_balances(
        &stack.bookkeeping_db,
        stack.vendor.as_uuid(),
        None,
    )
    .await
    .expect("rebuild");
    assert_eq!(
        trial.digest,
        dk_bookkeeping::ledger::reports::digest(&rebuilt)
    );
    assert_eq!(
        decimal(trial.total_debit.as_ref()),
        decimal(trial.total_credit.as_ref())
    );

    // Undoing the match in the vendor's books reopens the invoice in billing, and confirming
    // it again pays it again.
    let decided = wait_for_matches(&mut vendor_books, 1).await.remove(0);
    vendor_books
        .undo_match(dk_proto::bookkeeping::v1::UndoMatchRequest {
            idempotency_key: key(),
            match_id: decided.id.clone(),
        })
        .await
        .expect("undo the match");
    let reopened = payment_status(&customer, &invoice.invoice_id, billing::PaymentStatus::Open)
        .await
        .expect("billing reopens the invoice");
    assert_eq!(
        decimal(reopened.open_amount.as_ref()),
        decimal(invoice.total.as_ref())
    );
    vendor_books
        .confirm_suggestion(dk_proto::bookkeeping::v1::ConfirmSuggestionRequest {
            idempotency_key: key(),
            match_id: decided.id.clone(),
            invoice_ids: vec![booked.id.clone()],
        })
        .await
        .expect("confirm the match again");
    let repaid = payment_status(&customer, &invoice.invoice_id, billing::PaymentStatus::Paid)
        .await
        .expect("billing marks the invoice paid again");
    assert_eq!(decimal(repaid.open_amount.as_ref()), Decimal::ZERO);

    // Late copies of the first booking's events change nothing: the second booking outranks
    // them.
    let first_booking = stack
        .bookkeeping_db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM payment_bookings WHERE match_id = $1 AND undone_at IS NOT NULL",
            [uuid::Uuid::parse_str(&decided.id).expect("match id").into()],
        ))
        .await
        .expect("bookings")
        .expect("the undone booking")
        .try_get::<uuid::Uuid>("", "id")
        .expect("id");
    let euro = |amount: &str| dk_proto::common::v1::Money {
        amount: amount.to_owned(),
        currency_code: "EUR".into(),
    };
    let late = [
        Event::new(
            topology::INVOICE_PAYMENT_UNDONE,
            "/dk/bookkeeping",
            stack.vendor.as_uuid(),
            dk_proto::events::v1::InvoicePaymentUndone {
                organisation_id: stack.vendor.to_string(),
                invoice_id: booked.id.clone(),
                invoice_number: "DK000001".into(),
                invoice_kind: "sales".into(),
                amount_reversed: Some(euro(&total)),
                open_amount: Some(euro(&total)),
                mutation_id: decided.mutation_id.clone(),
                match_id: decided.id.clone(),
                booking_id: first_booking.to_string(),
            }
            .encode_to_vec(),
        ),
        Event::new(
            topology::INVOICE_PAID,
            "/dk/bookkeeping",
            stack.vendor.as_uuid(),
            dk_proto::events::v1::InvoicePaid {
                organisation_id: stack.vendor.to_string(),
                invoice_id: booked.id.clone(),
                invoice_number: "DK000001".into(),
                invoice_kind: "sales".into(),
                amount_applied: Some(euro("1.00")),
                open_amount: Some(euro("0.00")),
                fully_paid: false,
                mutation_id: decided.mutation_id.clone(),
                match_id: decided.id.clone(),
                booking_id: first_booking.to_string(),
            }
            .encode_to_vec(),
        ),
    ];
    stack
        .bus
        .publish("bookkeeping", &late)
        .await
        .expect("publish late events");
    for event in &late {
        dk_testkit::eventually(EVENT_TIMEOUT, || async {
            stack
                .billing_db
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT 1 AS done FROM processed_events WHERE event_id = $1",
                    [event.id.into()],
                ))
                .await
                .ok()
                .flatten()
        })
        .await
        .expect("billing processes the late event");
    }
    let still = payment_status(&customer, &invoice.invoice_id, billing::PaymentStatus::Paid)
        .await
        .expect("the invoice stays paid");
    assert_eq!(decimal(still.open_amount.as_ref()), Decimal::ZERO);
    stack.stop().await.expect("stop");
}

/// Waits until billing shows the invoice with `status`, and returns it.
async fn payment_status(
    client: &BillingClient,
    invoice_id: &str,
    status: billing::PaymentStatus,
) -> Option<billing::Invoice> {
    dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut client = client.clone();
        let id = invoice_id.to_owned();
        async move {
            let invoice = client
                .get_invoice(billing::GetInvoiceRequest { invoice_id: id })
                .await
                .ok()?
                .into_inner()
                .invoice?;
            (invoice.payment_status == status as i32).then_some(invoice)
        }
    })
    .await
}

/// Builds a valid Dutch IBAN for a bank code and a ten-digit account number.
fn nl_iban(bank: &str, account: u64) -> String {
    let bban = format!("{bank}{account:010}");
    let digits: String = format!("{bban}NL00")
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (c as u32 - 'A' as u32 + 10).to_string()
            }
        })
        .collect();
    let remainder = digits
        .bytes()
        .fold(0u64, |acc, digit| (acc * 10 + u64::from(digit - b'0')) % 97);
    format!("NL{:02}{bban}", 98 - remainder)
}

/// Banksync learns the licence's entitlements from billing's events: without the bank link no
/// account is linked automatically, and with it the ninth IBAN is refused.
#[tokio::test]
async fn automatic_bank_link_follows_the_licence() {
    let stack = Stack::start().await.expect("stack");
    let mut bank = stack
        .banksync_client(stack.organisation)
        .await
        .expect("client");
    let mut accounts = Vec::new();
    for number in 0..9 {
        let iban = nl_iban("INGB", 1_000_000 + number);
        accounts.push(register(&mut bank, &iban).await);
    }
    let link = |account: &dk_proto::banksync::v1::BankAccount| {
        dk_proto::banksync::v1::SetAutomaticLinkRequest {
            idempotency_key: key(),
            bank_account_id: account.id.clone(),
            enabled: true,
        }
    };
    let refused = bank
        .set_automatic_link(link(&accounts[0]))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "BANK_LINK_NOT_IN_LICENCE");

    licensed(&stack, stack.organisation, "Bakkerij De Korst").await;
    let first = dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut bank = bank.clone();
        let request = link(&accounts[0]);
        async move { bank.set_automatic_link(request).await.ok() }
    })
    .await
    .expect("the licence event reaches banksync")
    .into_inner();
    assert_eq!((first.linked_count, first.max_linked_ibans), (1, 8));
    for account in &accounts[1..8] {
        bank.set_automatic_link(link(account)).await.expect("link");
    }
    let ninth = bank
        .set_automatic_link(link(&accounts[8]))
        .await
        .unwrap_err();
    assert_eq!(ninth.code(), Code::FailedPrecondition);
    assert_eq!(reason(&ninth), "BANK_LINK_IBAN_LIMIT");
    assert!(
        ninth.message().contains(&accounts[8].iban),
        "{}",
        ninth.message()
    );
    assert!(ninth.message().contains("at most 8"), "{}", ninth.message());

    // Unlinking one frees a place.
    bank.set_automatic_link(dk_proto::banksync::v1::SetAutomaticLinkRequest {
        idempotency_key: key(),
        bank_account_id: accounts[0].id.clone(),
        enabled: false,
    })
    .await
    .expect("unlink");
    let ninth = bank
        .set_automatic_link(link(&accounts[8]))
        .await
        .expect("link after unlinking")
        .into_inner();
    assert_eq!(ninth.linked_count, 8);
    assert!(ninth.bank_account.expect("account").automatic_link);
    stack.stop().await.expect("stop");
}
