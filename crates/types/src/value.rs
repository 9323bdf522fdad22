//! `AttributeValue`, `Item`, their DynamoDB JSON form and DynamoDB's size rules.
//!
//! JSON decoding distinguishes two kinds of failure, because DynamoDB reports them
//! differently: a member of the wrong JSON type is a `SerializationException`, while a
//! well-formed but invalid value (an empty `{}`, two type descriptors, a malformed number,
//! an empty or duplicated set) is a `ValidationException`. The deserializer raises the latter
//! as a serde custom error whose text starts with [`VALIDATION_MARKER`]; the protocol crate
//! turns it into the right error type.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use base64::Engine as _;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::number::Number;

/// An item: attribute name to value. Ordered so that encodings are deterministic.
pub type Item = BTreeMap<String, AttributeValue>;

/// Prefix of serde custom errors that are DynamoDB validation failures, not shape errors.
pub const VALIDATION_MARKER: &str = "\u{1}VALIDATION:";

/// One DynamoDB attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    M(Item),
    L(Vec<AttributeValue>),
    Null,
    Bool(bool),
}

/// The type descriptor of a value, as DynamoDB spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }
}

impl AttributeValue {
    /// The type descriptor ("S", "N", "SS", "NULL", ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Null => "NULL",
            AttributeValue::Bool(_) => "BOOL",
        }
    }

    /// The scalar type if this value could be a key attribute.
    pub fn scalar_type(&self) -> Option<ScalarType> {
        match self {
            AttributeValue::S(_) => Some(ScalarType::S),
            AttributeValue::N(_) => Some(ScalarType::N),
            AttributeValue::B(_) => Some(ScalarType::B),
            _ => None,
        }
    }

    /// DynamoDB's size of this value in bytes (without the attribute name).
    ///
    /// From the Developer Guide ("Item sizes and formats"): strings and binaries are
    /// their length in bytes, numbers follow [`Number::size_bytes`], BOOL and NULL are 1
    /// byte, sets are the sum of their elements, and a List or Map costs 3 bytes of
    /// overhead plus 1 byte per element, plus its elements (and, for maps, the keys).
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.size_bytes(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
            AttributeValue::Ns(v) => v.iter().map(Number::size_bytes).sum(),
            AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::Null | AttributeValue::Bool(_) => 1,
        }
    }
}

/// DynamoDB's size of an item: the sum of attribute name lengths and value sizes.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

// ---------------------------------------------------------------------------------------
// JSON encoding

struct Base64<'a>(&'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(v) => map.serialize_entry("S", v)?,
            AttributeValue::N(n) => map.serialize_entry("N", &n.to_string())?,
            AttributeValue::B(b) => map.serialize_entry("B", &Base64(b))?,
            AttributeValue::Ss(v) => map.serialize_entry("SS", v)?,
            AttributeValue::Ns(v) => {
                let v: Vec<String> = v.iter().map(Number::to_string).collect();
                map.serialize_entry("NS", &v)?
            }
            AttributeValue::Bs(v) => {
                let v: Vec<Base64<'_>> = v.iter().map(|b| Base64(b)).collect();
                map.serialize_entry("BS", &v)?
            }
            AttributeValue::M(m) => map.serialize_entry("M", m)?,
            AttributeValue::L(l) => map.serialize_entry("L", l)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------------------
// JSON decoding

fn validation<E: de::Error>(msg: impl fmt::Display) -> E {
    E::custom(format_args!("{VALIDATION_MARKER}{msg}"))
}

fn decode_b64<E: de::Error>(s: &str) -> Result<Vec<u8>, E> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| {
            E::custom("Base64 encoded length is expected a multiple of 4 bytes but found a different length")
        })
}

fn parse_number<E: de::Error>(s: &str) -> Result<Number, E> {
    Number::parse(s).map_err(|e| match e {
        crate::NumberError::Invalid if !s.is_empty() => validation(format_args!("{e}: {s}")),
        _ => validation(e),
    })
}

/// A string set element list, checked for emptiness and duplicates.
fn check_set<E: de::Error, T: std::hash::Hash + Eq + fmt::Debug>(
    items: &[T],
    kind: &str,
    show: impl Fn(&T) -> String,
) -> Result<(), E> {
    if items.is_empty() {
        return Err(validation(if kind == "binary" {
            "One or more parameter values were invalid: Binary sets should not be empty".to_owned()
        } else {
            format!("One or more parameter values were invalid: An {kind} set  may not be empty")
        }));
    }
    let mut seen = HashSet::with_capacity(items.len());
    for x in items {
        if !seen.insert(x) {
            if kind == "number" {
                // DynamoDB words number sets differently (equal values, not equal text).
                return Err(validation("Input collection contains duplicates"));
            }
            let shown: Vec<String> = items.iter().map(&show).collect();
            let of_type = if kind == "binary" { "of type BS " } else { " " };
            return Err(validation(format_args!(
                "One or more parameter values were invalid: Input collection [{}]{of_type}contains duplicates.",
                shown.join(", ")
            )));
        }
    }
    Ok(())
}

/// A string borrowed from the input when it holds no escapes (serde's own `Cow<str>`
/// always allocates): attribute type keys, numbers and base64 are read without a copy.
struct Text<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

