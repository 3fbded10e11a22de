//! An io_uring instance: its parameters, SQ, CQ, overflow list, shared flags, local
//! task_work list (DEFER_TASKRUN) and fixed-file table.

use super::{Cq, Cqe, FileId, FileTable, TaskId};
use crate::sqe::Sqe;
use crate::uapi::setup;
use std::collections::VecDeque;

/// A ring, numbered in creation order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RingId(pub u32);

/// A submitted request on its way through issue and completion.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Req {
    /// The ring the SQE was submitted to (the source ring).
    pub ring: RingId,
    /// The task whose io_uring context submitted it (`req->tctx`).
    pub task: TaskId,
    pub sqe: Sqe,
    /// `REQ_F_FAIL` with the failure result, set when `io_init_req` failed.
    pub init_failed: Option<i32>,
    /// The rest of the link chain, in order (`req->link`).
    pub link: Vec<Req>,
    /// `REQ_F_SKIP_LINK_CQES`: a failed CQE_SKIP_SUCCESS head silences its cancelled links.
    pub skip_link_cqes: bool,
    /// A SEND_FD request holds a reference to the file it grabbed (`msg->src_file`, R25).
    pub src_file: Option<FileId>,
    /// `io_defer_entry::seq` (drain by sequence, before 6.16): the number of SQEs the
    /// ring had consumed before this request's chain, set when it joins the defer list.
    pub drain_seq: u32,
}

impl Req {
    /// A request fresh from `io_init_req`: not linked, holding nothing.
    pub fn new(ring: RingId, task: TaskId, sqe: Sqe) -> Req {
        Req {
            ring,
            task,
            sqe,
            init_failed: None,
            link: Vec::new(),
            skip_link_cqes: false,
            drain_seq: 0,
            src_file: None,
        }
    }
}

/// An entry of the completion batch (`submit_state.compl_reqs`): a request that
/// completed inline and whose CQE is written at the next flush (R16).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Completed {
    /// A request with no link successor: all the flush does for it is write `cqe`
    /// (`None` when IOSQE_CQE_SKIP_SUCCESS hides it, R41) on `ring`.
    Done { ring: RingId, cqe: Option<Cqe> },
    /// `len` MSG_DATA requests of one lane run (`io_submit_sqes`' DATA lane), each
    /// completing with 0: their CQEs carry the `user_data` values at
    /// `start..start + len` of the world's batch `user_data` buffer, or none with
    /// CQE_SKIP_SUCCESS (`skip`).
    Run {
        ring: RingId,
        skip: bool,
        start: u32,
        len: u32,
    },
    /// A request whose completion also starts the rest of its chain (R40). Boxed:
    /// chains are rare, and the batch stays a vector of small entries.
    Linked { req: Box<Req>, res: i32 },
}

impl Completed {
    /// The ring the completed request was submitted to.
    pub fn ring(&self) -> RingId {
        match self {
            Completed::Done { ring, .. } | Completed::Run { ring, .. } => *ring,
            Completed::Linked { req, .. } => req.ring,
        }
    }
}

/// One unit of deferred work: on a task's task_work list, a ring's local work list
/// (DEFER_TASKRUN), or io-wq.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Work {
    /// R14 `io_msg_tw_complete`: post `cqe` on `ring` (`io_add_aux_cqe`).
    PostAux { ring: RingId, cqe: Cqe },
    /// R24 `io_msg_tw_fd_complete`: install the grabbed file into `target` and then
    /// complete the source request.
    InstallFd { target: RingId, req: Req },
    /// Complete `req` with `res` (`io_req_task_complete` / `io_req_queue_tw_complete`).
    Complete { req: Req, res: i32 },
    /// Issue `req` (a link successor: `io_req_task_queue`; or io-wq work).
    Issue { req: Req },
    /// `io_req_tw_fail_links`: complete a broken chain's remaining requests with
    /// -ECANCELED (or their own init failure). `ignore_cqes` is the head's
    /// `REQ_F_SKIP_LINK_CQES`.
    FailLinks { reqs: Vec<Req>, ignore_cqes: bool },
    /// An io-wq worker's `io_req_complete_post` of a request it has issued, left
    /// for later at choice point `iowq_post_later` (only ever on io-wq).
    IowqPost { req: Req, res: i32 },
    /// An io-wq worker's put of its reference to a request whose completion it queued
    /// on `ring`'s local work (`sqe`, `task`: which one), left for later at choice
    /// point `iowq_put_later` (only ever on io-wq).
    IowqPut {
        ring: RingId,
        task: TaskId,
        sqe: Sqe,
    },
    /// `io_free_req`'s task_work: frees a request whose references are all put; posts
    /// nothing (`REQ_F_CQE_SKIP`).
    FreeReq { ring: RingId },
}

