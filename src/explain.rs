//! Explaining an observed history: is there a legal path through the model's choice
//! points that gives exactly what a kernel showed?
//!
//! The model's answer to a step is a set of outcomes, one per path through the
//! [choice points](crate::choice) the step meets. [`explain`] takes a trace and, per
//! step, what was observed (a kernel's [`Event`], or nothing), and searches the tree
//! of choice paths depth first, default option first, for a path whose events equal
//! every observation. States already shown to lead nowhere are remembered (by step
//! and a hash of the world and the name bindings), in the spirit of Porcupine's
//! linearizability search, so a state is expanded at most once. [`explain_steps`] does
//! the same for a plain [`Step`] sequence and the results a backend returned.
//!
//! The [`Verdict`] is exact: [`Verdict::Agree`] comes with the path that explains the
//! history; [`Verdict::Diverge`] means no path does, and says at which step every
//! path fails, with the nearest path's prediction; [`Verdict::Unknown`] means the
//! search budget ran out first (never a pass).
//!
//! The common case costs one model run: the default path is tried first, step by step,
//! without copying the world; the search starts only if it fails.
//!
//! Remembered dead states are keyed by a 64-bit hash of (step, world, names): two
//! different states with the same hash (odds about 1 in 10^11 per pair for the state
//! counts a budget allows) could make the search skip a live state and report a
//! divergence; re-running the check with another budget re-hashes nothing, but the
//! divergence's report replays on the model and can be inspected.

use crate::choice::{Choice, ChoicePoint, Taken};
use crate::trace::{Event, Op, Resolver, Trace};
use crate::{Faults, Profile, Step, StepResult, World};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// How much searching [`explain`] may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Step executions on the model (the default path's included).
    pub step_runs: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { step_runs: 200_000 }
    }
}

/// The decisions taken at one step: every choice point met, in order.
pub type StepPath = Vec<Choice>;

/// The verdict of [`explain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case", tag = "verdict"))]
pub enum Verdict {
    /// A path explains every observation (up to a stop, where one side left what the
    /// model implements).
    Agree,
    /// No path explains the observations: every path fails at step `step` or before.
    Diverge { step: usize },
    /// The search budget ran out before a path was found or every path failed.
    Unknown,
}

/// What the search found, for any kind of history (see [`Explanation`]).
#[derive(Clone, Debug)]
pub struct Found<O> {
    pub verdict: Verdict,
    /// Agree: the path that explains the history, per step. Diverge / Unknown: the
    /// nearest path (the first that got furthest), up to and including the step where
    /// it failed.
    pub path: Vec<StepPath>,
    /// The model's outcome of each step along `path` (for a divergence, the last is
    /// the nearest path's prediction at the failing step).
    pub outs: Vec<O>,
    /// Notes (refused / unmodelled reasons) along `path`.
    pub notes: Vec<Option<String>>,
    /// A step where one side was unmodelled and the comparison stopped (index, note).
    pub stopped: Option<(usize, String)>,
    /// Model step executions the search used.
    pub step_runs: u64,
}

/// What [`explain`] found for a trace: the model's events along the path.
pub type Explanation = Found<Event>;

impl<O> Found<O> {
    /// The choice points at which `path` took a non-default option, each once.
    pub fn non_default_points(&self) -> Vec<ChoicePoint> {
        non_default_points(&self.path)
    }

    /// Whether `path` leaves the default anywhere.
    pub fn uses_non_default(&self) -> bool {
        self.path.iter().flatten().any(|c| c.option != 0)
    }

    /// The path with trailing default choices of each step dropped: what a trace's
    /// `choose` clauses need.
    pub fn trimmed_path(&self) -> Vec<StepPath> {
        trimmed(&self.path)
    }
}

/// The choice points at which a path took a non-default option, each once, in
/// [`ChoicePoint::ALL`] order.
pub fn non_default_points(path: &[StepPath]) -> Vec<ChoicePoint> {
    let mut v: Vec<ChoicePoint> = path
        .iter()
        .flat_map(|p| crate::choice::non_default(p))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A path with each step's trailing default choices dropped (a step that takes only
/// defaults has none): what a trace's `choose` clauses need.
pub fn trimmed(path: &[StepPath]) -> Vec<StepPath> {
    path.iter()
        .map(|p| {
            let end = p.iter().rposition(|c| c.option != 0).map_or(0, |i| i + 1);
            p[..end].to_vec()
        })
        .collect()
}

/// How one step's outcome on a path compares with what was observed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Judge {
    /// Consistent: go on.
    Fits,
    /// Inconsistent: this path fails here.
    Fails,
    /// One side left what the model implements at a step that changes state: the two
    /// no longer describe the same system; the history is explained up to here.
    Stop,
}

