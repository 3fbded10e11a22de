//! One or more tests per rule of docs/semantics.md, named for the rule id they check.
//! Each scenario mirrors the reference (../shared/reference/msg-ring-semantics.md) or a
//! finding on a real 6.18 kernel (section 7).

use msgring::uapi::{enter, msg, op, setup, sq, sqe_flags, FILE_INDEX_ALLOC};
use msgring::{DestSlot, Errno, Faults, MsgRingData, MsgRingSendFd, Nop, Sqe, Step, StepResult};
use msgring_model_tests::*;

const EINVAL: i32 = -22;
const EBADF: i32 = -9;
const EBADFD: i32 = -77;

fn two_rings(s: &mut Sim) -> (i32, i32) {
    (s.ring(4, 0), s.ring(4, 0))
}

/// A source ring with a regular file in slot 0, a target with a sparse table of `n`.
fn fd_setup(s: &mut Sim, n: u32) -> (i32, i32, i32) {
    let (a, b) = two_rings(s);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: b,
            nr: n
        }),
        0
    );
    (a, b, f)
}

// ---- R1, R2: prep and io_init_req ----

#[test]
fn r1_buf_index_personality_and_unknown_flags_are_einval() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    for sqe in [
        Sqe {
            buf_index: 1,
            ..data(b, 1, 1)
        },
        Sqe {
            personality: 1,
            ..data(b, 1, 1)
        },
        Sqe {
            msg_ring_flags: 1 << 2,
            ..data(b, 1, 1)
        },
    ] {
        assert_eq!(one(&mut s, a, sqe), EINVAL);
    }
    assert!(s.reap(b).is_empty(), "no target CQE");
}

#[test]
fn r2_generic_sqe_checks() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                ioprio: 1,
                ..data(b, 1, 1)
            }
        ),
        EINVAL
    );
    assert_eq!(one(&mut s, a, data(b, 1, 1).flags(0x80)), EINVAL);
    assert_eq!(
        one(&mut s, a, data(b, 1, 1).flags(sqe_flags::BUFFER_SELECT)),
        -95
    );
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                opcode: 200,
                ..Nop.build()
            }
        ),
        EINVAL
    );
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                pad2: 7,
                ..data(b, 1, 1)
            }
        ),
        0,
        "finding 4: pad2 is not checked"
    );
}

#[test]
fn r2_prep_failure_stops_the_batch_and_enter_skips_getevents() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    for sqe in [
        Nop.build().user_data(1),
        Sqe {
            buf_index: 1,
            ..data(b, 1, 1)
        }
        .user_data(2),
        Nop.build().user_data(3),
    ] {
        s.push(a, sqe);
    }
    let r = s.ret(Step::Enter {
        task: T0,
        ring: a,
        to_submit: 3,
        min_complete: 3,
        flags: enter::GETEVENTS,
    });
    assert_eq!(
        r, 2,
        "the failed SQE counts as submitted, the rest stays in the SQ"
    );
    assert_eq!(s.reap_t(a), vec![c(1, 0, 0), c(2, EINVAL, 0)]);
    assert_eq!(s.world.ring(s.world.ring_of_fd(a).unwrap()).sq.len(), 1);
}

#[test]
fn r2_submit_all_keeps_going_after_a_prep_failure() {
    let mut s = Sim::new();
    let a = s.ring(4, setup::SUBMIT_ALL);
    let r = s.submit(
        a,
        &[
            Sqe {
                ioprio: 1,
                ..Nop.build()
            }
            .user_data(1),
            Nop.build().user_data(2),
        ],
    );
    assert_eq!(r, 2);
    assert_eq!(s.reap_t(a), vec![c(1, EINVAL, 0), c(2, 0, 0)]);
}

// ---- R3, R4, R5: dispatch ----

#[test]
fn r3_target_fd_not_open_is_ebadf() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    assert_eq!(one(&mut s, a, data(-1, 1, 1)), EBADF);
    assert_eq!(one(&mut s, a, data(999, 1, 1)), EBADF);
}

#[test]
fn r4_target_not_a_ring_is_ebadfd() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let (pr, _pw) = s.pipe();
    let e = s.ret(Step::Eventfd);
    assert_eq!(one(&mut s, a, data(pr, 1, 1)), EBADFD);
    assert_eq!(one(&mut s, a, data(e, 1, 1)), EBADFD);
}

