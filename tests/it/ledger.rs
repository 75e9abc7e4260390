//! The ledger end to end: invoices with VAT lines, payments from a statement, manual entries,
//! reversals, closed periods, the database's own guards, and the three reports, on PostgreSQL
//! with RabbitMQ and on SQLite with the in-process bus.

use dk_proto::bookkeeping::v1 as bk;
use dk_proto::bookkeeping::v1::bookkeeping_service_client::BookkeepingServiceClient;
use dk_proto::common::v1 as common;
use dk_testkit::{BusKind, DatabaseKind, Stack};
use futures::FutureExt;
use sea_orm::ConnectionTrait;
use tonic::Code;

use crate::*;

type Client = BookkeepingServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, dk_testkit::Bearer>,
>;

fn day(text: &str) -> Option<common::Date> {
    let date = dk_domain::parse_date(text).expect("test date");
    Some(date.into())
}

fn line(description: &str, quantity: &str, price: &str, vat: bk::VatCode) -> bk::InvoiceLine {
    bk::InvoiceLine {
        description: description.into(),
        quantity: quantity.into(),
        unit_price: eur(price),
        vat_code: vat as i32,
        ..Default::default()
    }
}

async fn create(client: &mut Client, request: bk::CreateInvoiceRequest) -> bk::Invoice {
    client
        .create_invoice(bk::CreateInvoiceRequest {
            idempotency_key: key(),
            ..request
        })
        .await
        .expect("create invoice")
        .into_inner()
        .invoice
        .expect("invoice")
}

fn amount(money: &Option<common::Money>) -> &str {
    money.as_ref().map(|m| m.amount.as_str()).unwrap_or("-")
}

fn entry_line(account: &str, debit: Option<&str>, credit: Option<&str>) -> bk::JournalLine {
    bk::JournalLine {
        account_number: account.into(),
        debit: debit.and_then(eur),
        credit: credit.and_then(eur),
        ..Default::default()
    }
}

async fn post(
    client: &mut Client,
    date: &str,
    lines: Vec<bk::JournalLine>,
) -> Result<bk::JournalEntry, tonic::Status> {
    client
        .post_journal_entry(bk::PostJournalEntryRequest {
            idempotency_key: key(),
            journal: bk::Journal::Memorial as i32,
            entry_date: day(date),
            description: "Kasopname kantoorartikelen".into(),
            lines,
        })
        .await
        .map(|response| response.into_inner().entry.expect("entry"))
}

async fn vat_return(client: &mut Client, from: &str, to: &str) -> Vec<bk::VatReturnBox> {
    client
        .get_vat_return(bk::GetVatReturnRequest {
            from: day(from),
            to: day(to),
            language: String::new(),
        })
        .await
        .expect("VAT return")
        .into_inner()
        .boxes
}

fn vat_box<'a>(boxes: &'a [bk::VatReturnBox], code: &str) -> (&'a str, &'a str) {
    let found = boxes
        .iter()
        .find(|vat_box| vat_box.code == code)
        .unwrap_or_else(|| panic!("box {code} missing"));
    (amount(&found.base), amount(&found.tax))
}

