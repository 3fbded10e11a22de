//! Experiment 6: CQ overflow: does advancing head let new CQEs in while the
//! overflow list is non-empty, and how much does enter(GETEVENTS) flush?
//! Run: cargo run -p msgring-real-backend --example exp6_overflow
use msgring_real_backend::consts::*;
use msgring_real_backend::sqe::*;
use msgring_real_backend::*;
use std::time::Duration;

const T0: TaskId = TaskId(0);

fn uds(c: &[Cqe]) -> Vec<u64> {
    c.iter().map(|c| c.user_data).collect()
}

fn send(h: &mut Host, a: Vfd, b: Vfd, ud: u64) {
    h.push_sqe(a, msg_data(b.0, 0, ud, ud)).unwrap();
    assert_eq!(h.enter(T0, a, 1, 0, 0, Duration::ZERO), 1);
    assert_eq!(h.reap(a, 8)[0].res, 0);
}

fn state(h: &Host, b: Vfd) -> String {
    format!(
        "cq_ready={} ovf_list={:?} sq_flags={:#x} cq_overflow={}",
        h.cq_ready(b),
        h.overflow_list(b)
            .map(|l| l.iter().map(|e| e.0).collect::<Vec<_>>()),
        h.sq_flags(b),
        h.cq_overflow(b)
    )
}

fn main() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 8, 0, 0).unwrap();
    let b = h.setup_ring(T0, 2, 4, SETUP_CQSIZE).unwrap(); // CQ of 4
    for ud in 1..=7 {
        send(&mut h, a, b, ud);
    }
    println!("7 msgs into CQ 4:           {}", state(&h, b));
    let r = h.reap(b, 2);
    println!("reap 2 (no enter) -> {:?}: {}", uds(&r), state(&h, b));
    send(&mut h, a, b, 8);
    println!("send ud 8:                  {}", state(&h, b));
    let rc = h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    println!("enter(0,0,GETEVENTS)={rc}:   {}", state(&h, b));
    let r = h.reap(b, 1);
    println!("reap 1 -> {:?}: {}", uds(&r), state(&h, b));
    let rc = h.enter(T0, b, 0, 0, 0, Duration::ZERO);
    println!("enter(0,0,0)={rc}:           {}", state(&h, b));
    h.push_sqe(b, nop(100)).unwrap();
    let rc = h.enter(T0, b, 1, 0, 0, Duration::ZERO);
    println!("enter submit NOP(100)={rc}:  {}", state(&h, b));
    let rc = h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    println!("enter(0,0,GETEVENTS)={rc}:   {}", state(&h, b));
    let all = h.reap(b, 16);
    println!("reap all -> {:?}: {}", uds(&all), state(&h, b));
    let rc = h.enter(T0, b, 0, 1, ENTER_GETEVENTS, Duration::from_millis(20));
    let all = h.reap(b, 16);
    println!(
        "enter(0,1,GETEVENTS)={rc} then reap -> {:?}: {}",
        uds(&all),
        state(&h, b)
    );
    let rc = h.enter(T0, b, 0, 1, ENTER_GETEVENTS, Duration::from_millis(20));
    let all = h.reap(b, 16);
    println!(
        "enter(0,1,GETEVENTS)={rc} then reap -> {:?}: {}",
        uds(&all),
        state(&h, b)
    );

    // Same on a DEFER target owned by t1.
    let t1 = h.spawn_task().unwrap();
    let d = h
        .setup_ring(
            t1,
            2,
            4,
            SETUP_CQSIZE | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
        )
        .unwrap();
    for ud in 1..=7 {
        send(&mut h, a, d, ud);
    }
    println!("DEFER: 7 msgs, no enter yet:  {}", state(&h, d));
    let rc = h.enter(t1, d, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    println!("DEFER: owner GETEVENTS={rc}:   {}", state(&h, d));
    let r = h.reap(d, 2);
    send(&mut h, a, d, 8);
    println!("DEFER: reap 2 -> {:?}, send 8: {}", uds(&r), state(&h, d));
    let rc = h.enter(t1, d, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    println!("DEFER: owner GETEVENTS={rc}:   {}", state(&h, d));
    let mut rest = Vec::new();
    for _ in 0..5 {
        rest.extend(h.reap(d, 16));
        h.enter(t1, d, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    }
    rest.extend(h.reap(d, 16));
    println!("DEFER: drained rest -> {:?}: {}", uds(&rest), state(&h, d));
}
