//! `model_decode`: only `model`'s input decoding (`fuzzing::decode_input`), no
//! execution and no checks. A baseline for exec/s (docs/performance.md), like `empty`:
//! `model` costs decoding + running the model + checking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(msgring::fuzzing::decode_input(data));
});
