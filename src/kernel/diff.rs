//! Running the same steps or trace on the model and on the kernel, and comparing.

use super::backend::KernelBackend;
use super::settle::{Hint, IOWQ_SETUP_FLAGS, IOWQ_SQE_FLAGS};
use super::signature::signature;
use super::{kernel_profile, Unavailable};
use crate::explain::{explain, explain_steps, Budget, StepPath, Verdict};
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

/// What a differential run compared, and the verdict of the exact check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffReport {
    /// Steps whose results were compared (and agreed, up to a divergence).
    pub compared: usize,
    /// Steps not compared because one side returned `Unmodelled` (including the steps
    /// not run after a stop).
    pub skipped: usize,
    /// The run stopped early: a state-changing step was unmodelled on one side, so
    /// the two sides no longer describe the same system (index, reason).
    pub stopped: Option<(usize, String)>,
    /// Agree: some path through the model's choice points gives every kernel
    /// result; Diverge: none does; Unknown: the search budget ran out.
    pub verdict: Verdict,
    /// The path that explains the kernel (Agree), or the nearest one, per step.
    pub path: Vec<StepPath>,
    /// Diverge / Unknown: the step where the nearest path fails, its prediction and
    /// the kernel's result.
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
/// kernel backend in lockstep and checks that the model explains every result.
pub fn diff_run(steps: &[Step]) -> Result<DiffReport, Unavailable> {
    let mut kernel = KernelBackend::for_this_thread()?;
    let profile = kernel_profile(&kernel.info)?;
    Ok(diff_run_on(&mut World::new(profile), &mut kernel, steps))
}

/// [`diff_run`] on a given model world and kernel backend (both fresh, or in the same
/// state). The kernel runs every step (the model's default path is its settle hint);
/// then [`explain_steps`] searches the model's choice points for a path that gives
/// every kernel result. `model` ends on the default path. A kernel backend can be
/// reused for the next run after a [`KernelBackend::reset`].
pub fn diff_run_on(model: &mut World, kernel: &mut KernelBackend, steps: &[Step]) -> DiffReport {
    // Cannot fail short of a thread that does not start; the exit is then unmodelled.
    let _ = kernel.prepare_for(steps);
    let start = model.clone();
    let mut got = Vec::with_capacity(steps.len());
    let mut default = Vec::with_capacity(steps.len());
    for step in steps {
        let m = model.apply(step);
        let k = kernel.apply_step_hinted(
            step,
            Faults::default(),
            Some(Hint {
                world: model,
                result: &m,
            }),
        );
        let stop = matches!(k, StepResult::Unmodelled(_)) && !is_observation(step);
        default.push(m);
        got.push(k);
        if stop {
            break;
        }
    }
    let found = if default.iter().zip(&got).all(|(m, k)| results_agree(m, k)) {
        // The default path explains every result: no search (and no second run).
        crate::explain::Found {
            verdict: Verdict::Agree,
            path: vec![Vec::new(); default.len()],
            outs: default,
            notes: Vec::new(),
            stopped: None,
            step_runs: 0,
        }
    } else {
        explain_steps(&start, steps, &got, Budget::default())
    };
    let unsettled = kernel.unsettled();
    let mut rep = DiffReport {
        compared: 0,
        skipped: 0,
        stopped: None,
        verdict: found.verdict,
        path: found.path,
        divergence: None,
    };
    for (i, step) in steps.iter().enumerate() {
        let (Some(m), Some(k)) = (found.outs.get(i), got.get(i)) else {
            rep.skipped += steps.len() - i;
            break;
        };
        let unmodelled = match (m, k) {
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
        if !results_agree(m, k) {
            rep.divergence = Some(Divergence {
                index: i,
                step: step.clone(),
                model: m.clone(),
                kernel: k.clone(),
            });
            break;
        }
        rep.compared += 1;
    }
    if let Some(i) = unsettled {
        // What was observed after step `i` may be a passing state: no verdict.
        rep.verdict = Verdict::Unknown;
        if rep.divergence.is_none() {
            if let (Some(step), Some(k)) = (steps.get(i), got.get(i)) {
                rep.divergence = Some(Divergence {
                    index: i,
                    step: step.clone(),
                    model: StepResult::Unmodelled("the kernel did not settle".into()),
                    kernel: k.clone(),
                });
            }
        }
    }
    rep
}

/// Runs `steps` on the model and the kernel; `Some` at the first step that no path
/// through the model's choice points explains.
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
    /// Every kernel result so far equals the shadow's: the default path explains them.
    default_agrees: bool,
}

