//! `io_uring_enter`: submission (`io_submit_sqes`, `io_init_req`, link assembly) and
//! completion batching; waiting is in [`super::wait`], IO_DRAIN in [`super::drain`].
//!
//! Completion order is part of the model (R16): requests that complete inline are
//! collected in a batch (`submit_state.compl_reqs`) and their CQEs are written when the
//! batch is flushed, at the end of the submit or task_work run, while aux CQEs
//! (`io_post_aux_cqe`) are written at once.

use crate::choice::ChoicePoint;
use crate::errno::Errno;
use crate::exec::msg_ring::{IoMsg, MsgIssue};
use crate::sqe::Sqe;
use crate::state::{Completed, Cq, Cqe, Req, Ring, RingId, TaskId, Work};
use crate::step::StepResult;
use crate::uapi::{self, enter, op, setup, sqe_flags};
use crate::World;
use std::collections::VecDeque;

/// `IO_LOCAL_TW_DEFAULT_MAX`: local task_work items one run handles (finding 11).
pub const IO_LOCAL_TW_DEFAULT_MAX: u32 = 20;

/// What issuing a request produced.
pub(crate) enum Issued {
    /// `IOU_COMPLETE` with this result.
    Complete(i32),
    /// `IOU_ISSUE_SKIP_COMPLETE`: the completion comes later from task_work.
    Parked,
    /// -EAGAIN on the inline path: retried from io-wq (R22), never seen by the user.
    Again,
    /// `io_issue_sqe` itself failed (the target file lookup, R3): `io_queue_async`
    /// fails the request. Batched like a completion on 6.12+, posted at once on 6.1.
    Failed(i32),
}

/// How a request is being issued.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IssueCtx {
    /// Inline from the submitting task (`IO_URING_F_COMPLETE_DEFER`): completions go
    /// to the batch.
    Inline,
    /// From an io-wq worker (`IO_URING_F_UNLOCKED | IO_URING_F_IOWQ`).
    IoWq,
}

/// SQE flags that keep a request off [`World::issue_unlinked_inline`]: it is (part of)
/// a chain, or it must go async.
const UNLINKED_INLINE_EXCLUDES: u8 =
    sqe_flags::IO_LINK | sqe_flags::IO_HARDLINK | sqe_flags::ASYNC | sqe_flags::IO_DRAIN;

/// What [`World::issue_unlinked_inline`] did.
enum Unlinked {
    /// Nothing: the request needs a [`Req`] (SEND_FD).
    NeedsReq,
    /// Issued and routed.
    Done,
    /// A MSG_DATA that posted on this target at once (`io_msg_data_local`).
    PostedLocal(RingId),
}

/// A decision `io_submit_sqes` may reuse: the last SQE was an unlinked MSG_DATA that
/// went inline down `io_msg_data_local` to `target`. Every check on that path (R1, R2,
/// R3, R4, R10, R22) reads only SQE fields other than `off`, `len` and `user_data`
/// plus world state that posting a CQE does not change (the profile, the fd table,
/// the source's drain state and table, the target's flags, owner and enablement), so
/// the next SQE that equals it outside those three fields takes the same path: its
/// CQE is posted (R12, R13) without repeating the checks. Any SQE that does not match
/// ends the lane. The lane is what makes a runtime's batch of 64 MSG_DATAs cheap.
#[derive(Clone, Copy)]
pub(crate) struct DataLane {
    shape: Sqe,
    /// [`lane_words`] of `shape`.
    words: [u64; 6],
    target: RingId,
}

impl DataLane {
    fn after(sqe: &Sqe, target: RingId) -> DataLane {
        DataLane {
            shape: Self::shape_of(sqe),
            words: lane_words(sqe),
            target,
        }
    }

    #[inline]
    fn shape_of(sqe: &Sqe) -> Sqe {
        Sqe {
            off: 0,
            len: 0,
            user_data: 0,
            ..*sqe
        }
    }

    /// How many SQEs at the front of `sqes` the lane takes.
    #[inline]
    fn count(&self, sqes: &[Sqe]) -> usize {
        sqes.iter()
            .position(|s| !self.takes(s))
            .unwrap_or(sqes.len())
    }

    /// Whether `sqe` equals the lane's SQE outside `off`, `len` and `user_data`: this
    /// is the hot loop of a batch. Six 8-byte words XORed with the lane's and ORed
    /// together, without a branch per field (the derived comparison of the masked
    /// copy, which once compiled to one 64-byte compare, became a chain of ten
    /// compares and branches as `io_submit_sqes` grew, and the model ran at 11x the
    /// kernel instead of 21x). Debug builds check it against that comparison, so a
    /// field added to `Sqe` and forgotten in [`lane_words`] fails every test that
    /// submits a batch.
    #[inline]
    fn takes(&self, sqe: &Sqe) -> bool {
        let (s, t) = (lane_words(sqe), &self.words);
        let diff = (s[0] ^ t[0])
            | (s[1] ^ t[1])
            | (s[2] ^ t[2])
            | (s[3] ^ t[3])
            | (s[4] ^ t[4])
            | (s[5] ^ t[5]);
        debug_assert_eq!(diff == 0, Self::shape_of(sqe) == self.shape);
        diff == 0
    }
}

