//! The protocol zoo: how runtimes use MSG_RING, written against `msgring::uring` the
//! way each runtime writes it, each with the historical (or classic) bug it had or
//! guards against. docs/protocols.md describes each one, its sources, the property
//! checked and the figures; `tests/protocols_*.rs` run them.
//!
//! Every protocol is a function that runs one execution on the current simulated
//! kernel (a [`msgring::uring::sim::Check`] body): it spawns its threads with
//! `sim::thread::spawn`, uses `msgring::sync` atomics and locks (so loom and shuttle
//! see them), notes its decisions in the schedule with `sim::note`, and checks its
//! property with `sim::ensure`.

pub mod a10;
pub mod helio;
pub mod i2o2;
pub mod proxy;
pub mod spargio;

use msgring::uring::cqueue;
use msgring::uring::IoUring;

/// Every CQE visible now, consumed.
pub fn drain(ring: &IoUring) -> Vec<cqueue::Entry> {
    ring.completion_shared().collect()
}

/// `std::io::Error` for a CQE's negative result.
pub fn cqe_error(res: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(-res)
}
