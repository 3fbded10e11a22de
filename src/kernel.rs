//! [`KernelBackend`]: the running kernel as a [`Backend`], and differential checking of
//! the model against it ([`diff_steps`], [`diff_run`], [`diff_trace`], [`minimize_trace`], [`check`]).
//!
//! Steps run on a [`msgring_real_backend::Host`]: real rings, real files, one OS thread
//! per task. Virtual fds are the model's numbers: the model and the host both hand
//! them out from 0 in creation order and never reuse one (a pipe takes two, read end
//! first), so as long as the same creating steps succeed on both sides the numbers
//! agree. Tasks are numbered the same way (task 0 exists from the start).
//!
//! File identities are mapped back to the [`FileId`]s the model assigns: file objects
//! (rings included) are numbered in creation order, and a fixed slot reports its
//! file's identity class ([`World::identity_class`]): a pipe's write end is its read
//! end's class, every eventfd is the first eventfd's class.
//!
//! The kernel runs io-wq, task_work and SQPOLL threads asynchronously, so after each
//! step the backend waits for quiescence: it polls every ring's cheap shared state
//! (CQ occupancy, `sq_flags`, overflow counter, unconsumed SQEs) until it stops
//! changing, or, in a differential run, until it matches what the model predicts (a
//! hint for how long to wait, never the result), within a bounded settle time.

use crate::{uapi, World};
use crate::{Backend, Cqe, Faults, FileId, Profile, RingView, Sqe, Step, StepResult, TaskId};
use msgring_real_backend as rb;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// The real-kernel driver crate.
pub use msgring_real_backend as driver;
pub use rb::KernelInfo;

/// The kernel backend cannot run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    pub reason: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernel backend unavailable: {}", self.reason)
    }
}

impl std::error::Error for Unavailable {}

impl From<rb::Unavailable> for Unavailable {
    fn from(u: rb::Unavailable) -> Unavailable {
        Unavailable { reason: u.reason }
    }
}

/// Probes the running kernel: release, features, supported opcodes. Fails with the
/// reason when io_uring cannot be used (not Linux, ENOSYS, EPERM from
/// `kernel.io_uring_disabled`).
pub fn probe() -> Result<KernelInfo, Unavailable> {
    // The kernel does not change under a running process: probe once.
    static PROBED: std::sync::OnceLock<Result<KernelInfo, Unavailable>> =
        std::sync::OnceLock::new();
    PROBED
        .get_or_init(|| rb::probe().map_err(Unavailable::from))
        .clone()
}

/// The model profile for the running kernel (its release with the stable patch
/// level, so stable backports count), or why there is none. A kernel newer than the
/// newest the model knows gets a profile that runs as the newest
/// ([`Profile::newer_warning`]: callers print it).
pub fn kernel_profile(info: &KernelInfo) -> Result<Profile, Unavailable> {
    Profile::for_release(&info.release).map_err(|e| Unavailable {
        reason: format!("no model profile for kernel {}: {e}", info.release),
    })
}

/// How long the backend waits for the kernel to settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settle {
    /// Without a model hint: the ring state must stay unchanged this long.
    pub quiet: Duration,
    /// Upper bound on the wait after one step.
    pub max: Duration,
    /// With a hint the kernel can still reach (it lags the prediction: fewer CQEs,
    /// more unconsumed SQEs, a smaller overflow counter, or other `sq_flags`): keep
    /// waiting up to this long for it, however long the kernel stays unchanged.
    /// io-wq worker startup under load can take tens of milliseconds. Spent at most
    /// once per backend: after a step that ran out of it, the rest of the run uses
    /// `hinted_quiet` (the kernel and the model have parted, so the hint is no good).
    pub hinted_max: Duration,
    /// With a hint the kernel cannot reach any more (it is ahead of the prediction),
    /// or after `hinted_max` ran out once: stop waiting once the kernel has been
    /// stable this long (bounded by `max`).
    pub hinted_quiet: Duration,
    /// `io_uring_enter` timeout for a wait that is expected to block (or for any wait
    /// with `min_complete > 0` when there is no hint).
    pub block_timeout: Duration,
    /// `io_uring_enter` timeout for a wait the model expects to be satisfied.
    pub wake_timeout: Duration,
}

impl Default for Settle {
    /// The waits for a kernel on real hardware. `MSGRING_SETTLE_SCALE=N` (1..=100)
    /// multiplies the two that allow for a slow kernel (`hinted_max`, `wake_timeout`):
    /// golden.sh sets it in its TCG guests, where a task_work wake-up of another
    /// thread was seen to take longer than 150 ms (r24_send_fd_defer_target on 7.1.13).
    fn default() -> Settle {
        let scale = std::env::var("MSGRING_SETTLE_SCALE")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(1, |n| n.clamp(1, 100));
        Settle {
            quiet: Duration::from_micros(300),
            max: Duration::from_millis(20),
            hinted_max: Duration::from_millis(150) * scale,
            hinted_quiet: Duration::from_millis(2),
            block_timeout: Duration::from_millis(20),
            wake_timeout: Duration::from_millis(200) * scale,
        }
    }
}

/// What the model did with the same step: the backend uses it only to decide how long
/// to wait for the kernel.
#[derive(Clone, Copy, Debug)]
pub struct Hint<'a> {
    /// The model world after the step.
    pub world: &'a World,
    /// The model's result for the step.
    pub result: &'a StepResult,
}

/// The cheap shared state of one ring, polled for quiescence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Snap {
    cq_ready: u32,
    sq_flags: u32,
    cq_overflow: u32,
    sq_pending: u32,
}

/// The running kernel as a [`Backend`].
pub struct KernelBackend {
    host: rb::Host,
    info: KernelInfo,
    settle: Settle,
    /// Vfds handed out so far (the next one is this number).
    next_vfd: u32,
    /// Live ring vfds.
    rings: Vec<u32>,
    /// Tasks handed out so far (task 0 included) and which are alive.
    tasks: Vec<bool>,
    /// File objects created so far, numbered as the model numbers them.
    next_file: u32,
    /// `(st_dev, st_ino)` of each created non-ring file -> its identity class.
    classes: HashMap<(u64, u64), FileId>,
    first_eventfd: Option<FileId>,
    /// A hinted wait ran out of `Settle::hinted_max`: later waits do not wait for
    /// the prediction any more (see [`Settle::hinted_max`]).
    hint_gave_up: bool,
    /// How task 0 runs after a [`KernelBackend::reset`].
    task0: rb::Task0,
    /// io-wq was seen idle, and nothing was submitted since (no `Enter`, `SyncMsg` or
    /// `Push`, no SQPOLL ring open): no io-wq worker can be running, so the settle
    /// need not scan the process's threads for one. Only new submissions give io-wq
    /// work (the host's opcodes do not arm polls that punt to it).
    iowq_idle: bool,
    /// No step applied since `new`/`reset`.
    fresh: bool,
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

fn not_a_ring(fd: i32) -> StepResult {
    StepResult::Refused(format!("fd {fd} is not an open ring"))
}

impl KernelBackend {
    /// A backend with a fresh host (task 0 running on a thread of its own, nothing
    /// open). It may be used from any thread.
    pub fn new() -> Result<KernelBackend, Unavailable> {
        KernelBackend::with_task0(rb::Task0::Thread)
    }