async fn check_ledger(stack: &Stack) {
    let (organisation, mut banksync, mut client) = demo_organisation(stack).await;

    // A sales invoice at two rates, and two purchases: one reverse-charged from Belgium, one
    // Dutch with its own cost account.
    let sales = create(
        &mut client,
        bk::CreateInvoiceRequest {
            kind: bk::InvoiceKind::Sales as i32,
            number: "2026-0100".into(),
            counterparty_name: "Bakkerij De Korenbloem".into(),
            issue_date: day("2026-03-02"),
            lines: vec![
                line("Implementatie", "2", "100.00", bk::VatCode::High),
                line("Naslagwerk", "1", "50.00", bk::VatCode::Low),
            ],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(amount(&sales.amount), "296.50");
    assert_eq!(sales.lines.len(), 2);
    assert_eq!(sales.lines[0].account_number, "8000");
    assert_eq!(sales.lines[1].account_number, "8010");
    assert!(!sales.journal_entry_id.is_empty());

    let reverse_charged = create(
        &mut client,
        bk::CreateInvoiceRequest {
            kind: bk::InvoiceKind::Purchase as i32,
            number: "INK-2026-200".into(),
            counterparty_name: "Imprimerie Bruxelles".into(),
            counterparty_country: "BE".into(),
            issue_date: day("2026-03-05"),
            lines: vec![line("Drukwerk", "1", "1000.00", bk::VatCode::ReverseCharge)],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(amount(&reverse_charged.amount), "1000.00");
    let rent = create(
        &mut client,
        bk::CreateInvoiceRequest {
            kind: bk::InvoiceKind::Purchase as i32,
            number: "INK-2026-201".into(),
            counterparty_name: "Verhuur BV".into(),
            issue_date: day("2026-03-06"),
            amount: eur("121.00"),
            lines: vec![bk::InvoiceLine {
                account_number: "4100".into(),
                ..line("Huur maart", "1", "100.00", bk::VatCode::High)
            }],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(rent.lines[0].account_number, "4100");

    // A stated amount that differs from the lines is rejected, naming both.
    let wrong = client
        .create_invoice(bk::CreateInvoiceRequest {
            idempotency_key: key(),
            kind: bk::InvoiceKind::Sales as i32,
            number: "2026-0101".into(),
            counterparty_name: "Bakkerij De Korenbloem".into(),
            amount: eur("100.00"),
            lines: vec![line("Training", "1", "100.00", bk::VatCode::High)],
            ..Default::default()
        })
        .await
        .expect_err("amount differs from the lines");
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert!(
        wrong.message().contains("100.00 EUR") && wrong.message().contains("121.00 EUR"),
        "{}",
        wrong.message()
    );
    // A line cannot book on the debtors account.
    let reserved = client
        .create_invoice(bk::CreateInvoiceRequest {
            idempotency_key: key(),
            kind: bk::InvoiceKind::Sales as i32,
            number: "2026-0102".into(),
            counterparty_name: "Bakkerij De Korenbloem".into(),
            lines: vec![bk::InvoiceLine {
                account_number: "1300".into(),
                ..line("Training", "1", "100.00", bk::VatCode::High)
            }],
            ..Default::default()
        })
        .await
        .expect_err("debtors account on a line");
    assert!(
        reserved.message().contains("1300"),
        "{}",
        reserved.message()
    );

    // The demo statement pays some of the demo invoices.
    import(&mut banksync, DEMO_STATEMENT).await.expect("import");
    wait_for_matches(&mut client, 9).await;

    // VAT return of March 2026: the two rates, the reverse charge, and input VAT.
    let boxes = vat_return(&mut client, "2026-03-01", "2026-03-31").await;
    assert_eq!(vat_box(&boxes, "1a"), ("200.00", "42.00"));
    assert_eq!(vat_box(&boxes, "1b"), ("50.00", "4.50"));
    assert_eq!(vat_box(&boxes, "4b"), ("1000.00", "210.00"));
    assert_eq!(vat_box(&boxes, "3b"), ("0.00", "0.00"));
    assert_eq!(vat_box(&boxes, "5a").1, "256.50");
    assert_eq!(vat_box(&boxes, "5b").1, "231.00");
    assert_eq!(vat_box(&boxes, "5c").1, "25.50");
    assert_eq!(vat_box(&boxes, "5g").1, "25.50");
    let codes: Vec<&str> = boxes.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "1a", "1b", "1c", "1d", "1e", "2a", "3a", "3b", "3c", "4a", "4b", "5a", "5b", "5c",
            "5d", "5e", "5f", "5g"
        ]
    );
    assert_eq!(
        boxes[0].description,
        "Leveringen/diensten belast met hoog tarief"
    );

    // Open items agree with the invoices' open amounts, and age from their due dates. (The
    // demo invoices are dated today and their payments in March, so only today's open items
    // equal the open amounts.)
    let open = client
        .get_open_items(bk::GetOpenItemsRequest {
            kind: bk::InvoiceKind::Unspecified as i32,
            as_of: None,
        })
        .await
        .expect("open items")
        .into_inner();
    let listed = invoices(&mut client).await;
    for item in &open.items {
        assert_eq!(
            amount(&item.open_amount),
            open_amount(&listed, &item.number),
            "open item {} agrees with the invoice",
            item.number
        );
    }
    let numbers: Vec<&str> = open.items.iter().map(|i| i.number.as_str()).collect();
    assert!(numbers.contains(&"2026-0100"), "{numbers:?}");
    assert!(numbers.contains(&"INK-2026-200"), "{numbers:?}");
    assert!(
        !numbers.contains(&"2026-0012"),
        "a paid invoice is not open"
    );
    let sales_item = open.items.iter().find(|i| i.number == "2026-0100").unwrap();
    let due = dk_domain::parse_date("2026-04-01").unwrap();
    let overdue = (chrono::Utc::now().date_naive() - due).num_days();
    assert_eq!(i64::from(sales_item.days_overdue), overdue);
    assert_eq!(sales_item.ageing, "over_90");
    let in_april = client
        .get_open_items(bk::GetOpenItemsRequest {
            kind: bk::InvoiceKind::Sales as i32,
            as_of: day("2026-05-01"),
        })
        .await
        .expect("open items in May")
        .into_inner();
    let item = in_april
        .items
        .iter()
        .find(|i| i.number == "2026-0100")
        .unwrap();
    assert_eq!((item.days_overdue, item.ageing.as_str()), (30, "1-30"));
    let bucket = in_april
        .totals
        .iter()
        .find(|total| total.ageing == "1-30")
        .expect("1-30 bucket");
    assert_eq!(amount(&bucket.open_amount), "296.50");

    // Manual entries: an unbalanced one is rejected, a balanced one posts and can be reversed
    // once.
    let unbalanced = post(
        &mut client,
        "2026-03-10",
        vec![
            entry_line("4400", Some("50.00"), None),
            entry_line("1000", None, Some("40.00")),
        ],
    )
    .await
    .expect_err("unbalanced entry");
    assert_eq!(unbalanced.code(), Code::InvalidArgument);
    assert!(
        unbalanced.message().contains("does not balance"),
        "{}",
        unbalanced.message()
    );
    let entry = post(
        &mut client,
        "2026-03-10",
        vec![
            entry_line("4400", Some("50.00"), None),
            entry_line("1000", None, Some("50.00")),
        ],
    )
    .await
    .expect("balanced entry");
    let reversal = client
        .reverse_journal_entry(bk::ReverseJournalEntryRequest {
            idempotency_key: key(),
            entry_id: entry.id.clone(),
            entry_date: day("2026-03-11"),
        })
        .await
        .expect("reverse")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(reversal.reverses_entry_id, entry.id);
    assert_eq!(amount(&reversal.lines[0].credit), "50.00");
    let again = client
        .reverse_journal_entry(bk::ReverseJournalEntryRequest {
            idempotency_key: key(),
            entry_id: entry.id.clone(),
            entry_date: day("2026-03-11"),
        })
        .await
        .expect_err("second reversal");
    let before_entry = client
        .reverse_journal_entry(bk::ReverseJournalEntryRequest {
            idempotency_key: key(),
            entry_id: reversal.id.clone(),
            entry_date: day("2026-03-01"),
        })
        .await
        .expect_err("a reversal dated before its entry");
    assert!(
        before_entry.message().contains("2026-03-01"),
        "{}",
        before_entry.message()
    );
    assert_eq!(again.code(), Code::FailedPrecondition);
    let invoice_entry = client
        .reverse_journal_entry(bk::ReverseJournalEntryRequest {
            idempotency_key: key(),
            entry_id: sales.journal_entry_id.clone(),
            entry_date: None,
        })
        .await
        .expect_err("an invoice's entry is corrected through the invoice");
    assert_eq!(invoice_entry.code(), Code::FailedPrecondition);

    // A memorial entry that divides an amount-only invoice puts its VAT in the return.
    let divide = client
        .post_journal_entry(bk::PostJournalEntryRequest {
            idempotency_key: key(),
            journal: bk::Journal::Memorial as i32,
            entry_date: day("2026-03-20"),
            description: "Factuur verdelen".into(),
            lines: vec![
                entry_line("1900", Some("121.00"), None),
                bk::JournalLine {
                    vat_box: "1a".into(),
                    vat_part: "base".into(),
                    ..entry_line("8000", None, Some("100.00"))
                },
                bk::JournalLine {
                    vat_box: "1a".into(),
                    vat_part: "tax".into(),
                    ..entry_line("1500", None, Some("21.00"))
                },
            ],
        })
        .await
        .expect("memorial entry with VAT boxes")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(divide.lines[1].vat_box, "1a");
    let boxes = vat_return(&mut client, "2026-03-01", "2026-03-31").await;
    assert_eq!(vat_box(&boxes, "1a"), ("300.00", "63.00"));
    let bad_box = client
        .post_journal_entry(bk::PostJournalEntryRequest {
            idempotency_key: key(),
            journal: bk::Journal::Memorial as i32,
            entry_date: day("2026-03-20"),
            description: "Verkeerde rubriek".into(),
            lines: vec![
                entry_line("1900", Some("1.00"), None),
                bk::JournalLine {
                    vat_box: "5a".into(),
                    vat_part: "tax".into(),
                    ..entry_line("1500", None, Some("1.00"))
                },
            ],
        })
        .await
        .expect_err("box 5a is computed, not booked");
    assert!(
        bad_box.message().contains("\"5a\""),
        "{}",
        bad_box.message()
    );
    // In upper case too: the box and part are read whatever their case.
    for (account, vat_box, part) in [("4400", "1A", "TAX"), ("1530", "5b", "Base")] {
        let misplaced = client
            .post_journal_entry(bk::PostJournalEntryRequest {
                idempotency_key: key(),
                journal: bk::Journal::Memorial as i32,
                entry_date: day("2026-03-20"),
                description: "Verkeerd deel".into(),
                lines: vec![
                    entry_line("1900", None, Some("1.00")),
                    bk::JournalLine {
                        vat_box: vat_box.into(),
                        vat_part: part.into(),
                        ..entry_line(account, Some("1.00"), None)
                    },
                ],
            })
            .await
            .expect_err("a VAT part on the wrong account");
        assert!(
            misplaced.message().contains(account),
            "{}",
            misplaced.message()
        );
    }
    for (account, expected) in [
        ("8000", "8000=AMOUNT:1a:base"),
        ("8030", "8030=AMOUNT:3b:base"),
    ] {
        let revenue_without_box = client
            .post_journal_entry(bk::PostJournalEntryRequest {
                idempotency_key: key(),
                journal: bk::Journal::Memorial as i32,
                entry_date: day("2026-03-20"),
                description: "Omzet zonder rubriek".into(),
                lines: vec![
                    entry_line("1900", Some("1.00"), None),
                    entry_line(account, None, Some("1.00")),
                ],
            })
            .await
            .expect_err("turnover needs its VAT box");
        assert_eq!(revenue_without_box.code(), Code::InvalidArgument);
        assert!(
            revenue_without_box.message().contains(expected),
            "{}",
            revenue_without_box.message()
        );
    }
    // VAT without a box would be missing from the return, unless the entry settles the VAT.
    for (account, expected) in [
        ("1500", "1500=AMOUNT:1a:tax"),
        ("1530", "1530=AMOUNT:5b:tax"),
    ] {
        let tax_without_box = client
            .post_journal_entry(bk::PostJournalEntryRequest {
                idempotency_key: key(),
                journal: bk::Journal::Memorial as i32,
                entry_date: day("2026-03-20"),
                description: "Btw zonder rubriek".into(),
                lines: vec![
                    entry_line("1900", Some("1.00"), None),
                    entry_line(account, None, Some("1.00")),
                ],
            })
            .await
            .expect_err("VAT outside a settlement needs its box");
        assert_eq!(tax_without_box.code(), Code::InvalidArgument);
        let message = tax_without_box.message();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("account 1550"), "{message}");
    }
    // A line on the settlement account does not excuse VAT beside other accounts, and a box
    // must fit its account.
    let vat_line = |account: &str, debit: bool, amount: &str, vat_box: &str| bk::JournalLine {
        vat_box: vat_box.into(),
        vat_part: if vat_box.is_empty() { "" } else { "tax" }.into(),
        ..if debit {
            entry_line(account, Some(amount), None)
        } else {
            entry_line(account, None, Some(amount))
        }
    };
    let misfits = [
        (
            vec![
                vat_line("1900", true, "21.00", ""),
                vat_line("1550", true, "0.01", ""),
                vat_line("1500", false, "21.00", ""),
                vat_line("1000", false, "0.01", ""),
            ],
            "lines[2].vat_box",
            "VAT accounts only",
        ),
        (
            vec![
                vat_line("1900", true, "7.00", ""),
                vat_line("1500", false, "7.00", "5b"),
            ],
            "lines[1].vat_box",
            "account 1530",
        ),
        (
            vec![
                vat_line("1530", true, "3.00", "1a"),
                vat_line("1900", false, "3.00", ""),
            ],
            "lines[0].vat_box",
            "input VAT goes in box 5b",
        ),
        (
            vec![
                vat_line("1550", true, "5.00", "1a"),
                vat_line("1500", false, "5.00", ""),
            ],
            "lines[0].vat_box",
            "takes no VAT box",
        ),
    ];
    for (lines, field, expected) in misfits {
        let misfit = client
            .post_journal_entry(bk::PostJournalEntryRequest {
                idempotency_key: key(),
                journal: bk::Journal::Memorial as i32,
                entry_date: day("2026-03-20"),
                description: "Btw op de verkeerde plek".into(),
                lines,
            })
            .await
            .expect_err("VAT in the wrong place");
        assert_eq!(misfit.code(), Code::InvalidArgument);
        assert!(misfit.message().contains(field), "{}", misfit.message());
        assert!(misfit.message().contains(expected), "{}", misfit.message());
    }
    let settlement = client
        .post_journal_entry(bk::PostJournalEntryRequest {
            idempotency_key: key(),
            journal: bk::Journal::Memorial as i32,
            entry_date: day("2026-03-31"),
            description: "Btw-afdracht maart".into(),
            lines: vec![
                entry_line("1500", Some("63.00"), None),
                entry_line("1550", None, Some("63.00")),
            ],
        })
        .await
        .expect("a settlement moves VAT without a box")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(settlement.lines[0].vat_box, "");
    let boxes = vat_return(&mut client, "2026-03-01", "2026-03-31").await;
    assert_eq!(vat_box(&boxes, "1a"), ("300.00", "63.00"));
    let sales_journal = client
        .post_journal_entry(bk::PostJournalEntryRequest {
            idempotency_key: key(),
            journal: bk::Journal::Sales as i32,
            entry_date: day("2026-03-20"),
            description: "Handmatig in verkoop".into(),
            lines: vec![
                entry_line("4400", Some("1.00"), None),
                entry_line("1000", None, Some("1.00")),
            ],
        })
        .await
        .expect_err("manual entries go in the memorial journal");
    assert_eq!(sales_journal.code(), Code::InvalidArgument);

    // An invoice line takes a revenue or cost account, not cash or suspense.
    for account in ["1000", "1900", "0500"] {
        let rejected = client
            .create_invoice(bk::CreateInvoiceRequest {
                idempotency_key: key(),
                kind: bk::InvoiceKind::Sales as i32,
                number: format!("2026-09{account}"),
                counterparty_name: "Bakkerij De Korenbloem".into(),
                lines: vec![bk::InvoiceLine {
                    account_number: account.into(),
                    ..line("Training", "1", "100.00", bk::VatCode::High)
                }],
                ..Default::default()
            })
            .await
            .expect_err("a line on a balance account with a role");
        assert!(
            rejected.message().contains(account),
            "{}",
            rejected.message()
        );
    }

    // The database itself rejects changes to posted entries and unbalanced postings.
    let db = &stack.bookkeeping_db;
    // (By description: SQLite stores UUIDs as blobs.)
    let manual =
        "(SELECT id FROM journal_entries WHERE description = 'Kasopname kantoorartikelen')";
    for statement in [
        "UPDATE journal_entries SET description = 'x' WHERE description = 'Kasopname kantoorartikelen'".to_owned(),
        "DELETE FROM journal_entries WHERE description = 'Kasopname kantoorartikelen'".to_owned(),
        format!("DELETE FROM journal_lines WHERE entry_id IN {manual}"),
        format!("UPDATE journal_lines SET amount_minor = 1 WHERE entry_id IN {manual}"),
    ] {
        let error = db
            .execute_unprepared(&statement)
            .await
            .expect_err("the database refuses to change a posted entry");
        assert!(error.to_string().contains("immutable"), "{error}");
    }

    // An entry posted around the service: one line, or lines that do not add up to zero.
    let new_id = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "gen_random_uuid()",
        _ => "randomblob(16)",
    };
    db.execute_unprepared(&format!(
        "INSERT INTO journal_entries (id, organisation_id, journal, entry_date, description, source, created_at) \
         SELECT {new_id}, organisation_id, 'memorial', entry_date, 'around the service', 'manual', created_at \
         FROM journal_entries WHERE description = 'Kasopname kantoorartikelen'"
    ))
    .await
    .expect("an unposted entry may be written");
    for amount in [100, -90] {
        db.execute_unprepared(&format!(
            "INSERT INTO journal_lines (id, entry_id, organisation_id, position, account_id, entry_date, amount_minor, description) \
             SELECT {new_id}, e.id, e.organisation_id, {position}, a.id, e.entry_date, {amount}, 'x' \
             FROM journal_entries e JOIN ledger_accounts a ON a.organisation_id = e.organisation_id AND a.number = '4400' \
             WHERE e.description = 'around the service'",
            position = if amount > 0 { 1 } else { 2 }
        ))
        .await
        .expect("lines of an unposted entry may be written");
        let error = db
            .execute_unprepared(
                "UPDATE journal_entries SET posted_at = created_at WHERE description = 'around the service'",
            )
            .await
            .expect_err("the database refuses to post an unbalanced entry");
        assert!(error.to_string().contains("does not balance"), "{error}");
    }
    let error = db
        .execute_unprepared(&format!(
            "INSERT INTO journal_entries (id, organisation_id, journal, entry_date, description, source, posted_at, created_at) \
             SELECT {new_id}, organisation_id, 'memorial', entry_date, 'posted at once', 'manual', created_at, created_at \
             FROM journal_entries WHERE description = 'Kasopname kantoorartikelen'"
        ))
        .await
        .expect_err("an entry cannot be inserted posted");
    assert!(error.to_string().contains("add its lines first"), "{error}");

    // Trial balance: debits equal credits, and the journal rebuilds the stored balances.
    let trial = client
        .get_trial_balance(bk::GetTrialBalanceRequest { through: None })
        .await
        .expect("trial balance")
        .into_inner();
    assert_eq!(amount(&trial.total_debit), amount(&trial.total_credit));
    let rebuilt =
        dk_bookkeeping::ledger::reports::rebuilt_balances(db, organisation.as_uuid(), None)
            .await
            .expect("rebuild");
    assert_eq!(
        trial.digest,
        dk_bookkeeping::ledger::reports::digest(&rebuilt)
    );
    let row = |number: &str| {
        trial
            .rows
            .iter()
            .find(|row| row.account.as_ref().unwrap().number == number)
            .unwrap_or_else(|| panic!("account {number} in the trial balance"))
    };
    assert_eq!(amount(&row("8000").balance), "-300.00");
    assert_eq!(amount(&row("1530").balance), "231.00");
    assert_eq!(row("1100").account.as_ref().unwrap().rgs_code, "BLimBanRba");

    // Closing March: nothing posts into it any more, and it is not reopened.
    client
        .close_period(bk::ClosePeriodRequest {
            through: day("2026-03-31"),
        })
        .await
        .expect("close March");
    let closed = post(
        &mut client,
        "2026-03-15",
        vec![
            entry_line("4400", Some("10.00"), None),
            entry_line("1000", None, Some("10.00")),
        ],
    )
    .await
    .expect_err("posting into a closed period");
    assert_eq!(closed.code(), Code::FailedPrecondition);
    assert!(
        closed.message().contains("2026-03-31"),
        "{}",
        closed.message()
    );
    let reopen = client
        .close_period(bk::ClosePeriodRequest {
            through: day("2026-02-28"),
        })
        .await
        .expect_err("reopening");
    let future = client
        .close_period(bk::ClosePeriodRequest {
            through: Some((chrono::Utc::now().date_naive() + chrono::Days::new(1)).into()),
        })
        .await
        .expect_err("closing a period that has not ended");
    assert_eq!(future.code(), Code::InvalidArgument);
    assert_eq!(reopen.code(), Code::FailedPrecondition);
    post(
        &mut client,
        "2026-04-01",
        vec![
            entry_line("4400", Some("10.00"), None),
            entry_line("1000", None, Some("10.00")),
        ],
    )
    .await
    .expect("posting after the closed period");

    let entries = client
        .list_journal_entries(bk::ListJournalEntriesRequest {
            journal: bk::Journal::Bank as i32,
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("bank journal")
        .into_inner()
        .entries;
    assert_eq!(entries.len(), 5, "one bank entry per booked mutation");
    let overpaid = entries
        .iter()
        .flat_map(|entry| &entry.lines)
        .filter(|line| line.account_number == "1900")
        .count();
    assert_eq!(overpaid, 0, "the demo statement overpays nothing");

    check_references(&stack.bookkeeping_db).await;
}

/// Checks that the database rejects rows that refer to nothing, and the deletion or re-keying of
/// rows that others refer to. SQLite does so by foreign keys, PostgreSQL by statement triggers.
async fn check_references(db: &sea_orm::DatabaseConnection) {
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let new_id = if postgres {
        "gen_random_uuid()"
    } else {
        "randomblob(16)"
    };
    for table in ["payment_bookings", "payment_allocations"] {
        let rows = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row")
            .try_get::<i64>("", "n")
            .expect("n");
        assert!(rows > 0, "the demo statement booked payments into {table}");
    }
    let unposted = "(SELECT id FROM journal_entries WHERE description = 'around the service')";
    let rejected_statements = [
        (
            format!(
                "INSERT INTO journal_lines (id, entry_id, organisation_id, position, account_id, entry_date, amount_minor, description) \
                 SELECT {new_id}, e.id, e.organisation_id, 9, {new_id}, e.entry_date, 5, 'x' \
                 FROM journal_entries e WHERE e.id IN {unposted}"
            ),
            "journal_lines.account_id",
        ),
        (
            format!(
                "INSERT INTO journal_lines (id, entry_id, organisation_id, position, account_id, entry_date, amount_minor, description) \
                 SELECT {new_id}, {new_id}, l.organisation_id, 9, l.account_id, l.entry_date, 5, 'x' \
                 FROM journal_lines l WHERE l.entry_id IN {unposted} AND l.position = 1"
            ),
            "journal_lines.entry_id",
        ),
        (
            format!(
                "INSERT INTO payment_bookings (id, organisation_id, mutation_id, match_id, entry_id, created_at) \
                 SELECT {new_id}, organisation_id, {new_id}, {new_id}, entry_id, created_at \
                 FROM payment_bookings LIMIT 1"
            ),
            "payment_bookings.match_id",
        ),
        (
            format!(
                "INSERT INTO payment_allocations (id, match_id, booking_id, invoice_id, amount_minor, created_at) \
                 SELECT {new_id}, match_id, booking_id, {new_id}, 1, created_at \
                 FROM payment_allocations LIMIT 1"
            ),
            "payment_allocations.invoice_id",
        ),
        (
            // (Invoice lines still have a foreign key of their own.)
            "DELETE FROM ledger_accounts WHERE id IN (SELECT account_id FROM journal_lines) \
             AND id NOT IN (SELECT account_id FROM invoice_lines)"
                .to_owned(),
            "referenced by journal_lines.account_id",
        ),
        (
            "DELETE FROM payment_matches WHERE id IN (SELECT match_id FROM payment_bookings)"
                .to_owned(),
            "referenced by payment_bookings.match_id",
        ),
        (
            format!(
                "UPDATE ledger_accounts SET id = {new_id} WHERE id IN (SELECT account_id FROM journal_lines)"
            ),
            "cannot change",
        ),
    ];
    for (statement, postgres_message) in rejected_statements {
        let error = db
            .execute_unprepared(&statement)
            .await
            .expect_err(&statement);
        assert_reference_error(db, &statement, &error, postgres_message);
    }
    if postgres {
        let referenced = [
            "journal_entries",
            "ledger_accounts",
            "payment_matches",
            "payment_bookings",
            "invoices",
        ];
        assert_truncate_rejected(db, &referenced).await;
    }
}

#[tokio::test]
async fn ledger_on_postgres_and_rabbitmq() {
    let stack = Stack::start().await.expect("stack");
    check_ledger(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn ledger_embedded() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_ledger(&stack).await;
    stack.stop().await.expect("stop");
}

fn decision_for<'a>(matches: &'a [bk::Match], remittance: &str) -> &'a bk::Match {
    matches
        .iter()
        .find(|found| found.remittance == remittance)
        .unwrap_or_else(|| panic!("no decision for {remittance:?}"))
}

async fn get_match(client: &mut Client, id: &str) -> bk::Match {
    client
        .get_match(bk::GetMatchRequest { id: id.into() })
        .await
        .expect("get match")
        .into_inner()
        .r#match
        .expect("match")
}

fn actions(found: &bk::Match) -> Vec<&str> {
    found
        .history
        .iter()
        .map(|step| step.action.as_str())
        .collect()
}

async fn confirm(
    client: &mut Client,
    match_id: &str,
    invoice_ids: &[String],
) -> Result<bk::Match, tonic::Status> {
    client
        .confirm_suggestion(bk::ConfirmSuggestionRequest {
            idempotency_key: key(),
            match_id: match_id.into(),
            invoice_ids: invoice_ids.to_vec(),
        })
        .await
        .map(|response| response.into_inner().r#match.expect("match"))
}

async fn undo(client: &mut Client, match_id: &str) -> Result<bk::Match, tonic::Status> {
    client
        .undo_match(bk::UndoMatchRequest {
            idempotency_key: key(),
            match_id: match_id.into(),
        })
        .await
        .map(|response| response.into_inner().r#match.expect("match"))
}

/// Checks that the trial balance rebuilds from the journal, and that the debtors balance equals
/// the open sales invoices.
async fn check_books(stack: &Stack, client: &mut Client, organisation: dk_domain::OrganisationId) {
    let trial = client
        .get_trial_balance(bk::GetTrialBalanceRequest { through: None })
        .await
        .expect("trial balance")
        .into_inner();
    let rebuilt = dk_bookkeeping::ledger::reports::rebuilt_balances(
        &stack.bookkeeping_db,
        organisation.as_uuid(),
        None,
    )
    .await
    .expect("rebuild");
    assert_eq!(
        trial.digest,
        dk_bookkeeping::ledger::reports::digest(&rebuilt)
    );
    let debtors = trial
        .rows
        .iter()
        .find(|row| row.account.as_ref().unwrap().number == "1300")
        .map(|row| amount(&row.balance).parse::<dk_domain::Decimal>().unwrap())
        .unwrap_or_default();
    let open: dk_domain::Decimal = invoices(client)
        .await
        .iter()
        .filter(|invoice| invoice.kind == bk::InvoiceKind::Sales as i32)
        .map(|invoice| {
            amount(&invoice.open_amount)
                .parse::<dk_domain::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        debtors, open,
        "debtors balance equals the open sales invoices"
    );
}

async fn check_match_actions(stack: &Stack) {
    let (organisation, mut banksync, mut client) = demo_organisation(stack).await;
    import(&mut banksync, DEMO_STATEMENT).await.expect("import");
    let decisions = wait_for_matches(&mut client, 9).await;
    let listed = invoices(&mut client).await;
    let invoice_id = |number: &str| {
        listed
            .iter()
            .find(|invoice| invoice.number == number)
            .map(|invoice| invoice.id.clone())
            .expect("invoice")
    };

    // A suggestion is confirmed by a user, once; another invoice cannot be confirmed.
    let suggested = decision_for(&decisions, "Bestelling 88812");
    assert_eq!(suggested.outcome, bk::MatchOutcome::Suggested as i32);
    assert!(!suggested.booked);
    let paid_already = confirm(&mut client, &suggested.id, &[invoice_id("2026-0012")])
        .await
        .expect_err("an invoice that is paid");
    assert_eq!(paid_already.code(), Code::FailedPrecondition);
    assert!(
        paid_already.message().contains("2026-0012"),
        "{}",
        paid_already.message()
    );
    let wrong_kind = confirm(&mut client, &suggested.id, &[invoice_id("INK-2026-104")])
        .await
        .expect_err("money in cannot pay a purchase invoice");
    assert!(
        wrong_kind.message().contains("purchase"),
        "{}",
        wrong_kind.message()
    );
    let confirmed = confirm(&mut client, &suggested.id, &[invoice_id("2026-0016")])
        .await
        .expect("confirm");
    assert!(confirmed.booked);
    assert_eq!(confirmed.outcome, bk::MatchOutcome::Exact as i32);
    assert_eq!(actions(&confirmed), ["decided", "confirmed"]);
    assert_ne!(confirmed.history[1].actor, "matcher");
    assert!(!confirmed.journal_entry_id.is_empty());
    assert_eq!(
        open_amount(&invoices(&mut client).await, "2026-0016"),
        "0.00"
    );
    let twice = confirm(&mut client, &suggested.id, &[invoice_id("2026-0016")])
        .await
        .expect_err("confirming twice");
    assert_eq!(twice.code(), Code::FailedPrecondition);

    // An automatic booking is undone: its entry is reversed, the invoice reopens and is
    // suggested, and it can be confirmed again.
    let exact = decision_for(&decisions, "Factuur 2026-0012");
    let booked_entry = get_match(&mut client, &exact.id).await.journal_entry_id;
    let undone = undo(&mut client, &exact.id).await.expect("undo");
    assert!(!undone.booked);
    assert_eq!(undone.outcome, bk::MatchOutcome::Suggested as i32);
    assert_eq!(undone.suggestions[0].invoice_number, "2026-0012");
    assert_eq!(actions(&undone), ["decided", "undone"]);
    assert_eq!(
        open_amount(&invoices(&mut client).await, "2026-0012"),
        "1210.00"
    );
    let bank = client
        .list_journal_entries(bk::ListJournalEntriesRequest {
            journal: bk::Journal::Bank as i32,
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("bank journal")
        .into_inner()
        .entries;
    let reversal = bank
        .iter()
        .find(|entry| entry.reverses_entry_id == booked_entry)
        .expect("the payment entry is reversed");
    assert_eq!(reversal.source, "reversal");
    let again = undo(&mut client, &exact.id).await.expect_err("undo twice");
    assert_eq!(again.code(), Code::FailedPrecondition);
    check_books(stack, &mut client, organisation).await;
    let redone = confirm(&mut client, &exact.id, &[invoice_id("2026-0012")])
        .await
        .expect("confirm again");
    assert_eq!(actions(&redone), ["decided", "undone", "confirmed"]);
    assert_eq!(
        open_amount(&invoices(&mut client).await, "2026-0012"),
        "0.00"
    );

    // A partial payment undone and its suggestion rejected leaves the mutation unmatched.
    let partial = decision_for(&decisions, "Deelbetaling factuur 2026-0013");
    undo(&mut client, &partial.id)
        .await
        .expect("undo the partial payment");
    let rejected = client
        .reject_suggestion(bk::RejectSuggestionRequest {
            idempotency_key: key(),
            match_id: partial.id.clone(),
            invoice_id: invoice_id("2026-0013"),
        })
        .await
        .expect("reject")
        .into_inner()
        .r#match
        .expect("match");
    assert_eq!(rejected.outcome, bk::MatchOutcome::Unmatched as i32);
    assert!(rejected.suggestions.is_empty());
    assert_eq!(actions(&rejected), ["decided", "undone", "rejected"]);
    assert_eq!(rejected.history[2].invoice_numbers, ["2026-0013"]);
    // The reasons no longer describe the rejected invoice.
    let reasons = rejected.reasons.as_ref().expect("reasons");
    assert_eq!(reasons.score.as_ref().map(|score| score.total), Some(0));
    assert!(reasons.runner_up.is_none(), "{:?}", reasons.runner_up);
    assert!(
        reasons.summary.contains("2026-0013") && reasons.summary.contains("unmatched"),
        "{}",
        reasons.summary
    );
    // Rejecting it again names the invoice by its number and what is suggested.
    let again = client
        .reject_suggestion(bk::RejectSuggestionRequest {
            idempotency_key: key(),
            match_id: partial.id.clone(),
            invoice_id: invoice_id("2026-0013"),
        })
        .await
        .expect_err("no longer a suggestion");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert!(
        again
            .message()
            .contains("invoice 2026-0013 is not among the suggestions")
            && again.message().contains("(suggested: none)"),
        "{}",
        again.message()
    );
    assert_eq!(
        open_amount(&invoices(&mut client).await, "2026-0013"),
        "1815.00"
    );
    // A rejection by mistake is mended by choosing the invoice by hand.
    let chosen = confirm(&mut client, &partial.id, &[invoice_id("2026-0013")])
        .await
        .expect("choose an invoice that is not suggested");
    assert_eq!(chosen.outcome, bk::MatchOutcome::Partial as i32);
    // Chosen by hand, the invoice is scored by the matcher's rules: no reference evidence, and
    // a payment below the open amount.
    let score = chosen
        .reasons
        .as_ref()
        .and_then(|reasons| reasons.score.as_ref())
        .expect("score");
    assert_eq!((score.reference, score.amount), (0, 50));
    assert!(score.total > 0, "{score:?}");
    assert_eq!(
        open_amount(&invoices(&mut client).await, "2026-0013"),
        "1315.00"
    );

    // A payment of two invoices, undone and confirmed again with both, pays both, and the
    // balances of March are as before: the reversal has the payment's date.
    let trial_march = |client: &mut Client| {
        let mut client = client.clone();
        async move {
            client
                .get_trial_balance(bk::GetTrialBalanceRequest {
                    through: day("2026-03-31"),
                })
                .await
                .expect("trial balance")
                .into_inner()
                .rows
                .iter()
                .map(|row| {
                    (
                        row.account.as_ref().unwrap().number.clone(),
                        amount(&row.balance).to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let both = decision_for(&decisions, "Facturen 2026-0014 en 2026-0015");
    let march_before = trial_march(&mut client).await;
    let undone_both = undo(&mut client, &both.id)
        .await
        .expect("undo two invoices");
    assert_eq!(undone_both.suggestions.len(), 2);
    let again_both = confirm(
        &mut client,
        &both.id,
        &[invoice_id("2026-0014"), invoice_id("2026-0015")],
    )
    .await
    .expect("confirm both");
    assert_eq!(again_both.outcome, bk::MatchOutcome::Exact as i32);
    assert_eq!(again_both.allocations.len(), 2);
    // The history names both invoices of each booking, and none for the undo.
    let named: Vec<(&str, Vec<&str>)> = again_both
        .history
        .iter()
        .map(|step| {
            (
                step.action.as_str(),
                step.invoice_numbers.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("decided", vec!["2026-0014", "2026-0015"]),
            ("undone", vec![]),
            ("confirmed", vec!["2026-0014", "2026-0015"]),
        ]
    );
    let confirmed_step = &again_both.history[2];
    assert_eq!(
        confirmed_step.invoice_ids,
        [invoice_id("2026-0014"), invoice_id("2026-0015")]
    );
    // The single invoice field is the first of them, for the matcher's decision as well.
    for step in [&again_both.history[0], confirmed_step] {
        assert_eq!(step.invoice_id, invoice_id("2026-0014"), "{}", step.action);
    }
    assert_eq!(again_both.history[1].invoice_id, "");
    let listed = invoices(&mut client).await;
    assert_eq!(open_amount(&listed, "2026-0014"), "0.00");
    assert_eq!(open_amount(&listed, "2026-0015"), "0.00");
    let bank = client
        .list_journal_entries(bk::ListJournalEntriesRequest {
            journal: bk::Journal::Bank as i32,
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("bank journal")
        .into_inner()
        .entries;
    assert!(
        bank.iter()
            .filter(|entry| entry.source == "reversal")
            .all(|entry| date_text(&entry.entry_date).starts_with("2026-03")),
        "reversals keep the payments' dates"
    );
    // Undone and booked again, the balances through March are the same as before.
    assert_eq!(trial_march(&mut client).await, march_before);
    check_books(stack, &mut client, organisation).await;
}

fn date_text(date: &Option<common::Date>) -> String {
    date.as_ref()
        .map(|date| format!("{:04}-{:02}-{:02}", date.year, date.month, date.day))
        .unwrap_or_default()
}

#[tokio::test]
async fn matches_are_confirmed_rejected_and_undone() {
    let stack = Stack::start().await.expect("stack");
    check_match_actions(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn matches_are_confirmed_rejected_and_undone_embedded() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_match_actions(&stack).await;
    stack.stop().await.expect("stop");
}

/// Builds an MT940 statement of one transfer between `account` and `other`.
fn transfer_statement(account: &str, other: &str, debit: bool) -> String {
    let (mark, closing) = if debit {
        ("D", "500,00")
    } else {
        ("C", "1500,00")
    };
    format!(
        "{{1:F01INGBNL2ABXXX0000000000}}\r\n{{2:I940INGBNL2AXXXN}}\r\n{{4:\r\n\
         :20:P260501000000001\r\n:25:{account}EUR\r\n:28C:00001\r\n\
         :60F:C260430EUR1000,00\r\n\
         :61:2605040504{mark}500,00NTRFEREF//00000000000001\r\n/TRCD/00100/\r\n\
         :86:/EREF/NOTPROVIDED//CNTP/{other}/INGBNL2A/Eigen rekening///REMI/USTD//Overboeking spaarrekening/\r\n\
         :62F:C260504EUR{closing}\r\n-}}\r\n"
    )
}

#[tokio::test]
async fn transfers_between_own_accounts_are_recognised() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, mut client) = demo_organisation(&stack).await;
    let savings = "NL91ABNA0417164300";
    register(&mut banksync, savings).await;
    // Bookkeeping learns the new account from banksync's event.
    dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut client = client.clone();
        async move {
            let accounts = client
                .list_ledger_accounts(bk::ListLedgerAccountsRequest {})
                .await
                .ok()?
                .into_inner()
                .accounts;
            accounts
                .iter()
                .any(|account| account.name_nl.contains(savings))
                .then_some(())
        }
    })
    .await
    .expect("a ledger account for the registered savings account");

    import(
        &mut banksync,
        transfer_statement(DEMO_ACCOUNT, savings, true).as_bytes(),
    )
    .await
    .expect("import the current account");
    import(
        &mut banksync,
        transfer_statement(savings, DEMO_ACCOUNT, false).as_bytes(),
    )
    .await
    .expect("import the savings account");
    let decisions = wait_for_matches(&mut client, 2).await;
    for decision in &decisions {
        assert_eq!(
            decision.outcome,
            bk::MatchOutcome::OwnTransfer as i32,
            "{decision:?}"
        );
        assert!(decision.booked);
    }
    let trial = client
        .get_trial_balance(bk::GetTrialBalanceRequest { through: None })
        .await
        .expect("trial balance")
        .into_inner();
    let transfers = trial
        .rows
        .iter()
        .find(|row| row.account.as_ref().unwrap().number == "1200")
        .expect("transfers in transit were used");
    assert_eq!(amount(&transfers.debit), "500.00");
    assert_eq!(amount(&transfers.credit), "500.00");
    assert_eq!(amount(&transfers.balance), "0.00");
    stack.stop().await.expect("stop");
}

/// Two bookkeeping processes that create the ledger account of a new bank account at the same
/// time on PostgreSQL get the same account, and neither fails.
#[tokio::test]
async fn bank_ledger_account_is_created_once() {
    use dk_bookkeeping::ledger::chart::Charts;
    use sea_orm_migration::MigratorTrait;

    let test_database = dk_testkit::TestDatabase::create().await.expect("database");
    let outcome = std::panic::AssertUnwindSafe(async {
        let db = sea_orm::Database::connect(test_database.url.as_str())
            .await
            .expect("connect");
        dk_bookkeeping::migration::Migrator::up(&db, None)
            .await
            .expect("migrate");
        let organisation = uuid::Uuid::now_v7();
        for round in 0..10 {
            let bank_account = uuid::Uuid::now_v7();
            let iban = format!("NL91ABNA041716430{round}");
            // A cache each, as in two processes.
            let (one, other) = (Charts::new(db.clone()), Charts::new(db.clone()));
            let (first, second) = tokio::join!(
                one.bank_account(organisation, bank_account, &iban),
                other.bank_account(organisation, bank_account, &iban),
            );
            let first = first.expect("first creator");
            let second = second.expect("second creator");
            assert_eq!(first, second, "round {round}: one ledger account");
        }
        db.close().await.expect("close");
    })
    .catch_unwind()
    .await;
    test_database.drop_database().await.expect("drop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
