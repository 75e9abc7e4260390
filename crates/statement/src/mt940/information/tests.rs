//! Cases for every `:86:` layout, with lines as the banks wrap them.

use super::*;

fn info(lines: &[&str], dialect: Dialect) -> Information {
    let continuation: Vec<Line<'_>> = lines[1..]
        .iter()
        .enumerate()
        .map(|(index, text)| Line {
            number: index + 2,
            text,
        })
        .collect();
    parse(lines[0], &continuation, dialect, None, &mut String::new())
}

#[test]
fn ing_keyed_fields_wrapped_mid_token() {
    let found = info(
        &[
            "/EREF/EV123R",
            "EP123412T1234//MARF/MND",
            "-",
            "EV01//CSID/NL32ZZZ9999999",
            "91234//CNTP/NL66INGB0123400001/INGBNL2A/ING Bank N.V. inzake WeB/",
            "//REMI/USTD//EV123REP123412T1234/",
        ],
        Dialect::Ing,
    );
    assert_eq!(found.end_to_end_id.as_deref(), Some("EV123REP123412T1234"));
    assert_eq!(
        found.counterparty_account.as_deref(),
        Some("NL66INGB0123400001")
    );
    assert_eq!(
        found.counterparty_name.as_deref(),
        Some("ING Bank N.V. inzake WeB")
    );
    assert_eq!(found.remittance, "EV123REP123412T1234");
}

#[test]
fn ing_structured_reference() {
    let found = info(
        &[
            "/EREF/15814016000676480//CNTP/NL66INGB0123400001/INGBNL2A/T.T",
            "esters///REMI/STRD/CUR/9001123412341234/",
        ],
        Dialect::Ing,
    );
    assert_eq!(
        found.structured_reference.as_deref(),
        Some("9001123412341234")
    );
    assert_eq!(found.counterparty_name.as_deref(), Some("T.Testers"));
    assert_eq!(found.remittance, "");
}

#[test]
fn triodos_key_split_across_lines() {
    let found = info(
        &[
            "/CNTP/NL21RABO0999999999/RABONL2U/G-AAAAA N.V./3000AA WESTBEE",
            "N Nederland//EREF/NOTPROVIDED//RE",
            "MI/USTD//Factuurnummer 201801-00",
            "1/",
        ],
        Dialect::Triodos,
    );
    assert_eq!(found.end_to_end_id, None);
    assert_eq!(found.counterparty_name.as_deref(), Some("G-AAAAA N.V."));
    assert_eq!(found.remittance, "Factuurnummer 201801-001");
}

#[test]
fn abn_amro_single_slash_keys() {
    let found = info(
        &[
            "/TRTP/SEPA OVERBOEKING/IBAN/NL25ABNA0987654321/BIC/ABNANL2A/NAME/",
            "FOOBAR/REMI/SAVINGS/EREF/NOTPROVIDED/ORDP//ID/20",
            "3798473",
        ],
        Dialect::AbnAmro,
    );
    assert_eq!(
        found.counterparty_account.as_deref(),
        Some("NL25ABNA0987654321")
    );
    assert_eq!(found.counterparty_name.as_deref(), Some("FOOBAR"));
    assert_eq!(found.remittance, "SAVINGS");
    assert_eq!(found.end_to_end_id, None);
}

#[test]
fn rabobank_keys_and_slashes_in_text() {
    let found = info(
        &[
            "/BENM//NAME/Kosten/REMI/Periode 01-10-2013 t/m 31-12-2013/ISDT/20",
            "14-01-01",
        ],
        Dialect::Rabobank,
    );
    assert_eq!(found.counterparty_name.as_deref(), Some("Kosten"));
    assert_eq!(found.remittance, "Periode 01-10-2013 t/m 31-12-2013");
}

#[test]
fn ultimate_party_name_is_not_counterparty() {
    let found = info(
        &["/ULTD//NAME/Child/ORDP//NAME/Parent/REMI/x"],
        Dialect::Rabobank,
    );
    assert_eq!(found.counterparty_name.as_deref(), Some("Parent"));
}

#[test]
fn bunq_line_breaks_are_spaces() {
    let found = info(
        &[
            "/NAME/WWW.ROUTERHOSTING.COM/REMI/WWW.ROUTERHOSTING.COM TAURANGA SOUT, NZ",
            "1.00 NZD, 1 NZD = 0.61000 EUR",
        ],
        Dialect::Bunq,
    );
    assert_eq!(
        found.remittance,
        "WWW.ROUTERHOSTING.COM TAURANGA SOUT, NZ 1.00 NZD, 1 NZD = 0.61000 EUR"
    );
}

