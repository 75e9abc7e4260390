//! Bank CSV exports through banksync: import, structured-reference checks, and matching.

use dk_proto::bookkeeping::v1::MatchOutcome;
use dk_proto::common::v1::ReferenceCheck;
use dk_testkit::Stack;

use crate::*;

/// An ING export of the demo account, newest row first, with the balance after each row: an
/// invoice paid by number, one paid with its betalingskenmerk, and bank costs that carry a
/// reference whose check digit fails.
const ING_CSV: &str = concat!(
    "\"Datum\";\"Naam / Omschrijving\";\"Rekening\";\"Tegenrekening\";\"Code\";\"Af Bij\";\"Bedrag (EUR)\";\"Mutatiesoort\";\"Mededelingen\";\"Saldo na mutatie\";\"Tag\"\r\n",
    "\"20260305\";\"Bouwbedrijf Jansen\";\"NL30INGB0008453127\";\"NL43ABNA0472615893\";\"OV\";\"Bij\";\"1.210,00\";\"Overschrijving\";\"Naam: Bouwbedrijf Jansen Omschrijving: Factuur 2026-0012 IBAN: NL43ABNA0472615893 Valutadatum: 05-03-2026\";\"2.621,00\";\"\"\r\n",
    "\"20260304\";\"Drukkerij Visser\";\"NL30INGB0008453127\";\"NL29SNSB0937261845\";\"OV\";\"Bij\";\"423,50\";\"Overschrijving\";\"Naam: Drukkerij Visser IBAN: NL29SNSB0937261845 Kenmerk: 7000 0202 6001 7001 Valutadatum: 04-03-2026\";\"1.411,00\";\"\"\r\n",
    "\"20260303\";\"Kosten Zakelijk Betalen\";\"NL30INGB0008453127\";\"\";\"DV\";\"Af\";\"12,50\";\"Diversen\";\"Kenmerk: 9001123412341234 Valutadatum: 03-03-2026\";\"987,50\";\"\"\r\n",
);

#[tokio::test]
async fn ing_csv_export_is_imported_checked_and_matched() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, mut bookkeeping) = demo_organisation(&stack).await;

    let response = import(&mut banksync, ING_CSV.as_bytes())
        .await
        .expect("import");
    assert_eq!(response.format, "csv");
    assert_eq!(response.dialect, "ing");
    assert_eq!(response.imported_count, 3);
    assert_eq!(response.warnings.len(), 1, "{:?}", response.warnings);
    assert!(
        response.warnings[0].contains("9001123412341234 fails its check digit"),
        "{:?}",
        response.warnings
    );
    let statement = &response.statements[0];
    assert_eq!(
        statement
            .opening_balance
            .as_ref()
            .map(|b| b.amount.as_str()),
        Some("1000.00")
    );
    assert_eq!(
        statement
            .closing_balance
            .as_ref()
            .map(|b| b.amount.as_str()),
        Some("2621.00")
    );

    let mutations = banksync
        .list_bank_mutations(banksync::ListBankMutationsRequest::default())
        .await
        .expect("list mutations")
        .into_inner()
        .bank_mutations;
    assert_eq!(mutations.len(), 3);
    let by_amount = |amount: &str| {
        mutations
            .iter()
            .find(|mutation| mutation.amount.as_ref().map(|m| m.amount.as_str()) == Some(amount))
            .unwrap_or_else(|| panic!("no mutation of {amount}"))
    };
    let kenmerk = by_amount("423.50");
    assert_eq!(kenmerk.structured_reference, "7000020260017001");
    assert_eq!(
        kenmerk.structured_reference_check,
        ReferenceCheck::Valid as i32
    );
    let costs = by_amount("-12.50");
    assert_eq!(costs.structured_reference, "9001123412341234");
    assert_eq!(
        costs.structured_reference_check,
        ReferenceCheck::Invalid as i32,
        "a failing check digit is flagged, the reference kept"
    );
    let by_number = by_amount("1210.00");
    assert_eq!(
        by_number.structured_reference_check,
        ReferenceCheck::Unspecified as i32
    );
    assert_eq!(
        by_number.value_date,
        Some(chrono::NaiveDate::from_ymd_opt(2026, 3, 5).unwrap().into())
    );

    let decisions = wait_for_matches(&mut bookkeeping, 3).await;
    for number in ["2026-0012", "2026-0017"] {
        let decision = decisions
            .iter()
            .find(|decision| {
                decision
                    .allocations
                    .iter()
                    .any(|allocation| allocation.invoice_number == number)
            })
            .unwrap_or_else(|| panic!("no decision for {number}: {decisions:?}"));
        assert_eq!(
            MatchOutcome::try_from(decision.outcome),
            Ok(MatchOutcome::Exact),
            "{number}"
        );
    }

    // The same export downloaded again adds nothing.
    let again = import(&mut banksync, ING_CSV.as_bytes())
        .await
        .expect("second import");
    assert_eq!(again.imported_count, 0);
    assert_eq!(again.duplicate_count, 3);
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn unknown_csv_layout_is_rejected() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, _) = demo_organisation(&stack).await;
    let status = import(&mut banksync, b"Kolom A;Kolom B\n1;2\n")
        .await
        .expect_err("unknown layout");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let message = status.message();
    assert!(message.contains("line 1"), "{message}");
    assert!(message.contains("Kolom A;Kolom B"), "{message}");
    assert!(message.contains("CSV or TAB export"), "{message}");

    // A row of a known layout with a broken amount names its line and column.
    let broken = ING_CSV.replace("\"423,50\"", "\"423,5x\"");
    let status = import(&mut banksync, broken.as_bytes())
        .await
        .expect_err("broken amount");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("line 3"), "{}", status.message());
    assert!(
        status.message().contains("Bedrag (EUR)"),
        "{}",
        status.message()
    );
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn stated_dialect_is_checked() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, _) = demo_organisation(&stack).await;
    let mut request = banksync::ImportStatementRequest {
        idempotency_key: key(),
        content: ING_CSV.as_bytes().to_vec(),
        file_name: "ing.csv".into(),
        format: banksync::StatementFormat::Csv as i32,
        dialect: "rabobank".into(),
    };
    let status = banksync
        .import_statement(request.clone())
        .await
        .expect_err("an ING export stated as Rabobank");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("an export of Rabobank"),
        "{}",
        status.message()
    );

    request.idempotency_key = key();
    request.dialect = "sparkasse".into();
    let status = banksync
        .import_statement(request.clone())
        .await
        .expect_err("unknown dialect");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("sparkasse"),
        "{}",
        status.message()
    );

    request.idempotency_key = key();
    request.dialect = "ING".into();
    let imported = banksync
        .import_statement(request)
        .await
        .expect("import with the right dialect")
        .into_inner();
    assert_eq!(imported.dialect, "ing");
    assert_eq!(imported.imported_count, 3);
    stack.stop().await.expect("stop");
}
