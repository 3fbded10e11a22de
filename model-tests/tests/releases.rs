//! Rules that changed between releases (profile::CHANGES), each checked on the releases
//! on both sides of the change. Evidence per rule: docs/semantics.md "What changed when";
//! the real kernels under QEMU (real-backend/qemu/golden.sh) run the golden traces of
//! the same scenarios.

use msgring::uapi::{cqe, enter, op, setup, sq, sqe_flags};
use msgring::{MsgRingData, Nop, Profile, Sqe, Step, StepResult, TaskId};
use msgring_model_tests::*;

fn p(s: &str) -> Profile {
    s.parse().unwrap()
}

/// A MSG_DATA with FLAGS_PASS `flags` to `ring`.
fn data_flags(ring: i32, ud: u64, flags: u32) -> Sqe {
    MsgRingData {
        ring_fd: ring,
        result: 0,
        user_data: ud,
        user_flags: Some(flags),
    }
    .build()
}

#[test]
fn r10_4_flags_pass_f32_needs_a_big_cqe_target_from_7_2() {
    for (rel, plain) in [("7.1", 0), ("7.2", -22), ("7.3", -22)] {
        let mut s = Sim::with_profile(p(rel));
        let a = s.ring(4, 0);
        let plain_t = s.ring(4, 0);
        let big = s.ring(4, setup::CQE32);
        let mixed = s.ring(4, setup::CQE_MIXED);
        assert_eq!(
            one(&mut s, a, data_flags(plain_t, 1, cqe::F_32)),
            plain,
            "{rel} plain"
        );
        assert_eq!(
            s.reap(plain_t).len(),
            usize::from(plain == 0),
            "{rel}: nothing posted on -EINVAL"
        );
        assert_eq!(
            one(&mut s, a, data_flags(big, 2, cqe::F_32)),
            0,
            "{rel} CQE32"
        );
        assert_eq!(
            one(&mut s, a, data_flags(mixed, 3, cqe::F_32)),
            0,
            "{rel} CQE_MIXED"
        );
        // Without F_32 nothing changes.
        assert_eq!(one(&mut s, a, data_flags(plain_t, 4, 0x5a0000)), 0, "{rel}");
        // The remote path (DEFER_TASKRUN target) and the sync variant check it too.
        let owner = s.spawn();
        let defer = s.ring_by(owner, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        assert_eq!(
            one(&mut s, a, data_flags(defer, 5, 0xffffffff)),
            plain,
            "{rel} remote"
        );
        let sync = s.ret(Step::SyncMsg {
            task: TaskId(0),
            sqe: data_flags(plain_t, 6, cqe::F_32),
        });
        assert_eq!(sync, plain, "{rel} sync");
    }
}

#[test]
fn c8_a_32_byte_cqe_takes_two_slots_of_a_cqe_mixed_ring_and_pads_at_the_end() {
    let mut s = Sim::with_profile(p("6.18"));
    let a = s.ring(4, 0);
    let m = s.ring_by(TaskId(0), 2, 4, setup::CQE_MIXED);
    assert_eq!(one(&mut s, a, data_flags(m, 1, cqe::F_32)), 0);
    assert_eq!(s.view(m).cq_ready, 2, "two 16-byte slots");
    assert_eq!(s.reap_t(m), vec![c(1, 0, cqe::F_32)]);
    // Tail at slot 2: a 16-byte CQE takes slot 2, then a 32-byte one would start at the
    // last slot (3): io_fill_nop_cqe pads it and the CQE wraps to slots 0-1.
    assert_eq!(one(&mut s, a, data(m, 7, 2)), 0);
    assert_eq!(one(&mut s, a, data_flags(m, 3, cqe::F_32 | 1)), 0);
    assert_eq!(s.view(m).cq_ready, 4);
    assert_eq!(
        s.reap_t(m),
        vec![c(2, 7, 0), c(0, 0, cqe::SKIP), c(3, 0, cqe::F_32 | 1)]
    );
    // Three 16-byte CQEs (slots 2, 3, 0), then a 32-byte one: slot 1 is free but not
    // two contiguous slots, so it overflows (no padding: the tail is not at the end).
    for ud in 10..13 {
        assert_eq!(one(&mut s, a, data(m, 0, ud)), 0);
    }
    assert_eq!(one(&mut s, a, data_flags(m, 13, cqe::F_32)), 0);
    let v = s.view(m);
    assert_eq!((v.cq_ready, v.overflow.len()), (3, 1));
    assert_ne!(v.sq_flags & sq::CQ_OVERFLOW, 0);
}

#[test]
fn c8_from_6_18_f32_on_a_plain_target_is_a_padded_32_byte_post_until_7_2_refuses_it() {
    // A plain CQ of 4 with its tail at the last slot: 6.18-7.1 pad it and post the CQE
    // at slot 0 (c8_plain_target_f32_padding_6_18.trace, on the real kernels); 6.17
    // takes IORING_CQE_F_32 as a plain flag; 7.2 refuses it (R10.4).
    for (rel, res, want) in [
        ("6.17", 0, vec![c(9, 0, cqe::F_32)]),
        ("6.18", 0, vec![c(0, 0, cqe::SKIP), c(9, 0, cqe::F_32)]),
        ("7.1", 0, vec![c(0, 0, cqe::SKIP), c(9, 0, cqe::F_32)]),
        ("7.2", -22, vec![]),
    ] {
        let mut s = Sim::with_profile(p(rel));
        let a = s.ring(4, 0);
        let b = s.ring_by(TaskId(0), 2, 4, 0);
        for ud in 0..3 {
            assert_eq!(one(&mut s, a, data(b, 0, ud)), 0);
        }
        s.reap(b);
        assert_eq!(one(&mut s, a, data_flags(b, 9, cqe::F_32)), res, "{rel}");
        assert_eq!(s.reap_t(b), want, "{rel}");
    }
    // A CQE32 target takes it in its last entry without padding: the kernel's CQE cache
    // still holds that entry (the case this model covers, see CqLayout::is_big).
    for rel in ["6.18", "7.2", "7.3"] {
        let mut s = Sim::with_profile(p(rel));
        let a = s.ring(4, 0);
        let b = s.ring_by(TaskId(0), 2, 4, setup::CQE32);
        for ud in 0..3 {
            one(&mut s, a, data(b, 0, ud));
        }
        s.reap(b);
        assert_eq!(one(&mut s, a, data_flags(b, 9, cqe::F_32)), 0);
        assert_eq!(s.reap_t(b), vec![c(9, 0, cqe::F_32)], "{rel}");
    }
}

/// A GETEVENTS enter on `r` by task 0 (min_complete 0), then a reap: the user_data
/// of the CQEs it left.
fn getevents_reap(s: &mut Sim, r: i32) -> Vec<u64> {
    s.getevents(TaskId(0), r, 0);
    s.reap(r).iter().map(|c| c.user_data).collect()
}

#[test]
fn m3_from_7_2_local_work_queued_during_a_pass_runs_in_it() {
    // r16_defer_self_linked: NOP 1 -> self-message 2 (target CQE 3) -> NOP 4, linked.
    for (rel, first, second) in [("7.1", vec![2], vec![3, 4]), ("7.2", vec![3, 2], vec![4])] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.submit(
            r,
            &[
                Nop.build().user_data(1).flags(sqe_flags::IO_LINK),
                data(r, 33, 3).user_data(2).flags(sqe_flags::IO_LINK),
                Nop.build().user_data(4),
            ],
        );
        assert_eq!(
            s.reap(r).iter().map(|c| c.user_data).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(getevents_reap(&mut s, r), first, "{rel}: first GETEVENTS");
        assert_eq!(getevents_reap(&mut s, r), second, "{rel}: second GETEVENTS");
    }
}

#[test]
fn m3_from_7_2_io_sq_taskrun_can_stay_set_with_nothing_pending() {
    // NOP 1 -> self-message 2 (target CQE 3) on a DEFER_TASKRUN|TASKRUN_FLAG ring. The
    // GETEVENTS pass runs 2, whose target CQE is queued as local work: 7.2 pushes it to
    // the empty queue (IORING_SQ_TASKRUN) and runs it in the same pass, so the flag is
    // left set with nothing pending, through the next GETEVENTS too (nothing to run
    // clears it); 7.1 leaves it pending, flagged, for the next GETEVENTS.
    let flags = setup::SINGLE_ISSUER | setup::DEFER_TASKRUN | setup::TASKRUN_FLAG;
    for (rel, first, second, taskrun_after_second) in [
        ("7.1", vec![2], vec![3], false),
        ("7.2", vec![3, 2], vec![], true),
    ] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(4, flags);
        s.submit(
            r,
            &[
                Nop.build().user_data(1).flags(sqe_flags::IO_LINK),
                data(r, 33, 3).user_data(2),
            ],
        );
        assert_eq!(s.reap(r).len(), 1);
        s.getevents(TaskId(0), r, 0);
        let got: Vec<u64> = s.reap(r).iter().map(|c| c.user_data).collect();
        assert_eq!(got, first, "{rel}");
        assert_ne!(
            s.view(r).sq_flags & sq::TASKRUN,
            0,
            "{rel}: TASKRUN after the first pass"
        );
        s.getevents(TaskId(0), r, 0);
        let got: Vec<u64> = s.reap(r).iter().map(|c| c.user_data).collect();
        assert_eq!(got, second, "{rel}");
        assert_eq!(
            s.view(r).sq_flags & sq::TASKRUN != 0,
            taskrun_after_second,
            "{rel}"
        );
    }
}

