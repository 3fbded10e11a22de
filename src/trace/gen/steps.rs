//! The steps the generator makes, with names as numbers ([`Name`]), and how each is
//! spelled out as a trace [`Op`].

use crate::trace::{FdRef, ListItem, Op, SqeSpec};
use crate::{Faults, Vfd};
use std::fmt;

// ---- generated traces, names as numbers ----------------------------------------------

/// A name the generator made (`r3`, `f0`, `t1`): its kind and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name {
    pub(super) kind: u8,
    pub(super) n: u32,
}

pub(super) const RING: u8 = 0;
pub(super) const FILE: u8 = 1;
pub(super) const TASK: u8 = 2;
/// The task every trace starts with.
pub(super) const T0: Name = Name { kind: TASK, n: 0 };

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = ["r", "f", "t"][usize::from(self.kind)];
        write!(f, "{prefix}{}", self.n)
    }
}

/// A file descriptor operand of a generated step ([`FdRef`] with a [`Name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GFd {
    Name(Name),
    Vfd(Vfd),
}

impl GFd {
    fn to_ref(self) -> FdRef {
        match self {
            GFd::Name(n) => FdRef::Name(n.to_string()),
            GFd::Vfd(v) => FdRef::Vfd(v),
        }
    }
}

/// A `register_files`/`update_files` list of at most four items, stored inline.
#[derive(Clone, Copy, Debug)]
pub(super) struct GList {
    len: u8,
    items: [Option<GFd>; 4],
}

impl GList {
    pub(super) const EMPTY: GList = GList {
        len: 0,
        items: [None; 4],
    };
    /// Appends an item (`None` = `skip`).
    pub(super) fn push(&mut self, item: Option<GFd>) {
        self.items[usize::from(self.len)] = item;
        self.len += 1;
    }
    pub(super) fn items(&self) -> &[Option<GFd>] {
        &self.items[..usize::from(self.len)]
    }
}

/// The SQE of a generated push or sync_msg: `spec`'s fd operand (if it has one) is
/// replaced by the name `fd` when that is set.
#[derive(Clone, Debug)]
pub(super) struct GSqe {
    pub(super) spec: SqeSpec,
    pub(super) fd: Option<Name>,
}

impl GSqe {
    fn to_spec(&self) -> SqeSpec {
        let mut spec = self.spec.clone();
        if let (Some(n), Some(f)) = (self.fd, spec.fd_operand_mut()) {
            *f = FdRef::Name(n.to_string());
        }
        spec
    }
}

/// [`Op`] with [`Name`]s: the steps the generator makes.
#[derive(Clone, Debug)]
pub(super) enum GOp {
    Setup {
        ring: Name,
        by: Name,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    },
    Pipe {
        read: Name,
        write: Name,
    },
    Eventfd {
        file: Name,
    },
    File {
        file: Name,
    },
    Close {
        fd: Name,
    },
    Spawn {
        task: Name,
    },
    Exit {
        task: Name,
    },
    RegisterFiles {
        by: Name,
        ring: Name,
        files: GList,
    },
    RegisterSparse {
        by: Name,
        ring: Name,
        nr: u32,
    },
    UpdateFiles {
        by: Name,
        ring: Name,
        off: u32,
        files: GList,
    },
    AllocRange {
        by: Name,
        ring: Name,
        off: u32,
        len: u32,
    },
    Enable {
        by: Name,
        ring: Name,
    },
    Push {
        ring: Name,
        sqe: GSqe,
    },
    Enter {
        by: Name,
        ring: Name,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
    },
    Reap {
        ring: Name,
        max: u32,
    },
    SyncMsg {
        by: Name,
        sqe: GSqe,
    },
    Query {
        ring: Name,
        slot: u32,
    },
    Observe {
        ring: Name,
    },
}

impl GOp {
    pub(super) fn to_op(&self) -> Op {
        let s = |n: &Name| n.to_string();
        let r = |n: &Name| FdRef::Name(n.to_string());
        match self {
            GOp::Setup {
                ring,
                by,
                entries,
                cq_entries,
                flags,
            } => Op::Setup {
                ring: s(ring),
                by: s(by),
                entries: *entries,
                cq_entries: *cq_entries,
                flags: *flags,
            },
            GOp::Pipe { read, write } => Op::Pipe {
                read: s(read),
                write: s(write),
            },
            GOp::Eventfd { file } => Op::Eventfd { file: s(file) },
            GOp::File { file } => Op::File { file: s(file) },
            GOp::Close { fd } => Op::Close { fd: r(fd) },
            GOp::Spawn { task } => Op::Spawn { task: s(task) },
            GOp::Exit { task } => Op::Exit { task: s(task) },
            GOp::RegisterFiles { by, ring, files } => Op::RegisterFiles {
                by: s(by),
                ring: r(ring),
                files: files
                    .items()
                    .iter()
                    .map(|f| f.map_or(FdRef::Vfd(-1), GFd::to_ref))
                    .collect(),
            },
            GOp::RegisterSparse { by, ring, nr } => Op::RegisterSparse {
                by: s(by),
                ring: r(ring),
                nr: *nr,
            },
            GOp::UpdateFiles {
                by,
                ring,
                off,
                files,
            } => Op::UpdateFiles {
                by: s(by),
                ring: r(ring),
                off: *off,
                files: files
                    .items()
                    .iter()
                    .map(|f| f.map_or(ListItem::Skip, |f| ListItem::Fd(f.to_ref())))
                    .collect(),
            },
            GOp::AllocRange { by, ring, off, len } => Op::AllocRange {
                by: s(by),
                ring: r(ring),
                off: *off,
                len: *len,
            },
            GOp::Enable { by, ring } => Op::Enable {
                by: s(by),
                ring: r(ring),
            },
            GOp::Push { ring, sqe } => Op::Push {
                ring: r(ring),
                sqe: sqe.to_spec(),
            },
            GOp::Enter {
                by,
                ring,
                to_submit,
                min_complete,
                flags,
            } => Op::Enter {
                by: s(by),
                ring: r(ring),
                to_submit: *to_submit,
                min_complete: *min_complete,
                flags: *flags,
            },
            GOp::Reap { ring, max } => Op::Reap {
                ring: r(ring),
                max: *max,
            },
            GOp::SyncMsg { by, sqe } => Op::SyncMsg {
                by: s(by),
                sqe: sqe.to_spec(),
            },
            GOp::Query { ring, slot } => Op::Query {
                ring: r(ring),
                slot: *slot,
            },
            GOp::Observe { ring } => Op::Observe { ring: r(ring) },
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct GStep {
    pub(super) op: GOp,
    pub(super) faults: Faults,
}
