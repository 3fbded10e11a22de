//! `io_uring::types`: file descriptor wrappers, destination slots and wait arguments.

use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::os::fd::RawFd;
use std::time::Duration;

pub(crate) mod sealed {
    use super::Fd;
    use std::os::fd::RawFd;

    /// Arguments that name a file by its fd (MSG_RING targets are never fixed files
    /// in io-uring's API).
    pub trait UseFd: Sized {
        fn into(self) -> RawFd;
    }

    impl UseFd for Fd {
        fn into(self) -> RawFd {
            self.0
        }
    }
}

/// A file descriptor that has not been registered (on the simulated kernel: a
/// virtual fd from `IoUring::as_raw_fd` or `sim::pipe()` and friends).
#[derive(Debug, Clone, Copy)]
#[repr(transparent)]
pub struct Fd(pub RawFd);

/// A slot of the ring's fixed-file table.
#[derive(Debug, Clone, Copy)]
#[repr(transparent)]
pub struct Fixed(pub u32);

/// Where `MsgRingSendFd` installs the file in the target's table.
#[derive(Debug, Clone, Copy)]
pub struct DestinationSlot {
    /// The kernel's encoding: slot + 1, or `IORING_FILE_INDEX_ALLOC`.
    dest: NonZeroU32,
}

impl DestinationSlot {
    const AUTO_ALLOC: u32 = crate::uapi::FILE_INDEX_ALLOC;

    /// Let the kernel allocate a free slot (`IORING_FILE_INDEX_ALLOC`).
    pub const fn auto_target() -> Self {
        match NonZeroU32::new(Self::AUTO_ALLOC) {
            Some(dest) => DestinationSlot { dest },
            None => unreachable!(),
        }
    }

    /// Slot `target` (`0..=u32::MAX - 2`); `Err(target)` otherwise.
    pub fn try_from_slot_target(target: u32) -> Result<Self, u32> {
        if target > Self::AUTO_ALLOC - 2 {
            return Err(target);
        }
        NonZeroU32::new(target + 1)
            .map(|dest| DestinationSlot { dest })
            .ok_or(target)
    }

    pub(crate) fn kernel_index_arg(&self) -> u32 {
        self.dest.get()
    }
}

/// `struct __kernel_timespec`: a wait's timeout.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timespec {
    sec: u64,
    nsec: u32,
}

impl Timespec {
    pub const fn new() -> Self {
        Timespec { sec: 0, nsec: 0 }
    }
    pub const fn sec(mut self, sec: u64) -> Self {
        self.sec = sec;
        self
    }
    pub const fn nsec(mut self, nsec: u32) -> Self {
        self.nsec = nsec;
        self
    }
    pub(crate) fn duration(&self) -> Duration {
        Duration::new(self.sec, 0) + Duration::from_nanos(u64::from(self.nsec))
    }
}

impl From<Duration> for Timespec {
    fn from(value: Duration) -> Self {
        Timespec::new()
            .sec(value.as_secs())
            .nsec(value.subsec_nanos())
    }
}

/// Extra arguments of `Submitter::submit_with_args`: on the simulated kernel, the
/// timeout. A zero timeout never sleeps; any other timeout fires when nothing else in
/// the run can make progress (virtual time), so a timed wait never hangs a check.
#[derive(Default, Debug, Clone, Copy)]
pub struct SubmitArgs<'prev: 'now, 'now> {
    pub(crate) timeout: Option<Duration>,
    prev: PhantomData<&'prev ()>,
    now: PhantomData<&'now ()>,
}

impl<'prev, 'now> SubmitArgs<'prev, 'now> {
    pub const fn new() -> SubmitArgs<'static, 'static> {
        SubmitArgs {
            timeout: None,
            prev: PhantomData,
            now: PhantomData,
        }
    }

    /// Accepted and ignored: the simulated kernel has no clock for it.
    pub fn min_wait_usec(self, _min_wait_usec: u32) -> Self {
        self
    }

    /// The wait's timeout.
    pub fn timespec<'new>(self, timespec: &'new Timespec) -> SubmitArgs<'now, 'new> {
        SubmitArgs {
            timeout: Some(timespec.duration()),
            prev: PhantomData,
            now: PhantomData,
        }
    }
}
