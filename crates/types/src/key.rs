//! Key schemas and the order-preserving storage encoding of item keys.
//!
//! Key encoding, version 1 (recorded by the engine in its catalog):
//!
//! ```text
//! item key = fnv1a32(partition part) as 4 big-endian bytes | partition part | sort part
//! part     = one encoded value per key attribute, each prefix-free:
//!            S, B: the bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01
//!            N:    Number::encode_key (sign, biased exponent, base-100 digits)
//! ```
//!
//! The hash prefix spreads partitions over the keyspace (and makes parallel Scan segments
//! plain key ranges); within one partition the byte order of the sort part equals DynamoDB's
//! sort order (numeric for N, UTF-8 / unsigned bytes for S and B), so a Query is one
//! range scan.

use serde::{Deserialize, Serialize};

use crate::value::{AttributeValue, Item, ScalarType};

/// One key attribute: its name and scalar type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub ty: ScalarType,
}

/// A primary key schema: a partition key and an optional sort key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
}

/// Why an item's key does not fit a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// A key attribute is absent.
    Missing(String),
    /// A key attribute has the wrong type: (name, expected, actual).
    WrongType(String, ScalarType, &'static str),
    /// A string or binary key attribute is empty.
    Empty(String),
}

impl KeySchema {
    /// Names of the key attributes, partition key first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.name.as_str()).chain(self.range.iter().map(|r| r.name.as_str()))
    }

    pub fn is_key(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// Check that `item` carries every key attribute with the right type and encode its key.
    pub fn encode_item_key(&self, item: &Item) -> Result<Vec<u8>, KeyError> {
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&[0; 4]);
        let h = check(&self.hash, item.get(&self.hash.name))?;
        encode_part(h, &mut out);
        let hash = fnv1a32(out.get(4..).unwrap_or_default());
        if let Some(r) = &self.range {
            encode_part(check(r, item.get(&r.name))?, &mut out);
        }
        out.splice(0..4, hash.to_be_bytes());
        Ok(out)
    }

    /// The storage-key prefix shared by every item of one partition: the hash prefix and
    /// the encoded partition value.
    pub fn partition_prefix(&self, hash: &AttributeValue) -> Vec<u8> {
        let mut part = Vec::with_capacity(16);
        encode_part(hash, &mut part);
        let mut out = Vec::with_capacity(part.len() + 4);
        out.extend_from_slice(&fnv1a32(&part).to_be_bytes());
        out.extend_from_slice(&part);
        out
    }

    /// The key attributes of `item` (for ReturnValues, LastEvaluatedKey, ...).
    pub fn project_key(&self, item: &Item) -> Item {
        self.names()
            .filter_map(|n| item.get(n).map(|v| (n.to_owned(), v.clone())))
            .collect()
    }
}

fn check<'a>(
    attr: &KeyAttr,
    v: Option<&'a AttributeValue>,
) -> Result<&'a AttributeValue, KeyError> {
    let v = v.ok_or_else(|| KeyError::Missing(attr.name.clone()))?;
    match (attr.ty, v) {
        (ScalarType::S, AttributeValue::S(s)) if s.is_empty() => {
            Err(KeyError::Empty(attr.name.clone()))
        }
        (ScalarType::B, AttributeValue::B(b)) if b.is_empty() => {
            Err(KeyError::Empty(attr.name.clone()))
        }
        (ScalarType::S, AttributeValue::S(_))
        | (ScalarType::N, AttributeValue::N(_))
        | (ScalarType::B, AttributeValue::B(_)) => Ok(v),
        _ => Err(KeyError::WrongType(
            attr.name.clone(),
            attr.ty,
            v.type_name(),
        )),
    }
}

/// Encode one key value (S, N or B) in the prefix-free, order-preserving form.
pub fn encode_part(v: &AttributeValue, out: &mut Vec<u8>) {
    match v {
        AttributeValue::S(s) => escape(s.as_bytes(), out),
        AttributeValue::B(b) => escape(b, out),
        AttributeValue::N(n) => n.encode_key(out),
        // Only scalar values are ever key parts; the schema check runs first.
        _ => {}
    }
}

