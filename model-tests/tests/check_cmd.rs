//! `msgring check` as a test: thousands of generated traces on the running kernel,
//! each checked exactly against the model (some path through its choice points must
//! give every kernel event). Any trace the model cannot explain, or whose search runs
//! out of budget, fails the test with the minimized, kernel-annotated traces (ready to
//! become golden traces once the model is fixed). No reruns decide anything.
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
        evidence: false,
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
        "check: {} traces, {} steps compared, {} skipped, {} agree, {} diverge, {} unknown, choices {:?}, {:.0} traces/s, seed {}",
        s.traces,
        s.compared,
        s.skipped,
        s.agree,
        s.diverge,
        s.unknown,
        s.choices,
        s.traces_per_second(),
        report.seed
    );
    let found: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.fails())
        .map(|f| {
            format!(
                "{} (trace {}, {} traces with this signature, diverged again in {}/{} re-runs):\n{}",
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
        "{} of {} traces diverge and {} are unknown ({} distinct); minimized:\n\n{}",
        s.diverge,
        s.traces,
        s.unknown,
        found.len(),
        found.join("\n")
    );
    assert_eq!(s.agree, s.traces, "every trace is explained");
    assert!(s.compared > s.traces, "hardly anything was compared");
}
