//! task_work: the normal per-task list (`task_work_add`, run on return to userspace)
//! and DEFER_TASKRUN's per-ring local list (run only by the owner inside
//! `io_uring_enter` with GETEVENTS, in bounded batches: finding 11), plus io-wq and the
//! SQPOLL thread. [`World::settle`] lets every asynchronous agent run until nothing is
//! left that does not wait for a user task.

use super::submit::IssueCtx;
use crate::state::{Callback, RingId, TaskId, Work};
use crate::uapi::{setup, sq};
use crate::World;

impl World {
    /// `io_req_task_work_add`: DEFER_TASKRUN rings queue on the ring's local list;
    /// others on the submitting task's list (M9). COOP_TASKRUN and SQPOLL rings add it
    /// with TWA_SIGNAL_NO_IPI, which only runs it when the task next enters the kernel;
    /// a task always does before the next step (the real backend's task threads make
    /// system calls between steps), so the model runs it before the step ends like
    /// TWA_SIGNAL work. A TASKRUN_FLAG ring shows IORING_SQ_TASKRUN until then.
    pub(crate) fn io_req_task_work_add(&mut self, ring: RingId, task: TaskId, work: Work) {
        if self.ring(ring).has(setup::DEFER_TASKRUN) {
            self.local_work_add(ring, work);
            return;
        }
        let taskrun_flag = self.ring(ring).has(setup::TASKRUN_FLAG);
        let t = self.task_mut(task);
        let was_empty = t.tw.is_empty();
        t.tw.push_back(work);
        if was_empty {
            t.callbacks.push(Callback::Tctx);
            if taskrun_flag {
                self.ring_mut(ring).sq_flags |= sq::TASKRUN;
            }
        }
    }

    /// `io_req_local_work_add`: appends to the ring's `work_llist`; when the list was
    /// empty, a TASKRUN_FLAG ring shows IORING_SQ_TASKRUN.
    pub(crate) fn local_work_add(&mut self, ring: RingId, work: Work) {
        let r = self.ring_mut(ring);
        if r.local_work.is_empty() && r.has(setup::TASKRUN_FLAG) {
            r.sq_flags |= sq::TASKRUN;
        }
        r.local_work.push_back(work);
    }

    /// `task_work_add(task, .., TWA_SIGNAL)`: the task is interrupted and runs it.
    pub(crate) fn task_work_add_signal(&mut self, task: TaskId, work: Work) {
        self.task_mut(task).callbacks.push(Callback::Plain(work));
    }

    pub(crate) fn local_work_pending(&self, ring: RingId) -> bool {
        let r = self.ring(ring);
        !r.local_work.is_empty() || !r.retry_work.is_empty()
    }

    /// `task_work_run`: runs `task`'s callbacks, newest first, until none is left.
    /// io_uring's callback (`tctx_task_work`) runs the whole FIFO list; its completions
    /// are flushed at its end (`ctx_flush_and_put`), which clears IORING_SQ_TASKRUN on
    /// the rings involved.
    pub(crate) fn run_task_work(&mut self, task: TaskId) {
        // `task_work_run` takes the whole stack at once (xchg) and runs it newest
        // first; callbacks added meanwhile wait for the next round.
        loop {
            let batch = std::mem::take(&mut self.task_mut(task).callbacks);
            if batch.is_empty() {
                return;
            }
            for cb in batch.into_iter().rev() {
                match cb {
                    Callback::Plain(w) => self.run_work(w),
                    Callback::Tctx => self.tctx_task_work(task),
                }
            }
        }
    }

    fn tctx_task_work(&mut self, task: TaskId) {
        let mut items: Vec<Work> = self.task_mut(task).tw.drain(..).collect();
        if self.profile.tctx_task_work_lifo() {
            items.reverse(); // 6.1 ran the llist as it stood: newest first
        }
        let mut touched = Vec::new();
        for w in items {
            touched.extend(work_ring(&w));
            self.run_work(w);
        }
        self.io_submit_flush_completions();
        for ring in touched {
            let r = self.ring_mut(ring);
            if !r.has(setup::DEFER_TASKRUN) {
                r.sq_flags &= !sq::TASKRUN;
            }
        }
    }

    /// `__io_run_local_work(ctx, min_events, max_events)` (finding 11): runs the retry
    /// list, then the whole new list in FIFO order, at most `max_events` items a pass
    /// (but always at least one: `__io_run_local_work_loop` checks after running);
    /// leftovers go to the retry list. Passes repeat while fewer than `min_events` ran.
    /// Returns the number of items run in the last pass.
    pub(crate) fn run_local_work(&mut self, ring: RingId, min_events: u32, max_events: u32) -> u32 {
        if self.ring(ring).has(setup::TASKRUN_FLAG) {
            self.ring_mut(ring).sq_flags &= !sq::TASKRUN;
        }
        let mut min_events = min_events as i64;
        let max_events = max_events as i64;
        let mut ret: i64 = 0;
        loop {
            min_events -= ret;
            ret = self.run_local_list(ring, true, max_events);
            let retry_left = !self.ring(ring).retry_work.is_empty();
            if !retry_left {
                let fresh: Vec<Work> = self.ring_mut(ring).local_work.drain(..).collect();
                self.ring_mut(ring).retry_work.extend(fresh);
                ret += self.run_local_list(ring, true, max_events - ret);
                if self.local_work_continue(ring, ret, min_events) {
                    continue;
                }
            }
            self.io_submit_flush_completions();
            if self.local_work_continue(ring, ret, min_events) {
                continue;
            }
            return ret as u32;
        }
    }

