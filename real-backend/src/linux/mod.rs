//! The Linux implementation: raw io_uring syscalls, our own ring mappings.
//!
//! # Why raw system calls
//!
//! The workspace depends on the io-uring crate (for the speed baseline,
//! `rawbench.rs`), and on rustix for io_uring's structs and constants. The host still
//! makes the io_uring system calls itself, each for a reason:
//!
//! * **SQEs are written byte for byte** into the mapped SQ (`push_sqe`): traces set any
//!   field, reserved ones and unknown opcodes included (`sqe(opcode=.., pad2=..)`),
//!   to see the kernel refuse them. io-uring's `squeue::Entry` is built only through
//!   its opcode builders, which cannot produce such SQEs.
//! * **The ring is ours, not a crate's**: the host maps the rings itself
//!   (`Mapping`) to read the words userspace sees (`sq_flags`, the CQ overflow
//!   counter, head and tail) between steps, to write the CQ head when a trace reaps,
//!   and to create each ring on the thread of the task named in the step (the
//!   SINGLE_ISSUER / DEFER_TASKRUN owner). `io_uring::IoUring` owns its fd and
//!   mappings and submits through its own enter calls.
//! * **`io_uring_enter`** takes fds the kernel must refuse (an unknown vfd becomes an
//!   fd that is not open, -EBADF), a registered ring *index* with
//!   IORING_ENTER_REGISTERED_RING, and every flag as given, plus a bounded
//!   `EXT_ARG` timeout the host adds itself. rustix's `io_uring_enter*` take
//!   `impl AsFd`: a `BorrowedFd` must be an open fd, so these calls would break its
//!   contract.
//! * **`io_uring_register`** is called with fd -1 (the "blind" opcodes: the sync
//!   message, R30), with invalid fds on purpose, with opcodes and `nr_args` a trace
//!   chooses, and with arguments the kernel is meant to reject (a NULL `arg`, a
//!   sparse table of any size, FILE_ALLOC_RANGE values, ring-fd arrays). Neither
//!   rustix (`AsFd` again) nor io-uring's `Submitter` (one typed method per opcode,
//!   no fd -1, no raw `nr_args`) can express those calls.
//! * **`io_uring_setup`** fills the host's own `io_uring_params` copy, which moves
//!   between threads with the ring (rustix's holds pointer-typed fields that are not
//!   `Send`); its layout is checked against rustix's at compile time.
//!
//! What rustix does remove: the struct copies it has (`io_uring_getevents_arg`,
//! `io_uring_rsrc_register`, `io_uring_files_update`), the register opcodes, feature
//! and flag numbers, and the `unsafe` blocks around `pipe2`, `eventfd`, `memfd_create`,
//! `uname`, `gettid` and `getpid` (safe rustix calls returning owned fds, handed to
//! the host's bookkeeping with `into_raw_fd`). The public constants in
//! [`crate::consts`] and [`crate::sqe`] are checked against rustix's at compile time.

