//! The concurrent kernel: rings with their locks, task_work lists, io-wq workers.

use super::cq::SharedCq;
use super::rules::{self, IoMsg};
use super::Mutation;
use crate::errno::Errno;
use crate::sqe::Sqe;
use crate::state::{Cqe, FileId, FileTable};
use crate::sync::{thread, Arc, AtomicU32, Condvar, Mutex, MutexGuard, Ordering};
use crate::uapi::{msg, setup, sqe_flags};
use std::collections::VecDeque;

/// What the `uring_lock` protects in this model: the fixed-file table (R21, R25).
pub(crate) struct Locked {
    pub table: FileTable,
}

/// A request in flight (the parts MSG_RING needs).
#[derive(Clone, Debug)]
pub(crate) struct KReq {
    /// The source ring (= the submitting thread).
    pub ring: usize,
    pub sqe: Sqe,
    /// R25: the file a SEND_FD grabbed, kept across an -EAGAIN retry.
    pub src_file: Option<FileId>,
}

/// Deferred work on a task's list or a DEFER_TASKRUN ring's local list.
#[derive(Debug)]
pub(crate) enum Tw {
    /// R14 `io_msg_tw_complete`: post this CQE on the list's ring.
    PostAux(Cqe),
    /// R24 `io_msg_tw_fd_complete` on `target`.
    InstallFd { target: usize, req: KReq },
    /// Complete a request of the list's ring with this CQE (batched).
    Complete(Cqe),
}

pub(crate) struct TaskTw {
    pub alive: bool,
    pub items: VecDeque<Tw>,
}

pub(crate) struct KRing {
    pub flags: u32,
    pub uring_lock: Mutex<Locked>,
    pub completion_lock: Mutex<()>,
    pub cq: SharedCq,
    /// `ctx->work_llist` (DEFER_TASKRUN), run only by the owner in GETEVENTS.
    pub local: Mutex<VecDeque<Tw>>,
    /// The ring's wait queue: a wake counter the owner sleeps on.
    pub wq: Mutex<u64>,
    pub wq_cv: Condvar,
}

impl KRing {
    fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
    /// C5 (same predicate as [`crate::state::Ring::task_complete`]).
    pub(crate) fn task_complete(&self) -> bool {
        self.has(setup::DEFER_TASKRUN) && !self.has(setup::IOPOLL) && !self.has(setup::SQPOLL)
    }
    pub(crate) fn lockless_cq(&self) -> bool {
        self.task_complete() || self.has(setup::IOPOLL)
    }
    pub(crate) fn iopoll(&self) -> bool {
        self.has(setup::IOPOLL)
    }
    pub(crate) fn defer(&self) -> bool {
        self.has(setup::DEFER_TASKRUN)
    }
    fn wake(&self) {
        let mut g = self.wq.lock().unwrap();
        *g += 1;
        drop(g);
        self.wq_cv.notify_all();
    }
}

/// Issuing produced: a result, a parked request, or -EAGAIN (punt to io-wq).
enum Issued {
    Complete(i32),
    Parked,
    Again(KReq),
}

/// The whole concurrent kernel. Ring `i` is owned (SINGLE_ISSUER) by thread/task `i`.
pub struct Kernel {
    pub(crate) rings: Vec<KRing>,
    pub(crate) tasks: Vec<Mutex<TaskTw>>,
    /// `f_count` of every file, indexed by [`FileId`].
    pub(crate) refs: Vec<AtomicU32>,
    pub(crate) file_is_ring: Vec<bool>,
    /// fd -> ring index (every other fd is not a ring; unknown fds are -EBADF).
    pub(crate) fd_ring: Vec<(i32, Option<usize>)>,
    pub(crate) mutation: Mutation,
    pub(crate) workers: std::sync::Mutex<Vec<thread::JoinHandle<()>>>,
}

impl Kernel {
    fn ring(&self, r: usize) -> &KRing {
        &self.rings[r]
    }

    fn target_of(&self, fd: i32) -> Result<usize, Errno> {
        match self.fd_ring.iter().find(|(f, _)| *f == fd) {
            None => Err(Errno::EBADF),
            Some((_, None)) => Err(Errno::EBADFD),
            Some((_, Some(r))) => Ok(*r),
        }
    }

    // ---- posting (C2-C4) -------------------------------------------------------------

    /// `io_post_aux_cqe` (R12, R13): under `completion_lock`; an IOPOLL ring's caller
    /// also holds its `uring_lock`. A full CQ overflows.
    fn post_aux(&self, r: usize, cqe: Cqe) {
        let ring = self.ring(r);
        let g = ring.completion_lock.lock().unwrap();
        if !ring.cq.fill(cqe) {
            if self.mutation == Mutation::B12OverflowNoLock {
                drop(g);
                ring.cq.overflow_append(cqe);
            } else {
                ring.cq.overflow_append(cqe);
                drop(g);
            }
        } else {
            drop(g);
        }
        ring.wake();
    }