    /// A backend whose task 0 is the calling thread ([`rb::Task0::Caller`]): task 0's
    /// system calls run inline, without a round trip to a thread of its own. For
    /// running many traces on one thread with a [`KernelBackend::reset`] between
    /// them (what [`check`] does on each of its threads). Drive it from this thread
    /// only: task 0's calls from another thread are refused (`Unmodelled`). A trace
    /// that exits task 0 or may punt to io-wq gets a new task 0 thread instead:
    /// [`diff_trace_on`] / [`diff_run_on`] switch a fresh backend for it (see
    /// [`KernelBackend::prepare_for`]); stepped by hand, an exit of task 0 is
    /// `Unmodelled`. If the caller's io-wq has workers (made before, or by a punt the
    /// scan did not foresee), task 0 is a new thread per run (see
    /// [`KernelBackend::reset`]).
    pub fn for_this_thread() -> Result<KernelBackend, Unavailable> {
        KernelBackend::with_task0(rb::Task0::Caller)
    }

    fn with_task0(task0: rb::Task0) -> Result<KernelBackend, Unavailable> {
        let info = probe()?;
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
        })
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

    fn prepare(&mut self, needs_thread: bool) -> Result<(), Unavailable> {
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
        self.fresh = false;
        if matches!(
            step,
            Step::Enter { .. } | Step::SyncMsg { .. } | Step::Push { .. }
        ) || self.any_ring_with(uapi::setup::SQPOLL)
        {
            self.iowq_idle = false;
        }
        let result = self.dispatch(step, hint);
        if needs_settle(step, self) {
            self.wait_quiescent(hint);
        }
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
                let r = self
                    .host
                    .enter(t, vfd(*ring), *to_submit, *min_complete, *flags, timeout);
                ret_or_refused(r, "this enter")
            }
            Step::Reap { ring, max } => {
                if !self.is_ring(*ring) {
                    return not_a_ring(*ring);
                }
                let cqes = self.host.reap(vfd(*ring), *max);
                if let Some(c) = cqes.iter().find(|c| c.big != [0, 0]) {
                    return StepResult::Refused(format!(
                        "CQE32 extra words not zero: {:?} (user_data {})",
                        c.big, c.user_data
                    ));
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
            Step::QuerySlot { ring, slot } => {
                if !self.is_ring(*ring) {
                    return not_a_ring(*ring);
                }
                match self.host.file_table(vfd(*ring)) {
                    Some(t) => {
                        StepResult::Slot(self.class_of(t.get(*slot as usize).copied().flatten()))
                    }
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

    fn snapshot(&self) -> Vec<(u32, Snap)> {
        self.rings
            .iter()
            .map(|&r| {
                let v = rb::Vfd(r);
                (
                    r,
                    Snap {
                        cq_ready: self.host.cq_ready(v),
                        sq_flags: self.host.sq_flags(v),
                        cq_overflow: self.host.cq_overflow(v),
                        sq_pending: self.host.sq_pending(v),
                    },
                )
            })
            .collect()
    }

    /// The model lets io-wq and every task's task_work finish before a step ends (M9).
    /// Wait until no io-wq worker is running, then make each task thread return to
    /// userspace once, so task_work queued with TWA_SIGNAL_NO_IPI (COOP_TASKRUN,
    /// SQPOLL rings) runs as it would at the task's next system call.
    fn drain_async_agents(&mut self) {
        if !self.iowq_idle {
            let deadline = Instant::now() + self.settle.hinted_max;
            loop {
                if !self.host.iowq_busy() {
                    self.iowq_idle = true;
                    break;
                }
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        if self.any_ring_with(uapi::setup::COOP_TASKRUN | uapi::setup::SQPOLL) {
            self.host.kick_tasks();
        }
    }

    /// Whether an open ring has one of the setup `flags`.
    fn any_ring_with(&self, flags: u32) -> bool {
        self.rings.iter().any(|&r| {
            self.host
                .ring_info(rb::Vfd(r))
                .is_some_and(|i| i.flags & flags != 0)
        })
    }

    /// Polls the rings until they match the model's prediction, or (no hint, or a
    /// prediction the kernel cannot reach) until they stop changing; see [`Settle`].
    fn wait_quiescent(&mut self, hint: Option<Hint<'_>>) {
        self.drain_async_agents();
        let expected = hint.map(|h| predicted(h.world));
        // Rings whose completions from io-wq wait for their task to enter the kernel
        // (DEFER_TASKRUN's local work, COOP_TASKRUN's task_work): fewer CQEs there
        // than predicted does not resolve by waiting.
        let needs_enter: Vec<u32> = match &expected {
            Some(_) => self
                .rings
                .iter()
                .copied()
                .filter(|&r| {
                    self.host.ring_info(rb::Vfd(r)).is_some_and(|i| {
                        i.flags & (uapi::setup::DEFER_TASKRUN | uapi::setup::COOP_TASKRUN) != 0
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let start = Instant::now();
        let mut last = self.snapshot();
        let mut stable_since = start;
        let mut spins = 0u32;
        loop {
            // (stable-for, at most): `None` = wait for the prediction, however quiet.
            let (quiet, max) = match &expected {
                Some(exp) if matches_prediction(&last, exp) => return,
                Some(exp) if !self.hint_gave_up && can_catch_up(&last, exp, &needs_enter) => {
                    (None, self.settle.hinted_max)
                }
                Some(_) => (Some(self.settle.hinted_quiet), self.settle.max),
                None => (Some(self.settle.quiet), self.settle.max),
            };
            let now = Instant::now();
            let waited = now.duration_since(start);
            if waited >= max {
                if quiet.is_none() {
                    self.hint_gave_up = true;
                }
                return;
            }
            if quiet.is_some_and(|q| now.duration_since(stable_since) >= q) {
                return;
            }
            // Spin briefly (task_work and SQPOLL are quick), then sleep, longer once
            // the wait is long (leave the CPU to io-wq workers that are starting).
            if spins < 64 {
                std::thread::yield_now();
            } else if waited < Duration::from_millis(2) {
                std::thread::sleep(Duration::from_micros(20));
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
            spins += 1;
            let cur = self.snapshot();
            if cur != last {
                last = cur;
                stable_since = Instant::now();
            }
        }
    }
}

/// SQE flags that send a request to io-wq: IOSQE_ASYNC; a link head still open at the
/// end of a submit (`io_queue_sqe_fallback`) and drained requests can go there too.
const IOWQ_SQE_FLAGS: u8 = uapi::sqe_flags::ASYNC
    | uapi::sqe_flags::IO_LINK
    | uapi::sqe_flags::IO_HARDLINK
    | uapi::sqe_flags::IO_DRAIN;

/// Setup flags of rings whose MSG_RING traffic can go to io-wq: an IOPOLL target is
/// only trylocked (-EAGAIN, punt), and an SQPOLL thread contends for ring locks.
const IOWQ_SETUP_FLAGS: u32 = uapi::setup::IOPOLL | uapi::setup::SQPOLL;

/// Steps after which the kernel may still be working asynchronously.
fn needs_settle(step: &Step, kb: &KernelBackend) -> bool {
    match step {
        Step::Pipe
        | Step::Eventfd
        | Step::RegularFile
        | Step::SpawnTask
        | Step::Reap { .. }
        | Step::QuerySlot { .. }
        | Step::Observe { .. } => false,
        Step::Push { ring, .. } => kb
            .host
            .ring_info(rb::Vfd((*ring).max(0) as u32))
            .is_some_and(|i| i.flags & uapi::setup::SQPOLL != 0),
        _ => true,
    }
}

/// Whether the model expects an enter on `ring` with `min_complete` to end by timing out.
fn wait_blocks(h: Hint<'_>, ring: i32, min_complete: u32) -> bool {
    if min_complete == 0 {
        return false;
    }
    if h.result == &StepResult::Ret(-62) {
        return true;
    }
    match h.world.ring_of_fd(ring) {
        Some(r) => {
            let r = h.world.ring(r);
            r.cq.ready() < min_complete.min(r.cq.entries())
        }
        None => false,
    }
}

/// The model's prediction of every open ring's cheap shared state, by vfd.
fn predicted(w: &World) -> Vec<(u32, Snap)> {
    let mut out: Vec<(u32, Snap)> = w
        .fd_table()
        .iter()
        .enumerate()
        .filter_map(|(fd, f)| {
            let f = (*f)?;
            match w.file(f).kind {
                crate::FileKind::Ring(id) => {
                    let r = w.ring(id);
                    Some((
                        fd as u32,
                        Snap {
                            cq_ready: r.cq.ready(),
                            sq_flags: r.sq_flags,
                            cq_overflow: r.cq_overflow,
                            sq_pending: r.sq.len() as u32,
                        },
                    ))
                }
                _ => None,
            }
        })
        .collect();
    out.sort_by_key(|x| x.0);
    out
}

/// Whether the kernel can still reach the prediction within one step: what only grows
/// while the kernel works on its own (posted CQEs, the overflow counter) is not past
/// the model's value, and what only shrinks (unconsumed SQEs) is not below it. On the
/// rings in `needs_enter` missing CQEs do not come without another enter.
fn can_catch_up(kernel: &[(u32, Snap)], model: &[(u32, Snap)], needs_enter: &[u32]) -> bool {
    model.iter().all(|(fd, s)| {
        kernel.iter().any(|(kfd, k)| {
            kfd == fd
                && (k.cq_ready == s.cq_ready
                    || k.cq_ready < s.cq_ready && !needs_enter.contains(fd))
                && k.cq_overflow <= s.cq_overflow
                && k.sq_pending >= s.sq_pending
        })
    })
}

fn matches_prediction(kernel: &[(u32, Snap)], model: &[(u32, Snap)]) -> bool {
    model
        .iter()
        .all(|(fd, s)| kernel.iter().any(|(kfd, ks)| kfd == fd && ks == s))
}

impl Backend for KernelBackend {
    fn name(&self) -> String {
        format!("kernel {}", self.info.release)
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        self.apply_step_hinted(step, faults, None)
    }
}

// ---- differential checking --------------------------------------------------------

/// The first step where the model and the kernel disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the step in the scenario.
    pub index: usize,
    pub step: Step,
    pub model: StepResult,
    pub kernel: StepResult,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "divergence at step {}: {:?}", self.index, self.step)?;
        writeln!(f, "  model : {:?}", self.model)?;
        write!(f, "  kernel: {:?}", self.kernel)
    }
}

/// What a differential run compared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffReport {
    /// Steps whose results were compared (and agreed, up to a divergence).
    pub compared: usize,
    /// Steps not compared because one side returned `Unmodelled` (including the steps
    /// not run after a stop).
    pub skipped: usize,
    /// The run stopped early: a state-changing step was unmodelled on one side, so
    /// the two sides no longer describe the same system (index, reason).
    pub stopped: Option<(usize, String)>,
    pub divergence: Option<Divergence>,
}

/// Steps with no side effects: an unmodelled result there does not desynchronise the
/// two sides.
fn is_observation(step: &Step) -> bool {
    matches!(step, Step::QuerySlot { .. } | Step::Observe { .. })
}

/// Whether two results agree. `Refused` results agree whatever their explanation.
pub fn results_agree(model: &StepResult, kernel: &StepResult) -> bool {
    match (model, kernel) {
        (StepResult::Refused(_), StepResult::Refused(_)) => true,
        (m, k) => m == k,
    }
}

/// Runs `steps` on a fresh model (the profile of the running kernel) and a fresh
/// kernel backend in lockstep and compares every result.
pub fn diff_run(steps: &[Step]) -> Result<DiffReport, Unavailable> {
    let mut kernel = KernelBackend::for_this_thread()?;
    let profile = kernel_profile(&kernel.info)?;
    Ok(diff_run_on(&mut World::new(profile), &mut kernel, steps))
}

/// [`diff_run`] on a given model world and kernel backend (both fresh, or in the same
/// state). A kernel backend can be reused for the next run after a
/// [`KernelBackend::reset`].
pub fn diff_run_on(model: &mut World, kernel: &mut KernelBackend, steps: &[Step]) -> DiffReport {
    // Cannot fail short of a thread that does not start; the exit is then unmodelled.
    let _ = kernel.prepare_for(steps);
    let mut rep = DiffReport::default();
    for (i, step) in steps.iter().enumerate() {
        let m = model.apply(step);
        let k = kernel.apply_step_hinted(
            step,
            Faults::default(),
            Some(Hint {
                world: model,
                result: &m,
            }),
        );
        let unmodelled = match (&m, &k) {
            (StepResult::Unmodelled(why), _) => Some(format!("model: {why}")),
            (_, StepResult::Unmodelled(why)) => Some(format!("kernel: {why}")),
            _ => None,
        };
        if let Some(why) = unmodelled {
            rep.skipped += 1;
            if !is_observation(step) {
                rep.skipped += steps.len() - i - 1;
                rep.stopped = Some((i, why));
                break;
            }
            continue;
        }
        if !results_agree(&m, &k) {
            rep.divergence = Some(Divergence {
                index: i,
                step: step.clone(),
                model: m,
                kernel: k,
            });
            break;
        }
        rep.compared += 1;
    }
    rep
}

/// Runs `steps` on the model and the kernel; `Some` at the first disagreement.
pub fn diff_steps(steps: &[Step]) -> Result<Option<Divergence>, Unavailable> {
    Ok(diff_run(steps)?.divergence)
}

// ---- traces -------------------------------------------------------------------------
//
// The same differential check at the level of [`Trace`]s: both sides run through
// [`trace::run`], so results are compared as normalized [`Event`]s (names instead of
// numbers), divergences are reported by source line, and minimized scenarios are
// traces that `msgring run` / `msgring diff` can replay.

use crate::trace::{self, Dest, Event, ListItem, Op, Outcome, SqeSpec, Trace};

/// The kernel backend with a shadow model running the same steps: the model's world
/// and result are the settle [`Hint`] for each kernel step. Its results are the
/// kernel's.
struct Hinted<'a> {
    shadow: World,
    kernel: &'a mut KernelBackend,
}

impl Backend for Hinted<'_> {
    fn name(&self) -> String {
        self.kernel.name()
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        let m = self.shadow.apply_with(step, faults);
        self.kernel.apply_step_hinted(
            step,
            faults,
            Some(Hint {
                world: &self.shadow,
                result: &m,
            }),
        )
    }
}

/// A trace run on the model and on the kernel, compared event by event.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TraceDiff {
    /// The model's outcome (every step).
    pub model: Outcome,
    /// The kernel's outcome (every step).
    pub kernel: Outcome,
    /// Steps whose events were compared and agreed (up to the divergence).
    pub compared: usize,
    /// Steps not compared because one side reported `unmodelled` (including the
    /// steps after a stop).
    pub skipped: usize,
    /// A state-changing step was unmodelled on one side: the sides no longer describe
    /// the same system, so comparison stopped there (step index, reason).
    pub stopped: Option<(usize, String)>,
    /// Index of the first step whose events differ.
    pub divergence: Option<usize>,
}

impl TraceDiff {
    /// Compares two outcomes of `trace` (see [`TraceDiff`]).
    pub fn compare(trace: &Trace, model: Outcome, kernel: Outcome) -> TraceDiff {
        let mut d = TraceDiff::default();
        let n = trace.steps.len();
        for (i, ts) in trace.steps.iter().enumerate() {
            let (m, k) = (model.events.get(i), kernel.events.get(i));
            let unmodelled = |e: Option<&Event>| matches!(e, Some(Event::Unmodelled));
            if unmodelled(m) || unmodelled(k) {
                d.skipped += 1;
                if !matches!(ts.op, Op::Query { .. } | Op::Observe { .. }) {
                    let note = |o: &Outcome, side: &str| {
                        o.notes
                            .get(i)
                            .cloned()
                            .flatten()
                            .map(|n| format!("{side}: {n}"))
                    };
                    let why = if unmodelled(m) {
                        note(&model, "model")
                    } else {
                        note(&kernel, "kernel")
                    };
                    d.skipped += n - i - 1;
                    d.stopped = Some((i, why.unwrap_or_else(|| "unmodelled".into())));
                    break;
                }
                continue;
            }
            if m != k {
                d.divergence = Some(i);
                break;
            }
            d.compared += 1;
        }
        d.model = model;
        d.kernel = kernel;
        d
    }

    /// The model's and the kernel's events at the divergence.
    pub fn divergent_events(&self) -> Option<(usize, &Event, &Event)> {
        let i = self.divergence?;
        Some((i, self.model.events.get(i)?, self.kernel.events.get(i)?))
    }

    /// The divergence's [`signature`], for deduplicating reports.
    pub fn signature(&self, trace: &Trace) -> Option<String> {
        let (i, m, k) = self.divergent_events()?;
        Some(signature(&trace.steps.get(i)?.op, m, k))
    }
}

/// Runs `trace` on a fresh model of `profile` and on `kernel` (fresh, or in the state
/// the trace expects), and compares the two outcomes. A kernel backend can be reused
/// for the next trace after a [`KernelBackend::reset`].
pub fn diff_trace_on(trace: &Trace, profile: Profile, kernel: &mut KernelBackend) -> TraceDiff {
    // Cannot fail short of a thread that does not start; an exit of task 0 is then
    // unmodelled.
    let _ = kernel.prepare(needs_task0_thread(trace));
    let model = trace::run(trace, &mut World::new(profile));
    let kernel = trace::run(
        trace,
        &mut Hinted {
            shadow: World::new(profile),
            kernel,
        },
    );
    TraceDiff::compare(trace, model, kernel)
}

/// Whether a trace exits task 0 (`t0`) or may punt to io-wq (see
/// [`KernelBackend::prepare_for`]).
fn needs_task0_thread(trace: &Trace) -> bool {
    let sqe_flags = |s: &SqeSpec| match s {
        SqeSpec::Nop { flags, .. }
        | SqeSpec::MsgData { flags, .. }
        | SqeSpec::SendFd { flags, .. } => *flags,
        SqeSpec::Raw { sqe, .. } => sqe.flags,
    };
    trace.steps.iter().any(|s| match &s.op {
        Op::Exit { task } => task == "t0",
        Op::Setup { flags, .. } => flags & IOWQ_SETUP_FLAGS != 0,
        Op::Push { sqe, .. } | Op::SyncMsg { sqe, .. } => sqe_flags(sqe) & IOWQ_SQE_FLAGS != 0,
        _ => false,
    })
}

/// [`diff_trace_on`] with a fresh kernel backend; the model's profile is `profile`,
/// else the trace's `kernel` line, else the running kernel's.
pub fn diff_trace(trace: &Trace, profile: Option<Profile>) -> Result<TraceDiff, Unavailable> {
    let mut kernel = KernelBackend::for_this_thread()?;
    let profile = match profile.or(trace.profile) {
        Some(p) => p,
        None => kernel_profile(&kernel.info)?,
    };
    Ok(diff_trace_on(trace, profile, &mut kernel))
}

fn ret_class(r: i32) -> String {
    match r {
        0 => "0".into(),
        r if r > 0 => ">0".into(),
        r => crate::errno::fmt_res(r),
    }
}

fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Ret(_) => "ret",
        Event::Bound(_) => "bound",
        Event::Cqes(_) => "cqes",
        Event::Slot(_) => "slot",
        Event::View(_) => "view",
        Event::Refused => "refused",
        Event::Unmodelled => "unmodelled",
        Event::Unbound(_) => "unbound",
        Event::Unexpected => "unexpected",
    }
}

/// What differs between two events, abstracted from the exact numbers: `ret 0 vs
/// -EBUSY`, `cqes order`, `cqes count < kernel`, `view sq_flags NEED_WAKEUP`.
fn event_diff(m: &Event, k: &Event) -> String {
    let key = |c: &Cqe| (c.user_data, c.res, c.flags);
    match (m, k) {
        (Event::Ret(a), Event::Ret(b)) => format!("ret {} vs {}", ret_class(*a), ret_class(*b)),
        (Event::Bound(_), Event::Ret(b)) => format!("bound vs ret {}", ret_class(*b)),
        (Event::Ret(a), Event::Bound(_)) => format!("ret {} vs bound", ret_class(*a)),
        (Event::Cqes(a), Event::Cqes(b)) => {
            if a.len() != b.len() {
                let mut sa: Vec<_> = a.iter().map(key).collect();
                let mut sb: Vec<_> = b.iter().map(key).collect();
                sa.sort_unstable();
                sb.sort_unstable();
                let sub = |x: &[(u64, i32, u32)], y: &[(u64, i32, u32)]| {
                    x.iter().all(|e| y.binary_search(e).is_ok())
                };
                let rel = if a.len() < b.len() { "<" } else { ">" };
                let extra = if sub(&sa, &sb) || sub(&sb, &sa) {
                    ""
                } else {
                    " (and different)"
                };
                return format!("cqes count model {rel} kernel{extra}");
            }
            let mut sa: Vec<_> = a.iter().map(key).collect();
            let mut sb: Vec<_> = b.iter().map(key).collect();
            sa.sort_unstable();
            sb.sort_unstable();
            if sa == sb {
                return "cqes order".into();
            }
            match a.iter().zip(b).find(|(x, y)| x != y) {
                Some((x, y)) if x.user_data != y.user_data => "cqes user_data".into(),
                Some((x, y)) if x.res != y.res => {
                    format!("cqes res {} vs {}", ret_class(x.res), ret_class(y.res))
                }
                Some((x, y)) => format!("cqes flags {:#x} vs {:#x}", x.flags, y.flags),
                None => "cqes".into(),
            }
        }
        (Event::View(a), Event::View(b)) => {
            let mut parts = Vec::new();
            if a.sq_flags != b.sq_flags {
                parts.push(format!(
                    "sq_flags {}",
                    trace::fmt_flags(a.sq_flags ^ b.sq_flags, trace::SQ_FLAGS)
                ));
            }
            if a.cq_overflow != b.cq_overflow {
                parts.push("cq_overflow".into());
            }
            if a.ready != b.ready {
                let rel = if a.ready < b.ready { "<" } else { ">" };
                parts.push(format!("ready model {rel} kernel"));
            }
            if a.overflow != b.overflow {
                parts.push("overflow".into());
            }
            if a.table != b.table {
                parts.push("table".into());
            }
            format!("view {}", parts.join(" "))
        }
        (Event::Slot(a), Event::Slot(b)) => match (a, b) {
            (Some(_), None) => "slot full vs empty".into(),
            (None, Some(_)) => "slot empty vs full".into(),
            _ => "slot other file".into(),
        },
        (a, b) => format!("{} vs {}", event_kind(a), event_kind(b)),
    }
}

/// A rule-ish signature of a divergence: the step kind (and SQE kind) and an
/// abstraction of what differs (model first). One model bug tends to produce one
/// signature, whatever the numbers.
pub fn signature(op: &Op, model: &Event, kernel: &Event) -> String {
    let what = match op {
        Op::Push { sqe, .. } | Op::SyncMsg { sqe, .. } => {
            let kind = match sqe {
                SqeSpec::Nop { .. } => "nop".to_string(),
                SqeSpec::MsgData { .. } => "msg_data".to_string(),
                SqeSpec::SendFd { .. } => "send_fd".to_string(),
                SqeSpec::Raw { sqe, .. } => format!("sqe opcode={}", sqe.opcode),
            };
            format!("{} {kind}", op.keyword())
        }
        Op::Setup { flags, .. } => {
            format!("setup {}", trace::fmt_flags(*flags, trace::SETUP_FLAGS))
        }
        Op::Enter { flags, .. } => {
            format!("enter {}", trace::fmt_flags(*flags, trace::ENTER_FLAGS))
        }
        op => op.keyword().to_string(),
    };
    format!("{what}: {}", event_diff(model, kernel))
}

// ---- minimizing traces ----------------------------------------------------------------

/// Smaller variants of one trace step (numbers shrunk, flag bits cleared), simplest
/// first.
fn shrink_op(op: &Op) -> Vec<Op> {
    fn bits(v: u32) -> impl Iterator<Item = u32> {
        (0..32).map(|b| 1u32 << b).filter(move |b| v & b != 0)
    }
    fn smaller(v: u32) -> Vec<u32> {
        match v {
            0 => vec![],
            1 => vec![0],
            v => vec![0, 1, v / 2],
        }
    }
    let mut out = Vec::new();
    let sqe_variants = |s: &SqeSpec| -> Vec<SqeSpec> {
        let mut v = Vec::new();
        match s {
            SqeSpec::Nop { user_data, flags } => {
                if *user_data != 0 {
                    v.push(SqeSpec::Nop {
                        user_data: 0,
                        flags: *flags,
                    });
                }
                for b in bits((*flags).into()) {
                    v.push(SqeSpec::Nop {
                        user_data: *user_data,
                        flags: flags & !(b as u8),
                    });
                }
            }
            SqeSpec::MsgData {
                ring_fd,
                result,
                user_data,
                user_flags,
                sqe_user_data,
                flags,
            } => {
                let mk = |result, user_data, user_flags, sqe_user_data, flags| SqeSpec::MsgData {
                    ring_fd: ring_fd.clone(),
                    result,
                    user_data,
                    user_flags,
                    sqe_user_data,
                    flags,
                };
                if *result != 0 {
                    v.push(mk(0, *user_data, *user_flags, *sqe_user_data, *flags));
                }
                if *user_data != 0 {
                    v.push(mk(*result, 0, *user_flags, *sqe_user_data, *flags));
                }
                if user_flags.is_some() {
                    v.push(mk(*result, *user_data, None, *sqe_user_data, *flags));
                }
                if *sqe_user_data != 0 {
                    v.push(mk(*result, *user_data, *user_flags, 0, *flags));
                }
                for b in bits((*flags).into()) {
                    let f = flags & !(b as u8);
                    v.push(mk(*result, *user_data, *user_flags, *sqe_user_data, f));
                }
            }
            SqeSpec::SendFd {
                ring_fd,
                fixed_slot_src,
                dest_slot_index,
                user_data,
                skip_cqe,
                sqe_user_data,
                flags,
            } => {
                let base = SqeSpec::SendFd {
                    ring_fd: ring_fd.clone(),
                    fixed_slot_src: *fixed_slot_src,
                    dest_slot_index: *dest_slot_index,
                    user_data: *user_data,
                    skip_cqe: *skip_cqe,
                    sqe_user_data: *sqe_user_data,
                    flags: *flags,
                };
                let with = |f: &dyn Fn(&mut SqeSpec)| {
                    let mut n = base.clone();
                    f(&mut n);
                    n
                };
                let set = |src: Option<u32>,
                           dst: Option<Dest>,
                           ud: Option<u64>,
                           skip: Option<bool>,
                           sud: Option<u64>,
                           fl: Option<u8>| {
                    with(&|n: &mut SqeSpec| {
                        if let SqeSpec::SendFd {
                            fixed_slot_src,
                            dest_slot_index,
                            user_data,
                            skip_cqe,
                            sqe_user_data,
                            flags,
                            ..
                        } = n
                        {
                            if let Some(x) = src {
                                *fixed_slot_src = x;
                            }
                            if let Some(x) = dst {
                                *dest_slot_index = x;
                            }
                            if let Some(x) = ud {
                                *user_data = x;
                            }
                            if let Some(x) = skip {
                                *skip_cqe = x;
                            }
                            if let Some(x) = sud {
                                *sqe_user_data = x;
                            }
                            if let Some(x) = fl {
                                *flags = x;
                            }
                        }
                    })
                };
                for x in smaller(*fixed_slot_src) {
                    v.push(set(Some(x), None, None, None, None, None));
                }
                if let Dest::Index(i) = dest_slot_index {
                    for x in smaller(*i) {
                        v.push(set(None, Some(Dest::Index(x)), None, None, None, None));
                    }
                }
                if *user_data != 0 {
                    v.push(set(None, None, Some(0), None, None, None));
                }
                if *skip_cqe {
                    v.push(set(None, None, None, Some(false), None, None));
                }
                if *sqe_user_data != 0 {
                    v.push(set(None, None, None, None, Some(0), None));
                }
                for b in bits((*flags).into()) {
                    v.push(set(None, None, None, None, None, Some(flags & !(b as u8))));
                }
            }
            SqeSpec::Raw { fd, sqe } => {
                let fields: [fn(&mut Sqe); 11] = [
                    |q| q.user_data = 0,
                    |q| q.off = 0,
                    |q| q.addr = 0,
                    |q| q.len = 0,
                    |q| q.file_index = 0,
                    |q| q.addr3 = 0,
                    |q| q.pad2 = 0,
                    |q| q.ioprio = 0,
                    |q| q.buf_index = 0,
                    |q| q.personality = 0,
                    |q| q.msg_ring_flags = 0,
                ];
                let mut push = |n: Sqe| {
                    if n != *sqe {
                        v.push(SqeSpec::Raw {
                            fd: fd.clone(),
                            sqe: n,
                        });
                    }
                };
                for f in fields {
                    let mut n = *sqe;
                    f(&mut n);
                    push(n);
                }
                for b in bits(sqe.flags.into()) {
                    push(Sqe {
                        flags: sqe.flags & !(b as u8),
                        ..*sqe
                    });
                }
                for b in bits(sqe.msg_ring_flags) {
                    push(Sqe {
                        msg_ring_flags: sqe.msg_ring_flags & !b,
                        ..*sqe
                    });
                }
            }
        }
        v
    };
    match op {
        Op::Setup {
            ring,
            by,
            entries,
            cq_entries,
            flags,
        } => {
            let mk = |entries, cq_entries, flags| Op::Setup {
                ring: ring.clone(),
                by: by.clone(),
                entries,
                cq_entries,
                flags,
            };
            for b in bits(*flags) {
                out.push(mk(*entries, *cq_entries, flags & !b));
            }
            for e in smaller(*entries).into_iter().filter(|&e| e > 0) {
                out.push(mk(e, *cq_entries, *flags));
            }
            for c in smaller(*cq_entries) {
                out.push(mk(*entries, c, *flags));
            }
        }
        Op::Push { ring, sqe } => {
            for s in sqe_variants(sqe) {
                out.push(Op::Push {
                    ring: ring.clone(),
                    sqe: s,
                });
            }
        }
        Op::SyncMsg { by, sqe } => {
            for s in sqe_variants(sqe) {
                out.push(Op::SyncMsg {
                    by: by.clone(),
                    sqe: s,
                });
            }
        }
        Op::Enter {
            by,
            ring,
            to_submit,
            min_complete,
            flags,
        } => {
            let mk = |to_submit, min_complete, flags| Op::Enter {
                by: by.clone(),
                ring: ring.clone(),
                to_submit,
                min_complete,
                flags,
            };
            for m in smaller(*min_complete) {
                out.push(mk(*to_submit, m, *flags));
            }
            for t in smaller(*to_submit) {
                out.push(mk(t, *min_complete, *flags));
            }
            for b in bits(*flags) {
                out.push(mk(*to_submit, *min_complete, flags & !b));
            }
        }
        Op::RegisterFiles { by, ring, files } if files.len() > 1 => {
            out.push(Op::RegisterFiles {
                by: by.clone(),
                ring: ring.clone(),
                files: files[..files.len() / 2].to_vec(),
            });
        }
        Op::RegisterSparse { by, ring, nr } => {
            for n in smaller(*nr) {
                out.push(Op::RegisterSparse {
                    by: by.clone(),
                    ring: ring.clone(),
                    nr: n,
                });
            }
        }
        Op::UpdateFiles {
            by,
            ring,
            off,
            files,
        } => {
            let mk = |off, files: &[ListItem]| Op::UpdateFiles {
                by: by.clone(),
                ring: ring.clone(),
                off,
                files: files.to_vec(),
            };
            for o in smaller(*off) {
                out.push(mk(o, files));
            }
            if files.len() > 1 {
                out.push(mk(*off, &files[..files.len() / 2]));
            }
        }
        Op::AllocRange { by, ring, off, len } => {
            for o in smaller(*off) {
                out.push(Op::AllocRange {
                    by: by.clone(),
                    ring: ring.clone(),
                    off: o,
                    len: *len,
                });
            }
            for l in smaller(*len) {
                out.push(Op::AllocRange {
                    by: by.clone(),
                    ring: ring.clone(),
                    off: *off,
                    len: l,
                });
            }
        }
        Op::Query { ring, slot } => {
            for s in smaller(*slot) {
                out.push(Op::Query {
                    ring: ring.clone(),
                    slot: s,
                });
            }
        }
        _ => {}
    }
    out
}

/// Whether a candidate trace is well formed: every name it uses is created by an
/// earlier step (the parser checks that).
fn well_formed(t: &Trace) -> bool {
    trace::parse(&t.to_string()).is_ok()
}

/// The steps of `t` at `keep`.
fn subtrace(t: &Trace, keep: &[usize]) -> Trace {
    Trace {
        steps: keep.iter().map(|&i| t.steps[i].clone()).collect(),
        ..t.clone()
    }
}

/// Shrinks a diverging trace while it keeps diverging with the same [`signature`]:
/// delta debugging over its steps (a candidate that uses a name whose creating step
/// was dropped is discarded), then per-step simplification of numbers and flag bits,
/// repeated until nothing changes. At most `max_runs` kernel runs. Annotations,
/// comments and faults are dropped. Returns the trace unchanged (without annotations)
/// if it does not diverge. A divergence that does not reproduce on every run gets up
/// to three runs per candidate.
pub fn minimize_trace(
    trace: &Trace,
    profile: Profile,
    max_runs: usize,
) -> Result<Trace, Unavailable> {
    let mut cur = Trace {
        preamble: Vec::new(),
        trailer: Vec::new(),
        profile: trace.profile,
        steps: trace
            .steps
            .iter()
            .map(|s| trace::TraceStep::new(s.op.clone()))
            .collect(),
    };
    // One kernel backend for every run, reset in between.
    let kb = std::cell::RefCell::new(KernelBackend::for_this_thread()?);
    let sig_of = |t: &Trace| -> Result<Option<String>, Unavailable> {
        let mut kb = kb.borrow_mut();
        kb.reset()?;
        Ok(diff_trace_on(t, profile, &mut kb).signature(t))
    };
    let Some(target) = sig_of(&cur)? else {
        return Ok(cur);
    };
    // A timing-dependent divergence (io-wq, SQPOLL and task_work races) does not show
    // on every run: then a candidate gets three tries.
    let mut tries = 1;
    for _ in 0..2 {
        if sig_of(&cur)?.as_deref() != Some(target.as_str()) {
            tries = 3;
        }
    }
    let diverges = |cand: &Trace| -> Result<bool, Unavailable> {
        if !well_formed(cand) {
            return Ok(false);
        }
        for _ in 0..tries {
            if sig_of(cand)?.as_deref() == Some(target.as_str()) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let runs_left = |n: &usize| *n < max_runs;
    let mut used = 0usize;
    loop {
        let before = cur.clone();
        // ddmin over the steps.
        let mut n = 2usize;
        while cur.steps.len() >= 2 && runs_left(&used) {
            let len = cur.steps.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            for start in (0..len).step_by(chunk) {
                if !runs_left(&used) {
                    break;
                }
                let keep: Vec<usize> = (0..len)
                    .filter(|j| *j < start || *j >= start + chunk)
                    .collect();
                if keep.is_empty() {
                    continue;
                }
                let cand = subtrace(&cur, &keep);
                used += 1;
                if diverges(&cand)? {
                    cur = cand;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n >= len {
                    break;
                }
                n = (2 * n).min(len);
            }
        }
        // Simplify each step.
        let mut i = 0;
        while i < cur.steps.len() && runs_left(&used) {
            for v in shrink_op(&cur.steps[i].op) {
                if !runs_left(&used) {
                    break;
                }
                let mut cand = cur.clone();
                cand.steps[i].op = v;
                used += 1;
                if diverges(&cand)? {
                    cur = cand;
                    break;
                }
            }
            i += 1;
        }
        if cur == before || !runs_left(&used) {
            break;
        }
    }
    Ok(cur)
}

/// `trace` annotated with the kernel's events (`=>` on every compared step whose
/// event is not a plain `bound`, and on the diverging step), with the model's event
/// as a comment above the divergence.
pub fn annotate_with_kernel(trace: &Trace, d: &TraceDiff) -> Trace {
    let mut t = trace.clone();
    let last = d
        .divergence
        .or(d.stopped.as_ref().map(|s| s.0))
        .unwrap_or(t.steps.len());
    for (i, s) in t.steps.iter_mut().enumerate() {
        s.expect = None;
        let Some(k) = d.kernel.events.get(i) else {
            continue;
        };
        if i > last || matches!(k, Event::Unmodelled) {
            continue;
        }
        if Some(i) == d.divergence {
            let m = d
                .model
                .events
                .get(i)
                .map_or("(none)".into(), |m| m.to_string());
            s.comments
                .push(format!("# DIVERGENCE: the model gives `{m}`"));
            s.expect = Some(k.clone());
        } else if !matches!(k, Event::Bound(_)) {
            s.expect = Some(k.clone());
        }
    }
    t
}

/// The `i`-th trace seed of a check run with seed `seed`: the `i`-th output of
/// SplitMix64 seeded with `seed` (so `msgring gen --seed <it>` regenerates trace `i`).
pub fn trace_seed(seed: u64, i: u64) -> u64 {
    trace::SplitMix(seed.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))).next_u64()
}

// ---- random checking ---------------------------------------------------------------

/// How long a [`check`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Exactly this many traces (deterministic).
    Count(u64),
    /// Traces until this much time has passed.
    Time(Duration),
}

/// Settings of a [`check`] run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Trace `i` is `trace::gen(trace_seed(seed, i), steps)`.
    pub seed: u64,
    pub steps: usize,
    pub budget: Budget,
    /// Kernel runs the minimizer may spend on each new mismatch signature.
    pub minimize_runs: usize,
    /// Threads running traces (each with its own kernel backend). The kernel side
    /// mostly waits (settling, `io_uring_enter` timeouts), so more threads than CPUs
    /// pay off.
    pub jobs: usize,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            seed: 0,
            steps: 40,
            budget: Budget::Count(100),
            minimize_runs: 400,
            jobs: 1,
        }
    }
}

