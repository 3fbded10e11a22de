//! Experiment 8: CQE32 extra words (`big_cqe`). A NOP with `IORING_NOP_CQE32` on a
//! CQE32 ring posts `extra1 = sqe->off`, `extra2 = sqe->addr`; what do later CQEs in
//! the same slot carry once the CQ wraps: a request's (NOP), a MSG_RING target's
//! (`io_add_aux_cqe`), one that went through the overflow list?
//! Run: cargo run -p msgring-real-backend --example exp8_cqe32_extra
use msgring_real_backend::consts::*;
use msgring_real_backend::sqe::*;
use msgring_real_backend::*;
use std::time::Duration;

const T0: TaskId = TaskId(0);
const NOP_CQE32: u32 = 1 << 5;

fn nop32(ud: u64, extra1: u64, extra2: u64) -> [u8; 64] {
    Sqe {
        opcode: OP_NOP,
        user_data: ud,
        off: extra1,
        addr: extra2,
        op_flags: NOP_CQE32,
        ..Sqe::default()
    }
    .to_bytes()
}

fn show(what: &str, c: &[Cqe]) {
    let v: Vec<String> = c
        .iter()
        .map(|c| {
            format!(
                "ud={:#x} res={} flags={:#x} big={:?}",
                c.user_data, c.res, c.flags, c.big
            )
        })
        .collect();
    println!("{what}: [{}]", v.join("; "));
}

fn main() {
    let mut h = Host::new().unwrap();
    let src = h.setup_ring(T0, 8, 0, 0).unwrap();
    let r = h.setup_ring(T0, 4, 4, SETUP_CQE32 | SETUP_CQSIZE).unwrap();
    let plain = h.setup_ring(T0, 2, 0, 0).unwrap();
    // NOP_CQE32 on a ring without CQE32: -EINVAL expected.
    h.push_sqe(plain, nop32(0x11, 5, 7)).unwrap();
    println!(
        "enter plain = {}",
        h.enter(T0, plain, 1, 0, 0, Duration::ZERO)
    );
    show("plain ring", &h.reap(plain, 8));
    // Four NOP_CQE32s fill slots 0..3 of the CQE32 ring.
    for i in 0..4u64 {
        h.push_sqe(r, nop32(0x20 + i, 0x100 + i, 0x200 + i))
            .unwrap();
    }
    println!("enter = {}", h.enter(T0, r, 4, 0, 0, Duration::ZERO));
    show("4 NOP_CQE32", &h.reap(r, 8));
    // Slot 0 again: a plain NOP (a request CQE).
    h.push_sqe(r, nop(0x30)).unwrap();
    h.enter(T0, r, 1, 0, 0, Duration::ZERO);
    show("plain NOP in slot 0", &h.reap(r, 8));
    // Slot 1: a MSG_DATA target CQE (aux).
    h.push_sqe(src, msg_data(r.0, 9, 0x40, 1)).unwrap();
    h.enter(T0, src, 1, 0, 0, Duration::ZERO);
    show("MSG_DATA into slot 1", &h.reap(r, 8));
    show("source", &h.reap(src, 8));
    // Slots 2, 3, 0, 1 then the overflow list: six MSG_DATAs, reap after a flush.
    for i in 0..6u64 {
        h.push_sqe(src, msg_data(r.0, 10 + i as u32, 0x50 + i, 2))
            .unwrap();
    }
    h.enter(T0, src, 6, 0, 0, Duration::ZERO);
    h.reap(src, 16);
    show("6 MSG_DATA, CQ part", &h.reap(r, 8));
    h.enter(T0, r, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    show("after the flush", &h.reap(r, 8));
}