/// The 8-byte words of an SQE's kernel layout that a lane compares: all but `off`,
/// `user_data` and the word `len` shares with `msg_ring_flags` (whose upper half is
/// compared). Adjacent fields combine into one load each.
#[inline(always)]
fn lane_words(s: &Sqe) -> [u64; 6] {
    [
        u64::from(s.opcode)
            | u64::from(s.flags) << 8
            | u64::from(s.ioprio) << 16
            | u64::from(s.fd as u32) << 32,
        s.addr,
        u64::from(s.msg_ring_flags),
        u64::from(s.buf_index) | u64::from(s.personality) << 16 | u64::from(s.file_index) << 32,
        s.addr3,
        s.pad2,
    ]
}

/// The SQ of `rings[src]` and the CQ of `rings[dst]`, borrowed together.
fn sq_and_cq(rings: &mut [Ring], src: usize, dst: usize) -> (&VecDeque<Sqe>, &mut Cq) {
    use std::cmp::Ordering;
    match src.cmp(&dst) {
        Ordering::Equal => {
            let r = &mut rings[src];
            (&r.sq, &mut r.cq)
        }
        Ordering::Less => {
            let (a, b) = rings.split_at_mut(dst);
            (&a[src].sq, &mut b[0].cq)
        }
        Ordering::Greater => {
            let (a, b) = rings.split_at_mut(src);
            (&b[0].sq, &mut a[dst].cq)
        }
    }
}

/// R41: the CQE a request with result `res` writes, unless IOSQE_CQE_SKIP_SUCCESS hides
/// it (only on success: a failure clears the skip).
pub(crate) fn req_cqe(sqe: &Sqe, res: i32) -> Option<Cqe> {
    let skip = sqe.flags & sqe_flags::CQE_SKIP_SUCCESS != 0 && res >= 0;
    (!skip).then_some(Cqe {
        user_data: sqe.user_data,
        res,
        flags: 0,
    })
}

/// `req->big_cqe`: the extra words a request's CQE carries on a CQE32 ring:
/// `[sqe->off, sqe->addr]` for a NOP with IORING_NOP_CQE32 that was issued
/// (`io_req_set_res32`), else zero (a request that failed before issue never set them).
pub(crate) fn req_big(req: &Req) -> [u64; 2] {
    let sqe = &req.sqe;
    if sqe.opcode == op::NOP
        && sqe.msg_ring_flags & uapi::NOP_CQE32 != 0
        && req.init_failed.is_none()
    {
        [sqe.off, sqe.addr]
    } else {
        [0, 0]
    }
}

pub(crate) fn is_link(sqe: &Sqe) -> bool {
    sqe.flags & (sqe_flags::IO_LINK | sqe_flags::IO_HARDLINK) != 0
}

impl World {
    /// The part of an SQE the model does not implement, if any. Checked before a submit
    /// changes anything, so an unmodelled step leaves the world as it was.
    pub(crate) fn unmodelled_sqe(&self, sqe: &Sqe) -> Option<String> {
        if sqe.opcode >= self.profile.op_last() || self.op128_without_big_sqe(sqe) {
            return None; // -EINVAL, modelled
        }
        match sqe.opcode {
            op::MSG_RING => None,
            op::NOP => {
                const NOP_KNOWN: u32 = 0x3f;
                let f = sqe.msg_ring_flags;
                let mut modelled = uapi::NOP_INJECT_RESULT;
                if self.profile.nop_cqe32() {
                    modelled |= uapi::NOP_CQE32;
                }
                (f & NOP_KNOWN & !modelled != 0).then(|| format!("NOP flags {f:#x}"))
            }
            other => Some(format!("opcode {other}")),
        }
    }

    /// [`Self::unmodelled_sqe`] of the first SQE of `sqes` that has one.
    fn first_unmodelled(&self, sqes: &[Sqe]) -> Option<String> {
        // MSG_RING is always modelled: the common case is one compare per SQE.
        if sqes.iter().all(|s| s.opcode == op::MSG_RING) {
            return None;
        }
        sqes.iter().find_map(|s| self.unmodelled_sqe(s))
    }

