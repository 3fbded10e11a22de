//! task_work: the normal per-task list (`task_work_add`, run on return to userspace)
//! and DEFER_TASKRUN's per-ring local list (run only by the owner inside
//! `io_uring_enter` with GETEVENTS, in bounded batches: finding 11), plus io-wq and the
//! SQPOLL thread. [`World::settle`] lets every asynchronous agent run until nothing is
//! left that does not wait for a user task.

use super::submit::IssueCtx;
use crate::choice::ChoicePoint;
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
    /// A task other than the running one may run it right away (choice point
    /// [`ChoicePoint::TaskWorkEarly`]); by default it runs when the step settles.
    pub(crate) fn task_work_add_signal(&mut self, task: TaskId, work: Work) {
        self.task_mut(task).callbacks.push(Callback::Plain(work));
        if self.decide.active()
            && self.running != Some(task)
            && self.decide.choose(ChoicePoint::TaskWorkEarly, 2) == 1
        {
            self.run_task_work(task);
        }
    }

    pub(crate) fn local_work_pending(&self, ring: RingId) -> bool {
        let r = self.ring(ring);
        !r.local_work.is_empty() || !r.retry_work.is_empty()
    }

    /// `task_work_run`: runs `task`'s callbacks, newest first, until none is left.
    /// io_uring's callback (`tctx_task_work`) runs the whole FIFO list; its completions
    /// are flushed at its end (`ctx_flush_and_put`), which clears IORING_SQ_TASKRUN on
    /// the rings involved. io-wq workers run meanwhile on other CPUs, so one may finish
    /// between two callbacks ([`Self::iowq_may_run`]: check seed 4 trace 29901, an
    /// io-wq request's completion queued as local work between those of two SEND_FD
    /// installs that one `task_work_run` ran, M11).
    pub(crate) fn run_task_work(&mut self, task: TaskId) {
        let was = self.running.replace(task);
        let mut first = true;
        // `task_work_run` takes the whole stack at once (xchg) and runs it newest
        // first; callbacks added meanwhile wait for the next round.
        loop {
            let batch = std::mem::take(&mut self.task_mut(task).callbacks);
            if batch.is_empty() {
                self.running = was;
                return;
            }
            for cb in batch.into_iter().rev() {
                if !std::mem::take(&mut first) {
                    self.iowq_may_run();
                }
                match cb {
                    Callback::Plain(w) => self.run_work(w),
                    Callback::Tctx => self.tctx_task_work(task),
                }
            }
        }
    }

    fn tctx_task_work(&mut self, task: TaskId) {
        let mut touched = Vec::new();
        let mut cur: Option<RingId> = None;
        if self.profile.mpsc_task_work_queues() {
            // 7.2+ `tctx_task_work_run`: pops one item at a time, so work queued while
            // others are still queued runs in this run; it stops after the pop that
            // emptied the queue (work queued after that adds a new callback).
            let mut first = true;
            while let Some(w) = self.task_mut(task).tw.pop_front() {
                let emptied = self.task(task).is_some_and(|t| t.tw.is_empty());
                self.tctx_run_item(first, w, &mut cur, &mut touched);
                first = false;
                if emptied {
                    break;
                }
            }
        } else {
            let mut items: Vec<Work> = self.task_mut(task).tw.drain(..).collect();
            if self.profile.tctx_task_work_lifo() {
                items.reverse(); // before 6.9 the llist ran as it stood: newest first
            }
            for (k, w) in items.into_iter().enumerate() {
                self.tctx_run_item(k == 0, w, &mut cur, &mut touched);
            }
        }
        // What this run punted to io-wq may finish before the run's batch is flushed.
        self.iowq_may_run();
        self.io_submit_flush_completions();
        for ring in touched {
            let r = self.ring_mut(ring);
            if !r.has(setup::DEFER_TASKRUN) {
                r.sq_flags &= !sq::TASKRUN;
            }
        }
    }

    /// One item of a task_work run (`io_handle_tw_list`). Before it, `ctx_flush_and_put`
    /// flushes the batch so far at a switch to another ring's item, or when the run
    /// yields the CPU ([`Self::task_work_resched`]); io-wq may post then.
    fn tctx_run_item(
        &mut self,
        first: bool,
        w: Work,
        cur: &mut Option<RingId>,
        touched: &mut Vec<RingId>,
    ) {
        let ring = work_ring(&w);
        if !first && (ring != *cur || self.task_work_resched()) {
            self.io_submit_flush_completions();
            self.iowq_may_run();
        }
        *cur = ring;
        touched.extend(ring);
        self.run_work(w);
    }

    /// M9 `io_handle_tw_list`: between two items of a task_work run, `need_resched()`
    /// may be set (another thread wants the CPU): the run flushes its completions and
    /// yields, and io-wq workers may post before the next item (choice point
    /// [`ChoicePoint::TaskWorkResched`]; by default the run goes straight on).
    fn task_work_resched(&mut self) -> bool {
        self.decide.active() && self.decide.choose(ChoicePoint::TaskWorkResched, 2) == 1
    }

    /// `__io_run_local_work(ctx, min_events, max_events)` (finding 11): runs the retry
    /// list, then the whole new list in FIFO order, at most `max_events` items a pass
    /// (but always at least one: `__io_run_local_work_loop` checks after running);
    /// leftovers go to the retry list. Passes repeat while fewer than `min_events` ran.
    /// Returns the number of items run in the last pass.
    pub(crate) fn run_local_work(&mut self, ring: RingId, min_events: u32, max_events: u32) -> u32 {
        if self.profile.local_work_lifo() {
            return self.run_local_work_llist(ring);
        }
        if self.ring(ring).has(setup::TASKRUN_FLAG) {
            self.ring_mut(ring).sq_flags &= !sq::TASKRUN;
        }
        let mut min_events = min_events as i64;
        let max_events = max_events as i64;
        let mut ret: i64 = 0;
        if self.profile.mpsc_task_work_queues() {
            return self.run_local_queue(ring, min_events, max_events);
        }
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
            self.iowq_may_run();
            self.io_submit_flush_completions();
            if self.local_work_continue(ring, ret, min_events) {
                continue;
            }
            return ret as u32;
        }
    }

    /// `__io_run_local_work` from 7.2 (tw.c, `mpscq`): the local work list is a FIFO
    /// queue popped one item at a time, at most `max_events` a pass, so work queued
    /// while local work runs (a self-message's target CQE, the next request of a link)
    /// runs in the same pass; there is no retry list. A push to the empty queue sets
    /// IORING_SQ_TASKRUN even if this pass then runs it, so the flag can stay set with
    /// nothing pending (r16_defer_self_linked on 7.2.13/7.3.4).
    fn run_local_queue(&mut self, ring: RingId, mut min_events: i64, max_events: i64) -> u32 {
        let mut ret: i64 = 0;
        loop {
            min_events -= ret;
            ret = 0;
            while ret < max_events {
                // The queue is popped one item at a time: an io-wq completion pushed
                // meanwhile (setting IORING_SQ_TASKRUN if the queue was empty) is run
                // by this pass (7.2.13 check seed 1 trace 2502).
                self.iowq_may_run();
                let Some(w) = self.ring_mut(ring).local_work.pop_front() else {
                    break;
                };
                self.run_work(w);
                ret += 1;
            }
            if self.local_work_continue(ring, ret, min_events) {
                continue;
            }
            self.iowq_may_run();
            self.io_submit_flush_completions();
            if self.local_work_continue(ring, ret, min_events) {
                continue;
            }
            return ret as u32;
        }
    }

    /// `__io_run_local_work` before 6.3 (6.1.192's source): takes the whole llist
    /// (xchg) and runs it as it stands, newest first, then again while more was queued
    /// meanwhile, with no bound; IORING_SQ_TASKRUN is cleared after running and the
    /// completions are flushed once at the end (work the flush queues waits).
    fn run_local_work_llist(&mut self, ring: RingId) -> u32 {
        let mut ret = 0u32;
        let mut pending: Vec<Work> = self.ring_mut(ring).retry_work.drain(..).collect();
        loop {
            pending.extend(self.ring_mut(ring).local_work.drain(..).rev());
            if pending.is_empty() {
                break;
            }
            for w in std::mem::take(&mut pending) {
                // io-wq work finishing meanwhile joins the llist for the next round.
                self.iowq_may_run();
                self.run_work(w);
                ret += 1;
            }
        }
        if self.ring(ring).has(setup::TASKRUN_FLAG) {
            self.ring_mut(ring).sq_flags &= !sq::TASKRUN;
        }
        self.iowq_may_run();
        self.io_submit_flush_completions();
        ret
    }

    /// `__io_run_local_work_loop` over the retry list: runs items until `events` have
    /// run (at least one if any is queued). The pass has taken the list: io-wq work
    /// finishing between two of its items is queued on the (empty) llist, behind or
    /// ahead of what the pass's own items queue there, for the next pass
    /// (`iowq_early` before each item: 6.12.118 check seed 1 trace 4592, a worker's
    /// remote post queued ahead of the one a link successor's self-message made).
    fn run_local_list(&mut self, ring: RingId, _retry: bool, events: i64) -> i64 {
        let mut ran = 0;
        while !self.ring(ring).retry_work.is_empty() {
            // io-wq only queues onto the llist, never onto this list.
            self.iowq_may_run();
            let Some(w) = self.ring_mut(ring).retry_work.pop_front() else {
                break;
            };
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
                let forced = crate::uapi::sqe_flags::ASYNC | crate::uapi::sqe_flags::IO_DRAIN;
                if req.sqe.flags & forced != 0 && self.profile.task_submit_honours_force_async() {
                    self.iowq.push_back(Work::Issue { req });
                } else {
                    self.issue_and_complete(req, IssueCtx::Inline);
                }
            }
            Work::FailLinks { reqs, ignore_cqes } => self.fail_links(reqs, ignore_cqes),
            Work::IowqPost { req, res } => self.io_req_complete_post(req, res),
            Work::IowqPut { ring, task, sqe } => self.io_wq_put_work(ring, task, sqe),
            Work::FreeReq { .. } => {}
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

    /// Runs one io-wq item: the next in queue order, or (choice point
    /// [`ChoicePoint::IowqOrder`]) any pending one, since each runs on a worker of its
    /// own.
    fn run_iowq_item(&mut self) {
        let k = if self.decide.active() {
            self.decide
                .choose(ChoicePoint::IowqOrder, self.iowq.len() as u32) as usize
        } else {
            0
        };
        let Some(w) = self.iowq.remove(k) else {
            return;
        };
        self.iowq_ran += 1;
        match w {
            Work::Issue { req } if self.task_exited(req.task) => {
                self.io_wq_cancel_pending_work(req)
            }
            Work::Issue { req } => self.issue_and_complete(req, IssueCtx::IoWq),
            other => self.run_work(other),
        }
    }

    /// A point where io-wq workers may have finished what was punted to them while
    /// the task that punted it is still busy (choice point [`ChoicePoint::IowqEarly`]):
    /// the kernel's workers run while the task goes on. By default they wait until the
    /// step's settle.
    pub(crate) fn iowq_may_run(&mut self) {
        if !self.decide.active() {
            return;
        }
        while !self.iowq.is_empty() && self.decide.choose(ChoicePoint::IowqEarly, 2) == 1 {
            self.run_iowq_item();
        }
    }

    /// Whether the settle lets agent `agent` (an index into [`Self::settle_ready`])
    /// wait until a later agent of the same pass has run (choice point
    /// [`ChoicePoint::SettleOrder`]): io-wq workers, task threads running task_work and
    /// SQPOLL threads run at the same time, so any of them may get to a ring first.
    /// Only offered when a later agent of the pass has work too, so every pass runs
    /// someone.
    fn settle_defers(&mut self, agent: usize) -> bool {
        self.decide.active()
            && self.settle_ready().iter().skip(agent + 1).any(|&r| r)
            && self.decide.choose(ChoicePoint::SettleOrder, 2) == 1
    }

    /// The agents a settle pass visits, in order, and whether each has work now.
    fn settle_ready(&self) -> Vec<bool> {
        let mut v = vec![!self.iowq.is_empty()];
        v.extend(self.tasks.iter().map(|t| t.has_work()));
        v.push(self.sq_thread.has_work());
        v.extend(self.rings.iter().map(|r| self.sqpoll_has_work(r)));
        v
    }

    fn sqpoll_has_work(&self, r: &crate::state::Ring) -> bool {
        r.has(setup::SQPOLL) && r.sqpoll_awake && r.enabled && !r.sq.is_empty()
    }

    /// Lets the asynchronous agents run until none has anything left to do: io-wq
    /// workers, tasks signalled for task_work (and dead tasks' fallback), and SQPOLL
    /// threads submitting what userspace pushed. DEFER_TASKRUN local work and
    /// TWA_SIGNAL_NO_IPI work wait for their task. Returns whether anything ran.
    ///
    /// By default each pass visits io-wq, then every task, then the SQ thread's task
    /// and SQPOLL rings, in that order; the choice points let an agent with work wait
    /// for later ones ([`ChoicePoint::SettleOrder`]) and io-wq take its items in any
    /// order ([`ChoicePoint::IowqOrder`]).
    pub(crate) fn settle(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut progressed = false;
            let mut deferred = false;
            if !self.iowq.is_empty() {
                if self.settle_defers(0) {
                    deferred = true;
                } else {
                    progressed = true;
                    self.run_iowq_item();
                    // Between two io-wq items, the later agents may get their turn
                    // (a worker is slower, or busy with the first item).
                    while !self.iowq.is_empty() {
                        if self.settle_defers(0) {
                            deferred = true;
                            break;
                        }
                        self.run_iowq_item();
                    }
                }
            }
            for i in 0..self.tasks.len() {
                if self.tasks[i].has_work() {
                    if self.settle_defers(1 + i) {
                        deferred = true;
                        continue;
                    }
                    progressed = true;
                    self.run_task_work(TaskId(i as u32));
                }
            }
            let sq_agent = 1 + self.tasks.len();
            if self.sq_thread.has_work() {
                if self.settle_defers(sq_agent) {
                    deferred = true;
                } else {
                    progressed = true;
                    self.run_task_work(TaskId::SQPOLL);
                }
            }
            for i in 0..self.rings.len() {
                if self.sqpoll_has_work(&self.rings[i]) {
                    if self.settle_defers(sq_agent + 1 + i) {
                        deferred = true;
                        continue;
                    }
                    progressed = true;
                    let n = self.rings[i].sq.len() as u32;
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
            if !progressed && !deferred {
                return any;
            }
            any |= progressed;
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
        Work::Complete { req, .. } | Work::Issue { req } | Work::IowqPost { req, .. } => {
            Some(req.ring)
        }
        Work::FailLinks { reqs, .. } => reqs.first().map(|r| r.ring),
        Work::IowqPut { ring, .. } | Work::FreeReq { ring } => Some(*ring),
    }
}
