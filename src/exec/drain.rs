//! IO_DRAIN (R41.1–R41.3): a drain request makes the ring's requests wait on the defer
//! list until everything submitted before it has completed (`io_init_drain`,
//! `io_drain_req`, `io_queue_deferred`), by in-flight tracking from 6.16 and by CQE
//! sequence numbers before (`req_need_defer`), and, on 7.3, ending when the drain
//! request completes (`io_drain_req_completed`).

use crate::state::{Req, RingId, Work};
use crate::uapi::sqe_flags;
use crate::World;

impl World {
    /// R41.1 `io_init_drain`: the ring's drain becomes active; IO_DRAIN on a chain
    /// member drains the chain's head instead, and the request after the chain too
    /// (`drain_next`, taken by the next [`Self::io_init_req`] outside a chain).
    pub(super) fn io_init_drain(&mut self, ring: RingId, head: Option<&mut Req>) {
        self.ring_mut(ring).drain_active = true;
        if let Some(head) = head {
            head.sqe.flags |= sqe_flags::IO_DRAIN | sqe_flags::ASYNC;
            self.ring_mut(ring).drain_next = true;
        }
    }

    /// R41.1 `io_drain_req`: the request joins the defer list; the list is released as
    /// far as it can be; a request that is not itself a drain and finds the list empty
    /// ends the drain. Before 6.16 (R41.2) a request that need not wait and finds the
    /// list empty is released at once and ends the drain, drain or not.
    pub(super) fn io_drain_req(&mut self, mut req: Req) {
        let ring = req.ring;
        if self.profile.drain_by_sequence() {
            let r = self.ring(ring);
            req.drain_seq = r.sq_consumed.wrapping_sub(1 + req.link.len() as u32);
            if !self.req_need_defer(&req) && r.defer_list.is_empty() {
                self.ring_mut(ring).drain_active = false;
                let task = req.task;
                self.io_req_task_work_add(ring, task, Work::Issue { req });
            } else {
                self.ring_mut(ring).defer_list.push_back(req);
            }
            return;
        }
        let drain = req.sqe.flags & sqe_flags::IO_DRAIN != 0;
        self.ring_mut(ring).defer_list.push_back(req);
        self.io_queue_deferred(ring);
        let r = self.ring_mut(ring);
        if !drain && r.defer_list.is_empty() {
            r.drain_active = false;
        }
    }

    /// `io_queue_deferred`: releases deferred requests in order, through task_work
    /// (`io_req_task_queue`, then io-wq). The first entry, and every entry from a drain
    /// on, waits until no other request of the ring is in flight
    /// (`nr_req_allocated == nr_drained`). Returns whether any was released.
    pub(crate) fn io_queue_deferred(&mut self, ring: RingId) -> bool {
        self.io_queue_deferred_drains(ring).0
    }

    /// [`Self::io_queue_deferred`], also returning whether a drain request was released
    /// (7.3's return value). From 7.3 it tracks the released drain request without
    /// links (`ctx->drain_req`), forgotten once nothing outside the list is alive.
    pub(super) fn io_queue_deferred_drains(&mut self, ring: RingId) -> (bool, bool) {
        let by_sequence = self.profile.drain_by_sequence();
        let track = self.profile.drain_ends_when_drain_completes();
        if track && !self.ring_has_requests_in_flight(ring) {
            self.ring_mut(ring).drain_req = false;
        }
        let mut drain_seen = false;
        let mut first = true;
        let mut released = false;
        let mut drain_queued = false;
        while let Some(front) = self.ring(ring).defer_list.front() {
            if by_sequence {
                if self.req_need_defer(front) {
                    break;
                }
            } else {
                drain_seen |= front.sqe.flags & sqe_flags::IO_DRAIN != 0;
                if (drain_seen || first) && self.ring_has_requests_in_flight(ring) {
                    break;
                }
            }
            let req = self.ring_mut(ring).defer_list.pop_front().expect("checked");
            if req.sqe.flags & sqe_flags::IO_DRAIN != 0 {
                drain_queued = true;
                if track && req.link.is_empty() {
                    let r = self.ring_mut(ring);
                    r.drain_req = true;
                    r.drain_req_completed = false;
                }
            }
            let task = req.task;
            self.io_req_task_work_add(ring, task, Work::Issue { req });
            first = false;
            released = true;
        }
        (released, drain_queued)
    }

    /// R41.2 `req_need_defer` (before 6.16): a drain request waits until every SQE
    /// consumed before its chain has posted its CQE into the CQ: `seq + cq_extra !=
    /// cached_cq_tail` (CQEs still on the overflow list do not count). Requests without
    /// IO_DRAIN never wait on their own; they wait behind a drain on the list.
    pub(super) fn req_need_defer(&self, req: &Req) -> bool {
        if req.sqe.flags & sqe_flags::IO_DRAIN == 0 {
            return false;
        }
        let r = self.ring(req.ring);
        req.drain_seq.wrapping_add(r.cq_extra) != r.cq.tail()
    }

    /// Whether a request submitted to `ring` is alive outside the defer list: in the
    /// completion batch, on io-wq, or in any task_work list.
    pub(super) fn ring_has_requests_in_flight(&self, ring: RingId) -> bool {
        let mine = |w: &Work| match w {
            Work::PostAux { .. } => false,
            Work::IowqPut { ring: r, .. } | Work::FreeReq { ring: r } => *r == ring,
            Work::InstallFd { req, .. }
            | Work::Complete { req, .. }
            | Work::Issue { req }
            | Work::IowqPost { req, .. } => req.ring == ring,
            Work::FailLinks { reqs, .. } => reqs.iter().any(|r| r.ring == ring),
        };
        self.batch.iter().any(|c| c.ring() == ring)
            || self.iowq.iter().any(mine)
            || self
                .tasks
                .iter()
                .chain(std::iter::once(&self.sq_thread))
                .any(|t| t.work_items().any(mine))
            || self
                .rings
                .iter()
                .any(|r| r.local_work.iter().chain(&r.retry_work).any(mine))
    }

    /// R41.3 (7.3) the drain part of `__io_submit_flush_completions`: if the drain
    /// request completed in this batch (`io_drain_req_completed`) and releasing the
    /// defer list started no new drain request and left it empty, the drain ends, so
    /// later requests run inline again (7.2 kept it active until a later non-drain
    /// request found the list empty in `io_drain_req`).
    pub(super) fn io_drain_flush(&mut self, ring: RingId) {
        let r = self.ring_mut(ring);
        let mut done = r.drain_req && std::mem::take(&mut r.drain_req_completed);
        if done {
            r.drain_req = false;
        }
        if self.io_queue_deferred_drains(ring).1 {
            done = false; // a drain request started from the list keeps the drain going
        }
        let r = self.ring_mut(ring);
        if done && r.defer_list.is_empty() {
            r.drain_active = false;
        }
    }
}