/// Running totals of a [`check`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckStats {
    pub traces: u64,
    /// Steps compared (and agreeing) over all traces.
    pub compared: u64,
    /// Steps skipped because one side reported `unmodelled`.
    pub skipped: u64,
    /// Traces that diverged (not deduplicated).
    pub mismatches: u64,
    /// Distinct signatures among them.
    pub distinct: u64,
    /// Seconds since the start.
    pub seconds: f64,
}

impl CheckStats {
    pub fn traces_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.traces as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// One distinct mismatch found by [`check`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// Index of the first trace that showed it, and that trace's seed.
    pub index: u64,
    pub trace_seed: u64,
    /// See [`signature`].
    pub signature: String,
    /// Steps of the generated trace and of the minimized one.
    pub original_steps: usize,
    pub minimized_steps: usize,
    /// The minimized trace, annotated with the kernel's events, with a header comment
    /// saying where it comes from and how the two sides differ: a golden trace the
    /// model fails until it is fixed.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub trace: Trace,
    /// Source line of the diverging step in `trace.to_string()`, the step, and the
    /// two events.
    pub line: u32,
    pub step: String,
    pub model: String,
    pub kernel: String,
    /// Traces with this signature (this one included).
    pub count: u64,
    /// Of [`REPRODUCE_RUNS`] runs of the minimized trace, how many showed the
    /// divergence (fewer than all: timing-dependent).
    pub reproduced: u32,
    /// Io-wq ran work at or before the diverging step (on the model): the kernel's
    /// workers may have interleaved their CQEs differently.
    pub iowq_before: bool,
}

