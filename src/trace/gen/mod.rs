//! Generating meaningful traces: mostly valid steps on resources that exist, a small
//! share of hostile raw SQEs, swarm style (each trace turns some step kinds off and
//! skews the rest).
//!
//! The generator makes a [`Generated`] trace: names are small numbers ([`Name`]), not
//! strings, so the fuzz targets can generate and run a trace without formatting or
//! comparing a string ([`Generated::run_with`]); [`Generated::to_trace`] spells it out
//! as a [`Trace`] (what [`generate`] returns), the same trace step for step.

use super::{Dest, FdRef, ListItem, Op, SqeSpec, Trace, TraceStep};
use crate::uapi::{enter, msg, op, setup, sqe_flags};
use crate::{Backend, Faults, Sqe, Step, StepResult, TaskId, Vfd};
use std::fmt;

/// A source of choices: [`SplitMix`] for seeded generation, or (feature `arbitrary`)
/// the fuzzer's bytes.
pub trait Choices {
    /// A number in `0..n` (`n > 0`; returns 0 when `n == 0`).
    fn below(&mut self, n: u32) -> u32;
}

/// SplitMix64: a small, self-contained, deterministic PRNG.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Choices for SplitMix {
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % u64::from(n)) as u32
    }
}

/// A byte string as choices, read the way arbitrary 1.x's `Unstructured::int_in_range`
/// reads it (so a fuzz input means the same trace either way). Once the bytes run out,
/// `int_in_range` would answer the lower bound forever, and the generator can spin on a
/// step kind it cannot emit (e.g. `setup` with five rings already): the choices then go
/// on from a [`SplitMix`] seeded by a hash of the whole input (computed only then), so
/// every input decodes in bounded expected time, deterministically. Used by
/// `Trace::arbitrary` and the fuzz targets' decoder (`fuzzing::generated_steps`).
pub struct ByteChoices<'a> {
    input: &'a [u8],
    /// The bytes not used yet.
    data: &'a [u8],
    rest: Option<SplitMix>,
}

impl<'a> ByteChoices<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        ByteChoices {
            input,
            data: input,
            rest: None,
        }
    }

    /// `Unstructured::int_in_range(0..=delta)` of arbitrary 1.x, on the bytes:
    /// big-endian bytes, as many as `delta` needs (at most 4), modulo `delta + 1`; 0
    /// from no bytes.
    pub fn take(&mut self, delta: u32) -> u32 {
        if delta == 0 {
            return 0;
        }
        if delta < 0x100 {
            // One byte (the generator's choices are almost all below 256).
            return match self.data.split_first() {
                Some((&b, rest)) => {
                    self.data = rest;
                    u32::from(b) % (delta + 1)
                }
                None => 0,
            };
        }
        let mut x: u32 = 0;
        let mut used = 0;
        while used < 4 && (delta >> (used * 8)) > 0 {
            let Some((&b, rest)) = self.data.split_first() else {
                break;
            };
            self.data = rest;
            x = (x << 8) | u32::from(b);
            used += 1;
        }
        if delta == u32::MAX {
            x
        } else {
            x % (delta + 1)
        }
    }
}

impl Choices for ByteChoices<'_> {
    fn below(&mut self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        if !self.data.is_empty() {
            return self.take(n - 1);
        }
        let input = self.input;
        self.rest
            .get_or_insert_with(|| {
                SplitMix(input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
                }))
            })
            .below(n)
    }
}

/// A trace from the rest of the fuzzer's bytes ([`ByteChoices`]): up to 80 steps.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Trace {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Trace> {
        let mut c = ByteChoices::new(u.bytes(u.len())?);
        let steps = c.take(80) as usize; // int_in_range(0..=80) on the first byte
        Ok(generate(&mut c, steps))
    }
}

/// A deterministic trace of `steps` steps (plus a short prelude) for `seed`.
pub fn gen(seed: u64, steps: usize) -> Trace {
    generate(&mut SplitMix(seed), steps)
}

/// Generates a trace from any source of choices.
pub fn generate(c: &mut dyn Choices, steps: usize) -> Trace {
    generate_steps(c, steps).to_trace()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Setup,
    NewFile,
    Spawn,
    Exit,
    Register,
    Sparse,
    Update,
    AllocRange,
    Enable,
    Data,
    SendFd,
    Nop,
    Raw,
    Submit,
    GetEvents,
    Reap,
    Sync,
    Query,
    Observe,
    Close,
}

