//! The typed register calls (fixed-file tables, alloc ranges, enabling a ring, the
//! synchronous MSG_RING), each run on the thread of the task the step names, with its
//! argument owned by the job (`RegArg`).

use super::sys::{
    sys_register, REG_ENABLE_RINGS, REG_FILES, REG_FILES2, REG_FILES_UPDATE, REG_FILE_ALLOC_RANGE,
    REG_SEND_MSG_RING, RSRC_REGISTER_SPARSE, UNOPENED_FD, UNREG_FILES,
};
use super::Host;
use crate::limits::*;
use crate::{FileSlot, TaskId, Vfd, HOST_REFUSED};

use rustix::io_uring as uring;

/// `struct io_uring_file_index_range` (not in rustix).
#[repr(C)]
struct FileIndexRange {
    off: u32,
    len: u32,
    resv: u64,
}

impl Host {
    // ---- registration ---------------------------------------------------

    fn register_on(&self, t: TaskId, ring: Vfd, op: u32, payload: RegArg) -> i32 {
        // A vfd that is not a ring still goes to the kernel (as its host fd), so the
        // errno is the kernel's. An unknown vfd must not become -1 here: fd -1 is
        // io_uring_register's "blind" opcode path (-EINVAL for ring opcodes). It
        // becomes `UNOPENED_FD` (-EBADF), unless it stands for a negative number
        // (>= 2^31), which goes to the kernel as -1.
        let fd = match self.real_fd(ring) {
            -1 if ring.0 <= i32::MAX as u32 => UNOPENED_FD,
            fd => fd,
        };
        self.run_on(t, move || payload.call(fd, op))
            .unwrap_or_else(|e| e)
    }

    fn translate_slots(&self, fds: &[FileSlot]) -> Result<Vec<i32>, i32> {
        if fds.len() > MAX_TABLE as usize {
            return Err(HOST_REFUSED);
        }
        Ok(fds
            .iter()
            .map(|s| match *s {
                FileSlot::File(v) => self.real_fd(v),
                FileSlot::Empty => -1,
                FileSlot::Skip => -2,
            })
            .collect())
    }

    /// `IORING_REGISTER_FILES` with the given table (`None` = -1, a sparse slot).
    pub fn register_files(&mut self, t: TaskId, ring: Vfd, fds: &[Option<Vfd>]) -> i32 {
        let slots: Vec<FileSlot> = fds.iter().map(|&v| v.into()).collect();
        match self.translate_slots(&slots) {
            Ok(v) => self.register_on(t, ring, REG_FILES, RegArg::Fds(v)),
            Err(e) => e,
        }
    }

    /// `IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE` and `nr` slots.
    pub fn register_files_sparse(&mut self, t: TaskId, ring: Vfd, nr: u32) -> i32 {
        if nr > MAX_TABLE {
            return HOST_REFUSED;
        }
        self.register_on(t, ring, REG_FILES2, RegArg::Sparse(nr))
    }

    /// `IORING_REGISTER_FILES_UPDATE` at `offset` (`None` = -1: clear the slot).
    pub fn update_files(&mut self, t: TaskId, ring: Vfd, offset: u32, fds: &[Option<Vfd>]) -> i32 {
        let slots: Vec<FileSlot> = fds.iter().map(|&v| v.into()).collect();
        self.update_files_slots(t, ring, offset, &slots)
    }

    /// `IORING_REGISTER_FILES_UPDATE` with explicit [`FileSlot`]s (allows `Skip`).
    pub fn update_files_slots(
        &mut self,
        t: TaskId,
        ring: Vfd,
        offset: u32,
        fds: &[FileSlot],
    ) -> i32 {
        match self.translate_slots(fds) {
            Ok(v) => self.register_on(t, ring, REG_FILES_UPDATE, RegArg::Update(offset, v)),
            Err(e) => e,
        }
    }

    /// `IORING_UNREGISTER_FILES`.
    pub fn unregister_files(&mut self, t: TaskId, ring: Vfd) -> i32 {
        self.register_on(t, ring, UNREG_FILES, RegArg::None)
    }

    /// `IORING_REGISTER_FILE_ALLOC_RANGE`.
    pub fn file_alloc_range(&mut self, t: TaskId, ring: Vfd, off: u32, len: u32) -> i32 {
        self.register_on(t, ring, REG_FILE_ALLOC_RANGE, RegArg::Range(off, len))
    }

    /// `IORING_REGISTER_ENABLE_RINGS` (the calling task becomes the submitter
    /// of a SINGLE_ISSUER ring created R_DISABLED).
    pub fn enable_rings(&mut self, t: TaskId, ring: Vfd) -> i32 {
        self.register_on(t, ring, REG_ENABLE_RINGS, RegArg::None)
    }

    /// Synchronous MSG_RING: `io_uring_register(-1, IORING_REGISTER_SEND_MSG_RING,
    /// &sqe, 1)` on task `t`. The fd (bytes 4..8) is translated like `push_sqe`.
    pub fn sync_msg(&mut self, t: TaskId, sqe: [u8; 64]) -> i32 {
        let sqe = self.translate_sqe(sqe);
        self.run_on(t, move || {
            let b = sqe;
            sys_register(-1, REG_SEND_MSG_RING, b.as_ptr() as *const libc::c_void, 1)
        })
        .unwrap_or_else(|e| e)
    }
}

/// Owned argument of a register call, moved to the task thread.
enum RegArg {
    None,
    Fds(Vec<i32>),
    Sparse(u32),
    Update(u32, Vec<i32>),
    Range(u32, u32),
}

impl RegArg {
    fn call(self, fd: i32, op: u32) -> i32 {
        match self {
            RegArg::None => sys_register(fd, op, std::ptr::null(), 0),
            RegArg::Fds(v) => {
                // Like liburing, always pass a valid pointer (even for nr=0), so
                // the kernel's own checks decide rather than a NULL-arg -EFAULT.
                let dummy = [-1i32];
                let p = if v.is_empty() {
                    dummy.as_ptr()
                } else {
                    v.as_ptr()
                };
                sys_register(fd, op, p as *const libc::c_void, v.len() as u32)
            }
            RegArg::Sparse(nr) => {
                let mut a = uring::io_uring_rsrc_register::default();
                a.nr = nr;
                a.flags = uring::IoringRsrcFlags::from_bits_retain(RSRC_REGISTER_SPARSE);
                sys_register(
                    fd,
                    op,
                    &a as *const uring::io_uring_rsrc_register as *const libc::c_void,
                    std::mem::size_of::<uring::io_uring_rsrc_register>() as u32,
                )
            }
            RegArg::Update(offset, v) => {
                let dummy = [-1i32];
                let fds = if v.is_empty() {
                    dummy.as_ptr()
                } else {
                    v.as_ptr()
                };
                let mut a = uring::io_uring_files_update::default();
                a.offset = offset;
                a.fds = uring::io_uring_ptr::new(fds as *mut libc::c_void);
                sys_register(
                    fd,
                    op,
                    &a as *const uring::io_uring_files_update as *const libc::c_void,
                    v.len() as u32,
                )
            }
            RegArg::Range(off, len) => {
                let a = FileIndexRange { off, len, resv: 0 };
                sys_register(
                    fd,
                    op,
                    &a as *const FileIndexRange as *const libc::c_void,
                    0,
                )
            }
        }
    }
}
