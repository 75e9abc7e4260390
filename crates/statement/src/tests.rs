//! Tests of the public entry points: detection, overrides, errors and the JSON shape.

use super::*;

const MT940: &str = ":20:S1\n:25:NL86INGB0002445588\n:28C:1\n:60F:C240102EUR10,00\n:61:2401020102D2,50NTRFNONREF\n:86:/REMI/Fact\u{e9}r 2026-000123\n:62F:C240102EUR7,50\n";

const CAMT053: &str = "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>S</Id><Acct><Id><IBAN>NL86INGB0002445588</IBAN></Id></Acct></Stmt></BkToCstmrStmt></Document>";

#[test]
fn detects_formats_from_content() {
    let cases: &[(&[u8], Option<Format>)] = &[
        (MT940.as_bytes(), Some(Format::Mt940)),
        (CAMT053.as_bytes(), Some(Format::Camt053)),
        (
            b"\xEF\xBB\xBF  <Document><BkToCstmrDbtCdtNtfctn>",
            Some(Format::Camt054),
        ),
        (b"Datum,Naam,Bedrag\n", None),
        (b"", None),
        (b"\x00\x01\x02\xFF", None),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            detect(bytes),
            *expected,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn parse_reads_both_encodings_alike() {
    let utf8 = parse(MT940.as_bytes()).unwrap();
    let latin1: Vec<u8> = MT940
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let windows = parse(&latin1).unwrap();
    assert_eq!(utf8, windows);
    assert_eq!(
        utf8.statements[0].transactions[0].remittance,
        "Factér 2026-000123"
    );

    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(MT940.as_bytes());
    assert_eq!(parse(&bom).unwrap(), utf8);
}

#[test]
fn parse_as_overrides_detection() {
    let as_942 = parse_as(MT940.as_bytes(), Format::Mt942).unwrap();
    assert_eq!(as_942.format, Format::Mt942);
    assert_eq!(as_942.statements.len(), 1);

    let error = parse_as(CAMT053.as_bytes(), Format::Camt052).unwrap_err();
    assert!(error.expected.contains("BkToCstmrAcctRpt"), "{error}");

    let error = parse_as(MT940.as_bytes(), Format::Camt053).unwrap_err();
    assert!(error.byte_offset.is_some(), "{error}");
}

#[test]
fn parse_with_states_the_dialect() {
    let stated = Overrides {
        format: None,
        dialect: Some(Dialect::Bunq),
    };
    let file = parse_with(MT940.as_bytes(), stated).unwrap();
    assert_eq!(file.format, Format::Mt940);
    assert_eq!(file.dialect, Dialect::Bunq);
    assert_eq!(parse(MT940.as_bytes()).unwrap().dialect, Dialect::Ing);
}

#[test]
fn unreadable_files_are_errors() {
    // (input, part of the Display text)
    let cases: &[(&[u8], &str)] = &[
        (b"", "byte 0: expected an MT940"),
        (b"\x00\x01\x02\xFF", "line 1: expected an MT940"),
        (b"Datum,Naam,Bedrag\n", "found \"Datum,Naam,Bedrag\""),
        (b"<html></html>", "byte 0"),
    ];
    for (bytes, expected) in cases {
        let error = parse(bytes).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}

/// Asserts that `keys` appear in this order as object keys in `json`.
fn assert_key_order(json: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| {
            json.find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("{key} missing in {json}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "order {keys:?} in {json}"
    );
}

#[test]
fn json_shape_is_stable() {
    let file = parse(MT940.as_bytes()).unwrap();
    let text = serde_json::to_string(&file).unwrap();
    assert_key_order(&text, &["format", "dialect", "statements", "warnings"]);
    let statement = serde_json::to_string(&file.statements[0]).unwrap();
    assert_key_order(
        &statement,
        &[
            "statement_id",
            "sequence",
            "account",
            "iban",
            "currency",
            "opening_balance",
            "closing_balance",
            "transactions",
        ],
    );
    let transaction = serde_json::to_string(&file.statements[0].transactions[0]).unwrap();
    assert_key_order(
        &transaction,
        &[
            "booking_date",
            "value_date",
            "amount",
            "currency",
            "counterparty_iban",
            "counterparty_name",
            "remittance",
            "end_to_end_id",
            "structured_reference",
            "structured_reference_valid",
            "bank_reference",
            "transaction_code",
            "reversal",
        ],
    );

    let json = serde_json::to_value(&file).unwrap();
    assert_eq!(json["format"], "mt940");
    assert_eq!(json["dialect"], "ing");
    let statement = &json["statements"][0];
    assert_eq!(statement.as_object().unwrap().len(), 8);
    assert_eq!(statement["opening_balance"]["amount"], "10.00");
    assert_eq!(statement["opening_balance"]["currency"], "EUR");
    assert_eq!(statement["opening_balance"]["date"], "2024-01-02");
    let transaction = &statement["transactions"][0];
    assert_eq!(transaction.as_object().unwrap().len(), 13);
    assert_eq!(transaction["amount"], "-2.50");
    assert_eq!(transaction["booking_date"], "2024-01-02");
    assert_eq!(transaction["reversal"], false);
    assert_eq!(json["warnings"], serde_json::json!([]));
}

#[test]
fn warnings_serialise_with_statement_index() {
    let off = MT940.replace("EUR7,50", "EUR8,50");
    let file = parse(off.as_bytes()).unwrap();
    let json = serde_json::to_value(&file.warnings).unwrap();
    assert_eq!(json[0]["statement"], 0);
    assert!(json[0]["message"].as_str().unwrap().contains("8.50"));
}

#[test]
fn utf16_file_is_decoded() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in MT940.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let file = parse(&bytes).unwrap();
    assert_eq!(file.statements[0].transactions.len(), 1);
}
