//! A generated trace ([`Generated`]): spelled out as a [`Trace`], or run on a backend
//! directly, binding names as the trace runner does.

use super::steps::{GFd, GList, GOp, GSqe, GStep, Name, FILE, RING, TASK};
use crate::trace::{FdRef, Trace, TraceStep};
use crate::{Backend, Sqe, Step, StepResult, TaskId, Vfd};

/// A generated trace with its names as numbers: runs on a backend like the [`Trace`]
/// it stands for ([`Generated::to_trace`]) without building one.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    pub(super) steps: Vec<GStep>,
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
    ///
    /// [`super::run_with`]: crate::trace::run_with
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

#[cfg(test)]
mod tests {
    use super::super::steps::T0;
    use super::*;
    use crate::Faults;
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
        crate::trace::run_with(&g.to_trace(), &mut World::default(), |i, s, _| {
            want.push((i, s.clone()))
        });
        assert_eq!(ran, want);
        assert_eq!(ran.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 3]);
    }
}
