//! Property tests: generated statements survive MT940, camt.053 and Rabobank CSV render and
//! parse unchanged, and no input makes the parser panic.

use chrono::{Duration, NaiveDate};
use dk_statement::generate::{render_camt053, render_mt940, render_rabobank_csv};
use dk_statement::{Balance, Dialect, Format, Statement, Transaction};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn date_strategy() -> impl Strategy<Value = NaiveDate> {
    // 2000-01-01 plus up to about 69 years: every date that a two-digit MT940 year can hold.
    (0i64..25_000)
        .prop_map(|days| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(days))
}

fn iban_strategy() -> impl Strategy<Value = String> {
    "NL[0-9]{2}(INGB|RABO|ABNA|TRIO|SNSB)[0-9]{10}"
}

fn remittance_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9.,:+é-]{1,12}", 0..12).prop_map(|words| words.join(" "))
}

fn transaction_strategy(
    statement_date: NaiveDate,
    currency: String,
) -> impl Strategy<Value = Transaction> {
    (
        -5i64..=5,
        -5i64..=5,
        -100_000_000i64..100_000_000,
        any::<bool>(),
        prop::sample::select(vec!["NTRF", "NDDT", "NRTI", "NMSC", "NIDB"]),
        prop::option::of("[A-Z0-9]{1,16}"),
        prop::option::of("[A-Za-z0-9-]{1,35}"),
        prop::option::of(iban_strategy()),
        prop::option::of("[A-Za-z][A-Za-z .&-]{0,30}[A-Za-z.]"),
        prop_oneof![
            remittance_strategy().prop_map(|text| (text, None)),
            "[0-9]{16}".prop_map(|reference| (String::new(), Some(reference))),
        ],
    )
        .prop_map(
            move |(
                value_shift,
                booking_shift,
                cents,
                reversal,
                code,
                bank,
                end_to_end,
                iban,
                name,
                (remittance, structured),
            )| {
                let value_date = statement_date + Duration::days(value_shift);
                Transaction {
                    booking_date: value_date + Duration::days(booking_shift),
                    value_date,
                    amount: Decimal::new(cents, 2),
                    currency: currency.clone(),
                    counterparty_iban: iban,
                    counterparty_name: name,
                    remittance,
                    end_to_end_id: end_to_end,
                    structured_reference_valid: structured
                        .as_deref()
                        .and_then(dk_statement::check_structured_reference),
                    structured_reference: structured,
                    bank_reference: bank,
                    transaction_code: Some(code.to_string()),
                    reversal,
                }
            },
        )
}

fn statement_strategy() -> impl Strategy<Value = Statement> {
    (
        "[A-Z0-9]{1,16}",
        "[0-9]{1,5}(/[0-9]{1,3})?",
        iban_strategy(),
        prop::sample::select(vec!["EUR", "USD", "GBP"]),
        -1_000_000_000i64..1_000_000_000,
        date_strategy().prop_filter("room for shifted dates", |date| {
            *date > NaiveDate::from_ymd_opt(2000, 1, 10).unwrap()
                && *date < NaiveDate::from_ymd_opt(2068, 12, 20).unwrap()
        }),
    )
        .prop_flat_map(|(id, sequence, iban, currency, opening_cents, date)| {
            let transactions =
                prop::collection::vec(transaction_strategy(date, currency.to_string()), 0..15);
            (
                Just((id, sequence, iban, currency, opening_cents, date)),
                transactions,
            )
        })
        .prop_map(
            |((id, sequence, iban, currency, opening_cents, date), transactions)| {
                let opening = Decimal::new(opening_cents, 2);
                let closing = transactions
                    .iter()
                    .fold(opening, |sum, transaction| sum + transaction.amount);
                Statement {
                    statement_id: Some(id),
                    sequence: Some(sequence),
                    account: format!("{iban}{currency}"),
                    iban: Some(iban),
                    currency: currency.to_string(),
                    opening_balance: Some(Balance {
                        amount: opening,
                        currency: currency.to_string(),
                        date: date - Duration::days(1),
                    }),
                    closing_balance: Some(Balance {
                        amount: closing,
                        currency: currency.to_string(),
                        date,
                    }),
                    transactions,
                }
            },
        )
}

