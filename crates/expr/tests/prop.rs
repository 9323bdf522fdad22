//! Property tests for the expression language.
//!
//! * Random condition trees, with operands drawn mostly from the random item they are
//!   evaluated against (its paths, its values, values of the same types, prefixes,
//!   substrings and elements), are rendered to expression text (with `#name` and `:value`
//!   placeholders, random keyword case and spacing, minimal plus optional parentheses),
//!   parsed by the [`Resolver`] and evaluated by [`eval::eval`]; the result must agree
//!   with the naive reference evaluator below, written from the DynamoDB Developer Guide
//!   ("Condition and filter expressions, operators, and functions"). The few validation
//!   errors the generator can provoke (BETWEEN bounds, a path compared with itself) are
//!   predicted, and any other refusal fails the test.
//! * Random update expressions (SET with `+`, `-`, `if_not_exists`, `list_append`;
//!   REMOVE with list indexes; ADD; DELETE) either apply or fail with an error, never
//!   panic; a result round-trips through the item codec and leaves the attributes it does
//!   not name alone. Updates of distinct top-level attributes are also checked against a
//!   reference.
//! * Arbitrary text (`.*`, and soups of the language's tokens) never makes any `Resolver`
//!   method, or evaluating, projecting or applying what it returns, panic.
//!
//! The reference code is deliberately simple and shares nothing with the crate but the
//! value types (and `Number`'s arithmetic for `+`/`-`/ADD): numbers are compared as
//! `f64` (every number in the pools is exact there), sets by mutual containment, and
//! `size()` of a string is its length (only ASCII strings are generated, so bytes and
//! characters agree). `PROPTEST_CASES=N` raises the case counts for a longer hunt.
//!
//! Known bugs are kept at the end as `#[ignore]`d regression tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeSet, HashMap};

use ferrodyn_expr::{eval, keycond, update, ExprCache, ExprKind, Resolver};
use ferrodyn_types::codec::{decode_item, encode_item};
use ferrodyn_types::{AttributeValue as V, Item, KeyAttr, KeySchema, Number, ScalarType};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

// ======================================================================================
// Value pools: small, so that equal values (and equal numbers spelled differently) meet.

const STRS: &[&str] = &["", "a", "ab", "abc", "b", "ba", "z", "A"];
const NUMS: &[&str] = &[
    "0", "-0", "1", "1.0", "1.5", "1.50", "-1", "2", "3", "4", "10", "100", "1e2", "-0.5", "0.001",
];
const BINS: &[&[u8]] = &[b"", b"\x00", b"\x00\x01", b"\x01", b"\xff", b"\x00\x01\x02"];
/// Top-level attribute names; `status` is reserved and `a.b` contains a dot, so both can
/// only be written through a `#name` placeholder.
const TOP: &[&str] = &["a", "b", "c", "d", "status", "a.b"];
const KEYS: &[&str] = &["x", "y", "z"];
const TYPES: &[&str] = &["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

fn num(s: &str) -> Number {
    Number::parse(s).unwrap()
}

fn s_val() -> impl Strategy<Value = V> {
    select(STRS).prop_map(|s| V::S(s.to_owned()))
}
fn n_val() -> impl Strategy<Value = V> {
    select(NUMS).prop_map(|s| V::N(num(s)))
}
fn b_val() -> impl Strategy<Value = V> {
    select(BINS).prop_map(|b| V::B(b.to_vec()))
}
fn scalar_val() -> impl Strategy<Value = V> {
    prop_oneof![s_val(), n_val(), b_val()]
}

/// Keep the first of each group of equal elements (sets hold no duplicates).
fn dedup<T: Clone>(xs: Vec<T>, same: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in xs {
        if !out.iter().any(|y| same(y, &x)) {
            out.push(x);
        }
    }
    out
}

fn set_val() -> impl Strategy<Value = V> {
    let strs: Vec<&str> = STRS.iter().copied().filter(|s| !s.is_empty()).collect();
    let bins: Vec<&[u8]> = BINS.iter().copied().filter(|b| !b.is_empty()).collect();
    prop_oneof![
        subsequence(strs, 1..=3)
            .prop_shuffle()
            .prop_map(|v| V::Ss(v.into_iter().map(str::to_owned).collect())),
        subsequence(NUMS.to_vec(), 1..=3)
            .prop_shuffle()
            .prop_map(|v| {
                let ns = dedup(v, |a, b| as_f64(&num(a)) == as_f64(&num(b)));
                V::Ns(ns.into_iter().map(num).collect())
            }),
        subsequence(bins, 1..=3)
            .prop_shuffle()
            .prop_map(|v| V::Bs(v.into_iter().map(<[u8]>::to_vec).collect())),
    ]
}

fn leaf_val() -> impl Strategy<Value = V> {
    prop_oneof![
        3 => scalar_val(),
        2 => set_val(),
        1 => Just(V::Null),
        1 => any::<bool>().prop_map(V::Bool),
    ]
}

fn value() -> impl Strategy<Value = V> {
    leaf_val().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(V::L),
            prop::collection::btree_map(select(KEYS).prop_map(str::to_owned), inner, 0..4)
                .prop_map(V::M),
        ]
    })
}

fn item() -> impl Strategy<Value = Item> {
    prop::collection::btree_map(select(TOP).prop_map(str::to_owned), value(), 0..6)
}

// ======================================================================================
// Test-side syntax trees.

#[derive(Clone, Debug, PartialEq)]
enum TStep {
    /// A name, and whether to write it through a `#name` placeholder.
    Attr(String, bool),
    Index(usize),
}

#[derive(Clone, Debug, PartialEq)]
struct TPath(Vec<TStep>);

#[derive(Clone, Debug)]
enum TOp {
    Path(TPath),
    Value(V),
    Size(TPath),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn text(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug)]
enum TCond {
    Cmp(Cmp, TOp, TOp),
    Between(TOp, TOp, TOp),
    In(TOp, Vec<TOp>),
    And(Box<TCond>, Box<TCond>),
    Or(Box<TCond>, Box<TCond>),
    Not(Box<TCond>),
    Exists(TPath),
    NotExists(TPath),
    Type(TPath, String),
    BeginsWith(TOp, TOp),
    Contains(TOp, TOp),
}

fn name_step(names: &'static [&'static str]) -> impl Strategy<Value = TStep> {
    (select(names), any::<bool>()).prop_map(|(n, ph)| TStep::Attr(n.to_owned(), ph))
}

fn path() -> impl Strategy<Value = TPath> {
    let step = prop_oneof![name_step(KEYS), (0usize..4).prop_map(TStep::Index)];
    (name_step(TOP), prop::collection::vec(step, 0..3)).prop_map(|(first, rest)| {
        let mut v = vec![first];
        v.extend(rest);
        TPath(v)
    })
}

/// Where operands come from: mostly document paths and values found in the item under
/// test, so that comparisons and functions meet real data; sometimes fresh ones.
#[derive(Clone)]
struct Src {
    /// Paths in the item with the values found there.
    pairs: Vec<(Vec<TStep>, V)>,
    paths: BoxedStrategy<TPath>,
    values: BoxedStrategy<V>,
    scalars: BoxedStrategy<V>,
    prefixes: BoxedStrategy<V>,
}

/// Every path in `v` below `at`, and every value (set elements included) met on the way.
fn walk(at: &[TStep], v: &V, paths: &mut Vec<(Vec<TStep>, V)>, values: &mut Vec<V>) {
    paths.push((at.to_vec(), v.clone()));
    values.push(v.clone());
    let mut sub = |step: TStep, w: &V| {
        let mut p = at.to_vec();
        p.push(step);
        walk(&p, w, paths, values);
    };
    match v {
        V::M(m) => m
            .iter()
            .for_each(|(k, w)| sub(TStep::Attr(k.clone(), false), w)),
        V::L(l) => l
            .iter()
            .enumerate()
            .for_each(|(i, w)| sub(TStep::Index(i), w)),
        V::Ss(x) => values.extend(x.iter().map(|e| V::S(e.clone()))),
        V::Ns(x) => values.extend(x.iter().map(|e| V::N(*e))),
        V::Bs(x) => values.extend(x.iter().map(|e| V::B(e.clone()))),
        _ => {}
    }
}