const KINDS: [Kind; 20] = [
    Kind::Setup,
    Kind::NewFile,
    Kind::Spawn,
    Kind::Exit,
    Kind::Register,
    Kind::Sparse,
    Kind::Update,
    Kind::AllocRange,
    Kind::Enable,
    Kind::Data,
    Kind::SendFd,
    Kind::Nop,
    Kind::Raw,
    Kind::Submit,
    Kind::GetEvents,
    Kind::Reap,
    Kind::Sync,
    Kind::Query,
    Kind::Observe,
    Kind::Close,
];

// ---- generated traces, names as numbers ----------------------------------------------

/// A name the generator made (`r3`, `f0`, `t1`): its kind and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name {
    kind: u8,
    n: u32,
}

const RING: u8 = 0;
const FILE: u8 = 1;
const TASK: u8 = 2;
/// The task every trace starts with.
const T0: Name = Name { kind: TASK, n: 0 };

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = ["r", "f", "t"][usize::from(self.kind)];
        write!(f, "{prefix}{}", self.n)
    }
}

/// A file descriptor operand of a generated step ([`FdRef`] with a [`Name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GFd {
    Name(Name),
    Vfd(Vfd),
}

impl GFd {
    fn to_ref(self) -> FdRef {
        match self {
            GFd::Name(n) => FdRef::Name(n.to_string()),
            GFd::Vfd(v) => FdRef::Vfd(v),
        }
    }
}

/// A `register_files`/`update_files` list of at most four items, stored inline.
#[derive(Clone, Copy, Debug)]
struct GList {
    len: u8,
    items: [Option<GFd>; 4],
}

impl GList {
    const EMPTY: GList = GList {
        len: 0,
        items: [None; 4],
    };
    /// Appends an item (`None` = `skip`).
    fn push(&mut self, item: Option<GFd>) {
        self.items[usize::from(self.len)] = item;
        self.len += 1;
    }
    fn items(&self) -> &[Option<GFd>] {
        &self.items[..usize::from(self.len)]
    }
}

/// The SQE of a generated push or sync_msg: `spec`'s fd operand (if it has one) is
/// replaced by the name `fd` when that is set.
#[derive(Clone, Debug)]
struct GSqe {
    spec: SqeSpec,
    fd: Option<Name>,
}

impl GSqe {
    fn to_spec(&self) -> SqeSpec {
        let mut spec = self.spec.clone();
        if let (Some(n), Some(f)) = (self.fd, spec.fd_operand_mut()) {
            *f = FdRef::Name(n.to_string());
        }
        spec
    }
}

/// [`Op`] with [`Name`]s: the steps the generator makes.
#[derive(Clone, Debug)]
enum GOp {
    Setup {
        ring: Name,
        by: Name,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    },
    Pipe {
        read: Name,
        write: Name,
    },
    Eventfd {
        file: Name,
    },
    File {
        file: Name,
    },
    Close {
        fd: Name,
    },
    Spawn {
        task: Name,
    },
    Exit {
        task: Name,
    },
    RegisterFiles {
        by: Name,
        ring: Name,
        files: GList,
    },
    RegisterSparse {
        by: Name,
        ring: Name,
        nr: u32,
    },
    UpdateFiles {
        by: Name,
        ring: Name,
        off: u32,
        files: GList,
    },
    AllocRange {
        by: Name,
        ring: Name,
        off: u32,
        len: u32,
    },
    Enable {
        by: Name,
        ring: Name,
    },
    Push {
        ring: Name,
        sqe: GSqe,
    },
    Enter {
        by: Name,
        ring: Name,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
    },
    Reap {
        ring: Name,
        max: u32,
    },
    SyncMsg {
        by: Name,
        sqe: GSqe,
    },
    Query {
        ring: Name,
        slot: u32,
    },
    Observe {
        ring: Name,
    },
}

