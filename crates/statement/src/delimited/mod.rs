//! Bank exports in CSV and TAB form.
//!
//! The module reads the layouts of these banks:
//! - ING: payment and savings accounts, Dutch and English headers, comma or semicolon;
//! - Rabobank: the 26-column export since 2018 and the older headerless 19 columns;
//! - ABN AMRO: the TAB export;
//! - bunq: Dutch and English headers, with or without the interest date, ISO or `dd/mm/yyyy`
//!   dates;
//! - Knab, ASN and Triodos.
//!
//! The `csv` crate splits the records: quoted fields, doubled quotes, and LF, CRLF, CR CR LF or
//! CR line ends. This module recognises the layout from the header row, or for headerless
//! exports from the shape of the first row, never from a byte position. It then maps the
//! columns of every row to a [`crate::Transaction`].
//!
//! Repairs of what real exports contain:
//! - A row that lost its opening quote (`NL72RABO0123400025","EUR",…`) keeps its value: a
//!   stray quote at one end of a field is removed.
//! - A file re-saved by a spreadsheet, where every line became one quoted field holding the
//!   real line with doubled quotes, is unwrapped.
//! - Knab's `KNAB EXPORT` preamble is skipped, and so are `#` comment lines in TAB files. The
//!   public ABN AMRO sample has them, but real exports do not.
//!
//! Every row becomes a transaction of the statement of its own account, so a file with
//! several accounts (ABN AMRO TAB, old Rabobank) gives one statement per account, in the order
//! in which the accounts first appear. Transactions keep the file's order.
//!
//! Exports with a running balance (ING with `Saldo na mutatie`, Rabobank `Saldo na trn`, ABN
//! AMRO start and end balances, ASN's balance before the row) give each statement an opening
//! and closing balance, taken in date order: ING lists the newest row first, the others the
//! oldest. Where one row's balance does not follow from the previous row and its amount, a
//! [`crate::Warning`] names both lines, because rows are missing between them or the file was edited.
//! Exports without balances have none.
//!
//! Where an export has no currency column (ING payment accounts with `Bedrag (EUR)`, bunq,
//! Triodos), the currency is EUR. ABN AMRO TAB gives domestic account numbers; the statement's
//! IBAN is derived from them (`NL`, check digits, `ABNA`, the number padded to ten digits).

mod balances;
mod layout;
mod rows;
mod values;

use csv::{ReaderBuilder, StringRecord, Terminator};

use self::layout::{Layout, Shape, recognise};
use self::rows::Builder;
use crate::error::ParseError;
use crate::model::{Dialect, ParsedFile};

/// The expectation named when no layout matches the first rows of a file.
pub(crate) const EXPECTED_LAYOUT: &str = "the header row of an ING, Rabobank, bunq or Knab export, or a row of a headerless ABN AMRO TAB, Rabobank (before 2018), ASN or Triodos export";

/// The maximum number of rows reserved ahead for a statement, whatever the file size suggests.
const MAX_RESERVED_ROWS: usize = 1 << 20;

/// Rows read to recognise a layout.
const SNIFF_RECORDS: usize = 3;

/// Recognises a CSV or TAB export from its first rows.
pub(crate) fn sniff(text: &str) -> Option<Layout> {
    recognise(text).map(|shape| shape.layout)
}

/// Reads a CSV or TAB export. With `dialect`, the export must be of that bank's layout.
pub(crate) fn parse(text: &str, dialect: Option<Dialect>) -> Result<ParsedFile, ParseError> {
    let (line, first) = first_content_line(text).unwrap_or((1, ""));
    let shape = recognise(text).ok_or_else(|| ParseError::at_line(line, EXPECTED_LAYOUT, first))?;
    if let Some(dialect) = dialect.filter(|dialect| *dialect != shape.layout.dialect()) {
        let expected = format!(
            "an export of {} as stated, not the {} layout that this file has",
            dialect.bank_name(),
            shape.layout.name()
        );
        return Err(ParseError::at_line(line, expected, first));
    }

    let mut reader = reader(text, &shape);
    let mut record = StringRecord::new();
    let mut inner = StringRecord::new();
    let mut builder = Builder::new(&shape);
    let mut skipped = 0;
    let mut last_record = 0;
    let mut lines = LineCounter::default();

    loop {
        let more = reader.read_record(&mut record).map_err(|error| {
            let offset = error
                .position()
                .map_or(0, |position| position.byte() as usize);
            ParseError::at_line(
                lines.line_at(text.as_bytes(), offset),
                "a row of comma, semicolon or tab separated fields",
                "",
            )
        })?;
        if !more {
            break;
        }
        if is_blank(&record) {
            continue;
        }
        last_record = record
            .position()
            .map_or(0, |position| position.byte() as usize);
        if skipped < shape.skip {
            skipped += 1;
            continue;
        }
        let offset = record
            .position()
            .map_or(0, |position| position.byte() as usize);
        let line = lines.line_at(text.as_bytes(), offset);
        let row = match shape.requoted {
            Some(inner_delimiter) => {
                unwrap_requoted(&record, inner_delimiter, &mut inner);
                &inner
            }
            None => &record,
        };
        if is_blank(row) {
            continue;
        }
        builder.add(line, row, text.len().saturating_sub(offset))?;
    }

    check_last_quote(text, last_record, &mut lines)?;
    Ok(builder.finish())
}