fn cmp_op() -> impl Strategy<Value = Cmp> {
    select(&[Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge][..])
}

/// A path as found in an item, each name written as itself or through a placeholder.
fn with_flags(steps: Vec<TStep>) -> BoxedStrategy<TPath> {
    let n = steps.len();
    prop::collection::vec(any::<bool>(), n)
        .prop_map(move |flags| {
            TPath(
                steps
                    .iter()
                    .zip(flags)
                    .map(|(s, f)| match s {
                        TStep::Attr(n, _) => TStep::Attr(n.clone(), f),
                        i => i.clone(),
                    })
                    .collect(),
            )
        })
        .boxed()
}

/// `v` with the elements of every set in it (at any depth) in another order: the same
/// value to DynamoDB.
fn reorder(v: V) -> BoxedStrategy<V> {
    fn shuffle<T>(x: &mut [T], seed: &mut u64) {
        for i in (1..x.len()).rev() {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x.swap(i, (*seed >> 33) as usize % (i + 1));
        }
    }
    fn go(v: &mut V, seed: &mut u64) {
        match v {
            V::Ss(x) => shuffle(x, seed),
            V::Ns(x) => shuffle(x, seed),
            V::Bs(x) => shuffle(x, seed),
            V::L(x) => x.iter_mut().for_each(|w| go(w, seed)),
            V::M(m) => m.values_mut().for_each(|w| go(w, seed)),
            _ => {}
        }
    }
    any::<u64>()
        .prop_map(move |mut seed| {
            let mut v = v.clone();
            go(&mut v, &mut seed);
            v
        })
        .boxed()
}

/// Another value of the same type as `v`.
fn like(v: &V) -> BoxedStrategy<V> {
    match v {
        V::S(_) => s_val().boxed(),
        V::N(_) => n_val().boxed(),
        V::B(_) => b_val().boxed(),
        V::Ss(_) | V::Ns(_) | V::Bs(_) => {
            let d = std::mem::discriminant(v);
            set_val()
                .prop_filter("same set type", move |w| std::mem::discriminant(w) == d)
                .boxed()
        }
        V::Null => Just(V::Null).boxed(),
        V::Bool(_) => any::<bool>().prop_map(V::Bool).boxed(),
        V::M(_) | V::L(_) => value().boxed(),
    }
}

/// A prefix of `v` (S or B), or some string or binary.
fn prefix_of(v: &V) -> BoxedStrategy<V> {
    let mine: Vec<V> = match v {
        V::S(s) => (0..=s.len()).map(|i| V::S(s[..i].to_owned())).collect(),
        V::B(b) => (0..=b.len()).map(|i| V::B(b[..i].to_vec())).collect(),
        _ => Vec::new(),
    };
    mix(mine, prop_oneof![s_val(), b_val()].boxed())
}

/// Something `v` contains: a substring, a set or list element; or some value.
fn needle_of(v: &V) -> BoxedStrategy<V> {
    let mine: Vec<V> = match v {
        V::S(s) => (0..=s.len())
            .flat_map(|i| (i..=s.len()).map(move |j| (i, j)))
            .map(|(i, j)| V::S(s[i..j].to_owned()))
            .collect(),
        V::B(b) => (0..=b.len())
            .flat_map(|i| (i..=b.len()).map(move |j| (i, j)))
            .map(|(i, j)| V::B(b[i..j].to_vec()))
            .collect(),
        V::Ss(x) => x.iter().map(|e| V::S(e.clone())).collect(),
        V::Ns(x) => x.iter().map(|e| V::N(*e)).collect(),
        V::Bs(x) => x.iter().map(|e| V::B(e.clone())).collect(),
        V::L(x) => x.clone(),
        _ => Vec::new(),
    };
    mix(mine, prop_oneof![2 => scalar_val(), 1 => value()].boxed())
        .prop_flat_map(reorder)
        .boxed()
}

/// `from_item` (when there is any) three times in five, else `pool`.
fn mix<T: Clone + std::fmt::Debug + 'static>(
    from_item: Vec<T>,
    pool: BoxedStrategy<T>,
) -> BoxedStrategy<T> {
    if from_item.is_empty() {
        pool
    } else {
        prop_oneof![3 => select(from_item), 2 => pool].boxed()
    }
}

impl Src {
    fn of(item: &Item) -> Src {
        let (mut paths, mut values) = (Vec::new(), Vec::new());
        for (k, v) in item {
            walk(&[TStep::Attr(k.clone(), false)], v, &mut paths, &mut values);
        }
        let scalars: Vec<V> = values
            .iter()
            .filter(|v| v.scalar_type().is_some())
            .cloned()
            .collect();
        let mut prefixes = Vec::new();
        for v in &values {
            match v {
                V::S(s) => prefixes.extend((0..=s.len()).map(|i| V::S(s[..i].to_owned()))),
                V::B(b) => prefixes.extend((0..=b.len()).map(|i| V::B(b[..i].to_vec()))),
                _ => {}
            }
        }
        let pairs = paths;
        let paths: Vec<Vec<TStep>> = pairs.iter().map(|(p, _)| p.clone()).collect();
        let paths = if paths.is_empty() {
            path().boxed()
        } else {
            prop_oneof![3 => select(paths).prop_flat_map(with_flags), 2 => path()].boxed()
        };
        Src {
            pairs,
            paths,
            values: mix(values, value().boxed()),
            scalars: mix(scalars, scalar_val().boxed()),
            prefixes: mix(prefixes, prop_oneof![s_val(), b_val()].boxed()),
        }
    }

    /// A path in the item (preferring values that `keep` accepts) and a value related to
    /// the one there: itself, another of the same type, or anything.
    fn related_in(&self, keep: fn(&V) -> bool) -> BoxedStrategy<(TPath, V)> {
        let kept: Vec<_> = self
            .pairs
            .iter()
            .filter(|(_, v)| keep(v))
            .cloned()
            .collect();
        let pairs = if kept.is_empty() {
            self.pairs.clone()
        } else {
            kept
        };
        if pairs.is_empty() {
            return (path(), value()).boxed();
        }
        select(pairs)
            .prop_flat_map(|(p, v)| {
                let other = prop_oneof![2 => reorder(v.clone()), 2 => like(&v), 1 => value()];
                (with_flags(p), other)
            })
            .boxed()
    }

    fn related(&self) -> BoxedStrategy<(TPath, V)> {
        self.related_in(|_| true)
    }

    /// Like [`Src::related`], but the value is a scalar (for `<`, BETWEEN).
    fn related_scalar(&self) -> BoxedStrategy<(TPath, V)> {
        self.related_in(|v| v.scalar_type().is_some())
            .prop_flat_map(|(p, v)| {
                let v = if v.scalar_type().is_some() {
                    Just(v).boxed()
                } else {
                    scalar_val().boxed()
                };
                (Just(p), v)
            })
            .boxed()
    }

