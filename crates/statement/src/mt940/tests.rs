//! Whole-file MT940/MT942 cases with small inline fixtures.

use super::*;
use crate::model::Format;

fn read(text: &str) -> ParsedFile {
    parse(text, Format::Mt940, None).unwrap_or_else(|error| panic!("{error}"))
}

fn amounts(statement: &Statement) -> Vec<String> {
    statement
        .transactions
        .iter()
        .map(|transaction| transaction.amount.to_string())
        .collect()
}

const ING_WITH_SUMMARY: &str = "\
{1:F01INGBNL2AXXXX0000000000}
{2:I940INGBNL2AXXXN}
{4:
:20:P140220000000001
:25:NL77INGB0574908765EUR
:28C:0000
0
:60F:C140219EUR100,00
:61:1402200220C1,56NTRFEREF//00000000001
005
/TRCD/00100/
:86:/EREF/E1//CNTP/NL66INGB0123400001/INGBNL2A/ING BANK NV///REMI/USTD//first/
:61:1402200220D0,56NTRFNONREF//00000000001006
/TRCD/00200/
:86:/REMI/USTD//last transaction/
:62F:C140220EUR101,00
:64:C140220EUR101,00
:65:C140221EUR101,00
:86:/SUM/1/1/0,56/1,56/
-
}
";

