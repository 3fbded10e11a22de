//! Choice points: where Linux may take one of several paths that userspace can observe.
//!
//! The kernel runs io-wq workers, other tasks' task_work and SQPOLL threads at the same
//! time as the task that makes a system call, and the order in which they get to a
//! ring is not fixed. The sequential model takes every such decision at a named
//! [`ChoicePoint`]. [`World::apply`](crate::World::apply) always takes option 0, the
//! kernel's usual path, so a plain run is deterministic and as fast as before; the
//! other options are the other orders the kernel may produce, and together the options
//! make a step's result a *set* of legal outcomes:
//!
//! - [`World::apply_choosing`](crate::World::apply_choosing) lets a [`Chooser`] decide;
//! - [`World::apply_path`](crate::World::apply_path) replays a recorded [`Choice`]
//!   sequence exactly (a trace's `choose` clause does the same);
//! - [`World::successors`](crate::World::successors) enumerates every outcome of a step;
//! - [`crate::explain`] searches a whole trace for a choice path that explains what a
//!   kernel did.
//!
//! Each point is documented in docs/semantics.md (section "Choice points") with its
//! kernel function, rule id and the evidence that the kernel really takes both paths.

use std::fmt;
use std::str::FromStr;

/// A named place where the kernel may take one of several paths.
///
/// Option 0 is always the model's default (what `World::apply` does). A point is only
/// *met* when it has at least two options; points with one option are not recorded.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ChoicePoint {
    /// R42, M9 (`io_wq_enqueue`, `io_worker_handle_work`): io-wq runs each punted
    /// request on a worker of its own, so requests punted in one step run in any
    /// order. Option `k` runs the `k`-th pending item next (0: queue order).
    IowqOrder,
    /// R42, M9 (`io_queue_iowq` vs the rest of what the task does): a worker may
    /// finish a punted request while the task that queued it is still busy: inside
    /// its system call (before it flushes its completion batch, runs its local work,
    /// its task_work at syscall exit), or inside a task_work or local-work run before
    /// that run's completions are flushed. Met at those points while io-wq has work:
    /// option 1 runs one io-wq request there.
    IowqEarly,
    /// M9, R24 (`task_work_add` with TWA_SIGNAL, io-wq, `io_sq_thread`): after a step,
    /// io-wq workers, task threads woken for task_work and SQPOLL threads run at the
    /// same time; the model's settle visits them in a fixed order (io-wq, tasks by id,
    /// SQPOLL). Met at each agent with work while a later one has work too: option 1
    /// lets the later ones go first.
    SettleOrder,
    /// M9 (`io_handle_tw_list`): between two items of a task_work run the task may
    /// be asked to give up the CPU (`need_resched()`): the run then flushes the
    /// completions it has so far (`ctx_flush_and_put`) and yields, so io-wq workers
    /// may post before the rest. Met between two items of one ring in a run: option 1
    /// flushes and yields there.
    TaskWorkResched,
    /// M11, R24 (`task_work_add(owner, .., TWA_SIGNAL)` from another task): the task a
    /// callback is added to is woken at once and runs its task_work on its own CPU,
    /// while the adder goes on; so two callbacks one step adds to it may run in two
    /// rounds (each round newest first), in the order they were added. Met when a
    /// callback is added to a task other than the one running: option 1 makes that
    /// task run its task_work right there.
    TaskWorkEarly,
    /// R42, M9 (`io_wq_submit_work` → `io_issue_sqe`): an io-wq worker does the op's
    /// own work (a MSG_RING's target CQE under the target's `completion_lock`, a
    /// task_work it adds) and only then posts the request's CQE
    /// (`io_req_complete_post`, under the source's lock): the task and other agents
    /// may run between the two. Met when an io-wq MSG_RING request has been issued:
    /// option 1 leaves the post as the worker's next io-wq item.
    IowqPostLater,
    /// R42, M9 (`io_wq_submit_work` holds two references to an io-wq request; the
    /// worker drops its own in `io_wq_put_work` after the op): when the completion goes
    /// through a DEFER_TASKRUN ring's local work and the owner runs it before the
    /// worker's put, that put is the last one, and `io_free_req` queues one more local
    /// work item that posts nothing (`REQ_F_CQE_SKIP`), setting IORING_SQ_TASKRUN if
    /// the list was empty. Met when an io-wq worker queues a completion on a
    /// DEFER_TASKRUN ring's local work: option 1 leaves its put as the worker's next
    /// io-wq item.
    IowqPutLater,
}

