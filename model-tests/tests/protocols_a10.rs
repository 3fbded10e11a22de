//! a10's ring waker (docs/protocols.md, "a10"): the fixed protocol passes, the two
//! historical bugs are caught, and the SINGLE_ISSUER path needs 6.13+.

use msgring::uring::sim::{Check, ViolationKind};
use msgring::Profile;
use msgring_model_tests::protocols::a10::{run, Config, Variant};

fn cfg(variant: Variant, single_issuer: bool) -> Config {
    Config {
        variant,
        single_issuer,
        tasks: 2,
    }
}

#[test]
fn polling_state_wakes_the_runtime() {
    Check::new("a10 PollingState")
        .run(|| run(cfg(Variant::Fixed, false)))
        .expect_ok();
}

#[test]
fn polling_state_with_single_issuer_uses_the_ringless_message() {
    Check::new("a10 PollingState, SINGLE_ISSUER")
        .run(|| run(cfg(Variant::Fixed, true)))
        .expect_ok();
}

#[test]
fn the_is_polling_bool_loses_a_wake_up() {
    let r = Check::new("a10 is_polling bool (before 085fc02)")
        .run(|| run(cfg(Variant::PollingBool, false)))
        .expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    assert_eq!(r.sleeping_threads(), ["main"], "{r}");
    assert!(
        r.to_string().contains("wake: not polling, no message"),
        "{r}"
    );
}

#[test]
fn submitting_from_the_waker_on_a_single_issuer_ring_loses_the_wake() {
    let r = Check::new("a10 waker submits on a SINGLE_ISSUER ring (before PR #261)")
        .run(|| run(cfg(Variant::SubmitFromWaker, true)))
        .expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    let text = r.to_string();
    assert!(text.contains("-EEXIST"), "{text}");
    // The wake SQE is still in the SQ, never submitted.
    assert!(
        !r.ring("a10 ring").expect("the ring").sq.is_empty(),
        "{text}"
    );
}

#[test]
fn on_6_12_the_ringless_message_is_missing_and_the_wake_is_lost() {
    let r = Check::new("a10 PollingState, SINGLE_ISSUER, 6.12")
        .profile(Profile::V6_12)
        .run(|| run(cfg(Variant::Fixed, true)))
        .expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    assert!(
        r.to_string().contains("sync msg failed") || r.to_string().contains("wake failed"),
        "{r}"
    );
}
