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
    /// Also print each minimized trace after its MISMATCH line, between `--- BEGIN
    /// NAME` and `--- END NAME` lines (for runs whose files cannot be copied out, such
    /// as `real-backend/qemu/golden.sh`'s check mode in a QEMU guest).
    #[arg(long)]
    print_traces: bool,
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a kernel::CheckReport,
    files: &'a [String],
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
        "{} traces, {:.0} traces/s, {} mismatches ({} distinct)",
        s.traces,
        s.traces_per_second(),
        s.mismatches,
        s.distinct
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
            pb.suspend(|| {
                let to = match &written {
                    Ok(p) => p.clone(),
                    Err(e) => format!("(not written: {e})"),
                };
                let text = format!(
                    "MISMATCH {}: trace {} (seed {:#x}), {} -> {} steps, reproduces {}/{}{}: {}\n  line {}: {}\n  model:  {}\n  kernel: {}",
                    s.distinct,
                    f.index,
                    f.trace_seed,
                    f.original_steps,
                    f.minimized_steps,
                    f.reproduced,
                    kernel::REPRODUCE_RUNS,
                    if f.iowq_before { " after io-wq work" } else { "" },
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
    let s = &report.stats;
    let reproducible = report.findings.iter().filter(|f| f.fails()).count();
    if json {
        out.json(&JsonReport {
            report: &report,
            files: &files,
        });
    } else {
        for f in report.findings.iter().filter(|f| f.count > 1) {
            out.line(&format!("  {} traces: {}", f.count, f.signature));
        }
        let reports = if s.distinct > 0 {
            format!(" ({} distinct, in {})", s.distinct, a.reports.display())
        } else {
            String::new()
        };
        // Not failing: io-wq work came first (the kernel's workers race; see
        // `Finding::fails`). Those that reproduced anyway are named: one such (seed 1,
        // trace 26924) was a model bug (M10's io-wq teardown).
        let steady: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.reproduces() && !f.fails())
            .map(|f| f.index.to_string())
            .collect();
        let racy = report.findings.len() - reproducible - steady.len();
        out.line(&format!(
            "{} traces, {} steps compared, {} skipped, {} mismatches{reports}, {:.0} traces/s, seed {seed}",
            s.traces,
            s.compared,
            s.skipped,
            s.mismatches,
            s.traces_per_second()
        ));
        if !report.findings.is_empty() {
            let mut line = format!("{reproducible} distinct mismatches reproduce");
            if racy > 0 {
                line.push_str(&format!(
                    "; {racy} do not reproduce reliably (kernel races around io-wq, which the \
                     model serializes; see kernel::Finding::fails): reported, not failing"
                ));
            }
            out.line(&line);
        }
        if !steady.is_empty() {
            out.line(&format!(
                "{} reproduce in at least {}/{} runs but come after io-wq work, so they do not \
                 fail: look at each (traces {}); a steady one may be a model bug",
                steady.len(),
                kernel::REPRODUCIBLE,
                kernel::REPRODUCE_RUNS,
                steady.join(", ")
            ));
        }
    }
    let code = if reproducible > 0 {
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
