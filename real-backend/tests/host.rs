//! Basic behaviour of the Host API on the running kernel.
#![cfg(target_os = "linux")]

use msgring_real_backend::consts::*;
use msgring_real_backend::*;
use std::time::Duration;

const T0: TaskId = TaskId(0);
const MS: Duration = Duration::from_millis(200);

#[test]
fn probe_reports_msg_ring() {
    let k = probe().unwrap();
    assert!(k.version.0 >= 5);
    assert!(k.supports_op(sqe::OP_MSG_RING));
    assert!(k.supports_op(sqe::OP_NOP));
}

#[test]
fn msg_data_to_other_ring() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 4, 0, 0).unwrap();
    let b = h.setup_ring(T0, 4, 0, SETUP_CQE32).unwrap();
    h.push_sqe(a, sqe::msg_data(b.0, 7, 0x1234, 9)).unwrap();
    assert_eq!(h.enter(T0, a, 1, 1, ENTER_GETEVENTS, MS), 1);
    let c = h.reap(a, 8);
    assert_eq!(
        c,
        vec![Cqe {
            user_data: 9,
            res: 0,
            flags: 0,
            big: [0, 0]
        }]
    );
    assert_eq!(
        h.reap(b, 8),
        vec![Cqe {
            user_data: 0x1234,
            res: 7,
            flags: 0,
            big: [0, 0]
        }]
    );
    assert_eq!(h.cq_ready(b), 0);
}

#[test]
fn unknown_vfd_is_minus_one() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 4, 0, 0).unwrap();
    h.push_sqe(a, sqe::msg_data(999, 0, 0, 1)).unwrap();
    h.enter(T0, a, 1, 1, ENTER_GETEVENTS, MS);
    assert_eq!(h.reap(a, 8)[0].res, -libc_ebadf());
    assert_eq!(h.sync_msg(T0, sqe::msg_data(999, 0, 0, 0)), -libc_ebadf());
    assert_eq!(h.close(Vfd(999)), -libc_ebadf());
}

fn libc_ebadf() -> i32 {
    9
}

#[test]
fn forbidden_opcode_and_sq_full() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 2, 0, 0).unwrap();
    let mut read = sqe::nop(1);
    read[0] = 22; // IORING_OP_READ
    assert_eq!(h.push_sqe(a, read), Err(PushError::Forbidden));
    h.push_sqe(a, sqe::nop(1)).unwrap();
    h.push_sqe(a, sqe::nop(2)).unwrap();
    assert_eq!(h.push_sqe(a, sqe::nop(3)), Err(PushError::SqFull));
    assert_eq!(h.sq_pending(a), 2);
    assert_eq!(h.enter(T0, a, 2, 0, 0, MS), 2);
    assert_eq!(h.reap(a, 8).len(), 2);
}

#[test]
fn send_fd_and_slot_identity() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 4, 0, 0).unwrap();
    let b = h.setup_ring(T0, 4, 0, 0).unwrap();
    let f = h.create_regular_file().unwrap();
    let (pr, _pw) = h.create_pipe().unwrap();
    assert_eq!(h.register_files(T0, a, &[Some(f), Some(pr)]), 0);
    assert_eq!(h.register_files_sparse(T0, b, 4), 0);
    assert_eq!(h.slot_identity(b, 0), None);
    h.push_sqe(a, sqe::msg_send_fd(b.0, 0, 2, 77, 5)).unwrap();
    h.enter(T0, a, 1, 1, ENTER_GETEVENTS, MS);
    assert_eq!(h.reap(a, 8)[0].res, 0);
    assert_eq!(h.slot_identity(b, 2), h.file_identity(f));
    assert_eq!(h.close(f), 0);
    // Still identified after the host's own fd is closed.
    assert_eq!(h.slot_identity(b, 2), h.slot_identity(a, 0));
    assert!(h.slot_identity(b, 2).is_some());
    assert_eq!(h.slot_identity(a, 1), h.file_identity(pr));
    assert_eq!(h.file_table(b).unwrap().len(), 4);
}

#[test]
fn single_issuer_owner_thread() {
    let mut h = Host::new().unwrap();
    let t1 = h.spawn_task().unwrap();
    let r = h
        .setup_ring(t1, 4, 0, SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN)
        .unwrap();
    assert_eq!(h.enter(T0, r, 0, 0, ENTER_GETEVENTS, MS), -17); // EEXIST
    assert_eq!(h.enter(t1, r, 0, 0, ENTER_GETEVENTS, MS), 0);
    assert_eq!(h.register_files_sparse(T0, r, 2), -17);
    assert_eq!(h.register_files_sparse(t1, r, 2), 0);
    assert_eq!(h.exit_task(t1), 0);
    assert!(!h.task_alive(t1));
    assert_eq!(h.enter(t1, r, 0, 0, ENTER_GETEVENTS, MS), HOST_REFUSED);
    assert_eq!(h.ring_info(r).unwrap().creator, t1);
}

