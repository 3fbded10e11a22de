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
//!
//! # Layout
//!
//! This file holds [`Host`]'s state, its creation, reset and drop. `sys` makes the raw
//! system calls and holds the kernel's structs, `probe` finds out what the kernel
//! offers, `tasks` runs tasks as threads, `busy` scans `/proc` for work still going on,
//! `fds` keeps the vfd table and the files, `ring` and `sqcq` a ring's mappings, SQ and
//! CQ, `register` and `register_raw` the register calls, `observe` the fdinfo reads.

mod busy;
mod fds;
mod observe;
mod probe;
mod register;
mod register_raw;
mod ring;
mod sqcq;
mod sys;
mod tasks;

use crate::{FileId, Task0, TaskId, Unavailable};
use std::collections::HashMap;

use busy::{TaskDir, ThreadKind};
use probe::unavailable;
use ring::Ring;
use sys::{close_fd, sys_setup, Params};
use tasks::{current_tid, Task};

pub use fds::isolate_fd_table;
pub use probe::{probe, try_setup};

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
        // Probe once, here, not inside the first step's settle (Host::busy_strict).
        busy::wchan_names_sleepers();
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
        // Stop every task but 0 first, then close rings and files (unmap + close):
        // see [`Host::stop_tasks_then_close`].
        // A task 0 that is not kept exits with the others, before the close.
        self.unregister_ring_fds();
        let keep = match self.tasks.first_mut().and_then(Option::take) {
            Some(Task::Caller(tid))
                if task0 == Task0::Caller && !(rebind && tid != current_tid()) =>
            {
                Some(Task::Caller(tid))
            }
            Some(t @ Task::Thread { .. }) if task0 == Task0::Thread && !rebind => Some(t),
            _ => None,
        };
        self.stop_tasks_then_close();
        self.fd_floor = 0;
        self.paths.clear();
        self.dnames.clear();
        let t0 = match keep {
            Some(t) => t,
            None => Host::task0(task0)?,
        };
        self.tasks.push(Some(t0));
        Ok(())
    }
}

impl Host {
    /// Exits and joins every task still in `self.tasks`, and only then closes every
    /// ring and file. The order matters on 6.1 (docs/kernels.md, "The 6.1 oops at
    /// teardown"): closing a DEFER_TASKRUN ring queues `io_ring_exit_work`, whose
    /// `io_move_task_work_from_local` empties the ring's local work list
    /// (`llist_del_all`) on a kworker, while its owner, exiting, runs the same list in
    /// `io_uring_cancel_generic` with 6.1's on-stack `fake` node: the two race and both
    /// oops. A task that exits while its rings are still open runs its local work alone,
    /// and the exit work that the close queues later finds no owner to race with.
    fn stop_tasks_then_close(&mut self) {
        self.tasks.clear();
        self.vfds.clear();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.unregister_ring_fds();
        self.stop_tasks_then_close();
    }
}