#[test]
fn r4_r43_fixed_file_target_is_ebadfd_or_ebadf_and_keeps_the_slot() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let (pr, _pw) = s.pipe();
    s.register(a, &[pr, -1]);
    let refs = s.refs(pr);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                fd: 0,
                ..data(0, 1, 1)
            }
            .flags(sqe_flags::FIXED_FILE)
        ),
        EBADFD
    );
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                fd: 1,
                ..data(0, 1, 1)
            }
            .flags(sqe_flags::FIXED_FILE)
        ),
        EBADF
    );
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                fd: 9,
                ..data(0, 1, 1)
            }
            .flags(sqe_flags::FIXED_FILE)
        ),
        EBADF
    );
    assert_eq!(
        s.slot(a, 0),
        Some(s.file_of(pr)),
        "B1: the slot stays valid"
    );
    assert_eq!(s.refs(pr), refs, "B1: no reference dropped");
}

#[test]
fn r4_a_ring_cannot_be_registered_as_a_fixed_file() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        s.ret(Step::RegisterFiles {
            task: T0,
            ring: a,
            fds: vec![b]
        }),
        EBADF
    );
    assert_eq!(s.view(a).table, vec![]);
}

#[test]
fn r5_unknown_cmd_is_einval_and_only_the_low_32_bits_of_addr_count() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                addr: 2,
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
                addr: 1 << 32,
                ..data(b, 5, 7)
            }
        ),
        0,
        "finding 1"
    );
    assert_eq!(s.reap_t(b), vec![c(7, 5, 0)]);
}

// ---- R10–R16: MSG_DATA ----

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

fn defer_target(s: &mut Sim, cq: u32) -> (i32, i32, msgring::TaskId) {
    let a = s.ring(8, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 8, cq, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    (a, b, owner)
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

// ---- R20–R25: MSG_SEND_FD ----

#[test]
fn r20_1_len_must_be_zero() {
    let mut s = Sim::new();
    let (a, b, _) = fd_setup(&mut s, 4);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                len: 5,
                ..send_fd(b, 0, DestSlot::Index(0), 1)
            }
        ),
        EINVAL,
        "B6"
    );
}

#[test]
fn r20_2_sending_to_the_own_ring_is_einval() {
    let mut s = Sim::new();
    let (a, _b, _) = fd_setup(&mut s, 4);
    assert_eq!(one(&mut s, a, send_fd(a, 0, DestSlot::Index(0), 1)), EINVAL);
}

#[test]
fn r20_3_disabled_target_is_ebadfd_and_nothing_is_installed() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring(4, setup::R_DISABLED);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: b,
            nr: 2
        }),
        0
    );
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)), EBADFD);
    assert_eq!(s.slot(b, 0), None);
    assert_eq!(s.refs(f), 2);
}

#[test]
fn r20_4_b2_empty_or_missing_source_slot_is_ebadf() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: b,
            nr: 2
        }),
        0
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)),
        EBADF,
        "source has no table"
    );
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: a,
            nr: 2
        }),
        0
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)),
        EBADF,
        "empty slot"
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 7, DestSlot::Index(0), 1)),
        EBADF,
        "out of range"
    );
    assert!(s.reap(b).is_empty());
}

#[test]
fn r20_5_addr3_is_truncated_to_32_bits() {
    let mut s = Sim::new();
    let (a, b, f) = fd_setup(&mut s, 2);
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                addr3: 1 << 32,
                ..send_fd(b, 0, DestSlot::Index(1), 1)
            }
        ),
        0,
        "finding 7"
    );
    assert_eq!(s.slot(b, 1), Some(s.file_of(f)));
}

#[test]
fn r21_alloc_takes_the_slot_after_the_last_set() {
    let mut s = Sim::new();
    let (a, b, _) = fd_setup(&mut s, 4);
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Index(1), 1)), 0);
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 2)),
        2,
        "finding 8: not slot 0"
    );
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: b,
            offset: 1,
            fds: vec![-1]
        }),
        1
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 3)),
        1,
        "after freeing slot 1"
    );
    s.reap(b);
}

