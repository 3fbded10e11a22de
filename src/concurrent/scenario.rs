//! Scenarios: rings, one program per owner thread, and the refinement check against the
//! sequential [`World`].

use super::cq::SharedCq;
use super::kernel::{KRing, Kernel, Locked, TaskTw, Tw};
use super::Mutation;
use crate::sqe::{DestSlot, MsgRingData, MsgRingSendFd, Nop, Sqe, Vfd};
use crate::state::{Cqe, FileId, RingId, TaskId, Work};
use crate::step::{Step, StepResult};
use crate::sync::{thread, Arc, AtomicU32, Condvar, Mutex};
use crate::uapi::{enter, setup, sqe_flags};
use crate::World;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// How a ring is set up. Every ring is owned by the thread that runs its program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSpec {
    /// `IORING_SETUP_*` flags (plain, IOPOLL, or SINGLE_ISSUER|DEFER_TASKRUN).
    pub flags: u32,
    /// CQ entries (a power of two; the SQ gets 1 entry, so 1 is allowed).
    pub cq_entries: u32,
    /// Regular files registered at fixed slots `0..files`.
    pub files: u32,
    /// Empty fixed slots after them.
    pub sparse: u32,
}

impl RingSpec {
    /// A ring with no setup flags and a CQ of 4.
    pub fn plain() -> RingSpec {
        RingSpec {
            flags: 0,
            cq_entries: 4,
            files: 0,
            sparse: 0,
        }
    }
    /// `IORING_SETUP_IOPOLL` (a `lockless_cq` ring: posting needs its `uring_lock`).
    pub fn iopoll() -> RingSpec {
        RingSpec {
            flags: setup::IOPOLL,
            ..RingSpec::plain()
        }
    }
    /// `SINGLE_ISSUER | DEFER_TASKRUN`: messages wait on the local work list until the
    /// owner calls GETEVENTS.
    pub fn defer_taskrun() -> RingSpec {
        RingSpec {
            flags: setup::SINGLE_ISSUER | setup::DEFER_TASKRUN,
            ..RingSpec::plain()
        }
    }
    /// Sets the CQ size.
    pub fn cq(mut self, entries: u32) -> RingSpec {
        self.cq_entries = entries;
        self
    }
    /// Registers `files` regular files and `sparse` empty slots.
    pub fn files(mut self, files: u32, sparse: u32) -> RingSpec {
        self.files = files;
        self.sparse = sparse;
        self
    }
}

/// One operation of an owner thread's program. Messages name rings by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Submit `IORING_MSG_DATA` to ring `to` (`res` is the target CQE's res).
    Data {
        to: usize,
        res: i32,
        flags: Option<u32>,
        asynchronous: bool,
    },
    /// Submit `IORING_MSG_SEND_FD` of fixed slot `src_slot` to ring `to`.
    SendFd {
        to: usize,
        src_slot: u32,
        dst: DestSlot,
        skip_cqe: bool,
        asynchronous: bool,
    },
    /// Submit a NOP (the owner posting its own completion).
    Nop,
    /// Userspace reads every visible CQE of the thread's ring.
    Reap,
    /// `io_uring_enter(0, min_complete, GETEVENTS)`: blocks until `min_complete` CQEs
    /// are visible (loom reports a deadlock if nothing ever satisfies it).
    Wait { min_complete: u32 },
    /// The owner thread exits (must be last).
    Exit,
}

impl Op {
    /// Inline MSG_DATA to `to` with target res `res`.
    pub fn data(to: usize, res: i32) -> Op {
        Op::Data {
            to,
            res,
            flags: None,
            asynchronous: false,
        }
    }
    /// MSG_SEND_FD of slot `src_slot` to `to`'s slot `dst`.
    pub fn send_fd(to: usize, src_slot: u32, dst: DestSlot) -> Op {
        Op::SendFd {
            to,
            src_slot,
            dst,
            skip_cqe: false,
            asynchronous: false,
        }
    }
    /// The same message with IOSQE_ASYNC (issued from io-wq).
    pub fn asynchronous(self) -> Op {
        match self {
            Op::Data { to, res, flags, .. } => Op::Data {
                to,
                res,
                flags,
                asynchronous: true,
            },
            Op::SendFd {
                to,
                src_slot,
                dst,
                skip_cqe,
                ..
            } => Op::SendFd {
                to,
                src_slot,
                dst,
                skip_cqe,
                asynchronous: true,
            },
            other => other,
        }
    }
    fn target(&self) -> Option<usize> {
        match *self {
            Op::Data { to, .. } | Op::SendFd { to, .. } => Some(to),
            _ => None,
        }
    }
}

