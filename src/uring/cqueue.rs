//! `io_uring::cqueue`: completion queue entries and the completion queue.
//!
//! As with the io-uring crate, [`IoUring::completion`] reads the CQEs the kernel has
//! posted so far; the kernel sees them consumed (CQ space freed) when the queue is
//! synced or dropped.

use super::IoUring;
use crate::state::Cqe;
use std::fmt;

/// A completion queue entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry(pub(crate) Cqe);

impl Entry {
    /// The result: a value, or `-errno`.
    pub fn result(&self) -> i32 {
        self.0.res
    }
    pub fn user_data(&self) -> u64 {
        self.0.user_data
    }
    pub fn set_user_data(&mut self, user_data: u64) {
        self.0.user_data = user_data;
    }
    /// `IORING_CQE_F_*` flags (with MSG_RING FLAGS_PASS: the sender's flags).
    pub fn flags(&self) -> u32 {
        self.0.flags
    }
    /// The model's CQE.
    pub fn cqe(&self) -> Cqe {
        self.0
    }
}

impl From<Cqe> for Entry {
    fn from(c: Cqe) -> Entry {
        Entry(c)
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("result", &self.0.res)
            .field("user_data", &self.0.user_data)
            .field("flags", &self.0.flags)
            .finish()
    }
}

/// `IORING_CQE_F_MORE`: more CQEs will come for this request.
pub fn more(flags: u32) -> bool {
    flags & crate::uapi::cqe::MORE != 0
}

/// The completion queue of a ring, borrowed from [`IoUring::completion`].
pub struct CompletionQueue<'a> {
    ring: &'a IoUring,
    /// The CQEs visible at the last sync, and how many were read.
    seen: Vec<Cqe>,
    read: usize,
    capacity: usize,
}

impl<'a> CompletionQueue<'a> {
    pub(crate) fn new(ring: &'a IoUring) -> CompletionQueue<'a> {
        CompletionQueue {
            ring,
            seen: ring.peek_cq(),
            read: 0,
            capacity: ring.params.cq_entries() as usize,
        }
    }

    /// Frees the slots of the entries read so far and sees newly posted ones.
    pub fn sync(&mut self) {
        self.ring.consume(self.read as u32);
        self.seen = self.ring.peek_cq();
        self.read = 0;
    }

    /// `rings->cq_overflow`: CQEs the kernel dropped (an overflow allocation failed).
    pub fn overflow(&self) -> u32 {
        self.ring.cq_overflow()
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_full(&self) -> bool {
        self.seen.len() - self.read >= self.capacity
    }
}

impl Iterator for CompletionQueue<'_> {
    type Item = Entry;
    fn next(&mut self) -> Option<Entry> {
        let c = self.seen.get(self.read).copied()?;
        self.read += 1;
        Some(Entry(c))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.seen.len() - self.read;
        (n, Some(n))
    }
}

impl ExactSizeIterator for CompletionQueue<'_> {}

impl Drop for CompletionQueue<'_> {
    fn drop(&mut self) {
        if self.read > 0 {
            self.ring.consume(self.read as u32);
        }
    }
}

impl fmt::Debug for CompletionQueue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionQueue")
            .field("ring", &self.ring.fd)
            .field("len", &self.len())
            .finish()
    }
}
