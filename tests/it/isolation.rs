//! Every call is scoped to the caller's organisation.

use dk_proto::banksync::v1 as banksync;
use dk_proto::bookkeeping::v1 as bookkeeping;
use dk_testkit::{Bearer, Stack};
use tonic_types::StatusExt;

use crate::*;

#[tokio::test]
async fn other_organisation_cannot_read_or_import() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync_a, mut bookkeeping_a) = demo_organisation(&stack).await;
    import(&mut banksync_a, DEMO_STATEMENT)
        .await
        .expect("import for A");
    wait_for_matches(&mut bookkeeping_a, 9).await;
    let invoice_of_a = invoices(&mut bookkeeping_a).await.remove(0);

    let mut banksync_b = stack
        .banksync_client(stack.other_organisation)
        .await
        .expect("client");
    let mut bookkeeping_b = stack
        .bookkeeping_client(stack.other_organisation)
        .await
        .expect("client");

    let accounts = banksync_b
        .list_bank_accounts(banksync::ListBankAccountsRequest::default())
        .await
        .expect("list accounts")
        .into_inner();
    assert!(
        accounts.bank_accounts.is_empty(),
        "B sees none of A's accounts"
    );
    let mutations = banksync_b
        .list_bank_mutations(banksync::ListBankMutationsRequest::default())
        .await
        .expect("list mutations")
        .into_inner();
    assert!(mutations.bank_mutations.is_empty());
    assert!(invoices(&mut bookkeeping_b).await.is_empty());
    assert!(matches(&mut bookkeeping_b, false).await.is_empty());

    let status = bookkeeping_b
        .get_invoice(bookkeeping::GetInvoiceRequest {
            id: invoice_of_a.id.clone(),
        })
        .await
        .expect_err("A's invoice is not B's");
    assert_eq!(status.code(), tonic::Code::NotFound);

    let status = import(&mut banksync_b, DEMO_STATEMENT)
        .await
        .expect_err("B has not registered A's IBAN");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains(DEMO_ACCOUNT),
        "{}",
        status.message()
    );
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("error info");
    assert_eq!(info.reason, "IBAN_NOT_REGISTERED");

    // B's rejected import stored nothing; A's mutation count is unchanged.
    let all_a = banksync_a
        .list_bank_mutations(banksync::ListBankMutationsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list A")
        .into_inner();
    assert_eq!(all_a.bank_mutations.len(), 9);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn call_without_token_is_unauthenticated() {
    let stack = Stack::start().await.expect("stack");
    let channel = dk_testkit::channel(stack.banksync).await.expect("channel");
    let mut anonymous = banksync::bank_sync_service_client::BankSyncServiceClient::with_interceptor(
        channel.clone(),
        Bearer(None),
    );
    let status = anonymous
        .list_bank_accounts(banksync::ListBankAccountsRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    let forged = Bearer(Some("Bearer not-a-token".parse().expect("header")));
    let mut forged = banksync::bank_sync_service_client::BankSyncServiceClient::with_interceptor(
        channel, forged,
    );
    let status = forged
        .list_bank_accounts(banksync::ListBankAccountsRequest::default())
        .await
        .expect_err("forged token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    let channel = dk_testkit::channel(stack.billing).await.expect("channel");
    let mut anonymous =
        dk_proto::billing::v1::billing_service_client::BillingServiceClient::with_interceptor(
            channel,
            Bearer(None),
        );
    let status = anonymous
        .get_quote(dk_proto::billing::v1::GetQuoteRequest {
            quote_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect_err("no token for billing");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

    let stack = Stack::start().await.expect("stack");
    for (address, service) in [
        (stack.banksync, dk_banksync::SERVICE_NAME),
        (stack.bookkeeping, dk_bookkeeping::SERVICE_NAME),
        (stack.billing, dk_billing::SERVICE_NAME),
    ] {
        let mut health = HealthClient::new(dk_testkit::channel(address).await.expect("channel"));
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(response.status, ServingStatus::Serving as i32, "{service}");
    }
    stack.stop().await.expect("stop");
}
