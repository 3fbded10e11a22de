//! liburing `examples/proxy.c`: the acceptor hands each accepted connection (a fixed
//! file) to a per-connection thread with MSG_RING SEND_FD, and stops every thread with
//! a MSG_DATA at shutdown.
//!
//! The acceptor's ring accepts into a fixed slot. For each connection it starts a
//! thread, which sets up its own ring (with a sparse fixed-file table) and meets the
//! acceptor at a `pthread_barrier`; then the acceptor sends
//! `io_uring_prep_msg_ring_fd(target, src_slot = accept's res, dst_slot = 0,
//! __FD_PASS)`, tagging its own CQE `__NOP` (and ignoring it). At shutdown it sends
//! `io_uring_prep_msg_ring(target, 0, __STOP)`; a thread tears down when it sees
//! `__STOP` (here: releases its table and exits).
//!
//! The accept itself (IORING_OP_ACCEPT) is not modelled: the test puts the connection
//! (a regular file standing in for the socket) into the acceptor's table as
//! accept-direct would, and completes the ACCEPT SQE externally with that slot
//! (`Check::external`, see [`accept_completion`]).
//!
//! Variants:
//! * [`Variant::Fixed`]: the thread registers its table before the barrier.
//! * [`Variant::EarlyBarrier`]: the thread meets the barrier as soon as its ring exists
//!   and registers the table after; a SEND_FD that comes first fails with -ENXIO (no
//!   table, R21), the acceptor does not look at its `__NOP` CQE, and the connection is
//!   never handed over.
//! * [`Variant::AsyncBatch`]: the acceptor hands the connection over and, shutting down
//!   at once, queues the STOP in the same submit, both with IOSQE_ASYNC. io-wq may run
//!   the two requests in either order (choice point `iowq_order`, R42): when STOP runs
//!   first the thread stops before it is handed the connection. Thread interleavings
//!   alone never show this; the kernel's choices do.

use super::drain;
use msgring::sync::{Arc, Mutex};
use msgring::uring::{opcode, sim, squeue, types, IoUring};
use std::io;
use std::os::fd::AsRawFd;

const FD_PASS: u64 = 11;
const NOP: u64 = 12;
const STOP: u64 = 13;
const ACCEPT: u64 = 14;
/// `IORING_OP_ACCEPT` (not modelled).
pub const OP_ACCEPT: u8 = 13;

fn encode(tid: u64, op: u64) -> u64 {
    (tid << 8) | op
}

/// The external completion of the ACCEPT SQEs: the slot the test installed the
/// connection in, which is the connection number in the ACCEPT SQE's user_data.
pub fn accept_completion(e: &squeue::Entry) -> Option<i32> {
    (e.get_opcode() == u32::from(OP_ACCEPT)).then(|| (e.get_user_data() >> 8) as i32)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Fixed,
    EarlyBarrier,
    AsyncBatch,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub variant: Variant,
    /// Connections (one thread each).
    pub connections: u64,
    /// The threads' rings use DEFER_TASKRUN (proxy's `-d`): SEND_FD then completes
    /// through the owner's task_work (R24).
    pub defer: bool,
}

/// `pthread_barrier_wait` for two, carrying the thread's ring fd. The acceptor spins
/// on `sim::yield_now` (a switch point for every scheduler).
struct Startup {
    fd: Mutex<Option<i32>>,
}

impl Startup {
    fn publish(&self, fd: i32) {
        *self.fd.lock().unwrap() = Some(fd);
    }
    fn wait(&self) -> i32 {
        loop {
            if let Some(fd) = *self.fd.lock().unwrap() {
                return fd;
            }
            sim::yield_now();
        }
    }
}

