//! Property tests: random scenarios of MSG_DATA/SEND_FD traffic between plain, IOPOLL
//! and DEFER_TASKRUN rings with tiny CQs, checking every invariant checker after every
//! step and message conservation at the end (no CQE lost or duplicated).

use msgring::check::{check_all, check_transition, messages};
use msgring::choice::RandomChooser;
use msgring::uapi::{enter, setup, sqe_flags};
use msgring::{DestSlot, Faults, MsgRingData, MsgRingSendFd, Step, StepResult, TaskId, World};
use msgring_model_tests::proptest_cases;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Data {
        src: usize,
        dst: usize,
        n: u8,
        fault: bool,
        /// IOSQE_ASYNC: issued from io-wq (R42), where the choice points are.
        async_: bool,
    },
    SendFd {
        src: usize,
        dst: usize,
        alloc: bool,
        slot: u8,
    },
    Reap {
        ring: usize,
    },
    GetEvents {
        ring: usize,
        min: u8,
    },
    Update {
        ring: usize,
        slot: u8,
        clear: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, 0..4usize, 1..6u8, prop::bool::weighted(0.1), prop::bool::weighted(0.2)).prop_map(|(src, dst, n, fault, async_)| Op::Data { src, dst, n, fault, async_ }),
        2 => (0..4usize, 0..4usize, any::<bool>(), 0..5u8).prop_map(|(src, dst, alloc, slot)| Op::SendFd { src, dst, alloc, slot }),
        2 => (0..4usize).prop_map(|ring| Op::Reap { ring }),
        2 => (0..4usize, 0..3u8).prop_map(|(ring, min)| Op::GetEvents { ring, min }),
        1 => (0..4usize, 0..4u8, any::<bool>()).prop_map(|(ring, slot, clear)| Op::Update { ring, slot, clear }),
    ]
}

struct Scenario {
    world: World,
    rings: Vec<(i32, TaskId)>,
    file: i32,
    next_id: u64,
    /// (target ring index, target user_data, source user_data, source ring index)
    sent: Vec<(usize, u64, u64, usize)>,
    reaped: Vec<Vec<msgring::Cqe>>,
    /// When set, every step takes a seeded random path through the model's choice
    /// points (see `msgring::choice`) instead of the default one.
    chooser: Option<RandomChooser>,
    /// Steps where the chooser left the default somewhere.
    non_default: usize,
}

impl Scenario {
    fn new(kinds: &[u32]) -> Scenario {
        let mut world = World::default();
        let file = world.apply(&Step::RegularFile).ret().unwrap();
        let mut rings = vec![];
        for (i, &flags) in kinds.iter().enumerate() {
            let task = match world.apply(&Step::SpawnTask) {
                StepResult::Task(t) => t,
                other => panic!("{other:?}"),
            };
            let cq = 1 << (i % 3);
            let fd = world
                .apply(&Step::Setup {
                    task,
                    entries: 1,
                    cq_entries: cq,
                    flags: flags | setup::CQSIZE,
                })
                .ret()
                .unwrap();
            assert!(fd >= 0);
            let fds = if i % 2 == 0 {
                vec![file, -1, -1, -1]
            } else {
                vec![-1; 4]
            };
            assert_eq!(
                world
                    .apply(&Step::RegisterFiles {
                        task,
                        ring: fd,
                        fds
                    })
                    .ret(),
                Some(0)
            );
            rings.push((fd, task));
        }
        let n = rings.len();
        Scenario {
            world,
            rings,
            file,
            next_id: 1,
            sent: vec![],
            reaped: vec![vec![]; n],
            chooser: None,
            non_default: 0,
        }
    }

