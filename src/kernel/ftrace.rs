//! A diagnostic for divergences that depend on timing: with `MSGRING_FTRACE` naming a
//! mounted tracefs directory (e.g. `/sys/kernel/tracing`, with the kernel's io_uring
//! and scheduler events enabled by whoever set it up: `golden.sh` does with
//! `MSGRING_GOLDEN_FTRACE`), the kernel backend writes a marker line into the kernel's
//! trace for each step it applies and each settle it ends, and `check` stops the
//! kernel's tracing at the first trace it cannot explain, so the trace buffer ends
//! with that run's kernel events between the harness's own lines. Without the
//! variable nothing is opened and nothing is written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The tracefs directory, if `MSGRING_FTRACE` names one with a writable `trace_marker`.
fn ftrace() -> Option<&'static PathBuf> {
    static FTRACE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FTRACE
        .get_or_init(|| {
            let dir = PathBuf::from(std::env::var_os("MSGRING_FTRACE")?);
            match open_marker(&dir) {
                Ok(_) => Some(dir),
                Err(e) => {
                    eprintln!(
                        "msgring: MSGRING_FTRACE={}: cannot open trace_marker ({e}); no markers",
                        dir.display()
                    );
                    None
                }
            }
        })
        .as_ref()
}

/// Writes one marker line (the kernel caps a marker at about 4 KiB; longer lines are
/// cut there); formats nothing when markers are off.
pub(super) fn mark(line: std::fmt::Arguments<'_>) {
    if let Some(dir) = ftrace() {
        write_marker(dir, line);
    }
}

/// The marker file is opened for each line, in the calling thread's own fd table:
/// `check`'s jobs each have one (`own_fd_table`), so a descriptor kept open from
/// another thread would name one of that job's trace files there.
fn write_marker(dir: &Path, line: std::fmt::Arguments<'_>) {
    if let Ok(mut m) = open_marker(dir) {
        let _ = m.write_all(format!("msgring: {line}").as_bytes());
    }
}

fn open_marker(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("trace_marker"))
}

/// Stops the kernel's tracing (once: later calls change nothing), so what led up to
/// the first unexplained trace stays in the buffer.
pub(super) fn freeze(why: std::fmt::Arguments<'_>) {
    static FROZEN: OnceLock<()> = OnceLock::new();
    if let Some(dir) = ftrace() {
        if FROZEN.set(()).is_ok() {
            mark(format_args!("freeze: {why}"));
            let _ = std::fs::write(dir.join("tracing_on"), "0");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open descriptors of this process that name `path`.
    fn fds_on(path: &Path) -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == path))
            .count()
    }

    /// A marker is written whole and leaves no descriptor open behind it (one kept
    /// open would be a number of another job's fd table: a check run once hung
    /// writing markers into a trace's eventfd that way).
    #[test]
    fn a_marker_is_written_and_its_file_closed() {
        let dir = std::env::temp_dir().join(format!("msgring-ftrace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("trace_marker"), "").unwrap();
        write_marker(&dir, format_args!("step {}: {}", 3, "enter"));
        assert_eq!(fds_on(&dir.join("trace_marker")), 0);
        let got = std::fs::read_to_string(dir.join("trace_marker")).unwrap();
        assert_eq!(got, "msgring: step 3: enter");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