/// Per thread, the return values so far (of a sequential run).
type Rets = Vec<Vec<i32>>;
/// Per ring, the CQEs reaped so far (of a sequential run).
type Reaped = Vec<Vec<Cqe>>;

/// Which ordered stream a CQE belongs to. CQEs of one stream must appear on a ring in
/// the order the sequential model gives; different streams may interleave freely.
///
/// Inline MSG_DATA to a plain or DEFER_TASKRUN target is FIFO per sender (the stream is
/// the sender's thread). Anything that may reach io-wq (IOSQE_ASYNC, a SEND_FD or an
/// IOPOLL target whose trylock can fail, R22) or completes through task_work (SEND_FD to
/// a DEFER_TASKRUN target, R24) may be overtaken in a real kernel, so it is a stream of
/// its own.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Stream(pub u32);

/// A CQE the checker cannot attribute to any operation (torn or garbage).
pub const GARBAGE: Stream = Stream(u32::MAX);

/// What one run shows. Equal outcomes are indistinguishable to the user.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Outcome {
    /// Per thread, per op: the system call's return value (submit: 1; wait: 0/-errno;
    /// reap and exit: 0).
    pub rets: Vec<Vec<i32>>,
    /// Per ring: every CQE userspace reaped, then what was left in the CQ and on the
    /// overflow list at the end, split by stream.
    pub delivered: Vec<BTreeMap<Stream, Vec<Cqe>>>,
    /// Per ring: CQEs still on the DEFER_TASKRUN local work list, split by stream.
    pub pending: Vec<BTreeMap<Stream, Vec<Cqe>>>,
    /// Per ring: the fixed-file table at the end.
    pub tables: Vec<Vec<(u32, FileId)>>,
    /// `f_count` of every file at the end.
    pub refs: Vec<u32>,
}

/// A concurrent scenario: rings, per-thread programs, and (for tests of the checker
/// itself) a [`Mutation`].
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    rings: Vec<RingSpec>,
    programs: Vec<Vec<Op>>,
    mutation: Mutation,
}

/// `user_data` of op `k` of thread `t`: the source CQE's; the target CQE's is `+ 1`.
pub fn src_user_data(t: usize, k: usize) -> u64 {
    0x1000 * (t as u64 + 1) + 2 * k as u64
}

impl Scenario {
    pub fn new() -> Scenario {
        Scenario::default()
    }

    /// Adds a ring (owned by a new thread) and returns its index.
    pub fn ring(&mut self, spec: RingSpec) -> usize {
        self.rings.push(spec);
        self.programs.push(Vec::new());
        self.rings.len() - 1
    }

    /// Sets the program the owner of `ring` runs.
    pub fn program(&mut self, ring: usize, ops: Vec<Op>) -> &mut Scenario {
        self.programs[ring] = ops;
        self
    }

    #[doc(hidden)]
    pub fn with_mutation(mut self, m: Mutation) -> Scenario {
        self.mutation = m;
        self
    }

    /// The rings' specs.
    pub fn rings(&self) -> &[RingSpec] {
        &self.rings
    }

    fn stream(&self, t: usize, k: usize) -> Stream {
        match self.programs[t][k] {
            Op::Data {
                to,
                asynchronous: false,
                ..
            } if self.rings[to].flags & setup::IOPOLL == 0 => Stream(t as u32),
            _ => Stream(1000 + 100 * t as u32 + k as u32),
        }
    }

