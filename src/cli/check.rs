//! `msgring check (--seconds N | --count N) [--seed S] [--steps K] [--reports DIR]`:
//! random traces on the model and on the running kernel; each distinct mismatch is
//! minimized and written as an annotated `.trace` file.

use super::{err, json, Code, Out};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msgring::kernel::{self, Budget, CheckOptions, CheckStats, Finding};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("budget").required(true).args(["seconds", "count"])))]
pub struct Args {
    /// Run for this many seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    seconds: Option<u64>,
    /// Run exactly this many traces (deterministic).
    #[arg(long)]
    count: Option<u64>,
    /// Seed of the run (decimal or 0x hex); default: from the clock, printed.
    #[arg(long, value_parser = parse_u64)]
    seed: Option<u64>,
    /// Steps per trace after the prelude.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(0..=9_000))]
    steps: u32,
    /// Where minimized mismatches are written.
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// Kernel runs the minimizer may spend per distinct mismatch.
    #[arg(long, default_value_t = 400)]
    minimize_runs: usize,
    /// Threads running traces (default: 2 per CPU; the kernel side mostly waits).
    #[arg(long, short, value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: Option<u32>,
    /// Also print each minimized trace after its MISMATCH line, between `--- BEGIN
    /// NAME` and `--- END NAME` lines (for runs whose files cannot be copied out, such
    /// as `real-backend/qemu/golden.sh`'s check mode in a QEMU guest).
    #[arg(long)]
    print_traces: bool,
    /// Seconds each trace may run on the kernel (0: no limit); traces that run out are
    /// compared up to there and counted.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    time_budget: u64,
    /// Write, for each choice point, the first agreeing trace that needed a
    /// non-default option there (the kernel's events and the path's `choose`
    /// clauses) into this directory.
    #[arg(long, value_name = "DIR")]
    evidence: Option<PathBuf>,
    /// Also draw each minimized mismatch as an HTML page in this directory (the model
    /// against the kernel's outcome, the divergence marked: `msgring report`).
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
}

use super::gen::parse_u64;

fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Short enough to type back in.
    (now.as_secs() << 20 ^ u64::from(now.subsec_micros())) & 0xffff_ffff_ffff
}

fn message(s: &CheckStats) -> String {
    format!(
        "{} traces, {:.0} traces/s, {} agree, {} diverge, {} unknown",
        s.traces,
        s.traces_per_second(),
        s.agree,
        s.diverge,
        s.unknown
    )
}

