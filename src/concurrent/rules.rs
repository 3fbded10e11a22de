//! The semantic decisions the concurrent layer needs, taken from the sequential model.
//!
//! Every decision here is the sequential model's own code (`src/exec/msg_ring.rs`):
//! `io_msg_ring_prep` (R1), `IoMsg`, the DATA and SEND_FD field checks (R10, R20) and
//! the install into a fixed-file table (R21); the ring predicates (`task_complete`,
//! `lockless_cq`, C5) come from `Ring`. The refinement check ([`super::Scenario`])
//! compares every concurrent outcome with what `World` decides.

use crate::errno::Errno;

pub(crate) use crate::exec::msg_ring::io_msg_ring_prep;

pub(crate) use crate::exec::msg_ring::{io_fixed_fd_install, msg_data_field_checks, IoMsg};

/// R20.1, R20.2 for the concurrent layer (6.18; every modelled ring is enabled).
pub(crate) fn msg_send_fd_checks(source: usize, target: usize, m: &IoMsg) -> Result<(), Errno> {
    crate::exec::msg_ring::msg_send_fd_fields(source == target, m, crate::Profile::V6_18)
}
