//! Realistic synthetic statement files, for benchmarks and load tests.
//!
//! [`mt940`] writes ING-style MT940, [`camt053`] a camt.053.001.02 document and
//! [`rabobank_csv`] a Rabobank CSV export. All contain one statement per day with Dutch
//! counterparties, IBANs with valid mod-97 check digits, remittance texts with invoice numbers such as `2026-000123`, some 16-digit payment
//! references (betalingskenmerk) with valid check digits, and balances that add up. The
//! output depends only on the arguments: the same seed gives the same bytes.
//!
//! [`render_mt940`], [`render_camt053`] and [`render_rabobank_csv`] write any
//! [`crate::Statement`] list, so parsed or generated statements can be written back out.

mod camt;
mod csv;
mod mt940;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

pub use self::camt::render_camt053;
pub use self::csv::render_rabobank_csv;
pub use self::mt940::render_mt940;
use crate::iban;
use crate::model::{Balance, Statement, Transaction};

/// Transactions per generated daily statement.
const TRANSACTIONS_PER_STATEMENT: usize = 50;

/// The number of daily statements after which the generated dates start again.
const DAYS_BEFORE_REPEAT: i64 = 18_000;

/// The account the generated statements belong to.
const OWN_ACCOUNT_BBAN: &str = "INGB0001234567";

/// Generates an ING-style MT940 file with `transactions` transactions.
pub fn mt940(transactions: usize, seed: u64) -> Vec<u8> {
    render_mt940(&statements(transactions, seed)).into_bytes()
}

/// Generates a camt.053.001.02 document with `transactions` transactions. Some entries are
/// batches whose `TxDtls` parts each count as one transaction.
pub fn camt053(transactions: usize, seed: u64) -> Vec<u8> {
    camt::render(&statements(transactions, seed), seed).into_bytes()
}

/// Generates a Rabobank CSV export with `transactions` rows and a running balance.
pub fn rabobank_csv(transactions: usize, seed: u64) -> Vec<u8> {
    render_rabobank_csv(&statements(transactions, seed)).into_bytes()
}

/// A xorshift64* generator: small, fast and deterministic, which is all test data needs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Zero is the one state xorshift cannot leave; mix the seed so 0 and 1 differ too.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Returns a number in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next() % bound }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[index.min(items.len() - 1)]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Counterparties: name, bank code, BIC.
const COUNTERPARTIES: &[(&str, &str, &str)] = &[
    ("Bakkerij De Korenschoof B.V.", "RABO", "RABONL2U"),
    ("Jansen Installatietechniek", "INGB", "INGBNL2A"),
    ("Van der Berg & Zonen V.O.F.", "ABNA", "ABNANL2A"),
    ("Stichting Buurthuis De Linde", "TRIO", "TRIONL2U"),
    ("Kapsalon Knip & Kleur", "SNSB", "SNSBNL2A"),
    ("Groenvoorziening Hendriks", "RABO", "RABONL2U"),
    ("Drukkerij Veenstra B.V.", "INGB", "INGBNL2A"),
    ("Autobedrijf De Wit", "ABNA", "ABNANL2A"),
    ("Fietsenmaker Bos", "BUNQ", "BUNQNL2A"),
    ("Koffiebranderij Mokka B.V.", "KNAB", "KNABNL2H"),
    ("Gemeente Utrecht", "BNGH", "BNGHNL2G"),
    ("Belastingdienst", "INGB", "INGBNL2A"),
];

/// Remittance text patterns: `{invoice}` becomes an invoice number, `{number}` a number.
const CREDIT_TEXTS: &[&str] = &[
    "Factuur {invoice}",
    "Betaling factuur {invoice} klantnummer {number}",
    "Fact. {invoice} incl. btw",
    "Termijn 2 van 3 factuur {invoice}",
    "Voorschot project {number} factuur {invoice}",
];
const DEBIT_TEXTS: &[&str] = &[
    "Huur bedrijfsruimte maand {number}",
    "Inkoop materialen order {number}",
    "Abonnement software {number}",
    "Energierekening klantnummer {number}",
    "Contributie {number} ondernemersvereniging",
];

