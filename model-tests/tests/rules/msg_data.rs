//! R10–R16: MSG_DATA.

use super::*;

#[test]
fn r10_1_addr3_or_cqe_skip_on_data_is_einval() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                addr3: 1,
                ..data(b, 1, 1)
            }
        ),
        EINVAL
    );
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                msg_ring_flags: msg::CQE_SKIP,
                ..data(b, 1, 1)
            }
        ),
        EINVAL,
        "finding 2"
    );
    assert!(s.reap(b).is_empty());
}

#[test]
fn r10_2_file_index_without_flags_pass_is_einval() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                file_index: 3,
                ..data(b, 1, 1)
            }
        ),
        EINVAL
    );
}

#[test]
fn r10_3_disabled_target_is_ebadfd_then_delivers_after_enable() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring(4, setup::R_DISABLED);
    assert_eq!(one(&mut s, a, data(b, 1, 1)), EBADFD);
    assert_eq!(s.ret(Step::EnableRings { task: T0, ring: b }), 0);
    assert!(
        s.reap(b).is_empty(),
        "B4: nothing was queued while disabled"
    );
    assert_eq!(one(&mut s, a, data(b, 1, 2)), 0);
    assert_eq!(s.reap_t(b), vec![c(2, 1, 0)]);
}

#[test]
fn r10_4_c7_flags_pass_is_verbatim_including_f_32_on_6_18() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    for f in [0, 2, 0x8000, 0xffff_ffff, 0x5a0000] {
        let sqe = MsgRingData {
            ring_fd: b,
            result: 1,
            user_data: 9,
            user_flags: Some(f),
        }
        .build();
        assert_eq!(one(&mut s, a, sqe), 0);
        assert_eq!(s.reap_t(b), vec![c(9, 1, f)]);
    }
}

#[test]
fn r11_r16_self_message_target_cqe_comes_first() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    s.submit(a, &[data(a, 0x10, 0x1234).user_data(1)]);
    assert_eq!(
        s.reap_t(a),
        vec![c(0x1234, 0x10, 0), c(1, 0, 0)],
        "finding 5"
    );
}

#[test]
fn r12_data_posts_len_as_res_and_off_as_user_data() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                len: u32::MAX,
                ..data(b, 0, 0x77)
            }
        ),
        0
    );
    assert_eq!(
        s.reap_t(b),
        vec![c(0x77, -1, 0)],
        "finding 1: len 0xffffffff arrives as -1"
    );
}

#[test]
fn r13_full_target_cq_overflows_in_fifo_order_and_the_source_succeeds() {
    let mut s = Sim::new();
    let a = s.ring(16, 0);
    let b = s.ring_by(T0, 1, 2, 0);
    let sqes: Vec<Sqe> = (0..10)
        .map(|i| data(b, i, 100 + i as u64).user_data(i as u64))
        .collect();
    assert_eq!(s.submit(a, &sqes), 10);
    assert!(
        s.reap(a).iter().all(|c| c.res == 0),
        "every source CQE is 0"
    );
    let v = s.view(b);
    assert_eq!((v.cq_ready, v.overflow.len(), v.cq_overflow), (2, 8, 0));
    assert_ne!(v.sq_flags & sq::CQ_OVERFLOW, 0);
    let mut got = vec![];
    while got.len() < 10 {
        got.extend(s.reap(b).iter().map(|c| c.user_data));
        s.getevents(T0, b, 0);
    }
    assert_eq!(
        got,
        (100..110).collect::<Vec<u64>>(),
        "finding 6: FIFO, nothing lost"
    );
    assert_eq!(s.view(b).sq_flags & sq::CQ_OVERFLOW, 0);
}

#[test]
fn r13_overflow_allocation_failure_is_eoverflow_and_counted() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring_by(T0, 1, 1, 0);
    assert_eq!(one(&mut s, a, data(b, 1, 1)), 0);
    s.push(a, data(b, 2, 2).user_data(0xabc));
    let faults = Faults {
        overflow_alloc_fails: 1,
        ..Faults::default()
    };
    s.step_with(
        Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0,
        },
        faults,
    );
    assert_eq!(s.reap_t(a), vec![c(0xabc, -75, 0)]);
    assert_eq!(s.view(b).cq_overflow, 1);
}

#[test]
fn c3_dropped_cqe_makes_the_next_waiting_getevents_return_ebadr_once() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring_by(T0, 1, 1, 0);
    one(&mut s, a, data(b, 1, 1));
    s.push(a, data(b, 2, 2));
    let faults = Faults {
        overflow_alloc_fails: 1,
        ..Faults::default()
    };
    s.step_with(
        Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0,
        },
        faults,
    );
    s.reap(b);
    assert_eq!(s.getevents(T0, b, 1), -53, "-EBADR while the CQ is empty");
    assert_eq!(s.getevents(T0, b, 1), -62, "then a plain timeout (-ETIME)");
}

