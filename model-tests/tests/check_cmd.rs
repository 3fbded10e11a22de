//! `msgring check` as a test: thousands of generated traces on the model and on the
//! running kernel, every step's event compared; a mismatch that reproduces
//! (`kernel::Finding::fails`: in 3 of 5 re-runs of its minimized trace, with no io-wq
//! work before it) fails the test with the minimized,
//! kernel-annotated traces (ready to become golden traces once the model is fixed).
//! Any other mismatch comes from the kernel's io-wq workers racing each other, task_work
//! or the next step, which the model serializes one way: it is printed, loudly, and
//! counted, but does not fail the test (golden traces hold the io-wq semantics).
//!
//! `cargo test -p msgring-model-tests --features real-backend --test check_cmd`.
//! `MSGRING_CHECK_CASES` overrides the trace count (default 5 000) and
//! `MSGRING_CHECK_SEED` the seed (default 1). When the kernel backend is unavailable
//! the test prints why and passes, unless `MSGRING_REQUIRE_KERNEL=1`, where it fails.
#![cfg(feature = "real-backend")]

use msgring::kernel::{self, Budget, CheckOptions};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn check_generated_traces_agree_with_kernel() {
    let opts = CheckOptions {
        seed: env_u64("MSGRING_CHECK_SEED", 1),
        steps: 40,
        budget: Budget::Count(env_u64("MSGRING_CHECK_CASES", 5_000)),
        minimize_runs: 150,
        // The kernel side mostly waits: two threads per CPU (as `msgring check`).
        jobs: std::thread::available_parallelism().map_or(2, |n| 2 * n.get()),
        trace_budget: None,
    };
    let report = match kernel::check(&opts, &mut |_, _| {}) {
        Ok(r) => r,
        Err(u) => {
            if std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
                panic!("{u} (MSGRING_REQUIRE_KERNEL=1)");
            }
            eprintln!("!!!!! check_cmd: SKIPPED: {u} !!!!!");
            return;
        }
    };
    let s = &report.stats;
    eprintln!(
        "check: {} traces, {} steps compared, {} skipped, {} mismatches, {:.0} traces/s, seed {}",
        s.traces,
        s.compared,
        s.skipped,
        s.mismatches,
        s.traces_per_second(),
        report.seed
    );
    let (reproducible, racy): (Vec<_>, Vec<_>) = report.findings.iter().partition(|f| f.fails());
    for f in &racy {
        eprintln!(
            "!!!!! check_cmd: mismatch that does not reproduce reliably (reproduces {}/{}, io-wq before it: {}), not failing: {} (trace {}, seed {:#x})",
            f.reproduced,
            kernel::REPRODUCE_RUNS,
            f.iowq_before,
            f.signature,
            f.index,
            f.trace_seed
        );
    }
    let found: Vec<String> = reproducible
        .iter()
        .map(|f| {
            format!(
                "{} (trace {}, {} traces with this signature, reproduces {}/{}):\n{}",
                f.signature,
                f.index,
                f.count,
                f.reproduced,
                kernel::REPRODUCE_RUNS,
                f.trace
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} of {} traces diverge ({} distinct); minimized:\n\n{}",
        s.mismatches,
        s.traces,
        found.len(),
        found.join("\n")
    );
    assert!(s.compared > s.traces, "hardly anything was compared");
}
