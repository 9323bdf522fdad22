//! Tokens of the expression language. Keywords are identifiers; the parser tells them
//! apart (case-insensitively, as DynamoDB does).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bare name or keyword: `[A-Za-z][A-Za-z0-9_]*`.
    Ident,
    /// `#name`
    Name,
    /// `:value`
    Value,
    /// Decimal digits (list indexes).
    Int,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character that starts no token.
    Bad,
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Split `src` into tokens; always ends with one `Eof` token.
pub fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    while i < b.len() {
        let c = at(i);
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = match c {
            b'(' => Kind::LParen,
            b')' => Kind::RParen,
            b'[' => Kind::LBracket,
            b']' => Kind::RBracket,
            b',' => Kind::Comma,
            b'.' => Kind::Dot,
            b'=' => Kind::Eq,
            b'+' => Kind::Plus,
            b'-' => Kind::Minus,
            b'<' => match at(i + 1) {
                b'>' => {
                    i += 1;
                    Kind::Ne
                }
                b'=' => {
                    i += 1;
                    Kind::Le
                }
                _ => Kind::Lt,
            },
            b'>' => {
                if at(i + 1) == b'=' {
                    i += 1;
                    Kind::Ge
                } else {
                    Kind::Gt
                }
            }
            b'#' | b':' if is_word(at(i + 1)) => {
                while is_word(at(i + 1)) {
                    i += 1;
                }
                if c == b'#' {
                    Kind::Name
                } else {
                    Kind::Value
                }
            }
            // A list index: `0`, or digits without a leading zero.
            b'0' => Kind::Int,
            b'1'..=b'9' => {
                while at(i + 1).is_ascii_digit() {
                    i += 1;
                }
                Kind::Int
            }
            c if c.is_ascii_alphabetic() => {
                while is_word(at(i + 1)) {
                    i += 1;
                }
                Kind::Ident
            }
            _ => {
                // One whole (possibly multi-byte) character.
                while i + 1 < b.len() && !src.is_char_boundary(i + 1) {
                    i += 1;
                }
                Kind::Bad
            }
        };
        i += 1;
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out.push(Token {
        kind: Kind::Eof,
        start: b.len(),
        end: b.len(),
    });
    out
}
