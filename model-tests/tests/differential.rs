//! Differential tests: hand-written scenarios from the reference (§7, findings 1-15) run
//! on the model and on the running kernel in lockstep; every step's result must agree.
//!
//! Run with `cargo test -p msgring-model-tests --features real-backend`. When the
//! kernel backend is unavailable the tests print why and pass, unless
//! `MSGRING_REQUIRE_KERNEL=1`, where they fail.
#![cfg(feature = "real-backend")]

use msgring::kernel::{self, DiffReport, KernelBackend};
use msgring::uapi::{enter, msg, op, setup, sqe_flags};
use msgring::{
    Backend, DestSlot, Faults, MsgRingData, MsgRingSendFd, Nop, Sqe, Step, StepResult, TaskId,
    World,
};
use msgring_model_tests::{data, send_fd};

const T0: TaskId = TaskId(0);

/// Records a scenario, running it on a shadow model to learn the fd numbers.
struct Rec {
    w: World,
    steps: Vec<Step>,
}

impl Rec {
    fn new() -> Rec {
        Rec {
            w: World::default(),
            steps: Vec::new(),
        }
    }
    fn step(&mut self, s: Step) -> StepResult {
        let r = self.w.apply(&s);
        self.steps.push(s);
        r
    }
    fn ring_by(&mut self, task: TaskId, entries: u32, cq: u32, flags: u32) -> i32 {
        let flags = if cq > 0 { flags | setup::CQSIZE } else { flags };
        match self.step(Step::Setup {
            task,
            entries,
            cq_entries: cq,
            flags,
        }) {
            StepResult::Ret(fd) if fd >= 0 => fd,
            other => panic!("setup gave {other:?}"),
        }
    }
    fn ring(&mut self, entries: u32, flags: u32) -> i32 {
        self.ring_by(T0, entries, 0, flags)
    }
    fn regular(&mut self) -> i32 {
        self.step(Step::RegularFile).ret().expect("fd")
    }
    fn pipe(&mut self) -> (i32, i32) {
        match self.step(Step::Pipe) {
            StepResult::Fds(r, w) => (r, w),
            other => panic!("pipe gave {other:?}"),
        }
    }
    fn spawn(&mut self) -> TaskId {
        match self.step(Step::SpawnTask) {
            StepResult::Task(t) => t,
            other => panic!("spawn gave {other:?}"),
        }
    }
    fn register(&mut self, ring: i32, fds: &[i32]) {
        self.step(Step::RegisterFiles {
            task: T0,
            ring,
            fds: fds.to_vec(),
        });
    }
    fn sparse(&mut self, ring: i32, nr: u32) {
        self.step(Step::RegisterFilesSparse { task: T0, ring, nr });
    }
    /// Pushes `sqes` and submits them with one enter by `task`.
    fn submit_by(&mut self, task: TaskId, ring: i32, sqes: &[Sqe]) {
        for s in sqes {
            self.step(Step::Push { ring, sqe: *s });
        }
        self.step(Step::Enter {
            task,
            ring,
            to_submit: sqes.len() as u32,
            min_complete: 0,
            flags: 0,
        });
    }
    fn submit(&mut self, ring: i32, sqes: &[Sqe]) {
        self.submit_by(T0, ring, sqes)
    }
    fn getevents(&mut self, task: TaskId, ring: i32, min: u32) {
        self.step(Step::Enter {
            task,
            ring,
            to_submit: 0,
            min_complete: min,
            flags: enter::GETEVENTS,
        });
    }
    fn reap(&mut self, ring: i32) {
        self.step(Step::Reap {
            ring,
            max: u32::MAX,
        });
    }
    fn observe(&mut self, ring: i32) {
        self.step(Step::Observe { ring });
    }
    fn slot(&mut self, ring: i32, slot: u32) {
        self.step(Step::QuerySlot { ring, slot });
    }
    /// Reaps `ring`, observes it, and (for each ring in `others`) the same.
    fn look(&mut self, rings: &[i32]) {
        for &r in rings {
            self.observe(r);
            self.reap(r);
        }
    }
}

fn nop(ud: u64) -> Sqe {
    Nop.build().user_data(ud)
}

