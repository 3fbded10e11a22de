//! Parser/printer round trips, parser robustness and generator checks.

use super::*;
use crate::World;
use proptest::prelude::*;

fn round_trip(t: &Trace) {
    let text = t.to_string();
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, t, "\n{text}");
}

/// A trace with every generated step annotated with its model outcome.
fn annotated(seed: u64, steps: usize) -> Trace {
    let mut t = gen(seed, steps);
    let out = run(&t, &mut World::default());
    for (s, e) in t.steps.iter_mut().zip(out.events) {
        s.expect = Some(e);
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parse_print_round_trips(seed in any::<u64>(), steps in 0usize..60) {
        round_trip(&gen(seed, steps));
        round_trip(&annotated(seed, steps));
    }

    #[test]
    fn generated_traces_match_their_own_outcome(seed in any::<u64>(), steps in 0usize..60) {
        let t = annotated(seed, steps);
        let out = run(&t, &mut World::default());
        prop_assert!(check_annotations(&t, &out).is_empty());
    }

    /// A generated trace runs the same steps, with the same results, as the trace it
    /// spells out.
    #[test]
    fn generated_steps_run_as_their_trace(seed in any::<u64>(), steps in 0usize..60) {
        let g = generate_steps(&mut SplitMix(seed), steps);
        let t = g.to_trace();
        prop_assert_eq!(&t, &gen(seed, steps));
        let mut a = Vec::new();
        run_with(&t, &mut World::default(), |i, s, r| a.push((i, s.clone(), r.clone())));
        let mut b = Vec::new();
        g.run_with(&mut World::default(), |i, s, r| b.push((i, s.clone(), r.clone())));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn parser_never_panics_on_garbage(s in "\\PC*") {
        let _ = parse(&s);
        let _ = parse(&format!("msgring-trace 1\n{s}"));
    }

    #[test]
    fn parser_never_panics_on_mutated_traces(seed in any::<u64>(), cut in any::<usize>(), byte in any::<u8>()) {
        let text = annotated(seed, 20).to_string();
        let mut b = text.into_bytes();
        if !b.is_empty() {
            let i = cut % b.len();
            b[i] = byte;
            b.truncate(i + 1 + (cut % 7));
        }
        let _ = parse(&String::from_utf8_lossy(&b));
    }
}

#[test]
fn gen_is_deterministic_and_exercises_msg_ring() {
    assert_eq!(gen(7, 50), gen(7, 50));
    let mut msgs = 0;
    let mut useful = 0;
    let mut total = 0;
    for seed in 0..20 {
        let t = gen(seed, 80);
        let out = run(&t, &mut World::default());
        msgs += t
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    &s.op,
                    Op::Push {
                        sqe: SqeSpec::MsgData { .. } | SqeSpec::SendFd { .. },
                        ..
                    }
                )
            })
            .count();
        useful += out
            .events
            .iter()
            .filter(|e| !matches!(e, Event::Refused | Event::Unmodelled | Event::Unbound(_)))
            .count();
        total += out.events.len();
    }
    assert!(msgs > 200, "only {msgs} MSG_RING pushes");
    assert!(
        useful * 10 > total * 9,
        "{useful} of {total} steps executed"
    );
}

#[test]
fn errors_name_line_and_column() {
    let e = parse("msgring-trace 1\nsetup r0 entries=4\npush r9 nop()\n").unwrap_err();
    assert_eq!((e.line, e.col), (3, 6));
    assert!(e.message.contains("r9"), "{e}");
    let e = parse("msgring-trace 1\nsetup r0 entries=5000\n").unwrap_err();
    assert!(e.message.contains("limit"), "{e}");
    let e = parse("msgring-trace 2\n").unwrap_err();
    assert!(e.to_string().starts_with("<input>:1:15:"), "{e}");
    let e = parse("setup r0 entries=1\n").unwrap_err();
    assert!(e.message.contains("msgring-trace 1"), "{e}");
}

