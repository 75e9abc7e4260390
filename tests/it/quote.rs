//! Billing quotes: catalogue prices, graduated users, VAT, reverse charge, languages,
//! idempotency and organisation scope.

use dk_domain::{Currency, Decimal, Money};
use dk_proto::billing::v1 as billing;
use dk_testkit::{BillingClient, BusKind, DatabaseKind, Stack};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic_types::StatusExt;

use crate::*;

/// Builds the reference basket: CRM, Boekhouding, Facturatie, 12 users, Documentbeheer and the
/// automatic bank link, which costs 180.50 net and 218.41 with VAT.
fn spec_example() -> billing::CreateQuoteRequest {
    billing::CreateQuoteRequest {
        idempotency_key: key(),
        modules: vec!["crm".into(), "boekhouding".into(), "facturatie".into()],
        addons: vec!["documentbeheer".into()],
        users: 12,
        bank_link: true,
        ..Default::default()
    }
}

async fn create(
    client: &mut BillingClient,
    request: billing::CreateQuoteRequest,
) -> Result<billing::Quote, tonic::Status> {
    client
        .create_quote(request)
        .await
        .map(|response| response.into_inner().quote.expect("quote in response"))
}

fn amount(money: Option<&dk_proto::common::v1::Money>) -> String {
    money.expect("money present").amount.clone()
}

fn users_total(quote: &billing::Quote) -> Decimal {
    quote
        .lines
        .iter()
        .filter(|line| line.code == "gebruikers")
        .map(|line| {
            Money::parse(&amount(line.amount.as_ref()), Currency::EUR)
                .expect("decimal amount")
                .amount()
        })
        .sum()
}

async fn quote_rows(stack: &Stack) -> Vec<(i64, i64, i64, String)> {
    let rows = stack
        .billing_db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT net_minor, vat_minor, total_minor, status FROM quotes",
        ))
        .await
        .expect("quotes query");
    rows.iter()
        .map(|row| {
            (
                row.try_get::<i64>("", "net_minor").expect("net"),
                row.try_get::<i64>("", "vat_minor").expect("vat"),
                row.try_get::<i64>("", "total_minor").expect("total"),
                row.try_get::<String>("", "status").expect("status"),
            )
        })
        .collect()
}

