//! [`KernelBackend`]: the running kernel as a [`Backend`], and differential checking of
//! the model against it ([`diff_steps`], [`diff_run`], [`minimize`]).
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

/// The model profile for the running kernel, or why there is none.
pub fn kernel_profile(info: &KernelInfo) -> Result<Profile, Unavailable> {
    let (major, minor, _) = info.version;
    Profile::for_kernel(major, minor).ok_or_else(|| Unavailable {
        reason: format!("no model profile for kernel {}", info.release),
    })
}

/// How long the backend waits for the kernel to settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settle {
    /// Without a model hint: the ring state must stay unchanged this long.
    pub quiet: Duration,
    /// Upper bound on the wait after one step.
    pub max: Duration,
    /// With a hint that disagrees with the kernel: stop waiting once the kernel has
    /// been stable this long.
    pub hinted_quiet: Duration,
    /// `io_uring_enter` timeout for a wait that is expected to block (or for any wait
    /// with `min_complete > 0` when there is no hint).
    pub block_timeout: Duration,
    /// `io_uring_enter` timeout for a wait the model expects to be satisfied.
    pub wake_timeout: Duration,
}

impl Default for Settle {
    fn default() -> Settle {
        Settle {
            quiet: Duration::from_micros(300),
            max: Duration::from_millis(20),
            hinted_quiet: Duration::from_millis(2),
            block_timeout: Duration::from_millis(20),
            wake_timeout: Duration::from_millis(200),
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
    /// A backend with a fresh host (task 0 running, nothing open).
    pub fn new() -> Result<KernelBackend, Unavailable> {
        let info = probe()?;
        let host = rb::Host::new()?;
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
        })
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

    /// Polls the rings until they stop changing (or match the model's prediction).
    fn wait_quiescent(&self, hint: Option<Hint<'_>>) {
        let expected = hint.map(|h| predicted(h.world));
        let quiet = if hint.is_some() {
            self.settle.hinted_quiet
        } else {
            self.settle.quiet
        };
        let start = Instant::now();
        let mut last = self.snapshot();
        let mut stable_since = start;
        let mut spins = 0u32;
        loop {
            if let Some(exp) = &expected {
                if matches_prediction(&last, exp) {
                    return;
                }
            }
            let now = Instant::now();
            if now.duration_since(stable_since) >= quiet
                || now.duration_since(start) >= self.settle.max
            {
                return;
            }
            if spins < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(20));
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
    let mut kernel = KernelBackend::new()?;
    let profile = kernel_profile(&kernel.info)?;
    Ok(diff_run_on(&mut World::new(profile), &mut kernel, steps))
}

/// [`diff_run`] on a given model world and kernel backend (both fresh, or in the same
/// state).
pub fn diff_run_on(model: &mut World, kernel: &mut KernelBackend, steps: &[Step]) -> DiffReport {
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

// ---- minimizing ---------------------------------------------------------------------

/// A reference to a resource in a scenario: made by the `k`-th result of creating
/// step `step`, or a raw number no step had created at that point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ref {
    Made { step: usize, k: usize },
    Raw(i32),
}

/// A scenario with its fd and task numbers turned into references to the steps that
/// created them, so steps can be dropped without breaking the numbering.
struct Symbolic {
    steps: Vec<Step>,
    /// Per step: every fd/task number it names, in [`Renumber`] visiting order.
    refs: Vec<Vec<Ref>>,
}

/// Visits every fd and task number a step names, in a fixed order.
fn visit_numbers(step: &mut Step, f: &mut dyn FnMut(bool, &mut i32)) {
    // `bool`: true for a task number, false for an fd.
    let task = |t: &mut TaskId, f: &mut dyn FnMut(bool, &mut i32)| {
        let mut n = t.0 as i32;
        f(true, &mut n);
        t.0 = n as u32;
    };
    let sqe_fd = |s: &mut Sqe, f: &mut dyn FnMut(bool, &mut i32)| {
        if s.flags & uapi::sqe_flags::FIXED_FILE == 0 && s.fd >= 0 {
            f(false, &mut s.fd);
        }
    };
    match step {
        Step::Setup { task: t, .. } | Step::ExitTask { task: t } => task(t, f),
        Step::Pipe | Step::Eventfd | Step::RegularFile | Step::SpawnTask => {}
        Step::Close { fd } => f(false, fd),
        Step::RegisterFiles { task: t, ring, fds }
        | Step::UpdateFiles {
            task: t, ring, fds, ..
        } => {
            task(t, f);
            f(false, ring);
            for x in fds.iter_mut().filter(|x| **x >= 0) {
                f(false, x);
            }
        }
        Step::RegisterFilesSparse { task: t, ring, .. }
        | Step::UnregisterFiles { task: t, ring }
        | Step::FileAllocRange { task: t, ring, .. }
        | Step::EnableRings { task: t, ring }
        | Step::Enter { task: t, ring, .. } => {
            task(t, f);
            f(false, ring);
        }
        Step::Push { ring, sqe } => {
            f(false, ring);
            sqe_fd(sqe, f);
        }
        Step::Reap { ring, .. } | Step::QuerySlot { ring, .. } | Step::Observe { ring } => {
            f(false, ring)
        }
        Step::SyncMsg { task: t, sqe } => {
            task(t, f);
            sqe_fd(sqe, f);
        }
    }
}

/// What a step created, from its result: (fds, tasks).
fn created(step: &Step, r: &StepResult) -> (Vec<i32>, Vec<i32>) {
    match (step, r) {
        (Step::Setup { .. } | Step::Eventfd | Step::RegularFile, StepResult::Ret(v)) if *v >= 0 => {
            (vec![*v], vec![])
        }
        (Step::Pipe, StepResult::Fds(a, b)) => (vec![*a, *b], vec![]),
        (Step::SpawnTask, StepResult::Task(t)) => (vec![], vec![t.0 as i32]),
        _ => (vec![], vec![]),
    }
}

impl Symbolic {
    fn new(profile: Profile, steps: &[Step]) -> Symbolic {
        let mut w = World::new(profile);
        let mut fd_maker: HashMap<i32, (usize, usize)> = HashMap::new();
        let mut task_maker: HashMap<i32, (usize, usize)> = HashMap::new();
        let mut refs = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let mut s2 = s.clone();
            let mut r = Vec::new();
            visit_numbers(&mut s2, &mut |is_task, n| {
                let map = if is_task { &task_maker } else { &fd_maker };
                r.push(match map.get(n) {
                    Some(&(step, k)) => Ref::Made { step, k },
                    None => Ref::Raw(*n),
                });
            });
            refs.push(r);
            let res = w.apply(s);
            let (fds, tasks) = created(s, &res);
            for (k, fd) in fds.into_iter().enumerate() {
                fd_maker.insert(fd, (i, k));
            }
            for (k, t) in tasks.into_iter().enumerate() {
                task_maker.insert(t, (i, k));
            }
        }
        Symbolic {
            steps: steps.to_vec(),
            refs,
        }
    }

    /// The concrete scenario made of the steps in `keep` (ascending indices), with
    /// numbers reassigned by replaying it on the model. A reference to a resource
    /// whose creating step was dropped (or failed) becomes a number that names
    /// nothing.
    fn concretize(
        &self,
        profile: Profile,
        keep: &[usize],
        edits: &HashMap<usize, Step>,
    ) -> Vec<Step> {
        const NOTHING: i32 = 1 << 20;
        let mut w = World::new(profile);
        let mut made: HashMap<(usize, usize), i32> = HashMap::new();
        let mut made_task: HashMap<(usize, usize), i32> = HashMap::new();
        let mut out = Vec::with_capacity(keep.len());
        let mut fds_seen = 0i32;
        let mut tasks_seen = 1i32;
        for &i in keep {
            let mut s = edits
                .get(&i)
                .cloned()
                .unwrap_or_else(|| self.steps[i].clone());
            let mut it = self.refs[i].iter();
            visit_numbers(&mut s, &mut |is_task, n| {
                let r = it.next().copied().unwrap_or(Ref::Raw(*n));
                *n = match r {
                    Ref::Made { step, k } => {
                        let m = if is_task { &made_task } else { &made };
                        m.get(&(step, k)).copied().unwrap_or(NOTHING)
                    }
                    Ref::Raw(x) => {
                        let seen = if is_task { tasks_seen } else { fds_seen };
                        if is_task && x == 0 {
                            0 // task 0 exists from the start
                        } else if x >= 0 && x < seen {
                            NOTHING + x
                        } else {
                            x
                        }
                    }
                };
            });
            let res = w.apply(&s);
            let (fds, tasks) = created(&s, &res);
            for (k, fd) in fds.into_iter().enumerate() {
                made.insert((i, k), fd);
                fds_seen = fds_seen.max(fd + 1);
            }
            for (k, t) in tasks.into_iter().enumerate() {
                made_task.insert((i, k), t);
                tasks_seen = tasks_seen.max(t + 1);
            }
            out.push(s);
        }
        out
    }
}

/// Smaller variants of one step (numbers shrunk, flag bits cleared), simplest first.
fn shrink_step(s: &Step) -> Vec<Step> {
    let mut out = Vec::new();
    let sqe_variants = |q: &Sqe| {
        let mut v = Vec::new();
        let fields: [fn(&mut Sqe); 9] = [
            |q| q.user_data = 0,
            |q| q.off = 0,
            |q| q.len = 0,
            |q| q.file_index = 0,
            |q| q.addr3 = 0,
            |q| q.pad2 = 0,
            |q| q.ioprio = 0,
            |q| q.buf_index = 0,
            |q| q.personality = 0,
        ];
        for f in fields {
            let mut n = *q;
            f(&mut n);
            if n != *q {
                v.push(n);
            }
        }
        for bit in 0..8 {
            if q.flags & (1 << bit) != 0 {
                v.push(Sqe {
                    flags: q.flags & !(1 << bit),
                    ..*q
                });
            }
        }
        for bit in 0..32 {
            if q.msg_ring_flags & (1 << bit) != 0 {
                v.push(Sqe {
                    msg_ring_flags: q.msg_ring_flags & !(1 << bit),
                    ..*q
                });
            }
        }
        v
    };
    match s {
        Step::Setup {
            task,
            entries,
            cq_entries,
            flags,
        } => {
            for bit in 0..32 {
                if flags & (1 << bit) != 0 {
                    out.push(Step::Setup {
                        task: *task,
                        entries: *entries,
                        cq_entries: *cq_entries,
                        flags: flags & !(1 << bit),
                    });
                }
            }
            if *entries > 1 {
                out.push(Step::Setup {
                    task: *task,
                    entries: entries / 2,
                    cq_entries: *cq_entries,
                    flags: *flags,
                });
            }
            if *cq_entries > 1 {
                out.push(Step::Setup {
                    task: *task,
                    entries: *entries,
                    cq_entries: cq_entries / 2,
                    flags: *flags,
                });
            }
        }
        Step::Push { ring, sqe } => {
            for q in sqe_variants(sqe) {
                out.push(Step::Push {
                    ring: *ring,
                    sqe: q,
                });
            }
        }
        Step::SyncMsg { task, sqe } => {
            for q in sqe_variants(sqe) {
                out.push(Step::SyncMsg {
                    task: *task,
                    sqe: q,
                });
            }
        }
        Step::Enter {
            task,
            ring,
            to_submit,
            min_complete,
            flags,
        } => {
            let mk = |t: u32, m: u32, f: u32| Step::Enter {
                task: *task,
                ring: *ring,
                to_submit: t,
                min_complete: m,
                flags: f,
            };
            if *min_complete > 0 {
                out.push(mk(*to_submit, 0, *flags));
                out.push(mk(*to_submit, min_complete / 2, *flags));
            }
            if *to_submit > 0 {
                out.push(mk(to_submit / 2, *min_complete, *flags));
            }
            for bit in 0..32 {
                if flags & (1 << bit) != 0 {
                    out.push(mk(*to_submit, *min_complete, flags & !(1 << bit)));
                }
            }
        }
        Step::RegisterFiles { task, ring, fds } if fds.len() > 1 => {
            out.push(Step::RegisterFiles {
                task: *task,
                ring: *ring,
                fds: fds[..fds.len() / 2].to_vec(),
            });
        }
        Step::RegisterFilesSparse { task, ring, nr } if *nr > 1 => {
            out.push(Step::RegisterFilesSparse {
                task: *task,
                ring: *ring,
                nr: nr / 2,
            });
        }
        _ => {}
    }
    out
}

/// Shrinks a diverging scenario while it keeps diverging: delta debugging over the
/// steps (numbers are renumbered when creating steps are dropped), then per-step
/// simplification of numbers and flags. At most `max_runs` kernel runs. Returns the
/// smallest diverging scenario found (the input if it does not diverge).
pub fn minimize(steps: &[Step], max_runs: usize) -> Result<Vec<Step>, Unavailable> {
    let profile = kernel_profile(&probe()?)?;
    let sym = Symbolic::new(profile, steps);
    let Some(first) = diff_run(steps)?.divergence else {
        return Ok(steps.to_vec());
    };
    // Keep the same kind of divergence: at the same kind of step.
    let kind = std::mem::discriminant(&first.step);
    let runs = std::cell::Cell::new(1usize);
    let diverges = |cand: &[Step]| -> Result<bool, Unavailable> {
        runs.set(runs.get() + 1);
        Ok(diff_run(cand)?
            .divergence
            .is_some_and(|d| std::mem::discriminant(&d.step) == kind))
    };
    let mut keep: Vec<usize> = (0..steps.len()).collect();
    let mut edits: HashMap<usize, Step> = HashMap::new();
    // ddmin over the kept steps.
    let mut n = 2usize;
    while keep.len() >= 2 && runs.get() < max_runs {
        let chunk = keep.len().div_ceil(n);
        let mut reduced = false;
        for start in (0..keep.len()).step_by(chunk) {
            if runs.get() >= max_runs {
                break;
            }
            let cand: Vec<usize> = keep
                .iter()
                .enumerate()
                .filter(|(j, _)| *j < start || *j >= start + chunk)
                .map(|(_, &i)| i)
                .collect();
            if cand.is_empty() {
                continue;
            }
            if diverges(&sym.concretize(profile, &cand, &edits))? {
                keep = cand;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= keep.len() {
                break;
            }
            n = (2 * n).min(keep.len());
        }
    }
    // Simplify each kept step.
    let mut changed = true;
    while changed && runs.get() < max_runs {
        changed = false;
        for &i in &keep.clone() {
            let cur = edits.get(&i).cloned().unwrap_or_else(|| steps[i].clone());
            for v in shrink_step(&cur) {
                if runs.get() >= max_runs {
                    break;
                }
                let mut e = edits.clone();
                e.insert(i, v);
                if diverges(&sym.concretize(profile, &keep, &e))? {
                    edits = e;
                    changed = true;
                    break;
                }
            }
        }
    }
    Ok(sym.concretize(profile, &keep, &edits))
}

/// Renumbers `steps` as if only the steps at `keep` (ascending indices) were run,
/// for tools that drop steps themselves.
pub fn renumbered(steps: &[Step], keep: &[usize], profile: Profile) -> Vec<Step> {
    Symbolic::new(profile, steps).concretize(profile, keep, &HashMap::new())
}
