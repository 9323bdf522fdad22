//! The fuzz corpus of the `parse` target (inputs libFuzzer found interesting, as JSON
//! strings, one per line), replayed as a regression test: nothing may panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use ferrodyn_expr::{eval, keycond, update, ExprKind, Resolver};
use ferrodyn_types::codec::{decode_item, encode_item};
use ferrodyn_types::{AttributeValue as V, Item, KeyAttr, KeySchema, Number, ScalarType};

fn num(s: &str) -> V {
    V::N(Number::parse(s).unwrap_or_default())
}

fn names() -> HashMap<String, String> {
    [("#n", "a"), ("#m", "x.y"), ("#st", "status"), ("#k", "pk")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn item() -> Item {
    let mut inner = Item::new();
    inner.insert("x".into(), V::S("ab".into()));
    inner.insert("y".into(), V::L(vec![num("1"), V::Bool(true)]));
    let mut it = Item::new();
    it.insert("pk".into(), V::S("k".into()));
    it.insert("a".into(), num("5"));
    it.insert("b".into(), V::M(inner));
    it.insert("c".into(), V::L(vec![V::S("a".into()), num("2"), V::Null]));
    it.insert("x.y".into(), V::Ss(vec!["a".into()]));
    it.insert("status".into(), V::Ns(vec![Number::from_i64(1)]));
    it.insert("bin".into(), V::B(vec![0, 1, 2]));
    it
}

fn values() -> Item {
    let mut m = Item::new();
    m.insert(":v".into(), num("1"));
    m.insert(
        ":big".into(),
        num("9.9999999999999999999999999999999999999E+125"),
    );
    m.insert(":s".into(), V::S("a".into()));
    m.insert(":b".into(), V::B(vec![0, 1]));
    m.insert(":l".into(), V::L(vec![num("2"), V::S("x".into())]));
    m.insert(":ss".into(), V::Ss(vec!["a".into(), "b".into()]));
    m.insert(
        ":ns".into(),
        V::Ns(vec![Number::from_i64(1), Number::from_i64(2)]),
    );
    m.insert(":bs".into(), V::Bs(vec![vec![0], vec![1]]));
    m.insert(":m".into(), V::M(item()));
    m.insert(":t".into(), V::S("N".into()));
    m.insert(":null".into(), V::Null);
    m.insert(":true".into(), V::Bool(true));
    m
}

fn exercise(src: &str) {
    let names = names();
    let values = values();
    let item = item();
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

#[test]
fn fuzz_corpus_replays_without_panics() {
    let corpus = include_str!("fuzz_corpus.jsonl");
    let mut n = 0;
    for line in corpus.lines() {
        let src: String = serde_json::from_str(line).unwrap();
        exercise(&src);
        n += 1;
    }
    assert!(n > 1000, "{n} inputs");
}
