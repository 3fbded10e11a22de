//! `io_uring_setup` (C1, C5, C6) and the task/file steps around it.

use crate::errno::Errno;
use crate::state::{FileKind, Ring, RingId, TaskId, Work};
use crate::step::StepResult;
use crate::uapi::{self, setup};
use crate::World;

/// C1 `io_uring_fill_params`: the SQ and CQ sizes for `entries`/`cq_entries`.
pub fn io_uring_fill_params(
    entries: u32,
    cq_entries: u32,
    flags: u32,
) -> Result<(u32, u32), Errno> {
    let clamp = flags & setup::CLAMP != 0;
    if entries == 0 {
        return Err(Errno::EINVAL);
    }
    let entries = if entries > uapi::MAX_ENTRIES {
        if !clamp {
            return Err(Errno::EINVAL);
        }
        uapi::MAX_ENTRIES
    } else {
        entries
    };
    let sq = entries.next_power_of_two();
    let cq = if flags & setup::CQSIZE != 0 {
        if cq_entries == 0 {
            return Err(Errno::EINVAL);
        }
        let c = if cq_entries > uapi::MAX_CQ_ENTRIES {
            if !clamp {
                return Err(Errno::EINVAL);
            }
            uapi::MAX_CQ_ENTRIES
        } else {
            cq_entries
        };
        let c = c.next_power_of_two();
        if c < sq {
            return Err(Errno::EINVAL);
        }
        c
    } else {
        2 * sq
    };
    Ok((sq, cq))
}

