//! Shared helpers for msgring's model tests: a tiny scenario builder over
//! [`msgring::World`] so each rule test reads like the kernel scenario it checks.

use msgring::{
    step::StepResult, uapi, Cqe, DestSlot, Faults, FileId, MsgRingData, MsgRingSendFd, RingView,
    Sqe, Step, TaskId, Vfd, World,
};

/// A scenario under construction: a world plus helpers that assert each setup step
/// succeeded, so a test fails at the step that went wrong.
pub struct Sim {
    pub world: World,
}

impl Default for Sim {
    fn default() -> Sim {
        Sim::new()
    }
}

pub const T0: TaskId = TaskId(0);

impl Sim {
    pub fn new() -> Sim {
        Sim {
            world: World::default(),
        }
    }

    /// A scenario on another kernel line.
    pub fn with_profile(profile: msgring::Profile) -> Sim {
        Sim {
            world: World::new(profile),
        }
    }

    /// Applies a step and returns its result.
    pub fn step(&mut self, step: Step) -> StepResult {
        self.world.apply(&step)
    }

    /// Applies a step with faults injected.
    pub fn step_with(&mut self, step: Step, faults: Faults) -> StepResult {
        self.world.apply_with(&step, faults)
    }

    /// Applies a step that must return `Ret(_)` and returns the value.
    pub fn ret(&mut self, step: Step) -> i32 {
        match self.step(step.clone()) {
            StepResult::Ret(r) => r,
            other => panic!("{step:?} gave {other:?}, expected a return value"),
        }
    }

    /// A ring set up by task 0 with `flags`; panics if setup fails.
    pub fn ring(&mut self, entries: u32, flags: u32) -> Vfd {
        self.ring_by(T0, entries, 0, flags)
    }

    /// A ring set up by `task` with explicit CQ size (CQSIZE added when `cq` > 0).
    pub fn ring_by(&mut self, task: TaskId, entries: u32, cq: u32, flags: u32) -> Vfd {
        let flags = if cq > 0 {
            flags | uapi::setup::CQSIZE
        } else {
            flags
        };
        let fd = self.ret(Step::Setup {
            task,
            entries,
            cq_entries: cq,
            flags,
        });
        assert!(fd >= 0, "setup failed: {fd}");
        fd
    }

    pub fn regular(&mut self) -> Vfd {
        self.ret(Step::RegularFile)
    }

    pub fn pipe(&mut self) -> (Vfd, Vfd) {
        match self.step(Step::Pipe) {
            StepResult::Fds(r, w) => (r, w),
            other => panic!("pipe gave {other:?}"),
        }
    }

    pub fn spawn(&mut self) -> TaskId {
        match self.step(Step::SpawnTask) {
            StepResult::Task(t) => t,
            other => panic!("spawn gave {other:?}"),
        }
    }

    /// Registers `fds` (-1 = sparse) on `ring` as task 0; panics on failure.
    pub fn register(&mut self, ring: Vfd, fds: &[i32]) {
        let r = self.ret(Step::RegisterFiles {
            task: T0,
            ring,
            fds: fds.to_vec(),
        });
        assert_eq!(r, 0, "register_files failed");
    }

    pub fn push(&mut self, ring: Vfd, sqe: Sqe) {
        assert_eq!(self.ret(Step::Push { ring, sqe }), 0, "SQ full");
    }

    /// Pushes `sqes` and submits them all with one enter by `task` (no GETEVENTS).
    pub fn submit_by(&mut self, task: TaskId, ring: Vfd, sqes: &[Sqe]) -> i32 {
        for s in sqes {
            self.push(ring, *s);
        }
        self.ret(Step::Enter {
            task,
            ring,
            to_submit: sqes.len() as u32,
            min_complete: 0,
            flags: 0,
        })
    }

    pub fn submit(&mut self, ring: Vfd, sqes: &[Sqe]) -> i32 {
        self.submit_by(T0, ring, sqes)
    }

    /// enter(0, min_complete, GETEVENTS) by `task`.
    pub fn getevents(&mut self, task: TaskId, ring: Vfd, min_complete: u32) -> i32 {
        self.ret(Step::Enter {
            task,
            ring,
            to_submit: 0,
            min_complete,
            flags: uapi::enter::GETEVENTS,
        })
    }

    /// Reaps every visible CQE.
    pub fn reap(&mut self, ring: Vfd) -> Vec<Cqe> {
        match self.step(Step::Reap {
            ring,
            max: u32::MAX,
        }) {
            StepResult::Reaped(c) => c,
            other => panic!("reap gave {other:?}"),
        }
    }

