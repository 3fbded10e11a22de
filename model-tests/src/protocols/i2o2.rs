//! i2o2 (lnx-search/i2o2): the scheduler's `RingWaker` (PR #18).
//!
//! The scheduler thread owns a SINGLE_ISSUER | DEFER_TASKRUN ring. Other threads hand
//! it work through a queue and then `signal_work_added`: bump `work_counter`, and if
//! the scheduler asked to be woken (`wants_wake.swap(false)`) and the ring is not
//! `closed`, send a ringless `io_uring_register_sync_msg` (MSG_DATA, len 1) to the ring.
//! The scheduler, before it sleeps in `io_uring_wait_cqe` (no submit), checks for work,
//! sets `wants_wake`, and checks again (`maybe_wait_for_events`). When the scheduler
//! stops it sets `closed`, so later wakes send nothing.
//!
//! Variants:
//! * [`Variant::Fixed`]: as published, with a `fence(SeqCst)` between each side's
//!   write and read (the scheduler's `wants_wake` store and counter load, the client's
//!   counter increment and `wants_wake` swap), which closes the store-buffering window
//!   below. (Making all four accesses `SeqCst` closes it too, but loom regards `SeqCst`
//!   accesses as `AcqRel` and would still report it; it models `SeqCst` fences.)
//!   Under loom this needs a loom that keeps RMW atomicity (`.ci/loom/cargo`): loom
//!   0.7.3 reports a lost wake-up that C++20 forbids, the scheduler's `wants_wake` store
//!   falling between the read and the write of the client's first swap, although the
//!   queue's mutex orders it before the second swap (docs/protocols.md, "i2o2 under
//!   loom"; `tests/loom_rmw_atomicity.rs` is the same execution without msgring).
//! * [`Variant::Published`]: i2o2's orderings (`work_counter`: `fetch_add(Release)`,
//!   `load(Acquire)`; `wants_wake`: `SeqCst`). Under the Rust (C++20) memory model this
//!   is the store-buffering pattern: the scheduler's store of `wants_wake` and its
//!   acquire load of the counter do not synchronize with the client's increment and
//!   swap, so both may miss the other: the client sees no request for a wake and the
//!   scheduler sees no new work, and sleeps. loom finds it at preemption bound 2 with
//!   one operation (with two, the race on the second needs bound 3: the scheduler must
//!   first see the first); std threads and shuttle (sequentially consistent) cannot,
//!   and neither can x86-64 or ARMv8 hardware (a load-acquire is not reordered before
//!   an earlier store-release there).
//! * [`Variant::SingleCheck`]: no second check after `ask_for_wake`: work added
//!   between the first check and the flag swaps the flag to false without a wake only
//!   if the flag was not yet set, so the scheduler sleeps with work queued (the race
//!   every ask-then-sleep protocol has to close).

use super::drain;
use msgring::sync::{fence, Arc, AtomicBool, AtomicU64, Mutex, Ordering};
use msgring::uring::{opcode, sim, types, IoUring};
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;

/// `flags::pack(Flag::Wake, 0, 0)`.
const WAKE: u64 = 1 << 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Fixed,
    Published,
    SingleCheck,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub variant: Variant,
    /// Operations handed to the scheduler.
    pub ops: u64,
}

struct WakerInner {
    variant: Variant,
    ring_fd: i32,
    closed: AtomicBool,
    wants_wake: AtomicBool,
    work_counter: AtomicU64,
    queue: Mutex<VecDeque<u64>>,
}

impl WakerInner {
    /// `RingWaker::wake`: whether the ring was woken.
    fn ring_wake(&self) -> bool {
        if self.closed.load(Ordering::Acquire) {
            sim::note("ring closed: no wake");
            return false;
        }
        let sqe = opcode::MsgRingData::new(types::Fd(self.ring_fd), 1, WAKE, None).build();
        match msgring::uring::register_sync_msg(&sqe) {
            Ok(()) => true,
            Err(e) => {
                sim::note(format!("sync msg failed: {e}"));
                false
            }
        }
    }

    /// `Waker::signal_work_added`.
    fn signal_work_added(&self) -> bool {
        self.work_counter.fetch_add(1, Ordering::Release);
        if self.variant != Variant::Published {
            fence(Ordering::SeqCst);
        }
        if self.wants_wake.swap(false, Ordering::SeqCst) {
            self.ring_wake()
        } else {
            sim::note("scheduler did not ask for a wake");
            false
        }
    }
}

struct Scheduler {
    ring: IoUring,
    waker: Arc<WakerInner>,
    last_read_work_counter: u64,
    variant: Variant,
}

impl Scheduler {
    /// New work since the last look, or CQEs ready (`has_completions_ready` reads the
    /// CQ tail: shared ring memory).
    fn has_outstanding_work(&mut self) -> bool {
        let c = self.waker.work_counter.load(Ordering::Acquire);
        let prev = std::mem::replace(&mut self.last_read_work_counter, c);
        let r = c != prev || !self.ring.completion_shared().is_empty();
        sim::note(format!("work counter {prev} -> {c}: outstanding work {r}"));
        r
    }

    /// `maybe_wait_for_events`.
    fn maybe_wait_for_events(&mut self) -> io::Result<()> {
        if self.has_outstanding_work() {
            return Ok(());
        }
        self.waker.wants_wake.store(true, Ordering::SeqCst);
        sim::note("asks for a wake");
        if self.variant != Variant::Published {
            fence(Ordering::SeqCst);
        }
        if self.variant != Variant::SingleCheck && self.has_outstanding_work() {
            return Ok(());
        }
        // io_uring_wait_cqe: wait for one CQE, submit nothing.
        self.ring
            .submitter()
            .enter::<()>(0, 1, msgring::uapi::enter::GETEVENTS, None)?;
        drain(&self.ring);
        Ok(())
    }
}

/// One execution: the scheduler (main) runs until it has processed `ops` operations
/// handed over by a client thread. Property: it processes them all (no lost wake-up),
/// and a wake after the scheduler closed sends nothing.
pub fn run(cfg: Config) -> io::Result<()> {
    let ring = IoUring::builder()
        .name("i2o2 scheduler")
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(4)?;
    let waker = Arc::new(WakerInner {
        variant: cfg.variant,
        ring_fd: ring.as_raw_fd(),
        closed: AtomicBool::new(false),
        wants_wake: AtomicBool::new(false),
        work_counter: AtomicU64::new(0),
        queue: Mutex::new(VecDeque::new()),
    });
    let w = Arc::clone(&waker);
    let ops = cfg.ops;
    let client = sim::thread::spawn("client", move || -> io::Result<()> {
        for op in 0..ops {
            w.queue.lock().unwrap().push_back(op);
            sim::note(format!("queued {op}"));
            w.signal_work_added();
        }
        Ok(())
    });
    let mut s = Scheduler {
        ring,
        waker: Arc::clone(&waker),
        last_read_work_counter: 0,
        variant: cfg.variant,
    };
    let mut done = 0;
    while done < ops {
        let got: Vec<u64> = s.waker.queue.lock().unwrap().drain(..).collect();
        done += got.len() as u64;
        sim::note(format!("ran {got:?}"));
        if done < ops {
            s.maybe_wait_for_events()?;
        }
    }
    // Drop of the ring: closed from now on.
    waker.closed.store(true, Ordering::Release);
    client.join().expect("client panicked")?;
    sim::ensure(!waker.ring_wake(), || "a wake after close was sent".into())?;
    sim::ensure(done == ops, || format!("processed {done} of {ops}"))
}
