//! Fault paths and the rules that had a single point of failure (issue 15): each test
//! here guards a line of the model that mutation testing showed to be unguarded or
//! guarded by one golden trace only. Named for the rule ids of docs/semantics.md; every
//! test was checked to fail when the line it guards is broken by hand (docs/testing.md
//! lists which).

use msgring::uapi::{msg, setup};
use msgring::{DestSlot, Faults, MsgRingData, Profile, Sqe, Step, StepResult, TaskId, World};
use msgring_model_tests::*;

const ENOMEM: i32 = -12;
const EBADF: i32 = -9;
const EINVAL: i32 = -22;
const ENXIO: i32 = -6;
const EEXIST: i32 = -17;
const ETIME: i32 = -62;
const EOWNERDEAD: i32 = -130;

/// One `enter(to_submit = sqes.len())` by task 0 with `nomem` allocation faults armed
/// for that step; returns the source CQEs (reaped).
fn submit_with_nomem(s: &mut Sim, src: i32, sqes: &[Sqe], nomem: u32) -> Vec<(u64, i32, u32)> {
    for sqe in sqes {
        s.push(src, *sqe);
    }
    let r = s.step_with(
        Step::Enter {
            task: T0,
            ring: src,
            to_submit: sqes.len() as u32,
            min_complete: 0,
            flags: 0,
        },
        Faults {
            nomem,
            ..Faults::default()
        },
    );
    assert_eq!(r, StepResult::Ret(sqes.len() as i32));
    s.reap_t(src)
}

/// A source ring with a regular file in slot 0 and a target with `nr` empty slots;
/// `target_flags` for the target's setup, made by `owner`.
fn send_fd_pair(s: &mut Sim, nr: u32, owner: TaskId, target_flags: u32) -> (i32, i32, i32) {
    let a = s.ring(8, 0);
    let b = s.ring_by(owner, 8, 0, target_flags);
    let f = s.regular();
    s.register(a, &[f]);
    let r = s.ret(Step::RegisterFilesSparse {
        task: owner,
        ring: b,
        nr,
    });
    assert_eq!(r, 0);
    (a, b, f)
}

fn send(ring: i32, slot: u32, ud: u64) -> Sqe {
    send_fd(ring, 0, DestSlot::Index(slot), ud).user_data(ud)
}

// ---- R21: -ENOMEM from the fixed-table node allocation ----------------------------

#[test]
fn r21_nomem_in_the_send_fd_install_is_enomem_and_puts_the_grabbed_file() {
    let mut s = Sim::new();
    let (a, b, f) = send_fd_pair(&mut s, 2, T0, 0);
    let cqes = submit_with_nomem(&mut s, a, &[send(b, 0, 1)], 1);
    assert_eq!(cqes, vec![c(1, ENOMEM, 0)]);
    assert_eq!(s.slot(b, 0), None, "nothing installed");
    assert!(s.reap(b).is_empty(), "no target CQE");
    assert_eq!(
        s.refs(f),
        2,
        "fd + source slot: the grabbed reference was put"
    );
    msgring::check::check_all(&s.world).unwrap();
}

#[test]
fn r21_r24_nomem_in_the_install_the_owner_runs_is_enomem_too() {
    let mut s = Sim::new();
    let owner = s.spawn();
    let flags = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN;
    let (a, b, f) = send_fd_pair(&mut s, 2, owner, flags);
    let cqes = submit_with_nomem(&mut s, a, &[send(b, 0, 1)], 1);
    assert_eq!(
        cqes,
        vec![c(1, ENOMEM, 0)],
        "io_msg_tw_fd_complete's install"
    );
    assert_eq!(s.slot(b, 0), None);
    assert_eq!(s.getevents(owner, b, 0), 0);
    assert!(s.reap(b).is_empty());
    assert_eq!(s.refs(f), 2);
    msgring::check::check_all(&s.world).unwrap();
}

