//! The SQ and the CQ through the host's mappings: queueing SQEs (with their fds
//! translated from vfds), `io_uring_enter`, reaping CQEs, and reading the ring words
//! userspace sees (`sq_flags`, the CQ overflow counter, head and tail).

use super::ring::Ring;
use super::sys::{sys_ret, CQE_F_32, CQE_F_SKIP};
use super::Host;
use crate::consts::*;
use crate::{Cqe, PushError, TaskId, Vfd, ALLOWED_OPCODES};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustix::io_uring as uring;

impl Host {
    // ---- SQ / CQ --------------------------------------------------------

    pub(super) fn translate_sqe(&self, mut sqe: [u8; 64]) -> [u8; 64] {
        if sqe[1] & crate::sqe::IOSQE_FIXED_FILE == 0 {
            let raw = i32::from_le_bytes([sqe[4], sqe[5], sqe[6], sqe[7]]);
            sqe[4..8].copy_from_slice(&self.translate_i32(raw).to_le_bytes());
        }
        sqe
    }

    /// Queue one SQE (not submitted until `enter`, or until the SQPOLL thread
    /// picks it up). The 64 bytes go to the kernel as given, except the fd
    /// field, which is translated vfd -> host fd unless `IOSQE_FIXED_FILE` is
    /// set (an unknown vfd becomes -1). On an SQE128 ring the second half is
    /// zeroed. Only [`ALLOWED_OPCODES`] are accepted.
    ///
    /// When the fd is translated: the kernel reads an SQE (and looks its fd up)
    /// when it consumes it, not when it is queued. So the fd is translated here
    /// and, on a ring without SQPOLL, translated again by [`Host::enter`] for
    /// every SQE still pending just before the syscall: a vfd created or closed
    /// between `push_sqe` and `enter` is seen as it is at submit time. On an
    /// SQPOLL ring the SQ thread may consume the SQE at any moment after the tail
    /// is published, so only the push-time translation applies there.
    pub fn push_sqe(&mut self, ring: Vfd, sqe: [u8; 64]) -> Result<(), PushError> {
        if !ALLOWED_OPCODES.contains(&sqe[0]) {
            return Err(PushError::Forbidden);
        }
        let vfd = (sqe[1] & crate::sqe::IOSQE_FIXED_FILE == 0)
            .then(|| i32::from_le_bytes([sqe[4], sqe[5], sqe[6], sqe[7]]));
        let sqe = self.translate_sqe(sqe);
        let r = self.ring_mut(ring).ok_or(PushError::NotARing)?;
        let head = r.rings.atomic_u32(r.p.sq_off.head).load(Ordering::Acquire);
        let tail_a = r.rings.atomic_u32(r.p.sq_off.tail);
        let tail = tail_a.load(Ordering::Relaxed);
        if tail.wrapping_sub(head) >= r.p.sq_entries {
            return Err(PushError::SqFull);
        }
        let idx = tail & (r.p.sq_entries - 1);
        let at = idx as usize * r.sqe_size;
        assert!(at + r.sqe_size <= r.sqes.len);
        // SAFETY: `at..at+sqe_size` is inside the SQE mapping (asserted); the
        // slot is free (tail - head < entries), so the kernel is not reading it
        // until we publish the new tail below.
        unsafe {
            let dst = r.sqes.ptr.add(at);
            std::ptr::copy_nonoverlapping(sqe.as_ptr(), dst, 64);
            if r.sqe_size > 64 {
                std::ptr::write_bytes(dst.add(64), 0, r.sqe_size - 64);
            }
        }
        if !r.no_sqarray {
            let a = r.p.sq_off.array + idx * 4;
            r.rings.atomic_u32(a).store(idx, Ordering::Relaxed);
        }
        r.slot_vfds[idx as usize] = vfd;
        tail_a.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Translates the fd of every SQE queued on `ring` and not yet consumed again,
    /// from the vfd recorded at push time (see [`Host::push_sqe`]). Not for SQPOLL
    /// rings, whose SQ thread may be reading the entries.
    fn retranslate_pending(&mut self, ring: Vfd) {
        let Some(r) = self.ring(ring) else {
            return;
        };
        if r.asked_flags & SETUP_SQPOLL != 0 {
            return;
        }
        let head = r.rings.atomic_u32(r.p.sq_off.head).load(Ordering::Acquire);
        let tail = r.rings.atomic_u32(r.p.sq_off.tail).load(Ordering::Relaxed);
        let pending = tail.wrapping_sub(head).min(r.p.sq_entries);
        let fds: Vec<(usize, i32)> = (0..pending)
            .filter_map(|i| {
                let idx = (head.wrapping_add(i) & (r.p.sq_entries - 1)) as usize;
                r.slot_vfds[idx].map(|v| (idx, self.translate_i32(v)))
            })
            .collect();
        for (idx, fd) in fds {
            let at = idx * r.sqe_size + 4;
            assert!(at + 4 <= r.sqes.len);
            // SAFETY: `at..at+4` is the `fd` field of SQE slot `idx`, inside the
            // SQE mapping (asserted). The slot is between head and tail, i.e. not
            // yet consumed, and without SQPOLL the kernel only consumes SQEs inside
            // `io_uring_enter`, which for this ring is issued only through
            // `&mut Host` (so not concurrently with this write); the Release store
            // of the tail was done before and the enter syscall orders this write
            // before the kernel's read.
            unsafe {
                std::ptr::copy_nonoverlapping(fd.to_le_bytes().as_ptr(), r.sqes.ptr.add(at), 4);
            }
        }
    }

    /// `io_uring_enter(ring, to_submit, min_complete, flags)` on task `t`'s
    /// thread. The caller's `EXT_ARG`/`EXT_ARG_REG` bits are dropped; when
    /// `GETEVENTS` is set and `min_complete > 0` the host adds `EXT_ARG` with
    /// `timeout` so the call cannot hang (it then returns `-ETIME`).
    pub fn enter(
        &mut self,
        t: TaskId,
        ring: Vfd,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Duration,
    ) -> i32 {
        self.retranslate_pending(ring);
        let fd = self.real_fd(ring);
        self.enter_fd(t, fd, to_submit, min_complete, flags, timeout)
    }

    /// `io_uring_enter(fd, ...)` on task `t`'s thread, `fd` as given (see
    /// [`Host::enter`]).
    pub(super) fn enter_fd(
        &mut self,
        t: TaskId,
        fd: i32,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Duration,
    ) -> i32 {
        let mut flags = flags & !(ENTER_EXT_ARG | ENTER_EXT_ARG_REG);
        let use_ts = flags & ENTER_GETEVENTS != 0 && min_complete > 0;
        if use_ts {
            flags |= ENTER_EXT_ARG;
        }
        let secs = timeout.as_secs().min(i64::MAX as u64) as i64;
        let nsecs = timeout.subsec_nanos() as i64;
        self.run_on(t, move || {
            let ts: [i64; 2] = [secs, nsecs];
            let arg = uring::io_uring_getevents_arg {
                sigmask_sz: 8,
                ts: uring::io_uring_ptr::new(ts.as_ptr() as *mut libc::c_void),
                ..Default::default()
            };
            let (argp, argsz) = if use_ts {
                (
                    &arg as *const uring::io_uring_getevents_arg as *const libc::c_void,
                    std::mem::size_of::<uring::io_uring_getevents_arg>(),
                )
            } else {
                (std::ptr::null(), 0)
            };
            // SAFETY: `argp` is NULL or points at `arg`, which (with `ts`) lives
            // on this stack frame for the whole call; no sigmask is passed.
            sys_ret(unsafe {
                libc::syscall(
                    libc::SYS_io_uring_enter,
                    fd,
                    to_submit,
                    min_complete,
                    flags,
                    argp,
                    argsz,
                )
            })
        })
        .unwrap_or_else(|e| e)
    }

    /// Read up to `max` CQEs straight from the CQ ring (tail with Acquire) and
    /// release them (head with Release). No syscall, so no overflow flush and
    /// no task_work run. On a CQE_MIXED ring a CQE with IORING_CQE_F_32 takes two
    /// 16-byte slots (its second half is `big`), and padding CQEs
    /// (IORING_CQE_F_SKIP) are returned like any other: each is one slot.
    pub fn reap(&mut self, ring: Vfd, max: u32) -> Vec<Cqe> {
        let Some(r) = self.ring(ring) else {
            return Vec::new();
        };
        let mixed = r.asked_flags & SETUP_CQE_MIXED != 0;
        let head_a = r.rings.atomic_u32(r.p.cq_off.head);
        let head = head_a.load(Ordering::Relaxed);
        let tail = r.rings.atomic_u32(r.p.cq_off.tail).load(Ordering::Acquire);
        let ready = tail.wrapping_sub(head).min(r.p.cq_entries);
        let read = |slot: u32, len: usize, b: &mut [u8; 32]| {
            let idx = head.wrapping_add(slot) & (r.p.cq_entries - 1);
            let at = r.p.cq_off.cqes as usize + idx as usize * r.cqe_size;
            assert!(at + len <= r.rings.len);
            // SAFETY: in bounds (asserted); the entry is between head and the
            // Acquire-loaded tail, so the kernel finished writing it and will
            // not touch it until we advance head.
            unsafe { std::ptr::copy_nonoverlapping(r.rings.ptr.add(at), b.as_mut_ptr(), len) };
        };
        let mut out = Vec::new();
        let mut used = 0u32;
        while used < ready && (out.len() as u32) < max {
            let mut b = [0u8; 32];
            read(used, r.cqe_size, &mut b);
            let flags = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
            used += 1;
            if mixed && flags & CQE_F_32 != 0 && flags & CQE_F_SKIP == 0 && used < ready {
                let mut second = [0u8; 32];
                read(used, 16, &mut second);
                b[16..32].copy_from_slice(&second[..16]);
                used += 1;
            }
            let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
            out.push(Cqe {
                user_data: u64_at(0),
                res: i32::from_le_bytes([b[8], b[9], b[10], b[11]]),
                flags,
                big: [u64_at(16), u64_at(24)],
            });
        }
        head_a.store(head.wrapping_add(used), Ordering::Release);
        out
    }

    /// `sq_flags` word (NEED_WAKEUP, CQ_OVERFLOW, TASKRUN). 0 for a non-ring.
    pub fn sq_flags(&self, ring: Vfd) -> u32 {
        self.ring(ring)
            .map(|r| r.rings.atomic_u32(r.p.sq_off.flags).load(Ordering::Acquire))
            .unwrap_or(0)
    }

    /// The CQ ring's `overflow` counter (dropped CQEs). 0 for a non-ring.
    pub fn cq_overflow(&self, ring: Vfd) -> u32 {
        self.ring(ring)
            .map(|r| {
                r.rings
                    .atomic_u32(r.p.cq_off.overflow)
                    .load(Ordering::Acquire)
            })
            .unwrap_or(0)
    }

    /// CQEs visible in the CQ ring (`tail - head`). 0 for a non-ring.
    pub fn cq_ready(&self, ring: Vfd) -> u32 {
        self.ring(ring).map(Ring::cq_ready).unwrap_or(0)
    }

    /// Entries queued in the SQ ring and not yet consumed by the kernel.
    pub fn sq_pending(&self, ring: Vfd) -> u32 {
        self.ring(ring)
            .map(|r| {
                let tail = r.rings.atomic_u32(r.p.sq_off.tail).load(Ordering::Relaxed);
                let head = r.rings.atomic_u32(r.p.sq_off.head).load(Ordering::Acquire);
                tail.wrapping_sub(head)
            })
            .unwrap_or(0)
    }
}