#[test]
fn r21_alloc_reports_the_slot_in_both_cqes_b6() {
    let mut s = Sim::new();
    let (a, b, f) = fd_setup(&mut s, 8);
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: b,
            offset: 0,
            fds: vec![f, f, f]
        }),
        3
    );
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 0x99)), 3);
    assert_eq!(s.reap_t(b), vec![c(0x99, 3, 0)]);
}

#[test]
fn r21_alloc_range_and_enfile() {
    let mut s = Sim::new();
    let (a, b, _) = fd_setup(&mut s, 8);
    assert_eq!(
        s.ret(Step::FileAllocRange {
            task: T0,
            ring: b,
            off: 2,
            len: 2
        }),
        0
    );
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 1)), 2);
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 1)), 3);
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 1)),
        -23,
        "-ENFILE"
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Index(6), 1)),
        0,
        "explicit slots ignore the range"
    );
    assert_eq!(
        s.ret(Step::FileAllocRange {
            task: T0,
            ring: b,
            off: 6,
            len: 3
        }),
        EINVAL,
        "past the table"
    );
    assert_eq!(
        s.ret(Step::FileAllocRange {
            task: T0,
            ring: b,
            off: u32::MAX,
            len: 2
        }),
        -75,
        "wraps: -EOVERFLOW"
    );
}

#[test]
fn r21_5_alloc_clamps_the_hint_into_the_range_after_an_explicit_install() {
    let mut s = Sim::new();
    let (a, b, _) = fd_setup(&mut s, 8);
    assert_eq!(
        s.ret(Step::FileAllocRange {
            task: T0,
            ring: b,
            off: 2,
            len: 2
        }),
        0
    );
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)), 0);
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 2)),
        2,
        "the hint (1) is clamped to alloc_start (stable fix; check found it on 6.18.44)"
    );
    // An empty range allocates nothing, whatever the hint.
    assert_eq!(
        s.ret(Step::FileAllocRange {
            task: T0,
            ring: b,
            off: 4,
            len: 0
        }),
        0
    );
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Index(1), 3)), 0);
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 4)), -23);
}

#[test]
fn r41_1_requests_behind_a_drain_run_from_io_wq_after_it() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    s.submit(
        a,
        &[
            data(a, 0, 0).user_data(0x1061).flags(sqe_flags::IO_DRAIN),
            Nop.build().user_data(5),
        ],
    );
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(
        order,
        vec![0, 0x1061, 5],
        "msgring check, seed 1: the NOP waits for the drain"
    );
}

#[test]
fn r22_data_to_the_own_iopoll_ring_is_punted_to_io_wq() {
    let mut s = Sim::new();
    let a = s.ring(2, setup::IOPOLL);
    s.submit(
        a,
        &[data(a, 0, 0).user_data(0x1024), Nop.build().user_data(5)],
    );
    s.ret(Step::Enter {
        task: T0,
        ring: a,
        to_submit: 0,
        min_complete: 0,
        flags: enter::GETEVENTS,
    });
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(
        order,
        vec![5, 0, 0x1024],
        "the trylock of our own held uring_lock fails: -EAGAIN, io-wq"
    );
}

#[test]
fn r21_target_table_errors() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)),
        -6,
        "no table: -ENXIO"
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Alloc, 1)),
        -23,
        "no table + ALLOC: -ENFILE"
    );
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: b,
            nr: 2
        }),
        0
    );
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Index(2), 1)),
        EINVAL,
        "slot out of range"
    );
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                file_index: 0,
                ..send_fd(b, 0, DestSlot::Index(0), 1)
            }
        ),
        EINVAL,
        "file_index 0 wraps"
    );
    assert_eq!(s.refs(f), 2, "every failed grab was put again");
}

#[test]
fn r21_occupied_slot_is_replaced_silently() {
    let mut s = Sim::new();
    let (a, b, f) = fd_setup(&mut s, 2);
    let g = s.regular();
    assert_eq!(
        s.ret(Step::UpdateFiles {
            task: T0,
            ring: b,
            offset: 0,
            fds: vec![g]
        }),
        1
    );
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)), 0);
    assert_eq!(s.slot(b, 0), Some(s.file_of(f)));
    assert_eq!((s.refs(f), s.refs(g)), (3, 1), "the replaced file was put");
}

