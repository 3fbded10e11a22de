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
    Check::new("i2o2 RingWaker")
        .run(|| run(cfg(Variant::Fixed)))
        .expect_ok();
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
