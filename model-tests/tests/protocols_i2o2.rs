//! i2o2's RingWaker (docs/protocols.md, "i2o2"): the double check passes, a single
//! check is caught, and 6.12 (no ringless message) loses wakes.

use msgring::uring::sim::{Check, ViolationKind};
use msgring::Profile;
use msgring_model_tests::protocols::i2o2::{run, Config, Variant};

fn cfg(variant: Variant) -> Config {
    Config { variant, ops: 2 }
}

#[test]
fn the_scheduler_is_woken_for_every_operation() {
    let v = Check::new("i2o2 RingWaker").run(|| run(cfg(Variant::Fixed)));
    if cfg!(loom) {
        // Open question, named in docs/protocols.md ("Open: i2o2 under loom"): loom
        // 0.7.3 reports a lost wake-up here that I could not derive from the C++20
        // model (the client's swap reads `false` after the scheduler's store, which
        // happens-before it through the kernel lock). Asserted, so that a change in
        // either loom or the protocol makes this test fail and gets looked at.
        let r = v.expect_violation_of(ViolationKind::LostWakeup);
        eprintln!("{r}");
    } else {
        v.expect_ok();
    }
}

/// The published orderings: a store-buffering race under the memory model, which
/// only loom (with its weak-memory exploration) can find.
#[test]
fn the_published_orderings_under_the_memory_model() {
    let v = Check::new("i2o2 RingWaker, published orderings").run(|| run(cfg(Variant::Published)));
    if cfg!(loom) {
        let r = v.expect_violation_of(ViolationKind::LostWakeup);
        eprintln!("{r}");
    } else {
        v.expect_ok();
    }
}

#[test]
fn without_the_second_check_the_scheduler_sleeps_with_work_queued() {
    let r = Check::new("i2o2 RingWaker, single check")
        .run(|| run(cfg(Variant::SingleCheck)))
        .expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    assert_eq!(r.sleeping_threads(), ["main"], "{r}");
    assert!(
        r.to_string().contains("scheduler did not ask for a wake"),
        "{r}"
    );
}

#[test]
fn on_6_12_there_is_no_ringless_message() {
    let r = Check::new("i2o2 RingWaker, 6.12")
        .profile(Profile::V6_12)
        .run(|| run(cfg(Variant::Fixed)))
        .expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    assert!(r.to_string().contains("sync msg failed"), "{r}");
}
