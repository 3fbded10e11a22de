//! The submission fast lanes (`World::set_fast_lanes`: request-free issue of unlinked
//! SQEs, bulk submission of same-shape MSG_DATA runs, run entries in the completion
//! batch) change speed, never behaviour: every step returns the same result and
//! leaves the same world with the lanes on and off.
//!
//! Two sources of steps: the swarm trace generator (every profile), and a scenario
//! built to stress the lanes: batches of repeated MSG_DATA shapes (plain, CQE_SKIP,
//! FLAGS_PASS, fixed-file targets, self-messages, invalid fields, links, NOPs,
//! SEND_FD) into tiny CQs that overflow, with injected overflow-allocation failures.

use msgring::trace::{self, gen};
use msgring::uapi::{enter, msg, op, setup, sqe_flags};
use msgring::{Backend, Faults, Profile, Sqe, Step, StepResult, TaskId, World};
use msgring_model_tests::{data, proptest_cases};
use proptest::prelude::*;
use std::collections::HashMap;

/// Runs every step on a world with the lanes and one without, and compares.
struct Twin {
    fast: World,
    slow: World,
    steps: usize,
    /// SQEs pushed per ring fd since its last enter.
    pending: HashMap<i32, Vec<Sqe>>,
    /// Enters that submitted two adjacent MSG_DATA SQEs of one shape (a lane run).
    lane_enters: usize,
}

impl Twin {
    fn new(profile: Profile) -> Twin {
        let fast = World::new(profile);
        let mut slow = World::new(profile);
        slow.set_fast_lanes(false);
        Twin {
            fast,
            slow,
            steps: 0,
            pending: HashMap::new(),
            lane_enters: 0,
        }
    }

    fn same_shape(a: &Sqe, b: &Sqe) -> bool {
        let strip = |s: &Sqe| Sqe {
            off: 0,
            len: 0,
            user_data: 0,
            ..*s
        };
        strip(a) == strip(b)
    }

    fn note(&mut self, step: &Step) {
        match step {
            Step::Push { ring, sqe } => self.pending.entry(*ring).or_default().push(*sqe),
            Step::Enter { ring, .. } => {
                let q = self.pending.remove(ring).unwrap_or_default();
                if q.windows(2).any(|w| {
                    w[0].opcode == op::MSG_RING
                        && w[0].addr == msg::DATA
                        && w[0].flags & (sqe_flags::IO_LINK | sqe_flags::IO_HARDLINK) == 0
                        && Self::same_shape(&w[0], &w[1])
                }) {
                    self.lane_enters += 1;
                }
            }
            _ => {}
        }
    }
}

impl Twin {
    /// A ring set up by task 0 on both worlds; its fd.
    fn ring(&mut self, entries: u32, cq_entries: u32, flags: u32) -> i32 {
        let setup = Step::Setup {
            task: T0,
            entries,
            cq_entries,
            flags,
        };
        match self.apply_step(&setup, Faults::default()) {
            StepResult::Ret(fd) if fd >= 0 => fd,
            other => panic!("setup: {other:?}"),
        }
    }

    /// Pushes `sqes` onto `ring` and submits them all in one enter by task 0 with
    /// `flags`; the enter's result.
    fn submit(&mut self, ring: i32, sqes: &[Sqe], flags: u32) -> StepResult {
        for &sqe in sqes {
            self.apply_step(&Step::Push { ring, sqe }, Faults::default());
        }
        let enter = Step::Enter {
            task: T0,
            ring,
            to_submit: sqes.len() as u32,
            min_complete: 0,
            flags,
        };
        self.apply_step(&enter, Faults::default())
    }
}