    /// Posts completions of requests of ring `r` (`__io_submit_flush_completions`, or
    /// `io_add_aux_cqe` from the owner's task_work): a lockless ring relies on its
    /// `uring_lock` (IOPOLL, held by the caller) or on running in its owner
    /// (DEFER_TASKRUN); others take `completion_lock`. Overflow appends always take
    /// `completion_lock` (C3).
    fn post_owned(&self, r: usize, cqes: &[Cqe]) {
        if cqes.is_empty() {
            return;
        }
        let ring = self.ring(r);
        if !ring.lockless_cq() {
            let _g = ring.completion_lock.lock().unwrap();
            for &c in cqes {
                if !ring.cq.fill(c) {
                    ring.cq.overflow_append(c);
                }
            }
        } else {
            for &c in cqes {
                if !ring.cq.fill(c) {
                    if self.mutation == Mutation::B12OverflowNoLock {
                        ring.cq.overflow_append(c);
                    } else {
                        let _g = ring.completion_lock.lock().unwrap();
                        ring.cq.overflow_append(c);
                    }
                }
            }
        }
        ring.wake();
    }

    /// C4 flush, under `completion_lock` (the IOPOLL caller holds `uring_lock` too).
    fn flush_overflow(&self, r: usize) {
        let ring = self.ring(r);
        let _g = ring.completion_lock.lock().unwrap();
        ring.cq.overflow_flush();
    }

    // ---- task_work ------------------------------------------------------------------

    /// `io_req_task_work_add` for a request of ring `r`: the ring's local list
    /// (DEFER_TASKRUN) or its owner's task_work list.
    fn req_task_work_add(&self, r: usize, w: Tw) {
        if self.ring(r).defer() {
            self.ring(r).local.lock().unwrap().push_back(w);
        } else {
            self.tasks[r].lock().unwrap().items.push_back(w);
        }
        self.ring(r).wake();
    }

    /// Runs task `t`'s task_work until its list is empty (`tctx_task_work`). Returns
    /// whether anything ran.
    pub(crate) fn run_task_work(&self, t: usize) -> bool {
        let mut any = false;
        loop {
            let items: Vec<Tw> = self.tasks[t].lock().unwrap().items.drain(..).collect();
            if items.is_empty() {
                return any;
            }
            any = true;
            self.run_items(t, items);
        }
    }

    /// Runs work items in ring/task `r`'s context; completions are batched and posted
    /// at the end of the pass (`ctx_flush_and_put`).
    fn run_items(&self, r: usize, items: Vec<Tw>) {
        let mut batch = Vec::new();
        for w in items {
            match w {
                Tw::PostAux(c) => self.post_owned(r, &[c]),
                Tw::Complete(c) => batch.push(c),
                Tw::InstallFd { target, req } => {
                    let g = self.ring(target).uring_lock.lock().unwrap();
                    let (req, res) = self.install_complete(target, g, req);
                    self.req_task_work_add(req.ring, Tw::Complete(src_cqe(&req, res)));
                }
            }
        }
        if !batch.is_empty() {
            if self.ring(r).iopoll() {
                let _g = self.ring(r).uring_lock.lock().unwrap();
                self.post_owned(r, &batch);
            } else {
                self.post_owned(r, &batch);
            }
        }
    }

    /// `__io_run_local_work` by the owner of DEFER_TASKRUN ring `r`.
    fn run_local_work(&self, r: usize) {
        let items: Vec<Tw> = self.ring(r).local.lock().unwrap().drain(..).collect();
        if !items.is_empty() {
            self.run_items(r, items);
        }
    }

    // ---- MSG_RING issue (R3-R25) -----------------------------------------------------

