//! `io_uring_register` with the operands a trace spells out (msgring's `register`
//! step), and `io_uring_enter` through a registered ring fd.
//!
//! Only opcodes whose argument the host can lay out safely are passed:
//! `IORING_REGISTER_SEND_MSG_RING` (a 64-byte SQE, or NULL), `IORING_[UN]REGISTER_RING_FDS`
//! (an array of `io_uring_rsrc_update`, always 16 entries long so that any `nr_args` the
//! kernel accepts stays inside it), `IORING_[UN]REGISTER_PERSONALITY` (no argument is
//! read). Anything else is refused with [`HOST_REFUSED`].

use super::sys::{sys_register, REG_SEND_MSG_RING};
use super::Host;
use crate::{RawRegArg, RegFd, TaskId, HOST_REFUSED};

use rustix::io_uring as uring;

const REG_PERSONALITY: u32 = uring::IoringRegisterOp::RegisterPersonality as u32;
const UNREG_PERSONALITY: u32 = uring::IoringRegisterOp::UnregisterPersonality as u32;
const REG_RING_FDS: u32 = uring::IoringRegisterOp::RegisterRingFds as u32;
const UNREG_RING_FDS: u32 = uring::IoringRegisterOp::UnregisterRingFds as u32;
const USE_REGISTERED_RING: u32 = uring::IoringRegisterFlags::USE_REGISTERED_RING.bits();
/// `IO_RINGFD_REG_MAX` (not in rustix).
const RINGFD_REG_MAX: usize = 16;

/// `struct io_uring_rsrc_update`, as plain integers (rustix's has a pointer type for
/// `data`, which here is an fd, and could not move to the task's thread); checked
/// against rustix's layout at compile time.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RsrcUpdate {
    offset: u32,
    resv: u32,
    data: u64,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<RsrcUpdate>() == size_of::<uring::io_uring_rsrc_update>());
    assert!(offset_of!(RsrcUpdate, data) == offset_of!(uring::io_uring_rsrc_update, data));
};

impl Host {
    /// `io_uring_register(fd, opcode, arg, nr_args)` on task `t`'s thread, for the
    /// opcodes listed in the module docs (`opcode` may carry
    /// `IORING_REGISTER_USE_REGISTERED_RING`). Returns the kernel's result, or
    /// [`HOST_REFUSED`] for another opcode, an argument of the wrong kind, or a
    /// ring-fd registration of fd 0 (`data = 0`: not the host's).
    pub fn register_raw(
        &mut self,
        t: TaskId,
        fd: RegFd,
        opcode: u32,
        arg: RawRegArg,
        nr_args: u32,
    ) -> i32 {
        let op = opcode & !USE_REGISTERED_RING;
        let ok = match (op, &arg) {
            (REG_PERSONALITY | UNREG_PERSONALITY, _) => true,
            (REG_SEND_MSG_RING, RawRegArg::Null | RawRegArg::Sqe(_)) => true,
            (REG_RING_FDS, RawRegArg::RingFds(v)) => v.iter().all(|(_, d)| d.is_some()),
            (UNREG_RING_FDS, RawRegArg::RingFds(_)) => true,
            (REG_RING_FDS | UNREG_RING_FDS, RawRegArg::Null) => true,
            _ => false,
        };
        // An index only with IORING_REGISTER_USE_REGISTERED_RING (else it would be an
        // fd the host did not create), and then nothing but an index.
        let registered = opcode & USE_REGISTERED_RING != 0;
        if !ok || registered != matches!(fd, RegFd::Index(_)) {
            return HOST_REFUSED;
        }
        let fd = match fd {
            RegFd::Blind => -1,
            RegFd::Vfd(v) => match self.real_fd(v) {
                -1 => super::sys::UNOPENED_FD,
                fd => fd,
            },
            RegFd::Index(i) => i as i32,
        };
        // Owned, laid-out arguments, moved to the task's thread.
        let payload: Payload = match arg {
            RawRegArg::Null => Payload::Null,
            RawRegArg::Sqe(sqe) => Payload::Sqe(self.translate_sqe(sqe)),
            RawRegArg::RingFds(v) if v.len() <= RINGFD_REG_MAX => {
                let mut a = [RsrcUpdate::default(); RINGFD_REG_MAX];
                for (slot, (offset, data)) in a.iter_mut().zip(&v) {
                    slot.offset = *offset;
                    slot.data = data.map_or(0, |d| self.real_fd(d) as i64 as u64);
                }
                Payload::Updates(Box::new(a))
            }
            RawRegArg::RingFds(_) => return HOST_REFUSED,
        };
        if op == REG_RING_FDS && !self.ring_fd_tasks.contains(&t) {
            self.ring_fd_tasks.push(t);
        }
        self.run_on(t, move || {
            let p: *const libc::c_void = match &payload {
                Payload::Null => std::ptr::null(),
                Payload::Sqe(b) => b.as_ptr().cast(),
                Payload::Updates(a) => a.as_ptr().cast(),
            };
            // `p` is NULL or points at a buffer this closure owns: 64 bytes for an
            // SQE (read only with nr_args == 1), 16 updates for ring fds (the kernel
            // reads and writes back at most nr_args <= 16 of them).
            sys_register(fd, opcode, p, nr_args)
        })
        .unwrap_or_else(|e| e)
    }

    /// `io_uring_enter` with `IORING_ENTER_REGISTERED_RING`: `index` is an index into
    /// task `t`'s registered ring fds, passed as is (see [`Host::enter`] for the rest;
    /// SQEs pending on the ring keep the fds translated when they were pushed).
    pub fn enter_registered(
        &mut self,
        t: TaskId,
        index: u32,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: std::time::Duration,
    ) -> i32 {
        let flags = flags | crate::consts::ENTER_REGISTERED_RING;
        self.enter_fd(t, index as i32, to_submit, min_complete, flags, timeout)
    }

    /// Unregisters every ring fd a task registered (all 16 indexes), through any ring
    /// the host still has, before the host closes its rings: task 0 lives on across
    /// [`Host::reset`]s and would keep the rings (and their memory) otherwise.
    pub(super) fn unregister_ring_fds(&mut self) {
        let tasks = std::mem::take(&mut self.ring_fd_tasks);
        // Any ring will do; without one, a ring of one entry made for the call.
        let ring_fd = self
            .vfds
            .iter()
            .flatten()
            .find_map(|r| matches!(r, super::Res::Ring(_)).then(|| r.fd()));
        for t in tasks {
            let _ = self.run_on(t, move || {
                let fd =
                    ring_fd.unwrap_or_else(|| super::sys_setup(1, &mut super::Params::default()));
                let mut a = [RsrcUpdate::default(); RINGFD_REG_MAX];
                for (i, u) in a.iter_mut().enumerate() {
                    u.offset = i as u32;
                }
                let r = sys_register(fd, UNREG_RING_FDS, a.as_ptr().cast(), RINGFD_REG_MAX as u32);
                if ring_fd.is_none() && fd >= 0 {
                    super::close_fd(fd);
                }
                r
            });
        }
    }
}

/// A register argument owned by the closure that makes the call.
enum Payload {
    Null,
    Sqe([u8; 64]),
    Updates(Box<[RsrcUpdate; RINGFD_REG_MAX]>),
}
