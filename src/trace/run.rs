//! Executing a trace on a [`Backend`] and checking its annotations.

use super::{Dest, Event, FdRef, FileRef, ListItem, Op, RegArgSpec, SqeSpec, Trace, View};
use crate::uapi;
use crate::{
    Backend, DestSlot, FileId, MsgRingData, MsgRingSendFd, Nop, RegisterArg, RingFdUpdate, Sqe,
    Step, StepResult, TaskId, Vfd,
};
use std::fmt;

/// What a trace did on one backend: one [`Event`] per step, plus the reasons of
/// refused/unmodelled steps. Equality compares the events only, so outcomes of two
/// backends are equal exactly when they behaved the same.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Outcome {
    pub events: Vec<Event>,
    /// Per step: why it was refused or unmodelled (`None` otherwise). Not compared.
    pub notes: Vec<Option<String>>,
}

impl PartialEq for Outcome {
    fn eq(&self, o: &Outcome) -> bool {
        self.events == o.events
    }
}
impl Eq for Outcome {}

impl fmt::Display for Outcome {
    /// One line per step: `N: event`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.events.iter().enumerate() {
            match self.notes.get(i).and_then(|n| n.as_deref()) {
                Some(n) => writeln!(f, "{i}: {e} ({n})")?,
                None => writeln!(f, "{i}: {e}")?,
            }
        }
        Ok(())
    }
}

/// An annotation that did not match.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Mismatch {
    /// Step index (0-based).
    pub step: usize,
    /// Source line of the step (0 for generated traces).
    pub line: u32,
    pub expected: Event,
    /// `None` if the outcome has no event for this step.
    pub actual: Option<Event>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actual = self
            .actual
            .as_ref()
            .map_or("(no event)".to_string(), |e| e.to_string());
        write!(
            f,
            "line {}: expected {}\n{:>width$}  actual   {}",
            self.line,
            self.expected,
            "",
            actual,
            width = 5 + self.line.to_string().len()
        )
    }
}

/// Compares each `=>` annotation of `trace` with the event of its step.
pub fn check_annotations(trace: &Trace, outcome: &Outcome) -> Vec<Mismatch> {
    trace
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let expected = s.expect.as_ref()?;
            let actual = outcome.events.get(i);
            (actual != Some(expected)).then(|| Mismatch {
                step: i,
                line: s.line,
                expected: expected.clone(),
                actual: actual.cloned(),
            })
        })
        .collect()
}

/// Runs every step of `trace` on `backend`.
pub fn run(trace: &Trace, backend: &mut dyn Backend) -> Outcome {
    run_with(trace, backend, |_, _, _| {})
}

/// Like [`run`], calling `each(step_index, step, result)` with every raw backend
/// result (`None` for a step that was not executed because a name is unbound).
pub fn run_with(
    trace: &Trace,
    backend: &mut dyn Backend,
    each: impl FnMut(usize, &Step, &StepResult),
) -> Outcome {
    let mut out = Outcome::default();
    drive(trace, backend, each, |_, event, note| {
        out.events.push(event);
        out.notes.push(note);
    });
    out
}

/// Like [`run`], handing each step's event and note to `sink` as it happens instead
/// of keeping them: memory stays that of one event, however long the trace (what
/// `msgring run` uses).
pub fn run_streaming(
    trace: &Trace,
    backend: &mut dyn Backend,
    sink: impl FnMut(usize, Event, Option<String>),
) {
    drive(trace, backend, |_, _, _| {}, sink);
}

fn drive(
    trace: &Trace,
    backend: &mut dyn Backend,
    mut each: impl FnMut(usize, &Step, &StepResult),
    mut sink: impl FnMut(usize, Event, Option<String>),
) {
    let mut r = Resolver::new();
    for (i, ts) in trace.steps.iter().enumerate() {
        let (event, note) = match r.step(&ts.op) {
            Err(name) => (Event::Unbound(name), None),
            Ok(step) => match backend.apply_step_path(&step, ts.faults, &ts.choose) {
                Ok(res) => {
                    each(i, &step, &res);
                    r.event(&ts.op, res)
                }
                Err(misfit) => (Event::Refused, Some(format!("choose clause: {misfit}"))),
            },
        };
        sink(i, event, note);
    }
}

impl SqeSpec {
    /// The fd operand (`ring_fd=` or `sqe(fd=)`), if the SQE has one.
    pub fn fd_operand(&self) -> Option<&FdRef> {
        match self {
            SqeSpec::Nop { .. } => None,
            SqeSpec::MsgData { ring_fd, .. } | SqeSpec::SendFd { ring_fd, .. } => Some(ring_fd),
            SqeSpec::Raw { fd, .. } => Some(fd),
        }
    }

    pub(crate) fn fd_operand_mut(&mut self) -> Option<&mut FdRef> {
        match self {
            SqeSpec::Nop { .. } => None,
            SqeSpec::MsgData { ring_fd, .. } | SqeSpec::SendFd { ring_fd, .. } => Some(ring_fd),
            SqeSpec::Raw { fd, .. } => Some(fd),
        }
    }