#[test]
fn statement_level_86_is_not_attached() {
    let file = read(ING_WITH_SUMMARY);
    let statement = &file.statements[0];
    assert_eq!(statement.transactions.len(), 2);
    assert_eq!(statement.transactions[1].remittance, "last transaction");
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn wrapped_sequence_and_bank_reference() {
    let file = read(ING_WITH_SUMMARY);
    let statement = &file.statements[0];
    assert_eq!(statement.sequence.as_deref(), Some("00000"));
    assert_eq!(
        statement.transactions[0].bank_reference.as_deref(),
        Some("00000000001005")
    );
    assert_eq!(statement.iban.as_deref(), Some("NL77INGB0574908765"));
    assert_eq!(statement.currency, "EUR");
    assert_eq!(file.dialect, Dialect::Ing);
}

#[test]
fn abn_amro_messages_without_20_and_intermediate_balances() {
    let text = "\
ABNANL2A
940
ABNANL2A
:25:517852257
:28:19321/1
:60F:C110522EUR100,
:61:1105240524D9,N192NONREF
:86:GIRO   428428 KPN - DIGITENNE    BETALINGSKENM.  000000042188659
:62F:C110523EUR91,
-
ABNANL2A
940
ABNANL2A
:25:517852257
:28C:19322/1
:60M:C110523EUR91,
:61:1105240524D1,N426NONREF
:86:BEA   NR:XXX1234   24.05.11/09.18 PETS PLACE KATWIJK KATWI,PAS999

:62M:C110524EUR90,
-
";
    let file = read(text);
    assert_eq!(file.statements.len(), 2);
    assert_eq!(file.dialect, Dialect::AbnAmro);
    let second = &file.statements[1];
    assert_eq!(
        second
            .opening_balance
            .as_ref()
            .map(|balance| balance.amount.to_string()),
        Some("91.00".into())
    );
    assert_eq!(
        second
            .closing_balance
            .as_ref()
            .map(|balance| balance.amount.to_string()),
        Some("90.00".into())
    );
    assert_eq!(amounts(&file.statements[0]), vec!["-9.00"]);
    assert_eq!(
        file.statements[0].transactions[0]
            .structured_reference
            .as_deref(),
        Some("000000042188659")
    );
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn year_rollover_and_reversal_marks() {
    let text = "\
:20:940A190401
:25:0987654321
:28:00001/01
:60F:C181231EUR100,00
:61:1901011231C000000000006,44NMSC0987654321
:86:ONTVANGEN RENTE
:61:1412310105RC1,00NMSCNONREF
:61:1412310105RD2,00NMSCNONREF
:62F:C190101EUR107,44
";
    let file = read(text);
    let transactions = &file.statements[0].transactions;
    assert_eq!(transactions[0].booking_date.to_string(), "2018-12-31");
    assert_eq!(transactions[0].value_date.to_string(), "2019-01-01");
    assert_eq!(transactions[1].booking_date.to_string(), "2015-01-05");
    assert_eq!(transactions[1].amount.to_string(), "-1.00");
    assert!(transactions[1].reversal);
    assert_eq!(transactions[2].amount.to_string(), "2.00");
    assert!(transactions[2].reversal);
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn rabobank_dash_line_is_text() {
    let text = "\
:940:
:20:940S170606
:25:NL84RABO0121212121 EUR
:28C:17109
:60F:C170605EUR000000010000,50
:61:170606C000000001000,00N541EREF
NL55RABO0444444444
:86:/EREF/3434343434343/ORDP//NAME/Delta Lloy
d Zorgverzekeringen/REMI/kenmerk Arrap -
-
:62F:C170606EUR000000011000,50";
    let file = read(text);
    let transaction = &file.statements[0].transactions[0];
    assert_eq!(
        transaction.counterparty_name.as_deref(),
        Some("Delta Lloyd Zorgverzekeringen")
    );
    assert_eq!(
        transaction.counterparty_iban.as_deref(),
        Some("NL55RABO0444444444")
    );
    assert_eq!(transaction.remittance, "kenmerk Arrap --");
    assert!(file.statements[0].closing_balance.is_some());
}

#[test]
fn debit_balances_are_negative() {
    let text = ":940:\r\n:20:940A121005\r\n:25:1291.99.348EUR\r\n:28:00000/00\r\n:60F:D121004EUR000000000012,00\r\n:62F:D121005EUR000000000012,00";
    let file = read(text);
    let statement = &file.statements[0];
    assert_eq!(
        statement
            .opening_balance
            .as_ref()
            .unwrap()
            .amount
            .to_string(),
        "-12.00"
    );
    assert_eq!(statement.iban, None);
    assert_eq!(statement.currency, "EUR");
    assert_eq!(file.dialect, Dialect::Rabobank);
}

#[test]
fn balance_amount_longer_than_15_characters_is_named() {
    let text =
        ":20:X\n:25:NL25SNSB0123400004\n:60F:C171229EUR1234567890123,45\n:62F:C171229EUR10,00\n";
    let error = parse(text, Format::Mt940, None).unwrap_err();
    assert_eq!(error.line, Some(3));
    assert!(
        error
            .expected
            .contains("at most 15 characters after leading zeros, not \"1234567890123,45\""),
        "{error}"
    );
}

#[test]
fn unknown_field_is_named_in_a_warning() {
    let text = ":20:X\n:25:NL25SNSB0123400004\n:60F:C171229EUR10,00\n:62X:C171229EUR10,00\n:62F:C171229EUR10,00\n";
    let file = read(text);
    let messages: Vec<&str> = file
        .warnings
        .iter()
        .map(|warning| warning.message.as_str())
        .collect();
    assert_eq!(
        messages,
        ["statement 1, line 4: field :62X: is not an MT940 or MT942 field and was skipped"]
    );
}

#[test]
fn crcrlf_line_endings() {
    let text = ING_WITH_SUMMARY.replace('\n', "\r\r\n");
    let file = read(&text);
    assert_eq!(file.statements[0].transactions.len(), 2);
    assert_eq!(
        file.statements[0].transactions[0]
            .counterparty_name
            .as_deref(),
        Some("ING BANK NV")
    );
}

#[test]
fn truncated_files_are_errors() {
    let cases = [
        // A block opened and never closed: the download stopped inside the last :86:.
        "{4:\n:20:X\n:25:NL25SNSB0123400004\n:60F:C171229EUR10,00\n:61:1712291229D5,00NTRFNONREF\n:86:/EREF/AB",
        // No blocks, and the last statement has no closing balance.
        ":20:X\n:25:NL25SNSB0123400004\n:60F:C171229EUR10,00\n:61:1712291229D5,00NTRFNONREF\n:86:Betaling\n",
    ];
    for text in cases {
        let error = parse(text, Format::Mt940, None).unwrap_err();
        assert!(error.expected.contains("truncated"), "{error}");
        assert!(error.line.is_some(), "{error}");
    }
}

#[test]
fn closed_block_is_complete() {
    let text =
        "{4:\n:20:X\n:25:NL25SNSB0123400004\n:60F:C171229EUR10,00\n:62F:C171229EUR10,00\n-\n}\n";
    assert!(parse(text, Format::Mt940, None).is_ok());
}

#[test]
fn missing_closing_balance_is_a_warning() {
    let text = ":20:X\n:25:NL25SNSB0123400004\n:28C:363/1\n:60F:C171229EUR10,00\n:61:1712291229D5,00NINCNONREF\n-}{5:}\n";
    let file = read(text);
    assert_eq!(file.statements[0].closing_balance, None);
    assert_eq!(file.warnings.len(), 1);
    assert!(file.warnings[0].message.contains("no closing balance"));
}

#[test]
fn mt942_has_no_balance_warnings() {
    let text = "\
:20:CGNGHKLI0290980
:25:GJB0291077111
:28C:03917/00001
:34F:EURD0,00
:34F:EURC0,00
:13D:1610301730+0000
:61:1610301031D0,42MCI0NONREF//055001022000001
YAY MT942 CHG
:86:REMIT:Costs to MT940 Parsing.
This is Somuchfun.
:90D:1EUR2,30
";
    let file = parse(text, Format::Mt942, None).unwrap();
    assert_eq!(file.format, Format::Mt942);
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    let statement = &file.statements[0];
    assert_eq!(statement.currency, "EUR");
    assert_eq!(statement.transactions[0].currency, "EUR");
    assert_eq!(statement.transactions[0].amount.to_string(), "-0.42");
}

#[test]
fn errors_name_the_line() {
    // (text, expected line, part of the expectation)
    let cases = [
        (":20:X\n:28C:1\n:60F:C140219EUR1,00\n", 3, ":25:"),
        (":20:X\n:25:NL1\n:60F:C140219EUR1,00\n:61:ABC\n", 4, ":61:"),
        (":20:X\n:25:NL1\n:60F:X140219EUR1,00\n", 3, "balance"),
        (
            ":20:X\n:25:NL1\n:60F:C140219EUR1,00\n:61:1402200220C1,00\n:62F:C1\n",
            4,
            ":61:",
        ),
        ("just some text\n", 1, "MT940 statement"),
    ];
    for (text, line, expected) in cases {
        let error = parse(text, Format::Mt940, None).unwrap_err();
        assert_eq!(error.line, Some(line), "{text:?}: {error}");
        assert!(error.expected.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn statement_without_account_at_end_is_an_error() {
    let error = parse(
        ":20:X\n:28C:1\n:61:1402200220C1,00NTRF\n",
        Format::Mt940,
        None,
    )
    .unwrap_err();
    assert_eq!(error.line, Some(3));
}

#[test]
fn knab_amount_without_comma_and_spaced_reference() {
    let text = "\
{1:F01KNABNL2HAXXX0000000000}{2:I940KNABNL2HXXXXN3020}{4:
:20:B4G30MS9D00A003D
:25:123456789
:28C:999/1
:60F:C140729EUR0,
:61:1407290729C500NTRF29-07-2014 10:05//B4G29PGDCK1QFV3E
:86:12160475 0050001631430920 ORDERID: 264267 MEDIA MARKT ONLINE NE
REK: NL84INGB0234561789/NAAM: MMS ONLINE NEDERLAND B.V.
:62F:C140730EUR500,
-}";
    let file = read(text);
    let transaction = &file.statements[0].transactions[0];
    assert_eq!(file.dialect, Dialect::Knab);
    assert_eq!(transaction.amount.to_string(), "500.00");
    assert_eq!(
        transaction.bank_reference.as_deref(),
        Some("B4G29PGDCK1QFV3E")
    );
    assert_eq!(
        transaction.counterparty_iban.as_deref(),
        Some("NL84INGB0234561789")
    );
    assert_eq!(
        transaction.counterparty_name.as_deref(),
        Some("MMS ONLINE NEDERLAND B.V.")
    );
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}