impl Backend for Twin {
    fn name(&self) -> String {
        "fast and slow lanes".into()
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        self.note(step);
        let a = self.fast.apply_with(step, faults);
        let b = self.slow.apply_with(step, faults);
        assert_eq!(a, b, "step {} ({step:?}): lanes on vs off", self.steps);
        self.slow.set_fast_lanes(true);
        if self.fast != self.slow {
            let (on, off) = (format!("{:#?}", self.fast), format!("{:#?}", self.slow));
            let diff: Vec<String> = on
                .lines()
                .zip(off.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .take(20)
                .map(|(i, (a, b))| format!("line {i}: on `{a}` / off `{b}`"))
                .collect();
            panic!(
                "step {} ({step:?}): the worlds differ\n{}\nlanes on: {on}",
                self.steps,
                diff.join("\n")
            );
        }
        self.slow.set_fast_lanes(false);
        self.steps += 1;
        a
    }
}

#[test]
fn generated_traces_agree_with_and_without_lanes() {
    let n: u64 = std::env::var("MSGRING_LANE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut lane_enters = 0;
    let mut steps = 0;
    for seed in 0..n {
        let mut t = gen(seed, 40);
        let profile = Profile::ALL[seed as usize % Profile::ALL.len()];
        t.profile = Some(profile);
        let mut twin = Twin::new(profile);
        trace::run(&t, &mut twin);
        lane_enters += twin.lane_enters;
        steps += twin.steps;
    }
    eprintln!("{n} traces, {steps} steps, {lane_enters} enters with a lane run");
    assert!(
        lane_enters >= (n / 20) as usize,
        "the generated traces hardly exercise the lanes: {lane_enters} enters in {n} traces"
    );
}

// ---- a scenario aimed at the lanes ----------------------------------------------------

const T0: TaskId = TaskId(0);

/// The SQE shapes a batch draws from, for a source ring and a target index.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Data,
    SkipSuccess,
    FlagsPass,
    /// Target through the source's fixed-file table (slot 0..=2; 2 is empty).
    Fixed(u8),
    /// `addr3 != 0`: -EINVAL from R10.1.
    BadAddr3,
    /// The target is an eventfd: -EBADFD.
    NotARing,
    /// A closed fd: -EBADF.
    Closed,
    Nop,
    /// IO_LINK on this one: it heads (or continues) a chain.
    Linked,
    /// SEND_FD of the source's fixed slot 0 (a ring: -EBADF) to the target.
    SendFd,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        8 => Just(Shape::Data),
        2 => Just(Shape::SkipSuccess),
        2 => Just(Shape::FlagsPass),
        2 => (0..3u8).prop_map(Shape::Fixed),
        1 => Just(Shape::BadAddr3),
        1 => Just(Shape::NotARing),
        1 => Just(Shape::Closed),
        1 => Just(Shape::Nop),
        1 => Just(Shape::Linked),
        1 => Just(Shape::SendFd),
    ]
}

#[derive(Clone, Debug)]
enum LaneOp {
    /// Push runs of (shape, target, repeat) on `src`, then enter with `to_submit`
    /// (clamped), maybe with GETEVENTS, with `fails` overflow allocations failing.
    Batch {
        src: usize,
        runs: Vec<(Shape, usize, u8)>,
        to_submit: u8,
        getevents: bool,
        fails: u8,
    },
    Reap {
        ring: usize,
        max: u8,
    },
}

fn lane_op() -> impl Strategy<Value = LaneOp> {
    prop_oneof![
        4 => (
            prop_oneof![3 => Just(2usize), 1 => 0..4usize],
            prop::collection::vec((shape(), 0..4usize, 1..10u8), 1..4),
            0..40u8,
            any::<bool>(),
            prop_oneof![6 => Just(0u8), 1 => 1..3u8],
        )
            .prop_map(|(src, runs, to_submit, getevents, fails)| LaneOp::Batch {
                src,
                runs,
                to_submit,
                getevents,
                fails,
            }),
        2 => (0..4usize, 0..12u8).prop_map(|(ring, max)| LaneOp::Reap { ring, max }),
    ]
}

struct LaneScenario {
    twin: Twin,
    rings: Vec<i32>,
    eventfd: i32,
    closed: i32,
    next: u64,
}