    fn streams(&self) -> HashMap<u64, Stream> {
        let mut m = HashMap::new();
        for (t, prog) in self.programs.iter().enumerate() {
            for k in 0..prog.len() {
                let s = self.stream(t, k);
                m.insert(src_user_data(t, k), s);
                m.insert(src_user_data(t, k) + 1, s);
            }
        }
        m
    }

    /// The sequential world after setup, and each ring's fd.
    pub fn world(&self) -> (World, Vec<Vfd>) {
        let mut w = World::default();
        for _ in 1..self.rings.len() {
            w.apply(&Step::SpawnTask);
        }
        let mut fds = Vec::new();
        for (i, spec) in self.rings.iter().enumerate() {
            let r = w.apply(&Step::Setup {
                task: TaskId(i as u32),
                entries: 1,
                cq_entries: spec.cq_entries,
                flags: spec.flags | setup::CQSIZE,
            });
            let fd = r.ret().filter(|&fd| fd >= 0);
            fds.push(fd.unwrap_or_else(|| panic!("ring {i} setup: {r:?}")));
        }
        for (i, spec) in self.rings.iter().enumerate() {
            if spec.files + spec.sparse == 0 {
                continue;
            }
            let mut slots: Vec<i32> = (0..spec.files)
                .map(|_| w.apply(&Step::RegularFile).ret().expect("fd"))
                .collect();
            slots.extend((0..spec.sparse).map(|_| -1));
            let r = w.apply(&Step::RegisterFiles {
                task: TaskId(i as u32),
                ring: fds[i],
                fds: slots,
            });
            assert_eq!(r, StepResult::Ret(0), "register files on ring {i}");
        }
        (w, fds)
    }

    fn sqe(&self, fds: &[Vfd], t: usize, k: usize) -> Option<Sqe> {
        let ud = src_user_data(t, k);
        let sqe = match self.programs[t][k] {
            Op::Data {
                to,
                res,
                flags,
                asynchronous,
            } => MsgRingData {
                ring_fd: fds[to],
                result: res,
                user_data: ud + 1,
                user_flags: flags,
            }
            .build()
            .flags(if asynchronous { sqe_flags::ASYNC } else { 0 }),
            Op::SendFd {
                to,
                src_slot,
                dst,
                skip_cqe,
                asynchronous,
            } => MsgRingSendFd {
                ring_fd: fds[to],
                fixed_slot_src: src_slot,
                dest_slot_index: dst,
                user_data: ud + 1,
                skip_cqe,
            }
            .build()
            .flags(if asynchronous { sqe_flags::ASYNC } else { 0 }),
            Op::Nop => Nop.build(),
            _ => return None,
        };
        Some(sqe.user_data(ud))
    }

    fn split(&self, streams: &HashMap<u64, Stream>, cqes: &[Cqe]) -> BTreeMap<Stream, Vec<Cqe>> {
        let mut m: BTreeMap<Stream, Vec<Cqe>> = BTreeMap::new();
        for c in cqes {
            let s = streams.get(&c.user_data).copied().unwrap_or(GARBAGE);
            m.entry(s).or_default().push(*c);
        }
        m
    }

    /// Runs the programs on the sequential model in one serialization (`order[i]` is
    /// the thread whose next op runs at step `i`), taking the default path at every
    /// choice point.
    pub fn run_sequential(&self, order: &[usize]) -> Outcome {
        let mut out = HashSet::new();
        self.sequential_paths(order, false, &mut out);
        out.into_iter().next().expect("one path")
    }

    /// Every outcome one serialization allows: the programs run on the sequential model
    /// in `order`, through every path of the model's choice points (io-wq order,
    /// io-wq finishing early, settle order, task_work yielding: docs/semantics.md).
    pub fn sequential_outcomes_of(&self, order: &[usize]) -> HashSet<Outcome> {
        let mut out = HashSet::new();
        self.sequential_paths(order, true, &mut out);
        out
    }

