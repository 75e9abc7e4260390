//! Prepaid credit: lots from cards and packages, draws oldest first, the fallback to
//! post-calculation, concurrent draws that never overdraw, renewals once per period, and the
//! balance with its projection.

use dk_domain::OrganisationId;
use dk_proto::support::v1 as support;
use dk_testkit::{Stack, SupportClient};
use sea_orm::ConnectionTrait;

use crate::*;

async fn prepaid_customer(stack: &Stack, organisation: OrganisationId) -> SupportClient {
    let mut client = stack.support_client(organisation).await.expect("client");
    let mode = client
        .set_billing_mode(support::SetBillingModeRequest {
            idempotency_key: key(),
            mode: support::BillingMode::Prepaid as i32,
        })
        .await
        .expect("set billing mode")
        .into_inner()
        .mode;
    assert_eq!(mode, support::BillingMode::Prepaid as i32);
    client
}

async fn buy(
    client: &mut SupportClient,
    product: support::CreditProduct,
) -> support::BuyCreditResponse {
    client
        .buy_credit(support::BuyCreditRequest {
            idempotency_key: key(),
            product: product as i32,
        })
        .await
        .expect("buy credit")
        .into_inner()
}

/// Opens a ticket and moves it to the billed second line with the customer's agreement.
async fn billed_ticket(
    customer: &mut SupportClient,
    agent: &mut SupportClient,
    organisation: OrganisationId,
) -> String {
    let ticket = customer
        .open_ticket(support::OpenTicketRequest {
            idempotency_key: key(),
            subject: "Maatwerkrapport".into(),
            channel: support::Channel::Phone as i32,
        })
        .await
        .expect("open ticket")
        .into_inner()
        .ticket
        .expect("ticket");
    agent
        .escalate_ticket(support::EscalateTicketRequest {
            idempotency_key: key(),
            organisation_id: organisation.to_string(),
            ticket_id: ticket.ticket_id.clone(),
            to_line: support::SupportLine::Second as i32,
            customer_agreed_by: "Jan de Vries".into(),
            customer_agree_time: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp() - 60,
                nanos: 0,
            }),
        })
        .await
        .expect("escalate");
    ticket.ticket_id
}

