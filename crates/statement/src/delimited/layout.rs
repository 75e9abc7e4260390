//! The layouts of the banks' exports, and recognising them from a file's first rows.

use csv::StringRecord;

use super::values::{DateStyle, clean};
use super::{SNIFF_RECORDS, first_content_line, is_blank, reader, unwrap_requoted};
use crate::iban;
use crate::model::Dialect;

/// A bank export layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// ING payment account, 9 columns (comma) or 11 with the balance (semicolon).
    IngPayments,
    /// ING savings account.
    IngSavings,
    /// Rabobank since 2018, 26 columns with a header.
    Rabobank,
    /// Rabobank before 2018, 19 columns without a header.
    RabobankLegacy,
    /// ABN AMRO TXT/TAB, 8 tab-separated columns without a header.
    AbnAmroTab,
    /// bunq, 6 or 7 columns with a header.
    Bunq,
    /// Knab, a preamble line and 16 columns with a header.
    Knab,
    /// ASN Bank, 19 columns without a header.
    Asn,
    /// Triodos, 8 columns without a header.
    Triodos,
}

impl Layout {
    pub(super) fn dialect(self) -> Dialect {
        match self {
            Layout::IngPayments | Layout::IngSavings => Dialect::Ing,
            Layout::Rabobank | Layout::RabobankLegacy => Dialect::Rabobank,
            Layout::AbnAmroTab => Dialect::AbnAmro,
            Layout::Bunq => Dialect::Bunq,
            Layout::Knab => Dialect::Knab,
            Layout::Asn => Dialect::Asn,
            Layout::Triodos => Dialect::Triodos,
        }
    }

    /// Names the layout in error messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Layout::IngPayments => "ING payment account",
            Layout::IngSavings => "ING savings account",
            Layout::Rabobank => "Rabobank",
            Layout::RabobankLegacy => "Rabobank (before 2018)",
            Layout::AbnAmroTab => "ABN AMRO TAB",
            Layout::Bunq => "bunq",
            Layout::Knab => "Knab",
            Layout::Asn => "ASN",
            Layout::Triodos => "Triodos",
        }
    }

    /// Returns the decimal mark of the layout's amounts.
    pub(super) fn decimal_mark(self) -> u8 {
        match self {
            Layout::RabobankLegacy | Layout::Asn => b'.',
            _ => b',',
        }
    }
}

/// The columns of a running balance, if the layout has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunningBalance {
    None,
    /// The balance after the row.
    After(usize),
    /// The balance before the row.
    Before(usize),
    /// The balances before and after the row.
    StartEnd(usize, usize),
}

/// The column of each field, zero-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Columns {
    pub(super) account: usize,
    pub(super) booking_date: usize,
    pub(super) value_date: Option<usize>,
    pub(super) amount: usize,
    /// A column with `Af`/`Bij`, `Debit`/`Credit`, `C`/`D` or `Debet`/`Credit`.
    pub(super) sign: Option<usize>,
    pub(super) currency: Option<usize>,
    pub(super) counterparty: Option<usize>,
    pub(super) name: Option<usize>,
    pub(super) description: Vec<usize>,
    /// ING's `Mededelingen`, which contains the value date and the payment reference.
    pub(super) notes: Option<usize>,
    pub(super) code: Option<usize>,
    pub(super) bank_reference: Option<usize>,
    pub(super) end_to_end: Option<usize>,
    pub(super) structured: Option<usize>,
    pub(super) balance: RunningBalance,
    /// The number of fields of the layout; a row may not have more that are not empty.
    pub(super) fields: usize,
    /// The header texts, to name columns in errors.
    pub(super) names: Vec<String>,
}

impl Columns {
    pub(super) fn positional(account: usize, booking_date: usize, amount: usize) -> Self {
        Columns {
            account,
            booking_date,
            value_date: None,
            amount,
            sign: None,
            currency: None,
            counterparty: None,
            name: None,
            description: Vec::new(),
            notes: None,
            code: None,
            bank_reference: None,
            end_to_end: None,
            structured: None,
            balance: RunningBalance::None,
            fields: 0,
            names: Vec::new(),
        }
    }

    /// The number of fields a row must have.
    pub(super) fn width(&self) -> usize {
        let balance = match self.balance {
            RunningBalance::None => None,
            RunningBalance::After(at) | RunningBalance::Before(at) => Some(at),
            RunningBalance::StartEnd(start, end) => Some(start.max(end)),
        };
        [
            Some(self.account),
            Some(self.booking_date),
            self.value_date,
            Some(self.amount),
            self.sign,
            self.currency,
            self.counterparty,
            self.name,
            self.notes,
            self.code,
            self.bank_reference,
            self.end_to_end,
            self.structured,
            balance,
        ]
        .into_iter()
        .flatten()
        .chain(self.description.iter().copied())
        .max()
        .unwrap_or(0)
            + 1
    }

