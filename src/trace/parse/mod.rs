//! The trace parser. Never panics; every error names line:col and what was expected.

use super::lex::{split_comment, tokenize, Tok, Token};
use super::limits;
use super::print::{
    Flags, ENTER_FLAGS, MSG_RING_FLAGS, OPCODES, REGISTER_OPCODES, SETUP_FLAGS, SQE_FLAGS, SQ_FLAGS,
};
use super::{
    Dest, Event, FdRef, FileRef, ListItem, Op, RegArgSpec, RingFdSpec, SqeSpec, Trace, TraceStep,
    View,
};
use crate::uapi::register;
use crate::{Cqe, Errno, Faults, Profile, Sqe};
use std::collections::HashSet;
use std::fmt;

/// A parse error at `file:line:col`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ParseError {
    /// The file name given to [`parse_file`] (`<input>` for [`parse`]).
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses a trace.
pub fn parse(src: &str) -> Result<Trace, ParseError> {
    parse_file("<input>", src)
}

type R<T> = Result<T, ParseError>;

/// Parses a trace read from `file` (used in error messages).
pub fn parse_file(file: &str, src: &str) -> Result<Trace, ParseError> {
    check_size(file, src.as_bytes())?;
    let mut p = Parser {
        file,
        declared: HashSet::new(),
        counts: [0; 3],
        entries: 0,
    };
    p.parse(src)
}

/// Parses a trace from raw bytes: input that is not UTF-8 is refused at the line and
/// column of its first invalid byte, input over [`limits::MAX_INPUT_BYTES`] where it
/// crosses the limit, before anything is parsed.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Trace, ParseError> {
    check_size(file, bytes)?;
    match std::str::from_utf8(bytes) {
        Ok(src) => parse_file(file, src),
        Err(e) => {
            let at = e.valid_up_to();
            let (line, col) = position(bytes, at);
            Err(ParseError {
                file: file.to_string(),
                line,
                col,
                message: format!(
                    "invalid UTF-8 (byte {:#04x}): a trace is UTF-8 text",
                    bytes[at]
                ),
            })
        }
    }
}

/// 1-based line and column (in chars; an invalid byte counts as one) of byte `at`.
fn position(bytes: &[u8], at: usize) -> (u32, u32) {
    let before = &bytes[..at.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn check_size(file: &str, bytes: &[u8]) -> R<()> {
    if bytes.len() <= limits::MAX_INPUT_BYTES {
        return Ok(());
    }
    let (line, col) = position(bytes, limits::MAX_INPUT_BYTES);
    Err(ParseError {
        file: file.to_string(),
        line,
        col,
        message: format!(
            "the input is longer than the limit of {} bytes ({} MiB)",
            limits::MAX_INPUT_BYTES,
            limits::MAX_INPUT_BYTES >> 20
        ),
    })
}

/// The longest token an error message quotes whole.
pub(crate) const QUOTE_MAX: usize = 64;

/// Cuts every `` `quoted` `` span of `msg` longer than [`QUOTE_MAX`] chars to its
/// first `QUOTE_MAX` chars and an ellipsis, so that a hostile token (a 2 MB number)
/// is not echoed whole.
fn cut_tokens(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(1024));
    let mut parts = msg.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push('`');
        // Every other part lies between backquotes.
        if i % 2 == 0 && part.chars().count() > QUOTE_MAX {
            out.extend(part.chars().take(QUOTE_MAX));
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    out
}

struct Parser<'a> {
    file: &'a str,
    declared: HashSet<String>,
    /// Names declared per kind: rings, files, tasks.
    counts: [usize; 3],
    /// List entries read so far, all lists together ([`limits::MAX_LIST_ENTRIES`]).
    entries: usize,
}

/// A cursor over one line's tokens.
struct Cur<'a> {
    file: &'a str,
    line: u32,
    toks: Vec<Token<'a>>,
    i: usize,
    end_col: u32,
}

