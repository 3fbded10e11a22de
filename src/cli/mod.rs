//! The `msgring` command line. Each subcommand lives in its own module and returns an
//! exit [`Code`]; adding one (`diff`, `check`) is a variant in [`Cmd`] and a match arm.

#[cfg(feature = "real-backend")]
mod check;
#[cfg(feature = "real-backend")]
mod diff;
mod explain;
mod fmt;
mod gen;
mod run;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Exit codes: 0 ok, 1 mismatch (or `fmt --check` difference), 2 bad input or usage,
/// 3 the kernel backend is unavailable (`diff`, `check`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Code {
    Ok = 0,
    Mismatch = 1,
    BadInput = 2,
    #[cfg_attr(not(feature = "real-backend"), allow(dead_code))]
    Unavailable = 3,
}

#[derive(Parser)]
#[command(
    name = "msgring",
    version,
    about = "An executable model of io_uring MSG_RING: run, format and generate traces"
)]
struct Cli {
    /// Print JSON instead of text.
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
    /// Run traces on the model and on the running kernel; show the first divergence.
    #[cfg(feature = "real-backend")]
    Diff(diff::Args),
    /// Random traces on the model and on the running kernel; minimize every mismatch.
    #[cfg(feature = "real-backend")]
    Check(check::Args),
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
        #[cfg(feature = "real-backend")]
        Cmd::Diff(a) => diff::main(a, cli.json, &mut out),
        #[cfg(feature = "real-backend")]
        Cmd::Check(a) => check::main(a, cli.json, &mut out),
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
    /// One compact JSON object on one line (JSON Lines).
    #[cfg(feature = "serde")]
    pub fn json_line<T: serde::Serialize>(&mut self, v: &T) {
        match serde_json::to_string(v) {
            Ok(s) => self.line(&s),
            Err(e) => err(&format!("json: {e}")),
        }
    }
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Serialize>(&mut self, v: &T) {
        match serde_json::to_string_pretty(v) {
            Ok(s) => self.line(&s),
            Err(e) => err(&format!("json: {e}")),
        }
    }
}

/// Prints to stderr, ignoring errors.
pub fn err(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// Reads and parses a trace file; prints the error and returns `None` on failure.
pub fn load(path: &str) -> Option<(String, msgring::trace::Trace)> {
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            err(&format!("msgring: {path}: {e}"));
            return None;
        }
    };
    match msgring::trace::parse_file(path, &src) {
        Ok(t) => Some((src, t)),
        Err(e) => {
            err(&format!("{e}"));
            None
        }
    }
}