    fn apply(&mut self, step: Step, faults: Faults) -> StepResult {
        let before = self.world.clone();
        let r = match &mut self.chooser {
            Some(c) => {
                let (r, path) = self.world.apply_choosing(&step, faults, c);
                self.non_default += usize::from(path.iter().any(|t| t.option != 0));
                r
            }
            None => self.world.apply_with(&step, faults),
        };
        check_all(&self.world).unwrap_or_else(|v| panic!("after {step:?}: {v}"));
        check_transition(&before, &self.world).unwrap_or_else(|v| panic!("after {step:?}: {v}"));
        r
    }

    fn reap(&mut self, i: usize) {
        if let StepResult::Reaped(c) = self.apply(
            Step::Reap {
                ring: self.rings[i].0,
                max: u32::MAX,
            },
            Faults::default(),
        ) {
            self.reaped[i].extend(c);
        }
    }

    fn submit(&mut self, i: usize, sqes: Vec<msgring::Sqe>, faults: Faults) {
        let (fd, task) = self.rings[i];
        // Make room: the SQ has one entry.
        for sqe in sqes {
            self.apply(Step::Push { ring: fd, sqe }, Faults::default());
            self.apply(
                Step::Enter {
                    task,
                    ring: fd,
                    to_submit: 1,
                    min_complete: 0,
                    flags: 0,
                },
                faults,
            );
        }
    }

    fn run(&mut self, op: &Op) {
        let n = self.rings.len();
        match *op {
            Op::Data {
                src,
                dst,
                n: count,
                fault,
                async_,
            } => {
                let (src, dst) = (src % n, dst % n);
                let mut sqes = vec![];
                for _ in 0..count {
                    let id = self.next_id;
                    self.next_id += 1;
                    let tgt_ud = id | 1 << 40;
                    self.sent.push((dst, tgt_ud, id, src));
                    sqes.push(
                        MsgRingData {
                            ring_fd: self.rings[dst].0,
                            result: id as i32,
                            user_data: tgt_ud,
                            user_flags: None,
                        }
                        .build()
                        .user_data(id)
                        .flags(if async_ { sqe_flags::ASYNC } else { 0 }),
                    );
                }
                let faults = Faults {
                    overflow_alloc_fails: u32::from(fault),
                    nomem: u32::from(fault),
                };
                self.submit(src, sqes, faults);
            }
            Op::SendFd {
                src,
                dst,
                alloc,
                slot,
            } => {
                let (src, dst) = (src % n, dst % n);
                let dest_slot_index = if alloc {
                    DestSlot::Alloc
                } else {
                    DestSlot::Index(u32::from(slot))
                };
                let sqe = MsgRingSendFd {
                    ring_fd: self.rings[dst].0,
                    fixed_slot_src: 0,
                    dest_slot_index,
                    user_data: 1 << 41,
                    skip_cqe: false,
                }
                .build()
                .user_data(1 << 42);
                self.submit(src, vec![sqe], Faults::default());
            }
            Op::Reap { ring } => self.reap(ring % n),
            Op::GetEvents { ring, min } => {
                let (fd, task) = self.rings[ring % n];
                self.apply(
                    Step::Enter {
                        task,
                        ring: fd,
                        to_submit: 0,
                        min_complete: u32::from(min),
                        flags: enter::GETEVENTS,
                    },
                    Faults::default(),
                );
            }
            Op::Update { ring, slot, clear } => {
                let (fd, task) = self.rings[ring % n];
                let fds = vec![if clear { -1 } else { self.file }];
                self.apply(
                    Step::UpdateFiles {
                        task,
                        ring: fd,
                        offset: u32::from(slot),
                        fds,
                    },
                    Faults::default(),
                );
            }
        }
    }

