//! The trace line by line: the header, the `kernel` line, steps with the comments
//! before them, `=>` lines, and the limits on a line and on list entries.

use super::cursor::Cur;
use super::outcome::event;
use super::{limits, ParseError, Parser, R};
use crate::trace::lex::{split_comment, tokenize, Tok};
use crate::trace::Trace;
use crate::Profile;

impl Parser<'_> {
    pub(super) fn parse(&mut self, src: &str) -> R<Trace> {
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
                if v != crate::trace::VERSION {
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
    pub(super) fn count_entries(&mut self, cur: &Cur, n: usize) -> R<()> {
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
}
