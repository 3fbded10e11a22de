//! Experiment 2: CQE order for one enter submitting [NOP(1), MSG_DATA(2 -> tgt ud 3), NOP(4)].
//! Run: cargo run -p msgring-real-backend --example exp2_order
use msgring_real_backend::consts::*;
use msgring_real_backend::sqe::*;
use msgring_real_backend::*;
use std::time::Duration;

const T0: TaskId = TaskId(0);

fn uds(c: &[Cqe]) -> Vec<(u64, i32)> {
    c.iter().map(|c| (c.user_data, c.res)).collect()
}

fn run(label: &str, src_flags: u32, to_self: bool, link: u8, tgt_flags: u32) {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 8, 0, src_flags).unwrap();
    let b = if to_self {
        a
    } else {
        h.setup_ring(T0, 8, 0, tgt_flags).unwrap()
    };
    h.push_sqe(a, with_flags(nop(1), link)).unwrap();
    h.push_sqe(a, with_flags(msg_data(b.0, 33, 3, 2), link))
        .unwrap();
    h.push_sqe(a, nop(4)).unwrap();
    let rc = h.enter(T0, a, 3, 0, 0, Duration::ZERO);
    let a1 = h.reap(a, 16);
    let b1 = if to_self { vec![] } else { h.reap(b, 16) };
    let mut later = Vec::new();
    for _ in 0..4 {
        let r1 = h.enter(T0, a, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
        let x = h.reap(a, 16);
        let r2 = if to_self {
            0
        } else {
            h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO)
        };
        let y = if to_self { vec![] } else { h.reap(b, 16) };
        if x.is_empty() && y.is_empty() {
            break;
        }
        later.push(format!(
            "GETEVENTS(rc {r1}/{r2}): src+{:?} tgt+{:?}",
            uds(&x),
            uds(&y)
        ));
    }
    println!(
        "{label}: submit rc={rc} | src CQ={:?} tgt CQ={:?} | then {later:?}",
        uds(&a1),
        uds(&b1)
    );
}

fn main() {
    let d = SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN;
    run("plain, self          ", 0, true, 0, 0);
    run("plain, other plain   ", 0, false, 0, 0);
    run("plain, self, IO_LINK ", 0, true, IOSQE_IO_LINK, 0);
    run("plain, other, IO_LINK", 0, false, IOSQE_IO_LINK, 0);
    run("DEFER, self          ", d, true, 0, 0);
    run("DEFER, self, IO_LINK ", d, true, IOSQE_IO_LINK, 0);
    run("plain, other DEFER(same task)", 0, false, 0, d);
    run("DEFER, other plain   ", d, false, 0, 0);
    run("COOP, self           ", SETUP_COOP_TASKRUN, true, 0, 0);
    // ASYNC on the message only.
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 8, 0, 0).unwrap();
    h.push_sqe(a, nop(1)).unwrap();
    h.push_sqe(a, with_flags(msg_data(a.0, 33, 3, 2), IOSQE_ASYNC))
        .unwrap();
    h.push_sqe(a, nop(4)).unwrap();
    let rc = h.enter(T0, a, 3, 4, ENTER_GETEVENTS, Duration::from_millis(100));
    println!(
        "plain self, MSG with IOSQE_ASYNC: rc={rc} CQ={:?}",
        uds(&h.reap(a, 16))
    );
}
