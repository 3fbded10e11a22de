//! `msgring diff FILE... [--kernel auto|P]`: run traces on the model and on the running
//! kernel and show the first divergence of each.

use super::{err, json, load, Code, Out};
use msgring::explain::Verdict;
use msgring::kernel::{self, TraceDiff, Unavailable};
use msgring::trace::Trace;
use msgring::Profile;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<String>,
    /// Model profile: `auto` (the running kernel's profile, whatever the trace's
    /// `kernel` line says) or a release from 5.18 on (6.1, 6.12, 6.18.15, 7.3, ...).
    /// Default: the trace's `kernel` line, else the running kernel's profile.
    #[arg(long, value_name = "auto|PROFILE", value_parser = parse_kernel)]
    kernel: Option<KernelArg>,
    /// Seconds each trace may run on the kernel (0: no limit). A trace that runs out
    /// is compared up to there, says so, and the exit code is 4.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    time_budget: u64,
    /// Write each trace, annotated with the kernel's events and the `choose` clauses
    /// of the path that explains them (or the nearest one), to this file
    /// (`msgring run` replays it on the model). With several traces, `-N` is appended.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
}

/// The `--kernel` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KernelArg {
    Auto,
    Profile(Profile),
}

fn parse_kernel(s: &str) -> Result<KernelArg, String> {
    if s == "auto" {
        return Ok(KernelArg::Auto);
    }
    s.parse::<Profile>()
        .map(KernelArg::Profile)
        .map_err(|e| format!("{e} (or `auto`)"))
}

/// The model profile for one trace: `--kernel P`, else (without `--kernel auto`) the
/// trace's `kernel` line, else the running kernel's profile.
fn model_profile(
    arg: Option<KernelArg>,
    header: Option<Profile>,
    running: &Result<Profile, Unavailable>,
) -> Result<Profile, Unavailable> {
    match (arg, header) {
        (Some(KernelArg::Profile(p)), _) => Ok(p),
        (None, Some(p)) => Ok(p),
        (Some(KernelArg::Auto), _) | (None, None) => running.clone(),
    }
}

struct Report<'a> {
    file: &'a str,
    model: String,
    kernel: String,
    steps: usize,
    compared: usize,
    skipped: usize,
    stopped: Option<Stop>,
    divergence: Option<Div>,
    /// `agree`, `diverge` (no path through the model's choice points gives the
    /// kernel's events) or `unknown` (the search ran out of budget).
    verdict: &'static str,
    /// Steps where the path that explains the kernel (or the nearest one) left the
    /// default: (line, `point=option ...`).
    choices: Vec<(u32, String)>,
}

struct Stop {
    line: u32,
    step: String,
    reason: String,
}

struct Div {
    line: u32,
    step: String,
    model: String,
    kernel: String,
    model_note: Option<String>,
    kernel_note: Option<String>,
    signature: String,
}

fn report<'a>(path: &'a str, t: &Trace, d: &TraceDiff, model: String, kname: String) -> Report<'a> {
    // The step's canonical text, without its annotation.
    let step = |i: usize| {
        t.steps.get(i).map(|s| {
            let mut s = s.clone();
            s.expect = None;
            (s.line, s.code())
        })
    };
    let note = |o: &msgring::trace::Outcome, i: usize| o.notes.get(i).cloned().flatten();
    Report {
        file: path,
        model,
        kernel: kname,
        steps: t.steps.len(),
        compared: d.compared,
        skipped: d.skipped,
        stopped: d.stopped.as_ref().and_then(|(i, why)| {
            let (line, step) = step(*i)?;
            Some(Stop {
                line,
                step,
                reason: why.clone(),
            })
        }),
        verdict: match d.verdict {
            Verdict::Agree => "agree",
            Verdict::Diverge { .. } => "diverge",
            Verdict::Unknown => "unknown",
        },
        choices: d
            .path
            .iter()
            .enumerate()
            .filter(|(_, p)| p.iter().any(|c| c.option != 0))
            .map(|(i, p)| {
                let end = p.iter().rposition(|c| c.option != 0).map_or(0, |e| e + 1);
                let c: Vec<String> = p[..end].iter().map(|c| c.to_string()).collect();
                (t.steps.get(i).map_or(0, |s| s.line), c.join(" "))
            })
            .collect(),
        divergence: d.divergent_events().and_then(|(i, m, k)| {
            let (line, step) = step(i)?;
            Some(Div {
                line,
                step,
                model: m.to_string(),
                kernel: k.to_string(),
                model_note: note(&d.model, i),
                kernel_note: note(&d.kernel, i),
                signature: d.signature(t).unwrap_or_default(),
            })
        }),
    }
}