    /// Conditions on a path of the item whose operands relate to the value there.
    fn related_cond(&self) -> BoxedStrategy<TCond> {
        let cmp = prop_oneof![
            Just(Cmp::Eq),
            Just(Cmp::Ne),
            Just(Cmp::Lt),
            Just(Cmp::Le),
            Just(Cmp::Gt),
            Just(Cmp::Ge)
        ];
        let ord_value = |v: V| {
            if v.scalar_type().is_some() {
                Just(v).boxed()
            } else {
                scalar_val().boxed()
            }
        };
        prop_oneof![
            3 => (cmp, self.related_scalar(), any::<bool>()).prop_map(|(op, (p, v), swap)| {
                if swap {
                    TCond::Cmp(op, TOp::Value(v), TOp::Path(p))
                } else {
                    TCond::Cmp(op, TOp::Path(p), TOp::Value(v))
                }
            }),
            2 => (prop_oneof![Just(Cmp::Eq), Just(Cmp::Ne)], self.related())
                .prop_map(|(op, (p, v))| TCond::Cmp(op, TOp::Path(p), TOp::Value(v))),
            2 => self.related_scalar().prop_flat_map(move |(p, v)| {
                let bound = prop_oneof![Just(v.clone()), like(&v).prop_flat_map(ord_value)];
                let (lo, hi) = (bound.clone(), bound);
                (Just(p), lo, hi).prop_map(|(p, lo, hi)| TCond::Between(TOp::Path(p), TOp::Value(lo), TOp::Value(hi)))
            }),
            2 => (self.related(), prop::collection::vec(self.values.clone(), 0..3), any::<prop::sample::Index>())
                .prop_map(|((p, v), mut rest, at)| {
                    let at = at.index(rest.len() + 1);
                    rest.insert(at, v);
                    TCond::In(TOp::Path(p), rest.into_iter().map(TOp::Value).collect())
                }),
            2 => (self.related(), select(TYPES)).prop_map(|((p, v), t)| {
                // Half the time, the type of the value that is there.
                let t = if t.len() % 2 == 0 { v.type_name() } else { t };
                TCond::Type(p, t.to_owned())
            }),
            2 => self.related_in(|v| matches!(v, V::S(_) | V::B(_))).prop_flat_map(|(p, v)| {
                (Just(p), prefix_of(&v)).prop_map(|(p, x)| TCond::BeginsWith(TOp::Path(p), TOp::Value(x)))
            }),
            2 => self.related_in(|v| !matches!(v, V::N(_) | V::M(_) | V::Null | V::Bool(_))).prop_flat_map(|(p, v)| {
                (Just(p), needle_of(&v)).prop_map(|(p, x)| TCond::Contains(TOp::Path(p), TOp::Value(x)))
            }),
            2 => (cmp_op(), self.related_in(|v| ref_size(v).is_some()), 0i64..5).prop_map(|(op, (p, _), n)| {
                TCond::Cmp(op, TOp::Size(p), TOp::Value(V::N(Number::from_i64(n))))
            }),
        ]
        .boxed()
    }

    fn any_op(&self) -> BoxedStrategy<TOp> {
        prop_oneof![
            2 => self.paths.clone().prop_map(TOp::Path),
            3 => self.values.clone().prop_map(TOp::Value),
            1 => self.paths.clone().prop_map(TOp::Size),
        ]
        .boxed()
    }

    /// An operand of `<`, `BETWEEN`, ...: literal values must be scalars.
    fn ord_op(&self) -> BoxedStrategy<TOp> {
        prop_oneof![
            2 => self.paths.clone().prop_map(TOp::Path),
            3 => self.scalars.clone().prop_map(TOp::Value),
            1 => self.paths.clone().prop_map(TOp::Size),
        ]
        .boxed()
    }

    /// A document path or `size(path)`.
    fn path_op(&self) -> BoxedStrategy<TOp> {
        prop_oneof![
            3 => self.paths.clone().prop_map(TOp::Path),
            1 => self.paths.clone().prop_map(TOp::Size),
        ]
        .boxed()
    }

    fn leaf_cond(&self) -> BoxedStrategy<TCond> {
        let eq = prop_oneof![Just(Cmp::Eq), Just(Cmp::Ne)];
        let ord = prop_oneof![Just(Cmp::Lt), Just(Cmp::Le), Just(Cmp::Gt), Just(Cmp::Ge)];
        let (path, path_op) = (self.paths.clone(), self.path_op());
        prop_oneof![
            3 => (eq.clone(), path_op.clone(), self.any_op()).prop_map(|(o, a, b)| TCond::Cmp(o, a, b)),
            1 => (eq, self.values.clone(), path_op.clone()).prop_map(|(o, a, b)| TCond::Cmp(o, TOp::Value(a), b)),
            3 => (ord.clone(), path_op.clone(), self.ord_op()).prop_map(|(o, a, b)| TCond::Cmp(o, a, b)),
            1 => (ord, self.scalars.clone(), path_op.clone()).prop_map(|(o, a, b)| TCond::Cmp(o, TOp::Value(a), b)),
            2 => (path_op.clone(), self.ord_op(), self.ord_op()).prop_map(|(x, l, h)| TCond::Between(x, l, h)),
            2 => (path_op.clone(), prop::collection::vec(self.any_op(), 1..5)).prop_map(|(x, l)| TCond::In(x, l)),
            1 => path.clone().prop_map(TCond::Exists),
            1 => path.clone().prop_map(TCond::NotExists),
            1 => (path.clone(), select(TYPES)).prop_map(|(p, t)| TCond::Type(p, t.to_owned())),
            2 => (
                path_op.clone(),
                prop_oneof![
                    3 => self.prefixes.clone().prop_map(TOp::Value),
                    1 => path.prop_map(TOp::Path),
                ]
            )
                .prop_map(|(a, b)| TCond::BeginsWith(a, b)),
            2 => (path_op, self.any_op()).prop_map(|(a, b)| TCond::Contains(a, b)),
        ]
        .boxed()
    }

    fn cond(&self) -> BoxedStrategy<TCond> {
        prop_oneof![1 => self.leaf_cond(), 2 => self.related_cond()]
            .prop_recursive(4, 24, 2, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| TCond::And(Box::new(a), Box::new(b))),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| TCond::Or(Box::new(a), Box::new(b))),
                    inner.prop_map(|a| TCond::Not(Box::new(a))),
                ]
            })
            .boxed()
    }
}

/// An item and a condition whose operands are mostly drawn from it.
fn item_and_cond() -> impl Strategy<Value = (Item, TCond)> {
    item().prop_flat_map(|item| {
        let c = Src::of(&item).cond();
        (Just(item), c)
    })
}

// ======================================================================================
// Rendering to text.

/// Renders trees to text and collects the placeholders it used. Cosmetic choices (keyword
/// case, spacing, extra parentheses, placeholders for plain names) come from `seed`;
/// seed 0 renders plainly, so shrinking tends towards readable text.
struct Render {
    seed: u64,
    names: HashMap<String, String>,
    by_name: HashMap<String, String>,
    values: Item,
}

impl Render {
    fn new(seed: u64) -> Self {
        Render {
            seed,
            names: HashMap::new(),
            by_name: HashMap::new(),
            values: Item::new(),
        }
    }

    /// True one time in `n`, never for seed 0.
    fn chance(&mut self, n: u64) -> bool {
        if self.seed == 0 {
            return false;
        }
        // xorshift64
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        x.is_multiple_of(n)
    }

    fn kw(&mut self, k: &str) -> String {
        if self.chance(3) {
            k.to_lowercase()
        } else if self.chance(5) {
            let mut c = k.chars();
            match c.next() {
                Some(f) => f.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        } else {
            k.to_owned()
        }
    }

    fn sp(&mut self) -> &'static str {
        if self.chance(6) {
            "  "
        } else if self.chance(8) {
            "\t\n "
        } else {
            " "
        }
    }

    fn name(&mut self, n: &str, placeholder: bool) -> String {
        let bare_ok = n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !ferrodyn_expr::is_reserved(n);
        if bare_ok && !placeholder {
            return n.to_owned();
        }
        if let Some(p) = self.by_name.get(n) {
            return p.clone();
        }
        let p = format!("#n{}", self.by_name.len());
        self.by_name.insert(n.to_owned(), p.clone());
        self.names.insert(p.clone(), n.to_owned());
        p
    }