    /// `io_uring_enter(fd, to_submit, min_complete, flags)` by `task`.
    pub(crate) fn io_uring_enter(
        &mut self,
        task: TaskId,
        fd: i32,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
    ) -> StepResult {
        const KNOWN: u32 = 0x7f;
        if flags & !KNOWN != 0 {
            return StepResult::Ret(Errno::EINVAL.neg());
        }
        if flags & !enter::MODELLED != 0 {
            return StepResult::Unmodelled(format!("enter flags {flags:#x}"));
        }
        let ring = match self.enter_ring(task, fd, flags) {
            Ok(r) => r,
            Err(e) => return StepResult::Ret(e.neg()),
        };
        if !self.ring(ring).enabled {
            return StepResult::Ret(Errno::EBADFD.neg());
        }
        let r = self.ring(ring);
        let n = to_submit.min(r.sq.len() as u32) as usize;
        if !r.has(setup::SQPOLL) {
            let (a, b) = r.sq.as_slices();
            let (a, b) = (&a[..n.min(a.len())], &b[..n - n.min(a.len())]);
            if let Some(why) = self
                .first_unmodelled(a)
                .or_else(|| self.first_unmodelled(b))
            {
                return StepResult::Unmodelled(why);
            }
        }
        let syscall_iopoll = r.has(setup::IOPOLL) && !r.has(setup::SQPOLL);
        let mut ret: i32 = 0;
        if r.has(setup::SQPOLL) {
            // The SQ thread submits (in `settle`) once woken; enter only reports the count.
            if flags & enter::SQ_WAKEUP != 0 {
                let r = self.ring_mut(ring);
                r.sqpoll_awake = true;
                r.sq_flags &= !crate::uapi::sq::NEED_WAKEUP;
            }
            ret = to_submit as i32;
        } else if to_submit > 0 {
            if r.has(setup::SINGLE_ISSUER) && r.submitter != Some(task) {
                return StepResult::Ret(Errno::EEXIST.neg());
            }
            self.task_mut(task).tctx = true; // io_uring_add_tctx_node
            let submitted = self.io_submit_sqes(ring, task, to_submit);
            ret = submitted as i32;
            if submitted != to_submit {
                self.syscall_exit(task);
                return StepResult::Ret(ret);
            }
            self.iowq_may_run();
            let r = self.ring(ring);
            // `io_run_local_work_locked` returns at once when nothing is pending, so a
            // stale IORING_SQ_TASKRUN (set when a pass left work, then run by a wait)
            // stays set (M3; `msgring check --seed 4`, trace 99337).
            if flags & enter::GETEVENTS != 0
                && !syscall_iopoll
                && r.has(setup::DEFER_TASKRUN)
                && r.submitter == Some(task)
                && self.local_work_pending(ring)
            {
                let max = self.local_work_max(min_complete);
                self.run_local_work(ring, min_complete, max);
            }
        }
        if flags & enter::GETEVENTS != 0 {
            let ret2 = if syscall_iopoll {
                self.io_iopoll_check(ring, task)
            } else {
                self.io_cqring_wait(ring, task, min_complete)
            };
            if ret == 0 {
                ret = ret2;
                if ret2 == Errno::EBADR.neg() {
                    self.ring_mut(ring).dropped = false;
                }
            }
        }
        self.syscall_exit(task);
        StepResult::Ret(ret)
    }

    /// M3: how many local work items a GETEVENTS run handles: `max(20, min)` on 6.18,
    /// all of them before.
    pub(super) fn local_work_max(&self, min: u32) -> u32 {
        match self.profile.local_work_max() {
            Some(m) => m.max(min),
            None => u32::MAX,
        }
    }

    /// Returning to userspace runs the task's pending task_work (io-wq may have
    /// finished something just before).
    pub(crate) fn syscall_exit(&mut self, task: TaskId) {
        self.iowq_may_run();
        self.run_task_work(task);
    }

    /// `io_submit_sqes`: consumes up to `nr` SQEs. An `io_init_req` failure of a
    /// request that ends its chain stops the batch (unless SUBMIT_ALL); the failed SQE
    /// counts as submitted. Returns the number consumed.
    pub(crate) fn io_submit_sqes(&mut self, ring: RingId, task: TaskId, nr: u32) -> u32 {
        let n = nr.min(self.ring(ring).sq.len() as u32);
        let submit_all = self.ring(ring).has(setup::SUBMIT_ALL);
        let mut link: Option<Req> = None;
        let mut lane: Option<DataLane> = None;
        let mut submitted = 0;
        while submitted < n {
            if self.decide.active() && !self.iowq.is_empty() {
                // What went to io-wq may run before the next SQE (no lane across it:
                // an io-wq request may change what the lane's checks read).
                lane = None;
                self.iowq_may_run();
            }
            if let Some(l) = lane.take() {
                submitted += self.data_lane_run(ring, &l, n - submitted);
                if submitted == n {
                    break;
                }
            }
            let r = self.ring_mut(ring);
            let sqe = r.sq.pop_front().expect("counted above");
            r.sq_consumed = r.sq_consumed.wrapping_add(1);
            submitted += 1;
            let init = self.io_init_req(ring, &sqe, link.as_mut());
            if self.fast_lanes
                && link.is_none()
                && init == Ok(0)
                && sqe.flags & UNLINKED_INLINE_EXCLUDES == 0
            {
                match self.issue_unlinked_inline(ring, task, &sqe) {
                    Unlinked::NeedsReq => {}
                    Unlinked::Done => continue,
                    Unlinked::PostedLocal(target) => {
                        lane = Some(DataLane::after(&sqe, target));
                        continue;
                    }
                }
            }
            let mut req = Req::new(ring, task, sqe);
            if let Ok(gained) = init {
                req.sqe.flags |= gained;
            }
            if let Err(e) = init {
                // io_submit_fail_init: fail this request, and the head of its chain.
                req.init_failed = Some(e.neg());
                if let Some(head) = link.as_mut() {
                    if head.init_failed.is_none() {
                        head.init_failed = Some(Errno::ECANCELED.neg());
                    }
                }
                if is_link(&sqe) {
                    Self::link_append(&mut link, req);
                    continue;
                }
                let req = match link.take() {
                    Some(mut head) => {
                        head.link.push(req);
                        head
                    }
                    None => req,
                };
                self.io_queue_sqe_fallback(req);
                if !submit_all {
                    break;
                }
                continue;
            }
            if link.is_some() {
                Self::link_append(&mut link, req);
                if is_link(&sqe) {
                    continue;
                }
                let head = link.take().expect("checked");
                self.io_queue_sqe_or_fallback(head);
            } else if is_link(&sqe) {
                link = Some(req);
            } else {
                self.io_queue_sqe_or_fallback(req);
            }
        }
        // io_submit_state_end: an unterminated chain is queued as it is (to io-wq).
        if let Some(head) = link.take() {
            self.io_queue_sqe_fallback(head);
        }
        self.iowq_may_run();
        self.io_submit_flush_completions();
        submitted
    }

