//! [`KernelBackend`]: the host's real rings, files and task threads as a
//! [`Backend`], one step at a time.

use super::settle::{needs_settle, wait_blocks, Hint, Settle, IOWQ_SETUP_FLAGS, IOWQ_SQE_FLAGS};
use super::{kernel_profile, probe, KernelInfo, Unavailable, OUT_OF_TIME};
use crate::uapi;
use crate::{Backend, Cqe, Faults, FileId, Profile, RingView, Step, StepResult, TaskId};
use msgring_real_backend as rb;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// The running kernel as a [`Backend`].
pub struct KernelBackend {
    pub(super) host: rb::Host,
    pub(super) info: KernelInfo,
    pub(super) settle: Settle,
    /// Vfds handed out so far (the next one is this number).
    pub(super) next_vfd: u32,
    /// Live ring vfds.
    pub(super) rings: Vec<u32>,
    /// Tasks handed out so far (task 0 included) and which are alive.
    pub(super) tasks: Vec<bool>,
    /// File objects created so far, numbered as the model numbers them.
    pub(super) next_file: u32,
    /// `(st_dev, st_ino)` of each created non-ring file -> its identity class.
    pub(super) classes: HashMap<(u64, u64), FileId>,
    pub(super) first_eventfd: Option<FileId>,
    /// A hinted wait ran out of `Settle::hinted_max`: later waits do not wait for
    /// the prediction any more (see [`Settle::hinted_max`]).
    pub(super) hint_gave_up: bool,
    /// How task 0 runs after a [`KernelBackend::reset`].
    pub(super) task0: rb::Task0,
    /// The last settle ended with nothing busy, and no step since could start work
    /// that runs on its own (no `Enter`, `SyncMsg`, `Push` or `ExitTask`, no SQPOLL
    /// ring open): the settle need not scan the process's threads for io-wq workers
    /// or task threads at work. Only submissions start such work (the host's opcodes
    /// do not arm polls that punt to io-wq).
    pub(super) iowq_idle: bool,
    /// No step applied since `new`/`reset`.
    pub(super) fresh: bool,
    /// Steps applied since `new`/`reset`.
    pub(super) steps_applied: usize,
    /// The first step (index since `new`/`reset`) after which the kernel did not
    /// become quiescent within [`Settle::give_up`].
    pub(super) unsettled: Option<usize>,
    /// Wall-clock time a trace may take ([`KernelBackend::set_time_budget`]).
    pub(super) time_budget: Option<Duration>,
    /// When the current trace's budget runs out (set at its first step).
    pub(super) deadline: Option<Instant>,
    /// The thread that made the backend: its fd table is the host's (see
    /// [`own_fd_table`]), so steps from another thread are refused.
    pub(super) thread: std::thread::ThreadId,
}

impl fmt::Debug for KernelBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelBackend")
            .field("release", &self.info.release)
            .field("next_vfd", &self.next_vfd)
            .field("rings", &self.rings)
            .finish_non_exhaustive()
    }
}

fn ret_or_refused(r: i32, what: &str) -> StepResult {
    if r == rb::HOST_REFUSED {
        StepResult::Unmodelled(format!("the host refused {what}"))
    } else {
        StepResult::Ret(r)
    }
}

/// The `fd` of a [`Step::Register`] for the host: -1, an index (with
/// IORING_REGISTER_USE_REGISTERED_RING), or a virtual fd.
fn reg_fd(fd: i32, opcode: u32) -> rb::RegFd {
    if opcode & uapi::register::USE_REGISTERED_RING != 0 {
        rb::RegFd::Index(fd as u32)
    } else if fd == -1 {
        rb::RegFd::Blind
    } else {
        rb::RegFd::Vfd(rb::Vfd(fd as u32))
    }
}

