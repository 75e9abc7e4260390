//! Any bytes through format detection and the parser it picks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let detected = dk_statement::detect(data);
    if let Ok(file) = dk_statement::parse(data) {
        // What parse reads, detect recognises as the same format.
        assert_eq!(detected, Some(file.format));
    }
});