    fn value(&mut self, v: &V) -> String {
        if self.chance(2) {
            if let Some((k, _)) = self.values.iter().find(|(_, w)| *w == v) {
                return k.clone();
            }
        }
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v.clone());
        k
    }

    fn path(&mut self, p: &TPath) -> String {
        let mut out = String::new();
        for (i, s) in p.0.iter().enumerate() {
            match s {
                TStep::Attr(n, ph) => {
                    if i > 0 {
                        out.push('.');
                    }
                    out += &self.name(n, *ph);
                }
                TStep::Index(k) => out += &format!("[{k}]"),
            }
        }
        out
    }

    fn op(&mut self, o: &TOp) -> String {
        match o {
            TOp::Path(p) => self.path(p),
            TOp::Value(v) => self.value(v),
            TOp::Size(p) => format!("size({})", self.path(p)),
        }
    }

    fn cond(&mut self, c: &TCond, need: u8) -> String {
        let prec = match c {
            TCond::Or(..) => 1,
            TCond::And(..) => 2,
            TCond::Not(..) => 3,
            _ => 4,
        };
        let body = match c {
            TCond::Or(a, b) => {
                let (a, sp1, k, sp2, b) = (
                    self.cond(a, 1),
                    self.sp(),
                    self.kw("OR"),
                    self.sp(),
                    self.cond(b, 1),
                );
                format!("{a}{sp1}{k}{sp2}{b}")
            }
            TCond::And(a, b) => {
                let (a, sp1, k, sp2, b) = (
                    self.cond(a, 2),
                    self.sp(),
                    self.kw("AND"),
                    self.sp(),
                    self.cond(b, 2),
                );
                format!("{a}{sp1}{k}{sp2}{b}")
            }
            TCond::Not(a) => {
                let k = self.kw("NOT");
                let sp = self.sp();
                format!("{k}{sp}{}", self.cond(a, 3))
            }
            TCond::Cmp(op, a, b) => {
                let a = self.op(a);
                let sp = if self.chance(4) { "" } else { " " };
                let b = self.op(b);
                format!("{a}{sp}{}{sp}{b}", op.text())
            }
            TCond::Between(x, lo, hi) => {
                let x = self.op(x);
                let kb = self.kw("BETWEEN");
                let lo = self.op(lo);
                let ka = self.kw("AND");
                let hi = self.op(hi);
                format!("{x} {kb} {lo} {ka} {hi}")
            }
            TCond::In(x, list) => {
                let x = self.op(x);
                let k = self.kw("IN");
                let sep = if self.chance(3) { "," } else { ", " };
                let l: Vec<String> = list.iter().map(|o| self.op(o)).collect();
                format!("{x} {k} ({})", l.join(sep))
            }
            TCond::Exists(p) => format!("attribute_exists({})", self.path(p)),
            TCond::NotExists(p) => format!("attribute_not_exists({})", self.path(p)),
            TCond::Type(p, t) => {
                let p = self.path(p);
                let t = self.value(&V::S(t.clone()));
                format!("attribute_type({p}, {t})")
            }
            TCond::BeginsWith(a, b) => {
                let (a, b) = (self.op(a), self.op(b));
                format!("begins_with({a}, {b})")
            }
            TCond::Contains(a, b) => {
                let (a, b) = (self.op(a), self.op(b));
                format!("contains({a},{b})")
            }
        };
        if prec < need || self.chance(7) {
            format!("({body})")
        } else {
            body
        }
    }
}

// ======================================================================================
// The naive reference evaluator.

fn as_f64(n: &Number) -> f64 {
    n.to_string().parse::<f64>().unwrap()
}

fn ref_get<'a>(item: &'a Item, p: &TPath) -> Option<&'a V> {
    let mut cur: Option<&V> = None;
    for (i, s) in p.0.iter().enumerate() {
        cur = match (i, s, cur) {
            (0, TStep::Attr(n, _), _) => item.get(n),
            (_, TStep::Attr(n, _), Some(V::M(m))) => m.get(n),
            (_, TStep::Index(k), Some(V::L(l))) => l.get(*k),
            _ => None,
        };
        cur?;
    }
    cur
}

/// `size()`: string length, binary length, number of set/list elements or map entries;
/// other types have no size (treated like a missing operand).
fn ref_size(v: &V) -> Option<usize> {
    match v {
        V::S(s) => Some(s.chars().count()),
        V::B(b) => Some(b.len()),
        V::Ss(x) => Some(x.len()),
        V::Ns(x) => Some(x.len()),
        V::Bs(x) => Some(x.len()),
        V::L(x) => Some(x.len()),
        V::M(x) => Some(x.len()),
        V::N(_) | V::Null | V::Bool(_) => None,
    }
}

fn ref_operand(item: &Item, o: &TOp) -> Option<V> {
    match o {
        TOp::Path(p) => ref_get(item, p).cloned(),
        TOp::Value(v) => Some(v.clone()),
        TOp::Size(p) => {
            let n = ref_size(ref_get(item, p)?)?;
            Some(V::N(Number::from_i64(n as i64)))
        }
    }
}

/// Every element of `a` is in `b` and vice versa.
fn same_elements<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    a.iter().all(|x| b.iter().any(|y| eq(x, y))) && b.iter().all(|y| a.iter().any(|x| eq(x, y)))
}

fn ref_equal(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::S(x), V::S(y)) => x == y,
        (V::N(x), V::N(y)) => as_f64(x) == as_f64(y),
        (V::B(x), V::B(y)) => x == y,
        (V::Ss(x), V::Ss(y)) => same_elements(x, y, |p, q| p == q),
        (V::Ns(x), V::Ns(y)) => same_elements(x, y, |p, q| as_f64(p) == as_f64(q)),
        (V::Bs(x), V::Bs(y)) => same_elements(x, y, |p, q| p == q),
        (V::L(x), V::L(y)) => x.len() == y.len() && (0..x.len()).all(|i| ref_equal(&x[i], &y[i])),
        (V::M(x), V::M(y)) => {
            x.len() == y.len()
                && x.keys().all(|k| y.contains_key(k))
                && x.keys().all(|k| ref_equal(&x[k], &y[k]))
        }
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        _ => false,
    }
}

/// `a < b` (and so on) for two values of the same scalar type; `None` otherwise.
fn ref_less(a: &V, b: &V) -> Option<bool> {
    match (a, b) {
        (V::N(x), V::N(y)) => Some(as_f64(x) < as_f64(y)),
        (V::S(x), V::S(y)) => Some(x.as_bytes() < y.as_bytes()),
        (V::B(x), V::B(y)) => Some(x < y),
        _ => None,
    }
}

fn ref_cmp(op: Cmp, a: Option<V>, b: Option<V>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        // A missing attribute equals nothing: `=` is false, `<>` true, the rest false.
        return op == Cmp::Ne;
    };
    match op {
        Cmp::Eq => ref_equal(&a, &b),
        Cmp::Ne => !ref_equal(&a, &b),
        Cmp::Lt => ref_less(&a, &b) == Some(true),
        Cmp::Gt => ref_less(&b, &a) == Some(true),
        Cmp::Le => ref_less(&b, &a) == Some(false),
        Cmp::Ge => ref_less(&a, &b) == Some(false),
    }
}

fn ref_begins_with(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::S(s), V::S(p)) => s.len() >= p.len() && s.as_bytes()[..p.len()] == *p.as_bytes(),
        (V::B(s), V::B(p)) => s.len() >= p.len() && s[..p.len()] == p[..],
        _ => false,
    }
}

fn ref_contains(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::S(s), V::S(sub)) => {
            (0..=s.len()).any(|i| s.len() - i >= sub.len() && s[i..i + sub.len()] == **sub)
        }
        (V::B(s), V::B(sub)) => {
            (0..=s.len()).any(|i| s.len() - i >= sub.len() && s[i..i + sub.len()] == sub[..])
        }
        (V::Ss(set), V::S(x)) => set.iter().any(|e| e == x),
        (V::Ns(set), V::N(x)) => set.iter().any(|e| as_f64(e) == as_f64(x)),
        (V::Bs(set), V::B(x)) => set.iter().any(|e| e == x),
        (V::L(list), x) => list.iter().any(|e| ref_equal(e, x)),
        _ => false,
    }
}