impl GOp {
    fn to_op(&self) -> Op {
        let s = |n: &Name| n.to_string();
        let r = |n: &Name| FdRef::Name(n.to_string());
        match self {
            GOp::Setup {
                ring,
                by,
                entries,
                cq_entries,
                flags,
            } => Op::Setup {
                ring: s(ring),
                by: s(by),
                entries: *entries,
                cq_entries: *cq_entries,
                flags: *flags,
            },
            GOp::Pipe { read, write } => Op::Pipe {
                read: s(read),
                write: s(write),
            },
            GOp::Eventfd { file } => Op::Eventfd { file: s(file) },
            GOp::File { file } => Op::File { file: s(file) },
            GOp::Close { fd } => Op::Close { fd: r(fd) },
            GOp::Spawn { task } => Op::Spawn { task: s(task) },
            GOp::Exit { task } => Op::Exit { task: s(task) },
            GOp::RegisterFiles { by, ring, files } => Op::RegisterFiles {
                by: s(by),
                ring: r(ring),
                files: files
                    .items()
                    .iter()
                    .map(|f| f.map_or(FdRef::Vfd(-1), GFd::to_ref))
                    .collect(),
            },
            GOp::RegisterSparse { by, ring, nr } => Op::RegisterSparse {
                by: s(by),
                ring: r(ring),
                nr: *nr,
            },
            GOp::UpdateFiles {
                by,
                ring,
                off,
                files,
            } => Op::UpdateFiles {
                by: s(by),
                ring: r(ring),
                off: *off,
                files: files
                    .items()
                    .iter()
                    .map(|f| f.map_or(ListItem::Skip, |f| ListItem::Fd(f.to_ref())))
                    .collect(),
            },
            GOp::AllocRange { by, ring, off, len } => Op::AllocRange {
                by: s(by),
                ring: r(ring),
                off: *off,
                len: *len,
            },
            GOp::Enable { by, ring } => Op::Enable {
                by: s(by),
                ring: r(ring),
            },
            GOp::Push { ring, sqe } => Op::Push {
                ring: r(ring),
                sqe: sqe.to_spec(),
            },
            GOp::Enter {
                by,
                ring,
                to_submit,
                min_complete,
                flags,
            } => Op::Enter {
                by: s(by),
                ring: r(ring),
                to_submit: *to_submit,
                min_complete: *min_complete,
                flags: *flags,
            },
            GOp::Reap { ring, max } => Op::Reap {
                ring: r(ring),
                max: *max,
            },
            GOp::SyncMsg { by, sqe } => Op::SyncMsg {
                by: s(by),
                sqe: sqe.to_spec(),
            },
            GOp::Query { ring, slot } => Op::Query {
                ring: r(ring),
                slot: *slot,
            },
            GOp::Observe { ring } => Op::Observe { ring: r(ring) },
        }
    }
}

#[derive(Clone, Debug)]
struct GStep {
    op: GOp,
    faults: Faults,
}

/// A generated trace with its names as numbers: runs on a backend like the [`Trace`]
/// it stands for ([`Generated::to_trace`]) without building one.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    steps: Vec<GStep>,
}

/// The names bound so far while a [`Generated`] trace runs, by kind and number.
#[derive(Default)]
struct Bound {
    rings: Vec<Option<Vfd>>,
    files: Vec<Option<Vfd>>,
    tasks: Vec<Option<TaskId>>,
}

fn slot<T: Copy>(v: &[Option<T>], n: u32) -> Option<T> {
    v.get(n as usize).copied().flatten()
}

fn bind<T>(v: &mut Vec<Option<T>>, n: u32, x: T) {
    let i = n as usize;
    if v.len() <= i {
        v.resize_with(i + 1, || None);
    }
    v[i] = Some(x);
}

impl Bound {
    fn fd(&self, n: Name) -> Option<Vfd> {
        match n.kind {
            RING => slot(&self.rings, n.n),
            FILE => slot(&self.files, n.n),
            _ => None,
        }
    }
    fn gfd(&self, f: GFd) -> Option<Vfd> {
        match f {
            GFd::Name(n) => self.fd(n),
            GFd::Vfd(v) => Some(v),
        }
    }
    fn task(&self, n: Name) -> Option<TaskId> {
        if n.kind == TASK {
            slot(&self.tasks, n.n)
        } else {
            None
        }
    }
    fn bind_fd(&mut self, n: Name, fd: Vfd) {
        match n.kind {
            RING => bind(&mut self.rings, n.n, fd),
            FILE => bind(&mut self.files, n.n, fd),
            _ => {}
        }
    }
    fn list(&self, l: &GList, skip: Vfd) -> Option<Vec<Vfd>> {
        l.items()
            .iter()
            .map(|f| f.map_or(Some(skip), |f| self.gfd(f)))
            .collect()
    }
    fn sqe(&self, s: &GSqe) -> Option<Sqe> {
        let fd = match (s.fd, s.spec.fd_operand()) {
            (Some(n), _) => self.fd(n)?,
            (None, Some(FdRef::Vfd(v))) => *v,
            (None, _) => 0,
        };
        Some(s.spec.build(fd))
    }

