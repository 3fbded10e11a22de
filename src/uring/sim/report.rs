//! What a failed run shows: the violation, who sleeps where, every ring's CQ, overflow
//! list and local work, and the schedule (with the kernel's choices) that led there.

use super::kernel::State;
use crate::choice::{Choice, Taken};
use crate::errno::fmt_res;
use crate::sqe::{Sqe, Vfd};
use crate::state::{Cqe, FileId, Work};
use crate::step::{Step, StepResult};
use crate::trace::{fmt_flags, ENTER_FLAGS, MSG_RING_FLAGS, SETUP_FLAGS, SQE_FLAGS};
use crate::uapi;
use crate::Profile;
use std::fmt;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// Every thread is blocked and nothing in the kernel can wake them (a lost
    /// wake-up, or a deadlock through `join`).
    LostWakeup,
    /// std threads: a wait saw no progress in the kernel for the configured timeout
    /// (a thread the kernel does not know of may still have woken it).
    WaitTimeout,
    /// A property the protocol checks ([`super::ensure`]) does not hold.
    Property,
    /// The protocol's body returned an error or panicked without a violation.
    Failed,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ViolationKind::LostWakeup => "lost wake-up",
            ViolationKind::WaitTimeout => "wait timed out",
            ViolationKind::Property => "property violated",
            ViolationKind::Failed => "protocol failed",
        })
    }
}

/// A thread and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sleeper {
    pub thread: String,
    /// Its model task, if it made a system call.
    pub task: Option<u32>,
    /// "sleeps in submit_and_wait(want 1) on ring 'worker' (fd 3)", "finished", ...
    pub state: String,
}

/// A ring at the moment of the violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingReport {
    pub fd: Vfd,
    /// The name given at build time (`Builder::name`), or the creating thread's.
    pub name: String,
    pub flags: u32,
    /// The thread that owns it (SINGLE_ISSUER / DEFER_TASKRUN submitter task).
    pub owner: Option<String>,
    pub cq_entries: u32,
    /// CQEs posted and not yet reaped.
    pub cq: Vec<Cqe>,
    /// The overflow list (C3), oldest first.
    pub overflow: Vec<Cqe>,
    /// DEFER_TASKRUN local work, in the order it will run.
    pub local_work: Vec<String>,
    /// SQEs pushed and not submitted.
    pub sq: Vec<Sqe>,
    /// The fixed-file table: (slot, file).
    pub table: Vec<(u32, FileId)>,
}

/// One entry of the schedule.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    Step {
        thread: usize,
        step: Step,
        result: StepResult,
        taken: Vec<Taken>,
    },
    Note {
        thread: usize,
        text: String,
    },
}

/// Everything a person needs to see why a protocol failed.
#[derive(Clone, Debug)]
pub struct Report {
    pub kind: ViolationKind,
    pub message: String,
    /// The kernel's name (the check's name).
    pub kernel: String,
    pub profile: Profile,
    /// Which run: "std run 3 (seed 0x..)", "loom execution 17, choice script \[1\]",
    /// "shuttle iteration 40 (seed ..)".
    pub run: String,
    /// Every thread the kernel knows of, and where it is.
    pub sleepers: Vec<Sleeper>,
    pub rings: Vec<RingReport>,
    /// The system calls in the order they ran, with results and the kernel's choices.
    pub schedule: Vec<String>,
    /// The non-default kernel choices the run took (replayable with
    /// [`World::apply_path`](crate::World::apply_path)).
    pub choices: Vec<Choice>,
}

impl Report {
    /// One line: kind and message.
    pub fn headline(&self) -> String {
        format!("{}: {}", self.kind, self.message)
    }

    /// The threads asleep in a wait.
    pub fn sleeping_threads(&self) -> Vec<&str> {
        self.sleepers
            .iter()
            .filter(|s| s.state.starts_with("sleeps"))
            .map(|s| s.thread.as_str())
            .collect()
    }

    /// The ring named `name`.
    pub fn ring(&self, name: &str) -> Option<&RingReport> {
        self.rings.iter().find(|r| r.name == name)
    }
}

fn cqe(c: &Cqe) -> String {
    format!(
        "(ud {:#x}, res {}, flags {:#x})",
        c.user_data,
        fmt_res(c.res),
        c.flags
    )
}

fn cqes(c: &[Cqe]) -> String {
    if c.is_empty() {
        return "empty".into();
    }
    let v: Vec<String> = c.iter().map(cqe).collect();
    v.join(" ")
}

/// An SQE in a line (ring fds by number).
pub(crate) fn describe_sqe(s: &Sqe) -> String {
    describe_sqe_with(s, &|fd| format!("fd {fd}"))
}