    /// Submits the SQEs at the front of `ring`'s SQ (at most `max`) that `lane` takes,
    /// as [`World::issue_unlinked_inline`] would one by one: each posts its target CQE
    /// (R12; into the target's CQ while it has room and no overflow, C3, else through
    /// [`World::io_msg_data_local_again`]) and joins the completion batch with result 0.
    /// Returns how many it submitted.
    fn data_lane_run(&mut self, ring: RingId, lane: &DataLane, max: u32) -> u32 {
        let (src, dst) = (ring.0 as usize, lane.target.0 as usize);
        let max = max as usize;
        // One pass: count the SQEs the lane takes (k) and write the CQEs of the first
        // `direct` of them while the target's CQ has room and no overflow (C3).
        let open = self.rings[dst].overflow.is_empty();
        // Every CQE of the lane carries the same flags, so C8 decides once for all.
        let lane_cqe = IoMsg::from_sqe(&lane.shape).data_cqe();
        let clear_big = self.aux_cqe_big(lane.target, &lane_cqe).is_some();
        let (sq, cq) = sq_and_cq(&mut self.rings, src, dst);
        let (a, b) = sq.as_slices();
        let (a, b) = (&a[..max.min(a.len())], &b[..max - max.min(a.len())]);
        let mut k = lane.count(a);
        if k == a.len() {
            k += lane.count(b);
        }
        let mut direct = 0;
        // Every CQE of the lane has the lane's flags: a lane of 32-byte posts (6.18+,
        // IORING_CQE_F_32) takes the per-SQE path below, which posts them like any.
        if open && !cq.layout().is_big(&lane_cqe) {
            let mut w = cq.aux_writer(clear_big);
            let data_cqe = |s: &Sqe| IoMsg::from_sqe(s).data_cqe();
            direct = w.write_each(&a[..k.min(a.len())], data_cqe);
            if direct == a.len() {
                direct += w.write_each(&b[..k - a.len()], data_cqe);
            }
            let _ = w.finish();
        }
        let t = &mut self.rings[dst];
        t.cq_extra = t.cq_extra.wrapping_add(direct as u32);
        let sq = &mut self.rings[src].sq;
        let skip = req_cqe(&lane.shape, 0).is_none();
        let start = self.batch_user_data.len() as u32;
        if !skip {
            let (a, b) = sq.as_slices();
            let a = &a[..direct.min(a.len())];
            let b = &b[..direct - a.len()];
            let ud = &mut self.batch_user_data;
            ud.extend(a.iter().map(|s| s.user_data));
            ud.extend(b.iter().map(|s| s.user_data));
        }
        sq.drain(..direct);
        let r = &mut self.rings[src];
        r.sq_consumed = r.sq_consumed.wrapping_add(k as u32);
        if direct > 0 {
            self.batch.push(Completed::Run {
                ring,
                skip,
                start,
                len: direct as u32,
            });
        }
        for _ in direct..k {
            let sqe = self.ring_mut(ring).sq.pop_front().expect("counted above");
            let res = self.io_msg_data_local_again(lane.target, &sqe);
            self.batch.push(Completed::Done {
                ring,
                cqe: req_cqe(&sqe, res),
            });
        }
        k as u32
    }

    fn link_append(link: &mut Option<Req>, req: Req) {
        match link {
            Some(head) => head.link.push(req),
            None => *link = Some(req),
        }
    }