#[test]
fn r21_a_nomem_fault_fails_exactly_one_install() {
    for (armed, want) in [
        (1, vec![ENOMEM, 0, 0]),
        (2, vec![ENOMEM, ENOMEM, 0]),
        (0, vec![0, 0, 0]),
    ] {
        let mut s = Sim::new();
        let (a, b, f) = send_fd_pair(&mut s, 3, T0, 0);
        let sqes: Vec<Sqe> = (0..3).map(|i| send(b, i, 10 + u64::from(i))).collect();
        let got: Vec<i32> = submit_with_nomem(&mut s, a, &sqes, armed)
            .iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(got, want, "nomem={armed}");
        for (slot, res) in want.iter().enumerate() {
            let installed = s.slot(b, slot as u32).is_some();
            assert_eq!(installed, *res == 0, "nomem={armed} slot {slot}");
        }
        let installed = want.iter().filter(|&&r| r == 0).count() as u32;
        assert_eq!(s.refs(f), 2 + installed, "nomem={armed}");
    }
}

#[test]
fn r21_install_checks_come_before_the_node_allocation() {
    // io_install_fixed_file: ring file (-EBADF), no table (-ENXIO), slot out of range
    // (-EINVAL), and only then io_rsrc_node_alloc: a request that fails a check does
    // not take the armed fault, the next install does.
    let mut s = Sim::new();
    let (a, b, _) = send_fd_pair(&mut s, 2, T0, 0);
    let no_table = s.ring(4, 0);
    let cqes = submit_with_nomem(
        &mut s,
        a,
        &[
            send(b, 5, 1),
            send(no_table, 0, 2),
            send(b, 0, 3),
            send(b, 1, 4),
        ],
        1,
    );
    assert_eq!(
        cqes,
        vec![c(1, EINVAL, 0), c(2, ENXIO, 0), c(3, ENOMEM, 0), c(4, 0, 0)]
    );
    assert_eq!(s.slot(b, 0), None);
    assert!(s.slot(b, 1).is_some());
}

#[test]
fn r14_a_nomem_fault_fails_exactly_one_remote_data() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 8, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    let cqes = submit_with_nomem(&mut s, a, &[data(b, 1, 1), data(b, 2, 2)], 1);
    let got: Vec<i32> = cqes.iter().map(|c| c.1).collect();
    assert_eq!(got, vec![ENOMEM, 0], "the fault is taken once");
    s.getevents(owner, b, 0);
    assert_eq!(s.reap_t(b), vec![c(2, 2, 0)], "only the second was queued");
}

