//! Where the simulated kernel takes its nondeterministic decisions from: the model's
//! choice points ([`crate::choice`]), decided by the scheduler of the build.
//!
//! * std threads: a seeded [`RandomChooser`](crate::choice::RandomChooser) per run (the
//!   seed is in the report);
//! * shuttle: shuttle's own scheduler-controlled randomness (`shuttle::rand`), so a
//!   failing schedule replays with its choices;
//! * loom: a *script*, one option per choice point met, in order; the checker runs loom's
//!   whole exploration once per script and derives new scripts from the points each
//!   execution met (see [`next_scripts`]), so every option of every point reachable
//!   under loom's bound is explored.

use crate::choice::{Choice, ChoicePoint, Chooser, RandomChooser, Taken};
use std::collections::BTreeSet;

pub(crate) enum Mode {
    /// Always option 0 (what `World::apply` does).
    Default,
    Random(RandomChooser),
    /// Options in order; past the end, option 0.
    #[cfg_attr(not(loom), allow(dead_code))]
    Script(Vec<u32>),
    #[cfg(all(shuttle, not(loom)))]
    Shuttle,
}

/// The chooser of one kernel, with the decisions it took.
pub(crate) struct ChooserState {
    mode: Mode,
    log: Vec<Taken>,
}

impl ChooserState {
    pub(crate) fn new(mode: Mode) -> ChooserState {
        ChooserState {
            mode,
            log: Vec::new(),
        }
    }

    /// Every decision taken so far, in order.
    pub(crate) fn log(&self) -> &[Taken] {
        &self.log
    }

    pub(crate) fn path(&self) -> Vec<Choice> {
        self.log.iter().map(Taken::choice).collect()
    }
}

impl Chooser for ChooserState {
    fn choose(&mut self, point: ChoicePoint, arity: u32) -> u32 {
        let pick = match &mut self.mode {
            Mode::Default => 0,
            Mode::Random(r) => r.choose(point, arity),
            Mode::Script(s) => s.get(self.log.len()).copied().unwrap_or(0),
            #[cfg(all(shuttle, not(loom)))]
            Mode::Shuttle => {
                use shuttle::rand::Rng;
                shuttle::rand::thread_rng().gen_range(0..arity.max(1))
            }
        };
        let option = if pick < arity { pick } else { 0 };
        self.log.push(Taken {
            point,
            arity,
            option,
        });
        option
    }
}

/// The scripts an execution that met `log` opens up: for every point met, every other
/// option, with the decisions before it kept. Scripts already in `seen` are skipped;
/// new ones are added to it.
#[cfg_attr(not(loom), allow(dead_code))]
pub(crate) fn next_scripts(log: &[Taken], seen: &mut BTreeSet<Vec<u32>>) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for (i, t) in log.iter().enumerate() {
        let prefix: Vec<u32> = log[..i].iter().map(|t| t.option).collect();
        for o in 0..t.arity {
            if o == t.option {
                continue;
            }
            let mut s = prefix.clone();
            s.push(o);
            // A script that ends in a default decision is the same as its prefix.
            while s.last() == Some(&0) {
                s.pop();
            }
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_cover_every_option_once() {
        let t = |arity, option| Taken {
            point: ChoicePoint::SettleOrder,
            arity,
            option,
        };
        let mut seen = BTreeSet::new();
        seen.insert(Vec::new());
        let first = next_scripts(&[t(2, 0), t(3, 0)], &mut seen);
        assert_eq!(first, vec![vec![1], vec![0, 1], vec![0, 2]]);
        // Running [1] meets a different second point: only its other options are new.
        let more = next_scripts(&[t(2, 1), t(2, 0)], &mut seen);
        assert_eq!(more, vec![vec![1, 1]]);
        assert!(next_scripts(&[t(2, 0), t(3, 2)], &mut seen).is_empty());
    }

    #[test]
    fn a_script_is_followed_then_defaults() {
        let mut c = ChooserState::new(Mode::Script(vec![1]));
        assert_eq!(c.choose(ChoicePoint::IowqOrder, 2), 1);
        assert_eq!(c.choose(ChoicePoint::IowqOrder, 2), 0);
        assert_eq!(c.log().len(), 2);
    }
}
