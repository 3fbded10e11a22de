//! `model`: a trace (the generator driven by the input, or a text trace) runs on the
//! model; every invariant is checked after every step. Any violation or panic is a
//! crash. `MSGRING_FUZZ_PRINT=1` prints each input as a trace first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgring::fuzzing;
use std::sync::OnceLock;

/// `MSGRING_FUZZ_PRINT` is read once, not per input.
fn print_inputs() -> bool {
    static PRINT: OnceLock<bool> = OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("MSGRING_FUZZ_PRINT").is_some())
}

fuzz_target!(|data: &[u8]| {
    if print_inputs() {
        eprintln!(
            "--- model input as a trace ---\n{}",
            fuzzing::describe_input("model", data)
        );
    }
    if let Err(f) = fuzzing::check_model_input(data) {
        panic!("{f}");
    }
});
