//! Kernel versions as data: which Linux release the model behaves as.
//!
//! A [`Profile`] is a kernel release (`6.18`, or `6.18.15` where a stable backport
//! matters). What the model does for it is read from one table, [`CHANGES`]: for each
//! rule that changed between 5.18 and 7.3, the release it changed in (and until, where
//! it was changed back), the stable lines it was backported to, and the commit. Adding
//! a release is one line per rule that changed in it. The rule functions in `exec` ask
//! the profile (`self.profile.drain_by_sequence()`, ...) instead of comparing versions.
//!
//! Evidence per line: docs/semantics.md ("What changed when") and docs/kernels.md
//! (ten Debian kernel lines booted under QEMU, and the host).

use std::fmt;
use std::str::FromStr;

/// A Linux release: `major.minor`, and optionally a stable patch level (`6.18.15`).
///
/// Without a patch level a version stands for its line's newest stable release, so
/// every stable backport of the line applies; with one, only backports whose first
/// stable release is at or below it. Ordered oldest first (`6.18.15 < 6.18.44 < 6.18`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct KernelVersion {
    major: u16,
    minor: u16,
    /// The stable patch level; `NEWEST_PATCH` = the line as a whole.
    patch: u32,
}

const NEWEST_PATCH: u32 = u32::MAX;

impl KernelVersion {
    /// A release line (`6.18`): its newest stable patch level.
    pub const fn line(major: u16, minor: u16) -> KernelVersion {
        KernelVersion {
            major,
            minor,
            patch: NEWEST_PATCH,
        }
    }

    /// A stable release (`6.18.44`).
    pub const fn stable(major: u16, minor: u16, patch: u32) -> KernelVersion {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }

    pub const fn major(self) -> u16 {
        self.major
    }

    pub const fn minor(self) -> u16 {
        self.minor
    }

    /// The stable patch level, if one was given.
    pub const fn patch(self) -> Option<u32> {
        if self.patch == NEWEST_PATCH {
            None
        } else {
            Some(self.patch)
        }
    }

    /// The same version without its patch level.
    pub const fn to_line(self) -> KernelVersion {
        KernelVersion::line(self.major, self.minor)
    }

    const fn same_line(self, other: KernelVersion) -> bool {
        self.major == other.major && self.minor == other.minor
    }

    /// One number in the derived order (major, minor, patch), for `const` comparisons.
    const fn key(self) -> u64 {
        (self.major as u64) << 48 | (self.minor as u64) << 32 | self.patch as u64
    }