/// A history to explain: steps, how to run one on a node, how to judge the outcome.
trait History {
    type Node: Clone + Hash;
    type Out: Clone;
    fn start(&self) -> Self::Node;
    fn len(&self) -> usize;
    /// Runs step `i` on `node`, taking `script` at its choice points.
    fn run(
        &self,
        node: &mut Self::Node,
        i: usize,
        script: Vec<u32>,
    ) -> (Self::Out, Option<String>, Vec<Taken>);
    fn judge(&self, i: usize, out: &Self::Out) -> Judge;
}

fn fingerprint<N: Hash>(node: &N, step: usize) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    step.hash(&mut h);
    node.hash(&mut h);
    h.finish()
}

/// One step of a path, kept for the report.
#[derive(Clone)]
struct Took<O> {
    path: StepPath,
    out: O,
    note: Option<String>,
}

fn found<O>(
    verdict: Verdict,
    steps: Vec<Took<O>>,
    stopped: Option<(usize, String)>,
    step_runs: u64,
) -> Found<O> {
    let mut f = Found {
        verdict,
        path: Vec::with_capacity(steps.len()),
        outs: Vec::with_capacity(steps.len()),
        notes: Vec::with_capacity(steps.len()),
        stopped,
        step_runs,
    };
    for t in steps {
        f.path.push(t.path);
        f.outs.push(t.out);
        f.notes.push(t.note);
    }
    f
}

/// The search of the module docs, over any [`History`].
fn search<H: History>(h: &H, budget: Budget) -> Found<H::Out> {
    let n = h.len();
    let mut runs = 0u64;
    let took = |out, note, log: &[Taken]| Took {
        path: log.iter().map(Taken::choice).collect(),
        out,
        note,
    };

    // The default path, without copies of the world.
    let mut node = h.start();
    let mut default = Vec::with_capacity(n);
    let mut met_choices = false;
    let mut failed_at = None;
    for i in 0..n {
        let (out, note, log) = h.run(&mut node, i, Vec::new());
        runs += 1;
        met_choices |= !log.is_empty();
        let judge = h.judge(i, &out);
        let why = note.clone();
        default.push(took(out, note, &log));
        match judge {
            Judge::Fits => {}
            Judge::Stop => {
                let why = why.unwrap_or_else(|| "unmodelled".into());
                return found(Verdict::Agree, default, Some((i, why)), runs);
            }
            Judge::Fails => {
                failed_at = Some(i);
                break;
            }
        }
    }
    let Some(fail) = failed_at else {
        return found(Verdict::Agree, default, None, runs);
    };
    if !met_choices {
        // No step up to the failure has another option: nothing else to try.
        return found(Verdict::Diverge { step: fail }, default, None, runs);
    }

    // Depth first over (step, choice script), default options first, with a bound
    // on how many non-default options the whole path may take, raised one at a
    // time: what the kernel does usually differs from the default path in one or
    // two places, and the paths with few deviations are few.
    let mut nearest: (usize, Vec<Took<H::Out>>) = (fail, default);
    for bound in 1..=MAX_DEVIATIONS {
        match bounded(h, bound, budget, &mut runs, &mut nearest) {
            Bounded::Found(steps, stopped) => {
                return found(Verdict::Agree, steps, stopped, runs);
            }
            Bounded::OutOfBudget => break,
            Bounded::NoneWithin { cut: false } => {
                // Every path was tried: none explains the history.
                let (step, steps) = nearest;
                return found(Verdict::Diverge { step }, steps, None, runs);
            }
            Bounded::NoneWithin { cut: true } => {}
        }
    }
    found(Verdict::Unknown, nearest.1, None, runs)
}

/// The most non-default options a path may take before the search gives up
/// (unknown): far more than any kernel run has needed (2 on 6.18.44).
const MAX_DEVIATIONS: u32 = 8;

