//! Running a protocol under the build's scheduler, many times, and saying what was
//! found: [`Check`] and its [`Verdict`].

#[cfg(loom)]
use super::choose::next_scripts;
use super::choose::{ChooserState, Mode};
use super::kernel::Config;
use super::{ExternalFn, Report, Sim, ViolationKind};
use crate::choice::{Choice, Taken};
use crate::sync::{Scheduler, SCHEDULER};
use crate::Profile;
#[cfg(loom)]
use std::collections::BTreeSet;
use std::collections::HashSet;
use std::fmt;
use std::io;
use std::sync::{Arc as StdArc, Mutex as StdMutex};
use std::time::{Duration, Instant};

/// A protocol check: a body run many times on fresh simulated kernels.
///
/// Each execution gets its own kernel (the body's thread is scoped to it and named
/// "main"); the body spawns its threads with [`super::thread::spawn`], joins them, and
/// returns `Ok(())`, or an error (a failed system call, or one of [`super::ensure`]).
/// What explores the executions depends on the build:
///
/// * std threads: [`Check::runs`] runs on real threads, each taking the kernel's
///   decisions at its choice points from a seed ([`Check::seed`] + run number);
/// * `--cfg loom`: loom's exhaustive exploration (bounded by `LOOM_MAX_PREEMPTIONS` and
///   the other `LOOM_*` variables), repeated for every *choice script* the executions
///   open up (see `sim::choose`), at most [`Check::max_choice_scripts`];
/// * `--cfg shuttle`: [`Check::iterations`] runs of shuttle's random scheduler (or PCT
///   with [`Check::pct`]) from [`Check::seed`]; the kernel's decisions come from
///   shuttle's scheduler-controlled randomness.
#[derive(Clone)]
pub struct Check {
    name: String,
    profile: Profile,
    runs: usize,
    iterations: usize,
    pct_depth: Option<usize>,
    seed: u64,
    wait_timeout: Duration,
    external: Option<StdArc<ExternalFn>>,
    max_scripts: usize,
    quiet: bool,
}

/// What a [`Check`] found.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub name: String,
    pub profile: Profile,
    pub scheduler: Scheduler,
    /// Executions run (loom: interleavings, summed over choice scripts).
    pub executions: usize,
    /// Distinct kernel choice paths the executions took.
    pub choice_paths: usize,
    /// loom: choice scripts explored, and those left when the cap was hit.
    pub choice_scripts: usize,
    pub choice_scripts_left: usize,
    /// Executions with a violation.
    pub violations: usize,
    /// The first violation found.
    pub first: Option<Report>,
    pub elapsed: Duration,
    pub seed: u64,
}

#[derive(Default)]
struct Collect {
    executions: usize,
    violations: usize,
    first: Option<Report>,
    paths: HashSet<Vec<Choice>>,
    logs: Vec<Vec<Taken>>,
}