    /// Reads a kernel release string as `uname -r` prints it (`6.12.117+deb12-amd64`,
    /// `7.3.4+deb13-amd64`, `6.18.44-fc-v595`, `6.1.0-56-amd64`): the leading
    /// `major.minor[.patch]`. Debian's 6.1 ABI names say `6.1.0`, which is not the
    /// stable patch level: a `.0` patch is taken as the line as a whole.
    pub fn from_release(release: &str) -> Option<KernelVersion> {
        let head: &str = release
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut parts = head.split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(match parts.next().and_then(|p| p.parse::<u32>().ok()) {
            Some(p) if p != 0 => KernelVersion::stable(major, minor, p),
            _ => KernelVersion::line(major, minor),
        })
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch() {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl FromStr for KernelVersion {
    type Err = String;
    /// `X.Y` or `X.Y.Z`, digits only.
    fn from_str(s: &str) -> Result<KernelVersion, String> {
        let bad = || format!("`{s}` is not a kernel version such as 6.18 or 6.18.44");
        let parts: Vec<&str> = s.split('.').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let n = |i: usize| parts[i].parse::<u32>().map_err(|_| bad());
        let (major, minor) = (n(0)?, n(1)?);
        if major > u16::MAX as u32 || minor > u16::MAX as u32 {
            return Err(bad());
        }
        Ok(match parts.get(2) {
            Some(_) => KernelVersion::stable(major as u16, minor as u16, n(2)?),
            None => KernelVersion::line(major as u16, minor as u16),
        })
    }
}

/// A rule of the model that some release changed. Each is one row of [`CHANGES`] (two
/// where it changed twice) and one `Profile` method.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Rule {
    /// R1/R20: MSG_SEND_FD exists, and with it IORING_MSG_RING_CQE_SKIP; before, `addr`
    /// and `file_index` must be zero (MSG_DATA only).
    SendFd,
    /// R10.3: MSG_DATA to an R_DISABLED target is -EBADFD.
    DataChecksDisabledTarget,
    /// R20.3: SEND_FD to an R_DISABLED target is -EBADFD.
    SendFdChecksDisabledTarget,
    /// R14/R24: a DEFER_TASKRUN target gets its CQE (and a sent file) through task_work.
    RemoteTaskWork,
    /// R1/C7: IORING_MSG_RING_FLAGS_PASS.
    FlagsPass,
    /// R20.1 (B6): SEND_FD rejects `len != 0`.
    SendFdChecksLen,
    /// M1: a request failing at init or file lookup posts with the batch
    /// (`io_req_defer_failed`), not at once (`io_req_complete_failed`).
    FailuresDeferred,
    /// M9: `tctx_task_work` runs io_uring's task_work oldest first.
    TaskWorkFifo,
    /// M3: DEFER_TASKRUN local work runs oldest first (the llist is reversed).
    LocalWorkFifo,
    /// M9: an io-wq completion on a lockless-CQ ring goes through task_work.
    IowqLocklessCompletionViaTaskWork,
    /// M9: an io-wq completion whose CQE does not fit goes through task_work.
    IowqNoRoomCompletionViaTaskWork,
    /// M3: at most max(20, min_complete) local work items per pass (`retry_llist`).
    LocalWorkCap,
    /// R30: IORING_REGISTER_SEND_MSG_RING.
    SyncMsgRing,
    /// R41.1: IO_DRAIN waits until no other request of the ring is allocated (before:
    /// by sequence number, R41.2).
    DrainByAllocation,
    /// R21.5: `io_file_bitmap_get` clamps a hint outside the alloc range.
    AllocHintClamp,
    /// R2: NOP128/URING_CMD128 need a 128-byte SQE (SQE128, or SQE_MIXED).
    Op128NeedsBigSqe,
    /// R10.4: FLAGS_PASS with IORING_CQE_F_32 needs a CQE32 or CQE_MIXED target.
    FlagsPassF32NeedsBigCqe,
    /// M3/M9: local and normal task_work are MPSC FIFO queues: work queued while local
    /// work runs runs in the same pass, and IORING_SQ_TASKRUN can stay set with
    /// nothing pending.
    TaskWorkQueues,
    /// C9: a CQE with IORING_CQE_F_32 is a 32-byte post (`io_get_cqe(.., cqe32)`):
    /// CQE_MIXED rings, padding at the last slot, two contiguous slots.
    BigCqePosts,
    /// C8: IORING_NOP_CQE32: a NOP's CQE carries `extra1 = sqe->off`,
    /// `extra2 = sqe->addr`.
    NopCqe32,
    /// C9: `io_cqe_cache_refill` pads only CQE_MIXED rings, and a CQE32 ring needs one
    /// free entry for a 32-byte post.
    CqeRefillFix,
    /// M13: `io_uring_register` first runs the caller's task_work and, for the owner of
    /// a DEFER_TASKRUN ring, the ring's local work (`io_run_task_work_ctx`).
    RegisterRunsTaskWork,
    /// R41.3: an active drain ends as soon as the drain request completed and nothing
    /// is deferred (`io_drain_req_completed`).
    DrainEndsWhenDrainCompletes,
    /// R31: IORING_REGISTER_USE_REGISTERED_RING in `io_uring_register`'s opcode (before,
    /// the opcode is at or above IORING_REGISTER_LAST: -EINVAL).
    RegisterUseRegisteredRing,
    /// C8: `io_fill_cqe_aux` zeroes the extra words of an aux CQE on a CQE32 ring (before,
    /// only for a CQE with IORING_CQE_F_32).
    AuxCqeZeroesBigCqe,
    /// R40/R41: a request issued from task_work (a link successor, a request released
    /// from the defer list) that is forced async (IOSQE_ASYNC, drain) goes to io-wq
    /// (`io_req_task_submit`); before, it was issued inline like any other.
    TaskSubmitHonoursForceAsync,
}

/// A stable line a change was backported to: `from` is its first stable release
/// with the change (`6.18.16`), or just the line (`6.1`) when that release is not
/// known, in which case every `6.1.z` is taken to have it (see the row's evidence).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Backport {
    pub from: KernelVersion,
}

/// One row of the table: `rule` holds in `since..until` (mainline releases), and in
/// the stable releases of `backports`.
#[derive(Clone, Copy, Debug)]
pub struct Change {
    pub rule: Rule,
    pub since: KernelVersion,
    pub until: Option<KernelVersion>,
    pub backports: &'static [Backport],
    /// The commit that made the change (short id and title), or where it was seen.
    pub commit: &'static str,
    /// How the release was pinned.
    pub evidence: &'static str,
}

const fn v(major: u16, minor: u16) -> KernelVersion {
    KernelVersion::line(major, minor)
}

const fn change(
    rule: Rule,
    since: KernelVersion,
    commit: &'static str,
    evidence: &'static str,
) -> Change {
    Change {
        rule,
        since,
        until: None,
        backports: &[],
        commit,
        evidence,
    }
}

/// Every MSG_RING-visible rule that changed between 5.18 and 7.3. "run" = checked on
/// a real kernel of that release (docs/kernels.md); "source" = read in a Debian source
/// package (6.1.192, 6.12.118, 7.2.13, 7.3.4); "mail"/"log" = the commit's posting or
/// place in the io_uring history, no kernel of the release was run.
pub const CHANGES: &[Change] = &[
    Change {
        until: Some(v(6, 2)),
        ..change(Rule::RegisterRunsTaskWork, v(5, 18), "ef67fcb41de6 io_uring: do not always force run task_work in io_uring_register (ended it)", "source 6.1.192 io_uring_register; run: 6.1.0-56 check findings 361, 873 (a register step posts pending local work)")
    },
    change(Rule::SendFd, v(6, 0), "e6130eba8a84 io_uring: add support for passing fixed file descriptors", "reference §4; 5.18/5.19 have MSG_DATA only"),
    Change {
        backports: &[Backport { from: v(6, 1) }],
        ..change(Rule::DataChecksDisabledTarget, v(6, 2), "8579538c89e3 io_uring/msg_ring: fix remote queue to disabled ring", "run: 6.1.0-56 (6.1.192) has the MSG_DATA half; source 6.1.192")
    },
    change(Rule::SendFdChecksDisabledTarget, v(6, 2), "8579538c89e3 io_uring/msg_ring: fix remote queue to disabled ring", "run: missing on 6.1.192 (D4/D5), present 6.12+; source 6.1.192"),
    change(Rule::RemoteTaskWork, v(6, 2), "6d043ee1164c io_uring: do msg_ring in target task via tw", "run: 6.1.192 posts directly (D6/D7), 6.12+ through task_work"),
    change(Rule::FailuresDeferred, v(6, 2), "973fc83f3a94 io_uring: defer all io_req_complete_failed", "run: 6.1.192 posts at once (G2), 6.12+ with the batch"),
    change(Rule::IowqLocklessCompletionViaTaskWork, v(6, 2), "1bec951c3809 io_uring: iopoll protect complete_post (with the 6.2 completion rework)", "run: direct on 6.1.192, task_work on 6.12+; log: beside 973fc83f3a94 (6.2)"),
    change(Rule::FlagsPass, v(6, 3), "cbeb47a7b5f0 io_uring/msg_ring: Pass custom flags to the cqe", "run: -EINVAL on 6.1.192 (D1/D2); reference §4: for-6.3"),
    change(Rule::RegisterUseRegisteredRing, v(6, 3), "io_uring: support IORING_REGISTER_USE_REGISTERED_RING in io_uring_register (Josh Triplett)", "run: 6.1.0-57 (6.1.192) -EINVAL (golden r31_registered_ring_fds under QEMU), 6.12+ accept; source 6.1.192 (opcode >= IORING_REGISTER_LAST), 6.12.118 register.c; log: 6e76ac595855 (6.5) builds on it"),
    change(Rule::SendFdChecksLen, v(6, 3), "5da28edd7bd5 io_uring/msg_ring: let target know allocated index", "run: missing on 6.1.192 (D3), whose backport has only the slot-index half; source 6.1.192"),
    change(Rule::TaskSubmitHonoursForceAsync, v(6, 3), "6bb30855560e io_uring: if a linked request has REQ_F_FORCE_ASYNC then run it async", "run: 6.1.0-57 (6.1.192) issues a drained request released by task_work inline (msgring check seed 1 trace 13369, 300 s run under QEMU); source 6.1.192 io_req_task_submit, 6.12.118 sends it to io-wq; mail: for-next in January 2023, the 6.3 merge window"),
    change(Rule::LocalWorkFifo, v(6, 3), "3af0356c162c io_uring: maintain ordering for DEFER_TASKRUN tw list", "source 6.1.192 runs the llist unreversed; log: between 6.2 and 6.4 commits"),
    change(Rule::TaskWorkFifo, v(6, 10), "170539bdf109 io_uring: handle traditional task_work in FIFO order", "run: 6.1.192 newest first (G2), 6.12+ oldest first; log: the March 2024 task_work series"),
    change(Rule::SyncMsgRing, v(6, 13), "a377132154ab io_uring/msg_ring: add support for sending a sync message", "run: -EINVAL on 6.12 (D16), present 6.16+; liburing man page: 6.13"),
    change(Rule::LocalWorkCap, v(6, 14), "f46b9cdb22f7 io_uring: limit local tw done", "run: none on 6.12 (D8-D12), 20 on 6.16+; mail: posted for-next on 2024-11-20, during the 6.13 merge window"),
    change(Rule::DrainByAllocation, v(6, 16), "io_uring drain rework (nr_req_allocated, nr_drained; io_get_sequence and cq_extra gone)", "run: by sequence on 6.12, by allocation on 6.16+; source 6.12.118"),
    change(Rule::IowqNoRoomCompletionViaTaskWork, v(6, 16), "io_req_complete_post: `goto defer_complete` when the CQE does not fit", "run: overflowed by the worker on 6.12, task_work on 6.16+ (msgring check seed 1 trace 4583)"),
    change(Rule::BigCqePosts, v(6, 18), "io_uring: add support for IORING_SETUP_CQE_MIXED (io_fill_nop_cqe, io_get_cqe cqe32)", "run: CQE_MIXED accepted on 6.18.15/6.18.44, -EINVAL on 6.17; source 7.2.13 io_cqe_cache_refill"),
    change(Rule::NopCqe32, v(6, 18), "io_uring/nop: IORING_NOP_CQE32 (the CQE_MIXED series)", "run: 6.18.15 and 6.18.44 (golden c8_cqe32_extra_words, real-backend/examples/exp8), -EINVAL on 6.17.13 (unknown NOP flag)"),
    Change {
        backports: &[
            Backport { from: v(6, 1) },
            Backport { from: v(6, 12) },
            Backport { from: KernelVersion::stable(6, 18, 16) },
        ],
        ..change(Rule::AllocHintClamp, v(6, 19), "io_uring/filetable: clamp alloc_hint into the alloc range (stable fix)", "source 6.1.192, 6.12.118, 7.2.13; run (r21_5_alloc_hint_clamp_6_18_15): 6.18.44 has it, Debian 6.18.15, 6.16.12 and 6.17.13 do not (6.18.16 is the lower bound of its first 6.18.y); 6.19 taken as its mainline release")
    },
    change(Rule::Op128NeedsBigSqe, v(6, 19), "io_uring: add support for IORING_SETUP_SQE_MIXED (NOP128, URING_CMD128)", "source 7.2.13 io_init_req; run: SQE_MIXED accepted on 6.19.14, refused on 6.18"),
    change(Rule::FlagsPassF32NeedsBigCqe, v(7, 2), "15cd3ccf9b17 io_uring/msg_ring: reject CQE32 flag pass-through to normal rings", "run: 7.2.13, 7.3.4 -EINVAL, 7.1.13 accepts; source 7.2.13"),
    change(Rule::TaskWorkQueues, v(7, 2), "io_uring/mpscq series: switch local and normal task_work to a mpscq", "run: 7.2.13, 7.3.4 (r16_defer_self_linked); 7.1.13 agrees with 6.18; source 7.2.13 tw.c"),
    change(Rule::CqeRefillFix, v(7, 3), "io_uring: io_cqe_cache_refill pads only CQE_MIXED rings, CQE32 rings need one entry", "source 7.3.4 vs 7.2.13 io_uring.c"),
    change(Rule::AuxCqeZeroesBigCqe, v(7, 3), "io_fill_cqe_aux: `if (cqe32 || (ctx->flags & IORING_SETUP_CQE32))` zeroes big_cqe", "run: 7.3.4 zeroes a message's extra words on a CQE32 ring, 7.2.13 and 6.18.44 keep the slot's (golden c8_cqe32_extra_words under QEMU); source 7.3.4 vs 7.2.13 io_uring.c"),
    change(Rule::DrainEndsWhenDrainCompletes, v(7, 3), "io_uring IO_DRAIN rework: io_drain_req_completed", "run: 7.3.4 only; source 7.3.4 vs 7.2.13 io_uring.c"),

];

/// `IORING_OP_LAST` by release (R2): opcodes at or above it are -EINVAL. One row per
/// release that added opcodes.
pub const OP_LAST: &[(KernelVersion, u8, &str)] = &[
    (v(5, 18), 41, "MSG_RING = 40"),
    (v(5, 19), 47, "FSETXATTR..URING_CMD"),
    (v(6, 0), 48, "SEND_ZC"),
    (v(6, 1), 49, "SENDMSG_ZC"),
    (v(6, 7), 54, "READ_MULTISHOT, WAITID, FUTEX_*"),
    (v(6, 8), 55, "FIXED_FD_INSTALL"),
    (v(6, 9), 56, "FTRUNCATE"),
    (v(6, 11), 58, "BIND, LISTEN"),
    (v(6, 15), 62, "RECV_ZC, EPOLL_WAIT, READV/WRITEV_FIXED"),
    (v(6, 16), 63, "PIPE"),
    (v(6, 19), 65, "NOP128, URING_CMD128"),
];

/// `IORING_SETUP_*` flags by the release that added them (C1.1): unknown flags fail
/// `io_uring_setup` with -EINVAL.
pub const SETUP_FLAGS: &[(KernelVersion, u32, &str)] = &[
    (v(5, 18), (1 << 8) - 1, "IOPOLL..SUBMIT_ALL"),
    (
        v(5, 19),
        0xf << 8,
        "COOP_TASKRUN, TASKRUN_FLAG, SQE128, CQE32",
    ),
    (v(6, 0), 1 << 12, "SINGLE_ISSUER"),
    (v(6, 1), 1 << 13, "DEFER_TASKRUN"),
    (v(6, 5), 3 << 14, "NO_MMAP, REGISTERED_FD_ONLY"),
    (v(6, 6), 1 << 16, "NO_SQARRAY"),
    (v(6, 13), 1 << 17, "HYBRID_IOPOLL"),
    (v(6, 18), 1 << 18, "CQE_MIXED"),
    (v(6, 19), 1 << 19, "SQE_MIXED"),
    (v(7, 0), 1 << 20, "SQ_REWIND"),
];

impl Change {
    /// Whether this row's rule holds in `at` (a version already clamped to the newest
    /// known line). A `const fn` (loops, no iterators) so that profiles are constants.
    const fn holds(&self, at: KernelVersion) -> bool {
        let line = at.to_line().key();
        let before_until = match self.until {
            Some(u) => line < u.key(),
            None => true,
        };
        if line >= self.since.key() && before_until {
            return true;
        }
        let mut i = 0;
        while i < self.backports.len() {
            let from = self.backports[i].from;
            let stable = match (from.patch(), at.patch()) {
                (Some(first), Some(p)) => p >= first,
                _ => true,
            };
            if at.same_line(from) && stable {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// [`Profile::NEWEST`]'s line (a constant of its own: the profiles' rule sets are
/// computed from it in `const` context; a unit test keeps the two equal).
const NEWEST_LINE: KernelVersion = KernelVersion::line(7, 3);

/// [`Profile::rules_version`] of a profile for `version`.
const fn rules_version_of(version: KernelVersion) -> KernelVersion {
    if newer_than_known(version) {
        NEWEST_LINE
    } else {
        version
    }
}

/// [`Profile::newer_than_known`] of a profile for `version`.
const fn newer_than_known(version: KernelVersion) -> bool {
    version.to_line().key() > NEWEST_LINE.key()
}

/// The bit of `rule` in [`Profile`]'s rule set.
const fn rule_bit(rule: Rule) -> u64 {
    1 << rule as u32
}

/// The rules of [`CHANGES`] that hold in `version` (run as the newest known line if
/// it is newer), as a bit set.
const fn rules_holding_in(version: KernelVersion) -> u64 {
    let at = rules_version_of(version);
    let mut bits = 0;
    let mut i = 0;
    while i < CHANGES.len() {
        if CHANGES[i].holds(at) {
            bits |= rule_bit(CHANGES[i].rule);
        }
        i += 1;
    }
    bits
}

/// A kernel release the model behaves as. Carries the version it was asked for; the
/// rules are those of [`Profile::rules_version`] (the newest known line for a newer
/// kernel, which callers report: [`Profile::newer_than_known`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Profile {
    version: KernelVersion,
    /// The rules that hold in [`Profile::rules_version`], one bit per [`Rule`]
    /// (a function of `version`, computed once: [`Profile::has`] is on the hot path).
    rules: u64,
}

impl Default for Profile {
    /// Linux 6.18: the host kernel of this project's machines and CI.
    fn default() -> Profile {
        Profile::V6_18
    }
}

macro_rules! releases {
    ($($name:ident = ($maj:literal, $min:literal)),* $(,)?) => {
        impl Profile {
            $(
                #[doc = concat!("Linux ", stringify!($maj), ".", stringify!($min), ".")]
                pub const $name: Profile = Profile::release($maj, $min);
            )*
            /// Every release the model knows, oldest first.
            pub const ALL: &'static [Profile] = &[$(Profile::$name),*];
        }
    };
}

releases! {
    V5_18 = (5, 18), V5_19 = (5, 19),
    V6_0 = (6, 0), V6_1 = (6, 1), V6_2 = (6, 2), V6_3 = (6, 3), V6_4 = (6, 4), V6_5 = (6, 5), V6_6 = (6, 6),
    V6_7 = (6, 7), V6_8 = (6, 8), V6_9 = (6, 9), V6_10 = (6, 10), V6_11 = (6, 11), V6_12 = (6, 12),
    V6_13 = (6, 13), V6_14 = (6, 14), V6_15 = (6, 15), V6_16 = (6, 16), V6_17 = (6, 17), V6_18 = (6, 18),
    V6_19 = (6, 19),
    V7_0 = (7, 0), V7_1 = (7, 1), V7_2 = (7, 2), V7_3 = (7, 3),
}

impl Profile {
    /// The oldest release the model knows: MSG_RING is 5.18's.
    pub const OLDEST: Profile = Profile::V5_18;
    /// The newest release the model knows.
    pub const NEWEST: Profile = Profile::V7_3;

    /// A release line (`6.18`).
    pub const fn release(major: u16, minor: u16) -> Profile {
        Profile::at(KernelVersion::line(major, minor))
    }

    const fn at(version: KernelVersion) -> Profile {
        Profile {
            version,
            rules: rules_holding_in(version),
        }
    }

    /// The profile for `version`, if MSG_RING exists there (5.18+). A version newer
    /// than [`Profile::NEWEST`] is accepted and runs as it ([`Profile::newer_than_known`]).
    pub fn for_version(version: KernelVersion) -> Result<Profile, String> {
        if version.to_line() < Profile::OLDEST.version {
            return Err(format!(
                "kernel {version} has no IORING_OP_MSG_RING (the model knows {}..{})",
                Profile::OLDEST,
                Profile::NEWEST
            ));
        }
        Ok(Profile::at(version))
    }

    /// The version asked for.
    pub fn version(self) -> KernelVersion {
        self.version
    }

    /// The version whose rules apply: the asked one, or the newest known line for a
    /// newer kernel.
    pub fn rules_version(self) -> KernelVersion {
        rules_version_of(self.version)
    }

    /// Whether this is a kernel newer than the newest the model knows (it then runs as
    /// [`Profile::NEWEST`]; say so loudly).
    pub fn newer_than_known(self) -> bool {
        newer_than_known(self.version)
    }

    /// The warning for a kernel newer than the newest known, if this is one.
    pub fn newer_warning(self) -> Option<String> {
        self.newer_than_known().then(|| {
            format!(
                "WARNING: kernel {} is newer than the newest release the model knows ({}); \
                 the model runs as {} and may be wrong where {} changed MSG_RING",
                self.version,
                Profile::NEWEST,
                Profile::NEWEST,
                self.version.to_line()
            )
        })
    }

    /// The profile as reports name it: `7.3`, or `7.4 (run as 7.3: newer than the
    /// newest known release)`.
    pub fn label(self) -> String {
        if self.newer_than_known() {
            format!(
                "{} (run as {}: newer than the newest known release)",
                self.version,
                Profile::NEWEST
            )
        } else {
            self.version.to_string()
        }
    }

    /// Whether `rule` holds in this release.
    pub fn has(self, rule: Rule) -> bool {
        self.rules & rule_bit(rule) != 0
    }

    /// The rows of [`CHANGES`] for `rule`.
    pub fn changes_of(rule: Rule) -> impl Iterator<Item = &'static Change> {
        CHANGES.iter().filter(move |c| c.rule == rule)
    }

    /// `IORING_OP_LAST`: opcodes at or above it are -EINVAL (R2).
    pub fn op_last(self) -> u8 {
        let at = self.rules_version().to_line();
        OP_LAST
            .iter()
            .rev()
            .find(|(since, _, _)| at >= *since)
            .map_or(OP_LAST[0].1, |r| r.1)
    }

    /// Setup flags the kernel knows; others fail `io_uring_setup` with -EINVAL (C1.1).
    pub fn known_setup_flags(self) -> u32 {
        let at = self.rules_version().to_line();
        SETUP_FLAGS
            .iter()
            .filter(|(since, _, _)| at >= *since)
            .fold(0, |acc, r| acc | r.1)
    }

    /// R1: the `msg_ring_flags` bits `__io_msg_ring_prep` accepts: CQE_SKIP with
    /// SEND_FD (6.0), FLAGS_PASS from 6.3 (D1/D2: -EINVAL on 6.1).
    pub fn msg_ring_flags_mask(self) -> u32 {
        use crate::uapi::msg::{CQE_SKIP, FLAGS_PASS};
        let mut m = 0;
        if self.has(Rule::SendFd) {
            m |= CQE_SKIP;
        }
        if self.has(Rule::FlagsPass) {
            m |= FLAGS_PASS;
        }
        m
    }

    /// R1 (5.18, 5.19): `addr`, `splice_fd_in` (file_index) must be zero at prep: there
    /// is only MSG_DATA.
    pub fn prep_requires_zero_addr(self) -> bool {
        !self.has(Rule::SendFd)
    }

    /// R20.1 (B6): SEND_FD rejects `len != 0`. Not in 6.1.192 (docs/kernels.md D3,
    /// although the reference lists it as a stable backport).
    pub fn send_fd_checks_len(self) -> bool {
        self.has(Rule::SendFdChecksLen)
    }

    /// R20.3 (B4): SEND_FD to an R_DISABLED target is -EBADFD. Not in 6.1.192 (D4/D5:
    /// the file is installed and a CQE posted on the disabled ring).
    pub fn send_fd_checks_disabled(self) -> bool {
        self.has(Rule::SendFdChecksDisabledTarget)
    }

    /// R10.3: MSG_DATA to an R_DISABLED target is -EBADFD (6.1.192 has it).
    pub fn data_checks_disabled(self) -> bool {
        self.has(Rule::DataChecksDisabledTarget)
    }

    /// R14/R24: DEFER_TASKRUN targets get their CQEs through task_work. 6.1.192 posts
    /// directly from the sender (D6, D7, D14, D15).
    pub fn remote_task_work(self) -> bool {
        self.has(Rule::RemoteTaskWork)
    }

    /// M3: the most local task_work items one run handles: 20 from 6.14, everything
    /// before (D8–D12).
    pub fn local_work_max(self) -> Option<u32> {
        self.has(Rule::LocalWorkCap)
            .then_some(crate::IO_LOCAL_TW_DEFAULT_MAX)
    }

    /// IORING_NOP_CQE32 exists (6.18, with CQE_MIXED): a NOP's CQE carries
    /// `extra1 = sqe->off`, `extra2 = sqe->addr` (C8; real-backend/examples/exp8).
    pub fn nop_cqe32(self) -> bool {
        self.has(Rule::NopCqe32)
    }

    /// R30: IORING_REGISTER_SEND_MSG_RING exists (6.13+). Before, opcode 31 is -EINVAL
    /// (D16/D17).
    pub fn has_sync_msg(self) -> bool {
        self.has(Rule::SyncMsgRing)
    }

    /// `io_req_complete_failed` posts at once (6.1: G2 in docs/kernels.md): a request
    /// whose init or file lookup failed shows its CQE before the batch's; 6.2+ defer it
    /// to the batch flush (`io_req_defer_failed`).
    pub fn failures_post_at_once(self) -> bool {
        !self.has(Rule::FailuresDeferred)
    }

    /// `tctx_task_work` ran the task_work llist without reversing it, newest first
    /// (6.1: G2 — link cancellations and successors in reverse order); 6.10+ reverse it
    /// into FIFO order.
    pub fn tctx_task_work_lifo(self) -> bool {
        !self.has(Rule::TaskWorkFifo)
    }

    /// `__io_run_local_work` ran a DEFER_TASKRUN ring's local work llist without
    /// reversing it, newest first (6.1.192's source); 6.3+ reverse it.
    pub fn local_work_lifo(self) -> bool {
        !self.has(Rule::LocalWorkFifo)
    }

    /// `io_req_complete_post` from io-wq hands a lockless-CQ ring's completion to
    /// task_work (6.2+); 6.1.192 posted it from the worker (docs/kernels.md: the
    /// liburing own-message trace on an IOPOLL|DEFER_TASKRUN ring).
    pub fn iowq_lockless_completion_via_task_work(self) -> bool {
        self.has(Rule::IowqLocklessCompletionViaTaskWork)
    }

    /// `io_req_complete_post` from io-wq hands a completion whose CQE does not fit
    /// (full CQ, or overflow pending) to task_work instead of overflowing it from the
    /// worker: 6.16+ (`msgring check --seed 1` trace 4583 on 6.18.44). 6.12 overflows
    /// from the worker (`io_req_cqe_overflow`).
    pub fn iowq_completion_without_room_via_task_work(self) -> bool {
        self.has(Rule::IowqNoRoomCompletionViaTaskWork)
    }

    /// IO_DRAIN releases deferred requests by sequence number (`req_need_defer`:
    /// `seq + cq_extra == cached_cq_tail`, R41.2) before 6.16; 6.16+ waits until no
    /// other request of the ring is allocated (R41.1).
    pub fn drain_by_sequence(self) -> bool {
        !self.has(Rule::DrainByAllocation)
    }

    /// `io_req_task_submit` sends a forced-async request (IOSQE_ASYNC, drain) to io-wq
    /// (6.3+); 6.1.192 issues it inline from the task_work like any other.
    pub fn task_submit_honours_force_async(self) -> bool {
        self.has(Rule::TaskSubmitHonoursForceAsync)
    }

    /// M13 (before 6.2): `io_uring_register` runs `io_run_task_work_ctx` before the
    /// opcode: the ring's local work when the caller owns the DEFER_TASKRUN ring, then
    /// the caller's task_work.
    pub fn register_runs_task_work(self) -> bool {
        self.has(Rule::RegisterRunsTaskWork)
    }

    /// R41.3 (7.3): an active drain ends once the drain request itself completed and
    /// nothing is deferred (`io_drain_req_completed` in `__io_submit_flush_completions`);
    /// before, only a later non-drain request that found the defer list empty ended it.
    pub fn drain_ends_when_drain_completes(self) -> bool {
        self.has(Rule::DrainEndsWhenDrainCompletes)
    }

    /// R21.5: `io_file_bitmap_get` clamps an alloc hint outside the alloc range to its
    /// start (a stable fix: Debian's 6.18.15 lacks it).
    pub fn alloc_hint_clamp(self) -> bool {
        self.has(Rule::AllocHintClamp)
    }

    /// R2 (6.19+): IORING_OP_NOP128 and IORING_OP_URING_CMD128 are -EINVAL in
    /// `io_init_req` unless the SQE is 128 bytes (SQE128, or SQE_MIXED).
    pub fn op128_needs_big_sqe(self) -> bool {
        self.has(Rule::Op128NeedsBigSqe)
    }

    /// R10.4 (7.2+): FLAGS_PASS whose value has IORING_CQE_F_32 to a target that is
    /// neither CQE32 nor CQE_MIXED is -EINVAL (`io_msg_ring_cqe_flags`).
    pub fn flags_pass_f32_needs_big_cqe(self) -> bool {
        self.has(Rule::FlagsPassF32NeedsBigCqe)
    }

    /// M3/M9 (7.2+): local and normal task_work are FIFO queues consumed one item at a
    /// time, so work queued while the owner runs local work runs in the same pass
    /// (within the cap), and IORING_SQ_TASKRUN, set by a push to an empty queue, can
    /// stay set after the pass consumed that item.
    pub fn mpsc_task_work_queues(self) -> bool {
        self.has(Rule::TaskWorkQueues)
    }

    /// C9 (6.18+): IORING_CQE_F_32 in a CQE's flags makes it a 32-byte post
    /// ([`crate::state::CqLayout`]).
    pub fn big_cqe_posts(self) -> bool {
        self.has(Rule::BigCqePosts)
    }

    /// C9 (7.3+): `io_cqe_cache_refill` pads only CQE_MIXED rings and a CQE32 ring
    /// needs one free entry for a 32-byte post; before, any ring was padded and two
    /// entries were needed.
    pub fn cqe_refill_pads_only_mixed(self) -> bool {
        self.has(Rule::CqeRefillFix)
    }

    /// C8 (7.3+): an aux CQE (a message's target CQE) zeroes the extra words of its
    /// slot on a CQE32 ring; before, it leaves them as a former CQE wrote them, unless
    /// it carries IORING_CQE_F_32 (6.18+).
    pub fn aux_cqe_zeroes_big_cqe(self) -> bool {
        self.has(Rule::AuxCqeZeroesBigCqe)
    }

    /// R31 (6.3+): `io_uring_register` takes IORING_REGISTER_USE_REGISTERED_RING.
    pub fn register_use_registered_ring(self) -> bool {
        self.has(Rule::RegisterUseRegisteredRing)
    }

    /// The profile for a running kernel's `major.minor`, if the model has one (5.18+;
    /// newer than the newest known runs as it: check [`Profile::newer_than_known`]).
    pub fn for_kernel(major: u32, minor: u32) -> Option<Profile> {
        let (major, minor) = (u16::try_from(major).ok()?, u16::try_from(minor).ok()?);
        Profile::for_version(KernelVersion::line(major, minor)).ok()
    }

    /// The profile for a running kernel's release string (`uname -r`), with its
    /// stable patch level.
    pub fn for_release(release: &str) -> Result<Profile, String> {
        let v = KernelVersion::from_release(release)
            .ok_or_else(|| format!("cannot read a version from kernel release `{release}`"))?;
        Profile::for_version(v)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.version.fmt(f)
    }
}

impl FromStr for Profile {
    type Err = String;
    /// `X.Y` or `X.Y.Z`: any release from 5.18 on.
    fn from_str(s: &str) -> Result<Profile, String> {
        let v: KernelVersion = s.parse()?;
        Profile::for_version(v)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Profile {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Profile> {
        Ok(*u.choose(Profile::ALL)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_kernels_map_to_releases() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse::<Profile>(), Ok(*p));
        }
        assert_eq!(Profile::ALL.len(), 26, "5.18, 5.19, 6.0..6.19, 7.0..7.3");
        assert_eq!(Profile::for_kernel(6, 18), Some(Profile::V6_18));
        assert_eq!(Profile::for_kernel(6, 13), Some(Profile::V6_13));
        assert_eq!(Profile::for_kernel(5, 10), None);
        assert!("5.17".parse::<Profile>().is_err());
        assert!("6".parse::<Profile>().is_err());
        assert!("6.x".parse::<Profile>().is_err());
        assert!("6.18.".parse::<Profile>().is_err());
        assert_eq!("6.2".parse::<Profile>(), Ok(Profile::V6_2));
        assert_eq!("6.18.15".parse::<Profile>().unwrap().to_string(), "6.18.15");
    }

    #[test]
    fn rule_sets_are_those_of_the_changes_table() {
        assert_eq!(Profile::NEWEST.version(), NEWEST_LINE);
        let mut versions: Vec<KernelVersion> = Profile::ALL.iter().map(|p| p.version()).collect();
        versions.extend(
            ["6.18.15", "6.18.16", "6.12.118", "6.1.192", "7.4", "8.0.1"]
                .map(|s| s.parse::<Profile>().unwrap().version()),
        );
        for v in versions {
            let p = Profile::for_version(v).unwrap();
            let at = p.rules_version();
            for c in CHANGES {
                let scanned = CHANGES.iter().any(|d| d.rule == c.rule && d.holds(at));
                assert_eq!(p.has(c.rule), scanned, "{v} {:?}", c.rule);
            }
        }
    }

    #[test]
    fn a_stable_release_has_its_lines_rules_unless_a_backport_says_otherwise() {
        // `Profile`'s order puts 6.18.44 before the line 6.18 (its newest patch), so a
        // rule asked as `self >= Profile::V6_18` was false on every 6.18.x the host and
        // the QEMU goldens run (c8_cqe32_extra_words skipped IORING_NOP_CQE32 there).
        let at = |s: &str| s.parse::<Profile>().unwrap();
        for rel in ["6.18.15", "6.18.44", "6.18", "7.3.4"] {
            assert!(at(rel).nop_cqe32(), "{rel}");
            assert!(at(rel).big_cqe_posts(), "{rel}");
        }
        for rel in ["6.17.13", "6.17", "6.12.118"] {
            assert!(!at(rel).nop_cqe32(), "{rel}");
        }
    }

    #[test]
    fn release_strings_keep_the_stable_patch_level() {
        let r = |s: &str| KernelVersion::from_release(s).map(|v| v.to_string());
        assert_eq!(r("6.12.117+deb12-amd64").as_deref(), Some("6.12.117"));
        assert_eq!(r("6.18.44-fc-v595").as_deref(), Some("6.18.44"));
        assert_eq!(r("6.1.0-56-amd64").as_deref(), Some("6.1"));
        assert_eq!(r("7.3.4+deb13-amd64").as_deref(), Some("7.3.4"));
        assert_eq!(r("7.0-rc3").as_deref(), Some("7.0"));
        assert_eq!(r("amd64"), None);
    }

    #[test]
    fn a_newer_kernel_runs_as_the_newest_known_and_says_so() {
        let p: Profile = "7.4".parse().unwrap();
        assert!(p.newer_than_known());
        assert_eq!(p.rules_version(), Profile::NEWEST.version());
        assert!(p.newer_warning().unwrap().contains("7.3"));
        assert_eq!(p.op_last(), Profile::NEWEST.op_last());
        assert!(p.flags_pass_f32_needs_big_cqe());
        assert!(!Profile::V7_3.newer_than_known());
        assert!(!"7.3.9".parse::<Profile>().unwrap().newer_than_known());
    }

    #[test]
    fn stable_backports_apply_from_their_patch_level() {
        let p = |s: &str| s.parse::<Profile>().unwrap();
        assert!(!p("6.18.15").alloc_hint_clamp());
        assert!(p("6.18.44").alloc_hint_clamp());
        assert!(p("6.18").alloc_hint_clamp(), "a line = its newest stable");
        assert!(p("6.1.192").alloc_hint_clamp());
        assert!(!p("6.17").alloc_hint_clamp());
        assert!(p("6.1").data_checks_disabled() && !p("6.1").send_fd_checks_disabled());
        assert!(!p("6.0").data_checks_disabled());
    }

    #[test]
    fn value_tables_are_ordered_and_grow() {
        assert!(OP_LAST
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        assert!(SETUP_FLAGS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(Profile::V6_1.op_last(), 49);
        assert_eq!(Profile::V6_12.op_last(), 58);
        assert_eq!(Profile::V6_18.op_last(), 63);
        assert_eq!(Profile::V7_3.op_last(), 65);
        assert_eq!(Profile::V6_1.known_setup_flags(), (1 << 14) - 1);
        assert_eq!(Profile::V6_12.known_setup_flags(), (1 << 17) - 1);
        assert_eq!(Profile::V6_18.known_setup_flags(), (1 << 19) - 1);
        assert_eq!(Profile::V7_0.known_setup_flags(), (1 << 21) - 1);
    }

    #[test]
    fn every_change_is_inside_the_known_range_and_unique() {
        for c in CHANGES {
            assert!(
                c.since >= Profile::OLDEST.version && c.since <= Profile::NEWEST.version,
                "{c:?}"
            );
            assert!(c.until.is_none_or(|u| u > c.since), "{c:?}");
            assert!(!c.commit.is_empty() && !c.evidence.is_empty());
        }
        for (i, a) in CHANGES.iter().enumerate() {
            for b in &CHANGES[i + 1..] {
                assert!(
                    a.rule != b.rule || a.until.is_some_and(|u| u <= b.since),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