    /// The SQE, with `fd` (the resolved [`SqeSpec::fd_operand`]) as its target fd.
    pub fn build(&self, fd: Vfd) -> Sqe {
        match self {
            SqeSpec::Nop { user_data, flags } => Nop.build().user_data(*user_data).flags(*flags),
            SqeSpec::MsgData {
                result,
                user_data,
                user_flags,
                sqe_user_data,
                flags,
                ..
            } => MsgRingData {
                ring_fd: fd,
                result: *result,
                user_data: *user_data,
                user_flags: *user_flags,
            }
            .build()
            .user_data(*sqe_user_data)
            .flags(*flags),
            SqeSpec::SendFd {
                fixed_slot_src,
                dest_slot_index,
                user_data,
                skip_cqe,
                sqe_user_data,
                flags,
                ..
            } => MsgRingSendFd {
                ring_fd: fd,
                fixed_slot_src: *fixed_slot_src,
                dest_slot_index: match dest_slot_index {
                    Dest::Index(i) => DestSlot::Index(*i),
                    Dest::Alloc => DestSlot::Alloc,
                },
                user_data: *user_data,
                skip_cqe: *skip_cqe,
            }
            .build()
            .user_data(*sqe_user_data)
            .flags(*flags),
            SqeSpec::Raw { sqe, .. } => Sqe { fd, ..*sqe },
        }
    }
}

/// Names bound so far, and the name of every virtual fd: turns trace [`Op`]s into
/// [`Step`]s and backend results into [`Event`]s.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Resolver {
    fds: SmallMap<String, Vfd>,
    tasks: SmallMap<String, TaskId>,
    names: SmallMap<Vfd, String>,
}

/// A map for the few names a trace binds (at most `limits::MAX_RINGS + MAX_FILES`):
/// a linear scan beats hashing at this size, and the fuzzers run it per step.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SmallMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap(Vec::new())
    }
}

impl<K: PartialEq, V> SmallMap<K, V> {
    fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0
            .iter()
            .find(|(k, _)| k.borrow() == key)
            .map(|(_, v)| v)
    }

    fn insert(&mut self, key: K, value: V) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

type Res<T> = Result<T, String>;

impl Resolver {
    /// A resolver at the start of a trace: only `t0` is bound.
    pub(crate) fn new() -> Resolver {
        let mut r = Resolver {
            fds: SmallMap::default(),
            tasks: SmallMap::default(),
            names: SmallMap::default(),
        };
        r.tasks.insert("t0".into(), TaskId(0));
        r
    }

    fn fd(&self, f: &FdRef) -> Res<Vfd> {
        match f {
            FdRef::Vfd(v) => Ok(*v),
            FdRef::Name(n) => self.fds.get(n).copied().ok_or_else(|| n.clone()),
        }
    }
    fn task(&self, t: &str) -> Res<TaskId> {
        self.tasks.get(t).copied().ok_or_else(|| t.to_string())
    }
    fn sqe(&self, s: &SqeSpec) -> Res<Sqe> {
        let fd = match s.fd_operand() {
            Some(f) => self.fd(f)?,
            None => 0,
        };
        Ok(s.build(fd))
    }

