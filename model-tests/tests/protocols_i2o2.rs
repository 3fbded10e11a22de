//! i2o2's RingWaker (docs/protocols.md, "i2o2"): the double check passes, a single
//! check is caught, the published orderings lose a wake under the memory model (loom),
//! and 6.12 (no ringless message) loses wakes.
//!
//! Under loom these checks need a loom that keeps RMW atomicity: run them through
//! `.ci/loom/cargo` (tests/loom_rmw_atomicity.rs says why and fails on a loom without it).

use msgring::uring::sim::{Check, Report, ViolationKind};
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

/// Index of the first schedule line at or after `from` that contains `text`.
fn line(r: &Report, from: usize, text: &str) -> usize {
    r.schedule
        .iter()
        .skip(from)
        .position(|l| l.contains(text))
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no schedule line with {text:?} after line {from}:\n{r}"))
}

/// The published orderings: a store-buffering race under the memory model, which
/// only loom (with its weak-memory exploration) can find. One operation is enough:
/// with two, the race on the second needs a third preemption (the scheduler must first
/// see the first operation), beyond the CI's bound of 2.
#[test]
fn the_published_orderings_under_the_memory_model() {
    let v = Check::new("i2o2 RingWaker, published orderings").run(|| {
        run(Config {
            variant: Variant::Published,
            ops: 1,
        })
    });
    if !cfg!(loom) {
        v.expect_ok();
        return;
    }
    let r = v.expect_violation_of(ViolationKind::LostWakeup);
    eprintln!("{r}");
    assert_eq!(r.sleeping_threads(), ["main"], "{r}");
    // The execution is not sequentially consistent. The client queued before the
    // scheduler asked for a wake, and each side then missed the other: the scheduler's
    // check after asking read the counter unchanged (0 -> 0), and the client's swap
    // read no request. In any interleaving, either the swap comes before the
    // scheduler's store, and then so does the increment before it, which the later
    // load would read; or after, and the swap reads `true`. Only the memory model
    // allows both (the increment is Release and the load Acquire: not SeqCst).
    let queued = line(&r, 0, "client: (queued 0)");
    let asked = line(&r, queued, "main: (asks for a wake)");
    line(
        &r,
        asked,
        "main: (work counter 0 -> 0: outstanding work false)",
    );
    line(&r, queued, "client: (scheduler did not ask for a wake)");
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
