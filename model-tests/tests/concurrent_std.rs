//! The concurrent layer on plain std threads (loom-free builds): every run must refine
//! the sequential model. Under `--cfg loom` these live in loom_*.rs instead.
#![cfg(not(loom))]

use msgring::concurrent::{Op, RingSpec, Scenario};
use msgring::DestSlot;

#[test]
fn cross_messaging_on_std_threads_refines_the_sequential_model() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().cq(2).files(1, 0));
    let b = sc.ring(RingSpec::iopoll().files(0, 2));
    let c = sc.ring(RingSpec::defer_taskrun().files(0, 1));
    sc.program(
        a,
        vec![Op::data(b, 1), Op::send_fd(c, 0, DestSlot::Alloc), Op::Reap],
    );
    sc.program(
        b,
        vec![
            Op::data(a, 2),
            Op::Nop,
            Op::Wait { min_complete: 0 },
            Op::Reap,
        ],
    );
    sc.program(
        c,
        vec![Op::data(a, 3), Op::Wait { min_complete: 1 }, Op::Reap],
    );
    sc.explore(200);
}

#[test]
fn async_fd_swap_on_std_threads() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().files(1, 1));
    let b = sc.ring(RingSpec::plain().files(1, 1));
    sc.program(
        a,
        vec![
            Op::send_fd(b, 0, DestSlot::Index(1)).asynchronous(),
            Op::Reap,
        ],
    );
    sc.program(
        b,
        vec![
            Op::send_fd(a, 0, DestSlot::Index(1)).asynchronous(),
            Op::Reap,
        ],
    );
    sc.explore(200);
}

#[test]
fn sequential_outcomes_cover_each_serialization() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::plain().cq(1));
    sc.program(a, vec![Op::data(b, 1), Op::data(b, 2)]);
    sc.program(b, vec![Op::Reap]);
    assert_eq!(sc.serializations().len(), 3);
    let outs = sc.sequential_outcomes();
    // When a CQE is reaped is not part of the outcome (only the per-ring sequence is),
    // so all three serializations look the same.
    assert_eq!(outs.len(), 1);
}