/// What one round of the bounded search found.
enum Bounded<O> {
    Found(Vec<Took<O>>, Option<(usize, String)>),
    OutOfBudget,
    /// No path with at most `bound` deviations; `cut`: some path was not tried
    /// because of the bound.
    NoneWithin {
        cut: bool,
    },
}

/// The first script after `log` (depth first, see [`next_script`]) that takes at most
/// `limit` non-default options, and whether one was passed over for the limit.
fn next_script_within(log: &[Taken], limit: u32) -> (Option<Vec<u32>>, bool) {
    let mut cut = false;
    let mut used_before: Vec<u32> = Vec::with_capacity(log.len());
    let mut used = 0;
    for t in log {
        used_before.push(used);
        used += u32::from(t.option != 0);
    }
    for k in (0..log.len()).rev() {
        if log[k].option + 1 >= log[k].arity {
            continue;
        }
        // Taking option + 1 at k (non-default) and the defaults after it.
        if used_before[k] + 1 > limit {
            cut = true;
            continue;
        }
        let mut next: Vec<u32> = log[..k].iter().map(|t| t.option).collect();
        next.push(log[k].option + 1);
        return (Some(next), cut);
    }
    (None, cut)
}

/// Depth-first search for a path with at most `bound` non-default options.
fn bounded<H: History>(
    h: &H,
    bound: u32,
    budget: Budget,
    runs: &mut u64,
    nearest: &mut (usize, Vec<Took<H::Out>>),
) -> Bounded<H::Out> {
    struct Frame<N, O> {
        node: N,
        /// Non-default options the path took before this frame's step.
        used: u32,
        /// The next script to try at this frame's step; `None` when all were tried.
        next: Option<Vec<u32>>,
        /// What this frame's step took on the path being extended below it.
        took: Option<Took<O>>,
    }
    let n = h.len();
    let took = |out, note, log: &[Taken]| Took {
        path: log.iter().map(Taken::choice).collect(),
        out,
        note,
    };
    // States from which no path within the deviations left succeeds: (step, state)
    // -> the most deviations that were left when that was found.
    let mut dead: HashMap<u64, u32> = HashMap::new();
    let mut cut = false;
    let mut stack = vec![Frame {
        node: h.start(),
        used: 0,
        next: Some(Vec::new()),
        took: None,
    }];
    loop {
        let depth = stack.len() - 1;
        if depth == n {
            let steps = stack.iter_mut().filter_map(|f| f.took.take()).collect();
            return Bounded::Found(steps, None);
        }
        if *runs >= budget.step_runs {
            return Bounded::OutOfBudget;
        }
        let top = stack
            .last_mut()
            .expect("the root is popped only at the end");
        let Some(script) = top.next.take() else {
            // Every path from here within the bound failed.
            let left = bound - top.used;
            let e = dead.entry(fingerprint(&top.node, depth)).or_insert(left);
            *e = (*e).max(left);
            stack.pop();
            match stack.last_mut() {
                Some(parent) => parent.took = None,
                None => return Bounded::NoneWithin { cut },
            }
            continue;
        };
        let mut child = top.node.clone();
        let (out, note, log) = h.run(&mut child, depth, script);
        *runs += 1;
        let (next, was_cut) = next_script_within(&log, bound - top.used);
        top.next = next;
        cut |= was_cut;
        let used = top.used + log.iter().filter(|t| t.option != 0).count() as u32;
        let t = took(out, note, &log);
        match h.judge(depth, &t.out) {
            Judge::Stop => {
                let why = t.note.clone().unwrap_or_else(|| "unmodelled".into());
                top.took = Some(t);
                let steps = stack.iter_mut().filter_map(|f| f.took.take()).collect();
                return Bounded::Found(steps, Some((depth, why)));
            }
            Judge::Fails => {
                if depth > nearest.0 {
                    let mut steps: Vec<_> = stack.iter().filter_map(|f| f.took.clone()).collect();
                    steps.push(t);
                    *nearest = (depth, steps);
                }
            }
            Judge::Fits => {
                let known_dead = dead
                    .get(&fingerprint(&child, depth + 1))
                    .is_some_and(|&left| bound - used <= left);
                if !known_dead {
                    top.took = Some(t);
                    stack.push(Frame {
                        node: child,
                        used,
                        next: Some(Vec::new()),
                        took: None,
                    });
                }
            }
        }
    }
}

// ---- traces -------------------------------------------------------------------------

