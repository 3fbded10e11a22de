//! The simulated kernel behind [`crate::uring`]: the sequential [`World`] behind one
//! [`crate::sync::Mutex`], a [`crate::sync::Condvar`] for sleeping waiters, and the
//! bookkeeping that turns "every thread sleeps" into a report instead of a hang.
//!
//! Every system call of the facade is one critical section: it applies its steps to the
//! world atomically (the model settles io-wq, task_work and SQPOLL work inside a step),
//! records them in the schedule, and wakes every sleeper when the world changed. A
//! waiter re-enters `io_uring_enter(GETEVENTS)` each time it is woken, exactly as the
//! kernel's `io_cqring_wait` loop re-checks after a wake-up (running DEFER_TASKRUN local
//! work, task_work and the overflow flush each time).

use super::choose::ChooserState;
use super::report::{Event, Report, RingReport, Sleeper, ViolationKind};
use crate::errno::Errno;
use crate::sqe::Vfd;
use crate::state::{RingId, TaskId};
use crate::step::{Faults, Step, StepResult};
use crate::sync::thread::{self, ThreadId};
use crate::sync::{Condvar, Mutex, MutexGuard};
use crate::uapi::enter;
use crate::{Profile, World};
use std::collections::HashMap;
use std::io;
use std::sync::Arc as StdArc;
use std::time::Duration;

/// What to do with an SQE whose opcode the model does not model: `Some(res)` completes
/// it at submission with that result ("external completion"), `None` refuses it.
pub type ExternalFn = dyn Fn(&crate::uring::squeue::Entry) -> Option<i32> + Send + Sync;

/// How a kernel is set up (fixed for its life).
#[derive(Clone)]
pub(crate) struct Config {
    pub name: String,
    pub profile: Profile,
    /// std threads only: how long a wait may sleep without any progress in the kernel
    /// before it fails with a report naming it.
    #[cfg_attr(any(loom, shuttle), allow(dead_code))]
    pub wait_timeout: Duration,
    pub external: Option<StdArc<ExternalFn>>,
    /// What the report says about the run ("std run 3, seed 0x..", "loom iteration").
    pub run_label: String,
    /// std threads: schedule the `sim::thread`s one at a time from this seed (see
    /// [`super::baton`]); `None`: they run freely.
    pub baton: Option<u64>,
}

/// Where a thread is, as far as the kernel can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TState {
    /// Running userspace code (or unknown, for threads not spawned through `sim`).
    Running,
    /// Asleep in `io_uring_enter(GETEVENTS)`, last checked at generation `seen`.
    Waiting {
        ring: Vfd,
        want: u32,
        call: &'static str,
        seen: u64,
        /// The wait has a (virtual) timeout, which fires when nothing else can run.
        timed: bool,
        timed_out: bool,
    },
    /// Blocked in [`super::thread::JoinHandle::join`] on thread `.0`.
    Joining(usize),
    /// Finished.
    Done,
}

pub(crate) struct ThreadRec {
    pub name: String,
    pub id: Option<ThreadId>,
    pub task: Option<TaskId>,
    pub state: TState,
    /// Spawned through `sim::thread` (or the scope's own thread): the kernel knows when
    /// it runs, blocks and ends. Other threads only count when they sleep in a wait.
    pub registered: bool,
}

/// Facts about a ring the world does not keep.
#[derive(Clone, Debug, Default)]
pub(crate) struct RingMeta {
    pub name: String,
    /// An SQE was refused at push time: the next submit fails with this message.
    pub refused: Option<String>,
    pub dropped: bool,
}

pub(crate) struct State {
    pub world: World,
    /// Bumped whenever the world changes: a sleeper that has seen the current
    /// generation has nothing new to look at.
    pub gen: u64,
    pub threads: Vec<ThreadRec>,
    pub by_id: HashMap<ThreadId, usize>,
    pub violation: Option<StdArc<Report>>,
    pub log: Vec<Event>,
    pub chooser: ChooserState,
    pub rings: HashMap<Vfd, RingMeta>,
    pub sched: Option<super::baton::Sched>,
}

/// A simulated kernel: one world, its threads and its schedule.
pub struct SimKernel {
    pub(crate) config: Config,
    pub(crate) state: Mutex<State>,
    pub(crate) cv: Condvar,
}

