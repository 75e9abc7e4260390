//! The automatic bank link end to end: consent through a fake bank on 127.0.0.1, syncs by RPC
//! and by the scheduler, overlap with a statement file, two replicas at once, withdrawn and
//! lapsing consents with their notices, and the refusals.

use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, TimeDelta, Utc};
use dk_banklink::Bank;
use dk_banklink::fake::{FakeBank, FakeTransaction, Fault};
use dk_banksync::settings::BankLinkSettings;
use dk_domain::{Decimal, OrganisationId};
use dk_messaging::topology::{self, Scope, Subscription};
use dk_messaging::{Event, Handler, HandlerError};
use dk_proto::banksync::v1 as banksync;
use dk_proto::events::v1::{BankConsentNotice, Entitlements, LicenceActivated, LicenceChanged};
use dk_testkit::{BankSyncClient, BusKind, DatabaseKind, Stack};
use futures::future::BoxFuture;
use prost::Message;
use sea_orm::ConnectionTrait;
use tonic::Code;
use tonic_types::StatusExt;

use crate::*;

const REDIRECT: &str = "https://app.example.test/bankkoppeling/terug";

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive()
}

fn settings(fakes: &[&FakeBank], scheduler_seconds: u64) -> BankLinkSettings {
    let mut settings = BankLinkSettings::without_banks();
    settings.scheduler_interval_seconds = scheduler_seconds;
    // The demo statement is of March 2026; the first sync reaches back that far.
    settings.first_sync_days = 400;
    for fake in fakes {
        let api = Some(fake.settings());
        match fake.bank() {
            Bank::Ing => settings.ing = api,
            Bank::AbnAmro => settings.abnamro = api,
            Bank::Rabobank => settings.rabobank = api,
        }
    }
    settings
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

/// Announces a licence with the bank link for `organisation`, as billing does.
async fn entitle(stack: &Stack, organisation: OrganisationId) {
    let payload = LicenceActivated {
        organisation_id: organisation.to_string(),
        licence_id: uuid::Uuid::new_v4().to_string(),
        entitlements: Some(Entitlements {
            modules: vec!["boekhouding".into()],
            addons: vec![],
            users: 1,
            automatic_bank_link: true,
            max_linked_ibans: 8,
        }),
        effective_date: Some(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().into()),
        state: "active".into(),
    };
    let event = Event::new(
        topology::LICENCE_ACTIVATED,
        "/dk/billing",
        organisation.as_uuid(),
        payload.encode_to_vec(),
    );
    stack
        .bus
        .publish("billing", &[event])
        .await
        .expect("publish licence");
}

/// Registers `iban` and turns its automatic link on once the entitlement has arrived.
async fn linked_account(
    stack: &Stack,
    client: &mut BankSyncClient,
    iban: &str,
) -> banksync::BankAccount {
    let account = register(client, iban).await;
    dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut client = client.clone();
        let id = account.id.clone();
        async move {
            client
                .set_automatic_link(banksync::SetAutomaticLinkRequest {
                    idempotency_key: key(),
                    bank_account_id: id,
                    enabled: true,
                })
                .await
                .ok()
        }
    })
    .await
    .unwrap_or_else(|| panic!("{iban} linked after the licence event"));
    let _ = stack;
    account
}

/// Starts a stack that reaches `fakes`, with the scheduler off, and a client of the test
/// organisation.
async fn start(
    fakes: &[&FakeBank],
    bus: BusKind,
    database: DatabaseKind,
) -> (Stack, BankSyncClient) {
    let stack = Stack::start_with_bank_link(bus, database, settings(fakes, 0))
        .await
        .expect("stack");
    let client = stack
        .banksync_client(stack.organisation)
        .await
        .expect("client");
    (stack, client)
}