/// `thread_main` + `__event_loop` of connection `tid`: how many connections it was
/// handed.
fn conn_thread(cfg: Config, tid: u64, startup: &Startup) -> io::Result<u32> {
    let mut b = IoUring::builder();
    b.name(if tid == 0 { "conn 0" } else { "conn 1" });
    if cfg.defer {
        b.setup_single_issuer().setup_defer_taskrun();
    }
    let ring = b.build(4)?;
    if cfg.variant == Variant::EarlyBarrier {
        startup.publish(ring.as_raw_fd());
    }
    ring.submitter().register_files_sparse(4)?;
    if cfg.variant != Variant::EarlyBarrier {
        startup.publish(ring.as_raw_fd());
    }
    let mut passed = 0;
    'events: loop {
        ring.submit_and_wait(1)?;
        for c in drain(&ring) {
            match c.user_data() & 0xff {
                FD_PASS => {
                    sim::note(format!(
                        "conn {tid}: got the connection in slot {}",
                        c.result()
                    ));
                    passed += 1;
                }
                STOP => break 'events,
                other => return Err(io::Error::other(format!("bad user data {other}"))),
            }
        }
    }
    // Teardown: close every direct descriptor.
    ring.submitter().unregister_files()?;
    Ok(passed)
}

/// One execution: the acceptor (main) accepts `connections` connections, hands each
/// to its thread, then stops them all. Property: every connection is installed in its
/// thread's table exactly once, every thread stops, and every connection file is
/// released at the end.
pub fn run(cfg: Config) -> io::Result<()> {
    let mut ring = IoUring::builder().name("acceptor").build(8)?;
    ring.submitter().register_files_sparse(4)?;
    let mut threads = Vec::new();
    let mut files = Vec::new();
    let mut targets = Vec::new();
    for tid in 0..cfg.connections {
        // accept-direct: the connection lands in slot `tid` of the acceptor's table.
        let conn = sim::regular_file()?;
        ring.submitter()
            .register_files_update(tid as u32, &[conn])?;
        files.push(sim::world().fd_file(conn).expect("open"));
        sim::close(conn)?;
        let mut accept = *opcode::Nop::new().build().sqe();
        accept.opcode = OP_ACCEPT;
        let accept = squeue::Entry::from(accept).user_data(encode(tid, ACCEPT));
        ring.submission().push(&accept).expect("room");
        ring.submit_and_wait(1)?;
        let slot = drain(&ring).first().expect("the accept").result();
        // handle_accept: start the connection's thread, wait until its ring is set up.
        let startup = Arc::new(Startup {
            fd: Mutex::new(None),
        });
        let s = Arc::clone(&startup);
        let name = if tid == 0 { "conn 0" } else { "conn 1" };
        threads.push(sim::thread::spawn(name, move || conn_thread(cfg, tid, &s)));
        let target = startup.wait();
        let pass = opcode::MsgRingSendFd::new(
            types::Fd(target),
            types::Fixed(slot as u32),
            types::DestinationSlot::try_from_slot_target(0).expect("slot 0"),
            encode(tid, FD_PASS),
        )
        .build()
        .user_data(encode(tid, NOP));
        if cfg.variant == Variant::AsyncBatch {
            let stop = opcode::MsgRingData::new(types::Fd(target), 0, encode(tid, STOP), None)
                .build()
                .user_data(encode(tid, NOP))
                .flags(squeue::Flags::ASYNC);
            let pass = pass.flags(squeue::Flags::ASYNC);
            ring.submission()
                .push_multiple(&[pass, stop])
                .expect("room");
            ring.submit_and_wait(2)?;
            drain(&ring);
            ring.submitter().register_files_update(slot as u32, &[-1])?;
            continue;
        }
        ring.submission().push(&pass).expect("room");
        ring.submit_and_wait(1)?;
        // The __NOP CQE is not looked at (example code); the acceptor's copy goes.
        drain(&ring);
        ring.submitter().register_files_update(slot as u32, &[-1])?;
        targets.push(target);
    }
    // Shutdown: __close_conn for every connection.
    for (tid, &fd) in targets.iter().enumerate() {
        let stop = opcode::MsgRingData::new(types::Fd(fd), 0, encode(tid as u64, STOP), None)
            .build()
            .user_data(encode(tid as u64, NOP));
        ring.submission().push(&stop).expect("room");
        ring.submit()?;
    }
    let mut passed = Vec::new();
    for t in threads {
        passed.push(t.join().expect("connection thread panicked")?);
    }
    let w = sim::world();
    let leaked: Vec<u32> = files.iter().map(|f| w.file(*f).refs).collect();
    sim::ensure(passed.iter().all(|&p| p == 1), || {
        format!("connections handed to each thread: {passed:?} (each should get exactly one)")
    })?;
    sim::ensure(leaked.iter().all(|&r| r == 0), || {
        format!("connection files still referenced at the end: {leaked:?}")
    })
}
