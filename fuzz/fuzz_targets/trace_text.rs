//! `trace_text`: any bytes through the trace parser (never panics, errors carry a
//! position inside the input, print∘parse is the identity); the same bytes also drive
//! the trace generator, whose output must round-trip through text too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgring::fuzzing;

fuzz_target!(|data: &[u8]| {
    if std::env::var_os("MSGRING_FUZZ_PRINT").is_some() {
        eprintln!(
            "--- trace_text input ---\n{}",
            String::from_utf8_lossy(data)
        );
    }
    if let Err(f) = fuzzing::check_text(data) {
        panic!("{f}");
    }
    let t = fuzzing::generated_trace(data, fuzzing::MAX_MODEL_STEPS);
    if let Err(f) = fuzzing::check_round_trip(&t) {
        panic!("{f}");
    }
});
