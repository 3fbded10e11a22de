//! The generator's state: the step kinds and their swarm weights, the rings, files
//! and tasks made so far, [`generate_steps`] with its prelude, and the small choices
//! every step kind uses (a ring, a task, the task that acts on a ring).

use super::choices::Choices;
use super::generated::Generated;
use super::steps::{GOp, GStep, Name, T0};
use crate::Faults;

// ---- the generator --------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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

pub(super) const KINDS: [Kind; 20] = [
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

pub(super) struct GRing {
    pub(super) name: Name,
    pub(super) flags: u32,
    pub(super) owner: Name,
    pub(super) disabled: bool,
    pub(super) nr: u32,
    pub(super) sq: u32,
    pub(super) pending: u32,
}

pub(super) struct G<'c, C: Choices + ?Sized> {
    pub(super) c: &'c mut C,
    weights: [u32; KINDS.len()],
    /// `cumulative[k]`: the sum of the weights of kinds `0..=k`.
    pub(super) cumulative: [u32; KINDS.len()],
    pub(super) rings: Vec<GRing>,
    pub(super) files: Vec<Name>,
    pub(super) tasks: Vec<Name>,
    next: [u32; 3],
    pub(super) steps: Vec<GStep>,
}

/// Generates a trace from any source of choices, names as numbers: `steps` steps
/// after a 5-step prelude (at most `limits::MAX_STEPS - 8`).
pub fn generate_steps<C: Choices + ?Sized>(c: &mut C, steps: usize) -> Generated {
    let steps = steps.min(crate::trace::limits::MAX_STEPS - 8);
    let mut g = G {
        c,
        weights: [0; KINDS.len()],
        cumulative: [0; KINDS.len()],
        rings: Vec::new(),
        files: Vec::new(),
        tasks: vec![T0],
        next: [0, 0, 1],
        steps: Vec::with_capacity(steps + 6),
    };
    // Swarm: each kind is off with probability 1/4, otherwise weighted 1..=8. The
    // MSG_RING kinds are never off and weigh more.
    for (i, k) in KINDS.into_iter().enumerate() {
        let w = if g.c.below(4) == 0 {
            0
        } else {
            1 + g.c.below(8)
        };
        g.weights[i] = match k {
            Kind::Data | Kind::SendFd => w.max(1) * 2,
            Kind::Submit | Kind::Reap | Kind::GetEvents => w.max(1),
            Kind::Raw | Kind::Exit | Kind::Close => w / 3,
            _ => w,
        };
    }
    // Prelude: two rings, a file registered on the first, a sparse table on the second.
    g.setup();
    g.setup();
    g.new_file();
    g.register();
    g.sparse_on(1);
    let mut total = 0;
    for (c, w) in g.cumulative.iter_mut().zip(g.weights) {
        total += w;
        *c = total;
    }
    while g.steps.len() < steps + 5 {
        g.one(total);
    }
    Generated { steps: g.steps }
}

impl<C: Choices + ?Sized> G<'_, C> {
    pub(super) fn chance(&mut self, n: u32) -> bool {
        self.c.below(n) == 0
    }
    pub(super) fn name(&mut self, kind: u8) -> Name {
        let n = self.next[usize::from(kind)];
        self.next[usize::from(kind)] += 1;
        Name { kind, n }
    }
    pub(super) fn push(&mut self, op: GOp) {
        self.steps.push(GStep {
            op,
            faults: Faults::default(),
        });
    }
    pub(super) fn ring_idx(&mut self) -> Option<usize> {
        if self.rings.is_empty() {
            return None;
        }
        Some(self.c.below(self.rings.len() as u32) as usize)
    }
    /// A task, any of them (`t0` if there were none).
    pub(super) fn any_task(&mut self) -> Name {
        if self.tasks.is_empty() {
            return T0;
        }
        self.tasks[self.c.below(self.tasks.len() as u32) as usize]
    }
    /// A file (there must be one).
    pub(super) fn any_file(&mut self) -> Name {
        self.files[self.c.below(self.files.len() as u32) as usize]
    }
    /// The task that may act on ring `i`: its owner, now and then another task.
    pub(super) fn actor(&mut self, i: usize) -> Name {
        if self.chance(12) {
            return self.any_task();
        }
        let o = self.rings[i].owner;
        if self.tasks.contains(&o) {
            o
        } else {
            T0
        }
    }
}