/// Rejects a file whose last line opens a quoted field that never closes, which a download cut
/// short leaves behind. The reader would take the rest of the file as that field's value.
fn check_last_quote(
    text: &str,
    last_record: usize,
    lines: &mut LineCounter,
) -> Result<(), ParseError> {
    let tail = text.get(last_record..).unwrap_or_default().trim_end();
    let quotes = memchr::memchr_iter(b'"', tail.as_bytes()).count();
    // A field that lost its opening quote leaves an odd count too, but its line still ends
    // with the closing quote.
    if quotes % 2 == 1 && !tail.ends_with('"') {
        let line = lines.line_at(text.as_bytes(), last_record);
        let last_line = tail.lines().last().unwrap_or_default();
        return Err(ParseError::at_line(
            line,
            "a closing quote before the end of the file; the file may be cut short",
            last_line,
        ));
    }
    Ok(())
}

/// Turns byte offsets into one-based line numbers, counting LF, CRLF, CR CR LF and a lone CR
/// as one line break each. Offsets must come in ascending order.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &[u8], offset: usize) -> usize {
        // The reader reports a record as starting at the line break that ended the one before.
        let mut offset = offset.min(text.len());
        while matches!(text.get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        if offset > self.offset {
            let span = &text[self.offset..offset];
            self.line += memchr::memchr_iter(b'\n', span).count();
            // A CR ends a line by itself only when neither LF nor another CR follows it.
            self.line += memchr::memchr_iter(b'\r', span)
                .filter(|at| !matches!(text.get(self.offset + at + 1), Some(b'\n' | b'\r')))
                .count();
            self.offset = offset;
        }
        self.line + 1
    }
}

/// True for a record without content: no fields, or only blanks and quotes.
fn is_blank(record: &StringRecord) -> bool {
    record
        .as_slice()
        .bytes()
        .all(|byte| byte.is_ascii_whitespace() || byte == b'"')
}

fn reader<'a>(text: &'a str, shape: &Shape) -> csv::Reader<&'a [u8]> {
    ReaderBuilder::new()
        .delimiter(shape.delimiter)
        .has_headers(false)
        .flexible(true)
        .terminator(Terminator::CRLF)
        .comment((shape.layout == Layout::AbnAmroTab).then_some(b'#'))
        .from_reader(text.as_bytes())
}

/// Returns the first line that is neither blank nor a `#` comment, with its one-based number.
fn first_content_line(text: &str) -> Option<(usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_start_matches('\u{feff}')))
        .find(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
}

/// Replaces `inner` with the fields of the line held in `record`'s single field.
fn unwrap_requoted(record: &StringRecord, delimiter: u8, inner: &mut StringRecord) {
    inner.clear();
    let line = record.get(0).unwrap_or_default();
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    if reader.read_record(inner).is_err() {
        inner.clear();
        inner.push_field(line);
    }
}

#[cfg(test)]
mod tests {
    use super::values::{DateStyle, parse_amount};
    use super::*;
    use crate::model::Format;

    fn read(text: &str) -> ParsedFile {
        parse(text, None).unwrap_or_else(|error| panic!("{error}"))
    }

    fn amounts(file: &ParsedFile) -> Vec<String> {
        file.statements
            .iter()
            .flat_map(|statement| &statement.transactions)
            .map(|transaction| transaction.amount.to_string())
            .collect()
    }

