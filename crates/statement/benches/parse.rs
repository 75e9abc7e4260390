//! Parsing throughput on generated files: ING-style MT940, camt.053 and a Rabobank CSV export
//! with 10,000 and 100,000 transactions, so the two sizes show whether the time grows linearly.
//!
//! Run with `cargo bench -p dk-statement`; results are recorded in `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dk_statement::generate;

/// Transaction counts per generated file.
const SIZES: [usize; 2] = [10_000, 100_000];

/// The seed for the generated files; any fixed value keeps runs comparable.
const SEED: u64 = 2026;

fn parse_benchmarks(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("parse");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));

    for size in SIZES {
        let mt940 = generate::mt940(size, SEED);
        let camt053 = generate::camt053(size, SEED);
        let csv = generate::rabobank_csv(size, SEED);
        eprintln!(
            "generated {size} transactions: MT940 {} bytes, camt.053 {} bytes, CSV {} bytes",
            mt940.len(),
            camt053.len(),
            csv.len()
        );

        group.throughput(Throughput::Bytes(mt940.len() as u64));
        group.bench_with_input(BenchmarkId::new("mt940", size), &mt940, |bencher, bytes| {
            bencher.iter(|| dk_statement::parse(black_box(bytes)).expect("generated MT940 parses"));
        });

        group.throughput(Throughput::Bytes(camt053.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("camt053", size),
            &camt053,
            |bencher, bytes| {
                bencher.iter(|| {
                    dk_statement::parse(black_box(bytes)).expect("generated camt.053 parses")
                });
            },
        );

        group.throughput(Throughput::Bytes(csv.len() as u64));
        group.bench_with_input(BenchmarkId::new("csv", size), &csv, |bencher, bytes| {
            bencher.iter(|| dk_statement::parse(black_box(bytes)).expect("generated CSV parses"));
        });
    }
    group.finish();
}

criterion_group!(benches, parse_benchmarks);
criterion_main!(benches);
