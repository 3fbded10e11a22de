//! `msgring run FILE... [--kernel P] [--quiet] [--bless]`.

use super::{err, json, load, Code, Out};
use msgring::trace::{self, Event, Mismatch, Trace};
use msgring::{Backend, Profile, World};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<String>,
    /// Kernel release of the model, 5.18 or later (6.1, 6.18.15, 7.3, ...; default: the
    /// trace's `kernel` line, else 6.18).
    #[arg(long, value_parser = |s: &str| s.parse::<Profile>())]
    kernel: Option<Profile>,
    /// Print only mismatches and the summary.
    #[arg(long, short)]
    quiet: bool,
    /// Rewrite each file with the model's outcome as its annotations. Check the values
    /// against the kernel before committing them.
    #[arg(long)]
    bless: bool,
}

/// What one file's run counted.
#[derive(Default)]
struct Counts {
    steps: usize,
    annotations: usize,
    mismatches: usize,
}

/// Runs one trace on `backend`, printing each step as it happens (events are not
/// kept, unless `--bless` needs them).
fn run_one(
    path: &str,
    t: &Trace,
    backend: &mut dyn Backend,
    a: &Args,
    json_out: bool,
    out: &mut Out,
) -> (Code, Counts) {
    let name = backend.name();
    let mut counts = Counts {
        steps: t.steps.len(),
        annotations: t.steps.iter().filter(|s| s.expect.is_some()).count(),
        mismatches: 0,
    };
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut blessed: Vec<Event> = Vec::new();
    trace::run_streaming(t, backend, |i, e, n| {
        let s = &t.steps[i];
        if json_out {
            let mut step = s.clone();
            step.expect = None;
            out.json(&json::object(
                "step",
                [
                    ("file", path.into()),
                    ("line", s.line.into()),
                    ("index", i.into()),
                    ("op", s.op.keyword().into()),
                    ("step", step.code().into()),
                    ("event", json::event(&e)),
                    ("note", n.clone().map_or(Value::Null, Value::from)),
                ],
            ));
        } else if !a.quiet {
            let note = n.as_ref().map(|n| format!("  ({n})")).unwrap_or_default();
            out.line(&format!("{path}:{}: {} => {e}{note}", s.line, s.op));
        }
        if let Some(expected) = &s.expect {
            if *expected != e {
                mismatches.push(Mismatch {
                    step: i,
                    line: s.line,
                    expected: expected.clone(),
                    actual: Some(e.clone()),
                });
            }
        }
        if a.bless {
            blessed.push(e);
        }
    });
    counts.mismatches = mismatches.len();
    for m in &mismatches {
        if json_out {
            out.json(&json::mismatch(path, m));
        } else {
            let actual = m
                .actual
                .as_ref()
                .map_or("(no event)".into(), |e| e.to_string());
            out.line(&format!(
                "{path}:{}: MISMATCH\n  expected: {}\n  actual:   {actual}",
                m.line, m.expected
            ));
        }
    }
    if json_out {
        out.json(&json::object(
            "file",
            [
                ("file", path.into()),
                ("backend", name.into()),
                ("steps", counts.steps.into()),
                ("annotations", counts.annotations.into()),
                ("mismatches", counts.mismatches.into()),
            ],
        ));
    } else {
        out.line(&format!(
            "{path}: {} steps on {name}, {} annotations, {} mismatches",
            counts.steps, counts.annotations, counts.mismatches
        ));
    }
    if a.bless {
        let mut b = t.clone();
        for (s, e) in b.steps.iter_mut().zip(blessed) {
            if s.expect.is_some() || !matches!(e, Event::Bound(_)) {
                s.expect = Some(e);
            }
        }
        if let Err(e) = std::fs::write(path, b.to_string()) {
            err(&format!("msgring: {path}: {e}"));
            return (Code::BadInput, counts);
        }
        return (Code::Ok, counts);
    }
    let code = if mismatches.is_empty() {
        Code::Ok
    } else {
        Code::Mismatch
    };
    (code, counts)
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let mut code = Code::Ok;
    let (mut steps, mut mismatches, mut errors) = (0usize, 0usize, 0usize);
    for path in &a.files {
        let Some((_, t)) = load(path, json_out, out) else {
            code = code.max(Code::BadInput);
            errors += 1;
            continue;
        };
        let profile = a.kernel.or(t.profile).unwrap_or_default();
        if let Some(w) = profile.newer_warning() {
            super::err(&format!("{path}: {w}"));
        }
        let mut world = World::new(profile);
        let (c, counts) = run_one(path, &t, &mut world, a, json_out, out);
        code = code.max(c);
        steps += counts.steps;
        mismatches += counts.mismatches;
    }
    if json_out {
        out.summary(
            "run",
            code,
            [
                ("files", a.files.len().into()),
                ("steps", steps.into()),
                ("mismatches", mismatches.into()),
                ("errors", errors.into()),
            ],
        );
    }
    code
}