impl Backend for Hinted<'_> {
    fn name(&self) -> String {
        self.kernel.name()
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        let m = self.shadow.apply_with(step, faults);
        let k = self.kernel.apply_step_hinted(
            step,
            faults,
            Some(Hint {
                world: &self.shadow,
                result: &m,
            }),
        );
        self.default_agrees &= results_agree(&m, &k);
        k
    }
}

/// What [`kernel_outcome`] saw.
#[derive(Clone, Debug)]
pub struct KernelRun {
    /// The kernel's outcome.
    pub outcome: Outcome,
    /// The first trace step after which the kernel did not settle, if any.
    pub unsettled: Option<usize>,
    /// Every kernel result equalled the model's default path: the trace is explained
    /// without a search.
    pub default_agrees: bool,
}

/// A trace run on the kernel, and what the model's choice points make of it.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TraceDiff {
    /// The model's events along `path`: the path that explains the kernel (agree),
    /// or the nearest one, up to the step where it fails.
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
    /// Index of the first step where the model's path and the kernel differ (set for
    /// every verdict but agree).
    pub divergence: Option<usize>,
    /// The exact check's verdict.
    pub verdict: Verdict,
    /// The decisions at the model's choice points along `model`, per step.
    pub path: Vec<StepPath>,
    /// Model step executions the search took.
    pub step_runs: u64,
    /// The first step after which the kernel did not become quiescent within the
    /// settle's time limit ([`KernelBackend::unsettled`]): the run cannot be judged
    /// and the verdict is unknown.
    pub unsettled: Option<usize>,
}

