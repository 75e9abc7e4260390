//! Any bytes read as MT940 and as MT942.
#![no_main]

use dk_statement::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dk_statement::parse_as(data, Format::Mt940);
    let _ = dk_statement::parse_as(data, Format::Mt942);
});
