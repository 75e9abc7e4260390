//! Delivery guarantees: redelivery changes nothing, undecodable events are dead-lettered.

use std::time::Duration;

use dk_messaging::topology::{BANK_MUTATION_IMPORTED, BOOKKEEPING_BANK_MUTATIONS};
use dk_messaging::{Bus, Event};
use dk_proto::bookkeeping::v1::MatchOutcome;
use dk_proto::events::v1::BankMutationImported;
use dk_testkit::Stack;
use prost::Message;

use crate::*;

/// The bank account of the test's mutations. Bookkeeping opens a ledger account for each bank
/// account that a mutation names, and the chart has room for a limited number of them.
const BANK_ACCOUNT_ID: uuid::Uuid =
    uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);

fn payment_event(stack: &Stack, mutation_id: uuid::Uuid, remittance: &str, amount: &str) -> Event {
    let payload = BankMutationImported {
        mutation_id: mutation_id.to_string(),
        organisation_id: stack.organisation.to_string(),
        bank_account_id: BANK_ACCOUNT_ID.to_string(),
        account_iban: DEMO_ACCOUNT.into(),
        booking_date: Some(
            chrono::NaiveDate::from_ymd_opt(2026, 4, 2)
                .expect("date")
                .into(),
        ),
        value_date: Some(
            chrono::NaiveDate::from_ymd_opt(2026, 4, 2)
                .expect("date")
                .into(),
        ),
        amount: eur(amount),
        counterparty_iban: "NL33RABO0162738495".into(),
        counterparty_name: "Kantoorhuis Smit".into(),
        remittance: remittance.into(),
        ..Default::default()
    };
    Event::new(
        BANK_MUTATION_IMPORTED,
        "/dk/banksync",
        stack.organisation.as_uuid(),
        payload.encode_to_vec(),
    )
}

