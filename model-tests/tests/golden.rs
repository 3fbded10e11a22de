//! Golden traces: every `model-tests/traces/*.trace` runs on the model (taking its
//! `choose` clauses) and all of its `=>` annotations must match. With the
//! `real-backend` feature the same traces also run on the running kernel, and the
//! model must explain the kernel's outcome exactly: some path through its choice
//! points must give every kernel event (the annotations are one such outcome, the
//! kernel may take another legal one). Traces that inject faults are skipped there
//! (the kernel cannot inject them), and so are traces whose `kernel` line names another
//! release: real-backend/qemu/golden.sh runs those on that release's kernel.

use msgring::trace::{self, Trace};
use msgring::{Backend, World};

fn traces() -> Vec<(String, Trace)> {
    msgring_model_tests::traces_in("")
}

/// Runs every trace on a fresh backend; returns one message per mismatch.
fn check_all(mut backend: impl FnMut(&Trace) -> Option<Box<dyn Backend>>) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, t) in traces() {
        let Some(mut b) = backend(&t) else { continue };
        let outcome = trace::run(&t, b.as_mut());
        for m in trace::check_annotations(&t, &outcome) {
            let actual = m.actual.map_or("(no event)".into(), |e| e.to_string());
            failures.push(format!(
                "{name}:{}: on {}\n  expected: {}\n  actual:   {actual}",
                m.line,
                b.name(),
                m.expected
            ));
        }
    }
    failures
}

#[test]
fn there_are_enough_golden_traces() {
    let t = traces();
    assert!(t.len() >= 40, "only {} golden traces", t.len());
    for (name, t) in &t {
        assert!(
            t.steps.iter().any(|s| s.expect.is_some()),
            "{name} has no annotations"
        );
        assert!(!t.preamble.is_empty(), "{name} has no header comment");
    }
}

#[test]
fn golden_traces_match_on_the_model() {
    let failures = check_all(|t| Some(Box::new(World::new(t.profile.unwrap_or_default()))));
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_traces_are_canonical() {
    for (name, t) in traces() {
        let printed = t.to_string();
        let again = trace::parse(&printed).unwrap_or_else(|e| panic!("{name}: reparse: {e}"));
        assert_eq!(again, t, "{name}: parse(print(t)) != t");
    }
}

#[cfg(feature = "real-backend")]
#[test]
fn golden_traces_are_explained_on_the_kernel() {
    use msgring::kernel::{self, KernelBackend};
    if let Err(u) = KernelBackend::new() {
        if std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
            panic!("{u} (MSGRING_REQUIRE_KERNEL=1)");
        }
        eprintln!("!!!!! golden on the kernel SKIPPED: {u} !!!!!");
        return;
    }
    // A trace written for another release (its `kernel` line) is annotated with that
    // release's behaviour: real-backend/qemu/golden.sh runs it on that kernel line.
    let host = kernel::probe()
        .ok()
        .and_then(|i| kernel::kernel_profile(&i).ok());
    let same_release =
        |p: msgring::Profile| host.is_some_and(|h| p == h || p.version() == h.version().to_line());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, t) in traces() {
        if t.steps.iter().any(|s| !s.faults.is_empty()) {
            continue;
        }
        if t.profile.is_some_and(|p| !same_release(p)) {
            continue;
        }
        let mut kb = KernelBackend::new().expect("kernel backend");
        let d = kernel::diff_trace_on(&t, t.profile.unwrap_or_default(), &mut kb);
        checked += 1;
        if !d.agrees() {
            let (line, m, k) = d
                .divergent_events()
                .map(|(i, m, k)| (t.steps[i].line, m.to_string(), k.to_string()))
                .unwrap_or_default();
            failures.push(format!(
                "{name}:{line}: {:?}\n  nearest model path: {m}\n  kernel:             {k}",
                d.verdict
            ));
        }
    }
    assert!(
        checked >= 40,
        "only {checked} golden traces ran on the kernel"
    );
    assert!(
        failures.is_empty(),
        "{} traces the model cannot explain:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