fn require_kernel() -> bool {
    std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1")
}

/// Runs a recorded scenario on both sides; `None` when the kernel is unavailable.
fn diff(name: &str, steps: &[Step]) -> Option<DiffReport> {
    match kernel::diff_run(steps) {
        Ok(rep) => Some(rep),
        Err(u) => {
            if require_kernel() {
                panic!("{name}: {u} (MSGRING_REQUIRE_KERNEL=1)");
            }
            eprintln!("!!!!! {name}: SKIPPED: {u} !!!!!");
            None
        }
    }
}

/// Every step must be compared and agree.
fn check(name: &str, rec: Rec) {
    let Some(rep) = diff(name, &rec.steps) else {
        return;
    };
    if let Some(d) = &rep.divergence {
        panic!("{name}: model and kernel disagree\n{d}");
    }
    assert_eq!(rep.stopped, None, "{name}: run stopped early");
    assert_eq!(rep.skipped, 0, "{name}: steps skipped");
    assert_eq!(rep.compared, rec.steps.len(), "{name}");
}

// ---- finding 1: MSG_DATA basics --------------------------------------------------

#[test]
fn f01_data_basics() {
    let mut r = Rec::new();
    let a = r.ring(4, 0);
    let b = r.ring(4, 0);
    let big_addr = Sqe {
        addr: 1 << 32,
        ..data(b, 3, 0x30)
    };
    r.submit(
        a,
        &[
            data(b, 7, 0x10).user_data(1),
            data(b, -1, 0x20).user_data(2),
            big_addr.user_data(3),
        ],
    );
    r.look(&[a, b]);
    check("data basics", r);
}

// ---- finding 2 and 4: errors -----------------------------------------------------

#[test]
fn f02_f04_errors() {
    let mut r = Rec::new();
    let a = r.ring(32, 0);
    let b = r.ring(4, 0);
    let dis = r.ring(4, setup::R_DISABLED);
    let (pr, _pw) = r.pipe();
    let ev = r.step(Step::Eventfd).ret().unwrap();
    let base = data(b, 1, 1);
    let cases = [
        Sqe {
            msg_ring_flags: msg::CQE_SKIP,
            ..base
        },
        data(pr, 1, 1),
        data(ev, 1, 1),
        data(-1, 1, 1),
        data(99, 1, 1),
        data(dis, 1, 1),
        Sqe {
            msg_ring_flags: 1 << 5,
            ..base
        },
        Sqe { addr: 2, ..base },
        Sqe {
            buf_index: 1,
            ..base
        },
        Sqe {
            personality: 1,
            ..base
        },
        Sqe { addr3: 1, ..base },
        Sqe { ioprio: 1, ..base },
        Sqe { pad2: 9, ..base },
        base.flags(sqe_flags::IO_DRAIN),
        base.flags(sqe_flags::BUFFER_SELECT),
    ];
    for (i, c) in cases.iter().enumerate() {
        r.submit(a, &[c.user_data(100 + i as u64)]);
        r.reap(a);
    }
    r.step(Step::EnableRings {
        task: T0,
        ring: dis,
    });
    r.submit(a, &[data(dis, 5, 5).user_data(200)]);
    r.look(&[a, b, dis]);
    check("errors", r);
}

// ---- finding 3: FLAGS_PASS ---------------------------------------------------------

#[test]
fn f03_flags_pass() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    let b = r.ring(8, 0);
    let f = r.regular();
    r.register(a, &[f]);
    r.sparse(b, 4);
    let pass = |flags: u32, ud: u64| {
        MsgRingData {
            ring_fd: b,
            result: 1,
            user_data: ud,
            user_flags: Some(flags),
        }
        .build()
    };
    let fd_pass = Sqe {
        msg_ring_flags: msg::FLAGS_PASS,
        ..send_fd(b, 0, DestSlot::Index(2), 0x40)
    };
    r.submit(
        a,
        &[
            pass(0, 0x10),
            pass(u32::MAX, 0x11),
            pass(2, 0x12),
            Sqe {
                file_index: 5,
                ..data(b, 1, 0x13)
            },
            fd_pass,
        ],
    );
    r.look(&[a, b]);
    r.slot(b, 2);
    check("flags pass", r);
}