#[test]
fn r14_r21_one_fault_budget_serves_both_allocation_sites_in_order() {
    // The remote io_kiocb (R14) and the rsrc node (R21) draw on one per-step budget,
    // taken in the order the kernel allocates.
    for data_first in [true, false] {
        let mut s = Sim::new();
        let owner = s.spawn();
        let (a, c_ring, _) = send_fd_pair(&mut s, 2, T0, 0);
        let b = s.ring_by(owner, 8, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        let (d, fd) = (data(b, 7, 7).user_data(1), send(c_ring, 0, 2));
        let sqes = if data_first { [d, fd] } else { [fd, d] };
        let mut got = submit_with_nomem(&mut s, a, &sqes, 1);
        got.sort();
        let want = if data_first {
            vec![c(1, ENOMEM, 0), c(2, 0, 0)]
        } else {
            vec![c(1, 0, 0), c(2, ENOMEM, 0)]
        };
        assert_eq!(got, want, "data_first={data_first}");
    }
}

// ---- R1 (5.18): addr and file_index must both be zero at prep --------------------

#[test]
fn r1_5_18_prep_rejects_addr_or_file_index_alone() {
    let p = Profile::V5_18;
    let mut s = Sim::with_profile(p);
    let (a, b) = (s.ring(4, 0), s.ring(4, 0));
    assert_eq!(one(&mut s, a, data(b, 1, 1)), 0, "both zero: accepted");
    assert_eq!(s.reap_t(b), vec![c(1, 1, 0)]);
    // addr = 1 << 32 reads as IORING_MSG_DATA (finding 1): only prep's check of the
    // whole 64-bit addr refuses it.
    let addr_only = Sqe {
        addr: 1 << 32,
        ..data(b, 2, 2)
    };
    assert_eq!(one(&mut s, a, addr_only), EINVAL, "addr alone");
    let index_only = Sqe {
        file_index: 1,
        ..data(b, 3, 3)
    };
    assert_eq!(one(&mut s, a, index_only), EINVAL, "file_index alone");
    assert!(s.reap(b).is_empty(), "neither posted");
    // Later lines read only the low 32 bits: the same SQE is a MSG_DATA there.
    for p in [Profile::V6_1, Profile::V6_12, Profile::V6_18] {
        let mut s = Sim::with_profile(p);
        let (a, b) = (s.ring(4, 0), s.ring(4, 0));
        let addr_only = Sqe {
            addr: 1 << 32,
            ..data(b, 2, 2)
        };
        assert_eq!(one(&mut s, a, addr_only), 0, "{p}");
        assert_eq!(s.reap_t(b), vec![c(2, 2, 0)], "{p}");
    }
}

// ---- B9: a waiter that only local work can satisfy ---------------------------------

#[test]
fn r14_b9_an_owner_waiting_for_one_cqe_is_woken_by_a_remote_message() {
    for how in ["sqe", "sync"] {
        let mut s = Sim::new();
        let a = s.ring(8, 0);
        let owner = s.spawn();
        let b = s.ring_by(owner, 8, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        let msg = data(b, 5, 0x55);
        if how == "sqe" {
            assert_eq!(one(&mut s, a, msg), 0);
        } else {
            assert_eq!(s.ret(Step::SyncMsg { task: T0, sqe: msg }), 0);
        }
        assert_eq!(s.view(b).cq_ready, 0, "{how}: queued, not posted");
        assert_eq!(s.getevents(owner, b, 1), 0, "{how}: the wait is satisfied");
        assert_eq!(s.reap_t(b), vec![c(0x55, 5, 0)], "{how}");
    }
}

#[test]
fn r14_b9_a_wait_returns_only_when_local_work_posted() {
    // Nothing queued: the owner's wait for one CQE times out (the real backend bounds
    // every wait: -ETIME with nothing visible). Once a remote message is queued the
    // same wait returns 0 with it; a wait for more than arrived runs the work too and
    // ends the bounded way, 0 with the CQE visible (`io_cqring_wait`).
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 8, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    assert_eq!(s.getevents(owner, b, 1), ETIME, "nothing to wake it");
    assert_eq!(one(&mut s, a, data(b, 5, 0x55)), 0);
    assert_eq!(s.getevents(owner, b, 2), 0);
    assert_eq!(s.reap_t(b), vec![c(0x55, 5, 0)], "the wait ran the work");
    assert_eq!(s.getevents(owner, b, 1), ETIME, "and nothing is left");
    assert_eq!(one(&mut s, a, data(b, 6, 0x66)), 0);
    assert_eq!(one(&mut s, a, data(b, 7, 0x77)), 0);
    assert_eq!(s.getevents(owner, b, 2), 0);
    assert_eq!(s.reap_t(b), vec![c(0x66, 6, 0), c(0x77, 7, 0)]);
}

// ---- B10 / C6: no CQE ever reaches the ring of an exited owner --------------------

#[test]
fn c6_b10_messages_to_an_exited_owners_ring_never_post() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 8, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    // One queued before the exit (no tracked request: the exit runs nothing, M10)...
    assert_eq!(one(&mut s, a, data(b, 1, 1)), 0);
    assert_eq!(s.ret(Step::ExitTask { task: owner }), 0);
    assert_eq!(s.view(b).cq_ready, 0, "M10: the exit did not run it");
    // ...and more after it, by SQE and by the sync variant: each reports 0.
    assert_eq!(one(&mut s, a, data(b, 2, 2)), 0);
    assert_eq!(
        s.ret(Step::SyncMsg {
            task: T0,
            sqe: data(b, 3, 3)
        }),
        0
    );
    assert_eq!(s.getevents(T0, b, 0), EEXIST, "no one else may run it");
    let v = s.view(b);
    assert_eq!((v.cq_ready, v.cq_overflow), (0, 0), "B10: never posted");
    assert!(v.overflow.is_empty());
    let r = s.world.ring_of_fd(b).unwrap();
    assert_eq!(
        s.world.ring(r).local_work.len(),
        3,
        "all three wait on the dead owner's local list"
    );
}

#[test]
fn c6_b10_b13_send_fd_to_an_exited_owner_installs_nothing() {
    let mut s = Sim::new();
    let owner = s.spawn();
    let flags = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN;
    let (a, b, f) = send_fd_pair(&mut s, 2, owner, flags);
    assert_eq!(s.ret(Step::ExitTask { task: owner }), 0);
    assert_eq!(one(&mut s, a, send(b, 0, 1)), EOWNERDEAD);
    assert_eq!(s.slot(b, 0), None);
    assert_eq!(s.view(b).cq_ready, 0);
    assert_eq!(s.refs(f), 2);
    msgring::check::check_all(&s.world).unwrap();
}

// ---- FLAGS_PASS per kernel line (C7, R10.4, R23, D1) -------------------------------

fn flags_pass_data(ring: i32, flags: u32) -> Sqe {
    MsgRingData {
        ring_fd: ring,
        result: 3,
        user_data: 0x33,
        user_flags: Some(flags),
    }
    .build()
}

#[test]
fn c7_flags_pass_per_line_on_every_path() {
    // Flag values without IORING_CQE_F_32 (bit 15), which 7.2+ refuses on a ring without
    // 32-byte CQEs (R10.4).
    for &p in Profile::ALL {
        let passes = p >= Profile::V6_3; // cbeb47a7b5f0
        let mut s = Sim::with_profile(p);
        let a = s.ring(8, 0);
        let plain = s.ring(8, 0);
        let want = if passes { 0 } else { EINVAL };
        // Local post (io_msg_data_local).
        assert_eq!(one(&mut s, a, flags_pass_data(plain, 0x2b00)), want, "{p}");
        let expect = if passes {
            vec![c(0x33, 3, 0x2b00)]
        } else {
            vec![]
        };
        assert_eq!(s.reap_t(plain), expect, "{p}: local");
        // Remote post on a DEFER_TASKRUN target where the line has it (R14, B8).
        if p >= Profile::V6_1 {
            let owner = s.spawn();
            let flags = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN;
            let b = s.ring_by(owner, 8, 0, flags);
            assert_eq!(one(&mut s, a, flags_pass_data(b, 0x4d00)), want, "{p}");
            s.getevents(owner, b, 0);
            let expect = if passes {
                vec![c(0x33, 3, 0x4d00)]
            } else {
                vec![]
            };
            assert_eq!(s.reap_t(b), expect, "{p}: remote");
        }
        // The sync variant (R30, 6.13+) passes them too.
        if p.has_sync_msg() {
            let sqe = flags_pass_data(plain, 0x6f00);
            assert_eq!(s.ret(Step::SyncMsg { task: T0, sqe }), 0, "{p}");
            assert_eq!(s.reap_t(plain), vec![c(0x33, 3, 0x6f00)], "{p}: sync");
        }
    }
}

#[test]
fn r23_flags_pass_on_send_fd_per_line() {
    // 6.1 refuses the flag at prep; 6.12+ accept it and SEND_FD ignores it: the target
    // CQE has flags 0 and file_index still names the slot.
    for (p, want) in [
        (Profile::V6_1, EINVAL),
        (Profile::V6_12, 0),
        (Profile::V6_18, 0),
    ] {
        let mut s = Sim::with_profile(p);
        let (a, b, _) = send_fd_pair(&mut s, 2, T0, 0);
        let sqe = Sqe {
            msg_ring_flags: msg::FLAGS_PASS,
            ..send(b, 1, 9)
        };
        assert_eq!(one(&mut s, a, sqe), want, "{p}");
        let expect = if want == 0 { vec![c(9, 0, 0)] } else { vec![] };
        assert_eq!(s.reap_t(b), expect, "{p}");
        assert_eq!(s.slot(b, 1).is_some(), want == 0, "{p}");
    }
}

// ---- FLAGS_PASS on the fast lane ---------------------------------------------------

/// A batch the data lane takes in runs: 6 FLAGS_PASS messages with one flags value
/// (one lane), 3 with another (a new lane: `file_index` is part of the shape), then 2
/// without FLAGS_PASS. The target CQ (8 entries) fills in the middle of the first run,
/// so the lane's overflow path (`io_msg_data_local_again`) carries flags too.
fn lane_batch(b: i32) -> Vec<Sqe> {
    let mut v = Vec::new();
    for i in 0..6 {
        v.push(flags_pass_data(b, 0x100).user_data(i));
    }
    for i in 6..9 {
        v.push(flags_pass_data(b, 0x200).user_data(i));
    }
    for i in 9..11 {
        v.push(data(b, 3, 0x33).user_data(i));
    }
    v
}

/// The source's and the target's CQEs as `(user_data, res, flags)`.
type Cqes = Vec<(u64, i32, u32)>;

fn run_lane_batch(lanes: bool) -> (Cqes, Cqes) {
    let mut s = Sim::new();
    s.world.set_fast_lanes(lanes);
    let a = s.ring(16, 0);
    let target = s.ring_by(T0, 4, 8, 0);
    // Two messages first so the lane's CQ fills in the middle of its first run.
    s.submit(a, &[data(target, 0, 0xf0), data(target, 0, 0xf1)]);
    s.reap(a);
    assert_eq!(s.submit(a, &lane_batch(target)), 11);
    let src = s.reap_t(a);
    let mut tgt = s.reap_t(target);
    while s.view(target).cq_overflow > 0 || !s.view(target).overflow.is_empty() {
        s.getevents(T0, target, 0);
        tgt.extend(s.reap_t(target));
    }
    (src, tgt)
}

#[test]
fn c7_fast_lane_carries_flags_pass_into_direct_and_overflowed_cqes() {
    let (src_on, tgt_on) = run_lane_batch(true);
    let (src_off, tgt_off) = run_lane_batch(false);
    assert_eq!(src_on, (0..11).map(|i| c(i, 0, 0)).collect::<Vec<_>>());
    let mut want = vec![c(0xf0, 0, 0), c(0xf1, 0, 0)];
    want.extend((0..6).map(|_| c(0x33, 3, 0x100)));
    want.extend((6..9).map(|_| c(0x33, 3, 0x200)));
    want.extend((9..11).map(|_| c(0x33, 3, 0)));
    assert_eq!(
        tgt_on, want,
        "lanes on: C7 flags verbatim, FIFO through overflow"
    );
    assert_eq!((src_off, tgt_off), (src_on, tgt_on), "lanes off: the same");
}

// ---- B2 / R20.4: an empty source slot ----------------------------------------------

#[test]
fn r20_4_b2_an_empty_source_slot_is_ebadf_even_where_file_zero_is_installable() {
    // The first file the world made is a regular file (FileId 0), not a ring, so a
    // lookup that returned any file for the empty slot would install it.
    let mut s = Sim::new();
    let f = s.regular();
    let (a, b) = (s.ring(4, 0), s.ring(4, 0));
    for ring in [a, b] {
        let r = s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring,
            nr: 2,
        });
        assert_eq!(r, 0);
    }
    assert_eq!(s.file_of(f).0, 0, "file 0 is the regular file");
    assert_eq!(one(&mut s, a, send(b, 0, 1)), EBADF, "empty slot 0");
    assert_eq!(
        one(&mut s, a, send_fd(b, 1, DestSlot::Index(1), 2)),
        EBADF,
        "empty slot 1"
    );
    assert_eq!(s.slot(b, 0), None);
    assert_eq!(s.slot(b, 1), None);
    assert!(s.reap(b).is_empty());
    assert_eq!(s.refs(f), 1, "no reference taken");
    msgring::check::check_all(&s.world).unwrap();
}

