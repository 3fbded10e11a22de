//! Throughput of the kernel, the model and the differential harness.
//!
//! `cargo bench -p msgring-model-tests --features real-backend --bench throughput`
//! (plain harness: prints numbers; see docs/performance.md).

use std::time::{Duration, Instant};

#[cfg(feature = "real-backend")]
use msgring::kernel::{self, driver, KernelBackend};
use msgring::uapi::setup;
use msgring::{MsgRingData, Step, StepResult, TaskId, World};

const BATCH: u32 = 64;
const T0: TaskId = TaskId(0);

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn msg(target: i32, i: u32) -> msgring::Sqe {
    MsgRingData {
        ring_fd: target,
        result: i as i32,
        user_data: u64::from(i),
        user_flags: None,
    }
    .build()
}

/// How the model benchmark drives the world.
#[derive(Clone, Copy, PartialEq)]
enum Drive {
    /// As a runtime would: `push_multiple` of 64 SQEs, one enter, `reap_into` both
    /// rings (the kernel baseline writes SQEs into the mapped SQ and counts CQEs).
    Runtime,
    /// One `Step::Push` per SQE, `Step::Reap` (what a trace does).
    Steps,
    /// As `Runtime`, with the fast lanes off (`World::set_fast_lanes(false)`).
    NoLanes,
}

/// MSG_DATA through the model: 64 pushes, one enter, reap both rings.
fn model_msgs(rounds: u32, drive: Drive) -> (u64, Duration) {
    let mut w = World::default();
    w.set_fast_lanes(drive != Drive::NoLanes);
    let setup = |e: u32| Step::Setup {
        task: T0,
        entries: e,
        cq_entries: 128,
        flags: setup::CQSIZE,
    };
    assert_eq!(w.apply(&setup(BATCH)), StepResult::Ret(0));
    assert_eq!(w.apply(&setup(1)), StepResult::Ret(1));
    let mut sqes = Vec::with_capacity(BATCH as usize);
    let mut cqes = Vec::with_capacity(BATCH as usize);
    let start = Instant::now();
    for r in 0..rounds {
        sqes.clear();
        sqes.extend((0..BATCH).map(|i| msg(1, r * BATCH + i)));
        if drive == Drive::Steps {
            for &sqe in &sqes {
                assert_eq!(w.apply(&Step::Push { ring: 0, sqe }), StepResult::Ret(0));
            }
        } else {
            assert_eq!(w.push_multiple(0, &sqes), StepResult::Ret(0));
        }
        w.apply(&Step::Enter {
            task: T0,
            ring: 0,
            to_submit: BATCH,
            min_complete: 0,
            flags: 0,
        });
        for ring in [0, 1] {
            if drive == Drive::Steps {
                match w.apply(&Step::Reap { ring, max: BATCH }) {
                    StepResult::Reaped(c) => assert_eq!(c.len(), BATCH as usize),
                    other => panic!("{other:?}"),
                }
            } else {
                cqes.clear();
                assert_eq!(w.reap_into(ring, BATCH, &mut cqes), Some(BATCH));
            }
        }
    }
    (u64::from(rounds * BATCH), start.elapsed())
}

#[cfg(feature = "real-backend")]
fn kernel_msgs(rounds: u32) -> (u64, Duration) {
    let mut h = driver::Host::new().expect("kernel");
    let t = driver::TaskId(0);
    let a = h.setup_ring(t, BATCH, 128, setup::CQSIZE).expect("ring");
    let b = h.setup_ring(t, 1, 128, setup::CQSIZE).expect("ring");
    let start = Instant::now();
    for r in 0..rounds {
        for i in 0..BATCH {
            h.push_sqe(a, msg(b.0 as i32, r * BATCH + i).to_bytes())
                .expect("push");
        }
        assert_eq!(h.enter(t, a, BATCH, 0, 0, Duration::ZERO), BATCH as i32);
        assert_eq!(h.reap(a, BATCH).len(), BATCH as usize);
        assert_eq!(h.reap(b, BATCH).len(), BATCH as usize);
    }
    (u64::from(rounds * BATCH), start.elapsed())
}

/// Two rings, one message, reap both: the smallest differential trace.
#[cfg(feature = "real-backend")]
fn small_trace() -> Vec<Step> {
    let s = |e| Step::Setup {
        task: T0,
        entries: e,
        cq_entries: 0,
        flags: 0,
    };
    vec![
        s(4),
        s(4),
        Step::Push {
            ring: 0,
            sqe: msg(1, 7),
        },
        Step::Enter {
            task: T0,
            ring: 0,
            to_submit: 1,
            min_complete: 0,
            flags: 0,
        },
        Step::Reap { ring: 0, max: 8 },
        Step::Reap { ring: 1, max: 8 },
    ]
}

#[cfg(feature = "real-backend")]
fn bare_loops(n: u32) -> (u64, Duration) {
    let start = Instant::now();
    for _ in 0..n {
        let mut h = driver::Host::new().expect("kernel");
        let t = driver::TaskId(0);
        let a = h.setup_ring(t, 4, 0, 0).expect("ring");
        let b = h.setup_ring(t, 4, 0, 0).expect("ring");
        h.push_sqe(a, msg(b.0 as i32, 7).to_bytes()).expect("push");
        assert_eq!(h.enter(t, a, 1, 0, 0, Duration::ZERO), 1);
        assert_eq!(h.reap(a, 8).len(), 1);
        assert_eq!(h.reap(b, 8).len(), 1);
    }
    (u64::from(n), start.elapsed())
}

