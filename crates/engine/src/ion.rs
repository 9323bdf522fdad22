//! The part of Amazon Ion text that DynamoDB exports and imports use: one
//! `$ion_1_0 {Item:{...}}` value per line, strings, decimals, blobs, booleans, nulls,
//! lists, structs, and the `$dynamodb_SS` / `$dynamodb_NS` / `$dynamodb_BS` annotations
//! for sets. Written by hand: the only Rust Ion library (ion-rs) is a large dependency for
//! a format this small, and we need exactly DynamoDB's mapping of it.

use base64::Engine as _;
use ferrodyn_types::{AttributeValue, Item, Number};

/// One item as an export line (without the trailing newline).
pub fn item_line(item: &Item) -> String {
    let mut out = String::from("$ion_1_0 {Item:");
    write_map(item, &mut out);
    out.push('}');
    out
}

fn write_map(item: &Item, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_value(v, out);
    }
    out.push('}');
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(n: &Number, out: &mut String) {
    let s = n.to_string();
    if s.contains(['e', 'E']) {
        out.push_str(&s.replace(['e', 'E'], "d"));
    } else if s.contains('.') {
        out.push_str(&s);
    } else {
        out.push_str(&s);
        out.push_str("d0");
    }
}

fn write_blob(b: &[u8], out: &mut String) {
    out.push_str("{{");
    out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
    out.push_str("}}");
}

fn write_value(v: &AttributeValue, out: &mut String) {
    match v {
        AttributeValue::S(s) => write_string(s, out),
        AttributeValue::N(n) => write_number(n, out),
        AttributeValue::B(b) => write_blob(b, out),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::Null => out.push_str("null"),
        AttributeValue::M(m) => write_map(m, out),
        AttributeValue::L(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(x, out);
            }
            out.push(']');
        }
        AttributeValue::Ss(s) => {
            out.push_str("$dynamodb_SS::[");
            for (i, x) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(x, out);
            }
            out.push(']');
        }
        AttributeValue::Ns(s) => {
            out.push_str("$dynamodb_NS::[");
            for (i, x) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_number(x, out);
            }
            out.push(']');
        }
        AttributeValue::Bs(s) => {
            out.push_str("$dynamodb_BS::[");
            for (i, x) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_blob(x, out);
            }
            out.push(']');
        }
    }
}

/// A parsed Ion value of the subset.
#[derive(Debug, Clone, PartialEq)]
enum Ion {
    Str(String),
    Num(String),
    Blob(Vec<u8>),
    Bool(bool),
    Null,
    Symbol(String),
    List(Vec<Ion>),
    Struct(Vec<(String, Ion)>),
    Annotated(String, Box<Ion>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        loop {
            while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
                self.i += 1;
            }
            if self.s.get(self.i..self.i + 2) == Some(b"//") {
                while self.s.get(self.i).is_some_and(|c| *c != b'\n') {
                    self.i += 1;
                }
            } else if self.s.get(self.i..self.i + 2) == Some(b"/*") {
                self.i += 2;
                while self.i < self.s.len() && self.s.get(self.i..self.i + 2) != Some(b"*/") {
                    self.i += 1;
                }
                self.i += 2;
            } else {
                return;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.' | b'+' | b'-')
        }) {
            self.i += 1;
        }
        String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or_default()).into_owned()
    }

    fn quoted(&mut self, q: u8) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated string".into());
            };
            self.i += 1;
            if c == q {
                break;
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return Err("unterminated escape".into());
            };
            self.i += 1;
            let hex = |p: &mut Parser<'_>, n: usize| -> Result<char, String> {
                let h =
                    p.s.get(p.i..p.i + n)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32)
                        .ok_or("bad escape")?;
                p.i += n;
                Ok(h)
            };
            let ch = match e {
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'0' => '\0',
                b'a' => '\u{7}',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'v' => '\u{b}',
                b'x' => hex(self, 2)?,
                b'u' => hex(self, 4)?,
                b'U' => hex(self, 8)?,
                other => other as char,
            };
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".to_owned())
    }

    fn value(&mut self, depth: usize) -> Result<Ion, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        self.skip_ws();
        match self.peek() {
            None => Err("unexpected end".into()),
            Some(b'"') => Ok(Ion::Str(self.quoted(b'"')?)),
            Some(b'{') if self.s.get(self.i + 1) == Some(&b'{') => {
                self.i += 2;
                let start = self.i;
                while self.i < self.s.len() && self.s.get(self.i..self.i + 2) != Some(b"}}") {
                    self.i += 1;
                }
                let text: String =
                    String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or_default())
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                self.i += 2;
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map(Ion::Blob)
                    .map_err(|e| format!("bad blob: {e}"))
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        break;
                    }
                    let name = match self.peek() {
                        Some(q @ (b'"' | b'\'')) => self.quoted(q)?,
                        _ => {
                            let w = self.word();
                            if w.is_empty() {
                                return Err(format!("bad field name at byte {}", self.i));
                            }
                            w
                        }
                    };
                    self.expect(b':')?;
                    let v = self.value(depth + 1)?;
                    fields.push((name, v));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {}
                        _ => return Err(format!("expected ',' or '}}' at byte {}", self.i)),
                    }
                }
                Ok(Ion::Struct(fields))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {}
                        _ => return Err(format!("expected ',' or ']' at byte {}", self.i)),
                    }
                }
                Ok(Ion::List(items))
            }
            Some(b'\'') => {
                let sym = self.quoted(b'\'')?;
                self.annotated_or(sym, depth)
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let w = self.word();
                Ok(Ion::Num(w))
            }
            Some(_) => {
                let w = self.word();
                if w.is_empty() {
                    return Err(format!("unexpected character at byte {}", self.i));
                }
                self.annotated_or(w, depth)
            }
        }
    }

    fn annotated_or(&mut self, sym: String, depth: usize) -> Result<Ion, String> {
        if self.s.get(self.i..self.i + 2) == Some(b"::") {
            self.i += 2;
            let v = self.value(depth + 1)?;
            return Ok(Ion::Annotated(sym, Box::new(v)));
        }
        Ok(match sym.as_str() {
            "true" => Ion::Bool(true),
            "false" => Ion::Bool(false),
            s if s == "null" || s.starts_with("null.") => Ion::Null,
            _ => Ion::Symbol(sym),
        })
    }
}

