//! `empty`: does nothing with its input. Its exec/s is libFuzzer's own ceiling on this
//! machine, the baseline the other targets are measured against.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(data);
});
