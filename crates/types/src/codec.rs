//! Compact binary encoding of items, the form in which items are stored.
//!
//! Format version 1: a version byte, then the attribute count and, per attribute, its name
//! and a tagged value. Lengths are LEB128 varints; numbers use the order-preserving,
//! prefix-free [`Number::encode_key`] form. The format is versioned by its first byte so a
//! later format can be read beside this one.

use crate::number::Number;
use crate::value::{AttributeValue, Item};

const VERSION: u8 = 1;

const T_S: u8 = 0;
const T_N: u8 = 1;
const T_B: u8 = 2;
const T_SS: u8 = 3;
const T_NS: u8 = 4;
const T_BS: u8 = 5;
const T_M: u8 = 6;
const T_L: u8 = 7;
const T_NULL: u8 = 8;
const T_FALSE: u8 = 9;
const T_TRUE: u8 = 10;

/// Nesting deeper than this is refused when decoding (DynamoDB allows 32 levels).
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt stored item: {0}")]
pub struct DecodeError(&'static str);

/// Encode an item.
pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    encode_map(item, &mut out);
    out
}

/// Decode an item produced by [`encode_item`].
pub fn decode_item(buf: &[u8]) -> Result<Item, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    match r.byte()? {
        VERSION => {}
        _ => return Err(DecodeError("unknown format version")),
    }
    let item = r.map(0)?;
    if r.pos != buf.len() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(item)
}

fn varint(mut v: usize, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    varint(b.len(), out);
    out.extend_from_slice(b);
}

fn encode_map(m: &Item, out: &mut Vec<u8>) {
    varint(m.len(), out);
    for (k, v) in m {
        bytes(k.as_bytes(), out);
        encode_value(v, out);
    }
}

fn encode_value(v: &AttributeValue, out: &mut Vec<u8>) {
    match v {
        AttributeValue::S(s) => {
            out.push(T_S);
            bytes(s.as_bytes(), out);
        }
        AttributeValue::N(n) => {
            out.push(T_N);
            n.encode_key(out);
        }
        AttributeValue::B(b) => {
            out.push(T_B);
            bytes(b, out);
        }
        AttributeValue::Ss(v) => {
            out.push(T_SS);
            varint(v.len(), out);
            for s in v {
                bytes(s.as_bytes(), out);
            }
        }
        AttributeValue::Ns(v) => {
            out.push(T_NS);
            varint(v.len(), out);
            for n in v {
                n.encode_key(out);
            }
        }
        AttributeValue::Bs(v) => {
            out.push(T_BS);
            varint(v.len(), out);
            for b in v {
                bytes(b, out);
            }
        }
        AttributeValue::M(m) => {
            out.push(T_M);
            encode_map(m, out);
        }
        AttributeValue::L(l) => {
            out.push(T_L);
            varint(l.len(), out);
            for x in l {
                encode_value(x, out);
            }
        }
        AttributeValue::Null => out.push(T_NULL),
        AttributeValue::Bool(false) => out.push(T_FALSE),
        AttributeValue::Bool(true) => out.push(T_TRUE),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<usize, DecodeError> {
        let mut v: usize = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("bad varint"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.varint()?;
        let end = self.pos.checked_add(n).ok_or(DecodeError("bad length"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        std::str::from_utf8(self.bytes()?)
            .map(str::to_owned)
            .map_err(|_| DecodeError("bad utf-8"))
    }

    fn number(&mut self) -> Result<Number, DecodeError> {
        let rest = self.buf.get(self.pos..).ok_or(DecodeError("truncated"))?;
        let (n, used) = Number::decode_key(rest).ok_or(DecodeError("bad number"))?;
        self.pos += used;
        Ok(n)
    }

    /// A count of elements, bounded by the bytes left (each element takes at least one).
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        if n > self.buf.len().saturating_sub(self.pos) {
            return Err(DecodeError("bad count"));
        }
        Ok(n)
    }

    fn map(&mut self, depth: usize) -> Result<Item, DecodeError> {
        let n = self.count()?;
        let mut m = Item::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.value(depth + 1)?;
            m.insert(k, v);
        }
        Ok(m)
    }

    fn value(&mut self, depth: usize) -> Result<AttributeValue, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("too deep"));
        }
        Ok(match self.byte()? {
            T_S => AttributeValue::S(self.string()?),
            T_N => AttributeValue::N(self.number()?),
            T_B => AttributeValue::B(self.bytes()?.to_vec()),
            T_SS => {
                let n = self.count()?;
                AttributeValue::Ss((0..n).map(|_| self.string()).collect::<Result<_, _>>()?)
            }
            T_NS => {
                let n = self.count()?;
                AttributeValue::Ns((0..n).map(|_| self.number()).collect::<Result<_, _>>()?)
            }
            T_BS => {
                let n = self.count()?;
                AttributeValue::Bs(
                    (0..n)
                        .map(|_| self.bytes().map(<[u8]>::to_vec))
                        .collect::<Result<_, _>>()?,
                )
            }
            T_M => AttributeValue::M(self.map(depth)?),
            T_L => {
                let n = self.count()?;
                AttributeValue::L(
                    (0..n)
                        .map(|_| self.value(depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            }
            T_NULL => AttributeValue::Null,
            T_FALSE => AttributeValue::Bool(false),
            T_TRUE => AttributeValue::Bool(true),
            _ => return Err(DecodeError("unknown tag")),
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]
mod tests {
    use super::*;

    fn sample() -> Item {
        let json = r#"{"s":{"S":"héllo"},"n":{"N":"-12.5e3"},"b":{"B":"AAEC"},"ss":{"SS":["a","b"]},
            "ns":{"NS":["1","0.001","-7"]},"bs":{"BS":["AA==","AQ=="]},"nul":{"NULL":true},"t":{"BOOL":true},
            "f":{"BOOL":false},"m":{"M":{"x":{"L":[{"N":"1"},{"M":{}},{"S":""}]}}}}"#;
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn round_trip() {
        let item = sample();
        let enc = encode_item(&item);
        assert_eq!(decode_item(&enc).unwrap(), item);
    }

    /// Fixture: version 1 bytes must keep decoding to the same item forever.
    #[test]
    fn version_1_fixture() {
        let mut item = Item::new();
        item.insert("k".into(), AttributeValue::S("v".into()));
        item.insert("t".into(), AttributeValue::Bool(true));
        assert_eq!(
            encode_item(&item),
            vec![1, 2, 1, b'k', T_S, 1, b'v', 1, b't', T_TRUE]
        );
        assert_eq!(
            decode_item(&[1, 2, 1, b'k', T_S, 1, b'v', 1, b't', T_TRUE]).unwrap(),
            item
        );
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let enc = encode_item(&sample());
        for cut in 0..enc.len() {
            let _ = decode_item(enc.get(..cut).unwrap());
        }
        let mut x = enc.clone();
        for i in 0..x.len() {
            let old = x[i];
            x[i] = old.wrapping_add(0x55);
            let _ = decode_item(&x);
            x[i] = old;
        }
        assert!(decode_item(&[2]).is_err());
    }
}
