//! Reads every MT940, MT942, CAMT, CSV and TAB file of the shared bank corpus and checks the facts
//! established for it by hand and by peer parsers. These are statement and transaction counts,
//! balances with their dates, credit and debit sums, hand-checked rows, and the warnings for
//! files whose balances do not add up.
//!
//! The corpus lives outside the repository. Its folder is `DK_BANK_CORPUS` if set, else
//! `shared/corpus/bank` next to the repository. Without it the test fails when `CI=true` and
//! is skipped with a message otherwise.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dk_statement::{Dialect, Format, ParsedFile, Transaction};
use rust_decimal::Decimal;

/// Files this crate cannot read yet, with the reason. Every other file must parse and pass.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// The corpus folders this crate reads.
const FOLDERS: &[&str] = &["mt940", "mt942", "camt052", "camt053", "camt054", "csv"];

/// A balance: amount, currency, date.
type BalanceFacts = (&'static str, &'static str, &'static str);

struct StatementFacts {
    index: usize,
    account: &'static str,
    sequence: Option<&'static str>,
    opening: Option<BalanceFacts>,
    closing: Option<BalanceFacts>,
    transactions: usize,
}

/// What a field of a hand-checked row must be.
#[derive(Clone, Copy)]
enum Is {
    /// Not checked.
    Any,
    /// Must be `None`.
    Absent,
    /// Must be this value.
    Value(&'static str),
}

struct Row {
    statement: usize,
    index: usize,
    booking_date: &'static str,
    value_date: &'static str,
    amount: &'static str,
    counterparty_iban: Is,
    counterparty_name: Is,
    end_to_end_id: Is,
    structured_reference: Is,
    bank_reference: Is,
    transaction_code: Is,
    reversal: bool,
    /// Texts the remittance must contain (with runs of white space collapsed).
    remittance: &'static [&'static str],
}

const ROW: Row = Row {
    statement: 0,
    index: 0,
    booking_date: "",
    value_date: "",
    amount: "",
    counterparty_iban: Is::Any,
    counterparty_name: Is::Any,
    end_to_end_id: Is::Any,
    structured_reference: Is::Any,
    bank_reference: Is::Any,
    transaction_code: Is::Any,
    reversal: false,
    remittance: &[],
};

struct FileFacts {
    path: &'static str,
    format: Format,
    dialect: Dialect,
    statement_count: usize,
    transaction_count: usize,
    credits: &'static str,
    debits: &'static str,
    statements: &'static [StatementFacts],
    /// Each statement's opening balance equals the previous closing balance.
    chained: bool,
    /// Statements whose balances do not add up.
    unbalanced: &'static [usize],
    /// Other warnings: statement index and a part of the message. "a statement may be missing"
    /// marks an opening balance that differs from the previous closing balance of the account.
    other_warnings: &'static [(usize, &'static str)],
    rows: &'static [Row],
}

const fn statement(
    index: usize,
    account: &'static str,
    sequence: Option<&'static str>,
    opening: Option<BalanceFacts>,
    closing: Option<BalanceFacts>,
    transactions: usize,
) -> StatementFacts {
    StatementFacts {
        index,
        account,
        sequence,
        opening,
        closing,
        transactions,
    }
}