impl TraceDiff {
    /// Compares two outcomes of `trace` event by event (one model path against the
    /// kernel: no search; the verdict says whether they agree).
    pub fn compare(trace: &Trace, model: Outcome, kernel: Outcome) -> TraceDiff {
        let mut d = TraceDiff {
            model: Outcome::default(),
            kernel: Outcome::default(),
            compared: 0,
            skipped: 0,
            stopped: None,
            divergence: None,
            verdict: Verdict::Agree,
            path: Vec::new(),
            step_runs: 0,
            unsettled: None,
        };
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
                d.verdict = Verdict::Diverge { step: i };
                break;
            }
            d.compared += 1;
        }
        d.model = model;
        d.kernel = kernel;
        d
    }

    /// Checks the kernel's outcome of `trace` against the model exactly: searches the
    /// model's choice points for a path that gives every kernel event
    /// ([`crate::explain::explain`]).
    pub fn explain(trace: &Trace, profile: Profile, kernel: Outcome, budget: Budget) -> TraceDiff {
        let observed: Vec<Option<Event>> = kernel.events.iter().cloned().map(Some).collect();
        let e = explain(trace, profile, &observed, budget);
        let model = Outcome {
            events: e.outs,
            notes: e.notes,
        };
        let mut d = TraceDiff::compare(trace, model, kernel);
        d.verdict = e.verdict;
        d.path = e.path;
        d.step_runs = e.step_runs;
        if d.verdict == Verdict::Agree {
            // The path's events equal the kernel's up to any stop.
            d.divergence = None;
        }
        d
    }

    /// The exact check of a [`KernelRun`]: no search when the default path gave every
    /// kernel result (the model's events are then the kernel's), else
    /// [`TraceDiff::explain`]; an unsettled run's verdict is unknown.
    pub fn of_run(trace: &Trace, profile: Profile, run: KernelRun, budget: Budget) -> TraceDiff {
        let d = if run.default_agrees {
            let mut d = TraceDiff::compare(trace, run.outcome.clone(), run.outcome);
            d.path = vec![Vec::new(); trace.steps.len()];
            d
        } else {
            TraceDiff::explain(trace, profile, run.outcome, budget)
        };
        d.with_unsettled(run.unsettled)
    }

    /// Marks the run unsettled after step `i` (if `Some`): the verdict becomes
    /// unknown, whatever the search found.
    pub fn with_unsettled(mut self, unsettled: Option<usize>) -> TraceDiff {
        if let Some(i) = unsettled {
            self.unsettled = Some(i);
            self.verdict = Verdict::Unknown;
            self.divergence.get_or_insert(i);
        }
        self
    }

    /// Whether the comparison stopped because the kernel side's time budget ran out
    /// ([`KernelBackend::set_time_budget`]).
    pub fn ran_out_of_time(&self) -> bool {
        self.stopped
            .as_ref()
            .is_some_and(|(_, why)| why.contains(super::OUT_OF_TIME))
    }

    /// The model's and the kernel's events at the divergence.
    pub fn divergent_events(&self) -> Option<(usize, &Event, &Event)> {
        let i = self.divergence?;
        Some((i, self.model.events.get(i)?, self.kernel.events.get(i)?))
    }

    /// The divergence's [`signature`], for deduplicating reports.
    pub fn signature(&self, trace: &Trace) -> Option<String> {
        if let Some(i) = self.unsettled {
            let op = &trace.steps.get(i)?.op;
            return Some(format!("{}: the kernel did not settle", op.keyword()));
        }
        let (i, m, k) = self.divergent_events()?;
        Some(signature(&trace.steps.get(i)?.op, m, k))
    }

    /// Whether the model explains the kernel (see [`Verdict`]).
    pub fn agrees(&self) -> bool {
        self.verdict == Verdict::Agree
    }

    /// The path with each step's trailing default choices dropped: what a trace's
    /// `choose` clauses need.
    pub fn trimmed_path(&self) -> Vec<StepPath> {
        crate::explain::trimmed(&self.path)
    }

    /// The choice points at which the path took a non-default option, each once.
    pub fn non_default_points(&self) -> Vec<crate::ChoicePoint> {
        crate::explain::non_default_points(&self.path)
    }
}

/// Runs `trace` on `kernel` (fresh, or in the state the trace expects), with the
/// model's default path as the settle hint, and checks the kernel's outcome against
/// the model of `profile` exactly ([`TraceDiff::explain`]). A kernel backend can be
/// reused for the next trace after a [`KernelBackend::reset`].
pub fn diff_trace_on(trace: &Trace, profile: Profile, kernel: &mut KernelBackend) -> TraceDiff {
    let run = kernel_outcome(trace, profile, kernel);
    TraceDiff::of_run(trace, profile, run, Budget::default())
}

/// Runs `trace` on `kernel` with the default path of a model of `profile` as the
/// settle hint (see [`KernelRun`]).
pub fn kernel_outcome(trace: &Trace, profile: Profile, kernel: &mut KernelBackend) -> KernelRun {
    // Cannot fail short of a thread that does not start; an exit of task 0 is then
    // unmodelled.
    let _ = kernel.prepare(needs_task0_thread(trace));
    let mut applied = Vec::new();
    let mut hinted = Hinted {
        shadow: World::new(profile),
        kernel,
        default_agrees: true,
    };
    let outcome = trace::run_with(trace, &mut hinted, |i, _, _| applied.push(i));
    let default_agrees = hinted.default_agrees;
    let unsettled = kernel.unsettled().and_then(|k| applied.get(k).copied());
    KernelRun {
        outcome,
        unsettled,
        default_agrees,
    }
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
