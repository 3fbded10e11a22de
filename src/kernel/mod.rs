//! [`KernelBackend`]: the running kernel as a [`crate::Backend`], and differential checking of
//! the model against it ([`diff_steps`], [`diff_run`], [`diff_trace`], [`minimize_trace`], [`check`]).
//!
//! Steps run on a [`msgring_real_backend::Host`]: real rings, real files, one OS thread
//! per task. Virtual fds are the model's numbers: the model and the host both hand
//! them out from 0 in creation order and never reuse one (a pipe takes two, read end
//! first), so as long as the same creating steps succeed on both sides the numbers
//! agree. Tasks are numbered the same way (task 0 exists from the start).
//!
//! File identities are mapped back to the [`crate::FileId`]s the model assigns: file objects
//! (rings included) are numbered in creation order, and a fixed slot reports its
//! file's identity class ([`crate::World::identity_class`]): a pipe's write end is its read
//! end's class, every eventfd is the first eventfd's class.
//!
//! The kernel runs io-wq, task_work and SQPOLL threads asynchronously, so after each
//! step the backend waits for quiescence: it polls every ring's cheap shared state
//! (CQ occupancy, `sq_flags`, overflow counter, unconsumed SQEs) until it stops
//! changing, or, in a differential run, until it matches what the model predicts (a
//! hint for how long to wait, never the result), within a bounded settle time.
//!
//! The module is split by job: `backend` drives the host (one function per step
//! kind), `settle` decides when the kernel has finished a step, `diff` runs a trace on
//! both sides and asks [`crate::explain`] whether the model's choice points explain
//! what the kernel did, `signature` names a divergence, `minimize` shrinks a diverging
//! trace, and `check` runs random traces.

mod backend;
mod check;
mod diff;
mod ftrace;
mod minimize;
mod settle;
mod signature;

pub use backend::{own_fd_table, KernelBackend};
pub use check::*;
pub use diff::*;
pub use minimize::{annotate_with_kernel, minimize_trace};
pub use settle::{Hint, Settle};
pub use signature::signature;

use crate::Profile;
use msgring_real_backend as rb;
use std::fmt;

/// How a step after the time budget ran out reads in the outcome notes: the kernel
/// side reports `unmodelled`, so [`TraceDiff::compare`] stops there (see
/// [`TraceDiff::ran_out_of_time`]).
pub const OUT_OF_TIME: &str = "the time budget for this trace ran out";

/// The real-kernel driver crate.
pub use msgring_real_backend as driver;
pub use rb::KernelInfo;

/// The kernel backend cannot run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    pub reason: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernel backend unavailable: {}", self.reason)
    }
}

impl std::error::Error for Unavailable {}

impl From<rb::Unavailable> for Unavailable {
    fn from(u: rb::Unavailable) -> Unavailable {
        Unavailable { reason: u.reason }
    }
}

/// Probes the running kernel: release, features, supported opcodes. Fails with the
/// reason when io_uring cannot be used (not Linux, ENOSYS, EPERM from
/// `kernel.io_uring_disabled`).
pub fn probe() -> Result<KernelInfo, Unavailable> {
    // The kernel does not change under a running process: probe once.
    static PROBED: std::sync::OnceLock<Result<KernelInfo, Unavailable>> =
        std::sync::OnceLock::new();
    PROBED
        .get_or_init(|| rb::probe().map_err(Unavailable::from))
        .clone()
}

/// The model profile for the running kernel (its release with the stable patch
/// level, so stable backports count), or why there is none. A kernel newer than the
/// newest the model knows gets a profile that runs as the newest
/// ([`Profile::newer_warning`]: callers print it).
pub fn kernel_profile(info: &KernelInfo) -> Result<Profile, Unavailable> {
    Profile::for_release(&info.release).map_err(|e| Unavailable {
        reason: format!("no model profile for kernel {}: {e}", info.release),
    })
}