/// An SQE in a line, naming target rings with `ring`.
pub(crate) fn describe_sqe_with(s: &Sqe, ring: &dyn Fn(Vfd) -> String) -> String {
    let mut out = match s.opcode {
        uapi::op::NOP => "NOP".to_string(),
        uapi::op::MSG_RING if s.addr as u32 == uapi::msg::DATA as u32 => format!(
            "MSG_RING DATA to {} (ud {:#x}, res {}{}{})",
            ring(s.fd),
            s.off,
            s.len as i32,
            if s.msg_ring_flags & uapi::msg::FLAGS_PASS != 0 {
                format!(", cqe flags {:#x}", s.file_index)
            } else {
                String::new()
            },
            if s.msg_ring_flags != 0 {
                format!(", {}", fmt_flags(s.msg_ring_flags, MSG_RING_FLAGS))
            } else {
                String::new()
            }
        ),
        uapi::op::MSG_RING if s.addr as u32 == uapi::msg::SEND_FD as u32 => format!(
            "MSG_RING SEND_FD slot {} to {} slot {} (ud {:#x})",
            s.addr3,
            ring(s.fd),
            if s.file_index == uapi::FILE_INDEX_ALLOC {
                "ALLOC".to_string()
            } else {
                s.file_index.wrapping_sub(1).to_string()
            },
            s.off
        ),
        op => format!("opcode {op}"),
    };
    out.push_str(&format!(" user_data {:#x}", s.user_data));
    if s.flags != 0 {
        out.push_str(&format!(" [{}]", fmt_flags(s.flags.into(), SQE_FLAGS)));
    }
    out
}

/// A local work item in a line.
pub(crate) fn describe_work(w: &Work) -> String {
    match w {
        Work::PostAux { cqe: c, .. } => format!("post CQE {}", cqe(c)),
        Work::InstallFd { req, .. } => format!("install fd: {}", describe_sqe(&req.sqe)),
        Work::Complete { req, res } => format!(
            "complete user_data {:#x} with {}",
            req.sqe.user_data,
            fmt_res(*res)
        ),
        Work::Issue { req } => format!("issue {}", describe_sqe(&req.sqe)),
        Work::FailLinks { reqs, .. } => format!("fail {} linked request(s)", reqs.len()),
        Work::IowqPost { req, res } => format!(
            "io-wq posts user_data {:#x} with {}",
            req.sqe.user_data,
            fmt_res(*res)
        ),
        Work::IowqPut { sqe, .. } => format!("io-wq puts user_data {:#x}", sqe.user_data),
        Work::FreeReq { .. } => "free a request".to_string(),
    }
}

fn describe_step(step: &Step, st: &State) -> String {
    let ring = |fd: &Vfd| st.ring_label(*fd);
    match step {
        Step::Setup {
            entries,
            cq_entries,
            flags,
            ..
        } => format!(
            "io_uring_setup({entries}, cq {cq_entries}, {})",
            fmt_flags(*flags, SETUP_FLAGS)
        ),
        Step::Pipe => "pipe()".into(),
        Step::Eventfd => "eventfd()".into(),
        Step::RegularFile => "open(regular file)".into(),
        Step::Close { fd } => format!("close({fd})"),
        Step::SpawnTask => "(new task)".into(),
        Step::ExitTask { .. } => "exit".into(),
        Step::RegisterFiles { ring: r, fds, .. } => {
            format!("register_files({}, {fds:?})", ring(r))
        }
        Step::RegisterFilesSparse { ring: r, nr, .. } => {
            format!("register_files_sparse({}, {nr})", ring(r))
        }
        Step::UpdateFiles {
            ring: r,
            offset,
            fds,
            ..
        } => format!("register_files_update({}, {offset}, {fds:?})", ring(r)),
        Step::UnregisterFiles { ring: r, .. } => format!("unregister_files({})", ring(r)),
        Step::FileAllocRange {
            ring: r, off, len, ..
        } => format!("register_file_alloc_range({}, {off}, {len})", ring(r)),
        Step::EnableRings { ring: r, .. } => format!("register_enable_rings({})", ring(r)),
        Step::Push { ring: r, sqe } => format!(
            "push on {}: {}",
            ring(r),
            describe_sqe_with(sqe, &|fd| st.ring_label(fd))
        ),
        Step::Enter {
            ring: r,
            to_submit,
            min_complete,
            flags,
            ..
        } => format!(
            "io_uring_enter({}, submit {to_submit}, wait {min_complete}, {})",
            ring(r),
            fmt_flags(*flags, ENTER_FLAGS)
        ),
        Step::Reap { ring: r, max } => format!("reap {} CQE(s) of {}", max, ring(r)),
        Step::SyncMsg { sqe, .. } => format!(
            "io_uring_register(-1, SEND_MSG_RING): {}",
            describe_sqe_with(sqe, &|fd| st.ring_label(fd))
        ),
        Step::Register {
            fd,
            opcode,
            arg,
            nr_args,
            ..
        } => format!("io_uring_register({fd}, {opcode}, {arg:?}, {nr_args})"),
        Step::QuerySlot { ring: r, slot } => format!("query slot {slot} of {}", ring(r)),
        Step::Observe { ring: r } => format!("observe {}", ring(r)),
    }
}