/// Runs the consent flow: start, the customer consents at the fake bank, complete.
async fn consent(
    client: &mut BankSyncClient,
    fake: &FakeBank,
    account: &banksync::BankAccount,
) -> banksync::BankLink {
    let started = client
        .start_bank_consent(banksync::StartBankConsentRequest {
            idempotency_key: key(),
            bank_account_id: account.id.clone(),
            redirect_uri: REDIRECT.into(),
        })
        .await
        .expect("start consent")
        .into_inner();
    assert_eq!(started.bank, fake.bank().as_str());
    let (code, state) = fake
        .consent(&started.authorization_url)
        .await
        .expect("customer consents");
    assert_eq!(state, started.state);
    client
        .complete_bank_consent(banksync::CompleteBankConsentRequest {
            idempotency_key: key(),
            state,
            code,
        })
        .await
        .expect("complete consent")
        .into_inner()
        .bank_link
        .expect("link in response")
}

async fn sync(
    client: &mut BankSyncClient,
    account: &banksync::BankAccount,
) -> Result<banksync::SyncBankAccountResponse, tonic::Status> {
    client
        .sync_bank_account(banksync::SyncBankAccountRequest {
            idempotency_key: key(),
            bank_account_id: account.id.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn mutation_count(client: &mut BankSyncClient, account: &banksync::BankAccount) -> usize {
    client
        .list_bank_mutations(banksync::ListBankMutationsRequest {
            bank_account_id: account.id.clone(),
            page_size: 500,
            page_token: String::new(),
        })
        .await
        .expect("list mutations")
        .into_inner()
        .bank_mutations
        .len()
}

async fn links(client: &mut BankSyncClient, language: &str) -> Vec<banksync::BankLink> {
    client
        .list_bank_links(banksync::ListBankLinksRequest {
            language: language.into(),
        })
        .await
        .expect("list links")
        .into_inner()
        .bank_links
}

/// Returns the demo statement's transactions as ING's API returns them.
fn demo_transactions() -> Vec<FakeTransaction> {
    let parsed = dk_statement::parse(DEMO_STATEMENT).expect("demo statement parses");
    parsed.statements[0]
        .transactions
        .iter()
        .enumerate()
        .map(|(index, transaction)| FakeTransaction {
            booking_date: transaction.booking_date,
            booked_at: None,
            amount: transaction.amount,
            counterparty_iban: transaction.counterparty_iban.clone(),
            counterparty_name: transaction.counterparty_name.clone(),
            // The API writes the description differently from the MT940 file.
            remittance: format!("Omschrijving: {}", transaction.remittance),
            end_to_end_id: transaction.end_to_end_id.clone(),
            structured_reference: transaction.structured_reference.clone(),
            entry_reference: format!("demo-{index}"),
        })
        .collect()
}

fn payment(day: NaiveDate, cents: i64, reference: &str) -> FakeTransaction {
    let mut transaction = FakeTransaction::new(day, Decimal::new(cents, 2), reference);
    transaction.counterparty_iban = Some("NL18ABNA0484869868".into());
    transaction.counterparty_name = Some("Nieuwe Klant BV".into());
    transaction.remittance = format!("Betaling {reference}");
    transaction
}

/// A sync of days the customer imported as a file stores only what is new, and a second sync
/// stores nothing. Bookkeeping decides on the synced mutation as on imported ones.
#[tokio::test]
async fn sync_overlapping_file_stores_only_new() {
    let fake = FakeBank::start(Bank::Ing).await.expect("fake ING");
    fake.add_account(DEMO_ACCOUNT);
    for transaction in demo_transactions() {
        fake.book(DEMO_ACCOUNT, transaction);
    }
    fake.book(DEMO_ACCOUNT, payment(today(), 12_500, "sync-1"));
    fake.set_page_size(4);
    let (stack, mut client) = start(&[&fake], BusKind::RabbitMq, DatabaseKind::Postgres).await;
    entitle(&stack, stack.organisation).await;
    let account = linked_account(&stack, &mut client, DEMO_ACCOUNT).await;
    let imported = import(&mut client, DEMO_STATEMENT)
        .await
        .expect("import file");
    assert_eq!(imported.imported_count, 9);

    let link = consent(&mut client, &fake, &account).await;
    assert_eq!(link.consent_status, banksync::ConsentStatus::Active as i32);
    assert_eq!(link.bank, "ing");
    // The customer's tokens are stored sealed, never as the bank issued them.
    let stored = stack
        .banksync_db
        .query_one_raw(sea_orm::Statement::from_string(
            stack.banksync_db.get_database_backend(),
            "SELECT access_token, refresh_token FROM bank_consents WHERE status = 'active'",
        ))
        .await
        .expect("query")
        .expect("active consent");
    for column in ["access_token", "refresh_token"] {
        let token: String = stored.try_get("", column).expect("token");
        assert!(token.starts_with("v1."), "{column}: {token}");
        assert!(
            !token.contains("access-") && !token.contains("refresh-"),
            "{column}: {token}"
        );
    }

    let first = sync(&mut client, &account).await.expect("first sync");
    let stored = first.import.expect("import result");
    assert_eq!((stored.imported_count, stored.duplicate_count), (1, 9));
    assert_eq!(stored.format, "bank-api");
    let link = first.bank_link.expect("link");
    assert_eq!(link.synced_through, Some(today().into()));
    assert!(
        link.last_sync_outcome.contains("1 new, 9 already known"),
        "{}",
        link.last_sync_outcome
    );

    let second = sync(&mut client, &account).await.expect("second sync");
    assert_eq!(second.import.expect("import").imported_count, 0);
    assert_eq!(mutation_count(&mut client, &account).await, 10);

    // The importer of a later file finds the synced mutation too.
    let again = import(&mut client, DEMO_STATEMENT)
        .await
        .expect("import again");
    assert_eq!(again.imported_count, 0);

    let mut bookkeeping = stack
        .bookkeeping_client(stack.organisation)
        .await
        .expect("bookkeeping client");
    let decided = wait_for_matches(&mut bookkeeping, 10).await;
    assert_eq!(decided.len(), 10, "nine imported and one synced mutation");
    assert!(
        decided
            .iter()
            .any(|decision| decision.remittance == "Betaling sync-1"),
        "{decided:?}"
    );
    stack.stop().await.expect("stop");
}

/// The scheduler syncs every linked account on its own, on the embedded defaults.
#[tokio::test]
async fn scheduler_syncs_every_linked_account() {
    let rabobank = FakeBank::start(Bank::Rabobank)
        .await
        .expect("fake Rabobank");
    let abnamro = FakeBank::start(Bank::AbnAmro).await.expect("fake ABN AMRO");
    let rabo_iban = "NL44RABO0123456789";
    let abn_iban = "NL91ABNA0417164300";
    rabobank.add_account(rabo_iban);
    abnamro.add_account(abn_iban);
    let day = today() - TimeDelta::days(2);
    rabobank.book(rabo_iban, payment(day, 4_250, "rabo-1"));
    rabobank.book(rabo_iban, payment(day, 4_250, "rabo-2"));
    abnamro.book(abn_iban, payment(day, -1_999, "abn-1"));
    let stack = Stack::start_with_bank_link(
        BusKind::InProcess,
        DatabaseKind::Sqlite,
        settings(&[&rabobank, &abnamro], 1),
    )
    .await
    .expect("stack");
    let mut client = stack
        .banksync_client(stack.organisation)
        .await
        .expect("client");
    entitle(&stack, stack.organisation).await;
    let rabo_account = linked_account(&stack, &mut client, rabo_iban).await;
    let abn_account = linked_account(&stack, &mut client, abn_iban).await;
    let before = links(&mut client, "").await;
    assert!(
        before
            .iter()
            .all(|link| link.consent_status == banksync::ConsentStatus::Missing as i32),
        "{before:?}"
    );
    assert!(
        before[0].notice.starts_with("Geef "),
        "{}",
        before[0].notice
    );
    consent(&mut client, &rabobank, &rabo_account).await;
    consent(&mut client, &abnamro, &abn_account).await;

    let synced = dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut client = client.clone();
        async move {
            let all = links(&mut client, "en").await;
            all.iter()
                .all(|link| link.synced_through.is_some())
                .then_some(all)
        }
    })
    .await
    .expect("the scheduler syncs both accounts");
    assert_eq!(synced.len(), 2);
    // Two equal payments on one day are two mutations.
    assert_eq!(mutation_count(&mut client, &rabo_account).await, 2);
    assert_eq!(mutation_count(&mut client, &abn_account).await, 1);
    for link in &synced {
        assert!(link.next_sync_time.is_some(), "{link:?}");
        assert!(link.notice.is_empty(), "{link:?}");
    }
    stack.stop().await.expect("stop");
}

/// Two banksync replicas running a scheduler round at the same moment sync an account once.
#[tokio::test]
async fn two_replicas_sync_an_account_once() {
    let fake = FakeBank::start(Bank::Rabobank)
        .await
        .expect("fake Rabobank");
    let iban = "NL44RABO0123456789";
    fake.add_account(iban);
    for index in 0..20 {
        fake.book(
            iban,
            payment(
                today() - TimeDelta::days(index % 5),
                1_000 + index,
                &format!("r{index}"),
            ),
        );
    }
    let settings = settings(&[&fake], 0);
    let stack =
        Stack::start_with_bank_link(BusKind::RabbitMq, DatabaseKind::Postgres, settings.clone())
            .await
            .expect("stack");
    let mut client = stack
        .banksync_client(stack.organisation)
        .await
        .expect("client");
    entitle(&stack, stack.organisation).await;
    let account = linked_account(&stack, &mut client, iban).await;
    consent(&mut client, &fake, &account).await;

    let replica = |settings: BankLinkSettings| {
        let relay = dk_messaging::outbox::Relay::new(
            stack.banksync_db.clone(),
            stack.bus.clone(),
            "banksync",
        );
        dk_banksync::bank_link::BankLinks::new(stack.banksync_db.clone(), settings, relay)
            .expect("replica")
    };
    let (first, second) = (replica(settings.clone()), replica(settings));
    let now = Utc::now();
    let (a, b) = tokio::join!(first.round(now), second.round(now));
    let (a, b) = (a.expect("round"), b.expect("round"));
    assert_eq!(a.synced + b.synced, 1, "{a:?} {b:?}");
    assert_eq!(mutation_count(&mut client, &account).await, 20);
    let reads = fake
        .requests()
        .iter()
        .filter(|request| request.contains("/transactions"))
        .count();
    assert_eq!(reads, 1, "one replica read the bank");
    stack.stop().await.expect("stop");
}

/// Records the consent notices banksync publishes.
#[derive(Default)]
struct Notices(Mutex<Vec<(String, BankConsentNotice)>>);

impl Handler for Notices {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let notice = BankConsentNotice::decode(event.payload.as_slice())
                .map_err(|error| HandlerError::Reject(error.to_string()))?;
            self.0
                .lock()
                .unwrap()
                .push((event.event_type.clone(), notice));
            Ok(())
        })
    }
}