impl LaneScenario {
    fn new(profile: Profile, iopoll: bool) -> LaneScenario {
        let mut twin = Twin::new(profile);
        let step = |twin: &mut Twin, s: Step| twin.apply_step(&s, Faults::default());
        let mut rings = Vec::new();
        // Plain rings with CQs of 2, 4 and 8 (overflow comes fast), and a DEFER_TASKRUN
        // ring (remote path) or an IOPOLL one (trylock path).
        let last = if iopoll || profile < Profile::V6_1 {
            setup::IOPOLL
        } else {
            setup::SINGLE_ISSUER | setup::DEFER_TASKRUN
        };
        // (A CQSIZE ring's SQ is at most its CQ: ring 2 is the one big source.)
        for (cq, flags) in [(2, 0), (4, 0), (64, 0), (8, last)] {
            let r = step(
                &mut twin,
                Step::Setup {
                    task: T0,
                    entries: cq,
                    cq_entries: cq,
                    flags: flags | setup::CQSIZE,
                },
            );
            match r {
                StepResult::Ret(fd) if fd >= 0 => rings.push(fd),
                other => panic!("setup: {other:?}"),
            }
        }
        let StepResult::Ret(eventfd) = step(&mut twin, Step::Eventfd) else {
            panic!("eventfd")
        };
        let StepResult::Ret(closed) = step(&mut twin, Step::Eventfd) else {
            panic!("eventfd")
        };
        step(&mut twin, Step::Close { fd: closed });
        // Every ring's table: slot 0 = ring 1, slot 1 = ring 3, slot 2 empty.
        for &r in &rings {
            step(
                &mut twin,
                Step::RegisterFiles {
                    task: T0,
                    ring: r,
                    fds: vec![rings[1], rings[3], -1],
                },
            );
        }
        LaneScenario {
            twin,
            rings,
            eventfd,
            closed,
            next: 1,
        }
    }

    fn sqe(&mut self, shape: Shape, dst: usize) -> Sqe {
        self.next += 1;
        let ud = self.next;
        let mut s = data(self.rings[dst], (ud % 1000) as i32, ud << 8);
        s.user_data = ud;
        match shape {
            Shape::Data => {}
            Shape::SkipSuccess => s.flags |= sqe_flags::CQE_SKIP_SUCCESS,
            Shape::FlagsPass => {
                s.msg_ring_flags |= msg::FLAGS_PASS;
                s.file_index = 0x5a;
            }
            Shape::Fixed(slot) => {
                s.flags |= sqe_flags::FIXED_FILE;
                s.fd = i32::from(slot);
            }
            Shape::BadAddr3 => s.addr3 = 1,
            Shape::NotARing => s.fd = self.eventfd,
            Shape::Closed => s.fd = self.closed,
            Shape::Nop => {
                s = Sqe {
                    opcode: op::NOP,
                    user_data: ud,
                    ..Sqe::default()
                }
            }
            Shape::Linked => s.flags |= sqe_flags::IO_LINK,
            Shape::SendFd => {
                s.addr = msg::SEND_FD;
                s.addr3 = 0;
                s.file_index = 0;
                s.len = 0;
            }
        }
        s
    }

