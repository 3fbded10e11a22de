//! `model_unchecked`: `model` without its invariant checks (the input decoded and run
//! on the model, nothing checked). A baseline for exec/s (docs/performance.md): the
//! difference to `model` is the checkers' cost.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgring::fuzzing::{decode_input, ModelInput};
use msgring::{trace, World};

fuzz_target!(|data: &[u8]| {
    match decode_input(data) {
        ModelInput::Generated(g) => g.run_with(&mut World::default(), |_, _, _| {}),
        ModelInput::Text(t) => {
            let mut w = World::new(t.profile.unwrap_or_default());
            trace::run_with(&t, &mut w, |_, _, _| {});
        }
    }
});