#[tokio::test]
async fn spec_example_is_priced() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");

    let quote = create(&mut client, spec_example()).await.expect("quote");

    assert_eq!(quote.status, billing::QuoteStatus::Priced as i32);
    assert_eq!(amount(quote.net.as_ref()), "180.50");
    assert_eq!(quote.vat.len(), 1);
    assert_eq!(quote.vat[0].rate, "21");
    assert_eq!(amount(quote.vat[0].base.as_ref()), "180.50");
    assert_eq!(amount(quote.vat[0].amount.as_ref()), "37.91");
    assert_eq!(amount(quote.total.as_ref()), "218.41");
    assert_eq!(users_total(&quote), Decimal::new(10800, 2));
    assert!(!quote.reverse_charge);
    assert_eq!(quote.vat_note, "");
    assert_eq!(quote.language, billing::Language::Nl as i32);

    let codes: Vec<&str> = quote.lines.iter().map(|line| line.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "crm",
            "boekhouding",
            "facturatie",
            "documentbeheer",
            "automatische-bankkoppeling",
            "gebruikers",
            "gebruikers",
            "gebruikers",
        ]
    );
    for line in &quote.lines {
        assert!(
            !line.explanation.is_empty(),
            "{} has an explanation",
            line.code
        );
        assert!(line.unit_price.is_some(), "{} has a unit price", line.code);
    }
    let crm = &quote.lines[0];
    assert_eq!(crm.description, "CRM");
    assert_eq!(crm.quantity, "1");
    assert_eq!(amount(crm.unit_price.as_ref()), "15.00");

    // The quote date is in Europe/Amsterdam, which is ahead of UTC, so the validity ends 30 or
    // 31 days after the UTC date of the creation time.
    let created = chrono::DateTime::from_timestamp(quote.create_time.expect("time").seconds, 0)
        .expect("timestamp")
        .date_naive();
    let valid_until = quote.valid_until.expect("valid_until");
    let valid_until = chrono::NaiveDate::from_ymd_opt(
        valid_until.year,
        valid_until.month as u32,
        valid_until.day as u32,
    )
    .expect("date");
    let days = (valid_until - created).num_days();
    assert!((30..=31).contains(&days), "valid for {days} days");

    let stored = client
        .get_quote(billing::GetQuoteRequest {
            quote_id: quote.quote_id.clone(),
        })
        .await
        .expect("get quote")
        .into_inner()
        .quote
        .expect("quote");
    assert_eq!(stored, quote);
    assert_eq!(
        quote_rows(&stack).await,
        [(18050, 3791, 21841, "priced".to_owned())]
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn many_users_need_custom_pricing() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");

    let quote = create(
        &mut client,
        billing::CreateQuoteRequest {
            users: 51,
            ..spec_example()
        },
    )
    .await
    .expect("quote");

    assert_eq!(
        quote.status,
        billing::QuoteStatus::CustomPricingRequired as i32
    );
    let users: Vec<&billing::QuoteLine> = quote
        .lines
        .iter()
        .filter(|line| line.code == "gebruikers")
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].quantity, "51");
    assert!(users[0].unit_price.is_none());
    assert!(users[0].amount.is_none());
    assert!(
        users[0].explanation.contains("51"),
        "{}",
        users[0].explanation
    );
    for line in quote.lines.iter().filter(|line| line.code != "gebruikers") {
        assert!(line.amount.is_some(), "{} is priced", line.code);
    }
    // The net is 15 + 15 + 10 + 7.50 + 25 without the users, and its VAT of 15.225 rounds half
    // away from zero to 15.23.
    assert_eq!(amount(quote.net.as_ref()), "72.50");
    assert_eq!(amount(quote.vat[0].amount.as_ref()), "15.23");
    assert_eq!(amount(quote.total.as_ref()), "87.73");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn invalid_baskets_are_rejected() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");

    let cases = [
        (
            billing::CreateQuoteRequest {
                modules: vec!["crm".into(), "handel".into()],
                ..spec_example()
            },
            "bank_link",
            "boekhouding, facturatie",
        ),
        (
            billing::CreateQuoteRequest {
                modules: vec!["crn".into()],
                bank_link: false,
                ..spec_example()
            },
            "modules",
            "\"crn\": expected one of crm, projecten-uren, boekhouding",
        ),
        (
            billing::CreateQuoteRequest {
                addons: vec!["handel".into()],
                ..spec_example()
            },
            "addons",
            "documentbeheer, voorraadbeheer",
        ),
        (
            billing::CreateQuoteRequest {
                modules: vec![" ".into()],
                addons: Vec::new(),
                bank_link: false,
                ..spec_example()
            },
            "modules",
            "no module chosen: choose at least one of crm, projecten-uren",
        ),
        (
            billing::CreateQuoteRequest {
                users: 0,
                ..spec_example()
            },
            "users",
            "invalid user count 0",
        ),
        (
            billing::CreateQuoteRequest {
                users: -3,
                ..spec_example()
            },
            "users",
            "invalid user count -3",
        ),
        (
            billing::CreateQuoteRequest {
                country_code: "BE".into(),
                vat_id: "NL123456789B01".into(),
                ..spec_example()
            },
            "vat_id",
            "NL123456789B01",
        ),
        (
            billing::CreateQuoteRequest {
                country_code: "Belgie".into(),
                ..spec_example()
            },
            "country_code",
            "\"Belgie\"",
        ),
        (
            billing::CreateQuoteRequest {
                language: 7,
                ..spec_example()
            },
            "language",
            "unknown language 7",
        ),
    ];
    for (request, field, expected) in cases {
        let status = create(&mut client, request.clone())
            .await
            .expect_err("invalid basket");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{request:?}");
        let details = status.get_error_details();
        let violation = &details.bad_request().expect("bad request").field_violations[0];
        assert_eq!(violation.field, field, "{request:?}");
        assert!(
            violation.description.contains(expected),
            "{}",
            violation.description
        );
    }
    assert!(quote_rows(&stack).await.is_empty(), "nothing stored");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn eu_business_gets_reverse_charge() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");

    let quote = create(
        &mut client,
        billing::CreateQuoteRequest {
            country_code: "BE".into(),
            vat_id: "BE 0123.456.749".into(),
            ..spec_example()
        },
    )
    .await
    .expect("quote");

    assert!(quote.reverse_charge);
    assert_eq!(quote.vat_note, "btw verlegd");
    assert_eq!(quote.customer_vat_id, "BE0123456749");
    assert_eq!(quote.vat.len(), 1);
    assert_eq!(quote.vat[0].rate, "0");
    assert_eq!(amount(quote.vat[0].amount.as_ref()), "0.00");
    assert_eq!(amount(quote.net.as_ref()), "180.50");
    assert_eq!(amount(quote.total.as_ref()), "180.50");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn english_texts_on_request() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");

    let quote = create(
        &mut client,
        billing::CreateQuoteRequest {
            language: billing::Language::En as i32,
            country_code: "BE".into(),
            vat_id: "BE0123456749".into(),
            ..spec_example()
        },
    )
    .await
    .expect("quote");

    assert_eq!(quote.language, billing::Language::En as i32);
    assert_eq!(quote.vat_note, "VAT reverse charged");
    let bookkeeping = &quote.lines[1];
    assert_eq!(bookkeeping.description, "Bookkeeping");
    assert_eq!(bookkeeping.explanation, "module, 15.00 a month");
    let users = quote
        .lines
        .iter()
        .find(|line| line.code == "gebruikers")
        .expect("users line");
    assert_eq!(users.description, "Users");
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn repeated_key_returns_first_quote() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let request = spec_example();

    let first = create(&mut client, request.clone()).await.expect("first");
    let second = create(&mut client, request.clone()).await.expect("replay");
    assert_eq!(second.quote_id, first.quote_id);
    assert_eq!(second, first);
    assert_eq!(quote_rows(&stack).await.len(), 1);

    // The same basket written another way is the same request.
    let mut modules = request.modules.clone();
    modules.reverse();
    let rewritten = billing::CreateQuoteRequest {
        modules: modules.iter().map(|code| format!(" {code}")).collect(),
        country_code: "nl".into(),
        language: billing::Language::Nl as i32,
        ..request.clone()
    };
    let third = create(&mut client, rewritten)
        .await
        .expect("replay of the rewritten basket");
    assert_eq!(third, first);
    assert_eq!(quote_rows(&stack).await.len(), 1);

    let status = create(
        &mut client,
        billing::CreateQuoteRequest {
            users: 13,
            ..request
        },
    )
    .await
    .expect_err("key reused for another basket");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("error info");
    assert_eq!(info.reason, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(quote_rows(&stack).await.len(), 1);

    // A VAT id written with spaces, points or in lower case is the same VAT id.
    let belgian = billing::CreateQuoteRequest {
        idempotency_key: key(),
        country_code: "BE".into(),
        vat_id: "BE0123456749".into(),
        ..spec_example()
    };
    let first_belgian = create(&mut client, belgian.clone())
        .await
        .expect("Belgian quote");
    let written_apart = create(
        &mut client,
        billing::CreateQuoteRequest {
            vat_id: " be 0123.456.749 ".into(),
            ..belgian
        },
    )
    .await
    .expect("replay with the VAT id written apart");
    assert_eq!(written_apart.quote_id, first_belgian.quote_id);
    stack.stop().await.expect("stop");
}

