//! Edges of the step interface and the model's bookkeeping that cargo-mutants found
//! unguarded (issue 15, docs/testing.md "Missed mutants, triaged"): each test names the
//! rule or contract it pins down.

use msgring::{Step, StepResult, TaskId, MODEL_NOFILE};
use msgring_model_tests::*;

fn refusal(r: StepResult) -> String {
    match r {
        StepResult::Refused(why) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_step_by_an_exited_task_is_refused_as_exited_and_an_unknown_one_as_unknown() {
    let mut s = Sim::new();
    let t1 = s.spawn();
    let ring = s.ring(4, 0);
    assert_eq!(s.ret(Step::ExitTask { task: t1 }), 0);
    let enter = |task| Step::Enter {
        task,
        ring,
        to_submit: 0,
        min_complete: 0,
        flags: 0,
    };
    let why = refusal(s.step(enter(t1)));
    assert!(why.contains("t1 has exited"), "{why}");
    let why = refusal(s.step(Step::ExitTask { task: t1 }));
    assert!(why.contains("has exited"), "{why}");
    let why = refusal(s.step(enter(TaskId(7))));
    assert!(why.contains("no task t7"), "{why}");
    // The SQPOLL thread is a task of the model but makes no system calls of a trace.
    let why = refusal(s.step(enter(TaskId::SQPOLL)));
    assert!(why.contains("no task"), "{why}");
}

#[test]
fn m6_a_sparse_table_up_to_the_model_nofile_registers_and_a_larger_one_is_unmodelled() {
    let mut s = Sim::new();
    let (a, b) = (s.ring(4, 0), s.ring(4, 0));
    let r = s.step(Step::RegisterFilesSparse {
        task: T0,
        ring: a,
        nr: MODEL_NOFILE,
    });
    assert_eq!(r, StepResult::Ret(0));
    let r = s.step(Step::RegisterFilesSparse {
        task: T0,
        ring: b,
        nr: MODEL_NOFILE + 1,
    });
    assert!(
        matches!(r, StepResult::Unmodelled(_)),
        "the host's RLIMIT_NOFILE decides: {r:?}"
    );
}

#[test]
fn m6_register_files_above_the_model_nofile_is_emfile() {
    // io_sqe_files_register: -EMFILE above RLIMIT_NOFILE (the model's MODEL_NOFILE;
    // IORING_MAX_FIXED_FILES is larger, so it never decides), and the table is left
    // unregistered.
    let mut s = Sim::new();
    let (a, b) = (s.ring(4, 0), s.ring(4, 0));
    let sparse = |n: u32| vec![-1; n as usize];
    let r = s.ret(Step::RegisterFiles {
        task: T0,
        ring: a,
        fds: sparse(MODEL_NOFILE),
    });
    assert_eq!(r, 0);
    let r = s.ret(Step::RegisterFiles {
        task: T0,
        ring: b,
        fds: sparse(MODEL_NOFILE + 1),
    });
    assert_eq!(r, -24, "-EMFILE");
    let r = s.ret(Step::UnregisterFiles { task: T0, ring: b });
    assert_eq!(r, -6, "-ENXIO: nothing was registered");
}

#[test]
fn m6_files_update_refuses_a_ring_fd_and_leaves_the_slot_empty() {
    // __io_sqe_files_update: an io_uring file cannot be a fixed file (-EBADF); the
    // slot was cleared before the lookup, and entries before it count.
    let mut s = Sim::new();
    let (a, b) = (s.ring(4, 0), s.ring(4, 0));
    let f = s.regular();
    s.register(a, &[-1, -1]);
    let r = s.ret(Step::UpdateFiles {
        task: T0,
        ring: a,
        offset: 0,
        fds: vec![f, b],
    });
    assert_eq!(
        r, 1,
        "the regular file went in, the ring fd stopped the update"
    );
    assert!(s.slot(a, 0).is_some());
    assert_eq!(s.slot(a, 1), None);
    let r = s.ret(Step::UpdateFiles {
        task: T0,
        ring: a,
        offset: 1,
        fds: vec![b],
    });
    assert_eq!(r, -9, "-EBADF when it is the first entry");
    assert_eq!(s.refs(b), 1, "no reference taken on the ring");
}

#[test]
fn c6_enabling_a_ring_without_single_issuer_gives_it_no_owner() {
    // io_register_enable_rings sets submitter_task only for SINGLE_ISSUER rings: a
    // plain R_DISABLED ring enabled by t1 stays usable by every task.
    let mut s = Sim::new();
    let t1 = s.spawn();
    let plain = s.ring(4, msgring::uapi::setup::R_DISABLED);
    let single = s.ring(
        4,
        msgring::uapi::setup::R_DISABLED | msgring::uapi::setup::SINGLE_ISSUER,
    );
    for ring in [plain, single] {
        let r = s.ret(Step::EnableRings { task: t1, ring });
        assert_eq!(r, 0);
    }
    let register = |s: &mut Sim, ring| {
        s.ret(Step::RegisterFilesSparse {
            task: T0,
            ring,
            nr: 1,
        })
    };
    assert_eq!(register(&mut s, plain), 0, "no owner: t0 may register");
    assert_eq!(register(&mut s, single), -17, "t1 owns it: -EEXIST for t0");
}

#[test]
fn c1_the_largest_sizes_are_accepted_without_clamp() {
    use msgring::io_uring_fill_params;
    use msgring::uapi::{setup, MAX_CQ_ENTRIES, MAX_ENTRIES};
    assert_eq!(
        io_uring_fill_params(MAX_ENTRIES, 0, 0),
        Ok((MAX_ENTRIES, 2 * MAX_ENTRIES))
    );
    assert_eq!(
        io_uring_fill_params(1, MAX_CQ_ENTRIES, setup::CQSIZE),
        Ok((1, MAX_CQ_ENTRIES))
    );
    assert_eq!(
        io_uring_fill_params(1, MAX_CQ_ENTRIES + 1, setup::CQSIZE),
        Err(msgring::Errno::EINVAL)
    );
}

#[test]
fn c6_registered_fd_only_needs_no_mmap() {
    use msgring::uapi::setup;
    use msgring::{io_uring_sanitise_params, Errno, Profile};
    let p = Profile::V6_18;
    assert_eq!(
        io_uring_sanitise_params(setup::REGISTERED_FD_ONLY, p),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        io_uring_sanitise_params(setup::REGISTERED_FD_ONLY | setup::NO_MMAP, p),
        Ok(())
    );
    assert_eq!(io_uring_sanitise_params(setup::NO_MMAP, p), Ok(()));
}

#[test]
fn m10_an_exit_runs_only_the_local_work_of_rings_the_task_owns() {
    // t1 exits with a tracked MSG_RING in flight (its io-wq completion waits on t1's
    // DEFER_TASKRUN ring): the exit runs that ring's local work, and no other owner's.
    use msgring::uapi::{setup, sqe_flags};
    let mut s = Sim::new();
    let r0 = s.ring(4, 0);
    let t1 = s.spawn();
    let t2 = s.spawn();
    let defer = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN;
    let r4 = s.ring_by(t1, 4, 0, defer);
    let r5 = s.ring_by(t2, 4, 0, defer);
    assert_eq!(one(&mut s, r0, data(r5, 1, 0x55)), 0, "queued on t2's ring");
    let tracked = data(r0, 1, 2).user_data(8).flags(sqe_flags::ASYNC);
    assert_eq!(s.submit_by(t1, r4, &[tracked]), 1);
    assert_eq!(s.view(r4).cq_ready, 0, "the completion waits as local work");
    assert_eq!(s.ret(Step::ExitTask { task: t1 }), 0);
    assert_eq!(
        s.reap_t(r4),
        vec![c(8, 0, 0)],
        "t1's exit ran its ring's work"
    );
    assert_eq!(s.view(r5).cq_ready, 0, "not t2's");
    assert_eq!(s.getevents(t2, r5, 0), 0);
    assert_eq!(s.reap_t(r5), vec![c(0x55, 1, 0)]);
}

#[test]
fn m10_the_exit_loop_runs_again_while_its_own_run_left_a_tracked_request() {
    // t1 exits while a tracked MSG_RING (io-wq, ASYNC) waits on its DEFER_TASKRUN ring
    // r4 behind a link successor: a SEND_FD to t1's other DEFER ring r5. The first
    // round runs r4's local work (the SEND_FD queues its install on t1) and t1's
    // task_work (the install, whose completion goes back to r4's local work, tracked
    // again); a second round posts it. The same steps as a trace agreed with 6.18.44
    // (`msgring diff`, 3 runs of 3, issue 15).
    use msgring::uapi::{setup, sqe_flags};
    use msgring::{DestSlot, Nop};
    let mut s = Sim::new();
    let r0 = s.ring(4, 0);
    let t1 = s.spawn();
    let defer = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN;
    let r4 = s.ring_by(t1, 8, 0, defer);
    let r5 = s.ring_by(t1, 4, 0, defer);
    let f = s.regular();
    let r = s.ret(Step::RegisterFiles {
        task: t1,
        ring: r4,
        fds: vec![f],
    });
    assert_eq!(r, 0);
    let r = s.ret(Step::RegisterFilesSparse {
        task: t1,
        ring: r5,
        nr: 1,
    });
    assert_eq!(r, 0);
    let link = [
        Nop.build().user_data(9).flags(sqe_flags::IO_LINK),
        send_fd(r5, 0, DestSlot::Index(0), 0x77).user_data(0xa),
    ];
    assert_eq!(s.submit_by(t1, r4, &link), 2);
    let tracked = data(r0, 1, 2).user_data(8).flags(sqe_flags::ASYNC);
    assert_eq!(s.submit_by(t1, r4, &[tracked]), 1);
    assert_eq!(s.view(r4).cq_ready, 1, "only the NOP so far");
    assert_eq!(s.ret(Step::ExitTask { task: t1 }), 0);
    let mut got = s.reap_t(r4);
    got.sort();
    assert_eq!(got, vec![c(8, 0, 0), c(9, 0, 0), c(0xa, 0, 0)]);
    assert!(
        s.slot(r5, 0).is_some(),
        "installed by the exit's task_work run"
    );
    assert_eq!(s.view(r5).cq_ready, 1, "the install's target CQE");
}

/// t1 owns a DEFER_TASKRUN ring with a remote MSG_DATA queued on it; returns
/// (r0, t1, its ring).
fn owner_with_queued_message(s: &mut Sim) -> (i32, TaskId, i32) {
    use msgring::uapi::setup;
    let r0 = s.ring(4, 0);
    let t1 = s.spawn();
    let r4 = s.ring_by(t1, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    assert_eq!(one(s, r0, data(r4, 1, 0x44)), 0);
    (r0, t1, r4)
}

#[test]
fn m10_another_tasks_tracked_request_does_not_make_an_exit_run_local_work() {
    use msgring::uapi::{setup, sqe_flags};
    let mut s = Sim::new();
    let (r0, t1, r4) = owner_with_queued_message(&mut s);
    let t2 = s.spawn();
    let r6 = s.ring_by(t2, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    let tracked = data(r0, 1, 2).user_data(8).flags(sqe_flags::ASYNC);
    assert_eq!(s.submit_by(t2, r6, &[tracked]), 1, "t2's, in flight");
    assert_eq!(s.ret(Step::ExitTask { task: t1 }), 0);
    assert_eq!(
        s.view(r4).cq_ready,
        0,
        "t1 had nothing tracked: nothing ran"
    );
    assert_eq!(s.view(r6).cq_ready, 0, "nor t2's ring");
}

#[test]
fn m10_a_request_whose_fd_field_names_a_ring_is_not_tracked_unless_it_is_a_msg_ring() {
    // A NOP ignores sqe->fd: it never resolves a file, so it is not tracked even when
    // the number names a ring (io-wq NOP: its completion waits as local work).
    use msgring::uapi::sqe_flags;
    use msgring::{Nop, Sqe};
    let mut s = Sim::new();
    let (r0, t1, r4) = owner_with_queued_message(&mut s);
    let nop = Sqe {
        fd: r0,
        ..Nop.build().user_data(5).flags(sqe_flags::ASYNC)
    };
    assert_eq!(s.submit_by(t1, r4, &[nop]), 1);
    assert_eq!(s.view(r4).cq_ready, 0);
    assert_eq!(s.ret(Step::ExitTask { task: t1 }), 0);
    assert_eq!(s.view(r4).cq_ready, 0, "nothing tracked: nothing ran");
}

#[test]
fn m3_a_pass_that_empties_the_retry_list_takes_only_the_rest_of_its_budget_from_new_work() {
    // finding 11 / `__io_run_local_work`: 20 items a pass; leftovers wait on the retry
    // list. A pass that runs 10 leftovers takes at most 20 - 10 of the newly queued.
    use msgring::uapi::setup;
    let mut s = Sim::new();
    let a = s.ring(64, 0);
    let owner = s.spawn();
    let b = s.ring_by(owner, 64, 128, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    let send = |s: &mut Sim, from: u64, n: u64| {
        let sqes: Vec<_> = (from..from + n).map(|i| data(b, 0, i)).collect();
        assert_eq!(s.submit(a, &sqes), n as i32);
        s.reap(a);
    };
    send(&mut s, 0, 30);
    assert_eq!(s.getevents(owner, b, 0), 0);
    assert_eq!(
        s.reap(b).len(),
        20,
        "one pass: 20, 10 left for the retry list"
    );
    send(&mut s, 30, 15);
    assert_eq!(s.getevents(owner, b, 0), 0);
    let second: Vec<u64> = s.reap(b).iter().map(|c| c.user_data).collect();
    assert_eq!(
        second,
        (20..40).collect::<Vec<u64>>(),
        "10 retried + 10 new"
    );
    assert_eq!(s.getevents(owner, b, 0), 0);
    assert_eq!(s.reap(b).len(), 5);
}

#[test]
fn iowq_items_last_step_counts_the_io_wq_work_a_step_ran() {
    // R42: IOSQE_ASYNC punts to io-wq; the count tells the differential checker how
    // much of a step's order is io-wq's (World::iowq_items_last_step).
    use msgring::uapi::sqe_flags;
    let mut s = Sim::new();
    let (a, b) = (s.ring(8, 0), s.ring(8, 0));
    let sqes = [
        data(b, 1, 1).flags(sqe_flags::ASYNC),
        data(b, 2, 2).flags(sqe_flags::ASYNC),
        data(b, 3, 3),
    ];
    assert_eq!(s.submit(a, &sqes), 3);
    assert_eq!(s.world.iowq_items_last_step(), 2);
    s.reap(a);
    assert_eq!(s.world.iowq_items_last_step(), 0, "a reap runs nothing");
}

// ---- IO_DRAIN, GETEVENTS and submission: the cargo-mutants run over src/exec/submit.rs,
// drain.rs and wait.rs (docs/testing.md, "Missed mutants, triaged").

/// The user_data of every visible CQE of `ring`, reaped, in CQ order.
fn order(s: &mut Sim, ring: i32) -> Vec<u64> {
    s.reap(ring).iter().map(|c| c.user_data).collect()
}

#[test]
fn r41_1_a_drain_on_a_chain_member_drains_the_chain_head() {
    // io_init_drain: IO_DRAIN on a chain member marks the head IO_DRAIN | FORCE_ASYNC,
    // so the whole chain waits on the defer list for the ASYNC NOP already on io-wq;
    // a head left undrained would run inline and post first.
    use msgring::uapi::sqe_flags;
    use msgring::Nop;
    let mut s = Sim::new();
    let a = s.ring(8, 0);
    s.submit(
        a,
        &[
            Nop.build().user_data(1).flags(sqe_flags::ASYNC),
            Nop.build().user_data(2).flags(sqe_flags::IO_LINK),
            Nop.build().user_data(3).flags(sqe_flags::IO_DRAIN),
            Nop.build().user_data(4),
        ],
    );
    assert_eq!(order(&mut s, a), vec![1, 2, 3, 4]);
}

fn profile(release: &str) -> msgring::Profile {
    release.parse().expect("a modelled line")
}

#[test]
fn r41_3_a_plain_request_released_when_the_drain_completes_does_not_keep_the_drain() {
    // 7.3 `__io_submit_flush_completions`: the drain request completed in the batch;
    // releasing the defer list started only the plain NOP queued behind it (no other
    // drain request) and left the list empty, so the drain ends and the next NOP runs
    // inline (its CQE is there without GETEVENTS). 7.2 keeps the drain: the NOP behind
    // the drain found the list non-empty, so the next NOP is drained through local
    // task_work.
    use msgring::uapi::{enter, setup, sqe_flags};
    use msgring::Nop;
    for (rel, ready) in [("7.2", 0), ("7.3", 1)] {
        let mut s = Sim::with_profile(profile(rel));
        let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.push(r, Nop.build().user_data(1).flags(sqe_flags::IO_DRAIN));
        s.push(r, Nop.build().user_data(2));
        let e = s.ret(Step::Enter {
            task: T0,
            ring: r,
            to_submit: 2,
            min_complete: 2,
            flags: enter::GETEVENTS,
        });
        assert_eq!(e, 2);
        assert_eq!(order(&mut s, r), vec![1, 2], "{rel}");
        s.submit(r, &[Nop.build().user_data(3)]);
        assert_eq!(s.view(r).cq_ready, ready, "{rel}");
        s.getevents(T0, r, 1);
        assert_eq!(order(&mut s, r), vec![3], "{rel}");
    }
}

#[test]
fn r41_3_a_drain_request_with_links_is_not_tracked_so_its_completion_keeps_the_drain() {
    // 7.3 `io_queue_deferred` remembers only a drain request without links
    // (`ctx->drain_req`): a drained chain head completing does not end the drain, so
    // the next plain NOP still goes through the defer list and local task_work (no CQE
    // until GETEVENTS). Contrast `releases::r41_3_on_7_3_the_drain_ends_when_the_drain_
    // request_completes`, where the drain request is alone and the NOP runs inline.
    use msgring::uapi::{enter, setup, sqe_flags};
    use msgring::Nop;
    let mut s = Sim::with_profile(profile("7.3"));
    let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    let head = sqe_flags::IO_DRAIN | sqe_flags::IO_LINK;
    s.push(r, Nop.build().user_data(1).flags(head));
    s.push(r, Nop.build().user_data(2));
    let e = s.ret(Step::Enter {
        task: T0,
        ring: r,
        to_submit: 2,
        min_complete: 2,
        flags: enter::GETEVENTS,
    });
    assert_eq!(e, 2);
    assert_eq!(order(&mut s, r), vec![1, 2]);
    s.submit(r, &[Nop.build().user_data(3)]);
    assert_eq!(s.view(r).cq_ready, 0, "the drain is still active");
    s.getevents(T0, r, 1);
    assert_eq!(order(&mut s, r), vec![3]);
}

#[test]
fn r41_1_another_rings_cancelled_links_are_not_in_flight_for_a_drain() {
    // R41.1 (6.16+): a drain waits for requests of its own ring only
    // (`nr_req_allocated == nr_drained` is per ring). Ring b's failed chain head leaves
    // its successor's cancellation (`io_req_tw_fail_links`, R40) on b's local
    // task_work until b's owner waits; a drain on ring a is released at once and
    // completes within its step.
    use msgring::uapi::{setup, sqe_flags};
    use msgring::Nop;
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let b = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    s.submit(
        b,
        &[
            data(999, 0, 0).user_data(1).flags(sqe_flags::IO_LINK),
            Nop.build().user_data(2),
        ],
    );
    assert_eq!(s.reap_t(b), vec![c(1, -9, 0)], "-EBADF: no fd 999");
    s.submit(a, &[Nop.build().user_data(3).flags(sqe_flags::IO_DRAIN)]);
    assert_eq!(
        order(&mut s, a),
        vec![3],
        "the drain did not wait for ring b"
    );
    s.getevents(T0, b, 1);
    assert_eq!(s.reap_t(b), vec![c(2, -125, 0)], "-ECANCELED");
}

#[test]
fn c8_only_an_issued_nop_with_nop_cqe32_carries_extra_words() {
    // C8 (`io_req_set_res32`): a NOP's CQE on a CQE32 ring carries `[off, addr]` only
    // with IORING_NOP_CQE32 and only if it was issued; a plain NOP, or a NOP_CQE32 NOP
    // that failed in `io_init_req` (ioprio: -EINVAL), writes zero words, also into a
    // slot an earlier NOP_CQE32 CQE filled.
    use msgring::uapi::{op, setup, NOP_CQE32};
    use msgring::Sqe;
    let nop = |ud: u64, flags: u32, ioprio: u16| Sqe {
        opcode: op::NOP,
        fd: -1,
        off: 0x100 + ud,
        addr: 0x200 + ud,
        msg_ring_flags: flags,
        ioprio,
        user_data: ud,
        ..Sqe::default()
    };
    let mut s = Sim::with_profile(profile("6.18"));
    let r = s.ring_by(T0, 4, 4, setup::CQE32);
    let words = |s: &mut Sim| match s.step(Step::Reap {
        ring: r,
        max: u32::MAX,
    }) {
        StepResult::Reaped32(v) => v
            .into_iter()
            .map(|(c, w)| (c.user_data, c.res, w))
            .collect::<Vec<_>>(),
        // All extra words zero: the model reports plain CQEs.
        StepResult::Reaped(v) => v
            .into_iter()
            .map(|c| (c.user_data, c.res, [0, 0]))
            .collect(),
        other => panic!("reap gave {other:?}"),
    };
    // Four slots: fill each with words, then write each again.
    let first: Vec<Sqe> = (0..4).map(|ud| nop(ud, NOP_CQE32, 0)).collect();
    assert_eq!(s.submit(r, &first), 4);
    let got = words(&mut s);
    assert_eq!(got[3], (3, 0, [0x103, 0x203]));
    s.submit(r, &[nop(4, 0, 0), nop(5, 0, 0)]);
    s.submit(r, &[nop(6, NOP_CQE32, 1)]);
    assert_eq!(
        words(&mut s),
        vec![(4, 0, [0, 0]), (5, 0, [0, 0]), (6, -22, [0, 0])]
    );
}

#[test]
fn m3_a_submit_with_getevents_runs_local_work_before_the_wait_runs_it_again() {
    // io_uring_enter on a DEFER_TASKRUN ring: after the submit, GETEVENTS runs local
    // work once (`io_run_local_work_locked(ctx, min_complete)`), then `io_cqring_wait`
    // runs it again before it checks for min_complete CQEs. On 6.18 each run handles
    // max(20, min) items (M3), so 50 queued remote messages give 20 + 20 CQEs (and the
    // NOP's); a wait alone gives 20.
    use msgring::uapi::{enter, setup};
    use msgring::Nop;
    let mut s = Sim::with_profile(profile("6.18"));
    let t1 = s.spawn();
    let a = s.ring_by(t1, 64, 0, 0);
    let b = s.ring_by(T0, 4, 128, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    let msgs: Vec<_> = (0..50).map(|ud| data(b, 0, ud)).collect();
    assert_eq!(s.submit_by(t1, a, &msgs), 50);
    assert_eq!(s.view(b).cq_ready, 0, "all 50 wait on b's local work");
    s.push(b, Nop.build().user_data(100));
    let e = s.ret(Step::Enter {
        task: T0,
        ring: b,
        to_submit: 1,
        min_complete: 1,
        flags: enter::GETEVENTS,
    });
    assert_eq!(e, 1);
    assert_eq!(s.view(b).cq_ready, 41, "the NOP and two runs of 20");
    // A plain wait runs one pass of 20.
    s.reap(b);
    assert_eq!(s.getevents(T0, b, 1), 0);
    assert_eq!(s.view(b).cq_ready, 10, "the rest: 10 of a budget of 20");
}

#[test]
fn r2_every_sqe_flag_outside_the_common_ones_is_checked() {
    // R2 `io_init_req`: flags outside SQE_COMMON_FLAGS (FIXED_FILE, IO_LINK,
    // IO_HARDLINK, ASYNC) take the slow checks, the unknown bit first: -EINVAL, also
    // when the SQE sets exactly every uncommon bit (0x80 | CQE_SKIP_SUCCESS |
    // BUFFER_SELECT | IO_DRAIN), and the ring's drain is left alone.
    use msgring::uapi::sqe_flags;
    use msgring::Nop;
    let mut s = Sim::new();
    let a = s.ring(4, 0);
    let uncommon =
        !(sqe_flags::FIXED_FILE | sqe_flags::IO_LINK | sqe_flags::IO_HARDLINK | sqe_flags::ASYNC);
    assert_eq!(uncommon, 0xe2);
    assert_eq!(one(&mut s, a, Nop.build().flags(uncommon)), -22);
    assert_eq!(one(&mut s, a, Nop.build().flags(0x80)), -22);
    // Neither failure got as far as CQE_SKIP_SUCCESS, which would disable IO_DRAIN
    // (-EOPNOTSUPP) for the ring from then on.
    assert_eq!(one(&mut s, a, Nop.build().flags(sqe_flags::IO_DRAIN)), 0);
}

#[test]
fn r41_1_the_request_after_a_chain_with_a_drain_inside_is_a_drain_request() {
    // R41.1 `io_init_req` (`drain_next`): IO_DRAIN on a chain member drains the head
    // and makes the next request outside the chain a drain request too. On 7.3 that
    // request (no links) is the tracked drain request: its completion ends the drain,
    // so the next plain NOP runs inline (a CQE at once); 7.2 keeps the drain.
    use msgring::uapi::{enter, setup, sqe_flags};
    use msgring::Nop;
    for (rel, ready) in [("7.2", 0), ("7.3", 1)] {
        let mut s = Sim::with_profile(profile(rel));
        let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.push(r, Nop.build().user_data(1).flags(sqe_flags::IO_LINK));
        s.push(r, Nop.build().user_data(2).flags(sqe_flags::IO_DRAIN));
        s.push(r, Nop.build().user_data(3));
        let e = s.ret(Step::Enter {
            task: T0,
            ring: r,
            to_submit: 3,
            min_complete: 3,
            flags: enter::GETEVENTS,
        });
        assert_eq!(e, 3, "{rel}");
        assert_eq!(order(&mut s, r), vec![1, 2, 3], "{rel}");
        s.submit(r, &[Nop.build().user_data(4)]);
        assert_eq!(s.view(r).cq_ready, ready, "{rel}");
        s.getevents(T0, r, 1);
        assert_eq!(order(&mut s, r), vec![4], "{rel}");
    }
}

#[test]
fn m3_a_waiter_follows_local_work_that_only_queues_the_next_item() {
    // M3 `io_cqring_wait`: the waiter does not sleep while local work is pending, also
    // when a round only ran an item that queued the next one and posted nothing: a
    // chain of CQE_SKIP_SUCCESS NOPs on a DEFER_TASKRUN ring (each successor is local
    // task_work) ends with a NOP that posts; one wait for it returns 0 with its CQE.
    use msgring::uapi::{setup, sqe_flags};
    use msgring::Nop;
    let mut s = Sim::with_profile(profile("6.18"));
    let r = s.ring_by(T0, 64, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
    let skip = sqe_flags::IO_LINK | sqe_flags::CQE_SKIP_SUCCESS;
    let mut chain: Vec<_> = (0..40)
        .map(|ud| Nop.build().user_data(ud).flags(skip))
        .collect();
    chain.push(Nop.build().user_data(99));
    assert_eq!(s.submit(r, &chain), 41);
    assert_eq!(s.getevents(T0, r, 1), 0);
    assert_eq!(order(&mut s, r), vec![99]);
}

#[test]
fn r41_3_a_drain_request_completed_on_io_wq_ends_the_drain_on_a_plain_ring() {
    // 7.3 `io_req_complete_post` from io-wq: a drain request's completion goes through
    // task_work even on a ring whose CQ is not lockless, because the drain ends under
    // `uring_lock` as its CQE is posted (`io_drain_req_completed`). Requests behind it
    // are released, and once the drain is over a later NOP runs inline at once. Every
    // other io-wq completion on such a ring is posted by the worker. 7.2 keeps the
    // drain active after it (the first of the next NOPs is drained, so the second
    // posts first).
    use msgring::uapi::sqe_flags;
    use msgring::Nop;
    for (rel, later) in [("7.2", vec![5, 4]), ("7.3", vec![4, 5])] {
        let mut s = Sim::with_profile(profile(rel));
        let r = s.ring(8, 0);
        s.submit(
            r,
            &[
                Nop.build()
                    .user_data(1)
                    .flags(sqe_flags::IO_DRAIN | sqe_flags::ASYNC),
                Nop.build().user_data(2),
            ],
        );
        assert_eq!(order(&mut s, r), vec![1, 2], "{rel}");
        s.submit(r, &[Nop.build().user_data(4), Nop.build().user_data(5)]);
        assert_eq!(order(&mut s, r), later, "{rel}: after the drain request");
    }
}

#[test]
fn a_nop_without_inject_result_completes_with_0_whatever_its_len() {
    // `io_nop`: `len` is the result only with IORING_NOP_INJECT_RESULT (R2).
    use msgring::uapi::NOP_INJECT_RESULT;
    use msgring::Nop;
    let mut s = Sim::new();
    let r = s.ring(4, 0);
    let mut plain = Nop.build().user_data(1);
    plain.len = 5;
    let mut injected = plain;
    injected.user_data = 2;
    injected.msg_ring_flags = NOP_INJECT_RESULT;
    s.submit(r, &[plain, injected]);
    let got: Vec<(u64, i32)> = s.reap(r).iter().map(|c| (c.user_data, c.res)).collect();
    assert_eq!(got, vec![(1, 0), (2, 5)]);
}

#[test]
fn an_iopoll_wait_with_cqes_ready_returns_before_running_local_work() {
    // `io_iopoll_check`: "Don't enter poll loop if we already have events pending":
    // with a CQE in the CQ it returns 0 at once, so a link successor queued on the
    // DEFER_TASKRUN ring's local work stays there; with an empty CQ it runs local work.
    use msgring::uapi::{enter, setup, sqe_flags};
    use msgring::Nop;
    let mut s = Sim::new();
    let t = s.ring(
        4,
        setup::IOPOLL | setup::SINGLE_ISSUER | setup::DEFER_TASKRUN | setup::TASKRUN_FLAG,
    );
    let enter = |s: &mut Sim, to_submit, flags| {
        s.ret(Step::Enter {
            task: T0,
            ring: t,
            to_submit,
            min_complete: 0,
            flags,
        })
    };
    s.push(t, Nop.build().user_data(1).flags(sqe_flags::IO_LINK));
    s.push(t, Nop.build().user_data(2));
    assert_eq!(enter(&mut s, 2, 0), 2);
    let v = s.view(t);
    assert_eq!(v.cq_ready, 1, "the successor waits on local work");
    assert_ne!(v.sq_flags & msgring::uapi::sq::TASKRUN, 0);
    assert_eq!(enter(&mut s, 0, enter::GETEVENTS), 0);
    assert_eq!(s.view(t).cq_ready, 1, "a CQE was ready: no local work ran");
    assert_eq!(order(&mut s, t), vec![1]);
    assert_eq!(enter(&mut s, 0, enter::GETEVENTS), 0);
    assert_eq!(order(&mut s, t), vec![2], "an empty CQ: local work ran");
}

#[test]
fn each_successor_replays_from_its_choices_and_points_switch_off_and_on() {
    // `World::successors` enumerates every outcome of a step; `Successor::choices` is
    // the path that `World::apply_path` replays to the same world and result.
    use msgring::uapi::sqe_flags;
    use msgring::{ChoicePoint, Faults, Nop};
    let mut s = Sim::new();
    let r = s.ring(4, 0);
    s.push(r, Nop.build().user_data(1).flags(sqe_flags::ASYNC));
    s.push(r, Nop.build().user_data(2).flags(sqe_flags::ASYNC));
    let start = s.world.clone();
    let step = Step::Enter {
        task: T0,
        ring: r,
        to_submit: 2,
        min_complete: 0,
        flags: 0,
    };
    let all: Vec<_> = start.successors(&step, Faults::default()).collect();
    assert!(all.len() > 1, "two io-wq requests: several orders");
    let mut non_default = 0;
    for succ in &all {
        let path = succ.choices();
        assert_eq!(path.len(), succ.path.len());
        non_default += usize::from(path.iter().any(|c| c.option != 0));
        let mut w = start.clone();
        let (res, _) = w
            .apply_path(&step, Faults::default(), &path)
            .expect("its own path fits");
        assert_eq!(res, succ.result);
        assert_eq!(w, succ.world);
    }
    assert!(non_default > 0);
    // A point switched off is reported off, and on again.
    let mut w = start.clone();
    assert!(w.choice_point_enabled(ChoicePoint::IowqOrder));
    w.set_choice_point(ChoicePoint::IowqOrder, false);
    assert!(!w.choice_point_enabled(ChoicePoint::IowqOrder));
    assert!(w.choice_point_enabled(ChoicePoint::IowqEarly));
    w.set_choice_point(ChoicePoint::IowqOrder, true);
    assert!(w.choice_point_enabled(ChoicePoint::IowqOrder));
}

/// `io_uring_register(ring, opcode, arg, nr_args)` from task 0: its return value.
fn register_on(
    s: &mut Sim,
    ring: i32,
    opcode: u32,
    arg: msgring::RegisterArg,
    nr_args: u32,
) -> i32 {
    s.ret(Step::Register {
        task: T0,
        fd: ring,
        opcode,
        arg,
        nr_args,
    })
}

#[test]
fn r32_personality_ids_wrap_to_the_lowest_free_one_after_ushrt_max() {
    // `xa_alloc_cyclic(.., XA_LIMIT(0, USHRT_MAX), &ctx->pers_next)` on an ALLOC1
    // array: ids 1..=65535 in turn; after 65535 the search starts again at 1 and takes
    // the lowest free id, not one just below the top.
    use msgring::uapi::register;
    use msgring::RegisterArg;
    let mut s = Sim::new();
    let ring = s.ring(4, 0);
    let reg =
        |s: &mut Sim, opcode, nr_args| register_on(s, ring, opcode, RegisterArg::Null, nr_args);
    for want in 1..=65535 {
        assert_eq!(reg(&mut s, register::PERSONALITY, 0), want);
    }
    assert_eq!(
        reg(&mut s, register::PERSONALITY, 0),
        -16,
        "all taken: -EBUSY"
    );
    assert_eq!(reg(&mut s, register::UNREGISTER_PERSONALITY, 65534), 0);
    assert_eq!(reg(&mut s, register::UNREGISTER_PERSONALITY, 5), 0);
    assert_eq!(reg(&mut s, register::PERSONALITY, 0), 5);
    assert_eq!(reg(&mut s, register::PERSONALITY, 0), 65534);
    // Right after 65535 was handed out the search wraps, even if 65535 is free again.
    assert_eq!(reg(&mut s, register::UNREGISTER_PERSONALITY, 65535), 0);
    assert_eq!(reg(&mut s, register::PERSONALITY, 0), 65535);
    assert_eq!(reg(&mut s, register::UNREGISTER_PERSONALITY, 65535), 0);
    assert_eq!(reg(&mut s, register::UNREGISTER_PERSONALITY, 7), 0);
    assert_eq!(reg(&mut s, register::PERSONALITY, 0), 7);
}

#[test]
fn r31_ring_fd_registration_takes_1_to_16_entries() {
    // `io_ringfd_register` / `io_ringfd_unregister`: `!nr_args || nr_args >
    // IO_RINGFD_REG_MAX` is -EINVAL before anything else; 16 entries are accepted.
    use msgring::uapi::register;
    use msgring::RegisterArg;
    let mut s = Sim::new();
    let ring = s.ring(4, 0);
    let reg = |s: &mut Sim, opcode, nr_args| {
        register_on(s, ring, opcode, RegisterArg::RingFds(Vec::new()), nr_args)
    };
    for opcode in [register::RING_FDS, register::UNREGISTER_RING_FDS] {
        assert_eq!(reg(&mut s, opcode, 0), -22, "{opcode}: none");
        assert_eq!(reg(&mut s, opcode, 17), -22, "{opcode}: 17");
    }
    // 16 zeroed entries: each asks to unregister slot 0, which is empty: all handled.
    assert_eq!(reg(&mut s, register::UNREGISTER_RING_FDS, 16), 16);
    // 16 zeroed entries to register: fd 0 is not one of the trace's rings, so the
    // first entry fails on its fd, not on the count.
    let r = reg(&mut s, register::RING_FDS, 16);
    assert!(r < 0 && r != -22, "{r}");
}

#[test]
fn r31_an_exiting_task_puts_the_rings_it_registered() {
    // `io_uring_unreg_ringfd` at task exit: each registered ring's file reference is
    // put (the references the model counts return to what they were).
    use msgring::uapi::register;
    use msgring::{RegisterArg, RingFdUpdate};
    let mut s = Sim::new();
    let t1 = s.spawn();
    let ring = s.ring(4, 0);
    let refs = |s: &Sim| s.world.files().iter().map(|f| f.refs).sum::<u32>();
    let before = refs(&s);
    let r = s.ret(Step::Register {
        task: t1,
        fd: ring,
        opcode: register::RING_FDS,
        arg: RegisterArg::RingFds(vec![RingFdUpdate {
            offset: u32::MAX,
            fd: Some(ring),
        }]),
        nr_args: 1,
    });
    assert_eq!(r, 1);
    assert_eq!(refs(&s), before + 1, "the registered index holds the ring");
    assert_eq!(s.ret(Step::ExitTask { task: t1 }), 0);
    assert_eq!(refs(&s), before, "the exit put it");
}
