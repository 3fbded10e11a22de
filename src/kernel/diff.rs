//! Running the same steps or trace on the model and on the kernel, and comparing.

use super::backend::KernelBackend;
use super::settle::{Hint, IOWQ_SETUP_FLAGS, IOWQ_SQE_FLAGS};
use super::signature::signature;
use super::{kernel_profile, Unavailable};
use crate::{Backend, Faults, Profile, Step, StepResult, World};
use std::fmt;

// ---- differential checking --------------------------------------------------------

/// The first step where the model and the kernel disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the step in the scenario.
    pub index: usize,
    pub step: Step,
    pub model: StepResult,
    pub kernel: StepResult,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "divergence at step {}: {:?}", self.index, self.step)?;
        writeln!(f, "  model : {:?}", self.model)?;
        write!(f, "  kernel: {:?}", self.kernel)
    }
}

/// What a differential run compared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffReport {
    /// Steps whose results were compared (and agreed, up to a divergence).
    pub compared: usize,
    /// Steps not compared because one side returned `Unmodelled` (including the steps
    /// not run after a stop).
    pub skipped: usize,
    /// The run stopped early: a state-changing step was unmodelled on one side, so
    /// the two sides no longer describe the same system (index, reason).
    pub stopped: Option<(usize, String)>,
    pub divergence: Option<Divergence>,
}

/// Steps with no side effects: an unmodelled result there does not desynchronise the
/// two sides.
fn is_observation(step: &Step) -> bool {
    matches!(step, Step::QuerySlot { .. } | Step::Observe { .. })
}

/// Whether two results agree. `Refused` results agree whatever their explanation.
pub fn results_agree(model: &StepResult, kernel: &StepResult) -> bool {
    match (model, kernel) {
        (StepResult::Refused(_), StepResult::Refused(_)) => true,
        (m, k) => m == k,
    }
}

/// Runs `steps` on a fresh model (the profile of the running kernel) and a fresh
/// kernel backend in lockstep and compares every result.
pub fn diff_run(steps: &[Step]) -> Result<DiffReport, Unavailable> {
    let mut kernel = KernelBackend::for_this_thread()?;
    let profile = kernel_profile(&kernel.info)?;
    Ok(diff_run_on(&mut World::new(profile), &mut kernel, steps))
}

/// [`diff_run`] on a given model world and kernel backend (both fresh, or in the same
/// state). A kernel backend can be reused for the next run after a
/// [`KernelBackend::reset`].
pub fn diff_run_on(model: &mut World, kernel: &mut KernelBackend, steps: &[Step]) -> DiffReport {
    // Cannot fail short of a thread that does not start; the exit is then unmodelled.
    let _ = kernel.prepare_for(steps);
    let mut rep = DiffReport::default();
    for (i, step) in steps.iter().enumerate() {
        let m = model.apply(step);
        let k = kernel.apply_step_hinted(
            step,
            Faults::default(),
            Some(Hint {
                world: model,
                result: &m,
            }),
        );
        let unmodelled = match (&m, &k) {
            (StepResult::Unmodelled(why), _) => Some(format!("model: {why}")),
            (_, StepResult::Unmodelled(why)) => Some(format!("kernel: {why}")),
            _ => None,
        };
        if let Some(why) = unmodelled {
            rep.skipped += 1;
            if !is_observation(step) {
                rep.skipped += steps.len() - i - 1;
                rep.stopped = Some((i, why));
                break;
            }
            continue;
        }
        if !results_agree(&m, &k) {
            rep.divergence = Some(Divergence {
                index: i,
                step: step.clone(),
                model: m,
                kernel: k,
            });
            break;
        }
        rep.compared += 1;
    }
    rep
}

/// Runs `steps` on the model and the kernel; `Some` at the first disagreement.
pub fn diff_steps(steps: &[Step]) -> Result<Option<Divergence>, Unavailable> {
    Ok(diff_run(steps)?.divergence)
}

// ---- traces -------------------------------------------------------------------------
//
// The same differential check at the level of [`Trace`]s: both sides run through
// [`trace::run`], so results are compared as normalized [`Event`]s (names instead of
// numbers), divergences are reported by source line, and minimized scenarios are
// traces that `msgring run` / `msgring diff` can replay.

use crate::trace::{self, Event, Op, Outcome, SqeSpec, Trace};

/// The kernel backend with a shadow model running the same steps: the model's world
/// and result are the settle [`Hint`] for each kernel step. Its results are the
/// kernel's.
struct Hinted<'a> {
    shadow: World,
    kernel: &'a mut KernelBackend,
}

impl Backend for Hinted<'_> {
    fn name(&self) -> String {
        self.kernel.name()
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        let m = self.shadow.apply_with(step, faults);
        self.kernel.apply_step_hinted(
            step,
            faults,
            Some(Hint {
                world: &self.shadow,
                result: &m,
            }),
        )
    }
}