/// A mismatch that reproduces in this many of [`REPRODUCE_RUNS`] re-runs of its
/// minimized trace is a model bug (unless io-wq was involved: [`Finding::fails`]).
pub const REPRODUCIBLE: u32 = 3;

impl Finding {
    /// Whether this mismatch fails a check: it reproduces in at least [`REPRODUCIBLE`]
    /// re-runs and the model ran no io-wq work up to it. With io-wq involved the kernel
    /// runs workers concurrently with each other and with task_work, and CQE orders
    /// are a race the sequential model resolves one way (seed 1, trace 3578 shows one
    /// order in 4 or 5 runs of 5): such mismatches are reported, not failing; io-wq
    /// semantics are held by golden traces instead (r42_async, the drain traces).
    /// `msgring check` still names the ones that reproduced: seed 1, trace 26924
    /// reproduced 5 of 5 after io-wq work and was a model bug (M10's io-wq teardown).
    pub fn fails(&self) -> bool {
        !self.iowq_before && self.reproduces()
    }

    /// Whether its minimized trace reproduced in at least [`REPRODUCIBLE`] of
    /// [`REPRODUCE_RUNS`] re-runs (io-wq work before it or not).
    pub fn reproduces(&self) -> bool {
        self.reproduced >= REPRODUCIBLE
    }
}