    /// R2 `io_init_req` for the modelled opcodes, then the opcode's prep (R1). `head`:
    /// the chain the request joins, if any. Returns the IOSQE flags the request gains:
    /// ASYNC (REQ_F_FORCE_ASYNC) while a drain is active, IO_DRAIN too when it is the
    /// request after a chain that had a drain in the middle (R41.1). The drain state
    /// changes before the checks that come after it in the kernel (ioprio, personality,
    /// prep), so a request that fails those still starts or takes over a drain
    /// (`msgring check --seed 5`, trace 59866).
    pub(crate) fn io_init_req(
        &mut self,
        ring: RingId,
        sqe: &Sqe,
        head: Option<&mut Req>,
    ) -> Result<u8, Errno> {
        let has_head = head.is_some();
        if sqe.opcode >= self.profile.op_last() || self.op128_without_big_sqe(sqe) {
            return Err(Errno::EINVAL);
        }
        let common =
            sqe_flags::FIXED_FILE | sqe_flags::IO_LINK | sqe_flags::IO_HARDLINK | sqe_flags::ASYNC;
        if sqe.flags & !common != 0 {
            if sqe.flags & !sqe_flags::VALID != 0 {
                return Err(Errno::EINVAL);
            }
            if sqe.flags & sqe_flags::BUFFER_SELECT != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if sqe.flags & sqe_flags::CQE_SKIP_SUCCESS != 0 {
                self.ring_mut(ring).drain_disabled = true;
            }
            if sqe.flags & sqe_flags::IO_DRAIN != 0 {
                if self.ring(ring).drain_disabled {
                    return Err(Errno::EOPNOTSUPP);
                }
                self.io_init_drain(ring, head);
            }
        }
        let mut gained = 0;
        if self.ring(ring).drain_active {
            // "knock it to the slow queue path, will be drained there": REQ_F_FORCE_ASYNC.
            gained |= sqe_flags::ASYNC;
        }
        if self.ring(ring).drain_next && !has_head {
            // The request after a chain with a drain in the middle is drained.
            let r = self.ring_mut(ring);
            r.drain_next = false;
            r.drain_active = true;
            gained |= sqe_flags::IO_DRAIN | sqe_flags::ASYNC;
        }
        if sqe.ioprio != 0 {
            return Err(Errno::EINVAL); // neither NOP nor MSG_RING sets def->ioprio
        }
        // `req->creds = xa_load(&ctx->personalities, personality)`: an id the ring
        // has not registered is -EINVAL (R1 then refuses any for MSG_RING).
        if sqe.personality != 0 && !self.ring(ring).personalities.contains(&sqe.personality) {
            return Err(Errno::EINVAL);
        }
        match sqe.opcode {
            op::MSG_RING => crate::exec::msg_ring::io_msg_ring_prep(sqe, self.profile)?,
            _ => io_nop_prep(sqe, self.ring(ring).flags)?,
        }
        Ok(gained)
    }

    /// R2 (6.19+) `io_init_req`: IORING_OP_NOP128 and IORING_OP_URING_CMD128
    /// (`def->is_128`) need a 128-byte SQE: -EINVAL unless the ring is SQE128 or
    /// SQE_MIXED (neither is modelled, so always -EINVAL here).
    fn op128_without_big_sqe(&self, sqe: &Sqe) -> bool {
        self.profile.op128_needs_big_sqe() && matches!(sqe.opcode, op::NOP128 | op::URING_CMD128)
    }

    /// `io_queue_sqe` for a valid chain head, or `io_queue_sqe_fallback` when it must go
    /// async (IOSQE_ASYNC, IO_DRAIN, or any request while the ring's drain is active) or
    /// has failed.
    fn io_queue_sqe_or_fallback(&mut self, req: Req) {
        if req.init_failed.is_some()
            || req.sqe.flags & (sqe_flags::ASYNC | sqe_flags::IO_DRAIN) != 0
        {
            self.io_queue_sqe_fallback(req);
        } else {
            self.issue_and_complete(req, IssueCtx::Inline);
        }
    }

    /// `io_queue_sqe_fallback`: a failed request completes with its failure (its chain
    /// is cancelled, HARDLINK notwithstanding); while a drain is active it joins the
    /// defer list; anything else goes to io-wq.
    fn io_queue_sqe_fallback(&mut self, mut req: Req) {
        if let Some(res) = req.init_failed {
            req.sqe.flags = (req.sqe.flags & !sqe_flags::IO_HARDLINK) | sqe_flags::IO_LINK;
            if self.profile.failures_post_at_once() {
                self.complete_now(req, res);
            } else {
                self.complete_batched(req, res);
            }
        } else if self.ring(req.ring).drain_active {
            self.io_drain_req(req);
        } else {
            self.iowq.push_back(Work::Issue { req });
        }
    }

    /// Issues `req` and routes its completion.
    pub(crate) fn issue_and_complete(&mut self, req: Req, ctx: IssueCtx) {
        if let (Some(req), issued) = self.io_issue_sqe(req, ctx) {
            self.route_issued(req, issued, ctx);
        }
    }

