//! Money survives the database exactly, on PostgreSQL and on SQLite.

use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_testkit::{BusKind, DatabaseKind, Stack};

use crate::*;

async fn round_trip(stack: &Stack) {
    let mut client = stack
        .bookkeeping_client(stack.organisation)
        .await
        .expect("client");
    // Large enough that an f64 would lose the cents (it keeps about 15 significant digits).
    let amounts = [
        "123456789012345.67",
        "0.01",
        "90071992547409.93",
        "1234567.89",
    ];
    for (index, amount) in amounts.iter().enumerate() {
        let created = create_invoice(
            &mut client,
            bookkeeping::InvoiceKind::Sales,
            &format!("2026-9{index:03}"),
            amount,
            "",
            "",
        )
        .await;
        let read = client
            .get_invoice(bookkeeping::GetInvoiceRequest { id: created.id })
            .await
            .expect("get invoice")
            .into_inner()
            .invoice
            .expect("invoice");
        assert_eq!(read.amount.expect("amount").amount, *amount);
        assert_eq!(read.open_amount.expect("open amount").amount, *amount);
    }
}

#[tokio::test]
async fn money_round_trips_on_postgres() {
    let stack = Stack::start().await.expect("stack");
    round_trip(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn money_round_trips_on_sqlite() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    round_trip(&stack).await;
    stack.stop().await.expect("stop");
}
