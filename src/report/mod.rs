//! A picture of a trace: a self-contained HTML page (inline SVG and CSS, no script, no
//! network) with one lane per ring over the trace's steps, the model's outcome beside
//! another one (the kernel's, or the trace's `=>` annotations), and the first
//! divergence marked down to the fields that differ.
//!
//! The page does not care how a divergence was found: [`ReportInput`] is plain data
//! (the trace, two outcomes, the index of the divergence, the model's ring states per
//! step, notes, and the nondeterministic choices a checker took, if any). [`model_run`]
//! makes the model's side; `msgring report` and `msgring check --html` fill the rest.
//!
//! ```
//! use msgring::report::{self, ReportInput};
//! use msgring::trace;
//!
//! let t = trace::parse("msgring-trace 1\nsetup r0 entries=4\nreap r0 => cqes []\n").unwrap();
//! let run = report::model_run(&t, msgring::Profile::default());
//! let page = report::render(&ReportInput::against_annotations("example.trace", &t, &run));
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! ```

mod html;
mod svg;

pub use html::render;

use crate::trace::{self, Event, Outcome, Trace};
use crate::{Backend, Faults, FileId, Profile, Step, StepResult, World};

/// Everything the page shows. Build it by hand, or with
/// [`ReportInput::against_annotations`].
#[derive(Clone, Debug)]
pub struct ReportInput<'a> {
    /// The page's title (a file name, a finding's name).
    pub title: String,
    pub trace: &'a Trace,
    /// The model's side: its outcome and its ring states per step.
    pub model: &'a ModelRun,
    /// What the model is compared with ("kernel 6.18.44", "annotations").
    pub other_label: String,
    /// The other side's outcome, `None` for a page of the model alone.
    pub other: Option<Outcome>,
    /// The first step whose events differ (see [`first_divergence`]).
    pub divergence: Option<usize>,
    /// Lines shown under the title (seed, reproduction, signature, ...).
    pub notes: Vec<String>,
    /// The nondeterministic choices the model took, if the checker records them:
    /// drawn as a lane of their own, with a legend, when not empty.
    pub choices: Vec<Choice>,
}

/// One choice at a named choice point of the model ("iowq_order" = "reversed").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The step during which the choice was taken.
    pub step: usize,
    pub point: String,
    pub option: String,
}

impl<'a> ReportInput<'a> {
    /// The model against the trace's `=>` annotations (for a golden trace or a
    /// finding of `msgring check`, the kernel's outcome): a step without an
    /// annotation counts as agreeing.
    pub fn against_annotations(
        title: &str,
        trace: &'a Trace,
        model: &'a ModelRun,
    ) -> ReportInput<'a> {
        let other = annotations(trace, &model.outcome);
        let divergence = first_divergence(&model.outcome, &other);
        ReportInput {
            title: title.to_string(),
            trace,
            model,
            other_label: "annotations".into(),
            other: Some(other),
            divergence,
            notes: Vec::new(),
            choices: choices_of(trace),
        }
    }
}

/// The non-default options of a trace's `choose` clauses (the path the model takes
/// when it replays the trace), for the choices lane.
pub fn choices_of(trace: &Trace) -> Vec<Choice> {
    trace
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.choose
                .iter()
                .filter(|c| c.option != 0)
                .map(move |c| Choice {
                    step: i,
                    point: c.point.name().to_string(),
                    option: c.option.to_string(),
                })
        })
        .collect()
}

/// The annotations of `trace` as an outcome; a step without one takes `model`'s
/// event (so it agrees), with the note "not annotated".
pub fn annotations(trace: &Trace, model: &Outcome) -> Outcome {
    let mut o = Outcome::default();
    for (i, s) in trace.steps.iter().enumerate() {
        match &s.expect {
            Some(e) => {
                o.events.push(e.clone());
                o.notes.push(None);
            }
            None => {
                o.events
                    .push(model.events.get(i).cloned().unwrap_or(Event::Unexpected));
                o.notes.push(Some("not annotated".into()));
            }
        }
    }
    o
}

/// The first step whose events differ, skipping steps either side reports as
/// `unmodelled` (as the differential check does).
pub fn first_divergence(a: &Outcome, b: &Outcome) -> Option<usize> {
    a.events.iter().zip(&b.events).position(|(x, y)| {
        x != y && !matches!(x, Event::Unmodelled) && !matches!(y, Event::Unmodelled)
    })
}

/// The model's run of a trace: its outcome and what each ring looked like after each
/// step.
#[derive(Clone, Debug, Default)]
pub struct ModelRun {
    /// `model 6.18`.
    pub label: String,
    pub outcome: Outcome,
    /// The rings in creation order.
    pub rings: Vec<RingInfo>,
    /// `after[i][k]`: ring `k` after step `i` (rings created later are absent).
    pub after: Vec<Vec<RingSnap>>,
}

/// A ring of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingInfo {
    /// Its trace name (`r0`).
    pub name: String,
    /// The step that created it.
    pub created_at: usize,
    /// `IORING_SETUP_*` flags.
    pub flags: u32,
}

/// What the model's ring held after a step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RingSnap {
    /// SQEs pushed and not yet consumed, of an SQ of `sq_entries`.
    pub sq_pending: u32,
    pub sq_entries: u32,
    pub cq_entries: u32,
    /// CQ head and tail (free-running): their deltas are the CQEs reaped and posted.
    pub cq_head: u32,
    pub cq_tail: u32,
    /// CQEs on the overflow list.
    pub overflow: u32,
    /// `rings->cq_overflow`: CQEs dropped.
    pub dropped: u32,
    /// DEFER_TASKRUN local task_work pending (work and retry lists).
    pub local_work: u32,
    pub sq_flags: u32,
    /// Fixed-file table size and its occupied slots (slot, file name).
    pub table_size: u32,
    pub table: Vec<(u32, String)>,
}

impl RingSnap {
    pub fn cq_ready(&self) -> u32 {
        self.cq_tail.wrapping_sub(self.cq_head)
    }
}

/// A [`World`] that records every ring after each step it applies, with table slots
/// as file ids (named once the run is over).
struct Recorder {
    world: World,
    /// Per applied step: the rings, their tables by file id, how many files exist.
    snaps: Vec<Snapshot>,
}

type Snapshot = (Vec<RingSnap>, Vec<Vec<(u32, FileId)>>, usize);

impl Backend for Recorder {
    fn name(&self) -> String {
        self.world.name()
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        let r = self.world.apply_with(step, faults);
        self.snapshot();
        r
    }

    fn apply_step_path(
        &mut self,
        step: &Step,
        faults: Faults,
        path: &[crate::Choice],
    ) -> Result<StepResult, crate::choice::PathMisfit> {
        if path.is_empty() {
            return Ok(self.apply_step(step, faults));
        }
        let r = self.world.apply_path(step, faults, path).map(|(r, _)| r);
        self.snapshot();
        r
    }
}

impl Recorder {
    /// The rings after a step.
    fn snapshot(&mut self) {
        let rings = self.world.rings();
        let snaps = rings
            .iter()
            .map(|r| RingSnap {
                sq_pending: r.sq.len() as u32,
                sq_entries: r.sq_entries,
                cq_entries: r.cq.entries(),
                cq_head: r.cq.head(),
                cq_tail: r.cq.tail(),
                overflow: r.overflow.len() as u32,
                dropped: r.cq_overflow,
                local_work: (r.local_work.len() + r.retry_work.len()) as u32,
                sq_flags: r.sq_flags,
                table_size: r.table.nr(),
                table: Vec::new(),
            })
            .collect();
        let tables = rings.iter().map(|r| r.table.occupied().collect()).collect();
        self.snaps.push((snaps, tables, self.world.files().len()));
    }
}

/// Runs `trace` on a fresh model of `profile`, step by step, keeping every ring's
/// state after each step.
pub fn model_run(trace: &Trace, profile: Profile) -> ModelRun {
    let mut rec = Recorder {
        world: World::new(profile),
        snaps: Vec::new(),
    };
    // `run_with` calls `each` right after the backend applied a step: the k-th
    // snapshot belongs to the k-th index it reports (unbound steps are not applied).
    let mut applied: Vec<usize> = Vec::new();
    let outcome = trace::run_with(trace, &mut rec, |i, _, _| applied.push(i));
    let mut run = ModelRun {
        label: format!("model {profile}"),
        outcome,
        ..ModelRun::default()
    };
    // File ids are creation order: a step's new files take the names it binds, in
    // order (a ring's file its ring name, a pipe's two ends theirs).
    let mut file_names: Vec<String> = Vec::new();
    let mut by_step: Vec<Option<usize>> = vec![None; trace.steps.len()];
    for (k, &i) in applied.iter().enumerate() {
        if let Some(slot) = by_step.get_mut(i) {
            *slot = Some(k);
        }
    }
    let mut last: Vec<RingSnap> = Vec::new();
    for (i, s) in trace.steps.iter().enumerate() {
        if let Some((snaps, tables, nfiles)) = by_step[i].and_then(|k| rec.snaps.get(k)) {
            let binds = s.op.binds();
            let first = file_names.len();
            for n in first..*nfiles {
                let name = binds
                    .get(n - first)
                    .map_or_else(|| format!("@{n}"), |b| b.to_string());
                file_names.push(name);
            }
            for k in run.rings.len()..snaps.len() {
                let (name, flags) = match &s.op {
                    trace::Op::Setup { ring, flags, .. } if k + 1 == snaps.len() => {
                        (ring.clone(), *flags)
                    }
                    _ => (format!("ring{k}"), 0),
                };
                run.rings.push(RingInfo {
                    name,
                    created_at: i,
                    flags,
                });
            }
            last = snaps
                .iter()
                .zip(tables)
                .map(|(snap, table)| RingSnap {
                    table: table
                        .iter()
                        .map(|(slot, f)| {
                            let n = file_names
                                .get(f.0 as usize)
                                .cloned()
                                .unwrap_or_else(|| format!("@{}", f.0));
                            (*slot, n)
                        })
                        .collect(),
                    ..snap.clone()
                })
                .collect();
        }
        run.after.push(last.clone());
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "msgring-trace 1
setup r0 entries=4
setup r1 entries=2 cq_entries=2 flags=CQSIZE
push r0 msg_data(ring_fd=r1, result=1, user_data=0x10) user_data=1
push r0 msg_data(ring_fd=r1, result=2, user_data=0x20) user_data=2
push r0 msg_data(ring_fd=r1, result=3, user_data=0x30) user_data=3
enter r0 to_submit=3
reap r1 => cqes [ud=0x20 res=2 flags=0; ud=0x10 res=1 flags=0]
";

    #[test]
    fn the_model_run_names_rings_and_files_and_tracks_each_step() {
        let t = trace::parse(T).unwrap();
        let run = model_run(&t, Profile::V6_18);
        let names: Vec<&str> = run.rings.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r0", "r1"]);
        assert_eq!(run.after.len(), t.steps.len());
        // After the enter: r1's CQ holds two, the third overflowed; after the reap,
        // the CQ is empty and the overflow list still holds one.
        assert_eq!(
            (run.after[5][1].cq_ready(), run.after[5][1].overflow),
            (2, 1)
        );
        assert_eq!(
            (run.after[6][1].cq_ready(), run.after[6][1].overflow),
            (0, 1)
        );
        assert_eq!(run.after[4][0].sq_pending, 3);
    }

    #[test]
    fn the_page_marks_the_divergence_and_draws_choices_when_given() {
        let t = trace::parse(T).unwrap();
        let run = model_run(&t, Profile::V6_18);
        let mut input = ReportInput::against_annotations("t.trace", &t, &run);
        assert_eq!(input.divergence, Some(6));
        let page = render(&input);
        assert!(page.contains("id=\"divergence-marker\""));
        assert!(page.contains("cqes[0].user_data") && page.contains("cqes[1].res"));
        assert!(!page.contains("class=\"choice\""));
        input.choices = vec![Choice {
            step: 5,
            point: "iowq_order".into(),
            option: "reversed".into(),
        }];
        let page = render(&input);
        assert!(page.contains("class=\"choice\"") && page.contains("iowq_order = reversed"));
        // Hostile text cannot escape into the page.
        input.title = "<script>alert(1)</script>".into();
        assert!(!render(&input).contains("<script>"));
    }
}