    /// The model step for `op`, or `None` if it names an unbound resource; the same
    /// step the trace runner makes of [`GOp::to_op`].
    fn step(&self, op: &GOp) -> Option<Step> {
        Some(match op {
            GOp::Setup {
                by,
                entries,
                cq_entries,
                flags,
                ..
            } => Step::Setup {
                task: self.task(*by)?,
                entries: *entries,
                cq_entries: *cq_entries,
                flags: *flags,
            },
            GOp::Pipe { .. } => Step::Pipe,
            GOp::Eventfd { .. } => Step::Eventfd,
            GOp::File { .. } => Step::RegularFile,
            GOp::Close { fd } => Step::Close { fd: self.fd(*fd)? },
            GOp::Spawn { .. } => Step::SpawnTask,
            GOp::Exit { task } => Step::ExitTask {
                task: self.task(*task)?,
            },
            GOp::RegisterFiles { by, ring, files } => Step::RegisterFiles {
                task: self.task(*by)?,
                ring: self.fd(*ring)?,
                fds: self.list(files, -1)?,
            },
            GOp::RegisterSparse { by, ring, nr } => Step::RegisterFilesSparse {
                task: self.task(*by)?,
                ring: self.fd(*ring)?,
                nr: *nr,
            },
            GOp::UpdateFiles {
                by,
                ring,
                off,
                files,
            } => Step::UpdateFiles {
                task: self.task(*by)?,
                ring: self.fd(*ring)?,
                offset: *off,
                fds: self.list(files, crate::uapi::REGISTER_FILES_SKIP)?,
            },
            GOp::AllocRange { by, ring, off, len } => Step::FileAllocRange {
                task: self.task(*by)?,
                ring: self.fd(*ring)?,
                off: *off,
                len: *len,
            },
            GOp::Enable { by, ring } => Step::EnableRings {
                task: self.task(*by)?,
                ring: self.fd(*ring)?,
            },
            GOp::Push { ring, sqe } => Step::Push {
                ring: self.fd(*ring)?,
                sqe: self.sqe(sqe)?,
            },
            GOp::Enter {
                by,
                ring,
                to_submit,
                min_complete,
                flags,
            } => Step::Enter {
                task: self.task(*by)?,
                ring: self.fd(*ring)?,
                to_submit: *to_submit,
                min_complete: *min_complete,
                flags: *flags,
            },
            GOp::Reap { ring, max } => Step::Reap {
                ring: self.fd(*ring)?,
                max: *max,
            },
            GOp::SyncMsg { by, sqe } => Step::SyncMsg {
                task: self.task(*by)?,
                sqe: self.sqe(sqe)?,
            },
            GOp::Query { ring, slot } => Step::QuerySlot {
                ring: self.fd(*ring)?,
                slot: *slot,
            },
            GOp::Observe { ring } => Step::Observe {
                ring: self.fd(*ring)?,
            },
        })
    }

    /// Binds the names a creating step made, as the trace runner does.
    fn result(&mut self, op: &GOp, res: &StepResult) {
        match (op, res) {
            (
                GOp::Setup { ring: name, .. }
                | GOp::Eventfd { file: name }
                | GOp::File { file: name },
                StepResult::Ret(fd),
            ) if *fd >= 0 => self.bind_fd(*name, *fd),
            (GOp::Pipe { read, write }, StepResult::Fds(r, w)) => {
                self.bind_fd(*read, *r);
                self.bind_fd(*write, *w);
            }
            (GOp::Spawn { task }, StepResult::Task(t)) if task.kind == TASK => {
                bind(&mut self.tasks, task.n, *t)
            }
            _ => {}
        }
    }
}

impl Generated {
    /// The number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Keeps the first `n` steps.
    pub fn truncate(&mut self, n: usize) {
        self.steps.truncate(n);
    }

    /// The trace, names spelled out: runs exactly as [`Generated::run_with`] does.
    pub fn to_trace(&self) -> Trace {
        Trace {
            profile: None,
            steps: self
                .steps
                .iter()
                .map(|s| TraceStep {
                    faults: s.faults,
                    ..TraceStep::new(s.op.to_op())
                })
                .collect(),
            ..Trace::default()
        }
    }

    /// Runs every step on `backend`, as [`super::run_with`] runs [`Generated::to_trace`]:
    /// the same steps go to the backend, a step that names an unbound resource is
    /// skipped; `each(step_index, step, result)` sees every executed step. Records no
    /// events.
    pub fn run_with(
        &self,
        backend: &mut dyn Backend,
        mut each: impl FnMut(usize, &Step, &StepResult),
    ) {
        let mut b = Bound::default();
        b.tasks.push(Some(TaskId(0)));
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(step) = b.step(&s.op) {
                let res = backend.apply_step(&step, s.faults);
                each(i, &step, &res);
                match res {
                    StepResult::Refused(_) | StepResult::Unmodelled(_) => {}
                    res => b.result(&s.op, &res),
                }
            }
        }
    }
}

// ---- the generator --------------------------------------------------------------------

struct GRing {
    name: Name,
    flags: u32,
    owner: Name,
    disabled: bool,
    nr: u32,
    sq: u32,
    pending: u32,
}

