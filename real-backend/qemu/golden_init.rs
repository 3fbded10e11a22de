//! /init of the golden-trace initramfs (see `golden.sh`). Built by `golden.sh` with plain
//! `rustc` as a static binary: std only, libc calls declared by hand, so it needs no crate.
//!
//! As PID 1 it mounts /proc and /sys, writes 0 to `/proc/sys/kernel/io_uring_disabled`
//! when that sysctl exists, picks the model profile from the running kernel's release
//! (`6.1.192`, `6.18.15`, `7.3.4`: every release from 5.18 on), and for each run directory `/golden/runs/NAME`
//! (sorted) runs `/golden/msgring` with the arguments in `NAME/args` (one per line;
//! `@PROFILE@` is replaced by the profile, `@TRACES@` by every `NAME/traces/*.trace`,
//! sorted). The child's stdout lines are printed as `O|line`, its stderr lines as
//! `E|line`, so the host can take them apart from kernel messages on the same console.
//! Each run ends with `GOLDEN-EXIT NAME <status>`; then it prints `GOLDEN-END` and
//! `MSGRING-END`, and powers off. A watchdog kills a child still running when the
//! seconds in `/golden/timeout` (default 200, for all runs together) are up and reports
//! `GOLDEN-EXIT NAME timeout`, after printing each of its threads (state, `wchan`,
//! kernel stack) as `S|` lines.
//!
//! With a file `/golden/ftrace` (golden.sh writes it from `MSGRING_GOLDEN_FTRACE`), it
//! mounts tracefs, enables the kernel trace events listed there (one per line,
//! `system:event` or `system:*`, optionally followed by ` if FILTER`), and runs msgring with
//! `MSGRING_FTRACE` set so msgring marks its steps in the kernel's trace and stops
//! tracing at the first trace it cannot explain. If tracing was stopped, the last
//! `FTRACE_TAIL` lines of the trace are printed as `T|line` before `GOLDEN-END`.
//!
//! Console output:
//! ```text
//! GOLDEN-BEGIN
//! GOLDEN-INFO release=6.12.117+deb12-amd64 profile=6.12 io_uring_disabled=was-0
//! GOLDEN-RUN full
//! GOLDEN-CMD /golden/msgring --json diff ...
//! O|...
//! GOLDEN-TIME ms=5321
//! GOLDEN-EXIT full 1
//! GOLDEN-TIME ms=5400
//! GOLDEN-END
//! MSGRING-END
//! ```

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::os::raw::{c_char, c_int, c_ulong, c_void};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

extern "C" {
    fn mount(
        src: *const c_char,
        target: *const c_char,
        fstype: *const c_char,
        flags: c_ulong,
        data: *const c_void,
    ) -> c_int;
    fn reboot(cmd: c_int) -> c_int;
    fn sync();
}

const RB_POWER_OFF: c_int = 0x4321_fedc_u32 as c_int;

