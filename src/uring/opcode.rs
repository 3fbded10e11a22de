//! `io_uring::opcode`: the operations the model implements, built as the io-uring
//! crate builds them (same field encodings, see [`crate::sqe`]).

use super::squeue::Entry;
use super::types::{sealed, DestinationSlot, Fixed};
use crate::sqe::Sqe;
use crate::uapi::{msg, op};

/// `IORING_OP_NOP`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nop {}

impl Nop {
    pub const CODE: u8 = op::NOP;

    pub fn new() -> Self {
        Nop {}
    }

    /// A NOP SQE; `fd` is -1, as io-uring builds it.
    pub fn build(self) -> Entry {
        Entry(Sqe {
            opcode: Self::CODE,
            fd: -1,
            ..Sqe::default()
        })
    }
}

/// `IORING_OP_MSG_RING` with `IORING_MSG_DATA` (5.18): post a CQE with `user_data`
/// and `result` on the ring `ring_fd`; with `user_flags`, FLAGS_PASS (6.3) sets the
/// CQE's flags.
#[derive(Debug, Clone, Copy)]
pub struct MsgRingData {
    ring_fd: i32,
    result: i32,
    user_data: u64,
    user_flags: Option<u32>,
    opcode_flags: u32,
}

impl MsgRingData {
    pub const CODE: u8 = op::MSG_RING;

    pub fn new(
        ring_fd: impl sealed::UseFd,
        result: i32,
        user_data: u64,
        user_flags: Option<u32>,
    ) -> Self {
        MsgRingData {
            ring_fd: ring_fd.into(),
            result,
            user_data,
            user_flags,
            opcode_flags: 0,
        }
    }

    /// `msg_ring_flags` (e.g. `IORING_MSG_RING_CQE_SKIP`).
    pub const fn opcode_flags(mut self, opcode_flags: u32) -> Self {
        self.opcode_flags = opcode_flags;
        self
    }

    pub fn build(self) -> Entry {
        let mut sqe = Sqe {
            opcode: Self::CODE,
            fd: self.ring_fd,
            addr: msg::DATA,
            len: self.result as u32,
            off: self.user_data,
            msg_ring_flags: self.opcode_flags,
            ..Sqe::default()
        };
        if let Some(flags) = self.user_flags {
            sqe.file_index = flags;
            sqe.msg_ring_flags |= msg::FLAGS_PASS;
        }
        Entry(sqe)
    }
}

/// `IORING_OP_MSG_RING` with `IORING_MSG_SEND_FD` (6.0): install this ring's fixed
/// file `fixed_slot_src` in `ring_fd`'s table at `dest_slot_index`.
#[derive(Debug, Clone, Copy)]
pub struct MsgRingSendFd {
    ring_fd: i32,
    fixed_slot_src: Fixed,
    dest_slot_index: DestinationSlot,
    user_data: u64,
    opcode_flags: u32,
}

impl MsgRingSendFd {
    pub const CODE: u8 = op::MSG_RING;

    pub fn new(
        ring_fd: impl sealed::UseFd,
        fixed_slot_src: Fixed,
        dest_slot_index: DestinationSlot,
        user_data: u64,
    ) -> Self {
        MsgRingSendFd {
            ring_fd: ring_fd.into(),
            fixed_slot_src,
            dest_slot_index,
            user_data,
            opcode_flags: 0,
        }
    }

    /// `msg_ring_flags` (e.g. `IORING_MSG_RING_CQE_SKIP`).
    pub const fn opcode_flags(mut self, opcode_flags: u32) -> Self {
        self.opcode_flags = opcode_flags;
        self
    }

    pub fn build(self) -> Entry {
        Entry(Sqe {
            opcode: Self::CODE,
            fd: self.ring_fd,
            addr: msg::SEND_FD,
            off: self.user_data,
            addr3: u64::from(self.fixed_slot_src.0),
            file_index: self.dest_slot_index.kernel_index_arg(),
            msg_ring_flags: self.opcode_flags,
            ..Sqe::default()
        })
    }
}