// ---- R24: the PF_EXITING branch of io_msg_tw_fd_complete ---------------------------

#[test]
fn r24_m12_send_fd_right_after_the_owner_exits_is_eownerdead_inline() {
    // M12 (docs/semantics.md): the model takes the side of the race where the owner's
    // exit has passed exit_task_work, so task_work_add fails and the source completes
    // at once, without waiting for its own ring's task_work.
    let mut s = Sim::new();
    let owner = s.spawn();
    let defer = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN;
    let a = s.ring_by(T0, 8, 0, defer);
    let b = s.ring_by(owner, 8, 0, defer);
    let f = s.regular();
    s.register(a, &[f]);
    let r = s.ret(Step::RegisterFilesSparse {
        task: owner,
        ring: b,
        nr: 2,
    });
    assert_eq!(r, 0);
    assert_eq!(s.ret(Step::ExitTask { task: owner }), 0);
    assert_eq!(s.submit(a, &[send(b, 0, 1)]), 1);
    assert_eq!(
        s.view(a).cq_ready,
        1,
        "inline, not queued as the source ring's local work"
    );
    assert_eq!(s.reap_t(a), vec![c(1, EOWNERDEAD, 0)]);
    assert_eq!(s.refs(f), 2);
}

#[test]
fn set_fast_lanes_switches_the_submit_lanes() {
    // set_fast_lanes(false) must reach the submit path: the default world has lanes
    // on, and turning them off changes nothing observable but is a different world.
    let mut on = World::default();
    let mut off = World::default();
    off.set_fast_lanes(false);
    assert_ne!(on, off);
    on.set_fast_lanes(false);
    assert_eq!(on, off);
}