impl<'a> Cur<'a> {
    fn err<T>(&self, col: u32, msg: impl Into<String>) -> R<T> {
        Err(ParseError {
            file: self.file.to_string(),
            line: self.line,
            col,
            message: cut_tokens(&msg.into()),
        })
    }
    fn col(&self) -> u32 {
        self.toks.get(self.i).map_or(self.end_col, |t| t.col)
    }
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.i).map(|t| &t.tok)
    }
    fn found(&self) -> String {
        match self.peek() {
            None => "end of line".into(),
            Some(Tok::Word(w)) => format!("`{w}`"),
            Some(Tok::Punct(c)) => format!("`{c}`"),
            Some(Tok::Arrow) => "`=>`".into(),
        }
    }
    fn expected<T>(&self, what: &str) -> R<T> {
        self.err(
            self.col(),
            format!("expected {what}, found {}", self.found()),
        )
    }
    fn word(&mut self, what: &str) -> R<(String, u32)> {
        match self.toks.get(self.i) {
            Some(Token {
                tok: Tok::Word(w),
                col,
            }) => {
                let r = (w.to_string(), *col);
                self.i += 1;
                Ok(r)
            }
            _ => self.expected(what),
        }
    }
    /// Whether the next token is the word `w`.
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if *x == w)
    }
    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }
    fn eat(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn punct(&mut self, c: char) -> R<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.expected(&format!("`{c}`"))
        }
    }
    fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }
    fn end(&self) -> R<()> {
        if self.at_end() {
            Ok(())
        } else {
            self.expected("end of line")
        }
    }
    /// True at the end of a step's options: end of line, `fault`, `choose` or `=>`.
    fn opts_done(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Arrow)) || self.at_clause()
    }
    /// True at a step's `fault` or `choose` clause.
    fn at_clause(&self) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if *w == "fault" || *w == "choose")
    }

    fn int(&mut self, what: &str, lo: i128, hi: i128) -> R<i128> {
        let (w, col) = self.word(what)?;
        let Some(v) = parse_int(&w) else {
            return self.err(col, format!("expected {what}, found `{w}`"));
        };
        if v < lo || v > hi {
            return self.err(
                col,
                format!("`{w}` is out of range for {what} ({lo}..={hi})"),
            );
        }
        Ok(v)
    }
    fn u32(&mut self, what: &str) -> R<u32> {
        Ok(self.int(what, 0, u32::MAX.into())? as u32)
    }
    fn u32_max(&mut self, what: &str, max: u32) -> R<u32> {
        let col = self.col();
        let v = self.u32(what)?;
        if v > max {
            return self.err(col, format!("{what} {v} exceeds the limit of {max}"));
        }
        Ok(v)
    }
    fn u16(&mut self, what: &str) -> R<u16> {
        Ok(self.int(what, 0, u16::MAX.into())? as u16)
    }
    fn u64(&mut self, what: &str) -> R<u64> {
        Ok(self.int(what, 0, u64::MAX.into())? as u64)
    }
    /// A signed result: a number (decimal, hex, negative) or `-ENAME`.
    fn res(&mut self, what: &str) -> R<i32> {
        let (w, col) = self.word(what)?;
        if let Some(name) = w.strip_prefix('-') {
            if let Some(e) = Errno::from_name(name) {
                return Ok(e.neg());
            }
        }
        match parse_int(&w) {
            Some(v) if v >= i32::MIN.into() && v <= u32::MAX.into() => {
                Ok(if v < 0 { v as i32 } else { v as u32 as i32 })
            }
            Some(_) => self.err(col, format!("`{w}` is out of range for {what}")),
            None => self.err(
                col,
                format!("expected {what} (a number or -ERRNO), found `{w}`"),
            ),
        }
    }
    /// `NAME|NAME|0x80` or a number.
    fn flags(&mut self, what: &str, table: Flags) -> R<u32> {
        let mut v = 0u32;
        loop {
            let (w, col) = self.word(what)?;
            if let Some((_, bit)) = table.iter().find(|(n, _)| *n == w) {
                v |= bit;
            } else if let Some(n) = parse_int(&w).filter(|n| *n >= 0 && *n <= u32::MAX.into()) {
                v |= n as u32;
            } else {
                let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                return self.err(
                    col,
                    format!(
                        "expected {what}: a number or one of {}, found `{w}`",
                        names.join(", ")
                    ),
                );
            }
            if !self.eat('|') {
                return Ok(v);
            }
        }
    }
    fn sqe_flags(&mut self) -> R<u8> {
        let col = self.col();
        let v = self.flags("SQE flags", SQE_FLAGS)?;
        u8::try_from(v).or_else(|_| self.err(col, format!("SQE flags {v:#x} do not fit in u8")))
    }
    /// `key=` (returns the key and its column).
    fn key(&mut self, what: &str) -> R<(String, u32)> {
        let (k, col) = self.word(what)?;
        self.punct('=')?;
        Ok((k, col))
    }
    fn bool(&mut self, what: &str) -> R<bool> {
        let (w, col) = self.word(what)?;
        match w.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => self.err(col, format!("expected {what} (true or false), found `{w}`")),
        }
    }
}