    /// `__io_run_local_work_loop` over the retry list: runs items until `events` have
    /// run (at least one if any is queued).
    fn run_local_list(&mut self, ring: RingId, _retry: bool, events: i64) -> i64 {
        let mut ran = 0;
        while let Some(w) = self.ring_mut(ring).retry_work.pop_front() {
            self.run_work(w);
            ran += 1;
            if ran >= events {
                break;
            }
        }
        ran
    }

    /// `io_run_local_work_continue`: another pass if work is left and fewer than
    /// `min_events` ran; stopping with work left shows IORING_SQ_TASKRUN.
    fn local_work_continue(&mut self, ring: RingId, events: i64, min_events: i64) -> bool {
        if !self.local_work_pending(ring) {
            return false;
        }
        if events < min_events {
            return true;
        }
        let r = self.ring_mut(ring);
        if r.has(setup::TASKRUN_FLAG) {
            r.sq_flags |= sq::TASKRUN;
        }
        false
    }

    /// Runs one work item in the current task context.
    pub(crate) fn run_work(&mut self, w: Work) {
        match w {
            Work::PostAux { ring, cqe } => self.add_aux_cqe(ring, cqe),
            Work::InstallFd { target, req } => self.io_msg_tw_fd_complete(target, req),
            Work::Complete { req, res } => self.complete_batched(req, res),
            Work::Issue { req } => {
                if req.sqe.flags
                    & (crate::uapi::sqe_flags::ASYNC | crate::uapi::sqe_flags::IO_DRAIN)
                    != 0
                {
                    self.iowq.push_back(Work::Issue { req });
                } else {
                    self.issue_and_complete(req, IssueCtx::Inline);
                }
            }
            Work::FailLinks { reqs, ignore_cqes } => self.fail_links(reqs, ignore_cqes),
        }
    }

    /// Whether `task` is a task that has exited (the SQ thread never does here).
    fn task_exited(&self, task: TaskId) -> bool {
        self.task(task).is_some_and(|t| !t.alive)
    }

    /// M10 `io_uring_clean_tctx` -> `io_wq_put_and_exit`: an exiting task's io-wq is
    /// torn down, and work on it that has not started is cancelled
    /// (`io_wq_submit_work` with IO_WQ_WORK_CANCEL): the request completes with
    /// -ECANCELED. Work queued for it later finds no io-wq (`io_queue_iowq`), same
    /// result. The model holds io-wq work only within the step that queued it, so
    /// what is left for an exited task was queued by its own exit: e.g. drained
    /// requests released when the exit ran a tracked request's completion (found by
    /// `msgring check`, seed 1, trace 26924; checked on 6.18.44: both released
    /// requests -ECANCELED, their CQEs posted by the time the exit returns, also on a
    /// DEFER_TASKRUN ring whose owner this was).
    fn io_wq_cancel_pending_work(&mut self, req: crate::state::Req) {
        self.complete_now(req, crate::Errno::ECANCELED.neg());
    }

    /// Lets the asynchronous agents run until none has anything left to do: io-wq
    /// workers, tasks signalled for task_work (and dead tasks' fallback), and SQPOLL
    /// threads submitting what userspace pushed. DEFER_TASKRUN local work and
    /// TWA_SIGNAL_NO_IPI work wait for their task. Returns whether anything ran.
    pub(crate) fn settle(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut progressed = false;
            while let Some(w) = self.iowq.pop_front() {
                progressed = true;
                self.iowq_ran += 1;
                match w {
                    Work::Issue { req } if self.task_exited(req.task) => {
                        self.io_wq_cancel_pending_work(req)
                    }
                    Work::Issue { req } => self.issue_and_complete(req, IssueCtx::IoWq),
                    other => self.run_work(other),
                }
            }
            for i in 0..self.tasks.len() {
                if self.tasks[i].has_work() {
                    progressed = true;
                    self.run_task_work(TaskId(i as u32));
                }
            }
            if self.sq_thread.has_work() {
                progressed = true;
                self.run_task_work(TaskId::SQPOLL);
            }
            for i in 0..self.rings.len() {
                let r = &self.rings[i];
                if r.has(setup::SQPOLL) && r.sqpoll_awake && r.enabled && !r.sq.is_empty() {
                    progressed = true;
                    let n = r.sq.len() as u32;
                    self.io_submit_sqes(RingId(i as u32), TaskId::SQPOLL, n);
                    self.run_task_work(TaskId::SQPOLL);
                }
            }
            for i in 0..self.rings.len() {
                if !self.rings[i].defer_list.is_empty() && self.io_queue_deferred(RingId(i as u32))
                {
                    progressed = true;
                }
            }
            if !progressed {
                return any;
            }
            any = true;
        }
    }
}

/// The ring whose io_uring task_work a work item is (for IORING_SQ_TASKRUN, cleared
/// by `ctx_flush_and_put`). SEND_FD's install runs as a plain `task_work_add` callback,
/// outside any ring's task_work, so it clears nothing.
fn work_ring(w: &Work) -> Option<RingId> {
    match w {
        Work::PostAux { ring, .. } => Some(*ring),
        Work::InstallFd { .. } => None,
        Work::Complete { req, .. } | Work::Issue { req } => Some(req.ring),
        Work::FailLinks { reqs, .. } => reqs.first().map(|r| r.ring),
    }
}
