//! A process-wide cache of parsed expressions.
//!
//! Parsing an expression costs microseconds (tokens, reserved words, DynamoDB's ordered
//! checks); evaluating one costs a fraction of that, and clients send the same few
//! expressions over and over with different values. The parser resolves `:value`
//! placeholders into the tree, so a cached tree is a *template*: each value leaf remembers
//! the placeholder it came from, and a hit copies the template with the request's values
//! put back in.
//!
//! What a parse depends on, and so what the key holds: the kind of expression, its text,
//! the whole ExpressionAttributeNames map, and the *type* of every ExpressionAttributeValues
//! entry (the parser's value checks are type checks: ADD/DELETE operands, `+`/`-`,
//! list_append, begins_with, ordered comparisons, BETWEEN bound types). The checks that
//! look at a value's content are handled apart:
//! * BETWEEN's `lower <= upper` and attribute_type's type name are checked again on every
//!   hit; if one would fail, the expression is parsed in full, which gives the exact error;
//! * `size(:v)`, folded to a number at parse time, makes an expression uncacheable.
//!
//! Only successful parses are cached; an error is always produced by the parser itself.
//! A tree is cached only when every value leaf matches exactly one placeholder of the
//! request (two placeholders with equal values make the template ambiguous; the next
//! request with different values caches it). Bounded by weight (about the bytes held),
//! evicted by quick_cache's policy.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use ferrodyn_types::{AttributeValue, Item};
use rustc_hash::FxHasher;

use crate::ast::{Action, Cond, Operand, Path, SetOperand, SetValue, Update};
use crate::parser::{ExprKind, TYPE_NAMES};

/// Bytes (approximately) the cache may hold.
const WEIGHT_CAPACITY: u64 = 16 << 20;
/// Expected number of entries (sizes the shards).
const ESTIMATED_ENTRIES: usize = 4096;

/// A parse result of any kind.
#[derive(Clone, Debug)]
pub(crate) enum Parsed {
    Cond(Cond),
    Update(Update),
    Projection(Vec<Path>),
}

/// One cached expression: the full key (checked on every hit, the map is keyed by its
/// hash) and the template.
#[derive(Debug)]
pub(crate) struct Entry {
    kind: ExprKind,
    src: Box<str>,
    /// The ExpressionAttributeNames map, whole.
    names: Vec<(String, String)>,
    /// Every ExpressionAttributeValues placeholder with the type of its value.
    value_types: Vec<(String, u8)>,
    template: Parsed,
    /// The placeholder of each value leaf, in [`visit_values`] order.
    slots: Vec<String>,
    /// The `#name` and `:value` placeholders the expression uses.
    pub(crate) used_names: Vec<String>,
    pub(crate) used_values: Vec<String>,
    weight: u64,
}

#[derive(Clone)]
struct ByWeight;

impl quick_cache::Weighter<u64, Arc<Entry>> for ByWeight {
    fn weight(&self, _key: &u64, val: &Arc<Entry>) -> u64 {
        val.weight
    }
}

/// The cache. One per process is enough ([`ExprCache::global`]); it is safe to share
/// between threads.
pub struct ExprCache {
    map: quick_cache::sync::Cache<u64, Arc<Entry>, ByWeight>,
}

impl Default for ExprCache {
    fn default() -> Self {
        ExprCache::new()
    }
}

impl std::fmt::Debug for ExprCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExprCache")
            .field("entries", &self.map.len())
            .finish()
    }
}

fn type_tag(v: &AttributeValue) -> u8 {
    match v {
        AttributeValue::S(_) => 0,
        AttributeValue::N(_) => 1,
        AttributeValue::B(_) => 2,
        AttributeValue::Ss(_) => 3,
        AttributeValue::Ns(_) => 4,
        AttributeValue::Bs(_) => 5,
        AttributeValue::M(_) => 6,
        AttributeValue::L(_) => 7,
        AttributeValue::Null => 8,
        AttributeValue::Bool(_) => 9,
    }
}

fn kind_tag(k: ExprKind) -> u8 {
    match k {
        ExprKind::Condition => 0,
        ExprKind::Filter => 1,
        ExprKind::KeyCondition => 2,
        ExprKind::Update => 3,
        ExprKind::Projection => 4,
    }
}

