//! The code that applies a [`Step`] to a [`World`]: one module per kernel area, one
//! function per kernel rule.

pub(crate) mod branch;
pub(crate) mod cqe;
pub(crate) mod drain;
pub(crate) mod msg_ring;
pub(crate) mod register;
pub(crate) mod register_raw;
pub(crate) mod setup;
pub(crate) mod submit;
pub(crate) mod taskwork;
pub(crate) mod wait;

pub use branch::{Successor, Successors};
pub use register::{MAX_FIXED_FILES, MODEL_NOFILE};
pub use setup::{io_uring_fill_params, io_uring_sanitise_params};
pub use submit::IO_LOCAL_TW_DEFAULT_MAX;

use crate::errno::Errno;
use crate::sqe::{Sqe, Vfd};
use crate::state::{FileKind, Task, TaskId};
use crate::step::{Faults, Step, StepResult};
use crate::World;

impl World {
    /// Applies one step, exactly as the kernel of this world's profile would, and lets
    /// every asynchronous agent (io-wq, signalled task_work, SQPOLL threads) finish
    /// before returning.
    pub fn apply(&mut self, step: &Step) -> StepResult {
        self.apply_with(step, Faults::default())
    }

    /// Like [`World::apply`], with faults injected into this step only.
    pub fn apply_with(&mut self, step: &Step, faults: Faults) -> StepResult {
        self.faults = faults;
        self.iowq_ran = 0;
        self.running = step_task(step);
        let result = self.dispatch(step);
        self.running = None;
        if self.may_start_work(step) {
            self.settle();
        }
        self.faults = Faults::default();
        result
    }

    /// Userspace writes `sqes` into the SQ of the ring `ring` names, all of them or
    /// none, like the io-uring crate's `SubmissionQueue::push_multiple`: `Ret(0)`, or
    /// `Ret(-EBUSY)` with nothing written when they do not all fit, or `Refused` if
    /// `ring` is not an open ring. The same as one [`Step::Push`] per SQE when they
    /// fit; on an SQPOLL ring it is exactly that (the SQ thread may pick up each SQE
    /// as it is written), elsewhere one copy.
    pub fn push_multiple(&mut self, ring: Vfd, sqes: &[Sqe]) -> StepResult {
        match self.ring_of_fd(ring) {
            Some(r) if self.ring(r).has(crate::uapi::setup::SQPOLL) => {
                let fit = self.sq_push(ring, sqes);
                if fit == StepResult::Ret(0) {
                    // Undo the bulk write and replay it step by step.
                    let q = &mut self.ring_mut(r).sq;
                    q.truncate(q.len() - sqes.len());
                    for &sqe in sqes {
                        self.apply(&Step::Push { ring, sqe });
                    }
                }
                fit
            }
            _ => self.sq_push(ring, sqes),
        }
    }

    /// Userspace reaps up to `max` CQEs of the ring `ring` names into `out`
    /// (appended): [`Step::Reap`] without a new vector. Returns how many, or `None`
    /// if `ring` is not an open ring.
    pub fn reap_into(
        &mut self,
        ring: Vfd,
        max: u32,
        out: &mut Vec<crate::state::Cqe>,
    ) -> Option<u32> {
        let r = self.ring_of_fd(ring)?;
        Some(self.ring_mut(r).cq.reap_into(max, out))
    }

    /// [`Step::Push`] of every SQE of `sqes`, all or none.
    fn sq_push(&mut self, ring: Vfd, sqes: &[Sqe]) -> StepResult {
        let Some(r) = self.ring_of_fd(ring) else {
            return StepResult::Refused(format!("fd {ring} is not an open ring"));
        };
        let r = self.ring_mut(r);
        if r.sq.len() + sqes.len() > r.sq_entries as usize {
            return StepResult::Ret(Errno::EBUSY.neg());
        }
        r.sq.extend(sqes.iter().copied());
        StepResult::Ret(0)
    }

    /// Whether anything asynchronous can have been started by `step`. Between steps the
    /// world is settled; userspace writing an SQE (to a ring no SQ thread polls), reaping
    /// CQEs and looking at a ring start nothing, so the settle pass is skipped for them.
    fn may_start_work(&self, step: &Step) -> bool {
        match step {
            Step::Push { ring, .. } => self
                .ring_of_fd(*ring)
                .is_none_or(|r| self.ring(r).has(crate::uapi::setup::SQPOLL)),
            Step::Reap { .. } | Step::Observe { .. } | Step::QuerySlot { .. } => false,
            _ => true,
        }
    }

    fn live_task(&self, task: TaskId) -> Result<(), StepResult> {
        match self.task(task) {
            Some(t) if t.alive && task != TaskId::SQPOLL => Ok(()),
            Some(_) if task != TaskId::SQPOLL => {
                Err(StepResult::Refused(format!("task t{} has exited", task.0)))
            }
            _ => Err(StepResult::Refused(format!("no task t{}", task.0))),
        }
    }

