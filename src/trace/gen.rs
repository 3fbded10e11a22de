//! Generating meaningful traces: mostly valid steps on resources that exist, a small
//! share of hostile raw SQEs, swarm style (each trace turns some step kinds off and
//! skews the rest).

use super::{Dest, FdRef, ListItem, Op, SqeSpec, Trace, TraceStep};
use crate::uapi::{enter, msg, op, setup, sqe_flags};
use crate::{Faults, Sqe};

/// A source of choices: [`SplitMix`] for seeded generation, or (feature `arbitrary`)
/// the fuzzer's bytes.
pub trait Choices {
    /// A number in `0..n` (`n > 0`; returns 0 when `n == 0`).
    fn below(&mut self, n: u32) -> u32;
}

/// SplitMix64: a small, self-contained, deterministic PRNG.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Choices for SplitMix {
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % u64::from(n)) as u32
    }
}

#[cfg(feature = "arbitrary")]
struct Fuzz<'a, 'b>(&'b mut arbitrary::Unstructured<'a>);

#[cfg(feature = "arbitrary")]
impl Choices for Fuzz<'_, '_> {
    fn below(&mut self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        self.0.int_in_range(0..=n - 1).unwrap_or(0)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Trace {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Trace> {
        let steps = u.int_in_range(0..=80)?;
        Ok(generate(&mut Fuzz(u), steps))
    }
}

/// A deterministic trace of `steps` steps (plus a short prelude) for `seed`.
pub fn gen(seed: u64, steps: usize) -> Trace {
    generate(&mut SplitMix(seed), steps)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Setup,
    NewFile,
    Spawn,
    Exit,
    Register,
    Sparse,
    Update,
    AllocRange,
    Enable,
    Data,
    SendFd,
    Nop,
    Raw,
    Submit,
    GetEvents,
    Reap,
    Sync,
    Query,
    Observe,
    Close,
}

const KINDS: [Kind; 20] = [
    Kind::Setup,
    Kind::NewFile,
    Kind::Spawn,
    Kind::Exit,
    Kind::Register,
    Kind::Sparse,
    Kind::Update,
    Kind::AllocRange,
    Kind::Enable,
    Kind::Data,
    Kind::SendFd,
    Kind::Nop,
    Kind::Raw,
    Kind::Submit,
    Kind::GetEvents,
    Kind::Reap,
    Kind::Sync,
    Kind::Query,
    Kind::Observe,
    Kind::Close,
];

struct GRing {
    name: String,
    flags: u32,
    owner: String,
    disabled: bool,
    nr: u32,
    sq: u32,
    pending: u32,
}

struct G<'c> {
    c: &'c mut dyn Choices,
    weights: Vec<u32>,
    rings: Vec<GRing>,
    files: Vec<String>,
    tasks: Vec<String>,
    next: [u32; 3],
    steps: Vec<TraceStep>,
}

/// Generates a trace from any source of choices.
pub fn generate(c: &mut dyn Choices, steps: usize) -> Trace {
    let steps = steps.min(super::limits::MAX_STEPS - 8);
    let mut g = G {
        c,
        weights: Vec::new(),
        rings: Vec::new(),
        files: Vec::new(),
        tasks: vec!["t0".into()],
        next: [0, 0, 1],
        steps: Vec::new(),
    };
    // Swarm: each kind is off with probability 1/4, otherwise weighted 1..=8. The
    // MSG_RING kinds are never off and weigh more.
    for k in KINDS {
        let w = if g.c.below(4) == 0 {
            0
        } else {
            1 + g.c.below(8)
        };
        let w = match k {
            Kind::Data | Kind::SendFd => w.max(1) * 2,
            Kind::Submit | Kind::Reap | Kind::GetEvents => w.max(1),
            Kind::Raw | Kind::Exit | Kind::Close => w / 3,
            _ => w,
        };
        g.weights.push(w);
    }
    // Prelude: two rings, a file registered on the first, a sparse table on the second.
    g.setup();
    g.setup();
    g.new_file();
    g.register();
    g.sparse_on(1);
    while g.steps.len() < steps + 5 {
        g.one();
    }
    Trace {
        profile: None,
        steps: g.steps,
        ..Trace::default()
    }
}

impl G<'_> {
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            return None;
        }
        v.get(self.c.below(v.len() as u32) as usize)
    }
    fn chance(&mut self, n: u32) -> bool {
        self.c.below(n) == 0
    }
    fn name(&mut self, kind: usize) -> String {
        let n = self.next[kind];
        self.next[kind] += 1;
        format!("{}{n}", ["r", "f", "t"][kind])
    }
    fn push(&mut self, op: Op) {
        self.steps.push(TraceStep::new(op));
    }
    fn ring_idx(&mut self) -> Option<usize> {
        if self.rings.is_empty() {
            return None;
        }
        Some(self.c.below(self.rings.len() as u32) as usize)
    }
    /// The task that may act on ring `i`: its owner, now and then another task.
    fn actor(&mut self, i: usize) -> String {
        if self.chance(12) {
            return self
                .pick(&self.tasks.clone())
                .cloned()
                .unwrap_or_else(|| "t0".into());
        }
        let o = &self.rings[i].owner;
        if self.tasks.contains(o) {
            o.clone()
        } else {
            "t0".into()
        }
    }

    fn one(&mut self) {
        let total: u32 = self.weights.iter().sum();
        let mut x = self.c.below(total.max(1));
        let mut kind = Kind::Data;
        for (k, w) in KINDS.iter().zip(&self.weights) {
            if x < *w {
                kind = *k;
                break;
            }
            x -= w;
        }
        match kind {
            Kind::Setup if self.rings.len() < 5 => self.setup(),
            Kind::NewFile if self.files.len() < 6 => self.new_file(),
            Kind::Spawn if self.tasks.len() < 4 => {
                let t = self.name(2);
                self.tasks.push(t.clone());
                self.push(Op::Spawn { task: t });
            }
            Kind::Exit if self.tasks.len() > 1 => {
                let t = self
                    .tasks
                    .remove(1 + self.c.below(self.tasks.len() as u32 - 1) as usize);
                self.push(Op::Exit { task: t });
            }
            Kind::Register => self.register(),
            Kind::Sparse => {
                if let Some(i) = self.ring_idx() {
                    self.sparse_on(i);
                }
            }
            Kind::Update => self.update(),
            Kind::AllocRange => {
                if let Some(i) = self.ring_idx() {
                    let nr = self.rings[i].nr.max(1);
                    let off = self.c.below(nr);
                    let extra = u32::from(self.chance(8));
                    let len = self.c.below(nr - off + 1 + extra);
                    let by = self.actor(i);
                    let ring = FdRef::Name(self.rings[i].name.clone());
                    self.push(Op::AllocRange { by, ring, off, len });
                }
            }
            Kind::Enable => {
                if let Some(i) = self.rings.iter().position(|r| r.disabled) {
                    let by = self
                        .pick(&self.tasks.clone())
                        .cloned()
                        .unwrap_or_else(|| "t0".into());
                    let r = &mut self.rings[i];
                    r.disabled = false;
                    r.owner = by.clone();
                    let ring = FdRef::Name(r.name.clone());
                    self.push(Op::Enable { by, ring });
                }
            }
            Kind::Data | Kind::SendFd | Kind::Nop | Kind::Raw => self.push_sqe(kind),
            Kind::Submit => self.submit(),
            Kind::GetEvents => self.getevents(),
            Kind::Reap => {
                if let Some(i) = self.ring_idx() {
                    let max = if self.chance(3) {
                        1 + self.c.below(4)
                    } else {
                        u32::MAX
                    };
                    let ring = FdRef::Name(self.rings[i].name.clone());
                    self.push(Op::Reap { ring, max });
                }
            }
            Kind::Sync => {
                if let Some(sqe) = self.sqe(Kind::Data) {
                    let sqe = match sqe {
                        SqeSpec::MsgData {
                            ring_fd,
                            result,
                            user_data,
                            user_flags,
                            ..
                        } => SqeSpec::MsgData {
                            ring_fd,
                            result,
                            user_data,
                            user_flags,
                            sqe_user_data: 0,
                            flags: 0,
                        },
                        other => other,
                    };
                    let by = self
                        .pick(&self.tasks.clone())
                        .cloned()
                        .unwrap_or_else(|| "t0".into());
                    self.push(Op::SyncMsg { by, sqe });
                }
            }
            Kind::Query => {
                if let Some(i) = self.ring_idx() {
                    let slot = self.c.below(self.rings[i].nr + 1);
                    let ring = FdRef::Name(self.rings[i].name.clone());
                    self.push(Op::Query { ring, slot });
                }
            }
            Kind::Observe => {
                if let Some(i) = self.ring_idx() {
                    let ring = FdRef::Name(self.rings[i].name.clone());
                    self.push(Op::Observe { ring });
                }
            }
            Kind::Close if !self.files.is_empty() => {
                let i = self.c.below(self.files.len() as u32) as usize;
                let f = self.files.remove(i);
                self.push(Op::Close { fd: FdRef::Name(f) });
            }
            _ => self.push_sqe(Kind::Data),
        }
    }

    fn setup(&mut self) {
        let name = self.name(0);
        let mut by = "t0".to_string();
        let mut flags = match self.c.below(10) {
            0..=2 => 0,
            3 | 4 => setup::DEFER_TASKRUN | setup::SINGLE_ISSUER | setup::TASKRUN_FLAG,
            5 => setup::DEFER_TASKRUN | setup::SINGLE_ISSUER,
            6 => setup::IOPOLL,
            7 => setup::COOP_TASKRUN | setup::TASKRUN_FLAG,
            8 => setup::SINGLE_ISSUER,
            _ => setup::R_DISABLED,
        };
        if flags & setup::SINGLE_ISSUER != 0 && self.tasks.len() > 1 && !self.chance(3) {
            let i = 1 + self.c.below(self.tasks.len() as u32 - 1) as usize;
            by = self.tasks.get(i).cloned().unwrap_or_else(|| "t0".into());
        }
        if flags == setup::R_DISABLED && self.chance(2) {
            flags |= setup::DEFER_TASKRUN | setup::SINGLE_ISSUER;
        }
        let entries = 1 + self.c.below(8);
        let mut cq_entries = 0;
        if self.chance(2) {
            flags |= setup::CQSIZE;
            // Tiny CQs force overflow; now and then an invalid size (C1).
            cq_entries = if self.chance(16) {
                self.c.below(entries)
            } else {
                entries + self.c.below(3)
            };
        }
        let sq = entries.next_power_of_two();
        let valid = flags & setup::CQSIZE == 0 || cq_entries >= entries.max(1);
        self.push(Op::Setup {
            ring: name.clone(),
            by: by.clone(),
            entries,
            cq_entries,
            flags,
        });
        if valid {
            self.rings.push(GRing {
                name,
                flags,
                owner: by,
                disabled: flags & setup::R_DISABLED != 0,
                nr: 0,
                sq,
                pending: 0,
            });
        }
    }

    fn new_file(&mut self) {
        match self.c.below(4) {
            0 => {
                let (r, w) = (self.name(1), self.name(1));
                self.files.push(r.clone());
                self.files.push(w.clone());
                self.push(Op::Pipe { read: r, write: w });
            }
            1 => {
                let f = self.name(1);
                self.files.push(f.clone());
                self.push(Op::Eventfd { file: f });
            }
            _ => {
                let f = self.name(1);
                self.files.push(f.clone());
                self.push(Op::File { file: f });
            }
        }
    }

    fn file_item(&mut self) -> FdRef {
        if self.files.is_empty() || self.chance(4) {
            FdRef::Vfd(-1)
        } else {
            FdRef::Name(self.pick(&self.files.clone()).cloned().unwrap_or_default())
        }
    }

    fn register(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let n = 1 + self.c.below(4);
        let files: Vec<FdRef> = (0..n).map(|_| self.file_item()).collect();
        let by = self.actor(i);
        let r = &mut self.rings[i];
        if r.nr == 0 {
            r.nr = n;
        }
        let ring = FdRef::Name(r.name.clone());
        self.push(Op::RegisterFiles { by, ring, files });
    }

    fn sparse_on(&mut self, i: usize) {
        let Some(r) = self.rings.get(i) else { return };
        let nr = 1 + self.c.below(6);
        let ring = FdRef::Name(r.name.clone());
        let by = self.actor(i);
        if self.rings[i].nr == 0 {
            self.rings[i].nr = nr;
        }
        self.push(Op::RegisterSparse { by, ring, nr });
    }

    fn update(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let off = self.c.below(self.rings[i].nr.max(1) + 1);
        let n = 1 + self.c.below(3);
        let files = (0..n)
            .map(|_| {
                if self.chance(5) {
                    ListItem::Skip
                } else {
                    ListItem::Fd(self.file_item())
                }
            })
            .collect();
        let by = self.actor(i);
        let ring = FdRef::Name(self.rings[i].name.clone());
        self.push(Op::UpdateFiles {
            by,
            ring,
            off,
            files,
        });
    }

    fn sqe_flags(&mut self) -> u8 {
        match self.c.below(16) {
            0 => sqe_flags::IO_LINK,
            1 => sqe_flags::IO_HARDLINK,
            2 => sqe_flags::CQE_SKIP_SUCCESS,
            3 => sqe_flags::ASYNC,
            4 => sqe_flags::IO_DRAIN,
            5 => sqe_flags::IO_LINK | sqe_flags::CQE_SKIP_SUCCESS,
            _ => 0,
        }
    }

    fn sqe(&mut self, kind: Kind) -> Option<SqeSpec> {
        let t = self.ring_idx()?;
        let target = FdRef::Name(self.rings[t].name.clone());
        let ud = u64::from(self.c.below(0x100));
        let sqe_ud = 0x1000 + u64::from(self.c.below(0x100));
        let flags = self.sqe_flags();
        Some(match kind {
            Kind::Nop => SqeSpec::Nop {
                user_data: sqe_ud,
                flags,
            },
            Kind::Data => SqeSpec::MsgData {
                ring_fd: target,
                result: self.c.below(100) as i32,
                user_data: ud,
                user_flags: self.chance(4).then(|| self.c.below(0x10) << 16),
                sqe_user_data: sqe_ud,
                flags,
            },
            Kind::SendFd => {
                let nr = self.rings[t].nr;
                SqeSpec::SendFd {
                    ring_fd: target,
                    fixed_slot_src: self.c.below(4),
                    dest_slot_index: if self.chance(2) {
                        Dest::Alloc
                    } else {
                        Dest::Index(self.c.below(nr + 1))
                    },
                    user_data: ud,
                    skip_cqe: self.chance(6),
                    sqe_user_data: sqe_ud,
                    flags,
                }
            }
            _ => {
                let mut s = Sqe {
                    opcode: op::MSG_RING,
                    addr: u64::from(self.c.below(2)),
                    off: ud,
                    user_data: sqe_ud,
                    ..Sqe::default()
                };
                match self.c.below(12) {
                    0 => s.ioprio = 1,
                    1 => s.buf_index = 1,
                    2 => s.personality = 1,
                    3 => s.addr = 2 + u64::from(self.c.below(3)),
                    4 => s.addr |= 1 << 32,
                    5 => s.msg_ring_flags = 1 << (2 + self.c.below(4)),
                    6 => s.msg_ring_flags = msg::CQE_SKIP,
                    7 => s.file_index = 1 + self.c.below(4),
                    8 => s.addr3 = 1 + u64::from(self.c.below(3)),
                    9 => s.len = 1 + self.c.below(5),
                    10 => s.flags = sqe_flags::BUFFER_SELECT | (self.c.below(2) as u8),
                    _ => s.pad2 = 1,
                }
                let fd = match self.c.below(4) {
                    0 => FdRef::Vfd(self.c.below(24) as i32 - 1),
                    1 if !self.files.is_empty() => {
                        FdRef::Name(self.pick(&self.files.clone()).cloned().unwrap_or_default())
                    }
                    _ => target,
                };
                SqeSpec::Raw { fd, sqe: s }
            }
        })
    }

    fn push_sqe(&mut self, kind: Kind) {
        let Some(src) = self.ring_idx() else {
            return self.setup();
        };
        let Some(sqe) = self.sqe(kind) else { return };
        let r = &mut self.rings[src];
        r.pending += 1;
        let ring = FdRef::Name(r.name.clone());
        let full = r.pending >= r.sq;
        self.push(Op::Push { ring, sqe });
        if full || self.chance(3) {
            self.submit_ring(src);
        }
    }

    fn submit(&mut self) {
        if let Some(i) = self.ring_idx() {
            self.submit_ring(i);
        }
    }

    fn submit_ring(&mut self, i: usize) {
        let by = self.actor(i);
        let r = &mut self.rings[i];
        let to_submit = r.pending.max(1);
        r.pending = 0;
        let wait = r.flags & setup::DEFER_TASKRUN != 0 || self.c.below(4) == 0;
        let ring = FdRef::Name(r.name.clone());
        self.push(Op::Enter {
            by,
            ring,
            to_submit,
            min_complete: 0,
            flags: if wait { enter::GETEVENTS } else { 0 },
        });
        self.fault_last();
    }

    fn getevents(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let by = self.actor(i);
        let min_complete = if self.chance(3) { self.c.below(3) } else { 0 };
        let ring = FdRef::Name(self.rings[i].name.clone());
        self.push(Op::Enter {
            by,
            ring,
            to_submit: 0,
            min_complete,
            flags: enter::GETEVENTS,
        });
        self.fault_last();
    }

    fn fault_last(&mut self) {
        if self.chance(16) {
            let f = if self.chance(2) {
                Faults {
                    overflow_alloc_fails: 1 + self.c.below(2),
                    nomem: 0,
                }
            } else {
                Faults {
                    overflow_alloc_fails: 0,
                    nomem: 1,
                }
            };
            if let Some(s) = self.steps.last_mut() {
                s.faults = f;
            }
        }
    }
}
