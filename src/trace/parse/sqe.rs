//! SQEs: `nop()`, `msg_data(...)`, `send_fd(...)` and raw `sqe(...)`, with the
//! builder tail (`user_data=`, `flags=`) of the source SQE.

use super::cursor::Cur;
use super::{Parser, R};
use crate::trace::lex::Tok;
use crate::trace::print::{MSG_RING_FLAGS, OPCODES};
use crate::trace::{Dest, SqeSpec};
use crate::Sqe;
use std::collections::HashSet;

impl Parser<'_> {
    pub(super) fn sqe(&self, cur: &mut Cur) -> R<SqeSpec> {
        let (kind, col) = cur.word("an SQE: nop(), msg_data(...), send_fd(...) or sqe(...)")?;
        cur.punct('(')?;
        let mut spec = match kind.as_str() {
            "nop" => {
                cur.punct(')')?;
                SqeSpec::Nop {
                    user_data: 0,
                    flags: 0,
                }
            }
            "msg_data" => {
                let (mut ring_fd, mut result, mut user_data, mut user_flags) = (None, 0, 0, None);
                self.args(cur, |p, cur, k, kc| {
                    match k {
                        "ring_fd" => ring_fd = Some(p.fd(cur, "ring_fd")?),
                        "result" => result = cur.res("result")?,
                        "user_data" => user_data = cur.u64("user_data")?,
                        "user_flags" => user_flags = Some(cur.u32("user_flags")?),
                        _ => return cur.err(kc, format!("unknown msg_data field `{k}` (expected ring_fd, result, user_data, user_flags)")),
                    }
                    Ok(())
                })?;
                let Some(ring_fd) = ring_fd else {
                    return cur.err(col, "msg_data needs `ring_fd=`");
                };
                SqeSpec::MsgData {
                    ring_fd,
                    result,
                    user_data,
                    user_flags,
                    sqe_user_data: 0,
                    flags: 0,
                }
            }
            "send_fd" => {
                let (mut ring_fd, mut src, mut dest, mut user_data, mut skip) =
                    (None, 0, None, 0, false);
                self.args(cur, |p, cur, k, kc| {
                    match k {
                        "ring_fd" => ring_fd = Some(p.fd(cur, "ring_fd")?),
                        "fixed_slot_src" => src = cur.u32("fixed_slot_src")?,
                        "dest_slot_index" => {
                            dest = Some(if cur.peek_word("alloc") {
                                cur.i += 1;
                                Dest::Alloc
                            } else {
                                Dest::Index(cur.u32("dest_slot_index (a slot or `alloc`)")?)
                            })
                        }
                        "user_data" => user_data = cur.u64("user_data")?,
                        "skip_cqe" => skip = cur.bool("skip_cqe")?,
                        _ => return cur.err(kc, format!("unknown send_fd field `{k}` (expected ring_fd, fixed_slot_src, dest_slot_index, user_data, skip_cqe)")),
                    }
                    Ok(())
                })?;
                let (Some(ring_fd), Some(dest_slot_index)) = (ring_fd, dest) else {
                    return cur.err(col, "send_fd needs `ring_fd=` and `dest_slot_index=`");
                };
                SqeSpec::SendFd {
                    ring_fd,
                    fixed_slot_src: src,
                    dest_slot_index,
                    user_data,
                    skip_cqe: skip,
                    sqe_user_data: 0,
                    flags: 0,
                }
            }
            "sqe" => {
                let mut s = Sqe::default();
                let mut fd = None;
                let mut opcode = None;
                self.args(cur, |p, cur, k, kc| {
                    match k {
                        "opcode" => {
                            let c = cur.col();
                            let v = cur.flags("opcode", OPCODES)?;
                            opcode = Some(u8::try_from(v).or_else(|_| cur.err(c, "opcode does not fit in u8"))?);
                        }
                        "fd" => fd = Some(p.fd(cur, "fd")?),
                        "flags" => s.flags = cur.sqe_flags()?,
                        "ioprio" => s.ioprio = cur.u16("ioprio")?,
                        "off" => s.off = cur.u64("off")?,
                        "addr" => s.addr = cur.u64("addr")?,
                        "len" => s.len = cur.res("len")? as u32,
                        "msg_ring_flags" => s.msg_ring_flags = cur.flags("msg_ring_flags", MSG_RING_FLAGS)?,
                        "user_data" => s.user_data = cur.u64("user_data")?,
                        "buf_index" => s.buf_index = cur.u16("buf_index")?,
                        "personality" => s.personality = cur.u16("personality")?,
                        "file_index" => s.file_index = cur.res("file_index")? as u32,
                        "addr3" => s.addr3 = cur.u64("addr3")?,
                        "pad2" => s.pad2 = cur.u64("pad2")?,
                        _ => return cur.err(kc, format!("unknown io_uring_sqe field `{k}` (expected opcode, fd, flags, ioprio, off, addr, len, msg_ring_flags, user_data, buf_index, personality, file_index, addr3, pad2)")),
                    }
                    Ok(())
                })?;
                let (Some(fd), Some(op)) = (fd, opcode) else {
                    return cur.err(col, "sqe(...) needs `opcode=` and `fd=`");
                };
                s.opcode = op;
                return Ok(SqeSpec::Raw { fd, sqe: s });
            }
            _ => {
                return cur.err(
                    col,
                    format!("unknown SQE `{kind}` (expected nop, msg_data, send_fd, sqe)"),
                )
            }
        };
        // Builder tail: `.user_data()` and `.flags()` of the source SQE.
        loop {
            match cur.peek() {
                Some(Tok::Word(w)) if *w == "user_data" || *w == "flags" => {
                    let (k, _) = cur.key("user_data= or flags=")?;
                    let (ud, fl) = match &mut spec {
                        SqeSpec::Nop { user_data, flags } => (user_data, flags),
                        SqeSpec::MsgData {
                            sqe_user_data,
                            flags,
                            ..
                        }
                        | SqeSpec::SendFd {
                            sqe_user_data,
                            flags,
                            ..
                        } => (sqe_user_data, flags),
                        SqeSpec::Raw { .. } => return cur.expected("end of SQE"),
                    };
                    if k == "user_data" {
                        *ud = cur.u64("user_data")?;
                    } else {
                        *fl = cur.sqe_flags()?;
                    }
                }
                _ => return Ok(spec),
            }
        }
    }

    /// `key=value, ...)` inside an SQE constructor.
    fn args(&self, cur: &mut Cur, mut f: impl FnMut(&Self, &mut Cur, &str, u32) -> R<()>) -> R<()> {
        let mut seen = HashSet::new();
        while !cur.eat(')') {
            if cur.at_end() {
                return cur.expected("a field or `)`");
            }
            let (k, kc) = cur.key("`field=value`")?;
            if !seen.insert(k.clone()) {
                return cur.err(kc, format!("field `{k}` given twice"));
            }
            f(self, cur, &k, kc)?;
            if !cur.eat(',') && !cur.is_punct(')') {
                return cur.expected("`,` or `)`");
            }
        }
        Ok(())
    }
}
