//! `io_uring::Submitter`: submitting, waiting and registering, on the simulated
//! kernel.

use super::squeue;
use super::types::SubmitArgs;
use super::IoUring;
use crate::step::Step;
use std::io;
use std::os::fd::RawFd;

/// Submits and registers on one ring, borrowed from [`IoUring::submitter`]. Every
/// call is one system call of the calling thread (its model task).
#[derive(Clone, Copy)]
pub struct Submitter<'a> {
    pub(crate) ring: &'a IoUring,
}

impl Submitter<'_> {
    /// Submits every queued SQE: `io_uring_enter(fd, n, 0, flags)`.
    pub fn submit(&self) -> io::Result<usize> {
        self.ring
            .kernel
            .submit_and_wait(self.ring.fd, 0, None, "submit")
    }

    /// Submits every queued SQE and sleeps until `want` CQEs are visible. On std
    /// threads a wait that nothing can satisfy fails with a report naming it
    /// (`ViolationError`) instead of hanging.
    pub fn submit_and_wait(&self, want: usize) -> io::Result<usize> {
        self.ring.kernel.submit_and_wait(
            self.ring.fd,
            want.min(u32::MAX as usize) as u32,
            None,
            "submit_and_wait",
        )
    }

    /// [`Submitter::submit_and_wait`] with a timeout: a zero timeout never sleeps, any
    /// other one fires when nothing else in the run can make progress (-ETIME).
    pub fn submit_with_args(&self, want: usize, args: &SubmitArgs<'_, '_>) -> io::Result<usize> {
        self.ring.kernel.submit_and_wait(
            self.ring.fd,
            want.min(u32::MAX as usize) as u32,
            args.timeout,
            "submit_with_args",
        )
    }

    /// The raw `io_uring_enter(fd, to_submit, min_complete, flag)`: unlike
    /// [`Submitter::submit_and_wait`] it submits only what it is told (a wait like
    /// liburing's `io_uring_wait_cqe` passes 0) and adds no flags. With
    /// `IORING_ENTER_GETEVENTS` it sleeps until `min_complete` CQEs are visible. `arg`
    /// is ignored. (`unsafe` in io-uring, where `arg` is a raw pointer.)
    pub fn enter<T: Sized>(
        &self,
        to_submit: u32,
        min_complete: u32,
        flag: u32,
        _arg: Option<&T>,
    ) -> io::Result<usize> {
        self.ring.kernel.enter_and_wait(
            self.ring.fd,
            Some((to_submit, flag)),
            min_complete,
            None,
            "enter",
        )
    }

    fn register(&self, what: &str, step: impl FnOnce(crate::TaskId) -> Step) -> io::Result<i32> {
        self.ring.kernel.syscall(|st, me, task| {
            let r = st.apply(me, step(task));
            super::sim::kernel::step_ret(what, r)
        })
    }

    /// `IORING_REGISTER_FILES`: a table holding `fds` (-1: an empty slot).
    pub fn register_files(&self, fds: &[RawFd]) -> io::Result<()> {
        let ring = self.ring.fd;
        self.register("register_files", |task| Step::RegisterFiles {
            task,
            ring,
            fds: fds.to_vec(),
        })
        .map(drop)
    }

    /// `IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE`: `nr` empty slots.
    pub fn register_files_sparse(&self, nr: u32) -> io::Result<()> {
        let ring = self.ring.fd;
        self.register("register_files_sparse", |task| Step::RegisterFilesSparse {
            task,
            ring,
            nr,
        })
        .map(drop)
    }

    /// `IORING_REGISTER_FILES_UPDATE` at `offset` (-1 clears a slot): how many slots
    /// were updated.
    pub fn register_files_update(&self, offset: u32, fds: &[RawFd]) -> io::Result<usize> {
        let ring = self.ring.fd;
        self.register("register_files_update", |task| Step::UpdateFiles {
            task,
            ring,
            offset,
            fds: fds.to_vec(),
        })
        .map(|n| n as usize)
    }

    /// `IORING_UNREGISTER_FILES`.
    pub fn unregister_files(&self) -> io::Result<()> {
        let ring = self.ring.fd;
        self.register("unregister_files", |task| Step::UnregisterFiles {
            task,
            ring,
        })
        .map(drop)
    }

    /// `IORING_REGISTER_ENABLE_RINGS` (a ring set up with `setup_r_disabled`).
    pub fn register_enable_rings(&self) -> io::Result<()> {
        let ring = self.ring.fd;
        self.register("register_enable_rings", |task| Step::EnableRings {
            task,
            ring,
        })
        .map(drop)
    }

    /// `IORING_REGISTER_FILE_ALLOC_RANGE` (6.0): where `DestinationSlot::auto_target`
    /// allocates. Not in io-uring 0.7.
    pub fn register_file_alloc_range(&self, offset: u32, len: u32) -> io::Result<()> {
        let ring = self.ring.fd;
        self.register("register_file_alloc_range", |task| Step::FileAllocRange {
            task,
            ring,
            off: offset,
            len,
        })
        .map(drop)
    }

    /// The ringless `io_uring_register(-1, IORING_REGISTER_SEND_MSG_RING, &sqe, 1)`
    /// (6.13+, R30): sends a MSG_DATA entry without any ring of the caller, so a
    /// thread may wake a SINGLE_ISSUER ring it does not own. -EINVAL before 6.13.
    /// liburing's `io_uring_register_sync_msg`; not in io-uring 0.7.
    pub fn register_sync_msg(&self, entry: &squeue::Entry) -> io::Result<()> {
        sync_msg(self.ring, entry)
    }
}

/// The ringless `io_uring_register(-1, IORING_REGISTER_SEND_MSG_RING, &sqe, 1)` (6.13+,
/// R30) on the current simulated kernel, from a thread that needs no ring of its own
/// (liburing's `io_uring_register_sync_msg`). -EINVAL before 6.13.
pub fn register_sync_msg(entry: &squeue::Entry) -> io::Result<()> {
    sync_msg_on(&super::sim::current(), entry)
}

fn sync_msg(ring: &IoUring, entry: &squeue::Entry) -> io::Result<()> {
    sync_msg_on(&ring.kernel, entry)
}

fn sync_msg_on(kernel: &super::sim::SimKernel, entry: &squeue::Entry) -> io::Result<()> {
    let sqe = entry.0;
    kernel
        .syscall(|st, me, task| {
            let r = st.apply(me, Step::SyncMsg { task, sqe });
            super::sim::kernel::step_ret("register_sync_msg", r)
        })
        .map(drop)
}
