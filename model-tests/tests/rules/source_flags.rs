//! R40–R44: the source SQE's flags.

use super::*;

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