    #[test]
    fn amounts_in_dutch_notation() {
        let cases = [
            ("1,25", b',', Some("1.25")),
            ("-1.234,56", b',', Some("-1234.56")),
            ("-609.450.010,25", b',', Some("-609450010.25")),
            ("+50,00", b',', Some("50.00")),
            ("2500", b',', Some("2500.00")),
            ("223.77", b'.', Some("223.77")),
            ("5,555", b',', None),
            ("5.555", b'.', None),
            ("1.234", b',', Some("1234.00")),
            ("-0,00", b',', Some("0.00")),
            ("1.23,4", b',', None),
            ("12.3456,00", b',', None),
            ("1,2,3", b',', None),
            ("12,345", b',', None),
            ("abc", b',', None),
            ("", b',', None),
        ];
        for (text, mark, expected) in cases {
            let parsed = parse_amount(text, mark).map(|amount| amount.to_string());
            assert_eq!(parsed.as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn date_styles_are_strict() {
        assert_eq!(DateStyle::of("20240229"), Some(DateStyle::Compact));
        assert_eq!(DateStyle::of("2024-02-29"), Some(DateStyle::Iso));
        assert_eq!(
            DateStyle::of("29-02-2024"),
            Some(DateStyle::DayMonthYearDash)
        );
        assert_eq!(
            DateStyle::of("29/02/2024"),
            Some(DateStyle::DayMonthYearSlash)
        );
        assert_eq!(DateStyle::of("2023-02-29"), None);
        assert_eq!(DateStyle::of("2021-3-26"), None);
        assert_eq!(DateStyle::Iso.parse("26/03/2021"), None);
    }

    #[test]
    fn ing_rows_take_sign_value_date_and_reference() {
        let file = read(concat!(
            "\"Datum\",\"Naam / Omschrijving\",\"Rekening\",\"Tegenrekening\",\"Code\",\"Af Bij\",\"Bedrag (EUR)\",\"MutatieSoort\",\"Mededelingen\"\n",
            "\"20260302\",\"Bakkerij Test\",\"NL36INGB0003445588\",\"NL91ABNA0417164300\",\"OV\",\"Bij\",\"1.210,00\",\"Overschrijving\",\"Naam: Bakkerij Test Omschrijving: factuur 2026-0012 IBAN: NL91ABNA0417164300 Kenmerk: 2026-0012 Valutadatum: 01-03-2026\"\n",
            "\"20260302\",\"Belastingdienst\",\"NL36INGB0003445588\",\"NL86INGB0002445588\",\"IC\",\"Af\",\"99,00\",\"Incasso\",\"Naam: Belastingdienst Kenmerk: 7000 0012 3456 7890 Valutadatum: 02-03-2026\"",
        ));
        assert_eq!(file.format, Format::Csv);
        assert_eq!(file.dialect, Dialect::Ing);
        assert_eq!(amounts(&file), ["1210.00", "-99.00"]);
        let statement = &file.statements[0];
        assert_eq!(statement.iban.as_deref(), Some("NL36INGB0003445588"));
        let first = &statement.transactions[0];
        assert_eq!(first.value_date.to_string(), "2026-03-01");
        assert_eq!(first.booking_date.to_string(), "2026-03-02");
        assert_eq!(first.end_to_end_id.as_deref(), Some("2026-0012"));
        assert_eq!(first.counterparty_name.as_deref(), Some("Bakkerij Test"));
        assert_eq!(
            file.statements[0].transactions[1]
                .structured_reference
                .as_deref(),
            Some("7000001234567890")
        );
        assert!(file.warnings.is_empty());
    }

    #[test]
    fn running_balance_newest_first() {
        let file = read(concat!(
            "\"Date\";\"Name / Description\";\"Account\";\"Counterparty\";\"Code\";\"Debit/credit\";\"Amount (EUR)\";\"Transaction type\";\"Notifications\";\"Resulting balance\";\"Tag\"\n",
            "\"20260305\";\"B\";\"NL36INGB0003445588\";\"\";\"BA\";\"Debit\";\"5,00\";\"Payment terminal\";\"\";\"95,00\";\"\"\n",
            "\"20260304\";\"A\";\"NL36INGB0003445588\";\"\";\"GT\";\"Credit\";\"50,00\";\"Online banking\";\"\";\"100,00\";\"\"\n",
        ));
        let statement = &file.statements[0];
        assert_eq!(
            statement
                .opening_balance
                .as_ref()
                .unwrap()
                .amount
                .to_string(),
            "50.00"
        );
        assert_eq!(
            statement
                .closing_balance
                .as_ref()
                .unwrap()
                .amount
                .to_string(),
            "95.00"
        );
        assert_eq!(
            statement.closing_balance.as_ref().unwrap().date.to_string(),
            "2026-03-05"
        );
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn running_balance_gap_is_a_warning() {
        let file = read(concat!(
            "\"IBAN/BBAN\",\"Munt\",\"BIC\",\"Volgnr\",\"Datum\",\"Rentedatum\",\"Bedrag\",\"Saldo na trn\",\"Tegenrekening IBAN/BBAN\",\"Naam tegenpartij\",\"Code\",\"Betalingskenmerk\",\"Omschrijving-1\"\r\n",
            "\"NL44RABO0123456789\",\"EUR\",\"RABONL2U\",\"000000000000000001\",\"2026-03-01\",\"2026-03-01\",\"-10,00\",\"+90,00\",\"\",\"\",\"db\",\"\",\"Kosten\"\r\n",
            "NL44RABO0123456789\",\"EUR\",\"RABONL2U\",\"000000000000000003\",\"2026-03-02\",\"2026-03-02\",\"+5,00\",\"+200,00\",\"NL91ABNA0417164300\",\"Klant\",\"cb\",\"5000056789012345\",\"Factuur\"\r\n",
        ));
        assert_eq!(file.dialect, Dialect::Rabobank);
        let statement = &file.statements[0];
        assert_eq!(statement.account, "NL44RABO0123456789");
        assert_eq!(
            statement
                .opening_balance
                .as_ref()
                .unwrap()
                .amount
                .to_string(),
            "100.00"
        );
        assert_eq!(
            statement
                .closing_balance
                .as_ref()
                .unwrap()
                .amount
                .to_string(),
            "200.00"
        );
        let second = &statement.transactions[1];
        assert_eq!(second.bank_reference.as_deref(), Some("000000000000000003"));
        assert_eq!(
            second.structured_reference.as_deref(),
            Some("5000056789012345")
        );
        assert_eq!(file.warnings.len(), 1);
        let message = &file.warnings[0].message;
        assert!(
            message.contains("90.00 after line 2 but 195.00 before line 3"),
            "{message}"
        );
    }

    #[test]
    fn tab_export_with_two_accounts() {
        let file = read(concat!(
            "417164300\tEUR\t20260301\t100,00\t90,00\t20260301\t-10,00\tBEA   NR:X1   01.03.26/10.00 Winkel,PAS1\n",
            "123456789\tEUR\t20260301\t5,00\t15,00\t20260302\t10,00\t/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/Klant BV/REMI/Factuur 2026-0012/EREF/E2E-1\n",
        ));
        assert_eq!(file.dialect, Dialect::AbnAmro);
        assert_eq!(file.statements.len(), 2);
        assert_eq!(
            file.statements[0].iban.as_deref(),
            Some("NL91ABNA0417164300")
        );
        let second = &file.statements[1].transactions[0];
        assert_eq!(
            second.counterparty_iban.as_deref(),
            Some("NL91ABNA0417164300")
        );
        assert_eq!(second.counterparty_name.as_deref(), Some("Klant BV"));
        assert_eq!(second.end_to_end_id.as_deref(), Some("E2E-1"));
        assert_eq!(second.value_date.to_string(), "2026-03-02");
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn spreadsheet_requoted_lines_are_unwrapped() {
        let file = read(concat!(
            "\"Datum,\"\"Bedrag\"\",\"\"Rekening\"\",\"\"Tegenrekening\"\",\"\"Naam\"\",\"\"Omschrijving\"\"\"\r\n",
            "\"2026-03-01,\"\"-1.234,50\"\",\"\"NL02BUNQ0123456789\"\",\"\"\"\",\"\"Winkel\"\",\"\"Winkel, NL\"\"\"\r\n",
        ));
        assert_eq!(file.dialect, Dialect::Bunq);
        assert_eq!(amounts(&file), ["-1234.50"]);
        assert_eq!(file.statements[0].transactions[0].remittance, "Winkel, NL");
        assert_eq!(file.statements[0].transactions[0].counterparty_iban, None);
    }

    #[test]
    fn requoted_semicolon_lines_are_unwrapped() {
        let file = read(concat!(
            "\"Date;\"\"Amount\"\";\"\"Account\"\";\"\"Counterparty\"\";\"\"Name\"\";\"\"Description\"\"\"\n",
            "\"2026-03-01;\"\"-12,50\"\";\"\"NL02BUNQ0123456789\"\";\"\"\"\";\"\"Winkel\"\";\"\"Winkel, NL\"\"\"\n",
        ));
        assert_eq!(file.dialect, Dialect::Bunq);
        assert_eq!(amounts(&file), ["-12.50"]);
        assert_eq!(file.statements[0].transactions[0].remittance, "Winkel, NL");
    }

    #[test]
    fn errors_name_line_and_column() {
        let header =
            "\"Datum\",\"Bedrag\",\"Rekening\",\"Tegenrekening\",\"Naam\",\"Omschrijving\"\n";
        let bad_amount =
            format!("{header}\"2026-03-01\",\"12,3x\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\"\n");
        let error = parse(&bad_amount, None).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.expected.contains("column 2 (Bedrag)"), "{error}");

        let bad_date = format!(
            "{header}\"2026-03-01\",\"1,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\"\n\"2026-02-30\",\"1,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\"\n"
        );
        let error = parse(&bad_date, None).unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.to_string().contains("2026-02-30"), "{error}");

        let short = format!("{header}\"2026-03-01\",\"1,00\"\n");
        let error = parse(&short, None).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(
            error.expected.contains("6 fields of the bunq layout"),
            "{error}"
        );

        let unknown = parse("Kolom A,Kolom B\n1,2\n", None).unwrap_err();
        assert_eq!(unknown.line, Some(1));
        assert_eq!(unknown.expected, EXPECTED_LAYOUT);
    }

    #[test]
    fn row_with_extra_fields_is_an_error() {
        let header =
            "\"Datum\",\"Bedrag\",\"Rekening\",\"Tegenrekening\",\"Naam\",\"Omschrijving\"\n";
        // The quote before the amount is missing, so the row splits into seven fields.
        let shifted =
            format!("{header}\"2026-03-01\",-10,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\"\n");
        let error = parse(&shifted, None).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(
            error.expected.starts_with("6 fields of the bunq layout"),
            "{error}"
        );

        // An empty field after the last one, as a trailing separator leaves, is allowed.
        let trailing =
            format!("{header}\"2026-03-01\",\"-10,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\",\n");
        assert_eq!(amounts(&read(&trailing)), ["-10.00"]);
    }

    #[test]
    fn unclosed_quote_at_the_end_is_an_error() {
        let text = concat!(
            "\"Datum\",\"Bedrag\",\"Rekening\",\"Tegenrekening\",\"Naam\",\"Omschrijving\"\n",
            "\"2026-03-01\",\"1,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\"\n",
            "\"2026-03-02\",\"2,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"cut",
        );
        let error = parse(text, None).unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.expected.contains("closing quote"), "{error}");
    }

    #[test]
    fn odd_counterparty_and_empty_file_are_warnings() {
        let header =
            "\"Datum\",\"Bedrag\",\"Rekening\",\"Tegenrekening\",\"Naam\",\"Omschrijving\"\n";
        let odd = format!(
            "{header}\"2026-03-01\",\"1,00\",\"NL02BUNQ0123456789\",\"NOTANIBAN\",\"A\",\"B\"\n"
        );
        let file = read(&odd);
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(file.warnings[0].statement, Some(0));
        assert!(
            file.warnings[0].message.contains("\"NOTANIBAN\""),
            "{:?}",
            file.warnings
        );

        let empty = read(header);
        assert!(empty.statements.is_empty());
        assert_eq!(empty.warnings.len(), 1);
        assert!(empty.warnings[0].message.contains("no transactions"));
    }

    #[test]
    fn stated_bank_must_match_the_layout() {
        let text = concat!(
            "\"Datum\",\"Bedrag\",\"Rekening\",\"Tegenrekening\",\"Naam\",\"Omschrijving\"\n",
            "\"2026-03-01\",\"1,00\",\"NL02BUNQ0123456789\",\"\",\"A\",\"B\"\n",
        );
        assert_eq!(
            parse(text, Some(Dialect::Bunq)).unwrap().dialect,
            Dialect::Bunq
        );
        let error = parse(text, Some(Dialect::Rabobank)).unwrap_err();
        assert_eq!(error.line, Some(1));
        assert!(error.expected.contains("an export of Rabobank"), "{error}");
        assert!(error.expected.contains("not the bunq layout"), "{error}");
        assert!(error.found.starts_with("\"Datum\""), "{error}");
    }

    #[test]
    fn sign_column_and_signed_amount_conflict() {
        let text = concat!(
            "KNAB EXPORT;;;\n",
            "Rekeningnummer;Transactiedatum;Valutacode;CreditDebet;Bedrag;Tegenrekeningnummer;Tegenrekeninghouder;Valutadatum;Betaalwijze;Omschrijving;Referentie;Boekdatum;\n",
            "\"NL92KNAB0123456789\";\"01-03-2026\";\"EUR\";\"D\";\"-5,00\";\"\";\"\";\"01-03-2026\";\"Overboeking\";\"\";\"R1\";\"01-03-2026\";\n",
        );
        let error = parse(text, None).unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.expected.contains("without a sign"), "{error}");
    }
}