/// Two columns when both fit in 100 characters, else one above the other.
fn side_by_side(out: &mut Out, left: (&str, &str), right: (&str, &str)) {
    let w = left.0.len().max(left.1.len()).max(5);
    if w + 3 + right.0.len().max(right.1.len()) <= 100 {
        out.line(&format!("  {:<w$} | {}", left.0, right.0));
        out.line(&format!("  {:<w$} | {}", left.1, right.1));
    } else {
        out.line(&format!("  {}: {}", left.0, left.1));
        out.line(&format!("  {}: {}", right.0, right.1));
    }
}

/// The `file` record of one trace (docs/json.md).
fn file_json(r: &Report<'_>, d: &TraceDiff) -> Value {
    let verdict = if !d.agrees() {
        r.verdict
    } else if d.ran_out_of_time() {
        "out_of_time"
    } else if d.stopped.is_some() {
        "stopped"
    } else {
        "agree"
    };
    json::object(
        "file",
        [
            ("file", r.file.into()),
            ("model", r.model.as_str().into()),
            ("kernel", r.kernel.as_str().into()),
            ("verdict", verdict.into()),
            (
                "choices",
                Value::Array(
                    r.choices
                        .iter()
                        .map(|(line, c)| json!({ "line": line, "choose": c }))
                        .collect(),
                ),
            ),
            ("steps", r.steps.into()),
            ("compared", r.compared.into()),
            ("skipped", r.skipped.into()),
            (
                "stopped",
                r.stopped.as_ref().map_or(
                    Value::Null,
                    |s| json!({ "line": s.line, "step": s.step, "reason": s.reason }),
                ),
            ),
            (
                "divergence",
                match (&r.divergence, d.divergent_events()) {
                    (Some(v), Some((i, m, k))) => json!({
                        "index": i,
                        "line": v.line,
                        "step": v.step,
                        "model": json::event(m),
                        "kernel": json::event(k),
                        "model_note": v.model_note,
                        "kernel_note": v.kernel_note,
                        "signature": v.signature,
                    }),
                    _ => Value::Null,
                },
            ),
        ],
    )
}

