//! Experiment 3: SINGLE_ISSUER (and DEFER) rings used from a non-owner task,
//! before and after the owner exits.
//! Run: cargo run -p msgring-real-backend --example exp3_single_issuer
use msgring_real_backend::consts::*;
use msgring_real_backend::sqe::*;
use msgring_real_backend::*;
use std::time::Duration;

const T0: TaskId = TaskId(0);
const MS: Duration = Duration::from_millis(20);

fn probe_ring(h: &mut Host, who: TaskId, r: Vfd, label: &str) {
    h.push_sqe(r, nop(7)).unwrap();
    let sub = h.enter(who, r, 1, 0, 0, MS);
    let pend = h.sq_pending(r);
    let get0 = h.enter(who, r, 0, 0, ENTER_GETEVENTS, MS);
    let get1 = h.enter(who, r, 0, 1, ENTER_GETEVENTS, MS);
    let reg = h.register_files_sparse(who, r, 2);
    let unreg = h.unregister_files(who, r);
    let cq = h.reap(r, 8).len();
    println!("{label}: submit(1)={sub} sq_pending_after={pend} GETEVENTS(min0)={get0} GETEVENTS(min1)={get1} register_sparse={reg} unregister={unreg} cqes={cq}");
}

fn main() {
    for (name, flags) in [
        ("SINGLE_ISSUER", SETUP_SINGLE_ISSUER),
        (
            "SINGLE_ISSUER|DEFER_TASKRUN",
            SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
        ),
        (
            "SINGLE_ISSUER|R_DISABLED (owner enables)",
            SETUP_SINGLE_ISSUER | SETUP_R_DISABLED,
        ),
    ] {
        let mut h = Host::new().unwrap();
        let owner = h.spawn_task().unwrap();
        let r = h.setup_ring(owner, 8, 0, flags).unwrap();
        if flags & SETUP_R_DISABLED != 0 {
            let e0 = h.enter(T0, r, 0, 0, ENTER_GETEVENTS, MS);
            println!("[{name}] before enable: enter from t0 = {e0}");
            let en = h.enable_rings(owner, r);
            let en2 = h.enable_rings(T0, r);
            println!("[{name}] enable by owner = {en}, again by t0 = {en2}");
        }
        probe_ring(&mut h, T0, r, &format!("[{name}] non-owner      "));
        probe_ring(&mut h, owner, r, &format!("[{name}] owner          "));
        h.exit_task(owner);
        probe_ring(&mut h, T0, r, &format!("[{name}] t0 after exit  "));
        let t2 = h.spawn_task().unwrap();
        probe_ring(&mut h, t2, r, &format!("[{name}] new task after "));
        // messages into it after the owner died
        let src = h.setup_ring(T0, 4, 0, 0).unwrap();
        h.push_sqe(src, msg_data(r.0, 1, 99, 5)).unwrap();
        h.enter(T0, src, 1, 1, ENTER_GETEVENTS, MS);
        let s = h.reap(src, 4);
        let sync = h.sync_msg(T0, msg_data(r.0, 1, 98, 0));
        println!("[{name}] MSG_DATA into it after owner exit: src res={:?} sync={sync} tgt visible={} ovf_list={:?}",
            s.iter().map(|c| c.res).collect::<Vec<_>>(), h.cq_ready(r), h.overflow_list(r));
    }
}
