//! Import → event → match, on RabbitMQ and on the in-process bus.

use dk_proto::bookkeeping::v1::MatchOutcome;
use dk_testkit::{BusKind, DatabaseKind, Stack};

use crate::*;

fn outcome_of(matches: &[dk_proto::bookkeeping::v1::Match], remittance: &str) -> MatchOutcome {
    let found = matches
        .iter()
        .find(|decision| decision.remittance == remittance)
        .unwrap_or_else(|| panic!("no decision for a mutation with remittance {remittance:?}"));
    MatchOutcome::try_from(found.outcome).expect("known outcome")
}

async fn check_demo_flow(stack: &Stack) {
    let (_, mut banksync, mut bookkeeping) = demo_organisation(stack).await;

    let response = import(&mut banksync, DEMO_STATEMENT).await.expect("import");
    assert_eq!(response.format, "mt940");
    assert_eq!(response.dialect, "ing");
    assert_eq!(response.imported_count, 9);
    assert_eq!(response.duplicate_count, 0);
    assert_eq!(response.statements.len(), 1);
    assert_eq!(response.statements[0].iban, DEMO_ACCOUNT);

    let decisions = wait_for_matches(&mut bookkeeping, 9).await;
    assert_eq!(decisions.len(), 9);
    assert_eq!(
        outcome_of(&decisions, "Factuur 2026-0012"),
        MatchOutcome::Exact
    );
    assert_eq!(
        outcome_of(&decisions, "Deelbetaling factuur 2026-0013"),
        MatchOutcome::Partial
    );
    assert_eq!(
        outcome_of(&decisions, "Facturen 2026-0014 en 2026-0015"),
        MatchOutcome::Exact
    );
    assert_eq!(
        outcome_of(&decisions, "Factuurnr INK-2026-104 drukwerk"),
        MatchOutcome::Exact
    );
    assert_eq!(
        outcome_of(&decisions, "Bestelling 88812"),
        MatchOutcome::Suggested
    );
    assert_eq!(
        outcome_of(&decisions, "Abonnement maart 2026 klantnr 5512"),
        MatchOutcome::Unmatched
    );
    // 2026-00123 is another number than 2026-0012, even though one starts with the other.
    assert_eq!(
        outcome_of(&decisions, "Factuur 2026-00123"),
        MatchOutcome::Unmatched
    );

    let structured = decisions
        .iter()
        .find(|decision| decision.counterparty_name == "Kapsalon Anouk")
        .expect("decision for the structured reference");
    assert_eq!(
        MatchOutcome::try_from(structured.outcome),
        Ok(MatchOutcome::Exact)
    );
    assert_eq!(structured.allocations[0].invoice_number, "2026-0017");

    let several = decisions
        .iter()
        .find(|decision| decision.remittance.contains("2026-0014 en"))
        .expect("decision for two invoices");
    assert_eq!(several.allocations.len(), 2);
    let reasons = several.reasons.as_ref().expect("reasons stored");
    assert_eq!(reasons.matched_tokens.len(), 2);
    assert!(!reasons.amount_check.is_empty());

    let listed = invoices(&mut bookkeeping).await;
    assert_eq!(open_amount(&listed, "2026-0012"), "0.00");
    assert_eq!(open_amount(&listed, "2026-0013"), "1315.00");
    assert_eq!(open_amount(&listed, "2026-0014"), "0.00");
    assert_eq!(open_amount(&listed, "2026-0015"), "0.00");
    assert_eq!(open_amount(&listed, "2026-0016"), "60.50");
    assert_eq!(open_amount(&listed, "2026-0017"), "0.00");
    assert_eq!(open_amount(&listed, "INK-2026-104"), "0.00");

    let unmatched = matches(&mut bookkeeping, true).await;
    assert_eq!(
        unmatched.len(),
        4,
        "suggested and unmatched mutations paid nothing"
    );
}

