//! Worked examples for docs/loom.md: checking your own MSG_RING protocol with loom,
//! without a kernel.
//!
//! (a) A wake-up scheme: a worker thread sleeps in `io_uring_enter(GETEVENTS)` on its
//!     DEFER_TASKRUN ring; a producer posts jobs to it with MSG_DATA and then a "stop"
//!     message. The worker must see every job, in order, then the stop, and never sleep
//!     forever (a lost wake-up is a loom deadlock).
//! (b) An fd hand-off: the producer gives the worker a file with MSG_SEND_FD into a
//!     kernel-allocated slot; the worker learns the slot from the CQE's `res`.
#![cfg(loom)]

use msgring::concurrent::{model, Op, RingSpec, Scenario};
use msgring::sync::thread;
use msgring::{DestSlot, MsgRingData, MsgRingSendFd};

const JOB: u64 = 0x10;
const STOP: u64 = 0x99;
const FD: u64 = 0x77;

/// (a) + (b) written against the `Issuer` API, with the protocol's own logic between
/// system calls.
#[test]
fn wake_up_and_fd_hand_off_protocol() {
    model(1, || {
        let mut sc = Scenario::new();
        let producer = sc.ring(RingSpec::plain().files(1, 0));
        let worker = sc.ring(RingSpec::defer_taskrun().cq(2).files(0, 2));
        let session = sc.start();
        let p = session.issuer(producer);
        let w = session.issuer(worker);

        let prod = thread::spawn(move || {
            let to = p.fd_of(worker);
            let msg = |user_data, result| {
                MsgRingData {
                    ring_fd: to,
                    result,
                    user_data,
                    user_flags: None,
                }
                .build()
            };
            p.submit(msg(JOB, 1).user_data(1));
            let fd = MsgRingSendFd {
                ring_fd: to,
                fixed_slot_src: 0,
                dest_slot_index: DestSlot::Alloc,
                user_data: FD,
                skip_cqe: false,
            };
            p.submit(fd.build().user_data(2));
            p.submit(msg(STOP, 0).user_data(3));
            // The producer's own completions: one per submission, all successful.
            let mut done = Vec::new();
            // Sleep in GETEVENTS rather than spin on the CQ: the SEND_FD completion
            // only comes after the worker ran its task_work (R24).
            while done.len() < 3 {
                assert_eq!(p.wait(1), 0);
                done.extend(p.reap());
            }
            done.sort_by_key(|c| c.user_data);
            assert!(done.iter().all(|c| c.res >= 0), "{done:?}");
        });

        let work = thread::spawn(move || {
            let mut seen = Vec::new();
            let mut slot = None;
            while !seen.contains(&STOP) {
                assert_eq!(w.wait(1), 0);
                for c in w.reap() {
                    if c.user_data == FD {
                        slot = Some(c.res as u32);
                    }
                    seen.push(c.user_data);
                }
            }
            // MSG_DATA from one sender arrives in order; the fd may come at any point.
            let data: Vec<u64> = seen.iter().copied().filter(|&u| u != FD).collect();
            assert_eq!(data, vec![JOB, STOP]);
            // Exiting runs pending task_work: a SEND_FD queued to us completes now.
            w.exit();
            slot
        });

        prod.join().unwrap();
        let slot = work.join().unwrap();
        let end = session.finish();
        // The SEND_FD CQE is posted when the worker's task_work runs; if the worker had
        // already seen STOP, it is left in the CQ, and the slot is still installed.
        let slot = slot.or_else(|| {
            end.leftover[worker]
                .iter()
                .find(|c| c.user_data == FD)
                .map(|c| c.res as u32)
        });
        let slot = slot.expect("the fd hand-off CQE arrived");
        assert!(end.tables[worker].iter().any(|&(s, _)| s == slot));
    });
}

/// (a) as a declarative scenario: the same check plus refinement against the
/// sequential model, with no code to write.
#[test]
fn wake_up_scenario() {
    let mut sc = Scenario::new();
    let producer = sc.ring(RingSpec::plain());
    let worker = sc.ring(RingSpec::defer_taskrun().cq(1));
    sc.program(producer, vec![Op::data(worker, 1), Op::data(worker, 2)]);
    sc.program(
        worker,
        vec![
            Op::Wait { min_complete: 1 },
            Op::Reap,
            Op::Wait { min_complete: 1 },
        ],
    );
    sc.explore(1);
}

/// (b) as a declarative scenario.
#[test]
fn fd_hand_off_scenario() {
    let mut sc = Scenario::new();
    let a = sc.ring(RingSpec::plain().files(1, 0));
    let b = sc.ring(RingSpec::defer_taskrun().files(0, 2));
    sc.program(a, vec![Op::send_fd(b, 0, DestSlot::Alloc), Op::Reap]);
    sc.program(b, vec![Op::Wait { min_complete: 1 }, Op::Reap]);
    sc.explore(1);
}