fn reference(c: &TCond, item: &Item) -> bool {
    match c {
        TCond::Cmp(op, a, b) => ref_cmp(*op, ref_operand(item, a), ref_operand(item, b)),
        TCond::Between(x, lo, hi) => {
            ref_cmp(Cmp::Ge, ref_operand(item, x), ref_operand(item, lo))
                && ref_cmp(Cmp::Le, ref_operand(item, x), ref_operand(item, hi))
        }
        TCond::In(x, list) => match ref_operand(item, x) {
            None => false,
            Some(x) => list
                .iter()
                .any(|o| ref_operand(item, o).is_some_and(|v| ref_equal(&x, &v))),
        },
        TCond::And(a, b) => {
            let (a, b) = (reference(a, item), reference(b, item));
            a && b
        }
        TCond::Or(a, b) => {
            let (a, b) = (reference(a, item), reference(b, item));
            a || b
        }
        TCond::Not(a) => !reference(a, item),
        TCond::Exists(p) => ref_get(item, p).is_some(),
        TCond::NotExists(p) => ref_get(item, p).is_none(),
        TCond::Type(p, t) => ref_get(item, p).is_some_and(|v| {
            let name = match v {
                V::S(_) => "S",
                V::N(_) => "N",
                V::B(_) => "B",
                V::Ss(_) => "SS",
                V::Ns(_) => "NS",
                V::Bs(_) => "BS",
                V::M(_) => "M",
                V::L(_) => "L",
                V::Null => "NULL",
                V::Bool(_) => "BOOL",
            };
            name == t
        }),
        TCond::BeginsWith(a, b) => match (ref_operand(item, a), ref_operand(item, b)) {
            (Some(a), Some(b)) => ref_begins_with(&a, &b),
            _ => false,
        },
        TCond::Contains(a, b) => match (ref_operand(item, a), ref_operand(item, b)) {
            (Some(a), Some(b)) => ref_contains(&a, &b),
            _ => false,
        },
    }
}

/// The same document path, however it is written.
fn same_path(a: &TPath, b: &TPath) -> bool {
    a.0.len() == b.0.len()
        && a.0.iter().zip(&b.0).all(|(x, y)| match (x, y) {
            (TStep::Attr(p, _), TStep::Attr(q, _)) => p == q,
            (TStep::Index(i), TStep::Index(j)) => i == j,
            _ => false,
        })
}

fn repeats_first(first: &TOp, rest: &[&TOp]) -> bool {
    match first {
        TOp::Path(p) => rest
            .iter()
            .any(|o| matches!(o, TOp::Path(q) if same_path(p, q))),
        _ => false,
    }
}

/// The validation errors DynamoDB gives for a generated tree, if any (the generator
/// avoids every other one):
/// * `x BETWEEN :lo AND :hi` with literal bounds of different types, or with the lower
///   bound greater than the upper;
/// * a comparison, BETWEEN, IN, begins_with or contains whose first operand is a
///   document path that appears again among the other operands;
/// * `size()` as an operand of begins_with (it is a number).
fn expected_errors(c: &TCond, out: &mut Vec<&'static str>) {
    match c {
        TCond::Cmp(_, a, b) if repeats_first(a, &[b]) => {
            out.push("The first operand must be distinct from the remaining operands");
        }
        TCond::Between(x, lo, hi) => {
            if repeats_first(x, &[lo, hi]) {
                out.push("The first operand must be distinct from the remaining operands");
            }
            if let (TOp::Value(l), TOp::Value(h)) = (lo, hi) {
                if std::mem::discriminant(l) != std::mem::discriminant(h) {
                    out.push(
                        "The BETWEEN operator requires same data type for lower and upper bounds",
                    );
                } else if ref_less(h, l) == Some(true) {
                    out.push("The BETWEEN operator requires upper bound to be greater than or equal to lower bound");
                }
            }
        }
        TCond::In(x, list) => {
            let rest: Vec<&TOp> = list.iter().collect();
            if repeats_first(x, &rest) {
                out.push("The first operand must be distinct from the remaining operands");
            }
        }
        TCond::BeginsWith(a, b) | TCond::Contains(a, b) => {
            if repeats_first(a, &[b]) {
                out.push("The first operand must be distinct from the remaining operands");
            }
            // `size()` is a number, which begins_with refuses.
            if matches!(c, TCond::BeginsWith(..))
                && (matches!(a, TOp::Size(_)) || matches!(b, TOp::Size(_)))
            {
                out.push("Incorrect operand type for operator or function; operator or function: begins_with, operand type: N");
            }
        }
        TCond::And(a, b) | TCond::Or(a, b) => {
            expected_errors(a, out);
            expected_errors(b, out);
        }
        TCond::Not(a) => expected_errors(a, out),
        _ => {}
    }
}

/// Default case counts (PROPTEST_CASES overrides them); failures are kept as explicit
/// regression tests in this file rather than in a proptest-regressions file.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn parse_cond(text: &str, r: &Render, kind: ExprKind) -> Result<ferrodyn_expr::Cond, String> {
    let names = (!r.names.is_empty()).then_some(&r.names);
    let values = (!r.values.is_empty()).then_some(&r.values);
    let mut res = Resolver::new(names, values);
    let c = res.condition(text, kind).map_err(|e| e.0)?;
    res.finish().map_err(|e| format!("finish: {}", e.0))?;
    Ok(c)
}

// ======================================================================================
// The cache of parsed expressions: a cached parse answers exactly what a fresh parse
// answers, for the values it was cached with and for other values of the same types
// (which is what a hit serves).

/// A different value of the same type (or the same one, for NULL).
fn same_type_other(v: &V, seed: u64) -> V {
    let pick = |n: u64| usize::try_from(seed % n).unwrap_or(0);
    match v {
        V::S(_) => {
            let pool = ["", "a", "zz", "S", "BOOL", "NS", "x", "abc"];
            V::S(pool[pick(8)].to_owned())
        }
        V::N(_) => V::N(num(["-1", "0", "5", "100", "3.5", "1e3"][pick(6)])),
        V::B(_) => V::B([vec![], vec![0u8], vec![9, 9], vec![1, 2, 3]][pick(4)].clone()),
        V::Ss(_) => {
            V::Ss([vec!["a".to_owned()], vec!["b".to_owned(), "c".to_owned()]][pick(2)].clone())
        }
        V::Ns(_) => V::Ns([vec![num("1")], vec![num("2"), num("7")]][pick(2)].clone()),
        V::Bs(_) => V::Bs([vec![vec![1u8]], vec![vec![2u8], vec![3u8]]][pick(2)].clone()),
        V::M(_) => {
            let mut m = Item::new();
            if seed.is_multiple_of(2) {
                m.insert("k".into(), V::N(num("1")));
            }
            V::M(m)
        }
        V::L(_) => V::L(if seed.is_multiple_of(2) {
            vec![]
        } else {
            vec![V::Bool(true)]
        }),
        V::Null => V::Null,
        V::Bool(b) => V::Bool(if seed.is_multiple_of(2) { !*b } else { *b }),
    }
}

fn parse_with(
    text: &str,
    kind: ExprKind,
    names: Option<&HashMap<String, String>>,
    values: Option<&Item>,
    cache: Option<&ExprCache>,
) -> String {
    let mut res = Resolver::new(names, values);
    if let Some(c) = cache {
        res = res.with_cache(c);
    }
    let out = match kind {
        ExprKind::Update => res.update(text).map(|u| format!("{u:?}")),
        ExprKind::Projection => res.projection(text).map(|p| format!("{p:?}")),
        k => res.condition(text, k).map(|c| format!("{c:?}")),
    };
    match out {
        Ok(o) => format!("ok {o} / finish {:?}", res.finish()),
        Err(e) => format!("err {}", e.0),
    }
}