const NOTICES: Subscription = Subscription {
    consumer: "test",
    name: "consent-notices",
    producer: "banksync",
    routing_keys: &[
        topology::BANK_CONSENT_EXPIRING,
        topology::BANK_CONSENT_ENDED,
    ],
    scope: Scope::Every,
};

/// Subscribes a test queue to the consent notices; [`Listener::stop`] removes it again.
async fn listen(stack: &Stack) -> Listener {
    stack
        .bus
        .declare_subscriptions(&[NOTICES])
        .await
        .expect("declare test queue");
    let notices = Arc::new(Notices::default());
    let stop = tokio_util::sync::CancellationToken::new();
    stack
        .bus
        .subscribe(&NOTICES, notices.clone(), stop.clone())
        .await
        .expect("subscribe");
    Listener { notices, stop }
}

struct Listener {
    notices: Arc<Notices>,
    stop: tokio_util::sync::CancellationToken,
}

impl Listener {
    async fn stop(self, stack: &Stack) {
        self.stop.cancel();
        stack
            .bus
            .delete_subscriptions(&[NOTICES])
            .await
            .expect("delete test queue");
    }
}

async fn wait_for_notice(notices: &Notices, event_type: &str) -> BankConsentNotice {
    dk_testkit::eventually(EVENT_TIMEOUT, || async {
        notices
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|(kind, _)| kind == event_type)
            .map(|(_, notice)| notice.clone())
    })
    .await
    .unwrap_or_else(|| panic!("no {event_type} notice"))
}