/// Most events a schedule keeps (older ones are summarized).
const LOG_CAP: usize = 4096;

/// The error a facade call returns once the run has a violation.
#[derive(Debug, Clone)]
pub struct ViolationError(pub StdArc<Report>);

impl std::fmt::Display for ViolationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "msgring: the run stopped: {} (see the report)",
            self.0.headline()
        )
    }
}

impl std::error::Error for ViolationError {}

pub(crate) fn violation_error(r: &StdArc<Report>) -> io::Error {
    io::Error::other(ViolationError(StdArc::clone(r)))
}

fn errno_result(ret: i32) -> io::Result<i32> {
    if ret < 0 {
        Err(io::Error::from_raw_os_error(-ret))
    } else {
        Ok(ret)
    }
}

/// Turns what a step returned into the system call's result.
pub(crate) fn step_ret(what: &str, r: StepResult) -> io::Result<i32> {
    match r {
        StepResult::Ret(v) => errno_result(v),
        StepResult::Unmodelled(why) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("msgring: {what}: {why} is not modelled"),
        )),
        StepResult::Refused(why) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("msgring: {what}: refused: {why}"),
        )),
        other => Err(io::Error::other(format!(
            "msgring: {what}: unexpected model result {other:?}"
        ))),
    }
}

impl SimKernel {
    pub(crate) fn new(config: Config, chooser: ChooserState) -> SimKernel {
        SimKernel {
            state: Mutex::new(State {
                world: World::new(config.profile),
                gen: 0,
                threads: Vec::new(),
                by_id: HashMap::new(),
                violation: None,
                log: Vec::new(),
                chooser,
                rings: HashMap::new(),
                sched: config.baton.map(super::baton::Sched::new),
            }),
            config,
            cv: Condvar::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the state at a switch point (see [`super::baton`]) and fails if the run
    /// already has a violation.
    pub(crate) fn enter(&self) -> io::Result<(MutexGuard<'_, State>, usize)> {
        let (st, me) = self.lock_at_switch();
        if let Some(v) = &st.violation {
            return Err(violation_error(v));
        }
        Ok((st, me))
    }

    /// Locks the state at a switch point of the calling thread.
    pub(crate) fn lock_at_switch(&self) -> (MutexGuard<'_, State>, usize) {
        let mut st = self.lock();
        let me = st.me(None);
        let st = self.switch_point(st, me);
        (st, me)
    }

    /// Registers the calling thread (spawned through `sim::thread`, or a scope's own).
    pub(crate) fn register_current(&self, name: &str) -> usize {
        let mut st = self.lock();
        let me = st.me(Some(name));
        st.threads[me].registered = true;
        st.threads[me].state = TState::Running;
        if let Some(sched) = st.sched.as_mut() {
            if sched.running.is_none() {
                sched.running = Some(me);
            }
        }
        me
    }

    /// A thread that will be spawned: registered before it runs, so that a deadlock
    /// check between the spawn and its first step counts it as running.
    pub(crate) fn preregister(&self, name: &str) -> usize {
        let mut st = self.lock();
        // The spawner is known from now on (as running, if it is not registered):
        // it may still post what a sleeper waits for.
        st.me(None);
        st.threads.push(ThreadRec {
            name: name.to_string(),
            id: None,
            task: None,
            state: TState::Running,
            registered: true,
        });
        st.threads.len() - 1
    }

    /// The spawned thread claims its preregistered record (and waits for the baton).
    pub(crate) fn claim(&self, idx: usize) {
        let mut st = self.lock();
        let id = thread::current().id();
        st.threads[idx].id = Some(id);
        st.by_id.insert(id, idx);
        drop(self.acquire(st, idx));
    }

    /// A registered thread ends: its task exits (M10, R24), joiners may go on.
    pub(crate) fn thread_exit(&self, idx: usize) {
        let mut st = self.lock();
        if let Some(task) = st.threads[idx].task {
            if st.violation.is_none() {
                let step = Step::ExitTask { task };
                st.apply(idx, step);
            }
        }
        st.threads[idx].state = TState::Done;
        st.bump();
        self.cv.notify_all();
        self.blocks(&mut st, idx);
    }

    /// Thread `me` stops running (it sleeps, joins or ended): hand the baton on, or
    /// (free threads) run the deadlock check.
    fn blocks(&self, st: &mut State, me: usize) {
        if st.controlled() {
            if st.sched.as_ref().and_then(|s| s.running) == Some(me) {
                self.pass(st);
            }
        } else {
            self.detect(st);
        }
    }

    /// Thread `idx` joins thread `target`.
    pub(crate) fn start_join(&self, idx: usize, target: usize) {
        let mut st = self.lock();
        st.threads[idx].state = TState::Joining(target);
        self.blocks(&mut st, idx);
    }

    /// Thread `idx` returns from a join (and waits for the baton).
    pub(crate) fn end_join(&self, idx: usize) {
        let mut st = self.lock();
        st.threads[idx].state = TState::Running;
        drop(self.acquire(st, idx));
    }

    /// The calling thread's index (from the thread id).
    pub(crate) fn current_index(&self) -> usize {
        self.lock().me(None)
    }

    /// Runs `f` on the world, as one system call of the calling thread, and wakes
    /// sleepers (the world may have changed).
    pub(crate) fn syscall<R>(
        &self,
        f: impl FnOnce(&mut State, usize, TaskId) -> io::Result<R>,
    ) -> io::Result<R> {
        let (mut st, me) = self.enter()?;
        let task = st.task_of(me);
        let r = f(&mut st, me, task);
        st.bump();
        drop(st);
        self.cv.notify_all();
        r
    }

    /// Records a violation of kind `kind` (if the run has none yet), wakes everyone,
    /// and returns the error every later call gets.
    pub(crate) fn fail(&self, kind: ViolationKind, message: String) -> io::Error {
        let mut st = self.lock();
        let r = self.fail_locked(&mut st, kind, message);
        drop(st);
        self.cv.notify_all();
        violation_error(&r)
    }

    pub(crate) fn fail_locked(
        &self,
        st: &mut State,
        kind: ViolationKind,
        message: String,
    ) -> StdArc<Report> {
        if let Some(v) = &st.violation {
            return StdArc::clone(v);
        }
        let r = StdArc::new(st.report(&self.config, kind, message));
        st.violation = Some(StdArc::clone(&r));
        r
    }

    /// The deadlock check, run whenever a thread is about to block: if every thread
    /// the kernel knows of is done, asleep with nothing new to see, or joining such a
    /// thread, then either a timed wait times out (virtual time passes only when
    /// nothing else can run) or the run has a lost wake-up.
    pub(crate) fn detect(&self, st: &mut State) {
        if st.violation.is_some() {
            return;
        }
        let gen = st.gen;
        let blocked = |st: &State, t: &ThreadRec| match &t.state {
            TState::Done => true,
            TState::Waiting { seen, .. } => *seen == gen,
            TState::Joining(x) => st.threads[*x].state != TState::Done,
            TState::Running => false,
        };
        let all = st.threads.iter().all(|t| blocked(st, t));
        let any_waiting = st
            .threads
            .iter()
            .any(|t| matches!(t.state, TState::Waiting { .. }));
        if !all || !any_waiting {
            return;
        }
        // Time passes: the timed wait that started first times out.
        for t in st.threads.iter_mut() {
            if let TState::Waiting {
                timed: true,
                timed_out,
                ..
            } = &mut t.state
            {
                if !*timed_out {
                    *timed_out = true;
                    st.gen += 1;
                    self.cv.notify_all();
                    return;
                }
            }
        }
        let sleepers: Vec<String> = st
            .threads
            .iter()
            .filter_map(|t| match &t.state {
                TState::Waiting {
                    ring, want, call, ..
                } => Some(format!(
                    "thread '{}' sleeps in {call}(want {want}) on ring {}",
                    t.name,
                    st.ring_label(*ring)
                )),
                _ => None,
            })
            .collect();
        let msg = format!(
            "every thread is blocked and nothing in the kernel can wake them: {}",
            sleepers.join("; ")
        );
        self.fail_locked(st, ViolationKind::LostWakeup, msg);
        self.cv.notify_all();
    }

    /// `Submitter::submit_and_wait(want)` (and `submit_with_args`) by the calling
    /// thread, with the io-uring crate's logic: submit every SQE in the SQ; enter with
    /// GETEVENTS when waiting, on IOPOLL rings, or when the CQ overflowed or task_work
    /// is pending; skip the system call when an awake SQPOLL thread does the work.
    /// Then sleep until `want` CQEs are visible. `timeout`: `None` sleeps until
    /// satisfied, `Some(ZERO)` never sleeps, any other timeout fires when nothing else
    /// can run. Returns what the kernel returns.
    pub(crate) fn submit_and_wait(
        &self,
        ring: Vfd,
        want: u32,
        timeout: Option<Duration>,
        call: &'static str,
    ) -> io::Result<usize> {
        self.enter_and_wait(ring, None, want, timeout, call)
    }

    /// `io_uring_enter`; `explicit`: `Some((to_submit, flags))` as given (the raw
    /// `Submitter::enter`), `None`: the io-uring crate's `submit_and_wait` logic.
    pub(crate) fn enter_and_wait(
        &self,
        ring: Vfd,
        explicit: Option<(u32, u32)>,
        want: u32,
        timeout: Option<Duration>,
        call: &'static str,
    ) -> io::Result<usize> {
        use crate::uapi::{setup, sq};
        let (mut st, me) = self.enter()?;
        if let Some(why) = st.rings.get_mut(&ring).and_then(|m| m.refused.take()) {
            return Err(io::Error::new(io::ErrorKind::Unsupported, why));
        }
        let (len, flags) = match explicit {
            Some(e) => e,
            None => {
                let Some(rid) = st.ring_id(ring) else {
                    return Err(io::Error::from_raw_os_error(Errno::EBADF.0));
                };
                let r = st.world.ring(rid);
                let len = r.sq.len() as u32;
                let (sq_flags, iopoll, sqpoll) =
                    (r.sq_flags, r.has(setup::IOPOLL), r.has(setup::SQPOLL));
                let overflow = sq_flags & sq::CQ_OVERFLOW != 0;
                let taskrun = sq_flags & sq::TASKRUN != 0;
                let mut flags = 0;
                if want > 0 || iopoll || overflow || taskrun {
                    flags |= enter::GETEVENTS;
                }
                if sqpoll {
                    if sq_flags & sq::NEED_WAKEUP != 0 {
                        flags |= enter::SQ_WAKEUP;
                    } else if want == 0 && !overflow && !taskrun {
                        return Ok(len as usize);
                    }
                }
                (len, flags)
            }
        };
        let task = st.task_of(me);
        let step = Step::Enter {
            task,
            ring,
            to_submit: len,
            min_complete: want,
            flags,
        };
        let first = st.apply(me, step);
        st.bump();
        self.cv.notify_all();
        let ret = match first {
            StepResult::Ret(v) => v,
            other => return step_ret(call, other).map(|v| v as usize),
        };
        if flags & enter::GETEVENTS == 0 || want == 0 {
            return errno_result(ret).map(|v| v as usize);
        }
        let etime = Errno::ETIME.neg();
        if ret < 0 && ret != etime {
            return errno_result(ret).map(|v| v as usize);
        }
        let submitted = ret.max(0) as usize;
        let done = |st: &State| -> bool {
            st.world
                .ring_of_fd(ring)
                .map(|r| {
                    let cq = &st.world.ring(r).cq;
                    cq.ready() >= want.min(cq.entries())
                })
                .unwrap_or(true)
        };
        let timed = timeout.is_some();
        let zero = timeout == Some(Duration::ZERO);
        loop {
            if done(&st) {
                st.threads[me].state = TState::Running;
                return Ok(submitted);
            }
            let timed_out = matches!(
                st.threads[me].state,
                TState::Waiting {
                    timed_out: true,
                    ..
                }
            );
            if zero || timed_out {
                st.threads[me].state = TState::Running;
                st.note(me, format!("{call}: timed out (-ETIME)"));
                return if submitted > 0 {
                    Ok(submitted)
                } else {
                    Err(io::Error::from_raw_os_error(-etime))
                };
            }
            let seen = st.gen;
            if !matches!(st.threads[me].state, TState::Waiting { .. }) {
                st.note(me, format!("sleeps until {want} CQE(s) are visible"));
            }
            st.threads[me].state = TState::Waiting {
                ring,
                want,
                call,
                seen,
                timed,
                timed_out: false,
            };
            if st.controlled() {
                self.blocks(&mut st, me);
                st = self.acquire(st, me);
                if let Some(v) = &st.violation {
                    return Err(violation_error(v));
                }
            } else {
                self.detect(&mut st);
                if let Some(v) = &st.violation {
                    return Err(violation_error(v));
                }
                st = self.sleep(st, me, seen)?;
            }
            // Woken: the kernel's wait loop runs local work, task_work and the
            // overflow flush again before it re-checks.
            let before = st.world.clone();
            let step = Step::Enter {
                task,
                ring,
                to_submit: 0,
                min_complete: want,
                flags: enter::GETEVENTS,
            };
            let (r, taken) = st.apply_quiet(step.clone());
            let changed = st.world != before;
            if changed || done(&st) {
                st.push_event(me, step, r.clone(), taken);
            }
            if changed {
                st.bump();
                self.cv.notify_all();
            }
            match r {
                StepResult::Ret(v) if v < 0 && v != etime => {
                    st.threads[me].state = TState::Running;
                    return errno_result(v).map(|_| submitted);
                }
                StepResult::Ret(_) => {}
                other => {
                    st.threads[me].state = TState::Running;
                    return step_ret(call, other).map(|_| submitted);
                }
            }
        }
    }

    /// Sleeps on the condvar until the generation moves past `seen` or the run has a
    /// violation. On std threads a sleep with no progress for the configured timeout
    /// fails the run with a report naming this wait.
    fn sleep<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        me: usize,
        seen: u64,
    ) -> io::Result<MutexGuard<'a, State>> {
        loop {
            if let Some(v) = &st.violation {
                return Err(violation_error(v));
            }
            let timed_out_now = matches!(
                st.threads[me].state,
                TState::Waiting {
                    timed_out: true,
                    ..
                }
            );
            if st.gen != seen || timed_out_now {
                return Ok(st);
            }
            #[cfg(not(any(loom, shuttle)))]
            {
                let (g, to) = self
                    .cv
                    .wait_timeout(st, self.config.wait_timeout)
                    .unwrap_or_else(|e| e.into_inner());
                st = g;
                if to.timed_out() && st.gen == seen && st.violation.is_none() {
                    let what = match &st.threads[me].state {
                        TState::Waiting {
                            ring, want, call, ..
                        } => format!(
                            "thread '{}' waited {:?} in {call}(want {want}) on ring {} and \
                             nothing in the kernel changed",
                            st.threads[me].name,
                            self.config.wait_timeout,
                            st.ring_label(*ring)
                        ),
                        _ => format!("thread '{}' waited too long", st.threads[me].name),
                    };
                    let r = self.fail_locked(&mut st, ViolationKind::WaitTimeout, what);
                    self.cv.notify_all();
                    return Err(violation_error(&r));
                }
            }
            #[cfg(any(loom, shuttle))]
            {
                st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

impl State {
    /// The calling thread's record (created on first sight).
    pub(crate) fn me(&mut self, name: Option<&str>) -> usize {
        let id = thread::current().id();
        if let Some(&i) = self.by_id.get(&id) {
            return i;
        }
        let n = self.threads.len();
        self.threads.push(ThreadRec {
            name: name.map_or_else(|| format!("thread-{n}"), str::to_string),
            id: Some(id),
            task: None,
            state: TState::Running,
            registered: false,
        });
        self.by_id.insert(id, n);
        n
    }

    /// The model task of thread `me`: the world's first task for the first thread that
    /// makes a system call, a new one (`SpawnTask`) for each later thread.
    pub(crate) fn task_of(&mut self, me: usize) -> TaskId {
        if let Some(t) = self.threads[me].task {
            return t;
        }
        let taken = self.threads.iter().any(|t| t.task.is_some());
        let task = if taken {
            match self.apply(me, Step::SpawnTask) {
                StepResult::Task(t) => t,
                other => unreachable!("spawn task: {other:?}"),
            }
        } else {
            TaskId(0)
        };
        self.threads[me].task = Some(task);
        task
    }

    pub(crate) fn bump(&mut self) {
        self.gen += 1;
    }

    /// Applies `step` for thread `me`, taking the kernel's nondeterministic decisions
    /// from the chooser, and records it in the schedule.
    pub(crate) fn apply(&mut self, me: usize, step: Step) -> StepResult {
        let (r, taken) = self.apply_quiet(step.clone());
        self.push_event(me, step, r.clone(), taken);
        r
    }

    pub(crate) fn apply_quiet(&mut self, step: Step) -> (StepResult, Vec<crate::choice::Taken>) {
        let State { world, chooser, .. } = self;
        world.apply_choosing(&step, Faults::default(), chooser)
    }

    pub(crate) fn push_event(
        &mut self,
        me: usize,
        step: Step,
        result: StepResult,
        taken: Vec<crate::choice::Taken>,
    ) {
        if self.log.len() >= LOG_CAP {
            self.log.drain(..LOG_CAP / 2);
        }
        self.log.push(Event::Step {
            thread: me,
            step,
            result,
            taken,
        });
    }

    pub(crate) fn note(&mut self, me: usize, text: String) {
        if self.log.len() >= LOG_CAP {
            self.log.drain(..LOG_CAP / 2);
        }
        self.log.push(Event::Note { thread: me, text });
    }

    pub(crate) fn ring_label(&self, fd: Vfd) -> String {
        match self.rings.get(&fd) {
            Some(m) => format!("'{}' (fd {fd})", m.name),
            None => format!("fd {fd}"),
        }
    }

    pub(crate) fn ring_id(&self, fd: Vfd) -> Option<RingId> {
        self.world.ring_of_fd(fd)
    }

    /// What a report shows: who sleeps where, every ring's CQ, overflow list, local
    /// work and unsubmitted SQEs, and the schedule with the kernel's choices.
    pub(crate) fn report(&self, config: &Config, kind: ViolationKind, message: String) -> Report {
        let sleepers = self
            .threads
            .iter()
            .map(|t| Sleeper {
                thread: t.name.clone(),
                task: t.task.map(|t| t.0),
                state: match &t.state {
                    TState::Running if t.registered => "running".to_string(),
                    TState::Running => "not spawned through sim::thread (state unknown)".into(),
                    TState::Done => "finished".into(),
                    TState::Joining(x) => format!("joins thread '{}'", self.threads[*x].name),
                    TState::Waiting {
                        ring,
                        want,
                        call,
                        timed,
                        ..
                    } => format!(
                        "sleeps in {call}(want {want}{}) on ring {}",
                        if *timed { ", with a timeout" } else { "" },
                        self.ring_label(*ring)
                    ),
                },
            })
            .collect();
        let mut fds: Vec<Vfd> = (0..self.world.fd_table().len() as Vfd)
            .filter(|&fd| self.world.ring_of_fd(fd).is_some())
            .collect();
        fds.sort_unstable();
        let rings = fds
            .iter()
            .map(|&fd| {
                let id = self.world.ring_of_fd(fd).expect("a ring");
                let r = self.world.ring(id);
                let owner = r.submitter.and_then(|task| {
                    self.threads
                        .iter()
                        .find(|t| t.task == Some(task))
                        .map(|t| t.name.clone())
                });
                RingReport {
                    fd,
                    name: self
                        .rings
                        .get(&fd)
                        .map(|m| m.name.clone())
                        .unwrap_or_default(),
                    flags: r.flags,
                    owner,
                    cq_entries: r.cq.entries(),
                    cq: r.cq.peek(),
                    overflow: r.overflow.iter().copied().collect(),
                    local_work: r
                        .retry_work
                        .iter()
                        .chain(r.local_work.iter())
                        .map(super::report::describe_work)
                        .collect(),
                    sq: r.sq.iter().copied().collect(),
                    table: r.table.occupied().collect(),
                }
            })
            .collect();
        let names: Vec<String> = self.threads.iter().map(|t| t.name.clone()).collect();
        Report {
            kind,
            message,
            kernel: config.name.clone(),
            profile: config.profile,
            run: config.run_label.clone(),
            sleepers,
            rings,
            schedule: self.log.iter().map(|e| e.describe(&names, self)).collect(),
            choices: self.chooser.path(),
        }
    }
}
