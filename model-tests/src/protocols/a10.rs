//! a10 (Thomasdezeeuw/a10): the ring's waker, `Submissions::wake` with `PollingState`.
//!
//! The runtime thread owns the ring and polls it: when no CQE is ready it marks itself
//! polling and sleeps in `io_uring_enter(GETEVENTS)`. Another thread that makes a task
//! runnable calls `wake()`, which sends a MSG_DATA (user_data `WAKE_USER_DATA`) to the
//! ring itself, only if the runtime is polling. On a SINGLE_ISSUER ring the waker may
//! not submit (it is not the owner: -EEXIST), so it uses the ringless
//! `IORING_REGISTER_SEND_MSG_RING` (6.13+).
//!
//! Variants:
//! * [`Variant::Fixed`]: `PollingState` (commit 085fc02, "Make waking more robust"):
//!   `wake()` sets an AWOKEN bit, and `set_polling(true)` returns it, so a wake that
//!   came before the poll makes the poll use a zero timeout.
//! * [`Variant::PollingBool`] (before 085fc02, issue #75): an `is_polling` bool, set
//!   just before the enter: a wake between the run-queue check and the store is lost.
//! * [`Variant::SubmitFromWaker`] (before d882b3a / PR #261): the waker submits the
//!   message on the SINGLE_ISSUER ring it does not own; the enter fails with -EEXIST
//!   and the wake is lost.

use super::drain;
use msgring::sync::{Arc, AtomicBool, AtomicU8, Mutex, Ordering};
use msgring::uring::{opcode, sim, types, IoUring};
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;

/// `cq::WAKE_USER_DATA` in a10.
pub const WAKE_USER_DATA: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Fixed,
    PollingBool,
    SubmitFromWaker,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub variant: Variant,
    /// SINGLE_ISSUER | DEFER_TASKRUN ring (the waker cannot submit on it).
    pub single_issuer: bool,
    /// Tasks the waker makes runnable, one wake each.
    pub tasks: u32,
}

const IS_POLLING: u8 = 0b01;
const IS_AWOKEN: u8 = 0b10;

/// `PollingState` as in a10's lib.rs.
struct PollingState(AtomicU8);

impl PollingState {
    /// Returns whether a wake came since the last call (poll with a zero timeout).
    fn set_polling(&self, polling: bool) -> bool {
        let old = self.0.swap(u8::from(polling), Ordering::AcqRel);
        old & IS_AWOKEN != 0
    }
    /// Returns whether the caller must send the wake-up message.
    fn wake(&self) -> bool {
        self.0.fetch_or(IS_AWOKEN, Ordering::AcqRel) == IS_POLLING
    }
}

struct Shared {
    ring: IoUring,
    single_issuer: bool,
    variant: Variant,
    polling: PollingState,
    /// The old `is_polling` bool (PollingBool variant).
    is_polling: AtomicBool,
    /// Tasks made runnable by other threads.
    run_queue: Mutex<VecDeque<u32>>,
}

impl Shared {
    /// `Submissions::wake`.
    fn wake(&self) -> io::Result<()> {
        let must_send = match self.variant {
            Variant::PollingBool => self.is_polling.load(Ordering::Acquire),
            _ => self.polling.wake(),
        };
        if !must_send {
            sim::note("wake: not polling, no message");
            return Ok(());
        }
        let msg =
            opcode::MsgRingData::new(types::Fd(self.ring.as_raw_fd()), 0, WAKE_USER_DATA, None)
                .build()
                .user_data(WAKE_USER_DATA);
        if self.single_issuer && self.variant != Variant::SubmitFromWaker {
            // Not the owner: the ringless message (6.13+).
            return msgring::uring::register_sync_msg(&msg);
        }
        loop {
            let pushed = self.ring.submission_shared().push(&msg);
            // Submit to make sure the ring is woken.
            let args = types::SubmitArgs::new();
            let ts = types::Timespec::new();
            self.ring
                .submitter()
                .submit_with_args(0, &args.timespec(&ts))?;
            if pushed.is_ok() {
                return Ok(());
            }
        }
    }

    /// One `Ring::poll` of the runtime thread: process ready CQEs, or sleep for one.
    fn poll(&self) -> io::Result<()> {
        if drain(&self.ring).is_empty() {
            let zero = match self.variant {
                Variant::PollingBool => {
                    self.is_polling.store(true, Ordering::Release);
                    false
                }
                _ => self.polling.set_polling(true),
            };
            let ts = types::Timespec::new();
            let r = if zero {
                sim::note("poll: woken before polling, zero timeout");
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            } else {
                self.ring.submitter().submit_and_wait(1)
            };
            match self.variant {
                Variant::PollingBool => self.is_polling.store(false, Ordering::Release),
                _ => {
                    self.polling.set_polling(false);
                }
            }
            match r {
                Err(e) if e.raw_os_error() == Some(msgring::Errno::ETIME.0) => {}
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            // WAKE CQEs (target and source) carry no work: dropped.
            drain(&self.ring);
        }
        Ok(())
    }
}

/// One execution: the main thread is the runtime, one other thread makes `tasks`
/// tasks runnable, waking the runtime each time. Property: the runtime runs every task
/// (no lost wake-up).
pub fn run(cfg: Config) -> io::Result<()> {
    let mut b = IoUring::builder();
    b.name("a10 ring");
    if cfg.single_issuer {
        b.setup_single_issuer().setup_defer_taskrun();
    }
    let shared = Arc::new(Shared {
        ring: b.build(4)?,
        single_issuer: cfg.single_issuer,
        variant: cfg.variant,
        polling: PollingState(AtomicU8::new(0)),
        is_polling: AtomicBool::new(false),
        run_queue: Mutex::new(VecDeque::new()),
    });
    let s = Arc::clone(&shared);
    let tasks = cfg.tasks;
    let waker = sim::thread::spawn("waker", move || -> io::Result<()> {
        for t in 0..tasks {
            s.run_queue.lock().unwrap().push_back(t);
            if let Err(e) = s.wake() {
                // A std Waker cannot return the error: a10 logs it and goes on.
                sim::note(format!("wake failed: {e}"));
            }
        }
        Ok(())
    });
    let mut ran = 0;
    while ran < tasks {
        let ready: Vec<u32> = shared.run_queue.lock().unwrap().drain(..).collect();
        ran += ready.len() as u32;
        if ran == tasks {
            break;
        }
        shared.poll()?;
    }
    waker.join().expect("waker panicked")?;
    sim::ensure(ran == tasks, || format!("ran {ran} of {tasks} tasks"))
}