#[test]
fn r23_cqe_skip_installs_without_a_target_cqe() {
    let mut s = Sim::new();
    let (a, b, f) = fd_setup(&mut s, 2);
    let sqe = MsgRingSendFd {
        ring_fd: b,
        fixed_slot_src: 0,
        dest_slot_index: DestSlot::Index(1),
        user_data: 1,
        skip_cqe: true,
    }
    .build();
    assert_eq!(one(&mut s, a, sqe), 0);
    assert!(s.reap(b).is_empty());
    assert_eq!(s.slot(b, 1), Some(s.file_of(f)));
}

#[test]
fn r23_b14_eoverflow_keeps_the_file_installed() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring_by(T0, 1, 1, 0);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring: b,
            nr: 2
        }),
        0
    );
    one(&mut s, a, data(b, 0, 1)); // fill the CQ
    s.push(a, send_fd(b, 0, DestSlot::Index(1), 2).user_data(0xabc));
    s.step_with(
        Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: 0,
        },
        Faults {
            overflow_alloc_fails: 1,
            ..Faults::default()
        },
    );
    assert_eq!(s.reap_t(a), vec![c(0xabc, -75, 0)]);
    assert_eq!(
        s.slot(b, 1),
        Some(s.file_of(f)),
        "B14: the file stays installed"
    );
    assert_eq!(s.refs(f), 3);
}

#[test]
fn r23_flags_pass_is_ignored_by_send_fd() {
    let mut s = Sim::new();
    let (a, b, f) = fd_setup(&mut s, 4);
    let sqe = Sqe {
        msg_ring_flags: msg::FLAGS_PASS,
        ..send_fd(b, 0, DestSlot::Index(2), 5)
    };
    assert_eq!(one(&mut s, a, sqe), 0);
    assert_eq!(
        s.reap_t(b),
        vec![c(5, 0, 0)],
        "finding 3: flags 0, file_index still the slot"
    );
    assert_eq!(s.slot(b, 2), Some(s.file_of(f)));
}

#[test]
fn r24_send_fd_to_defer_target_runs_in_the_owner_and_the_source_cqe_follows() {
    let mut s = Sim::new();
    let (a, b, _owner) = defer_target(&mut s, 0);
    let f = s.regular();
    s.register(a, &[f]);
    let owner = msgring::TaskId(1);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: owner,
            ring: b,
            nr: 2
        }),
        0
    );
    one(&mut s, a, data(b, 0, 0x11)); // a DATA message waits for GETEVENTS
    assert_eq!(one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 0x22)), 0);
    assert_eq!(
        s.reap_t(b),
        vec![c(0x22, 0, 0)],
        "finding 12: the SEND_FD CQE overtakes the pending DATA"
    );
    assert_eq!(s.slot(b, 0), Some(s.file_of(f)));
}

#[test]
fn r24_b13_owner_exited_send_fd_is_eownerdead_data_is_zero_and_never_arrives() {
    let mut s = Sim::new();
    let (a, b, owner) = defer_target(&mut s, 0);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: owner,
            ring: b,
            nr: 2
        }),
        0
    );
    assert_eq!(s.ret(Step::ExitTask { task: owner }), 0);
    assert_eq!(
        one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1)),
        -130,
        "finding 13"
    );
    assert_eq!(s.refs(f), 2, "the grabbed reference was released");
    assert_eq!(
        one(&mut s, a, data(b, 0, 1)),
        0,
        "finding 13: DATA still reports 0"
    );
    assert_eq!(
        s.ret(Step::SyncMsg {
            task: T0,
            sqe: data(b, 0, 2)
        }),
        0
    );
    assert_eq!(s.getevents(T0, b, 0), -17, "another task gets -EEXIST");
    assert!(matches!(
        s.step(Step::Enter {
            task: owner,
            ring: b,
            to_submit: 0,
            min_complete: 0,
            flags: 1
        }),
        StepResult::Refused(_)
    ));
}