    /// Reaps and returns (user_data, res, flags) triples.
    pub fn reap_t(&mut self, ring: Vfd) -> Vec<(u64, i32, u32)> {
        self.reap(ring)
            .iter()
            .map(|c| (c.user_data, c.res, c.flags))
            .collect()
    }

    pub fn view(&mut self, ring: Vfd) -> RingView {
        match self.step(Step::Observe { ring }) {
            StepResult::Ring(v) => v,
            other => panic!("observe gave {other:?}"),
        }
    }

    pub fn slot(&mut self, ring: Vfd, slot: u32) -> Option<FileId> {
        match self.step(Step::QuerySlot { ring, slot }) {
            StepResult::Slot(f) => f,
            other => panic!("query gave {other:?}"),
        }
    }

    /// The file an fd names.
    pub fn file_of(&self, fd: Vfd) -> FileId {
        self.world.fd_file(fd).expect("open fd")
    }

    /// The reference count of a file.
    pub fn refs_of(&self, f: FileId) -> u32 {
        self.world.file(f).refs
    }

    /// The file in a ring's fixed slot (panics if empty).
    pub fn file_of_slot(&self, ring: Vfd, slot: u32) -> FileId {
        let r = self.world.ring_of_fd(ring).expect("a ring");
        self.world
            .ring(r)
            .table
            .get(slot)
            .expect("an occupied slot")
    }

    /// The reference count of the file `fd` names.
    pub fn refs(&self, fd: Vfd) -> u32 {
        self.world.file(self.file_of(fd)).refs
    }
}

/// `(user_data, res, flags)` shorthand.
pub fn c(user_data: u64, res: i32, flags: u32) -> (u64, i32, u32) {
    (user_data, res, flags)
}

/// A MSG_DATA SQE to `ring`: the target CQE is `{ud, result, flags 0}`.
pub fn data(ring: Vfd, result: i32, ud: u64) -> Sqe {
    MsgRingData {
        ring_fd: ring,
        result,
        user_data: ud,
        user_flags: None,
    }
    .build()
}

/// A SEND_FD SQE: the source's fixed slot `src` into `dst` of `ring`, target CQE `ud`.
pub fn send_fd(ring: Vfd, src: u32, dst: DestSlot, ud: u64) -> Sqe {
    MsgRingSendFd {
        ring_fd: ring,
        fixed_slot_src: src,
        dest_slot_index: dst,
        user_data: ud,
        skip_cqe: false,
    }
    .build()
}

/// Submits one SQE on `src` and returns its source CQE's result (reaping `src`);
/// asserts there is exactly one.
pub fn one(s: &mut Sim, src: Vfd, sqe: Sqe) -> i32 {
    s.submit(src, &[sqe.user_data(0xabc)]);
    let cqes = s.reap_t(src);
    let mine: Vec<_> = cqes.iter().filter(|c| c.0 == 0xabc).collect();
    assert_eq!(mine.len(), 1, "exactly one source CQE: {cqes:?}");
    mine[0].1
}

/// A `msgring check` finding kept in `real-backend/qemu/findings/DIR/`: the file whose
/// name starts with `seed1-trace{n}-`, and its source.
pub fn finding(dir: &str, n: u64) -> (std::path::PathBuf, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../real-backend/qemu/findings")
        .join(dir);
    let prefix = format!("seed1-trace{n}-");
    let file = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .unwrap_or_else(|| panic!("{}: no finding {n}", dir.display()));
    let src = std::fs::read_to_string(&file).expect("readable");
    (file, src)
}

/// Every `model-tests/traces/<dir>/*.trace` (`dir` "" for the golden traces
/// themselves), parsed, sorted by file name, each named `model-tests/traces/<dir>/<file>`.
pub fn traces_in(dir: &str) -> Vec<(String, msgring::trace::Trace)> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces");
    let path = root.join(dir);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            let name = format!("model-tests/traces/{rel}");
            let src = std::fs::read_to_string(&p).expect("readable trace");
            let t = msgring::trace::parse_file(&name, &src).unwrap_or_else(|e| panic!("{e}"));
            (name, t)
        })
        .collect()
}

pub mod protocols;

/// The number of cases a property test runs: `PROPTEST_CASES` from the environment if
/// set (e.g. low for mutation testing, docs/testing.md), else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
