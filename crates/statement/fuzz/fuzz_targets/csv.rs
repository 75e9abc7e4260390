//! Any bytes read as a bank's CSV or TAB export.
#![no_main]

use dk_statement::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = dk_statement::parse_as(data, Format::Csv) {
        for statement in &file.statements {
            // Every statement of a CSV export contains at least the row that started it.
            assert!(!statement.transactions.is_empty());
        }
    }
});
