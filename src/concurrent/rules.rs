//! The semantic decisions the concurrent layer needs, taken from the sequential model.
//!
//! `io_msg_ring_prep` (R1), the ring predicates (`task_complete`, `lockless_cq`, C5) and
//! the fixed-file bitmap operations (R21, [`FileTable`]) are the sequential model's own
//! code. Four MSG_RING checks are private methods of `World` in `src/exec/msg_ring.rs`
//! (`msg_data_field_checks`, `msg_send_fd_checks`, `io_fixed_fd_install`,
//! `io_install_fixed_file`); until they are exposed to the crate as functions over
//! `(&IoMsg, ...)` and `&mut FileTable`, this module restates them line for line, and
//! the refinement check ([`super::Scenario`]) compares every concurrent outcome with
//! what `World` itself decides, so a drift between the two fails the loom suite.

use crate::errno::Errno;
use crate::sqe::Sqe;
use crate::state::{FileId, FileTable};
use crate::uapi::{self, msg};

pub(crate) use crate::exec::msg_ring::io_msg_ring_prep;

/// `struct io_msg`, as `__io_msg_ring_prep` reads the SQE.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoMsg {
    pub user_data: u64,
    pub len: u32,
    pub cmd: u32,
    pub src_fd: u32,
    pub dst_fd: u32,
    pub flags: u32,
}

impl IoMsg {
    pub(crate) fn from_sqe(sqe: &Sqe) -> IoMsg {
        IoMsg {
            user_data: sqe.off,
            len: sqe.len,
            cmd: sqe.addr as u32,
            src_fd: sqe.addr3 as u32,
            dst_fd: sqe.file_index,
            flags: sqe.msg_ring_flags,
        }
    }

    pub(crate) fn is_data(&self) -> bool {
        u64::from(self.cmd) == msg::DATA
    }

    pub(crate) fn is_send_fd(&self) -> bool {
        u64::from(self.cmd) == msg::SEND_FD
    }

    /// R12: the target CQE's flags.
    pub(crate) fn data_cqe_flags(&self) -> u32 {
        if self.flags & msg::FLAGS_PASS != 0 {
            self.dst_fd
        } else {
            0
        }
    }
}

/// R10.1, R10.2 (mirror of `msg_data_field_checks`).
pub(crate) fn msg_data_field_checks(m: &IoMsg) -> Result<(), Errno> {
    if m.src_fd != 0 || m.flags & !msg::FLAGS_PASS != 0 {
        return Err(Errno::EINVAL);
    }
    if m.flags & msg::FLAGS_PASS == 0 && m.dst_fd != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// R20.1, R20.2 (mirror of `World::msg_send_fd_checks`; every modelled ring is enabled).
pub(crate) fn msg_send_fd_checks(source: usize, target: usize, m: &IoMsg) -> Result<(), Errno> {
    if m.len != 0 || target == source {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// R21 `__io_fixed_fd_install` + `io_install_fixed_file` (mirror), on the target's
/// table, which the caller holds under the target's `uring_lock`. Returns the result
/// and the file an occupied slot held (the caller puts it).
pub(crate) fn io_fixed_fd_install(
    table: &mut FileTable,
    file: FileId,
    file_is_ring: bool,
    dst_fd: u32,
) -> Result<(i32, Option<FileId>), Errno> {
    let (slot, ret) = if dst_fd == uapi::FILE_INDEX_ALLOC {
        let slot = table.bitmap_get().ok_or(Errno::ENFILE)?;
        (slot, slot as i32)
    } else {
        (dst_fd.wrapping_sub(1), 0)
    };
    if file_is_ring {
        return Err(Errno::EBADF);
    }
    if table.nr() == 0 {
        return Err(Errno::ENXIO);
    }
    if slot >= table.nr() {
        return Err(Errno::EINVAL);
    }
    let old = if table.get(slot).is_some() {
        Some(table.replace(slot, file))
    } else {
        table.set(slot, file);
        None
    };
    Ok((ret, old))
}
