//! Invariant checkers: each one its own module, each a pure function of the model's
//! state (or of two consecutive states), returning the first [`Violation`] it finds.
//!
//! [`check_all`] runs every state invariant; [`check_transition`] every invariant of a
//! step (old state → new state). Fuzzers and property tests call both after every step.

pub mod alloc_hint;
pub mod cq_capacity;
pub mod fifo;
pub mod flags;
pub mod messages;
pub mod quiescence;
pub mod refcount;

use crate::World;
use std::fmt;

/// A broken invariant: which checker, and what it saw.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Violation {
    pub checker: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant `{}` violated: {}", self.checker, self.detail)
    }
}

impl std::error::Error for Violation {}

pub(crate) fn violation(checker: &'static str, detail: String) -> Result<(), Violation> {
    Err(Violation { checker, detail })
}

/// Every invariant of a single state (between steps).
pub fn check_all(world: &World) -> Result<(), Violation> {
    check_all_with(world, &mut Scratch::default())
}

/// Buffers the checkers reuse from one call to the next (a fuzzer checks every state
/// of every input).
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    refs: Vec<u32>,
}

/// [`check_all`] with buffers reused across calls.
pub fn check_all_with(world: &World, scratch: &mut Scratch) -> Result<(), Violation> {
    cq_capacity::check(world)?;
    refcount::check_with(world, &mut scratch.refs)?;
    alloc_hint::check(world)?;
    flags::check(world)?;
    quiescence::check(world)?;
    Ok(())
}

pub use fifo::Snapshot;

/// Every invariant of a step, from the state before it to the state after it.
pub fn check_transition(before: &World, after: &World) -> Result<(), Violation> {
    check_since(&Snapshot::of(before), after)
}

/// [`check_transition`] from a [`Snapshot`] of the state before the step (cheaper
/// than keeping a clone of the whole world).
pub fn check_since(before: &Snapshot, after: &World) -> Result<(), Violation> {
    fifo::check(before, after)?;
    Ok(())
}

/// [`check_since`], then `before.refresh(after)` (the snapshot for the next step), in
/// one pass. After a violation `before` is not meaningful.
pub fn check_since_and_refresh(before: &mut Snapshot, after: &World) -> Result<(), Violation> {
    before.check_and_refresh(after)
}