#[test]
fn failed_creation_binds_nothing() {
    let t = parse("msgring-trace 1\nsetup r0 entries=0\nobserve r0\n").unwrap();
    let out = run(&t, &mut World::default());
    assert_eq!(out.events[0], Event::Ret(-22));
    assert_eq!(out.events[1], Event::Unbound("r0".into()));
}

#[test]
fn comments_and_continuation_lines() {
    let src = "# head\nmsgring-trace 1\n\n# why\nsetup r0 entries=1  # note\n=> bound r0\n# end\n";
    let t = parse(src).unwrap();
    assert_eq!(t.preamble, vec!["# head".to_string()]);
    assert_eq!(t.steps[0].comments, vec![String::new(), "# why".into()]);
    assert_eq!(t.steps[0].note.as_deref(), Some(" note"));
    assert_eq!(t.steps[0].expect, Some(Event::Bound(vec!["r0".into()])));
    round_trip(&t);
}

#[test]
fn choose_clauses_parse_print_and_replay() {
    use crate::choice::ChoicePoint;
    use crate::explain::{explain, Budget, Verdict};
    // Two IOSQE_ASYNC NOPs: io-wq may run them in either order.
    let src = "msgring-trace 1\nsetup r0 entries=4\n\
               push r0 nop() user_data=1 flags=ASYNC\n\
               push r0 nop() user_data=2 flags=ASYNC\n\
               enter r0 to_submit=2 fault nomem=1 => ret 2\n\
               reap r0 => cqes [ud=2 res=0 flags=0; ud=1 res=0 flags=0]\n";
    let mut t = parse(src).unwrap();
    // The default path gives the other order.
    let out = run(&t, &mut World::default());
    assert_eq!(crate::trace::check_annotations(&t, &out).len(), 1, "{out}");
    // `explain` finds the path; as `choose` clauses it prints, parses and replays.
    let observed: Vec<_> = t.steps.iter().map(|s| s.expect.clone()).collect();
    let e = explain(&t, crate::Profile::default(), &observed, Budget::default());
    assert_eq!(e.verdict, Verdict::Agree);
    assert!(e.non_default_points().contains(&ChoicePoint::IowqOrder));
    for (s, c) in t.steps.iter_mut().zip(e.trimmed_path()) {
        s.choose = c;
    }
    let text = t.to_string();
    assert!(
        text.contains(" choose ") && text.contains("iowq_order=1"),
        "{text}"
    );
    assert!(text.contains("fault nomem=1 choose"), "{text}");
    round_trip(&t);
    let out = run(&t, &mut World::default());
    assert!(
        crate::trace::check_annotations(&t, &out).is_empty(),
        "{out}"
    );
    // A clause that does not fit the step is refused, with the reason.
    let bad = parse(&text.replace("iowq_order=1", "settle_order=1")).unwrap();
    let out = run(&bad, &mut World::default());
    assert_eq!(out.events[3], Event::Refused);
    assert!(out.notes[3].as_deref().unwrap().contains("choose"), "{out}");
    // Unknown points are positioned parse errors.
    let e = parse(&text.replace("iowq_order=1", "no_such_point=1")).unwrap_err();
    assert!(e.line == 5 && e.col > 30, "{e}");
    assert!(e.message.contains("iowq_order"), "{e}");
}

#[test]
fn kernel_lines_take_every_release_from_5_18() {
    for (rel, shown) in [
        ("6.2", "6.2"),
        ("6.18.15", "6.18.15"),
        ("7.3", "7.3"),
        ("7.9", "7.9"),
    ] {
        let t = parse(&format!(
            "msgring-trace 1\nkernel {rel}\nsetup r0 entries=1\n"
        ))
        .unwrap();
        let p = t.profile.expect("a kernel line");
        assert_eq!(p.to_string(), shown);
        assert_eq!(p.newer_than_known(), rel == "7.9");
        round_trip(&t);
    }
    for bad in ["5.10", "6", "6.x", "latest"] {
        let e = parse(&format!("msgring-trace 1\nkernel {bad}\n")).unwrap_err();
        assert!(e.to_string().contains(":2:8"), "{bad}: {e}");
    }
}