proptest! {
    #[test]
    fn mt940_render_then_parse_round_trips(statements in prop::collection::vec(statement_strategy(), 1..4)) {
        let text = render_mt940(&statements);
        prop_assert_eq!(dk_statement::detect(text.as_bytes()), Some(Format::Mt940));
        let parsed = dk_statement::parse(text.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        prop_assert_eq!(parsed.dialect, Dialect::Ing);
        // Random 16-digit references fail their check digit about ten times in eleven.
        prop_assert!(parsed.warnings.iter().all(|warning| warning.message.contains("fails its check digit")), "{:?}", parsed.warnings);
        prop_assert_eq!(&parsed.statements, &statements, "{}", text);

        // Rendering what was parsed gives the same text again.
        prop_assert_eq!(render_mt940(&parsed.statements), text);
    }

    #[test]
    fn rabobank_csv_render_then_parse_round_trips(statements in prop::collection::vec(statement_strategy(), 1..4)) {
        let text = render_rabobank_csv(&statements);
        let parsed = dk_statement::parse(text.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        prop_assert_eq!(parsed.format, Format::Csv);
        prop_assert_eq!(parsed.dialect, Dialect::Rabobank);
        // Random 16-digit references fail their check digit about ten times in eleven.
        prop_assert!(parsed.warnings.iter().all(|warning| warning.message.contains("fails its check digit") || warning.message.contains("header but no transactions")), "{:?}\n{}", parsed.warnings, text);

        let written: Vec<&Statement> = statements
            .iter()
            .filter(|statement| !statement.transactions.is_empty())
            .collect();
        prop_assert_eq!(parsed.statements.len(), written.len());
        for (read, written) in parsed.statements.iter().zip(written) {
            prop_assert_eq!(read.iban.as_ref(), written.iban.as_ref());
            prop_assert_eq!(&read.currency, &written.currency);
            prop_assert_eq!(
                read.opening_balance.as_ref().map(|balance| balance.amount),
                written.opening_balance.as_ref().map(|balance| balance.amount)
            );
            prop_assert_eq!(
                read.closing_balance.as_ref().map(|balance| balance.amount),
                written.closing_balance.as_ref().map(|balance| balance.amount)
            );
            prop_assert_eq!(read.transactions.len(), written.transactions.len());
            for (read, written) in read.transactions.iter().zip(&written.transactions) {
                prop_assert_eq!(read.booking_date, written.booking_date);
                prop_assert_eq!(read.value_date, written.value_date);
                prop_assert_eq!(read.amount, written.amount);
                prop_assert_eq!(&read.currency, &written.currency);
                prop_assert_eq!(&read.counterparty_iban, &written.counterparty_iban);
                prop_assert_eq!(&read.counterparty_name, &written.counterparty_name);
                prop_assert_eq!(&read.remittance, &written.remittance);
                prop_assert_eq!(&read.end_to_end_id, &written.end_to_end_id);
                prop_assert_eq!(&read.structured_reference, &written.structured_reference);
            }
        }

        // Rendering what was parsed and parsing it again gives the same statements.
        let again = dk_statement::parse(render_rabobank_csv(&parsed.statements).as_bytes())
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(again.statements, parsed.statements);
    }

    #[test]
    fn camt053_render_then_parse_round_trips(statements in prop::collection::vec(statement_strategy(), 1..4)) {
        let text = render_camt053(&statements);
        let parsed = dk_statement::parse(text.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        prop_assert_eq!(parsed.format, Format::Camt053);
        // Random 16-digit references fail their check digit about ten times in eleven.
        prop_assert!(parsed.warnings.iter().all(|warning| warning.message.contains("fails its check digit")), "{:?}\n{}", parsed.warnings, text);
        prop_assert_eq!(parsed.statements.len(), statements.len());
        for (read, written) in parsed.statements.iter().zip(&statements) {
            prop_assert_eq!(&read.statement_id, &written.statement_id);
            prop_assert_eq!(&read.sequence, &written.sequence);
            prop_assert_eq!(read.iban.as_ref(), written.iban.as_ref());
            prop_assert_eq!(&read.currency, &written.currency);
            prop_assert_eq!(&read.opening_balance, &written.opening_balance);
            prop_assert_eq!(&read.closing_balance, &written.closing_balance);
            prop_assert_eq!(read.transactions.len(), written.transactions.len());
            for (read, written) in read.transactions.iter().zip(&written.transactions) {
                prop_assert_eq!(read.booking_date, written.booking_date);
                prop_assert_eq!(read.value_date, written.value_date);
                prop_assert_eq!(read.amount, written.amount);
                prop_assert_eq!(&read.currency, &written.currency);
                prop_assert_eq!(&read.counterparty_iban, &written.counterparty_iban);
                // The CAMT reader collapses runs of white space in names.
                let name = written
                    .counterparty_name
                    .as_ref()
                    .map(|name| name.split_whitespace().collect::<Vec<_>>().join(" "));
                prop_assert_eq!(&read.counterparty_name, &name);
                prop_assert_eq!(&read.remittance, &written.remittance);
                prop_assert_eq!(&read.end_to_end_id, &written.end_to_end_id);
                prop_assert_eq!(&read.structured_reference, &written.structured_reference);
                prop_assert_eq!(&read.bank_reference, &written.bank_reference);
            }
        }

        // Rendering what was parsed and parsing it again gives the same statements.
        let again = dk_statement::parse(render_camt053(&parsed.statements).as_bytes())
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(again.statements, parsed.statements);
    }

    #[test]
    fn parse_never_panics_on_csv_soup(lines in prop::collection::vec(
        prop_oneof![
            Just("\"Datum\",\"Naam / Omschrijving\",\"Rekening\",\"Tegenrekening\",\"Code\",\"Af Bij\",\"Bedrag (EUR)\",\"MutatieSoort\",\"Mededelingen\"".to_string()),
            Just("\"IBAN/BBAN\",\"Munt\",\"Volgnr\",\"Datum\",\"Bedrag\",\"Saldo na trn\"".to_string()),
            Just("KNAB EXPORT;;;".to_string()),
            "(\"?[0-9A-Za-z ,.;+/:-]{0,12}\"?[,;\t]){0,20}",
            "[0-9]{9}\t(EUR)?\t[0-9]{8}\t[0-9,.-]{0,8}\t[0-9,.-]{0,8}\t[0-9]{0,8}\t[0-9,+-]{0,8}\t[ -~]{0,40}",
        ],
        0..30,
    )) {
        let text = lines.join("\r\n");
        let _ = dk_statement::parse(text.as_bytes());
        let _ = dk_statement::parse_as(text.as_bytes(), Format::Csv);
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = dk_statement::parse(&bytes);
        for format in Format::ALL {
            let _ = dk_statement::parse_as(&bytes, format);
        }
    }

    #[test]
    fn parse_never_panics_on_tag_soup(lines in prop::collection::vec(
        prop_oneof![
            "(:[0-9]{2}[A-Z]?:)?[ -~]{0,40}",
            ":61:[0-9]{0,12}(C|D|RC|RD)?[0-9,]{0,8}[A-Z]{0,4}[ -~]{0,20}",
            ":6[02][FM]:(C|D)[0-9]{0,6}[A-Z]{0,3}[0-9,]{0,8}",
            "(-|-}|\\{1:[A-Z0-9]{0,12}\\}\\{4:| -|[A-Z]{8})",
        ],
        0..40,
    )) {
        let text = lines.join("\n");
        let _ = dk_statement::parse(text.as_bytes());
        let _ = dk_statement::parse_as(text.as_bytes(), Format::Mt942);
    }

    #[test]
    fn parse_never_panics_on_xml_soup(parts in prop::collection::vec(
        prop_oneof![
            Just("<Document>".to_string()),
            Just("<BkToCstmrStmt>".to_string()),
            Just("<Stmt>".to_string()),
            Just("<Ntry>".to_string()),
            Just("</Ntry>".to_string()),
            Just("<TxDtls>".to_string()),
            Just("</TxDtls>".to_string()),
            Just("<Amt Ccy=\"EUR\">".to_string()),
            Just("</Amt>".to_string()),
            Just("<CdtDbtInd>DBIT</CdtDbtInd>".to_string()),
            Just("<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>".to_string()),
            Just("</Bal>".to_string()),
            "[ -~]{0,12}",
        ],
        0..60,
    )) {
        let text = parts.concat();
        for format in [Format::Camt052, Format::Camt053, Format::Camt054] {
            let _ = dk_statement::parse_as(text.as_bytes(), format);
        }
        let _ = dk_statement::parse(text.as_bytes());
    }
}
