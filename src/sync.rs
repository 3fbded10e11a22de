//! The synchronisation facade: `std` normally, `loom` under `cfg(loom)`.
//!
//! The sequential [`World`](crate::World) is plain data (it must be `Clone + Eq` so
//! fuzzers and explorers can fork and compare it). State that the kernel shares between
//! tasks — CQ head/tail, the overflow list, task_work lists, file tables — is wrapped in
//! these primitives by the concurrent layer, so the same code runs on real threads and
//! under loom's exhaustive scheduler.

#[cfg(loom)]
pub use loom::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
};

#[cfg(not(loom))]
pub use std::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
};