    /// Depth first over the serialization's steps and, with `branch`, over the
    /// successors of every system call; the outcome of every path goes into `out`.
    fn sequential_paths(&self, order: &[usize], branch: bool, out: &mut HashSet<Outcome>) {
        struct At {
            world: World,
            pos: usize,
            next: Vec<usize>,
            rets: Vec<Vec<i32>>,
            reaped: Vec<Vec<Cqe>>,
        }
        let (w, fds) = self.world();
        let n = self.rings.len();
        let mut stack = vec![At {
            world: w,
            pos: 0,
            next: vec![0; n],
            rets: vec![Vec::new(); n],
            reaped: vec![Vec::new(); n],
        }];
        // States already expanded at a position (paths that meet again need not be
        // walked twice).
        let mut seen: HashSet<(usize, World, Rets, Reaped)> = HashSet::new();
        while let Some(mut at) = stack.pop() {
            if at.pos == order.len() {
                out.insert(self.sequential_outcome(at.world, &fds, at.reaped, at.rets));
                continue;
            }
            if !seen.insert((at.pos, at.world.clone(), at.rets.clone(), at.reaped.clone())) {
                continue;
            }
            let t = order[at.pos];
            let k = at.next[t];
            at.next[t] += 1;
            at.pos += 1;
            let task = TaskId(t as u32);
            // The op's system call (or userspace action) as a step; a submission
            // writes its SQE first (no choices there: not an SQPOLL ring).
            let step = match self.programs[t][k] {
                Op::Reap => Step::Reap {
                    ring: fds[t],
                    max: u32::MAX,
                },
                Op::Wait { min_complete } => Step::Enter {
                    task,
                    ring: fds[t],
                    to_submit: 0,
                    min_complete,
                    flags: enter::GETEVENTS,
                },
                Op::Exit => Step::ExitTask { task },
                _ => {
                    let sqe = self.sqe(&fds, t, k).expect("a submission");
                    let r = at.world.apply(&Step::Push { ring: fds[t], sqe });
                    assert_eq!(r, StepResult::Ret(0), "push");
                    Step::Enter {
                        task,
                        ring: fds[t],
                        to_submit: 1,
                        min_complete: 0,
                        flags: 0,
                    }
                }
            };
            let successors: Vec<(World, StepResult)> = if branch {
                at.world
                    .successors(&step, crate::Faults::default())
                    .map(|s| (s.world, s.result))
                    .collect()
            } else {
                let r = at.world.apply(&step);
                vec![(at.world.clone(), r)]
            };
            for (world, r) in successors {
                let mut rets = at.rets.clone();
                let mut reaped = at.reaped.clone();
                let ret = match (&self.programs[t][k], r) {
                    (Op::Reap, StepResult::Reaped(c)) => {
                        reaped[t].extend(c);
                        0
                    }
                    (Op::Reap, other) => panic!("reap: {other:?}"),
                    (_, r) => r.ret().expect("the system call returns"),
                };
                rets[t].push(ret);
                stack.push(At {
                    world,
                    pos: at.pos,
                    next: at.next.clone(),
                    rets,
                    reaped,
                });
            }
        }
    }

    /// The outcome at the end of a sequential run: what was reaped, then what is left
    /// in each CQ, overflow list and local work list, the tables and file references.
    fn sequential_outcome(
        &self,
        mut w: World,
        fds: &[Vfd],
        reaped: Vec<Vec<Cqe>>,
        rets: Vec<Vec<i32>>,
    ) -> Outcome {
        let streams = self.streams();
        let mut delivered = Vec::new();
        let mut pending = Vec::new();
        let mut tables = Vec::new();
        for (t, mut got) in reaped.into_iter().enumerate() {
            if let StepResult::Reaped(c) = w.apply(&Step::Reap {
                ring: fds[t],
                max: u32::MAX,
            }) {
                got.extend(c);
            }
            let ring = w.ring(RingId(t as u32));
            got.extend(ring.overflow.iter().copied());
            delivered.push(self.split(&streams, &got));
            let left: Vec<Cqe> = ring
                .retry_work
                .iter()
                .chain(ring.local_work.iter())
                .filter_map(|wk| match wk {
                    Work::PostAux { cqe, .. } => Some(*cqe),
                    Work::Complete { req, res } => Some(Cqe {
                        user_data: req.sqe.user_data,
                        res: *res,
                        flags: 0,
                    }),
                    _ => None,
                })
                .collect();
            pending.push(self.split(&streams, &left));
            tables.push(ring.table.occupied().collect());
        }
        Outcome {
            rets,
            delivered,
            pending,
            tables,
            refs: w.files().iter().map(|f| f.refs).collect(),
        }
    }

