//! Generating meaningful traces: mostly valid steps on resources that exist, a small
//! share of hostile raw SQEs, swarm style (each trace turns some step kinds off and
//! skews the rest).
//!
//! The generator makes a [`Generated`] trace: names are small numbers ([`Name`]), not
//! strings, so the fuzz targets can generate and run a trace without formatting or
//! comparing a string ([`Generated::run_with`]); [`Generated::to_trace`] spells it out
//! as a [`Trace`] (what [`generate`] returns), the same trace step for step.
//!
//! This file holds `gen`, [`generate`] and `Trace: Arbitrary`; `choices` the sources of
//! choices, `state` the generator's state with its swarm weights and prelude
//! ([`generate_steps`]), `choose` and `sqe` what each step kind makes, `steps` the steps
//! with names as numbers, `generated` a [`Generated`] trace and how it runs.

mod choices;
mod choose;
mod generated;
mod sqe;
mod state;
mod steps;

pub use choices::{ByteChoices, Choices, SplitMix};
pub use generated::Generated;
pub use state::generate_steps;
pub use steps::Name;

use super::Trace;

/// A trace from the rest of the fuzzer's bytes ([`ByteChoices`]): up to 80 steps.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Trace {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Trace> {
        let mut c = ByteChoices::new(u.bytes(u.len())?);
        let steps = c.take(80) as usize; // int_in_range(0..=80) on the first byte
        Ok(generate(&mut c, steps))
    }
}

/// A deterministic trace of `steps` steps (plus a short prelude) for `seed`.
pub fn gen(seed: u64, steps: usize) -> Trace {
    generate(&mut SplitMix(seed), steps)
}

/// Generates a trace from any source of choices.
pub fn generate(c: &mut dyn Choices, steps: usize) -> Trace {
    generate_steps(c, steps).to_trace()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Choices that give up (panic) after `left` calls, so that a generator that would
    /// spin fails the test instead of hanging it.
    struct Capped<'c, C: Choices + ?Sized> {
        inner: &'c mut C,
        left: u32,
    }

    impl<C: Choices + ?Sized> Choices for Capped<'_, C> {
        fn below(&mut self, n: u32) -> u32 {
            assert!(
                self.left > 0,
                "the generator spins: 1 000 000 choices and no trace"
            );
            self.left -= 1;
            self.inner.below(n)
        }
    }

    /// Short fuzz inputs run out of bytes at once; every later choice would be 0. The
    /// generator must still finish (it used to pick the same kind forever once that kind
    /// had nothing to emit) with at least the number of steps it was asked for.
    #[test]
    fn arbitrary_trace_finishes_when_the_bytes_run_out() {
        let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![80, b]).collect();
        inputs.extend((0..=255u8).map(|b| vec![b]));
        inputs.extend((0..=255u8).map(|b| vec![80, b, b, 0, 0, 0, 1]));
        inputs.push(Vec::new());
        for data in &inputs {
            let mut bytes = ByteChoices::new(data);
            let steps = bytes.take(80) as usize;
            let mut c = Capped {
                inner: &mut bytes,
                left: 1_000_000,
            };
            let t = generate(&mut c, steps);
            assert!(t.steps.len() >= steps + 5, "input {data:?}");
            // The same bytes give the same trace through `Trace::arbitrary`.
            #[cfg(feature = "arbitrary")]
            {
                let again = <Trace as arbitrary::Arbitrary>::arbitrary(
                    &mut arbitrary::Unstructured::new(data),
                )
                .expect("arbitrary trace");
                assert_eq!(again.to_string(), t.to_string(), "input {data:?}");
            }
        }
    }
}
