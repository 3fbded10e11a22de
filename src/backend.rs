//! [`Backend`]: anything that can execute [`Step`]s — the model ([`World`]) or, with the
//! `real-backend` feature, the running kernel. Traces, checks and tests are written
//! against this trait, so the same scenario runs on both (like turmoil's simulated and
//! real io_uring).

use crate::choice::{Choice, PathMisfit};
use crate::{Faults, Step, StepResult, World};

/// Executes steps and reports what each returned.
pub trait Backend {
    /// A short name for reports ("model 6.18", "kernel 6.18.44").
    fn name(&self) -> String;

    /// Applies one step. Backends that cannot inject `faults` return
    /// [`StepResult::Unmodelled`] for a step that asks for them.
    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult;

    /// Applies one step taking the decisions of `path` at the model's choice points
    /// ([`crate::choice`]). A backend that decides for itself (the kernel) ignores
    /// `path`.
    fn apply_step_path(
        &mut self,
        step: &Step,
        faults: Faults,
        path: &[Choice],
    ) -> Result<StepResult, PathMisfit> {
        let _ = path;
        Ok(self.apply_step(step, faults))
    }
}

impl Backend for World {
    fn name(&self) -> String {
        format!("model {}", self.profile())
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        self.apply_with(step, faults)
    }

    fn apply_step_path(
        &mut self,
        step: &Step,
        faults: Faults,
        path: &[Choice],
    ) -> Result<StepResult, PathMisfit> {
        if path.is_empty() {
            return Ok(self.apply_with(step, faults));
        }
        self.apply_path(step, faults, path).map(|(r, _)| r)
    }
}
