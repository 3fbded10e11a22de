//! The raw system calls (`io_uring_setup`, `io_uring_register`, `close`), the kernel's
//! register opcodes and flag numbers the host uses, and its own copy of
//! `struct io_uring_params`, each checked against rustix's at compile time.

use crate::consts::*;

use rustix::io_uring as uring;

pub(super) const IORING_OFF_SQES: i64 = uring::IORING_OFF_SQES as i64;
pub(super) const FEAT_SINGLE_MMAP: u32 = uring::IoringFeatureFlags::SINGLE_MMAP.bits();
pub(super) const REG_FILES: u32 = uring::IoringRegisterOp::RegisterFiles as u32;
pub(super) const UNREG_FILES: u32 = uring::IoringRegisterOp::UnregisterFiles as u32;
pub(super) const REG_FILES_UPDATE: u32 = uring::IoringRegisterOp::RegisterFilesUpdate as u32;
pub(super) const REG_PROBE: u32 = uring::IoringRegisterOp::RegisterProbe as u32;
pub(super) const REG_ENABLE_RINGS: u32 = uring::IoringRegisterOp::RegisterEnableRings as u32;
pub(super) const REG_FILES2: u32 = uring::IoringRegisterOp::RegisterFiles2 as u32;
pub(super) const REG_FILE_ALLOC_RANGE: u32 = uring::IoringRegisterOp::RegisterFileAllocRange as u32;
pub(super) const REG_SEND_MSG_RING: u32 = uring::IoringRegisterOp::RegisterSendMsgRing as u32;
pub(super) const RSRC_REGISTER_SPARSE: u32 = uring::IoringRsrcFlags::REGISTER_SPARSE.bits();
/// `IORING_CQE_F_32` and `IORING_CQE_F_SKIP` (CQE_MIXED rings).
pub(super) const CQE_F_32: u32 = 1 << 15;
pub(super) const CQE_F_SKIP: u32 = 1 << 5;
// The public constants (`crate::consts`, `crate::sqe`) are the kernel's numbers, kept
// as plain integers so that the crate builds on every target; here they are checked
// against rustix's at compile time (a parity check: a typo fails the build).
const _: () = {
    use uring::{IoringEnterFlags as E, IoringSetupFlags as S, IoringSqFlags as Q};
    assert!(SETUP_IOPOLL == S::IOPOLL.bits() && SETUP_SQPOLL == S::SQPOLL.bits());
    assert!(SETUP_SQ_AFF == S::SQ_AFF.bits() && SETUP_CQSIZE == S::CQSIZE.bits());
    assert!(SETUP_CLAMP == S::CLAMP.bits() && SETUP_ATTACH_WQ == S::ATTACH_WQ.bits());
    assert!(SETUP_R_DISABLED == S::R_DISABLED.bits());
    assert!(SETUP_SUBMIT_ALL == S::SUBMIT_ALL.bits());
    assert!(SETUP_COOP_TASKRUN == S::COOP_TASKRUN.bits());
    assert!(SETUP_TASKRUN_FLAG == S::TASKRUN_FLAG.bits());
    assert!(SETUP_SQE128 == S::SQE128.bits() && SETUP_CQE32 == S::CQE32.bits());
    assert!(SETUP_SINGLE_ISSUER == S::SINGLE_ISSUER.bits());
    assert!(SETUP_DEFER_TASKRUN == S::DEFER_TASKRUN.bits());
    assert!(SETUP_NO_MMAP == S::NO_MMAP.bits());
    assert!(SETUP_REGISTERED_FD_ONLY == S::REGISTERED_FD_ONLY.bits());
    assert!(SETUP_NO_SQARRAY == S::NO_SQARRAY.bits());
    assert!(ENTER_GETEVENTS == E::GETEVENTS.bits() && ENTER_SQ_WAKEUP == E::SQ_WAKEUP.bits());
    assert!(ENTER_SQ_WAIT == E::SQ_WAIT.bits() && ENTER_EXT_ARG == E::EXT_ARG.bits());
    assert!(ENTER_REGISTERED_RING == E::REGISTERED_RING.bits());
    assert!(ENTER_ABS_TIMER == E::ABS_TIMER.bits());
    assert!(SQ_NEED_WAKEUP == Q::NEED_WAKEUP.bits() && SQ_CQ_OVERFLOW == Q::CQ_OVERFLOW.bits());
    assert!(SQ_TASKRUN == Q::TASKRUN.bits());
    use crate::sqe::*;
    use uring::{IoringMsgringFlags as M, IoringSqeFlags as F};
    assert!(OP_NOP == uring::IoringOp::Nop as u8 && OP_MSG_RING == uring::IoringOp::MsgRing as u8);
    assert!(IOSQE_FIXED_FILE == F::FIXED_FILE.bits() && IOSQE_IO_DRAIN == F::IO_DRAIN.bits());
    assert!(IOSQE_IO_LINK == F::IO_LINK.bits() && IOSQE_IO_HARDLINK == F::IO_HARDLINK.bits());
    assert!(IOSQE_ASYNC == F::ASYNC.bits());
    assert!(IOSQE_CQE_SKIP_SUCCESS == F::CQE_SKIP_SUCCESS.bits());
    assert!(MSG_RING_CQE_SKIP == M::CQE_SKIP.bits() && MSG_RING_FLAGS_PASS == M::FLAGS_PASS.bits());
};

