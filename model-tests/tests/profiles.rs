//! Version profiles: each rule that differs between kernel lines, checked on every
//! profile. The 6.1 and 6.12 values are what Debian's 6.1.192 and 6.12.117 kernels did
//! under QEMU (docs/kernels.md, rows D1–D17); 5.18 comes from the reference alone.

use msgring::uapi::{msg, setup};
const V5_18: Profile = Profile::V5_18;
const V6_1: Profile = Profile::V6_1;
const V6_12: Profile = Profile::V6_12;
const V6_18: Profile = Profile::V6_18;
use msgring::{DestSlot, MsgRingData, MsgRingSendFd, Profile, Sqe, Step};
use msgring_model_tests::*;

/// A source ring with a file in slot 0 and a target with `nr` empty slots.
fn fd_pair(s: &mut Sim, target_flags: u32, owner: msgring::TaskId) -> (i32, i32, i32) {
    let a = s.ring(4, 0);
    let b = s.ring_by(owner, 4, 0, target_flags);
    let f = s.regular();
    s.register(a, &[f]);
    assert_eq!(
        s.ret(Step::RegisterFilesSparse {
            task: owner,
            ring: b,
            nr: 4
        }),
        0
    );
    (a, b, f)
}

#[test]
fn d1_flags_pass_is_6_3_plus() {
    for (p, want) in [(V6_1, -22), (V6_12, 0), (V6_18, 0)] {
        let mut s = Sim::with_profile(p);
        let (a, b) = (s.ring(4, 0), s.ring(4, 0));
        let sqe = MsgRingData {
            ring_fd: b,
            result: 1,
            user_data: 2,
            user_flags: Some(0x10),
        }
        .build();
        assert_eq!(one(&mut s, a, sqe), want, "{p}");
    }
}

#[test]
fn d3_send_fd_len_check_is_missing_on_6_1() {
    for (p, want) in [(V6_1, 0), (V6_12, -22), (V6_18, -22)] {
        let mut s = Sim::with_profile(p);
        let (a, b, _) = fd_pair(&mut s, 0, T0);
        let sqe = MsgRingSendFd {
            ring_fd: b,
            fixed_slot_src: 0,
            dest_slot_index: DestSlot::Index(0),
            user_data: 5,
            skip_cqe: false,
        }
        .build();
        assert_eq!(one(&mut s, a, Sqe { len: 5, ..sqe }), want, "{p}");
    }
}

#[test]
fn d4_send_fd_to_a_disabled_ring_installs_on_6_1() {
    for (p, want, installed) in [(V6_1, 0, true), (V6_12, -77, false), (V6_18, -77, false)] {
        let mut s = Sim::with_profile(p);
        let (a, b, f) = fd_pair(&mut s, setup::R_DISABLED, T0);
        let sqe = MsgRingSendFd {
            ring_fd: b,
            fixed_slot_src: 0,
            dest_slot_index: DestSlot::Index(0),
            user_data: 5,
            skip_cqe: false,
        }
        .build();
        assert_eq!(one(&mut s, a, sqe), want, "{p}");
        assert_eq!(s.slot(b, 0).is_some(), installed, "{p}");
        assert_eq!(
            one(&mut s, a, data(b, 3, 1)),
            -77,
            "{p}: MSG_DATA is checked on every 6.x line"
        );
        let _ = f;
    }
}