// ---- finding 5: self order ----------------------------------------------------------

#[test]
fn f05_self_order() {
    let mut r = Rec::new();
    let a = r.ring(4, 0);
    r.submit(a, &[nop(1), data(a, 33, 3).user_data(2), nop(4)]);
    r.reap(a);
    let c = r.ring(4, setup::COOP_TASKRUN);
    r.submit(c, &[nop(1), data(c, 33, 3).user_data(2), nop(4)]);
    r.reap(c);
    let l = r.ring(4, 0);
    r.submit(
        l,
        &[
            nop(1).flags(sqe_flags::IO_LINK),
            data(l, 33, 3).user_data(2).flags(sqe_flags::IO_LINK),
            nop(4),
        ],
    );
    r.reap(l);
    check("self order", r);
}

// ---- finding 6: overflow FIFO -------------------------------------------------------

fn overflow(n: u32) -> Rec {
    let mut r = Rec::new();
    let a = r.ring(64, 0);
    let b = r.ring_by(T0, 2, 2, 0);
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(64);
        let sqes: Vec<Sqe> = (0..k)
            .map(|i| data(b, (sent + i) as i32, u64::from(sent + i)).user_data(u64::from(i)))
            .collect();
        r.submit(a, &sqes);
        r.reap(a);
        sent += k;
    }
    r.observe(b);
    // Drain: each GETEVENTS flushes into free CQ space.
    for _ in 0..(n / 2 + 2) {
        r.getevents(T0, b, 0);
        r.reap(b);
    }
    r.observe(b);
    r
}

#[test]
fn f06_overflow_fifo_10() {
    let mut r = overflow(10);
    // Reap part, then send again while the list is non-empty.
    let a = 0;
    let b = 1;
    r.submit(a, &[data(b, 1, 100), data(b, 2, 101), data(b, 3, 102)]);
    r.reap(b);
    r.submit(a, &[data(b, 4, 103)]);
    r.observe(b);
    r.submit(b, &[nop(7)]);
    r.observe(b);
    for _ in 0..4 {
        r.getevents(T0, b, 1);
        r.reap(b);
    }
    check("overflow 10", r);
}

#[test]
fn f06_overflow_fifo_2000() {
    check("overflow 2000", overflow(2000));
}

// ---- findings 7 and 8: SEND_FD ------------------------------------------------------

#[test]
fn f07_send_fd_results() {
    let mut r = Rec::new();
    let a = r.ring(32, 0);
    let b = r.ring(8, 0);
    let c = r.ring(8, 0); // no table
    let f = r.regular();
    let g = r.regular();
    r.register(a, &[f, -1, g]);
    r.sparse(b, 4);
    let cases = [
        send_fd(b, 0, DestSlot::Index(0), 1),
        send_fd(b, 2, DestSlot::Alloc, 2),
        send_fd(b, 2, DestSlot::Index(0), 3), // replacement
        send_fd(b, 1, DestSlot::Index(3), 4), // empty source slot
        send_fd(b, 9, DestSlot::Index(3), 5), // out of range source
        Sqe {
            addr3: 1 << 32,
            ..send_fd(b, 0, DestSlot::Index(3), 6)
        },
        send_fd(b, 0, DestSlot::Index(4), 7), // target slot out of range
        Sqe {
            file_index: 0,
            ..send_fd(b, 0, DestSlot::Index(0), 8)
        },
        send_fd(c, 0, DestSlot::Index(0), 9),
        send_fd(c, 0, DestSlot::Alloc, 10),
        Sqe {
            len: 5,
            ..send_fd(b, 0, DestSlot::Index(0), 11)
        },
        send_fd(a, 0, DestSlot::Index(1), 12),
        MsgRingSendFd {
            ring_fd: b,
            fixed_slot_src: 0,
            dest_slot_index: DestSlot::Index(1),
            user_data: 13,
            skip_cqe: true,
        }
        .build(),
    ];
    for (i, s) in cases.iter().enumerate() {
        r.submit(a, &[s.user_data(100 + i as u64)]);
        r.reap(a);
        r.reap(b);
    }
    // A source ring with no table.
    r.submit(c, &[send_fd(b, 0, DestSlot::Index(0), 14).user_data(200)]);
    r.reap(c);
    for s in 0..5 {
        r.slot(b, s);
    }
    r.slot(a, 0);
    r.look(&[a, b, c]);
    check("send_fd results", r);
}