/// The hash of a key. Map entries are hashed one by one and summed, so the maps'
/// iteration order does not matter.
pub(crate) fn key_hash(
    kind: ExprKind,
    src: &str,
    names: Option<&HashMap<String, String>>,
    values: Option<&Item>,
) -> u64 {
    let mut h = FxHasher::default();
    kind_tag(kind).hash(&mut h);
    src.hash(&mut h);
    let names = names.into_iter().flatten();
    let values = values.into_iter().flatten();
    unordered(names.map(|(k, v)| entry_hash(k, v))).hash(&mut h);
    unordered(values.map(|(k, v)| entry_hash(k, &type_tag(v)))).hash(&mut h);
    h.finish()
}

fn entry_hash(k: &str, v: &impl Hash) -> u64 {
    let mut e = FxHasher::default();
    k.hash(&mut e);
    v.hash(&mut e);
    e.finish()
}

/// A hash of a set of entry hashes that does not depend on their order: (sum, count).
fn unordered(hashes: impl Iterator<Item = u64>) -> (u64, usize) {
    hashes.fold((0u64, 0usize), |(sum, n), x| (sum.wrapping_add(x), n + 1))
}

impl Entry {
    fn matches(
        &self,
        kind: ExprKind,
        src: &str,
        names: Option<&HashMap<String, String>>,
        values: Option<&Item>,
    ) -> bool {
        if self.kind != kind || &*self.src != src {
            return false;
        }
        let names_ok = match names {
            None => self.names.is_empty(),
            Some(m) => {
                m.len() == self.names.len() && self.names.iter().all(|(k, v)| m.get(k) == Some(v))
            }
        };
        let values_ok = match values {
            None => self.value_types.is_empty(),
            Some(m) => {
                m.len() == self.value_types.len()
                    && self
                        .value_types
                        .iter()
                        .all(|(k, t)| m.get(k).map(type_tag) == Some(*t))
            }
        };
        names_ok && values_ok
    }

    /// The template with this request's values, or `None` when a content check fails (the
    /// caller then parses in full and reports the error).
    pub(crate) fn instantiate(&self, values: Option<&Item>) -> Option<Parsed> {
        let mut out = self.template.clone();
        if !self.slots.is_empty() {
            let values = values?;
            let mut slots = self.slots.iter();
            let mut ok = true;
            visit_values(
                &mut out,
                &mut |v| match slots.next().and_then(|k| values.get(k)) {
                    Some(new) => *v = new.clone(),
                    None => ok = false,
                },
            );
            if !ok || slots.next().is_some() {
                return None;
            }
        }
        content_checks_pass(&out).then_some(out)
    }
}

impl ExprCache {
    pub fn new() -> Self {
        ExprCache {
            map: quick_cache::sync::Cache::with_weighter(
                ESTIMATED_ENTRIES,
                WEIGHT_CAPACITY,
                ByWeight,
            ),
        }
    }

    /// The process-wide cache.
    pub fn global() -> &'static ExprCache {
        static GLOBAL: std::sync::OnceLock<ExprCache> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(ExprCache::new)
    }

    /// How many expressions are cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn lookup(
        &self,
        hash: u64,
        kind: ExprKind,
        src: &str,
        names: Option<&HashMap<String, String>>,
        values: Option<&Item>,
    ) -> Option<Arc<Entry>> {
        self.map
            .get(&hash)
            .filter(|e| e.matches(kind, src, names, values))
    }

    /// Remember a successful parse. `used_values` are the value placeholders the parse
    /// read; nothing is stored when a value leaf cannot be traced to exactly one of them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn store(
        &self,
        hash: u64,
        kind: ExprKind,
        src: &str,
        names: Option<&HashMap<String, String>>,
        values: Option<&Item>,
        parsed: &Parsed,
        used_names: Vec<String>,
        used_values: Vec<String>,
    ) {
        let mut template = parsed.clone();
        let mut slots = Vec::new();
        let mut traced = true;
        visit_values(&mut template, &mut |leaf| {
            let mut found: Option<&String> = None;
            for k in &used_values {
                if values.and_then(|m| m.get(k)) == Some(&*leaf) {
                    if found.is_some_and(|f| f != k) {
                        traced = false;
                    }
                    found = Some(k);
                }
            }
            match found {
                Some(k) => slots.push(k.clone()),
                None => traced = false,
            }
            // The template does not keep this request's values.
            *leaf = AttributeValue::Null;
        });
        if !traced {
            return;
        }
        let mut names_v: Vec<(String, String)> = names
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        names_v.sort();
        let value_types: Vec<(String, u8)> = values
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), type_tag(v)))
            .collect();
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 32).sum::<usize>();
        let weight = 256
            + src.len() * 8
            + names_v
                .iter()
                .map(|(a, b)| a.len() + b.len() + 64)
                .sum::<usize>()
            + value_types.iter().map(|(a, _)| a.len() + 40).sum::<usize>()
            + strings(&slots)
            + strings(&used_names)
            + strings(&used_values);
        let entry = Entry {
            kind,
            src: src.into(),
            names: names_v,
            value_types,
            template,
            slots,
            used_names,
            used_values,
            weight: u64::try_from(weight).unwrap_or(u64::MAX),
        };
        self.map.insert(hash, Arc::new(entry));
    }
}