/// Decimal or `0x` hex, optionally negative.
pub(crate) fn parse_int(w: &str) -> Option<i128> {
    let (neg, body) = match w.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, w),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 16 {
            return None;
        }
        u64::from_str_radix(h, 16).ok()?
    } else {
        if body.is_empty() || body.len() > 20 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.parse::<u64>().ok()?
    };
    Some(if neg { -(v as i128) } else { v as i128 })
}

/// Which kind a name's first letter says it is.
fn kind_of(name: &str) -> Option<usize> {
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
    fn parse(&mut self, src: &str) -> R<Trace> {
        self.declared.insert("t0".into());
        self.counts[2] = 1;
        let mut trace = Trace::default();
        let mut pending: Vec<String> = Vec::new();
        let mut header = false;
        let mut line_no = 0u32;
        for raw in src.lines() {
            line_no = line_no.saturating_add(1);
            self.check_line(line_no, raw)?;
            let (code, comment) = split_comment(raw);
            let toks = tokenize(code).map_err(|(col, m)| ParseError {
                file: self.file.into(),
                line: line_no,
                col,
                message: m,
            })?;
            let end_col = (code.chars().count() + 1) as u32;
            let mut cur = Cur {
                file: self.file,
                line: line_no,
                toks,
                i: 0,
                end_col,
            };
            if cur.at_end() {
                match comment {
                    Some(c) => pending.push(format!("#{}", c.trim_end())),
                    None => {
                        if pending.last().is_some_and(|l| !l.is_empty())
                            || (pending.is_empty() && (header || !trace.preamble.is_empty()))
                        {
                            pending.push(String::new());
                        }
                    }
                }
                continue;
            }
            let note = comment.map(|c| c.trim_end().to_string());
            if !header {
                let (w, col) = cur.word("`msgring-trace 1`")?;
                if w != "msgring-trace" {
                    return cur.err(
                        col,
                        format!("expected the header `msgring-trace 1`, found `{w}`"),
                    );
                }
                let col = cur.col();
                let v = cur.u32("trace format version")?;
                if v != super::VERSION {
                    return cur.err(
                        col,
                        format!(
                            "unsupported trace format version {v} (this msgring reads version 1)"
                        ),
                    );
                }
                cur.end()?;
                while pending.last().is_some_and(|l| l.is_empty()) {
                    pending.pop();
                }
                trace.preamble = std::mem::take(&mut pending);
                header = true;
                continue;
            }
            if cur.peek_word("kernel") && trace.steps.is_empty() {
                cur.i += 1;
                if trace.profile.is_some() {
                    return cur.err(1, "duplicate `kernel` line");
                }
                let (w, col) = cur.word("a kernel release such as 6.18 or 7.3.4")?;
                match w.parse::<Profile>() {
                    Ok(p) => trace.profile = Some(p),
                    Err(e) => return cur.err(col, e),
                }
                cur.end()?;
                continue;
            }
            if cur.peek() == Some(&Tok::Arrow) {
                cur.i += 1;
                let Some(last) = trace.steps.last_mut() else {
                    return cur.err(1, "an `=>` line must follow a step");
                };
                if last.expect.is_some() {
                    return cur.err(1, "this step already has an `=>` annotation");
                }
                last.expect = Some(event(self, &mut cur)?);
                cur.end()?;
                if let Some(n) = note {
                    last.note = Some(match last.note.take() {
                        Some(old) => format!("{old} {n}"),
                        None => n,
                    });
                }
                continue;
            }
            if trace.steps.len() >= limits::MAX_STEPS {
                return cur.err(
                    1,
                    format!("too many steps (the limit is {})", limits::MAX_STEPS),
                );
            }
            let mut step = self.step(&mut cur)?;
            step.line = line_no;
            step.note = note;
            step.comments = std::mem::take(&mut pending);
            trace.steps.push(step);
        }
        if !header {
            return Err(ParseError {
                file: self.file.into(),
                line: line_no.max(1),
                col: 1,
                message: "expected the header `msgring-trace 1`, found end of file".into(),
            });
        }
        while pending.last().is_some_and(|l| l.is_empty()) {
            pending.pop();
        }
        trace.trailer = pending;
        Ok(trace)
    }

    /// Refuses a line over [`limits::MAX_LINE_BYTES`] and control characters (NUL
    /// included) anywhere in it, comments too: `fmt` would copy them to the output.
    fn check_line(&self, line: u32, raw: &str) -> R<()> {
        let err = |col: usize, message: String| ParseError {
            file: self.file.to_string(),
            line,
            col: u32::try_from(col).unwrap_or(u32::MAX),
            message,
        };
        if raw.len() > limits::MAX_LINE_BYTES {
            let cut = (0..=limits::MAX_LINE_BYTES)
                .rev()
                .find(|&i| raw.is_char_boundary(i))
                .unwrap_or(0);
            return Err(err(
                raw[..cut].chars().count() + 1,
                format!(
                    "line longer than the limit of {} bytes ({} MiB)",
                    limits::MAX_LINE_BYTES,
                    limits::MAX_LINE_BYTES >> 20
                ),
            ));
        }
        let bad = |c: char| c.is_control() && c != '\t';
        if raw.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) || !raw.is_ascii() {
            if let Some((i, c)) = raw.chars().enumerate().find(|&(_, c)| bad(c)) {
                let name = match c {
                    '\0' => " (NUL)".to_string(),
                    '\r' => " (carriage return)".to_string(),
                    '\x1b' => " (escape)".to_string(),
                    _ => String::new(),
                };
                return Err(err(
                    i + 1,
                    format!(
                        "control character U+{:04X}{name} is not allowed in a trace",
                        u32::from(c)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Counts `n` more list entries against [`limits::MAX_LIST_ENTRIES`].
    fn count_entries(&mut self, cur: &Cur, n: usize) -> R<()> {
        self.entries += n;
        if self.entries > limits::MAX_LIST_ENTRIES {
            return cur.err(
                cur.col(),
                format!(
                    "too many list entries in this trace (the limit is {} over all lists)",
                    limits::MAX_LIST_ENTRIES
                ),
            );
        }
        Ok(())
    }

    /// Declares a name created by this step.
    fn declare(&mut self, cur: &mut Cur, kind: usize) -> R<String> {
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

    fn task(&self, cur: &mut Cur) -> R<String> {
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
    fn fd(&self, cur: &mut Cur, what: &str) -> R<FdRef> {
        let (w, col) = cur.word(what)?;
        self.fd_word(cur, &w, col, what)
    }

    /// [`Self::fd`] of a word already read (at `col`).
    fn fd_word(&self, cur: &Cur, w: &str, col: u32, what: &str) -> R<FdRef> {
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

    fn by(&self, cur: &mut Cur, by: &mut String) -> R<bool> {
        if cur.peek_word("by") {
            cur.i += 1;
            *by = self.task(cur)?;
            return Ok(true);
        }
        Ok(false)
    }

    fn step(&mut self, cur: &mut Cur) -> R<TraceStep> {
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

    fn sqe(&self, cur: &mut Cur) -> R<SqeSpec> {
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

/// `NAME` or a number, optionally `|REGISTER_USE_REGISTERED_RING` (names or-ed like
/// flags: the kernel sees the number).
fn register_opcode(cur: &mut Cur) -> R<u32> {
    cur.flags("a register opcode", REGISTER_OPCODES)
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
fn event(p: &mut Parser, cur: &mut Cur) -> R<Event> {
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
