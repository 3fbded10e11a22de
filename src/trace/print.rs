//! The canonical text form of traces, steps and events.

use super::{
    Dest, Event, FdRef, FileRef, ListItem, Op, RegArgSpec, RingFdSpec, SqeSpec, Trace, TraceStep,
    View,
};
use crate::errno::fmt_res;
use crate::uapi;
use crate::{Cqe, Sqe};
use std::fmt::{self, Write as _};

/// A table of flag names and bits.
pub type Flags = &'static [(&'static str, u32)];

/// `IOSQE_*` names.
pub const SQE_FLAGS: Flags = &[
    ("FIXED_FILE", uapi::sqe_flags::FIXED_FILE as u32),
    ("IO_DRAIN", uapi::sqe_flags::IO_DRAIN as u32),
    ("IO_LINK", uapi::sqe_flags::IO_LINK as u32),
    ("IO_HARDLINK", uapi::sqe_flags::IO_HARDLINK as u32),
    ("ASYNC", uapi::sqe_flags::ASYNC as u32),
    ("BUFFER_SELECT", uapi::sqe_flags::BUFFER_SELECT as u32),
    ("CQE_SKIP_SUCCESS", uapi::sqe_flags::CQE_SKIP_SUCCESS as u32),
];

/// `IORING_SETUP_*` names.
pub const SETUP_FLAGS: Flags = {
    use uapi::setup::*;
    &[
        ("IOPOLL", IOPOLL),
        ("SQPOLL", SQPOLL),
        ("SQ_AFF", SQ_AFF),
        ("CQSIZE", CQSIZE),
        ("CLAMP", CLAMP),
        ("ATTACH_WQ", ATTACH_WQ),
        ("R_DISABLED", R_DISABLED),
        ("SUBMIT_ALL", SUBMIT_ALL),
        ("COOP_TASKRUN", COOP_TASKRUN),
        ("TASKRUN_FLAG", TASKRUN_FLAG),
        ("SQE128", SQE128),
        ("CQE32", CQE32),
        ("SINGLE_ISSUER", SINGLE_ISSUER),
        ("DEFER_TASKRUN", DEFER_TASKRUN),
        ("NO_MMAP", NO_MMAP),
        ("REGISTERED_FD_ONLY", REGISTERED_FD_ONLY),
        ("NO_SQARRAY", NO_SQARRAY),
        ("HYBRID_IOPOLL", HYBRID_IOPOLL),
        ("CQE_MIXED", CQE_MIXED),
        ("SQE_MIXED", SQE_MIXED),
    ]
};

/// `IORING_ENTER_*` names.
pub const ENTER_FLAGS: Flags = {
    use uapi::enter::*;
    &[
        ("GETEVENTS", GETEVENTS),
        ("SQ_WAKEUP", SQ_WAKEUP),
        ("SQ_WAIT", SQ_WAIT),
        ("EXT_ARG", EXT_ARG),
        ("REGISTERED_RING", REGISTERED_RING),
    ]
};

/// `IORING_MSG_RING_*` names (`msg_ring_flags`).
pub const MSG_RING_FLAGS: Flags = &[
    ("CQE_SKIP", uapi::msg::CQE_SKIP),
    ("FLAGS_PASS", uapi::msg::FLAGS_PASS),
];

/// `IORING_SQ_*` names (`sq_flags`).
pub const SQ_FLAGS: Flags = &[
    ("NEED_WAKEUP", uapi::sq::NEED_WAKEUP),
    ("CQ_OVERFLOW", uapi::sq::CQ_OVERFLOW),
    ("TASKRUN", uapi::sq::TASKRUN),
];

/// `IORING_REGISTER_*` opcodes a `register` step names (others as numbers), and the
/// `REGISTER_USE_REGISTERED_RING` bit that may be or-ed in.
pub const REGISTER_OPCODES: Flags = &[
    ("REGISTER_PERSONALITY", uapi::register::PERSONALITY),
    (
        "UNREGISTER_PERSONALITY",
        uapi::register::UNREGISTER_PERSONALITY,
    ),
    ("REGISTER_RING_FDS", uapi::register::RING_FDS),
    ("UNREGISTER_RING_FDS", uapi::register::UNREGISTER_RING_FDS),
    ("REGISTER_SEND_MSG_RING", uapi::register::SEND_MSG_RING),
    (
        "REGISTER_USE_REGISTERED_RING",
        uapi::register::USE_REGISTERED_RING,
    ),
];

