use msgring::{DestSlot, MsgRingData, MsgRingSendFd};
use msgring_model_tests::*;

#[test]
fn data_and_send_fd_smoke() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring(4, 0);
    let f = s.regular();
    s.register(a, &[f]);
    s.ret(msgring::Step::RegisterFilesSparse {
        task: T0,
        ring: b,
        nr: 4,
    });
    let d = MsgRingData {
        ring_fd: b,
        result: 7,
        user_data: 0x10,
        user_flags: None,
    }
    .build()
    .user_data(1);
    let sfd = MsgRingSendFd {
        ring_fd: b,
        fixed_slot_src: 0,
        dest_slot_index: DestSlot::Alloc,
        user_data: 0x20,
        skip_cqe: false,
    }
    .build()
    .user_data(2);
    assert_eq!(s.submit(a, &[d, sfd]), 2);
    assert_eq!(s.reap_t(a), vec![c(1, 0, 0), c(2, 0, 0)]);
    assert_eq!(s.reap_t(b), vec![c(0x10, 7, 0), c(0x20, 0, 0)]);
    assert_eq!(s.slot(b, 0), Some(s.file_of(f)));
    assert_eq!(s.refs(f), 3);
}