/// Builds the statements that both generators write.
fn statements(transactions: usize, seed: u64) -> Vec<Statement> {
    let mut rng = Rng::new(seed);
    let own_iban = iban::with_check_digits("NL", OWN_ACCOUNT_BBAN);
    let start = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap_or(NaiveDate::MIN);
    let mut balance = Decimal::new(
        i64::try_from(rng.below(5_000_000)).unwrap_or(0) + 100_000,
        2,
    );
    let mut statements = Vec::new();
    let mut remaining = transactions;
    let mut day = 0i64;
    while remaining > 0 || statements.is_empty() {
        let count = remaining.min(TRANSACTIONS_PER_STATEMENT);
        remaining -= count;
        // Dates repeat after about 49 years, so every date fits MT940's two-digit years.
        let date = start + Duration::days(day % DAYS_BEFORE_REPEAT);
        let opening = Balance {
            amount: balance,
            currency: "EUR".to_string(),
            date: date - Duration::days(1),
        };
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            let transaction = transaction(&mut rng, date);
            balance += transaction.amount;
            list.push(transaction);
        }
        statements.push(Statement {
            statement_id: Some(format!("P{}{:06}", date.format("%y%m%d"), day + 1)),
            sequence: Some(format!("{:05}", day + 1)),
            account: format!("{own_iban}EUR"),
            iban: Some(own_iban.clone()),
            currency: "EUR".to_string(),
            opening_balance: Some(opening),
            closing_balance: Some(Balance {
                amount: balance,
                currency: "EUR".to_string(),
                date,
            }),
            transactions: list,
        });
        day += 1;
    }
    statements
}

fn transaction(rng: &mut Rng, date: NaiveDate) -> Transaction {
    let credit = rng.chance(40);
    let cents = i64::try_from(rng.below(500_000)).unwrap_or(0) + 100;
    let amount = Decimal::new(if credit { cents } else { -cents }, 2);
    let (name, bank, _) = *rng.pick(COUNTERPARTIES);
    let account = format!("{bank}{:010}", rng.below(10_000_000_000));
    let counterparty_iban = iban::with_check_digits("NL", &account);
    let structured = rng.chance(10);
    let remittance = if structured {
        String::new()
    } else {
        let pattern = rng.pick(if credit { CREDIT_TEXTS } else { DEBIT_TEXTS });
        pattern
            .replace("{invoice}", &format!("2026-{:06}", rng.below(1_000_000)))
            .replace("{number}", &rng.below(1_000_000).to_string())
    };
    Transaction {
        booking_date: date,
        value_date: date,
        amount,
        currency: "EUR".to_string(),
        counterparty_iban: Some(counterparty_iban),
        counterparty_name: Some(name.to_string()),
        remittance,
        end_to_end_id: rng
            .chance(70)
            .then(|| format!("E2E-{:012}", rng.below(1_000_000_000_000))),
        structured_reference: structured.then(|| betalingskenmerk(rng)),
        structured_reference_valid: structured.then_some(true),
        bank_reference: Some(format!("{:014}", rng.below(100_000_000_000_000))),
        transaction_code: Some(if credit { "NTRF" } else { "NDDT" }.to_string()),
        reversal: false,
    }
}

/// Returns the BIC that goes with a Dutch IBAN's bank code, for rendering.
fn bic_for(iban: &str) -> &'static str {
    let code = iban.get(4..8).unwrap_or_default();
    COUNTERPARTIES
        .iter()
        .find(|(_, bank, _)| *bank == code)
        .map_or("INGBNL2A", |(_, _, bic)| bic)
}