/// An io_uring instance.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Ring {
    /// The file that is this ring (its fd points at it).
    pub file: FileId,
    /// `IORING_SETUP_*` flags as created.
    pub flags: u32,
    pub sq_entries: u32,
    /// False while `IORING_SETUP_R_DISABLED` is in force.
    pub enabled: bool,
    /// `ctx->submitter_task` (SINGLE_ISSUER), set at creation or ENABLE_RINGS (C6).
    pub submitter: Option<TaskId>,
    /// SQEs pushed by userspace and not yet consumed.
    pub sq: VecDeque<Sqe>,
    pub cq: Cq,
    /// `ctx->cq_overflow_list` (C3), FIFO.
    pub overflow: VecDeque<Cqe>,
    /// `rings->sq_flags`: `IORING_SQ_CQ_OVERFLOW`, `IORING_SQ_TASKRUN`.
    pub sq_flags: u32,
    /// `rings->cq_overflow`: CQEs dropped because an overflow allocation failed.
    pub cq_overflow: u32,
    /// `IO_CHECK_CQ_DROPPED_BIT`: the next wait reports -EBADR once (C3).
    pub dropped: bool,
    /// `ctx->work_llist`: DEFER_TASKRUN local task_work, oldest first.
    pub local_work: VecDeque<Work>,
    /// `ctx->retry_llist`: local work left over by a bounded run, run first next time.
    pub retry_work: VecDeque<Work>,
    pub table: FileTable,
    /// `ctx->drain_disabled`, set by the first CQE_SKIP_SUCCESS request (R41).
    pub drain_disabled: bool,
    /// `ctx->drain_active`: an IO_DRAIN request was submitted; every request goes
    /// through the defer list and io-wq until one that is not a drain finds the list
    /// empty (R41.1).
    pub drain_active: bool,
    /// `ctx->drain_req` (7.3+): a drain request released from the defer list without
    /// links, running alone; its completion may end the drain (R41.3).
    pub drain_req: bool,
    /// The drain request of `drain_req` completed into the current completion batch
    /// (`io_drain_req_completed` finds it in `compl_reqs`).
    pub drain_req_completed: bool,
    /// `ctx->drain_next`: the request after the current chain is drained.
    pub drain_next: bool,
    /// `ctx->defer_list`: requests waiting for everything before them to complete.
    pub defer_list: VecDeque<Req>,
    /// `ctx->cached_sq_head`: SQEs consumed so far (the drain sequence, before 6.16).
    pub sq_consumed: u32,
    /// `ctx->cq_extra`: CQEs posted that no request of this ring owns (MSG_RING target
    /// CQEs, `io_post_aux_cqe`), counted whether they reached the CQ or the overflow
    /// list (the drain sequence, before 6.16).
    pub cq_extra: u32,
    /// SQPOLL: the SQ thread is polling (M8). It starts asleep with
    /// IORING_SQ_NEED_WAKEUP set and wakes on enter with IORING_ENTER_SQ_WAKEUP.
    pub sqpoll_awake: bool,
    /// `ctx->personalities`: registered personality ids (`IORING_REGISTER_PERSONALITY`).
    pub personalities: std::collections::BTreeSet<u16>,
    /// `ctx->pers_next`: where the next cyclic id search starts.
    pub pers_next: u32,
    /// The extra words (`big_cqe`) of the overflow list's entries, parallel to
    /// `overflow`, on a ring that has had non-zero ones (empty otherwise: all zero).
    pub overflow_big: VecDeque<[u64; 2]>,
}

impl Ring {
    pub fn new(file: FileId, flags: u32, sq_entries: u32, cq_entries: u32) -> Ring {
        Ring {
            file,
            flags,
            sq_entries,
            enabled: flags & setup::R_DISABLED == 0,
            submitter: None,
            sq: VecDeque::new(),
            cq: Cq::new(cq_entries),
            overflow: VecDeque::new(),
            sq_flags: if flags & setup::SQPOLL != 0 {
                crate::uapi::sq::NEED_WAKEUP
            } else {
                0
            },
            cq_overflow: 0,
            dropped: false,
            local_work: VecDeque::new(),
            retry_work: VecDeque::new(),
            table: FileTable::default(),
            drain_disabled: false,
            drain_active: false,
            drain_req: false,
            drain_req_completed: false,
            drain_next: false,
            defer_list: VecDeque::new(),
            sq_consumed: 0,
            cq_extra: 0,
            sqpoll_awake: false,
            personalities: Default::default(),
            pers_next: 0,
            overflow_big: VecDeque::new(),
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// C5 `ctx->task_complete`: DEFER_TASKRUN without IOPOLL or SQPOLL.
    pub fn task_complete(&self) -> bool {
        self.has(setup::DEFER_TASKRUN) && !self.has(setup::IOPOLL) && !self.has(setup::SQPOLL)
    }

    /// C5 `ctx->lockless_cq`: `task_complete || IOPOLL`.
    pub fn lockless_cq(&self) -> bool {
        self.task_complete() || self.has(setup::IOPOLL)
    }
}
