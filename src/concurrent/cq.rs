//! The CQ as the kernel and userspace share it (C2), and the kernel-private posting
//! state: the cached tail and the overflow list (C3).
//!
//! Everything is made of [`crate::sync`] atomics so that loom sees every access:
//!
//! * `tail` and `head` are the shared ring indices. The kernel writes a CQE into its slot
//!   and then stores `tail` with `Release`; userspace loads `tail` with `Acquire`, reads the
//!   slots and stores `head` with `Release`; the kernel loads `head` with `Acquire` to
//!   compute free space.
//! * The slots and the kernel-private fields (`ktail`, the overflow list) are *plain
//!   memory emulated with `Relaxed` loads and stores*: they are correct only when the lock
//!   that protects them is held. Under a missing lock (a [`Mutation`](super::Mutation)),
//!   loom explores the lost updates, stale reads and torn list appends that the kernel
//!   bug would cause, and the refinement check sees the lost or duplicated CQEs.

use crate::state::Cqe;
use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// Room in each ring's overflow list. Scenarios are tiny; exceeding it is a test bug.
pub const OVERFLOW_CAP: u32 = 8;

/// One CQE slot: three relaxed words (a reader that is not ordered after the writer can
/// see any mix of old and new words, as with plain memory).
struct Slot {
    user_data: AtomicU64,
    res: AtomicU32,
    flags: AtomicU32,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            user_data: AtomicU64::new(0),
            res: AtomicU32::new(0),
            flags: AtomicU32::new(0),
        }
    }
    fn write(&self, c: Cqe) {
        self.user_data.store(c.user_data, Ordering::Relaxed);
        self.res.store(c.res as u32, Ordering::Relaxed);
        self.flags.store(c.flags, Ordering::Relaxed);
    }
    fn read(&self) -> Cqe {
        Cqe {
            user_data: self.user_data.load(Ordering::Relaxed),
            res: self.res.load(Ordering::Relaxed) as i32,
            flags: self.flags.load(Ordering::Relaxed),
        }
    }
}

/// A ring's completion side.
pub(crate) struct SharedCq {
    entries: u32,
    /// `rings->cq.head`: written by userspace.
    head: AtomicU32,
    /// `rings->cq.tail`: written by the kernel (Release), read by userspace (Acquire).
    tail: AtomicU32,
    slots: Vec<Slot>,
    /// `ctx->cached_cq_tail`: kernel-private, protected by the posting lock.
    ktail: AtomicU32,
    /// `ctx->cq_overflow_list` as a bounded FIFO, protected by `completion_lock`.
    ohead: AtomicU32,
    otail: AtomicU32,
    overflow: Vec<Slot>,
    /// `tail_release`: false only for the `CqTailRelaxed` mutation.
    tail_release: bool,
}

impl SharedCq {
    pub(crate) fn new(entries: u32, tail_release: bool) -> SharedCq {
        SharedCq {
            entries,
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: (0..entries).map(|_| Slot::new()).collect(),
            ktail: AtomicU32::new(0),
            ohead: AtomicU32::new(0),
            otail: AtomicU32::new(0),
            overflow: (0..OVERFLOW_CAP).map(|_| Slot::new()).collect(),
            tail_release,
        }
    }

    pub(crate) fn entries(&self) -> u32 {
        self.entries
    }

    /// Kernel side: whether the overflow list is non-empty (`IO_CHECK_CQ_OVERFLOW_BIT`).
    /// Caller holds the posting lock.
    pub(crate) fn overflowing(&self) -> bool {
        self.ohead.load(Ordering::Relaxed) != self.otail.load(Ordering::Relaxed)
    }

    /// Kernel side: writes `cqe` at the cached tail if the CQ has room (ignoring the
    /// overflow list) and publishes it. Caller holds the posting lock.
    fn push_raw(&self, cqe: Cqe) -> bool {
        let head = self.head.load(Ordering::Acquire);
        let t = self.ktail.load(Ordering::Relaxed);
        if t.wrapping_sub(head) >= self.entries {
            return false;
        }
        self.slots[(t & (self.entries - 1)) as usize].write(cqe);
        let t = t.wrapping_add(1);
        self.ktail.store(t, Ordering::Relaxed);
        let order = if self.tail_release {
            Ordering::Release
        } else {
            Ordering::Relaxed
        };
        self.tail.store(t, order);
        true
    }

    /// `io_get_cqe` + write + commit: fills the CQ only if it has room **and** nothing
    /// is overflowing (C3). Caller holds the posting lock.
    pub(crate) fn fill(&self, cqe: Cqe) -> bool {
        !self.overflowing() && self.push_raw(cqe)
    }

    /// C3 `io_cqring_event_overflow`: appends to the overflow list. Caller holds
    /// `completion_lock` (unless a mutation says otherwise).
    pub(crate) fn overflow_append(&self, cqe: Cqe) {
        let h = self.ohead.load(Ordering::Relaxed);
        let t = self.otail.load(Ordering::Relaxed);
        assert!(
            t.wrapping_sub(h) < OVERFLOW_CAP,
            "scenario overflows more than OVERFLOW_CAP CQEs"
        );
        self.overflow[(t % OVERFLOW_CAP) as usize].write(cqe);
        self.otail.store(t.wrapping_add(1), Ordering::Relaxed);
    }

    /// C4 `__io_cqring_overflow_flush`: moves overflowed CQEs into free slots, oldest
    /// first. Caller holds `completion_lock` (and the posting lock of a lockless ring).
    pub(crate) fn overflow_flush(&self) {
        loop {
            let h = self.ohead.load(Ordering::Relaxed);
            if h == self.otail.load(Ordering::Relaxed) {
                return;
            }
            let cqe = self.overflow[(h % OVERFLOW_CAP) as usize].read();
            if !self.push_raw(cqe) {
                return;
            }
            self.ohead.store(h.wrapping_add(1), Ordering::Relaxed);
        }
    }

    /// The overflow list, oldest first (final observation; no concurrency left).
    pub(crate) fn overflow_entries(&self) -> Vec<Cqe> {
        let h = self.ohead.load(Ordering::Relaxed);
        let t = self.otail.load(Ordering::Relaxed);
        (h..t)
            .map(|i| self.overflow[(i % OVERFLOW_CAP) as usize].read())
            .collect()
    }

    /// Posted-but-unreaped CQEs as a waiter sees them (`__io_cqring_events_user`).
    pub(crate) fn ready(&self) -> u32 {
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(self.head.load(Ordering::Acquire))
    }

    /// Userspace: reads every published CQE and advances the head.
    pub(crate) fn reap(&self) -> Vec<Cqe> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        let n = tail.wrapping_sub(head).min(self.entries);
        let out = (0..n)
            .map(|i| self.slots[(head.wrapping_add(i) & (self.entries - 1)) as usize].read())
            .collect();
        self.head.store(head.wrapping_add(n), Ordering::Release);
        out
    }
}