/// The bare loop through one `Host` whose task 0 is this thread, reset between loops.
#[cfg(feature = "real-backend")]
fn reused_host_loops(n: u32) -> (u64, Duration) {
    let mut h = driver::Host::new_with(driver::Task0::Caller).expect("kernel");
    let t = driver::TaskId(0);
    let start = Instant::now();
    for _ in 0..n {
        h.reset().expect("reset");
        let a = h.setup_ring(t, 4, 0, 0).expect("ring");
        let b = h.setup_ring(t, 4, 0, 0).expect("ring");
        h.push_sqe(a, msg(b.0 as i32, 7).to_bytes()).expect("push");
        assert_eq!(h.enter(t, a, 1, 0, 0, Duration::ZERO), 1);
        assert_eq!(h.reap(a, 8).len(), 1);
        assert_eq!(h.reap(b, 8).len(), 1);
    }
    (u64::from(n), start.elapsed())
}

/// The differential loop as `msgring check` runs it on each of its threads: one
/// `KernelBackend` (task 0 is this thread), reset between traces, a fresh model.
#[cfg(feature = "real-backend")]
fn diff_loops(n: u32) -> (u64, Duration) {
    let trace = small_trace();
    let profile = kernel::kernel_profile(&kernel::probe().expect("kernel")).expect("profile");
    let mut kb = KernelBackend::for_this_thread().expect("kernel");
    let start = Instant::now();
    for _ in 0..n {
        kb.reset().expect("reset");
        let rep = kernel::diff_run_on(&mut World::new(profile), &mut kb, &trace);
        assert!(rep.divergence.is_none() && rep.compared == trace.len());
    }
    (u64::from(n), start.elapsed())
}

/// The old differential loop: a fresh `KernelBackend` (and task 0 thread) per trace.
#[cfg(feature = "real-backend")]
fn fresh_diff_loops(n: u32) -> (u64, Duration) {
    let trace = small_trace();
    let profile = kernel::kernel_profile(&kernel::probe().expect("kernel")).expect("profile");
    let start = Instant::now();
    for _ in 0..n {
        let mut kb = KernelBackend::new().expect("kernel");
        let rep = kernel::diff_run_on(&mut World::new(profile), &mut kb, &trace);
        assert!(rep.divergence.is_none() && rep.compared == trace.len());
    }
    (u64::from(n), start.elapsed())
}

fn main() {
    let rounds = std::env::var("MSGRING_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    // The best run of each (model: 5 runs of 6.4 M messages, ~60 ms each; kernel:
    // 3 runs of 1.28 M, ~220 ms each): the figure each would show with the machine
    // to itself.
    let best = |drive| {
        (0..5)
            .map(|_| model_msgs(rounds, drive))
            .min_by_key(|&(_, d)| d)
            .expect("three runs")
    };
    if std::env::var_os("MSGRING_BENCH_MODEL_ONLY").is_some() {
        // For profilers (perf, callgrind): the runtime-style model loop alone.
        let (n, d) = model_msgs(rounds, Drive::Runtime);
        println!(
            "model  MSG_DATA: {n} msgs in {d:.2?}: {:.0} msgs/s",
            per_sec(n, d)
        );
        return;
    }
    let (n, d) = best(Drive::Runtime);
    let model = per_sec(n, d);
    println!(
        "model  MSG_DATA (push_multiple, enter, reap_into): {n} msgs in {d:.2?}: {model:.0} msgs/s"
    );
    let (n, d) = best(Drive::Steps);
    println!(
        "model  MSG_DATA (one Step::Push per SQE, Step::Reap): {:.0} msgs/s",
        per_sec(n, d)
    );
    let (n, d) = best(Drive::NoLanes);
    println!(
        "model  MSG_DATA (push_multiple, fast lanes off): {:.0} msgs/s",
        per_sec(n, d)
    );
    #[cfg(feature = "real-backend")]
    {
        if let Err(u) = kernel::probe() {
            println!("{u}: kernel figures skipped");
            return;
        }
        let (n, d) = (0..3)
            .map(|_| driver::rawbench::msg_data_throughput(20_000, BATCH).expect("io_uring"))
            .min_by_key(|&(_, d)| d)
            .expect("three runs");
        let raw = per_sec(n, d);
        println!("kernel MSG_DATA, io-uring crate, {BATCH} SQEs per submit: {n} msgs in {d:.2?}: {raw:.0} msgs/s");
        println!("model / kernel: {:.2}x (target >= 20x)", model / raw);
        let (n, d) = kernel_msgs(20_000);
        let k = per_sec(n, d);
        println!("kernel MSG_DATA through the Host (a thread hop per enter): {n} msgs in {d:.2?}: {k:.0} msgs/s");
        println!("model / Host: {:.2}x", model / k);
        let (n, d) = driver::rawbench::bare_loop(20_000).expect("io_uring");
        let bare = per_sec(n, d);
        println!("bare loop, io-uring crate (2 rings, 1 msg, reap, teardown): {bare:.0} loops/s");
        let (n, d) = bare_loops(5_000);
        let host_bare = per_sec(n, d);
        println!("same loop through a fresh Host each time: {host_bare:.0} loops/s");
        let (n, d) = reused_host_loops(20_000);
        println!(
            "same loop through one reused Host (task 0 = this thread): {:.0} loops/s",
            per_sec(n, d)
        );
        let (n, d) = fresh_diff_loops(5_000);
        println!(
            "differential, fresh KernelBackend per trace (old loop): {:.0} traces/s",
            per_sec(n, d)
        );
        let (n, d) = diff_loops(20_000);
        let diff = per_sec(n, d);
        println!("differential (same trace, model + one reused KernelBackend, as in msgring check): {diff:.0} traces/s");
        println!(
            "differential / bare: {:.0}% (target >= 50%)",
            100.0 * diff / bare
        );
    }
}
