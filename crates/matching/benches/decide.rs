//! Throughput of `decide` against one organisation with 100,000 invoices (80,000 sales,
//! 20,000 purchase) and 10,000 mutations with Dutch remittance texts:
//!
//! - 30% name a sales invoice as written (`Factuur 2026-01234`, MT940 `/REMI/.../EREF/` lines),
//! - 15% use a variant (`F2026-01234`, `Factuurnr. 2026-01234,`, `2026 01234`, `2026/01234`),
//! - 5% name two invoices,
//! - 15% carry a betalingskenmerk, in the structured reference field or spaced in the remittance,
//! - 10% are debits naming a purchase invoice,
//! - 15% name nothing but match an invoice by amount and counterparty IBAN (suggestion),
//! - 10% match nothing (card payments, unknown credits).
//!
//! The data is generated from a fixed seed, so every run measures the same work.
//! Run with `cargo bench -p dk-matching`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dk_matching::{InvoiceIndex, InvoiceKind, Mutation, OpenInvoice, decide};
use rust_decimal::Decimal;
use uuid::Uuid;

const SALES_INVOICES: usize = 80_000;
const PURCHASE_INVOICES: usize = 20_000;
const CUSTOMERS: usize = 8_000;
const SUPPLIERS: usize = 1_000;
const MUTATIONS: usize = 10_000;

/// SplitMix64, a small deterministic generator, so that the bench needs no random crate.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn cents(&mut self, min: i64, max: i64) -> Decimal {
        let span = (max - min) as u64;
        Decimal::new(min + (self.next() % span) as i64, 2)
    }
}

/// Returns a 16-digit betalingskenmerk with a valid weighted modulus 11 check digit.
fn betalingskenmerk(sequence: u64) -> String {
    const WEIGHTS: [u64; 10] = [2, 4, 8, 5, 10, 9, 7, 3, 6, 1];
    let body = format!("{:015}", 100_000_000_000_000 + sequence);
    let weighted_sum: u64 = body
        .bytes()
        .rev()
        .zip(WEIGHTS.iter().cycle())
        .map(|(digit, weight)| u64::from(digit - b'0') * weight)
        .sum();
    let check = match 11 - weighted_sum % 11 {
        10 => 1,
        11 => 0,
        check => check,
    };
    format!("{check}{body}")
}

fn spaced_in_fours(code: &str) -> String {
    let groups: Vec<&str> = code
        .as_bytes()
        .chunks(4)
        .map(|chunk| std::str::from_utf8(chunk).expect("ASCII"))
        .collect();
    groups.join(" ")
}

fn iban(account: usize) -> String {
    let banks = ["ABNA", "INGB", "RABO", "TRIO", "SNSB", "KNAB", "BUNQ"];
    format!(
        "NL{:02}{}{:010}",
        10 + account % 89,
        banks[account % banks.len()],
        1_000_000 + account
    )
}

fn build_invoices(generator: &mut Generator) -> Vec<OpenInvoice> {
    let mut invoices = Vec::with_capacity(SALES_INVOICES + PURCHASE_INVOICES);
    for position in 0..SALES_INVOICES {
        let total = generator.cents(1_000, 500_000);
        // Every tenth invoice is partly paid already.
        let open = if position.is_multiple_of(10) {
            total - Decimal::new(500, 2)
        } else {
            total
        };
        invoices.push(OpenInvoice {
            id: Uuid::from_u128(position as u128 + 1),
            kind: InvoiceKind::Sales,
            number: format!("2026-{:05}", position + 1),
            payment_reference: position
                .is_multiple_of(3)
                .then(|| betalingskenmerk(position as u64)),
            counterparty_iban: Some(iban(position % CUSTOMERS)),
            open_amount: open,
            total_amount: total,
        });
    }
    for position in 0..PURCHASE_INVOICES {
        let number = match position % 3 {
            0 => format!("INV-{:06}", position),
            1 => format!("F2026{:05}", position),
            _ => format!("{:08}", 90_000_000 + position),
        };
        let total = generator.cents(500, 2_000_000);
        invoices.push(OpenInvoice {
            id: Uuid::from_u128((SALES_INVOICES + position) as u128 + 1),
            kind: InvoiceKind::Purchase,
            number,
            payment_reference: None,
            counterparty_iban: Some(iban(CUSTOMERS + position % SUPPLIERS)),
            open_amount: total,
            total_amount: total,
        });
    }
    invoices
}

/// An owned mutation, so that the bench can keep many of them.
struct MutationData {
    amount: Decimal,
    remittance: String,
    end_to_end_id: Option<String>,
    structured_reference: Option<String>,
    counterparty_iban: Option<String>,
}

impl MutationData {
    fn credit(invoice: &OpenInvoice, amount: Decimal, remittance: String) -> Self {
        Self {
            amount,
            remittance,
            end_to_end_id: Some("NOTPROVIDED".to_owned()),
            structured_reference: None,
            counterparty_iban: invoice.counterparty_iban.clone(),
        }
    }

