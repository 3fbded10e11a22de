//! Between steps nothing is half-done: the completion batch is flushed, io-wq is idle,
//! and every task has run its task_work (all of it is signalled).

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
        if t.has_work() {
            return violation(
                "quiescence",
                format!("task t{i} kept {} task_work callbacks", t.callbacks.len()),
            );
        }
    }
    Ok(())
}
