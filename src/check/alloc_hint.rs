//! R21, finding 8: a table's `alloc_hint` stays inside the table (at most `nr`, the
//! position after the last slot) and the alloc range lies within the table.

use super::violation;
use crate::World;

pub fn check(world: &World) -> Result<(), super::Violation> {
    for (i, r) in world.rings().iter().enumerate() {
        let t = &r.table;
        if t.alloc_hint > t.nr() {
            return violation(
                "alloc_hint",
                format!(
                    "ring {i}: alloc_hint {} past a table of {}",
                    t.alloc_hint,
                    t.nr()
                ),
            );
        }
        if t.alloc_start > t.alloc_end || t.alloc_end > t.nr() {
            return violation(
                "alloc_hint",
                format!(
                    "ring {i}: alloc range [{}, {}) outside a table of {}",
                    t.alloc_start,
                    t.alloc_end,
                    t.nr()
                ),
            );
        }
    }
    Ok(())
}
