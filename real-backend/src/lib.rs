//! Oracle backend for msgring: drives real Linux io_uring rings.
//!
//! Everything a trace creates lives inside a [`Host`] and is closed when the
//! `Host` is dropped. Traces name resources by *virtual fd* ([`Vfd`]), never by
//! host fd numbers: an unknown `Vfd` always translates to `-1`, so a trace can
//! never reach a file descriptor the host did not create for it.
//!
//! Tasks ([`TaskId`]) are real OS threads. Ring setup, `io_uring_enter` and
//! `io_uring_register` run on the thread of the task named in the call, so
//! `IORING_SETUP_SINGLE_ISSUER` / `IORING_SETUP_DEFER_TASKRUN` ownership is the
//! kernel's own. SQ pushes and CQ reaps go through the shared mappings and may
//! happen from the calling thread.
//!
//! Errors are returned as negative errno values, as the kernel returns them.
//! When the host itself refuses a request (a resource cap, a setup flag this
//! crate cannot map, an opcode that would let the kernel touch process memory)
//! the value is [`HOST_REFUSED`], which is outside the errno range.
//!
//! On targets other than Linux the crate compiles, [`probe`] and [`Host::new`]
//! return [`Unavailable`] and no `Host` can exist.

#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;

#[cfg(target_os = "linux")]
pub mod entries;
pub mod fdinfo;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub mod rawbench;
#[cfg(target_os = "linux")]
pub use linux::Host;

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
pub use other::Host;

/// Returned (instead of a `-errno`) when the host refuses a request on its own:
/// a cap on entries/rings/files/tasks, a setup flag the host does not support
/// (`ATTACH_WQ`, `NO_MMAP`, `REGISTERED_FD_ONLY`, `CQE_MIXED`, `SQE_MIXED` or any
/// unknown bit), or an unknown task.
pub const HOST_REFUSED: i32 = -10_000;

/// Caps enforced by the host.
pub mod limits {
    /// Largest SQ size a ring may end up with (after the kernel's rounding/clamping).
    pub const MAX_SQ_ENTRIES: u32 = 4096;
    /// Largest CQ size a ring may end up with.
    pub const MAX_CQ_ENTRIES: u32 = 8192;
    /// Live rings per host.
    pub const MAX_RINGS: usize = 64;
    /// Live non-ring files per host (each pipe end counts as one).
    pub const MAX_FILES: usize = 64;
    /// Live tasks per host (task 0 included).
    pub const MAX_TASKS: usize = 64;
    /// Virtual fd numbers are never reused; this bounds how many one host hands out.
    pub const MAX_VFDS: u32 = 65_536;
    /// Largest file table accepted by `register_files*` / `update_files`.
    pub const MAX_TABLE: u32 = 4096;
}

/// A virtual file descriptor: the index the model uses for a ring or file.
///
/// A `Host` hands them out sequentially from 0 in creation order (a pipe takes
/// two: read end, then write end) and never reuses one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vfd(pub u32);

/// A task: a real OS thread inside the host. Task 0 exists from the start;
/// new ids are handed out sequentially and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u32);

/// Which thread is task 0 of a [`Host`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task0 {
    /// A thread of its own, like every other task: every system call of task 0 is a
    /// round trip to it. The host may be used from any thread, and task 0 can exit.
    Thread,
    /// The thread that creates (or [`Host::reset_with`]s) the host: task 0's system
    /// calls run inline, with no thread hop. To the kernel (SINGLE_ISSUER and
    /// DEFER_TASKRUN owner checks, task_work, io-wq) task 0 is that thread, so the
    /// host must only be driven from it: task 0's calls from any other thread are
    /// refused ([`HOST_REFUSED`]), and so is `exit_task(TaskId(0))` (the caller's
    /// thread cannot exit). Task 0's task_work also runs at the caller's own system
    /// calls between steps (a dedicated thread runs it only at its next call).
    Caller,
}

/// The `fd` of [`Host::register_raw`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegFd {
    /// -1: the "blind" opcodes (`IORING_REGISTER_SEND_MSG_RING`).
    Blind,
    /// A virtual fd, translated to the host's fd (an unknown one to an fd that is not
    /// open, so the kernel answers -EBADF).
    Vfd(Vfd),
    /// An index into the calling task's registered ring fds (with
    /// `IORING_REGISTER_USE_REGISTERED_RING`), passed as is.
    Index(u32),
}

