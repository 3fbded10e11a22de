//! `msgring diff FILE... [--kernel auto|P]`: run traces on the model and on the running
//! kernel and show the first divergence of each.

use super::{err, load, Code, Out};
use msgring::kernel::{self, TraceDiff, Unavailable};
use msgring::trace::Trace;
use msgring::Profile;

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

#[cfg_attr(feature = "serde", derive(serde::Serialize))]
struct Report<'a> {
    file: &'a str,
    model: String,
    kernel: String,
    steps: usize,
    compared: usize,
    skipped: usize,
    stopped: Option<Stop>,
    divergence: Option<Div>,
}

#[cfg_attr(feature = "serde", derive(serde::Serialize))]
struct Stop {
    line: u32,
    step: String,
    reason: String,
}

#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

fn print_text(out: &mut Out, r: &Report<'_>) {
    let skipped = if r.skipped > 0 {
        format!(", {} skipped as unmodelled", r.skipped)
    } else {
        String::new()
    };
    if let Some(s) = &r.stopped {
        out.line(&format!(
            "{}:{}: comparison stopped at `{}`: {}",
            r.file, s.line, s.step, s.reason
        ));
    }
    match &r.divergence {
        Some(d) => {
            out.line(&format!(
                "{}:{}: DIVERGENCE after {} agreeing steps{skipped}",
                r.file, d.line, r.compared
            ));
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
        None => out.line(&format!(
            "{}: {} steps, {} compared{skipped}: {} and {} agree{}",
            r.file,
            r.steps,
            r.compared,
            r.model,
            r.kernel,
            if r.stopped.is_some() {
                " up to the stop"
            } else {
                ""
            }
        )),
    }
}

pub fn main(a: &Args, json: bool, out: &mut Out) -> Code {
    let info = match kernel::probe() {
        Ok(i) => i,
        Err(u) => {
            err(&u.to_string());
            return Code::Unavailable;
        }
    };
    let kernel_profile = kernel::kernel_profile(&info);
    let mut code = Code::Ok;
    for path in &a.files {
        let Some((_, t)) = load(path) else {
            code = code.max(Code::BadInput);
            continue;
        };
        let profile = match model_profile(a.kernel, t.profile, &kernel_profile) {
            Ok(p) => p,
            Err(u) => {
                err(&u.to_string());
                return Code::Unavailable;
            }
        };
        if let Some(w) = profile.newer_warning() {
            err(&format!("{path}: {w}"));
        }
        let mut kb = match kernel::KernelBackend::new() {
            Ok(k) => k,
            Err(u) => {
                err(&u.to_string());
                return Code::Unavailable;
            }
        };
        let kname = msgring::Backend::name(&kb);
        let d = kernel::diff_trace_on(&t, profile, &mut kb);
        drop(kb);
        let r = report(path, &t, &d, format!("model {}", profile.label()), kname);
        if json {
            out.json(&r);
        } else {
            print_text(out, &r);
        }
        if d.divergence.is_some() {
            code = code.max(Code::Mismatch);
        }
    }
    code
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
