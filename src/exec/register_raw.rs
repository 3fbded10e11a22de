//! `io_uring_register(fd, opcode, arg, nr_args)` with every operand as a trace gives it
//! ([`Step::Register`](crate::Step::Register)): the sync message's own operands (R30),
//! registered ring fds (R31) and personalities (R32), and `io_uring_enter` through a
//! registered ring fd. Functions are named for the kernel functions they model
//! (io_uring/register.c, io_uring/tctx.c).

use crate::errno::Errno;
use crate::state::{FileId, FileKind, RingId, TaskId};
use crate::step::{RegisterArg, RingFdUpdate, StepResult};
use crate::uapi::{enter, register};
use crate::World;

/// The opcodes [`World::io_uring_register`] models; others are unmodelled.
const MODELLED: [u32; 5] = [
    register::SEND_MSG_RING,
    register::PERSONALITY,
    register::UNREGISTER_PERSONALITY,
    register::RING_FDS,
    register::UNREGISTER_RING_FDS,
];

impl World {
    /// `SYSCALL_DEFINE4(io_uring_register)`: the blind path for fd -1, else the ring
    /// (by fd, or by registered index with IORING_REGISTER_USE_REGISTERED_RING), its
    /// submitter check (C6, -EEXIST), then the opcode.
    pub(crate) fn io_uring_register(
        &mut self,
        task: TaskId,
        fd: i32,
        opcode: u32,
        arg: &RegisterArg,
        nr_args: u32,
    ) -> StepResult {
        let use_registered = opcode & register::USE_REGISTERED_RING != 0;
        let op = opcode & !register::USE_REGISTERED_RING;
        if !MODELLED.contains(&op) {
            return StepResult::Unmodelled(format!("io_uring_register opcode {op}"));
        }
        // The host passes only matching arguments (an SQE is 64 bytes, an update
        // array 16 per entry): other pairs are not carried out.
        let fits = matches!(
            (op, arg),
            (_, RegisterArg::Null)
                | (register::SEND_MSG_RING, RegisterArg::Sqe(_))
                | (
                    register::RING_FDS | register::UNREGISTER_RING_FDS,
                    RegisterArg::RingFds(_)
                )
                | (register::PERSONALITY | register::UNREGISTER_PERSONALITY, _)
        );
        if !fits {
            return StepResult::Refused(format!("an argument of the wrong kind for opcode {op}"));
        }
        if let RegisterArg::RingFds(v) = arg {
            if op == register::RING_FDS && v.iter().any(|u| u.fd.is_none()) {
                // `data = 0` is fd 0: not one of the trace's files.
                return StepResult::Refused("registering fd 0 (data=0)".into());
            }
        }
        let too_new = (op == register::SEND_MSG_RING && !self.profile.has_sync_msg())
            || (use_registered && !self.profile.register_use_registered_ring());
        let r = if too_new {
            Err(Errno::EINVAL) // at or above IORING_REGISTER_LAST
        } else if fd == -1 {
            self.io_uring_register_blind(op, arg, nr_args)
        } else {
            self.io_uring_get_ring(task, fd, use_registered)
                .and_then(|ring| self.register_owner_check(task, ring))
                .and_then(|ring| self.io_uring_register_op(task, ring, op, arg, nr_args))
        };
        StepResult::Ret(r.unwrap_or_else(Errno::neg))
    }

