//! helio / Dragonfly (romange/helio): `UringProactor::WakeRing` and the proactor loop.
//!
//! Each proactor thread owns a ring and a task queue. `DispatchBrief` enqueues a task on
//! another proactor and calls `WakeupIfNeeded`: `tq_seq_.fetch_add(2)`; only if the
//! target had entered its WAIT section (`tq_seq_ == WAIT_SECTION_STATE`) does the caller
//! `WakeRing` it, by preparing MSG_RING(target fd, 0, 0) on the *caller's own* SQ. The
//! proactor loop submits at its top, runs its tasks, and enters the WAIT section with a
//! CAS on `tq_seq_` before `wait_for_cqe(1)` (liburing's `io_uring_wait_cqes`, which does
//! not submit).
//!
//! Variants:
//! * [`Variant::FlushOnWake`]: PR #448's `submit_on_wake_`: the waker submits its SQ
//!   right after preparing the message.
//! * [`Variant::Lazy`] (the hazard PR #448 closes, liburing #839): the wake SQE waits
//!   for the caller's next submit; a caller that goes to sleep first has staged a
//!   wake that is no wake, and both proactors sleep.

use super::drain;
use msgring::sync::{Arc, AtomicU32, Mutex, Ordering};
use msgring::uring::{opcode, sim, types, IoUring};
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;

const WAIT_SECTION_STATE: u32 = 1;
/// `kMsgRingSubmitTag`: the user_data of the waker's own CQE.
const MSG_RING_SUBMIT_TAG: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    FlushOnWake,
    Lazy,
}

#[derive(Clone, Copy, Debug)]
enum Task {
    /// Dispatch a Ping to the other proactor.
    SendPing,
    /// Answer with a Pong and stop.
    Ping,
    /// The answer: stop.
    Pong,
}

struct Proactor {
    name: &'static str,
    ring: Mutex<Option<Arc<IoUring>>>,
    task_queue: Mutex<VecDeque<Task>>,
    tq_seq: AtomicU32,
}

struct Pair {
    p: [Proactor; 2],
    variant: Variant,
}

impl Pair {
    fn ring(&self, i: usize) -> Arc<IoUring> {
        self.p[i].ring.lock().unwrap().clone().expect("ring set up")
    }

    /// `ProactorBase::EmplaceTaskQueue` + `WakeupIfNeeded`, called on proactor `from`.
    fn dispatch(&self, from: usize, to: usize, t: Task) -> io::Result<()> {
        self.p[to].task_queue.lock().unwrap().push_back(t);
        let current = self.p[to].tq_seq.fetch_add(2, Ordering::AcqRel);
        if current != WAIT_SECTION_STATE {
            sim::note(format!("{} not in WAIT section: no wake", self.p[to].name));
            return Ok(());
        }
        // WakeRing: MSG_RING(target ring, 0, 0) on the caller's own SQ.
        let target = self.ring(to);
        let mine = self.ring(from);
        let sqe = opcode::MsgRingData::new(types::Fd(target.as_raw_fd()), 0, 0, None)
            .build()
            .user_data(MSG_RING_SUBMIT_TAG);
        mine.submission_shared()
            .push(&sqe)
            .map_err(|_| io::Error::other("SQ full"))?;
        if self.variant == Variant::FlushOnWake {
            mine.submit()?;
        } else {
            sim::note("wake SQE staged, to go out with the next submit");
        }
        Ok(())
    }

    /// `UringProactor::MainLoop` of proactor `me` until it stops.
    fn main_loop(&self, me: usize) -> io::Result<()> {
        let other = 1 - me;
        let ring = self.ring(me);
        let pr = &self.p[me];
        loop {
            // io_uring_submit_and_get_events at the loop's top.
            ring.submit()?;
            drain(&ring);
            let tq_seq = pr.tq_seq.load(Ordering::Acquire);
            let mut stop = false;
            loop {
                let Some(t) = pr.task_queue.lock().unwrap().pop_front() else {
                    break;
                };
                match t {
                    Task::SendPing => self.dispatch(me, other, Task::Ping)?,
                    Task::Ping => {
                        self.dispatch(me, other, Task::Pong)?;
                        stop = true;
                    }
                    Task::Pong => stop = true,
                }
            }
            if stop {
                // The last SQEs (a wake, perhaps) go out before the proactor stops.
                ring.submit()?;
                return Ok(());
            }
            let empty = pr.task_queue.lock().unwrap().is_empty();
            if empty
                && pr
                    .tq_seq
                    .compare_exchange(
                        tq_seq,
                        WAIT_SECTION_STATE,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                // wait_for_cqe(&ring_, 1): io_uring_wait_cqes submits nothing.
                ring.submitter()
                    .enter::<()>(0, 1, msgring::uapi::enter::GETEVENTS, None)?;
                pr.tq_seq.store(0, Ordering::Release);
            }
        }
    }
}

/// One execution: proactor 0 (the main thread) dispatches a Ping to proactor 1, which
/// answers with a Pong; both stop. Property: both stop (no lost wake-up).
pub fn run(variant: Variant) -> io::Result<()> {
    let mk = |name| Proactor {
        name,
        ring: Mutex::new(None),
        task_queue: Mutex::new(VecDeque::new()),
        tq_seq: AtomicU32::new(0),
    };
    let pair = Arc::new(Pair {
        p: [mk("proactor 0"), mk("proactor 1")],
        variant,
    });
    // Each proactor's ring is created by its own thread; proactor 1's before it runs.
    *pair.p[0].ring.lock().unwrap() =
        Some(Arc::new(IoUring::builder().name("proactor 0").build(4)?));
    let ready = Arc::new(AtomicU32::new(0));
    let p1 = {
        let pair = Arc::clone(&pair);
        let ready = Arc::clone(&ready);
        sim::thread::spawn("proactor 1", move || -> io::Result<()> {
            *pair.p[1].ring.lock().unwrap() =
                Some(Arc::new(IoUring::builder().name("proactor 1").build(4)?));
            ready.store(1, Ordering::Release);
            pair.main_loop(1)
        })
    };
    while ready.load(Ordering::Acquire) == 0 {
        sim::yield_now();
    }
    pair.p[0]
        .task_queue
        .lock()
        .unwrap()
        .push_back(Task::SendPing);
    pair.main_loop(0)?;
    p1.join().expect("proactor 1 panicked")
}
