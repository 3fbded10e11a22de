//! The source SQE: the raw 64-byte `struct io_uring_sqe`, and typed builders for the
//! operations msgring models.
//!
//! Builders follow the io-uring crate's names (`MsgRingData { ring_fd, result,
//! user_data, user_flags }`, `MsgRingSendFd { fixed_slot_src, dest_slot_index }`) and
//! liburing's encodings (reference §1): everything ends as an [`Sqe`], which is what the
//! kernel reads and what the model checks field by field.

use crate::uapi::{self, msg, op};

/// A virtual file descriptor: the number a resource has in the model's fd table.
///
/// Traces never name host fds. The real backend maps a `Vfd` to the fd it created for
/// the same resource, and an unknown `Vfd` to -1.
pub type Vfd = i32;

/// `struct io_uring_sqe`, every field the kernel can read for the modelled opcodes.
///
/// Field names follow the kernel; unions are named for their MSG_RING meaning, with the
/// union partner in the doc.
///
/// The fields are laid out as the kernel's (`repr(C)`, 64 bytes, no padding), so that
/// comparisons of neighbouring fields compile to wide loads.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[repr(C)]
pub struct Sqe {
    pub opcode: u8,
    /// `IOSQE_*` flags.
    pub flags: u8,
    pub ioprio: u16,
    /// Target: a file descriptor, or a fixed-file index with `IOSQE_FIXED_FILE`.
    pub fd: i32,
    /// MSG_RING: the target CQE's `user_data`.
    pub off: u64,
    /// MSG_RING: the command (`IORING_MSG_DATA` / `IORING_MSG_SEND_FD`); only the low
    /// 32 bits are read (finding 1).
    pub addr: u64,
    /// MSG_DATA: the target CQE's `res`.
    pub len: u32,
    /// `msg_ring_flags` (union with `rw_flags`, `nop_flags`).
    pub msg_ring_flags: u32,
    pub user_data: u64,
    pub buf_index: u16,
    pub personality: u16,
    /// `file_index` (union with `splice_fd_in`): SEND_FD target slot + 1, or the
    /// target CQE flags with FLAGS_PASS.
    pub file_index: u32,
    /// SEND_FD: the source fixed-file slot (read as u32).
    pub addr3: u64,
    /// `__pad2[0]`: not checked by MSG_RING (finding 4).
    pub pad2: u64,
}

impl Sqe {
    /// The exact little-endian byte image the kernel reads.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0] = self.opcode;
        b[1] = self.flags;
        b[2..4].copy_from_slice(&self.ioprio.to_le_bytes());
        b[4..8].copy_from_slice(&self.fd.to_le_bytes());
        b[8..16].copy_from_slice(&self.off.to_le_bytes());
        b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        b[24..28].copy_from_slice(&self.len.to_le_bytes());
        b[28..32].copy_from_slice(&self.msg_ring_flags.to_le_bytes());
        b[32..40].copy_from_slice(&self.user_data.to_le_bytes());
        b[40..42].copy_from_slice(&self.buf_index.to_le_bytes());
        b[42..44].copy_from_slice(&self.personality.to_le_bytes());
        b[44..48].copy_from_slice(&self.file_index.to_le_bytes());
        b[48..56].copy_from_slice(&self.addr3.to_le_bytes());
        b[56..64].copy_from_slice(&self.pad2.to_le_bytes());
        b
    }

    /// Decodes a 64-byte `io_uring_sqe`.
    pub fn from_bytes(b: &[u8; 64]) -> Sqe {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        Sqe {
            opcode: b[0],
            flags: b[1],
            ioprio: u16_at(2),
            fd: u32_at(4) as i32,
            off: u64_at(8),
            addr: u64_at(16),
            len: u32_at(24),
            msg_ring_flags: u32_at(28),
            user_data: u64_at(32),
            buf_index: u16_at(40),
            personality: u16_at(42),
            file_index: u32_at(44),
            addr3: u64_at(48),
            pad2: u64_at(56),
        }
    }

    /// Sets `IOSQE_*` flags (builder style).
    pub fn flags(mut self, flags: u8) -> Sqe {
        self.flags = flags;
        self
    }

    /// Sets the source CQE's `user_data` (builder style).
    pub fn user_data(mut self, user_data: u64) -> Sqe {
        self.user_data = user_data;
        self
    }
}

/// `IORING_OP_NOP`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nop;

impl Nop {
    pub fn build(self) -> Sqe {
        Sqe {
            opcode: op::NOP,
            ..Sqe::default()
        }
    }
}

