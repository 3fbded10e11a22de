//! The simulated kernel behind [`crate::uring`], and the checks that run protocols on it.
//!
//! * Which kernel a new ring belongs to: the one the calling thread is *scoped* to
//!   ([`Sim::enter`], [`Sim::run`], every [`Check`] execution, and threads spawned with
//!   [`thread::spawn`] inherit their spawner's), else a process-wide default kernel of
//!   kernel line 6.18. A ring remembers its kernel, so it can be used from any
//!   thread.
//! * Files that are not rings: [`pipe`], [`eventfd`], [`regular_file`], [`close`].
//! * Checking a protocol: [`Check`] runs a body under the build's scheduler (std
//!   threads, loom with `--cfg loom`, shuttle with `--cfg shuttle`) and returns a
//!   [`Verdict`]; a violation is a [`Report`], never a process abort.

mod baton;
mod check;
mod choose;
pub(crate) mod kernel;
mod report;
pub mod thread;

pub use check::{Check, Verdict};
pub use kernel::{ExternalFn, SimKernel, ViolationError};
pub use report::{Report, RingReport, Sleeper, ViolationKind};

use crate::sync::Arc;
use crate::{Profile, Step, StepResult, World};
use choose::{ChooserState, Mode};
use kernel::{step_ret, Config};
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc as StdArc;
use std::time::Duration;

// Not `const {}`: loom's thread_local! does not take it.
crate::sync::thread_local! {
    #[allow(clippy::missing_const_for_thread_local)]
    static CURRENT: RefCell<Vec<Arc<SimKernel>>> = RefCell::new(Vec::new());
}

/// The default real-time bound on a wait with no progress (std threads only).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

fn env_wait_timeout() -> Duration {
    std::env::var("MSGRING_WAIT_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(DEFAULT_WAIT_TIMEOUT, Duration::from_millis)
}

/// A handle on a simulated kernel: create one per test (or per loom iteration) to
/// pick a kernel line and keep its rings apart from every other test's.
#[derive(Clone)]
pub struct Sim {
    kernel: Arc<SimKernel>,
}

/// How to build a [`Sim`].
#[derive(Clone)]
pub struct SimBuilder {
    name: String,
    profile: Profile,
    wait_timeout: Duration,
    external: Option<StdArc<ExternalFn>>,
    seed: Option<u64>,
}

impl SimBuilder {
    /// The kernel line (default [`Profile::V6_18`], the newest line `msgring check` holds
    /// against a running kernel; [`Profile::NEWEST`] is 7.3).
    pub fn profile(mut self, p: Profile) -> SimBuilder {
        self.profile = p;
        self
    }
    /// A name for reports.
    pub fn name(mut self, name: &str) -> SimBuilder {
        self.name = name.to_string();
        self
    }
    /// std threads: how long a wait may see no progress before it fails with a report
    /// naming it (default 10 s, or `MSGRING_WAIT_TIMEOUT_MS`).
    pub fn wait_timeout(mut self, d: Duration) -> SimBuilder {
        self.wait_timeout = d;
        self
    }
    /// Completes SQEs of opcodes the model does not model: `f` returns the CQE result
    /// (the CQE is posted at submission, with the SQE's user_data), or `None` to refuse
    /// the SQE (the next submit fails with `ErrorKind::Unsupported`). Without a
    /// handler every unmodelled SQE is refused.
    pub fn external<F>(mut self, f: F) -> SimBuilder
    where
        F: Fn(&super::squeue::Entry) -> Option<i32> + Send + Sync + 'static,
    {
        self.external = Some(StdArc::new(f));
        self
    }
    /// Takes the kernel's nondeterministic decisions (choice points) at random from
    /// this seed instead of always the default.
    pub fn random_choices(mut self, seed: u64) -> SimBuilder {
        self.seed = Some(seed);
        self
    }
    pub fn build(self) -> Sim {
        let mode = match self.seed {
            Some(s) => Mode::Random(crate::choice::RandomChooser::new(s)),
            None => Mode::Default,
        };
        let run = match self.seed {
            Some(s) => format!("choice seed {s:#x}"),
            None => "default choices".into(),
        };
        Sim::from_parts(
            Config {
                name: self.name,
                profile: self.profile,
                wait_timeout: self.wait_timeout,
                external: self.external,
                run_label: run,
                baton: None,
            },
            ChooserState::new(mode),
        )
    }
}

impl Sim {
    /// A kernel of line `profile` with default choices.
    pub fn new(profile: Profile) -> Sim {
        Sim::builder().profile(profile).build()
    }

    pub fn builder() -> SimBuilder {
        SimBuilder {
            name: "sim".into(),
            profile: Profile::V6_18,
            wait_timeout: env_wait_timeout(),
            external: None,
            seed: None,
        }
    }

    pub(crate) fn from_parts(config: Config, chooser: ChooserState) -> Sim {
        Sim {
            kernel: Arc::new(SimKernel::new(config, chooser)),
        }
    }

    pub(crate) fn kernel(&self) -> &Arc<SimKernel> {
        &self.kernel
    }

    /// Scopes the calling thread to this kernel (and registers it, named `name`, for
    /// the lost-wake-up check) until the guard drops.
    pub fn enter(&self, name: &str) -> Scope {
        let mut scope = Scope::enter(Arc::clone(&self.kernel));
        scope.registered = Some(self.kernel.register_current(name));
        scope
    }

    /// Runs `f` with the calling thread scoped to this kernel.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.enter("main");
        f()
    }

    /// A copy of the modelled kernel state now.
    pub fn world(&self) -> World {
        self.kernel.lock().world.clone()
    }

    /// The report of the violation this kernel's run has, if any.
    pub fn violation(&self) -> Option<Report> {
        self.kernel.lock().violation.as_deref().cloned()
    }

    /// A report of the kernel's state now (no violation needed): who sleeps where,
    /// every ring, the schedule.
    pub fn snapshot(&self, message: &str) -> Report {
        let st = self.kernel.lock();
        st.report(
            &self.kernel.config,
            ViolationKind::Property,
            message.to_string(),
        )
    }
}