/// What the `arg` of [`Host::register_raw`] points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawRegArg {
    /// NULL.
    Null,
    /// An SQE (its fd field is translated like [`Host::push_sqe`]'s).
    Sqe([u8; 64]),
    /// `io_uring_rsrc_update` entries: `(offset, data)`, `data` a ring to register
    /// (translated) or `None` for 0.
    RingFds(Vec<(u32, Option<Vfd>)>),
}

/// io_uring is not usable here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// Human readable reason ("not Linux", "io_uring_setup: ENOSYS", ...).
    pub reason: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "io_uring unavailable: {}", self.reason)
    }
}

impl std::error::Error for Unavailable {}

/// What [`probe`] found out about the running kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelInfo {
    /// `uname -r`, e.g. "6.18.44-fc-v595".
    pub release: String,
    /// Numeric prefix of `release`.
    pub version: (u32, u32, u32),
    /// `io_uring_params.features` of a default ring.
    pub features: u32,
    /// Opcodes reported as supported by `IORING_REGISTER_PROBE`.
    pub opcodes: Vec<u8>,
}

impl KernelInfo {
    /// Whether `IORING_REGISTER_PROBE` lists `op` as supported.
    pub fn supports_op(&self, op: u8) -> bool {
        self.opcodes.contains(&op)
    }
}

/// One completion as read from the CQ ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cqe {
    pub user_data: u64,
    pub res: i32,
    pub flags: u32,
    /// The extra 16 bytes of a CQE32 ring (`[0, 0]` on a 16-byte-CQE ring).
    pub big: [u64; 2],
}

/// Identity of an open file: `(st_dev, st_ino)` of its inode.
///
/// Consequences of using the inode: the two ends of one pipe compare equal,
/// and every eventfd compares equal to every other eventfd (they all share the
/// kernel's single anonymous inode), so eventfds are identified by kind only.
/// memfds (the regular files) are unique.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    /// A fixed-file slot whose file the host cannot name: 6.1/6.12 fdinfo prints a
    /// slot's dentry name (`d_iname`), which several of the host's files may share (the
    /// empty name of every pipe). No real file has device 0 and inode 0.
    pub const UNNAMED: FileId = FileId { dev: 0, ino: 0 };
}

/// A ring's fixed-file table (one entry per slot) and its CQ overflow list as
/// `(user_data, res, flags)`, from one fdinfo read.
pub type TableAndOverflow = (Vec<Option<FileId>>, Vec<(u64, i32, u32)>);

/// `push_sqe` could not queue the SQE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The SQ ring has no free entry (`tail - head == sq_entries`).
    SqFull,
    /// The `Vfd` does not name a live ring.
    NotARing,
    /// The opcode is not on the host's allow-list (see [`ALLOWED_OPCODES`]):
    /// other opcodes can make the kernel read or write process memory or
    /// close host fds.
    Forbidden,
}

/// Kept for the API sketched in the design: `SqFull` is a [`PushError`].
pub type SqFull = PushError;

/// Opcodes `push_sqe` accepts: NOP (0), POLL_ADD (6), POLL_REMOVE (7),
/// ASYNC_CANCEL (14), MSG_RING (40), and NOP128 (63) / URING_CMD128 (64). None of
/// them dereferences a user pointer or closes an fd: the last two need a 128-byte
/// SQE, which no ring of this backend has (SQE128 and SQE_MIXED are refused), so
/// 6.19+ fails them in `io_init_req` before anything else, and older kernels do not
/// know them (`IORING_OP_LAST` <= 63).
pub const ALLOWED_OPCODES: [u8; 7] = [0, 6, 7, 14, 40, 63, 64];

/// One entry of a file-table update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileSlot {
    /// Install this file (an unknown `Vfd` becomes `-1`, i.e. `Empty`).
    File(Vfd),
    /// `-1`: an empty (sparse) slot; in an update it removes the slot's file.
    Empty,
    /// `IORING_REGISTER_FILES_SKIP` (`-2`): leave the slot as it is.
    Skip,
}

impl From<Option<Vfd>> for FileSlot {
    fn from(v: Option<Vfd>) -> Self {
        match v {
            Some(v) => FileSlot::File(v),
            None => FileSlot::Empty,
        }
    }
}

