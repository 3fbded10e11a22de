//! Explaining an observed history: is there a legal path through the model's choice
//! points that gives exactly what a kernel showed?
//!
//! The model's answer to a step is a set of outcomes, one per path through the
//! [choice points](crate::choice) the step meets. [`explain`] takes a trace and, per
//! step, what was observed (a kernel's [`Event`], or nothing), and searches the tree
//! of choice paths depth first, default option first, for a path whose events equal
//! every observation. States already shown to lead nowhere are remembered (by step
//! and a hash of the world and the name bindings), in the spirit of Porcupine's
//! linearizability search, so a state is expanded at most once.
//!
//! The [`Verdict`] is exact: [`Verdict::Agree`] names the path that explains the
//! history; [`Verdict::Diverge`] means no path does, and says at which step every
//! path fails, with the nearest path's prediction; [`Verdict::Unknown`] means the
//! search budget ran out first (never a pass).
//!
//! The common case costs one model run: the default path is tried first, step by step,
//! without copying the world.

use crate::choice::{next_script, Choice, ChoicePoint, Taken};
use crate::trace::Resolver;
use crate::trace::{Event, Op, Trace};
use crate::{Profile, World};
use std::collections::HashSet;
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

/// The result of [`explain`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Verdict {
    /// A path explains every observation (up to `stopped`, if the trace left what the
    /// model implements there).
    Agree,
    /// No path explains the observations: every path fails at step `step` or before.
    Diverge { step: usize },
    /// The search budget ran out before a path was found or every path failed.
    Unknown,
}

/// What [`explain`] found.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub verdict: Verdict,
    /// Agree: the path that explains the history, per step. Diverge / Unknown: the
    /// nearest path (the first that got furthest), up to and including the step where
    /// it failed.
    pub path: Vec<StepPath>,
    /// The model's events along `path` (for a divergence, its last event is the
    /// nearest path's prediction at the failing step).
    pub events: Vec<Event>,
    /// Notes (refused / unmodelled reasons) along `path`.
    pub notes: Vec<Option<String>>,
    /// A step where one side was unmodelled and the comparison stopped (index, note).
    pub stopped: Option<(usize, String)>,
    /// Step executions the search used.
    pub step_runs: u64,
}

impl Explanation {
    /// The choice points at which `path` took a non-default option, each once.
    pub fn non_default_points(&self) -> Vec<ChoicePoint> {
        let mut v: Vec<ChoicePoint> = self
            .path
            .iter()
            .flat_map(|p| crate::choice::non_default(p))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether `path` leaves the default anywhere.
    pub fn uses_non_default(&self) -> bool {
        self.path.iter().flatten().any(|c| c.option != 0)
    }

    /// The path with trailing default choices of each step dropped: what a trace's
    /// `choose` clauses need.
    pub fn trimmed_path(&self) -> Vec<StepPath> {
        self.path
            .iter()
            .map(|p| {
                let end = p.iter().rposition(|c| c.option != 0).map_or(0, |i| i + 1);
                p[..end].to_vec()
            })
            .collect()
    }
}

/// Whether an event is consistent with the observation (none: anything is).
fn fits(observed: Option<&Event>, got: &Event) -> bool {
    observed.map_or(true, |e| e == got)
}

/// Whether the comparison stops at this step: one side did not model a step that
/// changes state, so the two no longer describe the same system (as
/// [`crate::kernel::TraceDiff`] has it). Observations that are unmodelled are skipped.
fn unmodelled(observed: Option<&Event>, got: &Event) -> bool {
    matches!(got, Event::Unmodelled) || matches!(observed, Some(Event::Unmodelled))
}

fn is_observation(op: &Op) -> bool {
    matches!(op, Op::Query { .. } | Op::Observe { .. })
}

/// One node of the search: the state before step `step`.
#[derive(Clone)]
struct Node {
    world: World,
    names: Resolver,
}

impl Node {
    fn fingerprint(&self, step: usize) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        step.hash(&mut h);
        self.world.hash(&mut h);
        self.names.hash(&mut h);
        h.finish()
    }

    /// Runs step `i` of `trace` with `script`; returns the event, the note and the
    /// decisions taken (with arities).
    fn run(
        &mut self,
        trace: &Trace,
        i: usize,
        script: Vec<u32>,
    ) -> (Event, Option<String>, Vec<Taken>) {
        let ts = &trace.steps[i];
        match self.names.step(&ts.op) {
            Err(name) => (Event::Unbound(name), None, Vec::new()),
            Ok(step) => {
                let (res, log, _) = self
                    .world
                    .apply_scripted(&step, ts.faults, script, Vec::new());
                let (ev, note) = self.names.event(&ts.op, res);
                (ev, note, log)
            }
        }
    }
}

/// The outcome of step `i` on one path, kept for the report.
#[derive(Clone)]
struct Taken1 {
    path: StepPath,
    event: Event,
    note: Option<String>,
}