#[test]
fn f08_alloc_hint() {
    let mut r = Rec::new();
    let a = r.ring(16, 0);
    let b = r.ring(16, 0);
    let f = r.regular();
    r.register(a, &[f]);
    r.sparse(b, 4);
    r.submit(a, &[send_fd(b, 0, DestSlot::Index(1), 1)]);
    r.submit(a, &[send_fd(b, 0, DestSlot::Alloc, 2)]);
    r.step(Step::UpdateFiles {
        task: T0,
        ring: b,
        offset: 1,
        fds: vec![-1],
    });
    r.submit(a, &[send_fd(b, 0, DestSlot::Alloc, 3)]);
    for i in 0..4 {
        r.submit(a, &[send_fd(b, 0, DestSlot::Alloc, 10 + i)]);
    }
    r.look(&[a, b]);
    let c = r.ring(16, 0);
    r.sparse(c, 6);
    r.step(Step::FileAllocRange {
        task: T0,
        ring: c,
        off: 2,
        len: 2,
    });
    r.step(Step::FileAllocRange {
        task: T0,
        ring: c,
        off: 5,
        len: 2,
    });
    for i in 0..3 {
        r.submit(a, &[send_fd(c, 0, DestSlot::Alloc, 20 + i)]);
    }
    r.submit(a, &[send_fd(c, 0, DestSlot::Index(5), 30)]);
    r.look(&[a, c]);
    check("alloc hint", r);
}

// ---- finding 9: FIXED_FILE targets ----------------------------------------------------

#[test]
fn f09_fixed_file_targets() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    let b = r.ring(8, 0);
    let (pr, _) = r.pipe();
    r.register(a, &[pr, -1]);
    r.register(b, &[a]); // a ring in a table: -EBADF
    let fx = |slot: i32, ud: u64| data(slot, 1, 1).user_data(ud).flags(sqe_flags::FIXED_FILE);
    r.submit(a, &[fx(0, 1), fx(1, 2), fx(7, 3)]);
    r.look(&[a]);
    r.slot(a, 0);
    check("fixed file targets", r);
}

// ---- finding 10: links ------------------------------------------------------------------

#[test]
fn f10_links() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    let b = r.ring(8, 0);
    r.submit(
        a,
        &[
            data(99, 1, 1).user_data(1).flags(sqe_flags::IO_LINK),
            nop(2),
        ],
    );
    r.reap(a);
    r.submit(
        a,
        &[
            Sqe {
                addr: 7,
                ..data(b, 1, 1)
            }
            .user_data(3)
            .flags(sqe_flags::IO_LINK),
            nop(4),
        ],
    );
    r.reap(a);
    r.submit(
        a,
        &[
            data(99, 1, 1).user_data(5).flags(sqe_flags::IO_HARDLINK),
            nop(6),
        ],
    );
    r.reap(a);
    r.submit(
        a,
        &[
            data(b, 1, 1)
                .user_data(7)
                .flags(sqe_flags::CQE_SKIP_SUCCESS),
            data(99, 1, 1)
                .user_data(8)
                .flags(sqe_flags::CQE_SKIP_SUCCESS),
        ],
    );
    r.look(&[a, b]);
    check("links", r);
}

// ---- finding 11: DEFER_TASKRUN owner batches, -EEXIST ------------------------------------

fn defer_batches(cq: u32, min: u32) -> Rec {
    let mut r = Rec::new();
    let t = r.spawn();
    let a = r.ring(128, 0);
    let b = r.ring_by(
        t,
        4,
        cq,
        setup::SINGLE_ISSUER | setup::DEFER_TASKRUN | setup::TASKRUN_FLAG,
    );
    let sqes: Vec<Sqe> = (0..100).map(|i| data(b, i, 1000 + i as u64)).collect();
    r.submit(a, &sqes);
    r.reap(a);
    r.observe(b);
    r.getevents(T0, b, 0); // non-owner: -EEXIST
    r.step(Step::RegisterFilesSparse {
        task: T0,
        ring: b,
        nr: 2,
    });
    r.step(Step::Enter {
        task: t,
        ring: b,
        to_submit: 0,
        min_complete: 0,
        flags: 0,
    }); // no GETEVENTS: nothing delivered
    r.observe(b);
    for _ in 0..8 {
        r.getevents(t, b, min);
        r.observe(b);
        r.reap(b);
    }
    r
}