/// A trace and what was observed of each step.
struct TraceHistory<'a> {
    trace: &'a Trace,
    start: &'a World,
    observed: &'a [Option<Event>],
}

/// A node of the trace search: the world and the names bound so far.
#[derive(Clone, Hash)]
struct Named {
    world: World,
    names: Resolver,
}

fn is_observation(op: &Op) -> bool {
    matches!(op, Op::Query { .. } | Op::Observe { .. })
}

impl History for TraceHistory<'_> {
    type Node = Named;
    type Out = Event;

    fn start(&self) -> Named {
        Named {
            world: self.start.clone(),
            names: Resolver::new(),
        }
    }

    fn len(&self) -> usize {
        self.trace.steps.len()
    }

    fn run(
        &self,
        node: &mut Named,
        i: usize,
        script: Vec<u32>,
    ) -> (Event, Option<String>, Vec<Taken>) {
        let ts = &self.trace.steps[i];
        match node.names.step(&ts.op) {
            Err(name) => (Event::Unbound(name), None, Vec::new()),
            Ok(step) => {
                let (res, log, _) = node
                    .world
                    .apply_scripted(&step, ts.faults, script, Vec::new());
                let (ev, note) = node.names.event(&ts.op, res);
                (ev, note, log)
            }
        }
    }

    fn judge(&self, i: usize, got: &Event) -> Judge {
        let observed = self.observed.get(i).and_then(Option::as_ref);
        if matches!(got, Event::Unmodelled) || matches!(observed, Some(Event::Unmodelled)) {
            // Observations have no effect: skip them; anything else ends the story.
            return if is_observation(&self.trace.steps[i].op) {
                Judge::Fits
            } else {
                Judge::Stop
            };
        }
        match observed {
            Some(e) if e != got => Judge::Fails,
            _ => Judge::Fits,
        }
    }
}

/// Searches for a path through the choice points of `trace` (run on a fresh world of
/// `profile`; the trace's own `choose` clauses are ignored) whose events equal
/// `observed` at every step that has an observation (`observed[i]` is `None`, or
/// missing past its end: anything goes). See the module docs.
pub fn explain(
    trace: &Trace,
    profile: Profile,
    observed: &[Option<Event>],
    budget: Budget,
) -> Explanation {
    explain_from(&World::new(profile), trace, observed, budget)
}

/// [`explain`] from a given world (a fresh one, perhaps with some choice points
/// switched off: [`World::set_choice_point`]).
pub fn explain_from(
    start: &World,
    trace: &Trace,
    observed: &[Option<Event>],
    budget: Budget,
) -> Explanation {
    search(
        &TraceHistory {
            trace,
            start,
            observed,
        },
        budget,
    )
}

// ---- step sequences -----------------------------------------------------------------

/// Steps and the results a backend returned for them.
struct StepHistory<'a> {
    start: &'a World,
    steps: &'a [Step],
    observed: &'a [StepResult],
}

impl History for StepHistory<'_> {
    type Node = World;
    type Out = StepResult;

    fn start(&self) -> World {
        self.start.clone()
    }

    fn len(&self) -> usize {
        self.steps.len().min(self.observed.len())
    }

    fn run(
        &self,
        world: &mut World,
        i: usize,
        script: Vec<u32>,
    ) -> (StepResult, Option<String>, Vec<Taken>) {
        let (res, log, _) =
            world.apply_scripted(&self.steps[i], Faults::default(), script, Vec::new());
        (res, None, log)
    }

    fn judge(&self, i: usize, got: &StepResult) -> Judge {
        let observed = &self.observed[i];
        let unmodelled = |r: &StepResult| matches!(r, StepResult::Unmodelled(_));
        if unmodelled(got) || unmodelled(observed) {
            return if matches!(self.steps[i], Step::QuerySlot { .. } | Step::Observe { .. }) {
                Judge::Fits
            } else {
                Judge::Stop
            };
        }
        match (got, observed) {
            (StepResult::Refused(_), StepResult::Refused(_)) => Judge::Fits,
            (a, b) if a == b => Judge::Fits,
            _ => Judge::Fails,
        }
    }
}

