//! R1–R5: prep, io_init_req and dispatch.

use super::*;

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