#[test]
fn r25_send_fd_duplicates_the_reference() {
    let mut s = Sim::new();
    let (a, b, f) = fd_setup(&mut s, 2);
    assert_eq!(s.refs(f), 2);
    one(&mut s, a, send_fd(b, 0, DestSlot::Index(0), 1));
    assert_eq!(s.refs(f), 3, "fd + source slot + target slot");
    assert_eq!(
        s.slot(a, 0),
        Some(s.file_of(f)),
        "the source slot keeps its file"
    );
    assert_eq!(s.ret(Step::Close { fd: f }), 0);
    assert_eq!(s.refs_of(s.file_of_slot(b, 0)), 2);
    msgring::check::check_all(&s.world).unwrap();
}

// ---- R30: IORING_REGISTER_SEND_MSG_RING ----

#[test]
fn r30_sync_data_posts_without_a_source_cqe() {
    let mut s = Sim::new();
    let b = s.ring(4, 0);
    let sqe = MsgRingData {
        ring_fd: b,
        result: 4,
        user_data: 8,
        user_flags: Some(2),
    }
    .build();
    assert_eq!(s.ret(Step::SyncMsg { task: T0, sqe }), 0);
    assert_eq!(s.reap_t(b), vec![c(8, 4, 2)]);
}

#[test]
fn r30_sync_errors() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    let (pr, _) = s.pipe();
    let f = s.regular();
    s.register(a, &[f]);
    let d = disabled(&mut s);
    for (sqe, want) in [
        (send_fd(b, 0, DestSlot::Index(0), 1), EINVAL),
        (
            Sqe {
                msg_ring_flags: msg::CQE_SKIP,
                ..data(b, 0, 1)
            },
            EINVAL,
        ),
        (data(b, 0, 1).flags(sqe_flags::FIXED_FILE), EINVAL),
        (data(b, 0, 1).flags(sqe_flags::ASYNC), EINVAL),
        (
            Sqe {
                opcode: op::NOP,
                ..data(b, 0, 1)
            },
            EINVAL,
        ),
        (
            Sqe {
                addr: 2,
                ..data(b, 0, 1)
            },
            EINVAL,
        ),
        (
            Sqe {
                buf_index: 1,
                ..data(b, 0, 1)
            },
            EINVAL,
        ),
        (
            Sqe {
                addr3: 1,
                ..data(b, 0, 1)
            },
            EINVAL,
        ),
        (data(pr, 0, 1), EBADFD),
        (data(-1, 0, 1), EBADF),
        (data(d, 0, 1), EBADFD),
        (
            Sqe {
                ioprio: 3,
                ..data(b, 0, 1)
            },
            0,
        ),
    ] {
        assert_eq!(s.ret(Step::SyncMsg { task: T0, sqe }), want, "{sqe:?}");
    }
}

fn disabled(s: &mut Sim) -> i32 {
    s.ring(4, setup::R_DISABLED)
}

// ---- R40–R44: source SQE flags ----

#[test]
fn r40_failure_cancels_io_link_successors() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    s.submit(
        a,
        &[
            data(-1, 0, 0).user_data(1).flags(sqe_flags::IO_LINK),
            Nop.build().user_data(2),
        ],
    );
    assert_eq!(
        s.reap_t(a),
        vec![c(1, EBADF, 0), c(2, -125, 0)],
        "finding 10"
    );
}

#[test]
fn r40_hardlink_keeps_going() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    s.submit(
        a,
        &[
            data(-1, 0, 0).user_data(1).flags(sqe_flags::IO_HARDLINK),
            Nop.build().user_data(2),
        ],
    );
    assert_eq!(s.reap_t(a), vec![c(1, EBADF, 0), c(2, 0, 0)]);
}

#[test]
fn r40_prep_failure_in_a_chain_cancels_the_whole_chain_even_hardlinked() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let r = s.submit(
        a,
        &[
            Nop.build().user_data(1).flags(sqe_flags::IO_HARDLINK),
            Sqe {
                buf_index: 1,
                ..data(a, 0, 0)
            }
            .user_data(2)
            .flags(sqe_flags::IO_HARDLINK),
            Nop.build().user_data(3),
        ],
    );
    assert_eq!(r, 3, "a failure inside a chain does not stop the batch");
    assert_eq!(
        s.reap_t(a),
        vec![c(1, -125, 0), c(2, EINVAL, 0), c(3, -125, 0)]
    );
}

