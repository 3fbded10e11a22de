//! spargio (soumyarupsarkar/spargio): shard-to-shard messages over MSG_RING.
//!
//! Two of spargio's three modes, between a sending shard (the main thread) and a
//! receiving shard whose ring is SINGLE_ISSUER | DEFER_TASKRUN:
//!
//! * **Ticketed** (`submit_ring_msg_ticketed`): each message is a MSG_DATA whose target
//!   user_data packs (source shard, tag) and whose `res` is the value; FLAGS_PASS sets
//!   the marker flag `1 << 8` on the target CQE so the receiver tells messages from its
//!   own completions. The sender's own CQE (user_data = the waiter's index) is the ack:
//!   res 0, or the error.
//! * **Queue + doorbell** (`submit_ring_msg_nowait` + `submit_doorbell`): the payload
//!   goes into a per-(target, source) queue; only the queue's empty→non-empty transition
//!   rings the doorbell (a marked MSG_DATA with tag `DOORBELL_TAG` and
//!   IOSQE_CQE_SKIP_SUCCESS). The receiver drains the whole queue per doorbell.
//!
//! FLAGS_PASS is 6.3+: on 6.1 the marked message fails with -EINVAL. The sender then
//! falls back to marking messages with a reserved user_data bit (written for this zoo;
//! spargio itself requires a newer kernel) and re-sends, so the 6.1 check exercises the
//! fallback.
//!
//! Shutdown is a command message (tag `STOP_TAG`), sent after everything else: MSG_DATA
//! from one sender to a DEFER_TASKRUN target is FIFO (R14), so the receiver has every
//! message when it sees it.
//!
//! Variants:
//! * [`Variant::Fixed`].
//! * [`Variant::StopFlag`]: shutdown through a shared flag the receiver checks before
//!   it waits. The ack (the sender's CQE, res 0) means the message is *posted*: on a
//!   DEFER_TASKRUN target it waits in the local work list until the owner's next
//!   GETEVENTS (R14). A receiver that sees the flag first stops with acked messages
//!   undelivered.
//! * [`Variant::DrainOne`]: the receiver takes one payload per doorbell; later sends
//!   find the queue non-empty and ring no doorbell, so payloads are stranded.

use super::drain;
use msgring::sync::{Arc, AtomicBool, Mutex, Ordering};
use msgring::uring::{opcode, sim, squeue, types, IoUring};
use msgring::Errno;
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;

/// `MSG_RING_CQE_FLAG` in spargio.
pub const MSG_RING_CQE_FLAG: u32 = 1 << 8;
/// `DOORBELL_TAG`.
pub const DOORBELL_TAG: u16 = u16::MAX;
/// The shutdown command.
pub const STOP_TAG: u16 = u16::MAX - 1;
/// The fallback marker without FLAGS_PASS: a reserved user_data bit.
pub const MARKER_BIT: u64 = 1 << 63;
/// The receiver's own request (told apart from messages by the marker).
const OWN_REQUEST: u64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Fixed,
    StopFlag,
    DrainOne,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Ticketed,
    Doorbell,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub mode: Mode,
    pub variant: Variant,
    /// Messages sent.
    pub messages: u16,
}

fn pack(from: u16, tag: u16) -> u64 {
    (u64::from(from) << 16) | u64::from(tag)
}

struct Receiver {
    ring: IoUring,
    /// The payload queue from shard 0.
    queue: Mutex<VecDeque<(u16, u32)>>,
    stop: AtomicBool,
}

/// The sender's marked message to `fd`: FLAGS_PASS with the marker flag, or (after
/// the 6.1 fallback) the marker bit in user_data.
fn message(fd: i32, tag: u16, val: u32, flags_pass: bool) -> squeue::Entry {
    let (ud, flags) = if flags_pass {
        (pack(0, tag), Some(MSG_RING_CQE_FLAG))
    } else {
        (pack(0, tag) | MARKER_BIT, None)
    };
    opcode::MsgRingData::new(types::Fd(fd), val as i32, ud, flags).build()
}

struct Sender {
    ring: IoUring,
    target: i32,
    flags_pass: bool,
}