struct G<'c, C: Choices + ?Sized> {
    c: &'c mut C,
    weights: [u32; KINDS.len()],
    /// `cumulative[k]`: the sum of the weights of kinds `0..=k`.
    cumulative: [u32; KINDS.len()],
    rings: Vec<GRing>,
    files: Vec<Name>,
    tasks: Vec<Name>,
    next: [u32; 3],
    steps: Vec<GStep>,
}

/// Generates a trace from any source of choices, names as numbers: `steps` steps
/// after a 5-step prelude (at most `limits::MAX_STEPS - 8`).
pub fn generate_steps<C: Choices + ?Sized>(c: &mut C, steps: usize) -> Generated {
    let steps = steps.min(super::limits::MAX_STEPS - 8);
    let mut g = G {
        c,
        weights: [0; KINDS.len()],
        cumulative: [0; KINDS.len()],
        rings: Vec::new(),
        files: Vec::new(),
        tasks: vec![T0],
        next: [0, 0, 1],
        steps: Vec::with_capacity(steps + 6),
    };
    // Swarm: each kind is off with probability 1/4, otherwise weighted 1..=8. The
    // MSG_RING kinds are never off and weigh more.
    for (i, k) in KINDS.into_iter().enumerate() {
        let w = if g.c.below(4) == 0 {
            0
        } else {
            1 + g.c.below(8)
        };
        g.weights[i] = match k {
            Kind::Data | Kind::SendFd => w.max(1) * 2,
            Kind::Submit | Kind::Reap | Kind::GetEvents => w.max(1),
            Kind::Raw | Kind::Exit | Kind::Close => w / 3,
            _ => w,
        };
    }
    // Prelude: two rings, a file registered on the first, a sparse table on the second.
    g.setup();
    g.setup();
    g.new_file();
    g.register();
    g.sparse_on(1);
    let mut total = 0;
    for (c, w) in g.cumulative.iter_mut().zip(g.weights) {
        total += w;
        *c = total;
    }
    while g.steps.len() < steps + 5 {
        g.one(total);
    }
    Generated { steps: g.steps }
}

