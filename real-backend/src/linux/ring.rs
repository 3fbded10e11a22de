//! A ring the host set up: its two mappings (the rings and the SQE array), the
//! `io_uring_params` the kernel filled in, and `Host::setup_ring`, which makes one on
//! a task's thread.

use super::sys::{close_fd, errno, sys_setup, Params, FEAT_SINGLE_MMAP, IORING_OFF_SQES};
use super::{Host, Res};
use crate::consts::*;
use crate::limits::*;
use crate::{RingInfo, TaskId, Vfd, HOST_REFUSED};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Setup flags the host refuses: they need extra fds/memory the host does not
/// model (ATTACH_WQ, NO_MMAP, REGISTERED_FD_ONLY) or an SQ layout `push_sqe` does
/// not implement (SQE_MIXED), plus every unknown bit. CQE_MIXED rings are read
/// by `reap` (a 32-byte CQE takes two slots).
const REFUSED_SETUP_FLAGS: u32 =
    SETUP_ATTACH_WQ | SETUP_NO_MMAP | SETUP_REGISTERED_FD_ONLY | SETUP_SQE_MIXED | !((1 << 20) - 1);

/// One `mmap`ed region, unmapped on drop.
pub(super) struct Mapping {
    pub(super) ptr: *mut u8,
    pub(super) len: usize,
}

// SAFETY: the mapping is plain shared memory; moving the owner to another
// thread does not invalidate it, and all ring accesses go through atomics or
// are done by the single `&mut Host` owner.
unsafe impl Send for Mapping {}