/// A register opcode: its name (or number), then `|REGISTER_USE_REGISTERED_RING`.
pub(crate) fn fmt_register_opcode(v: u32) -> String {
    let flag = uapi::register::USE_REGISTERED_RING;
    let mut s = fmt_flags_exact(v & !flag, &REGISTER_OPCODES[..REGISTER_OPCODES.len() - 1]);
    if v & flag != 0 {
        s.push_str("|REGISTER_USE_REGISTERED_RING");
    }
    s
}

/// Opcode names.
pub const OPCODES: Flags = &[
    ("NOP", uapi::op::NOP as u32),
    ("MSG_RING", uapi::op::MSG_RING as u32),
];

/// `A|B|0x80`, or `0`.
pub fn fmt_flags(v: u32, table: Flags) -> String {
    let mut parts = Vec::new();
    let mut rest = v;
    for (name, bit) in table {
        if rest & bit != 0 {
            parts.push((*name).to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

fn hex(v: u64) -> String {
    if v < 10 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

impl fmt::Display for FdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FdRef::Name(n) => f.write_str(n),
            FdRef::Vfd(v) => write!(f, "{v}"),
        }
    }
}

impl fmt::Display for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileRef::Name(n) => f.write_str(n),
            FileRef::Id(v) => write!(f, "@{v}"),
        }
    }
}

fn sqe_tail(out: &mut String, user_data: u64, flags: u8) {
    if user_data != 0 {
        let _ = write!(out, " user_data={}", hex(user_data));
    }
    if flags != 0 {
        let _ = write!(out, " flags={}", fmt_flags(flags.into(), SQE_FLAGS));
    }
}

fn raw_sqe(out: &mut String, fd: &FdRef, s: &Sqe) {
    let _ = write!(
        out,
        "sqe(opcode={}, fd={fd}",
        fmt_flags_exact(s.opcode.into(), OPCODES)
    );
    let mut field = |name: &str, v: String, nonzero: bool| {
        if nonzero {
            let _ = write!(out, ", {name}={v}");
        }
    };
    field("flags", fmt_flags(s.flags.into(), SQE_FLAGS), s.flags != 0);
    field("ioprio", hex(s.ioprio.into()), s.ioprio != 0);
    field("off", hex(s.off), s.off != 0);
    field("addr", hex(s.addr), s.addr != 0);
    field("len", hex(s.len.into()), s.len != 0);
    field(
        "msg_ring_flags",
        fmt_flags(s.msg_ring_flags, MSG_RING_FLAGS),
        s.msg_ring_flags != 0,
    );
    field("user_data", hex(s.user_data), s.user_data != 0);
    field("buf_index", hex(s.buf_index.into()), s.buf_index != 0);
    field("personality", hex(s.personality.into()), s.personality != 0);
    field("file_index", hex(s.file_index.into()), s.file_index != 0);
    field("addr3", hex(s.addr3), s.addr3 != 0);
    field("pad2", hex(s.pad2), s.pad2 != 0);
    out.push(')');
}

/// A value that is either exactly one name of `table` or a number.
fn fmt_flags_exact(v: u32, table: Flags) -> String {
    table
        .iter()
        .find(|(_, b)| *b == v)
        .map(|(n, _)| (*n).to_string())
        .unwrap_or_else(|| v.to_string())
}

impl fmt::Display for SqeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        match self {
            SqeSpec::Nop { user_data, flags } => {
                s.push_str("nop()");
                sqe_tail(&mut s, *user_data, *flags);
            }
            SqeSpec::MsgData {
                ring_fd,
                result,
                user_data,
                user_flags,
                sqe_user_data,
                flags,
            } => {
                let _ = write!(
                    s,
                    "msg_data(ring_fd={ring_fd}, result={}, user_data={}",
                    fmt_res(*result),
                    hex(*user_data)
                );
                if let Some(u) = user_flags {
                    let _ = write!(s, ", user_flags={}", hex((*u).into()));
                }
                s.push(')');
                sqe_tail(&mut s, *sqe_user_data, *flags);
            }
            SqeSpec::SendFd {
                ring_fd,
                fixed_slot_src,
                dest_slot_index,
                user_data,
                skip_cqe,
                sqe_user_data,
                flags,
            } => {
                let dest = match dest_slot_index {
                    Dest::Index(i) => i.to_string(),
                    Dest::Alloc => "alloc".into(),
                };
                let _ = write!(
                    s,
                    "send_fd(ring_fd={ring_fd}, fixed_slot_src={fixed_slot_src}, dest_slot_index={dest}, user_data={}",
                    hex(*user_data)
                );
                if *skip_cqe {
                    s.push_str(", skip_cqe=true");
                }
                s.push(')');
                sqe_tail(&mut s, *sqe_user_data, *flags);
            }
            SqeSpec::Raw { fd, sqe } => raw_sqe(&mut s, fd, sqe),
        }
        f.write_str(&s)
    }
}