/// A trace run on the model and on the kernel, compared event by event.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TraceDiff {
    /// The model's outcome (every step).
    pub model: Outcome,
    /// The kernel's outcome (every step).
    pub kernel: Outcome,
    /// Steps whose events were compared and agreed (up to the divergence).
    pub compared: usize,
    /// Steps not compared because one side reported `unmodelled` (including the
    /// steps after a stop).
    pub skipped: usize,
    /// A state-changing step was unmodelled on one side: the sides no longer describe
    /// the same system, so comparison stopped there (step index, reason).
    pub stopped: Option<(usize, String)>,
    /// Index of the first step whose events differ.
    pub divergence: Option<usize>,
}

impl TraceDiff {
    /// Compares two outcomes of `trace` (see [`TraceDiff`]).
    pub fn compare(trace: &Trace, model: Outcome, kernel: Outcome) -> TraceDiff {
        let mut d = TraceDiff::default();
        let n = trace.steps.len();
        for (i, ts) in trace.steps.iter().enumerate() {
            let (m, k) = (model.events.get(i), kernel.events.get(i));
            let unmodelled = |e: Option<&Event>| matches!(e, Some(Event::Unmodelled));
            if unmodelled(m) || unmodelled(k) {
                d.skipped += 1;
                if !matches!(ts.op, Op::Query { .. } | Op::Observe { .. }) {
                    let note = |o: &Outcome, side: &str| {
                        o.notes
                            .get(i)
                            .cloned()
                            .flatten()
                            .map(|n| format!("{side}: {n}"))
                    };
                    let why = if unmodelled(m) {
                        note(&model, "model")
                    } else {
                        note(&kernel, "kernel")
                    };
                    d.skipped += n - i - 1;
                    d.stopped = Some((i, why.unwrap_or_else(|| "unmodelled".into())));
                    break;
                }
                continue;
            }
            if m != k {
                d.divergence = Some(i);
                break;
            }
            d.compared += 1;
        }
        d.model = model;
        d.kernel = kernel;
        d
    }

    /// The model's and the kernel's events at the divergence.
    pub fn divergent_events(&self) -> Option<(usize, &Event, &Event)> {
        let i = self.divergence?;
        Some((i, self.model.events.get(i)?, self.kernel.events.get(i)?))
    }

    /// The divergence's [`signature`], for deduplicating reports.
    pub fn signature(&self, trace: &Trace) -> Option<String> {
        let (i, m, k) = self.divergent_events()?;
        Some(signature(&trace.steps.get(i)?.op, m, k))
    }
}

/// Runs `trace` on a fresh model of `profile` and on `kernel` (fresh, or in the state
/// the trace expects), and compares the two outcomes. A kernel backend can be reused
/// for the next trace after a [`KernelBackend::reset`].
pub fn diff_trace_on(trace: &Trace, profile: Profile, kernel: &mut KernelBackend) -> TraceDiff {
    // Cannot fail short of a thread that does not start; an exit of task 0 is then
    // unmodelled.
    let _ = kernel.prepare(needs_task0_thread(trace));
    let model = trace::run(trace, &mut World::new(profile));
    let kernel = trace::run(
        trace,
        &mut Hinted {
            shadow: World::new(profile),
            kernel,
        },
    );
    TraceDiff::compare(trace, model, kernel)
}

/// Whether a trace exits task 0 (`t0`) or may punt to io-wq (see
/// [`KernelBackend::prepare_for`]).
fn needs_task0_thread(trace: &Trace) -> bool {
    let sqe_flags = |s: &SqeSpec| match s {
        SqeSpec::Nop { flags, .. }
        | SqeSpec::MsgData { flags, .. }
        | SqeSpec::SendFd { flags, .. } => *flags,
        SqeSpec::Raw { sqe, .. } => sqe.flags,
    };
    trace.steps.iter().any(|s| match &s.op {
        Op::Exit { task } => task == "t0",
        Op::Setup { flags, .. } => flags & IOWQ_SETUP_FLAGS != 0,
        Op::Push { sqe, .. } | Op::SyncMsg { sqe, .. } => sqe_flags(sqe) & IOWQ_SQE_FLAGS != 0,
        _ => false,
    })
}

/// [`diff_trace_on`] with a fresh kernel backend; the model's profile is `profile`,
/// else the trace's `kernel` line, else the running kernel's.
pub fn diff_trace(trace: &Trace, profile: Option<Profile>) -> Result<TraceDiff, Unavailable> {
    let mut kernel = KernelBackend::for_this_thread()?;
    let profile = match profile.or(trace.profile) {
        Some(p) => p,
        None => kernel_profile(&kernel.info)?,
    };
    Ok(diff_trace_on(trace, profile, &mut kernel))
}
