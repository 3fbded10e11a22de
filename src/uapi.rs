//! Values from `include/uapi/linux/io_uring.h`, named as the kernel names them.
//!
//! Only what MSG_RING and the machinery it touches need. Grouped like the header.

/// `IORING_OP_*` opcodes the model executes.
pub mod op {
    /// `IORING_OP_NOP`: completes with res 0 (or an injected result).
    pub const NOP: u8 = 0;
    /// `IORING_OP_MSG_RING` (since 5.18).
    pub const MSG_RING: u8 = 40;
    /// `IORING_OP_NOP128` (6.19+): a NOP in a 128-byte SQE.
    pub const NOP128: u8 = 63;
    /// `IORING_OP_URING_CMD128` (6.19+).
    pub const URING_CMD128: u8 = 64;
    // `IORING_OP_LAST` differs by release: `Profile::op_last`.
}

/// `IOSQE_*` SQE flags (`sqe->flags`).
pub mod sqe_flags {
    pub const FIXED_FILE: u8 = 1 << 0;
    pub const IO_DRAIN: u8 = 1 << 1;
    pub const IO_LINK: u8 = 1 << 2;
    pub const IO_HARDLINK: u8 = 1 << 3;
    pub const ASYNC: u8 = 1 << 4;
    pub const BUFFER_SELECT: u8 = 1 << 5;
    pub const CQE_SKIP_SUCCESS: u8 = 1 << 6;
    /// Every flag `io_init_req` accepts (`SQE_VALID_FLAGS`).
    pub const VALID: u8 = 0x7f;
}

/// `IORING_SETUP_*` flags for `io_uring_setup`.
pub mod setup {
    pub const IOPOLL: u32 = 1 << 0;
    pub const SQPOLL: u32 = 1 << 1;
    pub const SQ_AFF: u32 = 1 << 2;
    pub const CQSIZE: u32 = 1 << 3;
    pub const CLAMP: u32 = 1 << 4;
    pub const ATTACH_WQ: u32 = 1 << 5;
    pub const R_DISABLED: u32 = 1 << 6;
    pub const SUBMIT_ALL: u32 = 1 << 7;
    pub const COOP_TASKRUN: u32 = 1 << 8;
    pub const TASKRUN_FLAG: u32 = 1 << 9;
    pub const SQE128: u32 = 1 << 10;
    pub const CQE32: u32 = 1 << 11;
    pub const SINGLE_ISSUER: u32 = 1 << 12;
    pub const DEFER_TASKRUN: u32 = 1 << 13;
    pub const NO_MMAP: u32 = 1 << 14;
    pub const REGISTERED_FD_ONLY: u32 = 1 << 15;
    pub const NO_SQARRAY: u32 = 1 << 16;
    pub const HYBRID_IOPOLL: u32 = 1 << 17;
    pub const CQE_MIXED: u32 = 1 << 18;
    pub const SQE_MIXED: u32 = 1 << 19;
    /// `IORING_SETUP_SQ_REWIND` (7.0+, with NO_SQARRAY).
    pub const SQ_REWIND: u32 = 1 << 20;
    /// Flags whose effect the model implements. Others are refused as unmodelled.
    pub const MODELLED: u32 = IOPOLL
        | SQPOLL
        | CQSIZE
        | CLAMP
        | R_DISABLED
        | SUBMIT_ALL
        | COOP_TASKRUN
        | TASKRUN_FLAG
        | CQE32
        | CQE_MIXED
        | SINGLE_ISSUER
        | DEFER_TASKRUN
        | NO_SQARRAY;
    // The flags a release knows differ by release: `Profile::known_setup_flags`.
}

/// `IORING_ENTER_*` flags for `io_uring_enter`.
pub mod enter {
    pub const GETEVENTS: u32 = 1 << 0;
    pub const SQ_WAKEUP: u32 = 1 << 1;
    pub const SQ_WAIT: u32 = 1 << 2;
    pub const EXT_ARG: u32 = 1 << 3;
    pub const REGISTERED_RING: u32 = 1 << 4;
    /// Flags the model accepts on an enter step (EXT_ARG is how the real backend bounds waits).
    pub const MODELLED: u32 = GETEVENTS | SQ_WAKEUP | EXT_ARG | REGISTERED_RING;
}

