//! C2–C4 across a step: the CQ head and tail only move forward; the overflow list is
//! FIFO — what leaves it leaves from the front, in order, into the CQ, and what joins it
//! joins at the back; the dropped counter never decreases.

use super::violation;
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
            s.head = r.cq.head();
            s.tail = r.cq.tail();
            s.cq_overflow = r.cq_overflow;
            s.overflow.clear();
            s.overflow.extend(r.overflow.iter().copied());
        }
    }
}

pub fn check(before: &Snapshot, after: &World) -> Result<(), super::Violation> {
    for (i, (a, b)) in before.rings.iter().zip(after.rings()).enumerate() {
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
                format!("ring {i}: {flushed} overflowed CQEs left the list but the CQ grew by {tail_moved}"),
            );
        }
    }
    Ok(())
}
