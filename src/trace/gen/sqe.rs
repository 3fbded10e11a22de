//! SQEs and submissions: the SQE a push carries (MSG_RING data or fd, NOP, or a
//! hostile raw SQE), submitting and waiting, and the faults an enter may get.

use super::choices::Choices;
use super::state::{Kind, G};
use super::steps::{GOp, GSqe};
use crate::trace::{Dest, FdRef, SqeSpec};
use crate::uapi::{enter, msg, op, setup, sqe_flags};
use crate::{Faults, Sqe};

impl<C: Choices + ?Sized> G<'_, C> {
    fn sqe_flags(&mut self) -> u8 {
        match self.c.below(16) {
            0 => sqe_flags::IO_LINK,
            1 => sqe_flags::IO_HARDLINK,
            2 => sqe_flags::CQE_SKIP_SUCCESS,
            3 => sqe_flags::ASYNC,
            4 => sqe_flags::IO_DRAIN,
            5 => sqe_flags::IO_LINK | sqe_flags::CQE_SKIP_SUCCESS,
            _ => 0,
        }
    }

    /// An SQE of `kind` whose target is a ring picked here; `fd` operands are names.
    pub(super) fn sqe(&mut self, kind: Kind) -> Option<GSqe> {
        let t = self.ring_idx()?;
        let target = self.rings[t].name;
        // The fd operand until it is resolved: `GSqe::fd` names it.
        let named = FdRef::Vfd(-1);
        let ud = u64::from(self.c.below(0x100));
        let sqe_ud = 0x1000 + u64::from(self.c.below(0x100));
        let flags = self.sqe_flags();
        Some(match kind {
            Kind::Nop => GSqe {
                spec: SqeSpec::Nop {
                    user_data: sqe_ud,
                    flags,
                },
                fd: None,
            },
            Kind::Data => GSqe {
                spec: SqeSpec::MsgData {
                    ring_fd: named,
                    result: self.c.below(100) as i32,
                    user_data: ud,
                    user_flags: self.chance(4).then(|| self.c.below(0x10) << 16),
                    sqe_user_data: sqe_ud,
                    flags,
                },
                fd: Some(target),
            },
            Kind::SendFd => {
                let nr = self.rings[t].nr;
                GSqe {
                    spec: SqeSpec::SendFd {
                        ring_fd: named,
                        fixed_slot_src: self.c.below(4),
                        dest_slot_index: if self.chance(2) {
                            Dest::Alloc
                        } else {
                            Dest::Index(self.c.below(nr + 1))
                        },
                        user_data: ud,
                        skip_cqe: self.chance(6),
                        sqe_user_data: sqe_ud,
                        flags,
                    },
                    fd: Some(target),
                }
            }
            _ => {
                let mut s = Sqe {
                    opcode: op::MSG_RING,
                    addr: u64::from(self.c.below(2)),
                    off: ud,
                    user_data: sqe_ud,
                    ..Sqe::default()
                };
                match self.c.below(12) {
                    0 => s.ioprio = 1,
                    1 => s.buf_index = 1,
                    2 => s.personality = 1,
                    3 => s.addr = 2 + u64::from(self.c.below(3)),
                    4 => s.addr |= 1 << 32,
                    5 => s.msg_ring_flags = 1 << (2 + self.c.below(4)),
                    6 => s.msg_ring_flags = msg::CQE_SKIP,
                    7 => s.file_index = 1 + self.c.below(4),
                    8 => s.addr3 = 1 + u64::from(self.c.below(3)),
                    9 => s.len = 1 + self.c.below(5),
                    10 => s.flags = sqe_flags::BUFFER_SELECT | (self.c.below(2) as u8),
                    _ => s.pad2 = 1,
                }
                let (fd, name) = match self.c.below(4) {
                    0 => (FdRef::Vfd(self.c.below(24) as i32 - 1), None),
                    1 if !self.files.is_empty() => (named, Some(self.any_file())),
                    _ => (named, Some(target)),
                };
                GSqe {
                    spec: SqeSpec::Raw { fd, sqe: s },
                    fd: name,
                }
            }
        })
    }

    pub(super) fn push_sqe(&mut self, kind: Kind) {
        let Some(src) = self.ring_idx() else {
            return self.setup();
        };
        let Some(sqe) = self.sqe(kind) else { return };
        let r = &mut self.rings[src];
        r.pending += 1;
        let ring = r.name;
        let full = r.pending >= r.sq;
        self.push(GOp::Push { ring, sqe });
        if full || self.chance(3) {
            self.submit_ring(src);
        }
    }

    pub(super) fn submit(&mut self) {
        if let Some(i) = self.ring_idx() {
            self.submit_ring(i);
        }
    }

    fn submit_ring(&mut self, i: usize) {
        let by = self.actor(i);
        let r = &mut self.rings[i];
        let to_submit = r.pending.max(1);
        r.pending = 0;
        let ring = r.name;
        let wait = r.flags & setup::DEFER_TASKRUN != 0 || self.c.below(4) == 0;
        self.push(GOp::Enter {
            by,
            ring,
            to_submit,
            min_complete: 0,
            flags: if wait { enter::GETEVENTS } else { 0 },
        });
        self.fault_last();
    }

    pub(super) fn getevents(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let by = self.actor(i);
        let min_complete = if self.chance(3) { self.c.below(3) } else { 0 };
        let ring = self.rings[i].name;
        self.push(GOp::Enter {
            by,
            ring,
            to_submit: 0,
            min_complete,
            flags: enter::GETEVENTS,
        });
        self.fault_last();
    }

    fn fault_last(&mut self) {
        if self.chance(16) {
            let f = if self.chance(2) {
                Faults {
                    overflow_alloc_fails: 1 + self.c.below(2),
                    nomem: 0,
                }
            } else {
                Faults {
                    overflow_alloc_fails: 0,
                    nomem: 1,
                }
            };
            if let Some(s) = self.steps.last_mut() {
                s.faults = f;
            }
        }
    }
}
