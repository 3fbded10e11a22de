//! Dropping a Host closes everything it created. Own test binary so no other
//! test opens fds concurrently.
#![cfg(target_os = "linux")]

use msgring_real_backend::consts::*;
use msgring_real_backend::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn thousand_hosts_leak_nothing() {
    // Warm up (lazy statics, thread machinery).
    drop(Host::new().unwrap());
    let before = open_fds();
    for i in 0..1000u32 {
        let mut h = Host::new().unwrap();
        let t1 = h.spawn_task().unwrap();
        let a = h.setup_ring(TaskId(0), 8, 0, 0).unwrap();
        let b = h
            .setup_ring(
                t1,
                4,
                16,
                SETUP_CQSIZE | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
            )
            .unwrap();
        let (pr, pw) = h.create_pipe().unwrap();
        let e = h.create_eventfd().unwrap();
        let f = h.create_regular_file().unwrap();
        assert_eq!(
            h.register_files(TaskId(0), a, &[Some(pr), Some(pw), Some(e), Some(f)]),
            0
        );
        assert_eq!(h.register_files_sparse(t1, b, 4), 0);
        h.push_sqe(a, sqe::msg_send_fd(b.0, 3, 0, 1, 1)).unwrap();
        h.enter(TaskId(0), a, 1, 0, 0, std::time::Duration::from_millis(10));
        if i % 2 == 0 {
            h.close(f);
            h.exit_task(t1);
        }
    }
    assert_eq!(open_fds(), before);
}