/// Parse `text` without a cache, then twice through a fresh cache (a miss, then a hit),
/// then with other values of the same types through the warm cache: every answer must be
/// the uncached parser's.
fn check_cache_agrees(
    text: &str,
    kind: ExprKind,
    names: &HashMap<String, String>,
    values: &Item,
    seed: u64,
) -> Result<(), TestCaseError> {
    let names = (!names.is_empty()).then_some(names);
    let vals = (!values.is_empty()).then_some(values);
    let cache = ExprCache::new();
    let plain = parse_with(text, kind, names, vals, None);
    for round in 0..2 {
        let cached = parse_with(text, kind, names, vals, Some(&cache));
        prop_assert_eq!(&cached, &plain, "round {} text: {}", round, text);
    }
    for i in 0..3u64 {
        let other: Item = values
            .iter()
            .enumerate()
            .map(|(j, (k, v))| {
                let s = seed
                    .wrapping_mul(31)
                    .wrapping_add(i * 7919 + u64::try_from(j).unwrap_or(0) * 104_729);
                (k.clone(), same_type_other(v, s))
            })
            .collect();
        let ovals = (!other.is_empty()).then_some(&other);
        let want = parse_with(text, kind, names, ovals, None);
        let got = parse_with(text, kind, names, ovals, Some(&cache));
        prop_assert_eq!(&got, &want, "other values {:?}\ntext: {}", other, text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn condition_agrees_with_reference(
        (item, c) in item_and_cond(),
        other in item(),
        seed in any::<u64>(),
        filter in any::<bool>(),
    ) {
        let mut r = Render::new(seed);
        let text = r.cond(&c, 0);
        let kind = if filter { ExprKind::Filter } else { ExprKind::Condition };
        check_cache_agrees(&text, kind, &r.names, &r.values, seed)?;
        let parsed = parse_cond(&text, &r, kind);
        let mut expected = Vec::new();
        expected_errors(&c, &mut expected);
        if !expected.is_empty() {
            let e = parsed.err().unwrap_or_default();
            prop_assert!(
                expected.iter().any(|m| e.contains(m)),
                "text: {text}\nvalues: {:?}\nexpected one of: {expected:?}\nerror: {e}", r.values
            );
            return Ok(());
        }
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "refused a valid expression\ntext: {text}\nnames: {:?}\nvalues: {:?}\nerror: {e}",
                    r.names, r.values
                )))
            }
        };
        for it in [&item, &other, &Item::new()] {
            let got = eval::eval(&parsed, it);
            let want = reference(&c, it);
            prop_assert_eq!(
                got, want,
                "text: {}\nnames: {:?}\nvalues: {:?}\nitem: {:?}", text, r.names, r.values, it
            );
        }
    }
}

// ======================================================================================
// Updates: apply or fail, never panic; results round-trip through the codec.

#[derive(Clone, Debug)]
enum TSetOp {
    Path(TPath),
    Value(V),
    IfNotExists(TPath, Box<TSetOp>),
    ListAppend(Box<TSetOp>, Box<TSetOp>),
}

#[derive(Clone, Debug)]
enum TSetVal {
    Op(TSetOp),
    Plus(TSetOp, TSetOp),
    Minus(TSetOp, TSetOp),
}

#[derive(Clone, Debug)]
enum TAction {
    Set(TPath, TSetVal),
    Remove(TPath),
    Add(TPath, V),
    Delete(TPath, V),
}

/// Numbers for arithmetic, including ones whose sum or difference is out of range or has
/// more than 38 significant digits.
fn arith_num() -> impl Strategy<Value = V> {
    select(
        &[
            "1",
            "-1",
            "0.5",
            "100",
            "9.9999999999999999999999999999999999999E+125",
            "-9.9999999999999999999999999999999999999E+125",
            "1E-130",
            "12345678901234567890123456789012345678",
            "0.00000000000000000000000000000000000001",
        ][..],
    )
    .prop_map(|s| V::N(num(s)))
}

type PathS = BoxedStrategy<TPath>;

/// Paths of one top-level attribute only.
fn top_path() -> PathS {
    name_step(TOP).prop_map(|s| TPath(vec![s])).boxed()
}

/// Mostly short paths: updates of deep paths mostly fail for want of a parent.
fn update_path() -> PathS {
    prop_oneof![2 => top_path(), 1 => path().boxed()].boxed()
}

/// An operand of `+` and `-`.
fn arith_op(p: PathS) -> impl Strategy<Value = TSetOp> {
    prop_oneof![
        2 => p.clone().prop_map(TSetOp::Path),
        3 => arith_num().prop_map(TSetOp::Value),
        1 => (p, arith_num()).prop_map(|(p, d)| TSetOp::IfNotExists(p, Box::new(TSetOp::Value(d)))),
        1 => value().prop_map(TSetOp::Value),
    ]
}

fn list_val() -> impl Strategy<Value = V> {
    prop::collection::vec(value(), 0..3).prop_map(V::L)
}

/// An operand of `list_append`; `nest`: possibly another `list_append` (which the crate
/// refuses, as DynamoDB is said to).
fn list_op(p: PathS, nest: bool) -> BoxedStrategy<TSetOp> {
    let leaf = prop_oneof![
        2 => p.clone().prop_map(TSetOp::Path),
        3 => list_val().prop_map(TSetOp::Value),
        1 => (p.clone(), list_val()).prop_map(|(p, d)| TSetOp::IfNotExists(p, Box::new(TSetOp::Value(d)))),
    ];
    if !nest {
        return leaf.boxed();
    }
    leaf.prop_recursive(2, 4, 2, |inner| {
        (inner.clone(), inner).prop_map(|(a, b)| TSetOp::ListAppend(Box::new(a), Box::new(b)))
    })
    .boxed()
}

/// The operand of a plain `SET p = operand`.
fn set_op(p: PathS, nest: bool) -> impl Strategy<Value = TSetOp> {
    prop_oneof![
        2 => p.clone().prop_map(TSetOp::Path),
        3 => value().prop_map(TSetOp::Value),
        1 => (p.clone(), value()).prop_map(|(p, d)| TSetOp::IfNotExists(p, Box::new(TSetOp::Value(d)))),
        1 => (p.clone(), p.clone()).prop_map(|(p, d)| TSetOp::IfNotExists(p, Box::new(TSetOp::Path(d)))),
        2 => (list_op(p.clone(), nest), list_op(p, nest)).prop_map(|(a, b)| TSetOp::ListAppend(Box::new(a), Box::new(b))),
    ]
}

fn action(p: PathS, nest: bool) -> impl Strategy<Value = TAction> {
    let set_rhs = prop_oneof![
        2 => set_op(p.clone(), nest).prop_map(TSetVal::Op),
        1 => (arith_op(p.clone()), arith_op(p.clone())).prop_map(|(a, b)| TSetVal::Plus(a, b)),
        1 => (arith_op(p.clone()), arith_op(p.clone())).prop_map(|(a, b)| TSetVal::Minus(a, b)),
    ];
    prop_oneof![
        3 => (p.clone(), set_rhs).prop_map(|(p, v)| TAction::Set(p, v)),
        2 => p.clone().prop_map(TAction::Remove),
        2 => (p.clone(), prop_oneof![4 => arith_num(), 4 => set_val(), 1 => value()])
            .prop_map(|(p, v)| TAction::Add(p, v)),
        2 => (p, prop_oneof![8 => set_val(), 1 => value()])
            .prop_map(|(p, v)| TAction::Delete(p, v)),
    ]
}

impl Render {
    fn set_op(&mut self, o: &TSetOp) -> String {
        match o {
            TSetOp::Path(p) => self.path(p),
            TSetOp::Value(v) => self.value(v),
            TSetOp::IfNotExists(p, d) => {
                let p = self.path(p);
                format!("if_not_exists({p}, {})", self.set_op(d))
            }
            TSetOp::ListAppend(a, b) => {
                let a = self.set_op(a);
                format!("list_append({a}, {})", self.set_op(b))
            }
        }
    }

    fn update(&mut self, actions: &[TAction], order: &[usize]) -> String {
        let mut clauses: [Vec<String>; 4] = Default::default();
        for a in actions {
            match a {
                TAction::Set(p, v) => {
                    let p = self.path(p);
                    let v = match v {
                        TSetVal::Op(o) => self.set_op(o),
                        TSetVal::Plus(a, b) => {
                            let a = self.set_op(a);
                            format!("{a} + {}", self.set_op(b))
                        }
                        TSetVal::Minus(a, b) => {
                            let a = self.set_op(a);
                            format!("{a}-{}", self.set_op(b))
                        }
                    };
                    clauses[0].push(format!("{p} = {v}"));
                }
                TAction::Remove(p) => {
                    let p = self.path(p);
                    clauses[1].push(p);
                }
                TAction::Add(p, v) => {
                    let p = self.path(p);
                    let v = self.value(v);
                    clauses[2].push(format!("{p} {v}"));
                }
                TAction::Delete(p, v) => {
                    let p = self.path(p);
                    let v = self.value(v);
                    clauses[3].push(format!("{p} {v}"));
                }
            }
        }
        let kws = ["SET", "REMOVE", "ADD", "DELETE"];
        let mut out = Vec::new();
        for &i in order {
            if !clauses[i].is_empty() {
                let kw = self.kw(kws[i]);
                out.push(format!("{kw} {}", clauses[i].join(", ")));
            }
        }
        out.join(" ")
    }
}