#[test]
fn f11_defer_owner_batches_cq16() {
    check("defer cq16 min0", defer_batches(16, 0));
}

#[test]
fn f11_defer_owner_batches_cq256_min1() {
    check("defer cq256 min1", defer_batches(256, 1));
}

#[test]
fn f11_defer_owner_batches_cq256_min64() {
    check("defer cq256 min64", defer_batches(256, 64));
}

// ---- finding 12: SEND_FD to a DEFER target ----------------------------------------------

#[test]
fn f12_send_fd_to_defer_target() {
    let mut r = Rec::new();
    let t = r.spawn();
    let a = r.ring(8, 0);
    let b = r.ring_by(t, 4, 16, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    r.step(Step::RegisterFilesSparse {
        task: t,
        ring: b,
        nr: 4,
    });
    let f = r.regular();
    r.register(a, &[f]);
    r.submit(a, &[data(b, 1, 1).user_data(10)]);
    r.submit(a, &[send_fd(b, 0, DestSlot::Alloc, 2).user_data(11)]);
    r.look(&[a, b]);
    r.slot(b, 0);
    r.getevents(t, b, 0);
    r.look(&[b]);
    check("send_fd to defer", r);
}

// ---- finding 13: owner exit -------------------------------------------------------------

#[test]
fn f13_owner_exit() {
    let mut r = Rec::new();
    let t = r.spawn();
    let a = r.ring(8, 0);
    let b = r.ring_by(t, 4, 16, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    r.step(Step::RegisterFilesSparse {
        task: t,
        ring: b,
        nr: 4,
    });
    let f = r.regular();
    r.register(a, &[f]);
    r.step(Step::ExitTask { task: t });
    r.submit(a, &[data(b, 1, 1).user_data(10)]);
    r.submit(a, &[send_fd(b, 0, DestSlot::Index(0), 2).user_data(11)]);
    r.step(Step::SyncMsg {
        task: T0,
        sqe: data(b, 2, 2),
    });
    r.getevents(T0, b, 0);
    r.look(&[a, b]);
    r.slot(b, 0);
    // Steps naming the dead task are refused on both sides.
    r.getevents(t, b, 0);
    check("owner exit", r);
}

// ---- finding 14: sync variant -----------------------------------------------------------

#[test]
fn f14_sync_variant() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    let b = r.ring(8, 0);
    let dis = r.ring(4, setup::R_DISABLED);
    let (pr, _) = r.pipe();
    let f = r.regular();
    r.register(a, &[f]);
    let pass = MsgRingData {
        ring_fd: b,
        result: 3,
        user_data: 3,
        user_flags: Some(0x77),
    }
    .build();
    let cases = [
        data(b, 1, 1),
        pass,
        send_fd(b, 0, DestSlot::Index(0), 2),
        Sqe {
            msg_ring_flags: msg::CQE_SKIP,
            ..data(b, 1, 1)
        },
        data(b, 1, 1).flags(sqe_flags::ASYNC),
        data(b, 1, 1).flags(sqe_flags::IO_LINK),
        Sqe {
            opcode: op::NOP,
            ..data(b, 1, 1)
        },
        Sqe {
            addr: 2,
            ..data(b, 1, 1)
        },
        Sqe {
            buf_index: 1,
            ..data(b, 1, 1)
        },
        Sqe {
            addr3: 1,
            ..data(b, 1, 1)
        },
        data(dis, 1, 1),
        data(pr, 1, 1),
        data(77, 1, 1),
    ];
    for c in cases {
        r.step(Step::SyncMsg { task: T0, sqe: c });
    }
    r.look(&[a, b]);
    check("sync variant", r);
}

// ---- finding 15: ASYNC / IOPOLL / SQPOLL / CQE32 / COOP targets ---------------------------

#[test]
fn f15_target_kinds() {
    let mut r = Rec::new();
    let a = r.ring(16, 0);
    let kinds = [
        setup::IOPOLL,
        setup::CQE32,
        setup::COOP_TASKRUN,
        setup::COOP_TASKRUN | setup::TASKRUN_FLAG,
        setup::SINGLE_ISSUER,
    ];
    for k in kinds {
        let b = r.ring(4, k);
        r.submit(a, &[data(b, 1, 10), data(b, 2, 11).flags(sqe_flags::ASYNC)]);
        r.reap(a);
        r.getevents(T0, b, 2);
        r.look(&[b]);
    }
    check("target kinds", r);
}

#[test]
fn f15_async_self() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    for s in [
        nop(1),
        data(a, 33, 3).user_data(2).flags(sqe_flags::ASYNC),
        nop(4),
    ] {
        r.step(Step::Push { ring: a, sqe: s });
    }
    r.step(Step::Enter {
        task: T0,
        ring: a,
        to_submit: 3,
        min_complete: 4,
        flags: enter::GETEVENTS,
    });
    r.reap(a);
    check("async self", r);
}

