//! `msgring check`: random traces on the model and the kernel until a budget is spent;
//! every distinct divergence is minimized and written out as an annotated trace.

use super::diff::{diff_trace_on, kernel_outcome, TraceDiff};
use super::minimize::{annotate_with_kernel, minimize_trace};
use super::{kernel_profile, probe, KernelBackend, Unavailable};
use crate::explain::{Budget as SearchBudget, Verdict};
use crate::trace::{self, Trace};
use crate::{Faults, Profile};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The `i`-th trace seed of a check run with seed `seed`: the `i`-th output of
/// SplitMix64 seeded with `seed` (so `msgring gen --seed <it>` regenerates trace `i`).
pub fn trace_seed(seed: u64, i: u64) -> u64 {
    trace::SplitMix(seed.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))).next_u64()
}

// ---- random checking ---------------------------------------------------------------

/// How long a [`check`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Exactly this many traces (deterministic).
    Count(u64),
    /// Traces until this much time has passed.
    Time(Duration),
}

/// Settings of a [`check`] run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Trace `i` is `trace::gen(trace_seed(seed, i), steps)`.
    pub seed: u64,
    pub steps: usize,
    pub budget: Budget,
    /// Kernel runs the minimizer may spend on each new mismatch signature.
    pub minimize_runs: usize,
    /// Threads running traces (each with its own kernel backend). The kernel side
    /// mostly waits (settling, `io_uring_enter` timeouts), so more threads than CPUs
    /// pay off.
    pub jobs: usize,
    /// Wall-clock bound of each trace on the kernel
    /// ([`KernelBackend::set_time_budget`]); a trace that runs out is compared up to
    /// there and counted in [`CheckStats::out_of_time`].
    pub trace_budget: Option<Duration>,
    /// Keep, for each choice point, the first agreeing trace whose kernel outcome
    /// needed a non-default option there ([`CheckReport::evidence`]).
    pub evidence: bool,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            seed: 0,
            steps: 40,
            budget: Budget::Count(100),
            minimize_runs: 400,
            jobs: 1,
            trace_budget: None,
            evidence: false,
        }
    }
}

/// A kernel run that needed a non-default option at a choice point: the evidence
/// that the kernel really takes that path.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Evidence {
    pub point: crate::ChoicePoint,
    /// Index of the trace and its seed.
    pub index: u64,
    pub trace_seed: u64,
    /// The trace annotated with the kernel's events and the path's `choose` clauses
    /// (`msgring run` replays it; `msgring explain` finds a path again).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub trace: Trace,
}

/// Running totals of a [`check`].
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckStats {
    pub traces: u64,
    /// Steps compared (and agreeing) over all traces.
    pub compared: u64,
    /// Steps skipped because one side reported `unmodelled`.
    pub skipped: u64,
    /// Traces the model explains (some path through its choice points gives every
    /// kernel event).
    pub agree: u64,
    /// Traces no path explains.
    pub diverge: u64,
    /// Traces whose search ran out of budget.
    pub unknown: u64,
    /// Distinct signatures among the diverging and unknown traces.
    pub distinct: u64,
    /// Agreeing traces whose path left the default, per choice point (a trace counts
    /// once per point it used).
    pub choices: std::collections::BTreeMap<String, u64>,
    /// Traces whose default path did not agree, so the search ran.
    pub searched: u64,
    /// Model step executions the searches took (the default paths included).
    pub search_steps: u64,
    /// Seconds spent searching (model side, all traces).
    pub search_seconds: f64,
    /// Traces whose time budget ran out on the kernel ([`CheckOptions::trace_budget`]).
    pub out_of_time: u64,
    /// Seconds since the start.
    pub seconds: f64,
}

impl CheckStats {
    pub fn traces_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.traces as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Traces that agreed only through a non-default choice.
    pub fn non_default(&self) -> u64 {
        self.searched.saturating_sub(self.diverge + self.unknown)
    }
}