use crate::consts::*;
use crate::fdinfo::{FdInfo, FileTable, SlotName};
use crate::limits::*;
use crate::{
    Cqe, FileId, FileSlot, KernelInfo, PushError, RingInfo, Task0, TaskId, Unavailable, Vfd,
    ALLOWED_OPCODES, HOST_REFUSED,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::io_uring as uring;

mod register_raw;

const IORING_OFF_SQES: i64 = uring::IORING_OFF_SQES as i64;
const FEAT_SINGLE_MMAP: u32 = uring::IoringFeatureFlags::SINGLE_MMAP.bits();
const REG_FILES: u32 = uring::IoringRegisterOp::RegisterFiles as u32;
const UNREG_FILES: u32 = uring::IoringRegisterOp::UnregisterFiles as u32;
const REG_FILES_UPDATE: u32 = uring::IoringRegisterOp::RegisterFilesUpdate as u32;
const REG_PROBE: u32 = uring::IoringRegisterOp::RegisterProbe as u32;
const REG_ENABLE_RINGS: u32 = uring::IoringRegisterOp::RegisterEnableRings as u32;
const REG_FILES2: u32 = uring::IoringRegisterOp::RegisterFiles2 as u32;
const REG_FILE_ALLOC_RANGE: u32 = uring::IoringRegisterOp::RegisterFileAllocRange as u32;
const REG_SEND_MSG_RING: u32 = uring::IoringRegisterOp::RegisterSendMsgRing as u32;
const RSRC_REGISTER_SPARSE: u32 = uring::IoringRsrcFlags::REGISTER_SPARSE.bits();
/// `IORING_CQE_F_32` and `IORING_CQE_F_SKIP` (CQE_MIXED rings).
const CQE_F_32: u32 = 1 << 15;
const CQE_F_SKIP: u32 = 1 << 5;
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
const UNOPENED_FD: i32 = i32::MAX;

/// Setup flags the host refuses: they need extra fds/memory the host does not
/// model (ATTACH_WQ, NO_MMAP, REGISTERED_FD_ONLY) or an SQ layout `push_sqe` does
/// not implement (SQE_MIXED), plus every unknown bit. CQE_MIXED rings are read
/// by `reap` (a 32-byte CQE takes two slots).
const REFUSED_SETUP_FLAGS: u32 =
    SETUP_ATTACH_WQ | SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY | SETUP_SQE_MIXED | !((1 << 20) - 1);

// `struct io_uring_params` and its SQ / CQ offsets, as plain integers: the host keeps
// a copy per ring and moves it between threads, which rustix's `io_uring_params` (its
// `user_addr` is a pointer type) does not allow. The layout is checked against
// rustix's at compile time (`LAYOUT` below).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct SqOff {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct CqOff {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOff,
    cq_off: CqOff,
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

/// `struct io_uring_file_index_range` (not in rustix).
#[repr(C)]
struct FileIndexRange {
    off: u32,
    len: u32,
    resv: u64,
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Convert a raw syscall return into `>= 0` or `-errno`.
fn sys_ret(r: libc::c_long) -> i32 {
    if r < 0 {
        -errno()
    } else {
        r as i32
    }
}

/// `io_uring_setup(entries, p)`: the new ring's fd, or -errno.
fn sys_setup(entries: u32, p: &mut Params) -> i32 {
    // SAFETY: `p` is a valid, writable io_uring_params of the kernel's size
    // (120 bytes, checked against rustix's above); the kernel reads and writes only
    // that struct.
    sys_ret(unsafe { libc::syscall(libc::SYS_io_uring_setup, entries, p as *mut Params) })
}

/// `io_uring_register(fd, op, arg, nr)`. Callers pass an `arg` that points to
/// memory owned by the current stack frame and valid for what `op` reads.
fn sys_register(fd: i32, op: u32, arg: *const libc::c_void, nr: u32) -> i32 {
    // SAFETY: only the register opcodes this module uses are passed, each with
    // an `arg` pointing at a live, correctly sized buffer or NULL (see callers).
    sys_ret(unsafe { libc::syscall(libc::SYS_io_uring_register, fd, op, arg, nr) })
}

fn close_fd(fd: i32) -> i32 {
    // SAFETY: callers pass an fd the host owns and never use it afterwards.
    if unsafe { libc::close(fd) } < 0 {
        -errno()
    } else {
        0
    }
}

/// One `mmap`ed region, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; moving the owner to another
// thread does not invalidate it, and all ring accesses go through atomics or
// are done by the single `&mut Host` owner.
unsafe impl Send for Mapping {}

impl Mapping {
    fn map(fd: i32, len: usize, offset: i64) -> Result<Mapping, i32> {
        // SAFETY: a fresh shared mapping of an io_uring region; the kernel
        // validates fd/offset/len and we check for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(-errno());
        }
        Ok(Mapping {
            ptr: p as *mut u8,
            len,
        })
    }

    /// Atomic u32 at byte offset `off` (checked against the length).
    fn atomic_u32(&self, off: u32) -> &AtomicU32 {
        let off = off as usize;
        assert!(
            off % 4 == 0 && off + 4 <= self.len,
            "ring offset out of mapping"
        );
        // SAFETY: in bounds and 4-aligned (checked above; the mapping is page
        // aligned); the kernel shares this word with us and only accesses it
        // atomically (READ_ONCE/WRITE_ONCE/smp_*), so an AtomicU32 view is sound
        // for the lifetime of `&self`.
        unsafe { &*(self.ptr.add(off) as *const AtomicU32) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; no reference
        // into the mapping outlives `self` (all borrows are tied to `&self`).
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}

struct Ring {
    fd: i32,
    rings: Mapping,
    sqes: Mapping,
    p: Params,
    sqe_size: usize,
    cqe_size: usize,
    no_sqarray: bool,
    creator: TaskId,
    asked_flags: u32,
    /// Per SQ slot: the virtual fd the trace wrote into the SQE's `fd` field, or
    /// `None` for an `IOSQE_FIXED_FILE` SQE (its `fd` is a slot index). The kernel
    /// reads the SQE at submit time, so `enter` translates the fd of every pending
    /// SQE again just before it submits (see [`Host::push_sqe`]).
    slot_vfds: Vec<Option<i32>>,
}

impl Ring {
    fn cq_ready(&self) -> u32 {
        let tail = self
            .rings
            .atomic_u32(self.p.cq_off.tail)
            .load(Ordering::Acquire);
        let head = self
            .rings
            .atomic_u32(self.p.cq_off.head)
            .load(Ordering::Relaxed);
        tail.wrapping_sub(head)
    }

    /// Waits (at most [`SQ_THREAD_START`]) until a new SQPOLL ring's SQ thread has run
    /// its first loop and gone to sleep, which it shows by setting
    /// IORING_SQ_NEED_WAKEUP. `io_sq_thread` starts with `timeout = 0`, so its first
    /// pass finds the idle time already over and sleeps unless the SQ holds entries;
    /// that is the state the model starts in (M8, D1). Until the new thread is first
    /// scheduled, though, sq_flags reads 0 and an SQE pushed meanwhile is consumed
    /// without a wakeup: a race with the host's scheduler (seen on a loaded 2-CPU CI
    /// machine, 2026-11-25), which a trace must not depend on. On timeout it returns
    /// and the steps that follow show whatever the thread does.
    fn wait_sq_thread_asleep(&self) {
        let flags = self.rings.atomic_u32(self.p.sq_off.flags);
        let start = std::time::Instant::now();
        while flags.load(Ordering::Acquire) & SQ_NEED_WAKEUP == 0
            && start.elapsed() < SQ_THREAD_START
        {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// How long [`Ring::wait_sq_thread_asleep`] waits for a new SQ thread's first sleep.
const SQ_THREAD_START: Duration = Duration::from_secs(2);

impl Drop for Ring {
    fn drop(&mut self) {
        // Mappings are unmapped by their own Drop (fields drop after this body),
        // which is fine: an mmap of an io_uring keeps the ring memory alive on
        // its own, and the kernel tears the ring down once both are gone.
        close_fd(self.fd);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    PipeRead,
    PipeWrite,
    Eventfd,
    Memfd,
}

enum Res {
    Ring(Box<Ring>),
    File { fd: i32, _kind: Kind },
}

impl Res {
    fn fd(&self) -> i32 {
        match self {
            Res::Ring(r) => r.fd,
            Res::File { fd, .. } => *fd,
        }
    }
}

impl Drop for Res {
    fn drop(&mut self) {
        if let Res::File { fd, .. } = self {
            close_fd(*fd);
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A live task: a thread of its own, or (task 0 of a [`Task0::Caller`] host) the
/// thread that owns the host.
enum Task {
    Thread {
        tx: Option<mpsc::Sender<Job>>,
        handle: Option<JoinHandle<()>>,
        /// The thread's kernel tid (see [`wait_task_released`]).
        tid: libc::pid_t,
    },
    /// Task 0 is the thread with this kernel tid: its system calls run inline.
    Caller(libc::pid_t),
}

impl Task {
    fn spawn() -> Result<Task, i32> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (tid_tx, tid_rx) = mpsc::sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("msgring-task".into())
            .spawn(move || {
                let _ = tid_tx.send(current_tid());
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .map_err(|e| -e.raw_os_error().unwrap_or(libc::EAGAIN))?;
        let tid = tid_rx.recv().map_err(|_| -libc::EAGAIN)?;
        Ok(Task::Thread {
            tx: Some(tx),
            handle: Some(handle),
            tid,
        })
    }

    fn tid(&self) -> libc::pid_t {
        match self {
            Task::Thread { tid, .. } | Task::Caller(tid) => *tid,
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Task::Thread { tx, handle, tid } = self {
            drop(tx.take());
            if let Some(h) = handle.take() {
                let _ = h.join();
                wait_task_released(*tid);
            }
        }
    }
}

/// Waits (at most a second) until the exited thread `tid` is gone from
/// `/proc/self/task`. `pthread_join` returns when the kernel clears the thread's tid,
/// in `exit_mm`, before `do_exit` reaches `exit_task_work`; until then another task's
/// `task_work_add` on it still succeeds and the callback runs with PF_EXITING set
/// (io_msg_tw_fd_complete's -EOWNERDEAD through task_work: M12 in docs/semantics.md).
/// A thread leaves `/proc/self/task` in `release_task`, after `exit_task_work`, so
/// from then on `task_work_add` on it fails (R24.1), which is what the model's exit
/// step promises the next step.
fn wait_task_released(tid: libc::pid_t) {
    let path = format!("/proc/self/task/{tid}");
    let start = std::time::Instant::now();
    while std::path::Path::new(&path).exists() && start.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// `PF_IO_WORKER` in a task's `flags` (field 9 of `/proc/<pid>/task/<tid>/stat`): the
/// thread is an io thread of the kernel (an io-wq worker or an SQPOLL thread), set
/// from its creation, before the thread first runs and names itself `iou-wrk-*`.
const PF_IO_WORKER: u64 = 0x10;

/// A thread of the process, as [`Host::busy`] classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ThreadKind {
    /// An io-wq worker, with the tid of the task it works for once it has named itself
    /// `iou-wrk-<tid>`.
    Worker(Option<libc::pid_t>),
    /// Anything else (a task thread, an SQPOLL thread, the caller's other threads).
    Other,
}

/// What `/proc/self/task/<tid>/stat` says about a thread: its `comm`, its state
/// letter and its `flags`.
struct ThreadStat<'a> {
    comm: &'a [u8],
    state: u8,
    flags: u64,
}

fn parse_thread_stat(st: &[u8]) -> Option<ThreadStat<'_>> {
    let l = st.iter().position(|&c| c == b'(')?;
    let r = st.iter().rposition(|&c| c == b')')?;
    if l >= r {
        return None;
    }
    // After ") ": state ppid pgrp session tty_nr tpgid flags ...
    let rest = std::str::from_utf8(st.get(r + 2..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let state = *f.next()?.as_bytes().first()?;
    let flags = f.nth(5)?.parse().ok()?;
    Some(ThreadStat {
        comm: &st[l + 1..r],
        state,
        flags,
    })
}

/// The thread is an io-wq worker that is not idle: an io thread other than an SQPOLL
/// thread (`iou-sqp-*`, which polls on its own schedule) that is running, runnable
/// (also a worker just created, not yet named) or blocked uninterruptibly (e.g. on a
/// ring's `uring_lock`). An idle worker waits interruptibly (`S`); `Z`/`X` are exiting.
fn stat_is_busy_iowq_worker(st: &[u8]) -> bool {
    parse_thread_stat(st).is_some_and(|t| {
        t.flags & PF_IO_WORKER != 0
            && !t.comm.starts_with(b"iou-sqp")
            && !matches!(t.state, b'S' | b'I' | b'Z' | b'X')
    })
}

/// An open `/proc/self/task` directory stream (null if it could not be opened).
struct TaskDir(*mut libc::DIR);

// SAFETY: the stream is owned by one host and only used through it; moving it to
// another thread with the host is fine (no thread-local state).
unsafe impl Send for TaskDir {}

impl TaskDir {
    fn open() -> TaskDir {
        // SAFETY: a NUL-terminated path; a null result is kept and checked for.
        TaskDir(unsafe { libc::opendir(c"/proc/self/task".as_ptr()) })
    }
}

impl Drop for TaskDir {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: opened by opendir and not closed before.
            unsafe { libc::closedir(self.0) };
        }
    }
}

/// See [`crate::isolate_fd_table`].
pub fn isolate_fd_table() -> Result<(), i32> {
    const CLOSE_RANGE_UNSHARE: libc::c_uint = 1 << 1;
    // SAFETY: close_range with UNSHARE first gives this thread a private copy of the
    // table and then closes fds >= 3 in that copy only; no pointers are passed.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_UNSHARE) };
    if r < 0 {
        Err(-errno())
    } else {
        Ok(())
    }
}

/// The kernel's id of the calling thread (cached per thread).
fn current_tid() -> libc::pid_t {
    thread_local! {
        static TID: libc::pid_t = rustix::thread::gettid().as_raw_nonzero().get();
    }
    TID.with(|t| *t)
}

static MEMFD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Owns every ring, file and task a trace creates; closes and joins all of it
/// on drop. See the crate docs.
pub struct Host {
    vfds: Vec<Option<Res>>,
    tasks: Vec<Option<Task>>,
    /// `/proc/self/fd` link text of every file ever created -> its identity.
    paths: HashMap<String, FileId>,
    /// The same files by dentry name (how 6.1/6.12 fdinfo names them; see
    /// [`crate::fdinfo`]) -> their identities. Pipes all have the empty name.
    dnames: HashMap<String, Vec<FileId>>,
    /// For [`Host::iowq_busy`]; open for the host's life (one fd).
    task_dir: TaskDir,
    /// What [`Host::busy`] learnt of each thread it read, by thread id and the inode
    /// number of its `/proc/self/task` entry: a thread's kind never changes, but thread
    /// ids are reused (pid_max is often 32768, a check run goes through more threads
    /// than that), while a new thread's proc inode gets a new number
    /// (`get_next_ino`). A cache miss only costs a read.
    thread_kinds: std::cell::RefCell<HashMap<(libc::pid_t, u64), ThreadKind>>,
    /// Every fd this host hands out is at or above this number, which only grows
    /// until [`Host::reset`]: a number the host closed is never handed out again in
    /// the same run, so an SQE still holding it (an SQPOLL ring's SQ, a drained
    /// request) finds it closed (-EBADF), as the model says, and never a newer file.
    fd_floor: i32,
    /// Tasks that registered ring fds (`IORING_REGISTER_RING_FDS`): their registered
    /// rings are unregistered before the host closes anything (a task that goes on
    /// living, task 0, would keep them otherwise).
    ring_fd_tasks: Vec<TaskId>,
}

// A `Caller` host's task 0 is its creating thread; using it from elsewhere is caught
// at run time (`run_on`), so moving a host between threads stays memory safe.

fn fstat_id(fd: i32) -> Option<FileId> {
    // SAFETY: `st` is a plain C struct that fstat fully initializes on success.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is an fd the host owns and `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return None;
    }
    Some(FileId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

fn uname_release() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

fn parse_version(rel: &str) -> (u32, u32, u32) {
    let mut it = rel
        .split(|c: char| !c.is_ascii_digit())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

fn unavailable(what: &str, err: i32) -> Unavailable {
    let name = match -err {
        libc::ENOSYS => "ENOSYS".to_string(),
        libc::EPERM => {
            let d = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            format!("EPERM (kernel.io_uring_disabled={d})")
        }
        e => format!("errno {e}"),
    };
    Unavailable {
        reason: format!("{what}: {name}"),
    }
}

/// See [`crate::probe`].
pub fn probe() -> Result<KernelInfo, Unavailable> {
    let release = uname_release();
    let version = parse_version(&release);
    let mut p = Params::default();
    let fd = sys_setup(2, &mut p);
    if fd < 0 {
        return Err(unavailable("io_uring_setup", fd));
    }
    // struct io_uring_probe (16 bytes) + 256 * io_uring_probe_op (8 bytes).
    let mut buf = vec![0u8; 16 + 256 * 8];
    let r = sys_register(fd, REG_PROBE, buf.as_mut_ptr() as *const libc::c_void, 256);
    close_fd(fd);
    let mut opcodes = Vec::new();
    if r >= 0 {
        let ops_len = buf[1] as usize;
        for i in 0..ops_len.min(256) {
            let o = &buf[16 + i * 8..16 + i * 8 + 8];
            if u16::from_le_bytes([o[2], o[3]]) & 1 != 0 {
                opcodes.push(o[0]);
            }
        }
    }
    Ok(KernelInfo {
        release,
        version,
        features: p.features,
        opcodes,
    })
}

/// See [`crate::try_setup`].
pub fn try_setup(entries: u32, cq_entries: u32, flags: u32) -> Result<(u32, u32), i32> {
    if flags & (SETUP_ATTACH_WQ | SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY) != 0 {
        return Err(crate::HOST_REFUSED);
    }
    let mut p = Params {
        flags,
        cq_entries,
        ..Params::default()
    };
    let fd = sys_setup(entries, &mut p);
    if fd < 0 {
        return Err(fd);
    }
    close_fd(fd);
    Ok((p.sq_entries, p.cq_entries))
}

/// Whether the running kernel's fdinfo prints every fixed-file slot (6.1/6.12:
/// dentry names, `<none>` for an empty slot) rather than only the occupied ones
/// (6.18: paths). Found out once per process on a scratch ring with one empty slot;
/// it decides whether a table header without slot lines is an all-empty table or
/// a read that missed the ring's lock (see [`crate::fdinfo::FileTable::complete`]).
fn fdinfo_prints_every_slot() -> bool {
    static EVERY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *EVERY.get_or_init(|| {
        let mut p = Params::default();
        let fd = sys_setup(1, &mut p);
        if fd < 0 {
            return false;
        }
        let slot = [-1i32];
        let every = sys_register(fd, REG_FILES, slot.as_ptr() as *const libc::c_void, 1) == 0
            && std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{fd}"))
                .ok()
                .and_then(|t| crate::fdinfo::parse(&t).files)
                .is_some_and(|t| t.lines() > 0);
        close_fd(fd);
        every
    })
}

impl Host {
    /// A host with task 0 running on a thread of its own ([`Task0::Thread`]). Fails
    /// when io_uring cannot be set up.
    pub fn new() -> Result<Host, Unavailable> {
        Host::new_with(Task0::Thread)
    }

    /// A host whose task 0 is as `task0` says ([`Task0::Caller`]: the calling thread).
    pub fn new_with(task0: Task0) -> Result<Host, Unavailable> {
        let mut p = Params::default();
        let fd = sys_setup(1, &mut p);
        if fd < 0 {
            return Err(unavailable("io_uring_setup", fd));
        }
        close_fd(fd);
        let t0 = Host::task0(task0).map_err(|e| unavailable("spawning task 0", e))?;
        Ok(Host {
            vfds: Vec::new(),
            tasks: vec![Some(t0)],
            paths: HashMap::new(),
            dnames: HashMap::new(),
            task_dir: TaskDir::open(),
            thread_kinds: Default::default(),
            fd_floor: 0,
            ring_fd_tasks: Vec::new(),
        })
    }

    fn task0(task0: Task0) -> Result<Task, i32> {
        match task0 {
            Task0::Thread => Task::spawn(),
            Task0::Caller => Ok(Task::Caller(current_tid())),
        }
    }

    /// How task 0 runs now; `None` if it has exited.
    pub fn task0_mode(&self) -> Option<Task0> {
        match self.tasks.first() {
            Some(Some(Task::Caller(_))) => Some(Task0::Caller),
            Some(Some(Task::Thread { .. })) => Some(Task0::Thread),
            _ => None,
        }
    }

    /// Back to the state of a new host, without a new probe or a new task 0: closes
    /// every ring (unmapping it) and file, exits and joins every task but task 0,
    /// and restarts the vfd and task numbering from 0 and 1. Task 0 keeps its thread
    /// (if it exited, a [`Task0::Thread`] host starts a new one). The process's open
    /// fds are then exactly those of a new host. `Err(-errno)` if task 0's thread
    /// cannot be started again.
    pub fn reset(&mut self) -> Result<(), i32> {
        let mode = self.task0_mode().unwrap_or(Task0::Thread);
        self.reset_inner(mode, false)
    }

    /// [`Host::reset`], and task 0 becomes as `task0` says from now on:
    /// [`Task0::Caller`] the calling thread (kept if it already is task 0);
    /// [`Task0::Thread`] a *new* thread (the old one exits), i.e. a kernel task with
    /// no io_uring context and no io-wq yet, as in a new host. When task 0 changes,
    /// it does so between two traces, when nothing the old one made is open any more.
    pub fn reset_with(&mut self, task0: Task0) -> Result<(), i32> {
        self.reset_inner(task0, true)
    }

    fn reset_inner(&mut self, task0: Task0, rebind: bool) -> Result<(), i32> {
        // Close rings and files first (unmap + close), then stop every task but 0.
        self.unregister_ring_fds();
        self.vfds.clear();
        self.fd_floor = 0;
        let t0 = self.tasks.first_mut().and_then(Option::take);
        self.tasks.clear();
        self.paths.clear();
        self.dnames.clear();
        let keep = match t0 {
            Some(Task::Caller(tid))
                if task0 == Task0::Caller && !(rebind && tid != current_tid()) =>
            {
                Some(Task::Caller(tid))
            }
            Some(t @ Task::Thread { .. }) if task0 == Task0::Thread && !rebind => Some(t),
            _ => None,
        };
        let t0 = match keep {
            Some(t) => t,
            None => Host::task0(task0)?,
        };
        self.tasks.push(Some(t0));
        Ok(())
    }

    // ---- tasks ----------------------------------------------------------

    /// Start a new task (OS thread). `Err(-errno)` if the thread cannot be
    /// created, `Err(HOST_REFUSED)` past [`MAX_TASKS`] live tasks.
    pub fn spawn_task(&mut self) -> Result<TaskId, i32> {
        if self.tasks.iter().flatten().count() >= MAX_TASKS || self.tasks.len() >= u32::MAX as usize
        {
            return Err(HOST_REFUSED);
        }
        let t = Task::spawn()?;
        self.tasks.push(Some(t));
        Ok(TaskId((self.tasks.len() - 1) as u32))
    }

    /// Exit task `t`: its thread returns and is joined. Rings it created stay
    /// open (the host keeps their fds). 0, or `HOST_REFUSED` for an unknown task.
    /// On a [`Task0::Caller`] host task 0 cannot exit: `HOST_REFUSED`.
    pub fn exit_task(&mut self, t: TaskId) -> i32 {
        if matches!(self.tasks.get(t.0 as usize), Some(Some(Task::Caller(_)))) {
            return HOST_REFUSED;
        }
        match self.tasks.get_mut(t.0 as usize).and_then(Option::take) {
            Some(task) => {
                drop(task);
                0
            }
            None => HOST_REFUSED,
        }
    }

    /// Whether task `t` is alive.
    pub fn task_alive(&self, t: TaskId) -> bool {
        matches!(self.tasks.get(t.0 as usize), Some(Some(_)))
    }

    /// Make every live task thread return to userspace once, so task_work queued on it
    /// with TWA_SIGNAL_NO_IPI (COOP_TASKRUN and SQPOLL rings) runs now, as it would at
    /// the task's next system call. Returns how many tasks were kicked.
    pub fn kick_tasks(&self) -> usize {
        let live: Vec<TaskId> = (0..self.tasks.len() as u32)
            .map(TaskId)
            .filter(|&t| self.task_alive(t))
            .collect();
        for &t in &live {
            // A system call that returns at once: returning runs pending task_work.
            let _ = self.run_on(t, rustix::process::getpid);
        }
        live.len()
    }

    /// Whether an io-wq worker of this process is busy (see
    /// `stat_is_busy_iowq_worker`): running or runnable, just created and not yet
    /// named, or blocked on a lock. Between steps they should all wait idle. Reads
    /// each thread's `stat` through a `/proc/self/task` directory stream the host
    /// keeps open.
    pub fn iowq_busy(&self) -> bool {
        self.any_thread(|_, st| stat_is_busy_iowq_worker(st))
    }

    /// Whether anything of this host may still be working on its own: an io-wq
    /// worker is busy ([`Host::iowq_busy`]), or a task thread (other than the calling
    /// thread) is not asleep waiting for its next job, e.g. woken to run task_work
    /// queued with TWA_SIGNAL, or blocked in the kernel. Task_work queued with
    /// TWA_SIGNAL_NO_IPI does not wake its thread: [`Host::kick_tasks`] runs it.
    pub fn busy(&self) -> bool {
        let me = current_tid();
        let ours: Vec<libc::pid_t> = self.tasks.iter().flatten().map(Task::tid).collect();
        let kinds = &self.thread_kinds;
        self.any_thread_where(
            |tid, ino| {
                tid == me
                    || match kinds.borrow().get(&(tid, ino)) {
                        Some(ThreadKind::Other) => !ours.contains(&tid),
                        Some(ThreadKind::Worker(Some(owner))) => !ours.contains(owner),
                        _ => false,
                    }
            },
            |tid, ino, st| {
                let Some(t) = parse_thread_stat(st) else {
                    return false;
                };
                let worker = t.flags & PF_IO_WORKER != 0 && !t.comm.starts_with(b"iou-sqp");
                let kind = if worker {
                    let owner = t
                        .comm
                        .strip_prefix(b"iou-wrk-")
                        .and_then(|o| std::str::from_utf8(o).ok())
                        .and_then(|o| o.parse().ok());
                    ThreadKind::Worker(owner)
                } else {
                    ThreadKind::Other
                };
                kinds.borrow_mut().insert((tid, ino), kind);
                match kind {
                    ThreadKind::Worker(Some(owner)) if !ours.contains(&owner) => false,
                    ThreadKind::Worker(_) => stat_is_busy_iowq_worker(st),
                    ThreadKind::Other => ours.contains(&tid) && t.state != b'S',
                }
            },
        )
    }

    /// Whether the calling thread, as task 0 of a [`Task0::Caller`] host, has io-wq
    /// workers (threads named `iou-wrk-<its tid>`). The kernel creates them on the
    /// first request punted to io-wq and keeps the last one until the task exits, so
    /// from then on a punt starts at once instead of after a worker creation: the
    /// task's io-wq is warm for good. `false` for a [`Task0::Thread`] host.
    pub fn task0_iowq_started(&self) -> bool {
        let Some(Some(Task::Caller(tid))) = self.tasks.first() else {
            return false;
        };
        let want = format!("iou-wrk-{tid}");
        self.any_thread(|_, st| parse_thread_stat(st).is_some_and(|t| t.comm == want.as_bytes()))
    }

    /// Whether `pick(tid, stat)` holds for a thread of this process (`stat`: the text
    /// of its `/proc/self/task/<tid>/stat`).
    fn any_thread(&self, pick: impl Fn(libc::pid_t, &[u8]) -> bool) -> bool {
        self.any_thread_where(|_, _| false, |tid, _, st| pick(tid, st))
    }

    /// [`Host::any_thread`], not reading the threads `skip(tid, ino)` rules out (`ino`:
    /// the inode number of the thread's `/proc/self/task` entry).
    fn any_thread_where(
        &self,
        mut skip: impl FnMut(libc::pid_t, u64) -> bool,
        mut pick: impl FnMut(libc::pid_t, u64, &[u8]) -> bool,
    ) -> bool {
        let dir = self.task_dir.0;
        if dir.is_null() {
            return false;
        }
        // SAFETY: `dir` is the host's open directory stream (see `TaskDir`), used only
        // through `&self` on one thread at a time (the host is not `Sync`); the
        // dirent pointers are read before the next readdir call; `buf` and the
        // NUL-terminated path live across the calls that use them.
        unsafe {
            libc::rewinddir(dir);
            let dfd = libc::dirfd(dir);
            loop {
                let ent = libc::readdir(dir);
                if ent.is_null() {
                    return false;
                }
                let name = std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()).to_bytes();
                if name.is_empty() || name.len() > 24 || !name.iter().all(u8::is_ascii_digit) {
                    continue;
                }
                let tid = std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let ino = (*ent).d_ino;
                if skip(tid, ino) {
                    continue;
                }
                let mut path = [0u8; 48];
                path[..name.len()].copy_from_slice(name);
                path[name.len()..name.len() + 5].copy_from_slice(b"/stat");
                let fd = libc::openat(
                    dfd,
                    path.as_ptr() as *const libc::c_char,
                    libc::O_RDONLY | libc::O_CLOEXEC,
                );
                if fd < 0 {
                    continue; // the thread has exited
                }
                let mut st = [0u8; 512];
                let got = libc::read(fd, st.as_mut_ptr() as *mut libc::c_void, st.len());
                libc::close(fd);
                if got > 0 && pick(tid, ino, &st[..got as usize]) {
                    return true;
                }
            }
        }
    }

    /// Run `f` on task `t`'s thread and wait for its result (inline for a
    /// [`Task0::Caller`] task 0 called from its thread; refused from another thread).
    fn run_on<R: Send + 'static>(
        &self,
        t: TaskId,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, i32> {
        let task = self
            .tasks
            .get(t.0 as usize)
            .and_then(Option::as_ref)
            .ok_or(HOST_REFUSED)?;
        let tx = match task {
            Task::Caller(tid) if *tid == current_tid() => return Ok(f()),
            Task::Caller(_) => return Err(HOST_REFUSED),
            Task::Thread { tx, .. } => tx.as_ref().ok_or(HOST_REFUSED)?,
        };
        let (rtx, rrx) = mpsc::sync_channel(1);
        tx.send(Box::new(move || {
            let _ = rtx.send(f());
        }))
        .map_err(|_| HOST_REFUSED)?;
        rrx.recv().map_err(|_| HOST_REFUSED)
    }

    // ---- resources ------------------------------------------------------

    fn live_rings(&self) -> usize {
        self.vfds
            .iter()
            .flatten()
            .filter(|r| matches!(r, Res::Ring(_)))
            .count()
    }

    fn live_files(&self) -> usize {
        self.vfds
            .iter()
            .flatten()
            .filter(|r| matches!(r, Res::File { .. }))
            .count()
    }

    fn add(&mut self, r: Res) -> Vfd {
        self.vfds.push(Some(r));
        Vfd((self.vfds.len() - 1) as u32)
    }

    fn ring(&self, v: Vfd) -> Option<&Ring> {
        match self.vfds.get(v.0 as usize) {
            Some(Some(Res::Ring(r))) => Some(r),
            _ => None,
        }
    }

    fn ring_mut(&mut self, v: Vfd) -> Option<&mut Ring> {
        match self.vfds.get_mut(v.0 as usize) {
            Some(Some(Res::Ring(r))) => Some(r),
            _ => None,
        }
    }

    /// The process fd behind `v`, if it is open (for tests and experiments; steps
    /// name files by vfd).
    pub fn host_fd(&self, v: Vfd) -> Option<i32> {
        Some(self.real_fd(v)).filter(|&fd| fd >= 0)
    }

    /// Host fd behind `v`, or -1 for an unknown/closed vfd.
    fn real_fd(&self, v: Vfd) -> i32 {
        match self.vfds.get(v.0 as usize) {
            Some(Some(r)) => r.fd(),
            _ => -1,
        }
    }

    fn translate_i32(&self, raw: i32) -> i32 {
        if raw < 0 {
            -1
        } else {
            self.real_fd(Vfd(raw as u32))
        }
    }

    fn vfd_room(&self, n: usize) -> bool {
        self.vfds.len() + n <= MAX_VFDS as usize
    }

    /// `fd` (just created by this host) moved above every fd this host handed out in
    /// this run (see `fd_floor`); the new number, or `-errno` (then `fd` is closed).
    fn fresh_fd(&mut self, fd: i32) -> Result<i32, i32> {
        let fd = if fd < self.fd_floor {
            // SAFETY: `fd` is an fd this host just created and owns; F_DUPFD_CLOEXEC
            // makes a new fd for the same file at or above the floor.
            let moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, self.fd_floor) };
            let e = -errno();
            close_fd(fd);
            if moved < 0 {
                return Err(e);
            }
            moved
        } else {
            fd
        };
        self.fd_floor = fd + 1;
        Ok(fd)
    }

    fn record_file(&mut self, fd: i32, kind: Kind) -> Vfd {
        if let (Ok(link), Some(id)) = (
            std::fs::read_link(format!("/proc/thread-self/fd/{fd}")),
            fstat_id(fd),
        ) {
            let link = link.to_string_lossy().into_owned();
            if let Some(d) = crate::fdinfo::dentry_name_of_link(&link) {
                let ids = self.dnames.entry(d).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            self.paths.insert(link, id);
        }
        self.add(Res::File { fd, _kind: kind })
    }

    /// `io_uring_setup(entries, {flags, cq_entries})` on task `t`'s thread (so
    /// a SINGLE_ISSUER ring is owned by `t`). Returns the ring's vfd or the
    /// kernel's `-errno`; `HOST_REFUSED` for a refused flag (see
    /// [`HOST_REFUSED`]), past [`MAX_RINGS`], or if the resulting sizes exceed
    /// [`MAX_SQ_ENTRIES`]/[`MAX_CQ_ENTRIES`] (the ring is then closed again).
    pub fn setup_ring(
        &mut self,
        t: TaskId,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    ) -> Result<Vfd, i32> {
        if flags & REFUSED_SETUP_FLAGS != 0 || self.live_rings() >= MAX_RINGS || !self.vfd_room(1) {
            return Err(HOST_REFUSED);
        }
        let (fd, p) = self.run_on(t, move || {
            let mut p = Params {
                flags,
                cq_entries,
                ..Params::default()
            };
            let fd = sys_setup(entries, &mut p);
            (fd, p)
        })?;
        if fd < 0 {
            return Err(fd);
        }
        let fd = self.fresh_fd(fd)?;
        if p.sq_entries > MAX_SQ_ENTRIES
            || p.cq_entries > MAX_CQ_ENTRIES
            || p.features & FEAT_SINGLE_MMAP == 0
            || !p.sq_entries.is_power_of_two()
            || !p.cq_entries.is_power_of_two()
        {
            close_fd(fd);
            return Err(HOST_REFUSED);
        }
        let cqe_size = if flags & SETUP_CQE32 != 0 { 32 } else { 16 };
        let sqe_size = if flags & SETUP_SQE128 != 0 { 128 } else { 64 };
        let no_sqarray = flags & SETUP_NO_SQARRAY != 0;
        let sq_len = if no_sqarray {
            0
        } else {
            p.sq_off.array as usize + p.sq_entries as usize * 4
        };
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * cqe_size;
        let len = sq_len.max(cq_len);
        let rings = match Mapping::map(fd, len, 0) {
            Ok(m) => m,
            Err(e) => {
                close_fd(fd);
                return Err(e);
            }
        };
        let sqes = match Mapping::map(fd, p.sq_entries as usize * sqe_size, IORING_OFF_SQES) {
            Ok(m) => m,
            Err(e) => {
                drop(rings);
                close_fd(fd);
                return Err(e);
            }
        };
        let ring = Ring {
            fd,
            rings,
            sqes,
            p,
            sqe_size,
            cqe_size,
            no_sqarray,
            creator: t,
            asked_flags: flags,
            slot_vfds: vec![None; p.sq_entries as usize],
        };
        if flags & SETUP_SQPOLL != 0 {
            ring.wait_sq_thread_asleep();
        }
        Ok(self.add(Res::Ring(Box::new(ring))))
    }

    /// Sizes/flags of a ring.
    pub fn ring_info(&self, ring: Vfd) -> Option<RingInfo> {
        self.ring(ring).map(|r| RingInfo {
            sq_entries: r.p.sq_entries,
            cq_entries: r.p.cq_entries,
            flags: r.asked_flags,
            features: r.p.features,
            creator: r.creator,
        })
    }

    /// A pipe: `(read end, write end)`.
    pub fn create_pipe(&mut self) -> Result<(Vfd, Vfd), i32> {
        if self.live_files() + 2 > MAX_FILES || !self.vfd_room(2) {
            return Err(HOST_REFUSED);
        }
        use std::os::fd::IntoRawFd;
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| -e.raw_os_error())?;
        let rfd = self.fresh_fd(r.into_raw_fd());
        let wfd = self.fresh_fd(w.into_raw_fd());
        let (rfd, wfd) = match (rfd, wfd) {
            (Ok(r), Ok(w)) => (r, w),
            (Ok(x), Err(e)) | (Err(e), Ok(x)) => {
                close_fd(x);
                return Err(e);
            }
            (Err(e), Err(_)) => return Err(e),
        };
        let r = self.record_file(rfd, Kind::PipeRead);
        let w = self.record_file(wfd, Kind::PipeWrite);
        Ok((r, w))
    }

    /// An eventfd (counter 0).
    pub fn create_eventfd(&mut self) -> Result<Vfd, i32> {
        if self.live_files() >= MAX_FILES || !self.vfd_room(1) {
            return Err(HOST_REFUSED);
        }
        use std::os::fd::IntoRawFd;
        let fd = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC)
            .map_err(|e| -e.raw_os_error())?;
        let fd = self.fresh_fd(fd.into_raw_fd())?;
        Ok(self.record_file(fd, Kind::Eventfd))
    }

    /// A regular file: a memfd with a process-unique name.
    pub fn create_regular_file(&mut self) -> Result<Vfd, i32> {
        if self.live_files() >= MAX_FILES || !self.vfd_room(1) {
            return Err(HOST_REFUSED);
        }
        use std::os::fd::IntoRawFd;
        let n = MEMFD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("msgring-{}-{}", std::process::id(), n);
        let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(|e| -e.raw_os_error())?;
        let fd = self.fresh_fd(fd.into_raw_fd())?;
        Ok(self.record_file(fd, Kind::Memfd))
    }

    /// Close a vfd (ring: unmap and close). 0, or `-EBADF` if not open.
    pub fn close(&mut self, v: Vfd) -> i32 {
        match self.vfds.get_mut(v.0 as usize).and_then(Option::take) {
            Some(r) => {
                drop(r);
                0
            }
            None => -libc::EBADF,
        }
    }

    // ---- registration ---------------------------------------------------

    fn register_on(&self, t: TaskId, ring: Vfd, op: u32, payload: RegArg) -> i32 {
        // A vfd that is not a ring still goes to the kernel (as its host fd), so the
        // errno is the kernel's. An unknown vfd must not become -1 here: fd -1 is
        // io_uring_register's "blind" opcode path (-EINVAL for ring opcodes). It
        // becomes `UNOPENED_FD` (-EBADF), unless it stands for a negative number
        // (>= 2^31), which goes to the kernel as -1.
        let fd = match self.real_fd(ring) {
            -1 if ring.0 <= i32::MAX as u32 => UNOPENED_FD,
            fd => fd,
        };
        self.run_on(t, move || payload.call(fd, op))
            .unwrap_or_else(|e| e)
    }

    fn translate_slots(&self, fds: &[FileSlot]) -> Result<Vec<i32>, i32> {
        if fds.len() > MAX_TABLE as usize {
            return Err(HOST_REFUSED);
        }
        Ok(fds
            .iter()
            .map(|s| match *s {
                FileSlot::File(v) => self.real_fd(v),
                FileSlot::Empty => -1,
                FileSlot::Skip => -2,
            })
            .collect())
    }

    /// `IORING_REGISTER_FILES` with the given table (`None` = -1, a sparse slot).
    pub fn register_files(&mut self, t: TaskId, ring: Vfd, fds: &[Option<Vfd>]) -> i32 {
        let slots: Vec<FileSlot> = fds.iter().map(|&v| v.into()).collect();
        match self.translate_slots(&slots) {
            Ok(v) => self.register_on(t, ring, REG_FILES, RegArg::Fds(v)),
            Err(e) => e,
        }
    }

    /// `IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE` and `nr` slots.
    pub fn register_files_sparse(&mut self, t: TaskId, ring: Vfd, nr: u32) -> i32 {
        if nr > MAX_TABLE {
            return HOST_REFUSED;
        }
        self.register_on(t, ring, REG_FILES2, RegArg::Sparse(nr))
    }

    /// `IORING_REGISTER_FILES_UPDATE` at `offset` (`None` = -1: clear the slot).
    pub fn update_files(&mut self, t: TaskId, ring: Vfd, offset: u32, fds: &[Option<Vfd>]) -> i32 {
        let slots: Vec<FileSlot> = fds.iter().map(|&v| v.into()).collect();
        self.update_files_slots(t, ring, offset, &slots)
    }

    /// `IORING_REGISTER_FILES_UPDATE` with explicit [`FileSlot`]s (allows `Skip`).
    pub fn update_files_slots(
        &mut self,
        t: TaskId,
        ring: Vfd,
        offset: u32,
        fds: &[FileSlot],
    ) -> i32 {
        match self.translate_slots(fds) {
            Ok(v) => self.register_on(t, ring, REG_FILES_UPDATE, RegArg::Update(offset, v)),
            Err(e) => e,
        }
    }

    /// `IORING_UNREGISTER_FILES`.
    pub fn unregister_files(&mut self, t: TaskId, ring: Vfd) -> i32 {
        self.register_on(t, ring, UNREG_FILES, RegArg::None)
    }

    /// `IORING_REGISTER_FILE_ALLOC_RANGE`.
    pub fn file_alloc_range(&mut self, t: TaskId, ring: Vfd, off: u32, len: u32) -> i32 {
        self.register_on(t, ring, REG_FILE_ALLOC_RANGE, RegArg::Range(off, len))
    }

    /// `IORING_REGISTER_ENABLE_RINGS` (the calling task becomes the submitter
    /// of a SINGLE_ISSUER ring created R_DISABLED).
    pub fn enable_rings(&mut self, t: TaskId, ring: Vfd) -> i32 {
        self.register_on(t, ring, REG_ENABLE_RINGS, RegArg::None)
    }

    /// Synchronous MSG_RING: `io_uring_register(-1, IORING_REGISTER_SEND_MSG_RING,
    /// &sqe, 1)` on task `t`. The fd (bytes 4..8) is translated like `push_sqe`.
    pub fn sync_msg(&mut self, t: TaskId, sqe: [u8; 64]) -> i32 {
        let sqe = self.translate_sqe(sqe);
        self.run_on(t, move || {
            let b = sqe;
            sys_register(-1, REG_SEND_MSG_RING, b.as_ptr() as *const libc::c_void, 1)
        })
        .unwrap_or_else(|e| e)
    }

    // ---- SQ / CQ --------------------------------------------------------

    fn translate_sqe(&self, mut sqe: [u8; 64]) -> [u8; 64] {
        if sqe[1] & crate::sqe::IOSQE_FIXED_FILE == 0 {
            let raw = i32::from_le_bytes([sqe[4], sqe[5], sqe[6], sqe[7]]);
            sqe[4..8].copy_from_slice(&self.translate_i32(raw).to_le_bytes());
        }
        sqe
    }

    /// Queue one SQE (not submitted until `enter`, or until the SQPOLL thread
    /// picks it up). The 64 bytes go to the kernel as given, except the fd
    /// field, which is translated vfd -> host fd unless `IOSQE_FIXED_FILE` is
    /// set (an unknown vfd becomes -1). On an SQE128 ring the second half is
    /// zeroed. Only [`ALLOWED_OPCODES`] are accepted.
    ///
    /// When the fd is translated: the kernel reads an SQE (and looks its fd up)
    /// when it consumes it, not when it is queued. So the fd is translated here
    /// and, on a ring without SQPOLL, translated again by [`Host::enter`] for
    /// every SQE still pending just before the syscall: a vfd created or closed
    /// between `push_sqe` and `enter` is seen as it is at submit time. On an
    /// SQPOLL ring the SQ thread may consume the SQE at any moment after the tail
    /// is published, so only the push-time translation applies there.
    pub fn push_sqe(&mut self, ring: Vfd, sqe: [u8; 64]) -> Result<(), PushError> {
        if !ALLOWED_OPCODES.contains(&sqe[0]) {
            return Err(PushError::Forbidden);
        }
        let vfd = (sqe[1] & crate::sqe::IOSQE_FIXED_FILE == 0)
            .then(|| i32::from_le_bytes([sqe[4], sqe[5], sqe[6], sqe[7]]));
        let sqe = self.translate_sqe(sqe);
        let r = self.ring_mut(ring).ok_or(PushError::NotARing)?;
        let head = r.rings.atomic_u32(r.p.sq_off.head).load(Ordering::Acquire);
        let tail_a = r.rings.atomic_u32(r.p.sq_off.tail);
        let tail = tail_a.load(Ordering::Relaxed);
        if tail.wrapping_sub(head) >= r.p.sq_entries {
            return Err(PushError::SqFull);
        }
        let idx = tail & (r.p.sq_entries - 1);
        let at = idx as usize * r.sqe_size;
        assert!(at + r.sqe_size <= r.sqes.len);
        // SAFETY: `at..at+sqe_size` is inside the SQE mapping (asserted); the
        // slot is free (tail - head < entries), so the kernel is not reading it
        // until we publish the new tail below.
        unsafe {
            let dst = r.sqes.ptr.add(at);
            std::ptr::copy_nonoverlapping(sqe.as_ptr(), dst, 64);
            if r.sqe_size > 64 {
                std::ptr::write_bytes(dst.add(64), 0, r.sqe_size - 64);
            }
        }
        if !r.no_sqarray {
            let a = r.p.sq_off.array + idx * 4;
            r.rings.atomic_u32(a).store(idx, Ordering::Relaxed);
        }
        r.slot_vfds[idx as usize] = vfd;
        tail_a.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Translates the fd of every SQE queued on `ring` and not yet consumed again,
    /// from the vfd recorded at push time (see [`Host::push_sqe`]). Not for SQPOLL
    /// rings, whose SQ thread may be reading the entries.
    fn retranslate_pending(&mut self, ring: Vfd) {
        let Some(r) = self.ring(ring) else {
            return;
        };
        if r.asked_flags & SETUP_SQPOLL != 0 {
            return;
        }
        let head = r.rings.atomic_u32(r.p.sq_off.head).load(Ordering::Acquire);
        let tail = r.rings.atomic_u32(r.p.sq_off.tail).load(Ordering::Relaxed);
        let pending = tail.wrapping_sub(head).min(r.p.sq_entries);
        let fds: Vec<(usize, i32)> = (0..pending)
            .filter_map(|i| {
                let idx = (head.wrapping_add(i) & (r.p.sq_entries - 1)) as usize;
                r.slot_vfds[idx].map(|v| (idx, self.translate_i32(v)))
            })
            .collect();
        for (idx, fd) in fds {
            let at = idx * r.sqe_size + 4;
            assert!(at + 4 <= r.sqes.len);
            // SAFETY: `at..at+4` is the `fd` field of SQE slot `idx`, inside the
            // SQE mapping (asserted). The slot is between head and tail, i.e. not
            // yet consumed, and without SQPOLL the kernel only consumes SQEs inside
            // `io_uring_enter`, which for this ring is issued only through
            // `&mut Host` (so not concurrently with this write); the Release store
            // of the tail was done before and the enter syscall orders this write
            // before the kernel's read.
            unsafe {
                std::ptr::copy_nonoverlapping(fd.to_le_bytes().as_ptr(), r.sqes.ptr.add(at), 4);
            }
        }
    }

    /// `io_uring_enter(ring, to_submit, min_complete, flags)` on task `t`'s
    /// thread. The caller's `EXT_ARG`/`EXT_ARG_REG` bits are dropped; when
    /// `GETEVENTS` is set and `min_complete > 0` the host adds `EXT_ARG` with
    /// `timeout` so the call cannot hang (it then returns `-ETIME`).
    pub fn enter(
        &mut self,
        t: TaskId,
        ring: Vfd,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Duration,
    ) -> i32 {
        self.retranslate_pending(ring);
        let fd = self.real_fd(ring);
        self.enter_fd(t, fd, to_submit, min_complete, flags, timeout)
    }

    /// `io_uring_enter(fd, ...)` on task `t`'s thread, `fd` as given (see
    /// [`Host::enter`]).
    fn enter_fd(
        &mut self,
        t: TaskId,
        fd: i32,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Duration,
    ) -> i32 {
        let mut flags = flags & !(ENTER_EXT_ARG | ENTER_EXT_ARG_REG);
        let use_ts = flags & ENTER_GETEVENTS != 0 && min_complete > 0;
        if use_ts {
            flags |= ENTER_EXT_ARG;
        }
        let secs = timeout.as_secs().min(i64::MAX as u64) as i64;
        let nsecs = timeout.subsec_nanos() as i64;
        self.run_on(t, move || {
            let ts: [i64; 2] = [secs, nsecs];
            let arg = uring::io_uring_getevents_arg {
                sigmask_sz: 8,
                ts: uring::io_uring_ptr::new(ts.as_ptr() as *mut libc::c_void),
                ..Default::default()
            };
            let (argp, argsz) = if use_ts {
                (
                    &arg as *const uring::io_uring_getevents_arg as *const libc::c_void,
                    std::mem::size_of::<uring::io_uring_getevents_arg>(),
                )
            } else {
                (std::ptr::null(), 0)
            };
            // SAFETY: `argp` is NULL or points at `arg`, which (with `ts`) lives
            // on this stack frame for the whole call; no sigmask is passed.
            sys_ret(unsafe {
                libc::syscall(
                    libc::SYS_io_uring_enter,
                    fd,
                    to_submit,
                    min_complete,
                    flags,
                    argp,
                    argsz,
                )
            })
        })
        .unwrap_or_else(|e| e)
    }

    /// Read up to `max` CQEs straight from the CQ ring (tail with Acquire) and
    /// release them (head with Release). No syscall, so no overflow flush and
    /// no task_work run. On a CQE_MIXED ring a CQE with IORING_CQE_F_32 takes two
    /// 16-byte slots (its second half is `big`), and padding CQEs
    /// (IORING_CQE_F_SKIP) are returned like any other: each is one slot.
    pub fn reap(&mut self, ring: Vfd, max: u32) -> Vec<Cqe> {
        let Some(r) = self.ring(ring) else {
            return Vec::new();
        };
        let mixed = r.asked_flags & SETUP_CQE_MIXED != 0;
        let head_a = r.rings.atomic_u32(r.p.cq_off.head);
        let head = head_a.load(Ordering::Relaxed);
        let tail = r.rings.atomic_u32(r.p.cq_off.tail).load(Ordering::Acquire);
        let ready = tail.wrapping_sub(head).min(r.p.cq_entries);
        let read = |slot: u32, len: usize, b: &mut [u8; 32]| {
            let idx = head.wrapping_add(slot) & (r.p.cq_entries - 1);
            let at = r.p.cq_off.cqes as usize + idx as usize * r.cqe_size;
            assert!(at + len <= r.rings.len);
            // SAFETY: in bounds (asserted); the entry is between head and the
            // Acquire-loaded tail, so the kernel finished writing it and will
            // not touch it until we advance head.
            unsafe { std::ptr::copy_nonoverlapping(r.rings.ptr.add(at), b.as_mut_ptr(), len) };
        };
        let mut out = Vec::new();
        let mut used = 0u32;
        while used < ready && (out.len() as u32) < max {
            let mut b = [0u8; 32];
            read(used, r.cqe_size, &mut b);
            let flags = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
            used += 1;
            if mixed && flags & CQE_F_32 != 0 && flags & CQE_F_SKIP == 0 && used < ready {
                let mut second = [0u8; 32];
                read(used, 16, &mut second);
                b[16..32].copy_from_slice(&second[..16]);
                used += 1;
            }
            let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
            out.push(Cqe {
                user_data: u64_at(0),
                res: i32::from_le_bytes([b[8], b[9], b[10], b[11]]),
                flags,
                big: [u64_at(16), u64_at(24)],
            });
        }
        head_a.store(head.wrapping_add(used), Ordering::Release);
        out
    }

    /// `sq_flags` word (NEED_WAKEUP, CQ_OVERFLOW, TASKRUN). 0 for a non-ring.
    pub fn sq_flags(&self, ring: Vfd) -> u32 {
        self.ring(ring)
            .map(|r| r.rings.atomic_u32(r.p.sq_off.flags).load(Ordering::Acquire))
            .unwrap_or(0)
    }

    /// The CQ ring's `overflow` counter (dropped CQEs). 0 for a non-ring.
    pub fn cq_overflow(&self, ring: Vfd) -> u32 {
        self.ring(ring)
            .map(|r| {
                r.rings
                    .atomic_u32(r.p.cq_off.overflow)
                    .load(Ordering::Acquire)
            })
            .unwrap_or(0)
    }

    /// CQEs visible in the CQ ring (`tail - head`). 0 for a non-ring.
    pub fn cq_ready(&self, ring: Vfd) -> u32 {
        self.ring(ring).map(Ring::cq_ready).unwrap_or(0)
    }

    /// Entries queued in the SQ ring and not yet consumed by the kernel.
    pub fn sq_pending(&self, ring: Vfd) -> u32 {
        self.ring(ring)
            .map(|r| {
                let tail = r.rings.atomic_u32(r.p.sq_off.tail).load(Ordering::Relaxed);
                let head = r.rings.atomic_u32(r.p.sq_off.head).load(Ordering::Acquire);
                tail.wrapping_sub(head)
            })
            .unwrap_or(0)
    }

    // ---- observation without side effects -------------------------------

    fn fdinfo(&self, ring: Vfd) -> Option<FdInfo> {
        let r = self.ring(ring)?;
        // fdinfo only trylocks the ring's uring_lock; with SQPOLL the SQ thread
        // may hold it, so retry a few times. Without the lock 6.18 leaves the
        // table out, 6.1/6.12 print its header without slot lines.
        for i in 0..50 {
            if let Ok(text) = std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{}", r.fd))
            {
                let info = crate::fdinfo::parse(&text);
                if info
                    .files
                    .as_ref()
                    .is_some_and(|t| t.complete(fdinfo_prints_every_slot()))
                {
                    return Some(info);
                }
            }
            std::thread::sleep(Duration::from_micros(100 * (i + 1)));
        }
        None
    }

    /// The identity of the file a slot line names. A dentry name that several
    /// created files share with different identities (two pipes) cannot be told
    /// apart: `None`.
    fn slot_id(&self, name: &SlotName) -> Option<FileId> {
        match name {
            SlotName::Path(p) => self.paths.get(p).copied(),
            SlotName::Dentry(d) => match self.dnames.get(d).map(Vec::as_slice) {
                Some([id]) => Some(*id),
                _ => None,
            },
        }
    }

    /// One entry per slot from a parsed table; a file the host cannot name shows as
    /// `FileId { dev: 0, ino: 0 }`.
    fn slots_of(&self, t: &FileTable) -> Vec<Option<FileId>> {
        let mut out = vec![None; t.len.min(1 << 20) as usize];
        for (i, name) in &t.occupied {
            if let Some(slot) = out.get_mut(*i as usize) {
                *slot = Some(self.slot_id(name).unwrap_or(FileId { dev: 0, ino: 0 }));
            }
        }
        out
    }

    /// The registered file table of `ring` as seen by `/proc/self/fdinfo`:
    /// `None` if the ring is unknown or fdinfo could not be read (lock busy);
    /// otherwise one entry per slot (an empty `Vec` when no table is registered),
    /// `None` for an empty slot. A file the host cannot name (should not happen)
    /// shows as `FileId { dev: 0, ino: 0 }`.
    pub fn file_table(&self, ring: Vfd) -> Option<Vec<Option<FileId>>> {
        let info = self.fdinfo(ring)?;
        Some(self.slots_of(info.files.as_ref()?))
    }

    /// What file fixed slot `slot` of `ring` holds (no side effects on the
    /// ring). `None`: empty slot, out of range, no table, or fdinfo unreadable.
    pub fn slot_identity(&self, ring: Vfd, slot: u32) -> Option<FileId> {
        self.file_table(ring)?.get(slot as usize).copied().flatten()
    }

    /// `(st_dev, st_ino)` of a live vfd (rings included).
    pub fn file_identity(&self, v: Vfd) -> Option<FileId> {
        match self.vfds.get(v.0 as usize) {
            Some(Some(r)) => fstat_id(r.fd()),
            _ => None,
        }
    }

    /// The kernel's CQ overflow list of `ring`, FIFO order, as
    /// `(user_data, res, flags)`, read from fdinfo without side effects.
    pub fn overflow_list(&self, ring: Vfd) -> Option<Vec<(u64, i32, u32)>> {
        self.fdinfo(ring)?.overflow
    }

    /// The file table and the overflow list of `ring` from a single fdinfo read
    /// (see [`Host::file_table`] and [`Host::overflow_list`]). `None` if the ring
    /// is unknown or fdinfo could not be read.
    pub fn table_and_overflow(&self, ring: Vfd) -> Option<crate::TableAndOverflow> {
        let info = self.fdinfo(ring)?;
        let table = self.slots_of(info.files.as_ref()?);
        Some((table, info.overflow.unwrap_or_default()))
    }

    /// Raw fdinfo text of a ring (for debugging / experiments).
    pub fn fdinfo_text(&self, ring: Vfd) -> Option<String> {
        let r = self.ring(ring)?;
        std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{}", r.fd)).ok()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Close rings and files first (unmap + close), then stop every task.
        self.unregister_ring_fds();
        self.vfds.clear();
        self.tasks.clear();
    }
}

/// Owned argument of a register call, moved to the task thread.
enum RegArg {
    None,
    Fds(Vec<i32>),
    Sparse(u32),
    Update(u32, Vec<i32>),
    Range(u32, u32),
}

impl RegArg {
    fn call(self, fd: i32, op: u32) -> i32 {
        match self {
            RegArg::None => sys_register(fd, op, std::ptr::null(), 0),
            RegArg::Fds(v) => {
                // Like liburing, always pass a valid pointer (even for nr=0), so
                // the kernel's own checks decide rather than a NULL-arg -EFAULT.
                let dummy = [-1i32];
                let p = if v.is_empty() {
                    dummy.as_ptr()
                } else {
                    v.as_ptr()
                };
                sys_register(fd, op, p as *const libc::c_void, v.len() as u32)
            }
            RegArg::Sparse(nr) => {
                let mut a = uring::io_uring_rsrc_register::default();
                a.nr = nr;
                a.flags = uring::IoringRsrcFlags::from_bits_retain(RSRC_REGISTER_SPARSE);
                sys_register(
                    fd,
                    op,
                    &a as *const uring::io_uring_rsrc_register as *const libc::c_void,
                    std::mem::size_of::<uring::io_uring_rsrc_register>() as u32,
                )
            }
            RegArg::Update(offset, v) => {
                let dummy = [-1i32];
                let fds = if v.is_empty() {
                    dummy.as_ptr()
                } else {
                    v.as_ptr()
                };
                let mut a = uring::io_uring_files_update::default();
                a.offset = offset;
                a.fds = uring::io_uring_ptr::new(fds as *mut libc::c_void);
                sys_register(
                    fd,
                    op,
                    &a as *const uring::io_uring_files_update as *const libc::c_void,
                    v.len() as u32,
                )
            }
            RegArg::Range(off, len) => {
                let a = FileIndexRange { off, len, resv: 0 };
                sys_register(
                    fd,
                    op,
                    &a as *const FileIndexRange as *const libc::c_void,
                    0,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots in the 6.1/6.12 format (dentry names) resolve to the files the host
    /// created; the empty name of a pipe only while the host has one pipe.
    #[test]
    fn resolves_dentry_format_slots() {
        let Ok(mut h) = Host::new() else {
            eprintln!("io_uring unavailable: skipped");
            return;
        };
        let m = h.create_regular_file().unwrap();
        let (pr, _pw) = h.create_pipe().unwrap();
        let ev = h.create_eventfd().unwrap();
        let link = std::fs::read_link(format!("/proc/thread-self/fd/{}", h.real_fd(m))).unwrap();
        let mname = crate::fdinfo::dentry_name_of_link(&link.to_string_lossy()).unwrap();
        assert!(mname.starts_with("memfd:msgring-"), "{mname}");
        let text = format!(
            "UserFiles:\t6\n    0: {mname}\n    1: <none>\n    2: \n    3: \n    4: [eventfd]\n    5: x\n"
        );
        let t = crate::fdinfo::parse(&text).files.unwrap();
        let id = |v| h.file_identity(v);
        let unknown = Some(FileId { dev: 0, ino: 0 });
        assert_eq!(
            h.slots_of(&t),
            vec![id(m), None, id(pr), id(pr), id(ev), unknown]
        );
        h.create_pipe().unwrap();
        assert_eq!(h.slots_of(&t)[2], unknown, "two pipes: ambiguous");
    }

    #[test]
    fn version_parse() {
        assert_eq!(parse_version("6.18.44-fc-v595"), (6, 18, 44));
        assert_eq!(parse_version("6.1"), (6, 1, 0));
    }
}
