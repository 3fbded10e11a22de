//! R20–R25: MSG_SEND_FD, and R30: IORING_REGISTER_SEND_MSG_RING.

use super::*;

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