/// A consent the customer withdrew at the bank stops the sync with a clear error. It shows as
/// ended with a Dutch notice and publishes an ended notice, and a new consent resumes the sync.
#[tokio::test]
async fn withdrawn_consent_stops_sync() {
    let fake = FakeBank::start(Bank::AbnAmro).await.expect("fake ABN AMRO");
    let iban = "NL91ABNA0417164300";
    fake.add_account(iban);
    fake.book(iban, payment(today(), 5_000, "a1"));
    let (stack, mut client) = start(&[&fake], BusKind::RabbitMq, DatabaseKind::Postgres).await;
    let listener = listen(&stack).await;
    entitle(&stack, stack.organisation).await;
    let account = linked_account(&stack, &mut client, iban).await;
    consent(&mut client, &fake, &account).await;
    sync(&mut client, &account).await.expect("sync");

    fake.revoke_consent();
    fake.expire_access_tokens();
    let refused = sync(&mut client, &account).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "BANK_CONSENT_ENDED");
    assert!(
        refused.message().starts_with(&format!(
            "account {iban}: the consent for ABN AMRO has ended"
        )),
        "{}",
        refused.message()
    );
    let link = &links(&mut client, "nl").await[0];
    assert_eq!(link.consent_status, banksync::ConsentStatus::Ended as i32);
    assert!(
        link.notice.starts_with(
            "De automatische koppeling met ABN AMRO voor rekening NL91ABNA0417164300 is gestopt"
        ),
        "{}",
        link.notice
    );
    let ended = wait_for_notice(&listener.notices, topology::BANK_CONSENT_ENDED).await;
    assert_eq!(ended.account_iban, iban);
    assert_eq!(ended.bank, "abnamro");
    assert!(
        ended
            .notice_en
            .starts_with("The automatic link with ABN AMRO")
    );

    let missing = sync(&mut client, &account).await.unwrap_err();
    assert_eq!(reason(&missing), "BANK_CONSENT_MISSING");

    fake.book(iban, payment(today(), 7_500, "a2"));
    consent(&mut client, &fake, &account).await;
    let resumed = sync(&mut client, &account).await.expect("sync again");
    assert_eq!(resumed.import.expect("import").imported_count, 1);
    assert_eq!(mutation_count(&mut client, &account).await, 2);

    listener.stop(&stack).await;
    stack.stop().await.expect("stop");
}