/// One distinct divergence (or search that ran out of budget) found by [`check`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// Index of the first trace that showed it, and that trace's seed.
    pub index: u64,
    pub trace_seed: u64,
    /// Diverge or Unknown.
    pub verdict: Verdict,
    /// See [`super::signature()`](super::signature).
    pub signature: String,
    /// Steps of the generated trace and of the minimized one.
    pub original_steps: usize,
    pub minimized_steps: usize,
    /// The minimized trace, annotated with the kernel's events and the nearest path's
    /// `choose` clauses, with a header comment saying where it comes from and how the
    /// two sides differ: a golden trace the model fails until it is fixed.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub trace: Trace,
    /// Source line of the diverging step in `trace.to_string()`, the step, the nearest
    /// path's event and the kernel's.
    pub line: u32,
    pub step: String,
    pub model: String,
    pub kernel: String,
    /// The nearest path's non-default choices, as `step N: point=option ...`.
    pub nearest: Vec<String>,
    /// Traces with this signature (this one included).
    pub count: u64,
    /// Of [`REPRODUCE_RUNS`] re-runs of the minimized trace, how many the model could
    /// not explain again: information only, it decides nothing.
    pub reproduced: u32,
}

impl Finding {
    /// Every finding fails the check: a divergence is a model, kernel or harness bug,
    /// and an unknown is a search that could not decide. There is no vote.
    pub fn fails(&self) -> bool {
        true
    }
}

/// The result of a [`check`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckReport {
    pub seed: u64,
    pub steps: usize,
    pub kernel: String,
    pub profile: String,
    pub stats: CheckStats,
    pub findings: Vec<Finding>,
    /// With [`CheckOptions::evidence`]: per choice point, the first agreeing trace
    /// that needed it.
    pub evidence: Vec<Evidence>,
}

/// Trace `i` of a check run: generated, without fault injections (the kernel cannot
/// inject them, and a step with faults would end the comparison there).
pub fn check_trace(seed: u64, i: u64, steps: usize) -> Trace {
    let mut t = trace::gen(trace_seed(seed, i), steps);
    for s in &mut t.steps {
        s.faults = Faults::default();
    }
    t
}

