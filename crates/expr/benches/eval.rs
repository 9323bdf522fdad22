//! Micro-benchmarks of the expression language: parsing (uncached, and a hit in the cache
//! of parsed expressions) and evaluation, updates and projection against a small item.
//! `cargo bench -p ferrodyn-expr`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrodyn_expr::{eval, update, ExprCache, ExprKind, Resolver};
use ferrodyn_types::{AttributeValue as V, Item, Number};

fn item() -> Item {
    let mut it = Item::new();
    it.insert("pk".into(), V::S("p123".into()));
    it.insert("n".into(), V::N(Number::from_i64(41)));
    it.insert("status".into(), V::S("active".into()));
    it.insert("tags".into(), V::Ss(vec!["a".into(), "b".into()]));
    let mut inner = Item::new();
    inner.insert(
        "x".into(),
        V::L(vec![V::N(Number::from_i64(1)), V::Bool(true)]),
    );
    it.insert("m".into(), V::M(inner));
    it
}

fn values() -> Item {
    let mut v = Item::new();
    v.insert(":one".into(), V::N(Number::from_i64(1)));
    v.insert(":lo".into(), V::N(Number::from_i64(10)));
    v.insert(":hi".into(), V::N(Number::from_i64(100)));
    v.insert(":s".into(), V::S("act".into()));
    v
}

const CONDITION: &str =
    "attribute_exists(pk) AND n BETWEEN :lo AND :hi AND begins_with(#st, :s) AND size(tags) > :one AND m.x[0] < :hi";
const UPDATE: &str = "SET n = n + :one, m.x[0] = :lo REMOVE tags ADD c :one";

fn bench(c: &mut Criterion) {
    let names: HashMap<String, String> = [("#st".to_owned(), "status".to_owned())].into();
    let vals = values();
    let it = item();
    c.bench_function("expr/parse condition", |b| {
        b.iter(|| {
            let mut r = Resolver::new(Some(&names), Some(&vals));
            black_box(
                r.condition(black_box(CONDITION), ExprKind::Condition)
                    .unwrap(),
            )
        })
    });
    let cache = ExprCache::new();
    c.bench_function("expr/parse condition (cache hit)", |b| {
        b.iter(|| {
            let mut r = Resolver::new(Some(&names), Some(&vals)).with_cache(&cache);
            black_box(
                r.condition(black_box(CONDITION), ExprKind::Condition)
                    .unwrap(),
            )
        })
    });
    let mut r = Resolver::new(Some(&names), Some(&vals));
    let cond = r.condition(CONDITION, ExprKind::Condition).unwrap();
    c.bench_function("expr/evaluate condition", |b| {
        b.iter(|| black_box(eval::eval(black_box(&cond), black_box(&it))))
    });
    c.bench_function("expr/parse update", |b| {
        b.iter(|| {
            let mut r = Resolver::new(Some(&names), Some(&vals));
            black_box(r.update(black_box(UPDATE)).unwrap())
        })
    });
    c.bench_function("expr/parse update (cache hit)", |b| {
        b.iter(|| {
            let mut r = Resolver::new(Some(&names), Some(&vals)).with_cache(&cache);
            black_box(r.update(black_box(UPDATE)).unwrap())
        })
    });
    let mut r = Resolver::new(Some(&names), Some(&vals));
    let upd = r.update(UPDATE).unwrap();
    c.bench_function("expr/apply update", |b| {
        b.iter(|| {
            let mut x = it.clone();
            update::apply(black_box(&upd), &mut x).unwrap();
            black_box(x)
        })
    });
    let mut r = Resolver::new(Some(&names), Some(&vals));
    let proj = r.projection("pk, m.x[0], #st").unwrap();
    c.bench_function("expr/project", |b| {
        b.iter(|| black_box(eval::project(black_box(&it), black_box(&proj))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
