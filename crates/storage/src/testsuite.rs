//! The shared backend test-suite: every backend runs [`run_all`] from its own tests, and
//! the in-memory backend runs it too. The model test compares a backend with a plain
//! `BTreeMap` over random operations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::{Backend, Durability, Op, StorageError};

/// Makes a fresh, empty backend for each test.
pub type Factory<'a> = &'a dyn Fn() -> Arc<dyn Backend>;

pub fn run_all(make: Factory<'_>) {
    keyspaces(make);
    declared_keyspaces(make);
    put_get_delete(make);
    atomic_across_keyspaces(make);
    missing_keyspace(make);
    scans(make);
    snapshot_isolation(make);
    model(make);
}

fn put(ks: &str, k: &[u8], v: &[u8]) -> Op {
    Op::Put {
        ks: ks.into(),
        key: k.to_vec(),
        value: v.to_vec(),
    }
}

fn del(ks: &str, k: &[u8]) -> Op {
    Op::Delete {
        ks: ks.into(),
        key: k.to_vec(),
    }
}

fn collect(
    b: &dyn Backend,
    ks: &str,
    s: Bound<&[u8]>,
    e: Bound<&[u8]>,
    rev: bool,
    limit: usize,
) -> Vec<Vec<u8>> {
    let view = b.snapshot().unwrap();
    let mut out = Vec::new();
    view.scan(ks, s, e, rev, &mut |k, _| {
        out.push(k.to_vec());
        out.len() < limit
    })
    .unwrap();
    out
}

