//! C2–C4 across a step: the CQ head and tail only move forward; the overflow list is
//! FIFO — what leaves it leaves from the front, in order, into the CQ, and what joins it
//! joins at the back; the dropped counter never decreases.

use super::violation;
use crate::World;

pub fn check(before: &World, after: &World) -> Result<(), super::Violation> {
    for (i, (a, b)) in before.rings().iter().zip(after.rings()).enumerate() {
        let tail_moved = b.cq.tail().wrapping_sub(a.cq.tail());
        let head_moved = b.cq.head().wrapping_sub(a.cq.head());
        if head_moved > a.cq.ready().saturating_add(tail_moved) {
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
        let old: Vec<_> = a.overflow.iter().collect();
        let new: Vec<_> = b.overflow.iter().collect();
        let kept = (0..=old.len()).find(|&k| {
            let rest = &old[k..];
            rest.len() <= new.len() && rest.iter().zip(&new).all(|(x, y)| x == y)
        });
        let Some(flushed) = kept else {
            return violation(
                "fifo",
                format!("ring {i}: overflow list reordered or lost entries"),
            );
        };
        // What was flushed went into the CQ.
        if flushed > tail_moved as usize {
            return violation("fifo", format!("ring {i}: {flushed} overflowed CQEs left the list but the CQ grew by {tail_moved}"));
        }
    }
    Ok(())
}