impl ChoicePoint {
    /// Every choice point, in declaration order.
    pub const ALL: &'static [ChoicePoint] = &[
        ChoicePoint::IowqOrder,
        ChoicePoint::IowqEarly,
        ChoicePoint::SettleOrder,
        ChoicePoint::TaskWorkResched,
        ChoicePoint::TaskWorkEarly,
        ChoicePoint::IowqPostLater,
        ChoicePoint::IowqPutLater,
    ];

    /// The name used in traces (`choose iowq_order=1`), reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ChoicePoint::IowqOrder => "iowq_order",
            ChoicePoint::IowqEarly => "iowq_early",
            ChoicePoint::SettleOrder => "settle_order",
            ChoicePoint::TaskWorkResched => "task_work_resched",
            ChoicePoint::TaskWorkEarly => "task_work_early",
            ChoicePoint::IowqPostLater => "iowq_post_later",
            ChoicePoint::IowqPutLater => "iowq_put_later",
        }
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// The rule ids of docs/semantics.md this point belongs to.
    pub fn rules(self) -> &'static str {
        match self {
            ChoicePoint::IowqOrder
            | ChoicePoint::IowqEarly
            | ChoicePoint::IowqPostLater
            | ChoicePoint::IowqPutLater => "R42, M9",
            ChoicePoint::SettleOrder => "M9, R24",
            ChoicePoint::TaskWorkResched => "M9",
            ChoicePoint::TaskWorkEarly => "M11, R24",
        }
    }
}

impl fmt::Display for ChoicePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChoicePoint {
    type Err = String;
    fn from_str(s: &str) -> Result<ChoicePoint, String> {
        ChoicePoint::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ChoicePoint::ALL.iter().map(|p| p.name()).collect();
                format!("unknown choice point `{s}` (known: {})", known.join(", "))
            })
    }
}

/// One decision: at `point`, option `option`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Choice {
    pub point: ChoicePoint,
    pub option: u32,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.point, self.option)
    }
}

/// A decision as it was taken: the point, how many options it had, which was taken.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Taken {
    pub point: ChoicePoint,
    pub arity: u32,
    pub option: u32,
}

impl Taken {
    pub fn choice(&self) -> Choice {
        Choice {
            point: self.point,
            option: self.option,
        }
    }
}

/// Decides at each choice point a step meets. `choose` gets the point and its number of
/// options (at least 2) and returns the option to take (out-of-range answers take 0).
pub trait Chooser {
    fn choose(&mut self, point: ChoicePoint, arity: u32) -> u32;
}

/// Always the default: what [`World::apply`](crate::World::apply) does.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultChooser;

impl Chooser for DefaultChooser {
    fn choose(&mut self, _: ChoicePoint, _: u32) -> u32 {
        0
    }
}

/// Picks options from a seeded PRNG, each non-default option with probability
/// `1 / (1 + bias)` of the default's weight (`bias` 0: uniform). Deterministic for a
/// seed: property tests and fuzzers explore non-default paths with it.
#[derive(Clone, Debug)]
pub struct RandomChooser {
    rng: crate::trace::SplitMix,
}

impl RandomChooser {
    pub fn new(seed: u64) -> RandomChooser {
        RandomChooser {
            rng: crate::trace::SplitMix(seed),
        }
    }
}

impl Chooser for RandomChooser {
    fn choose(&mut self, _: ChoicePoint, arity: u32) -> u32 {
        (self.rng.next_u64() % u64::from(arity.max(1))) as u32
    }
}

/// Why a recorded choice sequence could not be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMisfit {
    /// Index of the first choice that did not fit.
    pub index: usize,
    /// What the path said.
    pub wanted: Choice,
    /// The point the step met there and its number of options (`None`: the step met
    /// no further choice point).
    pub met: Option<(ChoicePoint, u32)>,
}

impl fmt::Display for PathMisfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.met {
            Some((p, arity)) => write!(
                f,
                "choice {} is `{}` but the step met `{p}` with {arity} options there",
                self.index + 1,
                self.wanted
            ),
            None => write!(
                f,
                "choice {} is `{}` but the step met no further choice point",
                self.index + 1,
                self.wanted
            ),
        }
    }
}

/// The per-step decision state a [`World`](crate::World) carries while a step runs.
/// Empty between steps, and invisible to `==` and hashing: two worlds are equal when
/// their kernel state is.
#[derive(Clone, Debug, Default)]
pub(crate) struct Decider {
    /// Off: every point takes option 0 and nothing is recorded (`World::apply`).
    active: bool,
    /// Options to take, in the order the points are met; past its end, option 0.
    script: Vec<u32>,
    /// The points met so far (arity >= 2), with the options taken.
    log: Vec<Taken>,
    /// The first point that did not fit the script.
    misfit: Option<(usize, ChoicePoint, u32)>,
    /// Points the script names, to check a replayed path's names.
    names: Vec<ChoicePoint>,
    /// Points switched off (bit `point as u32`): they always take option 0 and are
    /// not recorded, as if the model had no such point. Kept across steps.
    disabled: u64,
}

