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

/// Write a stored item straight out as DynamoDB JSON (what `serde_json::to_vec(&item)`
/// gives for the decoded item, byte for byte), without building the item; returns its
/// DynamoDB size ([`crate::item_size`]). GetItem answers this way: decoding, dropping and
/// serializing the item cost about a fifth of the request (callgrind; docs/benchmarks.md).
pub fn item_to_json(buf: &[u8], out: &mut Vec<u8>) -> Result<usize, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    match r.byte()? {
        VERSION => {}
        _ => return Err(DecodeError("unknown format version")),
    }
    let n = r.count()?;
    let mut size = 0;
    out.push(b'{');
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        let k = r.str()?;
        json_str(k, out);
        out.push(b':');
        size += k.len() + r.value_json(0, out)?;
    }
    out.push(b'}');
    if r.pos != buf.len() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(size)
}

fn json_str(s: &str, out: &mut Vec<u8>) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn b64_json(b: &[u8], out: &mut Vec<u8>) {
    use base64::Engine as _;
    out.push(b'"');
    let start = out.len();
    out.resize(start + b.len().div_ceil(3) * 4, 0);
    if let Some(dst) = out.get_mut(start..) {
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(b, dst)
            .unwrap_or(0);
        out.truncate(start + n);
    }
    out.push(b'"');
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

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError("bad utf-8"))
    }

    /// One value as DynamoDB JSON; returns its DynamoDB size (as `AttributeValue::size`).
    fn value_json(&mut self, depth: usize, out: &mut Vec<u8>) -> Result<usize, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("too deep"));
        }
        let tag = self.byte()?;
        let (name, size): (&[u8], usize);
        match tag {
            T_S => {
                out.extend_from_slice(b"{\"S\":");
                let v = self.str()?;
                json_str(v, out);
                size = v.len();
            }
            T_N => {
                out.extend_from_slice(b"{\"N\":");
                let n = self.number()?;
                json_str(&n.to_string(), out);
                size = n.size_bytes();
            }
            T_B => {
                out.extend_from_slice(b"{\"B\":");
                let b = self.bytes()?;
                b64_json(b, out);
                size = b.len();
            }
            T_SS | T_NS | T_BS => {
                name = match tag {
                    T_SS => b"{\"SS\":[",
                    T_NS => b"{\"NS\":[",
                    _ => b"{\"BS\":[",
                };
                out.extend_from_slice(name);
                let n = self.count()?;
                let mut total = 0;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    match tag {
                        T_SS => {
                            let v = self.str()?;
                            json_str(v, out);
                            total += v.len();
                        }
                        T_NS => {
                            let v = self.number()?;
                            json_str(&v.to_string(), out);
                            total += v.size_bytes();
                        }
                        _ => {
                            let v = self.bytes()?;
                            b64_json(v, out);
                            total += v.len();
                        }
                    }
                }
                out.push(b']');
                size = total;
            }
            T_M => {
                out.extend_from_slice(b"{\"M\":{");
                let n = self.count()?;
                let mut total = 3;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    let k = self.str()?;
                    json_str(k, out);
                    out.push(b':');
                    total += k.len() + self.value_json(depth + 1, out)? + 1;
                }
                out.push(b'}');
                size = total;
            }
            T_L => {
                out.extend_from_slice(b"{\"L\":[");
                let n = self.count()?;
                let mut total = 3;
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    total += self.value_json(depth + 1, out)? + 1;
                }
                out.push(b']');
                size = total;
            }
            T_NULL => {
                out.extend_from_slice(b"{\"NULL\":true");
                size = 1;
            }
            T_FALSE => {
                out.extend_from_slice(b"{\"BOOL\":false");
                size = 1;
            }
            T_TRUE => {
                out.extend_from_slice(b"{\"BOOL\":true");
                size = 1;
            }
            _ => return Err(DecodeError("unknown tag")),
        }
        out.push(b'}');
        Ok(size)
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
    fn item_to_json_is_what_serde_writes_and_sizes_agree() {
        let mut items = vec![sample(), Item::new()];
        let tricky = r#"{"q\"uote":{"S":"tab\t nl\n \u0001 é 😀 \\ /"},"e":{"S":""},
            "n":{"NS":["1E+125","-1E-130","0"]},"big":{"N":"99999999999999999999999999999999999999"},
            "bb":{"B":""},"deep":{"M":{"l":{"L":[{"L":[]},{"M":{"z":{"NULL":true}}},{"SS":["x\"y"]}]}}}}"#;
        items.push(serde_json::from_str(tricky).unwrap());
        for item in items {
            let mut out = Vec::new();
            let size = item_to_json(&encode_item(&item), &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&item).unwrap()
            );
            assert_eq!(size, crate::item_size(&item));
        }
        let mut out = Vec::new();
        assert!(item_to_json(&[9, 0], &mut out).is_err());
        assert!(item_to_json(&[1, 1, 1, b'a', 200], &mut out).is_err());
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
        let mut out = Vec::new();
        for cut in 0..enc.len() {
            let _ = decode_item(enc.get(..cut).unwrap());
            assert!(item_to_json(enc.get(..cut).unwrap(), &mut out).is_err());
        }
        let mut x = enc.clone();
        for i in 0..x.len() {
            let old = x[i];
            x[i] = old.wrapping_add(0x55);
            // Both readers agree on what is corrupt.
            assert_eq!(decode_item(&x).is_ok(), item_to_json(&x, &mut out).is_ok());
            x[i] = old;
        }
        assert!(decode_item(&[2]).is_err());
    }
}