impl Mapping {
    fn map(fd: i32, len: usize, offset: i64) -> Result<Mapping, i32> {
        // SAFETY: a fresh shared mapping of an io_uring region; the kernel
        // validates fd/offset/len and we check for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(-errno());
        }
        Ok(Mapping {
            ptr: p as *mut u8,
            len,
        })
    }

    /// Atomic u32 at byte offset `off` (checked against the length).
    pub(super) fn atomic_u32(&self, off: u32) -> &AtomicU32 {
        let off = off as usize;
        assert!(
            off % 4 == 0 && off + 4 <= self.len,
            "ring offset out of mapping"
        );
        // SAFETY: in bounds and 4-aligned (checked above; the mapping is page
        // aligned); the kernel shares this word with us and only accesses it
        // atomically (READ_ONCE/WRITE_ONCE/smp_*), so an AtomicU32 view is sound
        // for the lifetime of `&self`.
        unsafe { &*(self.ptr.add(off) as *const AtomicU32) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; no reference
        // into the mapping outlives `self` (all borrows are tied to `&self`).
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}

pub(super) struct Ring {
    pub(super) fd: i32,
    pub(super) rings: Mapping,
    pub(super) sqes: Mapping,
    pub(super) p: Params,
    pub(super) sqe_size: usize,
    pub(super) cqe_size: usize,
    pub(super) no_sqarray: bool,
    creator: TaskId,
    pub(super) asked_flags: u32,
    /// Per SQ slot: the virtual fd the trace wrote into the SQE's `fd` field, or
    /// `None` for an `IOSQE_FIXED_FILE` SQE (its `fd` is a slot index). The kernel
    /// reads the SQE at submit time, so `enter` translates the fd of every pending
    /// SQE again just before it submits (see [`Host::push_sqe`]).
    pub(super) slot_vfds: Vec<Option<i32>>,
}

impl Ring {
    pub(super) fn cq_ready(&self) -> u32 {
        let tail = self
            .rings
            .atomic_u32(self.p.cq_off.tail)
            .load(Ordering::Acquire);
        let head = self
            .rings
            .atomic_u32(self.p.cq_off.head)
            .load(Ordering::Relaxed);
        tail.wrapping_sub(head)
    }

    /// Waits (at most [`SQ_THREAD_START`]) until a new SQPOLL ring's SQ thread has run
    /// its first loop and gone to sleep, which it shows by setting
    /// IORING_SQ_NEED_WAKEUP. `io_sq_thread` starts with `timeout = 0`, so its first
    /// pass finds the idle time already over and sleeps unless the SQ holds entries;
    /// that is the state the model starts in (M8, D1). Until the new thread is first
    /// scheduled, though, sq_flags reads 0 and an SQE pushed meanwhile is consumed
    /// without a wakeup: a race with the host's scheduler (seen on a loaded 2-CPU CI
    /// machine, 2026-11-25), which a trace must not depend on. On timeout it returns
    /// and the steps that follow show whatever the thread does.
    fn wait_sq_thread_asleep(&self) {
        let flags = self.rings.atomic_u32(self.p.sq_off.flags);
        let start = std::time::Instant::now();
        while flags.load(Ordering::Acquire) & SQ_NEED_WAKEUP == 0
            && start.elapsed() < SQ_THREAD_START
        {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// How long [`Ring::wait_sq_thread_asleep`] waits for a new SQ thread's first sleep.
const SQ_THREAD_START: Duration = Duration::from_secs(2);

impl Drop for Ring {
    fn drop(&mut self) {
        // Mappings are unmapped by their own Drop (fields drop after this body),
        // which is fine: an mmap of an io_uring keeps the ring memory alive on
        // its own, and the kernel tears the ring down once both are gone.
        close_fd(self.fd);
    }
}

impl Host {
    /// `io_uring_setup(entries, {flags, cq_entries})` on task `t`'s thread (so
    /// a SINGLE_ISSUER ring is owned by `t`). Returns the ring's vfd or the
    /// kernel's `-errno`; `HOST_REFUSED` for a refused flag (see
    /// [`HOST_REFUSED`]), past [`MAX_RINGS`], or if the resulting sizes exceed
    /// [`MAX_SQ_ENTRIES`]/[`MAX_CQ_ENTRIES`] (the ring is then closed again).
    pub fn setup_ring(
        &mut self,
        t: TaskId,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    ) -> Result<Vfd, i32> {
        if flags & REFUSED_SETUP_FLAGS != 0 || self.live_rings() >= MAX_RINGS || !self.vfd_room(1) {
            return Err(HOST_REFUSED);
        }
        let (fd, p) = self.run_on(t, move || {
            let mut p = Params {
                flags,
                cq_entries,
                ..Params::default()
            };
            let fd = sys_setup(entries, &mut p);
            (fd, p)
        })?;
        if fd < 0 {
            return Err(fd);
        }
        let fd = self.fresh_fd(fd)?;
        if p.sq_entries > MAX_SQ_ENTRIES
            || p.cq_entries > MAX_CQ_ENTRIES
            || p.features & FEAT_SINGLE_MMAP == 0
            || !p.sq_entries.is_power_of_two()
            || !p.cq_entries.is_power_of_two()
        {
            close_fd(fd);
            return Err(HOST_REFUSED);
        }
        let cqe_size = if flags & SETUP_CQE32 != 0 { 32 } else { 16 };
        let sqe_size = if flags & SETUP_SQE128 != 0 { 128 } else { 64 };
        let no_sqarray = flags & SETUP_NO_SQARRAY != 0;
        let sq_len = if no_sqarray {
            0
        } else {
            p.sq_off.array as usize + p.sq_entries as usize * 4
        };
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * cqe_size;
        let len = sq_len.max(cq_len);
        let rings = match Mapping::map(fd, len, 0) {
            Ok(m) => m,
            Err(e) => {
                close_fd(fd);
                return Err(e);
            }
        };
        let sqes = match Mapping::map(fd, p.sq_entries as usize * sqe_size, IORING_OFF_SQES) {
            Ok(m) => m,
            Err(e) => {
                drop(rings);
                close_fd(fd);
                return Err(e);
            }
        };
        let ring = Ring {
            fd,
            rings,
            sqes,
            p,
            sqe_size,
            cqe_size,
            no_sqarray,
            creator: t,
            asked_flags: flags,
            slot_vfds: vec![None; p.sq_entries as usize],
        };
        if flags & SETUP_SQPOLL != 0 {
            ring.wait_sq_thread_asleep();
        }
        Ok(self.add(Res::Ring(Box::new(ring))))
    }

    /// Sizes/flags of a ring.
    pub fn ring_info(&self, ring: Vfd) -> Option<RingInfo> {
        self.ring(ring).map(|r| RingInfo {
            sq_entries: r.p.sq_entries,
            cq_entries: r.p.cq_entries,
            flags: r.asked_flags,
            features: r.p.features,
            creator: r.creator,
        })
    }
}
