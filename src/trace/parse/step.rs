//! One step: its keyword and options, its `fault` and `choose` clauses and its
//! outcome; `register` with its argument, and file lists.

use super::cursor::{parse_int, Cur};
use super::outcome::event;
use super::{limits, Parser, R};
use crate::trace::lex::Tok;
use crate::trace::print::{ENTER_FLAGS, REGISTER_OPCODES, SETUP_FLAGS};
use crate::trace::{FdRef, ListItem, Op, RegArgSpec, RingFdSpec, TraceStep};
use crate::uapi::register;
use crate::Faults;

impl Parser<'_> {
    pub(super) fn step(&mut self, cur: &mut Cur) -> R<TraceStep> {
        let (kw, col) = cur.word("a step keyword")?;
        let mut by = String::from("t0");
        let op = match kw.as_str() {
            "setup" => {
                let ring = self.declare(cur, 0)?;
                let (mut entries, mut cq_entries, mut flags) = (None, 0, 0);
                while !cur.opts_done() {
                    if self.by(cur, &mut by)? {
                        continue;
                    }
                    let (k, kc) = cur.key("a setup option (entries=, cq_entries=, flags=, by)")?;
                    match k.as_str() {
                        "entries" => entries = Some(cur.u32_max("entries", limits::MAX_ENTRIES)?),
                        "cq_entries" => cq_entries = cur.u32_max("cq_entries", limits::MAX_CQ_ENTRIES)?,
                        "flags" => flags = cur.flags("setup flags", SETUP_FLAGS)?,
                        _ => return cur.err(kc, format!("unknown setup option `{k}` (expected entries, cq_entries, flags, by)")),
                    }
                }
                let Some(entries) = entries else {
                    return cur.err(col, "setup needs `entries=N`");
                };
                Op::Setup {
                    ring,
                    by: by.clone(),
                    entries,
                    cq_entries,
                    flags,
                }
            }
            "pipe" => {
                let read = self.declare(cur, 1)?;
                let write = self.declare(cur, 1)?;
                Op::Pipe { read, write }
            }
            "eventfd" => Op::Eventfd {
                file: self.declare(cur, 1)?,
            },
            "file" => Op::File {
                file: self.declare(cur, 1)?,
            },
            "close" => Op::Close {
                fd: self.fd(cur, "an fd to close")?,
            },
            "spawn" => Op::Spawn {
                task: self.declare(cur, 2)?,
            },
            "exit" => Op::Exit {
                task: self.task(cur)?,
            },
            "register_files" => {
                let ring = self.fd(cur, "a ring")?;
                let files = self.list(cur, false)?;
                self.by(cur, &mut by)?;
                let files = files
                    .into_iter()
                    .map(|f| match f {
                        ListItem::Fd(f) => f,
                        ListItem::Skip => FdRef::Vfd(-2),
                    })
                    .collect();
                Op::RegisterFiles {
                    by: by.clone(),
                    ring,
                    files,
                }
            }
            "register_sparse" => {
                let ring = self.fd(cur, "a ring")?;
                let mut nr = None;
                while !cur.opts_done() {
                    if self.by(cur, &mut by)? {
                        continue;
                    }
                    let (k, kc) = cur.key("`nr=N`")?;
                    if k != "nr" {
                        return cur.err(kc, format!("unknown option `{k}` (expected nr, by)"));
                    }
                    nr = Some(cur.u32_max("nr", limits::MAX_LIST as u32)?);
                }
                let Some(nr) = nr else {
                    return cur.err(col, "register_sparse needs `nr=N`");
                };
                Op::RegisterSparse {
                    by: by.clone(),
                    ring,
                    nr,
                }
            }
            "update_files" => {
                let ring = self.fd(cur, "a ring")?;
                let (k, kc) = cur.key("`off=N`")?;
                if k != "off" {
                    return cur.err(kc, format!("expected `off=`, found `{k}`"));
                }
                let off = cur.u32("off")?;
                let files = self.list(cur, true)?;
                self.by(cur, &mut by)?;
                Op::UpdateFiles {
                    by: by.clone(),
                    ring,
                    off,
                    files,
                }
            }
            "unregister_files" | "enable" => {
                let ring = self.fd(cur, "a ring")?;
                self.by(cur, &mut by)?;
                if kw == "enable" {
                    Op::Enable {
                        by: by.clone(),
                        ring,
                    }
                } else {
                    Op::UnregisterFiles {
                        by: by.clone(),
                        ring,
                    }
                }
            }
            "alloc_range" => {
                let ring = self.fd(cur, "a ring")?;
                let (mut off, mut len) = (None, None);
                while !cur.opts_done() {
                    if self.by(cur, &mut by)? {
                        continue;
                    }
                    let (k, kc) = cur.key("`off=N` or `len=N`")?;
                    match k.as_str() {
                        "off" => off = Some(cur.u32("off")?),
                        "len" => len = Some(cur.u32("len")?),
                        _ => {
                            return cur
                                .err(kc, format!("unknown option `{k}` (expected off, len, by)"))
                        }
                    }
                }
                match (off, len) {
                    (Some(off), Some(len)) => Op::AllocRange {
                        by: by.clone(),
                        ring,
                        off,
                        len,
                    },
                    _ => return cur.err(col, "alloc_range needs `off=N len=N`"),
                }
            }
            "push" => {
                let ring = self.fd(cur, "a ring")?;
                let sqe = self.sqe(cur)?;
                Op::Push { ring, sqe }
            }
            "sync_msg" => {
                let sqe = self.sqe(cur)?;
                self.by(cur, &mut by)?;
                Op::SyncMsg {
                    by: by.clone(),
                    sqe,
                }
            }
            "enter" => {
                let ring = self.fd(cur, "a ring")?;
                let (mut to_submit, mut min_complete, mut flags) = (0, 0, 0);
                while !cur.opts_done() {
                    if self.by(cur, &mut by)? {
                        continue;
                    }
                    let (k, kc) =
                        cur.key("an enter option (to_submit=, min_complete=, flags=, by)")?;
                    match k.as_str() {
                        "to_submit" => to_submit = cur.u32("to_submit")?,
                        "min_complete" => min_complete = cur.u32("min_complete")?,
                        "flags" => flags = cur.flags("enter flags", ENTER_FLAGS)?,
                        _ => return cur.err(kc, format!("unknown enter option `{k}` (expected to_submit, min_complete, flags, by)")),
                    }
                }
                Op::Enter {
                    by: by.clone(),
                    ring,
                    to_submit,
                    min_complete,
                    flags,
                }
            }
            "reap" => {
                let ring = self.fd(cur, "a ring")?;
                let mut max = u32::MAX;
                if !cur.opts_done() {
                    let (k, kc) = cur.key("`max=N`")?;
                    if k != "max" {
                        return cur.err(kc, format!("unknown reap option `{k}` (expected max)"));
                    }
                    max = cur.u32("max")?;
                }
                Op::Reap { ring, max }
            }
            "query" => {
                let ring = self.fd(cur, "a ring")?;
                let (k, kc) = cur.key("`slot=N`")?;
                if k != "slot" {
                    return cur.err(kc, format!("expected `slot=`, found `{k}`"));
                }
                Op::Query {
                    ring,
                    slot: cur.u32("slot")?,
                }
            }
            "observe" => Op::Observe {
                ring: self.fd(cur, "a ring")?,
            },
            "register" => self.register(cur, &mut by, col)?,
            _ => {
                return cur.err(col, format!("unknown step `{kw}` (expected setup, pipe, eventfd, file, close, spawn, exit, register_files, register_sparse, update_files, unregister_files, alloc_range, enable, push, enter, reap, sync_msg, register, query, observe)"));
            }
        };
        let mut faults = Faults::default();
        let mut choose = Vec::new();
        while cur.at_clause() {
            if cur.peek_word("fault") {
                cur.i += 1;
                let mut any = false;
                while !cur.at_end() && cur.peek() != Some(&Tok::Arrow) && !cur.at_clause() {
                    let (k, kc) = cur.key("`overflow_alloc=N` or `nomem=N`")?;
                    match k.as_str() {
                        "overflow_alloc" => {
                            faults.overflow_alloc_fails = cur.u32("overflow_alloc")?
                        }
                        "nomem" => faults.nomem = cur.u32("nomem")?,
                        _ => {
                            return cur.err(
                                kc,
                                format!("unknown fault `{k}` (expected overflow_alloc, nomem)"),
                            )
                        }
                    }
                    any = true;
                }
                if !any {
                    return cur.expected("`overflow_alloc=N` or `nomem=N`");
                }
            } else {
                cur.i += 1;
                let mut any = false;
                while !cur.at_end() && cur.peek() != Some(&Tok::Arrow) && !cur.at_clause() {
                    if choose.len() >= limits::MAX_LIST {
                        return cur.err(
                            cur.col(),
                            format!("too many choices (the limit is {})", limits::MAX_LIST),
                        );
                    }
                    let (k, kc) = cur.key("a choice `POINT=N` (e.g. `iowq_order=1`)")?;
                    let point = match k.parse::<crate::choice::ChoicePoint>() {
                        Ok(p) => p,
                        Err(e) => return cur.err(kc, e),
                    };
                    let option = cur.u32("an option number")?;
                    choose.push(crate::choice::Choice { point, option });
                    any = true;
                }
                if !any {
                    return cur.expected("a choice `POINT=N` (e.g. `iowq_order=1`)");
                }
            }
        }
        let mut expect = None;
        if cur.peek() == Some(&Tok::Arrow) {
            cur.i += 1;
            expect = Some(event(self, cur)?);
        }
        cur.end()?;
        Ok(TraceStep {
            op,
            faults,
            choose,
            expect,
            ..TraceStep::default()
        })
    }

    /// `register FD opcode=OP [arg=null|SQE|[entries]] [nr_args=N] [by T]`.
    fn register(&mut self, cur: &mut Cur, by: &mut String, col: u32) -> R<Op> {
        let fd = self.fd(cur, "a ring fd (or -1)")?;
        let (mut opcode, mut arg, mut nr_args) = (None, RegArgSpec::Null, None);
        while !cur.opts_done() {
            if self.by(cur, by)? {
                continue;
            }
            let (k, kc) = cur.key("a register option (opcode=, arg=, nr_args=, by)")?;
            match k.as_str() {
                "opcode" => opcode = Some(register_opcode(cur)?),
                "arg" => arg = self.register_arg(cur)?,
                "nr_args" => nr_args = Some(cur.u32("nr_args")?),
                _ => {
                    return cur.err(
                        kc,
                        format!(
                            "unknown register option `{k}` (expected opcode, arg, nr_args, by)"
                        ),
                    )
                }
            }
        }
        let Some(opcode) = opcode else {
            return cur.err(col, "register needs `opcode=`");
        };
        // The canonical form leaves out an nr_args that is the argument's count.
        let nr_args = nr_args.filter(|&n| n != arg.count());
        Ok(Op::Register {
            by: by.clone(),
            fd,
            opcode,
            arg,
            nr_args,
        })
    }

    /// `null`, an SQE, or `[FD[@N], @N, ...]`.
    fn register_arg(&mut self, cur: &mut Cur) -> R<RegArgSpec> {
        if cur.peek_word("null") {
            cur.i += 1;
            return Ok(RegArgSpec::Null);
        }
        if !cur.is_punct('[') {
            return Ok(RegArgSpec::Sqe(self.sqe(cur)?));
        }
        cur.punct('[')?;
        let mut v = Vec::new();
        while !cur.eat(']') {
            if v.len() >= register::RINGFD_REG_MAX as usize {
                return cur.err(
                    cur.col(),
                    format!(
                        "list too long (the kernel takes at most {} ring fds)",
                        register::RINGFD_REG_MAX
                    ),
                );
            }
            self.count_entries(cur, 1)?;
            let (w, wc) = cur.word("a ring fd entry: FD, FD@N, @N or @alloc")?;
            let (fd, off) = match w.split_once('@') {
                Some((fd, off)) => (fd, Some(off)),
                None => (w.as_str(), None),
            };
            let fd = if fd.is_empty() {
                None
            } else {
                Some(self.fd_word(cur, fd, wc, "a ring fd")?)
            };
            let offset = match off {
                None | Some("alloc") => None,
                Some(o) => match parse_int(o).and_then(|o| u32::try_from(o).ok()) {
                    Some(o) => Some(o),
                    None => {
                        return cur.err(
                            wc,
                            format!("expected an index or `alloc` after `@`, found `{o}`"),
                        )
                    }
                },
            };
            if fd.is_none() && off.is_none() {
                return cur.err(wc, "expected a ring fd entry: FD, FD@N, @N or @alloc");
            }
            v.push(RingFdSpec { fd, offset });
            cur.eat(',');
        }
        Ok(RegArgSpec::RingFds(v))
    }

    /// `[f0, -1, skip]` (commas optional).
    fn list(&mut self, cur: &mut Cur, allow_skip: bool) -> R<Vec<ListItem>> {
        cur.punct('[')?;
        let mut v = Vec::new();
        while !cur.eat(']') {
            if v.len() >= limits::MAX_LIST {
                return cur.err(
                    cur.col(),
                    format!("list too long (the limit is {})", limits::MAX_LIST),
                );
            }
            self.count_entries(cur, 1)?;
            if allow_skip && cur.peek_word("skip") {
                cur.i += 1;
                v.push(ListItem::Skip);
            } else if cur.at_end() {
                return cur.expected("a file name, fd number or `]`");
            } else {
                v.push(ListItem::Fd(
                    self.fd(cur, "a file name or fd number (-1 = empty slot)")?,
                ));
            }
            cur.eat(',');
        }
        Ok(v)
    }
}

/// `NAME` or a number, optionally `|REGISTER_USE_REGISTERED_RING` (names or-ed like
/// flags: the kernel sees the number).
fn register_opcode(cur: &mut Cur) -> R<u32> {
    cur.flags("a register opcode", REGISTER_OPCODES)
}
