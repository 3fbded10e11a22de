//! The kernel objects MSG_RING touches, as plain data.
//!
//! Nothing here decides *what happens*: that is the `exec` module. This module holds the
//! state and the small mechanical operations whose meaning is fixed by the data layout
//! (CQ ring arithmetic, bitmap bits). Invariants over this state are checked by
//! [`crate::check`].

mod cq;
mod file;
mod filetable;
mod ring;
mod task;

pub use cq::{Cq, CqLayout, CqWriter, Cqe, PADDING_CQE};
pub use file::{File, FileId, FileKind};
pub use filetable::FileTable;
pub use ring::{Completed, Req, Ring, RingId, Work};
pub use task::{Callback, Task, TaskId};
