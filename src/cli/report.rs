//! `msgring report TRACE -o FILE.html [--against annotations|kernel] [--kernel P]`.

use super::{err, json, load, Code, Out};
use msgring::report::{self, ReportInput};
use msgring::Profile;
use serde_json::Value;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The trace.
    file: String,
    /// Where the page is written.
    #[arg(short, long, value_name = "FILE.html")]
    output: PathBuf,
    /// What the model is drawn against: the trace's `=>` annotations (for golden
    /// traces and `check` findings, the kernel's outcome; no kernel needed), or a run
    /// on the running kernel (`--features real-backend`).
    #[arg(long, value_enum, default_value_t = Against::Annotations)]
    against: Against,
    /// Kernel profile of the model (default: the trace's `kernel` line, else 6.18; with
    /// `--against kernel`, else the running kernel's).
    #[arg(long, value_parser = |s: &str| s.parse::<Profile>())]
    kernel: Option<Profile>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Against {
    Annotations,
    Kernel,
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let path = a.file.as_str();
    let Some((_, t)) = load(path, json_out, out) else {
        if json_out {
            out.summary("report", Code::BadInput, [("pages", 0.into())]);
        }
        return Code::BadInput;
    };
    let page = match a.against {
        Against::Annotations => {
            let profile = a.kernel.or(t.profile).unwrap_or_default();
            let run = report::model_run(&t, profile);
            let input = ReportInput::against_annotations(path, &t, &run);
            Ok((report::render(&input), input.divergence))
        }
        Against::Kernel => against_kernel(path, &t, a.kernel),
    };
    let (html, divergence) = match page {
        Ok(p) => p,
        Err((code, message)) => {
            err(&message);
            if json_out {
                out.json(&json::error(Some(path), None, None, &message));
                out.summary("report", code, [("pages", 0.into())]);
            }
            return code;
        }
    };
    if let Err(e) = std::fs::write(&a.output, html) {
        let message = format!("msgring: {}: {e}", a.output.display());
        err(&message);
        if json_out {
            out.json(&json::error(
                Some(&a.output.display().to_string()),
                None,
                None,
                &e.to_string(),
            ));
            out.summary("report", Code::BadInput, [("pages", 0.into())]);
        }
        return Code::BadInput;
    }
    let html_path = a.output.display().to_string();
    let at = divergence.map(|d| (d, t.steps[d].line));
    if json_out {
        out.json(&json::object(
            "report",
            [
                ("file", path.into()),
                ("html", html_path.as_str().into()),
                ("steps", t.steps.len().into()),
                (
                    "against",
                    match a.against {
                        Against::Annotations => "annotations",
                        Against::Kernel => "kernel",
                    }
                    .into(),
                ),
                (
                    "divergence",
                    at.map_or(
                        Value::Null,
                        |(i, line)| serde_json::json!({ "index": i, "line": line }),
                    ),
                ),
            ],
        ));
        out.summary("report", Code::Ok, [("pages", 1.into())]);
    } else {
        match at {
            Some((i, line)) => out.line(&format!(
                "{html_path}: {path}, {} steps, first divergence at step {i} ({path}:{line})",
                t.steps.len()
            )),
            None => out.line(&format!(
                "{html_path}: {path}, {} steps, no divergence",
                t.steps.len()
            )),
        }
    }
    Code::Ok
}

#[cfg(feature = "real-backend")]
fn against_kernel(
    path: &str,
    t: &msgring::trace::Trace,
    kernel: Option<Profile>,
) -> Result<(String, Option<usize>), (Code, String)> {
    use msgring::kernel;
    let unavailable = |u: kernel::Unavailable| (Code::Unavailable, u.to_string());
    let info = kernel::probe().map_err(unavailable)?;
    let profile = match kernel.or(t.profile) {
        Some(p) => p,
        None => kernel::kernel_profile(&info).map_err(unavailable)?,
    };
    let mut kb = kernel::KernelBackend::new().map_err(unavailable)?;
    let label = msgring::Backend::name(&kb);
    let d = kernel::diff_trace_on(t, profile, &mut kb);
    drop(kb);
    // The model's side is the path that explains the kernel (or the nearest one).
    let mut t = t.clone();
    for (s, c) in t.steps.iter_mut().zip(d.trimmed_path()) {
        s.choose = c;
    }
    let t = &t;
    let run = report::model_run(t, profile);
    let mut notes = Vec::new();
    if let Some((i, why)) = &d.stopped {
        notes.push(format!("comparison stopped at step {i}: {why}"));
    }
    let input = ReportInput {
        title: path.to_string(),
        trace: t,
        model: &run,
        other_label: label,
        other: Some(d.kernel.clone()),
        divergence: d.divergence,
        notes,
        choices: report::choices_of(t),
    };
    Ok((report::render(&input), d.divergence))
}

#[cfg(not(feature = "real-backend"))]
fn against_kernel(
    _: &str,
    _: &msgring::trace::Trace,
    _: Option<Profile>,
) -> Result<(String, Option<usize>), (Code, String)> {
    Err((
        Code::Unavailable,
        "msgring report --against kernel runs the trace on the running kernel, and this \
         msgring was built without the kernel backend: build it with `cargo build \
         --release --features real-backend`"
            .into(),
    ))
}