/// Quotes created before their keys moved into the quote rows (migration m0007) keep their
/// keys: a repeat returns the first quote, and another request under the key is rejected. The
/// old key was hashed from the request as sent, with an empty country code, so the repeat also
/// shows that m0009 rehashed it in the canonical form.
#[tokio::test]
async fn earlier_quote_keys_move_into_quote_rows() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let request = spec_example();
    let first = create(&mut client, request.clone()).await.expect("first");

    // The database as the release before m0007 left it: the key and a copy of the response in
    // idempotency_keys, and no key columns on the quote.
    let db = &stack.billing_db;
    let key = dk_runtime::idempotency::Key::new(
        stack.organisation.as_uuid(),
        "CreateQuote",
        &request.idempotency_key,
        &request,
    )
    .expect("key");
    let response = billing::CreateQuoteResponse {
        quote: Some(first.clone()),
    };
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO idempotency_keys \
         (organisation_id, method, key, request_hash, response, created_at) \
         VALUES ($1, 'CreateQuote', $2, $3, $4, now())",
        [
            stack.organisation.as_uuid().into(),
            key.key.clone().into(),
            key.request_hash.clone().into(),
            prost::Message::encode_to_vec(&response).into(),
        ],
    ))
    .await
    .expect("old key row");
    for sql in [
        "DROP INDEX quotes_organisation_idempotency_key",
        "ALTER TABLE quotes DROP COLUMN idempotency_key",
        "ALTER TABLE quotes DROP COLUMN request_hash",
        "DELETE FROM seaql_migrations WHERE version IN \
         ('m0007_quote_idempotency_keys', 'm0009_canonical_quote_request_hashes')",
    ] {
        db.execute_unprepared(sql).await.expect(sql);
    }
    let applied = dk_runtime::database::migrate::<dk_billing::migration::Migrator>(db, "billing")
        .await
        .expect("migrate");
    assert_eq!(applied, 2, "m0007 and m0009 applied again");

    let again = create(&mut client, request.clone()).await.expect("replay");
    assert_eq!(again, first);
    let status = create(
        &mut client,
        billing::CreateQuoteRequest {
            users: 13,
            ..request
        },
    )
    .await
    .expect_err("key reused for another basket");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(quote_rows(&stack).await.len(), 1);
    let moved = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS keys FROM idempotency_keys WHERE method = 'CreateQuote'",
        ))
        .await
        .expect("count")
        .expect("row");
    assert_eq!(moved.try_get::<i64>("", "keys").expect("keys"), 0);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn other_organisation_cannot_read_quote() {
    let stack = Stack::start().await.expect("stack");
    let mut client_a = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let mut client_b = stack
        .billing_client(stack.other_organisation)
        .await
        .expect("client");
    let quote = create(&mut client_a, spec_example()).await.expect("quote");

    let status = client_b
        .get_quote(billing::GetQuoteRequest {
            quote_id: quote.quote_id.clone(),
        })
        .await
        .expect_err("A's quote is not B's");
    assert_eq!(status.code(), tonic::Code::NotFound);

    let status = client_a
        .get_quote(billing::GetQuoteRequest {
            quote_id: "not-a-uuid".into(),
        })
        .await
        .expect_err("invalid id");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn quote_on_sqlite() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");

    let quote = create(&mut client, spec_example()).await.expect("quote");
    assert_eq!(amount(quote.total.as_ref()), "218.41");
    let stored = client
        .get_quote(billing::GetQuoteRequest {
            quote_id: quote.quote_id.clone(),
        })
        .await
        .expect("get quote")
        .into_inner()
        .quote
        .expect("quote");
    assert_eq!(stored, quote);
    assert_eq!(
        quote_rows(&stack).await,
        [(18050, 3791, 21841, "priced".to_owned())]
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn new_catalogue_row_changes_price() {
    let stack = Stack::start().await.expect("stack");
    let mut client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let before = create(&mut client, spec_example())
        .await
        .expect("quote before");

    // A new version of CRM at 20.00, in force from a date in the past.
    let definition = r#"{"code":"crm","name_nl":"CRM","name_en":"CRM","kind":"module","price":"20.00","effective_from":"2025-01-01","requires_one_of":[],"max_ibans":null}"#;
    stack
        .billing_db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO catalogue_items (position, entry, code, effective_from, definition, created_at) \
             VALUES (1000, 'item', 'crm', DATE '2025-01-01', $1, now())",
            [definition.into()],
        ))
        .await
        .expect("insert catalogue row");

    // Billing reads the catalogue again at most a second after its last read.
    let after = dk_testkit::eventually(std::time::Duration::from_secs(5), || {
        let mut client = client.clone();
        async move {
            let quote = create(&mut client, spec_example())
                .await
                .expect("quote after");
            (amount(quote.lines[0].unit_price.as_ref()) == "20.00").then_some(quote)
        }
    })
    .await
    .expect("the new CRM price within 5 seconds");
    assert_eq!(amount(after.net.as_ref()), "185.50");

    let stored = client
        .get_quote(billing::GetQuoteRequest {
            quote_id: before.quote_id.clone(),
        })
        .await
        .expect("get earlier quote")
        .into_inner()
        .quote
        .expect("quote");
    assert_eq!(amount(stored.lines[0].unit_price.as_ref()), "15.00");
    assert_eq!(amount(stored.net.as_ref()), "180.50");
    stack.stop().await.expect("stop");
}