/// Creates a 16-digit Dutch payment reference (betalingskenmerk): a check digit and 15 digits.
fn betalingskenmerk(rng: &mut Rng) -> String {
    let body = format!("{:015}", rng.below(1_000_000_000_000_000));
    format!(
        "{}{body}",
        crate::reference::betalingskenmerk_check_digit(&body)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::betalingskenmerk_check_digit;

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(mt940(120, 7), mt940(120, 7));
        assert_ne!(mt940(120, 7), mt940(120, 8));
        assert_eq!(camt053(120, 7), camt053(120, 7));
    }

    #[test]
    fn betalingskenmerk_check_digits() {
        // (reference, valid): an insurer's reference, and two sample references that fail.
        let cases = [
            ("9200030840900000", true),
            ("9001123412341234", false),
            ("1234567890098876", false),
        ];
        for (reference, valid) in cases {
            let check = betalingskenmerk_check_digit(&reference[1..]);
            assert_eq!(
                check == u64::from(reference.as_bytes()[0] - b'0'),
                valid,
                "{reference}"
            );
        }

        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let reference = betalingskenmerk(&mut rng);
            assert_eq!(reference.len(), 16);
            assert!(reference.bytes().all(|byte| byte.is_ascii_digit()));
            let check = betalingskenmerk_check_digit(&reference[1..]);
            assert_eq!(
                check,
                u64::from(reference.as_bytes()[0] - b'0'),
                "{reference}"
            );
        }
    }

    #[test]
    fn counterparty_ibans_are_valid() {
        for statement in statements(200, 1) {
            for transaction in statement.transactions {
                let account = transaction.counterparty_iban.unwrap();
                assert!(iban::is_valid(&account), "{account}");
            }
        }
    }

    #[test]
    fn generated_mt940_parses_without_warnings() {
        let bytes = mt940(130, 42);
        let parsed = crate::parse(&bytes).unwrap();
        assert_eq!(parsed.format, crate::Format::Mt940);
        assert_eq!(parsed.dialect, crate::Dialect::Ing);
        let count: usize = parsed
            .statements
            .iter()
            .map(|statement| statement.transactions.len())
            .sum();
        assert_eq!(count, 130);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.statements, statements(130, 42));
    }

    #[test]
    fn generated_camt053_parses_without_warnings() {
        let bytes = camt053(130, 42);
        let parsed = crate::parse(&bytes).unwrap();
        assert_eq!(parsed.format, crate::Format::Camt053);
        let count: usize = parsed
            .statements
            .iter()
            .map(|statement| statement.transactions.len())
            .sum();
        assert_eq!(count, 130);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn generated_rabobank_csv_reads_back() {
        let generated = statements(130, 42);
        let parsed = crate::parse(&rabobank_csv(130, 42)).unwrap();
        assert_eq!(parsed.format, crate::Format::Csv);
        assert_eq!(parsed.dialect, crate::Dialect::Rabobank);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.statements.len(), 1);
        let read = &parsed.statements[0];
        let written: Vec<&Transaction> = generated
            .iter()
            .flat_map(|statement| &statement.transactions)
            .collect();
        assert_eq!(read.transactions.len(), written.len());
        for (read, written) in read.transactions.iter().zip(written) {
            assert_eq!(read.amount, written.amount);
            assert_eq!(read.booking_date, written.booking_date);
            assert_eq!(read.counterparty_iban, written.counterparty_iban);
            assert_eq!(read.remittance, written.remittance);
            assert_eq!(read.structured_reference, written.structured_reference);
            assert_eq!(read.end_to_end_id, written.end_to_end_id);
        }
        let opening = generated[0].opening_balance.as_ref().unwrap();
        assert_eq!(
            read.opening_balance.as_ref().unwrap().amount,
            opening.amount
        );
        let closing = generated.last().unwrap().closing_balance.as_ref().unwrap();
        assert_eq!(
            read.closing_balance.as_ref().unwrap().amount,
            closing.amount
        );
    }

    #[test]
    fn zero_transactions_still_make_a_statement() {
        let parsed = crate::parse(&mt940(0, 1)).unwrap();
        assert_eq!(parsed.statements.len(), 1);
        assert!(parsed.statements[0].transactions.is_empty());
    }
}