    fn dispatch(&mut self, step: &Step) -> StepResult {
        if let Some(task) = step_task(step) {
            if let Err(refused) = self.live_task(task) {
                return refused;
            }
        }
        let ret = |r: Result<(), Errno>| StepResult::Ret(r.map_or_else(Errno::neg, |()| 0));
        match step {
            Step::Setup {
                task,
                entries,
                cq_entries,
                flags,
            } => self.io_uring_setup(*task, *entries, *cq_entries, *flags),
            Step::Pipe => {
                let r = self.open_file(FileKind::PipeRead);
                let w = self.open_file(FileKind::PipeWrite);
                StepResult::Fds(r, w)
            }
            Step::Eventfd => StepResult::Ret(self.open_file(FileKind::Eventfd)),
            Step::RegularFile => StepResult::Ret(self.open_file(FileKind::Regular)),
            Step::Close { fd } => self.close(*fd),
            Step::SpawnTask => {
                self.tasks.push(Task {
                    alive: true,
                    ..Task::default()
                });
                StepResult::Task(TaskId(self.tasks.len() as u32 - 1))
            }
            Step::ExitTask { task } => self.exit_task(*task),
            Step::RegisterFiles { task, ring, fds } => match self.register_prelude(*task, *ring) {
                Ok(r) => {
                    let fds: Vec<Option<i32>> =
                        fds.iter().map(|&f| (f != -1).then_some(f)).collect();
                    ret(self.io_sqe_files_register(r, &fds))
                }
                Err(e) => StepResult::Ret(e.neg()),
            },
            Step::RegisterFilesSparse { task, ring, nr } => {
                match self.register_prelude(*task, *ring) {
                    Ok(r) => {
                        if *nr > MODEL_NOFILE {
                            return StepResult::Unmodelled(format!(
                                "a table of {nr} slots (the model caps at {MODEL_NOFILE})"
                            ));
                        }
                        ret(self.io_sqe_files_register(r, &vec![None; *nr as usize]))
                    }
                    Err(e) => StepResult::Ret(e.neg()),
                }
            }
            Step::UpdateFiles {
                task,
                ring,
                offset,
                fds,
            } => match self.register_prelude(*task, *ring) {
                Ok(r) => StepResult::Ret(
                    self.io_sqe_files_update(r, *offset, fds)
                        .map_or_else(Errno::neg, |n| n as i32),
                ),
                Err(e) => StepResult::Ret(e.neg()),
            },
            Step::UnregisterFiles { task, ring } => match self.register_prelude(*task, *ring) {
                Ok(r) => ret(self.io_sqe_files_unregister(r)),
                Err(e) => StepResult::Ret(e.neg()),
            },
            Step::FileAllocRange {
                task,
                ring,
                off,
                len,
            } => match self.register_prelude(*task, *ring) {
                Ok(r) => ret(self.io_register_file_alloc_range(r, *off, *len)),
                Err(e) => StepResult::Ret(e.neg()),
            },
            Step::EnableRings { task, ring } => match self.register_prelude(*task, *ring) {
                Ok(r) => ret(self.io_register_enable_rings(*task, r)),
                Err(e) => StepResult::Ret(e.neg()),
            },
            Step::Push { ring, sqe } => self.sq_push(*ring, std::slice::from_ref(sqe)),
            Step::Enter {
                task,
                ring,
                to_submit,
                min_complete,
                flags,
            } => self.io_uring_enter(*task, *ring, *to_submit, *min_complete, *flags),
            Step::Reap { ring, max } => match self.ring_of_fd(*ring) {
                Some(r) if self.ring(r).cq.has_big() => {
                    let cqes = self.ring_mut(r).cq.reap_big(*max);
                    if cqes.iter().any(|(_, big)| *big != [0, 0]) {
                        StepResult::Reaped32(cqes)
                    } else {
                        StepResult::Reaped(cqes.into_iter().map(|(c, _)| c).collect())
                    }
                }
                Some(r) => StepResult::Reaped(self.ring_mut(r).cq.reap(*max)),
                None => StepResult::Refused(format!("fd {ring} is not an open ring")),
            },
            Step::SyncMsg { task, sqe } => {
                let r = self.io_uring_sync_msg_ring(sqe);
                self.syscall_exit(*task);
                StepResult::Ret(r)
            }
            Step::Register {
                task,
                fd,
                opcode,
                arg,
                nr_args,
            } => {
                let r = self.io_uring_register(*task, *fd, *opcode, arg, *nr_args);
                self.syscall_exit(*task);
                r
            }
            Step::QuerySlot { ring, slot } => match self.ring_of_fd(*ring) {
                Some(r) => StepResult::Slot(
                    self.ring(r)
                        .table
                        .get(*slot)
                        .map(|f| self.identity_class(f)),
                ),
                None => StepResult::Refused(format!("fd {ring} is not an open ring")),
            },
            Step::Observe { ring } => match self.ring_of_fd(*ring) {
                Some(r) => StepResult::Ring(self.observe(r)),
                None => StepResult::Refused(format!("fd {ring} is not an open ring")),
            },
        }
    }
}

/// The task that makes a step's system call, if the step is one.
fn step_task(step: &Step) -> Option<TaskId> {
    match step {
        Step::Setup { task, .. }
        | Step::ExitTask { task }
        | Step::RegisterFiles { task, .. }
        | Step::RegisterFilesSparse { task, .. }
        | Step::UpdateFiles { task, .. }
        | Step::UnregisterFiles { task, .. }
        | Step::FileAllocRange { task, .. }
        | Step::EnableRings { task, .. }
        | Step::Enter { task, .. }
        | Step::SyncMsg { task, .. }
        | Step::Register { task, .. } => Some(*task),
        _ => None,
    }
}
