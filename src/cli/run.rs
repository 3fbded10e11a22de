//! `msgring run FILE... [--kernel P] [--quiet] [--bless]`.

use super::{err, load, Code, Out};
use msgring::trace::{self, Event, Mismatch, Outcome, Trace};
use msgring::{Backend, Profile, World};

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

#[cfg_attr(feature = "serde", derive(serde::Serialize))]
struct Report<'a> {
    file: &'a str,
    backend: String,
    steps: Vec<StepReport>,
    mismatches: Vec<Mismatch>,
}

#[cfg_attr(feature = "serde", derive(serde::Serialize))]
struct StepReport {
    line: u32,
    step: String,
    event: Event,
    note: Option<String>,
}

/// Runs one trace on `backend` and reports its events and mismatches.
pub fn run_one(
    path: &str,
    t: &Trace,
    backend: &mut dyn Backend,
    a: &Args,
    json: bool,
    out: &mut Out,
) -> Code {
    let name = backend.name();
    let outcome: Outcome = trace::run(t, backend);
    let mismatches = trace::check_annotations(t, &outcome);
    if json {
        let steps = t
            .steps
            .iter()
            .zip(outcome.events.iter().zip(&outcome.notes))
            .map(|(s, (e, n))| StepReport {
                line: s.line,
                step: s.op.to_string(),
                event: e.clone(),
                note: n.clone(),
            })
            .collect();
        out.json(&Report {
            file: path,
            backend: name,
            steps,
            mismatches: mismatches.clone(),
        });
    } else {
        if !a.quiet {
            for (s, (e, n)) in t
                .steps
                .iter()
                .zip(outcome.events.iter().zip(&outcome.notes))
            {
                let note = n.as_ref().map(|n| format!("  ({n})")).unwrap_or_default();
                out.line(&format!("{path}:{}: {} => {e}{note}", s.line, s.op));
            }
        }
        for m in &mismatches {
            let actual = m
                .actual
                .as_ref()
                .map_or("(no event)".into(), |e| e.to_string());
            out.line(&format!(
                "{path}:{}: MISMATCH\n  expected: {}\n  actual:   {actual}",
                m.line, m.expected
            ));
        }
        let n = t.steps.iter().filter(|s| s.expect.is_some()).count();
        out.line(&format!(
            "{path}: {} steps on {name}, {n} annotations, {} mismatches",
            t.steps.len(),
            mismatches.len()
        ));
    }
    if a.bless {
        let mut b = t.clone();
        for (s, e) in b.steps.iter_mut().zip(&outcome.events) {
            if s.expect.is_some() || !matches!(e, Event::Bound(_)) {
                s.expect = Some(e.clone());
            }
        }
        if let Err(e) = std::fs::write(path, b.to_string()) {
            err(&format!("msgring: {path}: {e}"));
            return Code::BadInput;
        }
        return Code::Ok;
    }
    if mismatches.is_empty() {
        Code::Ok
    } else {
        Code::Mismatch
    }
}

pub fn main(a: &Args, json: bool, out: &mut Out) -> Code {
    let mut code = Code::Ok;
    for path in &a.files {
        let Some((_, t)) = load(path) else {
            code = code.max(Code::BadInput);
            continue;
        };
        let profile = a.kernel.or(t.profile).unwrap_or_default();
        if let Some(w) = profile.newer_warning() {
            super::err(&format!("{path}: {w}"));
        }
        let mut world = World::new(profile);
        code = code.max(run_one(path, &t, &mut world, a, json, out));
    }
    code
}
