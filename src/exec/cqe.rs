//! Posting CQEs: filling the CQ, the overflow list and its flush (C2–C4).

use crate::state::{Cqe, RingId};
use crate::uapi::sq;
use crate::World;

impl World {
    /// `io_fill_cqe_aux` / `io_fill_cqe_req` via `io_get_cqe_overflow(.., false)`:
    /// writes into the CQ only if it has room **and** the overflow list is empty (C3:
    /// `io_cqe_cache_refill` refuses while `IO_CHECK_CQ_OVERFLOW_BIT` is set).
    /// `big`: the extra words the CQE writes on a CQE32 ring; `None` leaves the slot's
    /// words as they were (an aux CQE before 7.3, see [`Self::aux_cqe_big`]).
    fn fill_cqe(&mut self, ring: RingId, cqe: Cqe, big: Option<[u64; 2]>) -> bool {
        if !self.cq_takes_a_cqe(ring) {
            return false;
        }
        let cq = &mut self.ring_mut(ring).cq;
        let pos = cq.tail();
        let pushed = cq.push(cqe);
        if let (true, Some(big)) = (pushed, big) {
            cq.set_big(pos, big);
        }
        pushed
    }

    /// Whether [`Self::fill_cqe`] writes a CQE into `ring`'s CQ now (C3: a free slot and
    /// no overflowed CQEs waiting).
    pub(crate) fn cq_takes_a_cqe(&self, ring: RingId) -> bool {
        let r = self.ring(ring);
        r.overflow.is_empty() && !r.cq.is_full()
    }

    /// C3 `io_cqring_event_overflow` / `io_cqe_overflow`: appends `cqe` to the
    /// overflow list; the first entry sets `IORING_SQ_CQ_OVERFLOW`. If the allocation
    /// fails (an injected fault), the CQE is dropped: `cq_overflow++` and the dropped bit
    /// is set. Returns whether the CQE was kept.
    pub(crate) fn cqring_event_overflow(&mut self, ring: RingId, cqe: Cqe, big: [u64; 2]) -> bool {
        if self.faults.overflow_alloc_fails > 0 {
            self.faults.overflow_alloc_fails -= 1;
            let r = self.ring_mut(ring);
            r.cq_overflow = r.cq_overflow.wrapping_add(1);
            r.dropped = true;
            return false;
        }
        let r = self.ring_mut(ring);
        if r.overflow.is_empty() {
            r.sq_flags |= sq::CQ_OVERFLOW;
        }
        r.overflow.push_back(cqe);
        // The entry keeps its extra words (zero for an aux CQE: the allocation is
        // zeroed); kept beside the list once any is non-zero.
        if big != [0, 0] && r.overflow_big.is_empty() {
            r.overflow_big.resize(r.overflow.len() - 1, [0, 0]);
        }
        if !r.overflow_big.is_empty() || big != [0, 0] {
            r.overflow_big.push_back(big);
        }
        true
    }

    /// `io_post_aux_cqe` (R12, R13): fill the CQ or overflow. False only when the
    /// overflow allocation failed; the caller turns that into -EOVERFLOW.
    pub(crate) fn post_aux_cqe(&mut self, ring: RingId, cqe: Cqe) -> bool {
        let r = self.ring_mut(ring);
        r.cq_extra = r.cq_extra.wrapping_add(1);
        let big = self.aux_cqe_big(ring, &cqe);
        let kept = self.fill_cqe(ring, cqe, big) || self.cqring_event_overflow(ring, cqe, [0, 0]);
        self.io_commit_cqring_flush(ring);
        kept
    }

    /// C8 `io_fill_cqe_aux`: what an aux CQE writes into its slot's extra words on a
    /// CQE32 ring. Zeroes with IORING_CQE_F_32 (6.18+, a 32-byte post) and, from 7.3, on
    /// every CQE32 ring; otherwise nothing, so the slot keeps a former CQE's words
    /// (checked on 6.18.44 and 7.2.13 vs 7.3.4: golden `c8_cqe32_extra_words`).
    pub(crate) fn aux_cqe_big(&self, ring: RingId, cqe: &Cqe) -> Option<[u64; 2]> {
        let f32_post = self.profile.big_cqe_posts() && cqe.flags & crate::uapi::cqe::F_32 != 0;
        let cqe32 = self.ring(ring).has(crate::uapi::setup::CQE32);
        (f32_post || cqe32 && self.profile.aux_cqe_zeroes_big_cqe()).then_some([0, 0])
    }

    /// R41.2 `io_commit_cqring_flush` after a CQE commit outside the batch flush
    /// (`io_post_aux_cqe`, an at-once failure, an io-wq worker's post, an overflow
    /// flush): before 6.16 a drain's release is checked at every commit
    /// (`seq + cq_extra == cached_cq_tail` holds only for that exact tail), so a
    /// commit between two others can release it (6.1 check finding 2748).
    pub(crate) fn io_commit_cqring_flush(&mut self, ring: RingId) {
        let r = self.ring(ring);
        if self.profile.drain_by_sequence() && r.drain_active && !r.defer_list.is_empty() {
            self.io_queue_deferred(ring);
        }
    }

    /// `io_fill_cqe_req`, else `io_req_cqe_overflow`: a request's own CQE (unlike
    /// [`Self::post_aux_cqe`], not counted in `cq_extra`). False only when the overflow
    /// allocation failed.
    pub(crate) fn post_req_cqe(&mut self, ring: RingId, cqe: Cqe) -> bool {
        self.post_req_cqe32(ring, cqe, [0, 0])
    }

    /// [`Self::post_req_cqe`] with the request's extra words (`req->big_cqe`, set by
    /// IORING_NOP_CQE32), written on a CQE32 ring (a 16-byte CQE has none).
    pub(crate) fn post_req_cqe32(&mut self, ring: RingId, cqe: Cqe, big: [u64; 2]) -> bool {
        let big = if self.ring(ring).has(crate::uapi::setup::CQE32) {
            big
        } else {
            [0, 0]
        };
        self.fill_cqe(ring, cqe, Some(big)) || self.cqring_event_overflow(ring, cqe, big)
    }

    /// `io_add_aux_cqe` (R14, task_work path): like [`Self::post_aux_cqe`], but a
    /// failed overflow allocation is only counted (cq_overflow, dropped bit), never
    /// reported to anyone.
    pub(crate) fn add_aux_cqe(&mut self, ring: RingId, cqe: Cqe) {
        let _counted_if_dropped = self.post_aux_cqe(ring, cqe);
    }

    /// C4 `__io_cqring_overflow_flush`: moves overflowed CQEs, oldest first, into free
    /// CQ slots; clears `IORING_SQ_CQ_OVERFLOW` once the list is empty. Only
    /// `io_uring_enter` with GETEVENTS (and iopoll) calls it: advancing the CQ head does
    /// not.
    pub(crate) fn cqring_overflow_flush(&mut self, ring: RingId) {
        let r = self.ring_mut(ring);
        while let Some(&cqe) = r.overflow.front() {
            let pos = r.cq.tail();
            if !r.cq.push(cqe) {
                break;
            }
            r.overflow.pop_front();
            // The whole entry is copied, extra words too.
            let big = r.overflow_big.pop_front().unwrap_or_default();
            r.cq.set_big(pos, big);
        }
        if r.overflow.is_empty() {
            r.sq_flags &= !sq::CQ_OVERFLOW;
        }
        self.io_commit_cqring_flush(ring);
    }
}