/// Parallel quotes share commits: every key stores one quote, calls repeating a key at the same
/// moment get that one quote, and a call reusing a key for another basket is rejected.
async fn check_parallel_quotes(stack: &Stack) {
    let client = stack
        .billing_client(stack.organisation)
        .await
        .expect("client");
    let keys: Vec<String> = (0..40).map(|_| key()).collect();
    let mut calls = Vec::new();
    for (index, shared) in keys.iter().enumerate() {
        // Each key is sent three times at once with 12 users; the first ten keys also once
        // with 13 users, which is another request under the same key.
        let variants: &[i32] = if index < 10 {
            &[12, 12, 12, 13]
        } else {
            &[12, 12, 12]
        };
        for users in variants {
            let mut client = client.clone();
            let request = billing::CreateQuoteRequest {
                idempotency_key: shared.clone(),
                users: *users,
                ..spec_example()
            };
            calls.push(tokio::spawn(async move {
                (
                    request.idempotency_key.clone(),
                    create(&mut client, request).await,
                )
            }));
        }
    }
    let mut ids: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
        std::collections::HashMap::new();
    let mut rejected: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for call in calls {
        let (key, result) = call.await.expect("call task");
        match result {
            Ok(quote) => {
                ids.entry(key).or_default().insert(quote.quote_id);
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
                *rejected.entry(key).or_default() += 1;
            }
        }
    }
    for (index, shared) in keys.iter().enumerate() {
        let quotes = ids.get(shared).map(|ids| ids.len()).unwrap_or_default();
        assert_eq!(quotes, 1, "one quote for key {index}");
        let refused = rejected.get(shared).copied().unwrap_or_default();
        if index < 10 {
            // Whichever basket came first wins; the other basket's calls are rejected.
            assert!(
                refused == 1 || refused == 3,
                "key {index}: {refused} rejected"
            );
        } else {
            assert_eq!(refused, 0, "key {index}");
        }
    }
    assert_eq!(quote_rows(stack).await.len(), keys.len());
}

#[tokio::test]
async fn parallel_quotes_on_postgres() {
    let stack = Stack::start().await.expect("stack");
    check_parallel_quotes(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn parallel_quotes_on_sqlite() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_parallel_quotes(&stack).await;
    stack.stop().await.expect("stop");
}