/// The result of a [`check`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckReport {
    pub seed: u64,
    pub steps: usize,
    pub kernel: String,
    pub profile: String,
    pub stats: CheckStats,
    pub findings: Vec<Finding>,
}

/// Trace `i` of a check run: generated, without fault injections (the kernel cannot
/// inject them, and a step with faults would end the comparison there).
pub fn check_trace(seed: u64, i: u64, steps: usize) -> Trace {
    let mut t = trace::gen(trace_seed(seed, i), steps);
    for s in &mut t.steps {
        s.faults = Faults::default();
    }
    t
}

/// Runs generated traces on the model and the kernel until the budget is spent,
/// minimizing the first mismatch of each [`signature`]. Traces run on
/// [`CheckOptions::jobs`] threads, each with its own kernel backend; results are
/// taken in trace order, so which trace stands for a signature does not depend on
/// the threads. `progress` is called after every trace, with the new finding if that
/// trace made one.
pub fn check(
    opts: &CheckOptions,
    progress: &mut dyn FnMut(&CheckStats, Option<&Finding>),
) -> Result<CheckReport, Unavailable> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let info = probe()?;
    let profile = kernel_profile(&info)?;
    let kernel_name = format!("kernel {}", info.release);
    let start = Instant::now();
    let mut stats = CheckStats::default();
    let mut findings: Vec<Finding> = Vec::new();
    let mut by_sig: HashMap<String, usize> = HashMap::new();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(u64, Result<(Trace, TraceDiff), Unavailable>)>();
    let mut failure: Option<Unavailable> = None;
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                let mut kb: Option<KernelBackend> = None;
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Budget::Time(d) = opts.budget {
                        if start.elapsed() >= d {
                            return;
                        }
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if let Budget::Count(n) = opts.budget {
                        if i >= n {
                            return;
                        }
                    }
                    let t = check_trace(opts.seed, i, opts.steps);
                    // One kernel backend per thread (task 0 is this thread), reset
                    // between traces.
                    let got = match kb.take() {
                        Some(mut kb) => kb.reset().map(|()| kb),
                        None => KernelBackend::for_this_thread(),
                    };
                    let r = got.map(|mut k| {
                        let d = diff_trace_on(&t, profile, &mut k);
                        kb = Some(k);
                        (t, d)
                    });
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Take results in trace order.
        let mut pending: std::collections::BTreeMap<u64, (Trace, TraceDiff)> = Default::default();
        let mut want = 0u64;
        for (i, r) in rx.iter() {
            match r {
                Ok(x) => {
                    pending.insert(i, x);
                }
                Err(u) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(u);
                }
            }
            if failure.is_some() {
                continue;
            }
            while let Some((t, d)) = pending.remove(&want) {
                let i = want;
                want += 1;
                stats.traces += 1;
                stats.compared += d.compared as u64;
                stats.skipped += d.skipped as u64;
                let mut new = None;
                if let Some(sig) = d.signature(&t) {
                    stats.mismatches += 1;
                    match by_sig.get(&sig) {
                        Some(&k) => findings[k].count += 1,
                        None => match finding(opts, i, &t, &d, &sig, profile, &kernel_name) {
                            Ok(f) => {
                                by_sig.insert(sig, findings.len());
                                findings.push(f);
                                stats.distinct += 1;
                                new = findings.last();
                            }
                            Err(u) => {
                                stop.store(true, Ordering::Relaxed);
                                failure.get_or_insert(u);
                                break;
                            }
                        },
                    }
                }
                stats.seconds = start.elapsed().as_secs_f64();
                progress(&stats, new);
            }
        }
    });
    if let Some(u) = failure {
        return Err(u);
    }
    stats.seconds = start.elapsed().as_secs_f64();
    Ok(CheckReport {
        seed: opts.seed,
        steps: opts.steps,
        kernel: kernel_name,
        profile: profile.to_string(),
        stats,
        findings,
    })
}

