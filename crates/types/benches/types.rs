//! Micro-benchmarks of the data model's hot paths: number parsing and key/value encoding,
//! item size, and the item codec. `cargo bench -p ferrodyn-types`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrodyn_types::codec::{decode_item, encode_item};
use ferrodyn_types::{item_size, AttributeValue as V, Item, Number};

fn item() -> Item {
    let mut it = Item::new();
    it.insert("pk".into(), V::S("p123".into()));
    it.insert("sk".into(), V::N(Number::parse("7").unwrap()));
    it.insert("payload".into(), V::S("p".repeat(150)));
    it.insert("n".into(), V::N(Number::parse("12345.678").unwrap()));
    it.insert(
        "tags".into(),
        V::Ss(vec!["a".into(), "bb".into(), "ccc".into()]),
    );
    let mut inner = Item::new();
    inner.insert("x".into(), V::Bool(true));
    inner.insert("y".into(), V::L(vec![V::Null, V::B(vec![1, 2, 3])]));
    it.insert("m".into(), V::M(inner));
    it
}

fn numbers(c: &mut Criterion) {
    let texts = [
        "0",
        "7",
        "-12345.678",
        "1E+125",
        "9.9999999999999999999999999999999999999E+125",
    ];
    c.bench_function("number/parse (5 numbers)", |b| {
        b.iter(|| {
            for t in texts {
                black_box(Number::parse(black_box(t)).unwrap());
            }
        })
    });
    let nums: Vec<Number> = texts.iter().map(|t| Number::parse(t).unwrap()).collect();
    let mut out = Vec::with_capacity(256);
    c.bench_function("number/encode_key (5 numbers)", |b| {
        b.iter(|| {
            out.clear();
            for n in &nums {
                n.encode_key(&mut out);
            }
            black_box(out.len())
        })
    });
    c.bench_function("number/add", |b| {
        let (x, y) = (&nums[1], &nums[2]);
        b.iter(|| black_box(black_box(x).checked_add(black_box(y)).unwrap()))
    });
}

fn items(c: &mut Criterion) {
    let it = item();
    c.bench_function("item/size", |b| {
        b.iter(|| black_box(item_size(black_box(&it))))
    });
    c.bench_function("item/encode", |b| {
        b.iter(|| black_box(encode_item(black_box(&it))))
    });
    let bytes = encode_item(&it);
    c.bench_function("item/decode", |b| {
        b.iter(|| black_box(decode_item(black_box(&bytes)).unwrap()))
    });
    let json = serde_json::to_vec(&it).unwrap();
    c.bench_function("item/from JSON", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Item>(black_box(&json)).unwrap()))
    });
    c.bench_function("item/to JSON", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&it)).unwrap()))
    });
}

criterion_group!(benches, numbers, items);
criterion_main!(benches);
