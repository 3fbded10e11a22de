//! `differential` (feature `real-backend`): the same trace on the model and on the
//! running kernel, in lockstep; any result that differs, and that no entry of
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
