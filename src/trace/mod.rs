//! Traces: scenarios as line-oriented text with named resources.
//!
//! A trace is a header (`msgring-trace 1`, optionally `kernel 6.18`) and a sequence of
//! steps, one per line, each mapping 1:1 to a [`Step`](crate::Step). Rings, files and
//! tasks are named (`r0`, `f0`, `t1`); a name is bound when the step that creates it
//! succeeds. A step may carry an expected outcome after `=>`; a trace with annotations
//! is a golden test. The grammar is in `docs/trace-format.md`.
//!
//! * [`parse`] / [`parse_file`] read a trace (never panic; errors carry line:col).
//! * [`Trace`]'s `Display` prints the canonical form: `parse(&t.to_string()) == Ok(t)`.
//! * [`run`] executes a trace on any [`Backend`](crate::Backend) and returns an
//!   [`Outcome`]: one [`Event`] per step, comparable between backends.
//! * [`check_annotations`] compares an outcome with the trace's `=>` annotations.
//! * [`gen`] makes a deterministic pseudo-random trace from a seed (and, with the
//!   `arbitrary` feature, `Trace: Arbitrary` drives the same generator).

mod gen;
mod lex;
mod parse;
mod print;
mod run;

pub use gen::{gen, generate, generate_steps, ByteChoices, Choices, Generated, Name, SplitMix};
pub use parse::{parse, parse_bytes, parse_file, ParseError};
pub use print::{
    fmt_flags, Flags, ENTER_FLAGS, MSG_RING_FLAGS, OPCODES, REGISTER_OPCODES, SETUP_FLAGS,
    SQE_FLAGS, SQ_FLAGS,
};
pub(crate) use run::Resolver;
pub use run::{check_annotations, run, run_streaming, run_with, Mismatch, Outcome};

use crate::{Cqe, Faults, Sqe};

/// The trace format version this crate reads and writes.
pub const VERSION: u32 = 1;

/// Limits the parser enforces (the real backend has the same caps). Together they bound
/// the memory a parse takes, whatever the input: the input itself, one line's tokens
/// and the parsed lists (docs/trace-format.md, "Limits").
pub mod limits {
    pub const MAX_ENTRIES: u32 = 4096;
    pub const MAX_CQ_ENTRIES: u32 = 8192;
    pub const MAX_RINGS: usize = 64;
    pub const MAX_FILES: usize = 64;
    pub const MAX_TASKS: usize = 64;
    pub const MAX_STEPS: usize = 10_000;
    /// Entries of an input list (`register_files`, `update_files`) and `nr=`.
    pub const MAX_LIST: usize = 1024;
    /// Entries of an outcome list (`cqes`, a view's `overflow` and `table`): 65 536,
    /// `IORING_MAX_CQ_ENTRIES`, the largest CQ the kernel makes, and more than any
    /// trace can produce (an SQE posts at most two CQEs, a trace has at most
    /// [`MAX_STEPS`] steps).
    pub const MAX_OUTCOME_LIST: usize = 65_536;
    /// Entries of all lists of one trace together.
    pub const MAX_LIST_ENTRIES: usize = 262_144;
    /// Bytes of a trace.
    pub const MAX_INPUT_BYTES: usize = 16 << 20;
    /// Bytes of one line (an outcome list of [`MAX_OUTCOME_LIST`] CQEs fits).
    pub const MAX_LINE_BYTES: usize = 2 << 20;
}

/// A parsed trace. Equality ignores source line numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Trace {
    /// Comment lines (`#...`, or `""` for a blank line) before the version header.
    pub preamble: Vec<String>,
    /// `kernel <release>`: the kernel release the trace was written for (5.18 or later,
    /// `X.Y` or `X.Y.Z`).
    pub profile: Option<crate::Profile>,
    pub steps: Vec<TraceStep>,
    /// Comment lines after the last step.
    pub trailer: Vec<String>,
}

/// One step with its options, annotation and comments.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TraceStep {
    pub op: Op,
    /// `fault overflow_alloc=N nomem=N`.
    pub faults: Faults,
    /// `choose POINT=N ...`: the decisions the model takes at the choice points this
    /// step meets, in order (see [`crate::choice`]); empty: the defaults.
    pub choose: Vec<crate::choice::Choice>,
    /// `=> ...`: the expected outcome.
    pub expect: Option<Event>,
    /// Comment lines (`#...`, or `""` for a blank line) just before the step.
    pub comments: Vec<String>,
    /// A `#` comment at the end of the step's line.
    pub note: Option<String>,
    /// 1-based source line (0 for generated steps); not part of equality.
    pub line: u32,
}

