//! `io_uring_register`: fixed-file tables (R21 support), the alloc range, and
//! ENABLE_RINGS (C6). Functions are named for the kernel functions they model.

use crate::errno::Errno;
use crate::state::{RingId, TaskId};
use crate::uapi::{self, setup};
use crate::World;

/// `IORING_MAX_FIXED_FILES`.
pub const MAX_FIXED_FILES: u32 = 1 << 20;

/// The RLIMIT_NOFILE the model assumes (`io_sqe_files_register` -EMFILE above it).
/// Traces cap tables below it so the host's limit never matters.
pub const MODEL_NOFILE: u32 = 1024;

impl World {
    /// The common part of `io_uring_register(fd, ..)`: the fd must be a ring (-EBADF,
    /// -EOPNOTSUPP) and, if the ring has a submitter task, the caller must be it
    /// (-EEXIST, every opcode, C6).
    pub(crate) fn register_prelude(&mut self, task: TaskId, fd: i32) -> Result<RingId, Errno> {
        let ring = self.io_uring_get_ring(task, fd, false)?;
        if self.profile.register_runs_task_work() {
            self.io_run_task_work_ctx(task, ring);
        }
        self.register_owner_check(task, ring)
    }

    /// M13 `io_run_task_work_ctx` (before 6.2, at the start of `io_uring_register`):
    /// the local work of a DEFER_TASKRUN ring the caller owns (`io_run_local_work`,
    /// which is -EEXIST, ignored, for anyone else), then the caller's task_work.
    fn io_run_task_work_ctx(&mut self, task: TaskId, ring: RingId) {
        let r = self.ring(ring);
        if r.has(setup::DEFER_TASKRUN) && r.submitter == Some(task) && self.local_work_pending(ring)
        {
            self.run_local_work(ring, 0, u32::MAX);
        }
        self.run_task_work(task);
    }

    /// `io_sqe_files_register`: a table of `fds.len()` slots (`None` = sparse). Any
    /// failure undoes the whole registration; success resets the alloc range to the
    /// whole table and `alloc_hint` to 0.
    pub(crate) fn io_sqe_files_register(
        &mut self,
        ring: RingId,
        fds: &[Option<i32>],
    ) -> Result<(), Errno> {
        let nr = fds.len() as u32;
        if self.ring(ring).table.nr() != 0 {
            return Err(Errno::EBUSY);
        }
        if nr == 0 {
            return Err(Errno::EINVAL);
        }
        if nr > MAX_FIXED_FILES || nr > MODEL_NOFILE {
            return Err(Errno::EMFILE);
        }
        self.ring_mut(ring).table.alloc(nr);
        for (i, fd) in fds.iter().enumerate() {
            let Some(fd) = *fd else { continue };
            let file = match self.fd_file(fd) {
                Some(f) if !self.file(f).is_ring() => f,
                _ => {
                    self.io_sqe_files_unregister_all(ring);
                    return Err(Errno::EBADF);
                }
            };
            self.get_file(file);
            self.ring_mut(ring).table.set(i as u32, file);
        }
        self.ring_mut(ring).table.set_alloc_range(0, nr);
        Ok(())
    }

    fn io_sqe_files_unregister_all(&mut self, ring: RingId) {
        for f in self.ring_mut(ring).table.free() {
            self.put_file(f);
        }
        self.ring_mut(ring).table.set_alloc_range(0, 0);
    }

    /// `io_sqe_files_unregister`: -ENXIO without a table; otherwise every slot's file
    /// is put and the range becomes (0, 0).
    pub(crate) fn io_sqe_files_unregister(&mut self, ring: RingId) -> Result<(), Errno> {
        if self.ring(ring).table.nr() == 0 {
            return Err(Errno::ENXIO);
        }
        self.io_sqe_files_unregister_all(ring);
        Ok(())
    }

    /// `__io_sqe_files_update`: entries -1 clear a slot, -2 (`IORING_REGISTER_FILES_SKIP`)
    /// leave it. A slot is cleared *before* its new fd is looked up, so a bad fd still
    /// empties the slot. Returns the number of entries done, or the error if none was.
    pub(crate) fn io_sqe_files_update(
        &mut self,
        ring: RingId,
        offset: u32,
        fds: &[i32],
    ) -> Result<u32, Errno> {
        let nr = fds.len() as u32;
        if nr == 0 {
            return Err(Errno::EINVAL);
        }
        if offset.checked_add(nr).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        let size = self.ring(ring).table.nr();
        if size == 0 {
            return Err(Errno::ENXIO);
        }
        if offset + nr > size {
            return Err(Errno::EINVAL);
        }
        let mut err = None;
        let mut done = 0;
        for &fd in fds {
            if fd == uapi::REGISTER_FILES_SKIP {
                done += 1;
                continue;
            }
            let slot = offset + done;
            if let Some(old) = self.ring_mut(ring).table.clear(slot) {
                self.put_file(old);
            }
            if fd != -1 {
                match self.fd_file(fd) {
                    Some(f) if !self.file(f).is_ring() => {
                        self.get_file(f);
                        self.ring_mut(ring).table.set(slot, f);
                    }
                    _ => {
                        err = Some(Errno::EBADF);
                        break;
                    }
                }
            }
            done += 1;
        }
        match (done, err) {
            (0, Some(e)) => Err(e),
            (n, _) => Ok(n),
        }
    }

    /// `io_register_file_alloc_range`: -EOVERFLOW if `off + len` wraps, -EINVAL past
    /// the table; sets the range and moves `alloc_hint` to `off`.
    pub(crate) fn io_register_file_alloc_range(
        &mut self,
        ring: RingId,
        off: u32,
        len: u32,
    ) -> Result<(), Errno> {
        let end = off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
        let table = &mut self.ring_mut(ring).table;
        if end > table.nr() {
            return Err(Errno::EINVAL);
        }
        table.set_alloc_range(off, len);
        Ok(())
    }

    /// `io_register_enable_rings` (C6): -EBADFD unless the ring is R_DISABLED; a
    /// SINGLE_ISSUER ring gets the enabling task as its submitter.
    pub(crate) fn io_register_enable_rings(
        &mut self,
        task: TaskId,
        ring: RingId,
    ) -> Result<(), Errno> {
        let r = self.ring_mut(ring);
        if r.enabled {
            return Err(Errno::EBADFD);
        }
        if r.has(setup::SINGLE_ISSUER) && r.submitter.is_none() {
            r.submitter = Some(task);
        }
        r.enabled = true;
        Ok(())
    }
}