/// The customer hears once, within the notice period, that a consent lapses; after it lapsed
/// the consent ends with a notice of its own.
#[tokio::test]
async fn lapsing_consent_announced_once_then_ended() {
    let fake = FakeBank::start(Bank::Ing).await.expect("fake ING");
    let iban = "NL69INGB0123456789";
    fake.add_account(iban);
    // The bank grants ten days; the notice period is fourteen.
    fake.set_consent_seconds(Some(10 * 24 * 3600));
    let settings = settings(&[&fake], 0);
    let stack =
        Stack::start_with_bank_link(BusKind::RabbitMq, DatabaseKind::Postgres, settings.clone())
            .await
            .expect("stack");
    let listener = listen(&stack).await;
    let mut client = stack
        .banksync_client(stack.organisation)
        .await
        .expect("client");
    entitle(&stack, stack.organisation).await;
    let account = linked_account(&stack, &mut client, iban).await;
    let link = consent(&mut client, &fake, &account).await;
    assert_eq!(
        link.consent_status,
        banksync::ConsentStatus::RenewalDue as i32
    );
    assert!(
        link.notice.starts_with(&format!(
            "Uw toestemming aan ING voor rekening {iban} verloopt op "
        )),
        "{}",
        link.notice
    );

    let relay =
        dk_messaging::outbox::Relay::new(stack.banksync_db.clone(), stack.bus.clone(), "banksync");
    let scheduler =
        dk_banksync::bank_link::BankLinks::new(stack.banksync_db.clone(), settings, relay)
            .expect("scheduler");
    let now = Utc::now();
    let first = scheduler.round(now).await.expect("round");
    assert_eq!(first.renewal_notices, 1);
    let again = scheduler
        .round(now + TimeDelta::days(1))
        .await
        .expect("round");
    assert_eq!(again.renewal_notices, 0, "the notice is sent once");
    let expiring = wait_for_notice(&listener.notices, topology::BANK_CONSENT_EXPIRING).await;
    assert_eq!(expiring.account_iban, iban);
    assert!(
        expiring.notice_nl.contains("verloopt op"),
        "{}",
        expiring.notice_nl
    );

    let lapsed = scheduler
        .round(now + TimeDelta::days(11))
        .await
        .expect("round");
    assert_eq!(lapsed.ended, 1);
    let ended = wait_for_notice(&listener.notices, topology::BANK_CONSENT_ENDED).await;
    assert!(
        ended.reason.starts_with("the consent lapsed on "),
        "{}",
        ended.reason
    );
    let link = &links(&mut client, "en").await[0];
    assert_eq!(link.consent_status, banksync::ConsentStatus::Ended as i32);

    listener.stop(&stack).await;
    stack.stop().await.expect("stop");
}