#[test]
fn m13_before_6_2_io_uring_register_runs_the_owners_local_work() {
    for (rel, posted_by_register) in [("6.1", true), ("6.2", false), ("6.12", false)] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.submit(
            r,
            &[
                Nop.build().user_data(1).flags(sqe_flags::IO_LINK),
                Nop.build().user_data(2),
            ],
        );
        assert_eq!(
            s.reap_t(r),
            vec![c(1, 0, 0)],
            "{rel}: the successor waits as local work"
        );
        assert_eq!(
            s.ret(Step::RegisterFilesSparse {
                task: TaskId(0),
                ring: r,
                nr: 2
            }),
            0
        );
        let want = if posted_by_register {
            vec![c(2, 0, 0)]
        } else {
            vec![]
        };
        assert_eq!(s.reap_t(r), want, "{rel}: after io_uring_register");
    }
}

#[test]
fn m3_before_6_3_local_work_runs_newest_first() {
    for (rel, order) in [("6.1", vec![4, 2]), ("6.12", vec![2, 4])] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(8, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.submit(
            r,
            &[
                Nop.build().user_data(1).flags(sqe_flags::IO_LINK),
                Nop.build().user_data(2),
                Nop.build().user_data(3).flags(sqe_flags::IO_LINK),
                Nop.build().user_data(4),
            ],
        );
        assert_eq!(s.reap(r).len(), 2);
        s.getevents(TaskId(0), r, 0);
        let got: Vec<u64> = s.reap(r).iter().map(|c| c.user_data).collect();
        assert_eq!(got, order, "{rel}");
    }
}

