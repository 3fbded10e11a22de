//! IORING_OP_MSG_RING: one function per kernel rule (R1–R25, R30), named for the
//! kernel function it models.

use super::submit::{IssueCtx, Issued};
use crate::errno::Errno;
use crate::sqe::Sqe;
use crate::state::{Cqe, FileId, FileKind, FileTable, Req, RingId, Work};
use crate::uapi::{self, msg, sqe_flags};
use crate::Profile;
use crate::World;

/// `struct io_msg` as `__io_msg_ring_prep` fills it from the SQE. Shared with the
/// concurrent layer, which takes the same decisions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoMsg {
    pub user_data: u64,
    pub len: u32,
    /// `sqe->addr` read into a u32: the high bits are dropped (finding 1).
    pub cmd: u32,
    /// `sqe->addr3` read into a u32 (finding 7).
    pub src_fd: u32,
    /// `sqe->file_index`: SEND_FD target slot + 1, or the CQE flags with FLAGS_PASS.
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

    /// R12: the CQE MSG_DATA posts on the target: `user_data` from `sqe->off`, `res`
    /// from `sqe->len`, flags per C7.
    pub(crate) fn data_cqe(&self) -> Cqe {
        Cqe {
            user_data: self.user_data,
            res: self.len as i32,
            flags: self.data_cqe_flags(),
        }
    }

    /// R12, C7: the target CQE's flags: the FLAGS_PASS value verbatim, else 0.
    pub(crate) fn data_cqe_flags(&self) -> u32 {
        if self.flags & msg::FLAGS_PASS != 0 {
            self.dst_fd
        } else {
            0
        }
    }
}

/// Which way `__io_msg_ring_data` posted.
pub(crate) enum DataPath {
    /// `io_msg_data_local`: the CQE was written (or overflowed) at once.
    Local,
    /// `io_msg_data_remote`: queued as the target's local task_work.
    Remote,
}

/// What [`World::io_msg_ring_sqe`] did with a MSG_RING SQE.
pub(crate) enum MsgIssue {
    /// Issued: R3–R5 failures and MSG_DATA that did not post at once.
    Issued(Issued),
    /// MSG_DATA posted on `target` at once (`io_msg_data_local`), completing with
    /// `res` (0, or -EOVERFLOW if the overflow allocation failed).
    PostedLocal { target: RingId, res: i32 },
    /// A SEND_FD to `target`, not started: the caller goes on with its request.
    SendFd { target: RingId, m: IoMsg },
}