fn describe_result(r: &StepResult) -> String {
    match r {
        StepResult::Ret(v) => fmt_res(*v),
        StepResult::Fds(a, b) => format!("fds {a}, {b}"),
        StepResult::Task(t) => format!("task {}", t.0),
        StepResult::Reaped(c) => cqes(c),
        StepResult::Reaped32(c) => {
            let plain: Vec<Cqe> = c.iter().map(|(cqe, _)| *cqe).collect();
            let extra: Vec<String> = c.iter().map(|(_, x)| format!("{x:x?}")).collect();
            format!("{} (extra words {})", cqes(&plain), extra.join(", "))
        }
        StepResult::Slot(s) => format!("{s:?}"),
        StepResult::Ring(v) => format!("{v:?}"),
        StepResult::Refused(w) => format!("refused: {w}"),
        StepResult::Unmodelled(w) => format!("unmodelled: {w}"),
    }
}

impl Event {
    pub(crate) fn describe(&self, names: &[String], st: &State) -> String {
        match self {
            Event::Step {
                thread,
                step,
                result,
                taken,
            } => {
                let mut s = format!(
                    "{}: {} -> {}",
                    names[*thread],
                    describe_step(step, st),
                    describe_result(result)
                );
                if !taken.is_empty() {
                    let t: Vec<String> = taken
                        .iter()
                        .map(|t| format!("{}={} of {}", t.point, t.option, t.arity))
                        .collect();
                    s.push_str(&format!("  [choices: {}]", t.join(", ")));
                }
                s
            }
            Event::Note { thread, text } => format!("{}: ({text})", names[*thread]),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "msgring: {}", self.headline())?;
        writeln!(
            f,
            "  check '{}', kernel line {}, {}",
            self.kernel, self.profile, self.run
        )?;
        writeln!(f, "threads:")?;
        for s in &self.sleepers {
            let task = s.task.map_or_else(String::new, |t| format!(" (task {t})"));
            writeln!(f, "  '{}'{task}: {}", s.thread, s.state)?;
        }
        writeln!(f, "rings:")?;
        for r in &self.rings {
            writeln!(
                f,
                "  '{}' fd {} [{}]{}:",
                r.name,
                r.fd,
                if r.flags == 0 {
                    "no setup flags".to_string()
                } else {
                    fmt_flags(r.flags, SETUP_FLAGS)
                },
                r.owner
                    .as_ref()
                    .map_or_else(String::new, |o| format!(", owned by '{o}'"))
            )?;
            writeln!(
                f,
                "    CQ ({} of {}): {}",
                r.cq.len(),
                r.cq_entries,
                cqes(&r.cq)
            )?;
            writeln!(f, "    overflow list: {}", cqes(&r.overflow))?;
            if r.local_work.is_empty() {
                writeln!(f, "    local work: empty")?;
            } else {
                writeln!(f, "    local work: {}", r.local_work.join("; "))?;
            }
            if !r.sq.is_empty() {
                let v: Vec<String> = r.sq.iter().map(describe_sqe).collect();
                writeln!(f, "    SQ (not submitted): {}", v.join("; "))?;
            }
            if !r.table.is_empty() {
                let v: Vec<String> = r
                    .table
                    .iter()
                    .map(|(s, file)| format!("{s}: file {}", file.0))
                    .collect();
                writeln!(f, "    fixed files: {}", v.join(", "))?;
            }
        }
        if !self.choices.is_empty() {
            let v: Vec<String> = self.choices.iter().map(Choice::to_string).collect();
            writeln!(f, "kernel choices taken: {}", v.join(" "))?;
        }
        writeln!(f, "schedule ({} events):", self.schedule.len())?;
        for (i, e) in self.schedule.iter().enumerate() {
            writeln!(f, "  {:>3} {e}", i + 1)?;
        }
        Ok(())
    }
}
