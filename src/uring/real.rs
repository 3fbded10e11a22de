//! Conversions from the real io-uring crate's entries (feature `io-uring`).

use super::{cqueue, squeue};
use crate::sqe::Sqe;
use msgring_real_backend::entries::{io_uring, sqe_bytes};

impl From<io_uring::squeue::Entry> for squeue::Entry {
    /// The same SQE, byte for byte: any opcode converts (unmodelled ones are refused
    /// or completed externally when submitted).
    fn from(entry: io_uring::squeue::Entry) -> squeue::Entry {
        squeue::Entry(Sqe::from_bytes(&sqe_bytes(entry)))
    }
}

impl From<&io_uring::cqueue::Entry> for cqueue::Entry {
    fn from(c: &io_uring::cqueue::Entry) -> cqueue::Entry {
        cqueue::Entry(crate::state::Cqe {
            user_data: c.user_data(),
            res: c.result(),
            flags: c.flags(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_entries_convert_field_by_field() {
        use io_uring::{opcode, types};
        let real = opcode::MsgRingData::new(types::Fd(7), -3, 0xfeed, Some(0x100))
            .build()
            .user_data(9)
            .flags(io_uring::squeue::Flags::SKIP_SUCCESS);
        let ours = crate::uring::opcode::MsgRingData::new(
            crate::uring::types::Fd(7),
            -3,
            0xfeed,
            Some(0x100),
        )
        .build()
        .user_data(9)
        .flags(crate::uring::squeue::Flags::SKIP_SUCCESS);
        assert_eq!(squeue::Entry::from(real), ours);
        let slot = types::DestinationSlot::try_from_slot_target(2).unwrap();
        let real = opcode::MsgRingSendFd::new(types::Fd(3), types::Fixed(1), slot, 5).build();
        let ours = crate::uring::opcode::MsgRingSendFd::new(
            crate::uring::types::Fd(3),
            crate::uring::types::Fixed(1),
            crate::uring::types::DestinationSlot::try_from_slot_target(2).unwrap(),
            5,
        )
        .build();
        assert_eq!(squeue::Entry::from(real), ours);
        assert_eq!(
            squeue::Entry::from(opcode::Nop::new().build().user_data(4)),
            crate::uring::opcode::Nop::new().build().user_data(4)
        );
    }
}