/// Searches for a path through the choice points of `trace` (run on a fresh world of
/// `profile`) whose events equal `observed` at every step that has an observation
/// (`observed[i]` is `None`, or missing past its end: anything goes). See the module
/// docs.
pub fn explain(
    trace: &Trace,
    profile: Profile,
    observed: &[Option<Event>],
    budget: Budget,
) -> Explanation {
    let n = trace.steps.len();
    let obs = |i: usize| observed.get(i).and_then(|e| e.as_ref());
    let mut runs = 0u64;

    // The default path, without copies of the world.
    let mut node = Node {
        world: World::new(profile),
        names: Resolver::new(),
    };
    let mut default: Vec<Taken1> = Vec::with_capacity(n);
    let mut met_choices = false;
    let mut failed_at = None;
    let mut stopped = None;
    for i in 0..n {
        let (event, note, log) = node.run(trace, i, Vec::new());
        runs += 1;
        met_choices |= !log.is_empty();
        let t = Taken1 {
            path: log.iter().map(Taken::choice).collect(),
            event,
            note,
        };
        let (ev, o) = (&t.event, obs(i));
        let stop = unmodelled(o, ev);
        let ok = stop || fits(o, ev);
        let note = t.note.clone();
        default.push(t);
        if stop && !is_observation(&trace.steps[i].op) {
            stopped = Some((i, note.unwrap_or_else(|| "unmodelled".into())));
            break;
        }
        if !ok {
            failed_at = Some(i);
            break;
        }
    }
    let finish = |verdict, steps: Vec<Taken1>, stopped, runs| {
        let mut e = Explanation {
            verdict,
            path: Vec::new(),
            events: Vec::new(),
            notes: Vec::new(),
            stopped,
            step_runs: runs,
        };
        for t in steps {
            e.path.push(t.path);
            e.events.push(t.event);
            e.notes.push(t.note);
        }
        e
    };
    let Some(fail) = failed_at else {
        return finish(Verdict::Agree, default, stopped, runs);
    };
    if !met_choices {
        // No step up to the failure has another option: nothing else to try.
        return finish(Verdict::Diverge { step: fail }, default, None, runs);
    }

    // Depth-first search over (step, choice script), default options first.
    struct Frame {
        node: Node,
        /// The next script to try at this step; `None` when all were tried.
        next: Option<Vec<u32>>,
        /// What this frame's step took on the path currently being extended.
        taken: Option<Taken1>,
    }
    let mut dead: HashSet<u64> = HashSet::new();
    let start = Node {
        world: World::new(profile),
        names: Resolver::new(),
    };
    let mut stack = vec![Frame {
        node: start,
        next: Some(Vec::new()),
        taken: None,
    }];
    // The nearest failure: the deepest step reached, and the path up to it.
    let mut nearest: (usize, Vec<Taken1>) = (fail, default);
    loop {
        let depth = stack.len() - 1;
        if depth == n {
            let steps = stack.iter_mut().filter_map(|f| f.taken.take()).collect();
            return finish(Verdict::Agree, steps, None, runs);
        }
        if runs >= budget.step_runs {
            return finish(Verdict::Unknown, nearest.1, None, runs);
        }
        let top = stack.last_mut().expect("the root is never popped here");
        let Some(script) = top.next.take() else {
            // Every path from here failed.
            dead.insert(top.node.fingerprint(depth));
            stack.pop();
            match stack.last_mut() {
                Some(parent) => parent.taken = None,
                None => {
                    let (step, steps) = nearest;
                    return finish(Verdict::Diverge { step }, steps, None, runs);
                }
            }
            continue;
        };
        let mut child = top.node.clone();
        let (event, note, log) = child.run(trace, depth, script);
        runs += 1;
        top.next = next_script(&log);
        let o = obs(depth);
        let taken = Taken1 {
            path: log.iter().map(Taken::choice).collect(),
            event,
            note,
        };
        let stop = unmodelled(o, &taken.event);
        if stop && !is_observation(&trace.steps[depth].op) {
            top.taken = Some(taken.clone());
            let why = taken.note.unwrap_or_else(|| "unmodelled".into());
            let steps = stack.iter_mut().filter_map(|f| f.taken.take()).collect();
            return finish(Verdict::Agree, steps, Some((depth, why)), runs);
        }
        if !(stop || fits(o, &taken.event)) {
            if depth > nearest.0 {
                let mut steps: Vec<Taken1> = stack.iter().filter_map(|f| f.taken.clone()).collect();
                steps.push(taken);
                nearest = (depth, steps);
            }
            continue;
        }
        if dead.contains(&child.fingerprint(depth + 1)) {
            continue;
        }
        top.taken = Some(taken);
        stack.push(Frame {
            node: child,
            next: Some(Vec::new()),
            taken: None,
        });
    }
}
