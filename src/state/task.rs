//! Tasks (threads) that submit to rings, own SINGLE_ISSUER rings and run task_work.

use super::Work;
use std::collections::VecDeque;

/// A task, numbered in creation order; task 0 exists from the start.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TaskId(pub u32);

impl TaskId {
    /// The SQPOLL kernel thread(s): submits for SQPOLL rings, never a user task.
    pub const SQPOLL: TaskId = TaskId(u32::MAX);
}

/// An entry of a task's `task_works` list.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Callback {
    /// io_uring's `tctx_task_work`: runs the task's io_uring work list ([`Task::tw`]).
    Tctx,
    /// A plain `task_work_add` callback (SEND_FD's `io_msg_tw_fd_complete`, R24).
    Plain(Work),
}

/// A task and its task_work.
///
/// The kernel's `task->task_works` is a stack: `task_work_run` runs the newest
/// callback first (D2 in docs/kernel-findings.md: three SEND_FDs to a DEFER_TASKRUN
/// target complete in reverse order). io_uring's own list is FIFO and is one callback
/// on that stack, queued when the list goes from empty to non-empty.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Task {
    /// False once the task has exited (R24, B13, finding 13).
    pub alive: bool,
    /// `task->task_works`, oldest first (run from the back).
    pub callbacks: Vec<Callback>,
    /// The io_uring task context's work list (`tctx->task_list`), FIFO.
    pub tw: VecDeque<Work>,
    /// The task has an io_uring context (`task->io_uring`): it set up a ring, submitted
    /// or registered a ring fd.
    pub tctx: bool,
    /// `tctx->registered_rings` (`IORING_REGISTER_RING_FDS`): each holds a reference
    /// to its ring's file until unregistered or the task exits.
    pub registered_rings: [Option<super::FileId>; 16],
}

impl Task {
    /// Whether any task_work is pending.
    pub fn has_work(&self) -> bool {
        !self.callbacks.is_empty()
    }

    /// Every pending work item, for accounting.
    pub fn work_items(&self) -> impl Iterator<Item = &Work> {
        self.tw
            .iter()
            .chain(self.callbacks.iter().filter_map(|c| match c {
                Callback::Plain(w) => Some(w),
                Callback::Tctx => None,
            }))
    }
}