async fn log(
    agent: &mut SupportClient,
    organisation: OrganisationId,
    ticket: &str,
    minutes: i32,
) -> Result<support::LogTimeResponse, tonic::Status> {
    agent
        .log_time(support::LogTimeRequest {
            idempotency_key: key(),
            organisation_id: organisation.to_string(),
            ticket_id: ticket.into(),
            minutes,
            description: "Rapport aangepast".into(),
            work_date: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn balance(client: &mut SupportClient) -> support::GetCreditBalanceResponse {
    client
        .get_credit_balance(support::GetCreditBalanceRequest::default())
        .await
        .expect("balance")
        .into_inner()
}

#[tokio::test]
async fn credit_is_drawn_oldest_lot_first() {
    let stack = Stack::start().await.expect("stack");
    let organisation = stack.organisation;
    let mut customer = prepaid_customer(&stack, organisation).await;
    let mut agent = stack.support_agent_client().await.expect("agent");

    let ten = buy(&mut customer, support::CreditProduct::Card10Hours).await;
    let ten = ten.lot.expect("lot");
    assert_eq!(ten.total_minutes, 600);
    assert_eq!(ten.hourly_rate.clone().expect("rate").amount, "90.25");
    let twenty = buy(&mut customer, support::CreditProduct::Card20Hours).await;
    assert_eq!(twenty.amount.clone().expect("amount").amount, "1710.00");
    let twenty = twenty.lot.expect("lot");
    assert_eq!(twenty.hourly_rate.clone().expect("rate").amount, "85.50");

    let ticket = billed_ticket(&mut customer, &mut agent, organisation).await;
    // 590 minutes round up to 600: the whole first card.
    log(&mut agent, organisation, &ticket, 590)
        .await
        .expect("log");
    // 10 more stay within the billed 600 and draw nothing.
    log(&mut agent, organisation, &ticket, 10)
        .await
        .expect("log");
    // 20 more make 620, billed 630: 30 from the second card.
    let last = log(&mut agent, organisation, &ticket, 20)
        .await
        .expect("log");
    let last_entry = last.time_entry.expect("entry").time_entry_id;

    let state = balance(&mut customer).await;
    assert_eq!(state.mode, support::BillingMode::Prepaid as i32);
    assert_eq!(state.balance_minutes, 600 + 1200 - 630);
    let remaining: Vec<i32> = state.lots.iter().map(|lot| lot.remaining_minutes).collect();
    assert_eq!(remaining, [0, 1170]);
    let draws: Vec<(String, i32)> = state
        .draws
        .iter()
        .map(|draw| (draw.lot_id.clone(), draw.minutes))
        .collect();
    assert_eq!(
        draws,
        [(ten.lot_id.clone(), 600), (twenty.lot_id.clone(), 30)]
    );
    assert!(state.draws.iter().all(|draw| draw.ticket_id == ticket));
    assert_eq!(state.draws[1].time_entry_id, last_entry);
    assert_eq!(state.used_minutes_last_90_days, 630);
    assert!(state.projected_exhausted_on.is_some());
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn exhausted_credit_falls_back_to_post_calculation() {
    let stack = Stack::start().await.expect("stack");
    let organisation = stack.organisation;
    let mut customer = prepaid_customer(&stack, organisation).await;
    let mut agent = stack.support_agent_client().await.expect("agent");
    buy(&mut customer, support::CreditProduct::Card10Hours).await;
    let ticket = billed_ticket(&mut customer, &mut agent, organisation).await;
    // 700 minutes are billed as 705: 600 from the card, 105 by post-calculation.
    log(&mut agent, organisation, &ticket, 700)
        .await
        .expect("log");

    let state = balance(&mut customer).await;
    assert_eq!(state.balance_minutes, 0);
    let draws: Vec<(bool, i32)> = state
        .draws
        .iter()
        .map(|draw| (draw.lot_id.is_empty(), draw.minutes))
        .collect();
    assert_eq!(draws, [(false, 600), (true, 105)]);
    assert!(
        state.projected_exhausted_on.is_none(),
        "nothing left to run out"
    );
    stack.stop().await.expect("stop");
}

/// Twenty agents log at the same moment on ten tickets: the card gives exactly its minutes,
/// the rest falls back, and no lot goes below zero.
#[tokio::test]
async fn concurrent_draws_never_overdraw() {
    let stack = Stack::start().await.expect("stack");
    let organisation = stack.organisation;
    let mut customer = prepaid_customer(&stack, organisation).await;
    let mut agent = stack.support_agent_client().await.expect("agent");
    buy(&mut customer, support::CreditProduct::Card10Hours).await;
    let mut tickets = Vec::new();
    for _ in 0..10 {
        tickets.push(billed_ticket(&mut customer, &mut agent, organisation).await);
    }
    let mut calls = Vec::new();
    for index in 0..20 {
        let mut agent = agent.clone();
        let ticket = tickets[index % tickets.len()].clone();
        // 45 minutes are three whole units, so each call adds exactly 45 billed minutes.
        calls.push(tokio::spawn(async move {
            log(&mut agent, organisation, &ticket, 45).await
        }));
    }
    for call in calls {
        call.await.expect("call task").expect("log time");
    }
    let state = balance(&mut customer).await;
    assert_eq!(state.balance_minutes, 0);
    let from_lots: i32 = state
        .draws
        .iter()
        .filter(|draw| !draw.lot_id.is_empty())
        .map(|draw| draw.minutes)
        .sum();
    let fallback: i32 = state
        .draws
        .iter()
        .filter(|draw| draw.lot_id.is_empty())
        .map(|draw| draw.minutes)
        .sum();
    assert_eq!(from_lots, 600);
    assert_eq!(fallback, 20 * 45 - 600);
    assert!(state.lots.iter().all(|lot| lot.remaining_minutes >= 0));
    stack.stop().await.expect("stop");
}

/// A package adds its lot once per period, however often the renewal runs.
#[tokio::test]
async fn package_renewals_add_one_lot_per_period() {
    let stack = Stack::start().await.expect("stack");
    let organisation = stack.organisation;
    let mut customer = prepaid_customer(&stack, organisation).await;
    let mut agent = stack.support_agent_client().await.expect("agent");
    let bought = buy(&mut customer, support::CreditProduct::PackageMonthly).await;
    let first = bought.lot.expect("lot");
    assert_eq!(first.total_minutes, 240);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive();
    assert_eq!(first.period, format!("{}", today.format("%Y-%m")));

    let renew = |day: chrono::NaiveDate| support::RenewPackagesRequest {
        idempotency_key: key(),
        period: Some(day.into()),
    };
    let this_month = agent
        .renew_packages(renew(today))
        .await
        .expect("renew")
        .into_inner();
    assert!(this_month.added.is_empty());
    assert_eq!(this_month.already_added, 1);
    // A month before the package began gets nothing.
    let before = today - chrono::Months::new(1);
    let nothing = agent
        .renew_packages(renew(before))
        .await
        .expect("renew")
        .into_inner();
    assert!(nothing.added.is_empty());
    // A month that has not begun is rejected: no hours in advance.
    let next = today + chrono::Months::new(1);
    let early = agent.renew_packages(renew(next)).await.unwrap_err();
    assert_eq!(early.code(), tonic::Code::InvalidArgument);

    // A package that began two months ago gets last month's lot once.
    let packages = stack
        .support_db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT id::text AS id FROM credit_packages",
        ))
        .await
        .expect("packages");
    let package: String = packages[0].try_get("", "id").expect("package id");
    backdate_row(&stack, "credit_packages", "started_at", &package, 70).await;
    let added = agent
        .renew_packages(renew(before))
        .await
        .expect("renew")
        .into_inner();
    assert_eq!(added.added.len(), 1);
    assert_eq!(added.added[0].period, format!("{}", before.format("%Y-%m")));
    let again = agent
        .renew_packages(renew(before))
        .await
        .expect("renew")
        .into_inner();
    assert!(again.added.is_empty());
    assert_eq!(again.already_added, 1);

    let denied = customer.renew_packages(renew(today)).await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert_eq!(balance(&mut customer).await.balance_minutes, 480);
    stack.stop().await.expect("stop");
}

/// Post-calculation customers draw nothing, and a product must be named.
#[tokio::test]
async fn post_calculation_draws_nothing() {
    let stack = Stack::start().await.expect("stack");
    let organisation = stack.organisation;
    let mut customer = stack.support_client(organisation).await.expect("client");
    let mut agent = stack.support_agent_client().await.expect("agent");
    buy(&mut customer, support::CreditProduct::Card10Hours).await;
    let ticket = billed_ticket(&mut customer, &mut agent, organisation).await;
    log(&mut agent, organisation, &ticket, 30)
        .await
        .expect("log");
    let state = balance(&mut customer).await;
    assert_eq!(state.mode, support::BillingMode::PostCalculation as i32);
    assert_eq!(state.balance_minutes, 600);
    assert!(state.draws.is_empty());

    let unnamed = customer
        .buy_credit(support::BuyCreditRequest {
            idempotency_key: key(),
            product: 0,
        })
        .await
        .unwrap_err();
    assert!(
        unnamed.message().starts_with("product"),
        "{}",
        unnamed.message()
    );
    stack.stop().await.expect("stop");
}

/// An ended month is post-calculated once per organisation: billed time that credit did not
/// cover, at 95.00 an hour. First-line time and covered time are not charged.
#[tokio::test]
async fn ended_month_is_post_calculated_once() {
    let stack = Stack::start().await.expect("stack");
    let mut agent = stack.support_agent_client().await.expect("agent");
    let last_month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive()
        - chrono::Months::new(1);
    let month = last_month.format("%Y-%m").to_string();
    let log_then =
        |organisation: OrganisationId, ticket: String, minutes: i32| support::LogTimeRequest {
            idempotency_key: key(),
            organisation_id: organisation.to_string(),
            ticket_id: ticket,
            minutes,
            description: "Boekingen gecorrigeerd".into(),
            work_date: last_month.to_string(),
        };

    // Post-calculation customer: 27 minutes are billed as 30.
    let arrears = stack.organisation;
    let mut arrears_client = stack.support_client(arrears).await.expect("client");
    let ticket = billed_ticket(&mut arrears_client, &mut agent, arrears).await;
    backdate_ticket(&stack, &ticket, 40).await;
    agent
        .log_time(log_then(arrears, ticket, 27))
        .await
        .expect("log");

    // Prepaid customer: 700 minutes are billed as 705, of which the card covers 600.
    let prepaid = stack.other_organisation;
    let mut prepaid_client = prepaid_customer(&stack, prepaid).await;
    buy(&mut prepaid_client, support::CreditProduct::Card10Hours).await;
    let ticket = billed_ticket(&mut prepaid_client, &mut agent, prepaid).await;
    backdate_ticket(&stack, &ticket, 40).await;
    agent
        .log_time(log_then(prepaid, ticket, 700))
        .await
        .expect("log");

    // First-line time only: no statement.
    let free = OrganisationId::new();
    let mut free_client = stack.support_client(free).await.expect("client");
    let question = free_client
        .open_ticket(support::OpenTicketRequest {
            idempotency_key: key(),
            subject: "Hoe exporteer ik?".into(),
            channel: support::Channel::Email as i32,
        })
        .await
        .expect("open")
        .into_inner()
        .ticket
        .expect("ticket");
    backdate_ticket(&stack, &question.ticket_id, 40).await;
    agent
        .log_time(log_then(free, question.ticket_id, 40))
        .await
        .expect("log");

    let run = |month: String| support::RunPostCalculationRequest {
        idempotency_key: key(),
        month,
    };
    let first = agent
        .run_post_calculation(run(month.clone()))
        .await
        .expect("run")
        .into_inner();
    assert_eq!(first.statements.len(), 2);
    let statement_of = |organisation: OrganisationId| {
        first
            .statements
            .iter()
            .find(|statement| statement.organisation_id == organisation.to_string())
            .cloned()
            .expect("statement of the organisation")
    };
    let arrears_statement = statement_of(arrears);
    let line = &arrears_statement.lines[0];
    assert_eq!(
        (
            line.billed_minutes,
            line.prepaid_minutes,
            line.post_calculated_minutes
        ),
        (30, 0, 30)
    );
    assert_eq!(line.amount.clone().expect("amount").amount, "47.50");
    assert_eq!(line.line, support::SupportLine::Second as i32);
    let prepaid_statement = statement_of(prepaid);
    let line = &prepaid_statement.lines[0];
    assert_eq!(
        (
            line.billed_minutes,
            line.prepaid_minutes,
            line.post_calculated_minutes
        ),
        (705, 600, 105)
    );
    assert_eq!(
        prepaid_statement.total.clone().expect("total").amount,
        "166.25"
    );

    let again = agent
        .run_post_calculation(run(month))
        .await
        .expect("run again")
        .into_inner();
    assert!(again.statements.is_empty());
    assert_eq!(again.already_issued, 2);

    let this_month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive()
        .format("%Y-%m")
        .to_string();
    let early = agent
        .run_post_calculation(run(this_month))
        .await
        .unwrap_err();
    assert_eq!(early.code(), tonic::Code::InvalidArgument);
    assert!(
        early.message().contains("has not ended"),
        "{}",
        early.message()
    );
    stack.stop().await.expect("stop");
}