/// C1.1 `io_uring_sanitise_params`: unknown flags of `profile`'s kernel and flag
/// combinations it refuses (-EINVAL).
pub fn io_uring_sanitise_params(flags: u32, profile: crate::Profile) -> Result<(), Errno> {
    let has = |f: u32| flags & f != 0;
    let bad = flags & !profile.known_setup_flags() != 0
        || (has(setup::REGISTERED_FD_ONLY) && !has(setup::NO_MMAP))
        || (has(setup::SQPOLL)
            && has(setup::COOP_TASKRUN | setup::TASKRUN_FLAG | setup::DEFER_TASKRUN))
        || (has(setup::TASKRUN_FLAG) && !has(setup::COOP_TASKRUN | setup::DEFER_TASKRUN))
        || (has(setup::HYBRID_IOPOLL) && !has(setup::IOPOLL))
        || (has(setup::DEFER_TASKRUN) && !has(setup::SINGLE_ISSUER))
        || (has(setup::CQE32) && has(setup::CQE_MIXED));
    if bad {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

impl World {
    /// `io_uring_setup` by `task` (C1, C5, C6): checks the flags and sizes, creates the
    /// ring and its fd. A SINGLE_ISSUER ring created without R_DISABLED is owned by
    /// `task` from the start.
    pub(crate) fn io_uring_setup(
        &mut self,
        task: TaskId,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    ) -> StepResult {
        if let Err(e) = io_uring_sanitise_params(flags, self.profile) {
            return StepResult::Ret(e.neg());
        }
        let (sq, cq) = match io_uring_fill_params(entries, cq_entries, flags) {
            Ok(sizes) => sizes,
            Err(e) => return StepResult::Ret(e.neg()),
        };
        if flags & !setup::MODELLED != 0 {
            return StepResult::Unmodelled(format!("setup flags {:#x}", flags & !setup::MODELLED));
        }
        let id = RingId(self.rings.len() as u32);
        let file = self.new_file(FileKind::Ring(id));
        let mut ring = Ring::new(file, flags, sq, cq);
        ring.cq = ring.cq.clone().with_layout(crate::state::CqLayout {
            big_posts: self.profile.big_cqe_posts(),
            mixed: flags & setup::CQE_MIXED != 0,
            cqe32_ring: flags & setup::CQE32 != 0,
            pad_any_ring: !self.profile.cqe_refill_pads_only_mixed(),
        });
        if flags & setup::SINGLE_ISSUER != 0 && flags & setup::R_DISABLED == 0 {
            ring.submitter = Some(task);
        }
        self.rings.push(ring);
        self.task_mut(task).tctx = true; // __io_uring_add_tctx_node
        StepResult::Ret(self.install_fd(file))
    }

    /// Creates a file of `kind` and opens an fd for it.
    pub(crate) fn open_file(&mut self, kind: FileKind) -> i32 {
        let f = self.new_file(kind);
        self.install_fd(f)
    }

    /// `close(fd)`: drops the fd's reference. Closing a ring fd is refused: ring
    /// teardown is outside the model.
    pub(crate) fn close(&mut self, fd: i32) -> StepResult {
        let Some(file) = self.fd_file(fd) else {
            return StepResult::Ret(Errno::EBADF.neg());
        };
        if self.file(file).is_ring() {
            return StepResult::Unmodelled("closing a ring fd (ring teardown)".into());
        }
        self.fds[fd as usize] = None;
        self.put_file(file);
        StepResult::Ret(0)
    }

    /// A task exits (M10). `io_uring_files_cancel` waits for the task's *tracked*
    /// requests — those whose file is an io_uring, i.e. MSG_RING to a ring fd — and
    /// while any is in flight it runs the local work of every DEFER_TASKRUN ring the
    /// task owns, all of it, as a normal run (`io_uring_files_cancel` comes before
    /// PF_EXITING is set, so a queued link successor is issued). With no tracked
    /// request nothing runs (found by `msgring check`, seed 3, trace 1300; checked
    /// against 6.18.44). Then the task is gone: `task_work_add` on it fails from now
    /// on (R24, finding 13). The kernel's `exit_task_work` (PF_EXITING set) finds
    /// nothing to run (M12): the loop ran the task's task_work last, and a step starts
    /// with every task's task_work run.
    pub(crate) fn exit_task(&mut self, task: TaskId) -> StepResult {
        while self.task_has_tracked_inflight(task) {
            let owned: Vec<RingId> = (0..self.rings.len() as u32)
                .map(RingId)
                .filter(|&r| {
                    self.ring(r).has(setup::DEFER_TASKRUN) && self.ring(r).submitter == Some(task)
                })
                .collect();
            let mut ran = 0;
            for r in owned {
                if self.local_work_pending(r) {
                    ran += self.run_local_work(r, u32::MAX, u32::MAX);
                }
            }
            self.run_task_work(task);
            if ran == 0 {
                break; // what is in flight waits on something else
            }
        }
        debug_assert!(
            !self.task_mut(task).has_work(),
            "M12: task_work left for exit_task_work (PF_EXITING) is not modelled"
        );
        self.io_uring_unreg_ringfd(task);
        self.task_mut(task).alive = false;
        StepResult::Ret(0)
    }

    /// `tctx->inflight_tracked > 0`: a MSG_RING request of `task` that resolved a
    /// normal (non-fixed) fd to an io_uring has not completed yet.
    fn task_has_tracked_inflight(&self, task: TaskId) -> bool {
        let tracked = |req: &crate::state::Req| {
            req.task == task
                && req.sqe.opcode == crate::uapi::op::MSG_RING
                && req.sqe.flags & crate::uapi::sqe_flags::FIXED_FILE == 0
                && self.ring_of_fd(req.sqe.fd).is_some()
        };
        let issued = |w: &Work| match w {
            Work::Complete { req, .. } | Work::InstallFd { req, .. } => tracked(req),
            _ => false,
        };
        // The completion batch is always flushed before a task can exit.
        debug_assert!(self.batch.is_empty());
        self.rings
            .iter()
            .any(|r| r.local_work.iter().chain(&r.retry_work).any(issued))
            || self.tasks.iter().any(|t| t.work_items().any(issued))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_sizes() {
        assert_eq!(io_uring_fill_params(1, 0, 0), Ok((1, 2)));
        assert_eq!(io_uring_fill_params(5, 0, 0), Ok((8, 16)));
        assert_eq!(io_uring_fill_params(0, 0, 0), Err(Errno::EINVAL));
        assert_eq!(io_uring_fill_params(32769, 0, 0), Err(Errno::EINVAL));
        assert_eq!(
            io_uring_fill_params(32769, 0, setup::CLAMP),
            Ok((32768, 65536))
        );
        // cq_entries is rounded up before the cq >= sq comparison.
        assert_eq!(io_uring_fill_params(4, 3, setup::CQSIZE), Ok((4, 4)));
        assert_eq!(
            io_uring_fill_params(8, 3, setup::CQSIZE),
            Err(Errno::EINVAL)
        );
        assert_eq!(io_uring_fill_params(4, 5, setup::CQSIZE), Ok((4, 8)));
        assert_eq!(
            io_uring_fill_params(4, 0, setup::CQSIZE),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            io_uring_fill_params(4, 70000, setup::CQSIZE),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            io_uring_fill_params(4, 70000, setup::CQSIZE | setup::CLAMP),
            Ok((4, 65536))
        );
    }

    const P: crate::Profile = crate::Profile::V6_18;

    #[test]
    fn c6_flag_combinations() {
        assert_eq!(
            io_uring_sanitise_params(setup::DEFER_TASKRUN, P),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            io_uring_sanitise_params(setup::DEFER_TASKRUN | setup::SINGLE_ISSUER, P),
            Ok(())
        );
        assert_eq!(
            io_uring_sanitise_params(setup::SQPOLL | setup::COOP_TASKRUN, P),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            io_uring_sanitise_params(setup::TASKRUN_FLAG, P),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            io_uring_sanitise_params(setup::TASKRUN_FLAG | setup::COOP_TASKRUN, P),
            Ok(())
        );
        assert_eq!(
            io_uring_sanitise_params(setup::CQE32 | setup::CQE_MIXED, P),
            Err(Errno::EINVAL)
        );
        assert_eq!(io_uring_sanitise_params(1 << 25, P), Err(Errno::EINVAL));
        assert_eq!(
            io_uring_sanitise_params(setup::IOPOLL | setup::SQPOLL, P),
            Ok(())
        );
    }
}
