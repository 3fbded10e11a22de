//! C2–C4 across a step: the CQ head and tail only move forward; the overflow list is
//! FIFO — what leaves it leaves from the front, in order, into the CQ, and what joins it
//! joins at the back; the dropped counter never decreases.

use super::violation;
use crate::state::Ring;
use crate::{Cqe, World};

/// What this checker remembers of the state before a step: per ring, the CQ head and
/// tail, the dropped counter and the overflow list. Cheaper to keep than a whole
/// [`World`]; [`Snapshot::refresh`] reuses its memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    rings: Vec<RingSnap>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct RingSnap {
    head: u32,
    tail: u32,
    cq_overflow: u32,
    overflow: Vec<Cqe>,
}

impl Snapshot {
    pub fn of(world: &World) -> Snapshot {
        let mut s = Snapshot::default();
        s.refresh(world);
        s
    }

    /// Records `world`, reusing this snapshot's buffers.
    pub fn refresh(&mut self, world: &World) {
        self.rings
            .resize_with(world.rings().len(), RingSnap::default);
        for (s, r) in self.rings.iter_mut().zip(world.rings()) {
            s.record(r);
        }
    }

    /// [`check`] from this snapshot to `world`, then [`Snapshot::refresh`] to `world`,
    /// in one pass over the rings (a checker that runs after every step: this step's
    /// state is the next one's state before). After a violation the snapshot is
    /// partly refreshed.
    pub fn check_and_refresh(&mut self, world: &World) -> Result<(), super::Violation> {
        let rings = world.rings();
        for (i, (s, r)) in self.rings.iter_mut().zip(rings).enumerate() {
            check_ring(i, s, r)?;
            s.record(r);
        }
        if self.rings.len() < rings.len() {
            let known = self.rings.len();
            self.rings.resize_with(rings.len(), RingSnap::default);
            for (s, r) in self.rings[known..].iter_mut().zip(&rings[known..]) {
                s.record(r);
            }
        } else {
            self.rings.truncate(rings.len());
        }
        Ok(())
    }
}

impl RingSnap {
    fn record(&mut self, r: &Ring) {
        self.head = r.cq.head();
        self.tail = r.cq.tail();
        self.cq_overflow = r.cq_overflow;
        self.overflow.clear();
        if !r.overflow.is_empty() {
            self.overflow.extend(r.overflow.iter().copied());
        }
    }
}

pub fn check(before: &Snapshot, after: &World) -> Result<(), super::Violation> {
    for (i, (a, b)) in before.rings.iter().zip(after.rings()).enumerate() {
        check_ring(i, a, b)?;
    }
    Ok(())
}

/// Ring `i` from `a` (before the step) to `b`.
fn check_ring(i: usize, a: &RingSnap, b: &Ring) -> Result<(), super::Violation> {
    let tail_moved = b.cq.tail().wrapping_sub(a.tail);
    let head_moved = b.cq.head().wrapping_sub(a.head);
    let ready_before = a.tail.wrapping_sub(a.head);
    if head_moved > ready_before.saturating_add(tail_moved) {
        return violation("fifo", format!("ring {i}: the CQ head moved past the tail"));
    }
    if b.cq_overflow < a.cq_overflow {
        return violation(
            "fifo",
            format!(
                "ring {i}: cq_overflow went from {} to {}",
                a.cq_overflow, b.cq_overflow
            ),
        );
    }
    // Entries that stayed in the overflow list keep their order: the old list minus
    // a flushed prefix must be a prefix of the new list.
    let old = &a.overflow;
    let new = &b.overflow;
    let kept = (0..=old.len()).find(|&k| {
        let rest = &old[k..];
        rest.len() <= new.len() && rest.iter().zip(new.iter()).all(|(x, y)| x == y)
    });
    let Some(flushed) = kept else {
        return violation(
            "fifo",
            format!("ring {i}: overflow list reordered or lost entries"),
        );
    };
    // What was flushed went into the CQ.
    if flushed > tail_moved as usize {
        return violation(
            "fifo",
            format!(
                "ring {i}: {flushed} overflowed CQEs left the list but the CQ grew by {tail_moved}"
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{generate_steps, SplitMix};
    use crate::{Backend, Faults, Step, StepResult};

    /// Runs steps, comparing `check` + `refresh` with `check_and_refresh` after each.
    struct Both {
        world: World,
        two_passes: Snapshot,
        one_pass: Snapshot,
        steps: usize,
    }

    impl Backend for Both {
        fn name(&self) -> String {
            self.world.name()
        }
        fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
            let r = self.world.apply_with(step, faults);
            let want = check(&self.two_passes, &self.world);
            self.two_passes.refresh(&self.world);
            assert_eq!(self.one_pass.check_and_refresh(&self.world), want);
            assert_eq!(self.one_pass, self.two_passes);
            self.steps += 1;
            r
        }
    }

    #[test]
    fn check_and_refresh_is_check_then_refresh() {
        let mut steps = 0;
        for seed in 0..40 {
            let world = World::default();
            let mut b = Both {
                two_passes: Snapshot::of(&world),
                one_pass: Snapshot::of(&world),
                world,
                steps: 0,
            };
            generate_steps(&mut SplitMix(seed), 40).run_with(&mut b, |_, _, _| {});
            steps += b.steps;
        }
        assert!(steps > 1000, "{steps} steps");
    }

    #[test]
    fn check_and_refresh_reports_a_violation() {
        let mut world = World::default();
        let fd = world.apply(&Step::Setup {
            task: crate::TaskId(0),
            entries: 4,
            cq_entries: 0,
            flags: 0,
        });
        assert!(matches!(fd, StepResult::Ret(fd) if fd >= 0), "{fd:?}");
        let mut before = Snapshot::of(&world);
        // The counter of dropped CQEs went down: 1 -> 0.
        before.rings[0].cq_overflow = 1;
        assert_eq!(check(&before, &world).unwrap_err().checker, "fifo");
        let v = before.check_and_refresh(&world).unwrap_err();
        assert_eq!(v.checker, "fifo");
    }
}