#[test]
fn f15_sqpoll_target() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    let s = r.ring(8, setup::SQPOLL);
    r.submit(a, &[data(s, 1, 10), data(s, 2, 11).flags(sqe_flags::ASYNC)]);
    r.reap(a);
    r.getevents(T0, s, 2);
    r.reap(s);
    check("sqpoll target", r);
}

/// DIVERGENCE D1 (kernel 6.18.44): a fresh SQPOLL ring shows IORING_SQ_NEED_WAKEUP
/// in sq_flags at once, and an SQE pushed and "submitted" by enter(1, 0, 0) without
/// IORING_ENTER_SQ_WAKEUP is not consumed: no MSG_RING is issued. The model keeps
/// sq_flags 0 and lets its SQ thread submit. The expected values are the kernel's.
#[test]
fn divergence_d1_sqpoll_need_wakeup() {
    let mut r = Rec::new();
    let a = r.ring(8, 0);
    let s = r.ring(8, setup::SQPOLL);
    r.observe(s);
    r.submit(s, &[data(a, 2, 20).user_data(21)]);
    r.observe(s);
    r.observe(a);
    let kernel_values = [
        StepResult::Ring(msgring::RingView {
            sq_flags: msgring::uapi::sq::NEED_WAKEUP,
            ..Default::default()
        }),
        StepResult::Ret(0),
        StepResult::Ret(1),
        StepResult::Ring(msgring::RingView {
            sq_flags: msgring::uapi::sq::NEED_WAKEUP,
            ..Default::default()
        }),
        StepResult::Ring(msgring::RingView::default()),
    ];
    let tail = &rec_results(&r)[2..];
    if let Ok(mut kb) = KernelBackend::new() {
        let got: Vec<StepResult> = r
            .steps
            .iter()
            .map(|s| kb.apply_step(s, Faults::default()))
            .collect();
        assert_eq!(&got[2..], &kernel_values, "the kernel changed");
    }
    assert_eq!(tail, &kernel_values, "model disagrees with the kernel (D1)");
}

fn rec_results(r: &Rec) -> Vec<StepResult> {
    let mut w = World::default();
    r.steps.iter().map(|s| w.apply(s)).collect()
}

// ---- fd numbering ---------------------------------------------------------------------

/// The model and the host hand out the same vfd and task numbers.
#[test]
fn numbering_matches() {
    let mut kb = match KernelBackend::new() {
        Ok(k) => k,
        Err(u) => {
            assert!(!require_kernel(), "{u}");
            eprintln!("!!!!! numbering: SKIPPED: {u} !!!!!");
            return;
        }
    };
    let mut w = World::default();
    let steps = [
        Step::Pipe,
        Step::Setup {
            task: T0,
            entries: 4,
            cq_entries: 0,
            flags: 0,
        },
        Step::Setup {
            task: T0,
            entries: 0,
            cq_entries: 0,
            flags: 0,
        },
        Step::Eventfd,
        Step::Close { fd: 0 },
        Step::RegularFile,
        Step::SpawnTask,
        Step::ExitTask { task: TaskId(1) },
        Step::SpawnTask,
        Step::Pipe,
        Step::Eventfd,
    ];
    for s in &steps {
        let m = w.apply(s);
        let k = kb.apply_step(s, Faults::default());
        assert_eq!(m, k, "{s:?}");
    }
}

