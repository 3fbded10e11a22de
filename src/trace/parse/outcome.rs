//! Outcome annotations (after `=>`): returns, bound names, CQE lists, slots, views.

use super::cursor::{parse_int, Cur};
use super::names::kind_of;
use super::{limits, Parser, R};
use crate::trace::lex::Tok;
use crate::trace::print::SQ_FLAGS;
use crate::trace::{Event, FileRef, View};
use crate::Cqe;

/// One CQE: `ud=N res=N flags=N [extra1=N extra2=N]`.
fn cqe(cur: &mut Cur) -> R<(Cqe, [u64; 2])> {
    let mut c = Cqe::default();
    let mut big = [0u64; 2];
    let start = cur.col();
    let mut any = false;
    while let Some(Tok::Word(w)) = cur.peek() {
        if !matches!(*w, "ud" | "res" | "flags" | "extra1" | "extra2") {
            break;
        }
        let (k, _) = cur.key("ud=, res=, flags=, extra1= or extra2=")?;
        match k.as_str() {
            "ud" => c.user_data = cur.u64("ud")?,
            "res" => c.res = cur.res("res")?,
            "extra1" => big[0] = cur.u64("extra1")?,
            "extra2" => big[1] = cur.u64("extra2")?,
            _ => c.flags = cur.u32("flags")?,
        }
        any = true;
    }
    if !any {
        return cur.err(
            start,
            format!("expected a CQE `ud=N res=N flags=N`, found {}", cur.found()),
        );
    }
    Ok((c, big))
}

/// A CQE list of an outcome: `[ud=.. res=.. flags=..; ...]`.
fn cqes(p: &mut Parser, cur: &mut Cur) -> R<Vec<(Cqe, [u64; 2])>> {
    cur.punct('[')?;
    let mut v = Vec::new();
    while !cur.eat(']') {
        if v.len() >= limits::MAX_OUTCOME_LIST {
            return cur.err(
                cur.col(),
                format!("list too long (the limit is {})", limits::MAX_OUTCOME_LIST),
            );
        }
        p.count_entries(cur, 1)?;
        v.push(cqe(cur)?);
        if !cur.eat(';') && !cur.is_punct(']') {
            return cur.expected("`;` or `]`");
        }
    }
    Ok(v)
}

/// A CQE list without extra words (a view's overflow list: fdinfo does not show them).
fn plain_cqes(p: &mut Parser, cur: &mut Cur) -> R<Vec<Cqe>> {
    let col = cur.col();
    let v = cqes(p, cur)?;
    if v.iter().any(|(_, big)| *big != [0, 0]) {
        return cur.err(
            col,
            "a view's overflow list has no extra words (extra1=, extra2=)",
        );
    }
    Ok(v.into_iter().map(|(c, _)| c).collect())
}

fn file_ref(cur: &mut Cur) -> R<FileRef> {
    let (w, col) = cur.word("a file name or @N")?;
    if let Some(n) = w.strip_prefix('@') {
        if let Some(v) = parse_int(n).and_then(|v| u32::try_from(v).ok()) {
            return Ok(FileRef::Id(v));
        }
    } else if kind_of(&w) == Some(1) {
        return Ok(FileRef::Name(w));
    }
    cur.err(
        col,
        format!("expected a file name like f0 or @N, found `{w}`"),
    )
}

/// An outcome annotation (after `=>`).
pub(super) fn event(p: &mut Parser, cur: &mut Cur) -> R<Event> {
    let (w, col) = cur.word(
        "an outcome: ret, bound, cqes, slot, view, refused, unmodelled, unbound, unexpected",
    )?;
    Ok(match w.as_str() {
        "ret" => Event::Ret(cur.res("a return value")?),
        "bound" => {
            let mut v = Vec::new();
            while !cur.at_end() {
                let (n, nc) = cur.word("a name")?;
                if kind_of(&n).is_none() {
                    return cur.err(nc, format!("expected a name like r0, f0, t1, found `{n}`"));
                }
                v.push(n);
            }
            if v.is_empty() {
                return cur.expected("a name");
            }
            Event::Bound(v)
        }
        "cqes" => {
            let v = cqes(p, cur)?;
            if v.iter().any(|(_, big)| *big != [0, 0]) {
                Event::Cqes32(v)
            } else {
                Event::Cqes(v.into_iter().map(|(c, _)| c).collect())
            }
        }
        "slot" => {
            if cur.peek_word("empty") {
                cur.i += 1;
                Event::Slot(None)
            } else {
                Event::Slot(Some(file_ref(cur)?))
            }
        }
        "view" => {
            let mut v = View::default();
            while !cur.at_end() {
                let (k, kc) = cur.key("a view field (sq_flags=, cq_overflow=, ready=, overflow=, table=)")?;
                match k.as_str() {
                    "sq_flags" => v.sq_flags = cur.flags("sq_flags", SQ_FLAGS)?,
                    "cq_overflow" => v.cq_overflow = cur.u32("cq_overflow")?,
                    "ready" => v.ready = cur.u32("ready")?,
                    "overflow" => v.overflow = plain_cqes(p, cur)?,
                    "table" => {
                        cur.punct('[')?;
                        while !cur.eat(']') {
                            if v.table.len() >= limits::MAX_OUTCOME_LIST {
                                return cur.err(
                                    cur.col(),
                                    format!(
                                        "table too long (the limit is {})",
                                        limits::MAX_OUTCOME_LIST
                                    ),
                                );
                            }
                            p.count_entries(cur, 1)?;
                            let slot = cur.u32("a slot number")?;
                            cur.punct(':')?;
                            v.table.push((slot, file_ref(cur)?));
                            cur.eat(',');
                        }
                    }
                    _ => return cur.err(kc, format!("unknown view field `{k}`")),
                }
            }
            Event::View(v)
        }
        "refused" => Event::Refused,
        "unmodelled" => Event::Unmodelled,
        "unexpected" => Event::Unexpected,
        "unbound" => {
            let (n, _) = cur.word("a name")?;
            Event::Unbound(n)
        }
        _ => return cur.err(col, format!("unknown outcome `{w}` (expected ret, bound, cqes, slot, view, refused, unmodelled, unbound, unexpected)")),
    })
}
