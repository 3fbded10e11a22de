//! `msgring::uring`: the io-uring-shaped API on the model, its waits, reports and
//! refusals.

use msgring::uring::sim::{self, Check, Sim, ViolationError, ViolationKind};
use msgring::uring::{opcode, squeue, types, IoUring};
use msgring::Profile;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

fn push(ring: &mut IoUring, e: &squeue::Entry) {
    ring.submission().push(e).expect("room in the SQ");
}

fn reap(ring: &mut IoUring) -> Vec<(u64, i32, u32)> {
    ring.completion()
        .map(|c| (c.user_data(), c.result(), c.flags()))
        .collect()
}

#[test]
fn a_defer_taskrun_owner_is_woken_from_another_thread() {
    Check::new("cross-thread wake of a DEFER_TASKRUN owner")
        .runs(20)
        .run(|| {
            // In a Check, threads block only in msgring calls: the owner's fd is
            // handed over through a slot the main thread spins on with yield_now.
            let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
            let tx = std::sync::Arc::clone(&slot);
            let owner = sim::thread::spawn("owner", move || -> io::Result<Vec<(u64, i32, u32)>> {
                let mut ring = IoUring::builder()
                    .setup_single_issuer()
                    .setup_defer_taskrun()
                    .build(4)?;
                *tx.lock().unwrap() = Some(ring.as_raw_fd());
                ring.submit_and_wait(1)?;
                Ok(reap(&mut ring))
            });
            let target = loop {
                if let Some(fd) = *slot.lock().unwrap() {
                    break fd;
                }
                sim::yield_now();
            };
            let mut mine = IoUring::new(4)?;
            push(
                &mut mine,
                &opcode::MsgRingData::new(types::Fd(target), 7, 0x77, None)
                    .build()
                    .user_data(1),
            );
            mine.submit_and_wait(1)?;
            sim::ensure(reap(&mut mine) == [(1, 0, 0)], || "source CQE".into())?;
            let got = owner.join().unwrap()?;
            sim::ensure(got == [(0x77, 7, 0)], || format!("owner got {got:?}"))
        })
        .expect_ok();
}

#[test]
fn a_wait_nobody_satisfies_is_reported_not_hung() {
    let r = Check::new("nobody sends")
        .runs(3)
        .quiet()
        .run(|| {
            let sleeper = sim::thread::spawn("sleeper", || -> io::Result<()> {
                let ring = IoUring::builder().name("lonely").build(4)?;
                ring.submit_and_wait(1)?;
                Ok(())
            });
            sleeper.join().unwrap()
        })
        .expect_violation_of(ViolationKind::LostWakeup);
    assert_eq!(r.sleeping_threads(), ["sleeper"]);
    let text = r.to_string();
    assert!(text.contains("'sleeper'"), "{text}");
    assert!(
        text.contains("sleeps in submit_and_wait(want 1) on ring 'lonely'"),
        "{text}"
    );
    assert!(text.contains("CQ (0 of 8): empty"), "{text}");
    assert!(text.contains("schedule"), "{text}");
}

#[test]
fn std_waits_time_out_naming_the_wait_when_the_kernel_cannot_tell() {
    // A plain std::thread that used the kernel might still send, so the kernel cannot
    // call it a lost wake-up: the wait fails after the (real-time) bound instead.
    let sim = Sim::builder()
        .name("timeout")
        .wait_timeout(Duration::from_millis(200))
        .build();
    let err = sim.run(|| {
        let ring = std::sync::Arc::new(IoUring::builder().name("patient").build(2).unwrap());
        let r = std::sync::Arc::clone(&ring);
        std::thread::spawn(move || r.submit().unwrap())
            .join()
            .unwrap();
        ring.submit_and_wait(1).unwrap_err()
    });
    let v = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<ViolationError>())
        .expect("a violation");
    assert_eq!(v.0.kind, ViolationKind::WaitTimeout);
    assert!(
        v.0.message
            .contains("in submit_and_wait(want 1) on ring 'patient'"),
        "{}",
        v.0
    );
    assert!(
        v.0.to_string().contains("not spawned through sim::thread"),
        "{}",
        v.0
    );
}

#[test]
fn unmodelled_opcodes_are_refused_with_a_clear_error() {
    let sim = Sim::new(Profile::V6_18);
    sim.run(|| {
        let mut ring = IoUring::new(4).unwrap();
        // IORING_OP_READ (22 on 6.18) is not modelled.
        let mut read = opcode::Nop::new().build().user_data(5);
        let mut sqe = *read.sqe();
        sqe.opcode = 22;
        read = squeue::Entry::from(sqe);
        push(&mut ring, &read);
        let e = ring.submit().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("opcode 22"), "{e}");
        assert!(e.to_string().contains("external"), "{e}");
        // Nothing was posted for it, and the ring goes on working.
        assert_eq!(ring.submit().unwrap(), 0);
        assert!(reap(&mut ring).is_empty());
    });
}

#[test]
fn external_completion_posts_the_result_the_test_chooses() {
    let sim = Sim::builder()
        .external(|e| (e.get_opcode() == 22).then_some(512))
        .build();
    sim.run(|| {
        let mut ring = IoUring::new(4).unwrap();
        let mut sqe = *opcode::Nop::new().build().sqe();
        sqe.opcode = 22;
        push(&mut ring, &squeue::Entry::from(sqe).user_data(9));
        push(&mut ring, &opcode::Nop::new().build().user_data(10));
        assert_eq!(ring.submit_and_wait(2).unwrap(), 2);
        assert_eq!(reap(&mut ring), [(9, 512, 0), (10, 0, 0)]);
    });
}

#[test]
fn violations_reach_every_thread_as_errors() {
    let r = Check::new("property")
        .runs(1)
        .quiet()
        .run(|| {
            let _ring = IoUring::new(2)?;
            sim::ensure(1 + 1 == 3, || "arithmetic".into())
        })
        .expect_violation_of(ViolationKind::Property);
    assert_eq!(r.message, "arithmetic");
    let sim = Sim::new(Profile::V6_18);
    sim.run(|| {
        let ring = IoUring::new(2).unwrap();
        let _ = sim::violation("stop here");
        let e = ring.submit().unwrap_err();
        let v = e.get_ref().and_then(|e| e.downcast_ref::<ViolationError>());
        assert!(v.is_some(), "{e}");
    });
}
