//! Whole-document CAMT cases with small inline fixtures.

use super::*;
use crate::decode;

fn read(xml: &str, format: Format) -> Result<ParsedFile, ParseError> {
    parse(&decode::decode_xml(xml.as_bytes()), format)
}

fn read_053(xml: &str) -> ParsedFile {
    read(xml, Format::Camt053).unwrap_or_else(|error| panic!("{error}"))
}

/// Wraps statement content in a camt.053.001.08 document on one line.
fn document(statement: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId><CreDtTm>2024-03-21T19:48:18+01:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id><Acct><Id><IBAN>NL77ABNA0574908765</IBAN></Id></Acct>{statement}</Stmt></BkToCstmrStmt></Document>"
    )
}

fn balance(code: &str, amount: &str, indicator: &str) -> String {
    format!(
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{amount}</Amt>{indicator}<Dt><Dt>2014-01-05</Dt></Dt></Bal>"
    )
}

fn entry(amount: &str, indicator: &str, extra: &str, details: &str) -> String {
    format!(
        "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{extra}<BookgDt><Dt>2014-01-05</Dt></BookgDt><ValDt><Dt>2014-01-06</Dt></ValDt><AcctSvcrRef>A1</AcctSvcrRef><NtryDtls>{details}</NtryDtls></Ntry>"
    )
}

fn part(amount: &str, name: &str, end_to_end: &str) -> String {
    format!(
        "<TxDtls><Refs><EndToEndId>{end_to_end}</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy=\"EUR\">{amount}</Amt></TxAmt></AmtDtls><RltdPties><Cdtr><Nm>{name}</Nm></Cdtr><CdtrAcct><Id><IBAN>NL46ABNA0499998748</IBAN></Id></CdtrAcct></RltdPties><RmtInf><Ustrd>Direct Debit</Ustrd></RmtInf></TxDtls>"
    )
}

