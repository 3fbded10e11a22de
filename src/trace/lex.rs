//! Splits one trace line into tokens with 1-based columns.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A word: identifier, number (`-12`, `0x1f`), errno (`-EBADF`), version (`6.18`).
    Word(String),
    /// One of `( ) [ ] , = | ; :`.
    Punct(char),
    /// `=>`.
    Arrow,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: u32,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' || c == '@'
}

/// Tokenizes `text` (already stripped of its comment). Returns the column of an
/// unexpected character on error.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, (u32, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let col = (i + 1) as u32;
        if c.is_whitespace() {
            i += 1;
        } else if c == '=' && chars.get(i + 1) == Some(&'>') {
            out.push(Token {
                tok: Tok::Arrow,
                col,
            });
            i += 2;
        } else if "()[],=|;:".contains(c) {
            out.push(Token {
                tok: Tok::Punct(c),
                col,
            });
            i += 1;
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Word(chars[start..i].iter().collect()),
                col,
            });
        } else {
            return Err((col, format!("unexpected character `{}`", c.escape_debug())));
        }
    }
    Ok(out)
}

/// Splits a line at its first `#`: (code, comment text after `#`).
pub(crate) fn split_comment(line: &str) -> (&str, Option<&str>) {
    match line.find('#') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    }
}