/// A declared keyspace reads as empty, is listed, takes writes (atomically with other
/// keyspaces), and can be dropped, whether or not the backend has created it yet.
pub fn declared_keyspaces(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("real").unwrap();
    b.declare_keyspace("lazy").unwrap();
    b.declare_keyspace("lazy").unwrap();
    b.declare_keyspace("never").unwrap();
    let mut names = b.keyspaces().unwrap();
    names.sort();
    assert_eq!(
        names,
        vec!["lazy".to_string(), "never".to_string(), "real".to_string()]
    );
    let view = b.snapshot().unwrap();
    assert_eq!(view.get("lazy", b"k").unwrap(), None);
    drop(view);
    assert!(collect(&*b, "lazy", Bound::Unbounded, Bound::Unbounded, false, 10).is_empty());
    // A view taken before the first write (held across it where the backend allows).
    let old = (!b.snapshots_block_writes()).then(|| b.snapshot().unwrap());
    b.commit(
        &[put("lazy", b"k", b"v"), put("real", b"k", b"w")],
        Durability::Fsync,
    )
    .unwrap();
    assert_eq!(
        b.snapshot().unwrap().get("lazy", b"k").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(
        collect(&*b, "lazy", Bound::Unbounded, Bound::Unbounded, false, 10),
        vec![b"k".to_vec()]
    );
    // ... still sees nothing there.
    if let Some(old) = old {
        assert_eq!(old.get("lazy", b"k").unwrap(), None);
    }
    // Declaring again does not lose data.
    b.declare_keyspace("lazy").unwrap();
    b.create_keyspace("lazy").unwrap();
    assert_eq!(
        b.snapshot().unwrap().get("lazy", b"k").unwrap(),
        Some(b"v".to_vec())
    );
    b.drop_keyspace("never").unwrap();
    b.drop_keyspace("lazy").unwrap();
    assert_eq!(b.keyspaces().unwrap(), vec!["real".to_string()]);
    assert!(matches!(
        b.snapshot().unwrap().get("lazy", b"k"),
        Err(StorageError::NoKeyspace(_))
    ));
}

pub fn keyspaces(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("a").unwrap();
    b.create_keyspace("a").unwrap();
    b.create_keyspace("b_2").unwrap();
    let mut names = b.keyspaces().unwrap();
    names.sort();
    assert_eq!(names, vec!["a".to_string(), "b_2".to_string()]);
    b.commit(&[put("a", b"k", b"v")], Durability::Fsync)
        .unwrap();
    b.drop_keyspace("a").unwrap();
    b.drop_keyspace("a").unwrap();
    assert_eq!(b.keyspaces().unwrap(), vec!["b_2".to_string()]);
    // a re-created keyspace starts empty
    b.create_keyspace("a").unwrap();
    assert_eq!(b.snapshot().unwrap().get("a", b"k").unwrap(), None);
}

pub fn put_get_delete(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("t").unwrap();
    b.commit(
        &[put("t", b"k1", b"v1"), put("t", b"\0", b"zero key")],
        Durability::Fsync,
    )
    .unwrap();
    let v = b.snapshot().unwrap();
    assert_eq!(v.get("t", b"k1").unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(
        v.get("t", b"\0").unwrap().as_deref(),
        Some(&b"zero key"[..])
    );
    assert_eq!(v.get("t", b"k2").unwrap(), None);
    drop(v);
    // keys must be 1..=MAX_KEY_LEN bytes: anything else is refused, never a panic
    assert!(b.commit(&[put("t", b"", b"x")], Durability::Fsync).is_err());
    assert!(b
        .commit(
            &[put("t", &vec![1u8; crate::MAX_KEY_LEN + 1], b"x")],
            Durability::Fsync
        )
        .is_err());
    b.commit(&[put("t", b"k1", b"v2")], Durability::Buffered)
        .unwrap();
    assert_eq!(
        b.snapshot().unwrap().get("t", b"k1").unwrap().as_deref(),
        Some(&b"v2"[..])
    );
    b.commit(&[del("t", b"k1"), del("t", b"never")], Durability::Fsync)
        .unwrap();
    assert_eq!(b.snapshot().unwrap().get("t", b"k1").unwrap(), None);
    let big = vec![7u8; 450 * 1024];
    b.commit(&[put("t", b"big", &big)], Durability::Fsync)
        .unwrap();
    assert_eq!(b.snapshot().unwrap().get("t", b"big").unwrap(), Some(big));
}

pub fn atomic_across_keyspaces(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("x").unwrap();
    b.create_keyspace("y").unwrap();
    b.commit(
        &[put("x", b"1", b"a"), put("y", b"1", b"b")],
        Durability::Fsync,
    )
    .unwrap();
    let v = b.snapshot().unwrap();
    assert!(v.get("x", b"1").unwrap().is_some());
    assert!(v.get("y", b"1").unwrap().is_some());
}

pub fn missing_keyspace(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("x").unwrap();
    let r = b.commit(
        &[put("x", b"1", b"a"), put("nope", b"1", b"b")],
        Durability::Fsync,
    );
    assert_eq!(r, Err(StorageError::NoKeyspace("nope".into())));
    // nothing of the failed batch is visible
    assert_eq!(b.snapshot().unwrap().get("x", b"1").unwrap(), None);
    assert!(matches!(
        b.snapshot().unwrap().get("nope", b"1"),
        Err(StorageError::NoKeyspace(_))
    ));
}

pub fn scans(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("s").unwrap();
    let keys: Vec<Vec<u8>> = vec![
        vec![0],
        vec![0, 0],
        vec![0, 255],
        vec![1],
        vec![1, 0],
        vec![2],
        vec![255, 255],
    ];
    let ops: Vec<Op> = keys.iter().map(|k| put("s", k, b"v")).collect();
    b.commit(&ops, Durability::Fsync).unwrap();
    use Bound::*;
    assert_eq!(collect(&*b, "s", Unbounded, Unbounded, false, 100), keys);
    let mut rev = keys.clone();
    rev.reverse();
    assert_eq!(collect(&*b, "s", Unbounded, Unbounded, true, 100), rev);
    assert_eq!(
        collect(&*b, "s", Included(&[1]), Excluded(&[2]), false, 100),
        vec![vec![1], vec![1, 0]]
    );
    assert_eq!(
        collect(&*b, "s", Excluded(&[1]), Included(&[2]), false, 100),
        vec![vec![1, 0], vec![2]]
    );
    assert_eq!(
        collect(&*b, "s", Excluded(&[1]), Included(&[2]), true, 100),
        vec![vec![2], vec![1, 0]]
    );
    assert_eq!(
        collect(&*b, "s", Unbounded, Unbounded, false, 2),
        vec![vec![0], vec![0, 0]]
    );
    assert_eq!(
        collect(&*b, "s", Unbounded, Unbounded, true, 1),
        vec![vec![255, 255]]
    );
    // empty and inverted ranges are empty, not errors
    assert!(collect(&*b, "s", Included(&[2]), Excluded(&[1]), false, 100).is_empty());
    assert!(collect(&*b, "s", Excluded(&[1]), Excluded(&[1]), false, 100).is_empty());
}

pub fn snapshot_isolation(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("i").unwrap();
    b.commit(&[put("i", b"a", b"1")], Durability::Fsync)
        .unwrap();
    // The memory backend's snapshot holds its read lock, so commit from another thread
    // and check the snapshot taken before does not change under us while held.
    let view = b.snapshot().unwrap();
    let b2 = b.clone();
    let h = std::thread::spawn(move || {
        b2.commit(
            &[put("i", b"a", b"2"), put("i", b"b", b"2")],
            Durability::Fsync,
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(view.get("i", b"a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(view.get("i", b"b").unwrap(), None);
    drop(view);
    h.join().unwrap().unwrap();
    let view = b.snapshot().unwrap();
    assert_eq!(view.get("i", b"a").unwrap().as_deref(), Some(&b"2"[..]));
}

/// Random operations on the backend and on a `BTreeMap`; full scans must agree.
pub fn model(make: Factory<'_>) {
    let b = make();
    b.create_keyspace("m").unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let mut batch: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for _ in 0..(next() % 20) {
            let key = vec![(next() % 8) as u8, (next() % 4) as u8];
            if next() % 3 == 0 {
                batch.insert(key, None);
            } else {
                batch.insert(key, Some(next().to_be_bytes().to_vec()));
            }
        }
        let ops: Vec<Op> = batch
            .iter()
            .map(|(k, v)| match v {
                Some(v) => put("m", k, v),
                None => del("m", k),
            })
            .collect();
        b.commit(&ops, Durability::Buffered).unwrap();
        for (k, v) in batch {
            match v {
                Some(v) => model.insert(k, v),
                None => model.remove(&k),
            };
        }
        let view = b.snapshot().unwrap();
        let mut got = Vec::new();
        view.scan(
            "m",
            Bound::Unbounded,
            Bound::Unbounded,
            round % 2 == 1,
            &mut |k, v| {
                got.push((k.to_vec(), v.to_vec()));
                true
            },
        )
        .unwrap();
        let mut want: Vec<(Vec<u8>, Vec<u8>)> =
            model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if round % 2 == 1 {
            want.reverse();
        }
        assert_eq!(got, want, "round {round}");
    }
}
