//! Kernel version profiles: which kernel line the model behaves as.
//!
//! A profile means "what this kernel line does", backports included, as checked on
//! real kernels (docs/kernels.md: Debian's 6.1.192 and 6.12.117 under QEMU, and 6.18.44
//! on the host). Each method below is one rule that changed between lines; the rule
//! functions in `exec` ask the profile instead of comparing version numbers.

use std::fmt;
use std::str::FromStr;

/// A kernel line. Ordered oldest first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Profile {
    /// Linux 5.18: MSG_DATA only. From the reference alone: no 5.18 kernel was run.
    V5_18,
    /// Debian's 6.1 line (checked on 6.1.192): SEND_FD without the later len and
    /// R_DISABLED checks, no task_work path for DEFER_TASKRUN targets, no FLAGS_PASS.
    V6_1,
    /// Debian's 6.12 line (checked on 6.12.117): the task_work path; local work runs
    /// unbounded; no sync variant.
    V6_12,
    /// Linux 6.18 (checked on 6.18.44).
    #[default]
    V6_18,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: &'static [Profile] = &[
        Profile::V5_18,
        Profile::V6_1,
        Profile::V6_12,
        Profile::V6_18,
    ];

    /// `IORING_OP_LAST`: opcodes at or above it are -EINVAL (R2).
    pub fn op_last(self) -> u8 {
        match self {
            Profile::V5_18 => 41,
            Profile::V6_1 => 49,
            Profile::V6_12 => 58,
            Profile::V6_18 => crate::uapi::op::LAST_6_18,
        }
    }

    /// Setup flags the kernel knows; others fail `io_uring_setup` with -EINVAL (C1.1).
    /// 6.18.44 refused CQE_MIXED and 6.12 HYBRID_IOPOLL (docs/kernels.md, row S).
    pub fn known_setup_flags(self) -> u32 {
        match self {
            Profile::V5_18 => (1 << 10) - 1,
            Profile::V6_1 => (1 << 14) - 1,
            Profile::V6_12 => (1 << 17) - 1,
            Profile::V6_18 => crate::uapi::setup::KNOWN_6_18,
        }
    }

    /// R1: the `msg_ring_flags` bits `__io_msg_ring_prep` accepts. FLAGS_PASS is 6.3+
    /// (D1/D2 in docs/kernels.md: -EINVAL on 6.1); 5.18 accepted none.
    pub fn msg_ring_flags_mask(self) -> u32 {
        use crate::uapi::msg::{CQE_SKIP, FLAGS_PASS};
        match self {
            Profile::V5_18 => 0,
            Profile::V6_1 => CQE_SKIP,
            Profile::V6_12 | Profile::V6_18 => CQE_SKIP | FLAGS_PASS,
        }
    }

    /// R1 (5.18): `addr`, `splice_fd_in` (file_index) must be zero at prep: there is only
    /// MSG_DATA.
    pub fn prep_requires_zero_addr(self) -> bool {
        self == Profile::V5_18
    }

    /// R20.1 (B6): SEND_FD rejects `len != 0`. Not in 6.1.192 (docs/kernels.md D3,
    /// although the reference lists it as a stable backport).
    pub fn send_fd_checks_len(self) -> bool {
        self >= Profile::V6_12
    }

    /// R20.3 (B4): SEND_FD to an R_DISABLED target is -EBADFD. Not in 6.1.192 (D4/D5:
    /// the file is installed and a CQE posted on the disabled ring).
    pub fn send_fd_checks_disabled(self) -> bool {
        self >= Profile::V6_12
    }

    /// R10.3: MSG_DATA to an R_DISABLED target is -EBADFD (6.1.192 has it).
    pub fn data_checks_disabled(self) -> bool {
        self >= Profile::V6_1
    }

    /// R14/R24: DEFER_TASKRUN targets get their CQEs through task_work. 6.1.192 posts
    /// directly from the sender (D6, D7, D14, D15).
    pub fn remote_task_work(self) -> bool {
        self >= Profile::V6_12
    }

    /// M3: the most local task_work items one run handles: 20 on 6.18, everything on
    /// 6.12 and earlier (D8–D12).
    pub fn local_work_max(self) -> Option<u32> {
        match self {
            Profile::V6_18 => Some(crate::IO_LOCAL_TW_DEFAULT_MAX),
            _ => None,
        }
    }

    /// IORING_NOP_CQE32 exists (6.18, with CQE_MIXED): a NOP's CQE carries
    /// `extra1 = sqe->off`, `extra2 = sqe->addr` (C8; real-backend/examples/exp8).
    pub fn nop_cqe32(self) -> bool {
        self >= Profile::V6_18
    }

    /// R30: IORING_REGISTER_SEND_MSG_RING exists (6.13+). Before, opcode 31 is -EINVAL
    /// (D16/D17).
    pub fn has_sync_msg(self) -> bool {
        self >= Profile::V6_18
    }

    /// `io_req_complete_failed` posts at once (6.1: G2 in docs/kernels.md): a request
    /// whose init or file lookup failed shows its CQE before the batch's; 6.12+ defer it
    /// to the batch flush (`io_req_defer_failed`).
    pub fn failures_post_at_once(self) -> bool {
        self <= Profile::V6_1
    }

    /// `tctx_task_work` ran the task_work llist without reversing it, newest first
    /// (6.1: G2 — link cancellations and successors in reverse order); later lines
    /// reverse it into FIFO order.
    pub fn tctx_task_work_lifo(self) -> bool {
        self <= Profile::V6_1
    }

    /// `io_req_complete_post` from io-wq hands a lockless-CQ ring's completion to
    /// task_work (6.12+); 6.1.192 posted it from the worker (docs/kernels.md: the
    /// liburing own-message trace on an IOPOLL|DEFER_TASKRUN ring).
    pub fn iowq_lockless_completion_via_task_work(self) -> bool {
        self >= Profile::V6_12
    }

    /// `io_req_complete_post` from io-wq hands a completion whose CQE does not fit
    /// (full CQ, or overflow pending) to task_work instead of overflowing it from the
    /// worker: 6.16+ (seen in v6.18.38's source and on 6.18.44: `msgring check --seed 1`
    /// trace 4583). 6.12 overflows from the worker (`io_req_cqe_overflow`).
    pub fn iowq_completion_without_room_via_task_work(self) -> bool {
        self >= Profile::V6_18
    }

    /// IO_DRAIN releases deferred requests by sequence number (`req_need_defer`:
    /// `seq + cq_extra == cached_cq_tail`, R41.2) before 6.16; 6.16+ waits until no
    /// other request of the ring is allocated (R41.1).
    pub fn drain_by_sequence(self) -> bool {
        self < Profile::V6_18
    }

    /// The profile for a running kernel's `major.minor`, if the model has one.
    pub fn for_kernel(major: u32, minor: u32) -> Option<Profile> {
        match (major, minor) {
            (5, 18..) | (6, 0) => Some(Profile::V5_18),
            (6, 1..=11) => Some(Profile::V6_1),
            (6, 12..=17) => Some(Profile::V6_12),
            (6, 18..) | (7.., _) => Some(Profile::V6_18),
            _ => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::V5_18 => "5.18",
            Profile::V6_1 => "6.1",
            Profile::V6_12 => "6.12",
            Profile::V6_18 => "6.18",
        })
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| {
                let known: Vec<String> = Profile::ALL.iter().map(|p| p.to_string()).collect();
                format!("unknown kernel profile `{s}` (known: {})", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_kernels_map_to_lines() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse::<Profile>(), Ok(*p));
        }
        assert_eq!(Profile::for_kernel(6, 18), Some(Profile::V6_18));
        assert_eq!(Profile::for_kernel(6, 12), Some(Profile::V6_12));
        assert_eq!(Profile::for_kernel(6, 1), Some(Profile::V6_1));
        assert_eq!(Profile::for_kernel(5, 10), None);
        assert!("6.2".parse::<Profile>().is_err());
    }
}