    /// `io_msg_ring` issued inline (`own` is the source's `uring_lock`, held by the
    /// submitting task) or from io-wq (`own == None`).
    fn issue(&self, mut req: KReq, own: Option<&mut MutexGuard<'_, Locked>>) -> Issued {
        let inline = own.is_some();
        let target = match self.target_of(req.sqe.fd) {
            Ok(t) => t,
            Err(e) => return Issued::Complete(e.neg()),
        };
        let m = IoMsg::from_sqe(&req.sqe);
        if m.is_data() {
            if let Err(e) = rules::msg_data_field_checks(&m) {
                return Issued::Complete(e.neg());
            }
            let cqe = Cqe {
                user_data: m.user_data,
                res: m.len as i32,
                flags: m.data_cqe_flags(),
            };
            let tr = self.ring(target);
            if tr.task_complete() {
                // R14: a fresh request on the target's local list; src completes now.
                tr.local.lock().unwrap().push_back(Tw::PostAux(cqe));
                tr.wake();
                return Issued::Complete(0);
            }
            if tr.iopoll() && self.mutation != Mutation::B3IopollNoLock {
                // R12 + R22: the IOPOLL target's uring_lock.
                let _g = if inline {
                    if target == req.ring {
                        return Issued::Again(req);
                    }
                    match tr.uring_lock.try_lock() {
                        Ok(g) => g,
                        Err(_) => return Issued::Again(req),
                    }
                } else {
                    tr.uring_lock.lock().unwrap()
                };
                self.post_aux(target, cqe);
            } else {
                self.post_aux(target, cqe);
            }
            return Issued::Complete(0);
        }
        if !m.is_send_fd() {
            return Issued::Complete(Errno::EINVAL.neg());
        }
        if let Err(e) = rules::msg_send_fd_checks(req.ring, target, &m) {
            return Issued::Complete(e.neg());
        }
        // B15 (6.0): io-wq takes the source lock and keeps it while taking the target's.
        let b15 = !inline && self.mutation == Mutation::B15DoubleLock;
        let mut held_src = if b15 {
            Some(self.ring(req.ring).uring_lock.lock().unwrap())
        } else {
            None
        };
        if req.src_file.is_none() {
            // R20.4 io_msg_grab_file under the source's uring_lock.
            let f = match (own, held_src.as_mut()) {
                (Some(g), _) => g.table.get(m.src_fd),
                (None, Some(g)) => g.table.get(m.src_fd),
                (None, None) => self
                    .ring(req.ring)
                    .uring_lock
                    .lock()
                    .unwrap()
                    .table
                    .get(m.src_fd),
            };
            let Some(f) = f else {
                return Issued::Complete(Errno::EBADF.neg());
            };
            self.refs[f.0 as usize].fetch_add(1, Ordering::AcqRel);
            req.src_file = Some(f);
        }
        let tr = self.ring(target);
        if tr.task_complete() {
            // R24 io_msg_fd_remote: task_work_add to the owner, which fails once it exited.
            let mut t = self.tasks[target].lock().unwrap();
            if !t.alive {
                drop(t);
                self.cleanup(&mut req);
                return Issued::Complete(Errno::EOWNERDEAD.neg());
            }
            t.items.push_back(Tw::InstallFd { target, req });
            drop(t);
            tr.wake();
            return Issued::Parked;
        }
        let g = if inline {
            match tr.uring_lock.try_lock() {
                Ok(g) => g,
                Err(_) => return Issued::Again(req),
            }
        } else {
            tr.uring_lock.lock().unwrap()
        };
        let (_req, res) = self.install_complete(target, g, req);
        drop(held_src);
        Issued::Complete(res)
    }

    /// R25 `io_msg_ring_cleanup`.
    fn cleanup(&self, req: &mut KReq) {
        if let Some(f) = req.src_file.take() {
            let old = self.refs[f.0 as usize].fetch_sub(1, Ordering::AcqRel);
            assert!(old > 0, "fput of a released file");
        }
    }

    /// R21, R23 `io_msg_install_complete` with the target's `uring_lock` held.
    fn install_complete(
        &self,
        target: usize,
        mut g: MutexGuard<'_, Locked>,
        mut req: KReq,
    ) -> (KReq, i32) {
        let m = IoMsg::from_sqe(&req.sqe);
        let file = req.src_file.expect("grabbed before install");
        let is_ring = self.file_is_ring[file.0 as usize];
        let ret = match rules::io_fixed_fd_install(
            &mut g.table,
            file,
            is_ring,
            m.dst_fd,
            true,
            &mut || false,
        ) {
            Ok((ret, old)) => {
                if let Some(old) = old {
                    let n = self.refs[old.0 as usize].fetch_sub(1, Ordering::AcqRel);
                    assert!(n > 0, "fput of a released file");
                }
                ret
            }
            Err(e) => {
                drop(g);
                self.cleanup(&mut req);
                return (req, e.neg());
            }
        };
        req.src_file = None;
        if m.flags & msg::CQE_SKIP == 0 {
            let cqe = Cqe {
                user_data: m.user_data,
                res: ret,
                flags: 0,
            };
            self.post_aux(target, cqe);
        }
        drop(g);
        (req, ret)
    }