/// The summary line: totals, verdicts and the choice points agreeing traces needed.
fn summary(s: &CheckStats, seed: u64) -> String {
    let choices = if s.choices.is_empty() {
        "none".to_string()
    } else {
        s.choices
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let per = if s.searched > 0 {
        format!(
            ", search {:.2} ms per searched trace",
            1e3 * s.search_seconds / s.searched as f64
        )
    } else {
        String::new()
    };
    format!(
        "check: {} traces, {} steps, {} agree, {} diverge, {} unknown; {} needed a non-default choice (traces per choice point: {choices}); {:.0} traces/s{per}; seed {seed}",
        s.traces,
        s.compared,
        s.agree,
        s.diverge,
        s.unknown,
        s.non_default(),
        s.traces_per_second()
    )
}

fn file_name(seed: u64, f: &Finding) -> String {
    let kind: String = f
        .signature
        .split(':')
        .next()
        .unwrap_or("step")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("seed{seed}-trace{}-{kind}.trace", f.index)
}

fn write_report(dir: &Path, seed: u64, f: &Finding) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(file_name(seed, f));
    std::fs::write(&path, f.trace.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// The finding's page: its minimized trace on the model against the kernel's outcome
/// (the trace's annotations, written by the minimizer), the divergence marked.
fn write_html(dir: &Path, seed: u64, f: &Finding, kernel_name: &str) -> Result<String, String> {
    use msgring::report::{self, ReportInput};
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = file_name(seed, f);
    let path = dir.join(name.replace(".trace", ".html"));
    // The trace as written, so that the page's line numbers are the file's.
    let text = f.trace.to_string();
    let t = msgring::trace::parse(&text).map_err(|e| format!("{name}: {e}"))?;
    let run = report::model_run(&t, t.profile.unwrap_or_default());
    let mut input = ReportInput::against_annotations(&name, &t, &run);
    input.other_label = format!("{kernel_name} (annotations)");
    input.notes = vec![
        format!("signature: {}", f.signature),
        format!(
            "trace {} of seed {seed} (trace seed {:#x}), minimized from {} to {} steps, diverged again in {}/{} re-runs",
            f.index,
            f.trace_seed,
            f.original_steps,
            f.minimized_steps,
            f.reproduced,
            kernel::REPRODUCE_RUNS
        ),
        format!("replay on the kernel: msgring diff {name}"),
    ];
    std::fs::write(&path, report::render(&input))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// A finding as a JSON object (the `finding` record and the entries of index.json).
fn finding_json(seed: u64, f: &Finding, file: Option<&str>, html: Option<&str>) -> Value {
    json!({
        "file": file,
        "html": html,
        "seed": seed,
        "trace": f.index,
        "trace_seed": f.trace_seed,
        "signature": f.signature,
        "original_steps": f.original_steps,
        "minimized_steps": f.minimized_steps,
        "line": f.line,
        "step": f.step,
        "model": f.model,
        "kernel": f.kernel,
        "count": f.count,
        "verdict": verdict_name(f),
        "nearest_choices": f.nearest,
        "reproduced": f.reproduced,
        "reproduce_runs": kernel::REPRODUCE_RUNS,
        "fails": f.fails(),
    })
}

/// `diverge` or `unknown`.
fn verdict_name(f: &Finding) -> &'static str {
    match f.verdict {
        msgring::explain::Verdict::Unknown => "unknown",
        _ => "diverge",
    }
}

/// Writes `dir/index.json`: every finding of this run, and those of earlier runs into
/// the same directory whose trace files are still there (docs/json.md).
fn write_index(dir: &Path, entries: Vec<Value>) -> Result<(), String> {
    let path = dir.join("index.json");
    let mut all: Vec<Value> = Vec::new();
    let new_files: Vec<Value> = entries.iter().map(|e| e["file"].clone()).collect();
    if let Ok(old) = std::fs::read_to_string(&path) {
        if let Ok(v) = serde_json::from_str::<Value>(&old) {
            if v["schema"] == json::SCHEMA {
                for e in v["entries"].as_array().into_iter().flatten() {
                    let kept = e["file"].as_str().is_some_and(|f| Path::new(f).exists())
                        && !new_files.contains(&e["file"]);
                    if kept {
                        all.push(e.clone());
                    }
                }
            }
        }
    }
    all.extend(entries);
    let index = json!({ "schema": json::SCHEMA, "type": "index", "entries": all });
    let text = serde_json::to_string_pretty(&index).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let json = json_out;
    let info = match kernel::probe().and_then(|i| kernel::kernel_profile(&i).map(|p| (i, p))) {
        Ok(i) => i,
        Err(u) => {
            err(&u.to_string());
            if json {
                out.json(&json::error(None, None, None, &u.to_string()));
                out.summary("check", Code::Unavailable, []);
            }
            return Code::Unavailable;
        }
    };
    let seed = a.seed.unwrap_or_else(clock_seed);
    let budget = match (a.seconds, a.count) {
        (_, Some(n)) => Budget::Count(n),
        (Some(s), None) => Budget::Time(Duration::from_secs(s)),
        (None, None) => Budget::Count(0),
    };
    let opts = CheckOptions {
        seed,
        steps: a.steps as usize,
        budget,
        minimize_runs: a.minimize_runs,
        jobs: a.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(2, |n| 2 * n.get()),
            |j| j as usize,
        ),
        trace_budget: (a.time_budget > 0).then(|| Duration::from_secs(a.time_budget)),
        evidence: a.evidence.is_some(),
    };
    let start = format!(
        "msgring check: seed {seed}, {} steps per trace, model {} vs kernel {} (replay: --seed {seed})",
        a.steps, info.1, info.0.release
    );
    if json {
        err(&start);
        out.json(&json::object(
            "start",
            [
                ("seed", seed.into()),
                ("steps_per_trace", a.steps.into()),
                ("model", format!("model {}", info.1).into()),
                ("kernel", format!("kernel {}", info.0.release).into()),
            ],
        ));
    } else {
        out.line(&start);
    }
    let kernel_name = format!("kernel {}", info.0.release);
    let mut htmls: Vec<(u64, Option<String>)> = Vec::new();
    if let Some(w) = info.1.newer_warning() {
        err(&w);
        if !json {
            out.line(&w);
        }
    }
    let pb = match budget {
        Budget::Count(n) => ProgressBar::new(n),
        Budget::Time(d) => ProgressBar::new(d.as_millis() as u64),
    };
    pb.set_draw_target(if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}") {
        pb.set_style(style.progress_chars("=> "));
    }
    let mut files: Vec<String> = Vec::new();
    let mut io_failed = false;
    let result = kernel::check(&opts, &mut |s, new| {
        match budget {
            Budget::Count(_) => pb.set_position(s.traces),
            Budget::Time(_) => pb.set_position((s.seconds * 1000.0) as u64),
        }
        pb.set_message(message(s));
        if let Some(f) = new {
            let written = write_report(&a.reports, seed, f);
            let html = a
                .html
                .as_ref()
                .map(|dir| write_html(dir, seed, f, &kernel_name));
            if let Some(Err(e)) = &html {
                err(&format!("msgring: {e}"));
                io_failed = true;
            }
            let html = html.and_then(Result::ok);
            htmls.push((f.index, html.clone()));
            pb.suspend(|| {
                let to = match &written {
                    Ok(p) => p.clone(),
                    Err(e) => format!("(not written: {e})"),
                };
                let what = match f.verdict {
                    msgring::explain::Verdict::Unknown => "UNKNOWN",
                    _ => "DIVERGE",
                };
                let nearest = if f.nearest.is_empty() {
                    "the default path".to_string()
                } else {
                    f.nearest.join("; ")
                };
                let text = format!(
                    "{what} {}: trace {} (seed {:#x}), {} -> {} steps, diverged again in {}/{} re-runs: {}\n  line {}: {}\n  nearest model path: {}\n  kernel:             {}\n  nearest path's choices: {nearest}",
                    s.distinct,
                    f.index,
                    f.trace_seed,
                    f.original_steps,
                    f.minimized_steps,
                    f.reproduced,
                    kernel::REPRODUCE_RUNS,
                    to,
                    f.line,
                    f.step,
                    f.model,
                    f.kernel
                );
                let text = if a.print_traces {
                    let name = file_name(seed, f);
                    format!("{text}\n--- BEGIN {name}\n{}--- END {name}", f.trace)
                } else {
                    text
                };
                if json {
                    err(&text);
                    out.json(&json::object(
                        "finding",
                        [
                            ("number", s.distinct.into()),
                            (
                                "finding",
                                finding_json(seed, f, written.as_ref().ok().map(String::as_str), html.as_deref()),
                            ),
                        ],
                    ));
                } else {
                    out.line(&text);
                }
            });
            match written {
                Ok(p) => files.push(p),
                Err(_) => io_failed = true,
            }
        }
    });
    pb.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(u) => {
            err(&u.to_string());
            if json {
                out.json(&json::error(None, None, None, &u.to_string()));
                out.summary("check", Code::Unavailable, []);
            }
            return Code::Unavailable;
        }
    };
    if let Some(dir) = &a.evidence {
        for e in &report.evidence {
            let name = format!("evidence-{}-seed{seed}-trace{}.trace", e.point, e.index);
            let path = dir.join(&name);
            let written = std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(&path, e.trace.to_string()));
            match written {
                Ok(()) => {
                    if json {
                        out.json(&json::object(
                            "evidence",
                            [
                                ("point", e.point.name().into()),
                                ("trace", e.index.into()),
                                ("trace_seed", e.trace_seed.into()),
                                ("file", path.display().to_string().into()),
                            ],
                        ));
                    } else {
                        out.line(&format!("evidence for {}: {}", e.point, path.display()));
                    }
                }
                Err(x) => {
                    err(&format!("msgring: {}: {x}", path.display()));
                    io_failed = true;
                }
            }
        }
    }
    let s = &report.stats;
    let failing = report.findings.iter().filter(|f| f.fails()).count();
    if !report.findings.is_empty() {
        let entries = report
            .findings
            .iter()
            .map(|f| {
                let file = a.reports.join(file_name(seed, f));
                let html = htmls
                    .iter()
                    .find(|(i, _)| *i == f.index)
                    .and_then(|(_, h)| h.clone());
                let file = file.exists().then(|| file.display().to_string());
                finding_json(seed, f, file.as_deref(), html.as_deref())
            })
            .collect();
        if let Err(e) = write_index(&a.reports, entries) {
            err(&format!("msgring: {e}"));
            io_failed = true;
        }
    }
    if s.out_of_time > 0 && !json {
        out.line(&format!(
            "{} traces ran out of their time budget of {} s and were compared up to there \
             (--time-budget SECS, 0 for none)",
            s.out_of_time, a.time_budget
        ));
    }
    let code = if failing > 0 {
        Code::Mismatch
    } else {
        Code::Ok
    };
    let code = if io_failed {
        code.max(Code::BadInput)
    } else {
        code
    };
    if json {
        out.summary(
            "check",
            code,
            [
                ("traces", s.traces.into()),
                ("steps", s.compared.into()),
                ("agree", s.agree.into()),
                ("diverge", s.diverge.into()),
                ("unknown", s.unknown.into()),
                ("choices", json!(s.choices)),
                ("seed", seed.into()),
                ("steps_per_trace", a.steps.into()),
                ("compared", s.compared.into()),
                ("skipped", s.skipped.into()),
                ("distinct", s.distinct.into()),
                ("searched", s.searched.into()),
                ("search_steps", s.search_steps.into()),
                ("search_seconds", s.search_seconds.into()),
                ("out_of_time", s.out_of_time.into()),
                ("seconds", s.seconds.into()),
                ("traces_per_second", s.traces_per_second().into()),
                ("reports", a.reports.display().to_string().into()),
                ("files", json!(files)),
            ],
        );
    } else {
        for f in report.findings.iter().filter(|f| f.count > 1) {
            out.line(&format!("  {} traces: {}", f.count, f.signature));
        }
        if !report.findings.is_empty() {
            out.line(&format!(
                "{} distinct findings, minimized in {}",
                report.findings.len(),
                a.reports.display()
            ));
        }
        out.line(&summary(s, seed));
    }
    code
}