/// R20.1, R20.2: SEND_FD's `len` must be 0 (where the profile checks it) and the target
/// must not be the source ring (-EINVAL).
pub(crate) fn msg_send_fd_fields(
    same_ring: bool,
    m: &IoMsg,
    profile: Profile,
) -> Result<(), Errno> {
    if m.len != 0 && profile.send_fd_checks_len() {
        return Err(Errno::EINVAL);
    }
    if same_ring {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// R21 `__io_fixed_fd_install` and `io_install_fixed_file` on the target's table:
/// ALLOC takes `io_file_bitmap_get` (-ENFILE) and reports the slot; otherwise slot =
/// `dst_fd - 1` (u32, so 0 wraps) and the result is 0. A ring cannot be installed
/// (-EBADF), the target needs a table (-ENXIO), the slot must exist (-EINVAL), and the
/// node allocation may fail (-ENOMEM). An occupied slot is replaced silently; the
/// replaced file is returned for the caller to put (`alloc_hint` does not move).
///
/// `clamp_hint`: whether `io_file_bitmap_get` has the R21.5 clamp (the profile's
/// `alloc_hint_clamp`).
pub(crate) fn io_fixed_fd_install(
    table: &mut FileTable,
    file: FileId,
    file_is_ring: bool,
    dst_fd: u32,
    clamp_hint: bool,
    node_alloc_fails: &mut dyn FnMut() -> bool,
) -> Result<(i32, Option<FileId>), Errno> {
    let (slot, ret) = if dst_fd == uapi::FILE_INDEX_ALLOC {
        let slot = table.bitmap_get(clamp_hint).ok_or(Errno::ENFILE)?;
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
    if node_alloc_fails() {
        return Err(Errno::ENOMEM);
    }
    let old = if table.get(slot).is_some() {
        Some(table.replace(slot, file))
    } else {
        table.set(slot, file);
        None
    };
    Ok((ret, old))
}

/// R1 `__io_msg_ring_prep`: `buf_index` and `personality` must be zero, and only
/// the profile's flags (CQE_SKIP, and FLAGS_PASS from 6.3) may be set in
/// `msg_ring_flags` (-EINVAL). 5.18 also required `addr` and `file_index` to be zero.
pub(crate) fn io_msg_ring_prep(sqe: &Sqe, profile: Profile) -> Result<(), Errno> {
    if sqe.buf_index != 0 || sqe.personality != 0 {
        return Err(Errno::EINVAL);
    }
    if sqe.msg_ring_flags & !profile.msg_ring_flags_mask() != 0 {
        return Err(Errno::EINVAL);
    }
    if profile.prep_requires_zero_addr() && (sqe.addr != 0 || sqe.file_index != 0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl World {
    /// R3 `io_assign_file`: the target is looked up at issue. A normal fd that is not
    /// open, or (IOSQE_FIXED_FILE) an empty or out-of-range slot of the *source* ring's
    /// table, is -EBADF.
    fn io_assign_file(&self, ring: RingId, sqe: &Sqe) -> Result<FileId, Errno> {
        if sqe.flags & sqe_flags::FIXED_FILE != 0 {
            self.ring(ring).table.get(sqe.fd as u32).ok_or(Errno::EBADF)
        } else {
            self.fd_file(sqe.fd).ok_or(Errno::EBADF)
        }
    }

    /// `io_msg_ring`: R3, then R4 (the target must be an io_uring: -EBADFD), then the
    /// command (R5: anything but DATA or SEND_FD is -EINVAL).
    pub(crate) fn io_msg_ring(&mut self, req: Req, ctx: IssueCtx) -> (Option<Req>, Issued) {
        match self.io_msg_ring_sqe(req.ring, &req.sqe, ctx) {
            MsgIssue::Issued(issued) => (Some(req), issued),
            MsgIssue::PostedLocal { res, .. } => (Some(req), Issued::Complete(res)),
            MsgIssue::SendFd { target, m } => self.io_msg_send_fd(req, target, &m, ctx),
        }
    }

    /// The part of `io_msg_ring` that needs only the SQE: R3, R4, R5 and all of
    /// MSG_DATA. SEND_FD is handed back untouched: it needs the request itself.
    pub(crate) fn io_msg_ring_sqe(&mut self, ring: RingId, sqe: &Sqe, ctx: IssueCtx) -> MsgIssue {
        let target = match self.io_assign_file(ring, sqe) {
            Ok(f) => f,
            Err(e) => return MsgIssue::Issued(Issued::Failed(e.neg())),
        };
        let FileKind::Ring(target) = self.file(target).kind else {
            return MsgIssue::Issued(Issued::Complete(Errno::EBADFD.neg()));
        };
        let m = IoMsg::from_sqe(sqe);
        MsgIssue::Issued(match u64::from(m.cmd) {
            msg::DATA => {
                let held = (ctx == IssueCtx::Inline).then_some(ring);
                match self.io_msg_ring_data(target, &m, held) {
                    Ok(DataPath::Local) => return MsgIssue::PostedLocal { target, res: 0 },
                    Ok(DataPath::Remote) => Issued::Complete(0),
                    Err(Errno::EOVERFLOW) => {
                        let res = Errno::EOVERFLOW.neg();
                        return MsgIssue::PostedLocal { target, res };
                    }
                    Err(Errno::EAGAIN) => Issued::Again,
                    Err(e) => Issued::Complete(e.neg()),
                }
            }
            msg::SEND_FD => return MsgIssue::SendFd { target, m },
            _ => Issued::Complete(Errno::EINVAL.neg()),
        })
    }

    /// R12, R13 for an SQE that [`World::io_msg_ring_sqe`] already took down the
    /// `io_msg_data_local` path for an SQE of the same shape (see
    /// [`super::submit::DataLane`]): post the target CQE, or overflow it; -EOVERFLOW only
    /// when the overflow allocation fails.
    pub(crate) fn io_msg_data_local_again(&mut self, target: RingId, sqe: &Sqe) -> i32 {
        let cqe = IoMsg::from_sqe(sqe).data_cqe();
        if self.post_aux_cqe(target, cqe) {
            0
        } else {
            Errno::EOVERFLOW.neg()
        }
    }

    /// `__io_msg_ring_data` (R10–R14), shared by the SQE path and the sync variant.
    /// `held` is the ring whose `uring_lock` the caller holds (inline issue), if any.
    fn io_msg_ring_data(
        &mut self,
        target: RingId,
        m: &IoMsg,
        held: Option<RingId>,
    ) -> Result<DataPath, Errno> {
        msg_data_field_checks(m)?;
        if self.profile.data_checks_disabled() {
            self.msg_target_enabled(target)?;
        }
        if self.profile.flags_pass_f32_needs_big_cqe() {
            self.io_msg_ring_cqe_flags(target, m)?;
        }
        let cqe = m.data_cqe();
        if self.msg_need_remote(target) {
            self.io_msg_data_remote(target, cqe)
                .map(|()| DataPath::Remote)
        } else {
            self.io_msg_data_local(target, cqe, held)
                .map(|()| DataPath::Local)
        }
    }

    /// R14/R24 `io_msg_need_remote`: a `task_complete` target gets its CQEs through
    /// task_work (6.11+: for every sender; the profile says whether the line has the
    /// path at all).
    fn msg_need_remote(&self, target: RingId) -> bool {
        self.profile.remote_task_work() && self.ring(target).task_complete()
    }

    /// R10.4 `io_msg_ring_cqe_flags` (7.2+, 15cd3ccf9b17): a FLAGS_PASS value with
    /// IORING_CQE_F_32 needs a target that can hold a 32-byte CQE (CQE32 or CQE_MIXED),
    /// else -EINVAL and nothing is posted; checked on the local, remote and sync paths,
    /// before the remote request is allocated.
    fn io_msg_ring_cqe_flags(&self, target: RingId, m: &IoMsg) -> Result<(), Errno> {
        use crate::uapi::setup::{CQE32, CQE_MIXED};
        if m.data_cqe_flags() & uapi::cqe::F_32 != 0 && !self.ring(target).has(CQE32 | CQE_MIXED) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// R10.3 / R20.3 (B4): a target still R_DISABLED is -EBADFD.
    fn msg_target_enabled(&self, target: RingId) -> Result<(), Errno> {
        if self.ring(target).enabled {
            Ok(())
        } else {
            Err(Errno::EBADFD)
        }
    }

    /// R12, R13: post on a target that is not `task_complete`, at once
    /// (`io_post_aux_cqe`; an IOPOLL target's lock is taken, which only matters under
    /// concurrency, B3). A full CQ overflows and still succeeds; only a failed overflow
    /// allocation is -EOVERFLOW.
    fn io_msg_data_local(
        &mut self,
        target: RingId,
        cqe: Cqe,
        held: Option<RingId>,
    ) -> Result<(), Errno> {
        if self.ring(target).has(crate::uapi::setup::IOPOLL) {
            io_lock_external_ctx(target, held)?;
        }
        if self.post_aux_cqe(target, cqe) {
            Ok(())
        } else {
            Err(Errno::EOVERFLOW)
        }
    }

    /// R14 `io_msg_data_remote` (6.11+): a fresh request (-ENOMEM if it cannot be
    /// allocated) goes on the DEFER_TASKRUN target's local work list; the source
    /// completes with 0 at once. The CQE appears when the owner runs local work, even if
    /// the owner has exited (then never: finding 13).
    fn io_msg_data_remote(&mut self, target: RingId, cqe: Cqe) -> Result<(), Errno> {
        if self.take_nomem_fault() {
            return Err(Errno::ENOMEM);
        }
        if self.ring(target).submitter.is_none() {
            return Err(Errno::EOWNERDEAD);
        }
        self.local_work_add(target, Work::PostAux { ring: target, cqe });
        Ok(())
    }

    /// `io_msg_send_fd` (R20, R24, R21, R23).
    fn io_msg_send_fd(
        &mut self,
        mut req: Req,
        target: RingId,
        m: &IoMsg,
        ctx: IssueCtx,
    ) -> (Option<Req>, Issued) {
        let _ = ctx; // the target lock is never contended in the sequential model (R22)
        if let Err(e) = self.msg_send_fd_checks(req.ring, target, m) {
            return (Some(req), Issued::Complete(e.neg()));
        }
        if req.src_file.is_none() {
            match self.io_msg_grab_file(req.ring, m.src_fd) {
                Ok(f) => req.src_file = Some(f),
                Err(e) => return (Some(req), Issued::Complete(e.neg())),
            }
        }
        if self.msg_need_remote(target) {
            return match self.io_msg_fd_remote(target, req) {
                None => (None, Issued::Parked),
                Some(req) => {
                    let req = self.io_msg_ring_cleanup(req);
                    (Some(req), Issued::Complete(Errno::EOWNERDEAD.neg()))
                }
            };
        }
        let (req, res) = self.io_msg_install_complete(target, req);
        (Some(req), Issued::Complete(res))
    }

    /// R20.1–R20.3: the SEND_FD field checks, then the target must be enabled
    /// (-EBADFD, where the profile checks it).
    fn msg_send_fd_checks(&self, source: RingId, target: RingId, m: &IoMsg) -> Result<(), Errno> {
        msg_send_fd_fields(target == source, m, self.profile)?;
        if self.profile.send_fd_checks_disabled() {
            self.msg_target_enabled(target)?;
        }
        Ok(())
    }

    /// R20.4, R25 `io_msg_grab_file`: the source slot must hold a file (-EBADF for no
    /// table, out of range, or empty: B2); the request takes its own reference.
    fn io_msg_grab_file(&mut self, source: RingId, src_fd: u32) -> Result<FileId, Errno> {
        let file = self.ring(source).table.get(src_fd).ok_or(Errno::EBADF)?;
        self.get_file(file);
        Ok(file)
    }

    /// R25 `io_msg_ring_cleanup`: a request that still holds its grabbed file puts it.
    pub(crate) fn io_msg_ring_cleanup(&mut self, mut req: Req) -> Req {
        if let Some(f) = req.src_file.take() {
            self.put_file(f);
        }
        req
    }

    /// R24 `io_msg_fd_remote`: task_work to the DEFER_TASKRUN target's owner. If the
    /// owner has exited, `task_work_add` fails: -EOWNERDEAD (finding 13, B13), and the
    /// request comes back.
    fn io_msg_fd_remote(&mut self, target: RingId, req: Req) -> Option<Req> {
        match self.ring(target).submitter {
            Some(owner) if self.task(owner).is_some_and(|t| t.alive) => {
                self.task_work_add_signal(owner, Work::InstallFd { target, req });
                None
            }
            _ => Some(req),
        }
    }

    /// R24 `io_msg_tw_fd_complete`, run by the target's owner: install, then complete
    /// the source request through task_work (its CQE follows the target's).
    ///
    /// M12: the kernel skips the install (-EOWNERDEAD, the file put) when the owner runs
    /// this with PF_EXITING set, i.e. from `exit_task_work` in `do_exit`. Only another
    /// task's `task_work_add` landing between the owner's `io_uring_files_cancel` and
    /// its `exit_task_work` gets there; a step never runs inside another task's exit,
    /// so here an exited owner's `task_work_add` fails instead (R24.1, the same source
    /// result). docs/semantics.md M12 has the kernel evidence.
    pub(crate) fn io_msg_tw_fd_complete(&mut self, target: RingId, req: Req) {
        let (req, res) = self.io_msg_install_complete(target, req);
        let (ring, task) = (req.ring, req.task);
        self.io_req_task_work_add(ring, task, Work::Complete { req, res });
    }

    /// R21, R23 `io_msg_install_complete`: install the grabbed file (the reference
    /// moves to the table), then post the target CQE (res = allocated slot or 0, flags
    /// 0) unless CQE_SKIP. If that post fails the file **stays installed** and the
    /// source gets -EOVERFLOW (B14).
    fn io_msg_install_complete(&mut self, target: RingId, mut req: Req) -> (Req, i32) {
        let m = IoMsg::from_sqe(&req.sqe);
        let file = req.src_file.expect("grabbed before install");
        let ret = match self.io_fixed_fd_install(target, file, m.dst_fd) {
            Ok(r) => r,
            Err(e) => return (self.io_msg_ring_cleanup(req), e.neg()),
        };
        req.src_file = None; // ownership moved to the target table
        if m.flags & msg::CQE_SKIP != 0 {
            return (req, ret);
        }
        let cqe = Cqe {
            user_data: m.user_data,
            res: ret,
            flags: 0,
        };
        if self.post_aux_cqe(target, cqe) {
            (req, ret)
        } else {
            (req, Errno::EOVERFLOW.neg())
        }
    }

    /// R21: install into the target's table (see [`io_fixed_fd_install`]) and put the
    /// file an occupied slot held.
    fn io_fixed_fd_install(
        &mut self,
        target: RingId,
        file: FileId,
        dst_fd: u32,
    ) -> Result<i32, Errno> {
        let is_ring = self.file(file).is_ring();
        let mut faults = self.faults;
        let mut nomem = || {
            let hit = faults.nomem > 0;
            faults.nomem = faults.nomem.saturating_sub(1);
            hit
        };
        let clamp = self.profile.alloc_hint_clamp();
        let res = io_fixed_fd_install(
            &mut self.ring_mut(target).table,
            file,
            is_ring,
            dst_fd,
            clamp,
            &mut nomem,
        );
        self.faults = faults;
        let (ret, old) = res?;
        if let Some(old) = old {
            self.put_file(old);
        }
        Ok(ret)
    }

    /// R30 `io_uring_sync_msg_ring` via `IORING_REGISTER_SEND_MSG_RING` (6.13+,
    /// finding 14): `sqe->flags` must be 0 and the opcode MSG_RING (-EINVAL), then R1;
    /// only MSG_DATA (-EINVAL otherwise); the fd must be open (-EBADF) and a ring
    /// (-EBADFD); then R10–R14 exactly as the SQE path. `ioprio` is not checked.
    pub(crate) fn io_uring_sync_msg_ring(&mut self, sqe: &Sqe) -> i32 {
        let res = (|| {
            if !self.profile.has_sync_msg() || sqe.flags != 0 || sqe.opcode != uapi::op::MSG_RING {
                return Err(Errno::EINVAL);
            }
            io_msg_ring_prep(sqe, self.profile)?;
            let m = IoMsg::from_sqe(sqe);
            if u64::from(m.cmd) != msg::DATA {
                return Err(Errno::EINVAL);
            }
            let file = self.fd_file(sqe.fd).ok_or(Errno::EBADF)?;
            let FileKind::Ring(target) = self.file(file).kind else {
                return Err(Errno::EBADFD);
            };
            self.io_msg_ring_data(target, &m, None).map(|_| ())
        })();
        res.map_or_else(Errno::neg, |()| 0)
    }

    fn take_nomem_fault(&mut self) -> bool {
        if self.faults.nomem > 0 {
            self.faults.nomem -= 1;
            true
        } else {
            false
        }
    }
}

/// R22 `io_lock_external_ctx`: inline issue only try-locks the target's
/// `uring_lock`. Nobody holds a lock across steps in the sequential model, so the
/// trylock fails only when the target is the ring whose lock the issuer already holds
/// (a message to its own IOPOLL ring): -EAGAIN, and the request is retried from io-wq
/// with a blocking lock. The user never sees -EAGAIN.
fn io_lock_external_ctx(target: RingId, held: Option<RingId>) -> Result<(), Errno> {
    if held == Some(target) {
        Err(Errno::EAGAIN)
    } else {
        Ok(())
    }
}

/// R10.1, R10.2: for MSG_DATA, `addr3` must be 0 and CQE_SKIP is invalid; without
/// FLAGS_PASS `file_index` must be 0 (-EINVAL). No IORING_CQE_F_32 check on 6.18.
pub(crate) fn msg_data_field_checks(m: &IoMsg) -> Result<(), Errno> {
    if m.src_fd != 0 || m.flags & !msg::FLAGS_PASS != 0 {
        return Err(Errno::EINVAL);
    }
    if m.flags & msg::FLAGS_PASS == 0 && m.dst_fd != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg_with_addr(addr: u64) -> IoMsg {
        IoMsg::from_sqe(&Sqe {
            addr,
            ..Sqe::default()
        })
    }

    /// R5 and finding 1: the command is the low 32 bits of `sqe->addr`; DATA and
    /// SEND_FD are told apart by it alone, anything else is neither.
    #[test]
    fn io_msg_command_is_the_low_32_bits_of_addr() {
        for (addr, data, send_fd) in [
            (msg::DATA, true, false),
            (msg::SEND_FD, false, true),
            (2, false, false),
            (u64::from(u32::MAX), false, false),
            (1 << 32, true, false),
            ((1 << 32) | msg::SEND_FD, false, true),
        ] {
            let m = msg_with_addr(addr);
            assert_eq!(m.is_data(), data, "addr {addr:#x}");
            assert_eq!(m.is_send_fd(), send_fd, "addr {addr:#x}");
        }
    }

    /// C7 / R12: the target CQE's flags are `file_index` only with FLAGS_PASS. (The
    /// callers reach this only after R10.2, which refuses a non-zero `file_index`
    /// without FLAGS_PASS; the function keeps its contract on its own.)
    #[test]
    fn data_cqe_flags_are_file_index_only_with_flags_pass() {
        let sqe = |flags, file_index| Sqe {
            msg_ring_flags: flags,
            file_index,
            len: 7,
            off: 9,
            ..Sqe::default()
        };
        let passed = IoMsg::from_sqe(&sqe(msg::FLAGS_PASS, 0x5a));
        assert_eq!(passed.data_cqe_flags(), 0x5a);
        assert_eq!(
            passed.data_cqe(),
            Cqe {
                user_data: 9,
                res: 7,
                flags: 0x5a
            }
        );
        for flags in [0, msg::CQE_SKIP] {
            assert_eq!(IoMsg::from_sqe(&sqe(flags, 0x5a)).data_cqe_flags(), 0);
        }
    }
}