/// [`explain`] for a plain step sequence (no faults) run from `start`, and the results
/// a backend returned (`observed[i]` for `steps[i]`; steps past its end are not
/// judged). `Refused` results agree whatever their reason.
pub fn explain_steps(
    start: &World,
    steps: &[Step],
    observed: &[StepResult],
    budget: Budget,
) -> Found<StepResult> {
    search(
        &StepHistory {
            start,
            steps,
            observed,
        },
        budget,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::parse;

    /// Two IOSQE_ASYNC NOPs in one enter; the reap shows io-wq's order.
    fn two_async(order: &str) -> (Trace, Vec<Option<Event>>) {
        let t = parse(&format!(
            "msgring-trace 1\nsetup r0 entries=4\n\
             push r0 nop() user_data=1 flags=ASYNC\npush r0 nop() user_data=2 flags=ASYNC\n\
             enter r0 to_submit=2 => ret 2\nreap r0 => cqes [{order}]\n"
        ))
        .unwrap();
        let observed = t.steps.iter().map(|s| s.expect.clone()).collect();
        (t, observed)
    }

    const FIRST_ONE: &str = "ud=1 res=0 flags=0; ud=2 res=0 flags=0";
    const FIRST_TWO: &str = "ud=2 res=0 flags=0; ud=1 res=0 flags=0";

    #[test]
    fn the_default_path_costs_one_run_per_step() {
        let (t, obs) = two_async(FIRST_ONE);
        let e = explain(&t, Profile::default(), &obs, Budget::default());
        assert_eq!(e.verdict, Verdict::Agree);
        assert_eq!(e.step_runs, t.steps.len() as u64);
        assert!(!e.uses_non_default());
    }

    #[test]
    fn a_later_observation_is_explained_by_an_earlier_choice() {
        // The order is decided at the enter (step 3) and seen at the reap (step 4).
        let (t, obs) = two_async(FIRST_TWO);
        let e = explain(&t, Profile::default(), &obs, Budget::default());
        assert_eq!(e.verdict, Verdict::Agree);
        assert!(e.path[3].iter().any(|c| c.option != 0), "{:?}", e.path);
        assert_eq!(e.outs[4], obs[4].clone().unwrap());
        // Without the point that decides it, no path explains the reap.
        let mut w = World::new(Profile::default());
        w.set_choice_point(ChoicePoint::IowqOrder, false);
        w.set_choice_point(ChoicePoint::IowqEarly, false);
        let e = explain_from(&w, &t, &obs, Budget::default());
        assert_eq!(e.verdict, Verdict::Diverge { step: 4 });
        assert_eq!(e.outs.len(), 5, "the nearest path reaches the failing step");
    }

    #[test]
    fn what_no_path_gives_diverges_at_the_first_step_every_path_fails() {
        let (t, mut obs) = two_async(FIRST_TWO);
        obs[3] = Some(Event::Ret(1));
        let e = explain(&t, Profile::default(), &obs, Budget::default());
        assert_eq!(e.verdict, Verdict::Diverge { step: 3 });
        assert_eq!(e.outs[3], Event::Ret(2), "the nearest path's prediction");
    }

    #[test]
    fn a_spent_budget_is_unknown_never_agree() {
        let (t, obs) = two_async(FIRST_TWO);
        let e = explain(&t, Profile::default(), &obs, Budget { step_runs: 6 });
        assert_eq!(e.verdict, Verdict::Unknown);
    }

    #[test]
    fn step_histories_are_explained_the_same_way() {
        let (t, obs) = two_async(FIRST_TWO);
        // The same scenario as steps, with the results the kernel would return.
        let mut w = World::default();
        let mut steps = Vec::new();
        let mut names = Resolver::new();
        for ts in &t.steps {
            let step = names.step(&ts.op).unwrap();
            let r = w.apply(&step);
            names.event(&ts.op, r);
            steps.push(step);
        }
        let mut results: Vec<StepResult> = Vec::new();
        let mut w = World::default();
        for s in &steps {
            results.push(w.apply(s));
        }
        let Some(Event::Cqes(c)) = obs[4].clone() else {
            unreachable!()
        };
        results[4] = StepResult::Reaped(c);
        let f = explain_steps(&World::default(), &steps, &results, Budget::default());
        assert_eq!(f.verdict, Verdict::Agree);
        results[3] = StepResult::Ret(7);
        let f = explain_steps(&World::default(), &steps, &results, Budget::default());
        assert_eq!(f.verdict, Verdict::Diverge { step: 3 });
    }
}