#[test]
fn reversed_batch_is_split_with_its_own_amounts() {
    let details = format!(
        "<Btch><NbOfTxs>2</NbOfTxs></Btch>{}{}",
        part("564.05", "Test Customer", "E/01"),
        part("100.00", "Other Customer", "E/02")
    );
    let xml = document(&format!(
        "{}{}{}",
        balance("OPBD", "1000.00", "<CdtDbtInd>CRDT</CdtDbtInd>"),
        balance("CLBD", "335.95", "<CdtDbtInd>CRDT</CdtDbtInd>"),
        entry(
            "664.05",
            "DBIT",
            "<RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts>",
            &details
        )
    ));

    let file = read_053(&xml);
    let transactions = &file.statements[0].transactions;
    assert_eq!(transactions.len(), 2);
    assert_eq!(transactions[0].amount.to_string(), "-564.05");
    assert_eq!(transactions[1].amount.to_string(), "-100.00");
    assert_eq!(
        transactions[1].counterparty_name.as_deref(),
        Some("Other Customer")
    );
    assert_eq!(transactions[1].end_to_end_id.as_deref(), Some("E/02"));
    assert!(transactions.iter().all(|transaction| transaction.reversal));
    assert_eq!(transactions[0].booking_date.to_string(), "2014-01-05");
    assert_eq!(transactions[0].value_date.to_string(), "2014-01-06");
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn pending_entries_are_left_out() {
    // (status markup) for the 2009 text form and the 2019 code form.
    for status in ["<Sts>PDNG</Sts>", "<Sts><Cd>PDNG</Cd></Sts>"] {
        let xml = document(&format!(
            "{}{}",
            entry("5.00", "CRDT", status, ""),
            entry("7.00", "CRDT", "<Sts>BOOK</Sts>", "")
        ));
        let file = read_053(&xml);
        assert_eq!(file.statements[0].transactions.len(), 1, "{status}");
        assert_eq!(
            file.statements[0].transactions[0].amount.to_string(),
            "7.00"
        );
        assert!(
            file.warnings[0].message.contains("PDNG"),
            "{:?}",
            file.warnings
        );
    }
}

#[test]
fn balance_without_indicator_is_credit_with_warning() {
    let xml = document(&format!(
        "{}{}",
        balance("OPBD", "19536402.5", ""),
        balance("CLBD", "19536402.5", "")
    ));
    let file = read_053(&xml);
    let statement = &file.statements[0];
    assert_eq!(
        statement
            .opening_balance
            .as_ref()
            .unwrap()
            .amount
            .to_string(),
        "19536402.50"
    );
    assert_eq!(file.warnings.len(), 2);
    assert!(
        file.warnings
            .iter()
            .all(|warning| warning.message.contains("no CdtDbtInd"))
    );
}

#[test]
fn previous_closing_is_opening_unless_opening_booked() {
    let xml = document(&format!(
        "{}{}{}",
        balance("PRCD", "1.00", "<CdtDbtInd>CRDT</CdtDbtInd>"),
        balance("OPBD", "2.00", "<CdtDbtInd>DBIT</CdtDbtInd>"),
        balance("CLBD", "2.00", "<CdtDbtInd>DBIT</CdtDbtInd>")
    ));
    let file = read_053(&xml);
    assert_eq!(
        file.statements[0]
            .opening_balance
            .as_ref()
            .unwrap()
            .amount
            .to_string(),
        "-2.00"
    );
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn details_text_and_references() {
    let details = "<TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Smit  &amp; Zonen</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>nl69 abna 0522 1236 43</IBAN></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>Factuur</Ustrd><Ustrd>2026-000123 &#233;</Ustrd><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp><Ref>1234 5678 9012 3456</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>";
    let xml = document(&entry("10.00", "CRDT", "", details));
    let file = read_053(&xml);
    let transaction = &file.statements[0].transactions[0];
    assert_eq!(
        transaction.counterparty_name.as_deref(),
        Some("Smit & Zonen")
    );
    assert_eq!(
        transaction.counterparty_iban.as_deref(),
        Some("NL69ABNA0522123643")
    );
    assert_eq!(transaction.remittance, "Factuur 2026-000123 é");
    assert_eq!(transaction.end_to_end_id, None);
    assert_eq!(
        transaction.structured_reference.as_deref(),
        Some("1234567890123456")
    );
    assert_eq!(transaction.bank_reference.as_deref(), Some("A1"));
}

#[test]
fn datetime_booking_date_is_dutch_calendar_date() {
    let xml = document(
        "<Ntry><Amt Ccy=\"EUR\">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><DtTm>2025-10-05T22:08:00Z</DtTm></BookgDt></Ntry>",
    );
    let file = read_053(&xml);
    let transaction = &file.statements[0].transactions[0];
    assert_eq!(transaction.booking_date.to_string(), "2025-10-06");
    assert_eq!(transaction.value_date.to_string(), "2025-10-06");
}

#[test]
fn undated_entry_uses_statement_date() {
    let xml = document(&format!(
        "{}<Ntry><Amt Ccy=\"EUR\">2</Amt><CdtDbtInd>DBIT</CdtDbtInd></Ntry>",
        balance("CLBD", "2.00", "<CdtDbtInd>DBIT</CdtDbtInd>")
    ));
    let file = read_053(&xml);
    assert_eq!(
        file.statements[0].transactions[0].booking_date.to_string(),
        "2014-01-05"
    );
    assert!(
        file.warnings[0]
            .message
            .contains("no booking or value date")
    );
}

#[test]
fn report_and_notification_roots() {
    let report = "<Document><BkToCstmrAcctRpt><Rpt><Id>R</Id><Acct><Id><Othr><Id>12345</Id></Othr></Id><Ccy>EUR</Ccy></Acct></Rpt></BkToCstmrAcctRpt></Document>";
    let file = read(report, Format::Camt052).unwrap();
    assert_eq!(file.format, Format::Camt052);
    assert_eq!(file.statements[0].account, "12345");
    assert_eq!(file.statements[0].iban, None);
    assert_eq!(file.statements[0].currency, "EUR");

    let notification = "<Document><BkToCstmrDbtCdtNtfctn><Ntfctn><Id>N</Id></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>";
    assert_eq!(
        read(notification, Format::Camt054)
            .unwrap()
            .statements
            .len(),
        1
    );
}

#[test]
fn wrong_root_is_an_error() {
    let cases = [
        ("<html><body/></html>", Format::Camt053),
        ("<Document><BkToCstmrAcctRpt/></Document>", Format::Camt053),
        ("<Document><Foo/></Document>", Format::Camt054),
    ];
    for (xml, format) in cases {
        let error = read(xml, format).unwrap_err();
        assert!(error.byte_offset.is_some(), "{xml}");
        assert!(error.expected.contains("root element"), "{xml}: {error}");
    }
}

#[test]
fn truncated_document_is_an_error() {
    let xml = document(&entry("5.00", "CRDT", "", ""));
    let cut = &xml[..xml.len() / 2];
    let error = read(cut, Format::Camt053).unwrap_err();
    assert_eq!(error.byte_offset, Some(cut.len()));
    assert!(
        error.expected.contains("truncated") || error.expected.contains("well-formed"),
        "{error}"
    );
}

#[test]
fn mismatched_end_tag_is_an_error() {
    let error = read(
        "<Document><BkToCstmrStmt></Stmt></Document>",
        Format::Camt053,
    )
    .unwrap_err();
    assert!(error.expected.contains("well-formed XML"), "{error}");
    assert!(error.byte_offset.is_some());
}

#[test]
fn entry_without_amount_is_an_error() {
    let xml = document("<Ntry><CdtDbtInd>CRDT</CdtDbtInd></Ntry>");
    let error = read(&xml, Format::Camt053).unwrap_err();
    let at = xml.find("<Ntry>").unwrap();
    assert_eq!(error.byte_offset, Some(at));
    assert!(error.expected.contains("<Amt>"), "{error}");
}

#[test]
fn latin1_declaration_is_honoured() {
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Document><BkToCstmrStmt><Stmt><Id>S</Id><Acct><Id><IBAN>NL77ABNA0574908765</IBAN></Id></Acct><Ntry><Amt Ccy=\"EUR\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2014-01-05</Dt></BookgDt><AddtlNtryInf>CR".to_vec();
    bytes.extend_from_slice(b"\xC9DIT</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>");
    let file = parse(&decode::decode_xml(&bytes), Format::Camt053).unwrap();
    assert_eq!(file.statements[0].transactions[0].remittance, "CRÉDIT");
}

#[test]
fn byte_offsets_count_the_byte_order_mark() {
    let xml = format!("\u{feff}{}", "<Document><Wrong/></Document>");
    let error = parse(&decode::decode_xml(xml.as_bytes()), Format::Camt053).unwrap_err();
    assert_eq!(error.byte_offset, Some(3 + "<Document>".len()));
}

#[test]
fn deep_nesting_is_rejected() {
    let xml = format!(
        "<Document><BkToCstmrStmt>{}{}</BkToCstmrStmt></Document>",
        "<X>".repeat(100),
        "</X>".repeat(100)
    );
    let error = read(&xml, Format::Camt053).unwrap_err();
    assert!(error.expected.contains("nested"), "{error}");
}