impl Check {
    /// A check named `name` (the name is in every report), on kernel line 6.18 (see
    /// [`super::SimBuilder::profile`]).
    pub fn new(name: &str) -> Check {
        Check {
            name: name.to_string(),
            profile: Profile::V6_18,
            runs: 50,
            iterations: 1000,
            pct_depth: None,
            seed: std::env::var("MSGRING_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1),
            wait_timeout: super::env_wait_timeout(),
            external: None,
            max_scripts: 64,
            quiet: false,
        }
    }
    /// The kernel line every execution's kernel behaves as.
    pub fn profile(mut self, p: Profile) -> Check {
        self.profile = p;
        self
    }
    /// std threads: how many runs (default 50).
    pub fn runs(mut self, n: usize) -> Check {
        self.runs = n;
        self
    }
    /// shuttle: how many iterations (default 1000).
    pub fn iterations(mut self, n: usize) -> Check {
        self.iterations = n;
        self
    }
    /// shuttle: use the PCT scheduler with this bug depth instead of the random one.
    pub fn pct(mut self, depth: usize) -> Check {
        self.pct_depth = Some(depth);
        self
    }
    /// The seed of the random decisions (std and shuttle; default 1, or `MSGRING_SEED`).
    pub fn seed(mut self, seed: u64) -> Check {
        self.seed = seed;
        self
    }
    /// std threads: the real-time bound on a wait that sees no progress.
    pub fn wait_timeout(mut self, d: Duration) -> Check {
        self.wait_timeout = d;
        self
    }
    /// Completes unmodelled opcodes (see [`super::SimBuilder::external`]).
    pub fn external<F>(mut self, f: F) -> Check
    where
        F: Fn(&crate::uring::squeue::Entry) -> Option<i32> + Send + Sync + 'static,
    {
        self.external = Some(StdArc::new(f));
        self
    }
    /// loom: at most this many choice scripts (default 64).
    pub fn max_choice_scripts(mut self, n: usize) -> Check {
        self.max_scripts = n.max(1);
        self
    }
    /// Does not print the summary line.
    pub fn quiet(mut self) -> Check {
        self.quiet = true;
        self
    }

    fn config(&self, run_label: String, baton: Option<u64>) -> Config {
        Config {
            name: self.name.clone(),
            profile: self.profile,
            wait_timeout: self.wait_timeout,
            external: self.external.clone(),
            run_label,
            baton,
        }
    }

    /// Runs `body` as many times as the scheduler of the build explores, and says
    /// what was found. Never panics because of a violation: assert on the verdict
    /// ([`Verdict::expect_ok`], [`Verdict::expect_violation`]).
    pub fn run<F>(&self, body: F) -> Verdict
    where
        F: Fn() -> io::Result<()> + Send + Sync + 'static,
    {
        let start = Instant::now();
        let body = StdArc::new(body);
        let collect = StdArc::new(StdMutex::new(Collect::default()));
        let (scripts, left) = self.drive(&body, &collect);
        let c = std::mem::take(&mut *collect.lock().unwrap_or_else(|e| e.into_inner()));
        let v = Verdict {
            name: self.name.clone(),
            profile: self.profile,
            scheduler: SCHEDULER,
            executions: c.executions,
            choice_paths: c.paths.len(),
            choice_scripts: scripts,
            choice_scripts_left: left,
            violations: c.violations,
            first: c.first,
            elapsed: start.elapsed(),
            seed: self.seed,
        };
        if !self.quiet {
            eprintln!("{v}");
        }
        v
    }

    #[cfg(not(any(loom, shuttle)))]
    fn drive<F>(&self, body: &StdArc<F>, collect: &StdArc<StdMutex<Collect>>) -> (usize, usize)
    where
        F: Fn() -> io::Result<()> + Send + Sync + 'static,
    {
        for i in 0..self.runs {
            let seed = self.seed.wrapping_add(i as u64);
            let label = format!(
                "std run {} of {}, seed {seed} (thread schedule and kernel choices)",
                i + 1,
                self.runs
            );
            let mode = Mode::Random(crate::choice::RandomChooser::new(seed));
            execute(self.config(label, Some(seed)), mode, &**body, collect, true);
        }
        (0, 0)
    }

    #[cfg(loom)]
    fn drive<F>(&self, body: &StdArc<F>, collect: &StdArc<StdMutex<Collect>>) -> (usize, usize)
    where
        F: Fn() -> io::Result<()> + Send + Sync + 'static,
    {
        let mut seen: BTreeSet<Vec<u32>> = BTreeSet::new();
        seen.insert(Vec::new());
        let mut work: Vec<Vec<u32>> = vec![Vec::new()];
        let mut done = 0;
        while let Some(script) = work.pop() {
            if done == self.max_scripts {
                work.push(script);
                break;
            }
            done += 1;
            let body = StdArc::clone(body);
            let c = StdArc::clone(collect);
            let check = self.clone();
            let s = script.clone();
            loom::model::Builder::new().check(move || {
                let n = c.lock().unwrap_or_else(|e| e.into_inner()).executions + 1;
                let label = format!("loom execution {n}, choice script {s:?}");
                execute(
                    check.config(label, None),
                    Mode::Script(s.clone()),
                    &*body,
                    &c,
                    false,
                );
            });
            let logs = std::mem::take(&mut collect.lock().unwrap_or_else(|e| e.into_inner()).logs);
            for log in logs {
                work.extend(next_scripts(&log, &mut seen));
            }
        }
        (done, work.len())
    }

    #[cfg(all(shuttle, not(loom)))]
    fn drive<F>(&self, body: &StdArc<F>, collect: &StdArc<StdMutex<Collect>>) -> (usize, usize)
    where
        F: Fn() -> io::Result<()> + Send + Sync + 'static,
    {
        use shuttle::scheduler::{PctScheduler, RandomScheduler};
        let body = StdArc::clone(body);
        let c = StdArc::clone(collect);
        let check = self.clone();
        let sched = match self.pct_depth {
            Some(d) => format!("PCT depth {d}"),
            None => "random".to_string(),
        };
        let seed = self.seed;
        let f = move || {
            let n = c.lock().unwrap_or_else(|e| e.into_inner()).executions + 1;
            let label = format!("shuttle iteration {n} ({sched} scheduler, seed {seed})");
            execute(check.config(label, None), Mode::Shuttle, &*body, &c, false);
        };
        let config = shuttle::Config::default();
        match self.pct_depth {
            Some(d) => shuttle::Runner::new(
                PctScheduler::new_from_seed(self.seed, d, self.iterations),
                config,
            )
            .run(f),
            None => shuttle::Runner::new(
                RandomScheduler::new_from_seed(self.seed, self.iterations),
                config,
            )
            .run(f),
        };
        (0, 0)
    }
}

/// One execution on a fresh kernel.
fn execute<F>(config: Config, mode: Mode, body: &F, collect: &StdMutex<Collect>, catch_panics: bool)
where
    F: Fn() -> io::Result<()> + Send + Sync + 'static,
{
    let sim = Sim::from_parts(config, ChooserState::new(mode));
    let result = {
        let _scope = sim.enter("main");
        if catch_panics {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
                Ok(r) => r,
                Err(p) => {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".into());
                    Err(io::Error::other(format!("the body panicked: {msg}")))
                }
            }
        } else {
            body()
        }
    };
    let k = sim.kernel();
    let report = {
        let mut st = k.lock();
        if st.violation.is_none() {
            if let Err(e) = &result {
                let r = st.report(
                    &k.config,
                    ViolationKind::Failed,
                    format!("the protocol returned an error: {e}"),
                );
                st.violation = Some(StdArc::new(r));
            }
        }
        let log = st.chooser.log().to_vec();
        let report = st.violation.as_deref().cloned();
        drop(st);
        let mut c = collect.lock().unwrap_or_else(|e| e.into_inner());
        c.executions += 1;
        c.paths.insert(log.iter().map(Taken::choice).collect());
        c.logs.push(log);
        report
    };
    if let Some(r) = report {
        let mut c = collect.lock().unwrap_or_else(|e| e.into_inner());
        c.violations += 1;
        if c.first.is_none() {
            c.first = Some(r);
        }
    }
}