    /// Runs a punted request on a new io-wq worker (`IO_URING_F_UNLOCKED`).
    fn punt(this: &Arc<Self>, req: KReq) {
        let k = Arc::clone(this);
        let h = thread::spawn(move || {
            let res = match k.issue(req.clone(), None) {
                Issued::Complete(res) => Some(res),
                Issued::Parked => None,
                Issued::Again(_) => unreachable!("io-wq never trylocks"),
            };
            if let Some(res) = res {
                k.complete_post(&req, res);
            }
        });
        this.workers.lock().unwrap().push(h);
    }

    /// `io_req_complete_post` from io-wq: a lockless source completes via task_work.
    fn complete_post(&self, req: &KReq, res: i32) {
        let c = src_cqe(req, res);
        if self.ring(req.ring).lockless_cq() {
            self.req_task_work_add(req.ring, Tw::Complete(c));
        } else {
            self.post_aux(req.ring, c);
        }
    }

    // ---- system calls by thread `t` on its ring `t` -----------------------------------

    /// `io_uring_enter(ring t, 1, 0, 0)` after pushing `sqe`: returns 1 (submitted).
    pub(crate) fn submit(this: &Arc<Self>, t: usize, sqe: Sqe) -> i32 {
        let ring = this.ring(t);
        let mut g = ring.uring_lock.lock().unwrap();
        let req = KReq {
            ring: t,
            sqe,
            src_file: None,
        };
        let mut batch = Vec::new();
        let prep = if sqe.opcode == crate::uapi::op::MSG_RING {
            rules::io_msg_ring_prep(&sqe, crate::Profile::V6_18)
        } else {
            Ok(())
        };
        match prep {
            Err(e) => batch.push(src_cqe(&req, e.neg())),
            Ok(()) if sqe.opcode != crate::uapi::op::MSG_RING => batch.push(src_cqe(&req, 0)),
            Ok(()) if sqe.flags & sqe_flags::ASYNC != 0 => Self::punt(this, req),
            Ok(()) => match this.issue(req.clone(), Some(&mut g)) {
                Issued::Complete(res) => batch.push(src_cqe(&req, res)),
                Issued::Parked => {}
                Issued::Again(req) => Self::punt(this, req),
            },
        }
        this.post_owned(t, &batch);
        drop(g);
        this.run_task_work(t);
        1
    }

    /// `io_uring_enter(ring t, 0, min_complete, GETEVENTS)` by its owner. Blocks until
    /// `min_complete` CQEs are visible (a wait nothing satisfies is a loom deadlock).
    pub(crate) fn getevents(&self, t: usize, min_complete: u32) -> i32 {
        let ring = self.ring(t);
        if ring.iopoll() {
            // io_iopoll_check, under uring_lock; never waits in this model.
            let g = ring.uring_lock.lock().unwrap();
            self.flush_overflow(t);
            drop(g);
            if ring.cq.ready() == 0 {
                self.run_local_work(t);
            }
            self.run_task_work(t);
            return 0;
        }
        let min = min_complete.min(ring.cq.entries());
        loop {
            let seen = *ring.wq.lock().unwrap();
            if ring.task_complete() {
                self.run_local_work(t);
            }
            self.run_task_work(t);
            self.flush_overflow(t);
            if ring.cq.ready() >= min {
                break;
            }
            let mut g = ring.wq.lock().unwrap();
            while *g == seen {
                g = ring.wq_cv.wait(g).unwrap();
            }
        }
        self.run_task_work(t);
        0
    }

    /// Userspace reads every visible CQE of ring `t`.
    pub(crate) fn reap(&self, t: usize) -> Vec<Cqe> {
        self.ring(t).cq.reap()
    }

    /// The owner thread exits: its pending task_work runs, then `task_work_add` fails.
    pub(crate) fn exit(&self, t: usize) {
        loop {
            let mut g = self.tasks[t].lock().unwrap();
            if g.items.is_empty() {
                g.alive = false;
                return;
            }
            let items: Vec<Tw> = g.items.drain(..).collect();
            drop(g);
            self.run_items(t, items);
        }
    }

    /// After every thread ended: joins io-wq workers, then runs task_work left on any
    /// task's list (TWA_SIGNAL eventually interrupts a live owner; a dead task's work
    /// runs from the fallback worker).
    pub(crate) fn quiesce(&self) {
        loop {
            let hs: Vec<_> = self.workers.lock().unwrap().drain(..).collect();
            if hs.is_empty() {
                break;
            }
            for h in hs {
                h.join().unwrap();
            }
        }
        loop {
            let mut any = false;
            for t in 0..self.tasks.len() {
                any |= self.run_task_work(t);
            }
            if !any {
                break;
            }
        }
    }
}

/// The source CQE of `req` with result `res`.
fn src_cqe(req: &KReq, res: i32) -> Cqe {
    Cqe {
        user_data: req.sqe.user_data,
        res,
        flags: 0,
    }
}
