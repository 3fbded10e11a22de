//! The `msgring` command line. Each subcommand lives in its own module and returns an
//! exit [`Code`]; adding one (`diff`, `check`) is a variant in [`Cmd`] and a match arm.

#[cfg(feature = "real-backend")]
mod check;
#[cfg(feature = "real-backend")]
mod diff;
mod explain;
mod fmt;
mod gen;
mod json;
mod report;
mod run;
#[cfg(not(feature = "real-backend"))]
mod without_kernel;

use clap::{Parser, Subcommand};
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

/// Exit codes (`msgring --help`, README): 0 ok, 1 mismatch (or `fmt --check`
/// difference), 2 bad input or usage, 3 the kernel backend is unavailable (`diff`,
/// `check`; also a build without the `real-backend` feature), 4 a time budget ran out
/// before a comparison was complete (`diff`, `check`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Code {
    Ok = 0,
    Mismatch = 1,
    BadInput = 2,
    Unavailable = 3,
    #[cfg_attr(not(feature = "real-backend"), allow(dead_code))]
    OutOfTime = 4,
}

/// The exit codes, as `--help` shows them.
const EXIT_CODES: &str = "\
Exit codes:
  0  ok: every annotation met, every trace canonical, model and kernel agree
  1  a mismatch: an annotation not met, `fmt --check` found a file not in canonical
     form, `diff`/`check` found a divergence
  2  bad input or usage: a trace refused (file:line:col: message), a file that cannot
     be read or written, an unknown flag
  3  the kernel backend is unavailable (`diff`, `check`): io_uring disabled, not
     Linux, or a build without `--features real-backend`
  4  a time budget ran out before a comparison was complete (`diff`, `check`
     --time-budget)
When several apply, the highest is returned.";

#[derive(Parser)]
#[command(
    name = "msgring",
    version,
    about = "An executable model of io_uring MSG_RING: run, format and generate traces",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Print JSON Lines instead of text: one object per event or file, then a summary
    /// (docs/json.md).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run traces on the model and check their `=>` annotations.
    Run(run::Args),
    /// Search the model's choice points for a path that gives every `=>` annotation.
    Explain(explain::Args),
    /// Print traces in canonical form (or check that they are).
    Fmt(fmt::Args),
    /// Generate a deterministic pseudo-random trace.
    Gen(gen::Args),
    /// Draw a trace as a self-contained HTML page: rings over steps, the model beside
    /// the annotations (or the kernel), the first divergence marked.
    Report(report::Args),
    /// Run traces on the model and on the running kernel; show the first divergence.
    #[cfg(feature = "real-backend")]
    Diff(diff::Args),
    /// Random traces on the model and on the running kernel; minimize every mismatch.
    #[cfg(feature = "real-backend")]
    Check(check::Args),
    // Without the kernel backend: the same names and help lines (so `--help` reads the
    // same in every build), and an answer saying how to get them.
    /// Run traces on the model and on the running kernel; show the first divergence.
    #[cfg(not(feature = "real-backend"))]
    Diff(without_kernel::Args),
    /// Random traces on the model and on the running kernel; minimize every mismatch.
    #[cfg(not(feature = "real-backend"))]
    Check(without_kernel::Args),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Code::BadInput as u8
            } else {
                0
            });
        }
    };
    let mut out = Out::default();
    let code = match &cli.cmd {
        Cmd::Run(a) => run::main(a, cli.json, &mut out),
        Cmd::Explain(a) => explain::main(a, cli.json, &mut out),
        Cmd::Fmt(a) => fmt::main(a, cli.json, &mut out),
        Cmd::Gen(a) => gen::main(a, cli.json, &mut out),
        Cmd::Report(a) => report::main(a, cli.json, &mut out),
        #[cfg(feature = "real-backend")]
        Cmd::Diff(a) => diff::main(a, cli.json, &mut out),
        #[cfg(feature = "real-backend")]
        Cmd::Check(a) => check::main(a, cli.json, &mut out),
        #[cfg(not(feature = "real-backend"))]
        Cmd::Diff(_) => without_kernel::main("diff", cli.json, &mut out),
        #[cfg(not(feature = "real-backend"))]
        Cmd::Check(_) => without_kernel::main("check", cli.json, &mut out),
    };
    let code = if out.failed {
        code.max(Code::BadInput)
    } else {
        code
    };
    ExitCode::from(code as u8)
}

/// Stdout that never panics: after the first write error (a closed pipe) further
/// output is dropped and the exit code becomes 2.
#[derive(Default)]
pub struct Out {
    failed: bool,
}

impl Out {
    pub fn line(&mut self, s: &str) {
        if self.failed {
            return;
        }
        let mut o = std::io::stdout().lock();
        if writeln!(o, "{s}").and_then(|_| o.flush()).is_err() {
            self.failed = true;
        }
    }
    pub fn text(&mut self, s: &str) {
        if self.failed {
            return;
        }
        let mut o = std::io::stdout().lock();
        if o.write_all(s.as_bytes()).and_then(|_| o.flush()).is_err() {
            self.failed = true;
        }
    }
    /// One JSON Lines record (docs/json.md).
    pub fn json(&mut self, v: &Value) {
        self.line(&v.to_string());
    }

    /// The `summary` record that ends every command's JSON output: `command`, the
    /// command's own counts, and `exit`, the code the process exits with.
    pub fn summary(
        &mut self,
        command: &str,
        code: Code,
        fields: impl IntoIterator<Item = (&'static str, Value)>,
    ) {
        let mut m = json::record("summary");
        m.insert("command".into(), command.into());
        for (k, v) in fields {
            m.insert(k.into(), v);
        }
        let code = if self.failed {
            code.max(Code::BadInput)
        } else {
            code
        };
        m.insert("exit".into(), (code as u8).into());
        self.json(&Value::Object(m));
    }
}

/// Prints to stderr, ignoring errors.
pub fn err(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// Reads and parses a trace file; on failure prints the error (and, with `--json`,
/// an `error` record) and returns `None`. Reads at most one byte past
/// [`limits::MAX_INPUT_BYTES`](msgring::trace::limits), so a huge or endless file
/// (`/dev/zero`) is refused where it crosses the limit.
pub fn load(path: &str, json: bool, out: &mut Out) -> Option<(String, msgring::trace::Trace)> {
    use std::io::Read;
    let cap = msgring::trace::limits::MAX_INPUT_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut bytes));
    if let Err(e) = read {
        let message = format!("{e}");
        err(&format!("msgring: {path}: {message}"));
        if json {
            out.json(&json::error(Some(path), None, None, &message));
        }
        return None;
    }
    match msgring::trace::parse_bytes(path, &bytes) {
        // parse_bytes checked the UTF-8.
        Ok(t) => Some((String::from_utf8(bytes).unwrap_or_default(), t)),
        Err(e) => {
            err(&format!("{e}"));
            if json {
                out.json(&json::error(
                    Some(path),
                    Some(e.line),
                    Some(e.col),
                    &e.message,
                ));
            }
            None
        }
    }
}