/// Runs generated traces on the model and the kernel until the budget is spent,
/// minimizing the first mismatch of each [`super::signature()`]. Traces run on
/// [`CheckOptions::jobs`] threads, each with its own kernel backend; results are
/// taken in trace order, so which trace stands for a signature does not depend on
/// the threads. `progress` is called after every trace, with the new finding if that
/// trace made one.
pub fn check(
    opts: &CheckOptions,
    progress: &mut dyn FnMut(&CheckStats, Option<&Finding>),
) -> Result<CheckReport, Unavailable> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let info = probe()?;
    let profile = kernel_profile(&info)?;
    let kernel_name = format!("kernel {}", info.release);
    let start = Instant::now();
    let mut stats = CheckStats::default();
    let mut findings: Vec<Finding> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut by_sig: HashMap<String, usize> = HashMap::new();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    type Done = (Trace, TraceDiff, f64);
    let (tx, rx) = std::sync::mpsc::channel::<(u64, Result<Done, Unavailable>)>();
    let mut failure: Option<Unavailable> = None;
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                // Jobs must not share a fd table: a number one job closes could be
                // handed out to another's new file while an SQE still names it.
                if let Err(u) = super::backend::own_fd_table() {
                    let _ = tx.send((0, Err(u)));
                    return;
                }
                let mut kb: Option<KernelBackend> = None;
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Budget::Time(d) = opts.budget {
                        if start.elapsed() >= d {
                            return;
                        }
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if let Budget::Count(n) = opts.budget {
                        if i >= n {
                            return;
                        }
                    }
                    let t = check_trace(opts.seed, i, opts.steps);
                    // One kernel backend per thread (task 0 is this thread), reset
                    // between traces.
                    let got = match kb.take() {
                        Some(mut kb) => kb.reset().map(|()| kb),
                        None => KernelBackend::for_this_thread(),
                    };
                    let r = got.map(|mut k| {
                        k.set_time_budget(opts.trace_budget);
                        super::ftrace::mark(format_args!("check trace {i}"));
                        let (d, search) = diff_trace_timed(&t, profile, &mut k);
                        if !d.agrees() {
                            super::ftrace::freeze(format_args!("check trace {i} not explained"));
                        }
                        kb = Some(k);
                        (t, d, search)
                    });
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Take results in trace order.
        let mut pending: std::collections::BTreeMap<u64, (Trace, TraceDiff, f64)> =
            Default::default();
        let mut want = 0u64;
        for (i, r) in rx.iter() {
            match r {
                Ok(x) => {
                    pending.insert(i, x);
                }
                Err(u) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(u);
                }
            }
            if failure.is_some() {
                continue;
            }
            while let Some((t, d, search_seconds)) = pending.remove(&want) {
                let i = want;
                want += 1;
                stats.traces += 1;
                stats.compared += d.compared as u64;
                stats.skipped += d.skipped as u64;
                stats.out_of_time += u64::from(d.ran_out_of_time());
                stats.search_steps += d.step_runs;
                stats.search_seconds += search_seconds;
                if d.step_runs > 0 {
                    stats.searched += 1;
                }
                match d.verdict {
                    Verdict::Agree => {
                        stats.agree += 1;
                        for p in d.non_default_points() {
                            *stats.choices.entry(p.name().to_string()).or_default() += 1;
                            if opts.evidence && !evidence.iter().any(|e: &Evidence| e.point == p) {
                                evidence.push(Evidence {
                                    point: p,
                                    index: i,
                                    trace_seed: trace_seed(opts.seed, i),
                                    trace: evidence_trace(
                                        opts,
                                        i,
                                        &t,
                                        &d,
                                        p,
                                        profile,
                                        &kernel_name,
                                    ),
                                });
                            }
                        }
                    }
                    Verdict::Diverge { .. } => stats.diverge += 1,
                    Verdict::Unknown => stats.unknown += 1,
                }
                let mut new = None;
                if let (false, Some(sig)) = (d.agrees(), d.signature(&t)) {
                    match by_sig.get(&sig) {
                        Some(&k) => findings[k].count += 1,
                        None => match finding(opts, i, &t, &d, &sig, profile, &kernel_name) {
                            Ok(f) => {
                                by_sig.insert(sig, findings.len());
                                findings.push(f);
                                stats.distinct += 1;
                                new = findings.last();
                            }
                            Err(u) => {
                                stop.store(true, Ordering::Relaxed);
                                failure.get_or_insert(u);
                                break;
                            }
                        },
                    }
                }
                stats.seconds = start.elapsed().as_secs_f64();
                progress(&stats, new);
            }
        }
    });
    if let Some(u) = failure {
        return Err(u);
    }
    stats.seconds = start.elapsed().as_secs_f64();
    Ok(CheckReport {
        seed: opts.seed,
        steps: opts.steps,
        kernel: kernel_name,
        profile: profile.to_string(),
        stats,
        findings,
        evidence,
    })
}

/// An agreeing trace that needed `point`, annotated for keeping (see [`Evidence`]).
fn evidence_trace(
    opts: &CheckOptions,
    i: u64,
    t: &Trace,
    d: &TraceDiff,
    point: crate::ChoicePoint,
    profile: Profile,
    kernel_name: &str,
) -> Trace {
    let mut out = annotate_with_kernel(t, d);
    out.profile = Some(profile);
    for (s, c) in out.steps.iter_mut().zip(d.trimmed_path()) {
        s.choose = c;
    }
    let seed_i = trace_seed(opts.seed, i);
    out.preamble = vec![
        format!("# msgring check: the {kernel_name} took a non-default path at choice point"),
        format!("# `{point}` ({}); the model explains it with the `choose` clauses below.", point.rules()),
        format!(
            "# check seed {}, trace {i}: msgring gen --seed {seed_i:#x} --steps {} (faults removed).",
            opts.seed, opts.steps
        ),
        "# The `=>` annotations are the kernel's events.".into(),
    ];
    out
}

/// [`diff_trace_on`], and the seconds the model side (the search) took.
fn diff_trace_timed(t: &Trace, profile: Profile, kb: &mut KernelBackend) -> (TraceDiff, f64) {
    let run = kernel_outcome(t, profile, kb);
    let start = Instant::now();
    let d = TraceDiff::of_run(t, profile, run, SearchBudget::default());
    (d, start.elapsed().as_secs_f64())
}