impl PartialEq for Decider {
    fn eq(&self, _: &Decider) -> bool {
        true
    }
}

impl Eq for Decider {}

impl std::hash::Hash for Decider {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Decider {
    /// Starts recording a step that takes `script` (points named by `names`, if
    /// given, are checked as they are met).
    pub(crate) fn start(&mut self, script: Vec<u32>, names: Vec<ChoicePoint>) {
        self.active = true;
        self.script = script;
        self.names = names;
        self.log.clear();
        self.misfit = None;
    }

    /// Ends the step: the points met, and the first misfit.
    pub(crate) fn finish(&mut self) -> (Vec<Taken>, Option<(usize, ChoicePoint, u32)>) {
        self.active = false;
        self.script.clear();
        self.names.clear();
        (std::mem::take(&mut self.log), self.misfit.take())
    }

    /// Whether choices are being recorded (callers skip computing arities otherwise).
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.active
    }

    /// The option to take at `point`, which has `arity` options.
    #[inline]
    pub(crate) fn choose(&mut self, point: ChoicePoint, arity: u32) -> u32 {
        if !self.active || arity < 2 || self.disabled & point.bit() != 0 {
            return 0;
        }
        self.choose_slow(point, arity)
    }

    /// Switches `point` off or on again (see `disabled`).
    pub(crate) fn set_enabled(&mut self, point: ChoicePoint, on: bool) {
        if on {
            self.disabled &= !point.bit();
        } else {
            self.disabled |= point.bit();
        }
    }

    pub(crate) fn enabled(&self, point: ChoicePoint) -> bool {
        self.disabled & point.bit() == 0
    }

    fn choose_slow(&mut self, point: ChoicePoint, arity: u32) -> u32 {
        let i = self.log.len();
        let mut option = self.script.get(i).copied().unwrap_or(0);
        let named = self.names.get(i).is_none_or(|&n| n == point);
        if (option >= arity || !named) && self.misfit.is_none() {
            self.misfit = Some((i, point, arity));
        }
        if option >= arity || !named {
            option = 0;
        }
        self.log.push(Taken {
            point,
            arity,
            option,
        });
        option
    }
}

/// The next choice script after a run that met `log` (taking the options in it), in
/// depth-first order over the tree of choice sequences: the deepest point with an
/// option left moves to its next option, the points after it are dropped (they take
/// 0). `None` when every option of every point met has been taken.
pub(crate) fn next_script(log: &[Taken]) -> Option<Vec<u32>> {
    let k = log.iter().rposition(|t| t.option + 1 < t.arity)?;
    let mut next: Vec<u32> = log[..k].iter().map(|t| t.option).collect();
    next.push(log[k].option + 1);
    Some(next)
}

/// Counts of non-default choices per point, for summaries.
pub fn non_default(path: &[Choice]) -> impl Iterator<Item = ChoicePoint> + '_ {
    path.iter().filter(|c| c.option != 0).map(|c| c.point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ChoicePoint::ALL {
            assert_eq!(p.name().parse::<ChoicePoint>(), Ok(*p));
        }
        assert!("no_such_point".parse::<ChoicePoint>().is_err());
    }

    #[test]
    fn scripts_enumerate_every_leaf_once() {
        // A tree: a point with 2 options, then (under option 1 only) one with 3.
        let run = |script: &[u32]| -> Vec<Taken> {
            let mut d = Decider::default();
            d.start(script.to_vec(), Vec::new());
            let a = d.choose(ChoicePoint::IowqOrder, 2);
            if a == 1 {
                d.choose(ChoicePoint::IowqEarly, 3);
            }
            d.finish().0
        };
        let mut leaves = Vec::new();
        let mut script = Vec::new();
        loop {
            let log = run(&script);
            leaves.push(log.iter().map(|t| t.option).collect::<Vec<_>>());
            match next_script(&log) {
                Some(s) => script = s,
                None => break,
            }
        }
        assert_eq!(leaves, vec![vec![0], vec![1, 0], vec![1, 1], vec![1, 2]]);
    }

    #[test]
    fn an_inactive_decider_takes_the_default_and_records_nothing() {
        let mut d = Decider::default();
        assert_eq!(d.choose(ChoicePoint::IowqOrder, 5), 0);
        assert!(d.finish().0.is_empty());
    }

    #[test]
    fn a_script_that_does_not_fit_is_reported() {
        let mut d = Decider::default();
        d.start(vec![7], vec![ChoicePoint::IowqOrder]);
        assert_eq!(d.choose(ChoicePoint::IowqOrder, 2), 0);
        let (_, misfit) = d.finish();
        assert_eq!(misfit, Some((0, ChoicePoint::IowqOrder, 2)));
    }
}