impl<C: Choices + ?Sized> G<'_, C> {
    fn chance(&mut self, n: u32) -> bool {
        self.c.below(n) == 0
    }
    fn name(&mut self, kind: u8) -> Name {
        let n = self.next[usize::from(kind)];
        self.next[usize::from(kind)] += 1;
        Name { kind, n }
    }
    fn push(&mut self, op: GOp) {
        self.steps.push(GStep {
            op,
            faults: Faults::default(),
        });
    }
    fn ring_idx(&mut self) -> Option<usize> {
        if self.rings.is_empty() {
            return None;
        }
        Some(self.c.below(self.rings.len() as u32) as usize)
    }
    /// A task, any of them (`t0` if there were none).
    fn any_task(&mut self) -> Name {
        if self.tasks.is_empty() {
            return T0;
        }
        self.tasks[self.c.below(self.tasks.len() as u32) as usize]
    }
    /// A file (there must be one).
    fn any_file(&mut self) -> Name {
        self.files[self.c.below(self.files.len() as u32) as usize]
    }
    /// The task that may act on ring `i`: its owner, now and then another task.
    fn actor(&mut self, i: usize) -> Name {
        if self.chance(12) {
            return self.any_task();
        }
        let o = self.rings[i].owner;
        if self.tasks.contains(&o) {
            o
        } else {
            T0
        }
    }

    fn one(&mut self, total: u32) {
        // The kind whose weight interval holds `x`: the first with `x < cumulative`.
        let x = self.c.below(total.max(1));
        let kind = KINDS
            .get(self.cumulative.partition_point(|&c| c <= x))
            .copied()
            .unwrap_or(Kind::Data);
        match kind {
            Kind::Setup if self.rings.len() < 5 => self.setup(),
            Kind::NewFile if self.files.len() < 6 => self.new_file(),
            Kind::Spawn if self.tasks.len() < 4 => {
                let task = self.name(TASK);
                self.tasks.push(task);
                self.push(GOp::Spawn { task });
            }
            Kind::Exit if self.tasks.len() > 1 => {
                let task = self
                    .tasks
                    .remove(1 + self.c.below(self.tasks.len() as u32 - 1) as usize);
                self.push(GOp::Exit { task });
            }
            Kind::Register => self.register(),
            Kind::Sparse => {
                if let Some(i) = self.ring_idx() {
                    self.sparse_on(i);
                }
            }
            Kind::Update => self.update(),
            Kind::AllocRange => {
                if let Some(i) = self.ring_idx() {
                    let nr = self.rings[i].nr.max(1);
                    let off = self.c.below(nr);
                    let extra = u32::from(self.chance(8));
                    let len = self.c.below(nr - off + 1 + extra);
                    let by = self.actor(i);
                    let ring = self.rings[i].name;
                    self.push(GOp::AllocRange { by, ring, off, len });
                }
            }
            Kind::Enable => {
                if let Some(i) = self.rings.iter().position(|r| r.disabled) {
                    let by = self.any_task();
                    let r = &mut self.rings[i];
                    r.disabled = false;
                    r.owner = by;
                    let ring = r.name;
                    self.push(GOp::Enable { by, ring });
                }
            }
            Kind::Data | Kind::SendFd | Kind::Nop | Kind::Raw => self.push_sqe(kind),
            Kind::Submit => self.submit(),
            Kind::GetEvents => self.getevents(),
            Kind::Reap => {
                if let Some(i) = self.ring_idx() {
                    let max = if self.chance(3) {
                        1 + self.c.below(4)
                    } else {
                        u32::MAX
                    };
                    let ring = self.rings[i].name;
                    self.push(GOp::Reap { ring, max });
                }
            }
            Kind::Sync => {
                if let Some(mut sqe) = self.sqe(Kind::Data) {
                    if let SqeSpec::MsgData {
                        sqe_user_data,
                        flags,
                        ..
                    } = &mut sqe.spec
                    {
                        *sqe_user_data = 0;
                        *flags = 0;
                    }
                    let by = self.any_task();
                    self.push(GOp::SyncMsg { by, sqe });
                }
            }
            Kind::Query => {
                if let Some(i) = self.ring_idx() {
                    let slot = self.c.below(self.rings[i].nr + 1);
                    let ring = self.rings[i].name;
                    self.push(GOp::Query { ring, slot });
                }
            }
            Kind::Observe => {
                if let Some(i) = self.ring_idx() {
                    let ring = self.rings[i].name;
                    self.push(GOp::Observe { ring });
                }
            }
            Kind::Close if !self.files.is_empty() => {
                let i = self.c.below(self.files.len() as u32) as usize;
                let fd = self.files.remove(i);
                self.push(GOp::Close { fd });
            }
            _ => self.push_sqe(Kind::Data),
        }
    }

    fn setup(&mut self) {
        let ring = self.name(RING);
        let mut by = T0;
        let mut flags = match self.c.below(10) {
            0..=2 => 0,
            3 | 4 => setup::DEFER_TASKRUN | setup::SINGLE_ISSUER | setup::TASKRUN_FLAG,
            5 => setup::DEFER_TASKRUN | setup::SINGLE_ISSUER,
            6 => setup::IOPOLL,
            7 => setup::COOP_TASKRUN | setup::TASKRUN_FLAG,
            8 => setup::SINGLE_ISSUER,
            _ => setup::R_DISABLED,
        };
        if flags & setup::SINGLE_ISSUER != 0 && self.tasks.len() > 1 && !self.chance(3) {
            let i = 1 + self.c.below(self.tasks.len() as u32 - 1) as usize;
            by = self.tasks.get(i).copied().unwrap_or(T0);
        }
        if flags == setup::R_DISABLED && self.chance(2) {
            flags |= setup::DEFER_TASKRUN | setup::SINGLE_ISSUER;
        }
        let entries = 1 + self.c.below(8);
        let mut cq_entries = 0;
        if self.chance(2) {
            flags |= setup::CQSIZE;
            // Tiny CQs force overflow; now and then an invalid size (C1).
            cq_entries = if self.chance(16) {
                self.c.below(entries)
            } else {
                entries + self.c.below(3)
            };
        }
        let sq = entries.next_power_of_two();
        let valid = flags & setup::CQSIZE == 0 || cq_entries >= entries.max(1);
        self.push(GOp::Setup {
            ring,
            by,
            entries,
            cq_entries,
            flags,
        });
        if valid {
            self.rings.push(GRing {
                name: ring,
                flags,
                owner: by,
                disabled: flags & setup::R_DISABLED != 0,
                nr: 0,
                sq,
                pending: 0,
            });
        }
    }

    fn new_file(&mut self) {
        match self.c.below(4) {
            0 => {
                let (read, write) = (self.name(FILE), self.name(FILE));
                self.files.push(read);
                self.files.push(write);
                self.push(GOp::Pipe { read, write });
            }
            1 => {
                let file = self.name(FILE);
                self.files.push(file);
                self.push(GOp::Eventfd { file });
            }
            _ => {
                let file = self.name(FILE);
                self.files.push(file);
                self.push(GOp::File { file });
            }
        }
    }

    fn file_item(&mut self) -> GFd {
        if self.files.is_empty() || self.chance(4) {
            GFd::Vfd(-1)
        } else {
            GFd::Name(self.any_file())
        }
    }

    fn register(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let n = 1 + self.c.below(4);
        let mut files = GList::EMPTY;
        for _ in 0..n {
            let f = self.file_item();
            files.push(Some(f));
        }
        let by = self.actor(i);
        let r = &mut self.rings[i];
        if r.nr == 0 {
            r.nr = n;
        }
        let ring = r.name;
        self.push(GOp::RegisterFiles { by, ring, files });
    }

    fn sparse_on(&mut self, i: usize) {
        let Some(r) = self.rings.get(i) else { return };
        let ring = r.name;
        let nr = 1 + self.c.below(6);
        let by = self.actor(i);
        if self.rings[i].nr == 0 {
            self.rings[i].nr = nr;
        }
        self.push(GOp::RegisterSparse { by, ring, nr });
    }

    fn update(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let off = self.c.below(self.rings[i].nr.max(1) + 1);
        let n = 1 + self.c.below(3);
        let mut files = GList::EMPTY;
        for _ in 0..n {
            let item = if self.chance(5) {
                None
            } else {
                Some(self.file_item())
            };
            files.push(item);
        }
        let by = self.actor(i);
        let ring = self.rings[i].name;
        self.push(GOp::UpdateFiles {
            by,
            ring,
            off,
            files,
        });
    }

    fn sqe_flags(&mut self) -> u8 {
        match self.c.below(16) {
            0 => sqe_flags::IO_LINK,
            1 => sqe_flags::IO_HARDLINK,
            2 => sqe_flags::CQE_SKIP_SUCCESS,
            3 => sqe_flags::ASYNC,
            4 => sqe_flags::IO_DRAIN,
            5 => sqe_flags::IO_LINK | sqe_flags::CQE_SKIP_SUCCESS,
            _ => 0,
        }
    }

    /// An SQE of `kind` whose target is a ring picked here; `fd` operands are names.
    fn sqe(&mut self, kind: Kind) -> Option<GSqe> {
        let t = self.ring_idx()?;
        let target = self.rings[t].name;
        // The fd operand until it is resolved: `GSqe::fd` names it.
        let named = FdRef::Vfd(-1);
        let ud = u64::from(self.c.below(0x100));
        let sqe_ud = 0x1000 + u64::from(self.c.below(0x100));
        let flags = self.sqe_flags();
        Some(match kind {
            Kind::Nop => GSqe {
                spec: SqeSpec::Nop {
                    user_data: sqe_ud,
                    flags,
                },
                fd: None,
            },
            Kind::Data => GSqe {
                spec: SqeSpec::MsgData {
                    ring_fd: named,
                    result: self.c.below(100) as i32,
                    user_data: ud,
                    user_flags: self.chance(4).then(|| self.c.below(0x10) << 16),
                    sqe_user_data: sqe_ud,
                    flags,
                },
                fd: Some(target),
            },
            Kind::SendFd => {
                let nr = self.rings[t].nr;
                GSqe {
                    spec: SqeSpec::SendFd {
                        ring_fd: named,
                        fixed_slot_src: self.c.below(4),
                        dest_slot_index: if self.chance(2) {
                            Dest::Alloc
                        } else {
                            Dest::Index(self.c.below(nr + 1))
                        },
                        user_data: ud,
                        skip_cqe: self.chance(6),
                        sqe_user_data: sqe_ud,
                        flags,
                    },
                    fd: Some(target),
                }
            }
            _ => {
                let mut s = Sqe {
                    opcode: op::MSG_RING,
                    addr: u64::from(self.c.below(2)),
                    off: ud,
                    user_data: sqe_ud,
                    ..Sqe::default()
                };
                match self.c.below(12) {
                    0 => s.ioprio = 1,
                    1 => s.buf_index = 1,
                    2 => s.personality = 1,
                    3 => s.addr = 2 + u64::from(self.c.below(3)),
                    4 => s.addr |= 1 << 32,
                    5 => s.msg_ring_flags = 1 << (2 + self.c.below(4)),
                    6 => s.msg_ring_flags = msg::CQE_SKIP,
                    7 => s.file_index = 1 + self.c.below(4),
                    8 => s.addr3 = 1 + u64::from(self.c.below(3)),
                    9 => s.len = 1 + self.c.below(5),
                    10 => s.flags = sqe_flags::BUFFER_SELECT | (self.c.below(2) as u8),
                    _ => s.pad2 = 1,
                }
                let (fd, name) = match self.c.below(4) {
                    0 => (FdRef::Vfd(self.c.below(24) as i32 - 1), None),
                    1 if !self.files.is_empty() => (named, Some(self.any_file())),
                    _ => (named, Some(target)),
                };
                GSqe {
                    spec: SqeSpec::Raw { fd, sqe: s },
                    fd: name,
                }
            }
        })
    }

    fn push_sqe(&mut self, kind: Kind) {
        let Some(src) = self.ring_idx() else {
            return self.setup();
        };
        let Some(sqe) = self.sqe(kind) else { return };
        let r = &mut self.rings[src];
        r.pending += 1;
        let ring = r.name;
        let full = r.pending >= r.sq;
        self.push(GOp::Push { ring, sqe });
        if full || self.chance(3) {
            self.submit_ring(src);
        }
    }

    fn submit(&mut self) {
        if let Some(i) = self.ring_idx() {
            self.submit_ring(i);
        }
    }

    fn submit_ring(&mut self, i: usize) {
        let by = self.actor(i);
        let r = &mut self.rings[i];
        let to_submit = r.pending.max(1);
        r.pending = 0;
        let ring = r.name;
        let wait = r.flags & setup::DEFER_TASKRUN != 0 || self.c.below(4) == 0;
        self.push(GOp::Enter {
            by,
            ring,
            to_submit,
            min_complete: 0,
            flags: if wait { enter::GETEVENTS } else { 0 },
        });
        self.fault_last();
    }

    fn getevents(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let by = self.actor(i);
        let min_complete = if self.chance(3) { self.c.below(3) } else { 0 };
        let ring = self.rings[i].name;
        self.push(GOp::Enter {
            by,
            ring,
            to_submit: 0,
            min_complete,
            flags: enter::GETEVENTS,
        });
        self.fault_last();
    }

    fn fault_last(&mut self) {
        if self.chance(16) {
            let f = if self.chance(2) {
                Faults {
                    overflow_alloc_fails: 1 + self.c.below(2),
                    nomem: 0,
                }
            } else {
                Faults {
                    overflow_alloc_fails: 0,
                    nomem: 1,
                }
            };
            if let Some(s) = self.steps.last_mut() {
                s.faults = f;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::World;

    /// A step naming a resource whose creation failed is skipped by both runners.
    #[test]
    fn unbound_names_skip_the_step() {
        let r0 = Name { kind: RING, n: 0 };
        let r1 = Name { kind: RING, n: 1 };
        let setup = |ring, entries| GStep {
            op: GOp::Setup {
                ring,
                by: T0,
                entries,
                cq_entries: 0,
                flags: 0,
            },
            faults: Faults::default(),
        };
        let observe = |ring| GStep {
            op: GOp::Observe { ring },
            faults: Faults::default(),
        };
        let g = Generated {
            steps: vec![setup(r0, 0), setup(r1, 2), observe(r0), observe(r1)],
        };
        let mut ran = Vec::new();
        g.run_with(&mut World::default(), |i, s, _| ran.push((i, s.clone())));
        let mut want = Vec::new();
        super::super::run_with(&g.to_trace(), &mut World::default(), |i, s, _| {
            want.push((i, s.clone()))
        });
        assert_eq!(ran, want);
        assert_eq!(ran.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 3]);
    }

    /// Choices that give up (panic) after `left` calls, so that a generator that would
    /// spin fails the test instead of hanging it.
    struct Capped<'c, C: Choices + ?Sized> {
        inner: &'c mut C,
        left: u32,
    }

    impl<C: Choices + ?Sized> Choices for Capped<'_, C> {
        fn below(&mut self, n: u32) -> u32 {
            assert!(
                self.left > 0,
                "the generator spins: 1 000 000 choices and no trace"
            );
            self.left -= 1;
            self.inner.below(n)
        }
    }

    /// Short fuzz inputs run out of bytes at once; every later choice would be 0. The
    /// generator must still finish (it used to pick the same kind forever once that kind
    /// had nothing to emit) with at least the number of steps it was asked for.
    #[test]
    fn arbitrary_trace_finishes_when_the_bytes_run_out() {
        let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![80, b]).collect();
        inputs.extend((0..=255u8).map(|b| vec![b]));
        inputs.extend((0..=255u8).map(|b| vec![80, b, b, 0, 0, 0, 1]));
        inputs.push(Vec::new());
        for data in &inputs {
            let mut bytes = ByteChoices::new(data);
            let steps = bytes.take(80) as usize;
            let mut c = Capped {
                inner: &mut bytes,
                left: 1_000_000,
            };
            let t = generate(&mut c, steps);
            assert!(t.steps.len() >= steps + 5, "input {data:?}");
            // The same bytes give the same trace through `Trace::arbitrary`.
            #[cfg(feature = "arbitrary")]
            {
                let again = <Trace as arbitrary::Arbitrary>::arbitrary(
                    &mut arbitrary::Unstructured::new(data),
                )
                .expect("arbitrary trace");
                assert_eq!(again.to_string(), t.to_string(), "input {data:?}");
            }
        }
    }
}
