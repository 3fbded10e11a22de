#![doc = include_str!("../README.md")]
//!
//! ## Modules, in the order the tutorial meets them
//!
//! - [`World`] and [`step`]: the state and the steps that change it;
//! - [`sqe`]: the raw `io_uring_sqe` and its builders ([`MsgRingData`], [`MsgRingSendFd`]);
//! - [`state`]: rings, CQs, overflow lists, file tables, tasks (plain data);
//! - [`check`]: invariant checkers;
//! - [`backend`]: the [`Backend`] trait shared with the kernel backend;
//! - [`report`]: a trace drawn as an HTML page, the first divergence marked;
//! - [`errno`], [`uapi`], [`profile`]: kernel names and numbers;
//! - [`sync`]: the std/loom/shuttle facade used by the concurrent layer and `uring`;
//! - [`uring`]: the io-uring crate's API on the model, and protocol checks
//!   ([`uring::sim::Check`]).

#![forbid(unsafe_code)]
// docs.rs: a badge on every item a feature gates (`real-backend`, `serde`, ...).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backend;
pub mod check;
pub mod choice;
pub mod concurrent;
pub mod errno;
mod exec;
pub mod explain;
pub mod fuzzing;
#[cfg(feature = "real-backend")]
pub mod kernel;
pub mod profile;
pub mod report;
pub mod sqe;
pub mod state;
pub mod step;
pub mod sync;
pub mod trace;
pub mod uapi;
pub mod uring;
mod world;

/// The code blocks of docs/loom.md and docs/protocols.md, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/loom.md")]
pub struct LoomDocs;

#[cfg(doctest)]
#[doc = include_str!("../docs/protocols.md")]
pub struct ProtocolDocs;

pub use backend::Backend;
pub use choice::{Choice, ChoicePoint, Chooser};
pub use errno::Errno;
pub use exec::{
    io_uring_fill_params, io_uring_sanitise_params, Successor, Successors, IO_LOCAL_TW_DEFAULT_MAX,
    MAX_FIXED_FILES, MODEL_NOFILE,
};
pub use profile::Profile;
pub use sqe::{DestSlot, MsgRingData, MsgRingSendFd, Nop, Sqe, Vfd};
pub use state::{Cqe, FileId, FileKind, RingId, TaskId};
pub use step::{Faults, RegisterArg, RingFdUpdate, Step, StepResult};
pub use world::{RingView, World};
