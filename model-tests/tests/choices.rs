//! The model's choice points, each held by a recorded kernel history that needs it.
//!
//! Every `model-tests/traces/choices/*.trace` is a trace `msgring check --evidence` wrote
//! on a real kernel: its `=>` annotations are what the kernel did, its `choose` clauses
//! the path through the model's choice points that explains it. For each file:
//!
//! - replayed with its `choose` clauses, the model gives every annotation;
//! - the exact check (`msgring::explain`) finds a path for the annotations on its own;
//! - with any choice point the file leaves the default at switched off
//!   (`World::set_choice_point`), no path explains it: the point is needed, and
//!   removing it from the model fails this test;
//! - on the running kernel (feature `real-backend`), the model explains whatever the
//!   kernel does this time.

use msgring::explain::{explain_from, Budget, Verdict};
use msgring::trace::{self, Event, Trace};
use msgring::{ChoicePoint, World};
use std::path::PathBuf;

fn evidence() -> Vec<(String, Trace)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces/choices");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("model-tests/traces/choices exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = format!("choices/{}", p.file_name().unwrap().to_string_lossy());
            let src = std::fs::read_to_string(&p).expect("readable trace");
            let t = trace::parse_file(&name, &src).unwrap_or_else(|e| panic!("{e}"));
            (name, t)
        })
        .collect()
}

fn annotations(t: &Trace) -> Vec<Option<Event>> {
    t.steps.iter().map(|s| s.expect.clone()).collect()
}

/// The points where the file's `choose` clauses leave the default.
fn used_points(t: &Trace) -> Vec<ChoicePoint> {
    let mut v: Vec<ChoicePoint> = t
        .steps
        .iter()
        .flat_map(|s| &s.choose)
        .filter(|c| c.option != 0)
        .map(|c| c.point)
        .collect();
    v.sort();
    v.dedup();
    v
}

fn start(t: &Trace) -> World {
    World::new(t.profile.unwrap_or_default())
}

#[test]
fn every_choice_point_has_a_kernel_history_that_needs_it() {
    let files = evidence();
    let mut covered: Vec<ChoicePoint> = files.iter().flat_map(|(_, t)| used_points(t)).collect();
    covered.sort();
    covered.dedup();
    assert_eq!(covered, ChoicePoint::ALL, "points without evidence");
}

#[test]
fn evidence_replays_with_its_choose_clauses() {
    for (name, t) in evidence() {
        let out = trace::run(&t, &mut start(&t));
        let m = trace::check_annotations(&t, &out);
        assert!(m.is_empty(), "{name}: {}", m[0]);
        assert!(
            !used_points(&t).is_empty(),
            "{name} takes no non-default choice"
        );
    }
}

#[test]
fn evidence_is_explained_by_the_search() {
    for (name, t) in evidence() {
        let e = explain_from(&start(&t), &t, &annotations(&t), Budget::default());
        assert_eq!(e.verdict, Verdict::Agree, "{name}");
    }
}

/// The test with teeth: without the point, the kernel's history is not explained.
#[test]
fn evidence_is_not_explained_without_its_choice_points() {
    for (name, t) in evidence() {
        for p in used_points(&t) {
            let mut w = start(&t);
            w.set_choice_point(p, false);
            let e = explain_from(&w, &t, &annotations(&t), Budget::default());
            assert!(
                matches!(e.verdict, Verdict::Diverge { .. }),
                "{name}: explained without `{p}` ({:?}): not evidence for it",
                e.verdict
            );
        }
    }
}

#[cfg(feature = "real-backend")]
#[test]
fn evidence_is_explained_on_the_kernel() {
    use msgring::kernel::{self, KernelBackend};
    if let Err(u) = KernelBackend::new() {
        if std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
            panic!("{u} (MSGRING_REQUIRE_KERNEL=1)");
        }
        eprintln!("!!!!! choices on the kernel SKIPPED: {u} !!!!!");
        return;
    }
    for (name, t) in evidence() {
        let mut kb = KernelBackend::new().expect("kernel backend");
        let d = kernel::diff_trace_on(&t, t.profile.unwrap_or_default(), &mut kb);
        assert!(
            d.agrees(),
            "{name}: {:?} at {:?}",
            d.verdict,
            d.divergent_events()
        );
    }
}
