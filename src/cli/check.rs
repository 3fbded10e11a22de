//! `msgring check (--seconds N | --count N) [--seed S] [--steps K] [--reports DIR]`:
//! random traces on the model and on the running kernel; each distinct mismatch is
//! minimized and written as an annotated `.trace` file.

use super::{err, Code, Out};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msgring::kernel::{self, Budget, CheckOptions, CheckStats, Finding};
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
    /// Write, for each choice point, the first agreeing trace that needed a
    /// non-default option there (the kernel's events and the path's `choose`
    /// clauses) into this directory.
    #[arg(long, value_name = "DIR")]
    evidence: Option<PathBuf>,
    /// Also print each minimized trace after its MISMATCH line, between `--- BEGIN
    /// NAME` and `--- END NAME` lines (for runs whose files cannot be copied out, such
    /// as `real-backend/qemu/golden.sh`'s check mode in a QEMU guest).
    #[arg(long)]
    print_traces: bool,
}

/// The last line of `check --json`: the run's totals.
#[derive(serde::Serialize)]
struct JsonSummary<'a> {
    seed: u64,
    kernel: &'a str,
    profile: &'a str,
    traces: u64,
    steps: u64,
    skipped: u64,
    agree: u64,
    diverge: u64,
    unknown: u64,
    /// Choice point -> agreeing traces that took a non-default option there.
    choices: &'a std::collections::BTreeMap<String, u64>,
    /// Traces whose default path did not agree (the search ran).
    searched: u64,
    search_steps: u64,
    search_seconds: f64,
    seconds: f64,
    traces_per_second: f64,
    findings: usize,
    files: &'a [String],
}

/// A line of `check --json` per distinct finding, before the summary.
#[derive(serde::Serialize)]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    file: Option<&'a str>,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s}: {e}"))
}

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

pub fn main(a: &Args, json: bool, out: &mut Out) -> Code {
    let info = match kernel::probe().and_then(|i| kernel::kernel_profile(&i).map(|p| (i, p))) {
        Ok(i) => i,
        Err(u) => {
            err(&u.to_string());
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
        evidence: a.evidence.is_some(),
        jobs: a.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(2, |n| 2 * n.get()),
            |j| j as usize,
        ),
    };
    let start = format!(
        "msgring check: seed {seed}, {} steps per trace, model {} vs kernel {} (replay: --seed {seed})",
        a.steps, info.1, info.0.release
    );
    if json {
        err(&start);
    } else {
        out.line(&start);
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
                    if !json {
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
    if json {
        for (k, f) in report.findings.iter().enumerate() {
            out.json_line(&JsonFinding {
                finding: f,
                file: files.get(k).map(String::as_str),
            });
        }
        out.json_line(&JsonSummary {
            seed,
            kernel: &report.kernel,
            profile: &report.profile,
            traces: s.traces,
            steps: s.compared,
            skipped: s.skipped,
            agree: s.agree,
            diverge: s.diverge,
            unknown: s.unknown,
            choices: &s.choices,
            searched: s.searched,
            search_steps: s.search_steps,
            search_seconds: s.search_seconds,
            seconds: s.seconds,
            traces_per_second: s.traces_per_second(),
            findings: report.findings.len(),
            files: &files,
        });
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
    let code = if failing > 0 {
        Code::Mismatch
    } else {
        Code::Ok
    };
    if io_failed {
        code.max(Code::BadInput)
    } else {
        code
    }
}
