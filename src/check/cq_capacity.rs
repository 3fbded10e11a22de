//! C2: a CQ never holds more CQEs than it has slots, and an SQ never more than its
//! entries.

use super::violation;
use crate::World;

pub fn check(world: &World) -> Result<(), super::Violation> {
    for (i, r) in world.rings().iter().enumerate() {
        if r.cq.ready() > r.cq.entries() {
            return violation(
                "cq_capacity",
                format!(
                    "ring {i}: {} CQEs in a CQ of {}",
                    r.cq.ready(),
                    r.cq.entries()
                ),
            );
        }
        if r.sq.len() as u32 > r.sq_entries {
            return violation(
                "cq_capacity",
                format!("ring {i}: {} SQEs in an SQ of {}", r.sq.len(), r.sq_entries),
            );
        }
    }
    Ok(())
}
