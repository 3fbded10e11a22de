//! C3/C4 and C6: `IORING_SQ_CQ_OVERFLOW` is set exactly while the overflow list is
//! non-empty; IORING_SQ_TASKRUN only on TASKRUN_FLAG rings; an enabled SINGLE_ISSUER
//! ring has a submitter task and a disabled one none.

use super::violation;
use crate::uapi::{setup, sq};
use crate::World;

pub fn check(world: &World) -> Result<(), super::Violation> {
    for (i, r) in world.rings().iter().enumerate() {
        let flagged = r.sq_flags & sq::CQ_OVERFLOW != 0;
        if flagged == r.overflow.is_empty() {
            return violation(
                "flags",
                format!(
                    "ring {i}: CQ_OVERFLOW={flagged} with {} overflowed CQEs",
                    r.overflow.len()
                ),
            );
        }
        if r.sq_flags & sq::TASKRUN != 0 && !r.has(setup::TASKRUN_FLAG) {
            return violation(
                "flags",
                format!("ring {i}: SQ_TASKRUN without IORING_SETUP_TASKRUN_FLAG (B7)"),
            );
        }
        if r.has(setup::SINGLE_ISSUER) && r.enabled != r.submitter.is_some() {
            return violation(
                "flags",
                format!(
                    "ring {i}: enabled={} but submitter={:?}",
                    r.enabled, r.submitter
                ),
            );
        }
    }
    Ok(())
}
