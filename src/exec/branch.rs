//! Taking other branches: applying a step with a [`Chooser`], replaying a recorded
//! choice path, and enumerating every outcome of a step (see [`crate::choice`]).

use crate::choice::{next_script, Choice, ChoicePoint, Chooser, PathMisfit, Taken};
use crate::step::{Faults, Step, StepResult};
use crate::World;

/// One outcome of a step: the world after it, what it returned, and the decisions that
/// led there (every choice point met, default options included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Successor {
    pub world: World,
    pub result: StepResult,
    pub path: Vec<Taken>,
}

impl Successor {
    /// The decisions as a replayable path.
    pub fn choices(&self) -> Vec<Choice> {
        self.path.iter().map(Taken::choice).collect()
    }
}

impl World {
    /// Runs `step` recording the choice points it meets, taking `script[i]` at the
    /// `i`-th (option 0 past its end). Returns the result, the points met and the first
    /// one that did not fit the script.
    pub(crate) fn apply_scripted(
        &mut self,
        step: &Step,
        faults: Faults,
        script: Vec<u32>,
        names: Vec<ChoicePoint>,
    ) -> (StepResult, Vec<Taken>, Option<(usize, ChoicePoint, u32)>) {
        self.decide.start(script, names);
        let result = self.apply_with(step, faults);
        let (log, misfit) = self.decide.finish();
        (result, log, misfit)
    }

    /// Switches a choice point off (`on == false`: it always takes the default and
    /// is never met, as if the model had no such point) or on again. All are on in a
    /// new world. For tests that show a point is needed, and for users who want to
    /// rule a behaviour out.
    pub fn set_choice_point(&mut self, point: ChoicePoint, on: bool) {
        self.decide.set_enabled(point, on);
    }

    /// Whether a choice point is on (see [`World::set_choice_point`]).
    pub fn choice_point_enabled(&self, point: ChoicePoint) -> bool {
        self.decide.enabled(point)
    }

    /// Applies `step`, letting `chooser` pick the option at every choice point the step
    /// meets. Returns the result and the decisions taken (replay them with
    /// [`World::apply_path`]). With [`DefaultChooser`](crate::choice::DefaultChooser)
    /// this is [`World::apply_with`].
    ///
    /// The step is re-run from a copy of the world each time the chooser leaves the
    /// default (a step is deterministic given its decisions), so a chooser is asked
    /// about each point once, in the order the step meets them.
    pub fn apply_choosing(
        &mut self,
        step: &Step,
        faults: Faults,
        chooser: &mut dyn Chooser,
    ) -> (StepResult, Vec<Taken>) {
        let base = self.clone();
        let mut script: Vec<u32> = Vec::new();
        loop {
            let (result, log, _) = self.apply_scripted(step, faults, script.clone(), Vec::new());
            let mut rerun = false;
            for t in &log[script.len()..] {
                let pick = chooser.choose(t.point, t.arity);
                let pick = if pick < t.arity { pick } else { 0 };
                script.push(pick);
                if pick != 0 {
                    rerun = true;
                    break;
                }
            }
            if !rerun {
                return (result, log);
            }
            *self = base.clone();
        }
    }

    /// Applies `step` taking exactly the decisions of `path` (as
    /// [`World::apply_choosing`] or [`World::successors`] recorded them; trailing
    /// default choices may be left out). Fails, with the world as the step left it
    /// taking option 0 from the misfit on, when the step meets other points than the
    /// path names, an option out of range, or fewer points than the path has.
    pub fn apply_path(
        &mut self,
        step: &Step,
        faults: Faults,
        path: &[Choice],
    ) -> Result<(StepResult, Vec<Taken>), PathMisfit> {
        let script = path.iter().map(|c| c.option).collect();
        let names = path.iter().map(|c| c.point).collect();
        let (result, log, misfit) = self.apply_scripted(step, faults, script, names);
        if let Some((index, point, arity)) = misfit {
            return Err(PathMisfit {
                index,
                wanted: path[index],
                met: Some((point, arity)),
            });
        }
        if log.len() < path.len() {
            return Err(PathMisfit {
                index: log.len(),
                wanted: path[log.len()],
                met: None,
            });
        }
        Ok((result, log))
    }

    /// Every outcome of `step` from this world, one per path through the choice points
    /// it meets, in depth-first order with the default path first. Outcomes reached by
    /// different paths are not merged.
    pub fn successors<'a>(&'a self, step: &'a Step, faults: Faults) -> Successors<'a> {
        Successors {
            base: self,
            step,
            faults,
            next: Some(Vec::new()),
        }
    }
}

/// The iterator of [`World::successors`].
pub struct Successors<'a> {
    base: &'a World,
    step: &'a Step,
    faults: Faults,
    next: Option<Vec<u32>>,
}

impl Iterator for Successors<'_> {
    type Item = Successor;

    fn next(&mut self) -> Option<Successor> {
        let script = self.next.take()?;
        let mut world = self.base.clone();
        let (result, path, _) = world.apply_scripted(self.step, self.faults, script, Vec::new());
        self.next = next_script(&path);
        Some(Successor {
            world,
            result,
            path,
        })
    }
}