impl PartialEq for TraceStep {
    fn eq(&self, o: &TraceStep) -> bool {
        self.op == o.op
            && self.faults == o.faults
            && self.choose == o.choose
            && self.expect == o.expect
            && self.comments == o.comments
            && self.note == o.note
    }
}
impl Eq for TraceStep {}

impl TraceStep {
    pub fn new(op: Op) -> TraceStep {
        TraceStep {
            op,
            ..TraceStep::default()
        }
    }
}

/// A file descriptor operand: a trace name (`r0`, `f1`) or a virtual fd number
/// (creation order from 0, never reused; -1 and unopened numbers are bad fds).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FdRef {
    Name(String),
    Vfd(i32),
}

impl Default for FdRef {
    fn default() -> FdRef {
        FdRef::Vfd(-1)
    }
}

/// An entry of a `register_files` / `update_files` list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ListItem {
    Fd(FdRef),
    /// `skip` (`IORING_REGISTER_FILES_SKIP`, -2).
    Skip,
}

/// SEND_FD target slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Dest {
    Index(u32),
    /// `IORING_FILE_INDEX_ALLOC`.
    Alloc,
}

/// The SQE of a `push` or `sync_msg` step.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SqeSpec {
    /// `nop()`.
    Nop { user_data: u64, flags: u8 },
    /// `msg_data(ring_fd=, result=, user_data=, user_flags=)` ([`crate::MsgRingData`]).
    /// `sqe_user_data`/`flags` are the source SQE's `.user_data()` / `.flags()`.
    MsgData {
        ring_fd: FdRef,
        result: i32,
        user_data: u64,
        user_flags: Option<u32>,
        sqe_user_data: u64,
        flags: u8,
    },
    /// `send_fd(ring_fd=, fixed_slot_src=, dest_slot_index=, user_data=, skip_cqe=)`
    /// ([`crate::MsgRingSendFd`]).
    SendFd {
        ring_fd: FdRef,
        fixed_slot_src: u32,
        dest_slot_index: Dest,
        user_data: u64,
        skip_cqe: bool,
        sqe_user_data: u64,
        flags: u8,
    },
    /// `sqe(opcode=, fd=, ...)`: every `io_uring_sqe` field; `sqe.fd` is unused
    /// (always 0) and replaced by `fd` resolved at run time.
    Raw { fd: FdRef, sqe: Sqe },
}

impl Default for SqeSpec {
    fn default() -> SqeSpec {
        SqeSpec::Nop {
            user_data: 0,
            flags: 0,
        }
    }
}

/// A trace step: [`crate::Step`] with names instead of numbers. `by` is a task name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Op {
    Setup {
        ring: String,
        by: String,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    },
    Pipe {
        read: String,
        write: String,
    },
    Eventfd {
        file: String,
    },
    File {
        file: String,
    },
    Close {
        fd: FdRef,
    },
    Spawn {
        task: String,
    },
    Exit {
        task: String,
    },
    RegisterFiles {
        by: String,
        ring: FdRef,
        files: Vec<FdRef>,
    },
    RegisterSparse {
        by: String,
        ring: FdRef,
        nr: u32,
    },
    UpdateFiles {
        by: String,
        ring: FdRef,
        off: u32,
        files: Vec<ListItem>,
    },
    UnregisterFiles {
        by: String,
        ring: FdRef,
    },
    AllocRange {
        by: String,
        ring: FdRef,
        off: u32,
        len: u32,
    },
    Enable {
        by: String,
        ring: FdRef,
    },
    Push {
        ring: FdRef,
        sqe: SqeSpec,
    },
    Enter {
        by: String,
        ring: FdRef,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
    },
    Reap {
        ring: FdRef,
        max: u32,
    },
    SyncMsg {
        by: String,
        sqe: SqeSpec,
    },
    Query {
        ring: FdRef,
        slot: u32,
    },
    Observe {
        ring: FdRef,
    },
    /// `register FD opcode=OP [arg=...] [nr_args=N] [by T]`: `io_uring_register` with
    /// its operands as given ([`crate::Step::Register`]). `nr_args` is `None` when it is
    /// the argument's own count (0 for NULL, 1 for an SQE, the list's length).
    Register {
        by: String,
        fd: FdRef,
        opcode: u32,
        arg: RegArgSpec,
        nr_args: Option<u32>,
    },
}

