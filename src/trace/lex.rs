//! Splits one trace line into tokens with 1-based columns.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A word: identifier, number (`-12`, `0x1f`), errno (`-EBADF`), version (`6.18`).
    /// Borrowed from the line: a long line costs one small token per word, no copies.
    Word(&'a str),
    /// One of `( ) [ ] , = | ; :`.
    Punct(char),
    /// `=>`.
    Arrow,
}

#[derive(Clone, Debug)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub col: u32,
}

const fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' || c == '@'
}

/// Tokenizes `text` (already stripped of its comment). Returns the column of an
/// unexpected character on error.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, (u32, String)> {
    if text.is_ascii() {
        tokenize_ascii(text)
    } else {
        tokenize_chars(text)
    }
}

/// Byte classes of ASCII for [`tokenize_ascii`]: a table lookup per byte instead of a
/// chain of comparisons (the fuzz targets parse every text input, instrumented).
const OTHER: u8 = 0;
const SPACE: u8 = 1;
const PUNCT: u8 = 2;
const WORD: u8 = 3;
const CLASS: [u8; 128] = {
    let mut t = [OTHER; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8 as char;
        t[b] = if c.is_ascii_whitespace() || b == 0x0b {
            SPACE
        } else if is_word_char(c) {
            WORD
        } else {
            match c {
                '(' | ')' | '[' | ']' | ',' | '=' | '|' | ';' | ':' => PUNCT,
                _ => OTHER,
            }
        };
        b += 1;
    }
    t
};

/// [`tokenize`] of an ASCII line, byte by byte: the same tokens and errors.
fn tokenize_ascii(text: &str) -> Result<Vec<Token<'_>>, (u32, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        let col = (i + 1) as u32;
        match CLASS[usize::from(b[i] & 0x7f)] {
            SPACE => i += 1,
            PUNCT if b[i] == b'=' && b.get(i + 1) == Some(&b'>') => {
                out.push(Token {
                    tok: Tok::Arrow,
                    col,
                });
                i += 2;
            }
            PUNCT => {
                out.push(Token {
                    tok: Tok::Punct(char::from(b[i])),
                    col,
                });
                i += 1;
            }
            WORD => {
                let start = i;
                while i < b.len() && CLASS[usize::from(b[i] & 0x7f)] == WORD {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Word(&text[start..i]),
                    col,
                });
            }
            _ => {
                let c = char::from(b[i]);
                return Err((col, format!("unexpected character `{}`", c.escape_debug())));
            }
        }
    }
    Ok(out)
}

/// [`tokenize`] of any line, char by char (columns count chars).
fn tokenize_chars(text: &str) -> Result<Vec<Token<'_>>, (u32, String)> {
    // (byte offset, char) of every char, and the line's length for the last word.
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i].1;
        let col = (i + 1) as u32;
        if c.is_whitespace() {
            i += 1;
        } else if c == '=' && chars.get(i + 1).map(|x| x.1) == Some('>') {
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
            while i < chars.len() && is_word_char(chars[i].1) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Word(&text[byte_at(start)..byte_at(i)]),
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte tokenizer gives what the char tokenizer gives, on any ASCII line.
        #[test]
        fn ascii_tokenizer_matches_the_char_tokenizer(
            s in "[\\x00-\\x7f]{0,40}",
            t in "[a-z0-9_.@()\\[\\],=|;:> \t-]{0,60}",
        ) {
            for s in [s, t] {
                prop_assert_eq!(
                    format!("{:?}", tokenize_ascii(&s)),
                    format!("{:?}", tokenize_chars(&s))
                );
            }
        }
    }

    #[test]
    fn ascii_tokenizer_on_every_token_kind() {
        let line = "push r0 msg_data(ring_fd=r1, user_data=0x1f) => ret -EBADF | [a; b:c]";
        let a = tokenize_ascii(line).unwrap();
        assert_eq!(
            format!("{a:?}"),
            format!("{:?}", tokenize_chars(line).unwrap())
        );
        assert!(a.iter().any(|t| t.tok == Tok::Arrow));
        assert_eq!(tokenize_ascii("a $").unwrap_err().0, 3);
    }
}
