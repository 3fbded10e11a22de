//! A cursor over one line's tokens: reading words, punctuation, numbers, results and
//! flags, and errors at a token's column (long tokens cut short in messages).

use super::{ParseError, R};
use crate::trace::lex::{Tok, Token};
use crate::trace::print::{Flags, SQE_FLAGS};
use crate::Errno;

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

/// A cursor over one line's tokens.
pub(super) struct Cur<'a> {
    pub(super) file: &'a str,
    pub(super) line: u32,
    pub(super) toks: Vec<Token<'a>>,
    pub(super) i: usize,
    pub(super) end_col: u32,
}

impl<'a> Cur<'a> {
    pub(super) fn err<T>(&self, col: u32, msg: impl Into<String>) -> R<T> {
        Err(ParseError {
            file: self.file.to_string(),
            line: self.line,
            col,
            message: cut_tokens(&msg.into()),
        })
    }
    pub(super) fn col(&self) -> u32 {
        self.toks.get(self.i).map_or(self.end_col, |t| t.col)
    }
    pub(super) fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.i).map(|t| &t.tok)
    }
    pub(super) fn found(&self) -> String {
        match self.peek() {
            None => "end of line".into(),
            Some(Tok::Word(w)) => format!("`{w}`"),
            Some(Tok::Punct(c)) => format!("`{c}`"),
            Some(Tok::Arrow) => "`=>`".into(),
        }
    }
    pub(super) fn expected<T>(&self, what: &str) -> R<T> {
        self.err(
            self.col(),
            format!("expected {what}, found {}", self.found()),
        )
    }
    pub(super) fn word(&mut self, what: &str) -> R<(String, u32)> {
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
    pub(super) fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if *x == w)
    }
    pub(super) fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }
    pub(super) fn eat(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(super) fn punct(&mut self, c: char) -> R<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.expected(&format!("`{c}`"))
        }
    }
    pub(super) fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }
    pub(super) fn end(&self) -> R<()> {
        if self.at_end() {
            Ok(())
        } else {
            self.expected("end of line")
        }
    }
    /// True at the end of a step's options: end of line, `fault`, `choose` or `=>`.
    pub(super) fn opts_done(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Arrow)) || self.at_clause()
    }
    /// True at a step's `fault` or `choose` clause.
    pub(super) fn at_clause(&self) -> bool {
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
    pub(super) fn u32(&mut self, what: &str) -> R<u32> {
        Ok(self.int(what, 0, u32::MAX.into())? as u32)
    }
    pub(super) fn u32_max(&mut self, what: &str, max: u32) -> R<u32> {
        let col = self.col();
        let v = self.u32(what)?;
        if v > max {
            return self.err(col, format!("{what} {v} exceeds the limit of {max}"));
        }
        Ok(v)
    }
    pub(super) fn u16(&mut self, what: &str) -> R<u16> {
        Ok(self.int(what, 0, u16::MAX.into())? as u16)
    }
    pub(super) fn u64(&mut self, what: &str) -> R<u64> {
        Ok(self.int(what, 0, u64::MAX.into())? as u64)
    }
    /// A signed result: a number (decimal, hex, negative) or `-ENAME`.
    pub(super) fn res(&mut self, what: &str) -> R<i32> {
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
    pub(super) fn flags(&mut self, what: &str, table: Flags) -> R<u32> {
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
    pub(super) fn sqe_flags(&mut self) -> R<u8> {
        let col = self.col();
        let v = self.flags("SQE flags", SQE_FLAGS)?;
        u8::try_from(v).or_else(|_| self.err(col, format!("SQE flags {v:#x} do not fit in u8")))
    }
    /// `key=` (returns the key and its column).
    pub(super) fn key(&mut self, what: &str) -> R<(String, u32)> {
        let (k, col) = self.word(what)?;
        self.punct('=')?;
        Ok((k, col))
    }
    pub(super) fn bool(&mut self, what: &str) -> R<bool> {
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