fn print_text(out: &mut Out, r: &Report<'_>) {
    let skipped = if r.skipped > 0 {
        format!(", {} skipped as unmodelled", r.skipped)
    } else {
        String::new()
    };
    if let Some(s) = &r.stopped {
        let hint = if s.reason.contains(kernel::OUT_OF_TIME) {
            " (raise it with --time-budget SECS, 0 for none)"
        } else {
            ""
        };
        out.line(&format!(
            "{}:{}: comparison stopped at `{}`: {}{hint}",
            r.file, s.line, s.step, s.reason
        ));
    }
    match &r.divergence {
        Some(d) => {
            let what = if r.verdict == "unknown" {
                "UNKNOWN (the search over the model's choice points ran out of budget)"
            } else {
                "DIVERGENCE (no path through the model's choice points gives the kernel's events)"
            };
            out.line(&format!(
                "{}:{}: {what} after {} agreeing steps{skipped}",
                r.file, d.line, r.compared
            ));
            for (line, c) in &r.choices {
                out.line(&format!("{}:{line}: nearest path: choose {c}", r.file));
            }
            out.line(&format!("  step: {}", d.step));
            let with_note = |e: &str, n: &Option<String>| match n {
                Some(n) => format!("{e} ({n})"),
                None => e.to_string(),
            };
            side_by_side(
                out,
                (&r.model, &with_note(&d.model, &d.model_note)),
                (&r.kernel, &with_note(&d.kernel, &d.kernel_note)),
            );
        }
        None => {
            out.line(&format!(
                "{}: {} steps, {} compared{skipped}: {} and {} agree{}{}",
                r.file,
                r.steps,
                r.compared,
                r.model,
                r.kernel,
                if r.stopped.is_some() {
                    " up to the stop"
                } else {
                    ""
                },
                if r.choices.is_empty() {
                    ""
                } else {
                    " (through non-default choices)"
                }
            ));
            for (line, c) in &r.choices {
                out.line(&format!("{}:{line}: choose {c}", r.file));
            }
        }
    }
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let info = match kernel::probe() {
        Ok(i) => i,
        Err(u) => return unavailable(&u, json_out, out),
    };
    let kernel_profile = kernel::kernel_profile(&info);
    let budget = (a.time_budget > 0).then(|| Duration::from_secs(a.time_budget));
    let mut code = Code::Ok;
    let mut verdicts = [0usize; 4];
    for path in &a.files {
        let Some((_, t)) = load(path, json_out, out) else {
            code = code.max(Code::BadInput);
            continue;
        };
        let profile = match model_profile(a.kernel, t.profile, &kernel_profile) {
            Ok(p) => p,
            Err(u) => return unavailable(&u, json_out, out),
        };
        if let Some(w) = profile.newer_warning() {
            err(&format!("{path}: {w}"));
        }
        let mut kb = match kernel::KernelBackend::new() {
            Ok(k) => k,
            Err(u) => return unavailable(&u, json_out, out),
        };
        kb.set_time_budget(budget);
        let kname = msgring::Backend::name(&kb);
        let d = kernel::diff_trace_on(&t, profile, &mut kb);
        drop(kb);
        let r = report(path, &t, &d, format!("model {}", profile.label()), kname);
        if json_out {
            out.json(&file_json(&r, &d));
        } else {
            print_text(out, &r);
        }
        if let Some(rec_out) = &a.record {
            let rec_out = if a.files.len() > 1 {
                let k = a.files.iter().position(|f| f == path).unwrap_or(0);
                std::path::PathBuf::from(format!("{}-{k}", rec_out.display()))
            } else {
                rec_out.clone()
            };
            let mut rec = kernel::annotate_with_kernel(&t, &d);
            for (s, c) in rec.steps.iter_mut().zip(d.trimmed_path()) {
                s.choose = c;
            }
            if let Err(e) = std::fs::write(&rec_out, rec.to_string()) {
                err(&format!("msgring: {}: {e}", rec_out.display()));
                code = code.max(Code::BadInput);
            }
        }
        if !d.agrees() {
            code = code.max(Code::Mismatch);
            verdicts[1] += 1;
        } else if d.ran_out_of_time() {
            code = code.max(Code::OutOfTime);
            verdicts[3] += 1;
        } else if d.stopped.is_some() {
            verdicts[2] += 1;
        } else {
            verdicts[0] += 1;
        }
    }
    if json_out {
        out.summary(
            "diff",
            code,
            [
                ("files", a.files.len().into()),
                ("agree", verdicts[0].into()),
                ("diverge", verdicts[1].into()),
                ("stopped", verdicts[2].into()),
                ("out_of_time", verdicts[3].into()),
            ],
        );
    }
    code
}

fn unavailable(u: &Unavailable, json_out: bool, out: &mut Out) -> Code {
    err(&u.to_string());
    if json_out {
        out.json(&json::error(None, None, None, &u.to_string()));
        out.summary("diff", Code::Unavailable, []);
    }
    Code::Unavailable
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn kernel_flag(argv: &[&str]) -> Result<Option<KernelArg>, String> {
        Cli::try_parse_from(argv)
            .map(|c| c.args.kernel)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn kernel_flag_parses() {
        assert_eq!(kernel_flag(&["diff", "t.trace"]), Ok(None));
        assert_eq!(
            kernel_flag(&["diff", "--kernel", "auto", "t.trace"]),
            Ok(Some(KernelArg::Auto))
        );
        assert_eq!(
            kernel_flag(&["diff", "--kernel", "6.1", "t.trace"]),
            Ok(Some(KernelArg::Profile(Profile::V6_1)))
        );
        assert!(kernel_flag(&["diff", "--kernel", "5.4", "t.trace"]).is_err());
    }

    #[test]
    fn profile_choice() {
        let running = Ok(Profile::V6_18);
        let none: Result<Profile, Unavailable> = Err(Unavailable {
            reason: "no model profile for kernel 5.4".into(),
        });
        let p = |a, h, r: &Result<Profile, Unavailable>| model_profile(a, h, r);
        let pin = Some(KernelArg::Profile(Profile::V6_12));
        // Default: header, else the running kernel.
        assert_eq!(p(None, Some(Profile::V6_1), &running), Ok(Profile::V6_1));
        assert_eq!(p(None, None, &running), Ok(Profile::V6_18));
        assert!(p(None, None, &none).is_err());
        // A profile overrides the header and needs no running-kernel profile.
        assert_eq!(p(pin, Some(Profile::V6_1), &none), Ok(Profile::V6_12));
        // auto ignores the header.
        let auto = Some(KernelArg::Auto);
        assert_eq!(p(auto, Some(Profile::V6_1), &running), Ok(Profile::V6_18));
        assert!(p(auto, Some(Profile::V6_1), &none).is_err());
    }
}