/// Sizes and flags a ring ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingInfo {
    pub sq_entries: u32,
    pub cq_entries: u32,
    /// The setup flags as passed.
    pub flags: u32,
    pub features: u32,
    /// The task that created it.
    pub creator: TaskId,
}

/// Probe the running kernel.
pub fn probe() -> Result<KernelInfo, Unavailable> {
    #[cfg(target_os = "linux")]
    {
        linux::probe()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Unavailable {
            reason: "not Linux".into(),
        })
    }
}

/// Gives the calling thread a file-descriptor table of its own, holding only fds 0-2
/// (`close_range(3, ~0, CLOSE_RANGE_UNSHARE)`): for a thread the caller owns that
/// runs a [`Host`] beside others in one process (`msgring check -j N`). Hosts in
/// different tables cannot hand each other's closed fd numbers out, and task threads
/// the host spawns afterwards share the new table. Fds the process opened before are
/// closed *in the new table only*. `Err(-errno)` where it cannot be done.
pub fn isolate_fd_table() -> Result<(), i32> {
    #[cfg(target_os = "linux")]
    {
        linux::isolate_fd_table()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(-38) // ENOSYS
    }
}

/// Call `io_uring_setup(entries, {flags, cq_entries})` on the calling thread
/// and close the ring at once (nothing is mapped): `Ok((sq_entries,
/// cq_entries))` or the kernel's `-errno`. For checking setup validation and
/// sizing without the host's caps. `HOST_REFUSED` for ATTACH_WQ, NO_MMAP and
/// REGISTERED_FD_ONLY (they need arguments this call does not take) and off
/// Linux.
pub fn try_setup(entries: u32, cq_entries: u32, flags: u32) -> Result<(u32, u32), i32> {
    #[cfg(target_os = "linux")]
    {
        linux::try_setup(entries, cq_entries, flags)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (entries, cq_entries, flags);
        Err(HOST_REFUSED)
    }
}

/// Helpers to build raw 64-byte SQEs (little endian `io_uring_sqe`).
pub mod sqe {
    pub const OP_NOP: u8 = 0;
    pub const OP_MSG_RING: u8 = 40;
    pub const IOSQE_FIXED_FILE: u8 = 1 << 0;
    pub const IOSQE_IO_DRAIN: u8 = 1 << 1;
    pub const IOSQE_IO_LINK: u8 = 1 << 2;
    pub const IOSQE_IO_HARDLINK: u8 = 1 << 3;
    pub const IOSQE_ASYNC: u8 = 1 << 4;
    pub const IOSQE_CQE_SKIP_SUCCESS: u8 = 1 << 6;
    pub const MSG_DATA: u64 = 0;
    pub const MSG_SEND_FD: u64 = 1;
    pub const MSG_RING_CQE_SKIP: u32 = 1 << 0;
    pub const MSG_RING_FLAGS_PASS: u32 = 1 << 1;
    pub const FILE_INDEX_ALLOC: u32 = !0;

