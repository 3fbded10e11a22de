//! Kernel-matrix runner: a fixed list of MSG_RING scenarios on the running
//! kernel, one `RESULT <scenario> key=value ...` line each, between
//! `MSGRING-BEGIN` and `MSGRING-END`.
//!
//! The same binary runs on the host and, statically linked, as `/init` of a
//! QEMU guest (see `real-backend/qemu/`). As PID 1 it mounts /proc, sets
//! `kernel.io_uring_disabled=0` when that sysctl exists, runs the scenarios
//! and powers the machine off.
//!
//! Output rules (so three kernels' outputs diff line by line):
//! * Only `RESULT` lines are compared. `INFO` lines carry things that are
//!   expected to differ (kernel release, timings).
//! * Values never contain spaces. Errors are `-ENAME` (or the raw number),
//!   CQEs are `ud:res:flags` with flags in hex, lists are comma separated,
//!   `-` is an empty list.
//! * A scenario that panics prints `RESULT <group> panic=<message>`.
//!
//! Run on the host: cargo run -p msgring-real-backend --example guest_runner
//! Scenario numbers `fNN` follow section 7 of the MSG_RING reference.
use msgring_real_backend::consts::*;
use msgring_real_backend::sqe::*;
use msgring_real_backend::*;
use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

const T0: TaskId = TaskId(0);
const MS: Duration = Duration::from_millis(1);

// ---- output ------------------------------------------------------------

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

macro_rules! result {
    ($name:expr, $($arg:tt)*) => {
        out(&format!("RESULT {} {}", $name, format!($($arg)*)))
    };
}

/// `-ENAME` for the errnos MSG_RING can produce, the number otherwise.
fn e(v: i32) -> String {
    if v >= 0 {
        return v.to_string();
    }
    if v == HOST_REFUSED {
        return "HOST_REFUSED".into();
    }
    let name = match -v {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOSYS => "ENOSYS",
        libc::ETIME => "ETIME",
        libc::EBADR => "EBADR",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EBADFD => "EBADFD",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ECANCELED => "ECANCELED",
        libc::EOWNERDEAD => "EOWNERDEAD",
        _ => return v.to_string(),
    };
    format!("-{name}")
}

fn cqe(c: &Cqe) -> String {
    format!("{}:{}:{:#x}", c.user_data, e(c.res), c.flags)
}

fn cqes(v: &[Cqe]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter().map(cqe).collect::<Vec<_>>().join(",")
}

/// Target-side CQEs: `res` is whatever the sender put in `len`, so raw numbers.
fn tcqes(v: &[Cqe]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter()
        .map(|c| format!("{}:{}:{:#x}", c.user_data, c.res, c.flags))
        .collect::<Vec<_>>()
        .join(",")
}

