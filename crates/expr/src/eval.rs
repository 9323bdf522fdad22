//! Evaluation: document paths, comparisons, conditions and projections.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use base64::Engine as _;
use ferrodyn_types::{AttributeValue, Item, Number};

use crate::ast::*;

/// The value at `path` in `item`, if there is one.
pub fn get<'a>(item: &'a Item, path: &Path) -> Option<&'a AttributeValue> {
    let mut steps = path.0.iter();
    let mut cur = match steps.next()? {
        Step::Attr(a) => item.get(a)?,
        Step::Index(_) => return None,
    };
    for s in steps {
        cur = match (s, cur) {
            (Step::Attr(a), AttributeValue::M(m)) => m.get(a)?,
            (Step::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Order of two values of the same scalar type (N numerically, S and B by unsigned
/// bytes); `None` for different or non-scalar types.
pub fn compare(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.as_slice().cmp(y.as_slice())),
        _ => None,
    }
}

fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// DynamoDB equality: same type and value; sets compare as sets, at any depth.
pub fn equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (a, b) {
        (V::Ss(x), V::Ss(y)) => same_set(x, y),
        (V::Ns(x), V::Ns(y)) => same_set(x, y),
        (V::Bs(x), V::Bs(y)) => same_set(x, y),
        (V::L(x), V::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (V::M(x), V::M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// What `size()` returns for a value, if it has a size. A string's size is its length in
/// UTF-16 code units, as DynamoDB (a Java service) counts it.
pub fn size_of(v: &AttributeValue) -> Option<usize> {
    use AttributeValue as V;
    match v {
        V::S(s) => Some(s.encode_utf16().count()),
        V::B(b) => Some(b.len()),
        V::Ss(x) => Some(x.len()),
        V::Ns(x) => Some(x.len()),
        V::Bs(x) => Some(x.len()),
        V::M(m) => Some(m.len()),
        V::L(l) => Some(l.len()),
        V::N(_) | V::Bool(_) | V::Null => None,
    }
}

fn operand<'a>(item: &'a Item, o: &'a Operand) -> Option<Cow<'a, AttributeValue>> {
    match o {
        Operand::Path(p) => get(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(p) => {
            let n = size_of(get(item, p)?)?;
            Some(Cow::Owned(AttributeValue::N(Number::from_i64(
                i64::try_from(n).unwrap_or(i64::MAX),
            ))))
        }
    }
}

fn cmp_holds(op: CmpOp, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        // A missing operand is unequal to everything and in no order.
        _ => return op == CmpOp::Ne,
    };
    match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        CmpOp::Lt => compare(a, b) == Some(Ordering::Less),
        CmpOp::Le => matches!(compare(a, b), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => compare(a, b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(compare(a, b), Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// Whether `needle` is in `hay` as `contains()` means it.
pub fn contains(hay: &AttributeValue, needle: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (hay, needle) {
        (V::S(h), V::S(n)) => h.contains(n.as_str()),
        (V::B(h), V::B(n)) => n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice()),
        (V::Ss(h), V::S(n)) => h.contains(n),
        (V::Ns(h), V::N(n)) => h.contains(n),
        (V::Bs(h), V::B(n)) => h.contains(n),
        (V::L(h), n) => h.iter().any(|x| equal(x, n)),
        _ => false,
    }
}

/// Whether `v` starts with `prefix` (S with S, B with B).
pub fn begins_with(v: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (v, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
        _ => false,
    }
}

/// Evaluate a condition against an item (an absent item is the empty item).
pub fn eval(c: &Cond, item: &Item) -> bool {
    match c {
        Cond::Cmp(op, a, b) => {
            let a = operand(item, a);
            let b = operand(item, b);
            cmp_holds(*op, a.as_deref(), b.as_deref())
        }
        Cond::Between(x, lo, hi) => {
            let (Some(x), Some(lo), Some(hi)) =
                (operand(item, x), operand(item, lo), operand(item, hi))
            else {
                return false;
            };
            matches!(compare(&lo, &x), Some(Ordering::Less | Ordering::Equal))
                && matches!(compare(&x, &hi), Some(Ordering::Less | Ordering::Equal))
        }
        Cond::In(x, list) => {
            let Some(x) = operand(item, x) else {
                return false;
            };
            list.iter()
                .any(|o| operand(item, o).is_some_and(|v| equal(&x, &v)))
        }
        Cond::And(a, b) => eval(a, item) && eval(b, item),
        Cond::Or(a, b) => eval(a, item) || eval(b, item),
        Cond::Not(a) => !eval(a, item),
        Cond::Exists(p) => get(item, p).is_some(),
        Cond::NotExists(p) => get(item, p).is_none(),
        Cond::Type(p, t) => match (get(item, p), operand(item, t)) {
            (Some(v), Some(t)) => matches!(&*t, AttributeValue::S(s) if s == v.type_name()),
            _ => false,
        },
        Cond::BeginsWith(a, b) => match (operand(item, a), operand(item, b)) {
            (Some(a), Some(b)) => begins_with(&a, &b),
            _ => false,
        },
        Cond::Contains(a, b) => match (operand(item, a), operand(item, b)) {
            (Some(a), Some(b)) => contains(&a, &b),
            _ => false,
        },
    }
}

enum Node {
    Leaf(AttributeValue),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

impl Node {
    fn into_value(self) -> AttributeValue {
        match self {
            Node::Leaf(v) => v,
            Node::Map(m) => {
                AttributeValue::M(m.into_iter().map(|(k, n)| (k, n.into_value())).collect())
            }
            Node::List(l) => AttributeValue::L(l.into_values().map(Node::into_value).collect()),
        }
    }
}

fn insert(node: &mut Node, steps: &[Step], v: AttributeValue) {
    let Some((first, rest)) = steps.split_first() else {
        return;
    };
    let child = match (node, first) {
        (Node::Map(m), Step::Attr(a)) => m.entry(a.clone()),
        (Node::List(l), Step::Index(i)) => {
            let e = l.entry(*i);
            return match rest.first() {
                None => {
                    e.or_insert(Node::Leaf(v));
                }
                Some(next) => insert(e.or_insert_with(|| empty_for(next)), rest, v),
            };
        }
        _ => return,
    };
    match rest.first() {
        None => {
            child.or_insert(Node::Leaf(v));
        }
        Some(next) => insert(child.or_insert_with(|| empty_for(next)), rest, v),
    }
}

fn empty_for(step: &Step) -> Node {
    match step {
        Step::Attr(_) => Node::Map(BTreeMap::new()),
        Step::Index(_) => Node::List(BTreeMap::new()),
    }
}

/// The parts of `item` named by `paths`, nested as in the item; list elements keep their
/// relative order.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root = Node::Map(BTreeMap::new());
    for p in paths {
        if let Some(v) = get(item, p) {
            insert(&mut root, &p.0, v.clone());
        }
    }
    match root.into_value() {
        AttributeValue::M(m) => m,
        _ => Item::new(),
    }
}

/// A value as DynamoDB prints it in BETWEEN messages: `{N:5}`.
pub fn short_repr(v: &AttributeValue) -> String {
    let full = java_repr(v);
    let inner = full
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix(",}"))
        .unwrap_or(&full);
    format!("{{{}}}", inner.replacen(": ", ":", 1))
}

/// A value as DynamoDB's Java service prints it in some messages: `{N: 5,}`.
pub fn java_repr(v: &AttributeValue) -> String {
    use AttributeValue as V;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match v {
        V::S(s) => format!("{{S: {s},}}"),
        V::N(n) => format!("{{N: {n},}}"),
        V::B(b) => format!("{{B: {},}}", b64(b)),
        V::Ss(x) => format!("{{SS: [{}],}}", x.join(", ")),
        V::Ns(x) => format!(
            "{{NS: [{}],}}",
            x.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        V::Bs(x) => format!(
            "{{BS: [{}],}}",
            x.iter().map(|b| b64(b)).collect::<Vec<_>>().join(", ")
        ),
        V::M(m) => format!(
            "{{M: {{{}}},}}",
            m.iter()
                .map(|(k, v)| format!("{k}={}", java_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        V::L(l) => format!(
            "{{L: [{}],}}",
            l.iter().map(java_repr).collect::<Vec<_>>().join(", ")
        ),
        V::Null => "{NULL: true,}".to_owned(),
        V::Bool(b) => format!("{{BOOL: {b},}}"),
    }
}