#[test]
fn r14_data_to_defer_target_completes_at_once_and_waits_for_the_owners_getevents() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 0);
    assert_eq!(
        one(&mut s, a, data(b, 3, 0x33)),
        0,
        "source completes immediately"
    );
    assert!(s.reap(b).is_empty(), "finding 11: not in the CQ yet");
    s.ret(Step::Enter {
        task: owner,
        ring: b,
        to_submit: 0,
        min_complete: 0,
        flags: 0,
    });
    assert!(
        s.reap(b).is_empty(),
        "enter without GETEVENTS does not deliver"
    );
    assert_eq!(s.getevents(owner, b, 0), 0);
    assert_eq!(s.reap_t(b), vec![c(0x33, 3, 0)]);
}

#[test]
fn r14_b8_flags_pass_survives_the_task_work_path() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 0);
    let sqe = MsgRingData {
        ring_fd: b,
        result: 0,
        user_data: 5,
        user_flags: Some(0x5a0000),
    }
    .build();
    assert_eq!(one(&mut s, a, sqe), 0);
    s.getevents(owner, b, 0);
    assert_eq!(s.reap_t(b), vec![c(5, 0, 0x5a0000)]);
}

#[test]
fn r14_remote_request_allocation_failure_is_enomem() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 0);
    s.push(a, data(b, 1, 1).user_data(0xabc));
    s.step_with(
        Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0,
        },
        Faults {
            nomem: 1,
            ..Faults::default()
        },
    );
    assert_eq!(s.reap_t(a), vec![c(0xabc, -12, 0)]);
    s.getevents(owner, b, 0);
    assert!(s.reap(b).is_empty());
}

#[test]
fn r14_local_work_runs_in_batches_of_twenty() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 256);
    for chunk in 0..5 {
        let sqes: Vec<Sqe> = (0..20).map(|i| data(b, 0, chunk * 20 + i)).collect();
        s.submit(a, &sqes[..8]);
        s.submit(a, &sqes[8..16]);
        s.submit(a, &sqes[16..]);
    }
    s.reap(a);
    let mut per_call = vec![];
    for _ in 0..6 {
        s.getevents(owner, b, 0);
        per_call.push(s.reap(b).len());
    }
    assert_eq!(
        per_call,
        vec![20, 20, 20, 20, 20, 0],
        "finding 11 / IO_LOCAL_TW_DEFAULT_MAX"
    );
}

#[test]
fn r14_min_complete_is_clamped_to_the_cq_size_and_raises_the_batch() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 32);
    for i in 0..100u64 {
        s.submit(a, &[data(b, 0, i)]);
        s.reap(a);
    }
    let mut per_call = vec![];
    for _ in 0..4 {
        assert_eq!(s.getevents(owner, b, 64), 0);
        per_call.push(s.reap(b).len());
    }
    assert_eq!(
        per_call,
        vec![32, 32, 32, 4],
        "docs/kernel-findings.md experiment 1"
    );
}

#[test]
fn r14_small_cq_shows_sixteen_per_call() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 8, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN); // cq = 16
    for i in 0..100u64 {
        s.submit(a, &[data(b, 0, i)]);
        s.reap(a);
    }
    let mut all = vec![];
    let mut per_call = vec![];
    for _ in 0..7 {
        s.getevents(owner, b, 0);
        let got = s.reap(b);
        per_call.push(got.len());
        all.extend(got.iter().map(|c| c.user_data));
    }
    assert_eq!(per_call, vec![16, 16, 16, 16, 16, 16, 4], "finding 11");
    assert_eq!(all, (0..100).collect::<Vec<u64>>());
}

#[test]
fn r14_taskrun_flag_shows_pending_local_work_and_b7_no_flag_without_it() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(
        owner,
        4,
        0,
        setup::SINGLE_ISSUER | setup::DEFER_TASKRUN | setup::TASKRUN_FLAG,
    );
    let plain = s.ring_by(owner, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    one(&mut s, a, data(b, 0, 1));
    one(&mut s, a, data(plain, 0, 1));
    assert_ne!(s.view(b).sq_flags & sq::TASKRUN, 0);
    assert_eq!(s.view(plain).sq_flags & sq::TASKRUN, 0, "B7");
    s.getevents(owner, b, 0);
    assert_eq!(s.view(b).sq_flags & sq::TASKRUN, 0);
}

#[test]
fn r16_batch_order_aux_cqes_before_the_batchs_source_cqes() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    s.submit(
        a,
        &[
            Nop.build().user_data(1),
            data(a, 0, 3).user_data(2),
            Nop.build().user_data(4),
        ],
    );
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(
        order,
        vec![3, 1, 2, 4],
        "docs/kernel-findings.md experiment 2"
    );
}

#[test]
fn r16_defer_self_message_source_first() {
    let mut s = Sim::new();
    let a = s.ring_by(T0, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    s.submit(
        a,
        &[
            Nop.build().user_data(1),
            data(a, 0, 3).user_data(2),
            Nop.build().user_data(4),
        ],
    );
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(order, vec![1, 2, 4]);
    s.getevents(T0, a, 0);
    assert_eq!(s.reap_t(a), vec![c(3, 0, 0)]);
}