#[tokio::test]
async fn demo_statement_matches_on_rabbitmq() {
    let stack = Stack::start().await.expect("stack");
    check_demo_flow(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn demo_statement_matches_embedded() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_demo_flow(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn reimport_creates_no_duplicates() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, mut bookkeeping) = demo_organisation(&stack).await;

    let first = import(&mut banksync, DEMO_STATEMENT)
        .await
        .expect("first import");
    assert_eq!(first.imported_count, 9);
    wait_for_matches(&mut bookkeeping, 9).await;

    let second = import(&mut banksync, DEMO_STATEMENT)
        .await
        .expect("second import");
    assert_eq!(second.imported_count, 0);
    assert_eq!(second.duplicate_count, 9);
    assert_ne!(second.import_id, first.import_id);

    // An overlapping statement: the last two days again plus one new mutation.
    let text = String::from_utf8(DEMO_STATEMENT.to_vec()).expect("ASCII statement");
    let overlap = overlapping_statement(&text);
    let third = import(&mut banksync, overlap.as_bytes())
        .await
        .expect("overlapping import");
    assert_eq!(third.imported_count, 1, "only the new mutation is stored");
    assert_eq!(third.duplicate_count, 3);

    let decisions = wait_for_matches(&mut bookkeeping, 10).await;
    // Give a wrongly duplicated event time to arrive before counting again.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        matches(&mut bookkeeping, false).await.len(),
        decisions.len()
    );
    assert_eq!(decisions.len(), 10);
    let listed = invoices(&mut bookkeeping).await;
    assert_eq!(
        open_amount(&listed, "2026-0013"),
        "1315.00",
        "the partial payment is booked once"
    );
    stack.stop().await.expect("stop");
}

/// The demo statement cut to its last three mutations plus a new one on 1 April.
fn overlapping_statement(demo: &str) -> String {
    let header_end = demo.find(":61:").expect("first transaction");
    let header = &demo[..header_end].replace(":60F:C260322EUR10000,00", ":60F:C260329EUR12315,00");
    let kpn = demo.find(":61:2603300330D45,99").expect("KPN transaction");
    let trailer = demo.find(":62F:").expect("closing balance");
    let tail = &demo[kpn..trailer];
    format!(
        "{header}{tail}:61:2604010401C100,00NTRFEREF//00000000000010\r\n/TRCD/00100/\r\n:86:/EREF/NOTPROVIDED//REMI/USTD//Nieuwe betaling/\r\n:62F:C260401EUR12606,51\r\n-}}\r\n"
    )
}

#[tokio::test]
async fn same_idempotency_key_returns_first_import() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, _) = demo_organisation(&stack).await;
    let request = dk_proto::banksync::v1::ImportStatementRequest {
        idempotency_key: key(),
        content: DEMO_STATEMENT.to_vec(),
        file_name: "ing.940".into(),
        format: 0,
        dialect: String::new(),
    };
    let first = banksync
        .import_statement(request.clone())
        .await
        .expect("first")
        .into_inner();
    let second = banksync
        .import_statement(request.clone())
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(second, first);

    let mut changed = request;
    changed.file_name = "other.940".into();
    let status = banksync
        .import_statement(changed)
        .await
        .expect_err("key reused for another request");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    stack.stop().await.expect("stop");
}

/// A camt.053 statement for the demo account: one credit that pays invoice 2026-0016, and a
/// closing balance in another currency than the account.
const CAMT_STATEMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>DK-TEST-1</MsgId><CreDtTm>2026-04-02T18:00:00+02:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>DK-TEST-STMT-1</Id>
   <CreDtTm>2026-04-02T18:00:00+02:00</CreDtTm>
   <Acct><Id><IBAN>NL30INGB0008453127</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-04-01</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="SEK">160.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-04-02</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">60.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-04-02</Dt></BookgDt><ValDt><Dt>2026-04-02</Dt></ValDt>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>Kantoorhuis Smit</Nm></Dbtr><DbtrAcct><Id><IBAN>NL33RABO0162738495</IBAN></Id></DbtrAcct></RltdPties>
     <RmtInf><Ustrd>Factuur 2026-0016</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"#;

#[tokio::test]
async fn camt053_statement_is_matched() {
    let stack = Stack::start().await.expect("stack");
    let (_, mut banksync, mut bookkeeping) = demo_organisation(&stack).await;

    let response = import(&mut banksync, CAMT_STATEMENT.as_bytes())
        .await
        .expect("import");
    assert_eq!(response.format, "camt.053");
    assert_eq!(response.imported_count, 1);
    let closing = response.statements[0]
        .closing_balance
        .clone()
        .expect("closing balance");
    assert_eq!(
        closing.currency_code, "SEK",
        "the balance keeps its own currency"
    );
    assert!(
        response
            .warnings
            .iter()
            .any(|warning| warning.contains("not in the statement currency")),
        "{:?}",
        response.warnings
    );

    let decisions = wait_for_matches(&mut bookkeeping, 1).await;
    assert_eq!(
        MatchOutcome::try_from(decisions[0].outcome),
        Ok(MatchOutcome::Exact)
    );
    assert_eq!(decisions[0].allocations[0].invoice_number, "2026-0016");
    stack.stop().await.expect("stop");
}