    /// Every serialization of the per-thread programs (their interleavings).
    pub fn serializations(&self) -> Vec<Vec<usize>> {
        fn go(left: &mut [usize], cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if left.iter().all(|&l| l == 0) {
                out.push(cur.clone());
                return;
            }
            for t in 0..left.len() {
                if left[t] > 0 {
                    left[t] -= 1;
                    cur.push(t);
                    go(left, cur, out);
                    cur.pop();
                    left[t] += 1;
                }
            }
        }
        let mut left: Vec<usize> = self.programs.iter().map(Vec::len).collect();
        let mut out = Vec::new();
        go(&mut left, &mut Vec::new(), &mut out);
        out
    }

    /// What the sequential model allows: the outcomes of every serialization, each
    /// through every path of the model's choice points.
    pub fn sequential_outcomes(&self) -> HashSet<Outcome> {
        self.serializations()
            .iter()
            .flat_map(|o| self.sequential_outcomes_of(o))
            .collect()
    }

    /// Boots the concurrent kernel in the state the sequential setup reaches.
    pub fn start(&self) -> Session {
        let (w, fds) = self.world();
        let n = self.rings.len();
        let rings = (0..n)
            .map(|i| {
                let r = w.ring(RingId(i as u32));
                KRing {
                    flags: r.flags,
                    uring_lock: Mutex::new(Locked {
                        table: r.table.clone(),
                    }),
                    completion_lock: Mutex::new(()),
                    cq: SharedCq::new(r.cq.entries(), self.mutation != Mutation::CqTailRelaxed),
                    local: Mutex::new(VecDeque::new()),
                    wq: Mutex::new(0),
                    wq_cv: Condvar::new(),
                }
            })
            .collect();
        let tasks = (0..n)
            .map(|_| {
                Mutex::new(TaskTw {
                    alive: true,
                    items: VecDeque::<Tw>::new(),
                })
            })
            .collect();
        let fd_ring = (0..w.fd_table().len() as i32)
            .map(|fd| (fd, w.ring_of_fd(fd).map(|r| r.0 as usize)))
            .collect();
        let kernel = Kernel {
            rings,
            tasks,
            refs: w.files().iter().map(|f| AtomicU32::new(f.refs)).collect(),
            file_is_ring: w.files().iter().map(|f| f.is_ring()).collect(),
            fd_ring,
            mutation: self.mutation,
            workers: std::sync::Mutex::new(Vec::new()),
        };
        Session {
            kernel: Arc::new(kernel),
            fds,
        }
    }