fn root(p: &TPath) -> &str {
    match p.0.first() {
        Some(TStep::Attr(n, _)) => n,
        _ => "",
    }
}

fn action_path(a: &TAction) -> &TPath {
    match a {
        TAction::Set(p, _) | TAction::Remove(p) | TAction::Add(p, _) | TAction::Delete(p, _) => p,
    }
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn updates_apply_or_fail(
        item in item(),
        actions in prop::collection::vec(action(update_path(), true), 1..5),
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        seed in any::<u64>(),
    ) {
        let mut r = Render::new(seed);
        let text = r.update(&actions, &order);
        check_cache_agrees(&text, ExprKind::Update, &r.names, &r.values, seed)?;
        let names = (!r.names.is_empty()).then_some(&r.names);
        let values = (!r.values.is_empty()).then_some(&r.values);
        let mut res = Resolver::new(names, values);
        let Ok(u) = res.update(&text) else {
            // Overlapping paths, wrong operand types: a refusal is fine.
            return Ok(());
        };
        prop_assert!(res.finish().is_ok(), "text: {}", text);
        let mut out = item.clone();
        if update::apply(&u, &mut out).is_err() {
            return Ok(());
        }
        // The result is storable and reads back the same.
        let back = decode_item(&encode_item(&out));
        prop_assert_eq!(back.as_ref(), Ok(&out), "text: {}\nvalues: {:?}\nitem: {:?}", text, r.values, item);
        // Attributes the update does not name are untouched.
        let roots: BTreeSet<&str> = actions.iter().map(|a| root(action_path(a))).collect();
        for k in item.keys().chain(out.keys()) {
            if !roots.contains(k.as_str()) {
                prop_assert_eq!(item.get(k), out.get(k), "attribute {} changed by {}", k, text);
            }
        }
        // Top-level SET of a literal and REMOVE do what they say.
        for a in &actions {
            match a {
                TAction::Set(p, TSetVal::Op(TSetOp::Value(v))) if p.0.len() == 1 => {
                    prop_assert_eq!(out.get(root(p)), Some(v), "text: {}", text);
                }
                TAction::Remove(p) if p.0.len() == 1 => {
                    prop_assert!(!out.contains_key(root(p)), "text: {}", text);
                }
                _ => {}
            }
        }
    }
}

// The reference for updates whose every path is a top-level attribute, each action on a
// different one (so no overlaps, and the order of actions does not matter). From the
// Developer Guide ("Update expressions"): every operand is read from the item as it was
// before the update; SET of a missing attribute's value, `+`/`-` of non-numbers and
// `list_append` of non-lists fail; REMOVE of a missing attribute does nothing; ADD sets a
// missing attribute, adds numbers and unites sets of one type, and fails otherwise;
// DELETE takes elements out of a set of the same type (a missing attribute is left
// alone), removes the attribute when no element is left, and fails on other types.

type RefResult<T> = Result<T, ()>;

fn ref_set_op(o: &TSetOp, old: &Item) -> RefResult<V> {
    match o {
        TSetOp::Path(p) => ref_get(old, p).cloned().ok_or(()),
        TSetOp::Value(v) => Ok(v.clone()),
        TSetOp::IfNotExists(p, d) => match ref_get(old, p) {
            Some(v) => Ok(v.clone()),
            None => ref_set_op(d, old),
        },
        TSetOp::ListAppend(a, b) => match (ref_set_op(a, old)?, ref_set_op(b, old)?) {
            (V::L(x), V::L(y)) => Ok(V::L(x.into_iter().chain(y).collect())),
            _ => Err(()),
        },
    }
}

fn ref_set_val(v: &TSetVal, old: &Item) -> RefResult<V> {
    match v {
        TSetVal::Op(o) => ref_set_op(o, old),
        TSetVal::Plus(a, b) | TSetVal::Minus(a, b) => {
            match (ref_set_op(a, old)?, ref_set_op(b, old)?) {
                (V::N(x), V::N(y)) => {
                    let r = if matches!(v, TSetVal::Plus(..)) {
                        x.checked_add(&y)
                    } else {
                        x.checked_sub(&y)
                    };
                    r.map(V::N).map_err(|_| ())
                }
                _ => Err(()),
            }
        }
    }
}

fn ref_union<T: Clone>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out = a.to_vec();
    for x in b {
        if !out.iter().any(|y| eq(x, y)) {
            out.push(x.clone());
        }
    }
    out
}

fn ref_minus<T: Clone>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<T> {
    a.iter()
        .filter(|x| !b.iter().any(|y| eq(x, y)))
        .cloned()
        .collect()
}

fn ref_update(actions: &[TAction], old: &Item) -> RefResult<Item> {
    let num_eq = |p: &Number, q: &Number| as_f64(p) == as_f64(q);
    let mut new = old.clone();
    for a in actions {
        let name = root(action_path(a)).to_owned();
        let cur = old.get(&name);
        match a {
            TAction::Set(_, v) => {
                new.insert(name, ref_set_val(v, old)?);
            }
            TAction::Remove(_) => {
                new.remove(&name);
            }
            TAction::Add(_, v) => {
                let next = match (cur, v) {
                    (None, v) => v.clone(),
                    (Some(V::N(x)), V::N(y)) => V::N(x.checked_add(y).map_err(|_| ())?),
                    (Some(V::Ss(x)), V::Ss(y)) => V::Ss(ref_union(x, y, |p, q| p == q)),
                    (Some(V::Ns(x)), V::Ns(y)) => V::Ns(ref_union(x, y, num_eq)),
                    (Some(V::Bs(x)), V::Bs(y)) => V::Bs(ref_union(x, y, |p, q| p == q)),
                    _ => return Err(()),
                };
                new.insert(name, next);
            }
            TAction::Delete(_, v) => {
                let next = match (cur, v) {
                    (None, _) => continue,
                    (Some(V::Ss(x)), V::Ss(y)) => V::Ss(ref_minus(x, y, |p, q| p == q)),
                    (Some(V::Ns(x)), V::Ns(y)) => V::Ns(ref_minus(x, y, num_eq)),
                    (Some(V::Bs(x)), V::Bs(y)) => V::Bs(ref_minus(x, y, |p, q| p == q)),
                    _ => return Err(()),
                };
                if ref_size(&next) == Some(0) {
                    new.remove(&name);
                } else {
                    new.insert(name, next);
                }
            }
        }
    }
    Ok(new)
}

/// Actions on distinct top-level attributes.
fn top_level_actions() -> impl Strategy<Value = Vec<TAction>> {
    prop::collection::vec(action(top_path(), false), 1..5).prop_map(|v| {
        let mut seen = BTreeSet::new();
        v.into_iter()
            .filter(|a| seen.insert(root(action_path(a)).to_owned()))
            .collect()
    })
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn top_level_updates_agree_with_reference(
        item in item(),
        actions in top_level_actions(),
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        seed in any::<u64>(),
    ) {
        let mut r = Render::new(seed);
        let text = r.update(&actions, &order);
        let names = (!r.names.is_empty()).then_some(&r.names);
        let values = (!r.values.is_empty()).then_some(&r.values);
        let mut res = Resolver::new(names, values);
        let parsed = res.update(&text);
        // Literal operands of the wrong type are refused before evaluation: ADD of other
        // than a number or set, DELETE of other than a set, `+`/`-` of a non-number.
        let not_number = |o: &TSetOp| match o {
            TSetOp::Value(v) => !matches!(v, V::N(_)),
            TSetOp::IfNotExists(_, d) => matches!(&**d, TSetOp::Value(v) if !matches!(v, V::N(_))),
            _ => false,
        };
        let bad_operand = actions.iter().any(|a| match a {
            TAction::Add(_, v) => !matches!(v, V::N(_) | V::Ss(_) | V::Ns(_) | V::Bs(_)),
            TAction::Delete(_, v) => !matches!(v, V::Ss(_) | V::Ns(_) | V::Bs(_)),
            TAction::Set(_, TSetVal::Plus(x, y) | TSetVal::Minus(x, y)) => {
                not_number(x) || not_number(y)
            }
            _ => false,
        });
        if bad_operand {
            let e = parsed.err().map(|e| e.0).unwrap_or_default();
            prop_assert!(e.contains("Incorrect operand type"), "text: {}\nerror: {}", text, e);
            return Ok(());
        }
        let u = match parsed {
            Ok(u) => u,
            Err(e) => return Err(TestCaseError::fail(format!(
                "refused a valid update\ntext: {text}\nvalues: {:?}\nerror: {}", r.values, e.0
            ))),
        };
        prop_assert!(res.finish().is_ok(), "text: {}", text);
        let mut got = item.clone();
        let got = update::apply(&u, &mut got).map(|()| got);
        let want = ref_update(&actions, &item);
        match (&got, &want) {
            (Ok(g), Ok(w)) => prop_assert!(
                ref_equal(&V::M(g.clone()), &V::M(w.clone())),
                "text: {}\nvalues: {:?}\nitem: {:?}\ngot:  {:?}\nwant: {:?}", text, r.values, item, g, w
            ),
            (Err(_), Err(())) => {}
            _ => prop_assert!(
                false,
                "text: {}\nvalues: {:?}\nitem: {:?}\ngot:  {:?}\nwant: {:?}", text, r.values, item, got, want
            ),
        }
    }
}