    /// The model step for `op`, or the first unbound name it uses.
    pub(crate) fn step(&self, op: &Op) -> Res<Step> {
        Ok(match op {
            Op::Setup {
                by,
                entries,
                cq_entries,
                flags,
                ..
            } => Step::Setup {
                task: self.task(by)?,
                entries: *entries,
                cq_entries: *cq_entries,
                flags: *flags,
            },
            Op::Pipe { .. } => Step::Pipe,
            Op::Eventfd { .. } => Step::Eventfd,
            Op::File { .. } => Step::RegularFile,
            Op::Close { fd } => Step::Close { fd: self.fd(fd)? },
            Op::Spawn { .. } => Step::SpawnTask,
            Op::Exit { task } => Step::ExitTask {
                task: self.task(task)?,
            },
            Op::RegisterFiles { by, ring, files } => Step::RegisterFiles {
                task: self.task(by)?,
                ring: self.fd(ring)?,
                fds: files.iter().map(|f| self.fd(f)).collect::<Res<_>>()?,
            },
            Op::RegisterSparse { by, ring, nr } => Step::RegisterFilesSparse {
                task: self.task(by)?,
                ring: self.fd(ring)?,
                nr: *nr,
            },
            Op::UpdateFiles {
                by,
                ring,
                off,
                files,
            } => Step::UpdateFiles {
                task: self.task(by)?,
                ring: self.fd(ring)?,
                offset: *off,
                fds: files
                    .iter()
                    .map(|f| match f {
                        ListItem::Fd(f) => self.fd(f),
                        ListItem::Skip => Ok(uapi::REGISTER_FILES_SKIP),
                    })
                    .collect::<Res<_>>()?,
            },
            Op::UnregisterFiles { by, ring } => Step::UnregisterFiles {
                task: self.task(by)?,
                ring: self.fd(ring)?,
            },
            Op::AllocRange { by, ring, off, len } => Step::FileAllocRange {
                task: self.task(by)?,
                ring: self.fd(ring)?,
                off: *off,
                len: *len,
            },
            Op::Enable { by, ring } => Step::EnableRings {
                task: self.task(by)?,
                ring: self.fd(ring)?,
            },
            Op::Push { ring, sqe } => Step::Push {
                ring: self.fd(ring)?,
                sqe: self.sqe(sqe)?,
            },
            Op::Enter {
                by,
                ring,
                to_submit,
                min_complete,
                flags,
            } => Step::Enter {
                task: self.task(by)?,
                ring: self.fd(ring)?,
                to_submit: *to_submit,
                min_complete: *min_complete,
                flags: *flags,
            },
            Op::Reap { ring, max } => Step::Reap {
                ring: self.fd(ring)?,
                max: *max,
            },
            Op::SyncMsg { by, sqe } => Step::SyncMsg {
                task: self.task(by)?,
                sqe: self.sqe(sqe)?,
            },
            Op::Query { ring, slot } => Step::QuerySlot {
                ring: self.fd(ring)?,
                slot: *slot,
            },
            Op::Observe { ring } => Step::Observe {
                ring: self.fd(ring)?,
            },
            Op::Register {
                by,
                fd,
                opcode,
                arg,
                nr_args,
            } => Step::Register {
                task: self.task(by)?,
                fd: self.fd(fd)?,
                opcode: *opcode,
                arg: match arg {
                    RegArgSpec::Null => RegisterArg::Null,
                    RegArgSpec::Sqe(s) => RegisterArg::Sqe(self.sqe(s)?),
                    RegArgSpec::RingFds(v) => RegisterArg::RingFds(
                        v.iter()
                            .map(|e| {
                                Ok(RingFdUpdate {
                                    offset: e.offset.unwrap_or(u32::MAX),
                                    fd: e.fd.as_ref().map(|f| self.fd(f)).transpose()?,
                                })
                            })
                            .collect::<Res<_>>()?,
                    ),
                },
                nr_args: nr_args.unwrap_or_else(|| arg.count()),
            },
        })
    }

    fn bind_fd(&mut self, name: &str, fd: Vfd) {
        self.fds.insert(name.to_string(), fd);
        self.names.insert(fd, name.to_string());
    }

    /// A file identity class by name: file ids are creation order, as virtual fds are.
    fn file(&self, f: FileId) -> FileRef {
        i32::try_from(f.0)
            .ok()
            .and_then(|v| self.names.get(&v))
            .map_or(FileRef::Id(f.0), |n| FileRef::Name(n.clone()))
    }

    /// Normalizes a backend result and binds the names a creating step made.
    pub(crate) fn event(&mut self, op: &Op, res: StepResult) -> (Event, Option<String>) {
        let ev = match (op, res) {
            (_, StepResult::Refused(why)) => return (Event::Refused, Some(why)),
            (_, StepResult::Unmodelled(why)) => return (Event::Unmodelled, Some(why)),
            (Op::Setup { ring: name, .. }, StepResult::Ret(fd))
            | (Op::Eventfd { file: name }, StepResult::Ret(fd))
            | (Op::File { file: name }, StepResult::Ret(fd))
                if fd >= 0 =>
            {
                self.bind_fd(name, fd);
                Event::Bound(vec![name.clone()])
            }
            (Op::Pipe { read, write }, StepResult::Fds(r, w)) => {
                self.bind_fd(read, r);
                self.bind_fd(write, w);
                Event::Bound(vec![read.clone(), write.clone()])
            }
            (Op::Spawn { task }, StepResult::Task(t)) => {
                self.tasks.insert(task.clone(), t);
                Event::Bound(vec![task.clone()])
            }
            (Op::Pipe { .. } | Op::Spawn { .. }, StepResult::Ret(r)) if r < 0 => Event::Ret(r),
            (Op::Pipe { .. } | Op::Spawn { .. }, _) => Event::Unexpected,
            (_, StepResult::Ret(r)) => Event::Ret(r),
            (Op::Reap { .. }, StepResult::Reaped(c)) => Event::Cqes(c),
            (Op::Reap { .. }, StepResult::Reaped32(c)) => Event::Cqes32(c),
            (Op::Query { .. }, StepResult::Slot(s)) => Event::Slot(s.map(|f| self.file(f))),
            (Op::Observe { .. }, StepResult::Ring(v)) => Event::View(View {
                sq_flags: v.sq_flags,
                cq_overflow: v.cq_overflow,
                ready: v.cq_ready,
                overflow: v.overflow,
                table: v.table.iter().map(|(s, f)| (*s, self.file(*f))).collect(),
            }),
            _ => Event::Unexpected,
        };
        (ev, None)
    }
}