#[test]
fn abn_amro_columns() {
    let found = info(
        &[
            "SEPA ACCEPTGIROBETALING          IBAN: NL86INGB0002445588",
            "BIC: INGBNL2A                    NAAM: BELASTINGDIENST",
            "BETALINGSKENM.: 1234567890098876 ID DEBITEUR: 777777777",
        ],
        Dialect::AbnAmro,
    );
    assert_eq!(
        found.counterparty_account.as_deref(),
        Some("NL86INGB0002445588")
    );
    assert_eq!(found.counterparty_name.as_deref(), Some("BELASTINGDIENST"));
    assert_eq!(
        found.structured_reference.as_deref(),
        Some("1234567890098876")
    );
    assert!(
        found
            .remittance
            .starts_with("SEPA ACCEPTGIROBETALING IBAN: NL86INGB0002445588 BIC:")
    );
}

#[test]
fn abn_amro_giro_and_card_lines() {
    let giro = info(
        &[
            "GIRO   428428 KPN - DIGITENNE    BETALINGSKENM.  000000042188659",
            "5314606715                       BETREFT FACTUUR D.D. 20-05-2011",
        ],
        Dialect::AbnAmro,
    );
    assert_eq!(giro.counterparty_name.as_deref(), Some("KPN - DIGITENNE"));
    assert_eq!(
        giro.structured_reference.as_deref(),
        Some("000000042188659")
    );
    assert!(giro.remittance.contains("BETREFT FACTUUR D.D. 20-05-2011"));

    let card = info(
        &["BEA   NR:XXX1234   21.05.11/12.54 DIRCKIII FIL2500 KATWIJK,PAS999"],
        Dialect::AbnAmro,
    );
    assert_eq!(
        card.counterparty_name.as_deref(),
        Some("DIRCKIII FIL2500 KATWIJK")
    );

    let dotted = info(
        &["52.89.39.882                    MYCOM DEN HAAG"],
        Dialect::AbnAmro,
    );
    assert_eq!(dotted.counterparty_account.as_deref(), Some("52.89.39.882"));
    assert_eq!(dotted.counterparty_name.as_deref(), Some("MYCOM DEN HAAG"));
}

#[test]
fn sns_fixed_width_lines() {
    let pad = |text: &str| format!("{text:<65}");
    let lines = [
        "NL94INGB0000869000 vitens nv".to_string(),
        pad(""),
        "Europese incasso door:VITENS NV NL-Factuurnr 072304597540 VNKlant".to_string(),
        "nr 00000000000 BTW 0,77PC".to_string(),
        pad(""),
    ];
    let continuation: Vec<Line<'_>> = lines[1..]
        .iter()
        .map(|text| Line { number: 2, text })
        .collect();
    let found = parse(
        &lines[0],
        &continuation,
        Dialect::Sns,
        Some("NL94INGB0000869000"),
        &mut String::new(),
    );
    assert_eq!(
        found.remittance,
        "Europese incasso door:VITENS NV NL-Factuurnr 072304597540 VNKlantnr 00000000000 BTW 0,77PC"
    );
}

#[test]
fn knab_account_and_name() {
    let found = info(
        &[
            "FACTUUR 201403110, 201403113",
            "REK: NL65INGB0123456789/NAAM: PICQER",
        ],
        Dialect::Knab,
    );
    assert_eq!(
        found.counterparty_account.as_deref(),
        Some("NL65INGB0123456789")
    );
    assert_eq!(found.counterparty_name.as_deref(), Some("PICQER"));
    assert_eq!(found.remittance, "FACTUUR 201403110, 201403113");
}

#[test]
fn triodos_numbered_subfields() {
    let found = info(
        &[
            "000>100987654321",
            ">20ALGEMENE TUSSENREKENING KOS>21TEN VAN 01-10-2010 TOT EN M",
            ">22ET 31-12-2010>310390123456",
        ],
        Dialect::Triodos,
    );
    assert_eq!(found.counterparty_account.as_deref(), Some("0987654321"));
    assert_eq!(
        found.remittance,
        "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010"
    );
}

#[test]
fn merge_keeps_first_fields_and_appends_text() {
    let mut first = Information {
        counterparty_name: Some("A".into()),
        remittance: "one".into(),
        ..Information::default()
    };
    first.merge(Information {
        counterparty_name: Some("B".into()),
        end_to_end_id: Some("E".into()),
        remittance: "two".into(),
        ..Information::default()
    });
    assert_eq!(first.counterparty_name.as_deref(), Some("A"));
    assert_eq!(first.end_to_end_id.as_deref(), Some("E"));
    assert_eq!(first.remittance, "one two");
}