const FILES: &[FileFacts] = &[
    FileFacts {
        path: "mt940/abnamro-legacy-2011.sta",
        format: Format::Mt940,
        dialect: Dialect::AbnAmro,
        statement_count: 2,
        transaction_count: 10,
        credits: "0",
        debits: "-345.93",
        statements: &[
            statement(
                0,
                "517852257",
                Some("19321/1"),
                Some(("3236.28", "EUR", "2011-05-22")),
                Some(("876.84", "EUR", "2011-05-23")),
                8,
            ),
            statement(
                1,
                "517852257",
                Some("19322/1"),
                Some(("2876.84", "EUR", "2011-05-23")),
                Some(("1849.75", "EUR", "2011-05-24")),
                2,
            ),
        ],
        chained: false,
        unbalanced: &[0, 1],
        other_warnings: &[(1, "a statement may be missing")],
        rows: &[Row {
            booking_date: "2011-05-24",
            value_date: "2011-05-24",
            amount: "-9.00",
            counterparty_iban: Is::Absent,
            counterparty_name: Is::Value("KPN - DIGITENNE"),
            structured_reference: Is::Value("000000042188659"),
            remittance: &[
                "BETALINGSKENM. 000000042188659",
                "BETREFT FACTUUR D.D. 20-05-2011",
            ],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/abnamro-sepa-structured-2014.txt",
        format: Format::Mt940,
        dialect: Dialect::AbnAmro,
        statement_count: 2,
        transaction_count: 10,
        credits: "4",
        debits: "-6025.1",
        statements: &[
            statement(
                0,
                "123212321",
                Some("1301/1"),
                Some(("10000.9", "EUR", "2014-01-12")),
                Some(("9980.9", "EUR", "2014-01-13")),
                3,
            ),
            statement(
                1,
                "123212321",
                Some("2701/1"),
                Some(("9980.9", "EUR", "2014-01-24")),
                Some(("3976.9", "EUR", "2014-01-27")),
                7,
            ),
        ],
        chained: false,
        unbalanced: &[0, 1],
        other_warnings: &[
            (
                1,
                "transaction 3: the structured reference 1234567890098876 fails its check digit",
            ),
            (
                1,
                "transaction 4: the structured reference 1234567890098876 fails its check digit",
            ),
            (
                1,
                "transaction 5: the structured reference 1234567890098876 fails its check digit",
            ),
            (
                1,
                "transaction 6: the structured reference 1234567890098876 fails its check digit",
            ),
            (
                1,
                "transaction 7: the structured reference 1234567890098876 fails its check digit",
            ),
        ],
        rows: &[
            Row {
                index: 2,
                booking_date: "2014-01-13",
                value_date: "2014-01-13",
                amount: "-10.00",
                counterparty_iban: Is::Value("NL25ABNA0987654321"),
                counterparty_name: Is::Value("FOOBAR"),
                end_to_end_id: Is::Absent,
                remittance: &["SAVINGS"],
                ..ROW
            },
            Row {
                statement: 1,
                index: 2,
                booking_date: "2014-01-27",
                value_date: "2014-01-26",
                amount: "-1000.00",
                counterparty_iban: Is::Value("NL86INGB0002445588"),
                counterparty_name: Is::Value("BELASTINGDIENST"),
                structured_reference: Is::Value("1234567890098876"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/asn-2020.940",
        format: Format::Mt940,
        dialect: Dialect::Asn,
        statement_count: 31,
        transaction_count: 8,
        credits: "2828.90",
        debits: "-2771.96",
        statements: &[
            statement(
                0,
                "NL81ASNB9999999999",
                Some("1/1"),
                Some(("444.29", "EUR", "2020-01-01")),
                Some(("379.29", "EUR", "2020-01-01")),
                1,
            ),
            statement(
                1,
                "NL81ASNB9999999999",
                Some("2/1"),
                Some(("379.29", "EUR", "2020-01-02")),
                Some(("379.29", "EUR", "2020-01-02")),
                0,
            ),
            statement(
                2,
                "NL81ASNB9999999999",
                Some("3/1"),
                Some(("379.29", "EUR", "2020-01-03")),
                Some(("379.29", "EUR", "2020-01-03")),
                0,
            ),
            statement(
                3,
                "NL81ASNB9999999999",
                Some("4/1"),
                Some(("379.29", "EUR", "2020-01-04")),
                Some(("379.29", "EUR", "2020-01-04")),
                0,
            ),
            statement(
                4,
                "NL81ASNB9999999999",
                Some("5/1"),
                Some(("379.29", "EUR", "2020-01-05")),
                Some(("577.74", "EUR", "2020-01-05")),
                2,
            ),
            statement(
                5,
                "NL81ASNB9999999999",
                Some("6/1"),
                Some(("577.74", "EUR", "2020-01-06")),
                Some(("577.74", "EUR", "2020-01-06")),
                0,
            ),
            statement(
                6,
                "NL81ASNB9999999999",
                Some("7/1"),
                Some(("577.74", "EUR", "2020-01-07")),
                Some(("577.74", "EUR", "2020-01-07")),
                0,
            ),
            statement(
                7,
                "NL81ASNB9999999999",
                Some("8/1"),
                Some(("577.74", "EUR", "2020-01-08")),
                Some(("577.74", "EUR", "2020-01-08")),
                0,
            ),
            statement(
                8,
                "NL81ASNB9999999999",
                Some("9/1"),
                Some(("577.74", "EUR", "2020-01-09")),
                Some(("577.74", "EUR", "2020-01-09")),
                0,
            ),
            statement(
                9,
                "NL81ASNB9999999999",
                Some("10/1"),
                Some(("577.74", "EUR", "2020-01-10")),
                Some(("577.74", "EUR", "2020-01-10")),
                0,
            ),
            statement(
                30,
                "NL81ASNB9999999999",
                Some("31/1"),
                Some(("404.81", "EUR", "2020-01-31")),
                Some(("501.23", "EUR", "2020-01-31")),
                2,
            ),
        ],
        chained: true,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            booking_date: "2020-01-01",
            value_date: "2020-01-01",
            amount: "-65.00",
            counterparty_iban: Is::Value("NL47INGB9999999999"),
            counterparty_name: Is::Value("hr gjlm fictieven"),
            transaction_code: Is::Value("NOVB"),
            remittance: &["Betaling sieraden"],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/bunq-2019.sta",
        format: Format::Mt940,
        dialect: Dialect::Bunq,
        statement_count: 1,
        transaction_count: 111,
        credits: "761.66",
        debits: "-788.33",
        statements: &[statement(
            0,
            "NL79BUNQ0123400006 EUR",
            Some("00001"),
            Some(("32.33", "EUR", "2019-01-31")),
            Some(("5.66", "EUR", "2019-05-31")),
            111,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            index: 1,
            booking_date: "2019-01-31",
            value_date: "2019-01-31",
            amount: "0.30",
            counterparty_iban: Is::Value("NL46BUNQ0123400018"),
            counterparty_name: Is::Value("P.Q. Testa"),
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/ing-legacy-2010-dos.sta",
        format: Format::Mt940,
        dialect: Dialect::Ing,
        statement_count: 1,
        transaction_count: 7,
        credits: "4.68",
        debits: "-50.27",
        statements: &[statement(
            0,
            "0001234567",
            Some("000"),
            Some(("0.00", "EUR", "2010-07-22")),
            Some(("3.47", "EUR", "2010-07-23")),
            7,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[],
        rows: &[Row {
            index: 6,
            booking_date: "2010-07-23",
            value_date: "2010-07-23",
            amount: "1.00",
            transaction_code: Is::Value("NGT"),
            remittance: &["Betaling transactiedatum: 22-07-2010"],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/ing-structured-2014.940",
        format: Format::Mt940,
        dialect: Dialect::Ing,
        statement_count: 1,
        transaction_count: 8,
        credits: "36.58",
        debits: "-134.46",
        // The `:28C:` field is wrapped as `0000` and `0`; the number is read across the break.
        statements: &[statement(
            0,
            "NL77INGB0574908765EUR",
            Some("00000"),
            Some(("662.23", "EUR", "2014-02-19")),
            Some(("564.35", "EUR", "2014-02-20")),
            8,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[
            (
                0,
                "transaction 7: the structured reference 9001123412341234 fails its check digit",
            ),
            (
                0,
                "transaction 8: the structured reference 1070123412341234 fails its check digit",
            ),
        ],
        rows: &[
            Row {
                booking_date: "2014-02-20",
                value_date: "2014-02-20",
                amount: "1.56",
                counterparty_iban: Is::Value("NL66INGB0123400001"),
                counterparty_name: Is::Value("ING BANK NV INZAKE WEB"),
                end_to_end_id: Is::Value("EV12341REP1231456T1234"),
                bank_reference: Is::Value("00000000001005"),
                remittance: &["EV10001REP1000000T1000"],
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2014-02-20",
                value_date: "2014-02-20",
                amount: "1.57",
                counterparty_iban: Is::Value("NL66INGB0123400001"),
                counterparty_name: Is::Value("T.Testers"),
                end_to_end_id: Is::Value("20120123456789"),
                transaction_code: Is::Value("NRTI"),
                remittance: &["Factuurnr 123456 Klantnr 00123"],
                ..ROW
            },
            Row {
                index: 6,
                booking_date: "2014-02-20",
                value_date: "2014-02-20",
                amount: "32.00",
                counterparty_iban: Is::Value("NL66INGB0123400001"),
                counterparty_name: Is::Value("T.Testers"),
                end_to_end_id: Is::Value("15814016000676480"),
                structured_reference: Is::Value("9001123412341234"),
                ..ROW
            },
            Row {
                index: 7,
                booking_date: "2014-02-20",
                value_date: "2014-02-20",
                amount: "-119.00",
                counterparty_iban: Is::Value("NL66INGB0123400001"),
                counterparty_name: Is::Value("INGBANK NV"),
                structured_reference: Is::Value("1070123412341234"),
                bank_reference: Is::Value("00000000001012"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/knab-2014.sta",
        format: Format::Mt940,
        dialect: Dialect::Knab,
        statement_count: 2,
        transaction_count: 3,
        credits: "1000",
        debits: "-7260",
        statements: &[
            statement(
                0,
                "123456789",
                Some("998/1"),
                Some(("0", "EUR", "2014-05-07")),
                Some(("500", "EUR", "2014-05-08")),
                1,
            ),
            statement(
                1,
                "123456789",
                Some("999/1"),
                Some(("3058.98", "EUR", "2014-07-29")),
                Some(("798.98", "EUR", "2014-07-30")),
                2,
            ),
        ],
        chained: false,
        unbalanced: &[1],
        other_warnings: &[(1, "a statement may be missing")],
        rows: &[Row {
            statement: 1,
            index: 1,
            booking_date: "2014-07-29",
            value_date: "2014-07-29",
            amount: "500.00",
            counterparty_iban: Is::Value("NL84INGB0234561789"),
            counterparty_name: Is::Value("MMS ONLINE NEDERLAND B.V."),
            bank_reference: Is::Value("B4G29PGDCK1QFV3E"),
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/mollie-2016-crlf.mt940",
        format: Format::Mt940,
        dialect: Dialect::Mollie,
        statement_count: 1,
        transaction_count: 21,
        credits: "1056.64",
        debits: "-2406.90",
        statements: &[statement(
            0,
            "NL30ABNA000000000000",
            Some("245/1"),
            Some(("0.00", "EUR", "2016-09-01")),
            Some(("-1350.26", "EUR", "2016-09-01")),
            21,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2016-08-31",
                value_date: "2016-08-31",
                amount: "29.93",
                counterparty_iban: Is::Value("NL30ABNA000000000000"),
                counterparty_name: Is::Value("V. Oornaam"),
                end_to_end_id: Is::Value("tr_XXXXXXXXX"),
                transaction_code: Is::Value("NMSC"),
                remittance: &["Order 123"],
                ..ROW
            },
            // The name is wrapped as `M` and `ollie B.V.`.
            Row {
                index: 20,
                booking_date: "2016-08-31",
                value_date: "2016-08-31",
                amount: "-14.69",
                counterparty_name: Is::Value("Mollie B.V."),
                end_to_end_id: Is::Absent,
                remittance: &["Factuurnummer 2016.00000"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/moneyou-2019-crlf.txt",
        format: Format::Mt940,
        dialect: Dialect::Moneyou,
        statement_count: 1,
        transaction_count: 2,
        credits: "11.76",
        debits: "0",
        statements: &[statement(
            0,
            "0987654321",
            Some("00001/01"),
            Some(("43119.71", "EUR", "2018-12-31")),
            Some(("43131.47", "EUR", "2019-03-29")),
            2,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2018-12-31",
                value_date: "2019-01-01",
                amount: "6.44",
                counterparty_iban: Is::Absent,
                remittance: &["ONTVANGEN RENTE"],
                ..ROW
            },
            Row {
                index: 1,
                booking_date: "2019-03-29",
                value_date: "2019-04-01",
                amount: "5.32",
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/rabobank-dash-line-in-86-2017.txt",
        format: Format::Mt940,
        dialect: Dialect::Rabobank,
        statement_count: 1,
        transaction_count: 1,
        credits: "1000.00",
        debits: "0",
        statements: &[statement(
            0,
            "NL84RABO01212121212 EUR",
            Some("17109"),
            Some(("10000.50", "EUR", "2017-06-05")),
            Some(("11000.50", "EUR", "2017-06-06")),
            1,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            booking_date: "2017-06-06",
            value_date: "2017-06-06",
            amount: "1000.00",
            counterparty_iban: Is::Value("NL55RABO044444444"),
            counterparty_name: Is::Value("Delta Lloyd Zorgverzekeringen"),
            end_to_end_id: Is::Value("3434343434343"),
            remittance: &["kenmerk 4082412175836145 Rel.nr. 8888888900 Periode"],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/rabobank-debit-balances-no-eol.txt",
        format: Format::Mt940,
        dialect: Dialect::Rabobank,
        statement_count: 1,
        transaction_count: 0,
        credits: "0",
        debits: "0",
        statements: &[statement(
            0,
            "1291.99.348EUR",
            Some("00000/00"),
            Some(("-12.00", "EUR", "2012-10-04")),
            Some(("-12.00", "EUR", "2012-10-05")),
            0,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[],
    },
    FileFacts {
        path: "mt940/rabobank-legacy-2011.sta",
        format: Format::Mt940,
        dialect: Dialect::Rabobank,
        statement_count: 4,
        transaction_count: 5,
        credits: "0",
        debits: "-1589.09",
        statements: &[
            statement(
                0,
                "1291.99.348EUR",
                Some("00000/00"),
                Some(("473.17", "EUR", "2011-06-14")),
                Some(("395.82", "EUR", "2011-06-15")),
                1,
            ),
            statement(
                1,
                "1291.99.348EUR",
                Some("00000/00"),
                Some(("1000.89", "EUR", "2011-06-15")),
                Some(("1000.89", "EUR", "2011-06-16")),
                0,
            ),
            statement(
                2,
                "1291.99.348EUR",
                Some("00000/00"),
                Some(("1295.82", "EUR", "2011-06-16")),
                Some(("1250.87", "EUR", "2011-06-17")),
                2,
            ),
            statement(
                3,
                "1526.89.184EUR",
                Some("00000/00"),
                Some(("4196.12", "EUR", "2012-08-28")),
                Some(("4101.82", "EUR", "2012-08-29")),
                2,
            ),
        ],
        chained: false,
        unbalanced: &[0, 2],
        other_warnings: &[
            (1, "a statement may be missing"),
            (2, "a statement may be missing"),
        ],
        rows: &[Row {
            booking_date: "2011-05-27",
            value_date: "2011-05-27",
            amount: "-1213.28",
            counterparty_iban: Is::Value("0121470966"),
            counterparty_name: Is::Value("T.Q. Tester"),
            remittance: &[
                "Terugboeking",
                "NIET AKKOORD MET AFSCHRIJVING",
                "KOSTEN KINDEROPVANG JUNI",
            ],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/rabobank-structured-2013.txt",
        format: Format::Mt940,
        dialect: Dialect::Rabobank,
        statement_count: 2,
        transaction_count: 9,
        credits: "19216.51",
        debits: "-1518.12",
        statements: &[
            statement(
                0,
                "NL50RABO0123456789",
                Some("0"),
                Some(("1147.95", "EUR", "2013-04-02")),
                Some(("1190.35", "EUR", "2013-04-03")),
                2,
            ),
            statement(
                1,
                "NL50RABO0123456789",
                Some("0"),
                Some(("1190.35", "EUR", "2013-04-03")),
                Some(("18846.34", "EUR", "2013-04-04")),
                7,
            ),
        ],
        chained: true,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2013-04-03",
                value_date: "2013-04-03",
                amount: "-127.50",
                counterparty_iban: Is::Value("NL96RBOS0523149468"),
                counterparty_name: Is::Value("Nespresso Nederland B.V."),
                end_to_end_id: Is::Value("02-04-2013 22:56 1120000153447185"),
                ..ROW
            },
            Row {
                statement: 1,
                index: 2,
                booking_date: "2013-04-04",
                value_date: "2013-04-04",
                amount: "-674.73",
                counterparty_iban: Is::Value("P004238192"),
                counterparty_name: Is::Value("INFRACOM INTERNET BV"),
                structured_reference: Is::Value("231732"),
                remittance: &["BETALINGSKENM. 231732INCASSO FACTUUR"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/rabobank-structured-2014-crlf.swi",
        format: Format::Mt940,
        dialect: Dialect::Rabobank,
        statement_count: 4,
        transaction_count: 2,
        credits: "400.00",
        debits: "-34.61",
        statements: &[
            statement(
                0,
                "NL84RABO0123400003 EUR",
                Some("0"),
                Some(("4433.52", "EUR", "2013-12-31")),
                Some(("4833.52", "EUR", "2014-01-02")),
                1,
            ),
            statement(
                1,
                "NL84RABO0123400003 EUR",
                Some("0"),
                Some(("4833.52", "EUR", "2014-01-02")),
                Some(("4833.52", "EUR", "2014-01-03")),
                0,
            ),
            statement(
                2,
                "NL84RABO0123400003 EUR",
                Some("0"),
                Some(("4833.52", "EUR", "2014-01-03")),
                Some(("4798.91", "EUR", "2014-01-06")),
                1,
            ),
            statement(
                3,
                "NL84RABO0123400003 EUR",
                Some("0"),
                Some(("4798.91", "EUR", "2014-01-06")),
                Some(("4798.91", "EUR", "2014-01-07")),
                0,
            ),
        ],
        chained: true,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2014-01-02",
                value_date: "2014-01-02",
                amount: "400.00",
                counterparty_iban: Is::Value("NL14RABO0123400002"),
                counterparty_name: Is::Value("R. SMITH"),
                remittance: &["Test money paid by other partner:"],
                ..ROW
            },
            Row {
                statement: 2,
                booking_date: "2014-01-01",
                value_date: "2014-01-01",
                amount: "-34.61",
                counterparty_iban: Is::Absent,
                counterparty_name: Is::Value("Kosten"),
                remittance: &["Periode 01-10-2013 t/m 31-12-2013"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/sns-2017-crlf.940",
        format: Format::Mt940,
        dialect: Dialect::Sns,
        statement_count: 3,
        transaction_count: 8,
        credits: "0",
        debits: "-1715.68",
        statements: &[
            statement(
                0,
                "NL25SNSB0123400004",
                Some("361/1"),
                Some(("3026.96", "EUR", "2017-12-27")),
                Some(("2264.52", "EUR", "2017-12-27")),
                4,
            ),
            statement(
                1,
                "NL25SNSB0123400004",
                Some("362/1"),
                Some(("2264.52", "EUR", "2017-12-28")),
                Some(("2253.57", "EUR", "2017-12-28")),
                2,
            ),
            statement(
                2,
                "NL25SNSB0123400004",
                Some("363/1"),
                Some(("2253.57", "EUR", "2017-12-29")),
                None,
                2,
            ),
        ],
        chained: true,
        unbalanced: &[],
        other_warnings: &[(2, "no closing balance")],
        rows: &[
            Row {
                booking_date: "2017-12-27",
                value_date: "2017-12-27",
                amount: "-713.13",
                counterparty_iban: Is::Value("NL30RABO0123400005"),
                counterparty_name: Is::Value("testers glas en schilderwerk"),
                remittance: &["Factuur 17227/248/20"],
                ..ROW
            },
            Row {
                statement: 1,
                index: 1,
                booking_date: "2017-12-28",
                value_date: "2017-12-28",
                amount: "0.00",
                counterparty_iban: Is::Absent,
                transaction_code: Is::Value("NDIV"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/triodos-iban-2018.txt",
        format: Format::Mt940,
        dialect: Dialect::Triodos,
        statement_count: 1,
        transaction_count: 4,
        credits: "7839.52",
        debits: "-110.74",
        statements: &[statement(
            0,
            "NL86TRIO07878788778",
            Some("1"),
            Some(("0.00", "EUR", "2018-02-22")),
            Some(("7728.78", "EUR", "2018-02-28")),
            4,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                index: 1,
                booking_date: "2018-02-27",
                value_date: "2018-02-27",
                amount: "3456.29",
                counterparty_name: Is::Value("G-AAAAA N.V."),
                end_to_end_id: Is::Absent,
                transaction_code: Is::Value("NET0"),
                remittance: &["Factuurnummer 201801-001"],
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2018-02-28",
                value_date: "2018-02-28",
                amount: "-90.91",
                counterparty_iban: Is::Value("DE83700111109999999999"),
                counterparty_name: Is::Absent,
                remittance: &["Ordernummer QWERTY Transactienummer 000000000000002"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "mt940/triodos-legacy-2011.sta",
        format: Format::Mt940,
        dialect: Dialect::Triodos,
        statement_count: 1,
        transaction_count: 2,
        credits: "0",
        debits: "-715.70",
        statements: &[statement(
            0,
            "TRIODOSBANK/0390123456",
            Some("1"),
            Some(("4975.09", "EUR", "2011-01-01")),
            Some(("4370.79", "EUR", "2011-02-01")),
            2,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[],
        rows: &[Row {
            index: 1,
            booking_date: "2011-01-25",
            value_date: "2011-01-25",
            amount: "-700.00",
            counterparty_iban: Is::Value("0133967858"),
            remittance: &["HUUR KANTOOR - FEB 2010"],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt940/vanlanschot-2014-crlf.txt",
        format: Format::Mt940,
        dialect: Dialect::VanLanschot,
        statement_count: 3,
        transaction_count: 4,
        credits: "2716.76",
        debits: "-2920.75",
        statements: &[
            statement(
                0,
                "0878787878",
                Some("002"),
                Some(("5053.33", "EUR", "2014-01-03")),
                Some(("7770.09", "EUR", "2014-01-10")),
                1,
            ),
            statement(
                1,
                "0878787878",
                Some("003"),
                Some(("7770.09", "EUR", "2014-01-10")),
                Some(("5666.09", "EUR", "2014-01-13")),
                2,
            ),
            statement(
                2,
                "0878787878",
                Some("004"),
                Some(("5666.09", "EUR", "2014-01-13")),
                Some(("4849.34", "EUR", "2014-01-22")),
                1,
            ),
        ],
        chained: true,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            statement: 2,
            booking_date: "2014-01-22",
            value_date: "2014-01-22",
            amount: "-816.75",
            counterparty_iban: Is::Value("NL80RABO0676767676"),
            counterparty_name: Is::Value("BEN"),
            end_to_end_id: Is::Value("1234432100005555"),
            remittance: &["Kenmerk: 1234.4321.0000.5555 Omschrijving: 123123444"],
            ..ROW
        }],
    },
    FileFacts {
        path: "mt942/generic-mt942.sta",
        format: Format::Mt942,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 1,
        credits: "0",
        debits: "-0.42",
        statements: &[statement(
            0,
            "GJB0291077111",
            Some("03917/00001"),
            None,
            None,
            1,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            booking_date: "2016-10-31",
            value_date: "2016-10-30",
            amount: "-0.42",
            bank_reference: Is::Value("055001022000001"),
            transaction_code: Is::Value("MCI0"),
            remittance: &["REMIT:Costs to MT940 Parsing. This is Somuchfun."],
            ..ROW
        }],
    },
    FileFacts {
        path: "camt052/genkgo-camt052-v4-ccyxchg.xml",
        format: Format::Camt052,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 0,
        credits: "0",
        debits: "0",
        statements: &[statement(
            0,
            "CH2801234000123456789",
            Some("12312"),
            None,
            None,
            0,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[(0, "CpyDplctInd CODU"), (0, "Sts PDNG")],
        rows: &[],
    },
    FileFacts {
        path: "camt052/sparkasse-de-camt052.xml",
        format: Format::Camt052,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 5,
        credits: "2.50",
        debits: "-253.90",
        statements: &[statement(
            0,
            "DE00000000000000000000",
            Some("00000"),
            Some(("268.35", "EUR", "2021-02-04")),
            Some(("16.95", "EUR", "2021-02-05")),
            5,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2021-02-05",
                value_date: "2021-02-05",
                amount: "-30.00",
                counterparty_iban: Is::Value("DE11111111111111111111"),
                counterparty_name: Is::Value("SPARKASSE PFORZHEIM CALW"),
                end_to_end_id: Is::Absent,
                remittance: &["Something"],
                ..ROW
            },
            Row {
                index: 1,
                booking_date: "2021-02-05",
                value_date: "2021-02-05",
                amount: "-26.00",
                counterparty_iban: Is::Value("DE11664926000009999999"),
                counterparty_name: Is::Value("Tankstelle"),
                end_to_end_id: Is::Value("12345678"),
                remittance: &["2021-02-03T17:46 Debitk.0 2024-12"],
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2021-02-05",
                value_date: "2021-02-05",
                amount: "-34.52",
                counterparty_iban: Is::Value("DE22222222222222222222"),
                counterparty_name: Is::Value("Something else"),
                remittance: &[
                    "Kunde 5555555 Rechnung 12345 vom 2021-01-31 DATUM 05.02.2021, 12.28 UHR 1.TAN xxxxxx",
                ],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "camt053/genkgo-five-decimals.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 1,
        credits: "8.850",
        debits: "0",
        statements: &[statement(
            0,
            "NL26VAYB8060476890",
            Some("12312"),
            Some(("18.150", "EUR", "2014-12-30")),
            Some(("27.050", "EUR", "2014-12-31")),
            1,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[(0, "CpyDplctInd CODU")],
        rows: &[Row {
            booking_date: "2014-12-31",
            value_date: "2015-01-02",
            amount: "8.850",
            counterparty_iban: Is::Absent,
            end_to_end_id: Is::Value("000000001"),
            remittance: &["Transaction Description"],
            ..ROW
        }],
    },
    FileFacts {
        path: "camt053/genkgo-minimal-mixed-ccy-balances.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 1,
        credits: "8.85",
        debits: "0",
        statements: &[statement(
            0,
            "NL26VAYB8060476890",
            Some("12312"),
            Some(("18.15", "EUR", "2014-12-30")),
            Some(("-27.00", "SEK", "2014-12-31")),
            1,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[
            (
                0,
                "transaction 1: the structured reference 4654654654654654 fails its check digit",
            ),
            (0, "CpyDplctInd CODU"),
        ],
        rows: &[Row {
            booking_date: "2014-12-31",
            value_date: "2015-01-02",
            amount: "8.85",
            counterparty_iban: Is::Value("NL56AGDH9619008421"),
            counterparty_name: Is::Value("NAME NAME"),
            end_to_end_id: Is::Absent,
            structured_reference: Is::Value("4654654654654654"),
            ..ROW
        }],
    },
    FileFacts {
        path: "camt053/genkgo-multi-statement.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 2,
        transaction_count: 2,
        credits: "8.85",
        debits: "-7.00",
        statements: &[
            statement(
                0,
                "NL26VAYB8060476890",
                Some("12312"),
                Some(("18.15", "EUR", "2014-12-30")),
                Some(("27.00", "EUR", "2014-12-31")),
                1,
            ),
            statement(
                1,
                "NL26VAYB8060476890",
                None,
                Some(("27.00", "EUR", "2014-12-30")),
                Some(("20.00", "EUR", "2014-12-31")),
                1,
            ),
        ],
        chained: false,
        unbalanced: &[],
        other_warnings: &[(0, "CpyDplctInd CODU")],
        rows: &[
            Row {
                booking_date: "2014-12-31",
                value_date: "2015-01-02",
                amount: "8.85",
                counterparty_name: Is::Absent,
                end_to_end_id: Is::Value("000000001"),
                remittance: &["Transaction Description 1"],
                ..ROW
            },
            Row {
                statement: 1,
                booking_date: "2014-12-31",
                value_date: "2015-01-02",
                amount: "-7.00",
                counterparty_iban: Is::Value("NL56AGDH9619008421"),
                counterparty_name: Is::Value("Company Name 2"),
                end_to_end_id: Is::Value("000000002"),
                remittance: &["Transaction Description 2"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "camt053/genkgo-v08.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 1,
        credits: "8.85",
        debits: "0",
        statements: &[statement(
            0,
            "NL26VAYB8060476890",
            Some("12312"),
            Some(("18.15", "EUR", "2014-12-30")),
            Some(("-27.00", "SEK", "2014-12-30")),
            1,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[
            (
                0,
                "transaction 1: the structured reference 4654654654654654 fails its check digit",
            ),
            (0, "CpyDplctInd CODU"),
        ],
        rows: &[Row {
            booking_date: "2014-12-31",
            value_date: "2015-01-02",
            amount: "8.85",
            counterparty_iban: Is::Value("NL56AGDH9619008421"),
            counterparty_name: Is::Value("NAME NAME"),
            end_to_end_id: Is::Value("MUELL/FINP/RA12345"),
            transaction_code: Is::Value("PMNT-RCDT-BOOK"),
            ..ROW
        }],
    },
    FileFacts {
        path: "camt053/lt-centralbank-oneline-batches.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 2,
        transaction_count: 8,
        credits: "1065457.28",
        debits: "-1374351.05",
        statements: &[
            statement(
                0,
                "LT625883379695428516",
                None,
                Some(("19536402.5", "EUR", "2024-03-21")),
                Some(("19227508.73", "EUR", "2024-03-21")),
                8,
            ),
            statement(
                1,
                "LT414319056143772570",
                None,
                Some(("4801.55", "EUR", "2024-03-21")),
                Some(("4801.55", "EUR", "2024-03-21")),
                0,
            ),
        ],
        chained: false,
        unbalanced: &[],
        other_warnings: &[
            (0, "OPBD has no CdtDbtInd"),
            (0, "CLBD has no CdtDbtInd"),
            (0, "no booking or value date"),
            (1, "OPBD has no CdtDbtInd"),
            (1, "CLBD has no CdtDbtInd"),
        ],
        rows: &[Row {
            index: 1,
            booking_date: "2024-03-21",
            value_date: "2024-03-21",
            amount: "1065427.56",
            bank_reference: Is::Value("REF000001485239"),
            transaction_code: Is::Value("ATSISK"),
            ..ROW
        }],
    },
    FileFacts {
        path: "camt053/oca-batch-2txdtls-chf.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 2,
        credits: "3483.00",
        debits: "0",
        statements: &[statement(
            0,
            "CH1111000000123456789",
            Some("58"),
            Some(("75960.15", "CHF", "2017-03-22")),
            Some(("79443.15", "CHF", "2017-03-23")),
            2,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2017-03-22",
                value_date: "2017-03-23",
                amount: "2187.00",
                counterparty_iban: Is::Value("CH2222000000123456789"),
                counterparty_name: Is::Value("Banque Cantonale Vaudoise"),
                structured_reference: Is::Value("302388292000011111111111111"),
                remittance: &["CRÉDIT GROUPÉ BVR"],
                ..ROW
            },
            Row {
                index: 1,
                booking_date: "2017-03-22",
                value_date: "2017-03-23",
                amount: "1296.00",
                counterparty_iban: Is::Value("CH3333000000123456789"),
                structured_reference: Is::Value("302388292000022222222222222"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "camt053/oca-nl-reversal-batch.xml",
        format: Format::Camt053,
        dialect: Dialect::AbnAmro,
        statement_count: 1,
        transaction_count: 4,
        credits: "1405.31",
        debits: "-1418.30",
        statements: &[statement(
            0,
            "NL77ABNA0574908765",
            Some("2"),
            Some(("15568.27", "EUR", "2014-01-05")),
            Some(("15121.12", "EUR", "2014-01-05")),
            4,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2014-01-05",
                value_date: "2014-01-05",
                amount: "-754.25",
                counterparty_iban: Is::Value("NL46ABNA0499998748"),
                counterparty_name: Is::Value("INSURANCE COMPANY TESTX"),
                end_to_end_id: Is::Value("435005714488-ABNO33052620"),
                remittance: &["Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014"],
                ..ROW
            },
            Row {
                index: 1,
                booking_date: "2014-01-05",
                value_date: "2014-01-05",
                amount: "-564.05",
                counterparty_iban: Is::Value("NL46ABNA0499998748"),
                counterparty_name: Is::Value("Test Customer"),
                end_to_end_id: Is::Value("TESTBANK/NL/20141229/01206408"),
                reversal: true,
                remittance: &["Direct Debit S14 0410"],
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2014-01-05",
                value_date: "2014-01-05",
                amount: "-100.00",
                end_to_end_id: Is::Value("TESTBANK/NL/20141229/01206407"),
                reversal: true,
                ..ROW
            },
            Row {
                index: 3,
                booking_date: "2014-01-05",
                value_date: "2014-01-05",
                amount: "1405.31",
                counterparty_iban: Is::Value("NL69ABNA0522123643"),
                counterparty_name: Is::Value("3rd party Media"),
                end_to_end_id: Is::Value("115"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "camt053/oca-no-entries.xml",
        format: Format::Camt053,
        dialect: Dialect::AbnAmro,
        statement_count: 1,
        transaction_count: 0,
        credits: "0",
        debits: "0",
        statements: &[statement(
            0,
            "NL77ABNA0574908765",
            Some("2"),
            Some(("1520.76", "CHF", "2014-01-05")),
            Some(("1520.76", "CHF", "2014-01-05")),
            0,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[],
    },
    FileFacts {
        path: "camt053/postfinance-ch-dupl-xxx.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 5,
        credits: "13010.00",
        debits: "0",
        statements: &[statement(
            0,
            "CH2609000000924238861",
            Some("999"),
            Some(("0.00", "XXX", "2015-12-31")),
            Some(("10000.00", "XXX", "2017-01-31")),
            5,
        )],
        chained: false,
        unbalanced: &[0],
        other_warnings: &[(0, "CpyDplctInd DUPL")],
        rows: &[Row {
            booking_date: "2016-04-23",
            value_date: "2016-04-23",
            amount: "10000.00",
            counterparty_iban: Is::Absent,
            end_to_end_id: Is::Absent,
            ..ROW
        }],
    },
    FileFacts {
        path: "camt053/raiffeisen-ch-v04-tz-dates.xml",
        format: Format::Camt053,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 16,
        credits: "368",
        debits: "-4047.85",
        statements: &[statement(
            0,
            "CHxxxxxxxxxxxxxxxxxxx",
            Some("2"),
            Some(("9433.31", "CHF", "2017-04-01")),
            Some(("5753.46", "CHF", "2017-04-11")),
            16,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2017-04-01",
                value_date: "2017-04-03",
                amount: "-905.3",
                counterparty_iban: Is::Absent,
                end_to_end_id: Is::Absent,
                ..ROW
            },
            Row {
                index: 1,
                booking_date: "2017-04-01",
                value_date: "2017-04-03",
                amount: "-158.5",
                remittance: &["Acquisto MIGROS M ARBEDO-CAST 31.03.2017/13:30"],
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2017-04-02",
                value_date: "2017-04-03",
                amount: "-38",
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "camt054/genkgo-camt054-v2-batch.xml",
        format: Format::Camt054,
        dialect: Dialect::Generic,
        statement_count: 1,
        transaction_count: 1,
        credits: "0",
        debits: "-200000",
        statements: &[statement(
            0,
            "CH2801234000123456789",
            Some("12312"),
            None,
            None,
            1,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[(0, "CpyDplctInd CODU")],
        rows: &[Row {
            booking_date: "2007-10-18",
            value_date: "2007-10-18",
            amount: "-200000",
            counterparty_iban: Is::Absent,
            counterparty_name: Is::Absent,
            end_to_end_id: Is::Value("MUELL/FINP/RA12345"),
            remittance: &["Unstructured Remittance Information V1"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/abnamro-tab-2023.TAB",
        format: Format::Csv,
        dialect: Dialect::AbnAmro,
        statement_count: 2,
        transaction_count: 26,
        credits: "1846.75",
        debits: "-3965.54",
        statements: &[
            statement(
                0,
                "123456789",
                None,
                Some(("3025.00", "EUR", "2021-12-30")),
                Some(("1742.50", "EUR", "2023-12-31")),
                23,
            ),
            statement(
                1,
                "112233445",
                None,
                Some(("10000.00", "EUR", "2022-12-01")),
                Some(("9550.99", "EUR", "2023-12-30")),
                3,
            ),
        ],
        chained: false,
        unbalanced: &[],
        // The sample joins unrelated rows, and two of its rows do not add up.
        other_warnings: &[
            (0, "3025.00 after line 15 but 3000.00 before line 16"),
            (0, "2993.50 after line 16 but 3500.00 before line 18"),
            (0, "line 21 gives a start balance of 3493.00"),
            (0, "1596.20 after line 36 but 1500.00 before line 38"),
            (1, "line 49 gives a start balance of 9427.00"),
        ],
        rows: &[
            Row {
                booking_date: "2021-12-30",
                value_date: "2021-12-30",
                amount: "-25.00",
                counterparty_iban: Is::Absent,
                counterparty_name: Is::Value("Hema EV123"),
                remittance: &["BEA NR:A1B23C 30.12.21/09.15 Hema EV123,PAS123 ZAANDAM"],
                ..ROW
            },
            Row {
                index: 4,
                booking_date: "2023-02-02",
                value_date: "2023-02-02",
                amount: "-39.35",
                counterparty_iban: Is::Value("NL01RABO0123456789"),
                counterparty_name: Is::Value("Next to Pay via Mollie"),
                remittance: &["SEPA iDEAL", "Foobar Pizza Delivery Order 123456"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/asn-2022.csv",
        format: Format::Csv,
        dialect: Dialect::Asn,
        statement_count: 1,
        transaction_count: 11,
        credits: "3286.92",
        debits: "-3333.12",
        statements: &[statement(
            0,
            "NL00ASNB9999999999",
            None,
            Some(("130.44", "EUR", "2022-06-17")),
            Some(("84.24", "EUR", "2022-07-11")),
            11,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2022-06-17",
                value_date: "2022-06-17",
                amount: "223.77",
                counterparty_iban: Is::Value("NL99ASNB0000000000"),
                counterparty_name: Is::Value("XXXXXXXXX Z Z Z Z"),
                bank_reference: Is::Value("51392971"),
                transaction_code: Is::Value("NGM"),
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2022-06-25",
                value_date: "2022-06-25",
                amount: "-2.20",
                counterparty_iban: Is::Absent,
                counterparty_name: Is::Absent,
                transaction_code: Is::Value("MSC"),
                remittance: &["Kosten gebruik betaalrekening inclusief 1 betaalpas"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/bunq-dutch-headers-2018.csv",
        format: Format::Csv,
        dialect: Dialect::Bunq,
        statement_count: 1,
        transaction_count: 3,
        credits: "750.00",
        debits: "-21.46",
        statements: &[statement(0, "NL24BUNQ0123400026", None, None, None, 3)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            index: 1,
            booking_date: "2018-03-09",
            value_date: "2018-03-09",
            amount: "750.00",
            counterparty_iban: Is::Value("NL72RABO0123400025"),
            counterparty_name: Is::Value("W. TESTERMAN EO"),
            remittance: &["Naar Bunq"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/bunq-english-2019.csv",
        format: Format::Csv,
        dialect: Dialect::Bunq,
        statement_count: 1,
        transaction_count: 7,
        credits: "15.86",
        debits: "-39.68",
        statements: &[statement(0, "NL45BUNQ0123400036", None, None, None, 7)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            index: 2,
            booking_date: "2018-12-06",
            value_date: "2018-12-06",
            amount: "8.78",
            counterparty_iban: Is::Absent,
            counterparty_name: Is::Value("CLOUDFLARE"),
            remittance: &["Refund: CLOUDFLARE (650-3198939, US)"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/bunq-english-ddmmyyyy-2018.csv",
        format: Format::Csv,
        dialect: Dialect::Bunq,
        statement_count: 1,
        transaction_count: 10,
        credits: "130.73",
        debits: "-105.41",
        statements: &[statement(0, "NL12BUNQ3456789123", None, None, None, 10)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2018-10-21",
                value_date: "2018-10-21",
                amount: "15.00",
                counterparty_iban: Is::Value("NL12TRIO3456789123"),
                counterparty_name: Is::Value("TestAccount"),
                ..ROW
            },
            Row {
                index: 7,
                booking_date: "2018-10-29",
                value_date: "2018-10-29",
                amount: "50.00",
                // A short, invalid IBAN is kept as written.
                counterparty_iban: Is::Value("NL89BUNQ123456789"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/bunq-excel-requoted-2020.csv",
        format: Format::Csv,
        dialect: Dialect::Bunq,
        statement_count: 1,
        transaction_count: 1,
        credits: "0",
        debits: "-83.86",
        statements: &[statement(0, "NL18BUNQ0123400037", None, None, None, 1)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            booking_date: "2020-06-01",
            value_date: "2020-06-01",
            amount: "-83.86",
            counterparty_iban: Is::Absent,
            counterparty_name: Is::Value("Albert Heijn BV"),
            remittance: &["Albert Heijn BV ZAANDAM, NL"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/ing-comma-2020.csv",
        format: Format::Csv,
        dialect: Dialect::Ing,
        statement_count: 1,
        transaction_count: 6,
        credits: "21.25",
        debits: "-1.87",
        statements: &[statement(0, "NL99INGB9999999999", None, None, None, 6)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2020-02-13",
                value_date: "2020-02-13",
                amount: "-1.25",
                counterparty_iban: Is::Absent,
                counterparty_name: Is::Value("Kosten OranjePakket met korting"),
                transaction_code: Is::Value("DV"),
                remittance: &["1 jan t/m 31 jan 2020 ING BANK N.V."],
                ..ROW
            },
            Row {
                index: 3,
                booking_date: "2019-12-13",
                value_date: "2019-12-13",
                amount: "20.00",
                counterparty_iban: Is::Value("NL99ASNB9999999999"),
                counterparty_name: Is::Value("TESTPERSN A B C D"),
                transaction_code: Is::Value("OV"),
                remittance: &["Omschrijving: Kosten rekening"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/ing-comma-no-final-eol-2018.csv",
        format: Format::Csv,
        dialect: Dialect::Ing,
        statement_count: 1,
        transaction_count: 3,
        credits: "30.00",
        debits: "-35.00",
        statements: &[statement(0, "NL01INGB0123456789", None, None, None, 3)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            index: 2,
            booking_date: "2018-05-02",
            value_date: "2018-05-02",
            amount: "-35.00",
            counterparty_iban: Is::Value("NL44BUNQ0123456789"),
            counterparty_name: Is::Value("M.C. Testnaam"),
            transaction_code: Is::Value("GT"),
            remittance: &["Doe er iets leuks mee"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/ing-savings-2020.csv",
        format: Format::Csv,
        dialect: Dialect::Ing,
        statement_count: 1,
        transaction_count: 5,
        credits: "102.00",
        debits: "-200.00",
        statements: &[statement(
            0,
            "NL01INGB0123456789",
            None,
            Some(("0.00", "EUR", "2020-07-01")),
            Some(("-98.00", "EUR", "2020-07-10")),
            5,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            index: 3,
            booking_date: "2020-07-02",
            value_date: "2020-07-01",
            amount: "1.00",
            counterparty_iban: Is::Absent,
            remittance: &["Bonusrente"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/ing-semicolon-english-2024.csv",
        format: Format::Csv,
        dialect: Dialect::Ing,
        statement_count: 1,
        transaction_count: 3,
        credits: "0",
        debits: "-94.07",
        // Newest row first: the running balances fit only read backwards.
        statements: &[statement(
            0,
            "NL76INGB0123456789",
            None,
            Some(("95.53", "EUR", "2024-04-26")),
            Some(("1.46", "EUR", "2024-04-26")),
            3,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            booking_date: "2024-04-26",
            value_date: "2024-04-26",
            amount: "-45.14",
            counterparty_iban: Is::Value("DE2134567890123456789"),
            counterparty_name: Is::Value("Some payee somewhere"),
            transaction_code: Is::Value("ID"),
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/knab-2019.csv",
        format: Format::Csv,
        dialect: Dialect::Knab,
        statement_count: 1,
        transaction_count: 28,
        credits: "20834.77",
        debits: "-20827.76",
        statements: &[statement(0, "NL99KNAB9999999999", None, None, None, 28)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                booking_date: "2019-06-21",
                value_date: "2019-06-21",
                amount: "-827.75",
                counterparty_iban: Is::Value("FR9999999999999999999999999"),
                counterparty_name: Is::Value("Test Fictief (FR)"),
                bank_reference: Is::Value("B9F21PGYA068V2KD"),
                transaction_code: Is::Value("Overboeking"),
                remittance: &["Tresorie"],
                ..ROW
            },
            Row {
                index: 2,
                booking_date: "2019-06-19",
                value_date: "2019-06-19",
                amount: "-2500",
                counterparty_name: Is::Value("M FICTIEF"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/rabobank-2017-latin1.csv",
        format: Format::Csv,
        dialect: Dialect::Rabobank,
        statement_count: 1,
        transaction_count: 5,
        credits: "1100.00",
        debits: "-800.00",
        statements: &[statement(
            0,
            "NL00RABO1234567890",
            None,
            Some(("1200.00", "EUR", "2017-11-05")),
            Some(("1500.00", "EUR", "2017-12-16")),
            5,
        )],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            index: 1,
            booking_date: "2017-11-11",
            value_date: "2017-11-11",
            amount: "1000.00",
            counterparty_iban: Is::Value("NL00RABO1234567891"),
            counterparty_name: Is::Value("D.A.W. TESTERS"),
            bank_reference: Is::Absent,
            transaction_code: Is::Value("db"),
            remittance: &["D.A.W. TESTERS Bijschrijving"],
            ..ROW
        }],
    },
    FileFacts {
        path: "csv/rabobank-2018-latin1-crcrlf.csv",
        format: Format::Csv,
        dialect: Dialect::Rabobank,
        statement_count: 1,
        transaction_count: 3,
        credits: "50.00",
        debits: "-1087.49",
        statements: &[statement(
            0,
            "NL72RABO0123400025",
            None,
            Some(("5594.77", "EUR", "2018-03-01")),
            Some(("12334.53", "EUR", "2018-03-16")),
            3,
        )],
        chained: false,
        unbalanced: &[],
        // Rows 9566 to 9589 are not in the file.
        other_warnings: &[(0, "5257.28 after line 2 but 13034.53 before line 3")],
        rows: &[
            Row {
                booking_date: "2018-03-01",
                value_date: "2018-03-01",
                amount: "-337.49",
                counterparty_iban: Is::Value("0123400099"),
                counterparty_name: Is::Absent,
                bank_reference: Is::Value("000000000000009565"),
                transaction_code: Is::Value("db"),
                remittance: &["RENTE LENING"],
                ..ROW
            },
            Row {
                // The row whose opening quote is missing.
                index: 1,
                booking_date: "2018-03-14",
                value_date: "2018-03-14",
                amount: "50.00",
                counterparty_iban: Is::Value("NL62INGB0663707048"),
                counterparty_name: Is::Value("Nederlandse Loterij Organisatie B.V."),
                end_to_end_id: Is::Value("18753493.6094"),
                bank_reference: Is::Value("000000000000009590"),
                remittance: &["Gefeliciteerd, Gewonnen met Staatsloterij"],
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/rabobank-legacy-2016.csv",
        format: Format::Csv,
        dialect: Dialect::Rabobank,
        statement_count: 3,
        transaction_count: 44,
        credits: "249.42",
        debits: "-886.03",
        statements: &[
            statement(0, "NL18RABO0123400027", None, None, None, 39),
            statement(1, "NL88RABO0123400028", None, None, None, 1),
            statement(2, "NL61RABO0123400029", None, None, None, 4),
        ],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[
            Row {
                index: 1,
                booking_date: "2016-01-04",
                value_date: "2016-01-04",
                amount: "10.00",
                counterparty_iban: Is::Value("NL25INGB0653573251"),
                counterparty_name: Is::Value("STICHTING EXPLOITATIE NEDERLANDSE STAATSLOTERIJ"),
                end_to_end_id: Is::Value("DLP569716687"),
                transaction_code: Is::Value("cb"),
                // Columns cut mid-word are joined without a space.
                remittance: &[
                    "Oudejaarstrekking .Gefeliciteerd met uw prijs .Trekking 31-dec-2015",
                ],
                ..ROW
            },
            Row {
                index: 36,
                booking_date: "2016-01-20",
                value_date: "2016-01-20",
                amount: "-12.79",
                counterparty_iban: Is::Value("NL55RABO0136577199"),
                structured_reference: Is::Value("9200030840900000"),
                transaction_code: Is::Value("ei"),
                ..ROW
            },
        ],
    },
    FileFacts {
        path: "csv/triodos-2020-crlf.csv",
        format: Format::Csv,
        dialect: Dialect::Triodos,
        statement_count: 1,
        transaction_count: 2,
        credits: "500.00",
        debits: "-200.00",
        statements: &[statement(0, "NL74TRIO0123456789", None, None, None, 2)],
        chained: false,
        unbalanced: &[],
        other_warnings: &[],
        rows: &[Row {
            booking_date: "2020-11-02",
            value_date: "2020-11-02",
            amount: "-200.00",
            // `BIC IBAN` in one field.
            counterparty_iban: Is::Value("LV87CBBR0123456789"),
            counterparty_name: Is::Value("Something"),
            transaction_code: Is::Value("ET"),
            remittance: &["customer No 1234 account"],
            ..ROW
        }],
    },
];

/// Returns the corpus folder, or `None` when it is missing outside CI.
fn corpus_folder() -> Option<PathBuf> {
    let folder = match std::env::var_os("DK_BANK_CORPUS") {
        Some(folder) => PathBuf::from(folder),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/bank"),
    };
    if folder.is_dir() {
        return Some(folder);
    }
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        !in_ci,
        "bank corpus not found at {}; set DK_BANK_CORPUS",
        folder.display()
    );
    eprintln!(
        "skipping the corpus test: no bank corpus at {} (set DK_BANK_CORPUS to its folder)",
        folder.display()
    );
    None
}

fn decimal(text: &str) -> Decimal {
    text.parse()
        .unwrap_or_else(|_| panic!("bad decimal {text} in the test table"))
}

fn check_row(file: &str, parsed: &ParsedFile, row: &Row) {
    let place = format!(
        "{file} statement {} transaction {}",
        row.statement, row.index
    );
    let transaction: &Transaction = parsed
        .statements
        .get(row.statement)
        .and_then(|statement| statement.transactions.get(row.index))
        .unwrap_or_else(|| panic!("{place} missing"));

    assert_eq!(
        transaction.booking_date.to_string(),
        row.booking_date,
        "{place} booking date"
    );
    assert_eq!(
        transaction.value_date.to_string(),
        row.value_date,
        "{place} value date"
    );
    assert_eq!(transaction.amount, decimal(row.amount), "{place} amount");
    assert_eq!(transaction.reversal, row.reversal, "{place} reversal");

    let fields = [
        (
            "counterparty IBAN",
            row.counterparty_iban,
            &transaction.counterparty_iban,
        ),
        (
            "counterparty name",
            row.counterparty_name,
            &transaction.counterparty_name,
        ),
        (
            "end-to-end id",
            row.end_to_end_id,
            &transaction.end_to_end_id,
        ),
        (
            "structured reference",
            row.structured_reference,
            &transaction.structured_reference,
        ),
        (
            "bank reference",
            row.bank_reference,
            &transaction.bank_reference,
        ),
        (
            "transaction code",
            row.transaction_code,
            &transaction.transaction_code,
        ),
    ];
    for (field, expected, actual) in fields {
        match expected {
            Is::Any => {}
            Is::Absent => assert_eq!(actual.as_deref(), None, "{place} {field}"),
            Is::Value(value) => assert_eq!(actual.as_deref(), Some(value), "{place} {field}"),
        }
    }

    for fragment in row.remittance {
        assert!(
            transaction.remittance.contains(fragment),
            "{place} remittance {:?} lacks {fragment:?}",
            transaction.remittance
        );
    }
}

fn check_balance(
    place: &str,
    expected: Option<BalanceFacts>,
    actual: Option<&dk_statement::Balance>,
) {
    match (expected, actual) {
        (None, None) => {}
        (Some((amount, currency, date)), Some(balance)) => {
            assert_eq!(balance.amount, decimal(amount), "{place} amount");
            assert_eq!(balance.currency, currency, "{place} currency");
            assert_eq!(balance.date.to_string(), date, "{place} date");
        }
        (expected, actual) => panic!("{place}: expected {expected:?}, found {actual:?}"),
    }
}

fn check_file(facts: &FileFacts, parsed: &ParsedFile) {
    let file = facts.path;
    assert_eq!(parsed.format, facts.format, "{file} format");
    assert_eq!(parsed.dialect, facts.dialect, "{file} dialect");
    assert_eq!(
        parsed.statements.len(),
        facts.statement_count,
        "{file} statements"
    );

    let transactions: Vec<&Transaction> = parsed
        .statements
        .iter()
        .flat_map(|statement| &statement.transactions)
        .collect();
    assert_eq!(
        transactions.len(),
        facts.transaction_count,
        "{file} transactions"
    );
    let credits: Decimal = transactions
        .iter()
        .map(|t| t.amount)
        .filter(|a| a.is_sign_positive())
        .sum();
    let debits: Decimal = transactions
        .iter()
        .map(|t| t.amount)
        .filter(|a| a.is_sign_negative())
        .sum();
    assert_eq!(credits, decimal(facts.credits), "{file} credit sum");
    assert_eq!(debits, decimal(facts.debits), "{file} debit sum");

    for expected in facts.statements {
        let place = format!("{file} statement {}", expected.index);
        let statement = &parsed.statements[expected.index];
        assert_eq!(statement.account, expected.account, "{place} account");
        assert_eq!(
            statement.sequence.as_deref(),
            expected.sequence,
            "{place} sequence"
        );
        check_balance(
            &format!("{place} opening"),
            expected.opening,
            statement.opening_balance.as_ref(),
        );
        check_balance(
            &format!("{place} closing"),
            expected.closing,
            statement.closing_balance.as_ref(),
        );
        assert_eq!(
            statement.transactions.len(),
            expected.transactions,
            "{place} transactions"
        );
        assert!(
            statement
                .transactions
                .iter()
                .all(|transaction| transaction.currency == statement.currency),
            "{place} transaction currencies"
        );
    }
    if facts.chained {
        for pair in parsed.statements.windows(2) {
            let previous = pair[0]
                .closing_balance
                .as_ref()
                .map(|balance| balance.amount);
            let next = pair[1]
                .opening_balance
                .as_ref()
                .map(|balance| balance.amount);
            assert_eq!(previous, next, "{file} balance chain");
        }
    }

    check_warnings(facts, parsed);
    for row in facts.rows {
        check_row(file, parsed, row);
    }
}

/// Every expected warning must be present, and no others.
fn check_warnings(facts: &FileFacts, parsed: &ParsedFile) {
    let mut remaining: Vec<(Option<usize>, &str)> = parsed
        .warnings
        .iter()
        .map(|warning| (warning.statement, warning.message.as_str()))
        .collect();
    let expected = facts
        .unbalanced
        .iter()
        .map(|index| (*index, "does not add up"))
        .chain(facts.other_warnings.iter().copied());
    for (index, fragment) in expected {
        let found = remaining.iter().position(|(statement, message)| {
            *statement == Some(index) && message.contains(fragment)
        });
        match found {
            Some(at) => {
                remaining.remove(at);
            }
            None => panic!(
                "{}: no warning for statement {index} containing {fragment:?} in {:?}",
                facts.path, parsed.warnings
            ),
        }
    }
    assert!(
        remaining.is_empty(),
        "{}: unexpected warnings {remaining:?}",
        facts.path
    );
}

#[test]
fn corpus_files_match_expected_facts() {
    let Some(folder) = corpus_folder() else {
        return;
    };
    let unsupported: BTreeSet<&str> = UNSUPPORTED.iter().map(|(file, _)| *file).collect();

    // Every statement file on disk must be in the table or in UNSUPPORTED.
    let mut on_disk = BTreeSet::new();
    for sub in FOLDERS {
        let entries =
            std::fs::read_dir(folder.join(sub)).unwrap_or_else(|error| panic!("{sub}: {error}"));
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            on_disk.insert(format!("{sub}/{name}"));
        }
    }
    let in_table: BTreeSet<String> = FILES.iter().map(|facts| facts.path.to_string()).collect();
    for path in &on_disk {
        assert!(
            in_table.contains(path) || unsupported.contains(path.as_str()),
            "{path} has no expectations in the test table"
        );
    }

    for facts in FILES {
        assert!(
            on_disk.contains(facts.path),
            "{} listed but not in the corpus",
            facts.path
        );
        if unsupported.contains(facts.path) {
            continue;
        }
        let bytes = std::fs::read(folder.join(facts.path)).unwrap();
        assert_eq!(
            dk_statement::detect(&bytes),
            Some(facts.format),
            "{} detection",
            facts.path
        );
        let parsed =
            dk_statement::parse(&bytes).unwrap_or_else(|error| panic!("{}: {error}", facts.path));
        check_file(facts, &parsed);
    }
}

/// Structured references whose check digit fails are kept as given and flagged; valid ones are
/// marked valid.
#[test]
fn structured_references_are_checked() {
    let Some(folder) = corpus_folder() else {
        return;
    };
    let cases = [
        ("mt940/ing-structured-2014.940", "9001123412341234", false),
        ("mt940/ing-structured-2014.940", "1070123412341234", false),
        (
            "mt940/abnamro-sepa-structured-2014.txt",
            "1234567890098876",
            false,
        ),
        ("csv/rabobank-legacy-2016.csv", "9200030840900000", true),
    ];
    for (path, reference, valid) in cases {
        let bytes = std::fs::read(folder.join(path)).unwrap();
        let parsed = dk_statement::parse(&bytes).unwrap_or_else(|error| panic!("{path}: {error}"));
        let flags: Vec<Option<bool>> = parsed
            .statements
            .iter()
            .flat_map(|statement| &statement.transactions)
            .filter(|transaction| transaction.structured_reference.as_deref() == Some(reference))
            .map(|transaction| transaction.structured_reference_valid)
            .collect();
        assert!(!flags.is_empty(), "{path}: no transaction with {reference}");
        assert!(
            flags.iter().all(|flag| *flag == Some(valid)),
            "{path}: {reference} flagged {flags:?}, expected {valid}"
        );
    }
}
