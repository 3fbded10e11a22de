//! `sqe_fields` (feature `real-backend`): one hostile 64-byte SQE (opcodes other
//! than NOP/MSG_RING mapped to those two) in a fixed two-ring world, on the model and
//! on the running kernel.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgring::fuzzing;

fuzz_target!(|data: &[u8]| {
    let bytes = fuzzing::sqe_bytes(data);
    if std::env::var_os("MSGRING_FUZZ_PRINT").is_some() {
        eprintln!(
            "--- sqe_fields input as a trace ---\n{}",
            fuzzing::sqe_trace(&bytes)
        );
    }
    if let Err(f) = fuzzing::check_sqe_bytes_differential(&bytes) {
        panic!("{f}");
    }
});
