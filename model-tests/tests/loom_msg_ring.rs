//! Loom exploration of rings messaging each other (issue 5). Compiled only with
//! `RUSTFLAGS="--cfg loom"`; see docs/loom.md for the command and its run time.
//!
//! Every test is a [`Scenario`]: each interleaving loom generates must satisfy the
//! invariants (exactly-once delivery or a source error, per-sender FIFO, no CQE twice,
//! balanced file references, no deadlock) and refine the sequential `World`.
#![cfg(loom)]

use msgring::concurrent::{Op, RingSpec, Scenario};
use msgring::DestSlot;

#[test]
fn data_both_ways_and_to_self_while_reaping() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().cq(2));
    let b = sc.ring(RingSpec::plain().cq(2));
    sc.program(a, vec![Op::data(b, 1), Op::data(a, 2), Op::Reap]);
    sc.program(b, vec![Op::data(a, 3), Op::Reap]);
    sc.explore(1);
}

#[test]
fn data_into_a_tiny_iopoll_cq_while_its_owner_submits() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::iopoll().cq(1));
    sc.program(a, vec![Op::data(b, 1), Op::data(b, 2)]);
    sc.program(b, vec![Op::Nop, Op::Wait { min_complete: 0 }, Op::Reap]);
    sc.explore(1);
}

#[test]
fn two_senders_overflow_a_plain_cq_of_one() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::plain().cq(1));
    let c = sc.ring(RingSpec::plain());
    sc.program(a, vec![Op::data(b, 1), Op::data(b, 2)]);
    sc.program(c, vec![Op::data(b, 3)]);
    sc.program(b, vec![Op::Wait { min_complete: 0 }]);
    sc.explore(1);
}

#[test]
fn data_to_a_defer_taskrun_owner_asleep_in_getevents() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::defer_taskrun().cq(1));
    sc.program(a, vec![Op::data(b, 1), Op::data(b, 2)]);
    sc.program(b, vec![Op::Wait { min_complete: 1 }, Op::Reap]);
    sc.explore(1);
}

#[test]
fn send_fd_both_ways_inline_trylock_contention() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().files(1, 1));
    let b = sc.ring(RingSpec::plain().files(1, 1));
    sc.program(a, vec![Op::send_fd(b, 0, DestSlot::Alloc), Op::Reap]);
    sc.program(b, vec![Op::send_fd(a, 0, DestSlot::Alloc)]);
    sc.explore(1);
}

#[test]
fn send_fd_both_ways_from_io_wq() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().files(1, 1));
    let b = sc.ring(RingSpec::plain().files(1, 1));
    sc.program(
        a,
        vec![Op::send_fd(b, 0, DestSlot::Index(1)).asynchronous()],
    );
    sc.program(
        b,
        vec![Op::send_fd(a, 0, DestSlot::Index(1)).asynchronous()],
    );
    sc.explore(1);
}

#[test]
fn two_senders_race_for_one_alloc_slot() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().files(1, 0));
    let b = sc.ring(RingSpec::plain().files(0, 1));
    let c = sc.ring(RingSpec::plain().files(1, 0));
    sc.program(a, vec![Op::send_fd(b, 0, DestSlot::Alloc)]);
    sc.program(c, vec![Op::send_fd(b, 0, DestSlot::Alloc)]);
    sc.explore(1);
}

#[test]
fn send_fd_to_a_defer_taskrun_owner_that_exits() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().files(1, 0));
    let b = sc.ring(RingSpec::defer_taskrun().files(0, 1));
    sc.program(
        a,
        vec![Op::send_fd(b, 0, DestSlot::Index(0)), Op::data(b, 7)],
    );
    sc.program(b, vec![Op::Exit]);
    sc.explore(1);
}

#[test]
fn defer_taskrun_ring_sends_to_itself_and_to_a_peer() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::defer_taskrun().cq(1));
    let b = sc.ring(RingSpec::plain().cq(1));
    sc.program(
        a,
        vec![Op::data(a, 1), Op::data(b, 2), Op::Wait { min_complete: 1 }],
    );
    sc.program(b, vec![Op::data(a, 3), Op::Reap]);
    sc.explore(1);
}

#[test]
fn three_rings_plain_iopoll_defer_cross_messaging() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().cq(1).files(1, 0));
    let b = sc.ring(RingSpec::iopoll().cq(1));
    let c = sc.ring(RingSpec::defer_taskrun().cq(1).files(0, 1));
    sc.program(a, vec![Op::data(b, 1), Op::send_fd(c, 0, DestSlot::Alloc)]);
    sc.program(b, vec![Op::data(a, 2), Op::Wait { min_complete: 0 }]);
    sc.program(c, vec![Op::data(a, 3), Op::Wait { min_complete: 1 }]);
    assert!(sc.explore(1) > 1);
}

#[test]
fn three_senders_into_one_defer_taskrun_cq_of_one() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::plain());
    let t = sc.ring(RingSpec::defer_taskrun().cq(1));
    sc.program(a, vec![Op::data(t, 1), Op::data(t, 2)]);
    sc.program(b, vec![Op::data(t, 3).asynchronous()]);
    sc.program(
        t,
        vec![Op::data(t, 4), Op::Wait { min_complete: 1 }, Op::Reap],
    );
    assert!(sc.explore(1) > 1);
}