#[test]
fn enter_timeout_returns_etime() {
    let mut h = Host::new().unwrap();
    let a = h.setup_ring(T0, 4, 0, 0).unwrap();
    let r = h.enter(T0, a, 0, 1, ENTER_GETEVENTS, Duration::from_millis(10));
    assert_eq!(r, -62); // ETIME
}

#[test]
fn caps_and_refusals() {
    let mut h = Host::new().unwrap();
    assert_eq!(h.setup_ring(T0, 8192, 0, 0), Err(HOST_REFUSED));
    assert_eq!(h.setup_ring(T0, 4, 0, SETUP_ATTACH_WQ), Err(HOST_REFUSED));
    assert_eq!(h.setup_ring(T0, 0, 0, 0), Err(-22));
    for _ in 0..limits::MAX_RINGS {
        h.setup_ring(T0, 1, 0, 0).unwrap();
    }
    assert_eq!(h.setup_ring(T0, 1, 0, 0), Err(HOST_REFUSED));
    assert_eq!(h.spawn_task().map(|_| ()), Ok(()));
}

#[test]
fn sqpoll_sqe128_nosqarray_rings_work() {
    let mut h = Host::new().unwrap();
    for flags in [
        SETUP_SQPOLL,
        SETUP_SQE128,
        SETUP_NO_SQARRAY,
        SETUP_CQE32 | SETUP_SQE128,
    ] {
        let r = h.setup_ring(T0, 4, 0, flags).unwrap();
        for i in 0..6u64 {
            h.push_sqe(r, sqe::msg_data(r.0, i as u32, 50 + i, i))
                .unwrap();
            let n = if flags & SETUP_SQPOLL != 0 { 0 } else { 1 };
            h.enter(
                T0,
                r,
                n,
                2,
                ENTER_GETEVENTS | ENTER_SQ_WAKEUP,
                Duration::from_secs(2),
            );
            let mut c = h.reap(r, 8);
            c.sort_by_key(|c| c.user_data);
            assert_eq!(c.len(), 2, "flags {flags:#x}");
            assert_eq!((c[0].user_data, c[0].res), (i, 0));
            assert_eq!((c[1].user_data, c[1].res), (50 + i, i as i32));
        }
        assert_eq!(h.overflow_list(r), Some(vec![]));
    }
}

/// A host never hands out an fd number it closed in the same run (an SQE that still
/// names it must find it closed), and a thread with a table of its own
/// (`isolate_fd_table`, as `msgring check -j N` jobs) neither sees nor reuses the
/// process table's numbers.
#[test]
fn closed_fd_numbers_are_not_reused_and_isolated_tables_are_private() {
    let mut h = Host::new().unwrap();
    let (r, w) = h.create_pipe().unwrap();
    let real = |h: &Host, v: Vfd| h.host_fd(v).expect("open");
    let (rfd, wfd) = (real(&h, r), real(&h, w));
    assert_eq!(h.close(r), 0);
    assert_eq!(h.close(w), 0);
    let ring = h.setup_ring(T0, 4, 0, 0).unwrap();
    let e = h.create_eventfd().unwrap();
    let (ring_fd, efd) = (real(&h, ring), real(&h, e));
    assert!(
        ![rfd, wfd].contains(&ring_fd) && ![rfd, wfd].contains(&efd),
        "closed numbers {rfd}, {wfd} handed out again: ring {ring_fd}, eventfd {efd}"
    );
    // A private table: a file opened there is not in the process table, and fds
    // opened before are not in it.
    let links = |dir: &str| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|d| std::fs::read_link(d.ok()?.path()).ok())
            .map(|l| l.to_string_lossy().into_owned())
            .collect()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        isolate_fd_table().expect("close_range(CLOSE_RANGE_UNSHARE)");
        let mut h2 = Host::new().unwrap();
        let f = h2.create_regular_file().unwrap();
        let fd = h2.host_fd(f).unwrap();
        let link = std::fs::read_link(format!("/proc/thread-self/fd/{fd}")).unwrap();
        let theirs = std::path::Path::new(&format!("/proc/thread-self/fd/{ring_fd}")).exists();
        tx.send((link.to_string_lossy().into_owned(), theirs))
            .unwrap();
        let _ = done_rx.recv();
    });
    let (mine, theirs) = rx.recv().unwrap();
    let process = links("/proc/self/fd");
    done_tx.send(()).unwrap();
    t.join().unwrap();
    assert!(
        !theirs,
        "the isolated thread still sees the process's ring fd"
    );
    assert!(mine.contains("msgring-"), "{mine}");
    assert!(!process.contains(&mine), "{mine} is in the process table");
}
