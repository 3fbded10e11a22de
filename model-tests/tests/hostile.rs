//! Hostile input: every refusal is positioned (`file:line:col` with line and column at
//! least 1 and inside the input), says what is wrong in a bounded message (long tokens
//! cut), and nothing panics; the parse of a huge input stays within a bounded peak
//! memory, measured in a child process (VmHWM of /proc/self/status) so that this test
//! process's own allocations do not count.
//!
//! With the `real-backend` feature: a trace whose time budget runs out on the kernel
//! is compared up to there and says so (`KernelBackend::set_time_budget`).

use msgring::trace::{self, limits, ParseError};
use std::process::Command;

/// Parses `bytes` as `case.trace`, catching panics; the refusal must be positioned.
fn refused(case: &str, bytes: &[u8]) -> ParseError {
    let file = format!("{case}.trace");
    let r = std::panic::catch_unwind(|| trace::parse_bytes(&file, bytes));
    let r = r.unwrap_or_else(|_| panic!("{case}: the parser panicked"));
    let e = match r {
        Ok(_) => panic!("{case}: accepted"),
        Err(e) => e,
    };
    let lines = bytes.split(|&b| b == b'\n').count().max(1);
    assert_eq!(e.file, file, "{case}");
    assert!(
        e.line >= 1 && e.line as usize <= lines,
        "{case}: line {} of {lines}: {e}",
        e.line
    );
    assert!(e.col >= 1, "{case}: column {}: {e}", e.col);
    assert!(!e.message.is_empty(), "{case}");
    // The message quotes at most a short piece of the input.
    assert!(
        e.message.chars().count() < 400,
        "{case}: a {}-char message",
        e.message.len()
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{file}:{}:{}: ", e.line, e.col)),
        "{case}: {shown}"
    );
    e
}

fn header(rest: &str) -> Vec<u8> {
    format!("msgring-trace 1\n{rest}").into_bytes()
}

#[test]
fn non_utf8_is_refused_where_it_stands() {
    let cases: [(&str, Vec<u8>, u32, u32); 5] = [
        (
            "latin1_comment",
            b"msgring-trace 1\n# caf\xe9\n".to_vec(),
            2,
            6,
        ),
        (
            "lone_continuation",
            b"msgring-trace 1\nsetup r0 \x80entries=4\n".to_vec(),
            2,
            10,
        ),
        (
            "truncated_sequence",
            b"msgring-trace 1\nsetup r0 entries=4 # \xe2\x82".to_vec(),
            2,
            22,
        ),
        ("first_byte", b"\xff".to_vec(), 1, 1),
        // A valid multi-byte char before the bad byte counts as one column.
        (
            "after_utf8",
            "msgring-trace 1\n# é".bytes().chain([0xc3, 0x28]).collect(),
            2,
            4,
        ),
    ];
    for (case, bytes, line, col) in cases {
        let e = refused(case, &bytes);
        assert_eq!((e.line, e.col), (line, col), "{case}: {e}");
        assert!(e.message.contains("UTF-8"), "{case}: {e}");
    }
}

#[test]
fn control_characters_are_refused_comments_too() {
    for (case, text, col) in [
        ("nul_in_step", "setup r0 entries=4\0", 19),
        ("nul_in_comment", "setup r0 entries=4 # x\0y", 23),
        ("escape_in_comment", "# \x1b[2J clear the screen", 3),
        ("bell", "setup r0\x07 entries=4", 9),
        ("lone_cr", "setup r0 entries=4\rreap r0", 19),
        ("c1_control", "# \u{0085}", 3),
        ("delete", "setup r0 entries=4 # \x7f", 22),
    ] {
        let e = refused(case, &header(&format!("{text}\n")));
        assert_eq!((e.line, e.col), (2, col), "{case}: {e}");
        assert!(e.message.contains("control character"), "{case}: {e}");
    }
    // Tabs and CRLF line ends are fine.
    let ok = header("setup\tr0 entries=4\r\nreap r0\r\n");
    trace::parse_bytes("crlf.trace", &ok).expect("tabs and CRLF parse");
}

#[test]
fn long_tokens_are_cut_in_messages() {
    let long = "9".repeat(2_000_000);
    let cases = [
        ("number", format!("setup r0 entries={long}\n"), 18),
        ("name", format!("setup r{long} entries=4\n"), 7),
        ("keyword", format!("x{long}\n"), 1),
        ("errno", format!("file f0\nclose f0 => ret -E{long}\n"), 17),
    ];
    for (case, text, col) in cases {
        let e = refused(case, &header(&text));
        let line = if case == "errno" { 3 } else { 2 };
        assert_eq!((e.line, e.col), (line, col), "{case}: {e}");
        assert!(
            e.message.contains('…'),
            "{case}: the token is not cut: {}",
            &e.message[..e.message.len().min(200)]
        );
    }
}

