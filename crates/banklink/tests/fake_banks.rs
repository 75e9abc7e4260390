//! Each adapter against its fake bank on 127.0.0.1: consent, paging, token refresh, rate
//! limits, outages, withdrawn consent, and the mapping of each bank's JSON.

use chrono::{DateTime, NaiveDate, Utc};
use dk_banklink::fake::{FakeBank, FakeTransaction, Fault};
use dk_banklink::{AccountInformation, Bank, Grant, LinkError, connect, fetch_booked};
use rust_decimal::Decimal;

const REDIRECT: &str = "https://app.example.test/bank-link/return";

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn iban_of(bank: Bank) -> &'static str {
    match bank {
        Bank::Ing => "NL69INGB0123456789",
        Bank::AbnAmro => "NL91ABNA0417164300",
        Bank::Rabobank => "NL44RABO0123456789",
    }
}

/// Starts a fake bank with six transactions on one account, three per page.
async fn bank_with_transactions(bank: Bank) -> FakeBank {
    let fake = FakeBank::start(bank).await.unwrap();
    let iban = iban_of(bank);
    fake.add_account(iban);
    fake.set_page_size(3);
    for day in 1..=5u32 {
        let mut transaction = FakeTransaction::new(
            NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            Decimal::new(1000 * i64::from(day), 2),
            &format!("ref-{day}"),
        );
        transaction.counterparty_iban = Some("NL18 RABO 0123 4598 76".into());
        transaction.counterparty_name = Some(format!("Klant {day}"));
        transaction.remittance = format!("Factuur   2026-000{day}");
        fake.book(iban, transaction);
    }
    let mut payment = FakeTransaction::new(date("2026-11-03"), Decimal::new(-4250, 2), "ref-out");
    payment.counterparty_iban = Some("NL18ABNA0484869868".into());
    payment.counterparty_name = Some("Energie BV".into());
    payment.remittance = "Termijn november".into();
    payment.end_to_end_id = Some("NOTPROVIDED".into());
    payment.structured_reference = Some("9200 0308 4090 0000".into());
    fake.book(iban, payment);
    fake
}

/// Reads November 2026 from `iban` with `grant`.
async fn fetch_november(
    api: &dyn AccountInformation,
    grant: &mut Grant,
    iban: &str,
) -> Result<Vec<dk_banklink::Transaction>, LinkError> {
    fetch_booked(
        api,
        grant,
        iban,
        date("2026-11-01"),
        date("2026-11-30"),
        Utc::now(),
    )
    .await
}

async fn consented(fake: &FakeBank) -> (std::sync::Arc<dyn AccountInformation>, Grant) {
    let api = connect(fake.bank(), &fake.settings()).unwrap();
    let url = api.authorization_url("state-1", REDIRECT);
    assert!(url.contains("client_id=fake-client"), "{url}");
    assert!(url.contains("state=state-1"), "{url}");
    let (code, state) = fake.consent(&url).await.unwrap();
    assert_eq!(state, "state-1");
    let grant = api.exchange_code(&code, REDIRECT).await.unwrap();
    (api, grant)
}

#[tokio::test]
async fn every_bank_pages_through_booked_transactions() {
    for bank in Bank::ALL {
        let fake = bank_with_transactions(bank).await;
        let (api, mut grant) = consented(&fake).await;
        let transactions = fetch_november(api.as_ref(), &mut grant, iban_of(bank))
            .await
            .unwrap();
        assert_eq!(transactions.len(), 6, "{bank}");
        let pages = fake
            .requests()
            .iter()
            .filter(|request| request.contains("/transactions"))
            .count();
        assert_eq!(pages, 2, "{bank}: six transactions at three per page");

        let first = &transactions[0];
        assert_eq!(first.booking_date, date("2026-11-01"), "{bank}");
        assert_eq!(first.amount, Decimal::new(1000, 2), "{bank}");
        assert_eq!(
            first.counterparty_iban.as_deref(),
            Some("NL18RABO0123459876")
        );
        assert_eq!(first.counterparty_name.as_deref(), Some("Klant 1"));
        assert_eq!(first.remittance, "Factuur 2026-0001", "{bank}");

        let payment = transactions
            .iter()
            .find(|transaction| transaction.amount.is_sign_negative())
            .unwrap();
        assert_eq!(payment.amount, Decimal::new(-4250, 2), "{bank}");
        assert_eq!(
            payment.counterparty_iban.as_deref(),
            Some("NL18ABNA0484869868")
        );
        assert_eq!(payment.counterparty_name.as_deref(), Some("Energie BV"));
        assert_eq!(
            payment.structured_reference.as_deref(),
            Some("9200030840900000")
        );
        assert_eq!(payment.structured_reference_valid, Some(true), "{bank}");
        assert_eq!(payment.end_to_end_id, None, "{bank}: NOTPROVIDED is no id");
        assert!(payment.bank_reference.is_some(), "{bank}");
    }
}