    /// Where an issued request's result goes: inline completions (and, from 6.12,
    /// failures) join the batch; 6.1 posts failures at once; io-wq posts; -EAGAIN
    /// retries from io-wq.
    fn route_issued(&mut self, req: Req, issued: Issued, ctx: IssueCtx) {
        match (issued, ctx) {
            (Issued::Complete(res), IssueCtx::Inline) => self.complete_batched(req, res),
            (Issued::Failed(res), IssueCtx::Inline) if self.profile.failures_post_at_once() => {
                self.complete_now(req, res)
            }
            (Issued::Failed(res), IssueCtx::Inline) => self.complete_batched(req, res),
            (Issued::Complete(res) | Issued::Failed(res), IssueCtx::IoWq) => {
                if self.iowq_post_later(&req) {
                    self.iowq.push_front(Work::IowqPost { req, res });
                } else {
                    self.io_req_complete_post(req, res)
                }
            }
            (Issued::Again, _) => self.iowq.push_back(Work::Issue { req }),
            (Issued::Parked, _) => {}
        }
    }

    /// Whether an io-wq worker that issued `req` posts its CQE later, as its next io-wq
    /// item (choice point [`ChoicePoint::IowqPostLater`]): the op's own effect and the
    /// post are two critical sections in `io_wq_submit_work`, and the task may flush
    /// its batch between them (check seed 5 trace 60992: a self-MSG_DATA's target CQE
    /// came before the submit's batch, its own CQE after). Offered for MSG_RING, the
    /// only modelled op with an effect of its own.
    fn iowq_post_later(&mut self, req: &Req) -> bool {
        self.decide.active()
            && req.sqe.opcode == op::MSG_RING
            && self.decide.choose(ChoicePoint::IowqPostLater, 2) == 1
    }

    /// Whether an io-wq worker that queued a completion as task_work drops its
    /// reference later, as its next io-wq item (choice point
    /// [`ChoicePoint::IowqPutLater`]). Offered where what that put changes is
    /// visible: on a DEFER_TASKRUN ring the free it may cause sets IORING_SQ_TASKRUN
    /// again (6.12.118 check seed 1 trace 5619); on a ring with a drain in force
    /// from 6.16 the request stays allocated until then, so the defer list waits
    /// for it (`nr_req_allocated != nr_drained` in `io_queue_deferred`) and, on 7.3,
    /// the drain outlives its drain request (evidence
    /// `choices/iowq_put_later_keeps_a_drain_7_3.trace`, seen on 7.3.4 in CI).
    fn iowq_put_later(&mut self, ring: RingId) -> bool {
        let r = self.ring(ring);
        let visible =
            r.has(setup::DEFER_TASKRUN) || (r.drain_active && !self.profile.drain_by_sequence());
        self.decide.active() && visible && self.decide.choose(ChoicePoint::IowqPutLater, 2) == 1
    }

    /// `io_wq_put_work` of a put left for later ([`Self::iowq_put_later`]): if the
    /// owner has run the completion meanwhile, this put is the last one, and
    /// `io_free_req` queues a task_work item that only frees the request (on the
    /// ring's local work for DEFER_TASKRUN, else on the task's list).
    pub(super) fn io_wq_put_work(&mut self, ring: RingId, task: TaskId, sqe: Sqe) {
        let r = self.ring(ring);
        let mine = |w: &Work| matches!(w, Work::Complete { req, .. } if req.task == task && req.sqe == sqe);
        let pending = r.local_work.iter().chain(r.retry_work.iter()).any(mine)
            || self.task(task).is_some_and(|t| t.work_items().any(mine));
        if !pending {
            self.io_req_task_work_add(ring, task, Work::FreeReq { ring });
        }
    }

    /// `io_issue_sqe` for the modelled opcodes. Returns the request back unless it was
    /// parked in some work item.
    fn io_issue_sqe(&mut self, req: Req, ctx: IssueCtx) -> (Option<Req>, Issued) {
        match req.sqe.opcode {
            op::MSG_RING => self.io_msg_ring(req, ctx),
            _ => {
                let res = io_nop(&req.sqe);
                (Some(req), Issued::Complete(res))
            }
        }
    }

    /// `io_req_complete_failed` on 6.1: the CQE is written now (`io_req_complete_post`),
    /// ahead of the batch; the chain goes on (or is cancelled) through task_work.
    pub(crate) fn complete_now(&mut self, req: Req, res: i32) {
        self.fill_req_cqe(&req, res);
        self.io_commit_cqring_flush(req.ring);
        if let Some(next) = self.io_req_find_next(req, res) {
            let (ring, task) = (next.ring, next.task);
            self.io_req_task_work_add(ring, task, Work::Issue { req: next });
        }
    }

    /// `io_req_complete_defer`: the CQE is written at the next batch flush.
    /// A request without a link successor is kept as the CQE it will write: nothing
    /// else of it is needed at the flush.
    pub(crate) fn complete_batched(&mut self, req: Req, res: i32) {
        let r = self.ring_mut(req.ring);
        if r.drain_req && req.sqe.flags & sqe_flags::IO_DRAIN != 0 {
            // R41.3: the drain request runs alone, so this is it.
            r.drain_req_completed = true;
        }
        // A CQE with extra words goes through the general entry, which keeps the
        // request (its flush writes them; the chain after it is empty).
        let entry = if req.link.is_empty() && req_big(&req) == [0, 0] {
            Completed::Done {
                ring: req.ring,
                cqe: req_cqe(&req.sqe, res),
            }
        } else {
            Completed::Linked {
                req: Box::new(req),
                res,
            }
        };
        self.batch.push(entry);
    }