#[tokio::test]
async fn redelivered_event_books_nothing_twice() {
    let stack = Stack::start().await.expect("stack");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    let mutation_id = uuid::Uuid::now_v7();
    let event = payment_event(&stack, mutation_id, "Factuur 2026-0016", "60.50");

    stack
        .bus
        .publish("banksync", std::slice::from_ref(&event))
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 1).await;
    assert_eq!(
        MatchOutcome::try_from(decisions[0].outcome),
        Ok(MatchOutcome::Exact)
    );
    assert_eq!(
        open_amount(&invoices(&mut bookkeeping).await, "2026-0016"),
        "0.00"
    );

    // The broker may deliver the same event again, and a producer may publish the same
    // mutation again under a new event id: neither may book a second payment.
    let again = vec![event.clone(), event.clone()];
    stack
        .bus
        .publish("banksync", &again)
        .await
        .expect("publish again");
    let mut renamed = event.clone();
    renamed.id = uuid::Uuid::now_v7();
    stack
        .bus
        .publish("banksync", &[renamed])
        .await
        .expect("publish under a new id");

    // A marker event published last; once it is decided, the repeats before it were handled.
    let marker = payment_event(&stack, uuid::Uuid::now_v7(), "geen factuurnummer", "1.00");
    stack
        .bus
        .publish("banksync", &[marker])
        .await
        .expect("publish marker");
    let decisions = wait_for_matches(&mut bookkeeping, 2).await;
    assert_eq!(decisions.len(), 2, "one decision per mutation");
    let for_mutation: Vec<_> = decisions
        .iter()
        .filter(|decision| decision.mutation_id == mutation_id.to_string())
        .collect();
    assert_eq!(for_mutation.len(), 1);
    assert_eq!(
        open_amount(&invoices(&mut bookkeeping).await, "2026-0016"),
        "0.00"
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn undecodable_event_is_dead_lettered() {
    let stack = Stack::start().await.expect("stack");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    let broken = Event::new(
        BANK_MUTATION_IMPORTED,
        "/dk/banksync",
        stack.organisation.as_uuid(),
        vec![0xff, 0xff, 0xff],
    );
    stack
        .bus
        .publish("banksync", &[broken])
        .await
        .expect("publish");

    let Bus::Amqp(bus) = &stack.bus else {
        panic!("the default test stack runs on RabbitMQ");
    };
    let dead = dk_testkit::eventually(Duration::from_secs(10), || async {
        let count = bus
            .dead_letter_count(&BOOKKEEPING_BANK_MUTATIONS)
            .await
            .ok()?;
        (count == 1).then_some(count)
    })
    .await;
    assert_eq!(dead, Some(1), "the event moved to the dead-letter queue");
    assert!(
        matches(&mut bookkeeping, false).await.is_empty(),
        "nothing was decided"
    );

    // The consumer goes on with the next event.
    let event = payment_event(&stack, uuid::Uuid::now_v7(), "Factuur 2026-0016", "60.50");
    stack
        .bus
        .publish("banksync", &[event])
        .await
        .expect("publish");
    wait_for_matches(&mut bookkeeping, 1).await;
    stack.stop().await.expect("stop");
}

/// Two bookkeeping replicas take the same mutation, published again and again under new event
/// ids, from one queue at once: it is decided and booked once, and the database refuses a
/// second active booking even from outside the service.
#[tokio::test]
async fn two_replicas_book_a_mutation_once() {
    use sea_orm::ConnectionTrait;

    let mut stack = Stack::start().await.expect("stack");
    stack
        .start_bookkeeping_replica()
        .await
        .expect("second replica");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    let mutation_id = uuid::Uuid::now_v7();
    let event = payment_event(&stack, mutation_id, "Factuur 2026-0016", "60.50");
    let copies: Vec<Event> = (0..40)
        .map(|_| {
            let mut copy = event.clone();
            copy.id = uuid::Uuid::now_v7();
            copy
        })
        .collect();
    stack
        .bus
        .publish("banksync", &copies)
        .await
        .expect("publish copies");
    let marker = payment_event(&stack, uuid::Uuid::now_v7(), "geen factuurnummer", "1.00");
    stack
        .bus
        .publish("banksync", &[marker])
        .await
        .expect("publish marker");
    let decisions = wait_for_matches(&mut bookkeeping, 2).await;
    assert_eq!(decisions.len(), 2, "one decision per mutation");
    assert_eq!(
        open_amount(&invoices(&mut bookkeeping).await, "2026-0016"),
        "0.00"
    );
    let db = &stack.bookkeeping_db;
    let bookings = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM payment_bookings WHERE mutation_id = '{mutation_id}'"
            ),
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(bookings, 1);
    let error = db
        .execute_unprepared(&format!(
            "INSERT INTO payment_bookings (id, organisation_id, mutation_id, match_id, entry_id, created_at) \
             SELECT gen_random_uuid(), organisation_id, mutation_id, match_id, entry_id, now() \
             FROM payment_bookings WHERE mutation_id = '{mutation_id}'"
        ))
        .await
        .expect_err("a second active booking");
    assert!(
        error
            .to_string()
            .contains("payment_bookings_active_mutation"),
        "{error}"
    );
    stack.stop().await.expect("stop");
}

/// The consumer's cached invoice index follows changes made elsewhere: an invoice created after
/// the index was built, and an invoice reopened by an undo, are both found by the next payment.
#[tokio::test]
async fn invoice_index_follows_other_writers() {
    let stack = Stack::start().await.expect("stack");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    let outcome_of = |decisions: &[dk_proto::bookkeeping::v1::Match], id: uuid::Uuid| {
        let found = decisions
            .iter()
            .find(|decision| decision.mutation_id == id.to_string())
            .expect("decision for the mutation");
        (
            MatchOutcome::try_from(found.outcome).expect("outcome"),
            found.id.clone(),
        )
    };

    let first = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(&stack, first, "Factuur 2026-0016", "60.50")],
        )
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 1).await;
    let (outcome, first_match) = outcome_of(&decisions, first);
    assert_eq!(outcome, MatchOutcome::Exact);

    create_invoice(
        &mut bookkeeping,
        dk_proto::bookkeeping::v1::InvoiceKind::Sales,
        "2026-0099",
        "99.00",
        "",
        "",
    )
    .await;
    let second = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(&stack, second, "Factuur 2026-0099", "99.00")],
        )
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 2).await;
    assert_eq!(outcome_of(&decisions, second).0, MatchOutcome::Exact);

    bookkeeping
        .undo_match(dk_proto::bookkeeping::v1::UndoMatchRequest {
            idempotency_key: key(),
            match_id: first_match,
        })
        .await
        .expect("undo");
    let third = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(&stack, third, "Factuur 2026-0016", "60.50")],
        )
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 3).await;
    assert_eq!(
        outcome_of(&decisions, third).0,
        MatchOutcome::Exact,
        "the reopened invoice is paid again, not flagged as a double payment"
    );
    stack.stop().await.expect("stop");
}