// Random differential checking: model-tests/tests/check_cmd.rs (`msgring check` with
// the trace layer's swarm generator and trace-level minimizer).

/// Two SEND_FDs to a DEFER_TASKRUN target submitted in one enter: in which order do
/// their source CQEs come back?
fn two_send_fds_to_defer() -> Rec {
    let mut r = Rec::new();
    let t = r.spawn();
    let a = r.ring(8, 0);
    let b = r.ring_by(t, 4, 16, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    r.step(Step::RegisterFilesSparse {
        task: t,
        ring: b,
        nr: 2,
    });
    let f = r.regular();
    r.register(a, &[f]);
    r.submit(
        a,
        &[
            send_fd(b, 0, DestSlot::Index(0), 1).user_data(1),
            send_fd(b, 0, DestSlot::Index(7), 2).user_data(2),
            send_fd(b, 0, DestSlot::Index(1), 3).user_data(3),
        ],
    );
    r.reap(a);
    r
}

/// D2 (kernel 6.18.44; fixed in the model): SEND_FDs to a
/// DEFER_TASKRUN target submitted in one enter run in the owner task in REVERSE order
/// (task_work_add is a LIFO stack), so their source CQEs come back newest first. The
/// model runs them FIFO. The expected values are the kernel's.
#[test]
fn divergence_d2_send_fd_to_defer_order() {
    let r = two_send_fds_to_defer();
    let kernel_value = StepResult::Reaped(vec![
        msgring::Cqe {
            user_data: 3,
            res: 0,
            flags: 0,
        },
        msgring::Cqe {
            user_data: 2,
            res: -22,
            flags: 0,
        },
        msgring::Cqe {
            user_data: 1,
            res: 0,
            flags: 0,
        },
    ]);
    // The owner may wake and run the first install before the sender queues the next
    // (a real race on two CPUs); the newest-first order is what a quick sender sees.
    if KernelBackend::new().is_ok() {
        let runs: Vec<Option<StepResult>> = (0..5)
            .map(|_| {
                let mut kb = KernelBackend::new().expect("kernel");
                r.steps
                    .iter()
                    .map(|s| kb.apply_step(s, Faults::default()))
                    .last()
            })
            .collect();
        assert!(
            runs.iter().any(|got| got.as_ref() == Some(&kernel_value)),
            "the kernel never ran them newest first: {runs:?}"
        );
    }
    assert_eq!(
        rec_results(&r).last(),
        Some(&kernel_value),
        "model disagrees with the kernel (D2)"
    );
}

/// `msgring check` seed 1, trace 1557: an SQE that names fd 4 is pushed before fd 4
/// exists and submitted after it was created. The kernel looks the fd up when it
/// consumes the SQE (at `enter`), as the model does at issue, so both must see the
/// regular file (-EBADFD). The host used to translate the fd at push time (-EBADF).
#[test]
fn sqe_fd_is_translated_at_submit_time() {
    let src = "msgring-trace 1
kernel 6.18
setup r0 entries=1
setup r1 entries=1
file f0
push r0 sqe(opcode=MSG_RING, fd=4)
file f1
file f2
enter r0 to_submit=1
reap r0
";
    let t = msgring::trace::parse(src).expect("trace parses");
    let d = match kernel::diff_trace(&t, None) {
        Ok(d) => d,
        Err(u) => {
            assert!(!require_kernel(), "{u} (MSGRING_REQUIRE_KERNEL=1)");
            eprintln!("!!!!! sqe_fd_is_translated_at_submit_time: SKIPPED: {u} !!!!!");
            return;
        }
    };
    assert_eq!(
        d.divergence,
        None,
        "model and kernel disagree: {:?}",
        d.divergent_events()
    );
    assert_eq!(d.stopped, None);
    assert_eq!(d.compared, t.steps.len());
}
