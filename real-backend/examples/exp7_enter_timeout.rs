//! Experiment 7: enter with min_complete > available on a plain ring, with the
//! EXT_ARG timeout.
//! Run: cargo run -p msgring-real-backend --example exp7_enter_timeout
use msgring_real_backend::consts::*;
use msgring_real_backend::sqe::*;
use msgring_real_backend::*;
use std::time::{Duration, Instant};

const T0: TaskId = TaskId(0);

fn main() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 8, 0, 0).unwrap();
    let to = Duration::from_millis(30);
    let t = Instant::now();
    let rc = h.enter(T0, a, 0, 1, ENTER_GETEVENTS, to);
    println!(
        "empty CQ, enter(0,1,GETEVENTS,30ms) = {rc} after {}ms, cq_ready={}",
        t.elapsed().as_millis(),
        h.cq_ready(a)
    );
    h.push_sqe(a, nop(1)).unwrap();
    h.push_sqe(a, nop(2)).unwrap();
    assert_eq!(h.enter(T0, a, 2, 0, 0, to), 2);
    let t = Instant::now();
    let rc = h.enter(T0, a, 0, 5, ENTER_GETEVENTS, to);
    println!(
        "2 CQEs ready, enter(0,5,GETEVENTS,30ms) = {rc} after {}ms, cq_ready={}",
        t.elapsed().as_millis(),
        h.cq_ready(a)
    );
    h.reap(a, 16);
    h.push_sqe(a, nop(3)).unwrap();
    h.push_sqe(a, nop(4)).unwrap();
    let t = Instant::now();
    let rc = h.enter(T0, a, 2, 5, ENTER_GETEVENTS, to);
    println!(
        "submit 2 NOPs + wait 5, enter(2,5,GETEVENTS,30ms) = {rc} after {}ms, cq_ready={}",
        t.elapsed().as_millis(),
        h.cq_ready(a)
    );
    h.reap(a, 16);
    h.push_sqe(a, msg_data(a.0, 0, 9, 5)).unwrap();
    let t = Instant::now();
    let rc = h.enter(T0, a, 1, 3, ENTER_GETEVENTS, to);
    println!(
        "submit MSG_DATA to self + wait 3 = {rc} after {}ms, cq_ready={}",
        t.elapsed().as_millis(),
        h.cq_ready(a)
    );
    h.reap(a, 16);
    let t = Instant::now();
    let rc = h.enter(T0, a, 0, 1, ENTER_GETEVENTS, Duration::ZERO);
    println!(
        "empty CQ, timeout 0: {rc} after {}us",
        t.elapsed().as_micros()
    );
    // DEFER ring, 2 ready + 0 pending work, min 5
    let t1 = h.spawn_task().unwrap();
    let d = h
        .setup_ring(t1, 8, 0, SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN)
        .unwrap();
    h.push_sqe(d, nop(1)).unwrap();
    h.push_sqe(d, nop(2)).unwrap();
    h.enter(t1, d, 2, 0, 0, to);
    let t = Instant::now();
    let rc = h.enter(t1, d, 0, 5, ENTER_GETEVENTS, to);
    println!(
        "DEFER 2 ready, enter(0,5,GETEVENTS,30ms) = {rc} after {}ms, cq_ready={}",
        t.elapsed().as_millis(),
        h.cq_ready(d)
    );
}