#[test]
fn d6_defer_target_gets_data_directly_on_6_1() {
    for (p, visible_at_once) in [(V6_1, true), (V6_12, false), (V6_18, false)] {
        let mut s = Sim::with_profile(p);
        let a = s.ring(4, 0);
        let owner = s.spawn();
        let b = s.ring_by(owner, 4, 0, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        assert_eq!(one(&mut s, a, data(b, 3, 7)), 0);
        assert_eq!(s.reap(b).len() == 1, visible_at_once, "{p}");
    }
}

#[test]
fn d8_local_work_is_unbounded_before_6_18() {
    for (p, first_call) in [(V6_12, 100), (V6_18, 20)] {
        let mut s = Sim::with_profile(p);
        let a = s.ring(4, 0);
        let owner = s.spawn();
        let b = s.ring_by(owner, 8, 256, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN);
        for i in 0..100 {
            one(&mut s, a, data(b, 3, i));
        }
        s.getevents(owner, b, 0);
        assert_eq!(s.reap(b).len(), first_call, "{p}");
    }
}

#[test]
fn d15_send_fd_to_an_exited_owner_succeeds_on_6_1() {
    for (p, want) in [(V6_1, 0), (V6_12, -130), (V6_18, -130)] {
        let mut s = Sim::with_profile(p);
        let owner = s.spawn();
        let (a, b, _) = fd_pair(&mut s, setup::SINGLE_ISSUER | setup::DEFER_TASKRUN, owner);
        s.ret(Step::ExitTask { task: owner });
        let sqe = MsgRingSendFd {
            ring_fd: b,
            fixed_slot_src: 0,
            dest_slot_index: DestSlot::Index(0),
            user_data: 5,
            skip_cqe: false,
        }
        .build();
        assert_eq!(one(&mut s, a, sqe), want, "{p}");
    }
}

#[test]
fn d16_sync_variant_is_6_13_plus() {
    for (p, want) in [(V6_1, -22), (V6_12, -22), (V6_18, 0)] {
        let mut s = Sim::with_profile(p);
        let b = s.ring(4, 0);
        assert_eq!(
            s.ret(Step::SyncMsg {
                task: T0,
                sqe: data(b, 3, 1)
            }),
            want,
            "{p}"
        );
        let (pr, _) = s.pipe();
        let want_pipe = if p.has_sync_msg() { -77 } else { -22 };
        assert_eq!(
            s.ret(Step::SyncMsg {
                task: T0,
                sqe: data(pr, 3, 1)
            }),
            want_pipe,
            "{p}: D17"
        );
    }
}

#[test]
fn s_setup_flags_each_release_knows() {
    // (flags, the first release that accepts them): -EINVAL before, never after (the
    // model may still refuse a known flag as unmodelled).
    let cases = [
        (setup::SUBMIT_ALL, V5_18),
        (setup::COOP_TASKRUN, Profile::V5_19),
        (setup::SINGLE_ISSUER, Profile::V6_0),
        (setup::SINGLE_ISSUER | setup::DEFER_TASKRUN, V6_1),
        (setup::NO_SQARRAY, Profile::V6_6),
        (setup::HYBRID_IOPOLL | setup::IOPOLL, Profile::V6_13),
        (setup::CQE_MIXED, V6_18),
        (setup::SQE_MIXED, Profile::V6_19),
        (setup::SQ_REWIND | setup::NO_SQARRAY, Profile::V7_0),
    ];
    for (flags, first) in cases {
        for &p in Profile::ALL {
            let mut s = Sim::with_profile(p);
            let r = s.step(Step::Setup {
                task: T0,
                entries: 4,
                cq_entries: 0,
                flags,
            });
            let failed = r == msgring::StepResult::Ret(-22);
            assert_eq!(!failed, p >= first, "{p} flags {flags:#x}: {r:?}");
        }
    }
}

#[test]
fn v5_18_is_msg_data_only() {
    let mut s = Sim::with_profile(V5_18);
    let (a, b) = (s.ring(4, 0), s.ring(4, 0));
    assert_eq!(one(&mut s, a, data(b, 3, 1)), 0);
    assert_eq!(s.reap_t(b), vec![c(1, 3, 0)]);
    let sfd = MsgRingSendFd {
        ring_fd: b,
        fixed_slot_src: 0,
        dest_slot_index: DestSlot::Index(0),
        user_data: 5,
        skip_cqe: false,
    }
    .build();
    assert_eq!(one(&mut s, a, sfd), -22, "addr must be 0 in 5.18");
    assert_eq!(
        one(
            &mut s,
            a,
            Sqe {
                msg_ring_flags: msg::CQE_SKIP,
                ..data(b, 3, 1)
            }
        ),
        -22
    );
    let r = s.step(Step::Setup {
        task: T0,
        entries: 4,
        cq_entries: 0,
        flags: setup::SINGLE_ISSUER,
    });
    assert_eq!(r, msgring::StepResult::Ret(-22), "SINGLE_ISSUER is 6.0");
}

#[test]
fn every_profile_passes_the_invariant_checkers_on_the_same_traffic() {
    for &p in Profile::ALL {
        let mut s = Sim::with_profile(p);
        let (a, b) = (s.ring(4, 0), s.ring_by(T0, 1, 1, 0));
        for i in 0..6 {
            one(&mut s, a, data(b, 3, i));
            msgring::check::check_all(&s.world).unwrap();
        }
        assert_eq!(s.view(b).overflow.len(), 5, "{p}");
    }
}

/// G2 (docs/kernels.md): on 6.1 a failed file lookup posts at once, ahead of the
/// batch's CQEs; 6.12+ batch it in SQE order.
#[test]
fn g2_failed_lookups_post_at_once_on_6_1() {
    for (p, want) in [
        (V6_1, vec![2, 3, 1]),
        (V6_12, vec![1, 2, 3]),
        (V6_18, vec![1, 2, 3]),
    ] {
        let mut s = Sim::with_profile(p);
        let a = s.ring(4, 0);
        let (pr, _pw) = s.pipe();
        s.register(a, &[pr, -1]);
        let fixed = |slot: i32, ud: u64| {
            Sqe {
                fd: slot,
                ..data(0, 3, ud)
            }
            .flags(msgring::uapi::sqe_flags::FIXED_FILE)
            .user_data(ud)
        };
        s.submit(a, &[fixed(0, 1), fixed(1, 2), fixed(9, 3)]);
        let order: Vec<u64> = s.reap(a).iter().map(|c| c.user_data).collect();
        assert_eq!(order, want, "{p}");
    }
}

/// G2: on 6.1 an init failure posts at once and task_work runs newest first, so a
/// HARDLINK successor overtakes earlier cancellations.
#[test]
fn g2_link_failures_on_6_1() {
    use msgring::uapi::sqe_flags::{IO_HARDLINK, IO_LINK};
    let run = |p: Profile| {
        let mut s = Sim::with_profile(p);
        let a = s.ring(8, 0);
        let (pr, _) = s.pipe();
        let nop = |ud: u64| msgring::Nop.build().user_data(ud);
        let sqes = [
            data(pr, 3, 0).user_data(1).flags(IO_LINK),
            nop(2),
            Sqe {
                buf_index: 1,
                ..data(a, 3, 0)
            }
            .user_data(3)
            .flags(IO_LINK),
            nop(4),
            data(pr, 3, 0).user_data(5).flags(IO_HARDLINK),
            nop(6),
        ];
        s.submit(a, &sqes);
        s.reap(a).iter().map(|c| c.user_data).collect::<Vec<u64>>()
    };
    assert_eq!(run(V6_1), vec![3, 1, 5, 6, 2, 4]);
    assert_eq!(run(V6_12), vec![1, 3, 5, 2, 4, 6]);
    assert_eq!(run(V6_18), vec![1, 3, 5, 2, 4, 6]);
}

/// On 6.1 an io-wq completion on an IOPOLL|DEFER_TASKRUN ring is posted by the
/// worker; 6.12+ hand it to the ring's local task_work (golden.sh on 6.1.192:
/// liburing_msg_ring_own_defer_iopoll.trace).
#[test]
fn iowq_completion_on_a_lockless_ring_is_direct_on_6_1() {
    for (p, visible) in [(V6_1, 2), (V6_12, 1), (V6_18, 1)] {
        let mut s = Sim::with_profile(p);
        let a = s.ring(
            4,
            setup::IOPOLL | setup::SINGLE_ISSUER | setup::DEFER_TASKRUN,
        );
        s.submit(a, &[data(a, 3, 0x20).user_data(0x10)]);
        assert_eq!(s.reap(a).len(), visible, "{p}");
    }
}

/// An io-wq completion whose CQE does not fit: 6.18 hands it to task_work, so a
/// MSG_RING target CQE posted meanwhile from io-wq overflows ahead of it; 6.12
/// overflows it from the worker, in completion order
/// (`iowq_completion_without_room_via_task_work`; the regression trace's annotations
/// are 6.18.44's).
#[test]
fn iowq_completion_into_a_full_cq_goes_through_task_work_on_6_18() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/regressions/racy_iowq_completion_into_full_cq_goes_through_task_work.trace");
    let src = std::fs::read_to_string(&path).expect("regression trace");
    let t = msgring::trace::parse(&src).expect("parses");
    let last_reap = |p: Profile| {
        let mut w = msgring::World::new(p);
        let mut last = None;
        msgring::trace::run_with(&t, &mut w, |_, step, r| {
            if matches!(step, Step::Reap { .. }) {
                last = Some(r.clone());
            }
        });
        let Some(msgring::StepResult::Reaped(c)) = last else {
            panic!("{p}: no reap")
        };
        c.iter().map(|c| c.user_data).collect::<Vec<_>>()
    };
    assert_eq!(last_reap(V6_18), [0xb1, 0, 0]);
    assert_eq!(last_reap(V6_12), [0, 0xb1, 0]);
}