/// An fd number no process can have open (above any `fs.nr_open`), for system
/// calls on an unknown vfd that must fail with -EBADF.
pub(super) const UNOPENED_FD: i32 = i32::MAX;

// `struct io_uring_params` and its SQ / CQ offsets, as plain integers: the host keeps
// a copy per ring and moves it between threads, which rustix's `io_uring_params` (its
// `user_addr` is a pointer type) does not allow. The layout is checked against
// rustix's at compile time (`LAYOUT` below).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct SqOff {
    pub(super) head: u32,
    pub(super) tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    pub(super) flags: u32,
    dropped: u32,
    pub(super) array: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct CqOff {
    pub(super) head: u32,
    pub(super) tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    pub(super) overflow: u32,
    pub(super) cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct Params {
    pub(super) sq_entries: u32,
    pub(super) cq_entries: u32,
    pub(super) flags: u32,
    pub(super) sq_thread_cpu: u32,
    pub(super) sq_thread_idle: u32,
    pub(super) features: u32,
    pub(super) wq_fd: u32,
    pub(super) resv: [u32; 3],
    pub(super) sq_off: SqOff,
    pub(super) cq_off: CqOff,
}

// The hand copies above have rustix's (the kernel's) size and field offsets.
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<Params>() == size_of::<uring::io_uring_params>());
    assert!(offset_of!(Params, flags) == offset_of!(uring::io_uring_params, flags));
    assert!(offset_of!(Params, features) == offset_of!(uring::io_uring_params, features));
    assert!(offset_of!(Params, sq_off) == offset_of!(uring::io_uring_params, sq_off));
    assert!(offset_of!(Params, cq_off) == offset_of!(uring::io_uring_params, cq_off));
    assert!(size_of::<SqOff>() == size_of::<uring::io_sqring_offsets>());
    assert!(offset_of!(SqOff, flags) == offset_of!(uring::io_sqring_offsets, flags));
    assert!(offset_of!(SqOff, array) == offset_of!(uring::io_sqring_offsets, array));
    assert!(size_of::<CqOff>() == size_of::<uring::io_cqring_offsets>());
    assert!(offset_of!(CqOff, overflow) == offset_of!(uring::io_cqring_offsets, overflow));
    assert!(offset_of!(CqOff, cqes) == offset_of!(uring::io_cqring_offsets, cqes));
};

pub(super) fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Convert a raw syscall return into `>= 0` or `-errno`.
pub(super) fn sys_ret(r: libc::c_long) -> i32 {
    if r < 0 {
        -errno()
    } else {
        r as i32
    }
}

/// `io_uring_setup(entries, p)`: the new ring's fd, or -errno.
pub(super) fn sys_setup(entries: u32, p: &mut Params) -> i32 {
    // SAFETY: `p` is a valid, writable io_uring_params of the kernel's size
    // (120 bytes, checked against rustix's above); the kernel reads and writes only
    // that struct.
    sys_ret(unsafe { libc::syscall(libc::SYS_io_uring_setup, entries, p as *mut Params) })
}

/// `io_uring_register(fd, op, arg, nr)`. Callers pass an `arg` that points to
/// memory owned by the current stack frame and valid for what `op` reads.
pub(super) fn sys_register(fd: i32, op: u32, arg: *const libc::c_void, nr: u32) -> i32 {
    // SAFETY: only the register opcodes this module uses are passed, each with
    // an `arg` pointing at a live, correctly sized buffer or NULL (see callers).
    sys_ret(unsafe { libc::syscall(libc::SYS_io_uring_register, fd, op, arg, nr) })
}

pub(super) fn close_fd(fd: i32) -> i32 {
    // SAFETY: callers pass an fd the host owns and never use it afterwards.
    if unsafe { libc::close(fd) } < 0 {
        -errno()
    } else {
        0
    }
}
