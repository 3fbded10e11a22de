//! `msgring explain FILE... [--kernel P] [--write] [--budget N]`: is there a path through
//! the model's choice points that gives every `=>` annotation of the trace? Prints the
//! path (or where every path fails); `--write` records it as `choose` clauses, so that
//! `msgring run` replays it exactly.

use super::{err, json, load, Code, Out};
use msgring::explain::{self, Budget, Verdict};
use msgring::trace::{Event, Trace};
use msgring::Profile;
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<String>,
    /// Kernel profile of the model (default: the trace's `kernel` line, else 6.18).
    #[arg(long, value_parser = |s: &str| s.parse::<Profile>())]
    kernel: Option<Profile>,
    /// Rewrite each explained file with the path's `choose` clauses (trailing default
    /// choices left out; existing clauses replaced).
    #[arg(long)]
    write: bool,
    /// Model step executions the search may spend per trace.
    #[arg(long, default_value_t = Budget::default().step_runs)]
    budget: u64,
    /// Search without this choice point (repeatable): is the trace explained without
    /// that kernel behaviour?
    #[arg(long, value_name = "POINT", value_parser = |s: &str| s.parse::<msgring::ChoicePoint>())]
    without: Vec<msgring::ChoicePoint>,
}

fn choices_text(c: &[msgring::Choice]) -> String {
    c.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let mut code = Code::Ok;
    let mut counts = [0usize; 3];
    for path in &a.files {
        let Some((_, t)) = load(path, json_out, out) else {
            code = code.max(Code::BadInput);
            continue;
        };
        let profile = a.kernel.or(t.profile).unwrap_or_default();
        let observed: Vec<Option<Event>> = t.steps.iter().map(|s| s.expect.clone()).collect();
        // The search decides the path: clauses already in the file are not a constraint.
        let bare = Trace {
            steps: t
                .steps
                .iter()
                .map(|s| {
                    let mut s = s.clone();
                    s.choose.clear();
                    s
                })
                .collect(),
            ..t.clone()
        };
        let mut start = msgring::World::new(profile);
        for p in &a.without {
            start.set_choice_point(*p, false);
        }
        let e = explain::explain_from(
            &start,
            &bare,
            &observed,
            Budget {
                step_runs: a.budget,
            },
        );
        let trimmed = e.trimmed_path();
        let choices: Vec<(u32, String)> = trimmed
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .map(|(i, c)| (t.steps[i].line, choices_text(c)))
            .collect();
        let failed_at = match e.verdict {
            Verdict::Diverge { step } => Some(step),
            Verdict::Unknown => e.outs.len().checked_sub(1),
            Verdict::Agree => None,
        };
        let (line, expected, nearest) = match failed_at {
            Some(step) => (
                t.steps.get(step).map(|s| s.line),
                observed.get(step).cloned().flatten().map(|x| x.to_string()),
                e.outs.last().map(|x| x.to_string()),
            ),
            None => (None, None, None),
        };
        let verdict = match e.verdict {
            Verdict::Agree => "agree",
            Verdict::Diverge { .. } => "diverge",
            Verdict::Unknown => "unknown",
        };
        counts[match e.verdict {
            Verdict::Agree => 0,
            Verdict::Diverge { .. } => 1,
            Verdict::Unknown => 2,
        }] += 1;
        if json_out {
            out.json(&json::object(
                "file",
                [
                    ("file", path.as_str().into()),
                    ("steps", t.steps.len().into()),
                    ("verdict", verdict.into()),
                    ("line", line.map_or(Value::Null, Value::from)),
                    (
                        "annotated",
                        expected.clone().map_or(Value::Null, Value::from),
                    ),
                    ("nearest", nearest.clone().map_or(Value::Null, Value::from)),
                    (
                        "choices",
                        Value::Array(
                            choices
                                .iter()
                                .map(|(l, c)| json!({ "line": l, "choose": c }))
                                .collect(),
                        ),
                    ),
                    ("model_steps", e.step_runs.into()),
                ],
            ));
        } else {
            let what = match e.verdict {
                Verdict::Agree if choices.is_empty() => "agree (the default path)".to_string(),
                Verdict::Agree => {
                    format!("agree ({} steps take a non-default choice)", choices.len())
                }
                Verdict::Diverge { .. } => {
                    "DIVERGE: no path through the choice points gives these annotations".into()
                }
                Verdict::Unknown => "UNKNOWN: the search budget ran out".into(),
            };
            out.line(&format!("{path}: {what} [{} model steps run]", e.step_runs));
            for (line, c) in &choices {
                out.line(&format!("{path}:{line}: choose {c}"));
            }
            if let (Some(line), Some(exp)) = (line, &expected) {
                out.line(&format!("{path}:{line}: every path fails here"));
                out.line(&format!("  annotated: {exp}"));
                out.line(&format!(
                    "  nearest:   {}",
                    nearest.as_deref().unwrap_or("(none)")
                ));
            }
        }
        match e.verdict {
            Verdict::Agree => {
                if a.write {
                    let mut w = bare;
                    for (s, c) in w.steps.iter_mut().zip(&trimmed) {
                        s.choose = c.clone();
                    }
                    if let Err(x) = std::fs::write(path, w.to_string()) {
                        err(&format!("msgring: {path}: {x}"));
                        code = code.max(Code::BadInput);
                    }
                }
            }
            Verdict::Diverge { .. } | Verdict::Unknown => code = code.max(Code::Mismatch),
        }
    }
    if json_out {
        out.summary(
            "explain",
            code,
            [
                ("files", a.files.len().into()),
                ("agree", counts[0].into()),
                ("diverge", counts[1].into()),
                ("unknown", counts[2].into()),
            ],
        );
    }
    code
}
