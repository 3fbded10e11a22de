//! Experiment 1: how many MSG_DATA CQEs one GETEVENTS enter by the owner of a
//! DEFER_TASKRUN ring makes visible.
//! Run: cargo run -p msgring-real-backend --example exp1_defer_batch
use msgring_real_backend::consts::*;
use msgring_real_backend::*;
use std::time::Duration;

const T0: TaskId = TaskId(0);

fn run(n: u32, cq: u32, min_complete: u32, reap_between: bool) -> String {
    let mut h = Host::new().unwrap();
    let t = h.spawn_task().unwrap();
    let a = h.setup_ring(T0, 128, 256, SETUP_CQSIZE).unwrap();
    let b = h
        .setup_ring(
            t,
            4,
            cq,
            SETUP_CQSIZE | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN | SETUP_TASKRUN_FLAG,
        )
        .unwrap();
    for i in 0..n {
        h.push_sqe(a, sqe::msg_data(b.0, i, 1000 + i as u64, i as u64))
            .unwrap();
    }
    let sub = h.enter(T0, a, n, 0, 0, Duration::ZERO);
    let src = h.reap(a, 1024);
    assert_eq!(sub as u32, n);
    assert!(src.iter().all(|c| c.res == 0) && src.len() as u32 == n);
    assert_eq!(h.cq_ready(b), 0, "nothing visible before the owner enters");
    let flags0 = h.sq_flags(b);
    let mut got = Vec::new();
    let mut seen = 0u32;
    let mut detail = Vec::new();
    let mut all = Vec::new();
    for _ in 0..40 {
        let t_start = std::time::Instant::now();
        let rc = h.enter(
            t,
            b,
            0,
            min_complete,
            ENTER_GETEVENTS,
            Duration::from_millis(50),
        );
        let ms = t_start.elapsed().as_millis();
        let ready = h.cq_ready(b);
        let ovf = h.overflow_list(b).map(|l| l.len()).unwrap_or(usize::MAX);
        let delta = if reap_between { ready } else { ready - seen };
        seen = ready;
        detail.push(format!(
            "rc={rc} {ms}ms ready={ready} ovf={ovf} sqf={:#x}",
            h.sq_flags(b)
        ));
        if reap_between {
            all.extend(h.reap(b, 1024));
        }
        got.push(delta);
        if (reap_between && all.len() as u32 == n) || (!reap_between && delta == 0 && ovf == 0) {
            break;
        }
    }
    if !reap_between {
        all.extend(h.reap(b, 1024));
    }
    let in_order = all
        .iter()
        .enumerate()
        .all(|(i, c)| c.user_data == 1000 + i as u64 && c.res == i as i32);
    format!(
        "N={n:3} cq={cq:3} min={min_complete:2} reap={reap_between:5} sqflags_before={flags0:#x} per-call={got:?} total={} fifo={in_order} cq_overflow={}\n      first calls: {:?}",
        all.len(),
        h.cq_overflow(b),
        &detail[..detail.len().min(7)]
    )
}

fn main() {
    // A DEFER ring with nothing pending: does GETEVENTS(min 1) time out?
    {
        let mut h = Host::new().unwrap();
        let t = h.spawn_task().unwrap();
        let b = h
            .setup_ring(t, 4, 0, SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN)
            .unwrap();
        let t_start = std::time::Instant::now();
        let rc = h.enter(t, b, 0, 1, ENTER_GETEVENTS, Duration::from_millis(50));
        println!(
            "empty DEFER ring enter(0,1,GETEVENTS,50ms) = {rc} after {}ms",
            t_start.elapsed().as_millis()
        );
    }
    for &n in &[100u32, 10] {
        for &cq in &[16u32, 32, 256] {
            for &mc in &[0u32, 1, 64] {
                println!("{}", run(n, cq, mc, true));
            }
        }
    }
    println!("-- without reaping between calls --");
    for &cq in &[16u32, 256] {
        for &mc in &[0u32, 64] {
            println!("{}", run(100, cq, mc, false));
        }
    }
}
