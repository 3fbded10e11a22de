//! One or more tests per rule of docs/semantics.md, named for the rule id they check.
//! Each scenario mirrors the reference (../shared/reference/msg-ring-semantics.md) or a
//! finding on a real 6.18 kernel (section 7). One module per group of rules.

use msgring::uapi::{enter, msg, op, setup, sq, sqe_flags, FILE_INDEX_ALLOC};
use msgring::{DestSlot, Errno, Faults, MsgRingData, MsgRingSendFd, Nop, Sqe, Step, StepResult};
use msgring_model_tests::*;

pub(crate) const EINVAL: i32 = -22;
pub(crate) const EBADF: i32 = -9;
pub(crate) const EBADFD: i32 = -77;

pub(crate) fn two_rings(s: &mut Sim) -> (i32, i32) {
    (s.ring(4, 0), s.ring(4, 0))
}

/// A source ring with a regular file in slot 0, a target with a sparse table of `n`.
pub(crate) fn fd_setup(s: &mut Sim, n: u32) -> (i32, i32, i32) {
    let (a, b) = two_rings(s);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: b,
            nr: n
        }),
        0
    );
    (a, b, f)
}

pub(crate) fn defer_target(s: &mut Sim, cq: u32) -> (i32, i32, msgring::TaskId) {
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 8, cq, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    (a, b, owner)
}

pub(crate) fn disabled(s: &mut Sim) -> i32 {
    s.ring(4, setup::R_DISABLED)
}

mod msg_data;
mod prep;
mod rings;
mod send_fd;
mod source_flags;