    /// `io_queue_sqe` → `io_issue_sqe` for an unlinked request issued inline, from the
    /// SQE (the request object is built only to route the result, as
    /// [`Self::issue_and_complete`] does). Only SEND_FD, which holds a file reference
    /// across task_work, is left to the general path ([`Unlinked::NeedsReq`], before
    /// changing anything).
    fn issue_unlinked_inline(&mut self, ring: RingId, task: TaskId, sqe: &Sqe) -> Unlinked {
        let mut done = Unlinked::Done;
        let issued = match sqe.opcode {
            op::MSG_RING => match self.io_msg_ring_sqe(ring, sqe, IssueCtx::Inline) {
                MsgIssue::Issued(issued) => issued,
                MsgIssue::PostedLocal { target, res } => {
                    done = Unlinked::PostedLocal(target);
                    Issued::Complete(res)
                }
                MsgIssue::SendFd { .. } => return Unlinked::NeedsReq,
            },
            _ => Issued::Complete(io_nop(sqe)),
        };
        self.route_issued(Req::new(ring, task, *sqe), issued, IssueCtx::Inline);
        done
    }

    /// `io_req_complete_post` from io-wq: rings with a lockless CQ (DEFER_TASKRUN,
    /// IOPOLL) complete through task_work; others post now, and the worker runs the
    /// next linked request itself. From 6.16 a CQE that does not fit (a full CQ, or
    /// overflowed CQEs pending: C3) is not overflowed by the worker either: the
    /// completion goes to task_work (`if (!completed) goto defer_complete`), so CQEs
    /// posted meanwhile (a MSG_RING target CQE) overflow ahead of it.
    pub(super) fn io_req_complete_post(&mut self, req: Req, res: i32) {
        let lockless = self.ring(req.ring).lockless_cq()
            && self.profile.iowq_lockless_completion_via_task_work();
        let no_room = self.profile.iowq_completion_without_room_via_task_work()
            && req_cqe(&req.sqe, res).is_some()
            && !self.cq_takes_a_cqe(req.ring);
        // 7.3: "a drain request ends the drain under uring_lock as its CQE is posted".
        let drain = self.profile.drain_ends_when_drain_completes()
            && req.sqe.flags & sqe_flags::IO_DRAIN != 0;
        if lockless || no_room || drain {
            // defer_complete: io_req_task_complete from task_work
            let (ring, task, sqe) = (req.ring, req.task, req.sqe);
            self.io_req_task_work_add(ring, task, Work::Complete { req, res });
            if self.iowq_put_later(ring) {
                self.iowq.push_front(Work::IowqPut { ring, task, sqe });
            }
            return;
        }
        self.fill_req_cqe(&req, res);
        self.io_commit_cqring_flush(req.ring);
        if let Some(next) = self.io_req_find_next(req, res) {
            self.iowq.push_front(Work::Issue { req: next });
        }
    }

    /// Writes a request's CQE unless IOSQE_CQE_SKIP_SUCCESS hides it (R41: only on
    /// success; a failure clears the skip).
    fn fill_req_cqe(&mut self, req: &Req, res: i32) {
        if let Some(cqe) = req_cqe(&req.sqe, res) {
            let _dropped_if_false = self.post_req_cqe32(req.ring, cqe, req_big(req));
        }
    }

    /// `io_submit_flush_completions`: writes the batch's CQEs in order, then starts
    /// each completed request's link successor (R40).
    pub(crate) fn io_submit_flush_completions(&mut self) {
        let mut batch = std::mem::take(&mut self.batch);
        let mut user_data = std::mem::take(&mut self.batch_user_data);
        let mut linked = false;
        let mut i = 0;
        while let Some(c) = batch.get(i) {
            match c {
                Completed::Done { ring, .. } => {
                    i += self.post_done_run(*ring, &batch[i..]);
                }
                Completed::Run {
                    ring,
                    skip,
                    start,
                    len,
                } => {
                    if !skip {
                        let run = &user_data[*start as usize..(*start + *len) as usize];
                        self.post_run(*ring, run);
                    }
                    i += 1;
                }
                Completed::Linked { req, res } => {
                    self.fill_req_cqe(req, *res);
                    linked = true;
                    i += 1;
                }
            }
        }
        if linked {
            for c in batch.drain(..) {
                if let Completed::Linked { req, res } = c {
                    if let Some(next) = self.io_req_find_next(*req, res) {
                        let (ring, task) = (next.ring, next.task);
                        self.io_req_task_work_add(ring, task, Work::Issue { req: next });
                    }
                }
            }
        }
        // Keep the allocations for the next batch (nothing was batched meanwhile).
        batch.clear();
        if self.batch.is_empty() {
            self.batch = batch;
        }
        user_data.clear();
        if self.batch_user_data.is_empty() {
            self.batch_user_data = user_data;
        }
        // The flushed requests are freed: a drain waiting on them may go on.
        for i in 0..self.rings.len() {
            let ring = RingId(i as u32);
            if self.profile.drain_ends_when_drain_completes() {
                if self.rings[i].drain_active {
                    self.io_drain_flush(ring);
                }
            } else if !self.rings[i].defer_list.is_empty() {
                self.io_queue_deferred(ring);
            }
        }
    }