impl Sender {
    /// Sends one marked message and returns its ack (the sender's CQE result),
    /// falling back from FLAGS_PASS once if the kernel refuses it (6.1: -EINVAL).
    fn send(&mut self, tag: u16, val: u32, skip_success: bool) -> io::Result<i32> {
        loop {
            let mut sqe = message(self.target, tag, val, self.flags_pass).user_data(u64::from(tag));
            if skip_success {
                sqe = sqe.flags(squeue::Flags::SKIP_SUCCESS);
            }
            self.ring.submission_shared().push(&sqe).expect("room");
            let res = if skip_success {
                self.ring.submit()?;
                drain(&self.ring).first().map_or(0, |c| c.result())
            } else {
                self.ring.submit_and_wait(1)?;
                drain(&self.ring).first().expect("the ack").result()
            };
            if res == Errno::EINVAL.neg() && self.flags_pass {
                sim::note("FLAGS_PASS refused (-EINVAL): falling back to the user_data marker");
                self.flags_pass = false;
                continue;
            }
            return Ok(res);
        }
    }
}

/// One execution: shard 0 (main) sends `messages` messages to shard 1, then the
/// shutdown. Property: each message is delivered exactly once, and (ticketed) acked
/// exactly once with res 0.
pub fn run(cfg: Config) -> io::Result<()> {
    let n = cfg.messages;
    let rx: Arc<Mutex<Option<Arc<Receiver>>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&rx);
    let variant = cfg.variant;
    let shard1 = sim::thread::spawn("shard 1", move || -> io::Result<Vec<(u16, u32)>> {
        let ring = IoUring::builder()
            .name("shard 1")
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(4)?;
        let r = Arc::new(Receiver {
            ring,
            queue: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
        });
        let own = opcode::Nop::new().build().user_data(OWN_REQUEST);
        r.ring.submission_shared().push(&own).expect("room");
        *slot.lock().unwrap() = Some(Arc::clone(&r));
        let mut got = Vec::new();
        'run: loop {
            if variant == Variant::StopFlag && r.stop.load(Ordering::Acquire) {
                sim::note("stop flag set: stopping");
                break;
            }
            r.ring.submitter().submit_and_wait(1)?;
            for c in drain(&r.ring) {
                let marked = c.flags() & MSG_RING_CQE_FLAG != 0 || c.user_data() & MARKER_BIT != 0;
                if !marked {
                    // One of the shard's own completions.
                    continue;
                }
                let tag = (c.user_data() & 0xffff) as u16;
                match tag {
                    STOP_TAG => break 'run,
                    DOORBELL_TAG => {
                        let mut q = r.queue.lock().unwrap();
                        let take = if variant == Variant::DrainOne {
                            1
                        } else {
                            q.len()
                        };
                        let take = take.min(q.len());
                        got.extend(q.drain(..take));
                    }
                    _ => got.push((tag, c.result() as u32)),
                }
            }
        }
        Ok(got)
    });
    let r = loop {
        if let Some(r) = rx.lock().unwrap().clone() {
            break r;
        }
        sim::yield_now();
    };
    let mut tx = Sender {
        ring: IoUring::builder().name("shard 0").build(4)?,
        target: r.ring.as_raw_fd(),
        flags_pass: true,
    };
    let mut acks = vec![0u32; usize::from(n)];
    for tag in 0..n {
        let val = 100 + u32::from(tag);
        match cfg.mode {
            Mode::Ticketed => {
                let res = tx.send(tag, val, false)?;
                acks[usize::from(tag)] += 1;
                sim::ensure(res == 0, || format!("ticket {tag} acked with {res}"))?;
            }
            Mode::Doorbell => {
                let was_empty = {
                    let mut q = r.queue.lock().unwrap();
                    let e = q.is_empty();
                    q.push_back((tag, val));
                    e
                };
                if was_empty {
                    let res = tx.send(DOORBELL_TAG, 0, true)?;
                    sim::ensure(res == 0, || format!("doorbell failed with {res}"))?;
                } else {
                    sim::note("queue was not empty: no doorbell");
                }
            }
        }
    }
    // Shutdown.
    if cfg.variant == Variant::StopFlag {
        r.stop.store(true, Ordering::Release);
    }
    let res = tx.send(STOP_TAG, 0, false)?;
    sim::ensure(res == 0, || format!("stop message failed with {res}"))?;
    let mut got = shard1.join().expect("shard 1 panicked")?;
    got.sort_unstable();
    let want: Vec<(u16, u32)> = (0..n).map(|t| (t, 100 + u32::from(t))).collect();
    sim::ensure(got == want, || {
        format!("shard 1 received {got:?}, shard 0 sent (and got acks for) {want:?}")
    })?;
    if cfg.mode == Mode::Ticketed {
        sim::ensure(acks.iter().all(|&a| a == 1), || {
            format!("acks per ticket {acks:?}")
        })?;
    }
    Ok(())
}
