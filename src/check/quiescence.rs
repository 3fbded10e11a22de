//! Between steps nothing is half-done: the completion batch is flushed, io-wq is idle,
//! and a task that was signalled for task_work has run it.

use super::violation;
use crate::World;

pub fn check(world: &World) -> Result<(), super::Violation> {
    if !world.batch.is_empty() {
        return violation(
            "quiescence",
            format!("{} completions left unflushed", world.batch.len()),
        );
    }
    if !world.iowq().is_empty() {
        return violation(
            "quiescence",
            format!("{} io-wq items left unrun", world.iowq().len()),
        );
    }
    for (i, t) in world.tasks().iter().enumerate() {
        if t.alive && t.tw_signalled && !t.tw.is_empty() {
            return violation(
                "quiescence",
                format!(
                    "task t{i} was signalled but kept {} task_work items",
                    t.tw.len()
                ),
            );
        }
    }
    Ok(())
}
