//! `differential` (feature `real-backend`): the trace on the running kernel, checked
//! exactly against the model: a kernel outcome that no path through the model's choice
//! points explains (or whose search runs out of budget), and that no entry of
//! `fuzzing::KNOWN_DIFFERENCES` explains, is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgring::fuzzing;

fuzz_target!(|data: &[u8]| {
    let t = fuzzing::decode_model_input(data);
    if std::env::var_os("MSGRING_FUZZ_PRINT").is_some() {
        eprintln!("--- differential input as a trace ---\n{t}");
    }
    if let Err(f) = fuzzing::check_differential(&t) {
        panic!("{f}");
    }
});