struct NumbersSeed;

impl<'de> de::DeserializeSeed<'de> for NumbersSeed {
    type Value = Vec<Number>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let raw: Vec<Text<'de>> = Deserialize::deserialize(d)?;
        raw.iter().map(|s| parse_number(&s.0)).collect()
    }
}

struct BinariesSeed;

impl<'de> de::DeserializeSeed<'de> for BinariesSeed {
    type Value = Vec<Vec<u8>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let raw: Vec<Text<'de>> = Deserialize::deserialize(d)?;
        raw.iter().map(|s| decode_b64(&s.0)).collect()
    }
}

struct AvVisitor;

impl<'de> Visitor<'de> for AvVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AttributeValue object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let mut found: Option<AttributeValue> = None;
        let mut count = 0usize;
        // DynamoDB checks the shape of every member before it judges the value; we record
        // the first semantic fault and report it after the whole object has been read.
        let mut fault: Option<A::Error> = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            let value = match key.0.as_ref() {
                "S" => AttributeValue::S(map.next_value()?),
                "N" => {
                    let s: Text<'de> = map.next_value()?;
                    match parse_number(&s.0) {
                        Ok(n) => AttributeValue::N(n),
                        Err(e) => {
                            fault.get_or_insert(e);
                            AttributeValue::Null
                        }
                    }
                }
                "B" => {
                    let s: Text<'de> = map.next_value()?;
                    AttributeValue::B(decode_b64(&s.0)?)
                }
                "SS" => {
                    let v: Vec<String> = map.next_value()?;
                    if let Err(e) = check_set(&v, "string", |s| s.clone()) {
                        fault.get_or_insert(e);
                    }
                    AttributeValue::Ss(v)
                }
                "NS" => match map.next_value_seed(NumbersSeed) {
                    Ok(v) => {
                        if let Err(e) = check_set(&v, "number", |n| n.to_string()) {
                            fault.get_or_insert(e);
                        }
                        AttributeValue::Ns(v)
                    }
                    Err(e) => return Err(e),
                },
                "BS" => {
                    let v = map.next_value_seed(BinariesSeed)?;
                    if let Err(e) = check_set(&v, "binary", |b| {
                        base64::engine::general_purpose::STANDARD.encode(b)
                    }) {
                        fault.get_or_insert(e);
                    }
                    AttributeValue::Bs(v)
                }
                "M" => AttributeValue::M(map.next_value()?),
                "L" => AttributeValue::L(map.next_value()?),
                "NULL" => {
                    let b: bool = map.next_value()?;
                    if !b {
                        fault.get_or_insert(validation(
                            "One or more parameter values were invalid: Null attribute value types must have the value of true",
                        ));
                    }
                    AttributeValue::Null
                }
                "BOOL" => AttributeValue::Bool(map.next_value()?),
                _ => {
                    // Unknown members are ignored, as DynamoDB's JSON decoder ignores them.
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
            };
            count += 1;
            found = Some(value);
        }
        if let Some(e) = fault {
            return Err(e);
        }
        match (count, found) {
            (1, Some(v)) => Ok(v),
            (0, _) | (_, None) => Err(validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            )),
            _ => Err(validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(AvVisitor)
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

    fn parse(s: &str) -> Result<AttributeValue, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn round_trip_all_types() {
        let src = r#"{"M":{"s":{"S":"x"},"n":{"N":"1.50"},"b":{"B":"AAE="},"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AA=="]},"l":{"L":[{"NULL":true},{"BOOL":false}]}}}"#;
        let v = parse(src).unwrap();
        let out = serde_json::to_string(&v).unwrap();
        assert!(out.contains(r#""n":{"N":"1.5"}"#), "{out}");
        assert_eq!(parse(&out).unwrap(), v);
    }

    #[test]
    fn validation_vs_serialization() {
        assert!(parse(r#"{}"#).unwrap_err().contains(VALIDATION_MARKER));
        assert!(parse(r#"{"S":"a","N":"1"}"#)
            .unwrap_err()
            .contains("more than one"));
        assert!(parse(r#"{"SS":[]}"#)
            .unwrap_err()
            .contains("may not be empty"));
        assert!(parse(r#"{"SS":["a","a"]}"#)
            .unwrap_err()
            .contains("duplicates"));
        assert!(parse(r#"{"NS":["1","1.0"]}"#)
            .unwrap_err()
            .contains("duplicates"));
        assert!(parse(r#"{"N":"abc"}"#)
            .unwrap_err()
            .contains(VALIDATION_MARKER));
        // wrong JSON type: a shape error, no marker
        assert!(!parse(r#"{"S":5}"#).unwrap_err().contains(VALIDATION_MARKER));
        assert!(!parse(r#"[]"#).unwrap_err().contains(VALIDATION_MARKER));
    }

    #[test]
    fn sizes() {
        let mut item = Item::new();
        item.insert("ab".into(), AttributeValue::S("xyz".into()));
        item.insert("c".into(), AttributeValue::Bool(true));
        assert_eq!(item_size(&item), 2 + 3 + 1 + 1);
        let l = AttributeValue::L(vec![AttributeValue::S("a".into()), AttributeValue::Null]);
        assert_eq!(l.size(), 3 + (1 + 1) + (1 + 1));
    }
}