fn by(out: &mut String, task: &str) {
    if task != "t0" {
        let _ = write!(out, " by {task}");
    }
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    let v: Vec<String> = items.iter().map(f).collect();
    format!("[{}]", v.join(", "))
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from(self.keyword());
        match self {
            Op::Setup {
                ring,
                by: t,
                entries,
                cq_entries,
                flags,
            } => {
                let _ = write!(s, " {ring} entries={entries}");
                if *cq_entries != 0 {
                    let _ = write!(s, " cq_entries={cq_entries}");
                }
                if *flags != 0 {
                    let _ = write!(s, " flags={}", fmt_flags(*flags, SETUP_FLAGS));
                }
                by(&mut s, t);
            }
            Op::Pipe { read, write } => {
                let _ = write!(s, " {read} {write}");
            }
            Op::Eventfd { file } | Op::File { file } => {
                let _ = write!(s, " {file}");
            }
            Op::Close { fd } => {
                let _ = write!(s, " {fd}");
            }
            Op::Spawn { task } | Op::Exit { task } => {
                let _ = write!(s, " {task}");
            }
            Op::RegisterFiles { by: t, ring, files } => {
                let _ = write!(s, " {ring} {}", list(files, |f| f.to_string()));
                by(&mut s, t);
            }
            Op::RegisterSparse { by: t, ring, nr } => {
                let _ = write!(s, " {ring} nr={nr}");
                by(&mut s, t);
            }
            Op::UpdateFiles {
                by: t,
                ring,
                off,
                files,
            } => {
                let l = list(files, |f| match f {
                    ListItem::Fd(fd) => fd.to_string(),
                    ListItem::Skip => "skip".into(),
                });
                let _ = write!(s, " {ring} off={off} {l}");
                by(&mut s, t);
            }
            Op::UnregisterFiles { by: t, ring } | Op::Enable { by: t, ring } => {
                let _ = write!(s, " {ring}");
                by(&mut s, t);
            }
            Op::AllocRange {
                by: t,
                ring,
                off,
                len,
            } => {
                let _ = write!(s, " {ring} off={off} len={len}");
                by(&mut s, t);
            }
            Op::Push { ring, sqe } => {
                let _ = write!(s, " {ring} {sqe}");
            }
            Op::Enter {
                by: t,
                ring,
                to_submit,
                min_complete,
                flags,
            } => {
                let _ = write!(s, " {ring}");
                if *to_submit != 0 {
                    let _ = write!(s, " to_submit={to_submit}");
                }
                if *min_complete != 0 {
                    let _ = write!(s, " min_complete={min_complete}");
                }
                if *flags != 0 {
                    let _ = write!(s, " flags={}", fmt_flags(*flags, ENTER_FLAGS));
                }
                by(&mut s, t);
            }
            Op::Reap { ring, max } => {
                let _ = write!(s, " {ring}");
                if *max != u32::MAX {
                    let _ = write!(s, " max={max}");
                }
            }
            Op::SyncMsg { by: t, sqe } => {
                let _ = write!(s, " {sqe}");
                by(&mut s, t);
            }
            Op::Query { ring, slot } => {
                let _ = write!(s, " {ring} slot={slot}");
            }
            Op::Observe { ring } => {
                let _ = write!(s, " {ring}");
            }
            Op::Register {
                by: t,
                fd,
                opcode,
                arg,
                nr_args,
            } => {
                let _ = write!(s, " {fd} opcode={}", fmt_register_opcode(*opcode));
                match arg {
                    RegArgSpec::Null => {}
                    RegArgSpec::Sqe(sqe) => {
                        let _ = write!(s, " arg={sqe}");
                    }
                    RegArgSpec::RingFds(v) => {
                        let _ = write!(s, " arg={}", list(v, ring_fd_entry));
                    }
                }
                if let Some(n) = nr_args {
                    let _ = write!(s, " nr_args={n}");
                }
                by(&mut s, t);
            }
        }
        f.write_str(&s)
    }
}