impl Verdict {
    /// Panics with the first report if any execution had a violation.
    #[track_caller]
    pub fn expect_ok(self) -> Verdict {
        if let Some(r) = &self.first {
            panic!("{self}\nexpected no violation; the first one:\n{r}");
        }
        self
    }

    /// The first violation's report; panics if no execution had one.
    #[track_caller]
    pub fn expect_violation(self) -> Report {
        match self.first {
            Some(r) => r,
            None => panic!("{self}\nexpected a violation, found none"),
        }
    }

    /// Like [`Verdict::expect_violation`], and checks its kind.
    #[track_caller]
    pub fn expect_violation_of(self, kind: ViolationKind) -> Report {
        let r = self.expect_violation();
        assert_eq!(r.kind, kind, "unexpected kind of violation:\n{r}");
        r
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "msgring check '{}' (kernel {}, {:?}): {} execution(s), {} choice path(s)",
            self.name, self.profile, self.scheduler, self.executions, self.choice_paths
        )?;
        if self.scheduler == Scheduler::Loom {
            write!(f, ", {} choice script(s)", self.choice_scripts)?;
            if self.choice_scripts_left > 0 {
                write!(f, " ({} left unexplored)", self.choice_scripts_left)?;
            }
        } else {
            write!(f, ", seed {}", self.seed)?;
        }
        write!(
            f,
            ", {} violation(s), {:.2?}",
            self.violations, self.elapsed
        )
    }
}
