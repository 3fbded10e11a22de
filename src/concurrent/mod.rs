//! # Concurrent MSG_RING: rings messaging each other from several threads
//!
//! The sequential [`World`](crate::World) runs one system call at a time. This module
//! runs the same MSG_RING rules on real threads, with the kernel's locks and lock-free
//! structures made of [`crate::sync`] primitives, so that under `RUSTFLAGS="--cfg loom"`
//! [loom](https://docs.rs/loom) explores every interleaving (and checks the memory
//! ordering of the CQ ring), and on std threads it runs as an ordinary program.
//!
//! ## What is modelled (6.18)
//!
//! * Per ring: the `uring_lock` (held by the owner while it submits; it protects the
//!   fixed-file table and, on a `lockless_cq` IOPOLL ring, CQ posting), the
//!   `completion_lock` (CQ posting on other rings, and the overflow list on every ring),
//!   the CQ head/tail shared with userspace (C2: slots written, then `tail` stored with
//!   Release; userspace loads `tail` with Acquire and stores `head` with Release), the
//!   overflow list (C3, C4), and the DEFER_TASKRUN local work list (R14), drained only by
//!   the owner in `io_uring_enter(GETEVENTS)`.
//! * Per task: its task_work list (R24), run on return from a system call, at exit, and
//!   eventually (TWA_SIGNAL) after the thread's program ended.
//! * io-wq: a worker thread per punted request. Inline issue only `try_lock`s the target's
//!   `uring_lock`; on contention the request is retried from io-wq with a blocking lock
//!   (R22), invisibly to the user.
//!
//! Ring `i` is owned (SINGLE_ISSUER) by thread `i`. The semantic decisions (error codes,
//! install rules) come from the sequential model ([`rules`](self) module docs), and the
//! [`Scenario`] checker compares every concurrent outcome with the sequential model's
//! outcomes for all serializations of the same per-thread programs (refinement).
//!
//! ## Checking your own protocol
//!
//! Describe rings and what each owner thread does, then call [`Scenario::explore`]:
//!
//! ```
//! use msgring::concurrent::{Op, RingSpec, Scenario};
//! let mut sc = Scenario::new();
//! let waker = sc.ring(RingSpec::plain());
//! let sleeper = sc.ring(RingSpec::defer_taskrun());
//! sc.program(waker, vec![Op::data(sleeper, 1)]);
//! sc.program(sleeper, vec![Op::Wait { min_complete: 1 }, Op::Reap]);
//! // Under --cfg loom this explores every interleaving; on std threads it runs 8 times.
//! sc.explore(8);
//! ```
//!
//! For protocols with their own logic between system calls, use [`Scenario::start`],
//! give each thread an [`Issuer`], join the threads and call [`Session::finish`]. See
//! docs/loom.md for both worked examples and the commands.

mod cq;
mod kernel;
mod rules;
mod scenario;

pub use cq::OVERFLOW_CAP;
pub use kernel::Kernel;
pub use scenario::{
    src_user_data, Issuer, Leftovers, Op, Outcome, RingSpec, Scenario, Session, Stream, GARBAGE,
};

/// Re-injected historical bugs, for tests that show the checker has teeth.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mutation {
    #[default]
    None,
    /// B3 (≤6.1): MSG_DATA posts to an IOPOLL target without taking its `uring_lock`,
    /// racing with the owner's own (lockless) CQ posting.
    B3IopollNoLock,
    /// B12 (6.11-dev): the overflow append does not hold `completion_lock`.
    B12OverflowNoLock,
    /// B15 (6.0-era): io-wq holds the source ring's `uring_lock` while blocking on the
    /// target's (taken source-first, not address-ordered): two rings sending each other
    /// files via IOSQE_ASYNC deadlock.
    B15DoubleLock,
    /// The kernel publishes the CQ tail with a Relaxed store (C2 ordering broken).
    CqTailRelaxed,
}

/// Runs `f` the way [`Scenario::explore`] does: under `--cfg loom`, once per interleaving
/// loom generates (`loom::model::Builder`, honouring `LOOM_MAX_PREEMPTIONS` and the other
/// `LOOM_*` variables); on std threads, `runs` times. Use it around [`Scenario::start`]
/// for protocols written against [`Issuer`] directly.
pub fn model<F>(runs: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    #[cfg(loom)]
    {
        let _ = runs;
        loom::model::Builder::new().check(f);
    }
    #[cfg(not(loom))]
    for _ in 0..runs {
        f();
    }
}