    /// Names a column: `column 7 (Bedrag (EUR))`, or `column 7` without a header.
    pub(super) fn label(&self, column: usize) -> String {
        match self.names.get(column) {
            Some(name) if !name.is_empty() => format!("column {} ({name})", column + 1),
            _ => format!("column {}", column + 1),
        }
    }
}

/// A recognised file: its layout, how to split it and where its rows start.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) layout: Layout,
    pub(super) delimiter: u8,
    /// Records before the first row: a preamble and the header.
    pub(super) skip: usize,
    /// The separator inside each line when every line is one quoted field containing the real
    /// line, as a spreadsheet writes it back.
    pub(super) requoted: Option<u8>,
    pub(super) columns: Columns,
}

/// Recognises the layout of a CSV or TAB export from its first records, or returns `None`.
pub(super) fn recognise(text: &str) -> Option<Shape> {
    let (_, first) = first_content_line(text)?;
    let knab = first.starts_with("KNAB EXPORT");
    let delimiter = if first.contains('\t') {
        b'\t'
    } else if knab || first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };

    let provisional = Shape {
        layout: if delimiter == b'\t' {
            Layout::AbnAmroTab
        } else {
            Layout::Bunq
        },
        delimiter,
        skip: 0,
        requoted: None,
        columns: Columns::positional(0, 0, 0),
    };

    let mut records = Vec::with_capacity(SNIFF_RECORDS);
    for record in reader(text, &provisional)
        .into_records()
        .take(SNIFF_RECORDS + 1)
    {
        let record = record.ok()?;
        if !is_blank(&record) {
            records.push(record);
        }
    }

    let skip = usize::from(knab);
    let mut rows = records.get(skip..)?.to_vec();
    let first_row = rows.first()?;

    let requoted = match first_row.get(0) {
        Some(line)
            if first_row.len() == 1 && line.matches(';').count() > line.matches(',').count() =>
        {
            Some(b';')
        }
        Some(line) if first_row.len() == 1 && line.contains(',') => Some(b','),
        _ => None,
    };
    if let Some(inner_delimiter) = requoted {
        let mut unwrapped = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut inner = StringRecord::new();
            unwrap_requoted(row, inner_delimiter, &mut inner);
            unwrapped.push(inner);
        }
        rows = unwrapped;
    }

    let header: Vec<String> = rows
        .first()?
        .iter()
        .map(|field| clean(field).trim_start_matches('\u{feff}').to_lowercase())
        .collect();

    let (layout, columns, header_rows) = match by_header(&header) {
        Some((layout, mut columns)) => {
            columns.fields = header.len();
            columns.names = rows
                .first()?
                .iter()
                .map(|field| clean(field).to_string())
                .collect();
            (layout, columns, 1)
        }
        None => {
            let (layout, columns) = by_shape(rows.first()?, delimiter)?;
            (layout, columns, 0)
        }
    };

    Some(Shape {
        layout,
        delimiter,
        skip: skip + header_rows,
        requoted,
        columns,
    })
}

/// Finds the first of `names` in a lower-case header.
pub(super) fn find(header: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|name| header.iter().position(|column| column == name))
}

