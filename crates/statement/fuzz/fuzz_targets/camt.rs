//! Any bytes read as camt.052, camt.053 and camt.054.
#![no_main]

use dk_statement::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Camt052, Format::Camt053, Format::Camt054] {
        let _ = dk_statement::parse_as(data, format);
    }
});
