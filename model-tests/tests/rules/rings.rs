//! C1–C7: rings, and M*: mechanics found on the real kernel.

use super::*;

#[test]
fn c1_setup_sizes_and_errors() {
    let mut s = Sim::new();
    assert_eq!(
        s.ret(Step::Setup {
            task: T0,
            entries: 0,
            cq_entries: 0,
            flags: 0
        }),
        EINVAL
    );
    assert_eq!(
        s.ret(Step::Setup {
            task: T0,
            entries: 32769,
            cq_entries: 0,
            flags: 0
        }),
        EINVAL
    );
    let r = s.ring(5, 0);
    let id = s.world.ring_of_fd(r).unwrap();
    assert_eq!(
        (s.world.ring(id).sq_entries, s.world.ring(id).cq.entries()),
        (8, 16)
    );
}

#[test]
fn c2_cq_full_without_reaping_blocks_new_cqes_from_the_ring() {
    let mut s = Sim::new();
    let a = s.ring_by(T0, 1, 2, 0);
    s.submit(a, &[Nop.build()]);
    s.submit(a, &[Nop.build()]);
    s.submit(a, &[Nop.build().user_data(9)]);
    let v = s.view(a);
    assert_eq!((v.cq_ready, v.overflow.len()), (2, 1));
}

#[test]
fn c4_reaping_does_not_flush_and_new_cqes_queue_behind_the_overflow() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring_by(T0, 1, 2, 0);
    let sqes: Vec<Sqe> = (0..3).map(|i| data(b, 0, i)).collect();
    s.submit(a, &sqes);
    assert_eq!(s.reap(b).len(), 2);
    one(&mut s, a, data(b, 0, 3));
    let v = s.view(b);
    assert_eq!(
        (v.cq_ready, v.overflow.len()),
        (0, 2),
        "finding 6: the CQ has room, but the list is not empty"
    );
    s.getevents(T0, b, 0);
    let order: Vec<u64> = s.reap(b).iter().map(|c| c.user_data).collect();
    assert_eq!(order, vec![2, 3]);
}

#[test]
fn c5_defer_iopoll_target_is_not_task_complete() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let owner = s.spawn();
    let b = s.ring_by(
        owner,
        4,
        0,
        setup::IOPOLL | setup::SINGLE_ISSUER | setup::DEFER_TASKRUN,
    );
    one(&mut s, a, data(b, 1, 1));
    assert_eq!(s.reap_t(b), vec![c(1, 1, 0)], "posted at once");
}

#[test]
fn c6_r_disabled_ring_rejects_enter_and_the_enabler_becomes_owner() {
    let mut s = Sim::new();
    let t1 = s.spawn();
    let a = s.ring(4, setup::R_DISABLED | setup::SINGLE_ISSUER);
    assert_eq!(
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 0,
            min_complete: 0,
            flags: enter::GETEVENTS
        }),
        EBADFD
    );
    assert_eq!(s.ret(Step::EnableRings { task: t1, ring: a }), 0);
    assert_eq!(
        s.ret(Step::EnableRings { task: t1, ring: a }),
        EBADFD,
        "not disabled any more"
    );
    s.push(a, Nop.build());
    assert_eq!(
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0
        }),
        -17
    );
    assert_eq!(
        s.ret(Step::Enter {
            task: t1,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0
        }),
        1
    );
}

#[test]
fn c6_single_issuer_non_owner_submit_and_register_eexist_wait_allowed() {
    let mut s = Sim::new();
    let t1 = s.spawn();
    let a = s.ring(4, setup::SINGLE_ISSUER);
    s.push(a, Nop.build());
    assert_eq!(
        s.ret(Step::Enter {
            task: t1,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0
        }),
        -17
    );
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: t1,
            ring: a,
            nr: 1
        }),
        -17
    );
    assert_eq!(
        s.getevents(t1, a, 0),
        0,
        "docs/kernel-findings.md experiment 3"
    );
    let d = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    assert_eq!(s.getevents(t1, d, 0), -17);
}

#[test]
fn c6_sanitise_params() {
    let mut s = Sim::new();
    for flags in [
        setup::DEFER_TASKRUN,
        setup::SQPOLL | setup::DEFER_TASKRUN | setup::SINGLE_ISSUER,
        setup::SQPOLL | setup::COOP_TASKRUN,
        setup::TASKRUN_FLAG,
        setup::CQE_MIXED | setup::CQE32, // CQE_MIXED alone is 6.18's (releases.rs)
        1 << 30,
    ] {
        assert_eq!(
            s.ret(Step::Setup {
                task: T0,
                entries: 4,
                cq_entries: 0,
                flags
            }),
            EINVAL,
            "{flags:#x}"
        );
    }
}

// ---- M*: mechanics found on the real kernel ----

#[test]
fn m1_wait_returns_zero_with_cqes_visible_and_etime_on_an_empty_cq() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    assert_eq!(s.getevents(T0, a, 1), -62);
    s.submit(a, &[Nop.build(), Nop.build()]);
    assert_eq!(
        s.getevents(T0, a, 5),
        0,
        "experiment 7: CQEs visible → 0 after the timeout"
    );
}

#[test]
fn m2_fewer_sqes_than_to_submit_returns_early() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    s.push(a, Nop.build());
    assert_eq!(
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 4,
            min_complete: 1,
            flags: enter::GETEVENTS
        }),
        1
    );
    assert_eq!(
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 4,
            min_complete: 0,
            flags: 0
        }),
        0,
        "empty SQ"
    );
}

