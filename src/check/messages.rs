//! Message conservation (R12–R14, C3): for a scenario that sends MSG_DATA messages with
//! distinct target `user_data`, every send the source saw succeed ends as exactly one
//! target CQE — reaped, in the CQ, in the overflow list, or still queued as local work of
//! a DEFER_TASKRUN target — and a failed send leaves none.

use super::violation;
use crate::state::Work;
use crate::{Cqe, RingId, World};

/// Where a target CQE with a given `user_data` currently is, counted over the rings.
pub fn in_flight(world: &World, ring: RingId, user_data: u64, reaped: &[Cqe]) -> usize {
    let r = world.ring(ring);
    let queued = r
        .local_work
        .iter()
        .chain(&r.retry_work)
        .filter(|w| matches!(w, Work::PostAux { cqe, .. } if cqe.user_data == user_data));
    reaped.iter().filter(|c| c.user_data == user_data).count()
        + r.cq
            .peek()
            .iter()
            .filter(|c| c.user_data == user_data)
            .count()
        + r.overflow
            .iter()
            .filter(|c| c.user_data == user_data)
            .count()
        + queued.count()
}

/// Checks one message: `succeeded` is what the source's CQE said; `dropped` is how many
/// CQEs the ring's `cq_overflow` counter admits losing.
pub fn check_message(
    world: &World,
    ring: RingId,
    user_data: u64,
    succeeded: bool,
    reaped: &[Cqe],
) -> Result<(), super::Violation> {
    let n = in_flight(world, ring, user_data, reaped);
    let dropped = world.ring(ring).cq_overflow as usize;
    match (succeeded, n) {
        (true, 1) | (false, 0) => Ok(()),
        (true, 0) if dropped > 0 => Ok(()),
        _ => violation("messages", format!("message ud={user_data:#x} to ring {}: source succeeded={succeeded}, {n} copies exist", ring.0)),
    }
}
