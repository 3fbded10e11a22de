//! The trace parser. Never panics; every error names line:col and what was expected.
//!
//! This file holds the entry points ([`parse`], [`parse_file`], [`parse_bytes`]),
//! [`ParseError`] and the input size check; `lines` reads the trace line by line,
//! `step`, `sqe` and `outcome` what a line holds, `names` the names steps bind, and
//! `cursor` the tokens of one line.

mod cursor;
mod lines;
mod names;
mod outcome;
mod sqe;
mod step;

use super::limits;
use super::Trace;
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

struct Parser<'a> {
    file: &'a str,
    declared: HashSet<String>,
    /// Names declared per kind: rings, files, tasks.
    counts: [usize; 3],
    /// List entries read so far, all lists together ([`limits::MAX_LIST_ENTRIES`]).
    entries: usize,
}
