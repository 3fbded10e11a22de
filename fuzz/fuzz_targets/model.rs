//! `model`: a trace (the generator driven by the input, or a text trace) runs on the
//! model; every invariant is checked after every step. Any violation or panic is a
//! crash. `MSGRING_FUZZ_PRINT=1` prints each input as a trace first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgring::fuzzing;

fuzz_target!(|data: &[u8]| {
    let t = fuzzing::decode_model_input(data);
    if std::env::var_os("MSGRING_FUZZ_PRINT").is_some() {
        eprintln!("--- model input as a trace ---\n{t}");
    }
    if let Err(f) = fuzzing::check_trace_on_model(&t) {
        panic!("{f}");
    }
});