#[test]
fn caps_are_refused_where_they_are_crossed() {
    // More steps than the limit.
    let mut t = String::from("setup r0 entries=4\n");
    for _ in 0..limits::MAX_STEPS {
        t.push_str("reap r0\n");
    }
    let e = refused("steps", &header(&t));
    assert_eq!(e.line as usize, limits::MAX_STEPS + 2, "{e}");
    // An input list over its cap.
    let list = vec!["-1"; limits::MAX_LIST + 1].join(", ");
    let e = refused(
        "file_list",
        &header(&format!("setup r0 entries=4\nregister_files r0 [{list}]\n")),
    );
    assert!(e.message.contains("list too long"), "{e}");
    // An outcome list over its cap: refused at the entry that crosses it.
    let cqes = vec!["ud=1 res=0 flags=0"; limits::MAX_OUTCOME_LIST + 1].join("; ");
    let e = refused(
        "cqe_list",
        &header(&format!("setup r0 entries=4\nreap r0 => cqes [{cqes}]\n")),
    );
    assert!(e.message.contains("list too long"), "{e}");
    assert_eq!(
        e.col as usize,
        "reap r0 => cqes [".len() + 1 + limits::MAX_OUTCOME_LIST * "ud=1 res=0 flags=0; ".len()
    );
    // A list of the kernel's length is fine: 2 000 overflowed messages can be annotated.
    let cqes = vec!["ud=1 res=0 flags=0"; 2000].join("; ");
    let t = header(&format!(
        "setup r0 entries=4\nobserve r0 => view overflow=[{cqes}]\n"
    ));
    trace::parse_bytes("long_overflow.trace", &t).expect("a 2000-entry overflow list parses");
    // All lists together over the trace's cap.
    let list = vec!["-1"; limits::MAX_LIST].join(", ");
    let mut t = String::from("setup r0 entries=4\n");
    for _ in 0..=limits::MAX_LIST_ENTRIES / limits::MAX_LIST {
        t.push_str(&format!("update_files r0 off=0 [{list}]\n"));
    }
    let e = refused("entries", &header(&t));
    assert!(e.message.contains("too many list entries"), "{e}");
    // A line over its cap.
    let line = format!("# {}\n", "x".repeat(limits::MAX_LINE_BYTES));
    let e = refused("line", &header(&line));
    assert_eq!(
        (e.line, e.col as usize),
        (2, limits::MAX_LINE_BYTES + 1),
        "{e}"
    );
    // The input over its cap: refused at the byte that crosses it.
    let mut big = header("");
    while big.len() <= limits::MAX_INPUT_BYTES {
        big.extend_from_slice(b"# a comment line that is not very long\n");
    }
    let e = refused("input", &big);
    assert!(e.message.contains("longer than the limit"), "{e}");
    let before = &big[..limits::MAX_INPUT_BYTES];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.len() - before.iter().rposition(|&b| b == b'\n').unwrap();
    assert_eq!((e.line as usize, e.col as usize), (line, col), "{e}");
}

#[test]
fn random_garbage_never_panics_and_is_positioned() {
    // A deterministic PRNG over bytes biased towards the grammar's characters.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"msgring-trace 1\nsetup r0 entries=4 push(=,)[];|:#=>\x00\xff\xc3\t\r0x-E";
    for i in 0..3000 {
        let len = (next() % 200) as usize;
        let mut b = b"msgring-trace 1\n".to_vec();
        for _ in 0..len {
            b.push(alphabet[(next() % alphabet.len() as u64) as usize]);
        }
        let case = format!("garbage{i}");
        let r = std::panic::catch_unwind(|| trace::parse_bytes("g.trace", &b));
        match r {
            Err(_) => panic!("{case}: panic on {b:?}"),
            Ok(Ok(t)) => {
                // Whatever parses prints and reparses to itself.
                assert_eq!(trace::parse(&t.to_string()).as_ref(), Ok(&t), "{case}");
            }
            Ok(Err(_)) => {
                refused(&case, &b);
            }
        }
    }
}