    /// Writes the CQEs of a [`Completed::Run`]: `{user_data, 0, 0}` for each of
    /// `user_data`, in order (straight into the CQ while it has room and no overflow,
    /// C3, the rest through [`World::post_aux_cqe`]).
    fn post_run(&mut self, ring: RingId, user_data: &[u64]) {
        let cqe = |user_data| Cqe {
            user_data,
            res: 0,
            flags: 0,
        };
        let mut i = 0;
        let r = &mut self.rings[ring.0 as usize];
        if r.overflow.is_empty() {
            let mut w = r.cq.writer();
            i = w.write_each(user_data, |&ud| cqe(ud));
            let _ = w.finish();
        }
        for &ud in &user_data[i..] {
            let _dropped_if_false = self.post_req_cqe(ring, cqe(ud));
        }
    }

    /// Writes the CQEs of the [`Completed::Done`] entries at the front of `entries`
    /// that belong to `ring` (R16, in order; straight into the CQ while it has room
    /// and no overflow, C3, the rest through [`World::post_aux_cqe`]). Returns how
    /// many entries that was.
    fn post_done_run(&mut self, ring: RingId, entries: &[Completed]) -> usize {
        let mut i = 0;
        let r = &mut self.rings[ring.0 as usize];
        if r.overflow.is_empty() {
            let mut w = r.cq.writer();
            while let Some(Completed::Done { ring: on, cqe }) = entries.get(i) {
                if *on != ring {
                    break;
                }
                if let Some(cqe) = cqe {
                    if !w.push(*cqe) {
                        break;
                    }
                }
                i += 1;
            }
            let _ = w.finish();
        }
        while let Some(Completed::Done { ring: on, cqe }) = entries.get(i) {
            if *on != ring {
                break;
            }
            if let Some(cqe) = cqe {
                let _dropped_if_false = self.post_req_cqe(ring, *cqe);
            }
            i += 1;
        }
        i
    }

    /// `io_req_find_next` (R40): the next request of the chain, unless this one failed
    /// without IO_HARDLINK, in which case the rest is cancelled (`io_fail_links`).
    fn io_req_find_next(&mut self, mut req: Req, res: i32) -> Option<Req> {
        if req.link.is_empty() {
            return None;
        }
        let mut rest = std::mem::take(&mut req.link);
        let failed = res < 0;
        if failed && req.sqe.flags & sqe_flags::IO_HARDLINK == 0 {
            let ignore_cqes = req.sqe.flags & sqe_flags::CQE_SKIP_SUCCESS != 0;
            let (ring, task) = (rest[0].ring, rest[0].task);
            self.io_req_task_work_add(
                ring,
                task,
                Work::FailLinks {
                    reqs: rest,
                    ignore_cqes,
                },
            );
            return None;
        }
        let mut next = rest.remove(0);
        next.link = rest;
        Some(next)
    }

    /// `io_req_tw_fail_links`: each request completes with -ECANCELED, or with its
    /// own init failure; with `ignore_cqes` none of them posts a CQE. (The kernel
    /// clears REQ_F_CQE_SKIP on each; here a failure's CQE is never skipped anyway,
    /// [`req_cqe`].)
    pub(crate) fn fail_links(&mut self, reqs: Vec<Req>, ignore_cqes: bool) {
        if ignore_cqes {
            return;
        }
        for r in reqs {
            let res = r.init_failed.unwrap_or(Errno::ECANCELED.neg());
            debug_assert!(res < 0, "a cancelled link completes with a failure");
            self.complete_batched(r, res);
        }
    }
}

/// `io_nop`: the injected result with IORING_NOP_INJECT_RESULT, else 0.
fn io_nop(sqe: &Sqe) -> i32 {
    if sqe.msg_ring_flags & uapi::NOP_INJECT_RESULT != 0 {
        sqe.len as i32
    } else {
        0
    }
}

/// `io_nop_prep`: IORING_NOP_INJECT_RESULT and IORING_NOP_CQE32 are modelled (others
/// are refused before submission); unknown NOP flags are -EINVAL, and so is CQE32 on a
/// ring without 32-byte CQEs (checked on 6.18.44: real-backend/examples/exp8).
fn io_nop_prep(sqe: &Sqe, ring_flags: u32) -> Result<(), Errno> {
    const NOP_KNOWN: u32 = 0x3f;
    if sqe.msg_ring_flags & !NOP_KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    if sqe.msg_ring_flags & uapi::NOP_CQE32 != 0
        && ring_flags & (setup::CQE32 | setup::CQE_MIXED) == 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