#[test]
fn r21_5_the_alloc_hint_clamp_is_a_stable_fix_missing_in_6_18_15() {
    for (rel, slot) in [("6.18.15", 1), ("6.18.44", 2), ("6.17", 1), ("7.3", 2)] {
        let mut s = Sim::with_profile(p(rel));
        let a = s.ring(4, 0);
        let b = s.ring(4, 0);
        let f = s.regular();
        s.register(a, &[f]);
        assert_eq!(
            s.ret(Step::RegisterFilesSparse {
                task: TaskId(0),
                ring: b,
                nr: 8
            }),
            0
        );
        let range = Step::FileAllocRange {
            task: TaskId(0),
            ring: b,
            off: 2,
            len: 2,
        };
        assert_eq!(s.ret(range), 0);
        // An explicit install at slot 0 leaves the hint at 1, below the range.
        let explicit = send_fd(b, 0, msgring::DestSlot::Index(0), 1);
        assert_eq!(one(&mut s, a, explicit), 0);
        let alloc = send_fd(b, 0, msgring::DestSlot::Alloc, 2);
        assert_eq!(one(&mut s, a, alloc), slot, "{rel}: the slot ALLOC took");
    }
}

#[test]
fn r2_from_6_19_nop128_is_known_and_needs_a_128_byte_sqe() {
    for rel in ["6.18", "6.19", "7.3"] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(4, 0);
        for opcode in [op::NOP128, op::URING_CMD128] {
            let sqe = Sqe {
                opcode,
                ..Nop.build()
            };
            assert_eq!(one(&mut s, r, sqe), -22, "{rel} opcode {opcode}");
        }
    }
    // PIPE (62) is known from 6.16: outside the model, not -EINVAL.
    let mut s = Sim::with_profile(p("6.16"));
    let r = s.ring(4, 0);
    s.push(
        r,
        Sqe {
            opcode: 62,
            ..Nop.build()
        },
    );
    let e = s.step(Step::Enter {
        task: TaskId(0),
        ring: r,
        to_submit: 1,
        min_complete: 0,
        flags: 0,
    });
    assert!(matches!(e, StepResult::Unmodelled(_)), "{e:?}");
    let mut s = Sim::with_profile(p("6.15"));
    let r = s.ring(4, 0);
    assert_eq!(
        one(
            &mut s,
            r,
            Sqe {
                opcode: 62,
                ..Nop.build()
            }
        ),
        -22,
        "6.15: past IORING_OP_LAST"
    );
}