/// The checks the parser makes on a value's content, repeated on a filled-in template.
fn content_checks_pass(p: &Parsed) -> bool {
    fn cond(c: &Cond) -> bool {
        match c {
            Cond::Between(_, Operand::Value(l), Operand::Value(h)) => {
                crate::eval::compare(l, h) != Some(std::cmp::Ordering::Greater)
            }
            Cond::Type(_, Operand::Value(AttributeValue::S(s))) => TYPE_NAMES.contains(&s.as_str()),
            Cond::And(a, b) | Cond::Or(a, b) => cond(a) && cond(b),
            Cond::Not(a) => cond(a),
            _ => true,
        }
    }
    match p {
        Parsed::Cond(c) => cond(c),
        Parsed::Update(_) | Parsed::Projection(_) => true,
    }
}

/// Every value leaf of a parse result, in a fixed order.
pub(crate) fn visit_values(p: &mut Parsed, f: &mut dyn FnMut(&mut AttributeValue)) {
    match p {
        Parsed::Cond(c) => cond_values(c, f),
        Parsed::Update(u) => {
            for a in &mut u.actions {
                match a {
                    Action::Set(_, v) => set_value_values(v, f),
                    Action::Remove(_) => {}
                    Action::Add(_, v) | Action::Delete(_, v) => f(v),
                }
            }
        }
        Parsed::Projection(_) => {}
    }
}

fn operand_values(o: &mut Operand, f: &mut dyn FnMut(&mut AttributeValue)) {
    if let Operand::Value(v) = o {
        f(v);
    }
}

fn cond_values(c: &mut Cond, f: &mut dyn FnMut(&mut AttributeValue)) {
    match c {
        Cond::Cmp(_, a, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
            operand_values(a, f);
            operand_values(b, f);
        }
        Cond::Between(a, b, c) => {
            operand_values(a, f);
            operand_values(b, f);
            operand_values(c, f);
        }
        Cond::In(a, list) => {
            operand_values(a, f);
            for o in list {
                operand_values(o, f);
            }
        }
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_values(a, f);
            cond_values(b, f);
        }
        Cond::Not(a) => cond_values(a, f),
        Cond::Exists(_) | Cond::NotExists(_) => {}
        Cond::Type(_, o) => operand_values(o, f),
    }
}

fn set_value_values(v: &mut SetValue, f: &mut dyn FnMut(&mut AttributeValue)) {
    match v {
        SetValue::Operand(o) => set_operand_values(o, f),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            set_operand_values(a, f);
            set_operand_values(b, f);
        }
    }
}

fn set_operand_values(o: &mut SetOperand, f: &mut dyn FnMut(&mut AttributeValue)) {
    match o {
        SetOperand::Path(_) => {}
        SetOperand::Value(v) => f(v),
        SetOperand::IfNotExists(_, d) => set_operand_values(d, f),
        SetOperand::ListAppend(a, b) => {
            set_operand_values(a, f);
            set_operand_values(b, f);
        }
    }
}