/// A `Retry-After` longer than a sync waits fails that sync with a clear error and keeps the
/// consent, and the next sync succeeds.
#[tokio::test]
async fn rate_limited_sync_fails_then_succeeds() {
    let fake = FakeBank::start(Bank::Rabobank)
        .await
        .expect("fake Rabobank");
    let iban = "NL44RABO0123456789";
    fake.add_account(iban);
    fake.book(iban, payment(today(), 2_000, "x1"));
    let (stack, mut client) = start(&[&fake], BusKind::InProcess, DatabaseKind::Sqlite).await;
    entitle(&stack, stack.organisation).await;
    let account = linked_account(&stack, &mut client, iban).await;
    consent(&mut client, &fake, &account).await;

    fake.fail_next(Fault::TooManyRequests {
        retry_after_seconds: 3600,
    });
    let limited = sync(&mut client, &account).await.unwrap_err();
    assert_eq!(limited.code(), Code::Unavailable);
    assert_eq!(reason(&limited), "BANK_RATE_LIMITED");
    assert!(
        limited.message().contains("asks to wait 3600 seconds"),
        "{}",
        limited.message()
    );
    let link = &links(&mut client, "").await[0];
    assert_eq!(link.consent_status, banksync::ConsentStatus::Active as i32);
    assert!(
        link.last_sync_outcome.contains("3600"),
        "{}",
        link.last_sync_outcome
    );

    fake.fail_next(Fault::Unavailable);
    let synced = sync(&mut client, &account)
        .await
        .expect("sync after the wait");
    assert_eq!(synced.import.expect("import").imported_count, 1);

    // A licence without the bank link stops the sync of accounts linked before.
    let payload = LicenceChanged {
        organisation_id: stack.organisation.to_string(),
        licence_id: uuid::Uuid::new_v4().to_string(),
        entitlements: Some(Entitlements {
            modules: vec!["boekhouding".into()],
            addons: vec![],
            users: 1,
            automatic_bank_link: false,
            max_linked_ibans: 0,
        }),
        effective_date: Some(today().into()),
        state: "active".into(),
    };
    let event = Event::new(
        topology::LICENCE_CHANGED,
        "/dk/billing",
        stack.organisation.as_uuid(),
        payload.encode_to_vec(),
    );
    stack
        .bus
        .publish("billing", &[event])
        .await
        .expect("publish licence change");
    let stopped = dk_testkit::eventually(EVENT_TIMEOUT, || {
        let mut client = client.clone();
        let account = account.clone();
        async move { sync(&mut client, &account).await.err() }
    })
    .await
    .expect("the sync stops without the bank link");
    assert_eq!(reason(&stopped), "BANK_LINK_NOT_IN_LICENCE");
    stack.stop().await.expect("stop");
}