#[test]
fn r41_3_on_7_3_the_drain_ends_when_the_drain_request_completes() {
    // A DEFER_TASKRUN ring: the drain request runs (task_work, io-wq) and completes at a
    // GETEVENTS; then a plain NOP is submitted. 7.2 still has the drain active, so the
    // NOP goes through io_drain_req and local task_work (no CQE until the next
    // GETEVENTS); 7.3 ended the drain when the drain request completed: the NOP runs
    // inline and its CQE is there at once.
    for (rel, ready) in [("7.2", 0), ("7.3", 1)] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.push(r, Nop.build().user_data(1).flags(sqe_flags::IO_DRAIN));
        let e = s.ret(Step::Enter {
            task: TaskId(0),
            ring: r,
            to_submit: 1,
            min_complete: 1,
            flags: enter::GETEVENTS,
        });
        assert_eq!(e, 1);
        assert_eq!(s.reap_t(r), vec![c(1, 0, 0)]);
        s.submit(r, &[Nop.build().user_data(2)]);
        assert_eq!(s.view(r).cq_ready, ready, "{rel}");
        s.getevents(TaskId(0), r, 1);
        assert_eq!(s.reap_t(r), vec![c(2, 0, 0)], "{rel}");
    }
}

#[test]
fn r41_before_6_3_a_drained_request_released_by_task_work_is_issued_inline() {
    // A drain request with nothing in flight is released through task_work (local work
    // on a DEFER_TASKRUN ring). 6.1/6.2's io_req_task_submit issues it there, so the
    // GETEVENTS that runs that local work posts its CQE; from 6.3 (6bb30855560e) it is
    // forced async and goes to io-wq, whose completion comes back as local work for the
    // next GETEVENTS (6.1.192: check seed 1 trace 13369, golden
    // r41_drain_release_issued_inline_6_1).
    for (rel, first, second) in [("6.2", vec![1], vec![]), ("6.3", vec![], vec![1])] {
        let mut s = Sim::with_profile(p(rel));
        let r = s.ring(4, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        s.submit(r, &[Nop.build().user_data(1).flags(sqe_flags::IO_DRAIN)]);
        assert_eq!(getevents_reap(&mut s, r), first, "{rel}: first GETEVENTS");
        assert_eq!(getevents_reap(&mut s, r), second, "{rel}: second GETEVENTS");
    }
}

#[test]
fn docs_semantics_lists_every_change_with_its_commit() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/semantics.md"))
        .expect("docs/semantics.md");
    let table = &doc[doc
        .find("## Releases: what changed when")
        .expect("the section")..];
    for c in msgring::profile::CHANGES {
        let id = c.commit.split_whitespace().next().unwrap_or("");
        if id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            assert!(
                table.contains(id),
                "{id} ({:?}) missing from docs/semantics.md",
                c.rule
            );
        }
        let release = c.since.to_string();
        assert!(
            table.contains(&format!("| {release}"))
                || table.contains(&format!(
                    "until {}",
                    c.until.map_or(String::new(), |u| u.to_string())
                )),
            "{:?} {release}",
            c.rule
        );
    }
}

/// The 6.1 line's steady `msgring check` findings (real-backend/qemu/findings/
/// 2026-11-25-after-r41.2/6.1, kernel 6.1.0-56) that the 6.1 rules now explain: M13
/// (361, 873), local work newest first and M13 (705), and the drain release at every CQ
/// commit (R41.2: 1552, 2748, 3150). Each matches the kernel's annotations on the 6.1
/// model (before this change none did).
#[test]
fn the_6_1_check_findings_match_the_kernel_on_the_6_1_model() {
    for n in [361, 705, 873, 1552, 2748, 3150] {
        let (file, src) = finding("2026-11-25-after-r41.2/6.1", n);
        let t = msgring::trace::parse(&src).unwrap();
        let on = |rel: &str| {
            let out = msgring::trace::run(&t, &mut msgring::World::new(p(rel)));
            msgring::trace::check_annotations(&t, &out)
        };
        let m = on("6.1");
        assert!(m.is_empty(), "{}: {}", file.display(), m[0]);
    }
}