    fn as_mutation(&self) -> Mutation<'_> {
        Mutation {
            amount: self.amount,
            remittance: &self.remittance,
            end_to_end_id: self.end_to_end_id.as_deref(),
            structured_reference: self.structured_reference.as_deref(),
            counterparty_iban: self.counterparty_iban.as_deref(),
        }
    }
}

fn build_mutation(
    generator: &mut Generator,
    invoices: &[OpenInvoice],
    sequence: usize,
) -> MutationData {
    let sales = &invoices[generator.below(SALES_INVOICES)];
    let number = &sales.number;
    let (year, serial) = number
        .split_once('-')
        .expect("sales numbers are YYYY-NNNNN");

    match sequence % 20 {
        0..=5 => {
            let remittance = match sequence % 5 {
                0 => format!("Factuur {number}"),
                1 => format!("factuurnummer {number} klantnr 4821"),
                2 => format!("Betaling factuur {number} dank u wel"),
                3 => format!(
                    "/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/J. JANSEN/REMI/Factuur {number}/EREF/NOTPROVIDED"
                ),
                _ => number.clone(),
            };
            let amount = if sequence.is_multiple_of(7) {
                sales.open_amount - Decimal::ONE
            } else {
                sales.open_amount
            };
            MutationData::credit(sales, amount, remittance)
        }
        6..=8 => {
            let remittance = match sequence % 5 {
                0 => format!("F{number}"),
                1 => format!("Factuurnr. {number}, bedankt"),
                2 => format!("Betreft ({number})"),
                3 => format!("factuur {year} {serial} betaald"),
                _ => format!("{year}/{serial}"),
            };
            MutationData::credit(sales, sales.open_amount, remittance)
        }
        9 => {
            let other = &invoices[generator.below(SALES_INVOICES)];
            let remittance = format!("facturen {number} en {}", other.number);
            MutationData::credit(sales, sales.open_amount + other.open_amount, remittance)
        }
        10..=12 => {
            let position = generator.below(SALES_INVOICES / 3) * 3;
            let referenced = &invoices[position];
            let kenmerk = referenced
                .payment_reference
                .clone()
                .expect("every third sales invoice has a betalingskenmerk");
            if sequence.is_multiple_of(2) {
                MutationData {
                    structured_reference: Some(kenmerk),
                    ..MutationData::credit(referenced, referenced.open_amount, String::new())
                }
            } else {
                let remittance = format!("Betalingskenmerk {}", spaced_in_fours(&kenmerk));
                MutationData::credit(referenced, referenced.open_amount, remittance)
            }
        }
        13 | 14 => {
            let bought = &invoices[SALES_INVOICES + generator.below(PURCHASE_INVOICES)];
            MutationData {
                amount: -bought.open_amount,
                remittance: format!("Uw factuur {} / klant 5512", bought.number),
                end_to_end_id: Some(format!("PAY-{sequence:08}")),
                structured_reference: None,
                counterparty_iban: bought.counterparty_iban.clone(),
            }
        }
        15..=17 => {
            let remittance = if sequence.is_multiple_of(2) {
                "Bedankt voor de levering".to_owned()
            } else {
                "Termijnbetaling maart".to_owned()
            };
            MutationData::credit(sales, sales.open_amount, remittance)
        }
        _ => {
            if sequence.is_multiple_of(2) {
                MutationData {
                    amount: -generator.cents(100, 20_000),
                    remittance: "BEA NR:ZXC123 12.03.26/14.22 ALBERT HEIJN 1234 AMSTERDAM,PAS123"
                        .to_owned(),
                    end_to_end_id: None,
                    structured_reference: None,
                    counterparty_iban: None,
                }
            } else {
                MutationData {
                    amount: generator.cents(100, 100_000),
                    remittance: "Terugbetaling huur maart 2026 appartement 12".to_owned(),
                    end_to_end_id: None,
                    structured_reference: None,
                    counterparty_iban: Some(iban(999_999)),
                }
            }
        }
    }
}

fn bench_decide(criterion: &mut Criterion) {
    let mut generator = Generator(0x5EED);
    let invoices = build_invoices(&mut generator);
    let mutations: Vec<MutationData> = (0..MUTATIONS)
        .map(|sequence| build_mutation(&mut generator, &invoices, sequence))
        .collect();

    let mut index = InvoiceIndex::new();
    for invoice in &invoices {
        index.insert(invoice.clone());
    }
    assert_eq!(index.len(), SALES_INVOICES + PURCHASE_INVOICES);

    let mut group = criterion.benchmark_group("decide");
    group.throughput(Throughput::Elements(MUTATIONS as u64));
    group.bench_function("mixed_100k_invoices", |bencher| {
        bencher.iter(|| {
            for mutation in &mutations {
                black_box(decide(black_box(&mutation.as_mutation()), &index));
            }
        });
    });
    group.finish();

    let mut group = criterion.benchmark_group("index");
    group.sample_size(10);
    group.throughput(Throughput::Elements(invoices.len() as u64));
    group.bench_function("build_100k_invoices", |bencher| {
        bencher.iter(|| {
            let mut index = InvoiceIndex::new();
            for invoice in &invoices {
                index.insert(invoice.clone());
            }
            black_box(index)
        });
    });
    group.finish();
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);