/// Minimizes and annotates the mismatch of trace `i`.
fn finding(
    opts: &CheckOptions,
    i: u64,
    t: &Trace,
    d: &TraceDiff,
    sig: &str,
    profile: Profile,
    kernel_name: &str,
) -> Result<Finding, Unavailable> {
    let small = minimize_trace(t, profile, opts.minimize_runs)?;
    // Re-run the minimized trace: how often it reproduces, and its events for the
    // annotations. Fall back to the original if it never does (timing-dependent).
    let mut reproduced = 0;
    let mut first: Option<TraceDiff> = None;
    let mut kb = KernelBackend::for_this_thread()?;
    for _ in 0..REPRODUCE_RUNS {
        kb.reset()?;
        let sd = diff_trace_on(&small, profile, &mut kb);
        if sd.signature(&small).as_deref() == Some(sig) {
            reproduced += 1;
            first.get_or_insert(sd);
        }
    }
    let (base, bd) = match first {
        Some(sd) => (small, sd),
        None => (t.clone(), d.clone()),
    };
    let mut out = annotate_with_kernel(&base, &bd);
    out.profile = Some(profile);
    let seed_i = trace_seed(opts.seed, i);
    let (di, m, k) = bd
        .divergent_events()
        .map(|(di, m, k)| (di, m.to_string(), k.to_string()))
        .unwrap_or((0, String::new(), String::new()));
    let step = base
        .steps
        .get(di)
        .map(|s| s.op.to_string())
        .unwrap_or_default();
    out.preamble = vec![
        format!("# msgring check: the model ({profile}) and the {kernel_name} disagree"),
        format!(
            "# check seed {}, trace {i}: msgring gen --seed {seed_i:#x} --steps {} (faults removed),",
            opts.seed, opts.steps
        ),
        format!(
            "# minimized from {} to {} steps",
            t.steps.len(),
            base.steps.len()
        ),
        format!("# signature: {sig}"),
        format!(
            "# reproduces on {reproduced} of {REPRODUCE_RUNS} runs{}",
            if reproduced == 0 {
                " (minimized form; this is the generated trace)"
            } else if reproduced < REPRODUCE_RUNS {
                " (timing-dependent)"
            } else {
                ""
            }
        ),
        format!("# diverging step: {step}"),
        format!("#   model:  {m}"),
        format!("#   kernel: {k}"),
        "# The `=>` annotations are the kernel's events: `msgring run` on this file shows".into(),
        "# where the model differs.".into(),
    ];
    let line = trace::parse(&out.to_string())
        .ok()
        .and_then(|p| p.steps.get(di).map(|s| s.line))
        .unwrap_or(0);
    Ok(Finding {
        index: i,
        trace_seed: seed_i,
        signature: sig.to_string(),
        original_steps: t.steps.len(),
        minimized_steps: base.steps.len(),
        trace: out,
        line,
        step,
        model: m,
        kernel: k,
        count: 1,
        reproduced,
        iowq_before: iowq_runs_before(&base, di, profile),
    })
}