/// The `arg=` of a `register` step.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RegArgSpec {
    /// `arg=null` (the default).
    Null,
    /// `arg=SQE`: an `io_uring_sqe`.
    Sqe(SqeSpec),
    /// `arg=[r0, r1@3, @5]`: `io_uring_rsrc_update` entries.
    RingFds(Vec<RingFdSpec>),
}

impl RegArgSpec {
    /// The `nr_args` that goes with this argument unless one is given.
    pub fn count(&self) -> u32 {
        match self {
            RegArgSpec::Null => 0,
            RegArgSpec::Sqe(_) => 1,
            RegArgSpec::RingFds(v) => v.len() as u32,
        }
    }
}

/// One entry of a ring-fd list: `FD[@N]` (`@alloc`, the default, is `-1U`: any free
/// index), or `@N` alone for `data = 0` (what unregistering wants).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RingFdSpec {
    pub fd: Option<FdRef>,
    /// `None`: `-1U` (alloc).
    pub offset: Option<u32>,
}

impl Default for Op {
    fn default() -> Op {
        Op::Spawn { task: "t1".into() }
    }
}

impl Op {
    /// The step keyword (`setup`, `push`, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            Op::Setup { .. } => "setup",
            Op::Pipe { .. } => "pipe",
            Op::Eventfd { .. } => "eventfd",
            Op::File { .. } => "file",
            Op::Close { .. } => "close",
            Op::Spawn { .. } => "spawn",
            Op::Exit { .. } => "exit",
            Op::RegisterFiles { .. } => "register_files",
            Op::RegisterSparse { .. } => "register_sparse",
            Op::UpdateFiles { .. } => "update_files",
            Op::UnregisterFiles { .. } => "unregister_files",
            Op::AllocRange { .. } => "alloc_range",
            Op::Enable { .. } => "enable",
            Op::Push { .. } => "push",
            Op::Enter { .. } => "enter",
            Op::Reap { .. } => "reap",
            Op::SyncMsg { .. } => "sync_msg",
            Op::Query { .. } => "query",
            Op::Observe { .. } => "observe",
            Op::Register { .. } => "register",
        }
    }

    /// The names this step binds when it succeeds.
    pub fn binds(&self) -> Vec<&str> {
        match self {
            Op::Setup { ring, .. } => vec![ring],
            Op::Pipe { read, write } => vec![read, write],
            Op::Eventfd { file } | Op::File { file } => vec![file],
            Op::Spawn { task } => vec![task],
            _ => vec![],
        }
    }
}

/// How a file shows in a slot or table: the trace name of its identity class (the
/// read end for a pipe, the first eventfd for eventfds), or `#N` when unnamed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FileRef {
    Name(String),
    Id(u32),
}

/// A ring's visible state ([`crate::RingView`]) with files by name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct View {
    pub sq_flags: u32,
    pub cq_overflow: u32,
    pub ready: u32,
    pub overflow: Vec<Cqe>,
    pub table: Vec<(u32, FileRef)>,
}

/// What one step did, normalized so two backends give equal values for equal
/// behaviour. Also the type of a `=>` annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Event {
    /// `ret N`: a system call's result (`-ENAME` for errors).
    Ret(i32),
    /// `bound r0` / `bound f0 f1` / `bound t1`: a creating step succeeded.
    Bound(Vec<String>),
    /// `cqes [ud=.. res=.. flags=..; ...]`: what a reap read, oldest first.
    Cqes(Vec<Cqe>),
    /// `cqes [ud=.. res=.. flags=.. extra1=.. extra2=..; ...]`: a reap of a CQE32 ring
    /// where some CQE has non-zero extra words (`big_cqe`); all-zero ones are
    /// [`Event::Cqes`].
    Cqes32(Vec<(Cqe, [u64; 2])>),
    /// `slot f0` / `slot empty`.
    Slot(Option<FileRef>),
    /// `view ...`: an observe checkpoint.
    View(View),
    /// `refused`: the backend cannot carry the step out (reason in the outcome notes).
    Refused,
    /// `unmodelled`: outside what the backend implements.
    Unmodelled,
    /// `unbound NAME`: the step names a resource whose creating step failed; the step
    /// was not executed.
    Unbound(String),
    /// `unexpected`: the backend returned a result of the wrong shape for the step.
    Unexpected,
}

#[cfg(test)]
mod tests;