/// `IORING_OP_MSG_RING` with `IORING_MSG_DATA` (5.18+): post a CQE on `ring_fd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgRingData {
    /// The target ring.
    pub ring_fd: Vfd,
    /// The target CQE's `res`.
    pub result: i32,
    /// The target CQE's `user_data`.
    pub user_data: u64,
    /// With `Some(f)`, FLAGS_PASS (6.3+): the target CQE's flags are `f`.
    pub user_flags: Option<u32>,
}

impl MsgRingData {
    /// `io_uring_prep_msg_ring` / `io_uring_prep_msg_ring_cqe_flags`.
    pub fn build(self) -> Sqe {
        let (flags, file_index) = match self.user_flags {
            Some(f) => (msg::FLAGS_PASS, f),
            None => (0, 0),
        };
        Sqe {
            opcode: op::MSG_RING,
            fd: self.ring_fd,
            addr: msg::DATA,
            len: self.result as u32,
            off: self.user_data,
            msg_ring_flags: flags,
            file_index,
            ..Sqe::default()
        }
    }
}

/// Where SEND_FD installs the file in the target table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestSlot {
    /// A 0-based slot (encoded as `file_index = slot + 1`).
    Index(u32),
    /// `IORING_FILE_INDEX_ALLOC`: the kernel picks one and reports it in `res`.
    Alloc,
}

/// `IORING_OP_MSG_RING` with `IORING_MSG_SEND_FD` (6.0+): install the source ring's
/// fixed file `fixed_slot_src` into `ring_fd`'s table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgRingSendFd {
    pub ring_fd: Vfd,
    pub fixed_slot_src: u32,
    pub dest_slot_index: DestSlot,
    /// The target CQE's `user_data`.
    pub user_data: u64,
    /// `IORING_MSG_RING_CQE_SKIP`: install without a target CQE.
    pub skip_cqe: bool,
}

impl MsgRingSendFd {
    /// `io_uring_prep_msg_ring_fd` / `io_uring_prep_msg_ring_fd_alloc`.
    pub fn build(self) -> Sqe {
        let file_index = match self.dest_slot_index {
            DestSlot::Index(i) => i.wrapping_add(1),
            DestSlot::Alloc => uapi::FILE_INDEX_ALLOC,
        };
        Sqe {
            opcode: op::MSG_RING,
            fd: self.ring_fd,
            addr: msg::SEND_FD,
            off: self.user_data,
            addr3: u64::from(self.fixed_slot_src),
            file_index,
            msg_ring_flags: if self.skip_cqe { msg::CQE_SKIP } else { 0 },
            ..Sqe::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_image_round_trips_and_matches_the_uapi_offsets() {
        let s = Sqe {
            opcode: 40,
            flags: 1,
            ioprio: 0x0203,
            fd: -1,
            off: 0x1122,
            addr: 1 << 32,
            len: 7,
            msg_ring_flags: 2,
            user_data: 0xdead,
            buf_index: 3,
            personality: 4,
            file_index: 0xffff_ffff,
            addr3: 9,
            pad2: 11,
        };
        let b = s.to_bytes();
        assert_eq!(b[0], 40);
        assert_eq!(&b[4..8], &[0xff; 4]);
        assert_eq!(b[32], 0xad);
        assert_eq!(&b[44..48], &[0xff; 4]);
        assert_eq!(Sqe::from_bytes(&b), s);
    }

    #[test]
    fn builders_use_liburing_encodings() {
        let d = MsgRingData {
            ring_fd: 5,
            result: -1,
            user_data: 9,
            user_flags: Some(3),
        }
        .build();
        assert_eq!(
            (d.len, d.file_index, d.msg_ring_flags),
            (u32::MAX, 3, msg::FLAGS_PASS)
        );
        let f = MsgRingSendFd {
            ring_fd: 5,
            fixed_slot_src: 2,
            dest_slot_index: DestSlot::Index(0),
            user_data: 1,
            skip_cqe: false,
        }
        .build();
        assert_eq!((f.addr, f.addr3, f.file_index), (msg::SEND_FD, 2, 1));
        let a = MsgRingSendFd {
            dest_slot_index: DestSlot::Alloc,
            ..MsgRingSendFd {
                ring_fd: 5,
                fixed_slot_src: 0,
                dest_slot_index: DestSlot::Index(0),
                user_data: 0,
                skip_cqe: true,
            }
        }
        .build();
        assert_eq!(
            (a.file_index, a.msg_ring_flags),
            (uapi::FILE_INDEX_ALLOC, msg::CQE_SKIP)
        );
    }
}