// ---- C3 / R13: a failed overflow allocation is one-shot too ------------------------

#[test]
fn r13_an_overflow_allocation_fault_fails_exactly_one_overflow() {
    for (armed, want) in [(1, vec![-75, 0, 0]), (2, vec![-75, -75, 0])] {
        let mut s = Sim::new();
        let a = s.ring(8, 0);
        let b = s.ring_by(T0, 1, 1, 0);
        assert_eq!(
            one(&mut s, a, data(b, 0, 0xf0)),
            0,
            "fills b's one-entry CQ"
        );
        let sqes: Vec<Sqe> = (0..3).map(|i| data(b, i, 10 + i as u64)).collect();
        for sqe in &sqes {
            s.push(a, sqe.user_data(0));
        }
        let r = s.step_with(
            Step::Enter {
                task: T0,
                ring: a,
                to_submit: 3,
                min_complete: 0,
                flags: 0,
            },
            Faults {
                overflow_alloc_fails: armed,
                ..Faults::default()
            },
        );
        assert_eq!(r, StepResult::Ret(3));
        let got: Vec<i32> = s.reap_t(a).iter().map(|c| c.1).collect();
        assert_eq!(got, want, "armed={armed}");
        let v = s.view(b);
        assert_eq!(v.cq_overflow, armed, "each dropped CQE counted once");
        let kept: Vec<u64> = v.overflow.iter().map(|c| c.user_data).collect();
        assert_eq!(kept.len(), 3 - armed as usize, "armed={armed}");
    }
}
