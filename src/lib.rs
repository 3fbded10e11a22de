//! # msgring: an executable model of io_uring's MSG_RING
//!
//! (Tutorial-style crate documentation lands with the README.)

#![forbid(unsafe_code)]

pub mod backend;
pub mod check;
pub mod errno;
mod exec;
pub mod profile;
pub mod sqe;
pub mod state;
pub mod step;
pub mod sync;
pub mod uapi;
mod world;

pub use backend::Backend;
pub use errno::Errno;
pub use exec::{
    io_uring_fill_params, io_uring_sanitise_params, IO_LOCAL_TW_DEFAULT_MAX, MAX_FIXED_FILES,
    MODEL_NOFILE,
};
pub use profile::Profile;
pub use sqe::{DestSlot, MsgRingData, MsgRingSendFd, Nop, Sqe, Vfd};
pub use state::{Cqe, FileId, FileKind, RingId, TaskId};
pub use step::{Faults, Step, StepResult};
pub use world::{RingView, World};