#[test]
fn r40_successors_run_after_the_batch_flush() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    let link = sqe_flags::IO_LINK;
    s.submit(
        a,
        &[
            Nop.build().user_data(1).flags(link),
            data(a, 0, 3).user_data(2).flags(link),
            Nop.build().user_data(4),
        ],
    );
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(
        order,
        vec![1, 3, 2, 4],
        "docs/kernel-findings.md experiment 2 (IO_LINK)"
    );
}

#[test]
fn r40_unterminated_link_runs_from_io_wq() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    s.submit(
        a,
        &[
            Nop.build().user_data(1),
            Nop.build().user_data(2).flags(sqe_flags::IO_LINK),
        ],
    );
    assert_eq!(s.reap_t(a), vec![c(1, 0, 0), c(2, 0, 0)]);
}

#[test]
fn r41_cqe_skip_success_hides_only_successful_source_cqes() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    s.submit(
        a,
        &[
            data(b, 0, 1)
                .user_data(1)
                .flags(sqe_flags::CQE_SKIP_SUCCESS),
            data(-1, 0, 1)
                .user_data(2)
                .flags(sqe_flags::CQE_SKIP_SUCCESS),
        ],
    );
    assert_eq!(s.reap_t(a), vec![c(2, EBADF, 0)]);
    assert_eq!(s.reap_t(b), vec![c(1, 0, 0)]);
}

#[test]
fn r41_cqe_skip_success_disables_drain() {
    let mut s = Sim::new();
    let (a, b) = two_rings(&mut s);
    assert_eq!(
        one(&mut s, a, data(b, 0, 1).flags(sqe_flags::IO_DRAIN)),
        0,
        "finding 4: drain accepted"
    );
    s.submit(a, &[Nop.build().flags(sqe_flags::CQE_SKIP_SUCCESS)]);
    assert!(s.reap(a).is_empty());
    assert_eq!(
        one(&mut s, a, data(b, 0, 1).flags(sqe_flags::IO_DRAIN)),
        -95
    );
}

#[test]
fn r41_failed_skip_success_head_silences_its_cancelled_links() {
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    s.submit(
        a,
        &[
            data(-1, 0, 0)
                .user_data(1)
                .flags(sqe_flags::IO_LINK | sqe_flags::CQE_SKIP_SUCCESS),
            Nop.build().user_data(2),
        ],
    );
    assert_eq!(s.reap_t(a), vec![c(1, EBADF, 0)]);
}

#[test]
fn r42_async_completes_after_the_inline_batch() {
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    s.submit(
        a,
        &[
            Nop.build().user_data(1),
            data(a, 0, 3).user_data(2).flags(sqe_flags::ASYNC),
            Nop.build().user_data(4),
        ],
    );
    let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
    assert_eq!(
        order,
        vec![1, 4, 3, 2],
        "docs/kernel-findings.md experiment 2 (ASYNC)"
    );
}

#[test]
fn r44_iopoll_sqpoll_cqe32_coop_rings_deliver_normally() {
    for flags in [
        setup::IOPOLL,
        setup::SQPOLL,
        setup::CQE32,
        setup::COOP_TASKRUN,
        setup::IOPOLL | setup::SINGLE_ISSUER | setup::DEFER_TASKRUN,
    ] {
        let mut s = Sim::new();
        let a = s.ring(4, flags);
        let b = s.ring(4, flags);
        s.push(a, data(b, 2, 3).user_data(1));
        let wake = if flags & setup::SQPOLL != 0 {
            enter::SQ_WAKEUP
        } else {
            0
        };
        s.ret(Step::Enter {
            task: T0,
            ring: a,
            to_submit: 1,
            min_complete: 0,
            flags: wake,
        });
        if flags & setup::IOPOLL != 0 && flags & setup::SQPOLL == 0 {
            s.ret(Step::Enter {
                task: T0,
                ring: a,
                to_submit: 0,
                min_complete: 0,
                flags: enter::GETEVENTS,
            });
        }
        assert_eq!(s.reap_t(a), vec![c(1, 0, 0)], "flags {flags:#x}");
        assert_eq!(
            s.reap_t(b),
            vec![c(3, 2, 0)],
            "finding 15, flags {flags:#x}: C5 DEFER|IOPOLL posts locally"
        );
    }
}

// ---- C1–C7: rings ----

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
