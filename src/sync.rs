//! The synchronisation facade: `std` normally, `loom` under `cfg(loom)`, `shuttle` under
//! `cfg(shuttle)`.
//!
//! The sequential [`World`](crate::World) is plain data (it must be `Clone + Eq` so
//! fuzzers and explorers can fork and compare it). State that the kernel shares between
//! tasks — CQ head/tail, the overflow list, task_work lists, file tables — is wrapped in
//! these primitives by the concurrent layer, so the same code runs on real threads and
//! under loom's exhaustive scheduler or shuttle's randomized ones.
//!
//! A protocol under test uses these names too (`msgring::sync::{Arc, AtomicU32, Mutex,
//! thread}`): then `RUSTFLAGS="--cfg loom"` or `--cfg shuttle` puts the protocol's own
//! atomics and locks under the same scheduler as the simulated kernel, and the user's
//! crate needs no loom or shuttle dependency of its own.

#[cfg(loom)]
pub use loom::{
    lazy_static,
    sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread, thread_local,
};

#[cfg(all(shuttle, not(loom)))]
pub use shuttle::{
    lazy_static,
    sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread, thread_local,
};

#[cfg(not(any(loom, shuttle)))]
pub use std::{
    sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread, thread_local,
};

/// Which scheduler the facade runs under in this build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduler {
    /// Operating-system threads (`std`).
    Std,
    /// loom's exhaustive, preemption-bounded exploration (`--cfg loom`).
    Loom,
    /// shuttle's randomized schedulers (`--cfg shuttle`).
    Shuttle,
}

/// The scheduler of this build.
pub const SCHEDULER: Scheduler = if cfg!(loom) {
    Scheduler::Loom
} else if cfg!(shuttle) {
    Scheduler::Shuttle
} else {
    Scheduler::Std
};