/// The `arg` of a [`Step::Register`] for the host.
fn reg_arg(arg: &crate::RegisterArg) -> rb::RawRegArg {
    match arg {
        crate::RegisterArg::Null => rb::RawRegArg::Null,
        crate::RegisterArg::Sqe(sqe) => rb::RawRegArg::Sqe(sqe.to_bytes()),
        crate::RegisterArg::RingFds(v) => rb::RawRegArg::RingFds(
            v.iter()
                .map(|u| (u.offset, u.fd.map(|f| rb::Vfd(f as u32))))
                .collect(),
        ),
    }
}

fn not_a_ring(fd: i32) -> StepResult {
    StepResult::Refused(format!("fd {fd} is not an open ring"))
}

thread_local! {
    static OWN_FD_TABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Gives the calling thread an fd table of its own, once per thread
/// ([`rb::isolate_fd_table`]), before it makes a host: the host's task threads share
/// it. No other thread of the process (another backend in a parallel test, a test
/// reading a file) can then be handed a number this thread's host closed while an SQE
/// still names it (an SQPOLL ring's SQ, a request parked on io-wq), so a closed fd is
/// observed closed (-EBADF, R3), never as a newer file. Fds the thread had before are
/// closed in its new table only; the commands write their files whole, so nothing
/// already opened is lost.
pub fn own_fd_table() -> Result<(), Unavailable> {
    if OWN_FD_TABLE.with(|o| o.get()) {
        return Ok(());
    }
    rb::isolate_fd_table().map_err(|e| Unavailable {
        reason: format!("an fd table of its own for a kernel backend: errno {}", -e),
    })?;
    OWN_FD_TABLE.with(|o| o.set(true));
    Ok(())
}

impl KernelBackend {
    /// A backend with a fresh host (task 0 running on a thread of its own, nothing
    /// open). The calling thread gets an fd table of its own ([`own_fd_table`]) and
    /// drives the backend; steps from other threads are refused (`Unmodelled`).
    pub fn new() -> Result<KernelBackend, Unavailable> {
        KernelBackend::with_task0(rb::Task0::Thread)
    }

    /// A backend whose task 0 is the calling thread ([`rb::Task0::Caller`]): task 0's
    /// system calls run inline, without a round trip to a thread of its own. For
    /// running many traces on one thread with a [`KernelBackend::reset`] between
    /// them (what [`super::check()`] does on each of its threads). Drive it from this thread
    /// only: task 0's calls from another thread are refused (`Unmodelled`). A trace
    /// that exits task 0 or may punt to io-wq gets a new task 0 thread instead:
    /// [`super::diff_trace_on`] / [`super::diff_run_on`] switch a fresh backend for it (see
    /// [`KernelBackend::prepare_for`]); stepped by hand, an exit of task 0 is
    /// `Unmodelled`. If the caller's io-wq has workers (made before, or by a punt the
    /// scan did not foresee), task 0 is a new thread per run (see
    /// [`KernelBackend::reset`]).
    pub fn for_this_thread() -> Result<KernelBackend, Unavailable> {
        KernelBackend::with_task0(rb::Task0::Caller)
    }

    fn with_task0(task0: rb::Task0) -> Result<KernelBackend, Unavailable> {
        let info = probe()?;
        own_fd_table()?;
        let mut host = rb::Host::new_with(task0)?;
        // A caller whose io-wq is warm (see `reset`) cannot be task 0.
        let task0 = if task0 == rb::Task0::Caller && host.task0_iowq_started() {
            host.reset_with(rb::Task0::Thread)
                .map_err(|e| Unavailable {
                    reason: format!("starting task 0's thread: errno {}", -e),
                })?;
            rb::Task0::Thread
        } else {
            task0
        };
        Ok(KernelBackend {
            host,
            info,
            settle: Settle::default(),
            next_vfd: 0,
            rings: Vec::new(),
            tasks: vec![true],
            next_file: 0,
            classes: HashMap::new(),
            first_eventfd: None,
            hint_gave_up: false,
            task0,
            fresh: true,
            iowq_idle: false,
            steps_applied: 0,
            unsettled: None,
            time_budget: None,
            deadline: None,
            thread: std::thread::current().id(),
        })
    }

    /// Bounds the wall-clock time of each trace, counted from its first step (after
    /// [`KernelBackend::new`] or [`KernelBackend::reset`]): once it has run out, every
    /// further step reports `Unmodelled` with [`OUT_OF_TIME`] and does nothing, so a
    /// trace of 10 000 bounded waits cannot run for minutes. `None`: no bound.
    pub fn set_time_budget(&mut self, budget: Option<Duration>) {
        self.time_budget = budget;
    }

    /// Back to the state of a new backend, reusing the host (see [`rb::Host::reset`]):
    /// every ring, file and task but task 0 is closed or exited, numbering restarts,
    /// per-run state (the given-up hint) is cleared; the settle times stay. The
    /// process's open fds are then those of a new backend. A backend made by
    /// [`KernelBackend::for_this_thread`] makes the calling thread task 0 again.
    pub fn reset(&mut self) -> Result<(), Unavailable> {
        // The caller stays task 0 only while its io-wq is cold: no worker yet. A new
        // host's task 0 has none, the first punt to io-wq creates one (slowly), and the
        // last one lives as long as the task; a warm io-wq changes which side wins
        // the races between io-wq and the task's own task_work. Traces that can punt
        // get a new task 0 thread (`prepare`); should one punt anyway, the caller
        // hands task 0 to a new thread per run from then on.
        if self.task0 == rb::Task0::Caller && self.host.task0_iowq_started() {
            self.task0 = rb::Task0::Thread;
        }
        // A new task 0 thread per run: a kernel task as fresh as a new host's.
        let r = self.host.reset_with(self.task0);
        r.map_err(|e| Unavailable {
            reason: format!("restarting task 0: errno {}", -e),
        })?;
        self.next_vfd = 0;
        self.rings.clear();
        self.tasks.clear();
        self.tasks.push(true);
        self.next_file = 0;
        self.classes.clear();
        self.first_eventfd = None;
        self.hint_gave_up = false;
        self.fresh = true;
        // Requests of the closed rings may still be on their way out.
        self.iowq_idle = false;
        self.steps_applied = 0;
        self.unsettled = None;
        Ok(())
    }

    /// Before running `steps` on a fresh backend whose task 0 is the calling thread:
    /// if they exit task 0 (the caller cannot exit) or may punt requests to io-wq
    /// (which would leave the caller's io-wq warm, see [`KernelBackend::reset`]),
    /// give task 0 a new thread of its own for this run (the next reset goes back).
    /// Does nothing on a backend that has run steps since it was made or reset.
    pub fn prepare_for(&mut self, steps: &[Step]) -> Result<(), Unavailable> {
        let needs_thread = steps.iter().any(|s| match s {
            Step::ExitTask { task } => task.0 == 0,
            Step::Setup { flags, .. } => flags & IOWQ_SETUP_FLAGS != 0,
            Step::Push { sqe, .. } | Step::SyncMsg { sqe, .. } => sqe.flags & IOWQ_SQE_FLAGS != 0,
            _ => false,
        });
        self.prepare(needs_thread)
    }

    pub(super) fn prepare(&mut self, needs_thread: bool) -> Result<(), Unavailable> {
        if self.fresh && needs_thread && self.host.task0_mode() == Some(rb::Task0::Caller) {
            self.host
                .reset_with(rb::Task0::Thread)
                .map_err(|e| Unavailable {
                    reason: format!("starting task 0's thread: errno {}", -e),
                })?;
        }
        Ok(())
    }

    /// What [`probe`] found.
    pub fn info(&self) -> &KernelInfo {
        &self.info
    }

    /// The model profile for this kernel, if the model has one.
    pub fn profile(&self) -> Option<Profile> {
        kernel_profile(&self.info).ok()
    }

    pub fn settle(&self) -> Settle {
        self.settle
    }

    pub fn set_settle(&mut self, settle: Settle) {
        self.settle = settle;
    }

    /// The first step (counted from 0 since `new`/`reset`) after which the kernel did
    /// not become quiescent within [`Settle::give_up`]: what was observed from then on
    /// may be a passing state, so the run cannot be judged.
    pub fn unsettled(&self) -> Option<usize> {
        self.unsettled
    }

    /// The underlying host (for experiments that need more than steps).
    pub fn host(&self) -> &rb::Host {
        &self.host
    }

    /// The underlying host, mutably (benchmarks, experiments). Resources created
    /// through it directly are not known to the backend's numbering.
    pub fn host_mut(&mut self) -> &mut rb::Host {
        &mut self.host
    }

    /// Applies `step`, waiting for the kernel to settle afterwards; with a `hint`
    /// (the model's world and result for the same step) the wait ends as soon as the
    /// kernel's state matches the prediction, and `io_uring_enter` timeouts are sized
    /// by whether the model expects the wait to block.
    pub fn apply_step_hinted(
        &mut self,
        step: &Step,
        faults: Faults,
        hint: Option<Hint<'_>>,
    ) -> StepResult {
        if !faults.is_empty() {
            return StepResult::Unmodelled("the kernel backend cannot inject faults".into());
        }
        if std::thread::current().id() != self.thread {
            return StepResult::Unmodelled(
                "a kernel backend is driven from the thread that made it (its fd table)".into(),
            );
        }
        if self.fresh {
            self.deadline = self.time_budget.map(|b| Instant::now() + b);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            let secs = self.time_budget.unwrap_or_default().as_secs_f64();
            return StepResult::Unmodelled(format!("{OUT_OF_TIME} ({secs} s)"));
        }
        self.fresh = false;
        self.steps_applied += 1;
        if matches!(
            step,
            Step::Enter { .. } | Step::SyncMsg { .. } | Step::Push { .. } | Step::ExitTask { .. }
        ) || self.any_ring_with(uapi::setup::SQPOLL)
        {
            self.iowq_idle = false;
        }
        super::ftrace::mark(format_args!("step {}: {step:?}", self.steps_applied - 1));
        let result = self.dispatch(step, hint);
        if needs_settle(step, self) {
            self.wait_quiescent(hint);
        }
        super::ftrace::mark(format_args!(
            "step {} done: {result:?}; model io-wq items {}",
            self.steps_applied - 1,
            hint.map_or(0, |h| h.world.iowq_items_last_step()),
        ));
        result
    }

    fn task_check(&self, t: TaskId) -> Result<rb::TaskId, StepResult> {
        match self.tasks.get(t.0 as usize) {
            Some(true) => Ok(rb::TaskId(t.0)),
            Some(false) => Err(StepResult::Refused(format!("task t{} has exited", t.0))),
            None => Err(StepResult::Refused(format!("no task t{}", t.0))),
        }
    }

    fn is_ring(&self, fd: i32) -> bool {
        fd >= 0 && self.rings.contains(&(fd as u32))
    }

    /// The vfd the host will hand out next must be the one we expect.
    fn take_vfd(&mut self, got: rb::Vfd) -> Result<i32, StepResult> {
        if got.0 != self.next_vfd {
            return Err(StepResult::Unmodelled(format!(
                "vfd numbering out of step: host gave {}, expected {}",
                got.0, self.next_vfd
            )));
        }
        self.next_vfd += 1;
        Ok(got.0 as i32)
    }

    fn new_file_id(&mut self) -> FileId {
        let id = FileId(self.next_file);
        self.next_file += 1;
        id
    }

    /// Records a created non-ring file's identity class (newest file wins for a
    /// reused inode number: the older file is gone if its inode was reused).
    fn record_class(&mut self, vfd: i32, class: FileId) {
        if let Some(id) = self.host.file_identity(rb::Vfd(vfd as u32)) {
            self.classes.insert((id.dev, id.ino), class);
        }
    }

    fn class_of(&self, id: Option<rb::FileId>) -> Option<FileId> {
        // A file the host cannot name maps to an id no model file has.
        id.map(|i| {
            self.classes
                .get(&(i.dev, i.ino))
                .copied()
                .unwrap_or(FileId(u32::MAX))
        })
    }

    /// A vfd list of a register step: -1 empty, -2 skip, otherwise a live vfd.
    fn slots(&self, fds: &[i32]) -> Result<Vec<rb::FileSlot>, StepResult> {
        fds.iter()
            .map(|&f| match f {
                -1 => Ok(rb::FileSlot::Empty),
                uapi::REGISTER_FILES_SKIP => Ok(rb::FileSlot::Skip),
                f if f >= 0 && self.host.file_identity(rb::Vfd(f as u32)).is_some() => {
                    Ok(rb::FileSlot::File(rb::Vfd(f as u32)))
                }
                f => Err(StepResult::Unmodelled(format!(
                    "fd {f} in a file-table update: the host passes only fds it owns"
                ))),
            })
            .collect()
    }

    fn dispatch(&mut self, step: &Step, hint: Option<Hint<'_>>) -> StepResult {
        // A negative number stays negative (>= 2^31) so the host passes it as -1.
        let vfd = |fd: i32| rb::Vfd(fd as u32);
        match step {
            Step::Setup {
                task,
                entries,
                cq_entries,
                flags,
            } => {
                let t = match self.task_check(*task) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                match self.host.setup_ring(t, *entries, *cq_entries, *flags) {
                    Ok(v) => match self.take_vfd(v) {
                        Ok(fd) => {
                            self.new_file_id();
                            self.rings.push(fd as u32);
                            StepResult::Ret(fd)
                        }
                        Err(e) => e,
                    },
                    Err(e) => ret_or_refused(e, "this ring setup"),
                }
            }
            Step::Pipe => match self.host.create_pipe() {
                Ok((r, w)) => {
                    let (r, w) = match (self.take_vfd(r), self.take_vfd(w)) {
                        (Ok(r), Ok(w)) => (r, w),
                        (Err(e), _) | (_, Err(e)) => return e,
                    };
                    let rid = self.new_file_id();
                    self.new_file_id();
                    self.record_class(r, rid);
                    StepResult::Fds(r, w)
                }
                Err(e) => ret_or_refused(e, "another pipe"),
            },
            Step::Eventfd => match self.host.create_eventfd() {
                Ok(v) => match self.take_vfd(v) {
                    Ok(fd) => {
                        let id = self.new_file_id();
                        let class = *self.first_eventfd.get_or_insert(id);
                        self.record_class(fd, class);
                        StepResult::Ret(fd)
                    }
                    Err(e) => e,
                },
                Err(e) => ret_or_refused(e, "another eventfd"),
            },
            Step::RegularFile => match self.host.create_regular_file() {
                Ok(v) => match self.take_vfd(v) {
                    Ok(fd) => {
                        let id = self.new_file_id();
                        self.record_class(fd, id);
                        StepResult::Ret(fd)
                    }
                    Err(e) => e,
                },
                Err(e) => ret_or_refused(e, "another file"),
            },
            Step::Close { fd } => {
                let r = self.host.close(vfd(*fd));
                if r == 0 {
                    self.rings.retain(|&x| x as i32 != *fd);
                }
                StepResult::Ret(r)
            }
            Step::SpawnTask => match self.host.spawn_task() {
                Ok(t) if t.0 as usize == self.tasks.len() => {
                    self.tasks.push(true);
                    StepResult::Task(TaskId(t.0))
                }
                Ok(t) => StepResult::Unmodelled(format!(
                    "task numbering out of step: host gave t{}, expected t{}",
                    t.0,
                    self.tasks.len()
                )),
                Err(e) if e == rb::HOST_REFUSED => {
                    StepResult::Unmodelled("the host refused another task".into())
                }
                Err(e) => StepResult::Unmodelled(format!("spawning a thread failed: {e}")),
            },
            Step::ExitTask { task } => {
                let t = match self.task_check(*task) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                if task.0 == 0 && self.host.task0_mode() == Some(rb::Task0::Caller) {
                    return StepResult::Unmodelled(
                        "task 0 is the caller's thread, which cannot exit (see \
                         KernelBackend::prepare_for)"
                            .into(),
                    );
                }
                let r = self.host.exit_task(t);
                if r == 0 {
                    self.tasks[task.0 as usize] = false;
                }
                ret_or_refused(r, "the task exit")
            }
            Step::RegisterFiles { task, ring, fds } => {
                let t = match self.task_check(*task) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                let slots = match self.slots(fds) {
                    Ok(s) => s,
                    Err(e) => return e,
                };
                if slots.contains(&rb::FileSlot::Skip) {
                    return StepResult::Unmodelled("-2 in IORING_REGISTER_FILES".into());
                }
                let v: Vec<Option<rb::Vfd>> = slots
                    .iter()
                    .map(|s| match s {
                        rb::FileSlot::File(v) => Some(*v),
                        _ => None,
                    })
                    .collect();
                ret_or_refused(
                    self.host.register_files(t, vfd(*ring), &v),
                    "this file table",
                )
            }
            Step::RegisterFilesSparse { task, ring, nr } => match self.task_check(*task) {
                Ok(t) => ret_or_refused(
                    self.host.register_files_sparse(t, vfd(*ring), *nr),
                    "this file table",
                ),
                Err(e) => e,
            },
            Step::UpdateFiles {
                task,
                ring,
                offset,
                fds,
            } => {
                let t = match self.task_check(*task) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                match self.slots(fds) {
                    Ok(s) => ret_or_refused(
                        self.host.update_files_slots(t, vfd(*ring), *offset, &s),
                        "this update",
                    ),
                    Err(e) => e,
                }
            }
            Step::UnregisterFiles { task, ring } => match self.task_check(*task) {
                Ok(t) => ret_or_refused(self.host.unregister_files(t, vfd(*ring)), "unregister"),
                Err(e) => e,
            },
            Step::FileAllocRange {
                task,
                ring,
                off,
                len,
            } => match self.task_check(*task) {
                Ok(t) => ret_or_refused(
                    self.host.file_alloc_range(t, vfd(*ring), *off, *len),
                    "FILE_ALLOC_RANGE",
                ),
                Err(e) => e,
            },
            Step::EnableRings { task, ring } => match self.task_check(*task) {
                Ok(t) => ret_or_refused(self.host.enable_rings(t, vfd(*ring)), "ENABLE_RINGS"),
                Err(e) => e,
            },
            Step::Push { ring, sqe } => {
                if !self.is_ring(*ring) {
                    return not_a_ring(*ring);
                }
                match self.host.push_sqe(vfd(*ring), sqe.to_bytes()) {
                    Ok(()) => StepResult::Ret(0),
                    Err(rb::PushError::SqFull) => StepResult::Ret(-16), // -EBUSY
                    Err(rb::PushError::NotARing) => not_a_ring(*ring),
                    Err(rb::PushError::Forbidden) => StepResult::Unmodelled(format!(
                        "opcode {} is not on the host's allow-list",
                        sqe.opcode
                    )),
                }
            }
            Step::Enter {
                task,
                ring,
                to_submit,
                min_complete,
                flags,
            } => {
                let t = match self.task_check(*task) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                let timeout = match hint {
                    Some(h) if !wait_blocks(h, *ring, *min_complete) => self.settle.wake_timeout,
                    _ => self.settle.block_timeout,
                };
                let r = if flags & uapi::enter::REGISTERED_RING != 0 {
                    // `ring` is an index into the task's registered ring fds.
                    let index = *ring as u32;
                    self.host
                        .enter_registered(t, index, *to_submit, *min_complete, *flags, timeout)
                } else {
                    self.host
                        .enter(t, vfd(*ring), *to_submit, *min_complete, *flags, timeout)
                };
                ret_or_refused(r, "this enter")
            }
            Step::Reap { ring, max } => {
                if !self.is_ring(*ring) {
                    return not_a_ring(*ring);
                }
                let cqes = self.host.reap(vfd(*ring), *max);
                let cqe = |c: &rb::Cqe| Cqe {
                    user_data: c.user_data,
                    res: c.res,
                    flags: c.flags,
                };
                if cqes.iter().any(|c| c.big != [0, 0]) {
                    return StepResult::Reaped32(cqes.iter().map(|c| (cqe(c), c.big)).collect());
                }
                StepResult::Reaped(
                    cqes.iter()
                        .map(|c| Cqe {
                            user_data: c.user_data,
                            res: c.res,
                            flags: c.flags,
                        })
                        .collect(),
                )
            }
            Step::SyncMsg { task, sqe } => match self.task_check(*task) {
                Ok(t) => ret_or_refused(self.host.sync_msg(t, sqe.to_bytes()), "this sync msg"),
                Err(e) => e,
            },
            Step::Register {
                task,
                fd,
                opcode,
                arg,
                nr_args,
            } => match self.task_check(*task) {
                Ok(t) => {
                    let r = self.host.register_raw(
                        t,
                        reg_fd(*fd, *opcode),
                        *opcode,
                        reg_arg(arg),
                        *nr_args,
                    );
                    ret_or_refused(r, "this register call")
                }
                Err(e) => e,
            },
            Step::QuerySlot { ring, slot } => {
                if !self.is_ring(*ring) {
                    return not_a_ring(*ring);
                }
                match self.host.file_table(vfd(*ring)) {
                    Some(t) => match t.get(*slot as usize).copied().flatten() {
                        Some(rb::FileId::UNNAMED) => unnamed_slot(*slot),
                        f => StepResult::Slot(self.class_of(f)),
                    },
                    None => StepResult::Unmodelled("fdinfo unreadable".into()),
                }
            }
            Step::Observe { ring } => {
                if !self.is_ring(*ring) {
                    return not_a_ring(*ring);
                }
                let v = vfd(*ring);
                let Some((table, overflow)) = self.host.table_and_overflow(v) else {
                    return StepResult::Unmodelled("fdinfo unreadable".into());
                };
                if let Some(i) = table.iter().position(|f| *f == Some(rb::FileId::UNNAMED)) {
                    return unnamed_slot(i as u32);
                }
                StepResult::Ring(RingView {
                    sq_flags: self.host.sq_flags(v),
                    cq_overflow: self.host.cq_overflow(v),
                    cq_ready: self.host.cq_ready(v),
                    overflow: overflow
                        .into_iter()
                        .map(|(user_data, res, flags)| Cqe {
                            user_data,
                            res,
                            flags,
                        })
                        .collect(),
                    table: table
                        .iter()
                        .enumerate()
                        .filter_map(|(i, f)| {
                            f.map(|_| (i as u32, self.class_of(*f).unwrap_or(FileId(u32::MAX))))
                        })
                        .collect(),
                })
            }
        }
    }
}

/// An observation of a fixed-file slot the kernel names ambiguously: 6.1 and 6.12 print
/// a slot's dentry name in fdinfo, and several of the trace's files may share it (every
/// pipe's is empty), so which of them the slot holds cannot be read. The step is
/// unmodelled, not a divergence (docs/kernels.md, harness limits).
fn unnamed_slot(slot: u32) -> StepResult {
    StepResult::Unmodelled(format!(
        "fdinfo names slot {slot} by a dentry name several of the trace's files share \
         (6.1/6.12 format): which one it holds cannot be read"
    ))
}

impl Backend for KernelBackend {
    fn name(&self) -> String {
        format!("kernel {}", self.info.release)
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        self.apply_step_hinted(step, faults, None)
    }
}