pub(super) fn by_header(header: &[String]) -> Option<(Layout, Columns)> {
    let has = |names: &[&str]| find(header, names).is_some();

    if has(&["creditdebet"]) {
        let mut columns = Columns::positional(
            find(header, &["rekeningnummer"])?,
            find(header, &["boekdatum", "transactiedatum"])?,
            find(header, &["bedrag"])?,
        );
        columns.value_date = find(header, &["valutadatum"]);
        columns.sign = find(header, &["creditdebet"]);
        columns.currency = find(header, &["valutacode"]);
        columns.counterparty = find(header, &["tegenrekeningnummer"]);
        columns.name = find(header, &["tegenrekeninghouder"]);
        columns.description = find(header, &["omschrijving"]).into_iter().collect();
        columns.code = find(header, &["betaalwijze"]);
        columns.bank_reference = find(header, &["referentie"]);
        return Some((Layout::Knab, columns));
    }

    if has(&["iban/bban"]) {
        let mut columns = Columns::positional(
            find(header, &["iban/bban"])?,
            find(header, &["datum", "date"])?,
            find(header, &["bedrag", "amount"])?,
        );
        columns.value_date = find(header, &["rentedatum", "interest date"]);
        columns.currency = find(header, &["munt", "currency"]);
        columns.counterparty = find(
            header,
            &["tegenrekening iban/bban", "counterparty iban/bban"],
        );
        columns.name = find(header, &["naam tegenpartij", "counterparty name"]);
        columns.description = [
            &["omschrijving-1", "description-1"][..],
            &["omschrijving-2", "description-2"],
            &["omschrijving-3", "description-3"],
        ]
        .iter()
        .filter_map(|names| find(header, names))
        .collect();
        columns.code = find(header, &["code"]);
        columns.bank_reference = find(header, &["volgnr", "serial number"]);
        columns.end_to_end = find(header, &["transactiereferentie", "transaction reference"]);
        columns.structured = find(header, &["betalingskenmerk", "payment reference"]);
        columns.balance = find(header, &["saldo na trn", "balance after trn"])
            .map_or(RunningBalance::None, RunningBalance::After);
        return Some((Layout::Rabobank, columns));
    }

    let sign = find(header, &["af bij", "debit/credit"]);
    if let Some(sign) = sign {
        let savings = has(&["rekening type", "account type"]);
        let mut columns = Columns::positional(
            find(header, &["rekening", "account"])?,
            find(header, &["datum", "date"])?,
            find(
                header,
                &["bedrag (eur)", "amount (eur)", "bedrag", "amount"],
            )?,
        );
        columns.sign = Some(sign);
        columns.counterparty = find(header, &["tegenrekening", "counterparty"]);
        columns.notes = find(header, &["mededelingen", "notifications"]);
        columns.code = find(header, &["code"]);
        columns.balance = find(
            header,
            &["saldo na mutatie", "resulting balance", "saldo na trn"],
        )
        .map_or(RunningBalance::None, RunningBalance::After);
        if savings {
            columns.currency = find(header, &["valuta", "currency"]);
            columns.description = find(header, &["omschrijving", "description"])
                .into_iter()
                .collect();
            return Some((Layout::IngSavings, columns));
        }
        columns.name = find(header, &["naam / omschrijving", "name / description"]);
        columns.name?;
        return Some((Layout::IngPayments, columns));
    }

    let amount = find(header, &["bedrag", "amount"])?;
    let mut columns = Columns::positional(
        find(header, &["rekening", "account"])?,
        find(header, &["datum", "date"])?,
        amount,
    );
    columns.value_date = find(header, &["rentedatum", "interest date"]);
    columns.counterparty = Some(find(header, &["tegenrekening", "counterparty"])?);
    columns.name = Some(find(header, &["naam", "name"])?);
    columns.description = vec![find(header, &["omschrijving", "description"])?];
    Some((Layout::Bunq, columns))
}

pub(super) fn by_shape(row: &StringRecord, delimiter: u8) -> Option<(Layout, Columns)> {
    let field = |at: usize| row.get(at).map(clean).unwrap_or_default();
    let is_date = |text: &str| DateStyle::of(text).is_some();
    if delimiter == b'\t' && row.len() >= 8 && is_date(field(2)) {
        let mut columns = Columns::positional(0, 2, 6);
        columns.currency = Some(1);
        columns.value_date = Some(5);
        columns.description = vec![7];
        columns.balance = RunningBalance::StartEnd(3, 4);
        columns.fields = 8;
        return Some((Layout::AbnAmroTab, columns));
    }
    if delimiter != b',' {
        return None;
    }
    if row.len() == 19 && matches!(field(3), "C" | "D") && iban::has_iban_shape(field(0)) {
        let mut columns = Columns::positional(0, 7, 4);
        columns.currency = Some(1);
        columns.value_date = Some(2);
        columns.sign = Some(3);
        columns.counterparty = Some(5);
        columns.name = Some(6);
        columns.code = Some(8);
        columns.description = (10..=15).collect();
        columns.end_to_end = Some(16);
        columns.fields = 19;
        return Some((Layout::RabobankLegacy, columns));
    }
    if row.len() == 19 && is_date(field(0)) && iban::has_iban_shape(field(1)) {
        let mut columns = Columns::positional(1, 0, 10);
        columns.counterparty = Some(2);
        columns.name = Some(3);
        columns.currency = Some(9);
        columns.value_date = Some(12);
        columns.code = Some(14);
        columns.bank_reference = Some(15);
        columns.description = vec![17];
        columns.balance = RunningBalance::Before(8);
        columns.fields = 19;
        return Some((Layout::Asn, columns));
    }
    if row.len() == 8
        && is_date(field(0))
        && matches!(field(3).to_ascii_lowercase().as_str(), "debet" | "credit")
    {
        let mut columns = Columns::positional(1, 0, 2);
        columns.sign = Some(3);
        columns.name = Some(4);
        columns.counterparty = Some(5);
        columns.code = Some(6);
        columns.description = vec![7];
        columns.fields = 8;
        return Some((Layout::Triodos, columns));
    }
    None
}