/// The hostile inputs whose memory is measured, by name: each builds its bytes.
fn big_input(case: &str) -> Vec<u8> {
    match case {
        // The example: a 37 MB trace of file lists (refused at 16 MiB).
        "file_lists_37mb" => {
            let list = vec!["f0"; 1000].join(", ");
            let mut t = String::from("msgring-trace 1\nfile f0\nsetup r0 entries=4\n");
            while t.len() < 37_000_000 {
                t.push_str(&format!("update_files r0 off=0 [{list}]\n"));
            }
            t.into_bytes()
        }
        // Just under the input cap, refused at the list-entry cap.
        "file_lists_15mib" => {
            let list = vec!["f0"; 1000].join(", ");
            let mut t = String::from("msgring-trace 1\nfile f0\nsetup r0 entries=4\n");
            while t.len() < 15 << 20 {
                t.push_str(&format!("update_files r0 off=0 [{list}]\n"));
            }
            t.into_bytes()
        }
        // One line of 2 MiB of one-letter words: the most tokens a line can have.
        "tokens_2mib_line" => {
            let mut t = String::from("msgring-trace 1\nsetup ");
            while t.len() < (2 << 20) - 2 {
                t.push_str("a ");
            }
            t.push('\n');
            t.into_bytes()
        }
        // Accepted: 10 000 steps, the longest outcome lists the entry cap allows.
        "outcomes_accepted" => {
            let cqes = vec!["ud=0x1234 res=-22 flags=0"; 26].join("; ");
            let mut t = String::from("msgring-trace 1\nsetup r0 entries=4\n");
            for _ in 0..limits::MAX_STEPS - 1 {
                t.push_str(&format!("reap r0 => cqes [{cqes}]\n"));
            }
            t.into_bytes()
        }
        _ => panic!("no such case {case}"),
    }
}

const CASES: [&str; 4] = [
    "file_lists_37mb",
    "file_lists_15mib",
    "tokens_2mib_line",
    "outcomes_accepted",
];

/// `VmHWM` of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The child: builds one case's input, reports the peak before and after parsing it.
#[test]
fn hostile_child() {
    let Ok(case) = std::env::var("MSGRING_HOSTILE_CASE") else {
        return; // Run by the parent only.
    };
    let bytes = big_input(&case);
    let before = peak_kib();
    let r = trace::parse_bytes("big.trace", &bytes);
    let after = peak_kib();
    let verdict = match &r {
        Ok(t) => format!("accepted {} steps", t.steps.len()),
        Err(e) => format!("refused {e}"),
    };
    println!(
        "HOSTILE {case} input={} before={before} after={after} {verdict}",
        bytes.len()
    );
}

#[test]
fn parsing_hostile_input_takes_bounded_memory() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("!!!!! hostile: memory SKIPPED: no /proc (not Linux) !!!!!");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    for case in CASES {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "hostile_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MSGRING_HOSTILE_CASE", case)
            .output()
            .expect("child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{case}: child failed:\n{text}");
        let line = text
            .lines()
            .find_map(|l| l.find("HOSTILE ").map(|i| &l[i..]))
            .unwrap_or_else(|| panic!("{case}: no report:\n{text}"));
        eprintln!("{line}");
        let field = |k: &str| -> u64 {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{case}: no {k} in {line}"))
        };
        let (input, before, after) = (field("input="), field("before="), field("after="));
        // The parse's own peak: what it added over the input it was given.
        let grown = after.saturating_sub(before);
        assert!(
            grown < 128 * 1024,
            "{case}: parsing a {input}-byte input raised the peak by {grown} KiB"
        );
        match case {
            "file_lists_37mb" => assert!(line.contains("longer than the limit"), "{line}"),
            "file_lists_15mib" => assert!(line.contains("too many list entries"), "{line}"),
            "tokens_2mib_line" => assert!(line.contains("refused"), "{line}"),
            _ => assert!(line.contains("accepted"), "{line}"),
        }
    }
}

#[cfg(feature = "real-backend")]
#[test]
fn a_trace_out_of_time_is_compared_up_to_there() {
    use msgring::kernel::{self, KernelBackend};
    use std::time::Duration;
    let Ok(mut kb) = KernelBackend::new() else {
        if std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1") {
            panic!("kernel backend unavailable (MSGRING_REQUIRE_KERNEL=1)");
        }
        eprintln!("!!!!! hostile: time budget SKIPPED: no kernel backend !!!!!");
        return;
    };
    let t = trace::parse(
        "msgring-trace 1\nsetup r0 entries=4\nenter r0 min_complete=1 flags=GETEVENTS\nreap r0\n",
    )
    .unwrap();
    // A budget of zero has run out before the first step: the kernel side reports
    // every step as unmodelled, and the comparison stops at step 0 with the reason.
    kb.set_time_budget(Some(Duration::ZERO));
    let d = kernel::diff_trace_on(&t, msgring::Profile::V6_18, &mut kb);
    assert!(d.ran_out_of_time(), "{:?}", d.stopped);
    assert_eq!(d.stopped.as_ref().map(|s| s.0), Some(0));
    assert_eq!(d.divergence, None);
    assert!(d.kernel.notes[0]
        .as_deref()
        .is_some_and(|n| n.contains(kernel::OUT_OF_TIME)));
    // Without a budget the same backend (reset) runs the trace to the end.
    kb.reset().unwrap();
    kb.set_time_budget(None);
    let d = kernel::diff_trace_on(&t, msgring::Profile::V6_18, &mut kb);
    assert!(!d.ran_out_of_time());
    assert_eq!(d.compared, 3, "{:?}", d);
}
