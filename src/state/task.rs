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

/// A task and its normal (`task_work_add`) work list.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Task {
    /// False once the task has exited (R24, B13, finding 13).
    pub alive: bool,
    /// Pending task_work, FIFO.
    pub tw: VecDeque<Work>,
    /// The task was signalled for its pending work (TWA_SIGNAL) and will run it
    /// promptly; with only TWA_SIGNAL_NO_IPI additions it waits for its next syscall.
    pub tw_signalled: bool,
}