/// `IORING_SQ_*` bits of the shared `sq_flags` word.
pub mod sq {
    pub const NEED_WAKEUP: u32 = 1 << 0;
    pub const CQ_OVERFLOW: u32 = 1 << 1;
    pub const TASKRUN: u32 = 1 << 2;
}

/// `IORING_CQE_F_*` flags.
pub mod cqe {
    pub const BUFFER: u32 = 1 << 0;
    pub const MORE: u32 = 1 << 1;
    /// `IORING_CQE_F_SKIP` (6.18+): a padding CQE on a CQE_MIXED ring; ignore it.
    pub const SKIP: u32 = 1 << 5;
    /// `IORING_CQE_F_32`: a 32-byte CQE on a CQE_MIXED ring; checked with FLAGS_PASS
    /// from 7.2 (R10.4).
    pub const F_32: u32 = 1 << 15;
}

/// MSG_RING commands (`sqe->addr`) and flags (`sqe->msg_ring_flags`).
pub mod msg {
    /// `IORING_MSG_DATA`: post a CQE on the target ring.
    pub const DATA: u64 = 0;
    /// `IORING_MSG_SEND_FD`: install a fixed file into the target's table (6.0+).
    pub const SEND_FD: u64 = 1;
    /// `IORING_MSG_RING_CQE_SKIP`: no target CQE (SEND_FD only).
    pub const CQE_SKIP: u32 = 1 << 0;
    /// `IORING_MSG_RING_FLAGS_PASS`: `file_index` becomes the target CQE flags (6.3+).
    pub const FLAGS_PASS: u32 = 1 << 1;
}

/// `IORING_FILE_INDEX_ALLOC`: let the kernel pick a free fixed-file slot.
pub const FILE_INDEX_ALLOC: u32 = !0;

/// `IORING_REGISTER_FILES_SKIP`: an update entry that leaves its slot alone.
pub const REGISTER_FILES_SKIP: i32 = -2;

/// `IORING_NOP_INJECT_RESULT`: NOP completes with `sqe->len` as its result (6.x).
pub const NOP_INJECT_RESULT: u32 = 1 << 0;
/// `IORING_NOP_CQE32` (6.18): the NOP's CQE carries `extra1 = sqe->off`,
/// `extra2 = sqe->addr` (a CQE32 or CQE_MIXED ring only, else -EINVAL).
pub const NOP_CQE32: u32 = 1 << 5;

/// `IORING_MAX_ENTRIES` and `IORING_MAX_CQ_ENTRIES` (C1).
pub const MAX_ENTRIES: u32 = 32768;
pub const MAX_CQ_ENTRIES: u32 = 2 * MAX_ENTRIES;

/// `IORING_REGISTER_*` opcodes the model implements.
pub mod register {
    pub const FILES: u32 = 2;
    pub const UNREGISTER_FILES: u32 = 3;
    pub const FILES_UPDATE: u32 = 6;
    pub const ENABLE_RINGS: u32 = 12;
    pub const FILE_ALLOC_RANGE: u32 = 25;
    /// `IORING_REGISTER_SEND_MSG_RING` (6.13+), a "blind" opcode: fd = -1.
    pub const SEND_MSG_RING: u32 = 31;
    pub const PERSONALITY: u32 = 9;
    pub const UNREGISTER_PERSONALITY: u32 = 10;
    /// `IORING_REGISTER_RING_FDS` / `IORING_UNREGISTER_RING_FDS` (5.18+).
    pub const RING_FDS: u32 = 20;
    pub const UNREGISTER_RING_FDS: u32 = 21;
    /// `IORING_REGISTER_LAST` on 6.18: opcodes at or above it are -EINVAL.
    pub const LAST_6_18: u32 = 36;
    /// `IORING_REGISTER_USE_REGISTERED_RING`: `fd` is an index into the caller's
    /// registered ring fds.
    pub const USE_REGISTERED_RING: u32 = 1 << 31;
    /// `IO_RINGFD_REG_MAX`: registered ring fds per task.
    pub const RINGFD_REG_MAX: u32 = 16;
}
