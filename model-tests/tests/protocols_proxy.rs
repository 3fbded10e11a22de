//! liburing examples/proxy.c's fd hand-off and stop broadcast (docs/protocols.md,
//! "proxy"): the fixed order passes, meeting the barrier before the table exists is
//! caught.

use msgring::uring::sim::{Check, ViolationKind};
use msgring_model_tests::protocols::proxy::{accept_completion, run, Config, Variant};

/// Two connections on std threads and shuttle; one under loom (two put 3 threads and
/// ~10^5 interleavings in a single check at preemption bound 2: 234 s).
fn cfg(variant: Variant, defer: bool) -> Config {
    Config {
        variant,
        connections: if cfg!(loom) { 1 } else { 2 },
        defer,
    }
}

#[test]
fn every_connection_is_installed_once_and_released() {
    Check::new("proxy fd pass + stop")
        .external(accept_completion)
        .run(|| run(cfg(Variant::Fixed, false)))
        .expect_ok();
}

#[test]
fn with_defer_taskrun_threads_too() {
    Check::new("proxy fd pass + stop, DEFER_TASKRUN")
        .external(accept_completion)
        .run(|| run(cfg(Variant::Fixed, true)))
        .expect_ok();
}

#[test]
fn a_barrier_before_the_table_loses_the_connection() {
    let r = Check::new("proxy, barrier before the file table")
        .external(accept_completion)
        .run(|| run(cfg(Variant::EarlyBarrier, false)))
        .expect_violation_of(ViolationKind::Property);
    eprintln!("{r}");
    assert!(r.message.contains("each should get exactly one"), "{r}");
    assert!(r.to_string().contains("-ENXIO"), "{r}");
}

#[test]
fn without_external_completion_the_accept_is_refused() {
    let r = Check::new("proxy without external completion")
        .runs(1)
        .quiet()
        .run(|| run(cfg(Variant::Fixed, false)))
        .expect_violation_of(ViolationKind::Failed);
    eprintln!("{r}");
    assert!(r.message.contains("not implement"), "{r}");
}

/// Item 4 of issue 13: a bug only the kernel's choices show. With both requests
/// punted to io-wq in one submit, io-wq may run STOP first (choice point iowq_order).
#[test]
fn stop_and_hand_off_punted_together_may_run_in_either_order() {
    let v = Check::new("proxy, hand-off and stop punted together")
        .external(accept_completion)
        .run(|| {
            run(Config {
                variant: Variant::AsyncBatch,
                connections: 1,
                defer: false,
            })
        });
    assert!(
        v.choice_paths > 1,
        "the checker took the kernel's choices: {v}"
    );
    let r = v.expect_violation_of(ViolationKind::Property);
    eprintln!("{r}");
    assert!(r.to_string().contains("iowq_order=1"), "{r}");
}
