//! Files as objects with an identity and a reference count.
//!
//! Files are model tokens, never host fds. A file's references come from fd-table
//! entries, fixed-file table slots, and in-flight SEND_FD requests that grabbed it
//! (R25); [`crate::check::refcount`] checks that the count equals their sum.

use super::RingId;

/// The identity of a file object (like an inode): stable for the object's lifetime.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FileId(pub u32);

/// What kind of object a file is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FileKind {
    /// An io_uring instance (`io_is_uring_fops`).
    Ring(RingId),
    PipeRead,
    PipeWrite,
    Eventfd,
    /// A regular file (memfd or tmpfile in the real backend).
    Regular,
}

/// A file object.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct File {
    pub kind: FileKind,
    /// `f_count`. The object is released when it drops to zero.
    pub refs: u32,
}

impl File {
    pub fn is_ring(&self) -> bool {
        matches!(self.kind, FileKind::Ring(_))
    }
}
