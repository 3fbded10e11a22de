//! Waiting in `io_uring_enter` with IORING_ENTER_GETEVENTS: `io_cqring_wait` (C4,
//! M3: local work, task_work, the overflow flush) and `io_iopoll_check` for IOPOLL
//! rings.

use crate::errno::Errno;
use crate::state::{RingId, TaskId};
use crate::uapi::setup;
use crate::World;

/// How many rounds `io_cqring_wait` follows local work that runs but changes nothing
/// a waiter could see, before it gives up like the backend's bounded wait (-ETIME).
const MAX_WAIT_ROUNDS: u32 = 1 << 12;

impl World {
    /// `io_cqring_wait` (C4, finding 11): runs local work (DEFER_TASKRUN owner only),
    /// task_work, flushes the overflow list, and waits for `min_complete` (clamped to the
    /// CQ size) visible CQEs. A wait nothing can satisfy ends like the real backend's
    /// bounded wait: -ETIME, or 0 if any CQE is visible.
    pub(super) fn io_cqring_wait(&mut self, ring: RingId, task: TaskId, min_complete: u32) -> i32 {
        let min = min_complete.min(self.ring(ring).cq.entries());
        let r = self.ring(ring);
        if r.has(setup::DEFER_TASKRUN) && r.submitter != Some(task) {
            return Errno::EEXIST.neg();
        }
        // `io_uring_enter` ran local work (`io_run_local_work_locked`) and dropped the
        // lock: an io-wq worker may queue its completion here, behind what that pass
        // queued and ahead of this wait's pass (6.12.118, check seed 1 trace 3360).
        self.iowq_may_run();
        if self.local_work_pending(ring) {
            let max = self.local_work_max(min);
            self.run_local_work(ring, min, max);
        }
        self.iowq_may_run();
        self.run_task_work(task);
        self.iowq_may_run();
        if !self.ring(ring).overflow.is_empty() {
            self.cqring_overflow_flush(ring);
        }
        if self.ring(ring).cq.ready() >= min {
            return 0;
        }
        let mut rounds = 0u32;
        let ret = loop {
            let before = self.progress_marker(ring);
            self.settle();
            let nr_wait = min.saturating_sub(self.ring(ring).cq.ready());
            // The waiter does not sleep while local work is pending
            // (`io_cqring_wait_schedule` returns 1): work that ran counts as progress
            // even when it only queued the next item (a MSG_RING to this DEFER ring
            // from its own local work posts through one more local work item, R14).
            let mut ran = 0;
            if self.local_work_pending(ring) {
                ran = self.run_local_work(ring, nr_wait, nr_wait);
            }
            self.run_task_work(task);
            if !self.ring(ring).overflow.is_empty() {
                self.cqring_overflow_flush(ring);
            }
            if self.ring(ring).dropped {
                break Errno::EBADR.neg();
            }
            if self.ring(ring).cq.ready() >= min {
                break 0;
            }
            rounds += 1;
            if (ran == 0 || rounds >= MAX_WAIT_ROUNDS) && self.progress_marker(ring) == before {
                break Errno::ETIME.neg();
            }
        };
        if self.ring(ring).cq.ready() == 0 {
            ret
        } else {
            0
        }
    }

    /// What can change while a waiter sleeps: the CQ tail, queued local work, and
    /// pending async work. (Local work that keeps queueing the next item without
    /// posting is followed for at most [`MAX_WAIT_ROUNDS`] rounds.)
    fn progress_marker(&self, ring: RingId) -> (u32, usize, usize, usize) {
        let r = self.ring(ring);
        (
            r.cq.tail(),
            r.local_work.len() + r.retry_work.len(),
            r.overflow.len(),
            self.iowq.len(),
        )
    }

    /// `io_iopoll_check` (IOPOLL rings): flush overflow, -EBADR if CQEs were dropped,
    /// then return 0 without waiting (nothing of the model sits on the iopoll list).
    pub(super) fn io_iopoll_check(&mut self, ring: RingId, task: TaskId) -> i32 {
        let r = self.ring(ring);
        if r.has(setup::DEFER_TASKRUN) && r.submitter != Some(task) {
            return Errno::EEXIST.neg();
        }
        if !self.ring(ring).overflow.is_empty() {
            self.cqring_overflow_flush(ring);
        }
        if self.ring(ring).dropped {
            return Errno::EBADR.neg();
        }
        if self.ring(ring).cq.ready() > 0 {
            return 0;
        }
        if self.local_work_pending(ring) {
            let max = self.local_work_max(0);
            self.run_local_work(ring, 0, max);
        }
        self.run_task_work(task);
        0
    }
}
