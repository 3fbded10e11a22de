//! The checker has teeth: each re-injected historical bug makes loom fail.
#![cfg(loom)]

use msgring::concurrent::{Mutation, Op, RingSpec, Scenario};
use msgring::DestSlot;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Explores `sc` and returns the failure message loom reported (panics if none).
fn fails(sc: Scenario) -> String {
    let r = catch_unwind(AssertUnwindSafe(|| sc.explore(1)));
    let err = r.expect_err("loom found no failure: the mutation went unnoticed");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn iopoll_scenario() -> Scenario {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::iopoll().cq(2));
    sc.program(a, vec![Op::data(b, 1)]);
    sc.program(b, vec![Op::Nop]);
    sc
}

#[test]
fn b3_iopoll_target_posted_without_its_uring_lock_loses_a_cqe() {
    iopoll_scenario().explore(1);
    let msg = fails(iopoll_scenario().with_mutation(Mutation::B3IopollNoLock));
    assert!(
        msg.contains("refinement") || msg.contains("invariant"),
        "{msg}"
    );
}

fn overflow_scenario() -> Scenario {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::plain().cq(1));
    let c = sc.ring(RingSpec::plain());
    sc.program(a, vec![Op::data(b, 1), Op::data(b, 2)]);
    sc.program(c, vec![Op::data(b, 3)]);
    sc
}

#[test]
fn b12_overflow_append_without_completion_lock_loses_an_entry() {
    overflow_scenario().explore(1);
    let msg = fails(overflow_scenario().with_mutation(Mutation::B12OverflowNoLock));
    assert!(
        msg.contains("refinement") || msg.contains("invariant"),
        "{msg}"
    );
}

fn swap_scenario() -> Scenario {
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
    sc
}

#[test]
fn b15_double_locking_in_io_wq_deadlocks() {
    swap_scenario().explore(1);
    // loom aborts the process while unwinding out of a deadlock (a panic in a
    // destructor), so the mutated run happens in a child test process.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["b15_child", "--exact", "--ignored", "--nocapture"])
        .output()
        .expect("run the child test");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the B15 mutation did not fail:\n{text}"
    );
    assert!(
        text.contains("deadlock"),
        "loom did not report a deadlock:\n{text}"
    );
}

/// The mutated B15 run (started by `b15_double_locking_in_io_wq_deadlocks`).
#[test]
#[ignore = "run by b15_double_locking_in_io_wq_deadlocks in a child process"]
fn b15_child() {
    swap_scenario()
        .with_mutation(Mutation::B15DoubleLock)
        .explore(1);
}

fn publish_scenario() -> Scenario {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain());
    let b = sc.ring(RingSpec::plain());
    sc.program(a, vec![Op::data(b, 1)]);
    sc.program(b, vec![Op::Reap]);
    sc
}

#[test]
fn cq_tail_published_relaxed_lets_userspace_read_a_stale_cqe() {
    publish_scenario().explore(1);
    let msg = fails(publish_scenario().with_mutation(Mutation::CqTailRelaxed));
    assert!(
        msg.contains("invariant") || msg.contains("refinement"),
        "{msg}"
    );
}