/// `r0`, `r1@3`, `@5`, `@alloc`.
fn ring_fd_entry(e: &RingFdSpec) -> String {
    let fd = e.fd.as_ref().map(|f| f.to_string()).unwrap_or_default();
    match (e.offset, e.fd.is_some()) {
        (Some(o), _) => format!("{fd}@{o}"),
        (None, true) => fd,
        (None, false) => "@alloc".into(),
    }
}

/// A CQE of a CQE32 ring with its extra words (printed when not zero).
pub(crate) fn fmt_cqe32(c: &Cqe, big: &[u64; 2]) -> String {
    let mut s = fmt_cqe(c);
    if *big != [0, 0] {
        let _ = write!(s, " extra1={} extra2={}", hex(big[0]), hex(big[1]));
    }
    s
}

pub(crate) fn fmt_cqe(c: &Cqe) -> String {
    format!(
        "ud={} res={} flags={}",
        hex(c.user_data),
        fmt_res(c.res),
        hex(c.flags.into())
    )
}

fn cqe_list(c: &[Cqe]) -> String {
    let v: Vec<String> = c.iter().map(fmt_cqe).collect();
    format!("[{}]", v.join("; "))
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table: Vec<String> = self.table.iter().map(|(s, r)| format!("{s}:{r}")).collect();
        write!(
            f,
            "sq_flags={} cq_overflow={} ready={} overflow={} table=[{}]",
            fmt_flags(self.sq_flags, SQ_FLAGS),
            self.cq_overflow,
            self.ready,
            cqe_list(&self.overflow),
            table.join(" ")
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Ret(r) => write!(f, "ret {}", fmt_res(*r)),
            Event::Bound(names) => write!(f, "bound {}", names.join(" ")),
            Event::Cqes(c) => write!(f, "cqes {}", cqe_list(c)),
            Event::Cqes32(c) => {
                let v: Vec<String> = c.iter().map(|(c, b)| fmt_cqe32(c, b)).collect();
                write!(f, "cqes [{}]", v.join("; "))
            }
            Event::Slot(None) => f.write_str("slot empty"),
            Event::Slot(Some(r)) => write!(f, "slot {r}"),
            Event::View(v) => write!(f, "view {v}"),
            Event::Refused => f.write_str("refused"),
            Event::Unmodelled => f.write_str("unmodelled"),
            Event::Unbound(n) => write!(f, "unbound {n}"),
            Event::Unexpected => f.write_str("unexpected"),
        }
    }
}

impl TraceStep {
    /// The step's line without comments: `op [fault ...] [choose ...] [=> event]`.
    pub fn code(&self) -> String {
        let mut s = self.op.to_string();
        if !self.faults.is_empty() {
            s.push_str(" fault");
            if self.faults.overflow_alloc_fails != 0 {
                let _ = write!(s, " overflow_alloc={}", self.faults.overflow_alloc_fails);
            }
            if self.faults.nomem != 0 {
                let _ = write!(s, " nomem={}", self.faults.nomem);
            }
        }
        if !self.choose.is_empty() {
            s.push_str(" choose");
            for c in &self.choose {
                let _ = write!(s, " {c}");
            }
        }
        if let Some(e) = &self.expect {
            let _ = write!(s, " => {e}");
        }
        s
    }
}

fn comment_lines(f: &mut fmt::Formatter<'_>, lines: &[String]) -> fmt::Result {
    for l in lines {
        writeln!(f, "{l}")?;
    }
    Ok(())
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        comment_lines(f, &self.preamble)?;
        writeln!(f, "msgring-trace {}", super::VERSION)?;
        if let Some(p) = self.profile {
            writeln!(f, "kernel {p}")?;
        }
        for s in &self.steps {
            comment_lines(f, &s.comments)?;
            match &s.note {
                Some(n) => writeln!(f, "{}  #{n}", s.code())?,
                None => writeln!(f, "{}", s.code())?,
            }
        }
        comment_lines(f, &self.trailer)
    }
}