/// Linking needs the account's link on, a supported and configured bank, an https return
/// address, and the caller's own pending consent.
#[tokio::test]
async fn consent_rejections_name_the_cause() {
    let fake = FakeBank::start(Bank::Ing).await.expect("fake ING");
    let (stack, mut client) = start(&[&fake], BusKind::InProcess, DatabaseKind::Sqlite).await;
    let start =
        |account: &banksync::BankAccount, redirect: &str| banksync::StartBankConsentRequest {
            idempotency_key: key(),
            bank_account_id: account.id.clone(),
            redirect_uri: redirect.into(),
        };

    let unlinked = register(&mut client, "NL69INGB0123456789").await;
    let refused = client
        .start_bank_consent(start(&unlinked, REDIRECT))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "BANK_LINK_OFF");
    assert!(
        refused.message().contains("NL69INGB0123456789"),
        "{}",
        refused.message()
    );

    entitle(&stack, stack.organisation).await;
    let ing = linked_account(&stack, &mut client, "NL20INGB0001234567").await;
    let refused = client
        .start_bank_consent(start(&ing, "http://app.example.test/terug"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("redirect_uri: "),
        "{}",
        refused.message()
    );

    // A bank without an automatic link takes none of the licence's linked IBANs.
    let triodos = register(&mut client, "NL70TRIO0123456789").await;
    let refused = client
        .set_automatic_link(banksync::SetAutomaticLinkRequest {
            idempotency_key: key(),
            bank_account_id: triodos.id.clone(),
            enabled: true,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "BANK_NOT_SUPPORTED");
    let refused = client
        .start_bank_consent(start(&triodos, REDIRECT))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "BANK_LINK_OFF");

    let abnamro = linked_account(&stack, &mut client, "NL91ABNA0417164300").await;
    let refused = client
        .start_bank_consent(start(&abnamro, REDIRECT))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "BANK_NOT_CONFIGURED");
    assert!(
        refused.message().contains("bank_link.abnamro"),
        "{}",
        refused.message()
    );

    let unknown = client
        .complete_bank_consent(banksync::CompleteBankConsentRequest {
            idempotency_key: key(),
            state: "no-such-state".into(),
            code: "code".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // Another organisation cannot complete this organisation's consent.
    fake.add_account("NL20INGB0001234567");
    let started = client
        .start_bank_consent(start(&ing, REDIRECT))
        .await
        .expect("start")
        .into_inner();
    let (code, state) = fake
        .consent(&started.authorization_url)
        .await
        .expect("consent");
    let mut other = stack
        .banksync_client(stack.other_organisation)
        .await
        .expect("client");
    let foreign = other
        .complete_bank_consent(banksync::CompleteBankConsentRequest {
            idempotency_key: key(),
            state: state.clone(),
            code: code.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let completed = client
        .complete_bank_consent(banksync::CompleteBankConsentRequest {
            idempotency_key: key(),
            state: state.clone(),
            code: code.clone(),
        })
        .await
        .expect("complete");
    assert!(completed.into_inner().bank_link.is_some());
    let twice = client
        .complete_bank_consent(banksync::CompleteBankConsentRequest {
            idempotency_key: key(),
            state,
            code,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "BANK_CONSENT_NOT_PENDING");
    stack.stop().await.expect("stop");
}