#[test]
fn m3_file_table_register_update_unregister_errors() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let f = s.regular();
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: a,
            offset: 0,
            fds: vec![f]
        }),
        -6
    );
    assert_eq!(s.ret(Step::UnregisterFiles { task: T0, ring: a }), -6);
    assert_eq!(
        s.ret(Step::FileAllocRange {
            task: T0,
            ring: a,
            off: 0,
            len: 1
        }),
        EINVAL
    );
    assert_eq!(
        s.ret(Step::RegisterFiles {
            task: T0,
            ring: a,
            fds: vec![]
        }),
        EINVAL
    );
    s.register(a, &[f, -1]);
    assert_eq!(
        s.ret(Step::RegisterFiles {
            task: T0,
            ring: a,
            fds: vec![f]
        }),
        -16,
        "-EBUSY"
    );
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: a,
            offset: 1,
            fds: vec![f, f]
        }),
        EINVAL
    );
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: a,
            offset: 0,
            fds: vec![-2, f]
        }),
        2,
        "skip counts"
    );
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: a,
            offset: 0,
            fds: vec![999]
        }),
        EBADF
    );
    assert_eq!(
        s.slot(a, 0),
        None,
        "the slot was cleared before the bad fd failed"
    );
    assert_eq!(s.ret(Step::UnregisterFiles { task: T0, ring: a }), 0);
    assert_eq!(s.refs(f), 1);
}

#[test]
fn m4_sqpoll_thread_starts_asleep_and_polls_once_woken() {
    let mut s = Sim::new();
    let a = s.ring(4, setup::SQPOLL);
    let b = s.ring(4, 0);
    assert_eq!(
        s.view(a).sq_flags & sq::NEED_WAKEUP,
        sq::NEED_WAKEUP,
        "D1: asleep from the start"
    );
    s.push(a, data(b, 1, 2).user_data(1));
    assert_eq!(
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0
        }),
        1,
        "SQPOLL enter reports to_submit"
    );
    assert!(s.reap(b).is_empty(), "D1: not submitted without SQ_WAKEUP");
    assert_eq!(
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: enter::SQ_WAKEUP
        }),
        1
    );
    assert_eq!(s.reap_t(b), vec![c(2, 1, 0)]);
    assert_eq!(s.reap_t(a), vec![c(1, 0, 0)]);
    assert_eq!(s.view(a).sq_flags & sq::NEED_WAKEUP, 0);
    s.push(a, data(b, 1, 3));
    assert_eq!(
        s.reap_t(b),
        vec![c(3, 1, 0)],
        "polling: a push is submitted"
    );
}

#[test]
fn r24_d2_send_fds_to_a_defer_target_complete_newest_first() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 0);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: owner,
            ring: b,
            nr: 8
        }),
        0
    );
    let sqes: Vec<Sqe> = [(0, 1), (7, 2), (1, 3)]
        .iter()
        .map(|&(slot, ud)| send_fd(b, 0, DestSlot::Index(slot), ud).user_data(ud))
        .collect();
    for sqe in &sqes {
        s.push(a, *sqe);
    }
    s.ret(Step::Enter {
        task: T0,
        ring: a,
        to_submit: 3,
        min_complete: 0,
        flags: 0,
    });
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(order, vec![3, 2, 1], "task_works is a stack");
    let order: Vec<u64> = s.reap(b).iter().map(|c| c.user_data).collect();
    assert_eq!(order, vec![3, 2, 1]);
}

#[test]
fn m5_defer_link_chain_advances_one_step_per_getevents() {
    let mut s = Sim::new();
    let a = s.ring_by(T0, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    s.submit(
        a,
        &[
            Nop.build().user_data(1).flags(sqe_flags::IO_LINK),
            Nop.build().user_data(2).flags(sqe_flags::IO_LINK),
            Nop.build().user_data(3),
        ],
    );
    assert_eq!(s.reap_t(a), vec![c(1, 0, 0)]);
    s.getevents(T0, a, 0);
    assert_eq!(s.reap_t(a), vec![c(2, 0, 0)]);
    s.getevents(T0, a, 0);
    assert_eq!(s.reap_t(a), vec![c(3, 0, 0)]);
}

#[test]
fn m6_coop_taskrun_completion_arrives_before_the_step_ends() {
    // Real 6.18.44: the NO_IPI task_work ran as soon as the sender's thread made any
    // system call, so the source CQE is there and IORING_SQ_TASKRUN is clear again.
    let mut s = Sim::new();
    let a = s.ring(4, setup::COOP_TASKRUN | setup::TASKRUN_FLAG);
    let f = s.regular();
    s.register(a, &[f]);
    let owner = s.spawn();
    let b = s.ring_by(owner, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: owner,
            ring: b,
            nr: 1
        }),
        0
    );
    s.submit(a, &[send_fd(b, 0, DestSlot::Index(0), 1).user_data(7)]);
    assert_eq!(s.reap_t(b), vec![c(1, 0, 0)]);
    assert_eq!(s.view(a).sq_flags & sq::TASKRUN, 0);
    assert_eq!(s.reap_t(a), vec![c(7, 0, 0)]);
    let _ = FILE_INDEX_ALLOC;
}

#[test]
fn errno_names_print() {
    assert_eq!(Errno::EOWNERDEAD.to_string(), "EOWNERDEAD");
}
