//! Steps: what a scenario asks of the kernel, one system call or userspace action at a
//! time, and what each step returns.

use crate::sqe::{Sqe, Vfd};
use crate::state::{Cqe, FileId, TaskId};

/// One step of a scenario. Rings and files are named by their fd ([`Vfd`]); tasks by
/// [`TaskId`]. Steps that are system calls name the task that makes them.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Step {
    /// `io_uring_setup(entries, {flags, cq_entries})` by `task`: returns the ring fd.
    Setup {
        task: TaskId,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    },
    /// `pipe2`: returns [read fd, write fd].
    Pipe,
    /// `eventfd`: returns the fd.
    Eventfd,
    /// A regular file (memfd/tmpfile in the real backend): returns the fd.
    RegularFile,
    /// `close(fd)`.
    Close { fd: Vfd },
    /// Starts a task (thread): returns its id.
    SpawnTask,
    /// The task exits (its rings stay open: the fd table is process-wide).
    ExitTask { task: TaskId },
    /// `IORING_REGISTER_FILES` with these fds (-1 = sparse entry).
    RegisterFiles {
        task: TaskId,
        ring: Vfd,
        fds: Vec<i32>,
    },
    /// `IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE`: `nr` empty slots.
    RegisterFilesSparse { task: TaskId, ring: Vfd, nr: u32 },
    /// `IORING_REGISTER_FILES_UPDATE` at `offset` (-1 clears a slot, -2 skips it).
    UpdateFiles {
        task: TaskId,
        ring: Vfd,
        offset: u32,
        fds: Vec<i32>,
    },
    /// `IORING_UNREGISTER_FILES`.
    UnregisterFiles { task: TaskId, ring: Vfd },
    /// `IORING_REGISTER_FILE_ALLOC_RANGE`.
    FileAllocRange {
        task: TaskId,
        ring: Vfd,
        off: u32,
        len: u32,
    },
    /// `IORING_REGISTER_ENABLE_RINGS`.
    EnableRings { task: TaskId, ring: Vfd },
    /// Userspace writes an SQE into the SQ (not yet submitted). -EBUSY if the SQ is full.
    Push { ring: Vfd, sqe: Sqe },
    /// `io_uring_enter(ring, to_submit, min_complete, flags)` by `task`. A wait that
    /// would block ends with -ETIME (the real backend bounds every wait).
    Enter {
        task: TaskId,
        ring: Vfd,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
    },
    /// Userspace reads up to `max` CQEs and advances the CQ head.
    Reap { ring: Vfd, max: u32 },
    /// `io_uring_register(-1, IORING_REGISTER_SEND_MSG_RING, &sqe, 1)` by `task` (R30).
    SyncMsg { task: TaskId, sqe: Sqe },
    /// `io_uring_register(fd, opcode, arg, nr_args)` by `task` with every operand as
    /// given: the sync message's own operands (fd, nr_args, a NULL arg), registered
    /// ring fds, personalities. With `IORING_REGISTER_USE_REGISTERED_RING` in `opcode`,
    /// `fd` is an index into the task's registered ring fds, not a virtual fd.
    Register {
        task: TaskId,
        fd: Vfd,
        opcode: u32,
        arg: RegisterArg,
        nr_args: u32,
    },
    /// Which file fixed slot `slot` of `ring` holds (no side effects).
    QuerySlot { ring: Vfd, slot: u32 },
    /// Records what userspace can see of `ring` (no side effects): a checkpoint.
    Observe { ring: Vfd },
}

/// What the `arg` pointer of a [`Step::Register`] points at.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RegisterArg {
    /// NULL.
    Null,
    /// An `io_uring_sqe` (`IORING_REGISTER_SEND_MSG_RING`).
    Sqe(Sqe),
    /// An array of `io_uring_rsrc_update` (`IORING_[UN]REGISTER_RING_FDS`).
    RingFds(Vec<RingFdUpdate>),
}

/// One `io_uring_rsrc_update` of `IORING_[UN]REGISTER_RING_FDS`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RingFdUpdate {
    /// The registered index, `u32::MAX` (`-1U`) for "any free one".
    pub offset: u32,
    /// `data`: the ring fd to register, or `None` for 0 (what unregistering wants).
    pub fd: Option<Vfd>,
}

/// Faults injected into one step (model only: the real backend cannot inject them).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Faults {
    /// The next this-many overflow-CQE allocations fail (C3, R13, R23, B14).
    pub overflow_alloc_fails: u32,
    /// The next this-many kernel allocations the model tracks fail with -ENOMEM
    /// (remote io_kiocb R14, rsrc node R21).
    pub nomem: u32,
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }
}

/// What a step returned.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum StepResult {
    /// A system call's return value (`-errno` on failure); for setup and file
    /// creation, the new fd.
    Ret(i32),
    /// `pipe2`: read and write fds.
    Fds(Vfd, Vfd),
    /// A new task.
    Task(TaskId),
    /// CQEs read by a reap, oldest first.
    Reaped(Vec<Cqe>),
    /// CQEs read from a CQE32 ring when one of them has non-zero extra words
    /// (`big_cqe`), each with its `[extra1, extra2]`. A reap whose extra words are all
    /// zero is [`StepResult::Reaped`], so two backends agree on the shape.
    Reaped32(Vec<(Cqe, [u64; 2])>),
    /// What a fixed slot holds (its file's identity class, see
    /// [`World::identity_class`](crate::World::identity_class)).
    Slot(Option<FileId>),
    /// A ring's visible state.
    Ring(crate::world::RingView),
    /// The step cannot be carried out at all (a task that does not exist or has
    /// exited, a push to something that is not a ring). The real backend refuses the
    /// same steps.
    Refused(String),
    /// The step is valid but outside what the model implements (an opcode, setup flag
    /// or SQE feature it does not model). Differential checks skip these.
    Unmodelled(String),
}

impl StepResult {
    /// The return value, for steps that have one.
    pub fn ret(&self) -> Option<i32> {
        match self {
            StepResult::Ret(r) => Some(*r),
            _ => None,
        }
    }
}