/// R41.2: before 6.16 IO_DRAIN releases by sequence number. The `msgring check`
/// findings from the 6.12.117 and 6.1.0-56 guests that the sequence rule settles
/// (`real-backend/qemu/findings/2026-11-25`, annotations = the kernel's events) match
/// the model's 6.12 / 6.1 profile, and each of them needs it: under the 6.18 drain
/// rule every one of them mismatches.
#[test]
fn r41_2_drain_by_sequence_before_6_16_matches_the_guest_findings() {
    let settled = [
        (
            "6.12",
            V6_12,
            &[
                19u32, 26, 73, 85, 93, 172, 329, 361, 454, 587, 641, 909, 1552, 2962, 3140, 3268,
                3642, 4471,
            ][..],
        ),
        ("6.1", V6_1, &[19, 26, 54, 3140, 4138, 4471, 4716][..]),
    ];
    let mut checked = 0;
    for (label, profile, traces) in settled {
        for n in traces {
            let (file, src) = finding(&format!("2026-11-25/{label}"), u64::from(*n));
            let t = msgring::trace::parse(&src).expect("parses");
            assert!(
                src.contains("IO_DRAIN"),
                "{}: not a drain trace",
                file.display()
            );
            let on = |p: Profile| {
                let out = msgring::trace::run(&t, &mut msgring::World::new(p));
                msgring::trace::check_annotations(&t, &out)
            };
            let m = on(profile);
            assert!(m.is_empty(), "{}: {}", file.display(), m[0]);
            assert!(
                !on(V6_18).is_empty(),
                "{}: passes without R41.2",
                file.display()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 25);
}