#[tokio::test]
async fn date_range_is_sent_and_kept() {
    for bank in Bank::ALL {
        let fake = bank_with_transactions(bank).await;
        let (api, mut grant) = consented(&fake).await;
        let transactions = fetch_booked(
            api.as_ref(),
            &mut grant,
            iban_of(bank),
            date("2026-11-02"),
            date("2026-11-03"),
            Utc::now(),
        )
        .await
        .unwrap();
        let dates: Vec<_> = transactions.iter().map(|t| t.booking_date).collect();
        assert_eq!(
            dates,
            [date("2026-11-02"), date("2026-11-03"), date("2026-11-03")],
            "{bank}"
        );
    }
}

#[tokio::test]
async fn ing_exchanges_the_code_with_an_application_token() {
    let fake = bank_with_transactions(Bank::Ing).await;
    consented(&fake).await;
    let grants: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|request| request.starts_with("POST /oauth2/token"))
        .collect();
    assert_eq!(
        grants,
        [
            "POST /oauth2/token grant_type=client_credentials",
            "POST /oauth2/token grant_type=authorization_code"
        ]
    );
}

#[tokio::test]
async fn expired_access_token_is_refreshed() {
    for bank in Bank::ALL {
        let fake = bank_with_transactions(bank).await;
        let (api, mut grant) = consented(&fake).await;
        let consent_end = grant.consent_valid_until;
        let first_token = grant.access_token.clone();
        // The bank ends the token early: the first request gets 401, then the token refreshes.
        fake.expire_access_tokens();
        let transactions = fetch_november(api.as_ref(), &mut grant, iban_of(bank))
            .await
            .unwrap();
        assert_eq!(transactions.len(), 6, "{bank}");
        assert_ne!(grant.access_token, first_token, "{bank}");
        assert_eq!(
            grant.consent_valid_until, consent_end,
            "{bank}: a refresh keeps the consent's end"
        );
    }
}

#[tokio::test]
async fn stale_token_refreshes_before_use() {
    let fake = bank_with_transactions(Bank::Rabobank).await;
    let (api, mut grant) = consented(&fake).await;
    grant.access_expires_at = Utc::now();
    fetch_november(api.as_ref(), &mut grant, iban_of(Bank::Rabobank))
        .await
        .unwrap();
    let requests = fake.requests();
    let refresh = requests
        .iter()
        .position(|request| request == "POST /oauth2/token grant_type=refresh_token")
        .expect("a refresh");
    let first_read = requests
        .iter()
        .position(|request| request.starts_with("GET /payments"))
        .unwrap();
    assert!(refresh < first_read, "{requests:?}");
}

#[tokio::test]
async fn rate_limits_and_outages_are_waited_out() {
    for bank in Bank::ALL {
        let fake = bank_with_transactions(bank).await;
        let (api, mut grant) = consented(&fake).await;
        fake.fail_next(Fault::TooManyRequests {
            retry_after_seconds: 1,
        });
        fake.fail_next(Fault::Unavailable);
        let started = std::time::Instant::now();
        let transactions = fetch_november(api.as_ref(), &mut grant, iban_of(bank))
            .await
            .unwrap();
        assert_eq!(transactions.len(), 6, "{bank}");
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "{bank}: Retry-After is honoured"
        );
    }
}

