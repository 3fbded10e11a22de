//! Names: declaring the ring, file and task a step creates (`r0`, `f1`, `t2`), and
//! reading names and fd numbers that earlier steps bound.

use super::cursor::{parse_int, Cur};
use super::{limits, Parser, R};
use crate::trace::lex::Tok;
use crate::trace::FdRef;

/// Which kind a name's first letter says it is.
pub(super) fn kind_of(name: &str) -> Option<usize> {
    let rest = name.get(1..)?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 9 {
        return None;
    }
    match name.as_bytes().first() {
        Some(b'r') => Some(0),
        Some(b'f') => Some(1),
        Some(b't') => Some(2),
        _ => None,
    }
}

const KIND: [&str; 3] = ["ring", "file", "task"];
const PREFIX: [&str; 3] = ["r", "f", "t"];
const CAP: [usize; 3] = [limits::MAX_RINGS, limits::MAX_FILES, limits::MAX_TASKS];

impl Parser<'_> {
    /// Declares a name created by this step.
    pub(super) fn declare(&mut self, cur: &mut Cur, kind: usize) -> R<String> {
        if !matches!(cur.peek(), Some(Tok::Word(_))) {
            return cur.expected(&format!("a new {} name like {}N", KIND[kind], PREFIX[kind]));
        }
        let (w, col) = cur.word("a name")?;
        if kind_of(&w) != Some(kind) {
            return cur.err(
                col,
                format!(
                    "expected a new {} name like {}N, found `{w}`",
                    KIND[kind], PREFIX[kind]
                ),
            );
        }
        if self.declared.contains(&w) {
            return cur.err(col, format!("`{w}` is already named by an earlier step"));
        }
        if self.counts[kind] >= CAP[kind] {
            return cur.err(
                col,
                format!("too many {}s (the limit is {})", KIND[kind], CAP[kind]),
            );
        }
        self.counts[kind] += 1;
        self.declared.insert(w.clone());
        Ok(w)
    }

    pub(super) fn task(&self, cur: &mut Cur) -> R<String> {
        let (w, col) = cur.word("a task name like t0")?;
        if kind_of(&w) != Some(2) {
            return cur.err(col, format!("expected a task name like t0, found `{w}`"));
        }
        if !self.declared.contains(&w) {
            return cur.err(
                col,
                format!("task `{w}` is not created by an earlier `spawn`"),
            );
        }
        Ok(w)
    }

    /// A ring or file name, or a virtual fd number.
    pub(super) fn fd(&self, cur: &mut Cur, what: &str) -> R<FdRef> {
        let (w, col) = cur.word(what)?;
        self.fd_word(cur, &w, col, what)
    }

    /// [`Self::fd`] of a word already read (at `col`).
    pub(super) fn fd_word(&self, cur: &Cur, w: &str, col: u32, what: &str) -> R<FdRef> {
        let w = w.to_string();
        if let Some(v) = parse_int(&w) {
            return match i32::try_from(v) {
                Ok(v) => Ok(FdRef::Vfd(v)),
                Err(_) => cur.err(col, format!("`{w}` is out of range for an fd")),
            };
        }
        match kind_of(&w) {
            Some(0 | 1) if self.declared.contains(&w) => Ok(FdRef::Name(w)),
            Some(0 | 1) => cur.err(col, format!("`{w}` is not created by an earlier step")),
            _ => cur.err(
                col,
                format!("expected {what} (a ring/file name or an fd number), found `{w}`"),
            ),
        }
    }

    pub(super) fn by(&self, cur: &mut Cur, by: &mut String) -> R<bool> {
        if cur.peek_word("by") {
            cur.i += 1;
            *by = self.task(cur)?;
            return Ok(true);
        }
        Ok(false)
    }
}
