//! `io_uring::squeue`: submission queue entries and the submission queue.
//!
//! As with the io-uring crate, pushed entries become visible to the kernel when the
//! queue is synced (`sync()` or drop); submitting needs `Submitter::submit`. `push` is a
//! safe function here (there is no shared memory to corrupt); code written for
//! io-uring that calls it inside `unsafe { }` compiles with an `unused_unsafe` warning.

use super::IoUring;
use crate::sqe::Sqe;
use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// A 64-byte submission queue entry, built by [`super::opcode`]; holds the raw
/// [`Sqe`] the model reads.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry(pub(crate) Sqe);

/// `IOSQE_*` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    #[doc(hidden)]
    pub const FIXED_FILE: Flags = Flags(crate::uapi::sqe_flags::FIXED_FILE);
    pub const IO_DRAIN: Flags = Flags(crate::uapi::sqe_flags::IO_DRAIN);
    pub const IO_LINK: Flags = Flags(crate::uapi::sqe_flags::IO_LINK);
    pub const IO_HARDLINK: Flags = Flags(crate::uapi::sqe_flags::IO_HARDLINK);
    pub const ASYNC: Flags = Flags(crate::uapi::sqe_flags::ASYNC);
    pub const BUFFER_SELECT: Flags = Flags(crate::uapi::sqe_flags::BUFFER_SELECT);
    pub const SKIP_SUCCESS: Flags = Flags(crate::uapi::sqe_flags::CQE_SKIP_SUCCESS);

    pub const fn empty() -> Flags {
        Flags(0)
    }
    pub const fn bits(&self) -> u8 {
        self.0
    }
    pub const fn from_bits_truncate(bits: u8) -> Flags {
        Flags(bits & crate::uapi::sqe_flags::VALID)
    }
    pub const fn contains(&self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl Entry {
    /// Adds `IOSQE_*` flags (io-uring ORs them in).
    pub fn flags(mut self, flags: Flags) -> Entry {
        self.0.flags |= flags.bits();
        self
    }
    pub fn clear_flags(mut self) -> Entry {
        self.0.flags = 0;
        self
    }
    pub fn user_data(mut self, user_data: u64) -> Entry {
        self.0.user_data = user_data;
        self
    }
    pub fn set_user_data(&mut self, user_data: u64) {
        self.0.user_data = user_data;
    }
    pub fn get_user_data(&self) -> u64 {
        self.0.user_data
    }
    pub fn get_opcode(&self) -> u32 {
        self.0.opcode.into()
    }
    pub fn personality(mut self, personality: u16) -> Entry {
        self.0.personality = personality;
        self
    }
    /// The raw SQE.
    pub fn sqe(&self) -> &Sqe {
        &self.0
    }
}

impl From<Sqe> for Entry {
    fn from(sqe: Sqe) -> Entry {
        Entry(sqe)
    }
}

impl From<Entry> for Sqe {
    fn from(e: Entry) -> Sqe {
        e.0
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("op_code", &self.0.opcode)
            .field("flags", &self.0.flags)
            .field("user_data", &self.0.user_data)
            .finish()
    }
}

/// The submission queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushError;

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("submission queue is full")
    }
}

impl std::error::Error for PushError {}

/// The submission queue of a ring, borrowed from [`IoUring::submission`].
pub struct SubmissionQueue<'a> {
    pub(crate) ring: &'a IoUring,
    /// Entries pushed and not yet synced to the kernel.
    pending: Vec<Sqe>,
    /// SQEs in the kernel-visible SQ at the last sync (not yet consumed).
    synced: usize,
    capacity: usize,
}

impl<'a> SubmissionQueue<'a> {
    pub(crate) fn new(ring: &'a IoUring) -> SubmissionQueue<'a> {
        SubmissionQueue {
            ring,
            pending: Vec::new(),
            synced: ring.sq_len(),
            capacity: ring.params.sq_entries() as usize,
        }
    }

    /// Makes pushed entries visible to the kernel and re-reads its head.
    pub fn sync(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.ring.publish(pending);
        self.synced = self.ring.sq_len();
    }

    /// `IORING_SQ_NEED_WAKEUP` (an SQPOLL thread is asleep).
    pub fn need_wakeup(&self) -> bool {
        self.ring.sq_flags() & crate::uapi::sq::NEED_WAKEUP != 0
    }
    pub fn need_wakeup_after_intermittent_seqcst(&self) -> bool {
        self.need_wakeup()
    }
    /// SQEs the kernel dropped as invalid (the model never does).
    pub fn dropped(&self) -> u32 {
        0
    }
    /// `IORING_SQ_CQ_OVERFLOW`: CQEs wait on the overflow list.
    pub fn cq_overflow(&self) -> bool {
        self.ring.sq_flags() & crate::uapi::sq::CQ_OVERFLOW != 0
    }
    /// `IORING_SQ_TASKRUN`: task_work is pending (COOP_TASKRUN | TASKRUN_FLAG).
    pub fn taskrun(&self) -> bool {
        self.ring.sq_flags() & crate::uapi::sq::TASKRUN != 0
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn len(&self) -> usize {
        self.synced + self.pending.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// Queues an entry; `Err(PushError)` if the queue is full.
    pub fn push(&mut self, entry: &Entry) -> Result<(), PushError> {
        if self.is_full() {
            return Err(PushError);
        }
        self.pending.push(entry.0);
        Ok(())
    }

    /// Queues all of `entries` or none.
    pub fn push_multiple(&mut self, entries: &[Entry]) -> Result<(), PushError> {
        if self.capacity - self.len() < entries.len() {
            return Err(PushError);
        }
        self.pending.extend(entries.iter().map(|e| e.0));
        Ok(())
    }
}

impl Drop for SubmissionQueue<'_> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.ring.publish(pending);
        }
    }
}

impl fmt::Debug for SubmissionQueue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmissionQueue")
            .field("ring", &self.ring.fd)
            .field("len", &self.len())
            .finish()
    }
}