#[tokio::test]
async fn long_retry_after_fails_as_rate_limited() {
    let fake = bank_with_transactions(Bank::Ing).await;
    let (api, mut grant) = consented(&fake).await;
    // The fake's settings wait at most two seconds.
    fake.fail_next(Fault::TooManyRequests {
        retry_after_seconds: 600,
    });
    let error = fetch_november(api.as_ref(), &mut grant, iban_of(Bank::Ing))
        .await
        .unwrap_err();
    assert!(matches!(error, LinkError::RateLimited { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "ING limits the request rate and asks to wait 600 seconds; the sync is tried again later"
    );
}

#[tokio::test]
async fn lasting_outages_give_up_after_the_attempts() {
    let fake = bank_with_transactions(Bank::AbnAmro).await;
    let (api, mut grant) = consented(&fake).await;
    for _ in 0..4 {
        fake.fail_next(Fault::Unavailable);
    }
    let error = fetch_november(api.as_ref(), &mut grant, iban_of(Bank::AbnAmro))
        .await
        .unwrap_err();
    assert!(
        matches!(error, LinkError::ErrorResponse { status: 503, .. }),
        "{error:?}"
    );
    let reads = fake
        .requests()
        .iter()
        .filter(|request| request.contains("/transactions"))
        .count();
    assert_eq!(reads, 4, "four attempts in all");
}

#[tokio::test]
async fn withdrawn_consent_needs_new_consent() {
    for bank in Bank::ALL {
        let fake = bank_with_transactions(bank).await;
        let (api, mut grant) = consented(&fake).await;
        fake.revoke_consent();
        let error = fetch_november(api.as_ref(), &mut grant, iban_of(bank))
            .await
            .unwrap_err();
        assert!(error.needs_new_consent(), "{bank}: {error:?}");
    }
}

#[tokio::test]
async fn lapsed_consent_is_not_used() {
    let fake = bank_with_transactions(Bank::Ing).await;
    let (api, mut grant) = consented(&fake).await;
    let later: DateTime<Utc> = grant.consent_valid_until + chrono::TimeDelta::seconds(1);
    let before = fake.requests().len();
    let error = fetch_booked(
        api.as_ref(),
        &mut grant,
        iban_of(Bank::Ing),
        date("2026-11-01"),
        date("2026-11-30"),
        later,
    )
    .await
    .unwrap_err();
    assert!(error.needs_new_consent(), "{error:?}");
    assert_eq!(
        fake.requests().len(),
        before,
        "no request after the consent lapsed"
    );
}

#[tokio::test]
async fn consent_period_from_token_or_default() {
    let fake = bank_with_transactions(Bank::Rabobank).await;
    let (_, grant) = consented(&fake).await;
    let days = (grant.consent_valid_until - Utc::now()).num_days();
    assert!((89..=90).contains(&days), "Rabobank states 90 days: {days}");

    let fake = bank_with_transactions(Bank::AbnAmro).await;
    let (_, grant) = consented(&fake).await;
    let days = (grant.consent_valid_until - Utc::now()).num_days();
    assert!(
        (179..=180).contains(&days),
        "ABN AMRO states none, so 180: {days}"
    );
}

#[tokio::test]
async fn iban_outside_consent_is_named() {
    for bank in Bank::ALL {
        let fake = bank_with_transactions(bank).await;
        let (api, mut grant) = consented(&fake).await;
        let other = match bank {
            Bank::Ing => "NL20INGB0001234567",
            Bank::AbnAmro => "NL02ABNA0123456789",
            Bank::Rabobank => "NL18RABO0123459876",
        };
        let error = fetch_november(api.as_ref(), &mut grant, other)
            .await
            .unwrap_err();
        assert!(
            matches!(error, LinkError::AccountNotFound { .. }),
            "{bank}: {error:?}"
        );
        assert!(error.to_string().contains(other), "{error}");
    }
}

#[tokio::test]
async fn used_code_is_rejected() {
    let fake = bank_with_transactions(Bank::AbnAmro).await;
    let api = connect(Bank::AbnAmro, &fake.settings()).unwrap();
    let (code, _) = fake
        .consent(&api.authorization_url("s", REDIRECT))
        .await
        .unwrap();
    api.exchange_code(&code, REDIRECT).await.unwrap();
    let error = api.exchange_code(&code, REDIRECT).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("invalid_grant: unknown or used code"),
        "{error}"
    );
}

#[tokio::test]
async fn rabobank_booking_dates_are_amsterdam_dates() {
    let fake = FakeBank::start(Bank::Rabobank).await.unwrap();
    let iban = iban_of(Bank::Rabobank);
    fake.add_account(iban);
    // Late in the evening in Amsterdam: the UTC date is the day before.
    let mut late = FakeTransaction::new(date("2025-10-06"), Decimal::new(995, 2), "late");
    late.booked_at = Some("2025-10-05T22:08:00Z".parse().unwrap());
    fake.book(iban, late);
    let (api, mut grant) = consented(&fake).await;
    let transactions = fetch_booked(
        api.as_ref(),
        &mut grant,
        iban,
        date("2025-10-01"),
        date("2025-10-31"),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(transactions[0].booking_date, date("2025-10-06"));
}

#[tokio::test]
async fn unreachable_bank_is_named() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut settings = dk_banklink::BankApiSettings::new(&base, &base, &base, "id");
    settings.max_attempts = 2;
    settings.retry_base_millis = 10;
    let api = connect(Bank::AbnAmro, &settings).unwrap();
    let grant = Grant {
        access_token: "t".into(),
        access_expires_at: Utc::now() + chrono::TimeDelta::hours(1),
        refresh_token: None,
        consent_valid_until: Utc::now() + chrono::TimeDelta::days(1),
    };
    let error = api
        .booked_transactions(
            &grant.access_token,
            iban_of(Bank::AbnAmro),
            date("2026-11-01"),
            date("2026-11-02"),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, LinkError::Unreachable { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("ABN AMRO cannot be reached at http://127.0.0.1:"),
        "{error}"
    );
}