fn number(text: &str) -> Result<Number, String> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    let t = t.replace(['d', 'D'], "E");
    let t = t.strip_suffix('.').unwrap_or(&t).to_owned();
    Number::parse(&t).map_err(|e| format!("bad number {text}: {e:?}"))
}

fn to_attr(v: Ion) -> Result<AttributeValue, String> {
    Ok(match v {
        Ion::Str(s) | Ion::Symbol(s) => AttributeValue::S(s),
        Ion::Num(n) => AttributeValue::N(number(&n)?),
        Ion::Blob(b) => AttributeValue::B(b),
        Ion::Bool(b) => AttributeValue::Bool(b),
        Ion::Null => AttributeValue::Null,
        Ion::List(l) => AttributeValue::L(l.into_iter().map(to_attr).collect::<Result<_, _>>()?),
        Ion::Struct(f) => AttributeValue::M(to_item(f)?),
        Ion::Annotated(a, inner) => {
            let Ion::List(l) = *inner else {
                return to_attr(*inner);
            };
            match a.as_str() {
                "$dynamodb_SS" => AttributeValue::Ss(
                    l.into_iter()
                        .map(|x| match x {
                            Ion::Str(s) => Ok(s),
                            other => Err(format!("not a string in a string set: {other:?}")),
                        })
                        .collect::<Result<_, String>>()?,
                ),
                "$dynamodb_NS" => AttributeValue::Ns(
                    l.into_iter()
                        .map(|x| match x {
                            Ion::Num(n) => number(&n),
                            other => Err(format!("not a number in a number set: {other:?}")),
                        })
                        .collect::<Result<_, String>>()?,
                ),
                "$dynamodb_BS" => AttributeValue::Bs(
                    l.into_iter()
                        .map(|x| match x {
                            Ion::Blob(b) => Ok(b),
                            other => Err(format!("not a blob in a binary set: {other:?}")),
                        })
                        .collect::<Result<_, String>>()?,
                ),
                _ => AttributeValue::L(l.into_iter().map(to_attr).collect::<Result<_, _>>()?),
            }
        }
    })
}

fn to_item(fields: Vec<(String, Ion)>) -> Result<Item, String> {
    fields
        .into_iter()
        .map(|(k, v)| Ok((k, to_attr(v)?)))
        .collect()
}

/// The item of one export line: `$ion_1_0 {Item:{...}}` (the version marker optional).
pub fn parse_line(line: &str) -> Result<Item, String> {
    let mut p = Parser {
        s: line.as_bytes(),
        i: 0,
    };
    p.skip_ws();
    if p.s.get(p.i..).is_some_and(|r| r.starts_with(b"$ion_1_0")) {
        p.i += 8;
    }
    let v = p.value(0)?;
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(format!("unexpected text after the value at byte {}", p.i));
    }
    let Ion::Struct(fields) = v else {
        return Err("a line must be a struct with an Item field".into());
    };
    let Some((_, item)) = fields.into_iter().find(|(k, _)| k == "Item") else {
        return Err("no Item field".into());
    };
    let Ion::Struct(f) = item else {
        return Err("Item is not a struct".into());
    };
    to_item(f)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_every_type() {
        let json = serde_json::json!({
            "s": {"S": "a \"quoted\"\n line ü"}, "n": {"N": "-12.5"}, "i": {"N": "600"},
            "e": {"N": "1E+30"}, "b": {"B": "AAEC"}, "t": {"BOOL": true}, "z": {"NULL": true},
            "l": {"L": [{"S": "x"}, {"N": "1"}]}, "m": {"M": {"weird key": {"S": ""}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AQ=="]}
        });
        let item: Item = serde_json::from_value(json).unwrap();
        let line = item_line(&item);
        assert!(line.starts_with("$ion_1_0 {Item:{"));
        assert_eq!(parse_line(&line).unwrap(), item);
        // As AWS writes it: bare field names, decimals with exponents.
        let aws = "$ion_1_0 {Item:{PK:\"x\",n:6d2,d:1.50,SS:$dynamodb_SS::[\"q\"]}}";
        let got = parse_line(aws).unwrap();
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            serde_json::json!({
                "PK": {"S": "x"}, "n": {"N": "600"}, "d": {"N": "1.5"}, "SS": {"SS": ["q"]}
            })
        );
        assert!(parse_line("$ion_1_0 {Item:{a:").is_err());
        assert!(parse_line("{NotItem:{}}").is_err());
    }
}