/// Encode the start of an S or B key value without its terminator: every encoded value
/// that begins with `v` starts with these bytes (for `begins_with` ranges).
pub fn encode_prefix_part(v: &AttributeValue, out: &mut Vec<u8>) {
    let b = match v {
        AttributeValue::S(s) => s.as_bytes(),
        AttributeValue::B(b) => b.as_slice(),
        _ => return,
    };
    for &x in b {
        out.push(x);
        if x == 0 {
            out.push(0xff);
        }
    }
}

/// The smallest byte string greater than every string that starts with `prefix`, or
/// `None` if there is none (the prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

fn escape(b: &[u8], out: &mut Vec<u8>) {
    for &x in b {
        out.push(x);
        if x == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// FNV-1a, 32 bits: a fixed, portable hash (the prefix is part of the on-disk format).
pub fn fnv1a32(b: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &x in b {
        h ^= u32::from(x);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
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
    use crate::number::Number;

    fn schema(range: Option<ScalarType>) -> KeySchema {
        KeySchema {
            hash: KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range: range.map(|ty| KeyAttr {
                name: "sk".into(),
                ty,
            }),
        }
    }

    fn item(pk: &str, sk: AttributeValue) -> Item {
        let mut i = Item::new();
        i.insert("pk".into(), AttributeValue::S(pk.into()));
        i.insert("sk".into(), sk);
        i
    }

    #[test]
    fn sort_order_within_partition() {
        let s = schema(Some(ScalarType::N));
        let nums = [
            "-100", "-1.5", "-1", "0", "0.001", "1", "1.5", "2", "10", "1e20",
        ];
        let keys: Vec<Vec<u8>> = nums
            .iter()
            .map(|n| {
                s.encode_item_key(&item("p", AttributeValue::N(Number::parse(n).unwrap())))
                    .unwrap()
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let s = schema(Some(ScalarType::S));
        let strs = ["", "\u{0}", "\u{0}a", "a", "a\u{0}", "ab", "b", "é"];
        let keys: Vec<Vec<u8>> = strs
            .iter()
            .skip(1)
            .map(|x| {
                s.encode_item_key(&item("p", AttributeValue::S((*x).into())))
                    .unwrap()
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn partition_prefix_free() {
        // ("a", "\0b") and ("a\0", "b") must differ.
        let s = KeySchema {
            hash: KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range: Some(KeyAttr {
                name: "sk".into(),
                ty: ScalarType::S,
            }),
        };
        let a = s
            .encode_item_key(&item("a", AttributeValue::S("\u{0}b".into())))
            .unwrap();
        let b = s
            .encode_item_key(&item("a\u{0}", AttributeValue::S("b".into())))
            .unwrap();
        assert_ne!(a, b);
    }

    /// Fixture: version 1 of the key encoding must never change.
    #[test]
    fn version_1_fixture() {
        let s = schema(None);
        let k = s
            .encode_item_key(&item("ab", AttributeValue::Null))
            .unwrap();
        let body = [b'a', b'b', 0, 1];
        let mut want = fnv1a32(&body).to_be_bytes().to_vec();
        want.extend_from_slice(&body);
        assert_eq!(k, want);
    }

    #[test]
    fn schema_errors() {
        let s = schema(Some(ScalarType::N));
        assert_eq!(
            s.encode_item_key(&item("p", AttributeValue::S("x".into()))),
            Err(KeyError::WrongType("sk".into(), ScalarType::N, "S"))
        );
        assert_eq!(
            s.encode_item_key(&Item::new()),
            Err(KeyError::Missing("pk".into()))
        );
        assert_eq!(
            s.encode_item_key(&item("", AttributeValue::N(Number::ZERO))),
            Err(KeyError::Empty("pk".into()))
        );
    }
}