    /// Reaps and runs local work until nothing moves, then checks every message.
    fn drain_and_check(&mut self) {
        for _ in 0..100_000 {
            let before: usize = self.reaped.iter().map(Vec::len).sum();
            for i in 0..self.rings.len() {
                let (fd, task) = self.rings[i];
                self.apply(
                    Step::Enter {
                        task,
                        ring: fd,
                        to_submit: 0,
                        min_complete: 0,
                        flags: enter::GETEVENTS,
                    },
                    Faults::default(),
                );
                self.reap(i);
            }
            let idle = self.world.rings().iter().all(|r| {
                r.overflow.is_empty() && r.local_work.is_empty() && r.retry_work.is_empty()
            });
            if idle && self.reaped.iter().map(Vec::len).sum::<usize>() == before {
                break;
            }
        }
        let all_reaped: Vec<msgring::Cqe> = self.reaped.iter().flatten().copied().collect();
        for &(dst, tgt_ud, src_ud, src) in &self.sent {
            let src_cqes: Vec<_> = all_reaped
                .iter()
                .filter(|c| c.user_data == src_ud)
                .collect();
            let src_ring = self.world.ring_of_fd(self.rings[src].0).unwrap();
            if src_cqes.is_empty() && self.world.ring(src_ring).cq_overflow > 0 {
                continue; // the source CQE itself was dropped (an injected overflow fault)
            }
            assert_eq!(
                src_cqes.len(),
                1,
                "message {src_ud}: exactly one source CQE"
            );
            let ok = src_cqes[0].res == 0;
            let ring = self.world.ring_of_fd(self.rings[dst].0).unwrap();
            messages::check_message(&self.world, ring, tgt_ud, ok, &self.reaped[dst]).unwrap();
        }
        // Per-target FIFO: the target CQEs of one source arrive in send order.
        for (dst, reaped) in self.reaped.iter().enumerate() {
            let ids: Vec<u64> = reaped
                .iter()
                .filter(|c| c.user_data & (1 << 40) != 0)
                .map(|c| c.user_data & 0xffff_ffff)
                .collect();
            let sent: Vec<u64> = self
                .sent
                .iter()
                .filter(|s| s.0 == dst)
                .map(|s| s.2)
                .filter(|id| ids.contains(id))
                .collect();
            assert_eq!(ids, sent, "ring {dst}: target CQEs in send order");
        }
    }
}

const KINDS: [u32; 4] = [
    0,
    setup::IOPOLL,
    setup::SINGLE_ISSUER | setup::DEFER_TASKRUN,
    setup::SINGLE_ISSUER | setup::DEFER_TASKRUN | setup::TASKRUN_FLAG,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(256), ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step_and_no_message_is_lost_or_duplicated(
        kinds in prop::collection::vec(prop::sample::select(&KINDS[..]), 2..4),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut s = Scenario::new(&kinds);
        for op in &ops {
            s.run(op);
        }
        s.drain_and_check();
    }

    /// The same on random legal kernel paths: every invariant must hold whatever the
    /// kernel chooses at the model's choice points, not only on the default path.
    #[test]
    fn invariants_hold_on_every_legal_path(
        kinds in prop::collection::vec(prop::sample::select(&KINDS[..]), 2..4),
        ops in prop::collection::vec(op(), 1..40),
        choice_seed in any::<u64>(),
    ) {
        let mut s = Scenario::new(&kinds);
        s.chooser = Some(RandomChooser::new(choice_seed));
        for op in &ops {
            s.run(op);
        }
        s.drain_and_check();
    }
}

/// The random paths of `invariants_hold_on_every_legal_path` do leave the default:
/// io-wq work from several rings meets the choice points, and a seeded chooser takes
/// other options there.
#[test]
fn random_paths_leave_the_default() {
    let mut total = 0;
    for seed in 0..20u64 {
        let mut s = Scenario::new(&[0, setup::IOPOLL, 0]);
        s.chooser = Some(RandomChooser::new(seed));
        for k in 0..12usize {
            s.run(&Op::Data {
                src: k % 3,
                dst: (k + 1) % 3,
                n: 3,
                fault: false,
                async_: true,
            });
            s.run(&Op::Reap { ring: k % 3 });
        }
        s.drain_and_check();
        total += s.non_default;
    }
    assert!(total > 0, "no seeded path left the default");
}