    /// `io_uring_register_blind`: only IORING_REGISTER_SEND_MSG_RING (of the modelled
    /// opcodes) works without a ring; it needs a non-NULL `arg` and `nr_args == 1`.
    fn io_uring_register_blind(
        &mut self,
        op: u32,
        arg: &RegisterArg,
        nr_args: u32,
    ) -> Result<i32, Errno> {
        match (op, arg) {
            (register::SEND_MSG_RING, RegisterArg::Sqe(sqe)) if nr_args == 1 => {
                let r = self.io_uring_sync_msg_ring(sqe);
                Errno::from_res(r).map_or(Ok(r), Err)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `io_uring_register_get_file` (and io_uring_enter's lookup): a registered index
    /// (-EINVAL without an io_uring context or past IO_RINGFD_REG_MAX, -EBADF for an
    /// empty one, R31.2) or an fd (-EBADF), which must be an io_uring (-EOPNOTSUPP).
    pub(crate) fn io_uring_get_ring(
        &self,
        task: TaskId,
        fd: i32,
        registered: bool,
    ) -> Result<RingId, Errno> {
        let file = if registered {
            self.registered_ring_file(task, fd)?
        } else {
            self.fd_file(fd).ok_or(Errno::EBADF)?
        };
        match self.file(file).kind {
            FileKind::Ring(r) => Ok(r),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// `tctx->registered_rings[fd]`, for io_uring_enter and io_uring_register.
    fn registered_ring_file(&self, task: TaskId, fd: i32) -> Result<FileId, Errno> {
        let t = self.task(task).ok_or(Errno::EINVAL)?;
        let idx = fd as u32;
        if !t.tctx || idx >= register::RINGFD_REG_MAX {
            return Err(Errno::EINVAL);
        }
        t.registered_rings[idx as usize].ok_or(Errno::EBADF)
    }

    /// `__io_uring_register`'s check: a SINGLE_ISSUER ring's owner only (C6).
    pub(crate) fn register_owner_check(&self, task: TaskId, ring: RingId) -> Result<RingId, Errno> {
        match self.ring(ring).submitter {
            Some(owner) if owner != task => Err(Errno::EEXIST),
            _ => Ok(ring),
        }
    }

    /// `__io_uring_register`'s switch, for the modelled opcodes.
    fn io_uring_register_op(
        &mut self,
        task: TaskId,
        ring: RingId,
        op: u32,
        arg: &RegisterArg,
        nr_args: u32,
    ) -> Result<i32, Errno> {
        let null = matches!(arg, RegisterArg::Null);
        match op {
            register::PERSONALITY if !null || nr_args != 0 => Err(Errno::EINVAL),
            register::PERSONALITY => self.io_register_personality(ring),
            register::UNREGISTER_PERSONALITY if !null => Err(Errno::EINVAL),
            register::UNREGISTER_PERSONALITY => {
                self.io_unregister_personality(ring, nr_args).map(|()| 0)
            }
            register::RING_FDS => self.io_ringfd_register(task, arg, nr_args),
            register::UNREGISTER_RING_FDS => self.io_ringfd_unregister(task, arg, nr_args),
            // IORING_REGISTER_SEND_MSG_RING on a ring: not in the switch.
            _ => Err(Errno::EINVAL),
        }
    }

    /// R32 `io_register_personality`: `xa_alloc_cyclic(&ctx->personalities, ...,
    /// XA_LIMIT(0, USHRT_MAX), &ctx->pers_next)` on an XA_FLAGS_ALLOC1 array: the next
    /// free id from `pers_next` (1 at the start), wrapping to 1; returns it.
    fn io_register_personality(&mut self, ring: RingId) -> Result<i32, Errno> {
        let r = self.ring_mut(ring);
        let from = r.pers_next.clamp(1, u32::from(u16::MAX) + 1);
        let free = |r: &crate::state::Ring, lo: u32, hi: u32| {
            (lo..=hi).find(|&id| !r.personalities.contains(&(id as u16)))
        };
        let id = free(r, from, u32::from(u16::MAX))
            .or_else(|| free(r, 1, from.saturating_sub(1)))
            .ok_or(Errno::EBUSY)?;
        r.personalities.insert(id as u16);
        r.pers_next = id + 1;
        Ok(id as i32)
    }

    /// R32 `io_unregister_personality`: -EINVAL for an id not registered.
    fn io_unregister_personality(&mut self, ring: RingId, id: u32) -> Result<(), Errno> {
        let r = self.ring_mut(ring);
        match u16::try_from(id) {
            Ok(id) if r.personalities.remove(&id) => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// R31 `io_ringfd_register`: 1..=16 entries (-EINVAL); the caller gets an io_uring
    /// context; each entry's ring fd goes to its offset (or, for `-1U`, the lowest free
    /// one): -EINVAL past 16, -EBADF/-EOPNOTSUPP for a bad fd or one that is not an
    /// io_uring, -EBUSY when taken or full. Returns how many entries were registered
    /// before the first failure, or that failure.
    fn io_ringfd_register(
        &mut self,
        task: TaskId,
        arg: &RegisterArg,
        nr_args: u32,
    ) -> Result<i32, Errno> {
        if nr_args == 0 || nr_args > register::RINGFD_REG_MAX {
            return Err(Errno::EINVAL);
        }
        self.task_mut(task).tctx = true;
        let RegisterArg::RingFds(entries) = arg else {
            return Err(Errno::EFAULT); // copy_from_user(NULL)
        };
        let mut err = Errno::EFAULT;
        let mut done = 0u32;
        for i in 0..nr_args as usize {
            // Entries past the given ones read as zero (the host passes a zeroed array).
            let RingFdUpdate { offset, fd } = entries.get(i).copied().unwrap_or(RingFdUpdate {
                offset: 0,
                fd: None,
            });
            let (start, end) = if offset == u32::MAX {
                (0, register::RINGFD_REG_MAX)
            } else if offset >= register::RINGFD_REG_MAX {
                err = Errno::EINVAL;
                break;
            } else {
                (offset, offset + 1)
            };
            let file = match fd.and_then(|fd| self.fd_file(fd)) {
                None => {
                    err = Errno::EBADF;
                    break;
                }
                Some(f) if !self.file(f).is_ring() => {
                    err = Errno::EOPNOTSUPP;
                    break;
                }
                Some(f) => f,
            };
            let t = self.task_mut(task);
            let Some(slot) = (start..end).find(|&k| t.registered_rings[k as usize].is_none())
            else {
                err = Errno::EBUSY;
                break;
            };
            t.registered_rings[slot as usize] = Some(file);
            self.get_file(file);
            done += 1;
        }
        if done > 0 {
            Ok(done as i32)
        } else {
            Err(err)
        }
    }

    /// R31 `io_ringfd_unregister`: 1..=16 entries (-EINVAL); without an io_uring
    /// context, 0; each entry must have `data == 0` and an offset below 16 (-EINVAL);
    /// a registered ring at the offset is put. Returns how many entries were handled
    /// before the first failure, or that failure.
    fn io_ringfd_unregister(
        &mut self,
        task: TaskId,
        arg: &RegisterArg,
        nr_args: u32,
    ) -> Result<i32, Errno> {
        if nr_args == 0 || nr_args > register::RINGFD_REG_MAX {
            return Err(Errno::EINVAL);
        }
        if !self.task(task).is_some_and(|t| t.tctx) {
            return Ok(0);
        }
        let RegisterArg::RingFds(entries) = arg else {
            return Err(Errno::EFAULT);
        };
        let mut done = 0u32;
        let mut err = Errno::EFAULT;
        for i in 0..nr_args as usize {
            let u = entries.get(i).copied().unwrap_or(RingFdUpdate {
                offset: 0,
                fd: None,
            });
            // `data` is the fd given, and a host fd is never 0.
            if u.fd.is_some() || u.offset >= register::RINGFD_REG_MAX {
                err = Errno::EINVAL;
                break;
            }
            if let Some(f) = self.task_mut(task).registered_rings[u.offset as usize].take() {
                self.put_file(f);
            }
            done += 1;
        }
        if done > 0 {
            Ok(done as i32)
        } else {
            Err(err)
        }
    }

    /// `io_uring_unreg_ringfd` when a task exits: every registered ring is put.
    pub(crate) fn io_uring_unreg_ringfd(&mut self, task: TaskId) {
        let rings = std::mem::take(&mut self.task_mut(task).registered_rings);
        for f in rings.into_iter().flatten() {
            self.put_file(f);
        }
    }

    /// The ring `io_uring_enter(fd, .., flags)` acts on: by registered index with
    /// IORING_ENTER_REGISTERED_RING, else by fd ([`Self::io_uring_get_ring`]).
    pub(crate) fn enter_ring(&self, task: TaskId, fd: i32, flags: u32) -> Result<RingId, Errno> {
        self.io_uring_get_ring(task, fd, flags & enter::REGISTERED_RING != 0)
    }
}