/// The calling thread is scoped to a kernel while this lives.
pub struct Scope {
    kernel: Arc<SimKernel>,
    registered: Option<usize>,
}

impl Scope {
    pub(crate) fn enter(kernel: Arc<SimKernel>) -> Scope {
        CURRENT.with(|c| c.borrow_mut().push(Arc::clone(&kernel)));
        Scope {
            kernel,
            registered: None,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some(idx) = self.registered {
            self.kernel.thread_exit(idx);
        }
        CURRENT.with(|c| {
            c.borrow_mut().pop();
        });
    }
}

#[cfg(not(any(loom, shuttle)))]
fn default_kernel() -> Arc<SimKernel> {
    static DEFAULT: std::sync::OnceLock<Sim> = std::sync::OnceLock::new();
    Arc::clone(
        DEFAULT
            .get_or_init(|| Sim::builder().name("default").build())
            .kernel(),
    )
}

#[cfg(any(loom, shuttle))]
fn default_kernel() -> Arc<SimKernel> {
    crate::sync::lazy_static! {
        static ref DEFAULT: Sim = Sim::builder().name("default").build();
    }
    Arc::clone(DEFAULT.kernel())
}

/// The kernel the calling thread is scoped to, or the process-wide default one.
pub fn current() -> Arc<SimKernel> {
    CURRENT
        .with(|c| c.borrow().last().cloned())
        .unwrap_or_else(default_kernel)
}

fn file_step(step: Step) -> io::Result<StepResult> {
    current().syscall(|st, me, _| Ok(st.apply(me, step)))
}

/// `pipe2()` on the simulated kernel: (read end, write end).
pub fn pipe() -> io::Result<(RawFd, RawFd)> {
    match file_step(Step::Pipe)? {
        StepResult::Fds(r, w) => Ok((r, w)),
        other => step_ret("pipe", other).map(|_| (-1, -1)),
    }
}

/// `eventfd()` on the simulated kernel.
pub fn eventfd() -> io::Result<RawFd> {
    step_ret("eventfd", file_step(Step::Eventfd)?)
}

/// A regular file (a memfd) on the simulated kernel.
pub fn regular_file() -> io::Result<RawFd> {
    step_ret("regular file", file_step(Step::RegularFile)?)
}

/// `close(fd)` of a file that is not a ring.
pub fn close(fd: RawFd) -> io::Result<()> {
    step_ret("close", file_step(Step::Close { fd })?).map(|_| ())
}

/// A switch point: on std threads in a [`Check`], hands the scheduler to another
/// thread (see the `baton` docs); under loom and shuttle, `thread::yield_now`. Spin on
/// it when waiting for another thread outside msgring (a flag, a barrier).
pub fn yield_now() {
    #[cfg(not(any(loom, shuttle)))]
    {
        let k = current();
        let mut st = k.lock();
        let me = st.me(None);
        let st = k.yield_point(st, me);
        let free = !st.controlled();
        drop(st);
        if free {
            std::thread::yield_now();
        }
    }
    #[cfg(any(loom, shuttle))]
    crate::sync::thread::yield_now();
}

/// A copy of the current kernel's modelled state.
pub fn world() -> World {
    current().lock().world.clone()
}

/// Adds a line to the current kernel's schedule (what the protocol decided, e.g.
/// "not polling: no wake sent"), so that a report reads as the protocol's story.
pub fn note(text: impl Into<String>) {
    let k = current();
    let (mut st, me) = k.lock_at_switch();
    st.note(me, text.into());
}

/// Checks a property of the protocol: when `holds` is false the run gets a
/// [`ViolationKind::Property`] report with `message` and every later system call
/// fails; the error is returned to propagate with `?`.
pub fn ensure(holds: bool, message: impl FnOnce() -> String) -> io::Result<()> {
    if holds {
        return Ok(());
    }
    Err(current().fail(ViolationKind::Property, message()))
}

/// Fails the current run with a property violation (see [`ensure`]).
pub fn violation(message: impl Into<String>) -> io::Error {
    current().fail(ViolationKind::Property, message.into())
}