    /// A decoded `io_uring_sqe` (the fields MSG_RING and NOP use).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Sqe {
        pub opcode: u8,
        pub flags: u8,
        pub ioprio: u16,
        pub fd: i32,
        pub off: u64,
        pub addr: u64,
        pub len: u32,
        pub op_flags: u32,
        pub user_data: u64,
        pub buf_index: u16,
        pub personality: u16,
        pub file_index: u32,
        pub addr3: u64,
        pub pad2: u64,
    }

    impl Sqe {
        /// Encode to the 64-byte kernel layout.
        pub fn to_bytes(&self) -> [u8; 64] {
            let mut b = [0u8; 64];
            b[0] = self.opcode;
            b[1] = self.flags;
            b[2..4].copy_from_slice(&self.ioprio.to_le_bytes());
            b[4..8].copy_from_slice(&self.fd.to_le_bytes());
            b[8..16].copy_from_slice(&self.off.to_le_bytes());
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
            b[24..28].copy_from_slice(&self.len.to_le_bytes());
            b[28..32].copy_from_slice(&self.op_flags.to_le_bytes());
            b[32..40].copy_from_slice(&self.user_data.to_le_bytes());
            b[40..42].copy_from_slice(&self.buf_index.to_le_bytes());
            b[42..44].copy_from_slice(&self.personality.to_le_bytes());
            b[44..48].copy_from_slice(&self.file_index.to_le_bytes());
            b[48..56].copy_from_slice(&self.addr3.to_le_bytes());
            b[56..64].copy_from_slice(&self.pad2.to_le_bytes());
            b
        }
    }

    /// NOP with `user_data`.
    pub fn nop(user_data: u64) -> [u8; 64] {
        Sqe {
            opcode: OP_NOP,
            user_data,
            ..Sqe::default()
        }
        .to_bytes()
    }

    /// MSG_RING / MSG_DATA to virtual fd `target`: the target CQE gets
    /// `user_data = data`, `res = len`.
    pub fn msg_data(target: u32, len: u32, data: u64, user_data: u64) -> [u8; 64] {
        Sqe {
            opcode: OP_MSG_RING,
            fd: target as i32,
            addr: MSG_DATA,
            len,
            off: data,
            user_data,
            ..Sqe::default()
        }
        .to_bytes()
    }

    /// MSG_RING / SEND_FD from source fixed slot `src_slot` into target slot
    /// `dst_slot` (0-based; `FILE_INDEX_ALLOC` to allocate).
    pub fn msg_send_fd(
        target: u32,
        src_slot: u32,
        dst_slot: u32,
        data: u64,
        user_data: u64,
    ) -> [u8; 64] {
        let file_index = if dst_slot == FILE_INDEX_ALLOC {
            FILE_INDEX_ALLOC
        } else {
            dst_slot.wrapping_add(1)
        };
        Sqe {
            opcode: OP_MSG_RING,
            fd: target as i32,
            addr: MSG_SEND_FD,
            off: data,
            addr3: src_slot as u64,
            file_index,
            user_data,
            ..Sqe::default()
        }
        .to_bytes()
    }

    /// Set the `flags` byte (IOSQE_*).
    pub fn with_flags(mut sqe: [u8; 64], flags: u8) -> [u8; 64] {
        sqe[1] = flags;
        sqe
    }
}

/// Setup flags (`IORING_SETUP_*`), enter flags and sq flags, for convenience.
pub mod consts {
    pub const SETUP_IOPOLL: u32 = 1 << 0;
    pub const SETUP_SQPOLL: u32 = 1 << 1;
    pub const SETUP_SQ_AFF: u32 = 1 << 2;
    pub const SETUP_CQSIZE: u32 = 1 << 3;
    pub const SETUP_CLAMP: u32 = 1 << 4;
    pub const SETUP_ATTACH_WQ: u32 = 1 << 5;
    pub const SETUP_R_DISABLED: u32 = 1 << 6;
    pub const SETUP_SUBMIT_ALL: u32 = 1 << 7;
    pub const SETUP_COOP_TASKRUN: u32 = 1 << 8;
    pub const SETUP_TASKRUN_FLAG: u32 = 1 << 9;
    pub const SETUP_SQE128: u32 = 1 << 10;
    pub const SETUP_CQE32: u32 = 1 << 11;
    pub const SETUP_SINGLE_ISSUER: u32 = 1 << 12;
    pub const SETUP_DEFER_TASKRUN: u32 = 1 << 13;
    pub const SETUP_NO_MMAP: u32 = 1 << 14;
    pub const SETUP_REGISTERED_FD_ONLY: u32 = 1 << 15;
    pub const SETUP_NO_SQARRAY: u32 = 1 << 16;
    pub const SETUP_HYBRID_IOPOLL: u32 = 1 << 17;
    pub const SETUP_CQE_MIXED: u32 = 1 << 18;
    pub const SETUP_SQE_MIXED: u32 = 1 << 19;

    pub const ENTER_GETEVENTS: u32 = 1 << 0;
    pub const ENTER_SQ_WAKEUP: u32 = 1 << 1;
    pub const ENTER_SQ_WAIT: u32 = 1 << 2;
    pub const ENTER_EXT_ARG: u32 = 1 << 3;
    pub const ENTER_REGISTERED_RING: u32 = 1 << 4;
    pub const ENTER_ABS_TIMER: u32 = 1 << 5;
    pub const ENTER_EXT_ARG_REG: u32 = 1 << 6;

    pub const SQ_NEED_WAKEUP: u32 = 1 << 0;
    pub const SQ_CQ_OVERFLOW: u32 = 1 << 1;
    pub const SQ_TASKRUN: u32 = 1 << 2;
}