    /// One concurrent run: a thread per non-empty program, then quiescence.
    pub fn run_concurrent(&self) -> Outcome {
        let session = self.start();
        let handles: Vec<_> = self
            .programs
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(t, _)| {
                let sc = self.clone();
                let me = session.issuer(t);
                thread::spawn(move || {
                    let mut rets = Vec::new();
                    let mut reaped = Vec::new();
                    for k in 0..sc.programs[t].len() {
                        let ret = match sc.programs[t][k] {
                            Op::Reap => {
                                reaped.extend(me.reap());
                                0
                            }
                            Op::Wait { min_complete } => me.wait(min_complete),
                            Op::Exit => {
                                me.exit();
                                0
                            }
                            _ => me.submit(sc.sqe(&me.fds, t, k).expect("a submission")),
                        };
                        rets.push(ret);
                    }
                    (t, rets, reaped)
                })
            })
            .collect();
        let mut rets = vec![Vec::new(); self.rings.len()];
        let mut reaped = vec![Vec::new(); self.rings.len()];
        for h in handles {
            let (t, r, c) = h.join().unwrap();
            rets[t] = r;
            reaped[t] = c;
        }
        let end = session.finish();
        let streams = self.streams();
        let mut delivered = Vec::new();
        for (t, mut got) in reaped.into_iter().enumerate() {
            got.extend(end.leftover[t].iter().copied());
            delivered.push(self.split(&streams, &got));
        }
        Outcome {
            rets,
            delivered,
            pending: end
                .pending
                .iter()
                .map(|p| self.split(&streams, p))
                .collect(),
            tables: end.tables,
            refs: end.refs,
        }
    }

    /// Invariants every concurrent outcome must satisfy on its own (they hold for the
    /// sequential model too): each message is delivered exactly once or its sender got
    /// an error; FIFO per sender stream; no CQE twice; file references balance.
    pub fn check_invariants(&self, o: &Outcome) -> Result<(), String> {
        let count = |ring: usize, ud: u64| -> (usize, Option<i32>) {
            let all = o.delivered[ring].values().chain(o.pending[ring].values());
            let hits: Vec<i32> = all
                .flatten()
                .filter(|c| c.user_data == ud)
                .map(|c| c.res)
                .collect();
            (hits.len(), hits.first().copied())
        };
        for (r, streams) in o.delivered.iter().enumerate() {
            if streams.contains_key(&GARBAGE) {
                return Err(format!(
                    "ring {r} shows a CQE no operation produced: {streams:?}"
                ));
            }
            for (s, cqes) in streams {
                // Target CQEs (odd user_data) in op order, source CQEs (even) likewise;
                // a message to self puts its target CQE before its source CQE (R16).
                let uds: Vec<u64> = cqes.iter().map(|c| c.user_data).collect();
                let fifo = |odd: u64| {
                    let part: Vec<u64> = uds.iter().copied().filter(|u| u % 2 == odd).collect();
                    part.windows(2).all(|w| w[0] < w[1])
                };
                if !fifo(0) || !fifo(1) {
                    return Err(format!(
                        "ring {r} stream {s:?} out of order or duplicated: {uds:x?}"
                    ));
                }
            }
        }
        for (t, prog) in self.programs.iter().enumerate() {
            for (k, op) in prog.iter().enumerate() {
                let Some(to) = op.target() else { continue };
                let ud = src_user_data(t, k);
                let (n_src, src_res) = count(t, ud);
                let (n_tgt, _) = count(to, ud + 1);
                let skip = matches!(op, Op::SendFd { skip_cqe: true, .. });
                let ok = n_tgt <= 1
                    && (to == t || n_src <= 1)
                    && (n_tgt == 1 || skip || src_res.is_some_and(|r| r < 0) || n_src == 0);
                if !ok {
                    return Err(format!(
                        "op {k} of thread {t} ({op:?}): {n_src} source CQEs (res {src_res:?}), {n_tgt} target CQEs"
                    ));
                }
            }
        }
        let mut held = vec![0u32; o.refs.len()];
        let (w, _) = self.world();
        for f in w.fd_table().iter().flatten() {
            held[f.0 as usize] += 1;
        }
        for table in &o.tables {
            for (_, f) in table {
                held[f.0 as usize] += 1;
            }
        }
        if held != o.refs {
            return Err(format!(
                "file references do not balance: f_count {:?}, held by fds and tables {held:?}",
                o.refs
            ));
        }
        Ok(())
    }

    /// Checks one concurrent outcome: invariants, then refinement (it must equal the
    /// outcome of some serialization on the sequential model).
    pub fn verify(&self, o: &Outcome, allowed: &HashSet<Outcome>) {
        if let Err(e) = self.check_invariants(o) {
            panic!("invariant violated: {e}\noutcome: {o:#?}");
        }
        if !allowed.contains(o) {
            let some: Vec<&Outcome> = allowed.iter().take(3).collect();
            panic!(
                "refinement failed: no serialization of the programs gives this outcome\n\
                 concurrent: {o:#?}\n{} sequential outcomes, e.g. {some:#?}",
                allowed.len()
            );
        }
    }

    /// Explores the scenario: under `--cfg loom`, every interleaving loom generates
    /// (bounded by `LOOM_MAX_PREEMPTIONS` and the other `LOOM_*` variables); on std
    /// threads, `runs` real runs. Every run is [verified](Scenario::verify). Returns how
    /// many runs (interleavings) were checked.
    pub fn explore(&self, runs: usize) -> usize {
        let allowed = std::sync::Arc::new(self.sequential_outcomes());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sc = self.clone();
        let n = std::sync::Arc::clone(&count);
        super::model(runs, move || {
            let o = sc.run_concurrent();
            sc.verify(&o, &allowed);
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let n = count.load(std::sync::atomic::Ordering::Relaxed);
        if std::env::var_os("MSGRING_LOOM_STATS").is_some() {
            eprintln!("msgring: explored {n} interleavings");
        }
        n
    }
}

/// A booted concurrent kernel: hand out [`Issuer`]s to threads, then [`Session::finish`].
pub struct Session {
    kernel: Arc<Kernel>,
    fds: Vec<Vfd>,
}

/// What is left when every thread has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftovers {
    /// Per ring: CQEs in the CQ, then the overflow list.
    pub leftover: Vec<Vec<Cqe>>,
    /// Per ring: CQEs waiting on the DEFER_TASKRUN local work list.
    pub pending: Vec<Vec<Cqe>>,
    pub tables: Vec<Vec<(u32, FileId)>>,
    pub refs: Vec<u32>,
}