fn list<T: ToString>(v: &[T]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

// ---- ring helpers --------------------------------------------------------

fn ring(h: &mut Host, t: TaskId, entries: u32, cq: u32, flags: u32) -> Vfd {
    let flags = if cq > 0 { flags | SETUP_CQSIZE } else { flags };
    match h.setup_ring(t, entries, cq, flags) {
        Ok(v) => v,
        Err(err) => panic!("setup_ring({entries},{cq},{flags:#x})={}", e(err)),
    }
}

/// Push `sqes` to `a` and submit them from task 0.
fn submit(h: &mut Host, a: Vfd, sqes: &[[u8; 64]]) -> i32 {
    submit_on(h, T0, a, sqes)
}

fn submit_on(h: &mut Host, t: TaskId, a: Vfd, sqes: &[[u8; 64]]) -> i32 {
    for s in sqes {
        h.push_sqe(a, *s).expect("push_sqe");
    }
    let sqpoll = h.ring_info(a).is_some_and(|i| i.flags & SETUP_SQPOLL != 0);
    let flags = if sqpoll { ENTER_SQ_WAKEUP } else { 0 };
    h.enter(t, a, sqes.len() as u32, 0, flags, Duration::ZERO)
}

/// Reap `ring` until `n` CQEs came or `ms` passed; waits with
/// enter(GETEVENTS) on task `t` between attempts.
fn collect(h: &mut Host, t: TaskId, r: Vfd, n: usize, ms: u64) -> Vec<Cqe> {
    let deadline = Instant::now() + Duration::from_millis(ms);
    let mut got = h.reap(r, 1024);
    while got.len() < n && Instant::now() < deadline {
        h.enter(t, r, 0, 1, ENTER_GETEVENTS, 10 * MS);
        got.extend(h.reap(r, 1024));
    }
    got
}

/// Everything that shows up on `r` (owned by `t`) after a GETEVENTS drain.
fn drain(h: &mut Host, t: TaskId, r: Vfd) -> Vec<Cqe> {
    let mut got = h.reap(r, 1024);
    for _ in 0..64 {
        h.enter(t, r, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
        let more = h.reap(r, 1024);
        if more.is_empty() && h.cq_ready(r) == 0 {
            let ovf = h.overflow_list(r).map(|l| l.len()).unwrap_or(0);
            if ovf == 0 {
                break;
            }
        }
        got.extend(more);
    }
    got
}

/// One SQE on a fresh plain source ring -> (src CQEs, tgt CQEs).
fn one(h: &mut Host, a: Vfd, b: Vfd, s: [u8; 64]) -> (Vec<Cqe>, Vec<Cqe>) {
    submit(h, a, &[s]);
    let src = collect(h, T0, a, 1, 200);
    let tgt = if a == b { vec![] } else { drain(h, T0, b) };
    (src, tgt)
}

fn raw_data(target: Vfd) -> Sqe {
    Sqe {
        opcode: OP_MSG_RING,
        fd: target.0 as i32,
        addr: MSG_DATA,
        len: 33,
        off: 0x1234,
        user_data: 1,
        ..Sqe::default()
    }
}

fn raw_fd(target: Vfd, src_slot: u64, file_index: u32) -> Sqe {
    Sqe {
        opcode: OP_MSG_RING,
        fd: target.0 as i32,
        addr: MSG_SEND_FD,
        off: 0x99,
        addr3: src_slot,
        file_index,
        user_data: 1,
        ..Sqe::default()
    }
}

// ---- file-table observation ----------------------------------------------

/// Labels the memfds a scenario created so fixed-file slots can be named.
struct Names {
    by_ino: HashMap<(u64, u64), String>,
}

impl Names {
    fn new(h: &Host, files: &[(&str, Vfd)]) -> Names {
        let mut by_ino = HashMap::new();
        for (name, v) in files {
            if let Some(id) = h.file_identity(*v) {
                by_ino.insert((id.dev, id.ino), name.to_string());
            }
        }
        Names { by_ino }
    }
}

/// The file table of `r` as `n=<len>` and one label per slot: `_` empty,
/// a memfd label from `names`, `?` anything else. Read with the library's fdinfo
/// parser ([`msgring_real_backend::fdinfo`]), which knows the 6.1/6.12 format
/// (`<none>`, dentry names) and the 6.18 one (paths).
fn slots(h: &Host, r: Vfd, names: &Names) -> String {
    let Some(table) = h.file_table(r) else {
        return "fdinfo-unreadable".into();
    };
    let n = table.len();
    let v: Vec<String> = table
        .iter()
        .take(64)
        .map(|s| match s {
            None => "_".into(),
            Some(id) => names
                .by_ino
                .get(&(id.dev, id.ino))
                .cloned()
                .unwrap_or_else(|| "?".into()),
        })
        .collect();
    format!("n={n}[{}]", v.join(","))
}

// ---- scenarios ------------------------------------------------------------

fn info() {
    match probe() {
        Ok(k) => {
            out(&format!(
                "INFO kernel={} version={}.{}.{}",
                k.release, k.version.0, k.version.1, k.version.2
            ));
            result!(
                "probe",
                "features={:#x} msg_ring_op={}",
                k.features,
                k.supports_op(OP_MSG_RING)
            );
        }
        Err(u) => result!("probe", "unavailable={}", u.reason.replace(' ', "_")),
    }
}

fn setup_flags() {
    let si = SETUP_SINGLE_ISSUER;
    let cases: &[(&str, u32)] = &[
        ("defer_no_si", SETUP_DEFER_TASKRUN),
        ("defer_si", SETUP_DEFER_TASKRUN | si),
        ("sqpoll_defer_si", SETUP_SQPOLL | SETUP_DEFER_TASKRUN | si),
        ("iopoll_defer_si", SETUP_IOPOLL | SETUP_DEFER_TASKRUN | si),
        ("coop_taskrun_flag", SETUP_COOP_TASKRUN | SETUP_TASKRUN_FLAG),
        ("taskrun_flag_alone", SETUP_TASKRUN_FLAG),
        ("cqe32", SETUP_CQE32),
        ("sqe128", SETUP_SQE128),
        ("no_sqarray", SETUP_NO_SQARRAY),
        ("hybrid_iopoll", SETUP_HYBRID_IOPOLL),
        ("hybrid_iopoll_iopoll", SETUP_HYBRID_IOPOLL | SETUP_IOPOLL),
        ("cqe_mixed", SETUP_CQE_MIXED),
    ];
    for (name, fl) in cases {
        let r = try_setup(4, 0, *fl);
        let v = match r {
            Ok((s, c)) => format!("ok:{s}:{c}"),
            Err(x) => e(x),
        };
        result!(format!("setup.{name}"), "r={v}");
    }
}

/// Findings 1-5: MSG_DATA basics, CQE_SKIP, FLAGS_PASS, error codes, self order.
fn data_basics() {
    let mut h = Host::new().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    let b = ring(&mut h, T0, 16, 0, 0);
    let b32 = ring(&mut h, T0, 16, 0, SETUP_CQE32);

    let (s, t) = one(&mut h, a, b, msg_data(b.0, 33, 0x1234, 1));
    result!("f01.data_basic", "src={} tgt={}", cqes(&s), tcqes(&t));
    let (s, t) = one(&mut h, a, b, msg_data(b.0, u32::MAX, 7, 1));
    result!("f01.data_len_u32max", "src={} tgt={}", cqes(&s), tcqes(&t));
    let mut q = raw_data(b);
    q.addr = 1 << 32;
    let (s, t) = one(&mut h, a, b, q.to_bytes());
    result!("f01.data_addr_hi32", "src={} tgt={}", cqes(&s), tcqes(&t));

    let mut q = raw_data(b);
    q.op_flags = MSG_RING_CQE_SKIP;
    let (s, t) = one(&mut h, a, b, q.to_bytes());
    result!("f02.data_cqe_skip", "src={} tgt={}", cqes(&s), tcqes(&t));

    for (name, fl) in [
        ("f03.flags_pass_ffffffff", u32::MAX),
        ("f03.flags_pass_f_more", 2),
        ("f03.flags_pass_5a0000", 0x5a0000),
        ("f03.flags_pass_zero", 0),
        ("f03.flags_pass_f32_bit15", 1 << 15),
    ] {
        let mut q = raw_data(b);
        q.op_flags = MSG_RING_FLAGS_PASS;
        q.file_index = fl;
        let (s, t) = one(&mut h, a, b, q.to_bytes());
        result!(name, "src={} tgt={}", cqes(&s), tcqes(&t));
    }
    let mut q = raw_data(b32);
    q.op_flags = MSG_RING_FLAGS_PASS;
    q.file_index = 1 << 15;
    let (s, t) = one(&mut h, a, b32, q.to_bytes());
    let big: Vec<String> = t
        .iter()
        .map(|c| format!("{:x}/{:x}", c.big[0], c.big[1]))
        .collect();
    result!(
        "f03.flags_pass_f32_to_cqe32",
        "src={} tgt={} big={}",
        cqes(&s),
        tcqes(&t),
        list(&big)
    );
    let mut q = raw_data(b);
    q.file_index = 5;
    let (s, t) = one(&mut h, a, b, q.to_bytes());
    result!(
        "f03.data_file_index_no_pass",
        "src={} tgt={}",
        cqes(&s),
        tcqes(&t)
    );

    // Finding 4: error codes.
    let (pr, pw) = h.create_pipe().unwrap();
    let ev = h.create_eventfd().unwrap();
    let _ = pw;
    for (name, tgt) in [
        ("f04.target_pipe", pr),
        ("f04.target_eventfd", ev),
        ("f04.target_unopened", Vfd(9999)),
    ] {
        let (s, _) = one(&mut h, a, a, msg_data(tgt.0, 0, 1, 1));
        result!(name, "src={}", cqes(&s));
    }
    let mut q = raw_data(b);
    q.fd = -1;
    let (s, _) = one(&mut h, a, a, q.to_bytes());
    result!("f04.target_fd_minus1", "src={}", cqes(&s));

    type Tweak = fn(&mut Sqe);
    let tweaks: &[(&str, Tweak)] = &[
        ("f04.bad_msg_ring_flags_bit2", |q| q.op_flags = 1 << 2),
        ("f04.cmd_2", |q| q.addr = 2),
        ("f04.buf_index_1", |q| q.buf_index = 1),
        ("f04.personality_1", |q| q.personality = 1),
        ("f04.data_addr3_1", |q| q.addr3 = 1),
        ("f04.ioprio_1", |q| q.ioprio = 1),
        ("f04.pad2_1", |q| q.pad2 = 1),
        ("f04.iosqe_io_drain", |q| q.flags = IOSQE_IO_DRAIN),
        ("f04.iosqe_buffer_select", |q| q.flags = 1 << 5),
        ("f04.iosqe_unknown_bit7", |q| q.flags = 1 << 7),
    ];
    for (name, f) in tweaks {
        let mut q = raw_data(b);
        f(&mut q);
        let (s, t) = one(&mut h, a, b, q.to_bytes());
        result!(name, "src={} tgt={}", cqes(&s), tcqes(&t));
    }

    // R_DISABLED target (plain and DEFER), DATA then ENABLE_RINGS.
    for (name, fl) in [
        ("f04.r_disabled_plain", SETUP_R_DISABLED),
        (
            "f04.r_disabled_defer",
            SETUP_R_DISABLED | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
        ),
    ] {
        let d = ring(&mut h, T0, 4, 0, fl);
        let (s, t) = one(&mut h, a, d, msg_data(d.0, 5, 6, 1));
        let en = h.enable_rings(T0, d);
        let (s2, t2) = one(&mut h, a, d, msg_data(d.0, 7, 8, 2));
        result!(
            name,
            "src={} tgt={} enable={} after_enable_src={} after_enable_tgt={}",
            cqes(&s),
            tcqes(&t),
            e(en),
            cqes(&s2),
            tcqes(&t2)
        );
    }

    // SEND_FD to an R_DISABLED target (B4).
    let m0 = h.create_regular_file().unwrap();
    let names = Names::new(&h, &[("m0", m0)]);
    let src = ring(&mut h, T0, 4, 0, 0);
    assert_eq!(h.register_files(T0, src, &[Some(m0)]), 0);
    for (name, fl) in [
        ("f04.send_fd_r_disabled_plain", SETUP_R_DISABLED),
        (
            "f04.send_fd_r_disabled_defer",
            SETUP_R_DISABLED | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
        ),
    ] {
        let d = ring(&mut h, T0, 4, 0, fl);
        let reg = h.register_files_sparse(T0, d, 2);
        let (s, t) = one(&mut h, src, d, msg_send_fd(d.0, 0, 0, 5, 1));
        let en = h.enable_rings(T0, d);
        let t2 = drain(&mut h, T0, d);
        result!(
            name,
            "register={} src={} tgt={} enable={} tgt_after_enable={} table={}",
            e(reg),
            cqes(&s),
            tcqes(&t),
            e(en),
            tcqes(&t2),
            slots(&h, d, &names)
        );
    }

    // Finding 5: self message order.
    let (s, _) = one(&mut h, a, a, msg_data(a.0, 3, 0x77, 0x55));
    result!("f05.self_order", "cq={}", cqes(&s));
}

/// Finding 6: full target CQ -> overflow list, FIFO.
fn overflow() {
    let mut h = Host::new().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    let b = ring(&mut h, T0, 1, 2, 0);
    let mut srcs = Vec::new();
    for i in 0..10u64 {
        submit(&mut h, a, &[msg_data(b.0, i as u32, 100 + i, i)]);
        srcs.extend(collect(&mut h, T0, a, 1, 200));
    }
    let all_zero = srcs.len() == 10 && srcs.iter().all(|c| c.res == 0);
    let ovf = h.overflow_list(b).map(|l| l.len());
    result!(
        "f06.overflow_cq2_10msgs",
        "src_all_zero={} sq_cq_overflow={} cq_overflow_counter={} cq_ready={} ovf_list={:?}",
        all_zero,
        h.sq_flags(b) & SQ_CQ_OVERFLOW != 0,
        h.cq_overflow(b),
        h.cq_ready(b),
        ovf
    );
    let mut seq = h.reap(b, 16);
    let after_reap_no_enter = h.cq_ready(b);
    let flag_after_reap = h.sq_flags(b) & SQ_CQ_OVERFLOW != 0;
    let mut calls = Vec::new();
    for _ in 0..20 {
        let rc = h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
        let got = h.reap(b, 16);
        calls.push(format!("{}/{}", e(rc), got.len()));
        let empty = got.is_empty();
        seq.extend(got);
        if empty {
            break;
        }
    }
    let uds: Vec<u64> = seq.iter().map(|c| c.user_data).collect();
    result!(
        "f06.overflow_drain",
        "cq_ready_after_reap_no_enter={} flag_after_reap_only={} per_getevents={} order={} flag_end={}",
        after_reap_no_enter,
        flag_after_reap,
        list(&calls),
        list(&uds),
        h.sq_flags(b) & SQ_CQ_OVERFLOW != 0
    );

    // SEND_FD into a full CQ.
    let m = h.create_regular_file().unwrap();
    assert_eq!(h.register_files(T0, a, &[Some(m)]), 0);
    assert_eq!(h.register_files_sparse(T0, b, 4), 0);
    for i in 0..3u64 {
        submit(&mut h, a, &[msg_data(b.0, 0, 200 + i, 200 + i)]);
        collect(&mut h, T0, a, 1, 200);
    }
    submit(&mut h, a, &[msg_send_fd(b.0, 0, 1, 300, 300)]);
    let s = collect(&mut h, T0, a, 1, 200);
    let seq = drain(&mut h, T0, b);
    let uds: Vec<u64> = seq.iter().map(|c| c.user_data).collect();
    result!(
        "f06.send_fd_into_full_cq",
        "src={} tgt_order={}",
        cqes(&s),
        list(&uds)
    );
}

/// Findings 7-8: SEND_FD results, ALLOC, alloc_hint, replacement, errors.
fn send_fd() {
    let mut h = Host::new().unwrap();
    let m0 = h.create_regular_file().unwrap();
    let m1 = h.create_regular_file().unwrap();
    let m2 = h.create_regular_file().unwrap();
    let names = Names::new(&h, &[("m0", m0), ("m1", m1), ("m2", m2)]);
    let a = ring(&mut h, T0, 16, 0, 0);
    assert_eq!(h.register_files(T0, a, &[Some(m0), None, Some(m2)]), 0);
    let fresh = |h: &mut Host, nr: u32| {
        let b = ring(h, T0, 8, 0, 0);
        if nr > 0 {
            assert_eq!(h.register_files_sparse(T0, b, nr), 0);
        }
        b
    };

    let b = fresh(&mut h, 4);
    let (s, t) = one(&mut h, a, b, msg_send_fd(b.0, 0, 2, 0x99, 1));
    result!(
        "f07.send_fd_basic",
        "src={} tgt={} tgt_table={} src_table={}",
        cqes(&s),
        tcqes(&t),
        slots(&h, b, &names),
        slots(&h, a, &names)
    );
    let b = fresh(&mut h, 4);
    let (s, t) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 0x99, 1));
    let (s2, t2) = one(&mut h, a, b, msg_send_fd(b.0, 2, FILE_INDEX_ALLOC, 0x98, 2));
    result!(
        "f07.send_fd_alloc",
        "src={},{} tgt={},{} tgt_table={}",
        cqes(&s),
        cqes(&s2),
        tcqes(&t),
        tcqes(&t2),
        slots(&h, b, &names)
    );
    let b = fresh(&mut h, 4);
    assert_eq!(h.update_files(T0, b, 1, &[Some(m1)]), 1);
    let (s, t) = one(&mut h, a, b, msg_send_fd(b.0, 0, 1, 0x99, 1));
    result!(
        "f07.send_fd_replace",
        "src={} tgt={} tgt_table={}",
        cqes(&s),
        tcqes(&t),
        slots(&h, b, &names)
    );
    let mut q = raw_fd(b, 0, 3);
    q.op_flags = MSG_RING_CQE_SKIP;
    let (s, t) = one(&mut h, a, b, q.to_bytes());
    result!(
        "f07.send_fd_cqe_skip",
        "src={} tgt={} tgt_table={}",
        cqes(&s),
        tcqes(&t),
        slots(&h, b, &names)
    );
    let b = fresh(&mut h, 4);
    let mut q = raw_fd(b, 0, 2);
    q.op_flags = MSG_RING_FLAGS_PASS;
    let (s, t) = one(&mut h, a, b, q.to_bytes());
    result!(
        "f03.send_fd_flags_pass",
        "src={} tgt={} tgt_table={}",
        cqes(&s),
        tcqes(&t),
        slots(&h, b, &names)
    );

    // Errors.
    let b = fresh(&mut h, 4);
    let nt = fresh(&mut h, 0);
    let src_none = ring(&mut h, T0, 4, 0, 0);
    type Case = (&'static str, fn(Vfd, Vfd, Vfd, Vfd) -> (Vfd, Sqe));
    let cases: &[Case] = &[
        ("f07.err_src_slot_empty", |a, b, _, _| (a, raw_fd(b, 1, 1))),
        ("f07.err_src_slot_out_of_range", |a, b, _, _| {
            (a, raw_fd(b, 7, 1))
        }),
        ("f07.src_slot_1_shl_32", |a, b, _, _| {
            (a, raw_fd(b, 1 << 32, 1))
        }),
        ("f07.err_dst_slot_out_of_range", |a, b, _, _| {
            (a, raw_fd(b, 0, 11))
        }),
        ("f07.err_file_index_0", |a, b, _, _| (a, raw_fd(b, 0, 0))),
        ("f07.err_target_no_table", |a, _, nt, _| {
            (a, raw_fd(nt, 0, 1))
        }),
        ("f07.err_target_no_table_alloc", |a, _, nt, _| {
            (a, raw_fd(nt, 0, FILE_INDEX_ALLOC))
        }),
        ("f07.err_source_no_table", |_, b, _, sn| {
            (sn, raw_fd(b, 0, 1))
        }),
        ("f07.err_len_5", |a, b, _, _| {
            let mut q = raw_fd(b, 0, 1);
            q.len = 5;
            (a, q)
        }),
        ("f07.err_to_self", |a, _, _, _| (a, raw_fd(a, 0, 2))),
        ("f07.err_bad_msg_ring_flags", |a, b, _, _| {
            let mut q = raw_fd(b, 0, 1);
            q.op_flags = 1 << 3;
            (a, q)
        }),
    ];
    for (name, f) in cases {
        let (src, q) = f(a, b, nt, src_none);
        let tgt = Vfd(q.fd as u32);
        let (s, t) = one(&mut h, src, tgt, q.to_bytes());
        result!(
            name,
            "src={} tgt={} tgt_table={}",
            cqes(&s),
            tcqes(&t),
            slots(&h, tgt, &names)
        );
    }

    // Finding 8: alloc_hint.
    let b = fresh(&mut h, 4);
    let (s1, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, 1, 1, 1));
    let (s2, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let clr = h.update_files(T0, b, 1, &[None]);
    let (s3, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let (s4, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let (s5, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let (s6, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let res = |v: &[Cqe]| v.first().map(|c| e(c.res)).unwrap_or("none".into());
    result!(
        "f08.alloc_hint",
        "explicit1={} alloc={} clear1={} alloc={} alloc={} alloc={} alloc={} table={}",
        res(&s1),
        res(&s2),
        e(clr),
        res(&s3),
        res(&s4),
        res(&s5),
        res(&s6),
        slots(&h, b, &names)
    );
    let b = fresh(&mut h, 6);
    let rr = h.file_alloc_range(T0, b, 2, 2);
    let (s1, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let (s2, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let (s3, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 1, 1));
    let (s4, _) = one(&mut h, a, b, msg_send_fd(b.0, 0, 0, 1, 1));
    let past = h.file_alloc_range(T0, b, 5, 4);
    result!(
        "f08.alloc_range",
        "range(2,2)={} alloc={},{},{} explicit0={} range_past_end={} table={}",
        e(rr),
        res(&s1),
        res(&s2),
        res(&s3),
        res(&s4),
        e(past),
        slots(&h, b, &names)
    );
}

/// Finding 9: IOSQE_FIXED_FILE targets.
fn fixed_targets() {
    let mut h = Host::new().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    let b = ring(&mut h, T0, 4, 0, 0);
    let reg_ring = h.register_files(T0, a, &[Some(b)]);
    result!("f09.register_ring_fd_in_table", "rc={}", e(reg_ring));
    let (pr, _pw) = h.create_pipe().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    assert_eq!(h.register_files(T0, a, &[Some(pr), None]), 0);
    for (name, slot) in [
        ("f09.fixed_slot_pipe", 0),
        ("f09.fixed_slot_empty", 1),
        ("f09.fixed_slot_out_of_range", 5),
    ] {
        let q = Sqe {
            fd: slot,
            flags: IOSQE_FIXED_FILE,
            ..raw_data(b)
        };
        let (s, t) = one(&mut h, a, b, q.to_bytes());
        result!(name, "src={} tgt={}", cqes(&s), tcqes(&t));
    }
}

/// Finding 10: links and CQE_SKIP_SUCCESS.
fn links() {
    let mut h = Host::new().unwrap();
    let b = ring(&mut h, T0, 4, 0, 0);
    let bad_issue = |_b: Vfd| msg_data(9999, 0, 1, 1); // unknown vfd: fd -1, -EBADF
    let bad_prep = |b: Vfd| {
        let mut q = raw_data(b);
        q.op_flags = 1 << 2;
        q.to_bytes()
    };
    let cases: &[(&str, [u8; 64], u8)] = &[
        ("f10.link_issue_fail", bad_issue(b), IOSQE_IO_LINK),
        ("f10.link_prep_fail", bad_prep(b), IOSQE_IO_LINK),
        ("f10.hardlink_issue_fail", bad_issue(b), IOSQE_IO_HARDLINK),
        ("f10.link_success", msg_data(b.0, 0, 1, 1), IOSQE_IO_LINK),
        (
            "f10.cqe_skip_success_ok",
            msg_data(b.0, 0, 1, 1),
            IOSQE_CQE_SKIP_SUCCESS,
        ),
        (
            "f10.cqe_skip_success_fail",
            bad_issue(b),
            IOSQE_CQE_SKIP_SUCCESS,
        ),
    ];
    for (name, s, fl) in cases {
        let a = ring(&mut h, T0, 8, 0, 0);
        let rc = submit(&mut h, a, &[with_flags(*s, *fl), nop(2)]);
        let c = collect(&mut h, T0, a, 2, 100);
        let t = drain(&mut h, T0, b);
        result!(name, "submit={} src={} tgt={}", e(rc), cqes(&c), tcqes(&t));
    }
}

fn defer_flags() -> u32 {
    SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN | SETUP_TASKRUN_FLAG
}

/// Finding 11: DEFER_TASKRUN target owned by another thread.
fn defer_target() {
    let mut h = Host::new().unwrap();
    let t1 = h.spawn_task().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    let b = ring(&mut h, t1, 4, 0, defer_flags());
    submit(&mut h, a, &[msg_data(b.0, 9, 0x42, 1)]);
    let s = collect(&mut h, T0, a, 1, 200);
    let ready0 = h.cq_ready(b);
    let taskrun = h.sq_flags(b) & SQ_TASKRUN != 0;
    let nonowner = h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    let nonowner_reg = h.register_files_sparse(T0, b, 2);
    let ready1 = h.cq_ready(b);
    h.push_sqe(b, nop(7)).unwrap();
    let owner_submit = h.enter(t1, b, 1, 0, 0, Duration::ZERO);
    let after_submit = h.reap(b, 16);
    let owner_get = h.enter(t1, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    let after_get = h.reap(b, 16);
    result!(
        "f11.defer_data",
        "src={} tgt_ready_before_enter={} sq_taskrun={} nonowner_getevents={} nonowner_register={} ready_after_nonowner={} owner_submit_nogetevents={} cq_after_submit={} owner_getevents={} cq_after_getevents={} taskrun_after={}",
        cqes(&s),
        ready0,
        taskrun,
        e(nonowner),
        e(nonowner_reg),
        ready1,
        e(owner_submit),
        tcqes(&after_submit),
        e(owner_get),
        tcqes(&after_get),
        h.sq_flags(b) & SQ_TASKRUN != 0
    );
    // Sync variant into the DEFER target.
    let rc = h.sync_msg(T0, msg_data(b.0, 1, 0x43, 0));
    let ready = h.cq_ready(b);
    let got = drain(&mut h, t1, b);
    result!(
        "f11.defer_sync_data",
        "rc={} ready_before_owner={} after_owner={}",
        e(rc),
        ready,
        tcqes(&got)
    );
    // Owner sending to its own DEFER ring (self message).
    let rc = submit_on(&mut h, t1, b, &[msg_data(b.0, 3, 0x44, 0x45)]);
    let first = h.reap(b, 16);
    let rest = drain(&mut h, t1, b);
    result!(
        "f11.defer_self_order",
        "submit={} visible_after_submit={} after_getevents={}",
        e(rc),
        tcqes(&first),
        tcqes(&rest)
    );
}

/// Finding 11 (batch): CQEs made visible per owner GETEVENTS.
fn defer_batch() {
    for &cq in &[16u32, 32, 256] {
        for &mc in &[0u32, 64] {
            let mut h = Host::new().unwrap();
            let t = h.spawn_task().unwrap();
            let a = ring(&mut h, T0, 128, 256, 0);
            let b = ring(&mut h, t, 4, cq, defer_flags());
            let n = 100u32;
            for i in 0..n {
                h.push_sqe(a, msg_data(b.0, i, 1000 + i as u64, i as u64))
                    .unwrap();
            }
            let sub = h.enter(T0, a, n, 0, 0, Duration::ZERO);
            let src = collect(&mut h, T0, a, n as usize, 500);
            let ready0 = h.cq_ready(b);
            let mut per = Vec::new();
            let mut rcs = Vec::new();
            let mut all = Vec::new();
            for _ in 0..40 {
                let rc = h.enter(t, b, 0, mc, ENTER_GETEVENTS, 50 * MS);
                let ovf = h.overflow_list(b).map(|l| l.len() as i64).unwrap_or(-1);
                let got = h.reap(b, 1024);
                per.push(format!("{}/{ovf}", got.len()));
                rcs.push(e(rc));
                all.extend(got);
                if all.len() as u32 >= n {
                    break;
                }
            }
            let fifo = all
                .iter()
                .enumerate()
                .all(|(i, c)| c.user_data == 1000 + i as u64 && c.res == i as i32);
            result!(
                format!("f11.defer_batch_n100_cq{cq}_min{mc}"),
                "submit={} src_ok={} ready_before={} per_call(reaped/ovf_list_before_reap)={} rcs={} total={} fifo={}",
                e(sub),
                src.len() as u32 == n && src.iter().all(|c| c.res == 0),
                ready0,
                list(&per),
                list(&rcs),
                all.len(),
                fifo
            );
        }
    }
}

/// exp6 (DEFER half): 7 messages into a DEFER target with CQ 4.
fn defer_overflow() {
    let mut h = Host::new().unwrap();
    let t1 = h.spawn_task().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    let d = ring(&mut h, t1, 2, 4, defer_flags());
    for ud in 1..=7u64 {
        submit(&mut h, a, &[msg_data(d.0, 0, ud, ud)]);
        collect(&mut h, T0, a, 1, 200);
    }
    let state = |h: &Host| {
        format!(
            "ready={}/ovf={}/cqovf_flag={}/counter={}",
            h.cq_ready(d),
            h.overflow_list(d).map(|l| l.len() as i64).unwrap_or(-1),
            h.sq_flags(d) & SQ_CQ_OVERFLOW != 0,
            h.cq_overflow(d)
        )
    };
    let s0 = state(&h);
    let rc = h.enter(t1, d, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    let s1 = state(&h);
    let r: Vec<u64> = h.reap(d, 2).iter().map(|c| c.user_data).collect();
    submit(&mut h, a, &[msg_data(d.0, 0, 8, 8)]);
    collect(&mut h, T0, a, 1, 200);
    let s2 = state(&h);
    let rest: Vec<u64> = drain(&mut h, t1, d).iter().map(|c| c.user_data).collect();
    result!(
        "exp6.defer_overflow_cq4",
        "after_7={} getevents={} after_getevents={} reaped2={} after_send8={} rest={}",
        s0,
        e(rc),
        s1,
        list(&r),
        s2,
        list(&rest)
    );
}

/// Findings 12-13: SEND_FD to a DEFER target, owner exit.
fn defer_send_fd() {
    let mut h = Host::new().unwrap();
    let m0 = h.create_regular_file().unwrap();
    let names = Names::new(&h, &[("m0", m0)]);
    let t1 = h.spawn_task().unwrap();
    let a = ring(&mut h, T0, 16, 0, 0);
    assert_eq!(h.register_files(T0, a, &[Some(m0)]), 0);
    let b = ring(&mut h, t1, 4, 0, defer_flags());
    assert_eq!(h.register_files_sparse(t1, b, 4), 0);
    submit(&mut h, a, &[msg_data(b.0, 0, 0x50, 0x50)]);
    submit(&mut h, a, &[msg_send_fd(b.0, 0, 1, 0x51, 0x51)]);
    let s = collect(&mut h, T0, a, 2, 2000);
    let tgt_no_enter = h.reap(b, 16);
    let rest = drain(&mut h, t1, b);
    result!(
        "f12.defer_send_fd",
        "src={} tgt_visible_without_enter={} tgt_after_getevents={} table={}",
        cqes(&s),
        tcqes(&tgt_no_enter),
        tcqes(&rest),
        slots(&h, b, &names)
    );
    // ALLOC and errors travel the same way.
    submit(
        &mut h,
        a,
        &[msg_send_fd(b.0, 0, FILE_INDEX_ALLOC, 0x52, 0x52)],
    );
    let s = collect(&mut h, T0, a, 1, 2000);
    submit(&mut h, a, &[msg_send_fd(b.0, 0, 9, 0x53, 0x53)]);
    let s2 = collect(&mut h, T0, a, 1, 2000);
    let t = drain(&mut h, t1, b);
    result!(
        "f12.defer_send_fd_alloc_and_err",
        "src_alloc={} src_bad_slot={} tgt={}",
        cqes(&s),
        cqes(&s2),
        tcqes(&t)
    );

    // Finding 13: the owner exits; the ring stays open.
    assert_eq!(h.exit_task(t1), 0);
    submit(&mut h, a, &[msg_data(b.0, 0, 0x60, 0x60)]);
    let sd = collect(&mut h, T0, a, 1, 500);
    submit(&mut h, a, &[msg_send_fd(b.0, 0, 2, 0x61, 0x61)]);
    let sf = collect(&mut h, T0, a, 1, 1000);
    let sync = h.sync_msg(T0, msg_data(b.0, 0, 0x62, 0));
    let other = h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
    let visible = h.reap(b, 16);
    result!(
        "f13.owner_exited",
        "data_src={} send_fd_src={} sync_data={} nonowner_getevents={} visible={} table={}",
        cqes(&sd),
        cqes(&sf),
        e(sync),
        e(other),
        tcqes(&visible),
        slots(&h, b, &names)
    );
}

/// Finding 14: io_uring_register(-1, IORING_REGISTER_SEND_MSG_RING=31, &sqe, 1).
fn sync_variant() {
    let mut h = Host::new().unwrap();
    let b = ring(&mut h, T0, 4, 0, 0);
    let m0 = h.create_regular_file().unwrap();
    let (pr, _pw) = h.create_pipe().unwrap();
    let dis = ring(&mut h, T0, 4, 0, SETUP_R_DISABLED);
    let a = ring(&mut h, T0, 4, 0, 0);
    assert_eq!(h.register_files(T0, a, &[Some(m0)]), 0);
    let rc = h.sync_msg(T0, msg_data(b.0, 33, 0x1234, 0));
    let t = drain(&mut h, T0, b);
    result!("f14.sync_data", "rc={} tgt={}", e(rc), tcqes(&t));
    type Tweak = fn(&mut Sqe);
    let tweaks: &[(&str, Tweak)] = &[
        ("f14.sync_flags_pass", |q| {
            q.op_flags = MSG_RING_FLAGS_PASS;
            q.file_index = 0x77;
        }),
        ("f14.sync_cqe_skip", |q| q.op_flags = MSG_RING_CQE_SKIP),
        ("f14.sync_send_fd", |q| {
            q.addr = MSG_SEND_FD;
            q.file_index = 1;
        }),
        ("f14.sync_sqe_flag_async", |q| q.flags = IOSQE_ASYNC),
        ("f14.sync_sqe_flag_link", |q| q.flags = IOSQE_IO_LINK),
        ("f14.sync_opcode_nop", |q| q.opcode = OP_NOP),
        ("f14.sync_cmd_2", |q| q.addr = 2),
        ("f14.sync_buf_index", |q| q.buf_index = 1),
        ("f14.sync_personality", |q| q.personality = 1),
        ("f14.sync_addr3", |q| q.addr3 = 1),
    ];
    for (name, f) in tweaks {
        let mut q = raw_data(b);
        f(&mut q);
        let rc = h.sync_msg(T0, q.to_bytes());
        let t = drain(&mut h, T0, b);
        result!(name, "rc={} tgt={}", e(rc), tcqes(&t));
    }
    let q = Sqe {
        flags: IOSQE_FIXED_FILE,
        fd: 0,
        ..raw_data(b)
    };
    result!(
        "f14.sync_sqe_flag_fixed_file",
        "rc={}",
        e(h.sync_msg(T0, q.to_bytes()))
    );
    for (name, tgt) in [
        ("f14.sync_target_r_disabled", dis),
        ("f14.sync_target_pipe", pr),
        ("f14.sync_target_bad_fd", Vfd(9999)),
    ] {
        let rc = h.sync_msg(T0, msg_data(tgt.0, 0, 1, 0));
        result!(name, "rc={}", e(rc));
    }
}

/// Finding 15: ASYNC, IOPOLL, SQPOLL, CQE32, COOP_TASKRUN.
fn ring_kinds() {
    let kinds: &[(&str, u32, u32, u8)] = &[
        // (name, source flags, target flags, sqe flags)
        ("f15.iosqe_async", 0, 0, IOSQE_ASYNC),
        ("f15.iopoll_target", 0, SETUP_IOPOLL, 0),
        ("f15.iopoll_source", SETUP_IOPOLL, 0, 0),
        ("f15.iopoll_target_async", 0, SETUP_IOPOLL, IOSQE_ASYNC),
        ("f15.sqpoll_source", SETUP_SQPOLL, 0, 0),
        ("f15.sqpoll_target", 0, SETUP_SQPOLL, 0),
        ("f15.cqe32_target", 0, SETUP_CQE32, 0),
        ("f15.coop_taskrun_target", 0, SETUP_COOP_TASKRUN, 0),
        (
            "f15.defer_iopoll_target",
            0,
            SETUP_IOPOLL | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
            0,
        ),
    ];
    for (name, sf, tf, qf) in kinds {
        let mut h = Host::new().unwrap();
        let a = match h.setup_ring(T0, 8, 0, *sf) {
            Ok(v) => v,
            Err(x) => {
                result!(name, "setup_src={}", e(x));
                continue;
            }
        };
        let b = match h.setup_ring(T0, 8, 0, *tf) {
            Ok(v) => v,
            Err(x) => {
                result!(name, "setup_tgt={}", e(x));
                continue;
            }
        };
        let m = h.create_regular_file().unwrap();
        let names = Names::new(&h, &[("m0", m)]);
        assert_eq!(h.register_files(T0, a, &[Some(m)]), 0);
        assert_eq!(h.register_files_sparse(T0, b, 2), 0);
        let mut q = raw_data(b);
        q.flags = *qf;
        let rc = submit(&mut h, a, &[q.to_bytes()]);
        let rc2 = submit(
            &mut h,
            a,
            &[with_flags(msg_send_fd(b.0, 0, 1, 0x99, 2), *qf)],
        );
        let s = collect(&mut h, T0, a, 2, 1000);
        let t = collect(&mut h, T0, b, 2, 500);
        let big: Vec<String> = t
            .iter()
            .map(|c| format!("{:x}/{:x}", c.big[0], c.big[1]))
            .collect();
        result!(
            name,
            "submit={},{} src={} tgt={} big={} table={}",
            e(rc),
            e(rc2),
            cqes(&s),
            tcqes(&t),
            list(&big),
            slots(&h, b, &names)
        );
    }
}

/// real-backend/examples/exp2_order: CQE order for [NOP(1), MSG(2 -> ud 3), NOP(4)].
fn batch_order() {
    fn uds(c: &[Cqe]) -> String {
        let v: Vec<String> = c
            .iter()
            .map(|c| format!("{}:{}", c.user_data, e(c.res)))
            .collect();
        list(&v)
    }
    fn run(name: &str, src_flags: u32, to_self: bool, link: u8, tgt_flags: u32) {
        let mut h = Host::new().unwrap();
        let a = ring(&mut h, T0, 8, 0, src_flags);
        let b = if to_self {
            a
        } else {
            ring(&mut h, T0, 8, 0, tgt_flags)
        };
        h.push_sqe(a, with_flags(nop(1), link)).unwrap();
        h.push_sqe(a, with_flags(msg_data(b.0, 33, 3, 2), link))
            .unwrap();
        h.push_sqe(a, nop(4)).unwrap();
        let rc = h.enter(T0, a, 3, 0, 0, Duration::ZERO);
        let a1 = h.reap(a, 16);
        let b1 = if to_self { vec![] } else { h.reap(b, 16) };
        let mut later = Vec::new();
        for _ in 0..4 {
            h.enter(T0, a, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
            let x = h.reap(a, 16);
            if !to_self {
                h.enter(T0, b, 0, 0, ENTER_GETEVENTS, Duration::ZERO);
            }
            let y = if to_self { vec![] } else { h.reap(b, 16) };
            if x.is_empty() && y.is_empty() {
                break;
            }
            later.push(format!("src+[{}]tgt+[{}]", uds(&x), uds(&y)));
        }
        result!(
            format!("exp2.{name}"),
            "submit={} src_cq={} tgt_cq={} then={}",
            e(rc),
            uds(&a1),
            uds(&b1),
            list(&later)
        );
    }
    let d = SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN;
    run("plain_self", 0, true, 0, 0);
    run("plain_other_plain", 0, false, 0, 0);
    run("plain_self_link", 0, true, IOSQE_IO_LINK, 0);
    run("plain_other_link", 0, false, IOSQE_IO_LINK, 0);
    run("defer_self", d, true, 0, 0);
    run("defer_self_link", d, true, IOSQE_IO_LINK, 0);
    run("plain_other_defer_same_task", 0, false, 0, d);
    run("defer_other_plain", d, false, 0, 0);
    run("coop_self", SETUP_COOP_TASKRUN, true, 0, 0);
    let mut h = Host::new().unwrap();
    let a = ring(&mut h, T0, 8, 0, 0);
    h.push_sqe(a, nop(1)).unwrap();
    h.push_sqe(a, with_flags(msg_data(a.0, 33, 3, 2), IOSQE_ASYNC))
        .unwrap();
    h.push_sqe(a, nop(4)).unwrap();
    let rc = h.enter(T0, a, 3, 4, ENTER_GETEVENTS, 100 * MS);
    let c = collect(&mut h, T0, a, 4, 200);
    result!("exp2.plain_self_msg_async", "rc={} cq={}", e(rc), uds(&c));
}

// ---- PID 1 duties --------------------------------------------------------

fn cstr(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).unwrap_or_default()
}

/// As `/init`: mount /proc (and /dev if stdout is missing) and enable io_uring.
fn init_guest() {
    let _ = std::fs::create_dir_all("/proc");
    let _ = std::fs::create_dir_all("/dev");
    let (proc_, dev, devtmpfs) = (cstr("proc"), cstr("/proc"), cstr("devtmpfs"));
    let devdir = cstr("/dev");
    // SAFETY: all pointers are NUL-terminated strings alive across the call;
    // data is NULL, which mount(2) accepts.
    let rc = unsafe {
        libc::mount(
            proc_.as_ptr(),
            dev.as_ptr(),
            proc_.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    // SAFETY: fcntl on a possibly-closed fd only reads the fd table.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } < 0 {
        // SAFETY: as for the /proc mount above.
        unsafe {
            libc::mount(
                devtmpfs.as_ptr(),
                devdir.as_ptr(),
                devtmpfs.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        let console = cstr("/dev/console");
        // SAFETY: NUL-terminated path; the returned fd is dup'ed onto 0-2.
        let fd = unsafe { libc::open(console.as_ptr(), libc::O_RDWR) };
        if fd >= 0 {
            for t in 0..3 {
                // SAFETY: both fds are valid or dup2 fails harmlessly.
                unsafe { libc::dup2(fd, t) };
            }
        }
    }
    out(&format!("INFO mount_proc={rc}"));
    let p = "/proc/sys/kernel/io_uring_disabled";
    match std::fs::read_to_string(p) {
        Ok(v) => {
            let w = std::fs::write(p, "0").is_ok();
            out(&format!(
                "INFO io_uring_disabled_was={} set_to_0={}",
                v.trim(),
                w
            ));
        }
        Err(_) => out("INFO io_uring_disabled=absent"),
    }
}

fn power_off() -> ! {
    // SAFETY: sync and reboot take no pointers; as PID 1 in the guest,
    // RB_POWER_OFF ends the VM (QEMU exits).
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    std::process::exit(0)
}

fn main() {
    let pid1 = std::process::id() == 1;
    if pid1 {
        init_guest();
    }
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(240));
        out("MSGRING-TIMEOUT");
        if pid1 {
            power_off();
        }
        std::process::exit(3);
    });
    // Panics are reported as RESULT lines; keep the default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    out("MSGRING-BEGIN");
    info();
    let groups: &[(&str, fn())] = &[
        ("setup", setup_flags),
        ("data", data_basics),
        ("overflow", overflow),
        ("send_fd", send_fd),
        ("fixed_targets", fixed_targets),
        ("links", links),
        ("defer_target", defer_target),
        ("defer_batch", defer_batch),
        ("defer_overflow", defer_overflow),
        ("defer_send_fd", defer_send_fd),
        ("sync_variant", sync_variant),
        ("ring_kinds", ring_kinds),
        ("exp2", batch_order),
    ];
    let only = std::env::args().nth(1);
    for (name, f) in groups {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let t = Instant::now();
        if let Err(p) = std::panic::catch_unwind(f) {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            result!(format!("{name}.PANIC"), "panic={}", msg.replace(' ', "_"));
        }
        out(&format!("INFO group={name} ms={}", t.elapsed().as_millis()));
    }
    out(&format!("INFO total_ms={}", start.elapsed().as_millis()));
    out("MSGRING-END");
    if pid1 {
        power_off();
    }
}