    fn run(&mut self, o: &LaneOp) {
        match o {
            LaneOp::Batch {
                src,
                runs,
                to_submit,
                getevents,
                fails,
            } => {
                let ring = self.rings[*src];
                let mut pushed = 0;
                for &(shape, dst, n) in runs {
                    for _ in 0..n {
                        let sqe = self.sqe(shape, dst);
                        if self
                            .twin
                            .apply_step(&Step::Push { ring, sqe }, Faults::default())
                            == StepResult::Ret(0)
                        {
                            pushed += 1;
                        }
                    }
                }
                let to_submit = if *to_submit == 0 {
                    pushed
                } else {
                    u32::from(*to_submit).min(pushed)
                };
                let faults = Faults {
                    overflow_alloc_fails: u32::from(*fails),
                    nomem: 0,
                };
                let flags = if *getevents { enter::GETEVENTS } else { 0 };
                self.twin.apply_step(
                    &Step::Enter {
                        task: T0,
                        ring,
                        to_submit,
                        min_complete: 0,
                        flags,
                    },
                    faults,
                );
            }
            LaneOp::Reap { ring, max } => {
                self.twin.apply_step(
                    &Step::Reap {
                        ring: self.rings[*ring],
                        max: u32::from(*max),
                    },
                    Faults::default(),
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(256), ..ProptestConfig::default() })]

    #[test]
    fn lane_batches_agree_with_and_without_lanes(
        profile in prop::sample::select(Profile::ALL.to_vec()),
        iopoll in any::<bool>(),
        ops in prop::collection::vec(lane_op(), 1..30),
    ) {
        let mut s = LaneScenario::new(profile, iopoll);
        for o in &ops {
            s.run(o);
        }
        prop_assert!(s.twin.steps > 0);
    }
}

#[test]
fn the_lane_scenario_takes_the_lane_and_overflows() {
    // One fixed case, checked by hand: 12 MSG_DATAs of one shape from ring 2 into a CQ
    // of 2 take the lane, two land in the CQ, ten overflow, and the world matches the
    // slow path.
    let mut s = LaneScenario::new(Profile::V6_18, false);
    s.run(&LaneOp::Batch {
        src: 2,
        runs: vec![(Shape::Data, 0, 12)],
        to_submit: 0,
        getevents: false,
        fails: 0,
    });
    assert!(s.twin.lane_enters == 1);
    let target = s.twin.fast.ring_of_fd(s.rings[0]).expect("ring");
    let view = s.twin.fast.observe(target);
    assert_eq!(view.cq_ready, 2);
    assert_eq!(view.overflow.len(), 10);
    assert_ne!(view.sq_flags & msgring::uapi::sq::CQ_OVERFLOW, 0);
}

#[test]
fn push_multiple_is_one_push_step_per_sqe_and_all_or_nothing() {
    for flags in [0, setup::SQPOLL] {
        let mut bulk = World::default();
        let setup = Step::Setup {
            task: T0,
            entries: 8,
            cq_entries: 0,
            flags,
        };
        let StepResult::Ret(ring) = bulk.apply(&setup) else {
            panic!("setup")
        };
        if flags & setup::SQPOLL != 0 {
            // Wake the SQ thread: from now on each pushed SQE is picked up at once.
            let wake = Step::Enter {
                task: T0,
                ring,
                to_submit: 0,
                min_complete: 0,
                flags: enter::SQ_WAKEUP,
            };
            assert_eq!(bulk.apply(&wake), StepResult::Ret(0));
        }
        let mut single = bulk.clone();
        let sqes: Vec<Sqe> = (0..5).map(|i| data(ring, i, u64::from(i as u32))).collect();
        assert_eq!(bulk.push_multiple(ring, &sqes), StepResult::Ret(0));
        for &sqe in &sqes {
            assert_eq!(single.apply(&Step::Push { ring, sqe }), StepResult::Ret(0));
        }
        assert!(
            bulk == single,
            "flags {flags:#x}: bulk push differs from steps"
        );
        let mut cqes = Vec::new();
        let reaped = bulk.reap_into(ring, 64, &mut cqes);
        let StepResult::Reaped(stepped) = single.apply(&Step::Reap { ring, max: 64 }) else {
            panic!("reap")
        };
        assert_eq!(reaped, Some(stepped.len() as u32));
        assert_eq!(cqes, stepped);
        // Nine more do not fit in an SQ of 8 (whatever is queued): nothing is written.
        let before = bulk.clone();
        let many: Vec<Sqe> = (0..9).map(|i| data(ring, i, 100)).collect();
        assert_eq!(
            bulk.push_multiple(ring, &many),
            StepResult::Ret(msgring::Errno::EBUSY.neg())
        );
        assert!(bulk == before, "a refused push_multiple wrote something");
        assert!(matches!(
            bulk.push_multiple(999, &many[..1]),
            StepResult::Refused(_)
        ));
        assert_eq!(bulk.reap_into(999, 1, &mut cqes), None);
    }
}

#[test]
fn the_lane_refuses_an_sqe_whose_differences_cancel_out() {
    // The lane compares six 8-byte words of the SQE (`lane_words`) by XOR and OR. An SQE
    // that differs from the lane's in two words by the same bits must still end the
    // lane: an XOR in place of an OR would let those differences cancel, and a shift
    // the wrong way would drop the IOSQE flags from the compare. Each B below differs
    // from the MSG_DATA A that opens the lane in two adjacent words by the same bits
    // (or only in its IOSQE flags), and fails or posts differently when it is issued.
    type Tweak = fn(&mut Sqe);
    let tweaks: [(&str, Tweak); 6] = [
        ("flags FIXED_FILE and addr 0x100 (words 0, 1)", |s| {
            s.flags ^= sqe_flags::FIXED_FILE;
            s.addr ^= 0x100;
        }),
        ("addr SEND_FD and FLAGS_PASS (words 1, 2)", |s| {
            s.addr ^= 1;
            s.msg_ring_flags ^= 1;
        }),
        ("an unknown msg_ring flag and buf_index (words 2, 3)", |s| {
            s.msg_ring_flags ^= 2;
            s.buf_index ^= 2;
        }),
        ("file_index and addr3 (words 3, 4)", |s| {
            s.file_index ^= 1;
            s.addr3 ^= 1 << 32;
        }),
        ("addr3 and pad2 (words 4, 5)", |s| {
            s.addr3 ^= 1;
            s.pad2 ^= 1;
        }),
        ("IOSQE_CQE_SKIP_SUCCESS only", |s| {
            s.flags ^= sqe_flags::CQE_SKIP_SUCCESS;
        }),
    ];
    for profile in [Profile::V5_18, Profile::V6_18, Profile::NEWEST] {
        for (what, tweak) in tweaks {
            let mut twin = Twin::new(profile);
            let (src, dst) = (twin.ring(8, 0, 0), twin.ring(8, 0, 0));
            let a = data(dst, 7, 0x70);
            let mut b = data(dst, 7, 0x71);
            tweak(&mut b);
            let sqes: Vec<Sqe> = [a, a, b]
                .into_iter()
                .zip(1..)
                .map(|(sqe, user_data)| Sqe { user_data, ..sqe })
                .collect();
            let entered = twin.submit(src, &sqes, enter::GETEVENTS);
            assert_eq!(entered, StepResult::Ret(3), "{profile}: {what}");
            // The twin has compared both worlds after every step; B's own CQE shows it
            // was not posted as a copy of A's.
            let reap = Step::Reap {
                ring: src,
                max: u32::MAX,
            };
            let StepResult::Reaped(cqes) = twin.apply_step(&reap, Faults::default()) else {
                panic!("{profile}: {what}: reap")
            };
            let third = cqes.iter().find(|c| c.user_data == 3);
            assert!(
                third.is_none_or(|c| c.res != 0),
                "{profile}: {what}: B completed like A: {cqes:?}"
            );
        }
    }
}

#[test]
fn a_lane_of_32_byte_messages_into_big_cqe_rings_matches_the_slow_path() {
    // A MSG_DATA whose FLAGS_PASS value has IORING_CQE_F_32 is a 32-byte CQE on a
    // CQE_MIXED ring (two slots, padding at the end) and a CQE32 ring's slot (C9): the
    // lane's 16-byte writer must leave such runs to the per-SQE path. Four of one shape
    // into CQs of 4 slots: padding, a wrap and an overflow come up.
    let f32 = msgring::uapi::cqe::F_32;
    for flags in [setup::CQE_MIXED, setup::CQE32] {
        for profile in [Profile::V6_18, Profile::NEWEST] {
            let mut twin = Twin::new(profile);
            let src = twin.ring(4, 4, setup::CQSIZE);
            let dst = twin.ring(2, 4, flags | setup::CQSIZE);
            for round in 0..2u64 {
                let sqes: Vec<Sqe> = (0..4u64)
                    .map(|i| {
                        let mut sqe = data(dst, i as i32, 0x100 + i);
                        sqe.msg_ring_flags |= msg::FLAGS_PASS;
                        sqe.file_index = f32;
                        sqe.user_data = round * 8 + i;
                        sqe
                    })
                    .collect();
                let e = twin.submit(src, &sqes, 0);
                assert_eq!(e, StepResult::Ret(4), "{profile} {flags:#x}");
                let reap = Step::Reap {
                    ring: dst,
                    max: u32::MAX,
                };
                twin.apply_step(&reap, Faults::default());
            }
            assert!(
                twin.lane_enters >= 2,
                "{profile}: the batches are lane runs"
            );
        }
    }
}
