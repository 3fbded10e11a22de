//! When has the kernel finished a step? io-wq workers, task_work and SQPOLL threads
//! run after a system call returns, so after each step the backend waits for
//! quiescence: it waits until no io-wq worker is busy, makes every task thread return
//! to userspace once (task_work queued with TWA_SIGNAL_NO_IPI runs then), and polls
//! every ring's cheap shared state until it stops changing or matches what the model
//! predicts (a hint for how long to wait, never the result).

use super::KernelBackend;
use crate::uapi;
use crate::{Step, StepResult, World};
use msgring_real_backend as rb;
use std::time::{Duration, Instant};

/// How long the backend waits for the kernel to settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settle {
    /// Without a model hint: the ring state must stay unchanged this long.
    pub quiet: Duration,
    /// Upper bound on the wait after one step.
    pub max: Duration,
    /// With a hint the kernel can still reach (it lags the prediction: fewer CQEs,
    /// more unconsumed SQEs, a smaller overflow counter, or other `sq_flags`): keep
    /// waiting up to this long for it, however long the kernel stays unchanged.
    /// io-wq worker startup under load can take tens of milliseconds. Spent at most
    /// once per backend: after a step that ran out of it, the rest of the run uses
    /// `hinted_quiet` (the kernel and the model have parted, so the hint is no good).
    pub hinted_max: Duration,
    /// With a hint the kernel cannot reach any more (it is ahead of the prediction),
    /// or after `hinted_max` ran out once: stop waiting once the kernel has been
    /// stable this long (bounded by `max`).
    pub hinted_quiet: Duration,
    /// `io_uring_enter` timeout for a wait that is expected to block (or for any wait
    /// with `min_complete > 0` when there is no hint).
    pub block_timeout: Duration,
    /// `io_uring_enter` timeout for a wait the model expects to be satisfied.
    pub wake_timeout: Duration,
    /// The longest a settle waits for the kernel to be quiescent (no io-wq worker or
    /// task thread at work, nothing moving) before it gives up and marks the run
    /// unsettled ([`KernelBackend::unsettled`]): what is observed after that may be a
    /// passing state, so the run cannot be judged.
    pub give_up: Duration,
}

impl Default for Settle {
    /// The waits for a kernel on real hardware. `MSGRING_SETTLE_SCALE=N` (1..=100)
    /// multiplies the two that allow for a slow kernel (`hinted_max`, `wake_timeout`):
    /// golden.sh sets it in its TCG guests, where a task_work wake-up of another
    /// thread was seen to take longer than 150 ms (r24_send_fd_defer_target on 7.1.13).
    fn default() -> Settle {
        let scale = std::env::var("MSGRING_SETTLE_SCALE")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(1, |n| n.clamp(1, 100));
        Settle {
            quiet: Duration::from_micros(300),
            max: Duration::from_millis(20),
            hinted_max: Duration::from_millis(150) * scale,
            hinted_quiet: Duration::from_millis(2),
            block_timeout: Duration::from_millis(20),
            wake_timeout: Duration::from_millis(200) * scale,
            give_up: Duration::from_secs(10),
        }
    }
}

/// What the model did with the same step: the backend uses it only to decide how long
/// to wait for the kernel.
#[derive(Clone, Copy, Debug)]
pub struct Hint<'a> {
    /// The model world after the step.
    pub world: &'a World,
    /// The model's result for the step.
    pub result: &'a StepResult,
}

/// The cheap shared state of one ring, polled for quiescence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Snap {
    cq_ready: u32,
    sq_flags: u32,
    cq_overflow: u32,
    sq_pending: u32,
}

impl KernelBackend {
    fn snapshot(&self) -> Vec<(u32, Snap)> {
        self.rings
            .iter()
            .map(|&r| {
                let v = rb::Vfd(r);
                (
                    r,
                    Snap {
                        cq_ready: self.host.cq_ready(v),
                        sq_flags: self.host.sq_flags(v),
                        cq_overflow: self.host.cq_overflow(v),
                        sq_pending: self.host.sq_pending(v),
                    },
                )
            })
            .collect()
    }

    /// Task_work queued with TWA_SIGNAL_NO_IPI (COOP_TASKRUN, SQPOLL rings) runs only
    /// when its task next returns from a system call: make every task thread do that
    /// once (the model runs it before the step ends, M9).
    fn kick_for_no_ipi_work(&mut self) {
        if self.any_ring_with(uapi::setup::COOP_TASKRUN | uapi::setup::SQPOLL) {
            self.host.kick_tasks();
        }
    }