/// A batch in flight while another writer commits an invoice keeps its decision, as if it had
/// committed first, and the next batch decides against the new invoice. Nothing fails.
#[tokio::test]
async fn invoice_during_batch_counts_from_next() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let stack = Stack::start().await.expect("stack");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    // A first payment makes the consumer build its index.
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(
                &stack,
                uuid::Uuid::now_v7(),
                "Factuur 2026-0016",
                "60.50",
            )],
        )
        .await
        .expect("publish");
    wait_for_matches(&mut bookkeeping, 1).await;

    // Another writer adds invoice 2026-0099 and raises the version, and keeps the row locked.
    let db = &stack.bookkeeping_db;
    let writer = db.begin().await.expect("begin");
    writer
        .execute_unprepared(&format!(
            "CREATE TEMP TABLE added ON COMMIT DROP AS \
               SELECT * FROM invoices WHERE number = '2026-0016'; \
             UPDATE added SET id = gen_random_uuid(), number = '2026-0099', \
               number_key = '2026-0099', amount_minor = 9900, open_minor = 9900, \
               payment_reference = NULL; \
             INSERT INTO invoices SELECT * FROM added; \
             UPDATE invoice_versions SET version = version + 1 \
               WHERE organisation_id = '{}'",
            stack.organisation
        ))
        .await
        .expect("add an invoice");
    let during = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(&stack, during, "Factuur 2026-0099", "99.00")],
        )
        .await
        .expect("publish");

    // The batch decides without the uncommitted invoice, then waits for the version row.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                   AND wait_event_type = 'Lock' AND query LIKE '%invoice_versions%'",
            ))
            .await
            .expect("activity")
            .expect("row")
            .try_get::<i64>("", "n")
            .expect("n");
        if waiting > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no batch waited for the invoice version"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writer.commit().await.expect("commit");

    let after = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(&stack, after, "Factuur 2026-0099", "99.00")],
        )
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 3).await;
    let outcome_of = |id: uuid::Uuid| {
        let decision = decisions
            .iter()
            .find(|decision| decision.mutation_id == id.to_string())
            .expect("decision");
        MatchOutcome::try_from(decision.outcome).expect("outcome")
    };
    assert_eq!(
        outcome_of(during),
        MatchOutcome::Unmatched,
        "decided before the invoice was committed"
    );
    assert_eq!(
        outcome_of(after),
        MatchOutcome::Exact,
        "decided against the new invoice"
    );
    assert_eq!(
        open_amount(&invoices(&mut bookkeeping).await, "2026-0099"),
        "0.00"
    );
    stack.stop().await.expect("stop");
}

/// Invoices created without pause while 400 mutations are booked make the consumer read the
/// index again, but fail no batch: every mutation is decided, none is dead-lettered, and a
/// payment after the invoices pays one of them.
#[tokio::test]
async fn invoices_created_during_an_import_fail_no_batch() {
    let stack = Stack::start().await.expect("stack");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    let creating = tokio_util::sync::CancellationToken::new();
    let creator = tokio::spawn({
        let mut client = bookkeeping.clone();
        let creating = creating.clone();
        async move {
            let mut created = 0;
            while !creating.is_cancelled() && created < 300 {
                create_invoice(
                    &mut client,
                    dk_proto::bookkeeping::v1::InvoiceKind::Sales,
                    &format!("2026-{:04}", 500 + created),
                    "10.00",
                    "",
                    "",
                )
                .await;
                created += 1;
            }
            created
        }
    });
    for round in 0..8 {
        let events: Vec<Event> = (0..50)
            .map(|cents| {
                let amount = format!("{}.{cents:02}", 1 + round);
                payment_event(&stack, uuid::Uuid::now_v7(), "geen factuurnummer", &amount)
            })
            .collect();
        stack
            .bus
            .publish("banksync", &events)
            .await
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_matches(&mut bookkeeping, 400).await;
    creating.cancel();
    let created = creator.await.expect("invoices created");
    assert!(created > 0, "invoices were created during the import");

    let last = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(&stack, last, "Factuur 2026-0500", "10.00")],
        )
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 401).await;
    assert_eq!(decisions.len(), 401, "one decision per mutation");
    let paid = decisions
        .iter()
        .find(|decision| decision.mutation_id == last.to_string())
        .expect("decision of the last payment");
    assert_eq!(
        MatchOutcome::try_from(paid.outcome),
        Ok(MatchOutcome::Exact)
    );
    let Bus::Amqp(bus) = &stack.bus else {
        panic!("the default test stack runs on RabbitMQ");
    };
    let dead = bus
        .dead_letter_count(&BOOKKEEPING_BANK_MUTATIONS)
        .await
        .expect("count");
    assert_eq!(dead, 0, "no mutation dead-lettered");
    stack.stop().await.expect("stop");
}