impl Session {
    /// The handle through which the owner thread of `ring` makes system calls.
    pub fn issuer(&self, ring: usize) -> Issuer {
        Issuer {
            kernel: Arc::clone(&self.kernel),
            ring,
            fds: self.fds.clone(),
        }
    }

    /// Each ring's fd (what `MsgRingData::ring_fd` names).
    pub fn ring_fds(&self) -> &[Vfd] {
        &self.fds
    }

    /// Call after joining every thread: joins io-wq workers, runs leftover task_work,
    /// and reads what is left.
    pub fn finish(self) -> Leftovers {
        let k = &self.kernel;
        k.quiesce();
        let n = k.rings.len();
        let mut out = Leftovers {
            leftover: Vec::new(),
            pending: Vec::new(),
            tables: Vec::new(),
            refs: k
                .refs
                .iter()
                .map(|r| r.load(crate::sync::Ordering::Acquire))
                .collect(),
        };
        for r in 0..n {
            let ring = &k.rings[r];
            let mut left = ring.cq.reap();
            left.extend(ring.cq.overflow_entries());
            out.leftover.push(left);
            let pend = ring
                .local
                .lock()
                .unwrap()
                .iter()
                .filter_map(|w| match w {
                    Tw::PostAux(c) | Tw::Complete(c) => Some(*c),
                    Tw::InstallFd { .. } => None,
                })
                .collect();
            out.pending.push(pend);
            out.tables
                .push(ring.uring_lock.lock().unwrap().table.occupied().collect());
        }
        out
    }
}

/// A thread's handle on its own ring: the system calls and userspace actions of
/// the ring's owner. `Clone + Send`, so it can move into a (loom) thread.
#[derive(Clone)]
pub struct Issuer {
    kernel: Arc<Kernel>,
    ring: usize,
    fds: Vec<Vfd>,
}

impl Issuer {
    /// The fd of ring `ring` (to address messages).
    pub fn fd_of(&self, ring: usize) -> Vfd {
        self.fds[ring]
    }
    /// Pushes `sqe` and calls `io_uring_enter(ring, 1, 0, 0)`: returns 1.
    pub fn submit(&self, sqe: Sqe) -> i32 {
        Kernel::submit(&self.kernel, self.ring, sqe)
    }
    /// `io_uring_enter(ring, 0, min_complete, GETEVENTS)`; blocks until satisfied.
    pub fn wait(&self, min_complete: u32) -> i32 {
        self.kernel.getevents(self.ring, min_complete)
    }
    /// Reads every visible CQE and advances the CQ head.
    pub fn reap(&self) -> Vec<Cqe> {
        self.kernel.reap(self.ring)
    }
    /// The thread exits: its task_work runs, later task_work_add fails (R24).
    pub fn exit(&self) {
        self.kernel.exit(self.ring)
    }
}