    /// The end of a settle: no io-wq worker busy (one that was just created, or that
    /// blocked on a lock, may still post or queue task_work) and every task thread
    /// asleep waiting for its next job (a thread woken for task_work queued with
    /// TWA_SIGNAL runs it on its own time); then, where rings use
    /// TWA_SIGNAL_NO_IPI (COOP_TASKRUN, SQPOLL), every task thread made to return from
    /// a system call once, which runs the task_work that waits for exactly that. True
    /// if nothing moved meanwhile and nothing is busy: the kernel is quiescent.
    /// Otherwise the caller polls on.
    fn barrier(&mut self, deadline: Instant) -> bool {
        let before = self.snapshot();
        if self.iowq_idle {
            // Nothing since the last quiescent settle could have started work.
            self.kick_for_no_ipi_work();
            return self.snapshot() == before;
        }
        while self.host.busy() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(20));
        }
        self.kick_for_no_ipi_work();
        // Strict: a worker woken for new work reads `S` for a moment before it takes
        // the work (Host::busy_strict).
        let quiet = !self.host.busy_strict() && self.snapshot() == before;
        self.iowq_idle = quiet;
        quiet
    }

    /// Whether an open ring has one of the setup `flags`.
    pub(super) fn any_ring_with(&self, flags: u32) -> bool {
        self.rings.iter().any(|&r| {
            self.host
                .ring_info(rb::Vfd(r))
                .is_some_and(|i| i.flags & flags != 0)
        })
    }

    /// Polls the rings until they match the model's prediction, or (no hint, or a
    /// prediction the kernel cannot reach) until they stop changing; see [`Settle`].
    pub(super) fn wait_quiescent(&mut self, hint: Option<Hint<'_>>) {
        self.kick_for_no_ipi_work();
        let expected = hint.map(|h| predicted(h.world));
        // Rings whose completions from io-wq wait for their task to enter the kernel
        // (DEFER_TASKRUN's local work, COOP_TASKRUN's task_work): fewer CQEs there
        // than predicted does not resolve by waiting.
        let needs_enter: Vec<u32> = match &expected {
            Some(_) => self
                .rings
                .iter()
                .copied()
                .filter(|&r| {
                    self.host.ring_info(rb::Vfd(r)).is_some_and(|i| {
                        i.flags & (uapi::setup::DEFER_TASKRUN | uapi::setup::COOP_TASKRUN) != 0
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let start = Instant::now();
        let mut last = self.snapshot();
        let mut stable_since = start;
        let mut spins = 0u32;
        loop {
            // (stable-for, at most): `None` = wait for the prediction, however quiet.
            let (quiet, max) = match &expected {
                Some(exp) if matches_prediction(&last, exp) => {
                    (Some(Duration::ZERO), self.settle.max)
                }
                Some(exp) if !self.hint_gave_up && can_catch_up(&last, exp, &needs_enter) => {
                    (None, self.settle.hinted_max)
                }
                Some(_) => (Some(self.settle.hinted_quiet), self.settle.max),
                None => (Some(self.settle.quiet), self.settle.max),
            };
            let now = Instant::now();
            let waited = now.duration_since(start);
            let timed_out = waited >= max;
            if timed_out && quiet.is_none() {
                self.hint_gave_up = true;
            }
            if timed_out || quiet.is_some_and(|q| now.duration_since(stable_since) >= q) {
                // The rings look settled (a state that matches the prediction can be
                // a passing one: the overflow list's length is not in the snapshot),
                // or waiting for them is no use: the step is over only once nothing
                // is at work any more.
                let give_up = start + self.settle.give_up;
                if self.barrier(give_up) {
                    return;
                }
                if Instant::now() >= give_up {
                    self.unsettled
                        .get_or_insert(self.steps_applied.saturating_sub(1));
                    return;
                }
                last = self.snapshot();
                stable_since = Instant::now();
                continue;
            }
            // Spin briefly (task_work and SQPOLL are quick), then sleep, longer once
            // the wait is long (leave the CPU to io-wq workers that are starting).
            if spins < 64 {
                std::thread::yield_now();
            } else if waited < Duration::from_millis(2) {
                std::thread::sleep(Duration::from_micros(20));
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
            spins += 1;
            let cur = self.snapshot();
            if cur != last {
                last = cur;
                stable_since = Instant::now();
            }
        }
    }
}

/// SQE flags that send a request to io-wq: IOSQE_ASYNC; a link head still open at the
/// end of a submit (`io_queue_sqe_fallback`) and drained requests can go there too.
pub(super) const IOWQ_SQE_FLAGS: u8 = uapi::sqe_flags::ASYNC
    | uapi::sqe_flags::IO_LINK
    | uapi::sqe_flags::IO_HARDLINK
    | uapi::sqe_flags::IO_DRAIN;

/// Setup flags of rings whose MSG_RING traffic can go to io-wq: an IOPOLL target is
/// only trylocked (-EAGAIN, punt), and an SQPOLL thread contends for ring locks.
pub(super) const IOWQ_SETUP_FLAGS: u32 = uapi::setup::IOPOLL | uapi::setup::SQPOLL;

/// Steps after which the kernel may still be working asynchronously.
pub(super) fn needs_settle(step: &Step, kb: &KernelBackend) -> bool {
    match step {
        Step::Pipe
        | Step::Eventfd
        | Step::RegularFile
        | Step::SpawnTask
        | Step::Reap { .. }
        | Step::QuerySlot { .. }
        | Step::Observe { .. } => false,
        Step::Push { ring, .. } => kb
            .host
            .ring_info(rb::Vfd((*ring).max(0) as u32))
            .is_some_and(|i| i.flags & uapi::setup::SQPOLL != 0),
        _ => true,
    }
}

/// Whether the model expects an enter on `ring` with `min_complete` to end by timing out.
pub(super) fn wait_blocks(h: Hint<'_>, ring: i32, min_complete: u32) -> bool {
    if min_complete == 0 {
        return false;
    }
    if h.result == &StepResult::Ret(-62) {
        return true;
    }
    match h.world.ring_of_fd(ring) {
        Some(r) => {
            let r = h.world.ring(r);
            r.cq.ready() < min_complete.min(r.cq.entries())
        }
        None => false,
    }
}

/// The model's prediction of every open ring's cheap shared state, by vfd.
fn predicted(w: &World) -> Vec<(u32, Snap)> {
    let mut out: Vec<(u32, Snap)> = w
        .fd_table()
        .iter()
        .enumerate()
        .filter_map(|(fd, f)| {
            let f = (*f)?;
            match w.file(f).kind {
                crate::FileKind::Ring(id) => {
                    let r = w.ring(id);
                    Some((
                        fd as u32,
                        Snap {
                            cq_ready: r.cq.ready(),
                            sq_flags: r.sq_flags,
                            cq_overflow: r.cq_overflow,
                            sq_pending: r.sq.len() as u32,
                        },
                    ))
                }
                _ => None,
            }
        })
        .collect();
    out.sort_by_key(|x| x.0);
    out
}

/// Whether the kernel can still reach the prediction within one step: what only grows
/// while the kernel works on its own (posted CQEs, the overflow counter) is not past
/// the model's value, and what only shrinks (unconsumed SQEs) is not below it. On the
/// rings in `needs_enter` missing CQEs do not come without another enter.
fn can_catch_up(kernel: &[(u32, Snap)], model: &[(u32, Snap)], needs_enter: &[u32]) -> bool {
    model.iter().all(|(fd, s)| {
        kernel.iter().any(|(kfd, k)| {
            kfd == fd
                && (k.cq_ready == s.cq_ready
                    || k.cq_ready < s.cq_ready && !needs_enter.contains(fd))
                && k.cq_overflow <= s.cq_overflow
                && k.sq_pending >= s.sq_pending
        })
    })
}

fn matches_prediction(kernel: &[(u32, Snap)], model: &[(u32, Snap)]) -> bool {
    model
        .iter()
        .all(|(fd, s)| kernel.iter().any(|(kfd, ks)| kfd == fd && ks == s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(cq_ready: u32, sq_pending: u32) -> Snap {
        Snap {
            cq_ready,
            sq_flags: 0,
            cq_overflow: 0,
            sq_pending,
        }
    }

    /// The kernel lagging the prediction (io-wq not done yet) is worth waiting for;
    /// the kernel past it, or missing CQEs on a ring that needs an enter to get
    /// them, is not.
    #[test]
    fn catch_up_only_when_the_kernel_lags() {
        let model = [(0, snap(2, 0)), (3, snap(1, 0))];
        assert!(can_catch_up(
            &[(0, snap(1, 0)), (3, snap(1, 0))],
            &model,
            &[]
        ));
        assert!(can_catch_up(
            &[(0, snap(2, 1)), (3, snap(0, 0))],
            &model,
            &[]
        ));
        assert!(!can_catch_up(
            &[(0, snap(3, 0)), (3, snap(1, 0))],
            &model,
            &[]
        ));
        assert!(!can_catch_up(
            &[(0, snap(2, 0)), (3, snap(0, 0))],
            &model,
            &[3]
        ));
        assert!(!can_catch_up(&[(0, snap(1, 0))], &model, &[]));
    }

    /// io-wq worker startup on a loaded 2-core machine takes tens of milliseconds:
    /// a hinted wait must outlast it (it used to stop after 2 ms without change).
    #[test]
    fn hinted_wait_outlasts_iowq_startup() {
        let s = Settle::default();
        assert!(s.hinted_max >= Duration::from_millis(100), "{s:?}");
        assert!(s.hinted_max > s.max);
    }
}