/// Reaps every CQE of `ring` with its extra words (zero where the ring keeps none).
fn reap_words(s: &mut Sim, ring: i32) -> Vec<(u64, [u64; 2])> {
    match s.step(Step::Reap {
        ring,
        max: u32::MAX,
    }) {
        StepResult::Reaped32(v) => v.into_iter().map(|(c, w)| (c.user_data, w)).collect(),
        StepResult::Reaped(v) => v.into_iter().map(|c| (c.user_data, [0, 0])).collect(),
        other => panic!("reap gave {other:?}"),
    }
}

#[test]
fn c8_from_7_3_a_message_zeroes_the_extra_words_of_its_cqe32_slot() {
    // Eight NOPs with IORING_NOP_CQE32 write extra words into every slot of a CQE32
    // ring's 8-entry CQ; the ninth CQE, a message (an aux CQE), lands in slot 0 again.
    // Before 7.3 `io_fill_cqe_aux` leaves the slot's words (the first NOP's); 7.3
    // zeroes them. Golden c8_cqe32_extra_words runs the same on 7.2.13 and 7.3.4.
    for (rel, stale) in [("6.18", true), ("7.2", true), ("7.3", false)] {
        let mut s = Sim::with_profile(p(rel));
        let src = s.ring(8, 0);
        let r = s.ring(4, setup::CQE32);
        for round in 0..2u64 {
            let nops: Vec<Sqe> = (0..4u64)
                .map(|i| Sqe {
                    opcode: op::NOP,
                    fd: -1,
                    off: 0x100 + 4 * round + i,
                    addr: 0x200 + 4 * round + i,
                    msg_ring_flags: msgring::uapi::NOP_CQE32,
                    user_data: 4 * round + i,
                    ..Sqe::default()
                })
                .collect();
            assert_eq!(s.submit(r, &nops), 4, "{rel}");
            let got = reap_words(&mut s, r);
            assert_eq!(got.len(), 4, "{rel}");
            assert_eq!(got[0].1, [0x100 + 4 * round, 0x200 + 4 * round], "{rel}");
        }
        assert_eq!(one(&mut s, src, data(r, 9, 0x40)), 0, "{rel}");
        let want = if stale { [0x100, 0x200] } else { [0, 0] };
        assert_eq!(reap_words(&mut s, r), vec![(0x40, want)], "{rel}");
        // Three alike messages in one submit (the batch the model writes in one pass)
        // land in slots 1..=3, which hold the first round's words.
        let batch: Vec<Sqe> = (1..4).map(|i| data(r, 9, 0x40 + i)).collect();
        assert_eq!(s.submit(src, &batch), 3, "{rel}");
        let want: Vec<(u64, [u64; 2])> = (1..4u64)
            .map(|i| {
                (
                    0x40 + i,
                    if stale {
                        [0x100 + i, 0x200 + i]
                    } else {
                        [0, 0]
                    },
                )
            })
            .collect();
        assert_eq!(reap_words(&mut s, r), want, "{rel}");
    }
}

#[test]
fn r31_before_6_3_io_uring_register_refuses_use_registered_ring() {
    // UNREGISTER_PERSONALITY through registered ring index 4, which is empty: 6.3+
    // look the index up (-EBADF); 6.1 sees an opcode at or above IORING_REGISTER_LAST
    // (-EINVAL) before any lookup (run: 6.1.192 under QEMU, golden
    // r31_registered_ring_fds line 37).
    use msgring::uapi::register;
    for (rel, want) in [("6.1", -22), ("6.3", -9), ("6.12", -9)] {
        let mut s = Sim::with_profile(p(rel));
        let _ring = s.ring(4, 0); // the task gets an io_uring context
        let r = s.ret(Step::Register {
            task: TaskId(0),
            fd: 4,
            opcode: register::UNREGISTER_PERSONALITY | register::USE_REGISTERED_RING,
            arg: msgring::RegisterArg::Null,
            nr_args: 1,
        });
        assert_eq!(r, want, "{rel}");
    }
}