// ======================================================================================
// Arbitrary text: no panics anywhere.

fn fixed_names() -> HashMap<String, String> {
    [("#n", "a"), ("#m", "x.y"), ("#st", "status"), ("#k", "pk")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn fixed_values() -> Item {
    let mut m = Item::new();
    m.insert(":v".into(), V::N(num("1")));
    m.insert(
        ":big".into(),
        V::N(num("9.9999999999999999999999999999999999999E+125")),
    );
    m.insert(":s".into(), V::S("a".into()));
    m.insert(":b".into(), V::B(vec![0, 1]));
    m.insert(":l".into(), V::L(vec![V::N(num("2")), V::S("x".into())]));
    m.insert(":ss".into(), V::Ss(vec!["a".into(), "b".into()]));
    m.insert(":ns".into(), V::Ns(vec![num("1"), num("2")]));
    m.insert(":m".into(), V::M(fixed_item()));
    m.insert(":t".into(), V::S("N".into()));
    m.insert(":null".into(), V::Null);
    m
}

fn fixed_item() -> Item {
    let mut inner = Item::new();
    inner.insert("x".into(), V::S("ab".into()));
    inner.insert("y".into(), V::L(vec![V::N(num("1")), V::Bool(true)]));
    let mut it = Item::new();
    it.insert("pk".into(), V::S("k".into()));
    it.insert("a".into(), V::N(num("5")));
    it.insert("b".into(), V::M(inner));
    it.insert(
        "c".into(),
        V::L(vec![V::S("a".into()), V::N(num("2")), V::Null]),
    );
    it.insert("x.y".into(), V::Ss(vec!["a".into()]));
    it.insert("status".into(), V::Ns(vec![num("1")]));
    it
}

/// Feed `src` to every Resolver method (with and without placeholders) and evaluate or
/// apply whatever parses.
fn exercise(src: &str) {
    let names = fixed_names();
    let values = fixed_values();
    let item = fixed_item();
    let schema = KeySchema {
        hash: KeyAttr {
            name: "pk".into(),
            ty: ScalarType::S,
        },
        range: Some(KeyAttr {
            name: "a".into(),
            ty: ScalarType::N,
        }),
    };
    for (n, v) in [(Some(&names), Some(&values)), (None, None)] {
        let mut r = Resolver::new(n, v);
        for kind in [
            ExprKind::Condition,
            ExprKind::Filter,
            ExprKind::KeyCondition,
        ] {
            if let Ok(c) = r.condition(src, kind) {
                let _ = eval::eval(&c, &item);
                let _ = eval::eval(&c, &Item::new());
                if kind == ExprKind::KeyCondition {
                    let _ = keycond::key_condition(&c, &schema);
                }
            }
        }
        if let Ok(u) = r.update(src) {
            let mut it = item.clone();
            if update::apply(&u, &mut it).is_ok() {
                assert_eq!(decode_item(&encode_item(&it)).as_ref(), Ok(&it));
            }
            let _ = update::apply(&u, &mut Item::new());
        }
        if let Ok(p) = r.projection(src) {
            let _ = eval::project(&item, &p);
        }
        let _ = r.finish();
    }
}

const TOKENS: &[&str] = &[
    "a",
    "b",
    "c",
    "pk",
    "status",
    "x",
    "#n",
    "#m",
    "#st",
    "#k",
    "#nope",
    ":v",
    ":big",
    ":s",
    ":b",
    ":l",
    ":ss",
    ":ns",
    ":m",
    ":t",
    ":null",
    ":nope",
    "(",
    ")",
    "[",
    "]",
    "0",
    "1",
    "2",
    "99999999999999999999999",
    ",",
    ".",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "and",
    "set",
    "size",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "if_not_exists",
    "list_append",
    "foo",
    " ",
    "#",
    ":",
    "::",
    "é",
    "\u{0}",
    "\"",
    "'",
    "🦀",
];

fn token_soup() -> impl Strategy<Value = String> {
    (prop::collection::vec(select(TOKENS), 0..40), any::<bool>())
        .prop_map(|(t, spaced)| t.join(if spaced { " " } else { "" }))
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn arbitrary_text_never_panics(src in ".*") {
        exercise(&src);
    }

    #[test]
    fn token_soup_never_panics(src in token_soup()) {
        exercise(&src);
    }
}

// ======================================================================================
// Hostile shapes that random generation rarely reaches. Each runs on a thread with a
// 2 MiB stack, the size of Rust's spawned threads and of tokio's worker threads, so that
// the outcome does not depend on RUST_MIN_STACK. A stack overflow aborts the whole test
// process (it is not a panic), which is why the known overflows are `#[ignore]`d.

fn on_small_stack(src: String) {
    assert!(
        src.len() <= 4096,
        "{} bytes would be refused before parsing",
        src.len()
    );
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || exercise(&src))
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_never_panics() {
    let cases = [
        format!("{}a = :v{}", "(".repeat(100), ")".repeat(100)),
        format!("{}a = :v", "NOT ".repeat(1020)),
        "NOT ".repeat(1024),
        format!("{}a = :v", "NOT (".repeat(40)),
        format!("{}a{}", "size(".repeat(400), ")".repeat(400)),
        format!(
            "SET a = {}:l{}",
            "list_append(".repeat(200),
            ", :l)".repeat(200)
        ),
        format!(
            "SET a = {}:v{}",
            "if_not_exists(b, ".repeat(200),
            ")".repeat(200)
        ),
        format!("a{}", "[0]".repeat(1300)),
        format!("a{}", ".b".repeat(2000)),
        format!("a IN ({})", vec![":v"; 1000].join(",")),
        format!(
            "SET {}",
            (0..400)
                .map(|i| format!("a{i}=:v"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "a = :v OR ".repeat(400) + "a = :v",
    ];
    for src in cases {
        on_small_stack(src);
    }
}

/// Nesting is bounded (parser `MAX_NESTING`), so the deepest input the 4096-character
/// limit allows parses on a 2 MiB stack even in the debug profile. (Found by this suite:
/// 191 nested parentheses or 1441 nested calls used to overflow it.)
#[test]
fn deep_nesting_fits_a_small_stack() {
    let cases = [
        format!("{}a = :v{}", "(".repeat(400), ")".repeat(400)),
        format!("{}a = :v{}", "(a=:v AND ".repeat(300), ")".repeat(300)),
        "a(".repeat(2048),
        format!("{}a = :v", "NOT ".repeat(1000)),
        format!("{}a{} = :v", "size(".repeat(600), ")".repeat(600)),
        format!("SET a = {}:v{}", "(".repeat(2000), ")".repeat(2000)),
        format!(
            "SET a = {}:v{}",
            "list_append(".repeat(240),
            ",:v)".repeat(240)
        ),
        format!(
            "SET a = {}:v{}",
            "if_not_exists(b,".repeat(240),
            ")".repeat(240)
        ),
    ];
    for src in cases {
        on_small_stack(src);
    }
}
