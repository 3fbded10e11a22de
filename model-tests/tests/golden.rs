//! Golden traces: every `model-tests/traces/*.trace` runs on the model and all of its
//! `=>` annotations must match. With the `real-backend` feature the same traces also
//! run on the running kernel (traces that inject faults are skipped there: the kernel
//! cannot inject them, and so are traces whose `kernel` line names another release:
//! real-backend/qemu/golden.sh runs those on that release's kernel).

use msgring::trace::{self, Trace};
use msgring::{Backend, World};
use std::path::PathBuf;

fn traces() -> Vec<(String, Trace)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("model-tests/traces exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = format!(
                "model-tests/traces/{}",
                p.file_name().unwrap().to_string_lossy()
            );
            let src = std::fs::read_to_string(&p).expect("readable trace");
            let t = trace::parse_file(&name, &src).unwrap_or_else(|e| panic!("{e}"));
            (name, t)
        })
        .collect()
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
fn golden_traces_match_on_the_kernel() {
    use msgring::kernel::KernelBackend;
    if KernelBackend::new().is_err() {
        eprintln!("io_uring unavailable: skipping");
        return;
    }
    // A trace written for another release (its `kernel` line) is annotated with that
    // release's behaviour: real-backend/qemu/golden.sh runs it on that kernel line.
    let host = msgring::kernel::probe()
        .ok()
        .and_then(|i| msgring::kernel::kernel_profile(&i).ok());
    let same_release =
        |p: msgring::Profile| host.is_some_and(|h| p == h || p.version() == h.version().to_line());
    let failures = check_all(|t| {
        if t.steps.iter().any(|s| !s.faults.is_empty()) {
            return None;
        }
        if t.profile.is_some_and(|p| !same_release(p)) {
            return None;
        }
        KernelBackend::new()
            .ok()
            .map(|b| Box::new(b) as Box<dyn Backend>)
    });
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