/// Whether the model runs io-wq work in any of the first `upto + 1` steps of `t`: a
/// divergence there may be the kernel's io-wq workers racing each other or task_work
/// (see [`Finding::fails`]).
pub fn iowq_runs_before(t: &Trace, upto: usize, profile: Profile) -> bool {
    struct Watch {
        world: World,
        seen: Vec<bool>,
    }
    impl Backend for Watch {
        fn name(&self) -> String {
            self.world.name()
        }
        fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
            let r = self.world.apply_with(step, faults);
            self.seen.push(self.world.iowq_items_last_step() > 0);
            r
        }
    }
    let mut w = Watch {
        world: World::new(profile),
        seen: Vec::new(),
    };
    let mut executed = Vec::new();
    trace::run_with(t, &mut w, |i, _, _| executed.push(i));
    executed
        .iter()
        .zip(&w.seen)
        .any(|(&i, &iowq)| i <= upto && iowq)
}

/// Runs of a minimized mismatch that measure how often it reproduces.
pub const REPRODUCE_RUNS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(cq_ready: u32, sq_pending: u32) -> Snap {
        Snap {
            cq_ready,
            sq_flags: 0,
            cq_overflow: 0,
            sq_pending,
        }
    }

    /// The kernel lagging the prediction (io-wq not done yet) is worth waiting for;
    /// the kernel past it, or missing CQEs on a ring that needs an enter to get
    /// them, is not.
    #[test]
    fn catch_up_only_when_the_kernel_lags() {
        let model = [(0, snap(2, 0)), (3, snap(1, 0))];
        assert!(can_catch_up(
            &[(0, snap(1, 0)), (3, snap(1, 0))],
            &model,
            &[]
        ));
        assert!(can_catch_up(
            &[(0, snap(2, 1)), (3, snap(0, 0))],
            &model,
            &[]
        ));
        assert!(!can_catch_up(
            &[(0, snap(3, 0)), (3, snap(1, 0))],
            &model,
            &[]
        ));
        assert!(!can_catch_up(
            &[(0, snap(2, 0)), (3, snap(0, 0))],
            &model,
            &[3]
        ));
        assert!(!can_catch_up(&[(0, snap(1, 0))], &model, &[]));
    }

    /// io-wq worker startup on a loaded 2-core machine takes tens of milliseconds:
    /// a hinted wait must outlast it (it used to stop after 2 ms without change).
    #[test]
    fn hinted_wait_outlasts_iowq_startup() {
        let s = Settle::default();
        assert!(s.hinted_max >= Duration::from_millis(100), "{s:?}");
        assert!(s.hinted_max > s.max);
    }
}