/// Minimizes and annotates the divergence of trace `i`.
fn finding(
    opts: &CheckOptions,
    i: u64,
    t: &Trace,
    d: &TraceDiff,
    sig: &str,
    profile: Profile,
    kernel_name: &str,
) -> Result<Finding, Unavailable> {
    let small = minimize_trace(t, profile, opts.minimize_runs)?;
    // Re-run the minimized trace: how often the model cannot explain it again (shown,
    // never deciding), and its events for the annotations. Fall back to the original
    // if it never diverges the same way again (timing-dependent).
    let mut reproduced = 0;
    let mut first: Option<TraceDiff> = None;
    let mut kb = KernelBackend::for_this_thread()?;
    for _ in 0..REPRODUCE_RUNS {
        kb.reset()?;
        let sd = diff_trace_on(&small, profile, &mut kb);
        if !sd.agrees() && sd.signature(&small).as_deref() == Some(sig) {
            reproduced += 1;
            first.get_or_insert(sd);
        }
    }
    let (base, bd) = match first {
        Some(sd) => (small, sd),
        None => (t.clone(), d.clone()),
    };
    let mut out = annotate_with_kernel(&base, &bd);
    out.profile = Some(profile);
    // The nearest path's choices, so that `msgring run` replays exactly the path the
    // report shows.
    let trimmed = bd.trimmed_path();
    for (s, c) in out.steps.iter_mut().zip(&trimmed) {
        s.choose = c.clone();
    }
    let nearest: Vec<String> = trimmed
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(k, c)| {
            let c: Vec<String> = c.iter().map(|c| c.to_string()).collect();
            format!("step {k}: {}", c.join(" "))
        })
        .collect();
    let seed_i = trace_seed(opts.seed, i);
    let (di, m, k) = bd
        .divergent_events()
        .map(|(di, m, k)| (di, m.to_string(), k.to_string()))
        .unwrap_or((0, String::new(), String::new()));
    let step = base
        .steps
        .get(di)
        .map(|s| s.op.to_string())
        .unwrap_or_default();
    let verdict = match bd.verdict {
        Verdict::Unknown => "the search ran out of budget before deciding",
        _ => "no path through the model's choice points gives what the kernel did",
    };
    out.preamble = vec![
        format!("# msgring check: the model ({profile}) cannot explain the {kernel_name}: {verdict}"),
        format!(
            "# check seed {}, trace {i}: msgring gen --seed {seed_i:#x} --steps {} (faults removed),",
            opts.seed, opts.steps
        ),
        format!(
            "# minimized from {} to {} steps",
            t.steps.len(),
            base.steps.len()
        ),
        format!("# signature: {sig}"),
        format!(
            "# diverged again in {reproduced} of {REPRODUCE_RUNS} re-runs (information only){}",
            if reproduced == 0 {
                "; this is the generated trace"
            } else {
                ""
            }
        ),
        format!("# diverging step: {step}"),
        format!("#   nearest model path: {m}"),
        format!("#   kernel:             {k}"),
        "# The `=>` annotations are the kernel's events and the `choose` clauses the model's".into(),
        "# nearest path: `msgring run` on this file replays that path and shows where it".into(),
        "# differs; `msgring explain` searches every path again.".into(),
    ];
    let line = trace::parse(&out.to_string())
        .ok()
        .and_then(|p| p.steps.get(di).map(|s| s.line))
        .unwrap_or(0);
    Ok(Finding {
        index: i,
        trace_seed: seed_i,
        verdict: bd.verdict,
        signature: sig.to_string(),
        original_steps: t.steps.len(),
        minimized_steps: base.steps.len(),
        trace: out,
        line,
        step,
        model: m,
        kernel: k,
        nearest,
        count: 1,
        reproduced,
    })
}

/// Runs of a minimized mismatch that measure how often it reproduces.
pub const REPRODUCE_RUNS: u32 = 5;