/// Publishes 400 mutations that name no invoice and two payments of invoice 2026-0016 among
/// them, in eight publishes, so the consumer books them in several batches, two at a time.
/// The second payment is decided on what the first left open, and each mutation is decided once.
async fn check_overlapping_batches(stack: &Stack) {
    let (_, _, mut bookkeeping) = demo_organisation(stack).await;
    let first = uuid::Uuid::now_v7();
    let second = uuid::Uuid::now_v7();
    for round in 0..8 {
        let mut events: Vec<Event> = (0..50)
            .map(|cents| {
                let amount = format!("{}.{cents:02}", 1 + round);
                payment_event(stack, uuid::Uuid::now_v7(), "geen factuurnummer", &amount)
            })
            .collect();
        if round == 2 {
            events.push(payment_event(stack, first, "Factuur 2026-0016", "20.00"));
        }
        if round == 5 {
            events.push(payment_event(stack, second, "Factuur 2026-0016", "40.50"));
        }
        stack
            .bus
            .publish("banksync", &events)
            .await
            .expect("publish");
    }

    let decisions = wait_for_matches(&mut bookkeeping, 402).await;
    assert_eq!(decisions.len(), 402, "one decision per mutation");
    let mutations: std::collections::HashSet<&str> = decisions
        .iter()
        .map(|decision| decision.mutation_id.as_str())
        .collect();
    assert_eq!(mutations.len(), 402, "no mutation decided twice");
    let outcome_of = |id: uuid::Uuid| {
        let decision = decisions
            .iter()
            .find(|decision| decision.mutation_id == id.to_string())
            .expect("decision for the payment");
        MatchOutcome::try_from(decision.outcome).expect("outcome")
    };
    assert_eq!(outcome_of(first), MatchOutcome::Partial);
    assert_eq!(
        outcome_of(second),
        MatchOutcome::Exact,
        "the second payment pays what the first left open"
    );
    assert_eq!(
        open_amount(&invoices(&mut bookkeeping).await, "2026-0016"),
        "0.00"
    );
}

#[tokio::test]
async fn overlapping_batches_keep_order_on_postgres() {
    let stack = Stack::start().await.expect("stack");
    check_overlapping_batches(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn overlapping_batches_keep_order_on_sqlite() {
    let stack = dk_testkit::Stack::start_with(
        dk_testkit::BusKind::RabbitMq,
        dk_testkit::DatabaseKind::Sqlite,
    )
    .await
    .expect("stack");
    check_overlapping_batches(&stack).await;
    stack.stop().await.expect("stop");
}

/// Four undos of one match at once: one reverses the booking, and the others wait for it and
/// then find nothing to undo, with the outcome the first left.
#[tokio::test]
async fn parallel_undos_of_one_match() {
    let stack = Stack::start().await.expect("stack");
    let (_, _, mut bookkeeping) = demo_organisation(&stack).await;
    let mutation = uuid::Uuid::now_v7();
    stack
        .bus
        .publish(
            "banksync",
            &[payment_event(
                &stack,
                mutation,
                "Factuur 2026-0016",
                "60.50",
            )],
        )
        .await
        .expect("publish");
    let decisions = wait_for_matches(&mut bookkeeping, 1).await;
    let match_id = decisions[0].id.clone();

    let undos = (0..4).map(|_| {
        let mut client = bookkeeping.clone();
        let match_id = match_id.clone();
        async move {
            client
                .undo_match(dk_proto::bookkeeping::v1::UndoMatchRequest {
                    idempotency_key: key(),
                    match_id,
                })
                .await
        }
    });
    let results = futures::future::join_all(undos).await;
    let undone = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(undone, 1, "{results:?}");
    for status in results.iter().filter_map(|result| result.as_ref().err()) {
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
        assert!(
            status.message().contains("books nothing (suggested)"),
            "{status:?}"
        );
    }
    assert_eq!(
        open_amount(&invoices(&mut bookkeeping).await, "2026-0016"),
        "60.50"
    );
    stack.stop().await.expect("stop");
}
