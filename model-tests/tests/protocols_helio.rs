//! helio's WakeRing (docs/protocols.md, "helio"): flushing the SQ on wake passes, a
//! lazily staged wake is caught.

use msgring::uring::sim::{Check, ViolationKind};
use msgring_model_tests::protocols::helio::{run, Variant};

#[test]
fn flushing_the_sq_when_waking_wakes_the_other_proactor() {
    Check::new("helio WakeRing, submit_on_wake (PR #448)")
        .run(|| run(Variant::FlushOnWake))
        .expect_ok();
}

#[test]
fn a_staged_wake_that_is_never_submitted_is_no_wake() {
    let r = Check::new("helio WakeRing, lazy wake")
        .run(|| run(Variant::Lazy))
        .expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    let mut sleeping = r.sleeping_threads();
    sleeping.sort_unstable();
    assert_eq!(sleeping, ["main", "proactor 1"], "{r}");
    // The wake is still in proactor 0's SQ.
    let p0 = r.ring("proactor 0").expect("proactor 0's ring");
    assert_eq!(p0.sq.len(), 1, "{r}");
    assert!(r.to_string().contains("staged"), "{r}");
}
