//! Issue 13, item 2: conformance. One body, written against the io-uring crate's API,
//! runs on the real io-uring 0.7 crate with this machine's kernel and on
//! `msgring::uring` with the simulated kernel; both must print the same lines: MSG_DATA,
//! FLAGS_PASS, overflow into a small CQ and its flush, a cross-thread wake of a
//! DEFER_TASKRUN owner, a non-owner's wait on it (-EEXIST), and error CQEs.
//!
//! The body is a macro over the crate (`$u`), the non-ring file it needs and the way it
//! spawns a thread: the only things that differ between the two runs.

use std::io;

macro_rules! conformance_body {
    ($u:ident, $other_file:expr, $spawn:path) => {{
        use std::os::fd::AsRawFd;
        use $u::{opcode, squeue, types, IoUring};
        let mut out: Vec<String> = Vec::new();
        fn reap(ring: &mut IoUring) -> Vec<(u64, i32, u32)> {
            ring.completion()
                .map(|c| (c.user_data(), c.result(), c.flags()))
                .collect()
        }
        #[allow(unused_unsafe)]
        fn push(ring: &mut IoUring, e: &squeue::Entry) {
            unsafe { ring.submission().push(e).expect("room in the SQ") };
        }

        // MSG_DATA and FLAGS_PASS.
        let mut a = IoUring::new(8)?;
        let mut b = IoUring::new(8)?;
        let bfd = types::Fd(b.as_raw_fd());
        push(
            &mut a,
            &opcode::MsgRingData::new(bfd, 42, 0xb0b, None)
                .build()
                .user_data(1),
        );
        push(
            &mut a,
            &opcode::MsgRingData::new(bfd, -7, 0xf1a, Some(0x100))
                .build()
                .user_data(2),
        );
        out.push(format!("submit: {}", a.submit_and_wait(2)?));
        out.push(format!("source: {:?}", reap(&mut a)));
        out.push(format!("target: {:?}", reap(&mut b)));

        // Overflow into a CQ of 2, and the flush once the CQ has room.
        let mut small = IoUring::builder().setup_cqsize(2).build(1)?;
        let sfd = types::Fd(small.as_raw_fd());
        for i in 0..4u64 {
            push(
                &mut a,
                &opcode::MsgRingData::new(sfd, i as i32, 0x10 + i, None)
                    .build()
                    .user_data(0x20 + i),
            );
            a.submit()?;
        }
        out.push(format!("sources: {:?}", reap(&mut a)));
        out.push(format!(
            "cq_overflow flag: {}",
            small.submission().cq_overflow()
        ));
        out.push(format!("first reap: {:?}", reap(&mut small)));
        small.submit()?; // GETEVENTS (the overflow flag is set): flush
        out.push(format!("after flush: {:?}", reap(&mut small)));
        out.push(format!(
            "cq_overflow flag: {}",
            small.submission().cq_overflow()
        ));
        out.push(format!("dropped: {}", small.completion().overflow()));

        // A cross-thread wake of a DEFER_TASKRUN owner, and a non-owner's wait on it.
        let (tx, rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let owner = $spawn(move || -> io::Result<Vec<(u64, i32, u32)>> {
            let mut ring: IoUring = IoUring::builder()
                .setup_single_issuer()
                .setup_defer_taskrun()
                .build(4)?;
            tx.send(ring.as_raw_fd()).unwrap();
            go_rx.recv().unwrap();
            ring.submit_and_wait(1)?;
            Ok(reap(&mut ring))
        });
        let target = rx.recv().unwrap();
        push(
            &mut a,
            &opcode::MsgRingData::new(types::Fd(target), 5, 0xd3f, None)
                .build()
                .user_data(3),
        );
        out.push(format!("wake submit: {}", a.submit_and_wait(1)?));
        out.push(format!("wake source: {:?}", reap(&mut a)));
        go_tx.send(()).unwrap();
        let got = owner.join().expect("owner")?;
        out.push(format!("owner woke with: {got:?}"));

        let defer: IoUring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(4)?;
        let other = std::thread::scope(|s| {
            s.spawn(|| {
                defer
                    .submitter()
                    .submit_and_wait(1)
                    .map_err(|e| e.raw_os_error())
            })
            .join()
            .unwrap()
        });
        out.push(format!("non-owner wait: {other:?}"));

        // Error CQEs: not a ring, not an fd, an empty source slot, a target with no table.
        let file = $other_file;
        push(
            &mut a,
            &opcode::MsgRingData::new(types::Fd(file), 0, 1, None)
                .build()
                .user_data(4),
        );
        push(
            &mut a,
            &opcode::MsgRingData::new(types::Fd(9999), 0, 1, None)
                .build()
                .user_data(5),
        );
        a.submitter().register_files_sparse(2)?;
        let slot0 = types::DestinationSlot::try_from_slot_target(0).unwrap();
        push(
            &mut a,
            &opcode::MsgRingSendFd::new(bfd, types::Fixed(1), slot0, 6)
                .build()
                .user_data(6),
        );
        a.submitter().register_files_update(0, &[file])?;
        push(
            &mut a,
            &opcode::MsgRingSendFd::new(bfd, types::Fixed(0), slot0, 7)
                .build()
                .user_data(7),
        );
        out.push(format!("errors submit: {}", a.submit_and_wait(4)?));
        out.push(format!("errors: {:?}", reap(&mut a)));
        out.push(format!("target after errors: {:?}", reap(&mut b)));
        Ok::<Vec<String>, io::Error>(out)
    }};
}

fn on_the_kernel() -> io::Result<Vec<String>> {
    let null = std::fs::File::open("/dev/null")?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    let r = conformance_body!(io_uring, fd, std::thread::spawn);
    drop(null);
    r
}

fn on_the_model() -> io::Result<Vec<String>> {
    let sim = msgring::uring::sim::Sim::new(msgring::Profile::V6_18);
    sim.run(|| {
        let fd = msgring::uring::sim::regular_file()?;
        conformance_body!(msgring_uring, fd, spawn_sim)
    })
}

use msgring::uring as msgring_uring;

fn spawn_sim<F, T>(f: F) -> msgring::uring::sim::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    msgring::uring::sim::thread::spawn("owner", f)
}

fn require_kernel() -> bool {
    std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1")
}

#[test]
fn the_same_program_prints_the_same_on_the_kernel_and_the_model() {
    let real = match on_the_kernel() {
        Ok(lines) => lines,
        Err(e) if !require_kernel() => {
            eprintln!("SKIPPED: io_uring on this kernel failed ({e}); set MSGRING_REQUIRE_KERNEL=1 to fail instead");
            return;
        }
        Err(e) => panic!("io_uring on this kernel: {e} (MSGRING_REQUIRE_KERNEL=1)"),
    };
    let model = on_the_model().expect("the model run");
    for (r, m) in real.iter().zip(&model) {
        println!("kernel: {r}\nmodel:  {m}");
    }
    assert_eq!(real, model);
    assert!(real.len() > 10);
}