fn say(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn mnt(src: &str, target: &str, fstype: &str) {
    let _ = std::fs::create_dir_all(target);
    let (s, t, f) = (
        CString::new(src).unwrap(),
        CString::new(target).unwrap(),
        CString::new(fstype).unwrap(),
    );
    // SAFETY: valid NUL-terminated strings, no data argument.
    let r = unsafe { mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        say(&format!(
            "GOLDEN-INFO mount {target}: {}",
            std::io::Error::last_os_error()
        ));
    }
}

fn power_off() -> ! {
    // SAFETY: plain system calls; as PID 1 reboot() does not return on success.
    unsafe {
        sync();
        reboot(RB_POWER_OFF);
    }
    // Not PID 1 (a test run on the host) or reboot refused: just exit.
    std::process::exit(0)
}

/// The model profile (`msgring --kernel` value) for the running kernel: its release
/// `MAJOR.MINOR.PATCH`, so that stable backports count. Debian's 6.1 release string is
/// an ABI name (`6.1.0-57-amd64`) without the stable patch level; `/proc/version` ends
/// with the package version (`... Debian 6.1.192-3 (2026-...)`), which has it. `None`
/// below 5.18 (no MSG_RING). Same reading as `msgring::KernelVersion::from_release`.
fn profile_for(release: &str, proc_version: &str) -> Option<String> {
    let numbers = |s: &str| -> Vec<u32> {
        s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .unwrap_or("")
            .split('.')
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    let mut v = numbers(release);
    if v.len() < 2 || (v[0], v[1]) < (5, 18) {
        return None;
    }
    if v.get(2).is_none_or(|&p| p == 0) {
        // The Debian package version, if it is the same line.
        if let Some(i) = proc_version.find(" Debian ") {
            let d = numbers(&proc_version[i + 8..]);
            if d.len() >= 3 && d[0] == v[0] && d[1] == v[1] {
                v = d;
            }
        }
    }
    Some(match v.get(2) {
        Some(&p) if p != 0 => format!("{}.{}.{p}", v[0], v[1]),
        _ => format!("{}.{}", v[0], v[1]),
    })
}

fn main() {
    let pid1 = std::process::id() == 1;
    say("GOLDEN-BEGIN");
    if pid1 {
        mnt("proc", "/proc", "proc");
        mnt("sysfs", "/sys", "sysfs");
        mnt("tmpfs", "/tmp", "tmpfs");
        // /dev/null and friends (the initramfs has only /dev/console).
        mnt("devtmpfs", "/dev", "devtmpfs");
    }
    let ctl = "/proc/sys/kernel/io_uring_disabled";
    let disabled = match std::fs::read_to_string(ctl) {
        // Not PID 1 (the host run): report the sysctl, leave it alone.
        Ok(v) if !pid1 => v.trim().to_string(),
        Ok(v) => {
            let was = v.trim().to_string();
            match std::fs::write(ctl, "0") {
                Ok(()) => format!("was-{was}"),
                Err(e) => format!("was-{was}-write-failed:{e}"),
            }
        }
        Err(_) => "absent".into(),
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let proc_version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    let profile = profile_for(&release, &proc_version);
    say(&format!(
        "GOLDEN-INFO release={release} profile={} io_uring_disabled={disabled}",
        profile.as_deref().unwrap_or("none")
    ));

    let root = std::env::var("GOLDEN_ROOT").unwrap_or_else(|_| "/golden".into());
    let secs: u64 = std::fs::read_to_string(format!("{root}/timeout"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(200);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut runs: Vec<String> = list(&format!("{root}/runs"), "");
    runs.sort();
    let tracing = std::fs::read_to_string(format!("{root}/ftrace"))
        .ok()
        .and_then(|events| start_ftrace(&events));
    for dir in &runs {
        let name = dir.rsplit('/').next().unwrap_or(dir);
        say(&format!("GOLDEN-RUN {name}"));
        let status = run_one(&root, dir, profile.as_deref(), &release, deadline, tracing);
        say(&format!("GOLDEN-EXIT {name} {status}"));
    }
    if let Some(dir) = tracing {
        dump_ftrace(dir);
    }
    say(&format!("GOLDEN-TIME ms={}", start.elapsed().as_millis()));
    say("GOLDEN-END");
    say("MSGRING-END");
    if pid1 {
        power_off();
    }
}

/// Where tracefs is mounted in the guest.
const TRACEFS: &str = "/sys/kernel/tracing";

/// How many lines of the kernel trace `dump_ftrace` prints.
const FTRACE_TAIL: usize = 12_000;

/// Mounts tracefs and enables `events` (see the module doc); the tracefs directory, or
/// `None` (said on the console) when that failed.
fn start_ftrace(events: &str) -> Option<&'static str> {
    mnt("tracefs", TRACEFS, "tracefs");
    let put = |file: &str, v: &str| {
        std::fs::write(format!("{TRACEFS}/{file}"), v)
            .map_err(|e| say(&format!("GOLDEN-INFO ftrace: {file} <- {v}: {e}")))
            .is_ok()
    };
    if !put("tracing_on", "0") || !put("buffer_size_kb", "8192") || !put("trace", "") {
        return None;
    }
    for line in events.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (event, filter) = match line.split_once(" if ") {
            Some((e, f)) => (e.trim(), Some(f.trim())),
            None => (line, None),
        };
        let Some((sys, name)) = event.split_once(':') else {
            say(&format!("GOLDEN-INFO ftrace: {event}: want system:event"));
            continue;
        };
        let base = match name {
            "*" => format!("events/{sys}"),
            _ => format!("events/{sys}/{name}"),
        };
        if let Some(f) = filter {
            put(&format!("{base}/filter"), f);
        }
        put(&format!("{base}/enable"), "1");
    }
    put("tracing_on", "1").then(|| {
        say("GOLDEN-INFO ftrace: on");
        TRACEFS
    })
}

/// Prints the tail of the kernel trace if msgring stopped tracing (it found a trace it
/// could not explain).
fn dump_ftrace(dir: &str) {
    let on = std::fs::read_to_string(format!("{dir}/tracing_on")).unwrap_or_default();
    if on.trim() != "0" {
        say("GOLDEN-INFO ftrace: still on (nothing unexplained): not dumped");
        return;
    }
    let text = std::fs::read_to_string(format!("{dir}/trace")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let from = lines.len().saturating_sub(FTRACE_TAIL);
    say(&format!("GOLDEN-INFO ftrace: dumping {} of {} lines", lines.len() - from, lines.len()));
    for l in &lines[from..] {
        say(&format!("T|{l}"));
    }
}

/// Prints every thread of `pid` with its state, `wchan` and kernel stack (`S|` lines):
/// what a hung child was doing when the watchdog fired.
fn dump_threads(pid: u32) {
    let base = format!("/proc/{pid}/task");
    let mut tids = list(&base, "");
    tids.sort();
    for t in tids {
        let read = |f: &str| std::fs::read_to_string(format!("{t}/{f}")).unwrap_or_default();
        let stat = read("stat");
        let comm_state = stat
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(comm, rest)| format!("{comm} {}", rest.split_whitespace().next().unwrap_or("?")))
            .unwrap_or_default();
        let tid = t.rsplit('/').next().unwrap_or("?");
        say(&format!("S|{tid} {comm_state} wchan={}", read("wchan").trim()));
        for l in read("stack").lines() {
            say(&format!("S|  {l}"));
        }
    }
}

/// Paths in `dir` whose names end with `suffix`.
fn list(dir: &str, suffix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().to_string_lossy().into_owned())
                .filter(|p| p.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `{root}/msgring` with `{dir}/args` over `{dir}/traces/*.trace`; returns the
/// exit status (or why there is none).
fn run_one(
    root: &str,
    dir: &str,
    profile: Option<&str>,
    release: &str,
    deadline: Instant,
    tracing: Option<&str>,
) -> String {
    let args_txt = std::fs::read_to_string(format!("{dir}/args")).unwrap_or_default();
    let mut traces = list(&format!("{dir}/traces"), ".trace");
    traces.sort();
    let mut args = Vec::new();
    for a in args_txt.lines().filter(|l| !l.is_empty()) {
        match a {
            "@TRACES@" => args.extend(traces.iter().cloned()),
            "@PROFILE@" => match profile {
                Some(p) => args.push(p.to_string()),
                None => {
                    say(&format!("GOLDEN-ERROR no model profile for kernel {release}"));
                    return "noprofile".into();
                }
            },
            a => args.push(a.to_string()),
        }
    }
    let bin = format!("{root}/msgring");
    say(&format!("GOLDEN-CMD {bin} {}", args.join(" ")));
    let start = Instant::now();
    let mut cmd = Command::new(&bin);
    if let Some(dir) = tracing {
        cmd.env("MSGRING_FTRACE", dir);
    }
    let status = match cmd
        .args(&args)
        // TCG guests are slow to wake threads: allow the kernel 10x longer to catch up
        // with the model (kernel::Settle); the host run keeps the defaults.
        .env(
            "MSGRING_SETTLE_SCALE",
            if std::process::id() == 1 { "10" } else { "1" },
        )
        // Not Stdio::null(): that opens /dev/null, which a kernel without devtmpfs lacks.
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Err(e) => format!("spawn-failed:{e}"),
        Ok(mut child) => {
            let (tx, rx) = mpsc::channel::<String>();
            let out = child.stdout.take().unwrap();
            let err = child.stderr.take().unwrap();
            let tx2 = tx.clone();
            let to = std::thread::spawn(move || {
                for l in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(format!("O|{l}"));
                }
            });
            let te = std::thread::spawn(move || {
                for l in BufReader::new(err).lines().map_while(Result::ok) {
                    let _ = tx2.send(format!("E|{l}"));
                }
            });
            let mut timed_out = false;
            // Print lines as they come until both pipes close or the deadline passes.
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    timed_out = true;
                    break;
                }
                match rx.recv_timeout(left.min(Duration::from_millis(500))) {
                    Ok(l) => say(&l),
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            if timed_out {
                dump_threads(child.id());
                let _ = child.kill();
                let _ = child.wait();
                "timeout".to_string()
            } else {
                let _ = to.join();
                let _ = te.join();
                match child.wait() {
                    Ok(s) => match s.code() {
                        Some(c) => c.to_string(),
                        None => format!("signal:{s}"),
                    },
                    Err(e) => format!("wait-failed:{e}"),
                }
            }
        }
    };
    say(&format!("GOLDEN-TIME ms={}", start.elapsed().as_millis()));
    status
}
